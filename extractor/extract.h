/* extract.h: the extraction engine: leases, tenants, passes over orders, products and
 * customers, webhook hints, publishing with content hashes. One thread runs it; the
 * webhook route (webhook.h, on the HTTP server's threads) only stores hints and wakes it.
 * The engine's modules share engine.h. */
#ifndef CX_EXTRACTOR_EXTRACT_H
#define CX_EXTRACTOR_EXTRACT_H

#include <stdbool.h>

#include "common/keyring.h"
#include "common/daemon.h"
#include "common/kafka.h"

typedef struct ex_settings {
        cx_keyring *keys; /* CX_SECRET_KEY; NULL when not set */
        const char *dsn;
        const char *webhook_base; /* "" disables webhook registration */
        int page_size;
        int reread_days;
        int watch_days; /* not yet bookable orders are re-read until this old (0: never) */
        double orders_interval_s;
        double reread_interval_s;
        double products_interval_s;
        double users_interval_s;
        double refresh_s;
        int lease_s;
        int get_limit;
        int write_limit;
        double window_s;
        double backoff_max_s;
        long http_timeout_ms;
        int hints_max; /* webhook hints waiting per tenant; more are dropped */
        bool verify_responses;
} ex_settings;

typedef struct extractor extractor;

/** @brief An engine on the daemon's database and producer. @returns NULL when out of memory. */
extractor *ex_new(cx_daemon *d, cx_producer *producer, const ex_settings *set);

/** @brief Extract until a stop is requested (cx_running() false). */
void ex_run(extractor *x);

/** @brief Release this instance's leases (so others take its tenants at once) and free. */
void ex_free(extractor *x);

#endif
