/* Unit test: rates table, territories, rules parsing/validation, VAT code look-up, the
 * command / upsert / dead-letter envelopes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/dates.h"
#include "booking/rules.h"
#include "booking/vat_engine.h"
#include "vat/territory.h"
#include "vat/vat_rates.h"

static int failed, checks;

#define CHECK(cond, ...)                                    \
        do {                                                \
                checks++;                                   \
                if (!(cond)) {                              \
                        failed++;                           \
                        printf("FAIL line %d: ", __LINE__); \
                        printf(__VA_ARGS__);                \
                        printf("\n");                       \
                }                                           \
        } while (0)

static const char base_rules[] =
        "{\"tenant\":\"t1\",\"division\":42,\"home_country\":\"NL\",\"oss_registered\":true,"
        "\"shipping_item\":\"VERZEND\",\"custom_field\":{\"x\":1},"
        "\"item_groups\":{\"Boeken\":\"BOEK\"},\"vat_codes\":["
        "{\"code\":\"2\",\"scenario\":\"domestic\",\"class\":\"standard\",\"percentage\":21},"
        "{\"code\":\"1\",\"scenario\":\"domestic\",\"class\":\"reduced\",\"percentage\":9},"
        "{\"code\":\"ICP\",\"scenario\":\"icp\",\"percentage\":0},"
        "{\"code\":\"A13\",\"scenario\":\"oss\",\"country\":\"AT\",\"class\":\"parking\","
        "\"percentage\":13},"
        "{\"code\":\"A10\",\"scenario\":\"oss\",\"country\":\"AT\",\"class\":\"reduced\"},"
        "{\"code\":\"F55\",\"scenario\":\"oss\",\"country\":\"FR\",\"percentage\":5.5}]}";

static void test_rates(void)
{
        const vat_country *nl = vat_rates_find("NL");
        const vat_country *gr = vat_rates_find("EL");

        CHECK(nl && nl->standard == 2100 && nl->reduced[0] == 900, "NL rates");
        CHECK(gr && strcmp(gr->iso, "GR") == 0 && strcmp(gr->prefix, "EL") == 0, "EL -> GR");
        CHECK(vat_rates_find("FI")->standard == 2550, "FI 25.5");
        CHECK(vat_rates_class_of(vat_rates_find("FR"), 550) == VAT_CLASS_REDUCED, "FR 5.5");
        CHECK(vat_rates_class_of(vat_rates_find("FR"), 210) == VAT_CLASS_SUPER_REDUCED, "FR 2.1");
        CHECK(vat_rates_class_of(vat_rates_find("LU"), 1400) == VAT_CLASS_PARKING, "LU 14");
        CHECK(vat_rates_class_of(vat_rates_find("DE"), 2100) == VAT_CLASS_NONE, "DE 21");
        CHECK(vat_rates_class_of(vat_rates_find("DE"), 0) == VAT_CLASS_ZERO, "DE 0");
        CHECK(vat_rates_find("XI")->area == VAT_AREA_GOODS_ONLY, "XI goods only");
        CHECK(vat_rates_find_on("FI", 20251231)->reduced[1] == 1400, "FI 14 in 2025");
        CHECK(vat_rates_find_on("FI", 20260101)->reduced[1] == 1350, "FI 13.5 in 2026");
        CHECK(vat_rates_find_on("FI", 20240831)->standard == 2400, "FI 24 before 2024-09");
        CHECK(vat_rates_find_on("SK", 20241231)->standard == 2000, "SK 20 in 2024");
        CHECK(vat_rates_find_on("EE", 20250630)->standard == 2200, "EE 22 to 2025-06-30");
        CHECK(vat_rates_find_on("RO", 20250801)->standard == 2100, "RO 21 from 2025-08-01");
        CHECK(vat_rates_find_region("PT", "PT-30", 20250101)->standard == 2200, "Madeira 22");
        CHECK(vat_rates_find_region("AT", "AT-JM", 20250101)->standard == 1900, "AT-JM 19");
        CHECK(vat_rates_find("US") == NULL, "US not in table");
        char buf[16];

        vat_pct_format(550, buf, sizeof(buf));
        CHECK(strcmp(buf, "5.5") == 0, "format 5.5: %s", buf);
        vat_pct_format(2100, buf, sizeof(buf));
        CHECK(strcmp(buf, "21") == 0, "format 21: %s", buf);
}

static void test_territory(void)
{
        static const struct {
                const char *cc, *pc;
                enum territory_kind kind;
                const char *vat_country;
        } t[] = {
                { "NL", "1234 AB", TERRITORY_EU, "NL" },
                { "es", "35001", TERRITORY_OUTSIDE, "" },
                { "ES", "28001", TERRITORY_EU, "ES" },
                { "ES", "51001", TERRITORY_OUTSIDE, "" },
                { "ES", "52006", TERRITORY_OUTSIDE, "" },
                { "DE", "27498", TERRITORY_OUTSIDE, "" },
                { "DE", "78266", TERRITORY_OUTSIDE, "" },
                { "DE", "10115", TERRITORY_EU, "DE" },
                { "IT", "23041", TERRITORY_OUTSIDE, "" },
                { "IT", "22061", TERRITORY_OUTSIDE, "" },
                { "GR", "63086", TERRITORY_OUTSIDE, "" },
                { "EL", "10431", TERRITORY_EU, "GR" },
                { "FI", "22100", TERRITORY_OUTSIDE, "" },
                { "FI", "00100", TERRITORY_EU, "FI" },
                { "FR", "97100", TERRITORY_OUTSIDE, "" },
                { "FR", "98000", TERRITORY_EU, "FR" },
                { "FR", "98800", TERRITORY_OUTSIDE, "" },
                { "MC", "98000", TERRITORY_EU, "FR" },
                { "GB", "BT1 1AA", TERRITORY_EU, "XI" },
                { "gb", "bt7-1nn", TERRITORY_EU, "XI" },
                { "GB", "SW1A 1AA", TERRITORY_OUTSIDE, "" },
                { "XI", "", TERRITORY_EU, "XI" },
                { "AX", "", TERRITORY_OUTSIDE, "" },
                { "JE", "JE2", TERRITORY_OUTSIDE, "" },
                { "CH", "8001", TERRITORY_OUTSIDE, "" },
                { "ZZ", "", TERRITORY_UNKNOWN, "" },
                { "", "", TERRITORY_UNKNOWN, "" },
                { "NLD", "", TERRITORY_UNKNOWN, "" },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                territory out;

                territory_resolve(t[i].cc, t[i].pc, &out);
                CHECK(out.kind == t[i].kind, "%s %s: kind %d", t[i].cc, t[i].pc, out.kind);
                if (t[i].kind == TERRITORY_EU)
                        CHECK(strcmp(out.vat_country, t[i].vat_country) == 0, "%s %s: %s", t[i].cc,
                              t[i].pc, out.vat_country);
        }
}

static void expect_rules_error(const char *text, const char *needle)
{
        char err[512] = "";
        rules *r = rules_parse(text, err, sizeof(err));

        CHECK(r == NULL && strstr(err, needle) != NULL, "want error with \"%s\", got \"%s\"",
              needle, err);
        rules_free(r);
}

static void test_rules(void)
{
        char err[512] = "";
        rules *r = rules_parse(base_rules, err, sizeof(err));

        CHECK(r != NULL, "parse: %s", err);
        if (r == NULL)
                return;
        CHECK(r->oss_mode == OSS_MODE_REGISTERED && r->division == 42, "defaults");
        CHECK(strcmp(rules_map_get(r->item_groups, "Boeken"), "BOEK") == 0, "item group");
        /* round trip keeps unknown members and the meaning */
        json_t *j = rules_to_json(r);
        char *s = json_dumps(j, 0);
        rules *r2 = rules_parse(s, err, sizeof(err));

        CHECK(r2 != NULL && r2->n_vat_codes == r->n_vat_codes, "round trip: %s", err);
        CHECK(json_object_get(j, "custom_field") != NULL, "unknown member kept");
        CHECK(json_real_value(json_object_get(json_array_get(json_object_get(j, "vat_codes"), 5),
                                              "percentage")) == 5.5,
              "5.5 kept");
        free(s);
        json_decref(j);
        rules_free(r2);

        /* code look-up */
        vat_decision d;

        memset(&d, 0, sizeof(d));
        d.scenario = VAT_SCENARIO_OSS;
        memcpy(d.rate_country, "AT", 3);
        CHECK(strcmp(vat_engine_code(r, &d, 1300, err, sizeof(err)), "A13") == 0, "AT 13 parking");
        CHECK(strcmp(vat_engine_code(r, &d, 1000, err, sizeof(err)), "A10") == 0, "AT 10");
        CHECK(vat_engine_code(r, &d, 2000, err, sizeof(err)) == NULL &&
                      strstr(err, "no VAT code mapped for OSS AT standard 20%") != NULL,
              "%s", err);
        CHECK(vat_engine_code(r, &d, 1900, err, sizeof(err)) == NULL &&
                      strstr(err, "wrong destination rate") != NULL,
              "%s", err);
        memcpy(d.rate_country, "FR", 3);
        CHECK(strcmp(vat_engine_code(r, &d, 550, err, sizeof(err)), "F55") == 0, "FR 5.5");
        d.scenario = VAT_SCENARIO_DISTANCE_ORIGIN;
        memcpy(d.rate_country, "NL", 3);
        CHECK(strcmp(vat_engine_code(r, &d, 900, err, sizeof(err)), "1") == 0, "origin 9");
        d.scenario = VAT_SCENARIO_EXPORT;
        CHECK(vat_engine_code(r, &d, 0, err, sizeof(err)) == NULL &&
                      strstr(err, "no VAT code mapped for export 0%") != NULL,
              "%s", err);
        d.scenario = VAT_SCENARIO_ICP;
        CHECK(vat_engine_code(r, &d, 2100, err, sizeof(err)) == NULL &&
                      strstr(err, "VAT charged") != NULL,
              "%s", err);
        rules_free(r);

        expect_rules_error("{", "malformed JSON");
        expect_rules_error("[]", "JSON object");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[]}", "vat_codes");
        expect_rules_error("{\"division\":1,\"vat_codes\":[]}", "tenant");
        expect_rules_error("{\"tenant\":\"t\",\"division\":\"x\",\"vat_codes\":[]}", "division");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"US\","
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "not an EU member state");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"1\","
                           "\"scenario\":\"domestic\",\"percentage\":19}]}",
                           "19% is not a NL VAT rate");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"1\","
                           "\"scenario\":\"domestic\",\"class\":\"reduced\",\"percentage\":21}]}",
                           "is a standard rate");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"1\","
                           "\"scenario\":\"oss\",\"percentage\":19}]}",
                           "need a \"country\"");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"TOOLONG\","
                           "\"scenario\":\"icp\"}]}",
                           "3 characters");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"1\","
                           "\"scenario\":\"export\",\"percentage\":21}]}",
                           "are 0%");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":["
                           "{\"code\":\"1\",\"scenario\":\"icp\"},{\"code\":\"2\","
                           "\"scenario\":\"icp\"}]}",
                           "map the same situation");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"book_as\":\"salesinvoice\","
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "journal");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"oss_mode\":\"maybe\","
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "oss_mode");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"item_groups\":{\"a\":1},"
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "item_groups");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"vat_codes\":[{\"code\":\"1\","
                           "\"scenario\":\"distance_origin\",\"percentage\":21}]}",
                           "uses the domestic");
}

