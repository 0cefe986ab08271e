/* bench-core: orders per second through the transformer core (parse with booking_loadb as
 * the dry run and daemon do, VAT engine, booking, serialise) on a typical 5-line order,
 * single thread. Not a test; run on demand:
 *   build/tests/bench-core [iterations]                                                */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/json_fast.h"
#include "booking/rules.h"

static const char rules_text[] =
        "{\"tenant\":\"bench\",\"division\":1,\"home_country\":\"NL\",\"oss_registered\":true,"
        "\"book_as\":\"salesorder\",\"shipping_item\":\"VERZEND\",\"discount_item\":\"KORTING\","
        "\"rounding_item\":\"AFROND\",\"vat_codes\":["
        "{\"code\":\"2\",\"scenario\":\"domestic\",\"class\":\"standard\",\"percentage\":21},"
        "{\"code\":\"1\",\"scenario\":\"domestic\",\"class\":\"reduced\",\"percentage\":9},"
        "{\"code\":\"ICP\",\"scenario\":\"icp\",\"percentage\":0},"
        "{\"code\":\"EXP\",\"scenario\":\"export\",\"percentage\":0},"
        "{\"code\":\"D1\",\"scenario\":\"oss\",\"country\":\"DE\",\"class\":\"standard\","
        "\"percentage\":19},"
        "{\"code\":\"D2\",\"scenario\":\"oss\",\"country\":\"DE\",\"class\":\"reduced\","
        "\"percentage\":7}]}";

/* A 5-row NL order, prices incl. VAT, mixed 21/9 with shipping and a coupon. */
static char *make_order(int id)
{
        char *buf = malloc(8192);
        int n;

        if (!buf)
                return NULL;
        n = snprintf(
                buf, 8192,
                "{\"id\":%d,\"ordernumber\":%d,\"ordernumber_full\":\"%d\",\"is_completed\":true,"
                "\"status\":7,\"create_date\":\"2025-03-01T10:00:00Z\",\"deliver_method\":"
                "\"shipping\",\"paymethod\":\"iDEAL\",\"paymethod_id\":1,\"currency\":\"EUR\","
                "\"taxes_included\":true,\"order_row_taxes_included\":true,"
                "\"shipping_taxes_included\":true,\"shipping_tax_percentage\":21,"
                "\"total_shipping\":6.95,\"total_discounts\":5,\"paymethod_costs\":0,"
                "\"extra_costs\":0,\"credit_point_discount\":0,\"total_price\":%s,"
                "\"total_tax\":0,\"user\":{\"id\":\"%d\"},"
                "\"customer\":{\"billingaddress\":{\"first_name\":\"Jan\",\"last_name\":"
                "\"Jansen\",\"full_name\":\"Jan Jansen\",\"company\":\"\",\"address_line_1\":"
                "\"Dorpsstraat 1\",\"zipcode\":\"1234AB\",\"city\":\"Utrecht\",\"country_code\":"
                "\"NL\",\"telephone\":\"0301234567\"},\"deliveryaddress\":{\"country_code\":null,"
                "\"zipcode\":\"\"},\"email\":\"jan%d@example.test\",\"btw\":\"\",\"kvk\":\"\"},"
                "\"orderrows\":["
                "{\"id\":1,\"product_id\":11,\"product_number\":\"SKU-1\",\"product_name\":"
                "\"Widget\",\"count\":2,\"price\":19.95,\"discount\":0,\"total_price\":39.9,"
                "\"tax\":21},"
                "{\"id\":2,\"product_id\":12,\"product_number\":\"SKU-2\",\"product_name\":"
                "\"Boek\",\"count\":1,\"price\":24.5,\"discount\":0,\"total_price\":24.5,"
                "\"tax\":9},"
                "{\"id\":3,\"product_id\":13,\"product_number\":\"SKU-3\",\"product_name\":"
                "\"Kabel\",\"count\":3,\"price\":4.99,\"discount\":0.5,\"total_price\":13.47,"
                "\"tax\":21},"
                "{\"id\":4,\"product_id\":14,\"product_number\":\"SKU-4\",\"product_name\":"
                "\"Thee\",\"count\":5,\"price\":3.25,\"discount\":0,\"total_price\":16.25,"
                "\"tax\":9},"
                "{\"id\":5,\"product_id\":15,\"product_number\":\"SKU-5\",\"product_name\":"
                "\"Lamp\",\"count\":1,\"price\":49,\"discount\":0,\"total_price\":49,\"tax\":21}"
                "]}",
                id, id, id, "145.07", id % 5000, id);
        if (n < 0 || n >= 8192) {
                free(buf);
                return NULL;
        }
        return buf;
}

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One order through the whole path. A function of its own so that instructions per order
 * can be counted exactly: valgrind --tool=callgrind --toggle-collect=transform_one.
 * Returns 0 when booked, 1 when rejected (reason in err), -1 when the text does not parse. */
