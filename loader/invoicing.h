/* invoicing: what follows a booked sales invoice when the tenant's rules ask for it
 * (command member "invoicing"): processing it through salesinvoice/PrintedSalesInvoices, dated
 * on the order's day, optionally e-mailed by Exact.
 *
 * Processing is a second write after the invoice's POST, framed by its own ledger row (kind
 * invoice_print, keyed by the shop order): done once it happened; after a write in doubt, a
 * refusal or a crash the invoice's Status is read first (50 = processed), so a retry never
 * prints twice and never leaves the invoice open. */
#ifndef LOADER_INVOICING_H
#define LOADER_INVOICING_H

#include <stdbool.h>
#include <stddef.h>

#include "loader/run.h"

/**
 * @brief After document_book(): process the run's sales invoice when its command asks for it.
 *        Clears @p skipped and extends @p summary when it wrote something.
 * @returns 0 (also when there is nothing to do), or -1 with the run's verdict set.
 */
int invoicing_after_booking(run *r, bool *skipped, char *summary, size_t summary_size);

#endif