static void test_envelopes(void)
{
        char err[512] = "";
        rules *r = rules_parse(base_rules, err, sizeof(err));
        json_error_t jerr;
        json_t *user = json_loads(
                "{\"id\":\"24464274\",\"userinfo\":{\"billingaddress\":{\"first_name\":\"Jan\","
                "\"last_name\":\"Jansen\",\"company\":\"Acme BV\",\"street\":\"Dorpsstraat\","
                "\"housenumber\":3,\"housenumber_suffix\":\"a\",\"zipcode\":\"1234AB\","
                "\"city\":\"Utrecht\",\"country_code\":\"nl\"},\"email\":\"jan@acme.test\","
                "\"btw\":\"nl 0000.99998 b57\",\"kvk\":\"12345678\"}}",
                0, &jerr);
        json_t *product = json_loads(
                "{\"id\":845754960,\"productnumber\":\"\",\"name\":\"Kookboek\",\"price\":21.8,"
                "\"discount\":0,\"taxtariff\":\"reduced\",\"maincategory\":\"Boeken\"}",
                0, &jerr);

        if (r == NULL || user == NULL || product == NULL) {
                CHECK(0, "setup: %s %s", err, jerr.text);
                return;
        }
        json_t *acc = booking_account_upsert_json(r, user, "tr-1", err, sizeof(err));
        json_t *a = json_object_get(acc, "account");

        CHECK(acc != NULL, "account upsert: %s", err);
        CHECK(strcmp(json_string_value(json_object_get(acc, "kind")), "account_upsert") == 0,
              "kind");
        CHECK(strcmp(json_string_value(json_object_get(a, "Code")), "24464274") == 0, "code");
        CHECK(strcmp(json_string_value(json_object_get(a, "Name")), "Acme BV") == 0, "name");
        CHECK(strcmp(json_string_value(json_object_get(a, "AddressLine1")), "Dorpsstraat 3a") == 0,
              "address");
        CHECK(strcmp(json_string_value(json_object_get(a, "Country")), "NL") == 0, "country");
        CHECK(strcmp(json_string_value(json_object_get(a, "VATNumber")), "NL000099998B57") == 0,
              "vat number");
        CHECK(strncmp(json_string_value(json_object_get(acc, "content_hash")), "sha256:", 7) == 0,
              "hash");
        CHECK(json_object_get(json_object_get(a, "contact"), "FirstName") != NULL, "contact");

        json_t *it = booking_item_upsert_json(r, product, NULL, err, sizeof(err));
        json_t *item = json_array_get(json_object_get(it, "items"), 0);

        CHECK(it != NULL, "item upsert: %s", err);
        CHECK(strcmp(json_string_value(json_object_get(item, "Code")), "P845754960") == 0,
              "item code");
        CHECK(strcmp(json_string_value(json_object_get(item, "ItemGroup")), "BOEK") == 0,
              "item group");
        CHECK(strcmp(json_string_value(json_object_get(item, "SalesVatCode")), "1") == 0,
              "sales vat code");
        CHECK(json_real_value(json_object_get(item, "SalesPrice")) == 20.0, "price excl");
        CHECK(json_is_null(json_object_get(it, "trace_id")), "null trace id");

        /* guests get a stable 18-digit code from the e-mail address, case-insensitively */
        json_t *info = json_object_get(user, "userinfo");
        json_t *g1 = booking_account_def(info, NULL, err, sizeof(err));

        json_object_set_new(info, "email", json_string("JAN@acme.test"));
        json_t *g2 = booking_account_def(info, "", err, sizeof(err));
        const char *c1 = json_string_value(json_object_get(g1, "Code"));

        CHECK(c1 && strlen(c1) == 18 && c1[0] == '9', "guest code %s", c1 ? c1 : "(null)");
        CHECK(g2 && strcmp(c1, json_string_value(json_object_get(g2, "Code"))) == 0,
              "guest code stable");
        json_object_set_new(info, "email", json_string(""));
        CHECK(booking_account_def(info, NULL, err, sizeof(err)) == NULL &&
                      strstr(err, "e-mail") != NULL,
              "guest without e-mail: %s", err);

        /* an order command carries account, items, body and a stable hash */
        json_t *order = json_loads(
                "{\"id\":5,\"ordernumber_full\":\"W-5\",\"is_completed\":true,\"status\":7,"
                "\"total_price\":24.2,\"user\":{\"id\":12},\"customer\":{\"billingaddress\":"
                "{\"full_name\":\"Jo\",\"country_code\":\"NL\"},\"email\":\"jo@x.test\"},"
                "\"orderrows\":{\"items\":[{\"product_id\":9,\"count\":2,\"tax\":21,"
                "\"total_price\":24.2}]}}",
                0, &jerr);
        booking b;
        char e3[256] = "";

        CHECK(order && booking_from_order(r, order, NULL, &b, e3, sizeof(e3)) == 0, "%s", e3);
        if (b.body != NULL) {
                json_t *cmd1 = booking_command_json(&b, r, "tr");
                json_t *cmd2 = booking_command_json(&b, r, "other");

                CHECK(strcmp(json_string_value(json_object_get(cmd1, "kind")), "sales_order") == 0,
                      "order kind");
                CHECK(strcmp(json_string_value(json_object_get(cmd1, "content_hash")),
                             json_string_value(json_object_get(cmd2, "content_hash"))) == 0,
                      "hash independent of trace id");
                CHECK(json_object_get(cmd1, "account") &&
                              json_array_size(json_object_get(cmd1, "items")) == 1,
                      "account and items");
                CHECK(b.gross_cents == 2420 && b.net_cents == 2000 && b.vat_cents == 420,
                      "totals %lld %lld %lld", b.net_cents, b.vat_cents, b.gross_cents);
                json_decref(cmd1);
                json_decref(cmd2);
                booking_clear(&b);
        }
        json_decref(order);

        json_t *dl = booking_dead_letter_json("t1", "shop.orders", "42", "tr", "bad", "{x");

        CHECK(strcmp(json_string_value(json_object_get(dl, "payload")), "{x") == 0, "payload");
        CHECK(strcmp(json_string_value(json_object_get(dl, "stage")), "transformer") == 0, "stage");
        json_decref(dl);
        json_decref(g1);
        json_decref(g2);
        json_decref(it);
        json_decref(acc);
        json_decref(user);
        json_decref(product);
        rules_free(r);
}

