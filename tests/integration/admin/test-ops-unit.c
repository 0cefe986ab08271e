/* Unit checks of the admin operations that need no services: time parsing, tenant ids,
 * exit codes, and the mapping proposal from Exact's VAT codes (which must be a rules file the
 * transformer's validator accepts). */
#include <jansson.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_mappings.h"
#include "tests/testlib.h"
#include "booking/rules.h"

static void test_parse_time(void)
{
        char iso[32];
        long long t = 0;
        cx_err err = { 0 };

        T_EQ_INT(ops_parse_time("2024-05-01", &t, iso, &err), 0);
        T_EQ_INT(t, 1714521600);
        T_EQ_STR(iso, "2024-05-01T00:00:00Z");
        T_EQ_INT(ops_parse_time("2024-05-01T12:30:00+02:00", &t, iso, &err), 0);
        T_EQ_STR(iso, "2024-05-01T10:30:00Z");
        T_EQ_INT(ops_parse_time("2024-05-01T12:30:00Z", NULL, iso, &err), 0);
        T_EQ_STR(iso, "2024-05-01T12:30:00Z");
        T_EQ_INT(ops_parse_time("2024-02-30", &t, iso, &err), -1);
        T_EQ_INT(err.code, CX_ERR_PARSE);
        T_CONTAINS(err.msg, "YYYY-MM-DD");
        T_EQ_INT(ops_parse_time("01-05-2024", &t, iso, &err), -1);
        T_EQ_INT(ops_parse_time("2024-05-01T25:00:00Z", &t, iso, &err), -1);
        T_EQ_INT(ops_parse_time("2024-05-01junk", &t, iso, &err), -1);
        T_EQ_INT(ops_parse_time(NULL, &t, iso, &err), -1);
}

static void test_tenant_ids_and_exit_codes(void)
{
        cx_err err = { 0 };

        T_EQ_INT(ops_check_tenant_id("acme-1_b", &err), 0);
        T_EQ_INT(ops_check_tenant_id("Acme", &err), -1);
        T_EQ_INT(ops_check_tenant_id("-acme", &err), -1);
        T_EQ_INT(ops_check_tenant_id("", &err), -1);
        T_EQ_INT(ops_check_tenant_id("a b", &err), -1);
        T_EQ_INT(ops_exit_code(&err), OPS_EXIT_USAGE);
        err.code = CX_ERR_INVALID;
        T_EQ_INT(ops_exit_code(&err), OPS_EXIT_REFUSED);
        err.code = CX_ERR_NOT_FOUND;
        T_EQ_INT(ops_exit_code(&err), OPS_EXIT_NOT_FOUND);
        err.code = CX_ERR_DB;
        T_EQ_INT(ops_exit_code(&err), OPS_EXIT_FAILURE);
}

static json_t *vat(const char *code, const char *desc, double pct, const char *type, const char *tx,
                   const char *listing, const char *oss, int charged)
{
        return json_pack("{s:s, s:s, s:f, s:s, s:s, s:s, s:s, s:b, s:b}", "Code", code,
                         "Description", desc, "Percentage", pct, "Type", type, "VATTransactionType",
                         tx, "EUSalesListing", listing, "OssCountry", oss, "Charged", charged,
                         "IsBlocked", 0);
}

static const char *code_for(const json_t *proposal, const char *scenario, const char *country,
                            const char *cls)
{
        size_t i;
        json_t *c;

        json_array_foreach (json_object_get(proposal, "vat_codes"), i, c) {
                const char *co = json_string_value(json_object_get(c, "country"));
                const char *cl = json_string_value(json_object_get(c, "class"));

                if (!strcmp(json_string_value(json_object_get(c, "scenario")), scenario) &&
                    !strcmp(co ? co : "", country) && !strcmp(cl ? cl : "", cls))
                        return json_string_value(json_object_get(c, "code"));
        }
        return NULL;
}

static void test_propose(void)
{
        json_t *codes = json_array(), *p;
        char *text, why[512] = "";
        rules *r;

        json_array_append_new(codes, vat("0  ", "0% btw binnenland", 0, "B", "S", "N", "", 0));
        json_array_append_new(codes, vat("1  ", "Verkopen laag", 0.09, "E", "S", "N", "", 0));
        json_array_append_new(codes, vat("2  ", "Verkopen hoog", 0.21, "E", "S", "N", "", 0));
        json_array_append_new(codes, vat("3  ", "Ook hoog", 0.21, "E", "S", "N", "", 0));
        json_array_append_new(codes, vat("5  ", "Inkopen hoog", 0.21, "E", "P", "N", "", 0));
        json_array_append_new(codes, vat("ICP", "Leveringen binnen EU", 0, "B", "S", "L", "", 0));
        json_array_append_new(codes,
                              vat("EXP", "Leveringen buiten EU (export)", 0, "B", "S", "N", "", 0));
        json_array_append_new(codes, vat("VL ", "Btw verlegd", 0, "B", "S", "N", "", 1));
        json_array_append_new(codes,
                              vat("D1 ", "OSS Duitsland hoog", 0.19, "E", "S", "N", "DE", 0));
        json_array_append_new(codes,
                              vat("D2 ", "OSS Duitsland laag", 0.07, "E", "S", "N", "DE", 0));
        json_array_append_new(codes,
                              vat("X9 ", "OSS Duitsland fout", 0.11, "E", "S", "N", "DE", 0));
        p = ops_mapping_propose_from("demo", 123456, "NL", codes);
        T_FATAL(p != NULL, "no proposal");
        T_EQ_STR(code_for(p, "domestic", "", "standard"), "2");
        T_EQ_STR(code_for(p, "domestic", "", "reduced"), "1");
        T_EQ_STR(code_for(p, "domestic", "", "zero"), "0");
        T_EQ_STR(code_for(p, "icp", "", ""), "ICP");
        T_EQ_STR(code_for(p, "export", "", ""), "EXP");
        T_EQ_STR(code_for(p, "oss", "DE", "standard"), "D1");
        T_EQ_STR(code_for(p, "oss", "DE", "reduced"), "D2");
        T_EQ_INT(json_array_size(json_object_get(p, "vat_codes")), 7);
        text = json_dumps(json_object_get(p, "review"), 0);
        T_CONTAINS(text, "VL"); /* reverse charge left out, and said so */
        T_CONTAINS(text, "X9"); /* not a German rate */
        T_CONTAINS(text, "code 3 duplicates");
        T_CONTAINS(text, "service items");
        free(text);
        /* the service items, or every order with shipping costs dead-letters */
        T_EQ_STR(json_string_value(json_object_get(p, "shipping_item")), "VERZEND");
        T_EQ_STR(json_string_value(json_object_get(p, "discount_item")), "KORTING");
        T_EQ_STR(json_string_value(json_object_get(p, "payment_cost_item")), "BETAAL");
        T_EQ_STR(json_string_value(json_object_get(p, "rounding_item")), "AFROND");
        /* the proposal is a rules file the transformer accepts */
        text = json_dumps(p, 0);
        r = rules_parse(text, why, sizeof(why));
        T_ASSERT(r != NULL, "proposal rejected: %s", why);
        rules_free(r);
        free(text);
        json_decref(p);
        json_decref(codes);
}

int main(void)
{
        T_RUN(test_parse_time);
        T_RUN(test_tenant_ids_and_exit_codes);
        T_RUN(test_propose);
        return t_done();
}
