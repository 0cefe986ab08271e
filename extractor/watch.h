/* watch.h: orders seen completed but not yet bookable (unpaid, a status outside the tenant's
 * list), re-read beyond the re-read window until they are bookable or CX_EXTRACT_WATCH_DAYS
 * old, so a payment weeks later is booked without a webhook (docs/extractor.md "Late
 * orders"). */
#ifndef CX_EXTRACTOR_WATCH_H
#define CX_EXTRACTOR_WATCH_H

#include "extractor/engine.h"

/** @brief Put order @p id (its object @p order, for the create date) on the watch list;
 *         failures are logged (the re-read window still covers its first days). */
void ex_watch_add(extractor *x, ex_tenant *t, const char *id, const json_t *order);

/** @brief One slice of the watch list: up to a page of watched orders older than the
 *         re-read window and not checked for a re-read interval, each re-read and handled
 *         (published once bookable); dropped once published, gone or too old.
 *  @returns EX_IDLE when nothing is due. */
ex_rc ex_slice_watch(extractor *x, ex_tenant *t);

#endif
