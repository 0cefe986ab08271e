/* ops_replay: replaying a time range after a failure. Either a consumer group re-reads a
 * topic from a timestamp (its committed offsets are moved back), or a tenant is extracted
 * again from a date (the extractor's cursors are moved back). The loader's ledger makes both
 * safe: a replayed command finds its document and creates nothing twice. */
#ifndef OPS_REPLAY_H
#define OPS_REPLAY_H

#include <jansson.h>
#include <stdbool.h>

#include "ops/ops.h"

/**
 * @brief Move consumer group @p group's committed offsets on @p topic (the full name, prefix
 *        included) to the first message at or after @p ts_ms (epoch ms) in every partition
 *        (the end when there is none). Refused while the group has members: a running
 *        consumer would overwrite the offsets with its own commits. The commit comes from a
 *        consumer that assign()s the partitions and never joins the group. With @p dry_run
 *        only the plan is returned.
 * @returns {"group","topic","dry_run","partitions":[{"partition","committed","new"}]}, or
 *          NULL: CX_ERR_INVALID (group active), CX_ERR_NOT_FOUND (no such topic),
 *          CX_ERR_KAFKA, CX_ERR_CONFIG (no brokers configured).
 */
json_t *ops_replay_offsets(ops_ctx *ctx, const char *group, const char *topic, long long ts_ms,
                           bool dry_run, cx_err *err);

/**
 * @brief Extract @p tenant again from @p from (see ops_parse_time()): in one transaction
 *        the orders and products cursors are set to that time, the content hashes of its
 *        orders and products are forgotten (so unchanged ones are published again) and its
 *        extractor lease is released, so the extractor that takes it next reads the new
 *        cursors.
 * @returns {"tenant","from","hashes_cleared","note"?}, or NULL (CX_ERR_NOT_FOUND,
 *          CX_ERR_PARSE).
 */
json_t *ops_replay_extract(ops_ctx *ctx, const char *tenant, const char *from, cx_err *err);

#endif
