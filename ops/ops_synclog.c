#include "ops/ops_synclog.h"

#include <stdio.h>
#include <string.h>

/* The review warnings of a transform entry ("; warning: <text>" in its message, up to the
 * next "; " part such as the VIES consultation) as an array. */
static json_t *warnings_of(const char *msg)
{
        static const char tag[] = "; warning: ";
        json_t *a = json_array();
        const char *p = msg ? strstr(msg, tag) : NULL;

        while (p) {
                const char *start = p + sizeof(tag) - 1;
                const char *next = strstr(start, tag);
                const char *vies = strstr(start, "; VIES ");
                const char *end = next;

                if (vies && (!end || vies < end))
                        end = vies;
                json_array_append_new(a, end ? json_stringn(start, (size_t)(end - start))
                                             : json_string(start));
                p = next;
        }
        return a;
}

/* "warnings" from the message ("vies" came from the join already decoded). */
static void add_structure(json_t *rows)
{
        size_t i;
        json_t *row;

        json_array_foreach (rows, i, row) {
                json_object_set_new(
                        row, "warnings",
                        warnings_of(json_string_value(json_object_get(row, "message"))));
        }
}

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
                                      " message, trace_id, (SELECT json_build_object("
                                      "'vat_number', v.vat_number, 'outcome', v.outcome,"
                                      " 'consultation', v.request_identifier, 'date',"
                                      " v.request_date, 'error', v.error, 'policy', v.policy)"
                                      " FROM vies_consultations v WHERE v.tenant_id ="
                                      " sync_log.tenant_id AND v.source_id = sync_log.source_id"
                                      " AND sync_log.stage = 'transform' AND sync_log.entity ="
                                      " 'order') AS vies FROM sync_log WHERE tenant_id = $1"
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
        add_structure(rows);
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
