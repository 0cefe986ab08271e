/* loader: Kafka exact.commands -> Exact Online, exactly once, within Exact's rate limits.
 *
 * The main thread consumes the commands (read_committed, as one consumer group with every
 * other loader instance), queues them per tenant and commits, per partition, the lowest
 * offset not finished yet. Worker threads take one command of one tenant at a time
 * (command.h). The consent step and sealing are connector-admin's (tenants exchange-code,
 * seal). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/tenant.h"
#include "common/signals.h"
#include "exact/ratelimit.h"
#include "exact/refdata.h"
#include "exact/token.h"
#include "loader/command.h"
#include "loader/scheduler.h"

extern char **environ;

static const cx_cfg_var loader_vars[] = {
        { "CX_SECRET_KEY", CX_CFG_STR, "", 0, 0, true,
          "keys that seal tenant secrets and Exact tokens (64 hex characters or base64 of 32 "
          "bytes each; the first seals, all open; a CX_SECRET_KEY_FILE is followed without "
          "restart); without it no tenant can be loaded" },
        { "CX_LOADER_GROUP", CX_CFG_STR, "cx-loader", 0, 0, false,
          "Kafka consumer group shared by every loader instance" },
        { "CX_LOADER_WORKERS", CX_CFG_INT, "4", 1, 64, false,
          "worker threads; each serves one tenant at a time" },
        { "CX_LOADER_HTTP_TIMEOUT_MS", CX_CFG_INT, "30000", 1000, 600000, false,
          "timeout of one Exact REST call" },
        { "CX_LOADER_TOKEN_TIMEOUT_MS", CX_CFG_INT, "90000", 10000, 600000, false,
          "timeout of a token call (long on purpose: a lost answer burns the refresh token)" },
        { "CX_LOADER_TOKEN_MARGIN_S", CX_CFG_INT, "30", 1, 300, false,
          "refresh the access token when fewer seconds than this are left (Exact allows 30)" },
        { "CX_LOADER_MAX_ATTEMPTS", CX_CFG_INT, "8", 1, 100, false,
          "tries of a command (network errors, 5xx) before it is dead-lettered; a try that "
          "failed while the loader's own database was down is not counted" },
        { "CX_LOADER_BACKOFF_BASE_MS", CX_CFG_INT, "500", 10, 600000, false,
          "first retry delay; doubles per attempt, with jitter" },
        { "CX_LOADER_BACKOFF_MAX_MS", CX_CFG_INT, "60000", 10, 3600000, false,
          "longest retry delay" },
        { "CX_LOADER_CLOCK_SKEW_MS", CX_CFG_INT, "100", 0, 60000, false,
          "margin after a rate-limit window's reset time before its budget is spent again" },
        { "CX_LOADER_DOUBT_GRACE_MS", CX_CFG_INT, "2000", 0, 3600000, false,
          "after a write in doubt, wait this long after the loader gave up on it (or after its "
          "intent plus CX_LOADER_HTTP_TIMEOUT_MS) before looking the entity up in Exact" },
        { "CX_LOADER_ENDPOINT_ERROR_LIMIT", CX_CFG_INT, "5", 1, 9, false,
          "errors per tenant and endpoint within the window after which the loader stops "
          "calling it (Exact blocks at 10 per hour)" },
        { "CX_LOADER_ERROR_WINDOW_S", CX_CFG_INT, "3600", 1, 86400, false,
          "window of the endpoint error count, and how long calls stop after it is hit" },
        { "CX_LOADER_MAX_QUEUED", CX_CFG_INT, "10000", 10, 10000000, false,
          "commands held in memory before consumption pauses" },
        { "CX_LOADER_REFDATA_TTL_S", CX_CFG_INT, "3600", 1, 86400, false,
          "how long VAT codes, item groups and G/L accounts read from Exact are trusted before "
          "they are read again" },
        { "CX_LOADER_REFDATA_MISS_TTL_S", CX_CFG_INT, "30", 0, 3600, false,
          "a code Exact did not have is looked up again after this many seconds (so a code "
          "created in Exact is seen by the next command or redrive)" },
        { "CX_LOADER_SNAPSHOT", CX_CFG_BOOL, "true", 0, 0, false,
          "look items and relations up in a copy of the administration's (read once per "
          "division through Exact's sync endpoints) instead of asking Exact before each create" },
        { "CX_LOADER_SNAPSHOT_REFRESH_S", CX_CFG_INT, "300", 0, 86400, false,
          "the copy of items and relations is brought up to date (one call per kind: what "
          "changed in Exact since) when it is older than this; a relation added in Exact is "
          "matched from then on" },
        { "CX_LOADER_TLS_INSECURE", CX_CFG_BOOL, "false", 0, 0, false,
          "turn off TLS verification towards Exact (tests only)" },
        CX_CFG_END,
};

typedef struct app {
        sched *s;
        loader_shared sh;
        const char *dsn;
        bool insecure;
        int token_margin;
} app;

static void *worker_main(void *arg)
{
        app *a = arg;
        worker w = { 0 };
        cx_err err = { 0 };

        w.sh = &a->sh;
        w.db = cx_db_open(a->dsn, 60, &err);
        w.http = cx_http_client_new(a->sh.cfg.http_timeout_ms, a->insecure);
        if (!w.db || !w.http) {
                cx_log(CX_LOG_ERROR, "worker.failed", "worker cannot start: %s", err.msg);
                cx_request_stop();
                goto out;
        }
        w.tok.db = w.db;
        w.tok.http = w.http;
        w.tok.key = a->sh.key;
        w.tok.timeout_ms = a->sh.cfg.token_timeout_ms;
        w.tok.refresh_margin_s = a->token_margin;
        while (cx_running()) {
                job *j = sched_next(a->s, 500);
                job_outcome o;
                int64_t until;
                char reason[200];

                if (!j)
                        continue;
                command_run(&w, j, &o, &until, reason, sizeof(reason));
                sched_finish(a->s, j, o, until, reason);
        }
out:
        if (w.http)
                cx_http_client_free(w.http);
        if (w.db)
                cx_db_close(w.db);
        return NULL;
}

/* The keys of CX_SECRET_KEY (its file followed), or NULL when it is not set. */
static cx_keyring *load_keys(const char *text)
{
        cx_err err = { 0 };
        cx_keyring *keys = cx_keyring_from_env(text, environ, &err);

        if (!keys && err.code != CX_OK) {
                fprintf(stderr, "loader: configuration error: CX_SECRET_KEY: %s\n", err.msg);
                exit(2);
        }
        return keys;
}

