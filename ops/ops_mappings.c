#include "ops/ops_mappings.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_client.h"
#include "common/tenant.h"
#include "exact/api.h"
#include "exact/token.h"
#include "booking/rules.h"
#include "vat/vat_rates.h"

/* Parse, validate and normalise; refuse rules written for another tenant or division. */
static json_t *checked_rules(ops_ctx *ctx, const char *tenant, const char *text, cx_err *err)
{
        char why[512] = "";
        rules *r;
        cx_tenant row;
        json_t *out;

        if (ops_tenant_exists(ctx, tenant, err) < 0)
                return NULL;
        r = rules_parse(text, why, sizeof(why));
        if (!r) {
                cx_fail(err, CX_ERR_PARSE, false, "%s", why);
                return NULL;
        }
        if (rules_validate(r, why, sizeof(why)) != 0) {
                cx_fail(err, CX_ERR_PARSE, false, "%s", why);
                rules_free(r);
                return NULL;
        }
        if (strcmp(r->tenant, tenant) != 0) {
                cx_fail(err, CX_ERR_PARSE, false, "the rules name tenant \"%s\", expected \"%s\"",
                        r->tenant, tenant);
                rules_free(r);
                return NULL;
        }
        /* a tenant's data must only ever reach its own division */
        if (cx_tenant_get(ctx->db, tenant, &row, err) < 0 && err->code != CX_ERR_NOT_FOUND) {
                rules_free(r);
                return NULL;
        }
        cx_err_clear(err);
        if (row.has_division && row.exact_division != r->division) {
                cx_fail(err, CX_ERR_PARSE, false,
                        "the rules name division %lld but tenant \"%s\" "
                        "books into division %ld",
                        r->division, tenant, row.exact_division);
                cx_tenant_clear(&row);
                rules_free(r);
                return NULL;
        }
        cx_tenant_clear(&row);
        out = rules_to_json(r);
        rules_free(r);
        if (!out)
                cx_fail(err, CX_ERR_IO, false, "out of memory");
        return out;
}

int ops_mapping_check(ops_ctx *ctx, const char *tenant, const char *text, cx_err *err)
{
        json_t *j = checked_rules(ctx, tenant, text, err);

        json_decref(j);
        return j ? 0 : -1;
}

json_t *ops_mapping_import(ops_ctx *ctx, const char *tenant, const char *text, cx_err *err)
{
        json_t *checked = checked_rules(ctx, tenant, text, err), *out = NULL;
        char *dump = checked ? json_dumps(checked, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        const char *p[2] = { tenant, dump };
        PGresult *r = NULL;

        if (!checked)
                return NULL;
        if (!dump) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                goto out;
        }
        if (cx_db_begin(ctx->db, err) < 0)
                goto out;
        r = cx_db_query(ctx->db,
                        "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                        " ($1, $2::jsonb) ON CONFLICT (tenant_id) DO UPDATE SET rules = $2::jsonb,"
                        " version = mapping_rules.version + 1, updated_at = now()"
                        " RETURNING version",
                        2, p, err);
        if (!r || PQntuples(r) != 1)
                goto rollback;
        out = json_pack("{s:s, s:I, s:I}", "tenant", tenant, "version",
                        (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10), "vat_codes",
                        (json_int_t)json_array_size(json_object_get(checked, "vat_codes")));
        {
                char msg[96];

                snprintf(msg, sizeof(msg), "mapping rules imported (version %s)",
                         PQgetvalue(r, 0, 0));
                if (ops_audit(ctx, tenant, "mapping", "", msg, err) < 0 ||
                    cx_db_commit(ctx->db, err) < 0) {
                        json_decref(out);
                        out = NULL;
                        goto rollback;
                }
        }
        goto out;
rollback:
        cx_db_rollback(ctx->db);
out:
        PQclear(r);
        free(dump);
        json_decref(checked);
        return out;
}

json_t *ops_mapping_export(ops_ctx *ctx, const char *tenant, int *version, cx_err *err)
{
        const char *p[1] = { tenant };
        PGresult *r;
        json_t *out;

        if (ops_tenant_exists(ctx, tenant, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db, "SELECT rules, version FROM mapping_rules WHERE tenant_id = $1", 1,
                        p, err);
        if (!r)
                return NULL;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_fail(err, CX_ERR_NOT_FOUND, false,
                        "tenant \"%s\" has no mapping rules yet "
                        "(import some with: connector-admin mappings import %s FILE)",
                        tenant, tenant);
                return NULL;
        }
        out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        if (version)
                *version = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
        if (!out)
                cx_fail(err, CX_ERR_PARSE, false, "stored rules are not JSON");
        return out;
}

