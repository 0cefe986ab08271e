/* rules: parse, validate and export the tenant rules file. */
#include "booking/rules.h"
#include "booking/vies_policy.h"

#include "booking/dates.h"
#include "booking/relations.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scenario_names[] = {
        [VAT_SCENARIO_DOMESTIC] = "domestic",
        [VAT_SCENARIO_ICP] = "icp",
        [VAT_SCENARIO_EXPORT] = "export",
        [VAT_SCENARIO_OSS] = "oss",
        [VAT_SCENARIO_DISTANCE_ORIGIN] = "distance_origin",
};

const char *vat_scenario_name(enum vat_scenario s)
{
        if ((unsigned)s < sizeof(scenario_names) / sizeof(scenario_names[0]))
                return scenario_names[s];
        return "unknown";
}

int vat_scenario_parse(const char *name, enum vat_scenario *out)
{
        for (size_t i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++) {
                if (!strcmp(scenario_names[i], name)) {
                        *out = (enum vat_scenario)i;
                        return 0;
                }
        }
        return -1;
}

static const char *const oss_mode_names[] = { "registered", "not_registered", "auto" };

const char *oss_mode_name(enum oss_mode m)
{
        if ((unsigned)m < 3)
                return oss_mode_names[m];
        return "unknown";
}

const char *rules_map_get(const json_t *map, const char *key)
{
        if (!map || !key)
                return NULL;
        return json_string_value(json_object_get(map, key));
}

void rules_free(rules *r)
{
        if (!r)
                return;
        free(r->tenant);
        free(r->shipping_item);
        free(r->discount_item);
        free(r->payment_cost_item);
        free(r->rounding_item);
        free(r->custom_item);
        free(r->journal);
        free(r->default_item_group);
        free(r->default_payment_condition);
        free(r->time_zone);
        for (size_t i = 0; i < r->n_vat_codes; i++)
                free(r->vat_codes[i].code);
        free(r->vat_codes);
        json_decref(r->item_groups);
        json_decref(r->payment_conditions);
        json_decref(r->gl_accounts);
        json_decref(r->extra);
        json_decref(r->relations);
        json_decref(r->payment_journals);
        free(r);
}

/* Optional string member: absent or null leaves *dst NULL; "" counts as absent. */
static int get_opt_string(const json_t *obj, const char *key, char **dst, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v)) {
                snprintf(err, errlen, "rules: \"%s\" must be a string", key);
                return -1;
        }
        if (json_string_length(v) == 0)
                return 0;
        *dst = strdup(json_string_value(v));
        if (!*dst) {
                snprintf(err, errlen, "rules: out of memory");
                return -1;
        }
        return 0;
}

/* Map member: an object whose values are all non-empty strings; absent gives an empty object. */
static int get_map(const json_t *obj, const char *key, json_t **dst, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, key);
        const char *k;
        json_t *val;

        if (!v || json_is_null(v)) {
                *dst = json_object();
                return *dst ? 0 : -1;
        }
        if (!json_is_object(v)) {
                snprintf(err, errlen, "rules: \"%s\" must be an object", key);
                return -1;
        }
        json_object_foreach ((json_t *)v, k, val) {
                if (!json_is_string(val) || json_string_length(val) == 0) {
                        snprintf(err, errlen, "rules: \"%s\".\"%s\" must be a non-empty string",
                                 key, k);
                        return -1;
                }
        }
        *dst = json_deep_copy(v);
        return *dst ? 0 : -1;
}

/* Percentage (number) into basis points; -1 with err when out of range or too precise. */
static int pct_to_bp(const json_t *v, int *bp)
{
        if (!json_is_number(v))
                return -1;
        double d = json_number_value(v) * 100.0;
        double r = round(d);

        if (d < 0 || d > 10000 || fabs(d - r) > 1e-6)
                return -1;
        *bp = (int)r;
        return 0;
}