/* The invoicing member of an order command: what the loader does after the POST. */
static void test_invoicing_member(void)
{
        char err[512] = "";
        const char *base = "{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"journal\":\"70\",\"vat_codes\":[{\"code\":\"2\","
                           "\"scenario\":\"domestic\",\"percentage\":21}],";
        char text[512];
        booking b = { .source_id = "7" };
        json_t *cmd, *inv;
        rules *r;

        b.body = json_pack("{s:s}", "OrderDate", "2026-04-01T00:00:00");
        b.account = json_pack("{s:s}", "Code", "1");
        b.items = json_array();
        b.endpoint = "salesinvoice/SalesInvoices";
        snprintf(text, sizeof(text), "%s%s", base,
                 "\"book_as\":\"salesinvoice\",\"invoicing\":{\"process\":true,"
                 "\"send_email\":true}}");
        r = rules_parse(text, err, sizeof(err));
        cmd = r ? booking_command_json(&b, r, NULL) : NULL;
        inv = json_object_get(cmd, "invoicing");
        CHECK(json_is_true(json_object_get(inv, "process")) &&
                      json_is_true(json_object_get(inv, "send_email")) &&
                      !strcmp(json_string_value(json_object_get(inv, "invoice_date")),
                              "2026-04-01T00:00:00"),
              "invoice command asks for processing: %s", err);
        json_decref(cmd);
        rules_free(r);
        b.endpoint = "salesorder/SalesOrders";
        snprintf(text, sizeof(text), "%s%s", base,
                 "\"invoicing\":{\"invoice_sales_orders\":true,\"process\":true}}");
        r = rules_parse(text, err, sizeof(err));
        cmd = r ? booking_command_json(&b, r, NULL) : NULL;
        inv = json_object_get(cmd, "invoicing");
        CHECK(json_is_true(json_object_get(inv, "invoice_sales_orders")) &&
                      !strcmp(json_string_value(json_object_get(inv, "journal")), "70") &&
                      json_is_false(json_object_get(inv, "send_email")),
              "order command asks Exact to invoice it: %s", err);
        json_decref(cmd);
        rules_free(r);
        r = rules_parse(base_rules, err, sizeof(err));
        cmd = r ? booking_command_json(&b, r, NULL) : NULL;
        CHECK(cmd && !json_object_get(cmd, "invoicing"), "no invoicing member by default");
        json_decref(cmd);
        rules_free(r);
        json_decref(b.body);
        json_decref(b.account);
        json_decref(b.items);
}

