/* retention: the sync log and the resolved dead letters pruned by age (issue 15).
 *
 * The sync log is what happened, for people; past its retention it is deleted. A dead letter
 * is deleted only once resolved (redriven or dropped) and older than its retention counted
 * from its resolution; open ones stay until an operator acts, whatever their age. The ledger
 * is never pruned: it is the memory of what was posted to Exact (docs/runbook.md). Deletes run
 * in batches of CX_RETENTION_BATCH rows, each its own statement, so no lock is held long. Run
 * by the transformer's housekeeping (hourly) and by `connector-admin prune`. */
#ifndef CX_RETENTION_H
#define CX_RETENTION_H

#include <stdbool.h>

#include "common/db.h"
#include "common/error.h"

#define CX_RETENTION_BATCH 5000

typedef struct cx_retention {
        int sync_log_days;    /**< 0: keep the sync log forever */
        int dead_letter_days; /**< 0: keep resolved dead letters forever */
        int max_batches;      /**< per table and call; 0: until done */
        bool dry_run;         /**< count what would go, delete nothing */
} cx_retention;

typedef struct cx_retention_result {
        long long sync_log;     /**< rows deleted (or, dry run, that would be) */
        long long dead_letters; /**< resolved dead letters deleted */
        bool more;              /**< max_batches stopped a table before its end */
        bool busy;              /**< another caller was pruning: nothing done */
} cx_retention_result;

/**
 * @brief Prune per @p r. Only one caller at a time works (a PostgreSQL advisory lock): the
 *        others return 0 with nothing done.
 * @returns 0, or -1 with @p err (a database error; what was deleted before stays deleted).
 */
int cx_retention_prune(cx_db *db, const cx_retention *r, cx_retention_result *out, cx_err *err);

#endif