static int parse_country(const char *s, char out[3])
{
        if (!s || strlen(s) != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
                return -1;
        out[0] = (char)toupper((unsigned char)s[0]);
        out[1] = (char)toupper((unsigned char)s[1]);
        out[2] = '\0';
        if (!strcmp(out, "EL"))
                memcpy(out, "GR", 3);
        return 0;
}

static int parse_vat_code(const json_t *e, size_t i, rules_vat_code *vc, char *err, size_t errlen)
{
        json_t *code = json_object_get(e, "code");
        json_t *scen = json_object_get(e, "scenario");
        json_t *country = json_object_get(e, "country");
        json_t *cls = json_object_get(e, "class");
        json_t *pct = json_object_get(e, "percentage");
        json_t *region = json_object_get(e, "region");

        vc->cls = VAT_CLASS_NONE;
        vc->pct_bp = -1;
        if (!json_is_object(e)) {
                snprintf(err, errlen, "rules: vat_codes[%zu] must be an object", i);
                return -1;
        }
        if (!json_is_string(code) || json_string_length(code) == 0) {
                snprintf(err, errlen, "rules: vat_codes[%zu].code must be a non-empty string", i);
                return -1;
        }
        vc->code = strdup(json_string_value(code));
        if (!vc->code)
                return -1;
        if (!json_is_string(scen) ||
            vat_scenario_parse(json_string_value(scen), &vc->scenario) != 0) {
                snprintf(err, errlen,
                         "rules: vat_codes[%zu].scenario must be one of domestic, "
                         "icp, export, oss, distance_origin",
                         i);
                return -1;
        }
        if (vc->scenario == VAT_SCENARIO_DISTANCE_ORIGIN) {
                snprintf(err, errlen,
                         "rules: vat_codes[%zu]: distance_origin uses the domestic "
                         "codes; map it as scenario \"domestic\"",
                         i);
                return -1;
        }
        if (country && !json_is_null(country)) {
                if (!json_is_string(country) ||
                    parse_country(json_string_value(country), vc->country) != 0) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu].country must be a two-letter "
                                 "country code",
                                 i);
                        return -1;
                }
        }
        if (region && !json_is_null(region)) {
                if (!json_is_string(region) || json_string_length(region) == 0 ||
                    json_string_length(region) >= sizeof(vc->region)) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu].region must be a region code such as "
                                 "\"PT-30\"",
                                 i);
                        return -1;
                }
                snprintf(vc->region, sizeof(vc->region), "%s", json_string_value(region));
        }
        if (cls && !json_is_null(cls)) {
                if (!json_is_string(cls) ||
                    vat_class_parse(json_string_value(cls), &vc->cls) != 0) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu].class must be standard, "
                                 "reduced, super_reduced, parking or zero",
                                 i);
                        return -1;
                }
        }
        if (pct && !json_is_null(pct) && pct_to_bp(pct, &vc->pct_bp) != 0) {
                snprintf(err, errlen,
                         "rules: vat_codes[%zu].percentage must be a number from 0 "
                         "to 100 with at most two decimals",
                         i);
                return -1;
        }
        return 0;
}

/* tenant, division, home_country. */
static int parse_identity(const json_t *obj, rules *r, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, "tenant");

        if (!json_is_string(v) || json_string_length(v) == 0) {
                snprintf(err, errlen, "rules: \"tenant\" must be a non-empty string");
                return -1;
        }
        r->tenant = strdup(json_string_value(v));
        v = json_object_get(obj, "division");
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                snprintf(err, errlen, "rules: \"division\" must be a positive integer");
                return -1;
        }
        r->division = json_integer_value(v);
        v = json_object_get(obj, "home_country");
        if (!v) {
                memcpy(r->home_country, "NL", 3);
        } else if (!json_is_string(v) ||
                   parse_country(json_string_value(v), r->home_country) != 0) {
                snprintf(err, errlen, "rules: \"home_country\" must be a two-letter country code");
                return -1;
        }
        return 0;
}

