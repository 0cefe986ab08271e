/* http_client.h: an HTTP client on libcurl with timeouts, TLS verification on, bounded
 * bodies, and the response headers kept for the caller (rate-limit headers, signatures).
 *
 * One client holds one curl handle and reuses its connections for GETs; every other method
 * goes on a new connection closed after it (libcurl resends a request on a reused connection
 * that died unanswered, which must not happen to a POST). A client is used by one thread at
 * a time. */
#ifndef CX_HTTP_CLIENT_H
#define CX_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CX_HTTP_MAX_RESPONSE (16 * 1024 * 1024)

typedef struct cx_http_client cx_http_client;

/* What the client sends. (An incoming request of http_server.h is a cx_http_request.) */
typedef struct cx_http_client_request {
        const char *method; /**< "GET", "POST", "PUT", "DELETE" */
        const char *url;
        const char *const *headers; /**< NULL-terminated "Name: value" list, or NULL */
        const char *body;           /**< NULL for none */
        size_t body_len;
        long timeout_ms; /**< whole request; 0 means the client default */
} cx_http_client_request;

typedef struct cx_http_response {
        long status; /**< 0 when no response arrived */
        char *body;  /**< NUL-terminated, malloc'd */
        size_t body_len;
        char **header_names; /**< lower-cased */
        char **header_values;
        size_t n_headers;
        /** true when the request may have reached the server although no complete answer
         *  came back (timeout or dropped connection after sending): the caller must look
         *  before it repeats a write. */
        bool ambiguous;
} cx_http_response;

/** @brief A new client. @p insecure disables TLS verification (only for tests; logged). */
cx_http_client *cx_http_client_new(long default_timeout_ms, bool insecure);
void cx_http_client_free(cx_http_client *c);

/**
 * @brief Perform @p req. A completed exchange returns 0 whatever the status code;
 *        transport failures return -1 with a retriable CX_ERR_HTTP and resp->ambiguous set
 *        when the request may have been delivered.
 */
int cx_http_do(cx_http_client *c, const cx_http_client_request *req, cx_http_response *resp,
               cx_err *err);

/** @brief Case-insensitive response header lookup, or NULL. */
const char *cx_http_header(const cx_http_response *resp, const char *name);

void cx_http_response_free(cx_http_response *resp);

/** @brief Percent-encode @p s for a query string or form body. @returns malloc'd text. */
char *cx_http_escape(const char *s);

/** @brief Global libcurl set-up/tear-down; call once in main(). */
void cx_http_global_init(void);
void cx_http_global_cleanup(void);

#endif
