/* vies_service: the one way the connector gets a VIES answer: the PostgreSQL cache first,
 * then (daemon only) VIES itself within the rate limits, the answer cached for the next
 * order. The daemon and the panel's order preview share it, so they see the same answers
 * (the preview never calls VIES: client NULL). */
#ifndef TAXSTATE_VIES_SERVICE_H
#define TAXSTATE_VIES_SERVICE_H

#include "booking/vies_policy.h"
#include "common/db.h"
#include "taxstate/rate_limit.h"
#include "taxstate/vies_client.h"

/* How long answers stay in the cache (seconds). A valid answer is kept a day: the rule asks
 * for a number valid on the day of supply; an invalid one an hour, so that a customer who
 * just registered is not refused for long. "Could not ask" is never kept. */
#define VIES_CACHE_VALID_S 86400
#define VIES_CACHE_INVALID_S 3600

typedef struct vies_service {
        cx_db *db;
        vies_client *client; /* NULL: cache only */
        vies_limiter limiter;
        long valid_ttl_s, invalid_ttl_s;
        long limit_wait_ms;    /* longest wait for a rate-limit token */
        long long calls, hits; /* VIES calls made, cache hits (metrics, tests) */
} vies_service;

/* A vies_lookup_fn over a vies_service: 0 with *out (NOT_CHECKED for the preview when nothing
 * is cached), -1 on a database error. */
int vies_service_lookup(void *service, const rules *r, const char *vat_number, vies_answer *out);

#endif
