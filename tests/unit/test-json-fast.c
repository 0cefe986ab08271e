/* The transformer's fast JSON paths (booking_loadb, booking_dumps, booking_command_dumps) must
 * give exactly what jansson gives: the same trees and error texts when parsing, the same bytes
 * when serialising. Differential test over awkward inputs, random numbers and real orders
 * (the fuzz seed corpus, passed as arguments). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testlib.h"
#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/json_fast.h"
#include "booking/rules.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

static void same_parse(const char *t, size_t len, size_t flags)
{
        json_error_t e1, e2;
        json_t *a, *b;
        char *sa, *sb;

        memset(&e1, 0x55, sizeof(e1));
        memset(&e2, 0x55, sizeof(e2));
        a = json_loadb(t, len, flags, &e1);
        b = booking_loadb(t, len, flags, &e2);
        sa = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY) : NULL;
        sb = b ? json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY) : NULL;
        T_ASSERT((sa == NULL) == (sb == NULL) && (!sa || !strcmp(sa, sb)),
                 "trees differ for %.*s: %s vs %s", (int)len, t, t_str(sa), t_str(sb));
        if (!a && !b)
                T_ASSERT(!strcmp(e1.text, e2.text) && e1.position == e2.position,
                         "errors differ for %.*s: %s vs %s", (int)len, t, e1.text, e2.text);
        if (a && b) {
                char *d1 = json_dumps(a, DUMP_FLAGS | JSON_ENCODE_ANY);
                char *d2 = booking_dumps(a);

                /* booking_dumps serialises containers; compare where jansson would too. */
                if (json_is_object(a) || json_is_array(a))
                        T_ASSERT(d1 && d2 && !strcmp(d1, d2), "dumps differ: %s vs %s", t_str(d1),
                                 t_str(d2));
                free(d1);
                free(d2);
        }
        free(sa);
        free(sb);
        json_decref(a);
        json_decref(b);
}

static void test_json_fast_awkward_inputs(void)
{
        static const char *const odd[] = {
                "{\"a\":1,\"a\":2}",
                "{\"a\":\"\\u0000\"}",
                "{\"a\":\"\\ud83d\\ude00\"}",
                "{\"a\":\"\\ud83d\"}",
                "{\"a\":\"\\udc00x\"}",
                "[1e5,1E-3,-0,-0.0,0.1e1,123456789012345678,1234567890123456789,"
                "99999999999999999999]",
                "[1.7976931348623157e309]",
                "[01]",
                "[1.]",
                "[.5]",
                "[-]",
                "{\"a\":1,}",
                "[1,]",
                "[]",
                "{}",
                " [ 1 , 2 ] ",
                "[1] x",
                "\"str\"",
                "5",
                "{\"\\u00e9\\/\\\\\\\"\\b\\f\\n\\r\\t\":\"\\u20ac\"}",
                "[\"\xc3\x28\"]",
                "[\"\xed\xa0\x80\"]",
                "[\"\xf4\x90\x80\x80\"]",
                "[\"tab\there\"]",
                "[true,false,null]",
                "[tru]",
                "[0.30000000000000004, 2.2250738585072014e-308, 4.9e-324, 1e-400]",
                "[123456789012345.6, 1234567890123456.7, 0.000000000000001, 9007199254740993.0]",
                "\xef\xbb\xbf[1]",
                "[1]\n",
                "",
                "   ",
                "[9223372036854775807,-9223372036854775808,9223372036854775808]",
                "[\"\\u00\"]",
                "[\"\\x\"]",
                "{\"a\" 1}",
                "{1:2}",
                NULL,
        };

        for (int i = 0; odd[i]; i++) {
                same_parse(odd[i], strlen(odd[i]), 0);
                same_parse(odd[i], strlen(odd[i]), JSON_REJECT_DUPLICATES);
        }
}

static void test_json_fast_random_numbers(void)
{
        srand(3);
        for (int i = 0; i < 20000; i++) {
                char buf[128];
                int k = snprintf(buf, sizeof(buf), "[%s%d.%0*d,%d.%d,%de%d]", rand() % 2 ? "-" : "",
                                 rand() % 100000, rand() % 10 + 1, rand() % 1000000000, rand(),
                                 rand() % 1000, rand() % 999, rand() % 40 - 20);

                same_parse(buf, (size_t)k, 0);
        }
}

static void test_json_fast_orders(int argc, char **argv, const rules *r)
{
        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                char *text = NULL, err[512];
                size_t cap = 0;
                ssize_t len;
                json_t *order;
                booking b;

                T_FATAL(f != NULL, "%s", argv[i]);
                len = getdelim(&text, &cap, '\0', f);
                fclose(f);
                T_FATAL(len > 0, "%s is empty", argv[i]);
                same_parse(text, (size_t)len, 0);
                order = json_loadb(text, (size_t)len, 0, NULL);
                if (order && booking_from_order(r, order, NULL, &b, err, sizeof(err)) == 0) {
                        json_t *cmd = booking_command_json(&b, r, "trace-1");
                        char *slow = json_dumps(cmd, DUMP_FLAGS);
                        char *fast = booking_command_dumps(&b, r, "trace-1");

                        T_ASSERT(slow && fast && !strcmp(slow, fast), "%s: command bytes differ",
                                 argv[i]);
                        free(slow);
                        free(fast);
                        json_decref(cmd);
                        booking_clear(&b);
                }
                json_decref(order);
                free(text);
        }
}

int main(int argc, char **argv)
{
        char err[256];
        rules *r = rules_parse(
                "{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                "\"oss_registered\":false,\"book_as\":\"salesorder\",\"shipping_item\":\"V\","
                "\"discount_item\":\"K\",\"payment_cost_item\":\"B\",\"rounding_item\":\"R\","
                "\"vat_codes\":[{\"code\":\"2\",\"scenario\":\"domestic\",\"class\":\"standard\","
                "\"percentage\":21},{\"code\":\"1\",\"scenario\":\"domestic\",\"class\":"
                "\"reduced\",\"percentage\":9},{\"code\":\"0\",\"scenario\":\"domestic\","
                "\"class\":\"zero\",\"percentage\":0},{\"code\":\"ICP\",\"scenario\":\"icp\","
                "\"percentage\":0},{\"code\":\"EXP\",\"scenario\":\"export\",\"percentage\":0}]}",
                err, sizeof(err));

        T_FATAL(r != NULL, "%s", err);
        T_RUN(test_json_fast_awkward_inputs);
        T_RUN(test_json_fast_random_numbers);
        test_json_fast_orders(argc, argv, r);
        rules_free(r);
        return t_done();
}
