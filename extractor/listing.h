/* listing.h: the passes over the shop's listings, one page per slice: new orders (from the
 * cursor), the re-read window of orders, changed products (newest first, down to the
 * watermark) and the full scan of users. One walker reads a page, hands each item to the
 * listing's handler and commits; the listings differ only in their path, handler and
 * cursor. */
#ifndef CX_EXTRACTOR_LISTING_H
#define CX_EXTRACTOR_LISTING_H

#include "extractor/batch.h"

/**
 * @brief Handle one order object (a list item or GET /orders/{id}: the same shape): publish
 *        it with its rows when bookable (and its customer), or its cancellation.
 * @returns EX_DONE (also for an order dead-lettered for lack of an id), EX_WAIT or EX_FAIL.
 */
ex_rc ex_order_handle(extractor *x, ex_tenant *t, ex_batch *b, const json_t *order);

/** @brief One page of new orders (@p incremental, pass t->orders) or of the re-read window
 *         (t->reread). */
ex_rc ex_slice_orders(extractor *x, ex_tenant *t, bool incremental);

/** @brief One page of the product listing, newest change first. */
ex_rc ex_slice_products(extractor *x, ex_tenant *t);

/** @brief One page of the user scan. */
ex_rc ex_slice_users(extractor *x, ex_tenant *t);

#endif
