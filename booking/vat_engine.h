/* vat_engine: which VAT scenario an order falls in, and which Exact VAT code each rate gets. */
#ifndef BOOKING_VAT_ENGINE_H
#define BOOKING_VAT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "booking/rules.h"
#include "vat/territory.h"
#include "vat/vat_number.h"

/* EU-wide distance-sales threshold (Directive Art. 59c), in euro cents. */
#define VAT_OSS_THRESHOLD_CENTS 1000000LL

enum vies_state {
        VIES_NOT_CHECKED = 0, /* offline checks only: a well-formed number counts as valid */
        VIES_VALID,
        VIES_INVALID,
        VIES_UNAVAILABLE, /* treated like an invalid number: no 0% without proof */
};

typedef struct vat_input {
        const rules *rules;
        const char *ship_country; /* ISO code of the ship-to address */
        const char *ship_postcode;
        bool collected_at_home; /* picked up by the customer in the home country */
        const char *vat_number; /* as typed by the customer; may be NULL or "" */
        enum vies_state vies;
        long long order_net_cents; /* this order excl. VAT, for the auto-mode threshold */
        long long oss_ytd_cents;   /* intra-EU B2C net so far this year, excl. this order */
        bool oss_prev_year_over;   /* threshold exceeded in the previous calendar year */
        long tax_date;             /* YYYYMMDD: the rates in force that day apply; 0 = today */
} vat_input;

#define VAT_MAX_WARNINGS 3
#define VAT_WARNING_LEN 224

typedef struct vat_decision {
        enum vat_scenario scenario;
        char rate_country[3]; /* whose rates the lines carry (home, or OSS destination) */
        char dest_country[3]; /* EU destination (vat rules), "" for exports */
        char rate_region[8];  /* OSS to a region with its own rates ("PT-30"), else "" */
        long tax_date;        /* YYYYMMDD whose rates apply; 0 = today */
        territory territory;
        char vat_number[48]; /* normalised */
        enum vat_number_status vat_status;
        bool vat_number_usable;    /* valid, not from the home country, VIES not negative */
        bool crosses_threshold;    /* auto mode: this order takes the year over EUR 10,000 */
        bool counts_for_threshold; /* intra-EU B2C distance sale (adds to the running total) */
        bool vies_domestic;        /* vies_policy domestic: a 0% order booked at a home rate */
        char warnings[VAT_MAX_WARNINGS][VAT_WARNING_LEN];
        int n_warnings;
} vat_decision;

/* Decides the scenario. Returns 0, or -1 with a reason in err (unknown ship-to country). */
int vat_engine_decide(const vat_input *in, vat_decision *out, char *err, size_t errlen);

/* vies_policy domestic: VIES could not confirm the customer's number, so the order the shop
 * exempted as an ICP is a home sale at pct_bp (docs/vat-engine.md "VIES"); adds the review
 * warning. */
void vat_engine_vies_domestic(const rules *r, vat_decision *d, int pct_bp);

/* The VAT code for a line charged at pct_bp under decision d. Returns the code (owned by the
 * rules), or NULL with a reason in err: a rate that is not a rate of the country whose VAT
 * applies, VAT charged where 0% is due, or no (or an ambiguous) mapping. */
const char *vat_engine_code(const rules *r, const vat_decision *d, int pct_bp, char *err,
                            size_t errlen);

#endif