/* Calendar days in the administration's zone (issue 17 item 4). */
static void test_dates(void)
{
        char *tz_before = getenv("TZ") ? strdup(getenv("TZ")) : strdup("");
        static const struct {
                const char *iso, *tz, *want;
        } t[] = {
                /* 01:30 summer time on 1 April */
                { "2026-03-31T23:30:00Z", "Europe/Amsterdam", "2026-04-01T00:00:00" },
                /* 00:30 CET the next day */
                { "2026-01-14T23:30:00Z", "Europe/Amsterdam", "2026-01-15T00:00:00" },
                { "2026-01-14T22:59:59Z", "Europe/Amsterdam", "2026-01-14T00:00:00" },
                /* the research's example: UTC+1 until 02:00 on 29 March */
                { "2026-03-28T23:30:00Z", "Europe/Amsterdam", "2026-03-29T00:00:00" },
                { "2026-10-24T22:30:00Z", "Europe/Amsterdam", "2026-10-25T00:00:00" },
                { "2026-06-30T21:59:00Z", "Europe/Amsterdam", "2026-06-30T00:00:00" },
                { "2026-06-30T23:30:00+02:00", "Europe/Amsterdam", "2026-06-30T00:00:00" },
                { "2026-03-31T23:30:00Z", "UTC", "2026-03-31T00:00:00" },
                { "2026-03-31T23:30:00Z", "Europe/London", "2026-04-01T00:00:00" },
                { "2026-03-31T23:30:00Z", NULL, "2026-04-01T00:00:00" },
        };
        char out[20], err[256];

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                int rc = dates_local_day(t[i].iso, t[i].tz, out, err, sizeof(err));

                CHECK(rc == 0 && !strcmp(out, t[i].want), "%s in %s: %s (%s)", t[i].iso,
                      t[i].tz ? t[i].tz : "default", rc == 0 ? out : "-", rc == 0 ? "" : err);
        }
        CHECK(dates_local_day("2026-02-30T10:00:00Z", "UTC", out, err, sizeof(err)) < 0 &&
                      strstr(err, "not an ISO 8601"),
              "31 February refused: %s", err);
        CHECK(dates_local_day("2026-01-01T10:00:00Z", "Mars/Olympus", out, err, sizeof(err)) < 0 &&
                      strstr(err, "Mars/Olympus"),
              "unknown zone named: %s", err);
        CHECK(!dates_zone_known("../etc/passwd") && !dates_zone_known("/etc/passwd") &&
                      dates_zone_known("Europe/Amsterdam"),
              "zone names checked");
        CHECK(getenv("TZ") && !strcmp(getenv("TZ"), tz_before),
              "TZ restored (it exists before main and is never removed)");
        free(tz_before);
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"time_zone\":\"Nowhere/City\",\"vat_codes\":[{\"code\":\"2\","
                           "\"scenario\":\"domestic\",\"percentage\":21}]}",
                           "Nowhere/City");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"invoicing\":{\"send_email\":true},\"vat_codes\":[{\"code\":"
                           "\"2\",\"scenario\":\"domestic\",\"percentage\":21}]}",
                           "send_email needs invoicing.process");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"invoicing\":{\"invoice_sales_orders\":true},\"vat_codes\":[{"
                           "\"code\":\"2\",\"scenario\":\"domestic\",\"percentage\":21}]}",
                           "needs book_as salesorder and a \"journal\"");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"invoicing\":{\"proces\":true},\"vat_codes\":[{"
                           "\"code\":\"2\",\"scenario\":\"domestic\",\"percentage\":21}]}",
                           "invoicing.proces");
}