static void set_paused(rd_kafka_t *rk, bool pause)
{
        rd_kafka_topic_partition_list_t *assigned = NULL;

        if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned)
                return;
        if (pause)
                rd_kafka_pause_partitions(rk, assigned);
        else
                rd_kafka_resume_partitions(rk, assigned);
        rd_kafka_topic_partition_list_destroy(assigned);
}

static void housekeeping(app *a, cx_consumer *consumer)
{
        rd_kafka_t *rk = cx_consumer_handle(consumer);
        rd_kafka_topic_partition_list_t *assigned = NULL, *commits;
        cx_err err = { 0 };

        if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                sched_sync_assignment(a->s, assigned);
                rd_kafka_topic_partition_list_destroy(assigned);
        }
        commits = sched_commits(a->s);
        if (commits) {
                if (cx_consumer_commit_offsets(consumer, commits, &err) < 0)
                        cx_log(CX_LOG_WARN, "kafka.commit_failed", "%s", err.msg);
                rd_kafka_topic_partition_list_destroy(commits);
        }
        cx_gauge_set("cx_loader_parked_tenants", "Tenants waiting for budget, a block or a retry",
                     NULL, (double)sched_parked(a->s));
        cx_gauge_set("cx_loader_queued_commands", "Commands held in memory", NULL,
                     (double)sched_queued(a->s));
}

