#include "ops/ops_replay.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kafka.h"
#include "common/log.h"

#define KAFKA_TIMEOUT_MS 15000

static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        cx_log(level <= 3   ? CX_LOG_ERROR
               : level <= 4 ? CX_LOG_WARN
                            : CX_LOG_DEBUG,
               "kafka.log", "%s: %s", fac, buf);
}

static rd_kafka_t *replay_client(const char *brokers, const char *group, cx_err *err)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char why[512];
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, why, sizeof(why)) ||
            rd_kafka_conf_set(conf, "group.id", group, why, sizeof(why)) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof(why)) ||
            rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", why, sizeof(why))) {
                rd_kafka_conf_destroy(conf);
                cx_fail(err, CX_ERR_CONFIG, false, "Kafka configuration: %s", why);
                return NULL;
        }
        /* The same client properties (TLS, SASL) as every daemon's. */
        if (cx_kafka_apply_properties(conf, err) < 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, kafka_log);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
        if (!rk) {
                cx_fail(err, CX_ERR_KAFKA, false, "Kafka client: %s", why);
                return NULL;
        }
        return rk;
}

/* 0 when the group has no members; -1 with CX_ERR_INVALID when it has, or CX_ERR_KAFKA. */
static int check_group_idle(rd_kafka_t *rk, const char *group, cx_err *err)
{
        const struct rd_kafka_group_list *list = NULL;
        rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, &list, KAFKA_TIMEOUT_MS);
        int rc = 0;

        if (e)
                return cx_fail(err, CX_ERR_KAFKA, true, "cannot describe group %s: %s", group,
                               rd_kafka_err2str(e));
        for (int i = 0; i < list->group_cnt; i++) {
                const struct rd_kafka_group_info *g = &list->groups[i];

                if (strcmp(g->group, group) != 0 || g->err)
                        continue;
                if (g->member_cnt > 0)
                        rc = cx_fail(err, CX_ERR_INVALID, false,
                                     "consumer group %s has %d active member(s) (state %s): stop "
                                     "its consumers first, then replay",
                                     group, g->member_cnt, g->state);
        }
        rd_kafka_group_list_destroy(list);
        return rc;
}

static rd_kafka_topic_partition_list_t *partitions_of(rd_kafka_t *rk, const char *topic,
                                                      cx_err *err)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *list = NULL;
        rd_kafka_resp_err_t e;

        if (!rkt) {
                cx_fail(err, CX_ERR_KAFKA, false, "topic %s: %s", topic,
                        rd_kafka_err2str(rd_kafka_last_error()));
                return NULL;
        }
        e = rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_TIMEOUT_MS);
        if (e) {
                cx_fail(err, CX_ERR_KAFKA, true, "metadata of %s: %s", topic, rd_kafka_err2str(e));
        } else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
                cx_fail(err, CX_ERR_NOT_FOUND, false, "topic %s does not exist", topic);
        } else {
                list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
                for (int i = 0; i < md->topics[0].partition_cnt; i++)
                        rd_kafka_topic_partition_list_add(list, topic,
                                                          md->topics[0].partitions[i].id);
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return list;
}