/* oss_registered, oss_mode, book_as, prices_shown. */
static int parse_modes(const json_t *obj, rules *r, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, "oss_registered");

        if (v && !json_is_boolean(v)) {
                snprintf(err, errlen, "rules: \"oss_registered\" must be true or false");
                return -1;
        }
        r->oss_registered = json_is_true(v);
        r->oss_mode = r->oss_registered ? OSS_MODE_REGISTERED : OSS_MODE_NOT_REGISTERED;
        v = json_object_get(obj, "oss_mode");
        if (v && !json_is_null(v)) {
                const char *s = json_string_value(v);
                int found = -1;

                for (int i = 0; s && i < 3; i++) {
                        if (!strcmp(s, oss_mode_names[i]))
                                found = i;
                }
                if (found < 0) {
                        snprintf(err, errlen,
                                 "rules: \"oss_mode\" must be registered, "
                                 "not_registered or auto");
                        return -1;
                }
                r->oss_mode = (enum oss_mode)found;
        }
        v = json_object_get(obj, "book_as");
        if (v && !json_is_null(v)) {
                const char *s = json_string_value(v);

                if (s && !strcmp(s, "salesorder")) {
                        r->book_as = BOOK_AS_SALES_ORDER;
                } else if (s && !strcmp(s, "salesinvoice")) {
                        r->book_as = BOOK_AS_SALES_INVOICE;
                } else {
                        snprintf(err, errlen,
                                 "rules: \"book_as\" must be salesorder or "
                                 "salesinvoice");
                        return -1;
                }
        }
        v = json_object_get(obj, "prices_shown");
        if (v && !json_is_null(v)) {
                const char *s = json_string_value(v);

                if (s && !strcmp(s, "incl")) {
                        r->prices_incl_vat = true;
                } else if (s && !strcmp(s, "excl")) {
                        r->prices_incl_vat = false;
                } else {
                        snprintf(err, errlen, "rules: \"prices_shown\" must be incl or excl");
                        return -1;
                }
        }
        return 0;
}

/* The item codes, names and maps, each optional. */
static int parse_members(const json_t *obj, rules *r, char *err, size_t errlen)
{
        if (get_opt_string(obj, "shipping_item", &r->shipping_item, err, errlen) ||
            get_opt_string(obj, "discount_item", &r->discount_item, err, errlen) ||
            get_opt_string(obj, "payment_cost_item", &r->payment_cost_item, err, errlen) ||
            get_opt_string(obj, "rounding_item", &r->rounding_item, err, errlen) ||
            get_opt_string(obj, "custom_item", &r->custom_item, err, errlen) ||
            get_opt_string(obj, "journal", &r->journal, err, errlen) ||
            get_opt_string(obj, "default_item_group", &r->default_item_group, err, errlen) ||
            get_opt_string(obj, "default_payment_condition", &r->default_payment_condition, err,
                           errlen))
                return -1;
        if (get_map(obj, "item_groups", &r->item_groups, err, errlen) ||
            get_map(obj, "payment_conditions", &r->payment_conditions, err, errlen) ||
            get_map(obj, "gl_accounts", &r->gl_accounts, err, errlen))
                return -1;
        return 0;
}

void rules_oss_start(const rules *r, int year, long long *ytd_cents, bool *prev_over)
{
        bool same = r->oss_ytd_year == 0 || r->oss_ytd_year == year;

        *ytd_cents = same ? r->oss_ytd_cents : 0;
        /* a year over the threshold also puts the following year at destination VAT */
        *prev_over = (same && r->oss_prev_year_over) ||
                     (r->oss_ytd_year && year == r->oss_ytd_year + 1 &&
                      r->oss_ytd_cents > 1000000LL);
}

const json_t *rules_payment_journal(const rules *r, const char *method, const char *method_id)
{
        const json_t *e = NULL;

        if (!r->payment_journals)
                return NULL;
        if (method && method[0])
                e = json_object_get(r->payment_journals, method);
        if (!e && method_id && method_id[0])
                e = json_object_get(r->payment_journals, method_id);
        if (!e)
                e = json_object_get(r->payment_journals, "default");
        return e;
}

