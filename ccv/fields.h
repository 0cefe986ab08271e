/* fields.h: readers of CCV Shop JSON fields, which drift from the documented types (spec 5):
 * ids arrive as numbers or as digit strings, booleans as 0/1 or "true", numbers as strings,
 * and absent text as "" or null. The extractor and the transformer read through these, so
 * both give the same answer for the same document. Only jansson is needed. */
#ifndef CX_CCV_FIELDS_H
#define CX_CCV_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/**
 * @brief A resource id as text into @p out: a positive integer, or a string of 1 to 19
 *        digits. Anything else (0, negatives, fractions, other strings, null) is no id.
 * @returns true when @p v is an id.
 */
bool ccv_json_id(const json_t *v, char *out, size_t size);

/** @brief Number or numeric string; "", null and anything else are absent (@p def). */
long long ccv_json_int(const json_t *v, long long def);

/** @brief true/false, 1/0, "true"/"1"/"false"/"0"; anything else is @p def. */
bool ccv_json_bool(const json_t *v, bool def);

#endif
