/* panel: the control panel daemon. Operators and shop owners sign in to a web page that shows
 * every tenant's sync, edits mapping rules, retries dead letters, connects Exact Online and
 * previews bookings; the JSON API behind it is under /api/ (see docs/panel.md). Users are
 * created with `connector-admin users add`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/db_pool.h"
#include "common/log.h"
#include "common/mail.h"
#include "common/signals.h"
#include "ops/ops_notify.h"
#include "ops/ops_users.h"
#include "panel/api.h"
#include "panel/throttle.h"

extern char **environ;

#define PROG "panel"

static const cx_cfg_var panel_vars[] = {
        { "CX_SECRET_KEY", CX_CFG_STR, "", 0, 0, true,
          "keys that seal tenant secrets (64 hex characters or base64 of 32 bytes each; the "
          "first seals, all open; a CX_SECRET_KEY_FILE is followed without restart); needed "
          "for the Exact consent and for previewing an order fetched from the shop" },
        { "CX_PANEL_PUBLIC_URL", CX_CFG_STR, "", 0, 0, false,
          "address browsers use to reach the panel, without a trailing slash (e.g. "
          "https://panel.example.com); Exact sends consents to it + /oauth/callback" },
        { "CX_PANEL_COOKIE_SECURE", CX_CFG_BOOL, "true", 0, 0, false,
          "mark the session cookie Secure (HTTPS only); false is accepted only with "
          "CX_PANEL_PUBLIC_URL on http://localhost or http://127.0.0.1, for tests" },
        { "CX_PANEL_SESSION_TTL_S", CX_CFG_INT, "28800", 60, 604800, false,
          "a session ends after this many seconds without a request" },
        { "CX_PANEL_SESSION_MAX_S", CX_CFG_INT, "43200", 5, 2592000, false,
          "a session ends this many seconds after sign-in however active it is (absolute "
          "lifetime)" },
        { "CX_PANEL_FAIL_DELAY_MS", CX_CFG_INT, "1000", 0, 60000, false,
          "after a wrong password the account refuses sign-ins for this long, doubling with "
          "every further wrong password (up to 64 times)" },
        { "CX_PANEL_LOCKOUT_AFTER", CX_CFG_INT, "5", 1, 100, false,
          "wrong passwords in a row that lock an account" },
        { "CX_PANEL_LOCKOUT_S", CX_CFG_INT, "900", 1, 86400, false,
          "how long a locked account stays locked" },
        { "CX_PANEL_LOGIN_PER_ADDR_PER_MIN", CX_CFG_INT, "10", 1, 100000, false,
          "sign-ins, password resets and invitation acceptances one client address may start "
          "per minute (a burst of as many), refused with 429 before any password is hashed" },
        { "CX_PANEL_LOGIN_PER_S", CX_CFG_INT, "5", 1, 10000, false,
          "the same attempts per second from all addresses together (a burst of as many)" },
        { "CX_PANEL_HASH_SLOTS", CX_CFG_INT, "2", 1, 32, false,
          "password hashes (Argon2id, 64 MiB each) computed at once; an attempt that finds "
          "none free within 2 s is refused with 429" },
        { "CX_PANEL_TRUST_FORWARDED", CX_CFG_BOOL, "false", 0, 0, false,
          "take the client address for the sign-in limits from the last X-Forwarded-For "
          "entry (only behind a reverse proxy that sets it; otherwise clients could pick one)" },
        { "CX_PANEL_HTTP_CONNECTIONS", CX_CFG_INT, "64", 4, 1024, false,
          "connections served at once, each on its own thread (one slow request holds up "
          "only its own client)" },
        { "CX_PANEL_DB_CONNECTIONS", CX_CFG_INT, "8", 1, 64, false,
          "PostgreSQL connections the request threads share (a request waits up to 5 s for "
          "one, then 503)" },
        { "CX_PANEL_STATEMENT_TIMEOUT_MS", CX_CFG_INT, "5000", 100, 600000, false,
          "a database statement of a request (a sync-log search) is cancelled after this "
          "long" },
        { "CX_PANEL_RESET_TTL_S", CX_CFG_INT, "3600", 60, 86400, false,
          "a password reset link works once, for this many seconds" },
        { "CX_PANEL_INVITE_TTL_S", CX_CFG_INT, "604800", 60, 2592000, false,
          "an invitation link works once, for this many seconds" },
        { "CX_SMTP_URL", CX_CFG_STR, "", 0, 0, false,
          "mail server for invitations and password resets: smtp://HOST:PORT (STARTTLS, see "
          "CX_SMTP_STARTTLS) or smtps://HOST:PORT; empty: the panel sends no mail (and "
          "refuses invitations and resets)" },
        { "CX_SMTP_FROM", CX_CFG_STR, "", 0, 0, false,
          "sender address of the panel's mail (needed with CX_SMTP_URL)" },
        { "CX_SMTP_USER", CX_CFG_STR, "", 0, 0, false,
          "user name for SMTP authentication; empty: none" },
        { "CX_SMTP_PASSWORD", CX_CFG_STR, "", 0, 0, true, "password for SMTP authentication" },
        { "CX_SMTP_STARTTLS", CX_CFG_BOOL, "true", 0, 0, false,
          "with smtp://, insist on STARTTLS before anything is sent; false sends in the clear "
          "(a mail relay on the same host, tests)" },
        { "CX_SMTP_TIMEOUT_MS", CX_CFG_INT, "10000", 1000, 120000, false,
          "timeout of sending one mail" },
        { "CX_PANEL_NOTIFY", CX_CFG_BOOL, "true", 0, 0, false,
          "with CX_SMTP_URL: mail shop owners when Exact needs a new consent, when failures "
          "wait for a fix, and a daily summary" },
        { "CX_PANEL_NOTIFY_INTERVAL_S", CX_CFG_INT, "60", 1, 3600, false,
          "how often the panel looks for notices to send" },
        { "CX_PANEL_NOTIFY_FAILURES_S", CX_CFG_INT, "900", 0, 86400, false,
          "at least this long between two failure mails of one tenant (new failures meanwhile "
          "go into the next)" },
        { "CX_PANEL_SUMMARY_HOUR", CX_CFG_INT, "7", -1, 23, false,
          "hour of the day (Europe/Amsterdam) from which the daily summary is sent; -1: none" },
        { "CX_PANEL_LAG_WARN_S", CX_CFG_INT, "3600", 60, 604800, false,
          "a tenant whose last extraction is older than this shows as lagging" },
        { "CX_PANEL_HTTP_TIMEOUT_MS", CX_CFG_INT, "30000", 1000, 600000, false,
          "timeout of one call to Exact (consent) or to a shop (preview)" },
        CX_CFG_END,
};

static bool local_http(const char *url)
{
        static const char *const ok[] = { "http://localhost", "http://127.0.0.1", NULL };

        for (const char *const *o = ok; *o; o++) {
                size_t n = strlen(*o);

                if (!strncmp(url, *o, n) && (url[n] == '\0' || url[n] == ':' || url[n] == '/'))
                        return true;
        }
        return false;
}

static int send_mail(void *ud, const char *to, const char *subject, const char *text, cx_err *err)
{
        return cx_mail_send(ud, to, subject, text, err);
}

/* The notices due now, on the main loop's connection (ops_notify.h). */
static void notify(panel *p, const ops_notify_cfg *cfg)
{
        ops_ctx ctx = p->ops;
        cx_err err = { 0 };

        ctx.db = p->d->db;
        if (ops_notify_run(&ctx, cfg, send_mail, &p->mail, &err) < 0)
                cx_log(CX_LOG_WARN, "panel.notify_failed", "notifications: %s", err.msg);
}

