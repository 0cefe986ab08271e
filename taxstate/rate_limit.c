/* rate_limit: see rate_limit.h. */
#include "taxstate/rate_limit.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bucket_init(token_bucket *b, double per_min)
{
        b->capacity = per_min / 5 >= 1 ? per_min / 5 : 1;
        b->tokens = b->capacity;
        b->per_ms = per_min / 60000.0;
        b->last_ms = mono_ms();
}

static void refill(token_bucket *b, long long now)
{
        b->tokens += (double)(now - b->last_ms) * b->per_ms;
        if (b->tokens > b->capacity)
                b->tokens = b->capacity;
        b->last_ms = now;
}

void vies_limiter_init(vies_limiter *l, double per_state, double global)
{
        memset(l, 0, sizeof(*l));
        l->state_per_min = per_state;
        bucket_init(&l->global, global);
}

static token_bucket *state_bucket(vies_limiter *l, const char *cc)
{
        for (int i = 0; i < l->n; i++) {
                if (!strcmp(l->cc[i], cc))
                        return &l->state[i];
        }
        if (l->n == VIES_LIMIT_STATES)
                return &l->state[VIES_LIMIT_STATES - 1];
        memcpy(l->cc[l->n], cc, 2);
        l->cc[l->n][2] = '\0';
        bucket_init(&l->state[l->n], l->state_per_min);
        return &l->state[l->n++];
}

bool vies_limiter_take(vies_limiter *l, const char *cc, long max_wait_ms)
{
        token_bucket *s = state_bucket(l, cc);
        long long deadline = mono_ms() + max_wait_ms;

        for (;;) {
                long long now = mono_ms();
                double need, other;

                refill(s, now);
                refill(&l->global, now);
                if (s->tokens >= 1 && l->global.tokens >= 1) {
                        s->tokens -= 1;
                        l->global.tokens -= 1;
                        return true;
                }
                /* time until both buckets hold a token */
                need = s->tokens >= 1 ? 0 : (1 - s->tokens) / s->per_ms;
                other = l->global.tokens >= 1 ? 0 : (1 - l->global.tokens) / l->global.per_ms;
                need = need > other ? need : other;
                if (now + (long long)need > deadline)
                        return false;
                usleep((useconds_t)(need > 1 ? need : 1) * 1000);
        }
}