/* ---- proposal ------------------------------------------------------------ */

static void trimmed(const char *s, char *out, size_t size)
{
        size_t n;

        while (s && isspace((unsigned char)*s))
                s++;
        snprintf(out, size, "%s", s ? s : "");
        n = strlen(out);
        while (n > 0 && isspace((unsigned char)out[n - 1]))
                out[--n] = '\0';
}

static bool mentions(const char *text, const char *const *words)
{
        char low[256];
        size_t i;

        for (i = 0; text && text[i] && i + 1 < sizeof(low); i++)
                low[i] = (char)tolower((unsigned char)text[i]);
        low[i] = '\0';
        for (; *words; words++)
                if (strstr(low, *words))
                        return true;
        return false;
}

static const char *str_of(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));

        return s ? s : "";
}

static void note(json_t *review, const char *fmt, const char *a, const char *b)
{
        char buf[300];

        snprintf(buf, sizeof(buf), fmt, a, b);
        json_array_append_new(review, json_string(buf));
}

json_t *ops_mapping_propose_from(const char *tenant, long long division, const char *home,
                                 const json_t *vat_codes)
{
        static const char *const export_words[] = { "export", "buiten", "outside", "non-eu", NULL };
        const vat_country *home_c = vat_rates_find(home);
        json_t *codes = json_array(), *review = json_array(), *out;
        size_t i;
        const json_t *row;

        if (!codes || !review || !home_c) {
                json_decref(codes);
                json_decref(review);
                return NULL;
        }
        json_array_foreach (vat_codes, i, row) {
                char code[16], country[8], key[64];
                const char *desc = str_of(row, "Description"), *scenario = NULL;
                const vat_country *c = home_c;
                double pct = json_number_value(json_object_get(row, "Percentage"));
                int bp = (int)lround(pct * 10000.0);
                enum vat_class cls = VAT_CLASS_NONE;
                bool dup = false;
                size_t k;
                json_t *e, *entry;

                trimmed(str_of(row, "Code"), code, sizeof(code));
                trimmed(str_of(row, "OssCountry"), country, sizeof(country));
                if (!*code || !strcmp(str_of(row, "VATTransactionType"), "P") ||
                    json_is_true(json_object_get(row, "IsBlocked")))
                        continue;
                if (json_is_true(json_object_get(row, "Charged")) ||
                    !strcmp(str_of(row, "Type"), "N")) {
                        note(review,
                             "code %s (%s) left out: reverse charge or no VAT; map it by "
                             "hand if the shop needs it",
                             code, desc);
                        continue;
                }
                if (*country && strcmp(country, home) != 0) {
                        scenario = "oss";
                        c = vat_rates_find(country);
                        if (!c) {
                                note(review, "code %s: OSS country %s is not an EU country", code,
                                     country);
                                continue;
                        }
                } else if (!strcmp(str_of(row, "EUSalesListing"), "L") && bp == 0) {
                        scenario = "icp";
                } else if (bp == 0 && (mentions(desc, export_words) || !strcmp(code, "EXP"))) {
                        scenario = "export";
                } else {
                        scenario = "domestic";
                }
                if (!strcmp(scenario, "oss") || !strcmp(scenario, "domestic")) {
                        cls = vat_rates_class_of(c, bp);
                        if (cls == VAT_CLASS_NONE) {
                                char pbuf[16];

                                vat_pct_format(bp, pbuf, sizeof(pbuf));
                                note(review,
                                     "code %s left out: %s%% is not a rate of its "
                                     "country",
                                     code, pbuf);
                                continue;
                        }
                }
                snprintf(key, sizeof(key), "%s/%s/%s/%d", scenario, *country ? country : "",
                         vat_class_name(cls), bp);
                json_array_foreach (codes, k, e) {
                        if (!strcmp(str_of(e, "_key"), key))
                                dup = true;
                }
                if (dup) {
                        note(review,
                             "code %s duplicates an earlier code for %s; the first one "
                             "is proposed",
                             code, key);
                        continue;
                }
                entry = json_pack("{s:s, s:s, s:s, s:f}", "_key", key, "code", code, "scenario",
                                  scenario, "percentage", bp / 100.0);
                if (cls != VAT_CLASS_NONE)
                        json_object_set_new(entry, "class", json_string(vat_class_name(cls)));
                if (!strcmp(scenario, "oss"))
                        json_object_set_new(entry, "country", json_string(country));
                json_array_append_new(codes, entry);
        }
        json_array_foreach (codes, i, row)
                json_object_del((json_t *)row, "_key");
        note(review,
             "proposed from %s VAT codes of Exact; check every scenario and class "
             "before importing%s",
             json_array_size(vat_codes) ? "the division's" : "no", "");
        /* Without them every order with shipping, payment costs or a discount dead-letters.
         * The loader creates an item that the division does not have yet. */
        note(review,
             "service items %s proposed (shipping, discount, payment costs, rounding); "
             "the loader creates any the division lacks: %s",
             "VERZEND, KORTING, BETAAL and AFROND",
             "replace them with the division's own item codes if it has them");
        out = json_pack("{s:s, s:I, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "tenant", tenant,
                        "division", (json_int_t)division, "home_country", home, "oss_registered", 1,
                        "book_as", "salesorder", "shipping_item", "VERZEND", "discount_item",
                        "KORTING", "payment_cost_item", "BETAAL", "rounding_item", "AFROND",
                        "vat_codes", codes, "review", review);
        return out;
}

