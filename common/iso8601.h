/* iso8601.h: the one parser and formatter of ISO 8601 instants, for the shop's timestamps,
 * the extractor's stored cursors and the dates operators type.
 *
 * Accepted: YYYY-MM-DD (midnight UTC), optionally followed by 'T' or ' ' and HH:MM:SS, an
 * optional fraction (ignored) and an optional zone: Z, +HH, +HH:MM or +HHMM (or '-'); no zone
 * is UTC. Impossible dates (31 February, 29 February outside leap years), hours over 23,
 * minutes over 59, seconds over 60 and offsets over 14 hours are refused, never rolled over
 * into the next day or month. */
#ifndef CX_ISO8601_H
#define CX_ISO8601_H

#include <stddef.h>

/**
 * @brief Parse @p text (may be NULL) into seconds since the epoch in @p out.
 * @returns 0, or -1 when @p text is not such an instant (@p out untouched).
 */
int cx_iso8601_parse(const char *text, long long *out);

/** @brief Format @p t as YYYY-MM-DDTHH:MM:SSZ into @p out (at least 21 bytes). */
void cx_iso8601_format(long long t, char *out, size_t size);

#endif