/* payment_journals {"<paymethod>": {"journal", "clearing_gl"}, ...} and corrections
 * "auto" | "log". */
static int parse_after_booking(const json_t *obj, rules *r, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, "payment_journals");
        const char *k, *c;
        json_t *e;

        if (v && !json_is_null(v)) {
                if (!json_is_object(v)) {
                        snprintf(err, errlen,
                                 "rules: \"payment_journals\" must be an object "
                                 "{paymethod: {\"journal\", \"clearing_gl\"}}");
                        return -1;
                }
                json_object_foreach (v, k, e) {
                        const char *mk;
                        json_t *mv;

                        if (!json_is_object(e)) {
                                snprintf(err, errlen,
                                         "rules: payment_journals.%.40s must be an object "
                                         "{\"journal\", \"clearing_gl\"}",
                                         k);
                                return -1;
                        }
                        json_object_foreach (e, mk, mv) {
                                if ((strcmp(mk, "journal") && strcmp(mk, "clearing_gl")) ||
                                    !json_is_string(mv) || json_string_length(mv) == 0) {
                                        snprintf(err, errlen,
                                                 "rules: payment_journals.%.40s.%.40s: expected "
                                                 "journal or clearing_gl, a non-empty string",
                                                 k, mk);
                                        return -1;
                                }
                        }
                        /* the loader books a payment as two lines: debtor and clearing */
                        if (!json_object_get(e, "journal") || !json_object_get(e, "clearing_gl")) {
                                snprintf(err, errlen,
                                         "rules: payment_journals.%.40s needs a \"journal\" "
                                         "(Exact general journal code) and a \"clearing_gl\" "
                                         "(G/L account code of the clearing account)",
                                         k);
                                return -1;
                        }
                }
                r->payment_journals = json_deep_copy(v);
                if (!r->payment_journals) {
                        snprintf(err, errlen, "rules: out of memory");
                        return -1;
                }
        }
        v = json_object_get(obj, "corrections");
        if (!v || json_is_null(v))
                return 0;
        c = json_string_value(v);
        if (!c || (strcmp(c, "auto") && strcmp(c, "log"))) {
                snprintf(err, errlen,
                         "rules: \"corrections\" must be \"auto\" (correct in Exact) or "
                         "\"log\" (leave for a person)");
                return -1;
        }
        r->corrections_log = !strcmp(c, "log");
        return 0;
}

/* time_zone and the invoicing switches {"process","send_email","invoice_sales_orders"}. */
static int parse_invoicing(const json_t *obj, rules *r, char *err, size_t errlen)
{
        static const char *const keys[] = { "process", "send_email", "invoice_sales_orders" };
        bool *dst[] = { &r->process_invoices, &r->email_invoices, &r->invoice_sales_orders };
        json_t *v = json_object_get(obj, "invoicing");
        const char *k;
        json_t *x;

        if (get_opt_string(obj, "time_zone", &r->time_zone, err, errlen))
                return -1;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v)) {
                snprintf(err, errlen, "rules: \"invoicing\" must be an object");
                return -1;
        }
        json_object_foreach (v, k, x) {
                size_t i = 0;

                while (i < 3 && strcmp(keys[i], k))
                        i++;
                if (i == 3 || !json_is_boolean(x)) {
                        snprintf(err, errlen,
                                 "rules: invoicing.%.40s: expected process, send_email or "
                                 "invoice_sales_orders, true or false",
                                 k);
                        return -1;
                }
                *dst[i] = json_is_true(x);
        }
        return 0;
}

const char *rules_time_zone(const rules *r)
{
        return r->time_zone ? r->time_zone : BOOKING_DEFAULT_TIME_ZONE;
}

