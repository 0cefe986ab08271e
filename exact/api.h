/* api: one request to the Exact Online REST API and what its answer means.
 *
 * This layer builds the URL ({base}/api/v1/{division}/{endpoint}), sends the headers Exact
 * expects, reads the rate-limit headers into the division's budget and sorts the answer
 * into outcomes the loader acts on. Budget checks, tokens and retries live above it. */
#ifndef EXACT_API_H
#define EXACT_API_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/http_client.h"
#include "exact/ratelimit.h"

typedef enum exact_outcome {
        EX_OK,           /**< 2xx with a usable body (or 204) */
        EX_RATE_LIMITED, /**< 429: nothing was done */
        EX_UNAUTHORIZED, /**< 401: token refused */
        EX_CLIENT_ERROR, /**< other 4xx: Exact refused the request; never retry blindly */
        EX_SERVER_ERROR, /**< 5xx: a write may or may not have happened */
        EX_NETWORK,      /**< no complete answer (see ambiguous) */
        EX_BAD_BODY,     /**< 2xx whose body is not the JSON expected (HTML, empty) */
} exact_outcome;

typedef struct exact_result {
        exact_outcome outcome;
        long status;
        bool ambiguous;    /**< a write may have taken effect: look before writing again */
        json_t *d;         /**< the "d" member of a JSON answer (new reference) or NULL */
        char message[512]; /**< Exact's error text, or what went wrong */
} exact_result;

typedef struct exact_conn {
        cx_http_client *http;
        const char *base_url; /**< e.g. https://start.exactonline.nl */
        long division;
        const char *access_token;
        long timeout_ms;
} exact_conn;

/**
 * @brief Send @p method to @p endpoint ("crm/Accounts", "crm/Accounts(guid'..')") with an
 *        optional query string (without '?') and JSON @p body; update @p budget from the
 *        response headers. Always fills @p res (release with exact_result_clear).
 * @returns 0 when an answer of any kind was classified; -1 only on allocation failure.
 */
int exact_call(exact_conn *c, exact_budget *budget, const char *method, const char *endpoint,
               const char *query, const json_t *body, exact_result *res);

void exact_result_clear(exact_result *res);

/** @brief The rows of a collection answer: d.results, or d itself when it is an array. */
json_t *exact_rows(const exact_result *res);

/**
 * @brief A "$filter=FIELD eq 'VALUE'&$select=...&$top=1" query with VALUE quoted for OData
 *        and percent-encoded. @returns malloc'd text or NULL.
 */
char *exact_filter_eq(const char *field, const char *value, const char *select);

/** @brief The same for "FIELD eq guid'GUID'" (an entity's reference to another). */
char *exact_filter_guid(const char *field, const char *guid, const char *select);

/**
 * How a caller sends its reads. The loader's go through its budget, token and endpoint
 * guard; get() answers like exact_call(), or -1 when the caller stopped the call itself
 * (budget spent, token refused...), having recorded why.
 */
typedef struct exact_reader {
        int (*get)(void *ud, const char *endpoint, const char *query, exact_result *res);
        void *ud;
} exact_reader;

/**
 * @brief GET @p endpoint with @p query (an exact_filter_* query; NULL when building it ran
 *        out of memory) and take the first row of the answer.
 * @param row receives that row (new reference), or NULL when nothing matched.
 * @param what names the look-up in the message of a failure.
 * @returns 0, or -1 with @p err: retriable unless Exact refused the request; err->code is
 *          CX_OK when the reader stopped the call (it has recorded why).
 */
int exact_lookup(const exact_reader *rd, const char *endpoint, const char *query, const char *what,
                 json_t **row, cx_err *err);

/** @brief Fill @p err for an answer that is not EX_OK to a read of @p what. @returns -1. */
int exact_read_failed(const exact_result *res, const char *what, cx_err *err);

/** @brief Account codes are right-aligned in 18 characters in Exact. */
void exact_pad_account_code(const char *code, char out[32]);

#endif
