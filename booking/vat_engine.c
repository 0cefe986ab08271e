/* vat_engine: the decision table of docs/vat-engine.md. */
#include "booking/vat_engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void warn(vat_decision *d, const char *fmt, ...)
{
        va_list ap;

        if (d->n_warnings >= VAT_MAX_WARNINGS)
                return;
        va_start(ap, fmt);
        vsnprintf(d->warnings[d->n_warnings++], sizeof(d->warnings[0]), fmt, ap);
        va_end(ap);
}

static void copy_cc(char dst[3], const char *src)
{
        snprintf(dst, 3, "%s", src);
}

int vat_engine_decide(const vat_input *in, vat_decision *out, char *err, size_t errlen)
{
        const rules *r = in->rules;
        char vat_cc[3] = "";

        memset(out, 0, sizeof(*out));
        out->tax_date = in->tax_date;
        out->vat_status = vat_number_check(in->vat_number, out->vat_number,
                                           sizeof(out->vat_number));
        if (out->vat_status == VAT_NUMBER_VALID)
                vat_number_country(out->vat_number, vat_cc);
        out->vat_number_usable = out->vat_status == VAT_NUMBER_VALID &&
                                 strcmp(vat_cc, r->home_country) && in->vies != VIES_INVALID &&
                                 in->vies != VIES_UNAVAILABLE;

        /* goods collected by the customer at the seller's never leave the home country */
        if (in->collected_at_home) {
                territory_resolve(r->home_country, "", &out->territory);
                out->scenario = VAT_SCENARIO_DOMESTIC;
                copy_cc(out->rate_country, r->home_country);
                copy_cc(out->dest_country, r->home_country);
                return 0;
        }
        if (territory_resolve(in->ship_country, in->ship_postcode, &out->territory) != 0) {
                snprintf(err, errlen, "unknown ship-to country \"%s\"",
                         in->ship_country ? in->ship_country : "");
                return -1;
        }
        if (out->territory.kind == TERRITORY_OUTSIDE) {
                out->scenario = VAT_SCENARIO_EXPORT;
                return 0;
        }
        copy_cc(out->dest_country, out->territory.vat_country);
        if (!strcmp(out->dest_country, r->home_country)) {
                out->scenario = VAT_SCENARIO_DOMESTIC;
                copy_cc(out->rate_country, r->home_country);
                return 0;
        }
        if (out->vat_number_usable) {
                out->scenario = VAT_SCENARIO_ICP;
                if (strcmp(vat_cc, out->dest_country))
                        warn(out, "review: VAT number %s is not from the ship-to country %s",
                             out->vat_number, out->dest_country);
                return 0;
        }
        if (out->vat_status == VAT_NUMBER_VALID && !strcmp(vat_cc, r->home_country)) {
                /* a taxable customer with a home-country number: neither ICP nor a distance
                 * sale, home VAT applies */
                out->scenario = VAT_SCENARIO_DOMESTIC;
                copy_cc(out->rate_country, r->home_country);
                warn(out,
                     "review: customer VAT number %s is from %s: not an intra-community "
                     "supply, %s VAT charged",
                     out->vat_number, r->home_country, r->home_country);
                return 0;
        }
        out->counts_for_threshold = true;
        switch (r->oss_mode) {
        case OSS_MODE_REGISTERED: out->scenario = VAT_SCENARIO_OSS; break;
        case OSS_MODE_NOT_REGISTERED: out->scenario = VAT_SCENARIO_DISTANCE_ORIGIN; break;
        case OSS_MODE_AUTO:
                if (in->oss_prev_year_over || in->oss_ytd_cents > VAT_OSS_THRESHOLD_CENTS) {
                        out->scenario = VAT_SCENARIO_OSS;
                } else if (in->oss_ytd_cents + in->order_net_cents > VAT_OSS_THRESHOLD_CENTS) {
                        /* the supply that crosses the threshold is already taxed at
                         * destination (usual reading of Art. 59c(2)) */
                        out->scenario = VAT_SCENARIO_OSS;
                        out->crosses_threshold = true;
                } else {
                        out->scenario = VAT_SCENARIO_DISTANCE_ORIGIN;
                }
                break;
        }
        if (out->scenario == VAT_SCENARIO_OSS) {
                copy_cc(out->rate_country, out->dest_country);
                snprintf(out->rate_region, sizeof(out->rate_region), "%s", out->territory.region);
        } else
                copy_cc(out->rate_country, r->home_country);
        return 0;
}

void vat_engine_vies_domestic(const rules *r, vat_decision *d, int pct_bp)
{
        char pct[16];

        d->scenario = VAT_SCENARIO_DOMESTIC;
        copy_cc(d->rate_country, r->home_country);
        d->rate_region[0] = '\0';
        /* a business's number not yet confirmed, not a distance sale to a consumer */
        d->counts_for_threshold = false;
        d->crosses_threshold = false;
        d->vies_domestic = true;
        vat_pct_format(pct_bp, pct, sizeof(pct));
        warn(d,
             "review: VIES could not confirm %s, vies_policy domestic: booked at the %s rate "
             "%s%% out of the amount paid, not as 0%% ICP (VIES niet bereikbaar: binnenlands "
             "btw-tarief toegepast)",
             d->vat_number, r->home_country, pct);
}

