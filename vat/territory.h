/* territory: where an address lies for VAT purposes (EU VAT area, XI, or outside). */
#ifndef VAT_TERRITORY_H
#define VAT_TERRITORY_H

#include <stdbool.h>

enum territory_kind {
        TERRITORY_UNKNOWN = 0, /* not an ISO 3166 country code */
        TERRITORY_EU,          /* inside the EU VAT area (goods); XI counts as inside */
        TERRITORY_OUTSIDE,     /* export: non-EU country or an excluded territory */
};

typedef struct territory {
        enum territory_kind kind;
        char vat_country[3]; /* EU: whose VAT rules apply (MC -> FR, GB+BT -> XI) */
        char iso[3];         /* the country code as given, upper-cased */
        const char *special; /* name of the special territory that decided it, or NULL */
        char region[8];      /* EU: region with its own rates ("PT-30", "PT-20", "AT-JM"), or "" */
        const char *region_name; /* "Madeira", "Azores", "Jungholz/Mittelberg", or NULL */
} territory;

/* Resolves a country code (ISO 3166 alpha-2, case-insensitive; EL is taken as GR) and a
 * postcode (may be NULL or empty). Returns 0, or -1 when the country code is unknown
 * (out->kind is then TERRITORY_UNKNOWN). */
int territory_resolve(const char *country, const char *postcode, territory *out);

/* True when cc is an assigned ISO 3166-1 alpha-2 code (plus XK, XI, EA and IC). */
bool territory_iso_known(const char *cc);

#endif