__attribute__((noinline)) static int transform_one(const rules *r, const char *text, size_t len,
                                                   size_t *bytes, char *err, size_t errlen)
{
        json_t *order = booking_loadb(text, len, 0, NULL);
        booking b;
        int rc = 1;

        if (!order)
                return -1;
        if (booking_from_order(r, order, NULL, &b, err, errlen) == 0) {
                char *s = booking_command_dumps(&b, r, "bench");

                *bytes += s ? strlen(s) : 0;
                free(s);
                booking_clear(&b);
                rc = 0;
        }
        json_decref(order);
        return rc;
}

int main(int argc, char **argv)
{
        long iters = 50000;
        char err[512];
        rules *r = rules_parse(rules_text, err, sizeof(err));
        char *text[16];
        size_t len[16];
        long ok = 0, rejected = 0;
        size_t bytes = 0;

        if (argc > 1) {
                char *end;

                iters = strtol(argv[1], &end, 10);
                if (*end != '\0' || iters <= 0) {
                        fprintf(stderr, "usage: bench-core [iterations]\n");
                        return 2;
                }
        }
        if (!r) {
                fprintf(stderr, "bench-core: %s\n", err);
                return 1;
        }
        for (int i = 0; i < 16; i++) {
                text[i] = make_order(1000 + i);
                if (!text[i])
                        return 1;
                len[i] = strlen(text[i]);
        }
        /* the fast paths must print what jansson prints: check against json_loads/json_dumps */
        for (int i = 0; i < 16; i++) {
                json_t *order = json_loads(text[i], 0, NULL);
                booking b;

                if (!order || booking_from_order(r, order, NULL, &b, err, sizeof(err)) != 0)
                        return 1;
                json_t *cmd = booking_command_json(&b, r, "bench");
                char *want = json_dumps(cmd, JSON_COMPACT | JSON_REAL_PRECISION(15));
                char *got = booking_command_dumps(&b, r, "bench");
                json_t *again = booking_loadb(text[i], len[i], 0, NULL);
                bool same = want && got && !strcmp(want, got) && json_equal(again, order);

                free(want);
                free(got);
                json_decref(again);
                json_decref(cmd);
                booking_clear(&b);
                json_decref(order);
                if (!same) {
                        fprintf(stderr, "bench-core: fast path differs from jansson\n");
                        return 1;
                }
        }
        /* phase figures: JSON parse alone, then parse + booking, then the full path */
        double tp = now();

        for (long i = 0; i < iters / 5; i++)
                json_decref(booking_loadb(text[i % 16], len[i % 16], 0, NULL));
        double parse_us = (now() - tp) * 1e6 / (double)(iters / 5);

        tp = now();
        for (long i = 0; i < iters / 5; i++) {
                json_t *order = booking_loadb(text[i % 16], len[i % 16], 0, NULL);
                booking b;

                if (booking_from_order(r, order, NULL, &b, err, sizeof(err)) == 0)
                        booking_clear(&b);
                json_decref(order);
        }
        double book_us = (now() - tp) * 1e6 / (double)(iters / 5) - parse_us;
        double t0 = now();

        for (long i = 0; i < iters; i++) {
                int rc = transform_one(r, text[i % 16], len[i % 16], &bytes, err, sizeof(err));

                if (rc < 0)
                        return 1;
                if (rc == 0) {
                        ok++;
                } else {
                        if (rejected == 0)
                                fprintf(stderr, "bench-core: rejected: %s\n", err);
                        rejected++;
                }
        }
        double secs = now() - t0;
        double rate = (double)iters / secs;

        printf("orders:          %ld (%ld booked, %ld rejected)\n", iters, ok, rejected);
        printf("elapsed:         %.3f s\n", secs);
        printf("orders/second:   %.0f\n", rate);
        printf("us/order:        %.2f\n", secs * 1e6 / (double)iters);
        printf("parse us/order:  %.2f\n", parse_us);
        printf("book us/order:   %.2f\n", book_us);
        printf("command bytes:   %zu avg\n", ok ? bytes / (size_t)ok : 0);
        printf("{\"bench\":\"transformer-core\",\"orders\":%ld,\"seconds\":%.3f,"
               "\"orders_per_second\":%.0f,\"goal\":20000,\"meets_goal\":%s}\n",
               iters, secs, rate, rate >= 20000 ? "true" : "false");
        for (int i = 0; i < 16; i++)
                free(text[i]);
        rules_free(r);
        return rejected ? 1 : 0;
}
