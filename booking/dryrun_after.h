/* dryrun_after: the corrections the loader would post for an order the dry run has booked
 * earlier in the same run (docs/commands.md "Dry run after booking"). */
#ifndef BOOKING_DRYRUN_AFTER_H
#define BOOKING_DRYRUN_AFTER_H

#include <jansson.h>
#include <stdbool.h>

#include "booking/booking.h"
#include "booking/rules.h"

/* Whether the run booked order @p source_id before (seen: the run's memory, an object). */
bool dryrun_after_booked(const json_t *seen, const char *source_id);

/* For an order booked before in this run: the array of what the loader would do now (the
 * dry run's "after_booking" member; new reference, maybe empty), updating seen. For an order
 * met the first time: NULL, and the booking is remembered. */
json_t *dryrun_after_step(json_t *seen, const booking *b, const rules *r);

#endif
