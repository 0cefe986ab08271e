/* dates: the calendar day an accountant books a shop timestamp on, in the administration's
 * time zone (Europe/Amsterdam for NL), from the system tz database. Exact treats OrderDate,
 * InvoiceDate and DueDate as zone-less calendar dates (docs/research/exact-items-prices-
 * currency-dates.md §5), so a UTC creation time must be converted before it is posted. */
#ifndef BOOKING_DATES_H
#define BOOKING_DATES_H

#include <stdbool.h>
#include <stddef.h>

#define BOOKING_DEFAULT_TIME_ZONE "Europe/Amsterdam"

/* Whether tz names a zone of the tz database ("Europe/Amsterdam"): a safe name whose file
 * exists. A missing file would make libc fall back to UTC silently. */
bool dates_zone_known(const char *tz);

/* The calendar date in tz of an ISO 8601 timestamp ("2026-03-31T23:30:00Z", "+02:00" offsets
 * and fractions accepted; no zone means UTC, as CCV documents create_date), as
 * "YYYY-MM-DDT00:00:00" in out. Returns 0, or -1 with the reason in err. Thread-safe. */
int dates_local_day(const char *iso, const char *tz, char out[20], char *err, size_t errlen);

#endif
