#include "ops/ops_offboard.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"

#define KAFKA_TIMEOUT_MS 15000

/* Delete what @p sql (a DELETE ... RETURNING 1 as "gone") selects; its row count into @p out. */
static int delete_count(ops_ctx *ctx, const char *table, const char *sql, const char *id,
                        json_t *out, long long *total, cx_err *err)
{
        char q[600];
        const char *p[1] = { id };
        PGresult *r;
        long long n;

        snprintf(q, sizeof(q), "WITH gone AS (%s RETURNING 1) SELECT count(*) FROM gone", sql);
        r = cx_db_query(ctx->db, q, 1, p, err);
        if (!r)
                return -1;
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        json_object_set_new(out, table, json_integer(n));
        *total += n;
        return 0;
}

/* Every base table of the schema with a tenant_id column, but tenants itself. */
static PGresult *tenant_tables(ops_ctx *ctx, cx_err *err)
{
        return cx_db_query(ctx->db,
                           "SELECT c.table_name FROM information_schema.columns c JOIN"
                           " information_schema.tables t ON t.table_schema = c.table_schema AND"
                           " t.table_name = c.table_name WHERE c.table_schema = current_schema()"
                           " AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'"
                           " AND c.table_name <> 'tenants' ORDER BY c.table_name",
                           0, NULL, err);
}

static int delete_rows(ops_ctx *ctx, const char *id, json_t *removed, long long *total, cx_err *err)
{
        PGresult *tables = tenant_tables(ctx, err);
        int rc = 0;

        if (!tables)
                return -1;
        /* Sessions hang off the panel users (no tenant column of their own). */
        if (delete_count(ctx, "panel_sessions",
                         "DELETE FROM panel_sessions WHERE user_name IN (SELECT name FROM"
                         " panel_users WHERE tenant_id = $1)",
                         id, removed, total, err) < 0)
                rc = -1;
        for (int i = 0; rc == 0 && i < PQntuples(tables); i++) {
                const char *t = PQgetvalue(tables, i, 0);
                char sql[300];

                if (strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(t)) {
                        rc = cx_fail(err, CX_ERR_DB, false, "unexpected table name \"%s\"", t);
                        break;
                }
                snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE tenant_id = $1", t);
                rc = delete_count(ctx, t, sql, id, removed, total, err);
        }
        PQclear(tables);
        if (rc == 0)
                rc = delete_count(ctx, "tenants", "DELETE FROM tenants WHERE id = $1", id, removed,
                                  total, err);
        return rc;
}

static const char *const topic_bases[] = { CX_TOPIC_SHOP_ORDERS, CX_TOPIC_SHOP_PRODUCTS,
                                           CX_TOPIC_SHOP_CUSTOMERS, CX_TOPIC_EXACT_COMMANDS,
                                           CX_TOPIC_DEAD_LETTERS };
#define N_TOPICS (sizeof(topic_bases) / sizeof(topic_bases[0]))

/* One topic's entry: what Kafka can do about the tenant's records in it. Records are keyed by
 * the tenant id but share partitions with other tenants: on a delete-policy topic Kafka
 * removes them only by age (DeleteRecords would cut every tenant's records before an offset);
 * only compaction removes by key, and the connector's topics are not compacted. */
static json_t *topic_entry(const char *name, const char *policy, const char *retention_ms)
{
        bool compacted = policy && strstr(policy, "compact");
        char why[300];

        if (!policy)
                snprintf(why, sizeof(why), "topic not found or not described");
        else if (compacted)
                snprintf(why, sizeof(why),
                         "compacted: a tombstone keyed by the tenant id would remove its records, "
                         "but the connector's consumers would read it as a record; none was sent");
        else
                snprintf(why, sizeof(why),
                         "cleanup.policy=%s: records are removed by age only, after "
                         "retention.ms=%s",
                         policy, retention_ms ? retention_ms : "?");
        return json_pack("{s:s,s:s?,s:s?,s:b,s:s}", "topic", name, "cleanup_policy", policy,
                         "retention_ms", retention_ms, "removed", 0, "note", why);
}

