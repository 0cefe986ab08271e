/* extractor: CCV Shop -> Kafka shop.* topics, for every tenant this instance holds a lease
 * on. See docs/extractor.md. Secrets are sealed for the tenants table by connector-admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/daemon.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/signals.h"
#include "extractor/extract.h"
#include "extractor/webhook.h"

extern char **environ;

static const cx_cfg_var extractor_vars[] = {
        { "CX_SECRET_KEY", CX_CFG_STR, "", 0, 0, true,
          "keys that open the sealed shop secrets (64 hex characters or base64 of 32 bytes "
          "each, the first seals; a CX_SECRET_KEY_FILE is followed without restart)" },
        { "CX_WEBHOOK_BASE_URL", CX_CFG_STR, "", 0, 0, false,
          "public base URL of this service; webhooks are registered at URL/webhooks/TENANT "
          "(empty: no registration, polling only)" },
        { "CX_EXTRACT_PAGE_SIZE", CX_CFG_INT, "50", 1, 250, false,
          "items per listing page, and so per slice of one tenant's work" },
        { "CX_EXTRACT_REREAD_DAYS", CX_CFG_INT, "14", 0, 3650, false,
          "orders created this many days back are re-read for changes (0: never)" },
        { "CX_EXTRACT_WATCH_DAYS", CX_CFG_INT, "120", 0, 3650, false,
          "orders seen completed but not yet bookable (unpaid, a status not booked) are "
          "re-read every CX_EXTRACT_REREAD_INTERVAL_S until bookable or this many days old "
          "(0: only the re-read window)" },
        { "CX_EXTRACT_REREAD_INTERVAL_S", CX_CFG_INT, "600", 1, 86400, false,
          "seconds between re-reads of the recent order window" },
        { "CX_EXTRACT_ORDERS_INTERVAL_S", CX_CFG_INT, "30", 1, 86400, false,
          "seconds between polls for new orders once a tenant is caught up" },
        { "CX_EXTRACT_PRODUCTS_INTERVAL_S", CX_CFG_INT, "300", 1, 86400, false,
          "seconds between reads of changed products" },
        { "CX_EXTRACT_USERS_INTERVAL_S", CX_CFG_INT, "3600", 1, 604800, false,
          "seconds between full scans of the registered customers (/users)" },
        { "CX_EXTRACT_TENANT_REFRESH_S", CX_CFG_INT, "5", 1, 3600, false,
          "seconds between re-reads of the tenants table and lease renewals" },
        { "CX_EXTRACT_LEASE_S", CX_CFG_INT, "30", 3, 3600, false,
          "lease time: a dead instance's tenants move to others after this many seconds" },
        { "CX_EXTRACT_GET_LIMIT", CX_CFG_INT, "150", 0, 100000, false,
          "GET requests per resource per window and tenant (CCV: 150/minute; 0: no limit)" },
        { "CX_EXTRACT_WRITE_LIMIT", CX_CFG_INT, "100", 0, 100000, false,
          "POST/PATCH/DELETE requests per resource per window and tenant (CCV: 100/minute)" },
        { "CX_EXTRACT_RATE_WINDOW_S", CX_CFG_INT, "60", 1, 3600, false,
          "length of the rate-limit window in seconds; also the wait after a 429 without "
          "Retry-After" },
        { "CX_EXTRACT_BACKOFF_MAX_S", CX_CFG_INT, "300", 1, 86400, false,
          "longest wait after repeated failures of one tenant" },
        { "CX_EXTRACT_HTTP_TIMEOUT_MS", CX_CFG_INT, "15000", 100, 600000, false,
          "timeout of one request to a shop (at most half of CX_EXTRACT_LEASE_S)" },
        { "CX_EXTRACT_VERIFY_RESPONSES", CX_CFG_BOOL, "true", 0, 0, false,
          "verify the x-hash signature of every successful shop response" },
        { "CX_EXTRACT_HINTS_MAX", CX_CFG_INT, "1000", 1, 1000000, false,
          "webhook hints waiting per tenant; signed deliveries beyond are dropped (the passes "
          "still read the change)" },
        CX_CFG_END,
};

static void settings_from(const cx_daemon *d, ex_settings *s)
{
        const cx_config *c = d->cfg;
        const char *key = cx_config_str(c, "CX_SECRET_KEY");
        cx_err err = { 0 };

        memset(s, 0, sizeof(*s));
        if (*key) {
                s->keys = cx_keyring_from_env(key, environ, &err);
                if (!s->keys) {
                        fprintf(stderr, "extractor: configuration error: CX_SECRET_KEY: %s\n",
                                err.msg);
                        exit(2);
                }
        } else {
                cx_log(CX_LOG_WARN, "config.no_secret_key",
                       "CX_SECRET_KEY is not set: no tenant's shop secret can be opened");
        }
        s->dsn = cx_config_str(c, "CX_PG_DSN");
        s->webhook_base = cx_config_str(c, "CX_WEBHOOK_BASE_URL");
        s->page_size = (int)cx_config_int(c, "CX_EXTRACT_PAGE_SIZE");
        s->reread_days = (int)cx_config_int(c, "CX_EXTRACT_REREAD_DAYS");
        s->watch_days = (int)cx_config_int(c, "CX_EXTRACT_WATCH_DAYS");
        s->reread_interval_s = (double)cx_config_int(c, "CX_EXTRACT_REREAD_INTERVAL_S");
        s->orders_interval_s = (double)cx_config_int(c, "CX_EXTRACT_ORDERS_INTERVAL_S");
        s->products_interval_s = (double)cx_config_int(c, "CX_EXTRACT_PRODUCTS_INTERVAL_S");
        s->users_interval_s = (double)cx_config_int(c, "CX_EXTRACT_USERS_INTERVAL_S");
        s->refresh_s = (double)cx_config_int(c, "CX_EXTRACT_TENANT_REFRESH_S");
        s->lease_s = (int)cx_config_int(c, "CX_EXTRACT_LEASE_S");
        s->get_limit = (int)cx_config_int(c, "CX_EXTRACT_GET_LIMIT");
        s->write_limit = (int)cx_config_int(c, "CX_EXTRACT_WRITE_LIMIT");
        s->window_s = (double)cx_config_int(c, "CX_EXTRACT_RATE_WINDOW_S");
        s->backoff_max_s = (double)cx_config_int(c, "CX_EXTRACT_BACKOFF_MAX_S");
        s->http_timeout_ms = (long)cx_config_int(c, "CX_EXTRACT_HTTP_TIMEOUT_MS");
        s->verify_responses = cx_config_bool(c, "CX_EXTRACT_VERIFY_RESPONSES");
        s->hints_max = (int)cx_config_int(c, "CX_EXTRACT_HINTS_MAX");
        /* The lease is renewed before a request once a third of it has passed: a request
         * may take at most half of it, or a slow shop could let it run out mid-slice. */
        if (s->http_timeout_ms > s->lease_s * 1000L / 2) {
                s->http_timeout_ms = s->lease_s * 1000L / 2;
                cx_log(CX_LOG_WARN, "config.http_timeout",
                       "CX_EXTRACT_HTTP_TIMEOUT_MS lowered to %ld ms, half of CX_EXTRACT_LEASE_S",
                       s->http_timeout_ms);
        }
}

