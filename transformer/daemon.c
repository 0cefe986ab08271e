/* daemon: the transformer between Kafka topics.
 *
 * It consumes shop.orders, shop.products and shop.customers and, per batch, in ONE Kafka
 * transaction, produces the exact.commands (and dead letters) of that batch together with the
 * consumed offsets. A crash or a rebalance aborts the open transaction and the batch is
 * consumed again, so a read_committed reader sees every command exactly once. The PostgreSQL
 * side effects of a batch (sync log, OSS running total, dead-letter rows) are idempotent or
 * harmless when a batch is replayed. */
#include "transformer/daemon.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/json_fast.h"
#include "common/daemon.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/retention.h"
#include "common/signals.h"
#include "transformer/rules_store.h"
#include "transformer/vies_gate.h"
#include "vat/vat_rates.h"

extern char **environ;

static const cx_cfg_var transformer_vars[] = {
        { "CX_TRANSFORMER_GROUP", CX_CFG_STR, "cx-transformer", 0, 0, false,
          "Kafka consumer group of the transformers" },
        { "CX_TRANSFORMER_BATCH", CX_CFG_INT, "200", 1, 10000, false,
          "most messages per Kafka transaction" },
        { "CX_TRANSFORMER_BATCH_MS", CX_CFG_INT, "200", 10, 60000, false,
          "longest time a transaction stays open collecting messages" },
        { "CX_RULES_REFRESH_MS", CX_CFG_INT, "2000", 0, 600000, false,
          "how often a tenant's stored mapping rules are checked for changes" },
        { "CX_TRANSFORMER_VAT_RATES_FILE", CX_CFG_STR, "", 0, 0, false,
          "EU VAT rates file (eu-vat-rates.csv format with valid_from/valid_to) replacing the "
          "compiled-in table; checked at start, refused with the line at fault" },
        /* VIES (transformer/vies_gate.c, docs/vat-engine.md "VIES") */
        { "CX_VIES_URL", CX_CFG_STR, "", 0, 0, false,
          "base URL of VIES's REST API, https://ec.europa.eu/taxation_customs/vies/rest-api; "
          "empty: no VIES checks, 0% ICP on the offline VAT-number check alone" },
        { "CX_VIES_TIMEOUT_MS", CX_CFG_INT, "10000", 100, 120000, false,
          "longest VIES call; a slower answer counts as unavailable (TIMEOUT)" },
        { "CX_VIES_RATE_PER_MIN", CX_CFG_INT, "30", 1, 6000, false,
          "VIES calls per minute and member state (token bucket, per process)" },
        { "CX_VIES_GLOBAL_RATE_PER_MIN", CX_CFG_INT, "120", 1, 60000, false,
          "VIES calls per minute for all member states together (token bucket, per process)" },
        { "CX_VIES_CACHE_VALID_S", CX_CFG_INT, "86400", 0, 604800, false,
          "how long a valid VIES answer is reused (seconds)" },
        { "CX_VIES_CACHE_INVALID_S", CX_CFG_INT, "3600", 0, 604800, false,
          "how long an invalid VIES answer is reused (seconds)" },
        { "CX_VIES_RETRY_S", CX_CFG_INT, "300", 1, 86400, false,
          "first wait before a held or re-check order asks VIES again (doubles per attempt, "
          "at most an hour)" },
        /* retention (common/retention.h): pruned hourly by one transformer at a time */
        { "CX_RETENTION_SYNC_LOG_DAYS", CX_CFG_INT, "90", 0, 36500, false,
          "days the sync log is kept, every tenant's (0: forever)" },
        { "CX_RETENTION_DEAD_LETTER_DAYS", CX_CFG_INT, "90", 0, 36500, false,
          "days a resolved (redriven or dropped) dead letter is kept after its resolution; open "
          "ones are never pruned (0: forever)" },
        CX_CFG_END,
};

struct transformer {
        cx_daemon d;
        cx_consumer *consumer;
        cx_producer *producer;
        rules_store *rules;
        vies_gate vies;
};

