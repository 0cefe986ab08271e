/* vat_number: normalisation, format and offline checksum of EU VAT numbers (27 states + XI). */
#ifndef VAT_NUMBER_H
#define VAT_NUMBER_H

#include <stddef.h>

enum vat_number_status {
        VAT_NUMBER_EMPTY = 0,      /* nothing given */
        VAT_NUMBER_VALID,          /* format and offline checksum pass */
        VAT_NUMBER_UNKNOWN_PREFIX, /* no EU/XI prefix (GB, EU OSS numbers, no prefix at all) */
        VAT_NUMBER_FORMAT_INVALID,
        VAT_NUMBER_CHECKSUM_INVALID,
};

/* Normalises input (upper case, separators removed, GR -> EL, the leading zeros of BE (0) and
 * 9-digit forms, EL 8-digit and short NL forms put back) into out as prefix + number and
 * returns its status. out is always NUL-terminated (empty when input is empty); an input
 * longer than 40 characters is FORMAT_INVALID. */
enum vat_number_status vat_number_check(const char *input, char *out, size_t outlen);

/* "empty", "valid", "unknown_prefix", "format_invalid", "checksum_invalid". */
const char *vat_number_status_name(enum vat_number_status st);

/* ISO country of a normalised number's prefix (EL -> GR, XI stays XI) into iso[3];
 * returns 0, or -1 when the number has no known prefix. */
int vat_number_country(const char *normalised, char iso[3]);

#endif
