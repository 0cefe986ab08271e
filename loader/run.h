/* run: one command on its way through the loader, and its calls to Exact.
 *
 * Every step of a command (reference data, entities, the document) works on a run: the
 * command, its tenant's division and budget, and the verdict so far. A step that cannot go
 * on sets the verdict (wait until a time, retry with back-off, or fail for good) and returns
 * -1; command_run() acts on it. Calls go through run_api(): the endpoint guard, the budget,
 * the token and the metrics, so no step calls Exact any other way. */
#ifndef LOADER_RUN_H
#define LOADER_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "exact/api.h"
#include "exact/ratelimit.h"
#include "loader/command.h"
#include "loader/scheduler.h"

enum run_step {
        RUN_OK,
        RUN_WAIT,  /**< come back at `until`, not a failure */
        RUN_RETRY, /**< transient failure: back off, count the attempt */
        RUN_FAIL,  /**< dead-letter with `reason` */
};

typedef struct run {
        worker *w;
        job *j;
        json_t *cmd;
        const char *tenant;
        const char *kind;
        const char *source_id;
        const char *trace;
        long division;
        char base[256];
        exact_budget *budget;
        long long fence;      /**< the tenant's fencing token taken with its lock */
        unsigned long db_gen; /**< cx_db_generation() when the lock was taken */
        enum run_step st;
        int64_t until;
        char reason[640];
        int calls;
} run;

/** @brief Set the verdict @p st (with @p until for RUN_WAIT) and its reason. */
void run_set(run *r, enum run_step st, int64_t until, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/**
 * @brief The verdict for a failure reported in @p e: retry when it may pass, fail otherwise;
 *        nothing when e->code is CX_OK (the run's own call has set the verdict). @returns -1.
 */
int run_fail_with(run *r, const cx_err *e);

/**
 * @brief Make one call through the tenant's guard, budget and token. @p key is appended to
 *        the endpoint ("(guid'…')") but not part of its name in metrics and the guard.
 * @returns 0 when @p res holds an answer the caller must judge (OK, client error, server
 *          error, network, bad body), or -1 when the run has to stop here (verdict set).
 */
int run_api(run *r, const char *method, const char *ep, const char *key, const char *query,
            const json_t *body, exact_result *res);

/**
 * @brief GET the rows of @p ep that match the OData @p filter (one page: callers filter
 *        narrowly), with @p select. @p what names the read in a failure.
 * @returns 0 with @p rows (a new reference, an array, maybe empty), or -1 with the verdict set.
 */
int run_get_rows(run *r, const char *ep, const char *filter, const char *select, const char *what,
                 json_t **rows);

/** @brief A reader for exact/ look-ups that sends its GETs through run_api(). */
exact_reader run_reader(run *r);

/** @brief Whether the tenant lock is still held (no reconnect since it was taken). */
bool run_holds_lock(const run *r);

/**
 * @brief A write framed by the ledger: record the intent for (@p kind, @p key), with @p ref
 *        to find it again and the @p hash of what is written, send @p method to @p ep
 *        (+ @p keypath, may be NULL) and judge the answer. Nothing is written once the
 *        tenant lock is lost or another loader holds the tenant's fencing token.
 * @returns 0 with the answer in @p res (release it), or -1 with the verdict set and the
 *          ledger updated: failed, intent cleared (certainly not sent), or left in doubt.
 */
int run_write(run *r, const char *kind, const char *key, const char *ref, const char *hash,
              const char *method, const char *ep, const char *keypath, const json_t *body,
              const char *what, exact_result *res);

/** @brief The ledger could not be read or written: retry. @returns -1. */
int run_ledger_error(run *r, const cx_err *e);

/**
 * @brief A write of a ledger row in doubt may have been on its way until @p intent_ms
 *        (ledger_row.intent_ms): wait the grace period after that before it may be looked up,
 *        so that Exact can no longer commit it once the look-up runs. @returns true (verdict
 *        RUN_WAIT) while it lasts.
 */
bool run_doubt_wait(run *r, int64_t intent_ms);

/** @brief Store the budget (and a parking) in exact_budget and the gauges. */
void run_save_budget(run *r, int64_t parked_until, const char *why);

#endif
