/* throttle: how many password checks the panel starts, decided before any hashing. Token
 * buckets per client address and for the whole process refuse a flood of sign-ins early
 * (HTTP 429), and a few hash slots bound the Argon2id checks (64 MiB each) running at once.
 * In memory: each replica counts for itself. */
#ifndef PANEL_THROTTLE_H
#define PANEL_THROTTLE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

#define THROTTLE_SLOTS 4096

typedef struct throttle_bucket {
        char addr[48];
        double tokens;
        double at; /* monotonic seconds of the last refill */
} throttle_bucket;

typedef struct throttle {
        pthread_mutex_t lock;
        double addr_rate, addr_burst;     /* per address: tokens per second, bucket size */
        double global_rate, global_burst; /* the whole process */
        throttle_bucket global;
        throttle_bucket *slots; /* THROTTLE_SLOTS */
        sem_t hash_slots;
} throttle;

int throttle_init(throttle *t, long per_addr_per_min, long global_per_s, int hash_slots);
void throttle_free(throttle *t);

/**
 * @brief Take one attempt for client @p addr from its bucket and the global one.
 * @returns true when allowed; false with @p retry_after_s when either bucket is empty.
 */
bool throttle_take(throttle *t, const char *addr, long *retry_after_s);

/** @brief Wait up to @p wait_ms for a hash slot; false when none came free. */
bool throttle_hash_begin(throttle *t, long wait_ms);
void throttle_hash_end(throttle *t);

#endif
