/* ratelimit: the API budget of one Exact division, kept in step with the X-RateLimit-*
 * headers of every response.
 *
 * Exact counts calls per app per division in a minute window and a day window, both fixed
 * and reset at the instant the headers give (epoch milliseconds). The loader sends one call
 * at a time per division, so "remaining" minus the calls sent since the last response is
 * exact, and a call is only started when the budget has room: no 429 in steady state. */
#ifndef EXACT_RATELIMIT_H
#define EXACT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct exact_budget {
        bool known; /**< headers seen at least once */
        long min_limit;
        long min_remaining;
        int64_t min_reset_ms; /**< epoch ms when the minute window resets */
        long day_limit;
        long day_remaining;
        int64_t day_reset_ms;
        long calls;           /**< calls started through this budget */
        long rate_limited;    /**< 429s received */
        int64_t persisted_ms; /**< when it was last written to exact_budget */
} exact_budget;

typedef enum exact_budget_verdict {
        EXACT_BUDGET_GO,          /**< the call may start now */
        EXACT_BUDGET_WAIT_MINUTE, /**< minute budget spent: wait until *until_ms */
        EXACT_BUDGET_WAIT_DAY,    /**< daily budget spent: park until *until_ms */
} exact_budget_verdict;

/** @brief Wall-clock time in epoch milliseconds. */
int64_t exact_now_ms(void);

/**
 * @brief May a call start at @p now_ms? Windows whose reset time (plus @p skew_ms, for
 *        clock differences) has passed are refilled to their limit first.
 * @returns EXACT_BUDGET_GO, or the kind of wait with its end in @p until_ms.
 */
exact_budget_verdict exact_budget_check(exact_budget *b, int64_t now_ms, int64_t skew_ms,
                                        int64_t *until_ms);

/** @brief Count a call that is being started (before its response arrives). */
void exact_budget_note_call(exact_budget *b);

/**
 * @brief Take the values of the X-RateLimit-* headers (NULL when absent) of a response.
 *        A 429 carries only the headers of the window that was hit; the other is kept.
 * @returns true when any header was understood.
 */
bool exact_budget_update(exact_budget *b, const char *day_limit, const char *day_remaining,
                         const char *day_reset, const char *min_limit, const char *min_remaining,
                         const char *min_reset);

#endif