/* The topics' cleanup.policy and retention.ms, from the broker (DescribeConfigs). */
static json_t *topics_report(ops_ctx *ctx, cx_err *err)
{
        rd_kafka_ConfigResource_t *res[N_TOPICS];
        rd_kafka_conf_t *conf;
        rd_kafka_queue_t *q = NULL;
        rd_kafka_event_t *ev = NULL;
        rd_kafka_t *rk = NULL;
        json_t *out = json_array();
        char why[512];

        if (!ctx->brokers || !*ctx->brokers) {
                for (size_t i = 0; i < N_TOPICS; i++) {
                        json_t *e = topic_entry(cx_topic(topic_bases[i]), NULL, NULL);

                        json_object_set_new(e, "note",
                                            json_string("CX_KAFKA_BROKERS not set: not checked; "
                                                        "records expire by the topic's "
                                                        "retention.ms"));
                        json_array_append_new(out, e);
                }
                return out;
        }
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", ctx->brokers, why, sizeof(why)) ||
            cx_kafka_apply_properties(conf, err) < 0) {
                rd_kafka_conf_destroy(conf);
                json_decref(out);
                cx_fail(err, CX_ERR_CONFIG, false, "Kafka configuration: %s", why);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
        if (!rk) {
                json_decref(out);
                cx_fail(err, CX_ERR_KAFKA, false, "Kafka client: %s", why);
                return NULL;
        }
        q = rd_kafka_queue_new(rk);
        for (size_t i = 0; i < N_TOPICS; i++)
                res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                     cx_topic(topic_bases[i]));
        rd_kafka_DescribeConfigs(rk, res, N_TOPICS, NULL, q);
        ev = rd_kafka_queue_poll(q, KAFKA_TIMEOUT_MS);
        if (!ev || rd_kafka_event_error(ev)) {
                cx_fail(err, CX_ERR_KAFKA, true, "describe topics: %s",
                        ev ? rd_kafka_event_error_string(ev) : "no answer from Kafka");
                json_decref(out);
                out = NULL;
        } else {
                const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(
                        ev);
                size_t n = 0;
                const rd_kafka_ConfigResource_t **rs =
                        r ? rd_kafka_DescribeConfigs_result_resources(r, &n) : NULL;

                for (size_t i = 0; i < n; i++) {
                        const char *policy = NULL, *retention = NULL;
                        size_t nc = 0;
                        const rd_kafka_ConfigEntry_t **ce =
                                rd_kafka_ConfigResource_error(rs[i])
                                        ? NULL
                                        : rd_kafka_ConfigResource_configs(rs[i], &nc);

                        for (size_t k = 0; ce && k < nc; k++) {
                                const char *cn = rd_kafka_ConfigEntry_name(ce[k]);

                                if (!strcmp(cn, "cleanup.policy"))
                                        policy = rd_kafka_ConfigEntry_value(ce[k]);
                                else if (!strcmp(cn, "retention.ms"))
                                        retention = rd_kafka_ConfigEntry_value(ce[k]);
                        }
                        json_array_append_new(out, topic_entry(rd_kafka_ConfigResource_name(rs[i]),
                                                               policy, retention));
                }
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        for (size_t i = 0; i < N_TOPICS; i++)
                rd_kafka_ConfigResource_destroy(res[i]);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return out;
}