/* The main loop's own connection (d->db), not the request pool's. */
static bool schema_ready(panel *p)
{
        return ops_users_ready(p->d->db);
}

static void free_panel(panel *p)
{
        cx_db_pool_free(p->pool);
        throttle_free(&p->throttle);
        ops_auth_cleanup();
        cx_keyring_free(p->ops.key);
}

/* The settings of the table (everything but what startup checks need first). */
static void read_settings(panel *p, const cx_config *cfg)
{
        p->policy.session_ttl_s = (long)cx_config_int(cfg, "CX_PANEL_SESSION_TTL_S");
        p->policy.session_max_s = (long)cx_config_int(cfg, "CX_PANEL_SESSION_MAX_S");
        p->policy.fail_delay_ms = (long)cx_config_int(cfg, "CX_PANEL_FAIL_DELAY_MS");
        p->policy.lockout_after = (int)cx_config_int(cfg, "CX_PANEL_LOCKOUT_AFTER");
        p->policy.lockout_s = (long)cx_config_int(cfg, "CX_PANEL_LOCKOUT_S");
        p->lag_warn_s = (long)cx_config_int(cfg, "CX_PANEL_LAG_WARN_S");
        p->statement_timeout_ms = (long)cx_config_int(cfg, "CX_PANEL_STATEMENT_TIMEOUT_MS");
        p->trust_forwarded = cx_config_bool(cfg, "CX_PANEL_TRUST_FORWARDED");
        p->reset_ttl_s = (long)cx_config_int(cfg, "CX_PANEL_RESET_TTL_S");
        p->invite_ttl_s = (long)cx_config_int(cfg, "CX_PANEL_INVITE_TTL_S");
        p->mail.url = cx_config_str(cfg, "CX_SMTP_URL");
        p->mail.from = cx_config_str(cfg, "CX_SMTP_FROM");
        p->mail.user = cx_config_str(cfg, "CX_SMTP_USER");
        p->mail.password = cx_config_str(cfg, "CX_SMTP_PASSWORD");
        p->mail.starttls = cx_config_bool(cfg, "CX_SMTP_STARTTLS");
        p->mail.timeout_ms = (long)cx_config_int(cfg, "CX_SMTP_TIMEOUT_MS");
        p->cookie_secure = cx_config_bool(cfg, "CX_PANEL_COOKIE_SECURE");
        snprintf(p->public_url, sizeof(p->public_url), "%s",
                 cx_config_str(cfg, "CX_PANEL_PUBLIC_URL"));
        while (strlen(p->public_url) > 0 && p->public_url[strlen(p->public_url) - 1] == '/')
                p->public_url[strlen(p->public_url) - 1] = '\0';
}

