/* ratelimit: see ratelimit.h. */
#include "exact/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int64_t exact_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

exact_budget_verdict exact_budget_check(exact_budget *b, int64_t now_ms, int64_t skew_ms,
                                        int64_t *until_ms)
{
        if (!b->known)
                return EXACT_BUDGET_GO; /* the first call tells us the limits */
        if (b->day_reset_ms > 0 && now_ms >= b->day_reset_ms + skew_ms) {
                b->day_remaining = b->day_limit;
                b->day_reset_ms = 0; /* unknown until the next response */
        }
        if (b->min_reset_ms > 0 && now_ms >= b->min_reset_ms + skew_ms) {
                b->min_remaining = b->min_limit;
                b->min_reset_ms = 0;
        }
        if (b->day_limit > 0 && b->day_remaining <= 0) {
                *until_ms = b->day_reset_ms > 0 ? b->day_reset_ms + skew_ms : now_ms + 60000;
                return EXACT_BUDGET_WAIT_DAY;
        }
        if (b->min_limit > 0 && b->min_remaining <= 0) {
                *until_ms = b->min_reset_ms > 0 ? b->min_reset_ms + skew_ms : now_ms + 1000;
                return EXACT_BUDGET_WAIT_MINUTE;
        }
        return EXACT_BUDGET_GO;
}

void exact_budget_note_call(exact_budget *b)
{
        b->calls++;
        if (b->known) {
                if (b->min_remaining > 0)
                        b->min_remaining--;
                if (b->day_remaining > 0)
                        b->day_remaining--;
        }
}

static bool parse_ll(const char *s, long long *out)
{
        char *end;
        long long v;

        if (!s)
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || v < 0)
                return false;
        *out = v;
        return true;
}

bool exact_budget_update(exact_budget *b, const char *day_limit, const char *day_remaining,
                         const char *day_reset, const char *min_limit, const char *min_remaining,
                         const char *min_reset)
{
        long long dl, dr, dz, ml, mr, mz;
        bool any = false;

        if (parse_ll(day_limit, &dl) && parse_ll(day_remaining, &dr)) {
                b->day_limit = (long)dl;
                b->day_remaining = (long)dr;
                b->day_reset_ms = parse_ll(day_reset, &dz) ? dz : 0;
                any = true;
        }
        if (parse_ll(min_limit, &ml) && parse_ll(min_remaining, &mr)) {
                b->min_limit = (long)ml;
                b->min_remaining = (long)mr;
                b->min_reset_ms = parse_ll(min_reset, &mz) ? mz : 0;
                any = true;
        }
        if (any)
                b->known = true;
        return any;
}
