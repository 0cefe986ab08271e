/*
 * test_unit.c - unit tests of the CCV fake's building blocks: the signing
 * vectors of specs/ccvshop.md 1.2/1.4, VAT number checksums of specs/vat.md
 * 4.3, ISO-8601 parsing and rounding.
 */
#include <stdio.h>
#include <string.h>

#include "ccv_util.h"
#include "ccv_vat.h"

static int failures;

#define CHECK(cond)                                                                              \
        do {                                                                                     \
                if (!(cond)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        failures++;                                                              \
                }                                                                                \
        } while (0)

static void test_sign_vectors(void)
{
        static const char body[] =
                "{\"event\":\"orders.created\",\"address\":\"https://example.test/hook\","
                "\"is_active\":true}";
        char h[129];

        CHECK(ccv_sign("demo-public", "demo-secret", "GET",
                       "/api/rest/v1/orders?min_create_date=2024-01-01&start=0&size=25", "", 0,
                       "2024-01-01T12:00:00Z", h) == 0);
        CHECK(strcmp(h, "377c7e9222b4b0b810c5d633e788d6566dadc0f032cc1702373227fe99ac83ba3fc4a7dc"
                        "d6ae04ee5a3f300619444b44c026fed02004d8fa3fb21aa1c7c4022d") == 0);
        CHECK(ccv_sign("demo-public", "demo-secret", "POST", "/api/rest/v1/webhooks", body,
                       strlen(body), "2024-01-01T12:00:00Z", h) == 0);
        CHECK(strcmp(h, "73c29714ec815f69620fffd07573870fd697c534b77e1b30890639224fbc6600c9adeb28"
                        "a4c28f20040ddad7c6ac0da8721f9778405bf5f7e3cc749b5538d2c4") == 0);
        /* Response signature vector (spec 1.4). */
        CHECK(ccv_sign("demo-public", "demo-secret", "GET", "/api/rest/v1/orders/123",
                       "{\"id\":123}", 10, "2024-01-01T12:00:01Z", h) == 0);
        CHECK(strcmp(h, "9e777de98faff75beae36ca8c527acd7e18bd08f97cfe3669a1c1520ec7985b99b125fd3"
                        "dd829bcde47762f9bc3b44cb3d34afcee884b6462a914d2603982c14") == 0);
}

static void test_vat_numbers(void)
{
        static const char *const good[] = { "NL000099998B57", "NL002455799B11", "NL002342672B42",
                                            "NL001162938B28", "NL004495445B01", "BE0428759497",
                                            "BE0403019261",   "DE136695976",    "ATU13585627" };
        static const char *const bad[] = { "NL123456789B90", "BE0431150351", "DE136695978" };
        static const char *const isos[] = { "NL", "BE", "DE", "FR", "AT", "IT", "ES" };
        struct ccv_rng r;
        char v[32];
        size_t i;
        int k;

        for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (!ccv_vatno_valid(good[i]))
                        fprintf(stderr, "should be valid: %s\n", good[i]);
                CHECK(ccv_vatno_valid(good[i]));
        }
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                CHECK(!ccv_vatno_valid(bad[i]));
        ccv_rng_seed(&r, 42);
        for (i = 0; i < sizeof(isos) / sizeof(isos[0]); i++) {
                for (k = 0; k < 500; k++) {
                        ccv_vatno_make(&r, isos[i], true, v, sizeof(v));
                        CHECK(ccv_vatno_valid(v));
                        CHECK(strncmp(v, isos[i], 2) == 0);
                        ccv_vatno_make(&r, isos[i], false, v, sizeof(v));
                        CHECK(!ccv_vatno_valid(v));
                }
        }
}

static void test_time(void)
{
        time_t t;
        bool d = false;

        CHECK(ccv_time_parse("2024-01-01T12:00:00Z", false, &t, NULL) == 0 && t == 1704110400);
        CHECK(ccv_time_parse("2024-01-01T13:00:00+01:00", false, &t, NULL) == 0 && t == 1704110400);
        CHECK(ccv_time_parse("2024-01-01T13:00:00+0100", false, &t, NULL) == 0 && t == 1704110400);
        CHECK(ccv_time_parse("2024-01-01T12:00:00.123Z", false, &t, NULL) == 0 && t == 1704110400);
        CHECK(ccv_time_parse("2024-1-1T12:0:0Z", false, &t, NULL) == 0 && t == 1704110400);
        CHECK(ccv_time_parse("2024-01-01", true, &t, &d) == 0 && d && t == 1704067200);
        CHECK(ccv_time_parse("2024-01-01", false, &t, NULL) < 0);
        CHECK(ccv_time_parse("2024-01-01T12:00:00", false, &t, NULL) < 0);
        CHECK(ccv_time_parse("yesterday", false, &t, NULL) < 0);
        CHECK(ccv_time_parse("2024-13-01T12:00:00Z", false, &t, NULL) < 0);
}

static void test_rounding(void)
{
        /* Belastingdienst examples (vat.md 5): 7.875 -> 7.88, 29.95 incl 21 % -> 5.20. */
        CHECK(ccv_div_round(3750 * 210, 1000) == 788);
        CHECK(ccv_div_round(1250 * 210, 1000) == 263);
        CHECK(ccv_div_round(2995 * 210, 1210) == 520);
        CHECK(ccv_div_round(-3750 * 210, 1000) == -788);
        CHECK(ccv_vat_destination("ES", "35001", &(const char *){ NULL }) == false);
        CHECK(ccv_vat_destination("GB", "BT1 1AA", &(const char *){ NULL }) == true);
        CHECK(ccv_vat_destination("DE", "27498", &(const char *){ NULL }) == false);
        CHECK(ccv_rate_is_real("FR", 55) && !ccv_rate_is_real("DE", 210));
}

int main(void)
{
        test_sign_vectors();
        test_vat_numbers();
        test_time();
        test_rounding();
        if (failures) {
                fprintf(stderr, "%d check(s) failed\n", failures);
                return 1;
        }
        printf("all unit checks passed\n");
        return 0;
}