/* The onboarding OSS figures: oss_ytd_eur, oss_ytd_year, oss_prev_year_over. */
static int parse_oss_figures(const json_t *obj, rules *r, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, "oss_ytd_eur");

        if (v && !json_is_null(v)) {
                if (!json_is_number(v) || json_number_value(v) < 0) {
                        snprintf(err, errlen, "rules: \"oss_ytd_eur\" must be a number >= 0");
                        return -1;
                }
                r->oss_ytd_cents = llround(json_number_value(v) * 100.0);
        }
        v = json_object_get(obj, "oss_ytd_year");
        if (v && !json_is_null(v)) {
                if (!json_is_integer(v) || json_integer_value(v) < 2021 ||
                    json_integer_value(v) > 9999) {
                        snprintf(err, errlen,
                                 "rules: \"oss_ytd_year\" must be a year (2021 or later: the "
                                 "EU-wide threshold started on 2021-07-01)");
                        return -1;
                }
                r->oss_ytd_year = (int)json_integer_value(v);
        }
        v = json_object_get(obj, "oss_prev_year_over");
        if (v && !json_is_boolean(v)) {
                snprintf(err, errlen, "rules: \"oss_prev_year_over\" must be true or false");
                return -1;
        }
        r->oss_prev_year_over = json_is_true(v);
        return 0;
}

static int parse_vat_codes(const json_t *obj, rules *r, char *err, size_t errlen)
{
        json_t *v = json_object_get(obj, "vat_codes");

        if (!json_is_array(v) || json_array_size(v) == 0) {
                snprintf(err, errlen, "rules: \"vat_codes\" must be a non-empty array");
                return -1;
        }
        r->vat_codes = calloc(json_array_size(v), sizeof(*r->vat_codes));
        if (!r->vat_codes)
                return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
                r->n_vat_codes = i + 1;
                if (parse_vat_code(json_array_get(v, i), i, &r->vat_codes[i], err, errlen))
                        return -1;
        }
        return 0;
}

/* Keeps the members we do not interpret so an export/import round trip loses nothing. */
static void keep_extra(const json_t *obj, rules *r)
{
        static const char *const known[] = {
                "tenant",
                "division",
                "home_country",
                "oss_registered",
                "oss_mode",
                "book_as",
                "prices_shown",
                "shipping_item",
                "discount_item",
                "payment_cost_item",
                "rounding_item",
                "custom_item",
                "journal",
                "default_item_group",
                "default_payment_condition",
                "item_groups",
                "payment_conditions",
                "gl_accounts",
                "oss_ytd_eur",
                "oss_ytd_year",
                "oss_prev_year_over",
                "vat_codes",
                "time_zone",
                "invoicing",
                "relation_matching",
                "relation_codes",
                "b2c_collective_account",
                "payment_journals",
                "corrections",
        };
        const char *k;
        json_t *val;

        r->extra = json_object();
        json_object_foreach ((json_t *)obj, k, val) {
                bool is_known = false;

                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        is_known = is_known || !strcmp(known[i], k);
                if (!is_known)
                        json_object_set(r->extra, k, val);
        }
}

rules *rules_from_json(const json_t *obj, char *err, size_t errlen)
{
        rules *r;

        if (!json_is_object(obj)) {
                snprintf(err, errlen, "rules: the rules file must hold a JSON object");
                return NULL;
        }
        r = calloc(1, sizeof(*r));
        if (!r) {
                snprintf(err, errlen, "rules: out of memory");
                return NULL;
        }
        r->prices_incl_vat = true;
        if (parse_identity(obj, r, err, errlen) != 0 || parse_modes(obj, r, err, errlen) != 0 ||
            parse_members(obj, r, err, errlen) != 0 || parse_invoicing(obj, r, err, errlen) != 0 ||
            parse_after_booking(obj, r, err, errlen) != 0 ||
            parse_oss_figures(obj, r, err, errlen) != 0 ||
            parse_vat_codes(obj, r, err, errlen) != 0)
                goto fail;
        r->relations = booking_relations_parse(obj, err, errlen);
        if (!r->relations)
                goto fail;
        keep_extra(obj, r);
        if (!r->tenant || !r->extra) {
                snprintf(err, errlen, "rules: out of memory");
                goto fail;
        }
        if (rules_validate(r, err, errlen) != 0)
                goto fail;
        return r;
fail:
        rules_free(r);
        return NULL;
}

