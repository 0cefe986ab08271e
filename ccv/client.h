/* client.h: the CCV Shop REST client: signed requests (ccv/sign.h), verified responses and
 * a per-resource request budget that keeps a tenant under the shop's rate limits.
 *
 * A response with 2xx must carry x-date and x-hash signed like the request (spec 1.4) when
 * the shop is set to verify; a mismatch is an error, never data. Requests and 429 answers
 * are counted per tenant (cx_extractor_requests_total, cx_extractor_throttled_total). */
#ifndef CX_CCV_CLIENT_H
#define CX_CCV_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/http_client.h"

#define CCV_MAX_BUCKETS 12

typedef struct ccv_bucket {
        char key[80];   /* "GET orders" */
        double *stamps; /* ring of the last `limit` request times (monotonic seconds) */
        int n;
        int head;
} ccv_bucket;

typedef struct ccv_shop {
        char tenant[64];
        char base[512]; /* shop_base_url without a trailing slash */
        char public_key[256];
        char *secret;    /* malloc'd, registered with the log redactor */
        int get_limit;   /* GETs per resource per window */
        int write_limit; /* writes per resource per window */
        double window_s;
        bool verify; /* verify response signatures */
        ccv_bucket buckets[CCV_MAX_BUCKETS];
        int n_buckets;
} ccv_shop;

/* Outcome classes a caller acts on, besides the cx_err code. */
typedef enum ccv_status {
        CCV_OK = 0,
        CCV_BUDGET,    /* our own budget is spent: wait *wait_s, not an error */
        CCV_THROTTLED, /* the shop answered 429: back off *wait_s */
        CCV_NOT_FOUND, /* 404 for a single resource */
        CCV_FAILED,    /* transport error, other HTTP status, bad signature, bad JSON */
} ccv_status;

/** @brief Reset the budget (credentials or limits changed). */
void ccv_shop_reset(ccv_shop *s);

/** @brief Free the secret and the budget rings. */
void ccv_shop_clear(ccv_shop *s);

/**
 * @brief Perform a signed request to @p path (relative to /api/rest/v1/, may carry a query)
 *        and parse the JSON answer into @p out (NULL for an empty body).
 * @returns CCV_OK, or another status with @p err saying why and @p wait_s (for CCV_BUDGET
 *          and CCV_THROTTLED) how long to wait before asking this tenant's shop again.
 */
ccv_status ccv_request(ccv_shop *s, cx_http_client *hc, const char *method, const char *path,
                       const char *body, json_t **out, double *wait_s, cx_err *err);

/** @brief Monotonic clock in seconds (the budget's clock). */
double ccv_now(void);

#endif
