/* rules: a tenant's mapping rules (VAT codes, items, payment conditions, ...), the rules-file
 * JSON format shared by the dry run, the admin CLI import/export and the control panel. */
#ifndef BOOKING_RULES_H
#define BOOKING_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vat/vat_rates.h"

enum vat_scenario {
        VAT_SCENARIO_DOMESTIC = 0,
        VAT_SCENARIO_ICP,
        VAT_SCENARIO_EXPORT,
        VAT_SCENARIO_OSS,
        VAT_SCENARIO_DISTANCE_ORIGIN,
};

enum oss_mode {
        OSS_MODE_REGISTERED = 0,
        OSS_MODE_NOT_REGISTERED,
        OSS_MODE_AUTO,
};

enum book_as {
        BOOK_AS_SALES_ORDER = 0,
        BOOK_AS_SALES_INVOICE,
};

typedef struct rules_vat_code {
        char *code;
        enum vat_scenario scenario;
        char country[3];    /* "" when not given */
        char region[8];     /* oss: region with its own rates ("PT-30"); "" = mainland */
        enum vat_class cls; /* VAT_CLASS_NONE when not given */
        int pct_bp;         /* -1 when not given */
} rules_vat_code;

typedef struct rules {
        char *tenant;
        long long division;
        char home_country[3];
        bool oss_registered;
        enum oss_mode oss_mode;
        enum book_as book_as;
        bool prices_incl_vat; /* "prices_shown": product prices incl. VAT (default) */
        char *shipping_item;  /* each item member may be NULL */
        char *discount_item;
        char *payment_cost_item;
        char *rounding_item;
        char *custom_item; /* order rows without product number or id */
        char *journal;     /* sales journal code, required for sales invoices */
        char *default_item_group;
        char *default_payment_condition;
        rules_vat_code *vat_codes;
        size_t n_vat_codes;
        json_t *item_groups;        /* object: shop category -> Exact item group code */
        json_t *payment_conditions; /* object: paymethod (or its id) -> payment condition */
        json_t *gl_accounts;        /* object: line kind -> G/L account code */
        long long oss_ytd_cents;    /* onboarding: intra-EU B2C net of oss_ytd_year so far */
        int oss_ytd_year;           /* the year of oss_ytd_cents; 0 = every year (old files) */
        bool oss_prev_year_over;    /* threshold exceeded the year before oss_ytd_year */
        char *time_zone;            /* tz database name of the administration, NULL = default */
        bool process_invoices;      /* invoicing.process: make invoices final (printed) */
        bool email_invoices;        /* invoicing.send_email: Exact e-mails the processed one */
        bool invoice_sales_orders;  /* invoicing.invoice_sales_orders: Exact invoices orders */
        json_t *payment_journals;   /* object: paymethod (or "default") -> {"journal",
                                   * "clearing_gl"}, the journal a payment is booked on */
        bool corrections_log;       /* corrections "log": changes after booking are only logged
                                   * for a person (default "auto": corrected in Exact) */
        json_t *relations; /* relation_matching, relation_codes, b2c_collective_account as given
                            * (booking/relations.h) */
        json_t *extra;     /* members this version does not know, kept for export */
} rules;

/* Parses and validates rules-file text. Returns NULL with a message in err on malformed JSON,
 * a missing or mistyped member, or a failed validation. Free with rules_free. */
rules *rules_parse(const char *text, char *err, size_t errlen);

/* Same for an already-parsed JSON object (not consumed). */
rules *rules_from_json(const json_t *obj, char *err, size_t errlen);

/* Reads and parses a rules file. Returns NULL with err set when it cannot be read or parsed. */
rules *rules_load_file(const char *path, char *err, size_t errlen);

/* Consistency checks (home country, codes against the rates table, ambiguity, journal for
 * invoices). Returns 0, or -1 with the first problem in err. */
int rules_validate(const rules *r, char *err, size_t errlen);

/* The rules as a rules-file JSON object (new reference); NULL only on allocation failure. */
json_t *rules_to_json(const rules *r);

void rules_free(rules *r);

/* Scenario name as in the dry-run output, and its parser (-1 when unknown). */
const char *vat_scenario_name(enum vat_scenario s);
int vat_scenario_parse(const char *name, enum vat_scenario *out);

const char *oss_mode_name(enum oss_mode m);

/* The auto-mode starting figures for an order of calendar year @p year: the onboarding
 * year-to-date (rules oss_ytd_eur) when it belongs to that year, and whether the previous year
 * was over the threshold. The daemon adds its own running total for the year to *ytd_cents. */
void rules_oss_start(const rules *r, int year, long long *ytd_cents, bool *prev_over);

/* The administration's time zone: time_zone, or Europe/Amsterdam. */
const char *rules_time_zone(const rules *r);

/* The payment journal entry {"journal","clearing_gl"} for a CCV paymethod (or its id):
 * payment_journals[method], else [method_id], else ["default"]; NULL when none. */
const json_t *rules_payment_journal(const rules *r, const char *method, const char *method_id);

/* String value of key in one of the map members (item_groups, ...), or NULL. */
const char *rules_map_get(const json_t *map, const char *key);

#endif
