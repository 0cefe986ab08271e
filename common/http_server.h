/* http_server.h: the HTTP listeners every daemon runs (libmicrohttpd).
 *
 * The main listener serves /healthz (alive: 200 while the process runs) and /readyz (200
 * only when the program's readiness check passes); programs add their own routes (the
 * extractor's webhooks, the control panel) by path prefix, so it may face the internet.
 * /metrics (Prometheus text) is served only by a listener of its own (cx_http_metrics_start),
 * on the loopback interface unless configured otherwise: counters name tenants. Bodies are
 * capped. */
#ifndef CX_HTTP_SERVER_H
#define CX_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CX_HTTP_MAX_BODY (1024 * 1024)

typedef struct cx_http_server cx_http_server;
typedef struct cx_http_request cx_http_request;

typedef struct cx_http_reply {
        int status;
        const char *content_type; /**< static string; default application/json */
        char *body;               /**< malloc'd, freed by the server */
        size_t len;
        char *extra_headers[8]; /**< malloc'd "Name: value" strings, freed by the server */
} cx_http_reply;

/** @brief Route handler. Runs on a libmicrohttpd thread: it must lock what it shares. */
typedef void (*cx_http_handler)(void *ud, const cx_http_request *req, cx_http_reply *reply);

/** @brief Readiness check for /readyz; @p why receives a short reason when not ready. */
typedef bool (*cx_ready_fn)(void *ud, char *why, size_t why_size);

/**
 * @brief Start listening on @p addr:@p port (port 0 picks a free one; see cx_http_server_port).
 * @returns the server, or NULL with @p err (address in use, bad address).
 */
cx_http_server *cx_http_server_start(const char *addr, int port, cx_ready_fn ready, void *ready_ud,
                                     cx_err *err);

/**
 * @brief cx_http_server_start() with a thread for each connection (at most @p max_conns at
 *        once, 0: 64), for handlers that may block: a slow one holds up only its own client.
 *        Handlers then run concurrently and must not share what is not thread-safe.
 */
cx_http_server *cx_http_server_start_threaded(const char *addr, int port, unsigned max_conns,
                                              cx_ready_fn ready, void *ready_ud, cx_err *err);

/** @brief Start the internal listener, which serves /metrics and nothing else (404). */
cx_http_server *cx_http_metrics_start(const char *addr, int port, cx_err *err);

/** @brief Add a route for @p method ("GET", "POST" or NULL for any) and a path prefix. */
int cx_http_server_route(cx_http_server *srv, const char *method, const char *prefix,
                         cx_http_handler fn, void *ud);

/** @brief The port actually bound. */
int cx_http_server_port(const cx_http_server *srv);

void cx_http_server_stop(cx_http_server *srv);

/* Request accessors, valid only inside a handler. */
const char *cx_http_request_method(const cx_http_request *req);
const char *cx_http_request_path(const cx_http_request *req);
const char *cx_http_request_header(const cx_http_request *req, const char *name);
const char *cx_http_request_query(const cx_http_request *req, const char *name);
/** @brief The client's address as text in @p out ("unknown" when the socket has none). */
const char *cx_http_request_peer(const cx_http_request *req, char *out, size_t size);
const char *cx_http_request_body(const cx_http_request *req, size_t *len);

/** @brief Fill @p reply with a status and a copy of @p body. */
void cx_http_reply_set(cx_http_reply *reply, int status, const char *content_type,
                       const char *body);

#endif