json_t *ops_mapping_propose(ops_ctx *ctx, const char *tenant, cx_err *err)
{
        const char *p[1] = { tenant };
        exact_token_ctx t = { 0 };
        exact_conn conn = { 0 };
        exact_budget budget = { 0 };
        char *access = NULL, *query = NULL, base[512], home[3] = "NL";
        json_t *all = NULL, *out = NULL;
        long long division;
        PGresult *r;

        if (ops_tenant_exists(ctx, tenant, err) < 0 || ops_need_key(ctx, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db,
                        "SELECT t.exact_base_url, t.exact_division,"
                        " m.rules->>'home_country' FROM tenants t LEFT JOIN mapping_rules m"
                        " ON m.tenant_id = t.id WHERE t.id = $1",
                        1, p, err);
        if (!r)
                return NULL;
        if (PQgetisnull(r, 0, 1)) {
                PQclear(r);
                cx_fail(err, CX_ERR_CONFIG, false,
                        "tenant \"%s\" has no Exact division (set it "
                        "with tenants update %s --division N)",
                        tenant, tenant);
                return NULL;
        }
        snprintf(base, sizeof(base), "%s", PQgetvalue(r, 0, 0));
        division = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        if (!PQgetisnull(r, 0, 2) && strlen(PQgetvalue(r, 0, 2)) == 2)
                snprintf(home, sizeof(home), "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        t.db = ctx->db;
        t.http = cx_http_client_new(ctx->http_timeout_ms, false);
        t.key = ctx->key;
        t.timeout_ms = ctx->http_timeout_ms;
        t.refresh_margin_s = 30;
        all = json_array();
        if (!t.http || !all) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                goto out;
        }
        if (exact_token_access(&t, tenant, &access, err) < 0)
                goto out;
        conn.http = t.http;
        conn.base_url = base;
        conn.division = (long)division;
        conn.access_token = access;
        conn.timeout_ms = ctx->http_timeout_ms;
        /* follow __next page by page; a division has a few dozen codes */
        for (int page = 0; page < 50; page++) {
                exact_result res = { 0 };
                const char *next;

                if (exact_call(&conn, &budget, "GET", "vat/VATCodes", query, NULL, &res) < 0) {
                        cx_fail(err, CX_ERR_IO, false, "out of memory");
                        goto out;
                }
                if (res.outcome != EX_OK) {
                        cx_fail(err, res.outcome == EX_UNAUTHORIZED ? CX_ERR_INVALID : CX_ERR_HTTP,
                                res.outcome != EX_CLIENT_ERROR && res.outcome != EX_UNAUTHORIZED,
                                "Exact vat/VATCodes: HTTP %ld %s", res.status, res.message);
                        exact_result_clear(&res);
                        goto out;
                }
                json_array_extend(all, exact_rows(&res));
                next = json_string_value(json_object_get(res.d, "__next"));
                free(query);
                query = next && strchr(next, '?') ? strdup(strchr(next, '?') + 1) : NULL;
                exact_result_clear(&res);
                if (!query)
                        break;
        }
        out = ops_mapping_propose_from(tenant, division, home, all);
        if (!out)
                cx_fail(err, CX_ERR_INVALID, false, "home country %s is not in the rates table",
                        home);
out:
        free(access);
        free(query);
        json_decref(all);
        cx_http_client_free(t.http);
        exact_token_cache_free();
        return out;
}
