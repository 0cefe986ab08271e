/* rq: one control panel request while it is handled: the path's segments, the signed-in user
 * and the session's tokens, and the ways to answer it (JSON, an error for an operation's
 * cx_err, a small HTML page) with the security headers every answer carries. */
#ifndef PANEL_RQ_H
#define PANEL_RQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/http_server.h"
#include "ops/ops_users.h"
#include "panel/api.h"

#define MAX_SEGS 8

typedef struct rq {
        panel *p;
        const cx_http_request *req;
        cx_http_reply *reply;
        const char *method;
        char pathbuf[512];
        char *seg[MAX_SEGS];
        int n_seg;
        cx_db *db;     /**< from the pool (rq_db), given back when answered */
        ops_ctx ops;   /**< the panel's, with db */
        char addr[64]; /**< the client's address (sign-in limits) */
        ops_user user;
        char csrf[OPS_TOKEN_LEN + 1];
        char token[OPS_TOKEN_LEN + 1];
        int n_headers;
} rq;

/** @brief Take a database connection for this request; false after replying 503 when none. */
bool rq_db(rq *q);

/** @brief Give the request's connection back (panel_route does it when answered). */
void rq_db_release(rq *q);

/**
 * @brief Pass the sign-in throttle (per client address and global) and take a hash slot,
 *        before any password is hashed; false after replying 429. Pair with rq_hash_end().
 */
bool rq_hash_begin(rq *q);
void rq_hash_end(rq *q);

/** @brief rq_hash_begin(), then rq_db(); false after replying (no slot is kept then). */
bool rq_hash_and_db(rq *q);

/** @brief The session cookie's name (__Host- only with Secure cookies). */
const char *rq_cookie_name(const panel *p);

/** @brief Add a response header (printf-style); extra ones beyond the reply's room are dropped. */
void rq_add_header(rq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** @brief The headers every response carries: CSP, nosniff, no framing, no referrer, no-store. */
void rq_security_headers(rq *q);

/** @brief Reply @p status with @p j (stolen; NULL is a 500). */
void rq_reply_json(rq *q, int status, json_t *j);

/** @brief Reply @p status with {"error": message}. */
void rq_reply_error(rq *q, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** @brief Reply with the status for an operation's @p err; internal details stay in the log. */
void rq_reply_err(rq *q, const cx_err *err);

/**
 * @brief Whether the page the server renders speaks English: the first of nl and en in
 *        Accept-Language; Dutch when it names neither.
 */
bool rq_lang_en(const rq *q);

/**
 * @brief Reply @p status with a small HTML page (in rq_lang_en()'s language) (escaped @p title and @p msg; @p next: link
 *        target, or NULL).
 */
void rq_reply_html(rq *q, int status, const char *title, const char *msg, const char *next);

/** @brief Log a change (panel.change) with the user, role, tenant and action. */
void rq_audit(rq *q, const char *tenant, const char *action, const char *detail);

/** @brief The value of cookie @p name in the Cookie header, copied into @p out. */
bool rq_cookie(const rq *q, const char *name, char *out, size_t size);

/** @brief The JSON object in the request body, or NULL after replying why not. */
json_t *rq_body_object(rq *q);

/** @brief Whether the signed-in user is an operator. */
bool rq_is_operator(const rq *q);

/** @brief Whether the signed-in user may see @p tenant; replies 403 when not. */
bool rq_may_see(rq *q, const char *tenant);

/** @brief A positive integer id from @p s (at most 18 digits). */
bool rq_parse_id(const char *s, long long *out);

/** @brief Query parameter @p name, or NULL when missing or empty. */
const char *rq_query(rq *q, const char *name);

#endif
