#include "ops/ops_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run @p sql with the tenant as $1 and return row 0 as an object (empty object: no rows). */
static json_t *one_row(ops_ctx *ctx, const char *sql, const char *tenant, cx_err *err)
{
        const char *p[1] = { tenant };
        PGresult *r = cx_db_query(ctx->db, sql, 1, p, err);
        json_t *o;

        if (!r)
                return NULL;
        o = PQntuples(r) > 0 ? ops_row_json(r, 0) : json_object();
        PQclear(r);
        return o;
}

static json_t *rows(ops_ctx *ctx, const char *sql, int n, const char *const *p, cx_err *err)
{
        PGresult *r = cx_db_query(ctx->db, sql, n, p, err);
        json_t *a;

        if (!r)
                return NULL;
        a = ops_rows_json(r);
        PQclear(r);
        return a;
}

static json_t *tenant_status(ops_ctx *ctx, const char *tenant, bool enabled, int n_failures,
                             cx_err *err)
{
        char lim[16];
        const char *p2[2] = { tenant, lim };
        json_t *extraction, *counts, *failures, *budget, *token, *cursors;

        snprintf(lim, sizeof(lim), "%d", n_failures);
        extraction = one_row(
                ctx,
                "SELECT " OPS_ISO(
                        "greatest(c.last, h.last)") " AS last_extraction,"
                                                    " extract(epoch FROM now() - greatest(c.last, h.last))::bigint AS lag_seconds,"
                                                    " l.owner AS lease_owner, " OPS_ISO(
                                                            "l.expires_at") " AS lease_expires_at"
                                                                            " FROM (SELECT max(updated_at) AS last FROM extract_cursors WHERE tenant_id = $1) c,"
                                                                            " (SELECT max(published_at) AS last FROM extract_hashes WHERE tenant_id = $1) h"
                                                                            " LEFT JOIN extract_leases l ON l.tenant_id = $1",
                tenant, err);
        cursors = extraction ? rows(ctx,
                                    "SELECT entity, cursor FROM extract_cursors WHERE"
                                    " tenant_id = $1 ORDER BY entity",
                                    1, p2, err)
                             : NULL;
        counts =
                cursors ? one_row(ctx,
                                  "SELECT (SELECT count(*) FROM extract_hashes WHERE tenant_id = $1) AS extracted,"
                                  " (SELECT count(*) FROM sync_log WHERE tenant_id = $1 AND stage = 'transform'"
                                  "  AND status = 'ok') AS transformed,"
                                  " (SELECT count(*) FROM ledger WHERE tenant_id = $1 AND state = 'done'"
                                  "  AND kind IN ('sales_order', 'sales_invoice')) AS loaded,"
                                  " (SELECT count(*) FROM ledger WHERE tenant_id = $1 AND state = 'done') AS"
                                  "  loaded_entities,"
                                  " (SELECT count(*) FROM ledger WHERE tenant_id = $1 AND state = 'failed') +"
                                  " (SELECT count(*) FROM dead_letters WHERE tenant_id = $1 AND state = 'open')"
                                  "  AS failed,"
                                  " (SELECT count(*) FROM ledger WHERE tenant_id = $1 AND state = 'pending') AS"
                                  "  pending,"
                                  " (SELECT count(*) FROM dead_letters WHERE tenant_id = $1 AND state = 'open')"
                                  "  AS dead_letters_open",
                                  tenant, err)
                        : NULL;
        failures =
                counts ? rows(ctx,
                              "SELECT " OPS_ISO(
                                      "at") " AS at, stage, entity, source_id,"
                                            " message FROM sync_log WHERE tenant_id = $1 AND status ="
                                            " 'failed' ORDER BY at DESC, id DESC LIMIT $2::integer",
                              2, p2, err)
                       : NULL;
        budget =
                failures
                        ? one_row(ctx,
                                  "SELECT daily_limit, CASE WHEN daily_reset_at > now() THEN daily_limit -"
                                  " daily_remaining END AS used_today, CASE WHEN daily_reset_at > now() THEN"
                                  " daily_remaining END AS remaining_today, minutely_limit, calls_total,"
                                  " rate_limited_total, " OPS_ISO(
                                          "parked_until") " AS parked_until, parked_reason,"
                                                          " (SELECT count(*) FROM exact_endpoint_blocks WHERE tenant_id = $1 AND"
                                                          "  blocked_until > now()) AS blocked_endpoints"
                                                          " FROM exact_budget WHERE tenant_id = $1",
                                  tenant, err)
                        : NULL;
        token = budget ? one_row(ctx,
                                 "SELECT state, state_reason AS reason, " OPS_ISO("access_expires_at") " AS access_expires_at, " OPS_ISO(
                                         "refreshed_at") " AS refreshed_at FROM exact_tokens WHERE"
                                                         " tenant_id = $1",
                                 tenant, err)
                       : NULL;
        if (!token) {
                json_decref(extraction);
                json_decref(cursors);
                json_decref(counts);
                json_decref(failures);
                json_decref(budget);
                return NULL;
        }
        if (!json_object_size(token))
                json_object_set_new(token, "state", json_string("needs_consent"));
        json_object_set_new(extraction, "cursors", cursors);
        return json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:o}", "tenant", tenant, "enabled",
                         enabled, "extraction", extraction, "counts", counts, "failures", failures,
                         "budget", budget, "token", token);
}

json_t *ops_status(ops_ctx *ctx, const char *tenant, int n_failures, cx_err *err)
{
        const char *p[1] = { tenant };
        PGresult *r;
        json_t *all;

        if (tenant && ops_check_tenant_id(tenant, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db,
                        tenant ? "SELECT id, enabled FROM tenants WHERE id = $1"
                               : "SELECT id, enabled FROM tenants ORDER BY id",
                        tenant ? 1 : 0, tenant ? p : NULL, err);
        if (!r)
                return NULL;
        if (tenant && PQntuples(r) != 1) {
                PQclear(r);
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", tenant);
                return NULL;
        }
        if (tenant) {
                json_t *one = tenant_status(ctx, tenant, PQgetvalue(r, 0, 1)[0] == 't', n_failures,
                                            err);

                PQclear(r);
                return one;
        }
        all = json_array();
        for (int i = 0; all && i < PQntuples(r); i++) {
                json_t *one = tenant_status(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)[0] == 't',
                                            n_failures, err);

                if (!one) {
                        json_decref(all);
                        all = NULL;
                        break;
                }
                json_array_append_new(all, one);
        }
        PQclear(r);
        return all;
}
