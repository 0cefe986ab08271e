/* amounts: after a document is created, what Exact booked compared with what the shop
 * charged.
 *
 * Exact computes the amounts itself (per line, from the quantities, prices and its VAT
 * codes). The command's `totals` (net, vat, gross: what the shop charged) must be what
 * Exact booked (AmountFCExclVat, the VAT: VATAmountFC on invoices, AmountFC − AmountFCExclVat
 * on orders, and AmountFC), to the cent. A difference is a loud failure that names both
 * figures: the document stays in Exact and in the ledger (it is never posted again), the
 * command is dead-lettered for a person to correct the document in Exact, and
 * cx_loader_amount_mismatches_total counts it. */
#ifndef LOADER_AMOUNTS_H
#define LOADER_AMOUNTS_H

#include <stdbool.h>

#include <jansson.h>

#include "loader/run.h"

/**
 * @brief Compare the booked amounts of the created document @p guid (@p number) at @p ep
 *        with the command's totals. @p answer is the POST's answer, or NULL; when it lacks
 *        the amounts the document is read back by its key.
 * @returns 0 when they agree, or -1 with the verdict RUN_FAIL (a difference, or amounts
 *          that could not be read back) and the reason naming both figures.
 */
int amounts_check(run *r, bool invoice, const char *ep, const char *guid, long long number,
                  const json_t *answer);

#endif
