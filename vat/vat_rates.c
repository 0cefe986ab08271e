/* vat_rates: look-ups over the generated table (vat_rates_table.c). */
#include "vat/vat_rates.h"

#include <stdio.h>
#include <string.h>

const struct vat_country *vat_rates_find(const char *iso)
{
        if (!iso)
                return NULL;
        if (!strcmp(iso, "EL"))
                iso = "GR";
        for (size_t i = 0; i < vat_rates_table_len; i++) {
                if (!strcmp(vat_rates_table[i].iso, iso))
                        return &vat_rates_table[i];
        }
        return NULL;
}

enum vat_class vat_rates_class_of(const struct vat_country *c, int pct_bp)
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