rules *rules_parse(const char *text, char *err, size_t errlen)
{
        json_error_t jerr;
        json_t *obj = json_loads(text, 0, &jerr);
        rules *r;

        if (!obj) {
                snprintf(err, errlen, "rules: malformed JSON at line %d: %s", jerr.line, jerr.text);
                return NULL;
        }
        r = rules_from_json(obj, err, errlen);
        json_decref(obj);
        return r;
}

rules *rules_load_file(const char *path, char *err, size_t errlen)
{
        json_error_t jerr;
        json_t *obj = json_load_file(path, 0, &jerr);
        rules *r;

        if (!obj) {
                snprintf(err, errlen, "rules: cannot read %s: %s (line %d)", path, jerr.text,
                         jerr.line);
                return NULL;
        }
        r = rules_from_json(obj, err, errlen);
        json_decref(obj);
        return r;
}

/* Country whose rate table an entry is checked against ("" for icp/export). */
static const char *entry_country(const rules *r, const rules_vat_code *vc)
{
        if (vc->scenario == VAT_SCENARIO_OSS)
                return vc->country;
        if (vc->scenario == VAT_SCENARIO_DOMESTIC)
                return r->home_country;
        return "";
}

/* One vat_codes entry against the rates table. */
static int validate_code(const rules *r, const rules_vat_code *vc, size_t i, char *err,
                         size_t errlen)
{
        char pct[16];

        vat_pct_format(vc->pct_bp, pct, sizeof(pct));
        if (strlen(vc->code) > 3) {
                snprintf(err, errlen,
                         "rules: vat_codes[%zu].code \"%s\" is longer than "
                         "Exact's 3 characters",
                         i, vc->code);
                return -1;
        }
        switch (vc->scenario) {
        case VAT_SCENARIO_ICP:
        case VAT_SCENARIO_EXPORT:
                if (vc->pct_bp > 0 || (vc->cls != VAT_CLASS_NONE && vc->cls != VAT_CLASS_ZERO)) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): %s codes are "
                                 "0%%",
                                 i, vc->code, vat_scenario_name(vc->scenario));
                        return -1;
                }
                break;
        case VAT_SCENARIO_OSS:
                if (vc->country[0] == '\0') {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): oss codes need "
                                 "a \"country\"",
                                 i, vc->code);
                        return -1;
                }
                if (!strcmp(vc->country, r->home_country) || !vat_rates_find(vc->country)) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): %s is not an "
                                 "OSS destination",
                                 i, vc->code, vc->country);
                        return -1;
                }
                if (vc->region[0] && !vat_rates_region_known(vc->country, vc->region)) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): %s has no region %s with "
                                 "rates of its own (known: PT-30 Madeira, PT-20 Azores, "
                                 "AT-JM Jungholz/Mittelberg)",
                                 i, vc->code, vc->country, vc->region);
                        return -1;
                }
                /* fall through */
        case VAT_SCENARIO_DOMESTIC:
        case VAT_SCENARIO_DISTANCE_ORIGIN:
                if (vc->scenario == VAT_SCENARIO_DOMESTIC && vc->region[0]) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): a region is only for oss "
                                 "codes",
                                 i, vc->code);
                        return -1;
                }
                if (vc->scenario == VAT_SCENARIO_DOMESTIC && vc->country[0] != '\0' &&
                    strcmp(vc->country, r->home_country)) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): domestic code "
                                 "for %s, but home_country is %s",
                                 i, vc->code, vc->country, r->home_country);
                        return -1;
                }
                if (vc->cls == VAT_CLASS_NONE && vc->pct_bp < 0) {
                        snprintf(err, errlen,
                                 "rules: vat_codes[%zu] (%s): give a class "
                                 "or a percentage",
                                 i, vc->code);
                        return -1;
                }
                if (vc->pct_bp >= 0) {
                        const char *cc = entry_country(r, vc);
                        const char *rg = vc->scenario == VAT_SCENARIO_OSS ? vc->region : "";
                        /* any period counts: codes stay mapped for replays */
                        enum vat_class real = vat_rates_class_ever(cc, rg, vc->pct_bp);
                        const vat_country *now = vat_rates_find_region(cc, rg, 0);

                        if (real == VAT_CLASS_NONE) {
                                snprintf(err, errlen,
                                         "rules: vat_codes[%zu] (%s): %s%% "
                                         "is not a %s%s%s VAT rate",
                                         i, vc->code, pct, cc, rg[0] ? " " : "", rg);
                                return -1;
                        }
                        if (vc->cls != VAT_CLASS_NONE && vc->cls != real &&
                            !(vc->cls == VAT_CLASS_PARKING && now && now->parking == vc->pct_bp)) {
                                snprintf(err, errlen,
                                         "rules: vat_codes[%zu] (%s): %s%% "
                                         "is a %s rate in %s, not %s",
                                         i, vc->code, pct, vat_class_name(real), cc,
                                         vat_class_name(vc->cls));
                                return -1;
                        }
                }
                break;
        }
        return 0;
}

