/* ops_offboard: retention and offboarding (issue 15): pruning the sync log and the resolved
 * dead letters by age, and deleting a tenant with all its data. */
#ifndef OPS_OFFBOARD_H
#define OPS_OFFBOARD_H

#include <jansson.h>
#include <stdbool.h>

#include "common/retention.h"
#include "ops/ops.h"

/**
 * @brief Delete tenant @p id and every row of every table with a tenant_id column (found in
 *        the schema, so a table added later is covered), its panel users' sessions, and the
 *        tenants row, in one transaction; with @p dry_run the same, rolled back.
 *        The tenant must be disabled first (CX_ERR_INVALID), so that no extractor holds it.
 * @returns {"tenant","dry_run","removed":{table: rows,...},"rows":total,"topics":[...]}:
 *          topics says, per topic, whether Kafka can remove the tenant's records (see
 *          docs/runbook.md, "Offboard a tenant"); NULL with @p err.
 */
json_t *ops_tenant_delete(ops_ctx *ctx, const char *id, bool dry_run, cx_err *err);

/** @brief Prune per @p r (cx_retention_prune, until done). @returns {"sync_log",
 *  "dead_letters","dry_run","sync_log_days","dead_letter_days","busy"}; NULL with @p err. */
json_t *ops_prune(ops_ctx *ctx, const cx_retention *r, cx_err *err);

/**
 * @brief After a restore of PostgreSQL to an earlier point (docs/runbook.md, "Back up and
 *        restore PostgreSQL"): make the documents @p ids (shop order ids, one a line in
 *        @p text) of @p kind (sales_order or sales_invoice) writes in doubt for tenant @p id,
 *        so the loader looks each up in Exact by its YourRef before posting it. Ids the ledger
 *        knows already are left alone. In one transaction.
 * @returns {"tenant","kind","marked","known"}, NULL with @p err (CX_ERR_PARSE for a bad id
 *          or kind, CX_ERR_NOT_FOUND for an unknown tenant).
 */
json_t *ops_ledger_doubt(ops_ctx *ctx, const char *id, const char *kind, const char *text,
                         cx_err *err);

#endif
