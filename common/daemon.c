#include "common/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/http_client.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/signals.h"

#ifndef CX_VERSION
#define CX_VERSION "dev"
#endif

static bool ready_check(void *ud, char *why, size_t why_size)
{
        cx_daemon *d = ud;

        if (atomic_load(&d->ready))
                return true;
        snprintf(why, why_size, "%s", d->not_ready_reason);
        return false;
}

/* The internal /metrics listener on CX_METRICS_LISTEN ("ADDR:PORT"). */
static void start_metrics(cx_daemon *d, const char *program)
{
        const char *listen = cx_config_str(d->cfg, "CX_METRICS_LISTEN");
        const char *colon = strrchr(listen, ':');
        char addr[64], *end;
        cx_err err = { 0 };
        long port;

        port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(addr) || !colon[1] ||
            *end || port < 0 || port > 65535) {
                fprintf(stderr,
                        "%s: configuration error: CX_METRICS_LISTEN: expected IPv4ADDR:PORT, "
                        "got \"%s\"\n",
                        program, listen);
                exit(2);
        }
        snprintf(addr, sizeof(addr), "%.*s", (int)(colon - listen), listen);
        d->metrics = cx_http_metrics_start(addr, (int)port, &err);
        if (!d->metrics) {
                cx_log(CX_LOG_ERROR, "startup.failed", "metrics listener: %s", err.msg);
                cx_http_server_stop(d->http);
                exit(1);
        }
}

void cx_daemon_start(cx_daemon *d, const char *program, const char *summary,
                     const cx_cfg_var *own_vars, int argc, char **argv, char **envp)
{
        cx_daemon_start_opts(d, program, summary, own_vars, argc, argv, envp, NULL);
}

void cx_daemon_start_opts(cx_daemon *d, const char *program, const char *summary,
                          const cx_cfg_var *own_vars, int argc, char **argv, char **envp,
                          const cx_daemon_opts *opts)
{
        const cx_cfg_var *tables[3] = { cx_common_vars, own_vars, NULL };
        cx_log_level level;
        cx_err err = { 0 };

        memset(d, 0, sizeof(*d));
        d->program = program;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        printf("%s: %s\n\nUsage: %s [--help | --version | --config-reference]"
                               "\n\nConfigured by environment variables:\n\n",
                               program, summary, program);
                        cx_config_print_reference(stdout, program, tables);
                        exit(0);
                }
                if (!strcmp(argv[i], "--version")) {
                        printf("%s %s\n", program, CX_VERSION);
                        exit(0);
                }
                if (!strcmp(argv[i], "--config-reference")) {
                        cx_config_print_reference(stdout, program, tables);
                        exit(0);
                }
                fprintf(stderr, "%s: unknown argument \"%s\" (try --help)\n", program, argv[i]);
                exit(2);
        }
        cx_log_init(program, CX_LOG_INFO);
        d->cfg = cx_config_load_or_exit(program, tables, envp);
        if (cx_log_level_parse(cx_config_str(d->cfg, "CX_LOG_LEVEL"), &level) < 0) {
                fprintf(stderr,
                        "%s: configuration error: CX_LOG_LEVEL: expected debug, info, "
                        "warn or error, got \"%s\"\n",
                        program, cx_config_str(d->cfg, "CX_LOG_LEVEL"));
                exit(2);
        }
        cx_log_init(program, level);
        if (*cx_config_str(d->cfg, "CX_INSTANCE_ID")) {
                snprintf(d->instance_id, sizeof(d->instance_id), "%s",
                         cx_config_str(d->cfg, "CX_INSTANCE_ID"));
        } else {
                char host[64] = "host";

                gethostname(host, sizeof(host) - 1);
                snprintf(d->instance_id, sizeof(d->instance_id), "%s-%ld", host, (long)getpid());
        }
        cx_topics_init(cx_config_str(d->cfg, "CX_TOPIC_PREFIX"));
        cx_signals_install();
        cx_http_global_init();
        atomic_init(&d->ready, false);
        snprintf(d->not_ready_reason, sizeof(d->not_ready_reason), "starting");
        if (opts && opts->http_connections_var)
                d->http = cx_http_server_start_threaded(
                        cx_config_str(d->cfg, "CX_HTTP_ADDR"),
                        (int)cx_config_int(d->cfg, "CX_HTTP_PORT"),
                        (unsigned)cx_config_int(d->cfg, opts->http_connections_var), ready_check, d,
                        &err);
        else
                d->http = cx_http_server_start(cx_config_str(d->cfg, "CX_HTTP_ADDR"),
                                               (int)cx_config_int(d->cfg, "CX_HTTP_PORT"),
                                               ready_check, d, &err);
        if (!d->http) {
                cx_log(CX_LOG_ERROR, "startup.failed", "%s", err.msg);
                exit(1);
        }
        start_metrics(d, program);
        cx_log_fields(CX_LOG_INFO, "startup",
                      json_pack("{s:s, s:i, s:i, s:s}", "instance", d->instance_id, "http_port",
                                cx_http_server_port(d->http), "metrics_port",
                                cx_http_server_port(d->metrics), "version", CX_VERSION),
                      "%s starting", program);
        d->db = cx_db_open(cx_config_str(d->cfg, "CX_PG_DSN"),
                           (int)cx_config_int(d->cfg, "CX_STARTUP_TIMEOUT"), &err);
        if (!d->db) {
                cx_log(CX_LOG_ERROR, "startup.failed", "%s", err.msg);
                cx_http_server_stop(d->metrics);
                cx_http_server_stop(d->http);
                exit(1);
        }
        if (cx_db_exec(d->db, "SELECT 1 FROM schema_migrations LIMIT 1", 0, NULL, &err) < 0)
                cx_log(CX_LOG_WARN, "startup.schema",
                       "schema not migrated yet (run connector-admin migrate): %s", err.msg);
}

