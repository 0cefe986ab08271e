/* guard: see guard.h. */
#include "loader/guard.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "common/cache.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/metrics.h"
#include "exact/ratelimit.h"
#include "loader/ledger.h"

struct ep_errors {
        int64_t *times; /* the last `limit` error times, a ring */
        int n;
        int64_t blocked_until;
};

static void ep_errors_free(void *entry)
{
        free(((struct ep_errors *)entry)->times);
}

static cx_cache endpoints = CX_CACHE_INIT(struct ep_errors, ep_errors_free);

static void ep_key(char *key, size_t size, const char *tenant, const char *endpoint)
{
        snprintf(key, size, "%s\n%s", tenant, endpoint);
}

bool guard_blocked(const char *tenant, const char *endpoint, int64_t *until_ms)
{
        struct ep_errors *e;
        bool blocked = false;
        char key[400];

        ep_key(key, sizeof(key), tenant, endpoint);
        cx_cache_lock(&endpoints);
        e = cx_cache_get(&endpoints, key, false);
        if (e && e->blocked_until > exact_now_ms()) {
                *until_ms = e->blocked_until;
                blocked = true;
        }
        cx_cache_unlock(&endpoints);
        return blocked;
}

/* Count the error; returns the end of a block that starts now, or 0. */
static int64_t count_error(const char *tenant, const char *endpoint, int limit, long window_ms,
                           int *recent)
{
        int64_t now = exact_now_ms(), until = 0;
        struct ep_errors *e;
        char key[400];

        ep_key(key, sizeof(key), tenant, endpoint);
        *recent = 0;
        cx_cache_lock(&endpoints);
        e = cx_cache_get(&endpoints, key, true);
        if (e && !e->times)
                e->times = calloc((size_t)limit, sizeof(int64_t));
        if (e && e->times) {
                e->times[e->n % limit] = now;
                e->n++;
                for (int i = 0; i < limit && i < e->n; i++) {
                        if (e->times[i] > now - window_ms)
                                (*recent)++;
                }
                if (*recent >= limit && e->blocked_until <= now) {
                        e->blocked_until = now + window_ms;
                        until = e->blocked_until;
                }
        }
        cx_cache_unlock(&endpoints);
        return until;
}

void guard_error(cx_db *db, const char *tenant, const char *endpoint, const char *message,
                 int limit, long window_ms)
{
        char labels[600], msg[700];
        int recent;
        int64_t until;

        cx_metrics_label2(labels, sizeof(labels), "tenant", tenant, "endpoint", endpoint);
        cx_counter_add("cx_loader_api_errors_total",
                       "Answers Exact counts toward its error limit (400/401/403/404)", labels, 1);
        until = count_error(tenant, endpoint, limit, window_ms, &recent);
        if (!until)
                return;
        snprintf(msg, sizeof(msg), "stopped calling %s for this tenant after %d errors: %s",
                 endpoint, recent, message);
        cx_counter_add("cx_loader_endpoint_blocks_total",
                       "Endpoints the loader stopped calling after repeated errors", labels, 1);
        cx_log_fields(CX_LOG_ERROR, "endpoint.blocked",
                      json_pack("{s:s,s:s,s:i}", "tenant", tenant, "endpoint", endpoint, "errors",
                                recent),
                      "%s", msg);
        ledger_save_block(db, tenant, endpoint, recent, until, message, NULL);
        cx_sync_log(db, tenant, "load", endpoint, "", "failed", msg, "", NULL);
}

void guard_free(void)
{
        cx_cache_clear(&endpoints);
}
