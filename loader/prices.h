/* prices: an item's usual sales price in Exact, written where Exact documents it.
 *
 * `StandardSalesPrice` on logistics/Items is read-only (research note
 * exact-items-prices-currency-dates.md §1); the price lives in logistics/SalesItemPrices,
 * where a row without Account is the usual sales price. The loader finds that row (Exact
 * makes one of 0 with a new item), PUTs its Price when it differs, and POSTs a row only when
 * there is none. Ledger kind `item_price`, key the item code, GUID the row's ID, content
 * hash over item, price and currency: an unchanged price costs no call. */
#ifndef LOADER_PRICES_H
#define LOADER_PRICES_H

#include "loader/run.h"

/**
 * @brief Make the usual sales price (EUR, excl. VAT) of item @p code (@p item_guid) be
 *        @p price. @returns 0, or -1 with the run's verdict set.
 */
int price_ensure(run *r, const char *code, const char *item_guid, double price);

#endif