/* Hourly, or each minute while a backlog of old rows remains: a few batches at a time, so the
 * transactions wait no longer than a few statements. */
static void retention_housekeeping(struct transformer *t, long long *next_ms, long long now)
{
        cx_retention r = { (int)cx_config_int(t->d.cfg, "CX_RETENTION_SYNC_LOG_DAYS"),
                           (int)cx_config_int(t->d.cfg, "CX_RETENTION_DEAD_LETTER_DAYS"), 4,
                           false };
        cx_retention_result res;
        cx_err err = { 0 };

        if (now < *next_ms)
                return;
        if (cx_retention_prune(t->d.db, &r, &res, &err) < 0) {
                cx_log(CX_LOG_WARN, "retention.failed", "%s", err.msg);
                *next_ms = now + 60000;
                return;
        }
        if (res.sync_log || res.dead_letters)
                cx_log_fields(CX_LOG_INFO, "retention.pruned",
                              json_pack("{s:I,s:I}", "sync_log", (json_int_t)res.sync_log,
                                        "dead_letters", (json_int_t)res.dead_letters),
                              "old sync-log entries and resolved dead letters deleted");
        *next_ms = now + (res.more ? 60000 : 3600000);
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(const char *result)
{
        char label[64];

        cx_metrics_label(label, sizeof(label), "result", result);
        cx_counter_add("cx_transformer_records_total", "Shop events transformed, by outcome", label,
                       1);
}

/* Send the command text @p text (freed here) to exact.commands in the open transaction. */
static int produce_text(struct transformer *t, const char *tenant, char *text, cx_err *err)
{
        int rc;

        if (!text)
                return cx_fail(err, CX_ERR_PARSE, false, "cannot serialise the command");
        rc = cx_producer_send(t->producer, cx_topic(CX_TOPIC_EXACT_COMMANDS), tenant, text,
                              strlen(text), err);
        free(text);
        if (rc == 0)
                count("command");
        return rc;
}

/* Send @p cmd (stolen) to exact.commands in the open transaction. */
static int produce_command(struct transformer *t, const char *tenant, json_t *cmd, cx_err *err)
{
        char *text = cmd ? booking_dumps(cmd) : NULL;

        json_decref(cmd);
        return produce_text(t, tenant, text, err);
}

static int dead_letter(struct transformer *t, const rd_kafka_message_t *m, const char *tenant,
                       const char *source_id, const char *trace_id, const char *reason, cx_err *err)
{
        /* The bytes as received, whatever they are: the journal keeps them as base64. */
        cx_dead_letter dl = { tenant ? tenant : "",
                              "transform",
                              rd_kafka_topic_name(m->rkt),
                              source_id ? source_id : "",
                              reason,
                              m->payload && m->len ? (const char *)m->payload : "",
                              trace_id ? trace_id : "",
                              m->payload && m->len ? m->len : 0 };
        int rc = cx_dead_letter_publish(t->producer, false, t->d.db, &dl, err);

        if (rc == 0)
                count("dead_letter");
        return rc;
}

static const char *str_member(const json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? s : "";
}

/* The source id of an envelope, which the extractor may have written as a number. */
static void source_id_of(const json_t *env, char *out, size_t size)
{
        const json_t *v = json_object_get(env, "source_id");

        if (json_is_integer(v))
                snprintf(out, size, "%lld", (long long)json_integer_value(v));
        else
                snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The calendar year of the order's tax point (this year when it has no date). */
static int order_year(const rules *r, const json_t *order)
{
        long d = booking_tax_point(r, order);
        time_t now = time(NULL);
        struct tm tm;

        if (d)
                return (int)(d / 10000);
        gmtime_r(&now, &tm);
        return tm.tm_year + 1900;
}

/* The sync-log text of a booked order: what was booked and the engine's review warnings. */
static void booked_message(const booking *b, const rules *r, char *msg, size_t len)
{
        const json_t *lines = json_object_get(b->body, r->book_as == BOOK_AS_SALES_INVOICE
                                                               ? "SalesInvoiceLines"
                                                               : "SalesOrderLines");
        int n = snprintf(msg, len, "%s: %s, gross %lld.%02lld, %zu line(s)", b->endpoint,
                         vat_scenario_name(b->decision.scenario), b->gross_cents / 100,
                         b->gross_cents % 100, json_array_size(lines));

        for (int i = 0; i < b->decision.n_warnings && n > 0 && (size_t)n < len; i++)
                n += snprintf(msg + n, len - (size_t)n, "; warning: %s", b->decision.warnings[i]);
}

/* Appends the VIES consultation (if one was made) to a sync-log text. */
static void add_vies_note(const vies_outcome *vo, char *msg, size_t len)
{
        size_t n = strlen(msg);

        if (vo->consulted && n < len)
                snprintf(msg + n, len - n, "; %s", vo->note);
}

/* An order (upsert), or with @p cancelled an order the shop cancelled after publishing it:
 * mapped as it was and sent with "cancelled": true, which the loader credits when it booked
 * the order and ignores otherwise (docs/commands.md "After booking"). */
static int transform_order(struct transformer *t, const rd_kafka_message_t *m, const rules *r,
                           const char *tenant, const char *source_id, const char *trace_id,
                           const json_t *order, bool cancelled, cx_err *err)
{
        booking_ctx ctx = { .map_cancelled = cancelled };
        booking b;
        vies_outcome vo;
        char why[1024], msg[1280];
        int year = order_year(r, order);
        long long stored = 0;
        int rc;

        if (r->oss_mode == OSS_MODE_AUTO &&
            rules_store_oss_ytd(t->rules, tenant, year, source_id, &stored, err) < 0)
                return -1;
        /* the onboarding year-to-date (rules) plus what this connector counted since */
        rules_oss_start(r, year, &ctx.oss_ytd_cents, &ctx.oss_prev_year_over);
        ctx.oss_ytd_cents += stored;
        rc = vies_book_order(r, order, &ctx, vies_gate_lookup(&t->vies), &t->vies.svc, &b, &vo, why,
                             sizeof(why));
        if (rc == VIES_LOOKUP_FAILED)
                return cx_fail(err, CX_ERR_DB, true, "%s", why);
        if (vies_gate_record(&t->vies, t->d.db, tenant, source_id, r, &vo, m, err) < 0)
                goto fail;
        if (rc == VIES_HELD)
                return cx_sync_log_once(t->d.db, tenant, "transform", "order", source_id, "info",
                                        vo.note, trace_id, err);
        if (rc == VIES_REJECTED && cancelled) {
                /* never booked as it stands: nothing to credit, nothing to dead-letter */
                count("cancelled");
                snprintf(msg, sizeof(msg),
                         "order cancelled in the shop; it cannot be mapped (%.1000s), so no "
                         "command was sent: nothing is booked for it, or it was booked under "
                         "other rules and is left for a person to credit",
                         why);
                return cx_sync_log_once(t->d.db, tenant, "transform", "order", source_id, "info",
                                        msg, trace_id, err);
        }
        if (rc == VIES_REJECTED)
                return dead_letter(t, m, tenant, source_id, trace_id, why, err);
        /* One serialisation gives both the message and its content hash. */
        if (produce_text(t, tenant, booking_command_dumps(&b, r, trace_id), err) < 0)
                goto fail;
        if (!cancelled && b.threshold_net_cents > 0 &&
            rules_store_oss_add(t->rules, tenant, year, source_id, b.threshold_net_cents, err) < 0)
                goto fail;
        if (cancelled) {
                snprintf(msg, sizeof(msg),
                         "order cancelled in the shop: sent to be credited (the loader credits "
                         "it only if it was booked)");
        } else {
                booked_message(&b, r, msg, sizeof(msg));
        }
        add_vies_note(&vo, msg, sizeof(msg));
        booking_clear(&b);
        return cx_sync_log_once(t->d.db, tenant, "transform", "order", source_id, "ok", msg,
                                trace_id, err);
fail:
        if (rc == VIES_BOOKED)
                booking_clear(&b);
        return -1;
}

/* One message into the open transaction. -1 only for infrastructure errors (the batch is
 * then aborted and consumed again); bad input becomes a dead letter and returns 0. */
static int transform_message(struct transformer *t, const rd_kafka_message_t *m, cx_err *err)
{
        json_error_t jerr;
        json_t *env = booking_loadb(m->payload ? m->payload : "", m->len, 0, &jerr);
        char tenant[128], source_id[128], why[512], key[128];
        const char *entity, *event, *trace_id;
        const json_t *payload;
        const rules *r;
        json_t *cmd;
        int rc = 0;

        snprintf(key, sizeof(key), "%.*s", (int)(m->key_len < 127 ? m->key_len : 127),
                 m->key ? (const char *)m->key : "");
        if (!json_is_object(env)) {
                snprintf(why, sizeof(why), "message is not a JSON object: %s",
                         env ? "wrong type" : jerr.text);
                json_decref(env);
                return dead_letter(t, m, key, "", "", why, err);
        }
        snprintf(tenant, sizeof(tenant), "%s", str_member(env, "tenant"));
        source_id_of(env, source_id, sizeof(source_id));
        entity = str_member(env, "entity");
        event = str_member(env, "event");
        trace_id = str_member(env, "trace_id");
        payload = json_object_get(env, "payload");
        if (!*key) {
                /* The key routes the record to its tenant's partition: never guess it. */
                rc = dead_letter(t, m, tenant, source_id, trace_id, "message has no tenant key",
                                 err);
                goto out;
        }
        if (!*tenant || strcmp(tenant, key)) {
                snprintf(why, sizeof(why),
                         "envelope tenant \"%s\" does not match message key "
                         "\"%s\"",
                         tenant, key);
                rc = dead_letter(t, m, key, source_id, trace_id, why, err);
                goto out;
        }
        if (!json_is_object(payload)) {
                rc = dead_letter(t, m, tenant, source_id, trace_id,
                                 "envelope has no payload object", err);
                goto out;
        }
        r = rules_store_get(t->rules, tenant, why, sizeof(why), err);
        if (!r) {
                rc = why[0] ? dead_letter(t, m, tenant, source_id, trace_id, why, err) : -1;
                goto out;
        }
        if (!r->tenant || strcmp(r->tenant, tenant)) {
                /* Never let one tenant's rules (and division) serve another's data. */
                snprintf(why, sizeof(why), "stored mapping rules of \"%s\" name tenant \"%s\"",
                         tenant, r->tenant ? r->tenant : "");
                rc = dead_letter(t, m, tenant, source_id, trace_id, why, err);
                goto out;
        }
        if (!strcmp(entity, "order")) {
                rc = transform_order(t, m, r, tenant, source_id, trace_id, payload,
                                     !strcmp(event, "cancelled"), err);
        } else if (!strcmp(entity, "product")) {
                cmd = !strcmp(event, "deleted")
                              ? booking_item_deleted_json(r, payload, trace_id, why, sizeof(why))
                              : booking_item_upsert_json(r, payload, trace_id, why, sizeof(why));
                rc = cmd ? produce_command(t, tenant, cmd, err)
                         : dead_letter(t, m, tenant, source_id, trace_id, why, err);
        } else if (!strcmp(entity, "customer")) {
                if (json_is_true(json_object_get(payload, "guest"))) {
                        /* A guest's account travels inside each of their order commands. */
                        count("skipped");
                        goto out;
                }
                cmd = booking_account_upsert_json(r, payload, trace_id, why, sizeof(why));
                rc = cmd ? produce_command(t, tenant, cmd, err)
                         : dead_letter(t, m, tenant, source_id, trace_id, why, err);
        } else {
                snprintf(why, sizeof(why),
                         "unknown entity \"%s\" (expected order, product or "
                         "customer)",
                         entity);
                rc = dead_letter(t, m, tenant, source_id, trace_id, why, err);
        }
out:
        json_decref(env);
        return rc;
}

/* Consume one batch into one transaction. Returns the number of messages committed, or -1
 * after an abort (the consumer was rewound to the last committed offsets). */
static int run_batch(struct transformer *t, int max, int max_ms)
{
        long long deadline = now_ms() + max_ms;
        unsigned long revoked = cx_consumer_revocations(t->consumer);
        int n = 0;
        bool open = false;
        cx_err err = { 0 };

        while (n < max && cx_running()) {
                long long left = deadline - now_ms();
                rd_kafka_message_t *m;

                if (open && left <= 0)
                        break;
                m = cx_consumer_poll(t->consumer, open ? (int)(left > 0 ? left : 0) : 200);
                if (open && cx_consumer_revocations(t->consumer) != revoked) {
                        /* The commit would carry the new assignment's offsets only: the
                         * commands of the revoked partitions' messages would be committed
                         * while their new owner transforms them again. */
                        if (m)
                                rd_kafka_message_destroy(m);
                        cx_fail(&err, CX_ERR_KAFKA, true,
                                "partitions revoked by a rebalance during the batch");
                        goto abort;
                }
                if (!m)
                        break; /* idle or done: the caller also has waiting VIES orders */
                if (!open) {
                        revoked = cx_consumer_revocations(t->consumer);
                        if (cx_producer_begin(t->producer, &err) < 0) {
                                rd_kafka_message_destroy(m);
                                goto abort;
                        }
                        open = true;
                        deadline = now_ms() + max_ms;
                }
                if (transform_message(t, m, &err) < 0) {
                        rd_kafka_message_destroy(m);
                        goto abort;
                }
                rd_kafka_message_destroy(m);
                n++;
        }
        if (!open)
                return 0;
        if (cx_consumer_revocations(t->consumer) != revoked) {
                cx_fail(&err, CX_ERR_KAFKA, true,
                        "partitions revoked by a rebalance during the batch");
                goto abort;
        }
        if (cx_producer_commit(t->producer, t->consumer, &err) < 0)
                goto rewind;
        cx_counter_add("cx_transformer_transactions_total", "Kafka transactions committed", NULL,
                       1);
        cx_daemon_set_ready(&t->d, true, NULL);
        return n;
abort:
        if (open)
                cx_producer_abort(t->producer, NULL);
rewind:
        cx_counter_add("cx_transformer_aborts_total", "Kafka transactions aborted", NULL, 1);
        cx_log(CX_LOG_WARN, "transaction.aborted", "batch aborted, consuming it again: %s",
               err.msg);
        cx_daemon_set_ready(&t->d, false, err.msg);
        if (cx_consumer_rewind(t->consumer, &err) < 0)
                cx_log(CX_LOG_ERROR, "rewind.failed", "%s", err.msg);
        return -1;
}

int transformer_daemon_main(int argc, char **argv)
{
        struct transformer t = { 0 };
        const char *topics[4] = { NULL };
        char txid[160];
        cx_err err = { 0 };
        unsigned backoff_ms = 0;
        long long next_prune_ms = 0;
        int rc = 1;

        cx_daemon_start(&t.d, "transformer", "turns shop events into Exact Online commands",
                        transformer_vars, argc, argv, environ);
        if (*cx_config_str(t.d.cfg, "CX_TRANSFORMER_VAT_RATES_FILE") &&
            vat_rates_load_file(cx_config_str(t.d.cfg, "CX_TRANSFORMER_VAT_RATES_FILE"), err.msg,
                                sizeof(err.msg)) != 0) {
                cx_log(CX_LOG_ERROR, "startup.failed", "%s", err.msg);
                goto out;
        }
        topics[0] = cx_topic(CX_TOPIC_SHOP_ORDERS);
        topics[1] = cx_topic(CX_TOPIC_SHOP_PRODUCTS);
        topics[2] = cx_topic(CX_TOPIC_SHOP_CUSTOMERS);
        t.consumer = cx_consumer_new(cx_config_str(t.d.cfg, "CX_KAFKA_BROKERS"),
                                     cx_config_str(t.d.cfg, "CX_TRANSFORMER_GROUP"), topics, true,
                                     true, &err);
        if (!t.consumer || !cx_daemon_wait_kafka(&t.d, cx_consumer_handle(t.consumer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       t.consumer ? "brokers not reachable" : err.msg);
                goto out;
        }
        /* The transactional id is stable per instance name, so a restarted instance fences
         * its own zombie; instances with different names, or of stacks with different topic
         * prefixes on one cluster, never fence each other. */
        snprintf(txid, sizeof(txid), "cx-transformer-%s%s",
                 cx_config_str(t.d.cfg, "CX_TOPIC_PREFIX"), t.d.instance_id);
        t.producer = cx_producer_new(cx_config_str(t.d.cfg, "CX_KAFKA_BROKERS"), txid, &err);
        if (!t.producer) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka producer: %s", err.msg);
                goto out;
        }
        t.rules = rules_store_new(t.d.db, (int)cx_config_int(t.d.cfg, "CX_RULES_REFRESH_MS"));
        vies_gate_init(&t.vies, t.d.db, t.d.cfg);
        cx_daemon_set_ready(&t.d, true, NULL);
        cx_log(CX_LOG_INFO, "ready", "transformer ready");
        while (cx_running()) {
                int n = run_batch(&t, (int)cx_config_int(t.d.cfg, "CX_TRANSFORMER_BATCH"),
                                  (int)cx_config_int(t.d.cfg, "CX_TRANSFORMER_BATCH_MS"));

                if (n >= 0)
                        retention_housekeeping(&t, &next_prune_ms, now_ms());
                if (n >= 0 &&
                    vies_gate_retry_due(&t.vies, t.d.db, t.rules, t.producer, t.consumer, &err) < 0)
                        cx_log(CX_LOG_WARN, "vies.retry_failed", "%s", err.msg);

                /* Unready since an aborted batch, and nothing to read now (the batch's
                 * partitions may have gone to another member): ready again once the database
                 * and the brokers answer, not only after the next commit. */
                if (n == 0 && !atomic_load(&t.d.ready) && cx_db_ping(t.d.db) &&
                    cx_kafka_ready(cx_consumer_handle(t.consumer), 1000))
                        cx_daemon_set_ready(&t.d, true, NULL);
                if (n >= 0) {
                        backoff_ms = 0;
                        continue;
                }
                if (cx_producer_fatal(t.producer)) {
                        /* Fenced or otherwise unusable for good: every later batch would abort.
                         * Stop, so the supervisor starts a clean instance (or, when another
                         * one runs under the same CX_INSTANCE_ID, the operator sees it). */
                        cx_log(CX_LOG_ERROR, "kafka.producer_fatal",
                               "the transactional producer %s cannot go on (fenced by a newer "
                               "instance with the same id, or a fatal broker error): stopping",
                               txid);
                        cx_daemon_set_ready(&t.d, false, "Kafka producer unusable");
                        rc = 1;
                        goto out;
                }
                /* PostgreSQL or Kafka trouble: wait a little longer each time, up to 5 s. */
                backoff_ms = backoff_ms ? (backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2) : 100;
                for (unsigned w = 0; w < backoff_ms && cx_running(); w += 50)
                        usleep(50 * 1000);
        }
        cx_daemon_set_ready(&t.d, false, "draining");
        rc = 0;
out:
        if (t.consumer)
                cx_consumer_close(t.consumer);
        cx_producer_free(t.producer);
        rules_store_free(t.rules);
        vies_gate_free(&t.vies);
        cx_daemon_finish(&t.d);
        if (!rc)
                cx_log(CX_LOG_INFO, "shutdown.done", "transformer stopped");
        return rc;
}