void cx_daemon_set_ready(cx_daemon *d, bool ready, const char *reason)
{
        if (!ready)
                snprintf(d->not_ready_reason, sizeof(d->not_ready_reason), "%s",
                         reason ? reason : "not ready");
        atomic_store(&d->ready, ready);
        cx_gauge_set("cx_ready", "1 when the daemon is ready to work", NULL, ready ? 1 : 0);
}

bool cx_daemon_wait_kafka(cx_daemon *d, rd_kafka_t *rk)
{
        time_t deadline = time(NULL) + cx_config_int(d->cfg, "CX_STARTUP_TIMEOUT");

        while (cx_running()) {
                if (cx_kafka_ready(rk, 2000))
                        return true;
                if (time(NULL) >= deadline)
                        break;
                if (*cx_kafka_last_auth_error())
                        cx_log(CX_LOG_WARN, "kafka.connect_retry",
                               "Kafka brokers %s refuse this client: %s",
                               cx_config_str(d->cfg, "CX_KAFKA_BROKERS"),
                               cx_kafka_last_auth_error());
                else
                        cx_log(CX_LOG_WARN, "kafka.connect_retry",
                               "Kafka brokers %s not reachable yet",
                               cx_config_str(d->cfg, "CX_KAFKA_BROKERS"));
        }
        /* Say why, once: wrong credentials are not an unreachable broker. */
        if (*cx_kafka_last_auth_error())
                cx_log(CX_LOG_ERROR, "startup.kafka_auth",
                       "Kafka authentication failed (check the CX_KAFKA_PROPERTY_* settings): %s",
                       cx_kafka_last_auth_error());
        return false;
}

void cx_daemon_finish(cx_daemon *d)
{
        cx_http_server_stop(d->metrics);
        d->metrics = NULL;
        cx_http_server_stop(d->http);
        cx_db_close(d->db);
        cx_config_free(d->cfg);
        cx_http_global_cleanup();
        cx_metrics_free();
        d->http = NULL;
        d->db = NULL;
        d->cfg = NULL;
}