/* The relation policy (rules relation_matching, relation_codes, b2c_collective_account) in
 * the account_upsert command's account.relation. */
static json_t *upsert_with(const char *extra, const char *company, const char *btw)
{
        char text[2048], err[512] = "", user[1024];
        rules *r;
        json_t *u, *cmd, *acc;

        snprintf(text, sizeof(text), "%.*s%s}", (int)strlen(base_rules) - 1, base_rules, extra);
        r = rules_parse(text, err, sizeof(err));
        CHECK(r != NULL, "rules %s: %s", extra, err);
        snprintf(user, sizeof(user),
                 "{\"id\":77,\"userinfo\":{\"billingaddress\":{\"full_name\":\"Kim\","
                 "\"company\":\"%s\",\"country_code\":\"NL\"},\"email\":\"kim@x.test\","
                 "\"btw\":\"%s\"}}",
                 company, btw);
        u = json_loads(user, 0, NULL);
        cmd = r ? booking_account_upsert_json(r, u, NULL, err, sizeof(err)) : NULL;
        acc = json_incref(json_object_get(cmd, "account"));
        json_decref(cmd);
        json_decref(u);
        rules_free(r);
        return acc;
}

static void test_relation_policy(void)
{
        json_t *a = upsert_with("", "", "");
        json_t *rel = json_object_get(a, "relation");
        char *m = json_dumps(json_object_get(rel, "match"), JSON_COMPACT);

        /* default: matched by VAT, CoC, e-mail; Exact numbers the relation (no code) */
        CHECK(m && !strcmp(m, "[\"vat\",\"coc\",\"email\"]"), "default match %s", m ? m : "");
        CHECK(!json_object_get(rel, "code") && !json_object_get(rel, "range"), "no code");
        CHECK(!strcmp(json_string_value(json_object_get(a, "Code")), "77"), "shop key stays");
        free(m);
        json_decref(a);
        a = upsert_with(",\"relation_codes\":{\"prefix\":\"40\"},\"relation_matching\":[\"email\"]",
                        "", "");
        rel = json_object_get(a, "relation");
        CHECK(!strcmp(json_string_value(json_object_get(rel, "code")), "4077"), "prefix code");
        CHECK(json_array_size(json_object_get(rel, "match")) == 1, "match by e-mail only");
        json_decref(a);
        a = upsert_with(",\"relation_codes\":\"shop\"", "", "");
        CHECK(!strcmp(json_string_value(json_object_get(json_object_get(a, "relation"), "code")),
                      "77"),
              "shop code");
        json_decref(a);
        a = upsert_with(",\"relation_codes\":{\"from\":400000,\"to\":499999}", "", "");
        CHECK(json_integer_value(json_array_get(
                      json_object_get(json_object_get(a, "relation"), "range"), 1)) == 499999,
              "range");
        json_decref(a);
        /* a consumer goes to the collective relation; a business keeps its own */
        a = upsert_with(",\"b2c_collective_account\":\"1000\"", "", "");
        CHECK(!strcmp(json_string_value(json_object_get(a, "Code")), "1000") &&
                      json_is_true(json_object_get(json_object_get(a, "relation"), "collective")),
              "collective");
        json_decref(a);
        a = upsert_with(",\"b2c_collective_account\":\"1000\"", "Acme BV", "");
        CHECK(!strcmp(json_string_value(json_object_get(a, "Code")), "77"), "business");
        json_decref(a);
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"relation_codes\":\"guess\","
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "relation_codes must be");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"relation_matching\":[\"name\"],"
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "relation_matching");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"b2c_collective_account\":\"B2C\","
                           "\"vat_codes\":[{\"code\":\"1\",\"scenario\":\"icp\"}]}",
                           "b2c_collective_account");
}

