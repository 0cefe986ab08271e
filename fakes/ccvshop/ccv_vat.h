#pragma once
/*
 * ccv_vat.h - VAT facts the generator needs: rates of the countries it ships
 * to (copied from specs/eu-vat-rates.csv), special territories, and VAT
 * number generation/validation (checksums of specs/vat.md section 4).
 */
#include <stdbool.h>
#include <stddef.h>

#include "ccv_util.h"

/* Rates are in tenths of a percent (55 = 5.5 %). */
struct ccv_country {
        const char *iso;     /* ISO 3166-1 alpha-2 */
        const char *name_nl; /* localized name as CCV shows it */
        bool eu;             /* member of the EU VAT area for goods (XI included) */
        int standard;
        int reduced;     /* the reduced rate used for "reduced" products, 0 = none */
        int reduced_alt; /* a second reduced rate of the country, 0 = none */
};

const struct ccv_country *ccv_country_get(const char *iso);
/* True when rate10 is one of the listed rates (standard/reduced/super/parking) of iso. */
bool ccv_rate_is_real(const char *iso, int rate10);

/*
 * Where VAT applies for goods shipped to (iso, postcode): sets *ret_vat_country
 * ("NL", "DE", "XI", "FR" for Monaco ...) and returns true if inside the EU VAT
 * area, false if the destination is an export (non-EU or special territory).
 */
bool ccv_vat_destination(const char *iso, const char *postcode, const char **ret_vat_country);

/* VAT numbers with a real offline checksum: NL BE DE FR AT IT ES. */
bool ccv_vatno_supported(const char *iso);
/* Write a checksum-valid (or, if !valid, checksum-invalid but well-formed) number. */
void ccv_vatno_make(struct ccv_rng *rng, const char *iso, bool valid, char *out, size_t len);
/* Validate format + checksum of a normalised number incl. prefix. */
bool ccv_vatno_valid(const char *vat);
