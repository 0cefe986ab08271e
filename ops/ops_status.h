/* ops_status: what an operator asks first about a tenant: is it extracting, how far behind,
 * what got through each stage, what failed and why, how much of the Exact budget is spent,
 * and whether its token works. Read only. */
#ifndef OPS_STATUS_H
#define OPS_STATUS_H

#include <jansson.h>

#include "ops/ops.h"

/**
 * @brief Status of @p tenant, or of every tenant when @p tenant is NULL, with at most
 *        @p n_failures latest failures each. Per tenant: enabled, extraction (last run, cursors,
 *        lag_seconds, lease owner), counts (extracted, transformed, loaded, failed,
 *        dead_letters_open), failures [{at, stage, source_id, message}], budget (daily limit,
 *        used today, remaining, parked), token (state, reason, expires_at).
 * @returns a new object (one tenant) or array (all), or NULL (CX_ERR_NOT_FOUND).
 */
json_t *ops_status(ops_ctx *ctx, const char *tenant, int n_failures, cx_err *err);

#endif
