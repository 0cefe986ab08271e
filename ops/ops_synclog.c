#include "ops/ops_synclog.h"

#include <stdio.h>

json_t *ops_synclog_list(ops_ctx *ctx, const char *tenant, const ops_synclog_filter *f, cx_err *err)
{
        char limit[24];
        const char *p[9] = { tenant,    f->status, f->stage, f->entity, f->text,
                             f->before, f->since,  f->until, limit };
        PGresult *r;
        json_t *rows;

        snprintf(limit, sizeof(limit), "%lld", f->limit);
        r = cx_db_query(ctx->db,
                        "SELECT id, " OPS_ISO(
                                "at") " AS at, stage, entity, source_id, status,"
                                      " message, trace_id FROM sync_log WHERE tenant_id = $1"
                                      " AND ($2::text IS NULL OR status = $2)"
                                      " AND ($3::text IS NULL OR stage = $3)"
                                      " AND ($4::text IS NULL OR entity = $4)"
                                      " AND ($5::text IS NULL OR source_id = $5 OR trace_id = $5"
                                      "      OR strpos(lower(message), lower($5)) > 0)"
                                      " AND ($6::bigint IS NULL OR id < $6::bigint)"
                                      " AND ($7::timestamptz IS NULL OR at >= $7::timestamptz)"
                                      " AND ($8::timestamptz IS NULL OR at < $8::timestamptz)"
                                      " ORDER BY id DESC LIMIT $9::integer",
                        9, p, err);
        if (!r)
                return NULL;
        rows = ops_rows_json(r);
        PQclear(r);
        return rows;
}

json_t *ops_synclog_last_ok(ops_ctx *ctx, const char *tenant)
{
        const char *params[1] = { tenant };
        PGresult *r = cx_db_query(ctx->db,
                                  "SELECT " OPS_ISO("max(at)") " FROM sync_log WHERE"
                                                               " tenant_id = $1 AND status = 'ok'",
                                  1, params, NULL);
        json_t *at = r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)
                             ? json_string(PQgetvalue(r, 0, 0))
                             : json_null();

        PQclear(r);
        return at;
}
