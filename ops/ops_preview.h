/* ops_preview: the booking an order would produce, by the transformer's own dry run
 * (booking/dryrun.h) on the tenant's stored rules or on rules being edited, with the daemon's
 * state from PostgreSQL (taxstate/: the OSS running total, VIES answers from its cache; VIES
 * itself is never called). The order is
 * pasted JSON, or found by its id: first in the tenant's dead letters (the event as it came
 * from the shop), then fetched from the shop with the extractor's signed CCV client. */
#ifndef OPS_PREVIEW_H
#define OPS_PREVIEW_H

#include <jansson.h>

#include "common/error.h"
#include "ops/ops.h"

/**
 * @brief Preview for tenant @p tenant. @p req holds "order" (a CCV order object with
 *        "orderrows") or "order_id" (string or integer), and optionally "rules" (a rules
 *        object to try instead of the stored ones).
 * @returns {"result": <dry-run line>, "order_source": "pasted"|"dead_letter"|"shop",
 *          "rules_version": n|null} (new reference), or NULL: CX_ERR_PARSE for bad input or
 *          invalid rules, CX_ERR_NOT_FOUND when no rules are stored or the order cannot be
 *          found, CX_ERR_HTTP when the shop cannot be asked.
 */
json_t *ops_preview(ops_ctx *ctx, const char *tenant, const json_t *req, cx_err *err);

#endif
