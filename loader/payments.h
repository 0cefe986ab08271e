/* payments: a paid order's payment booked in Exact so that its invoice's receivable is
 * settled (issue 13 item 4; docs/research/exact-payments.md §3).
 *
 * For a command with a `payment` member, once the order's invoice is processed (Status 50;
 * for a sales order: once Exact invoiced it), the payment is posted as a general journal
 * entry on the payment method's journal: a debtor line (the receivable's Account and debtors
 * G/L account, OurRef = InvoiceNumber, the gross as a credit) and a line on the method's
 * clearing account. Exactly once: ledger kind `payment` keyed by the order (intent before,
 * done after; after a write in doubt the entry is looked up by OurRef and Account first).
 * Then ReceivablesListByAccount tells whether an open item remains: the REST API cannot match,
 * so an unmatched payment is reported in the sync log and never posted again. A refund paid
 * back (`refunds[i].paid`) is booked the same way against its credit note (ledger kind
 * `credit_note`, key `<order>/R<refund id>`), the other way round. After an edit of the
 * invoice (credit note `<order>/E<k>` + new invoice `<order>/V<k>`) the original is paid what
 * it says, and one entry per edit (ledger `payment` key `<order>/V<k>`) sets the credit note
 * against the new invoice, the difference on the clearing account. */
#ifndef LOADER_PAYMENTS_H
#define LOADER_PAYMENTS_H

#include "exact/refdata.h"
#include "loader/run.h"

/**
 * @brief After the document and its invoicing: book the order's payment and its refunds'
 *        repayments. Writes one sync-log line per payment saying what happened.
 * @returns 0 (also when there is nothing to book yet), or -1 with the run's verdict set.
 */
int payments_after_booking(run *r, exact_refdata *rd);

#endif
