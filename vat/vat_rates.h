/* vat_rates: the EU VAT rates table (27 member states + XI), compiled in from eu-vat-rates.csv. */
#ifndef VAT_RATES_H
#define VAT_RATES_H

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

struct vat_country {
        const char *iso;    /* ISO 3166 code as used in addresses (GR, not EL) */
        const char *prefix; /* VAT number prefix (EL for Greece) */
        const char *name;
        int area; /* enum vat_area */
        const char *currency;
        int standard;   /* basis points */
        int reduced[3]; /* -1 = unused */
        int n_reduced;
        int super_reduced; /* -1 = none */
        int parking;       /* -1 = none */
};

extern const struct vat_country vat_rates_table[];
extern const size_t vat_rates_table_len;

/* Country by ISO code (also accepts the VAT prefix EL for Greece); NULL when not in the table. */
const struct vat_country *vat_rates_find(const char *iso);

/* Rate class of a percentage in a country: 0 is always ZERO; NONE when the country has no
 * such rate. */
enum vat_class vat_rates_class_of(const struct vat_country *c, int pct_bp);

/* "standard", "reduced", "super_reduced", "parking", "zero" ("" for NONE). */
const char *vat_class_name(enum vat_class cls);

/* Parses a class name (also "super-reduced"); returns 0, or -1 if unknown. */
int vat_class_parse(const char *name, enum vat_class *out);

/* Formats basis points as a percentage without trailing zeros ("21", "5.5", "25.5"). */
void vat_pct_format(int pct_bp, char *buf, size_t len);

#endif