/* The after-booking members (issue 13) stay outside content_hash: an order booked before
 * replays with the same hash whether it is paid, refunded or cancelled since. */
static void test_after_booking_members(void)
{
        char err[512] = "", e2[256] = "";
        const char *text =
                "{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\",\"shipping_item\":"
                "\"VERZEND\",\"corrections\":\"log\",\"payment_journals\":{\"iDEAL\":{\"journal\":"
                "\"IDL\",\"clearing_gl\":\"1105\"}},\"vat_codes\":[{\"code\":\"2\","
                "\"scenario\":\"domestic\",\"percentage\":21}]}";
        const char *order_text =
                "{\"id\":5,\"ordernumber_full\":\"W-5\",\"is_completed\":true,\"status\":7,"
                "\"total_price\":24.2,\"user\":{\"id\":12},\"paymethod\":\"iDEAL\","
                "\"create_date\":\"2026-03-01T10:00:00Z\",\"customer\":{\"billingaddress\":"
                "{\"full_name\":\"Jo\",\"country_code\":\"NL\"},\"email\":\"jo@x.test\"},"
                "\"orderrows\":{\"items\":[{\"id\":51,\"product_id\":9,\"count\":2,\"tax\":21,"
                "\"total_price\":24.2}]}}";
        rules *r = rules_parse(text, err, sizeof(err));
        json_error_t jerr;
        json_t *o1 = json_loads(order_text, 0, &jerr), *o2 = json_loads(order_text, 0, &jerr);
        booking b1, b2;
        booking_ctx ctx = { .map_cancelled = true };

        CHECK(r && r->corrections_log && r->payment_journals, "rules parse: %s", err);
        if (!r || !o1 || !o2) {
                rules_free(r);
                json_decref(o1);
                json_decref(o2);
                return;
        }
        /* the same order paid, refunded and cancelled since */
        json_object_set_new(o2, "paid", json_true());
        json_object_set_new(o2, "status", json_integer(8));
        json_object_set_new(o2, "invoices",
                            json_pack("[{s:i,s:s,s:i,s:f,s:[{s:i,s:{s:s}}]}]", "id", 900, "type",
                                      "credit", "status", 3, "total_price", -12.1, "invoicerows",
                                      "count", -1, "orderrow", "href",
                                      "https://s/api/rest/v1/orders/5/orderrows/51/"));
        CHECK(booking_from_order(r, o1, NULL, &b1, err, sizeof(err)) == 0, "%s", err);
        CHECK(booking_from_order(r, o2, NULL, &b2, e2, sizeof(e2)) != 0 && strstr(e2, "cancelled"),
              "cancelled refused without map_cancelled: %s", e2);
        CHECK(booking_from_order(r, o2, &ctx, &b2, e2, sizeof(e2)) == 0, "%s", e2);
        json_t *c1 = booking_command_json(&b1, r, NULL), *c2 = booking_command_json(&b2, r, NULL);
        const json_t *keys = json_object_get(c1, "line_keys");
        const json_t *ref = json_array_get(json_object_get(c2, "refunds"), 0);
        const json_t *pay = json_object_get(c2, "payment");

        CHECK(!strcmp(json_string_value(json_object_get(c1, "content_hash")),
                      json_string_value(json_object_get(c2, "content_hash"))),
              "content_hash does not see payment, refunds, cancellation");
        CHECK(!strcmp(json_string_value(json_object_get(c1, "shop_revision")),
                      json_string_value(json_object_get(c2, "shop_revision"))),
              "shop_revision does not see status or paid state");
        CHECK(json_array_size(keys) == 1 &&
                      !strcmp(json_string_value(json_array_get(keys, 0)), "row:51"),
              "line key of the row");
        CHECK(!json_object_get(c1, "cancelled") && json_is_true(json_object_get(c2, "cancelled")),
              "cancelled only when cancelled");
        CHECK(!json_object_get(c1, "payment") &&
                      !strcmp(json_string_value(json_object_get(pay, "journal")), "IDL") &&
                      !strcmp(json_string_value(json_object_get(pay, "clearing_gl")), "1105") &&
                      !strcmp(json_string_value(json_object_get(pay, "date")), "2026-03-01") &&
                      json_real_value(json_object_get(pay, "amount")) == 24.2,
              "payment with its journal");
        CHECK(ref && !strcmp(json_string_value(json_object_get(ref, "id")), "900") &&
                      json_is_true(json_object_get(ref, "paid")) &&
                      json_real_value(json_object_get(ref, "gross")) == 12.1 &&
                      !strcmp(json_string_value(json_object_get(
                                      json_array_get(json_object_get(ref, "lines"), 0), "key")),
                              "row:51"),
              "refund of one row by its key");
        CHECK(!strcmp(json_string_value(json_object_get(c2, "corrections")), "log"),
              "corrections policy");
        json_decref(c1);
        json_decref(c2);
        booking_clear(&b1);
        booking_clear(&b2);

        /* a product deactivated or deleted stops being a sales item */
        json_t *p = json_pack("{s:i,s:s,s:s,s:b}", "id", 3, "name", "Oud", "productnumber", "OLD-1",
                              "is_active", 0);
        json_t *u = booking_item_upsert_json(r, p, NULL, err, sizeof(err));
        json_t *gone = json_pack("{s:i}", "id", 4);
        json_t *d = booking_item_deleted_json(r, gone, NULL, err, sizeof(err));

        CHECK(u && json_is_true(json_object_get(u, "deactivate")) &&
                      json_is_false(json_object_get(json_array_get(json_object_get(u, "items"), 0),
                                                    "IsSalesItem")),
              "deactivated product");
        CHECK(d && json_is_true(json_object_get(d, "deactivate")) &&
                      !strcmp(json_string_value(json_object_get(
                                      json_array_get(json_object_get(d, "items"), 0), "Code")),
                              "P4"),
              "deleted product by id: %s", err);
        json_decref(u);
        json_decref(d);
        json_decref(p);
        json_decref(gone);
        json_decref(o1);
        json_decref(o2);
        rules_free(r);
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"corrections\":\"sometimes\",\"vat_codes\":[{\"code\":\"2\","
                           "\"scenario\":\"domestic\",\"percentage\":21}]}",
                           "corrections");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"payment_journals\":{\"iDEAL\":{\"clearing_gl\":\"1\"}},"
                           "\"vat_codes\":[{\"code\":\"2\",\"scenario\":\"domestic\","
                           "\"percentage\":21}]}",
                           "needs a \"journal\"");
        expect_rules_error("{\"tenant\":\"t\",\"division\":1,\"home_country\":\"NL\","
                           "\"payment_journals\":{\"iDEAL\":{\"journal\":\"91\"}},"
                           "\"vat_codes\":[{\"code\":\"2\",\"scenario\":\"domestic\","
                           "\"percentage\":21}]}",
                           "\"clearing_gl\"");
}

int main(void)
{
        test_rates();
        test_territory();
        test_rules();
        test_envelopes();
        test_dates();
        test_invoicing_member();
        test_relation_policy();
        test_after_booking_members();
        printf("%d/%d core checks passed\n", checks - failed, checks);
        return failed ? 1 : 0;
}
