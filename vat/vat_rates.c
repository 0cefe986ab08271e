/* vat_rates: look-ups over the generated table (vat_rates_table.c). */
#include "vat/vat_rates.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The table in use: the compiled-in one, or an operator's rates file loaded at start. */
static const vat_country *active = vat_rates_table;
static size_t active_len;
static bool active_loaded;

static const vat_country *table(size_t *len)
{
        *len = active_loaded ? active_len : vat_rates_table_len;
        return active;
}

static long today(void)
{
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static bool in_force(const vat_country *c, long date)
{
        return (c->valid_from == 0 || c->valid_from <= date) &&
               (c->valid_to == 0 || date <= c->valid_to);
}

static bool same_place(const vat_country *c, const char *iso, const char *region)
{
        return !strcmp(c->iso, iso) && !strcmp(c->region, region ? region : "");
}

const vat_country *vat_rates_find_region(const char *iso, const char *region, long date)
{
        size_t n;
        const vat_country *t = table(&n);

        if (!iso)
                return NULL;
        if (!strcmp(iso, "EL"))
                iso = "GR";
        if (date == 0)
                date = today();
        for (size_t i = 0; i < n; i++) {
                if (same_place(&t[i], iso, region) && in_force(&t[i], date))
                        return &t[i];
        }
        return NULL;
}

const vat_country *vat_rates_find_on(const char *iso, long date)
{
        return vat_rates_find_region(iso, "", date);
}

bool vat_rates_region_known(const char *iso, const char *region)
{
        size_t n;
        const vat_country *t = table(&n);

        for (size_t i = 0; iso && i < n; i++) {
                if (same_place(&t[i], iso, region))
                        return true;
        }
        return false;
}

const vat_country *vat_rates_find(const char *iso)
{
        return vat_rates_find_on(iso, 0);
}

enum vat_class vat_rates_class_ever(const char *iso, const char *region, int pct_bp)
{
        size_t n;
        const vat_country *t = table(&n);

        if (iso && !strcmp(iso, "EL"))
                iso = "GR";
        for (size_t i = 0; iso && i < n; i++) {
                enum vat_class c = same_place(&t[i], iso, region)
                                           ? vat_rates_class_of(&t[i], pct_bp)
                                           : VAT_CLASS_NONE;

                if (c != VAT_CLASS_NONE)
                        return c;
        }
        return pct_bp == 0 ? VAT_CLASS_ZERO : VAT_CLASS_NONE;
}

void vat_rates_set_table(const vat_country *rows, size_t n)
{
        active = rows;
        active_len = n;
        active_loaded = true;
}

void vat_rates_use_builtin(void)
{
        active = vat_rates_table;
        active_loaded = false;
}

void vat_date_format(long date, char *buf, size_t len)
{
        snprintf(buf, len, "%04ld-%02ld-%02ld", date / 10000, date / 100 % 100, date % 100);
}

enum vat_class vat_rates_class_of(const vat_country *c, int pct_bp)
{
        if (pct_bp == 0)
                return VAT_CLASS_ZERO;
        if (!c)
                return VAT_CLASS_NONE;
        if (pct_bp == c->standard)
                return VAT_CLASS_STANDARD;
        for (int i = 0; i < c->n_reduced; i++) {
                if (c->reduced[i] == pct_bp)
                        return VAT_CLASS_REDUCED;
        }
        if (pct_bp == c->super_reduced)
                return VAT_CLASS_SUPER_REDUCED;
        if (pct_bp == c->parking)
                return VAT_CLASS_PARKING;
        return VAT_CLASS_NONE;
}

const char *vat_class_name(enum vat_class cls)
{
        switch (cls) {
        case VAT_CLASS_STANDARD: return "standard";
        case VAT_CLASS_REDUCED: return "reduced";
        case VAT_CLASS_SUPER_REDUCED: return "super_reduced";
        case VAT_CLASS_PARKING: return "parking";
        case VAT_CLASS_ZERO: return "zero";
        case VAT_CLASS_NONE: break;
        }
        return "";
}

int vat_class_parse(const char *name, enum vat_class *out)
{
        static const struct {
                const char *name;
                enum vat_class cls;
        } names[] = {
                { "standard", VAT_CLASS_STANDARD },
                { "reduced", VAT_CLASS_REDUCED },
                { "super_reduced", VAT_CLASS_SUPER_REDUCED },
                { "super-reduced", VAT_CLASS_SUPER_REDUCED },
                { "parking", VAT_CLASS_PARKING },
                { "zero", VAT_CLASS_ZERO },
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (!strcmp(names[i].name, name)) {
                        *out = names[i].cls;
                        return 0;
                }
        }
        return -1;
}

void vat_pct_format(int pct_bp, char *buf, size_t len)
{
        int whole = pct_bp / 100;
        int frac = pct_bp % 100;

        if (frac < 0)
                frac = -frac;
        if (frac == 0)
                snprintf(buf, len, "%d", whole);
        else if (frac % 10 == 0)
                snprintf(buf, len, "%d.%d", whole, frac / 10);
        else
                snprintf(buf, len, "%d.%02d", whole, frac);
}