json_t *ops_replay_offsets(ops_ctx *ctx, const char *group, const char *topic, long long ts_ms,
                           bool dry_run, cx_err *err)
{
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *target = NULL, *committed = NULL;
        rd_kafka_resp_err_t e;
        json_t *parts = NULL, *out = NULL;

        if (!ctx->brokers || !*ctx->brokers) {
                cx_fail(err, CX_ERR_CONFIG, false, "replay needs Kafka: set CX_KAFKA_BROKERS");
                return NULL;
        }
        if (!group || !*group || !topic || !*topic) {
                cx_fail(err, CX_ERR_PARSE, false, "expected a consumer group and a topic");
                return NULL;
        }
        rk = replay_client(ctx->brokers, group, err);
        if (!rk)
                return NULL;
        if (check_group_idle(rk, group, err) < 0)
                goto out;
        target = partitions_of(rk, topic, err);
        if (!target)
                goto out;
        committed = rd_kafka_topic_partition_list_copy(target);
        e = rd_kafka_committed(rk, committed, KAFKA_TIMEOUT_MS);
        if (e) {
                cx_fail(err, CX_ERR_KAFKA, true, "committed offsets of %s: %s", group,
                        rd_kafka_err2str(e));
                goto out;
        }
        for (int i = 0; i < target->cnt; i++)
                target->elems[i].offset = ts_ms;
        e = rd_kafka_offsets_for_times(rk, target, KAFKA_TIMEOUT_MS);
        if (e) {
                cx_fail(err, CX_ERR_KAFKA, true, "offsets for the time: %s", rd_kafka_err2str(e));
                goto out;
        }
        parts = json_array();
        for (int i = 0; i < target->cnt; i++) {
                rd_kafka_topic_partition_t *p = &target->elems[i];

                if (p->err) {
                        cx_fail(err, CX_ERR_KAFKA, true, "partition %d: %s", (int)p->partition,
                                rd_kafka_err2str(p->err));
                        goto out;
                }
                if (p->offset < 0) {
                        /* nothing at or after the time: start at the end */
                        int64_t lo = 0, hi = 0;

                        e = rd_kafka_query_watermark_offsets(rk, topic, p->partition, &lo, &hi,
                                                             KAFKA_TIMEOUT_MS);
                        if (e) {
                                cx_fail(err, CX_ERR_KAFKA, true, "end of partition %d: %s",
                                        (int)p->partition, rd_kafka_err2str(e));
                                goto out;
                        }
                        p->offset = hi;
                }
                json_array_append_new(parts,
                                      json_pack("{s:i, s:I, s:I}", "partition", (int)p->partition,
                                                "committed", (json_int_t)committed->elems[i].offset,
                                                "new", (json_int_t)p->offset));
        }
        if (!dry_run) {
                /* assign, never subscribe: this client must not join the group */
                e = rd_kafka_assign(rk, target);
                if (!e)
                        e = rd_kafka_commit(rk, target, 0);
                rd_kafka_assign(rk, NULL);
                if (e) {
                        cx_fail(err,
                                e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                                                e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                                                e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
                                        ? CX_ERR_INVALID
                                        : CX_ERR_KAFKA,
                                false, "commit refused: %s (did a consumer of the group start?)",
                                rd_kafka_err2str(e));
                        goto out;
                }
        }
        out = json_pack("{s:s, s:s, s:I, s:b, s:O}", "group", group, "topic", topic, "to_ms",
                        (json_int_t)ts_ms, "dry_run", dry_run, "partitions", parts);
out:
        json_decref(parts);
        if (target)
                rd_kafka_topic_partition_list_destroy(target);
        if (committed)
                rd_kafka_topic_partition_list_destroy(committed);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return out;
}

json_t *ops_replay_extract(ops_ctx *ctx, const char *tenant, const char *from, cx_err *err)
{
        char iso[32];
        const char *p[2] = { tenant, iso };
        long long epoch;
        PGresult *r = NULL;
        json_t *out = NULL;
        char msg[128];

        if (ops_parse_time(from, &epoch, iso, err) < 0 || ops_check_tenant_id(tenant, err) < 0)
                return NULL;
        if (cx_db_begin(ctx->db, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db,
                        "SELECT extract_from > $2::timestamptz FROM tenants WHERE"
                        " id = $1 FOR UPDATE",
                        2, p, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", tenant);
                goto fail;
        }
        out = json_pack("{s:s, s:s}", "tenant", tenant, "from", iso);
        if (PQgetvalue(r, 0, 0)[0] == 't')
                json_object_set_new(
                        out, "note",
                        json_string("the tenant's extract_from is "
                                    "later than this date; orders before extract_from are not "
                                    "read (tenants update --extract-from to change it)"));
        PQclear(r);
        r = NULL;
        if (cx_db_exec(ctx->db,
                       "INSERT INTO extract_cursors (tenant_id, entity, cursor)"
                       " VALUES ($1, 'orders', $2), ($1, 'products', $2) ON CONFLICT"
                       " (tenant_id, entity) DO UPDATE SET cursor = $2, updated_at = now()",
                       2, p, err) < 0)
                goto fail;
        r = cx_db_query(ctx->db,
                        "DELETE FROM extract_hashes WHERE tenant_id = $1 AND entity IN"
                        " ('order', 'product') RETURNING 1",
                        1, p, err);
        if (!r)
                goto fail;
        json_object_set_new(out, "hashes_cleared", json_integer(PQntuples(r)));
        /* the lease holder keeps its cursors in memory: take the tenant away from it */
        if (cx_db_exec(ctx->db,
                       "UPDATE extract_leases SET owner = NULL, expires_at ="
                       " '-infinity' WHERE tenant_id = $1",
                       1, p, err) < 0)
                goto fail;
        snprintf(msg, sizeof(msg), "re-extraction from %s requested", iso);
        if (ops_audit(ctx, tenant, "replay", "", msg, err) < 0 || cx_db_commit(ctx->db, err) < 0)
                goto fail;
        PQclear(r);
        return out;
fail:
        PQclear(r);
        json_decref(out);
        cx_db_rollback(ctx->db);
        return NULL;
}
