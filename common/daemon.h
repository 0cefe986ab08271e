/* daemon.h: what every daemon does before and after its own work.
 *
 * Start: read the configuration table (stop on any error), set up JSON logging and the
 * signal handlers, connect to PostgreSQL (bounded retry), start the /metrics, /healthz and
 * /readyz listener. Readiness is a flag the daemon's own loop sets once its work can
 * proceed (Kafka metadata seen, database reachable) and clears when it cannot. */
#ifndef CX_DAEMON_H
#define CX_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/db.h"
#include "common/http_server.h"
#include "common/kafka.h"

typedef struct cx_daemon {
        const char *program;
        cx_config *cfg;
        cx_db *db;
        cx_http_server *http;    /**< /healthz, /readyz and the program's routes */
        cx_http_server *metrics; /**< /metrics only (CX_METRICS_LISTEN) */
        char instance_id[128];
        atomic_bool ready;
        char not_ready_reason[128];
} cx_daemon;

/**
 * @brief Handle --help, --version and --config-reference (print and exit 0), then start.
 *        @p own_vars is the program's table (may be NULL). Exits 2 on a configuration error
 *        and 1 when PostgreSQL or the listener cannot be had, with one clear log line.
 */
void cx_daemon_start(cx_daemon *d, const char *program, const char *summary,
                     const cx_cfg_var *own_vars, int argc, char **argv, char **envp);

typedef struct cx_daemon_opts {
        /** non-NULL: the main listener runs a thread per connection, at most as many at once
         *  as this integer variable of the program's table says
         *  (cx_http_server_start_threaded), for programs whose handlers may block */
        const char *http_connections_var;
} cx_daemon_opts;

/** @brief cx_daemon_start() with options (@p opts may be NULL: the defaults). */
void cx_daemon_start_opts(cx_daemon *d, const char *program, const char *summary,
                          const cx_cfg_var *own_vars, int argc, char **argv, char **envp,
                          const cx_daemon_opts *opts);

/** @brief Set readiness for /readyz, with a reason when not ready. */
void cx_daemon_set_ready(cx_daemon *d, bool ready, const char *reason);

/** @brief Wait until @p rk sees broker metadata, for up to the startup timeout. */
bool cx_daemon_wait_kafka(cx_daemon *d, rd_kafka_t *rk);

/** @brief Stop the listener, close the database, free everything. */
void cx_daemon_finish(cx_daemon *d);

#endif
