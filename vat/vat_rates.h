/* vat_rates: the EU VAT rates table (27 member states + XI) with the period each row is in
 * force, compiled in from eu-vat-rates.csv; an operator's rates file (same CSV format) may
 * replace it at start without a rebuild. */
#ifndef VAT_RATES_H
#define VAT_RATES_H

#include <stdbool.h>
#include <stddef.h>

/* Percentages are kept in hundredths of a percent ("basis points"): 21% = 2100, 5.5% = 550. */
enum vat_class {
        VAT_CLASS_NONE = 0,
        VAT_CLASS_STANDARD,
        VAT_CLASS_REDUCED,
        VAT_CLASS_SUPER_REDUCED,
        VAT_CLASS_PARKING,
        VAT_CLASS_ZERO,
};

enum vat_area {
        VAT_AREA_OUTSIDE = 0,
        VAT_AREA_EU = 1,
        VAT_AREA_GOODS_ONLY = 2, /* XI: EU VAT area for goods only */
};

typedef struct vat_country {
        const char *iso;    /* ISO 3166 code as used in addresses (GR, not EL) */
        const char *prefix; /* VAT number prefix (EL for Greece) */
        const char *name;
        int area; /* enum vat_area */
        const char *currency;
        int standard;   /* basis points */
        int reduced[3]; /* -1 = unused */
        int n_reduced;
        int super_reduced;  /* -1 = none */
        int parking;        /* -1 = none */
        long valid_from;    /* YYYYMMDD, first day in force; 0 = since ever */
        long valid_to;      /* YYYYMMDD, last day in force; 0 = until further notice */
        const char *region; /* "" = the country's mainland rates; "PT-30" Madeira, ... */
} vat_country;

extern const vat_country vat_rates_table[];
extern const size_t vat_rates_table_len;

/* The rates of a country (ISO code; the VAT prefix EL is taken as GR) in force on date
 * (YYYYMMDD; 0 = today, UTC); NULL when the country is not in the table or has no rates
 * for that date. */
const vat_country *vat_rates_find_on(const char *iso, long date);

/* The rates of a region with its own rates ("PT-30" Madeira, "PT-20" Azores, "AT-JM"
 * Jungholz and Mittelberg; "" or NULL = mainland) on date, or NULL. */
const vat_country *vat_rates_find_region(const char *iso, const char *region, long date);

/* vat_rates_find_on(iso, 0). */
const vat_country *vat_rates_find(const char *iso);

/* The class pct_bp has in any period of the country (for rules that must map codes for old
 * rates too, e.g. for replays); VAT_CLASS_NONE when it never was a rate there. */
enum vat_class vat_rates_class_ever(const char *iso, const char *region, int pct_bp);

/* True when the table has rates for that region of the country. */
bool vat_rates_region_known(const char *iso, const char *region);

/* Replaces the active table by the rates file at path (the CSV format of eu-vat-rates.csv,
 * with valid_from/valid_to columns). The file is refused as a whole, with its path, line
 * and what is wrong in err, when a column is missing, a number or date is malformed, a
 * country is not one of the compiled-in table, two periods of one country overlap, or a
 * country of the compiled-in table is missing. Returns 0 or -1. */
int vat_rates_load_file(const char *path, char *err, size_t errlen);

/* Same check without making the file active (0 or -1 with err). */
int vat_rates_check_file(const char *path, char *err, size_t errlen);

/* Makes rows (kept by the caller for the life of the process) the active table. */
void vat_rates_set_table(const vat_country *rows, size_t n);

/* Back to the compiled-in table (tests). */
void vat_rates_use_builtin(void);

/* "YYYY-MM-DD" of a YYYYMMDD date into buf. */
void vat_date_format(long date, char *buf, size_t len);

/* Rate class of a percentage in a country: 0 is always ZERO; NONE when the country has no
 * such rate. */
enum vat_class vat_rates_class_of(const vat_country *c, int pct_bp);

/* "standard", "reduced", "super_reduced", "parking", "zero" ("" for NONE). */
const char *vat_class_name(enum vat_class cls);

/* Parses a class name (also "super-reduced"); returns 0, or -1 if unknown. */
int vat_class_parse(const char *name, enum vat_class *out);

/* Formats basis points as a percentage without trailing zeros ("21", "5.5", "25.5"). */
void vat_pct_format(int pct_bp, char *buf, size_t len);

#endif