/* time_zone known to the tz database; the invoicing switches consistent with book_as. */
static int validate_dates_invoicing(const rules *r, char *err, size_t errlen)
{
        if (!dates_zone_known(rules_time_zone(r))) {
                snprintf(err, errlen,
                         "rules: time_zone \"%s\" is not in the tz database (a name such as "
                         "Europe/Amsterdam; is tzdata installed?)",
                         rules_time_zone(r));
                return -1;
        }
        if (r->email_invoices && !r->process_invoices) {
                snprintf(err, errlen,
                         "rules: invoicing.send_email needs invoicing.process (Exact e-mails "
                         "an invoice when it is processed)");
                return -1;
        }
        if (r->process_invoices && r->book_as != BOOK_AS_SALES_INVOICE &&
            !r->invoice_sales_orders) {
                snprintf(err, errlen,
                         "rules: invoicing.process needs book_as salesinvoice or "
                         "invoicing.invoice_sales_orders");
                return -1;
        }
        if (r->invoice_sales_orders && (r->book_as != BOOK_AS_SALES_ORDER || !r->journal)) {
                snprintf(err, errlen,
                         "rules: invoicing.invoice_sales_orders needs book_as salesorder and a "
                         "\"journal\" (the sales journal of the invoices)");
                return -1;
        }
        return 0;
}

int rules_validate(const rules *r, char *err, size_t errlen)
{
        const vat_country *home = vat_rates_find(r->home_country);

        if (!home || home->area != VAT_AREA_EU) {
                snprintf(err, errlen, "rules: home_country %s is not an EU member state",
                         r->home_country);
                return -1;
        }
        if (validate_dates_invoicing(r, err, errlen) != 0 ||
            vies_rules_validate(r, err, errlen) != 0)
                return -1;
        if (r->book_as == BOOK_AS_SALES_INVOICE && !r->journal) {
                snprintf(err, errlen,
                         "rules: book_as salesinvoice needs a \"journal\" (sales "
                         "journal code)");
                return -1;
        }
        for (size_t i = 0; i < r->n_vat_codes; i++) {
                const rules_vat_code *vc = &r->vat_codes[i];

                if (validate_code(r, vc, i, err, errlen) != 0)
                        return -1;
                for (size_t j = 0; j < i; j++) {
                        const rules_vat_code *o = &r->vat_codes[j];

                        if (o->scenario == vc->scenario && !strcmp(o->country, vc->country) &&
                            !strcmp(o->region, vc->region) && o->cls == vc->cls &&
                            o->pct_bp == vc->pct_bp && strcmp(o->code, vc->code)) {
                                snprintf(err, errlen,
                                         "rules: vat_codes[%zu] (%s) and [%zu] (%s) "
                                         "map the same situation",
                                         j, o->code, i, vc->code);
                                return -1;
                        }
                }
        }
        return 0;
}

