/* test_ccv.c: the CCV client's signing against the spec's worked vectors (ccvshop.md 1.2
 * and 1.4), and the lenient ISO 8601 parsing the shop's dates need (1.3). No network. */
#include "ccv/sign.h"
#include "common/iso8601.h"

#include "tests/testlib.h"

static void test_signing(void)
{
        char h[129];
        const char *post = "{\"event\":\"orders.created\","
                           "\"address\":\"https://example.test/hook\",\"is_active\":true}";

        ccv_sign("demo-public", "demo-secret", "GET",
                 "/api/rest/v1/orders?min_create_date=2024-01-01&start=0&size=25", "", 0,
                 "2024-01-01T12:00:00Z", h);
        T_ASSERT(t_str_eq(h, "377c7e9222b4b0b810c5d633e788d6566dadc0f032cc1702373227fe99ac83ba3"
                             "fc4a7dcd6ae04ee5a3f300619444b44c026fed02004d8fa3fb21aa1c7c4022d"),
                 "GET vector: %s", h);
        ccv_sign("demo-public", "demo-secret", "POST", "/api/rest/v1/webhooks", post, strlen(post),
                 "2024-01-01T12:00:00Z", h);
        T_ASSERT(t_str_eq(h, "73c29714ec815f69620fffd07573870fd697c534b77e1b30890639224fbc6600c"
                             "9adeb28a4c28f20040ddad7c6ac0da8721f9778405bf5f7e3cc749b5538d2c4"),
                 "POST vector: %s", h);
        /* response signing: request method and uri, response body and date */
        ccv_sign("demo-public", "demo-secret", "GET", "/api/rest/v1/orders/123", "{\"id\":123}", 10,
                 "2024-01-01T12:00:01Z", h);
        T_ASSERT(t_str_eq(h, "9e777de98faff75beae36ca8c527acd7e18bd08f97cfe3669a1c1520ec7985b99"
                             "b125fd3dd829bcde47762f9bc3b44cb3d34afcee884b6462a914d2603982c14"),
                 "response vector: %s", h);
}

static void test_time(void)
{
        long long t = 0;
        char out[32];

        T_ASSERT(cx_iso8601_parse("2022-11-26T00:45:54Z", &t) == 0, "Z form");
        T_EQ_INT(t, 1669423554);
        T_ASSERT(cx_iso8601_parse("2022-11-26T01:45:54+01:00", &t) == 0, "+HH:MM");
        T_EQ_INT(t, 1669423554);
        T_ASSERT(cx_iso8601_parse("2022-11-26T01:45:54+0100", &t) == 0, "+HHMM");
        T_EQ_INT(t, 1669423554);
        T_ASSERT(cx_iso8601_parse("2022-11-26T00:45:54.123Z", &t) == 0, "fraction");
        T_EQ_INT(t, 1669423554);
        T_ASSERT(cx_iso8601_parse("2022-11-26", &t) == 0, "bare date");
        T_EQ_INT(t, 1669420800);
        T_ASSERT(cx_iso8601_parse("", &t) < 0, "empty");
        T_ASSERT(cx_iso8601_parse(NULL, &t) < 0, "null");
        T_ASSERT(cx_iso8601_parse("2022-13-01T00:00:00Z", &t) < 0, "month 13");
        T_ASSERT(cx_iso8601_parse("2022-11-26T00:45:54Zjunk", &t) < 0, "trailing junk");
        cx_iso8601_format(1669423554, out, sizeof(out));
        T_ASSERT(t_str_eq(out, "2022-11-26T00:45:54Z"), "format: %s", out);
}

int main(void)
{
        test_signing();
        test_time();
        return t_done();
}