/* "21% is not a DE VAT rate ..." for a rate the country (or region) did not have on the
 * tax point. */
static void rate_error(const vat_decision *d, int pct_bp, char *err, size_t errlen)
{
        char pct[16], on[32] = "", where[64] = "";

        vat_pct_format(pct_bp, pct, sizeof(pct));
        if (d->tax_date) {
                memcpy(on, ", rates of ", 11);
                vat_date_format(d->tax_date, on + 11, sizeof(on) - 11);
        }
        if (d->rate_region[0])
                snprintf(where, sizeof(where), " in %s (%s)",
                         d->territory.region_name ? d->territory.region_name : d->rate_region,
                         d->rate_region);
        if (d->scenario == VAT_SCENARIO_OSS)
                snprintf(err, errlen,
                         "wrong destination rate: %s%% is not a %s VAT rate%s (OSS sale to %s%s)",
                         pct, d->rate_country, where, d->rate_country, on);
        else
                snprintf(err, errlen, "%s%% is not a %s VAT rate (%s sale%s)", pct, d->rate_country,
                         vat_scenario_name(d->scenario), on);
}

const char *vat_engine_code(const rules *r, const vat_decision *d, int pct_bp, char *err,
                            size_t errlen)
{
        enum vat_scenario scen = d->scenario;
        const vat_country *vc = NULL;
        enum vat_class cls = VAT_CLASS_ZERO;
        char pct[16];
        char what[96];

        if (scen == VAT_SCENARIO_ICP || scen == VAT_SCENARIO_EXPORT) {
                if (pct_bp != 0) {
                        vat_pct_format(pct_bp, pct, sizeof(pct));
                        if (scen == VAT_SCENARIO_ICP)
                                snprintf(err, errlen,
                                         "VAT charged (%s%%) on an intra-community "
                                         "supply to %s (VAT number %s): 0%% is due",
                                         pct, d->dest_country, d->vat_number);
                        else
                                snprintf(err, errlen,
                                         "VAT charged (%s%%) on an export to %s%s%s%s: "
                                         "0%% is due",
                                         pct, d->territory.iso, d->territory.special ? " (" : "",
                                         d->territory.special ? d->territory.special : "",
                                         d->territory.special ? ")" : "");
                        return NULL;
                }
        } else {
                vc = vat_rates_find_region(d->rate_country, d->rate_region, d->tax_date);
                cls = vat_rates_class_of(vc, pct_bp);
                if (cls == VAT_CLASS_NONE) {
                        rate_error(d, pct_bp, err, errlen);
                        return NULL;
                }
        }
        enum vat_scenario want = scen == VAT_SCENARIO_DISTANCE_ORIGIN ? VAT_SCENARIO_DOMESTIC
                                                                      : scen;
        const rules_vat_code *best = NULL;
        int best_score = -1;
        bool tie = false;

        for (size_t i = 0; i < r->n_vat_codes; i++) {
                const rules_vat_code *e = &r->vat_codes[i];
                int score = 0;

                if (e->scenario != want)
                        continue;
                if (want == VAT_SCENARIO_OSS &&
                    (strcmp(e->country, d->rate_country) || strcmp(e->region, d->rate_region)))
                        continue;
                if (e->cls != VAT_CLASS_NONE) {
                        bool parking = e->cls == VAT_CLASS_PARKING && vc && vc->parking == pct_bp;

                        if (e->cls != cls && !parking)
                                continue;
                        score++;
                }
                if (e->pct_bp >= 0) {
                        if (e->pct_bp != pct_bp)
                                continue;
                        score++;
                }
                if (score > best_score) {
                        best = e;
                        best_score = score;
                        tie = false;
                } else if (score == best_score && strcmp(best->code, e->code)) {
                        tie = true;
                }
        }
        if (best && !tie)
                return best->code;
        vat_pct_format(pct_bp, pct, sizeof(pct));
        if (scen == VAT_SCENARIO_ICP || scen == VAT_SCENARIO_EXPORT)
                snprintf(what, sizeof(what), "%s 0%%", scen == VAT_SCENARIO_ICP ? "ICP" : "export");
        else
                snprintf(what, sizeof(what), "%s %s%s%s %s %s%%",
                         scen == VAT_SCENARIO_OSS ? "OSS" : "domestic", d->rate_country,
                         d->rate_region[0] ? " region " : "", d->rate_region, vat_class_name(cls),
                         pct);
        if (!best) {
                snprintf(err, errlen, "no VAT code mapped for %s", what);
                return NULL;
        }
        {
                snprintf(err, errlen, "ambiguous VAT code mapping for %s", what);
                return NULL;
        }
}
