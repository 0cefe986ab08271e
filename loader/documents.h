/* documents: sales orders and sales invoices, posted with their lines in one call, exactly
 * once through the ledger.
 *
 * A document already booked is skipped. Its account and items are made to exist first
 * (entities.h); the codes of the lines are resolved to GUIDs. A document is looked up in
 * Exact (by YourRef) only after a write in doubt, so the steady state is one POST. */
#ifndef LOADER_DOCUMENTS_H
#define LOADER_DOCUMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "exact/refdata.h"
#include "loader/run.h"

/**
 * @brief Book the run's sales_order or sales_invoice command. Sets @p skipped when it was
 *        booked already, and a line for the sync log in @p summary.
 * @returns 0, or -1 with the run's verdict set.
 */
int document_book(run *r, exact_refdata *rd, bool *skipped, char *summary, size_t summary_size);

/**
 * @brief The command's body as it would be posted, as a sales invoice (@p invoice) or order:
 *        its account and items made to exist, codes resolved to GUIDs (corrections.h posts
 *        it again as a new invoice after an edit). @returns a new reference, or NULL with the
 *        run's verdict set.
 */
json_t *document_resolved_body(run *r, exact_refdata *rd, bool invoice, const json_t *src);

#endif
