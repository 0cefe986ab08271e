#include "panel/throttle.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int throttle_init(throttle *t, long per_addr_per_min, long global_per_s, int hash_slots)
{
        memset(t, 0, sizeof(*t));
        t->slots = calloc(THROTTLE_SLOTS, sizeof(*t->slots));
        if (!t->slots)
                return -1;
        if (sem_init(&t->hash_slots, 0, (unsigned)hash_slots) < 0) {
                free(t->slots);
                return -1;
        }
        pthread_mutex_init(&t->lock, NULL);
        t->addr_rate = (double)per_addr_per_min / 60.0;
        t->addr_burst = (double)per_addr_per_min;
        t->global_rate = (double)global_per_s;
        t->global_burst = (double)global_per_s;
        t->global.tokens = t->global_burst;
        t->global.at = now_s();
        return 0;
}

void throttle_free(throttle *t)
{
        if (!t->slots)
                return;
        sem_destroy(&t->hash_slots);
        pthread_mutex_destroy(&t->lock);
        free(t->slots);
        t->slots = NULL;
}

static void refill(throttle_bucket *b, double rate, double burst, double now)
{
        b->tokens = fmin(burst, b->tokens + (now - b->at) * rate);
        b->at = now;
}

static unsigned long hash_addr(const char *s)
{
        unsigned long h = 5381;

        while (*s)
                h = h * 33 + (unsigned char)*s++;
        return h;
}

/* The bucket of @p addr: its own, else an empty or refilled (forgettable) one nearby, else
 * the stalest nearby; a forgotten address starts full, which only ever errs towards allowing. */
static throttle_bucket *bucket_of(throttle *t, const char *addr, double now)
{
        unsigned long h = hash_addr(addr);
        throttle_bucket *victim = NULL;
        bool victim_free = false;

        for (int i = 0; i < 8; i++) {
                throttle_bucket *b = &t->slots[(h + (unsigned long)i) % THROTTLE_SLOTS];
                bool free_slot = !b->addr[0] ||
                                 b->tokens + (now - b->at) * t->addr_rate >= t->addr_burst;

                if (!strcmp(b->addr, addr))
                        return b;
                /* a bucket that is full again says nothing any more: it is the one to reuse */
                if (free_slot && !victim_free) {
                        victim = b;
                        victim_free = true;
                } else if (!victim_free && (!victim || b->at < victim->at)) {
                        victim = b;
                }
        }
        snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
        victim->tokens = t->addr_burst;
        victim->at = now;
        return victim;
}

bool throttle_take(throttle *t, const char *addr, long *retry_after_s)
{
        double now = now_s(), wait = 0;
        throttle_bucket *b;
        bool ok;

        pthread_mutex_lock(&t->lock);
        b = bucket_of(t, addr, now);
        refill(b, t->addr_rate, t->addr_burst, now);
        refill(&t->global, t->global_rate, t->global_burst, now);
        ok = b->tokens >= 1.0 && t->global.tokens >= 1.0;
        if (ok) {
                b->tokens -= 1.0;
                t->global.tokens -= 1.0;
        } else {
                if (b->tokens < 1.0)
                        wait = (1.0 - b->tokens) / t->addr_rate;
                if (t->global.tokens < 1.0)
                        wait = fmax(wait, (1.0 - t->global.tokens) / t->global_rate);
        }
        pthread_mutex_unlock(&t->lock);
        *retry_after_s = ok ? 0 : (long)ceil(wait);
        if (!ok && *retry_after_s < 1)
                *retry_after_s = 1;
        return ok;
}

bool throttle_hash_begin(throttle *t, long wait_ms)
{
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        while (sem_timedwait(&t->hash_slots, &until) < 0) {
                if (errno != EINTR)
                        return false;
        }
        return true;
}

void throttle_hash_end(throttle *t)
{
        sem_post(&t->hash_slots);
}