int main(int argc, char **argv)
{
        cx_daemon d;
        cx_producer *producer;
        extractor *x;
        ex_settings set;
        cx_err err = { 0 };

        cx_daemon_start(&d, "extractor", "reads CCV Shop webshops and publishes to Kafka",
                        extractor_vars, argc, argv, environ);
        settings_from(&d, &set);
        producer = cx_producer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"), NULL, &err);
        if (!producer || !cx_daemon_wait_kafka(&d, cx_producer_handle(producer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       producer ? "brokers not reachable" : err.msg);
                cx_producer_free(producer);
                cx_keyring_free(set.keys);
                cx_daemon_finish(&d);
                return 1;
        }
        x = ex_new(&d, producer, &set);
        if (!x) {
                cx_log(CX_LOG_ERROR, "startup.failed", "out of memory");
                cx_producer_free(producer);
                cx_keyring_free(set.keys);
                cx_daemon_finish(&d);
                return 1;
        }
        cx_http_server_route(d.http, "POST", "/webhooks/", ex_webhook_route, x);
        cx_log(CX_LOG_INFO, "ready", "extractor ready");
        ex_run(x);
        cx_daemon_set_ready(&d, false, "draining");
        cx_log(CX_LOG_INFO, "shutdown", "draining");
        /* stop the listener first: the webhook route uses the engine */
        cx_http_server_stop(d.http);
        d.http = NULL;
        ex_free(x);
        cx_keyring_free(set.keys);
        cx_producer_free(producer);
        cx_daemon_finish(&d);
        cx_log(CX_LOG_INFO, "shutdown.done", "extractor stopped");
        return 0;
}
