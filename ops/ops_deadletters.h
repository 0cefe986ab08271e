/* ops_deadletters: records no stage could use (dead_letters, see common/journal.h): list,
 * show, redrive (publish the stored payload to its source topic again, through an
 * idempotent producer) and drop with a reason. Only open dead letters can be redriven or
 * dropped; each change is one transaction that also writes the tenant's sync log. */
#ifndef OPS_DEADLETTERS_H
#define OPS_DEADLETTERS_H

#include <jansson.h>

#include "common/kafka.h"
#include "ops/ops.h"

/**
 * @brief Dead letters, newest first. @p tenant and @p state ("open", "redriven", "dropped",
 *        or NULL for any) filter; at most @p limit rows. Payloads are left out.
 * @returns a new array, or NULL (CX_ERR_PARSE for an unknown state).
 */
json_t *ops_deadletter_list(ops_ctx *ctx, const char *tenant, const char *state, int limit,
                            cx_err *err);

/** @brief One dead letter with its payload. @returns a new object or NULL (CX_ERR_NOT_FOUND). */
json_t *ops_deadletter_show(ops_ctx *ctx, long long id, cx_err *err);

/**
 * @brief Publish dead letter @p id's payload to its source topic, keyed by its tenant, wait
 *        for the broker's acknowledgement, then mark it redriven. The row stays locked from
 *        the check to the mark, so two operators cannot redrive it twice.
 * @param producer an idempotent producer (cx_producer_new without a transactional id).
 * @returns 0, or -1: CX_ERR_NOT_FOUND, CX_ERR_INVALID when it is not open (already redriven
 *          or dropped) or names no topic, CX_ERR_KAFKA when the publish failed (nothing marked).
 */
int ops_deadletter_redrive(ops_ctx *ctx, cx_producer *producer, long long id, cx_err *err);

/**
 * @brief Mark open dead letter @p id dropped with @p reason (non-empty).
 * @returns 0, or -1: CX_ERR_NOT_FOUND, CX_ERR_INVALID when it is not open, CX_ERR_PARSE for an
 *          empty reason.
 */
int ops_deadletter_drop(ops_ctx *ctx, long long id, const char *reason, cx_err *err);

/** @brief Ids of the open dead letters of @p tenant, oldest first (new array) or NULL. */
json_t *ops_deadletter_open_ids(ops_ctx *ctx, const char *tenant, cx_err *err);

#endif
