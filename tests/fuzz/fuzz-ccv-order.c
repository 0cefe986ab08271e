/* Fuzz target: a CCV Shop order document (GET /orders/{id} + "orderrows"), as the extractor
 * publishes it and the transformer maps it. Any input must end in a booking or a rejection
 * with a reason; never a crash, a leak or undefined behaviour. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/json_fast.h"
#include "booking/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules_text[] =
        "{\"tenant\":\"fuzz\",\"division\":1,\"home_country\":\"NL\",\"oss_registered\":true,"
        "\"book_as\":\"salesinvoice\",\"journal\":\"70\",\"shipping_item\":\"VERZEND\","
        "\"discount_item\":\"KORTING\",\"payment_cost_item\":\"BETAAL\","
        "\"rounding_item\":\"AFROND\",\"vat_codes\":["
        "{\"code\":\"2\",\"scenario\":\"domestic\",\"class\":\"standard\",\"percentage\":21},"
        "{\"code\":\"1\",\"scenario\":\"domestic\",\"class\":\"reduced\",\"percentage\":9},"
        "{\"code\":\"0\",\"scenario\":\"domestic\",\"class\":\"zero\",\"percentage\":0},"
        "{\"code\":\"ICP\",\"scenario\":\"icp\",\"percentage\":0},"
        "{\"code\":\"EXP\",\"scenario\":\"export\",\"percentage\":0},"
        "{\"code\":\"D1\",\"scenario\":\"oss\",\"country\":\"DE\",\"class\":\"standard\","
        "\"percentage\":19},"
        "{\"code\":\"D2\",\"scenario\":\"oss\",\"country\":\"DE\",\"class\":\"reduced\","
        "\"percentage\":7}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static rules *r;
        booking_ctx ctx = { 0 };
        booking b;
        char err[512];
        json_t *order;

        if (!r) {
                r = rules_parse(rules_text, err, sizeof(err));
                if (!r)
                        abort(); /* the target's own rules must parse */
        }
        order = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
        if (!order)
                return 0;
        if (booking_from_order(r, order, &ctx, &b, err, sizeof(err)) == 0) {
                json_t *res = booking_result_json(&b);
                json_t *cmd = booking_command_json(&b, r, "trace");
                char *text = cmd ? booking_dumps(cmd) : NULL;

                /* What Exact books must equal what the shop charged. */
                if (b.net_cents + b.vat_cents != b.gross_cents)
                        abort();
                free(text);
                json_decref(cmd);
                json_decref(res);
                booking_clear(&b);
        } else if (!err[0]) {
                abort(); /* a rejection always names its reason */
        }
        json_decref(order);
        return 0;
}