int main(int argc, char **argv)
{
        const char *topics[2] = { NULL, NULL };
        pthread_t *threads;
        cx_daemon d;
        cx_consumer *consumer;
        cx_err err = { 0 };
        app a;
        int n_workers;
        size_t max_queued;
        bool paused = false;
        int64_t last_house = 0;

        cx_daemon_start(&d, "loader", "books Exact Online documents from Kafka commands",
                        loader_vars, argc, argv, environ);
        memset(&a, 0, sizeof(a));
        a.dsn = cx_config_str(d.cfg, "CX_PG_DSN");
        a.insecure = cx_config_bool(d.cfg, "CX_LOADER_TLS_INSECURE");
        a.token_margin = (int)cx_config_int(d.cfg, "CX_LOADER_TOKEN_MARGIN_S");
        a.sh.key = load_keys(cx_config_str(d.cfg, "CX_SECRET_KEY"));
        if (!a.sh.key)
                cx_log(CX_LOG_WARN, "startup.no_key",
                       "CX_SECRET_KEY is not set: every command will be dead-lettered");
        a.sh.cfg.http_timeout_ms = cx_config_int(d.cfg, "CX_LOADER_HTTP_TIMEOUT_MS");
        a.sh.cfg.token_timeout_ms = cx_config_int(d.cfg, "CX_LOADER_TOKEN_TIMEOUT_MS");
        a.sh.cfg.max_attempts = (int)cx_config_int(d.cfg, "CX_LOADER_MAX_ATTEMPTS");
        a.sh.cfg.backoff_base_ms = cx_config_int(d.cfg, "CX_LOADER_BACKOFF_BASE_MS");
        a.sh.cfg.backoff_max_ms = cx_config_int(d.cfg, "CX_LOADER_BACKOFF_MAX_MS");
        a.sh.cfg.skew_ms = cx_config_int(d.cfg, "CX_LOADER_CLOCK_SKEW_MS");
        a.sh.cfg.grace_ms = cx_config_int(d.cfg, "CX_LOADER_DOUBT_GRACE_MS");
        a.sh.cfg.endpoint_error_limit = (int)cx_config_int(d.cfg, "CX_LOADER_ENDPOINT_ERROR_LIMIT");
        a.sh.cfg.error_window_ms = cx_config_int(d.cfg, "CX_LOADER_ERROR_WINDOW_S") * 1000;
        a.sh.cfg.tls_insecure = a.insecure;
        a.sh.cfg.snapshot = cx_config_bool(d.cfg, "CX_LOADER_SNAPSHOT");
        a.sh.cfg.snapshot_refresh_s = cx_config_int(d.cfg, "CX_LOADER_SNAPSHOT_REFRESH_S");
        exact_refdata_configure(cx_config_int(d.cfg, "CX_LOADER_REFDATA_TTL_S") * 1000LL,
                                cx_config_int(d.cfg, "CX_LOADER_REFDATA_MISS_TTL_S") * 1000LL);
        pthread_mutex_init(&a.sh.dl_lock, NULL);
        n_workers = (int)cx_config_int(d.cfg, "CX_LOADER_WORKERS");
        max_queued = (size_t)cx_config_int(d.cfg, "CX_LOADER_MAX_QUEUED");

        topics[0] = cx_topic(CX_TOPIC_EXACT_COMMANDS);
        a.sh.producer = cx_producer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"), NULL, &err);
        consumer = a.sh.producer ? cx_consumer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"),
                                                   cx_config_str(d.cfg, "CX_LOADER_GROUP"), topics,
                                                   true, true, &err)
                                 : NULL;
        if (!consumer || !cx_daemon_wait_kafka(&d, cx_consumer_handle(consumer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       consumer ? "brokers not reachable" : err.msg);
                if (consumer)
                        cx_consumer_close(consumer);
                if (a.sh.producer)
                        cx_producer_free(a.sh.producer);
                cx_keyring_free(a.sh.key);
                cx_daemon_finish(&d);
                return 1;
        }
        a.s = sched_new();
        threads = calloc((size_t)n_workers, sizeof(*threads));
        if (!a.s || !threads) {
                cx_log(CX_LOG_ERROR, "startup.failed", "out of memory");
                return 1;
        }
        for (int i = 0; i < n_workers; i++)
                pthread_create(&threads[i], NULL, worker_main, &a);
        cx_daemon_set_ready(&d, true, NULL);
        cx_log(CX_LOG_INFO, "ready", "loader ready with %d workers", n_workers);
        while (cx_running()) {
                rd_kafka_message_t *m;
                int64_t now;

                if (!paused && sched_queued(a.s) >= max_queued) {
                        set_paused(cx_consumer_handle(consumer), true);
                        paused = true;
                } else if (paused && sched_queued(a.s) < max_queued / 2) {
                        set_paused(cx_consumer_handle(consumer), false);
                        paused = false;
                }
                m = cx_consumer_poll(consumer, 100);
                if (m) {
                        sched_add(a.s, m);
                        rd_kafka_message_destroy(m);
                }
                now = exact_now_ms();
                if (now - last_house >= 200) {
                        housekeeping(&a, consumer);
                        cx_tenants_sweep_metrics(d.db, NULL);
                        last_house = now;
                }
        }
        cx_daemon_set_ready(&d, false, "draining");
        sched_stop(a.s);
        for (int i = 0; i < n_workers; i++)
                pthread_join(threads[i], NULL);
        housekeeping(&a, consumer);
        free(threads);
        cx_consumer_close(consumer);
        cx_producer_free(a.sh.producer);
        sched_free(a.s);
        command_caches_free();
        exact_token_cache_free();
        pthread_mutex_destroy(&a.sh.dl_lock);
        cx_keyring_free(a.sh.key);
        cx_daemon_finish(&d);
        cx_metrics_free();
        cx_log(CX_LOG_INFO, "shutdown.done", "loader stopped");
        return 0;
}
