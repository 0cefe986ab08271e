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
#include "common/log.h"
#include "common/signals.h"
#include "ops/ops_users.h"
#include "panel/api.h"

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
        { "CX_PANEL_FAIL_DELAY_MS", CX_CFG_INT, "1000", 0, 60000, false,
          "after a wrong password the account refuses sign-ins for this long, doubling with "
          "every further wrong password (up to 64 times)" },
        { "CX_PANEL_LOCKOUT_AFTER", CX_CFG_INT, "5", 1, 100, false,
          "wrong passwords in a row that lock an account" },
        { "CX_PANEL_LOCKOUT_S", CX_CFG_INT, "900", 1, 86400, false,
          "how long a locked account stays locked" },
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

static bool schema_ready(panel *p)
{
        bool ok;

        pthread_mutex_lock(&p->lock);
        ok = ops_users_ready(p->d->db);
        pthread_mutex_unlock(&p->lock);
        return ok;
}

int main(int argc, char **argv)
{
        cx_daemon d;
        panel p;
        cx_err err = { 0 };
        const char *key;

        cx_daemon_start(&d, PROG,
                        "the control panel: web page and JSON API for operators and "
                        "shop owners",
                        panel_vars, argc, argv, environ);
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
        p.policy.session_ttl_s = (long)cx_config_int(d.cfg, "CX_PANEL_SESSION_TTL_S");
        p.policy.fail_delay_ms = (long)cx_config_int(d.cfg, "CX_PANEL_FAIL_DELAY_MS");
        p.policy.lockout_after = (int)cx_config_int(d.cfg, "CX_PANEL_LOCKOUT_AFTER");
        p.policy.lockout_s = (long)cx_config_int(d.cfg, "CX_PANEL_LOCKOUT_S");
        p.lag_warn_s = (long)cx_config_int(d.cfg, "CX_PANEL_LAG_WARN_S");
        p.cookie_secure = cx_config_bool(d.cfg, "CX_PANEL_COOKIE_SECURE");
        snprintf(p.public_url, sizeof(p.public_url), "%s",
                 cx_config_str(d.cfg, "CX_PANEL_PUBLIC_URL"));
        while (strlen(p.public_url) > 0 && p.public_url[strlen(p.public_url) - 1] == '/')
                p.public_url[strlen(p.public_url) - 1] = '\0';
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
        if (ops_auth_init(&err) < 0) {
                cx_log(CX_LOG_ERROR, "startup.failed", "%s", err.msg);
                cx_keyring_free(p.ops.key);
                cx_daemon_finish(&d);
                return 1;
        }
        if (cx_http_server_route(d.http, NULL, "/", panel_route, &p) < 0) {
                cx_log(CX_LOG_ERROR, "startup.failed", "cannot add the panel's routes");
                ops_auth_cleanup();
                cx_keyring_free(p.ops.key);
                cx_daemon_finish(&d);
                return 1;
        }
        while (cx_running()) {
                bool ok = schema_ready(&p);

                cx_daemon_set_ready(&d, ok,
                                    ok ? NULL
                                       : "database unreachable or schema not "
                                         "migrated (run connector-admin migrate)");
                for (int i = 0; i < 10 && cx_running(); i++)
                        usleep(100 * 1000);
        }
        cx_log(CX_LOG_INFO, "shutdown", "panel stopping");
        cx_http_server_stop(d.http);
        d.http = NULL;
        cx_producer_free(p.producer);
        ops_auth_cleanup();
        cx_keyring_free(p.ops.key);
        cx_daemon_finish(&d);
        pthread_mutex_destroy(&p.lock);
        return 0;
}