json_t *ops_tenant_delete(ops_ctx *ctx, const char *id, bool dry_run, cx_err *err)
{
        const char *p[1] = { id };
        json_t *removed, *topics;
        long long total = 0;
        PGresult *r;
        int enabled;

        if (ops_check_tenant_id(id, err) < 0 || cx_db_begin(ctx->db, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db, "SELECT enabled FROM tenants WHERE id = $1 FOR UPDATE", 1, p, err);
        enabled = !r ? -1 : PQntuples(r) == 0 ? -2 : PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (enabled == -2)
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
        else if (enabled == 1)
                cx_fail(err, CX_ERR_INVALID, false,
                        "tenant \"%s\" is enabled: disable it first (connector-admin tenants "
                        "disable %s), and let its queued work drain",
                        id, id);
        if (enabled != 0) {
                cx_db_rollback(ctx->db);
                return NULL;
        }
        removed = json_object();
        if (delete_rows(ctx, id, removed, &total, err) < 0 ||
            (!dry_run && cx_db_commit(ctx->db, err) < 0)) {
                cx_db_rollback(ctx->db);
                json_decref(removed);
                return NULL;
        }
        if (dry_run)
                cx_db_rollback(ctx->db);
        else
                cx_log_fields(CX_LOG_INFO, "tenant.deleted",
                              json_pack("{s:s,s:I}", "tenant", id, "rows", (json_int_t)total),
                              "tenant and all its rows deleted");
        topics = topics_report(ctx, err);
        if (!topics) {
                /* the rows are gone; say so, with why the topics were not checked */
                topics = json_pack("[{s:s}]", "error", err->msg);
        }
        return json_pack("{s:s,s:b,s:o,s:I,s:o}", "tenant", id, "dry_run", dry_run, "removed",
                         removed, "rows", (json_int_t)total, "topics", topics);
}

json_t *ops_prune(ops_ctx *ctx, const cx_retention *r, cx_err *err)
{
        cx_retention_result res;

        if (cx_retention_prune(ctx->db, r, &res, err) < 0)
                return NULL;
        return json_pack("{s:I,s:I,s:b,s:i,s:i,s:b}", "sync_log", (json_int_t)res.sync_log,
                         "dead_letters", (json_int_t)res.dead_letters, "dry_run", r->dry_run,
                         "sync_log_days", r->sync_log_days, "dead_letter_days", r->dead_letter_days,
                         "busy", res.busy);
}

/* The next non-blank line of @p text into @p out (trimmed); @returns the rest, or NULL at
 * the end. *too_long when the line does not fit. */
static const char *next_id(const char *text, char *out, size_t size, bool *too_long)
{
        size_t n;

        text += strspn(text, " \t\r\n");
        if (!*text)
                return NULL;
        n = strcspn(text, "\r\n");
        *too_long = n >= size;
        if (*too_long)
                n = size - 1;
        memcpy(out, text, n);
        while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
                n--;
        out[n] = '\0';
        return text + strcspn(text, "\r\n");
}

json_t *ops_ledger_doubt(ops_ctx *ctx, const char *id, const char *kind, const char *text,
                         cx_err *err)
{
        long long marked = 0, known = 0;
        const char *rest = text;
        char sid[128];
        bool too_long = false;

        if (strcmp(kind, "sales_order") && strcmp(kind, "sales_invoice")) {
                cx_fail(err, CX_ERR_PARSE, false,
                        "--kind must be sales_order or sales_invoice, not \"%s\"", kind);
                return NULL;
        }
        if (ops_tenant_exists(ctx, id, err) < 0 || cx_db_begin(ctx->db, err) < 0)
                return NULL;
        while ((rest = next_id(rest, sid, sizeof(sid), &too_long)) != NULL) {
                const char *p[3] = { id, kind, sid };
                PGresult *r;

                if (too_long || strspn(sid, "0123456789") != strlen(sid)) {
                        cx_fail(err, CX_ERR_PARSE, false,
                                "\"%.60s\" is not a shop order id (digits, one a line)", sid);
                        goto fail;
                }
                r = cx_db_query(ctx->db,
                                "INSERT INTO ledger (tenant_id, kind, source_key, state,"
                                " intent_at, write_until) VALUES ($1, $2, $3, 'pending', now(),"
                                " now()) ON CONFLICT DO NOTHING RETURNING 1",
                                3, p, err);
                if (!r)
                        goto fail;
                if (PQntuples(r))
                        marked++;
                else
                        known++;
                PQclear(r);
        }
        if (ops_audit(ctx, id, "ledger", "",
                      "documents marked in doubt after a restore (looked up before posting)",
                      err) < 0 ||
            cx_db_commit(ctx->db, err) < 0)
                goto fail;
        return json_pack("{s:s,s:s,s:I,s:I}", "tenant", id, "kind", kind, "marked",
                         (json_int_t)marked, "known", (json_int_t)known);
fail:
        cx_db_rollback(ctx->db);
        return NULL;
}
