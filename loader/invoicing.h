/* invoicing: what follows a booked document when the tenant's rules ask for it (command
 * member "invoicing"): a sales order invoiced on Exact's side (salesinvoice/InvoiceSalesOrders,
 * ledger kind order_invoice, the invoice found by its lines' SalesOrder), and a sales invoice
 * processed through salesinvoice/PrintedSalesInvoices, dated on the order's day, optionally
 * e-mailed by Exact.
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
 * @brief After document_book(): invoice the order and/or process the invoice when asked.
 *        Clears @p skipped and extends @p summary when it wrote something.
 * @returns 0 (also when there is nothing to do), or -1 with the run's verdict set.
 */
int invoicing_after_booking(run *r, bool *skipped, char *summary, size_t summary_size);

/**
 * @brief Process the correction document @p guid (ledger key @p key, e.g. "1/R5") like the
 *        original when the command's invoicing member asks for processing; exactly once,
 *        dated @p date ("YYYY-MM-DDT00:00:00"; NULL: the invoicing member's invoice_date).
 * @returns 1 when it was processed now, 0 (nothing to do or done before), or -1 with the
 *          run's verdict set.
 */
int invoicing_process(run *r, const char *key, const char *guid, long long number, const char *date,
                      char *summary, size_t summary_size);

#endif
