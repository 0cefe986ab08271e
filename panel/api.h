/* api: the control panel's HTTP side: the JSON API under /api/, the Exact consent callback
 * and the page itself. Every API request is checked on the server: a live session, the CSRF
 * token on every change, and the user's right to the tenant it names (operators: all,
 * shop owners: their own). The work is done by the operations library (ops/ops_*.h)
 * and the transformer's dry run, so the panel and the CLI cannot disagree.
 *
 * Handlers run concurrently, one thread per connection; each request takes a PostgreSQL
 * connection of its own from the pool (a libpq connection is not thread-safe) and gives it
 * back when answered. Sign-ins pass the throttle before any password is hashed. */
#ifndef PANEL_API_H
#define PANEL_API_H

#include <pthread.h>
#include <stdbool.h>

#include "common/daemon.h"
#include "common/db_pool.h"
#include "common/mail.h"
#include "common/kafka.h"
#include "ops/ops.h"
#include "ops/ops_users.h"
#include "panel/throttle.h"

#define PANEL_MAX_BODY (256 * 1024)

typedef struct panel {
        cx_daemon *d;
        ops_ctx ops;
        cx_producer *producer; /**< made on the first redrive; NULL until then */
        pthread_mutex_t lock;  /**< guards producer's creation */
        cx_db_pool *pool;      /**< the requests' connections */
        throttle throttle;     /**< sign-in limits and hash slots */
        cx_mail_cfg mail;      /**< SMTP for invitations and resets */
        ops_auth_policy policy;
        long statement_timeout_ms;
        bool trust_forwarded; /**< client address from X-Forwarded-For */
        long reset_ttl_s, invite_ttl_s;
        bool cookie_secure;   /**< Secure cookies (off only for http://localhost tests) */
        char public_url[512]; /**< where browsers reach the panel; "" when unknown */
        long lag_warn_s;      /**< extraction older than this: "lagging" */
} panel;

/** @brief The route handler for every path (registered on "/"). */
void panel_route(void *ud, const cx_http_request *req, cx_http_reply *reply);

#endif
