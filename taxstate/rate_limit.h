/* rate_limit: token buckets for the VIES calls of one process, one per member state and one
 * for all of them. VIES publishes no numeric limit (docs/research/vies.md §5): the defaults
 * keep well below what its concurrency errors showed. */
#ifndef TAXSTATE_RATE_LIMIT_H
#define TAXSTATE_RATE_LIMIT_H

#include <stdbool.h>

#define VIES_LIMIT_STATES 40

typedef struct token_bucket {
        double tokens, capacity, per_ms; /* refill rate */
        long long last_ms;
} token_bucket;

typedef struct vies_limiter {
        token_bucket global;
        char cc[VIES_LIMIT_STATES][3];
        token_bucket state[VIES_LIMIT_STATES];
        int n;
        double state_per_min;
} vies_limiter;

/* @p per_state and @p global calls per minute; each bucket holds one minute's calls at most
 * a fifth of it, and at least one (a burst). */
void vies_limiter_init(vies_limiter *l, double per_state, double global);

/* Takes a token for member state @p cc, waiting up to @p max_wait_ms for one. false when none
 * came in time (the call counts as "could not ask": RATE_LIMITED). */
bool vies_limiter_take(vies_limiter *l, const char *cc, long max_wait_ms);

#endif
