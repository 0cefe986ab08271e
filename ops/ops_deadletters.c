#include "ops/ops_deadletters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/journal.h"

#define DL_COLUMNS                                                                                 \
        "id, tenant_id, stage, source_topic, source_id, reason, trace_id, state, resolution, "     \
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, " \
        "to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS resolved_at"

json_t *ops_deadletter_list(ops_ctx *ctx, const char *tenant, const char *state, int limit,
                            cx_err *err)
{
        char lim[16];
        const char *p[3] = { tenant, state, lim };
        PGresult *r;
        json_t *out;

        if (state && strcmp(state, "open") && strcmp(state, "redriven") &&
            strcmp(state, "dropped")) {
                cx_fail(err, CX_ERR_PARSE, false,
                        "state \"%s\": expected open, redriven or dropped", state);
                return NULL;
        }
        if (tenant && ops_check_tenant_id(tenant, err) < 0)
                return NULL;
        snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 50);
        r = cx_db_query(ctx->db,
                        "SELECT " DL_COLUMNS " FROM dead_letters WHERE ($1::text IS NULL"
                        " OR tenant_id = $1) AND ($2::text IS NULL OR state = $2)"
                        " ORDER BY created_at DESC, id DESC LIMIT $3::integer",
                        3, p, err);
        if (!r)
                return NULL;
        out = ops_rows_json(r);
        PQclear(r);
        return out;
}

json_t *ops_deadletter_show(ops_ctx *ctx, long long id, cx_err *err)
{
        char ids[24];
        const char *p[1] = { ids };
        PGresult *r;
        json_t *out;

        snprintf(ids, sizeof(ids), "%lld", id);
        r = cx_db_query(ctx->db,
                        "SELECT " DL_COLUMNS
                        ", payload, payload_base64 FROM dead_letters WHERE id = $1",
                        1, p, err);
        if (!r)
                return NULL;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no dead letter %lld", id);
                return NULL;
        }
        out = ops_row_json(r, 0);
        PQclear(r);
        return out;
}

/* Lock dead letter @p ids and check it is open. @returns the row (caller PQclear()s) or NULL. */
static PGresult *lock_open(ops_ctx *ctx, const char *ids, cx_err *err)
{
        const char *p[1] = { ids };
        PGresult *r = cx_db_query(ctx->db,
                                  "SELECT tenant_id, source_topic, source_id, payload,"
                                  " state, resolution, payload_base64 FROM dead_letters"
                                  " WHERE id = $1 FOR UPDATE",
                                  1, p, err);

        if (!r)
                return NULL;
        if (PQntuples(r) != 1) {
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no dead letter %s", ids);
        } else if (strcmp(PQgetvalue(r, 0, 4), "open") != 0) {
                cx_fail(err, CX_ERR_INVALID, false,
                        "dead letter %s is already %s (%s): only "
                        "open ones can be redriven or dropped",
                        ids, PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5));
        } else {
                return r;
        }
        PQclear(r);
        return NULL;
}

static int resolve(ops_ctx *ctx, const char *ids, const char *tenant, const char *source_id,
                   const char *state, const char *resolution, cx_err *err)
{
        const char *p[3] = { ids, state, resolution };
        char msg[600];

        snprintf(msg, sizeof(msg), "dead letter %s %s: %s", ids, state, resolution);
        if (cx_db_exec(ctx->db,
                       "UPDATE dead_letters SET state = $2, resolved_at = now(),"
                       " resolution = $3 WHERE id = $1",
                       3, p, err) < 0)
                return -1;
        return ops_audit(ctx, tenant, "dead_letter", source_id, msg, err);
}

int ops_deadletter_redrive(ops_ctx *ctx, cx_producer *producer, long long id, cx_err *err)
{
        char ids[24];
        PGresult *r;
        const char *topic, *tenant;
        unsigned char *bytes = NULL;
        long len;

        if (!producer)
                return cx_fail(err, CX_ERR_CONFIG, false, "redrive needs Kafka (CX_KAFKA_BROKERS)");
        snprintf(ids, sizeof(ids), "%lld", id);
        if (cx_db_begin(ctx->db, err) < 0)
                return -1;
        r = lock_open(ctx, ids, err);
        if (!r)
                goto fail;
        tenant = PQgetvalue(r, 0, 0);
        topic = PQgetvalue(r, 0, 1);
        /* The exact bytes received, when the record kept them (payload is then readable). */
        len = cx_base64_decode(PQgetvalue(r, 0, 6), &bytes);
        if (len < 0 && *PQgetvalue(r, 0, 6)) {
                cx_fail(err, CX_ERR_PARSE, false, "dead letter %s: payload_base64 is damaged", ids);
                goto fail;
        }
        if (len < 0) {
                bytes = (unsigned char *)strdup(PQgetvalue(r, 0, 3));
                len = bytes ? (long)strlen((char *)bytes) : -1;
        }
        if (len < 0) {
                cx_fail(err, CX_ERR_LIMIT, true, "out of memory");
                goto fail;
        }
        if (!*topic) {
                cx_fail(err, CX_ERR_INVALID, false,
                        "dead letter %s names no source topic; drop "
                        "it instead",
                        ids);
                goto fail;
        }
        /* publish first: the mark is only written once the broker has the record */
        if (cx_producer_send(producer, topic, tenant, (const char *)bytes, (size_t)len, err) < 0 ||
            cx_producer_flush(producer, 30000, err) < 0)
                goto fail;
        if (resolve(ctx, ids, tenant, PQgetvalue(r, 0, 2), "redriven",
                    "redriven by connector-admin", err) < 0 ||
            cx_db_commit(ctx->db, err) < 0)
                goto fail;
        PQclear(r);
        free(bytes);
        return 0;
fail:
        PQclear(r);
        free(bytes);
        cx_db_rollback(ctx->db);
        return -1;
}

int ops_deadletter_drop(ops_ctx *ctx, long long id, const char *reason, cx_err *err)
{
        char ids[24];
        PGresult *r;

        if (!reason || !*reason)
                return cx_fail(err, CX_ERR_PARSE, false, "drop: expected a reason (--reason TEXT)");
        snprintf(ids, sizeof(ids), "%lld", id);
        if (cx_db_begin(ctx->db, err) < 0)
                return -1;
        r = lock_open(ctx, ids, err);
        if (!r ||
            resolve(ctx, ids, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2), "dropped", reason, err) <
                    0 ||
            cx_db_commit(ctx->db, err) < 0) {
                PQclear(r);
                cx_db_rollback(ctx->db);
                return -1;
        }
        PQclear(r);
        return 0;
}

json_t *ops_deadletter_open_ids(ops_ctx *ctx, const char *tenant, cx_err *err)
{
        const char *p[1] = { tenant };
        PGresult *r;
        json_t *a;

        if (ops_tenant_exists(ctx, tenant, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db,
                        "SELECT id FROM dead_letters WHERE tenant_id = $1 AND state ="
                        " 'open' ORDER BY id",
                        1, p, err);
        if (!r)
                return NULL;
        a = json_array();
        for (int i = 0; a && i < PQntuples(r); i++)
                json_array_append_new(a, json_integer(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
        PQclear(r);
        return a;
}
