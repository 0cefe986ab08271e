/* refcheck: the VAT codes a command names, checked against the division's reference data
 * before anything is written.
 *
 * Every code (account, items, lines) must exist in the division and be usable for sales;
 * a line's code must also agree with the rule that chose it: Exact's percentage equal to
 * the line's VATPercentage, and not of type I (prices including VAT: the lines carry net
 * prices, so Exact would split them again). A failure names the code, where it is used and
 * both figures. */
#ifndef LOADER_REFCHECK_H
#define LOADER_REFCHECK_H

#include "exact/refdata.h"
#include "loader/run.h"

/** @brief Check the run's VAT codes. @returns 0, or -1 with the run's verdict set. */
int refcheck_vat(run *r, exact_refdata *rd);

#endif