static void set_opt(json_t *obj, const char *key, const char *val)
{
        if (val)
                json_object_set_new(obj, key, json_string(val));
}

json_t *rules_to_json(const rules *r)
{
        json_t *obj = json_deep_copy(r->extra);
        json_t *codes = json_array();

        if (!obj)
                obj = json_object();
        if (!obj || !codes) {
                json_decref(obj);
                json_decref(codes);
                return NULL;
        }
        if (r->relations)
                json_object_update(obj, r->relations);
        json_object_set_new(obj, "tenant", json_string(r->tenant));
        json_object_set_new(obj, "division", json_integer(r->division));
        json_object_set_new(obj, "home_country", json_string(r->home_country));
        json_object_set_new(obj, "oss_registered", json_boolean(r->oss_registered));
        json_object_set_new(obj, "oss_mode", json_string(oss_mode_name(r->oss_mode)));
        json_object_set_new(
                obj, "book_as",
                json_string(r->book_as == BOOK_AS_SALES_INVOICE ? "salesinvoice" : "salesorder"));
        json_object_set_new(obj, "prices_shown", json_string(r->prices_incl_vat ? "incl" : "excl"));
        set_opt(obj, "shipping_item", r->shipping_item);
        set_opt(obj, "discount_item", r->discount_item);
        set_opt(obj, "payment_cost_item", r->payment_cost_item);
        set_opt(obj, "rounding_item", r->rounding_item);
        set_opt(obj, "custom_item", r->custom_item);
        set_opt(obj, "journal", r->journal);
        set_opt(obj, "default_item_group", r->default_item_group);
        set_opt(obj, "default_payment_condition", r->default_payment_condition);
        json_object_set(obj, "item_groups", r->item_groups);
        json_object_set(obj, "payment_conditions", r->payment_conditions);
        json_object_set(obj, "gl_accounts", r->gl_accounts);
        set_opt(obj, "time_zone", r->time_zone);
        if (r->process_invoices || r->email_invoices || r->invoice_sales_orders) {
                json_t *inv = json_object();

                json_object_set_new(inv, "process", json_boolean(r->process_invoices));
                json_object_set_new(inv, "send_email", json_boolean(r->email_invoices));
                json_object_set_new(inv, "invoice_sales_orders",
                                    json_boolean(r->invoice_sales_orders));
                json_object_set_new(obj, "invoicing", inv);
        }
        if (r->payment_journals)
                json_object_set(obj, "payment_journals", r->payment_journals);
        if (r->corrections_log)
                json_object_set_new(obj, "corrections", json_string("log"));
        if (r->oss_ytd_cents > 0)
                json_object_set_new(obj, "oss_ytd_eur", json_real(r->oss_ytd_cents / 100.0));
        if (r->oss_ytd_year)
                json_object_set_new(obj, "oss_ytd_year", json_integer(r->oss_ytd_year));
        if (r->oss_prev_year_over)
                json_object_set_new(obj, "oss_prev_year_over", json_true());
        for (size_t i = 0; i < r->n_vat_codes; i++) {
                const rules_vat_code *vc = &r->vat_codes[i];
                json_t *e = json_object();

                json_object_set_new(e, "code", json_string(vc->code));
                json_object_set_new(e, "scenario", json_string(vat_scenario_name(vc->scenario)));
                if (vc->country[0])
                        json_object_set_new(e, "country", json_string(vc->country));
                if (vc->region[0])
                        json_object_set_new(e, "region", json_string(vc->region));
                if (vc->cls != VAT_CLASS_NONE)
                        json_object_set_new(e, "class", json_string(vat_class_name(vc->cls)));
                if (vc->pct_bp >= 0) {
                        if (vc->pct_bp % 100 == 0)
                                json_object_set_new(e, "percentage",
                                                    json_integer(vc->pct_bp / 100));
                        else
                                json_object_set_new(e, "percentage", json_real(vc->pct_bp / 100.0));
                }
                json_array_append_new(codes, e);
        }
        json_object_set_new(obj, "vat_codes", codes);
        return obj;
}
