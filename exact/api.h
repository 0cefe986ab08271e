/* api: one request to the Exact Online REST API and what its answer means.
 *
 * This layer builds the URL ({base}/api/v1/{division}/{endpoint}), sends the headers Exact
 * expects, reads the rate-limit headers into the division's budget and sorts the answer
 * into outcomes the loader acts on. Budget checks, tokens and retries live above it. */
#ifndef EXACT_API_H
#define EXACT_API_H

#include <jansson.h>
#include <stdbool.h>

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
        const char *base_url;     /**< e.g. https://start.exactonline.nl */
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

/** @brief Account codes are right-aligned in 18 characters in Exact. */
void exact_pad_account_code(const char *code, char out[32]);

#endif
