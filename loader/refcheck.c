/* refcheck: see refcheck.h. */
#include "loader/refcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loader/command_check.h"

/* @p code (used by @p where) exists and may be used for sales; @p out filled. */
static int usable(run *r, exact_refdata *rd, const char *code, const char *where,
                  exact_vat_code *out)
{
        exact_reader reader = run_reader(r);
        cx_err e = { 0 };
        int rc = exact_refdata_vat(rd, &reader, code, out, &e);

        if (rc < 0)
                return run_fail_with(r, &e);
        if (rc == 0)
                return run_set(r, RUN_FAIL, 0, "VAT code %s (%s) is not known in division %ld",
                               code, where, r->division),
                       -1;
        if (out->blocked)
                return run_set(r, RUN_FAIL, 0, "VAT code %s (%s) is blocked in division %ld", code,
                               where, r->division),
                       -1;
        if (!strcmp(out->transaction, "P"))
                return run_set(r, RUN_FAIL, 0,
                               "VAT code %s (%s) is for purchases only in division %ld", code,
                               where, r->division),
                       -1;
        return 0;
}

/* The line's code agrees with the rule that chose it (its VATPercentage). */
static int agrees(run *r, const exact_vat_code *c, const json_t *line, const char *where)
{
        json_t *pv = json_object_get(line, "VATPercentage");
        double rule = json_number_value(pv);

        if (!strcmp(c->type, "I"))
                return run_set(r, RUN_FAIL, 0,
                               "VAT code %s (%s) is of type I (prices including VAT) in division "
                               "%ld, but the lines carry prices excluding VAT",
                               c->code, where, r->division),
                       -1;
        /* percentages are fractions with at most 4 decimals (5.5% = 0.055) */
        if (json_is_number(pv) && fabs(rule - c->percentage) > 0.00005)
                return run_set(r, RUN_FAIL, 0,
                               "VAT code %s (%s) is %g%% in Exact division %ld, but the rule that "
                               "chose it says %g%%",
                               c->code, where, c->percentage * 100.0, r->division, rule * 100.0),
                       -1;
        return 0;
}

int refcheck_vat(run *r, exact_refdata *rd)
{
        json_t *acc = json_object_get(r->cmd, "account");
        json_t *lines = json_object_get(json_object_get(r->cmd, "body"),
                                        command_lines_member(!strcmp(r->kind, "sales_invoice")));
        exact_reader reader = run_reader(r);
        exact_vat_code c;
        cx_err e = { 0 };
        const char *code;
        char where[96];
        json_t *v;
        size_t i;

        if (exact_refdata_load_vat(rd, &reader, &e) < 0)
                return run_fail_with(r, &e);
        code = json_string_value(json_object_get(acc, "SalesVATCode"));
        if (code && usable(r, rd, code, "account", &c) < 0)
                return -1;
        json_array_foreach (json_object_get(r->cmd, "items"), i, v) {
                code = json_string_value(json_object_get(v, "SalesVatCode"));
                snprintf(where, sizeof(where), "item %s", command_str(v, "Code"));
                if (code && usable(r, rd, code, where, &c) < 0)
                        return -1;
        }
        json_array_foreach (lines, i, v) {
                code = json_string_value(json_object_get(v, "VATCode"));
                snprintf(where, sizeof(where), "line %zu", i + 1);
                if (code && (usable(r, rd, code, where, &c) < 0 || agrees(r, &c, v, where) < 0))
                        return -1;
        }
        return 0;
}