/* Until a signal: readiness, and the notices due. */
static void serve(panel *p, const ops_notify_cfg *notify_cfg, long long notify_every)
{
        time_t next_notify = 0;

        while (cx_running()) {
                bool ok = schema_ready(p);

                if (ok && notify_every > 0 && time(NULL) >= next_notify) {
                        notify(p, notify_cfg);
                        next_notify = time(NULL) + notify_every;
                }
                cx_daemon_set_ready(p->d, ok,
                                    ok ? NULL
                                       : "database unreachable or schema not "
                                         "migrated (run connector-admin migrate)");
                for (int i = 0; i < 10 && cx_running(); i++)
                        usleep(100 * 1000);
        }
}

int main(int argc, char **argv)
{
        cx_daemon d;
        panel p;
        cx_err err = { 0 };
        const char *key;
        cx_daemon_opts opts = { .http_connections_var = "CX_PANEL_HTTP_CONNECTIONS" };
        char session_sql[96];
        ops_notify_cfg notify_cfg = { 0 };
        long long notify_every;

        cx_daemon_start_opts(&d, PROG,
                             "the control panel: web page and JSON API for operators and "
                             "shop owners",
                             panel_vars, argc, argv, environ, &opts);
        memset(&p, 0, sizeof(p));
        pthread_mutex_init(&p.lock, NULL);
        p.d = &d;
        p.ops.db = d.db;
        p.ops.brokers = cx_config_str(d.cfg, "CX_KAFKA_BROKERS");
        p.ops.http_timeout_ms = (long)cx_config_int(d.cfg, "CX_PANEL_HTTP_TIMEOUT_MS");
        key = cx_config_str(d.cfg, "CX_SECRET_KEY");
        if (*key) {
                /* followed: a rotation needs no restart (common/keyring.h) */
                p.ops.key = cx_keyring_from_env(key, environ, &err);
                if (!p.ops.key) {
                        cx_log(CX_LOG_ERROR, "startup.failed", "CX_SECRET_KEY: %s", err.msg);
                        cx_daemon_finish(&d);
                        return 2;
                }
        }
        read_settings(&p, d.cfg);
        if (!p.cookie_secure && (!local_http(p.public_url) ||
                                 strcmp(cx_config_str(d.cfg, "CX_HTTP_ADDR"), "127.0.0.1"))) {
                cx_log(CX_LOG_ERROR, "startup.failed",
                       "CX_PANEL_COOKIE_SECURE=false is only for "
                       "tests: it needs CX_PANEL_PUBLIC_URL on http://localhost or "
                       "http://127.0.0.1 and CX_HTTP_ADDR=127.0.0.1");
                cx_keyring_free(p.ops.key);
                cx_daemon_finish(&d);
                return 2;
        }
        if (cx_mail_configured(&p.mail) && !strchr(p.mail.from, '@')) {
                cx_log(CX_LOG_ERROR, "startup.failed",
                       "CX_SMTP_URL is set: CX_SMTP_FROM must be the sender's address");
                cx_keyring_free(p.ops.key);
                cx_daemon_finish(&d);
                return 2;
        }
        snprintf(session_sql, sizeof(session_sql), "SET statement_timeout = %ld",
                 p.statement_timeout_ms);
        if (ops_auth_init(&err) < 0 ||
            throttle_init(&p.throttle,
                          (long)cx_config_int(d.cfg, "CX_PANEL_LOGIN_PER_ADDR_PER_MIN"),
                          (long)cx_config_int(d.cfg, "CX_PANEL_LOGIN_PER_S"),
                          (int)cx_config_int(d.cfg, "CX_PANEL_HASH_SLOTS")) < 0 ||
            !(p.pool = cx_db_pool_new(cx_config_str(d.cfg, "CX_PG_DSN"),
                                      (int)cx_config_int(d.cfg, "CX_PANEL_DB_CONNECTIONS"),
                                      session_sql, &err))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "%s",
                       err.msg[0] ? err.msg : "out of memory");
                free_panel(&p);
                cx_daemon_finish(&d);
                return 1;
        }
        if (cx_http_server_route(d.http, NULL, "/", panel_route, &p) < 0) {
                cx_log(CX_LOG_ERROR, "startup.failed", "cannot add the panel's routes");
                free_panel(&p);
                cx_daemon_finish(&d);
                return 1;
        }
        notify_cfg.failures_gap_s = (long)cx_config_int(d.cfg, "CX_PANEL_NOTIFY_FAILURES_S");
        notify_cfg.summary_hour = (int)cx_config_int(d.cfg, "CX_PANEL_SUMMARY_HOUR");
        notify_cfg.public_url = p.public_url;
        notify_every = cx_config_bool(d.cfg, "CX_PANEL_NOTIFY") && cx_mail_configured(&p.mail)
                               ? cx_config_int(d.cfg, "CX_PANEL_NOTIFY_INTERVAL_S")
                               : 0;
        serve(&p, &notify_cfg, notify_every);
        cx_log(CX_LOG_INFO, "shutdown", "panel stopping");
        cx_http_server_stop(d.http);
        d.http = NULL;
        cx_producer_free(p.producer);
        free_panel(&p);
        cx_daemon_finish(&d);
        pthread_mutex_destroy(&p.lock);
        return 0;
}
