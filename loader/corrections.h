/* corrections: what happens to an order in Exact after it was booked (docs/loader.md "After
 * booking"): a command for a booked order that is cancelled, refunded or edited in the shop.
 *
 * What a document posted is kept on its ledger row before the POST (corrections_stage):
 * the header and the lines with the command's line_keys, and its shop_revision, so a
 * correction mirrors the original line (VAT code, percentage, price, G/L account) whatever
 * the rules say today. Every correction is a ledger document of its own, exactly once:
 *
 *   - a sales order not yet invoiced or delivered is updated in place (header PUT, lines
 *     through salesorder/SalesOrderLines) or DELETEd (the original row records cancelled);
 *   - an invoice (ours, or the one Exact made of the order) is corrected by credit notes
 *     (kind credit_note, Type 8021, negative quantities): <order>/C cancels what is left,
 *     <order>/R<refund> credits a refund, <order>/E<n> credits the invoice before edit n,
 *     and sales_invoice <order>/V<n> is the new invoice of edit n; `corrects` names the
 *     GUID of the invoice corrected. Processed like the original when the tenant processes
 *     invoices.
 *
 * The policy "log" (command member corrections) only writes "left for a person". */
#ifndef LOADER_CORRECTIONS_H
#define LOADER_CORRECTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "exact/refdata.h"
#include "loader/run.h"

/**
 * @brief Before the POST of the run's document: keep @p body (resolved, as posted) with the
 *        command's line_keys and shop_revision on the ledger row (@p kind, @p key).
 * @returns 0, or -1 with the run's verdict set.
 */
int corrections_stage(run *r, const char *kind, const char *key, const json_t *body, bool invoice);

/**
 * @brief After document_book(): cancel, refund or edit the booked order when the command
 *        says so. Sets @p gone when the sales order no longer exists in Exact (deleted),
 *        clears @p skipped and extends @p summary when it wrote something or left it for a
 *        person.
 * @returns 0 (also when there is nothing to do), or -1 with the run's verdict set.
 */
int corrections_after_booking(run *r, exact_refdata *rd, bool *gone, bool *skipped, char *summary,
                              size_t summary_size);

/**
 * @brief item_upsert with deactivate: the items stop being sales items (PUT IsSalesItem
 *        false); an item is never deleted, nor created only to be deactivated. A product
 *        known from an earlier item_upsert (ledger kind `product`, keyed by the command's
 *        source_id, the CCV product id) deactivates the item it was booked as, whatever code
 *        the command derived (a deleted product arrives as its id only: `P<id>`).
 * @returns 0, or -1 with the run's verdict set.
 */
int corrections_deactivate_items(run *r, exact_refdata *rd, char *summary, size_t summary_size);

/**
 * @brief Keep which item the product of an item_upsert (its source_id) is: @p code, @p guid.
 * @returns 0, or -1 with the run's verdict set.
 */
int corrections_note_product(run *r, const char *code, const char *guid);

#endif
