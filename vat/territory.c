/* territory: special VAT territories recognised by country and postcode (Directive Art. 6/7). */
#include "vat/territory.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "vat/vat_rates.h"

/* Two letters per code, sorted; XK (Kosovo), XI (Northern Ireland), EA (Ceuta/Melilla) and
 * IC (Canary Islands) are in common use although not ISO-assigned. */
static const char iso_codes[] =
        "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
        "CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZEAECEEEGEHERESETFIFJFKFM"
        "FOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUICIDIEILIMINIOIQIRIS"
        "ITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMM"
        "MNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPS"
        "PTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTK"
        "TLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSXIXKYEYTZAZMZW";

bool territory_iso_known(const char *cc)
{
        if (!cc || strlen(cc) != 2)
                return false;
        for (const char *p = iso_codes; *p; p += 2) {
                if (p[0] == cc[0] && p[1] == cc[1])
                        return true;
        }
        return false;
}

/* Overseas countries and territories with their own ISO code: all outside the EU VAT area. */
static const char *const outside_codes[][2] = {
        { "EA", "Ceuta/Melilla" },
        { "IC", "Canary Islands" },
        { "GP", "Guadeloupe" },
        { "MQ", "Martinique" },
        { "GF", "French Guiana" },
        { "RE", "Reunion" },
        { "YT", "Mayotte" },
        { "MF", "Saint-Martin" },
        { "PM", "Saint-Pierre-et-Miquelon" },
        { "BL", "Saint-Barthelemy" },
        { "WF", "Wallis and Futuna" },
        { "PF", "French Polynesia" },
        { "NC", "New Caledonia" },
        { "TF", "French Southern Territories" },
        { "AX", "Aland Islands" },
        { "JE", "Jersey" },
        { "GG", "Guernsey" },
        { "IM", "Isle of Man" },
};

static void set_code(char dst[3], const char *src)
{
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = '\0';
}

/* Postcode with spaces and dashes removed, upper case, at most 15 characters. */
static void norm_postcode(const char *in, char *out, size_t len)
{
        size_t k = 0;

        for (; in && *in && k + 1 < len; in++) {
                if (*in == ' ' || *in == '-')
                        continue;
                out[k++] = (char)toupper((unsigned char)*in);
        }
        out[k] = '\0';
}

static bool is_digits(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return false;
        }
        return true;
}

/* Name of the excluded territory a postcode in an EU country lies in, or NULL. */
static const char *special_by_postcode(const char *cc, const char *pc)
{
        if (!strcmp(cc, "ES") && is_digits(pc, 5)) {
                if (!strncmp(pc, "35", 2) || !strncmp(pc, "38", 2))
                        return "Canary Islands";
                if (!strncmp(pc, "51", 2))
                        return "Ceuta";
                if (!strncmp(pc, "52", 2))
                        return "Melilla";
        }
        if (!strcmp(cc, "FR") && is_digits(pc, 5)) {
                if (!strncmp(pc, "97", 2))
                        return "French overseas department/collectivity";
                if (!strncmp(pc, "986", 3) || !strncmp(pc, "987", 3) || !strncmp(pc, "988", 3))
                        return "French overseas collectivity";
        }
        if (!strcmp(cc, "GR") && (!strcmp(pc, "63086") || !strcmp(pc, "63087")))
                return "Mount Athos";
        if (!strcmp(cc, "FI") && is_digits(pc, 5) && !strncmp(pc, "22", 2))
                return "Aland Islands";
        if (!strcmp(cc, "DE")) {
                if (!strcmp(pc, "27498"))
                        return "Heligoland";
                if (!strcmp(pc, "78266"))
                        return "Busingen";
        }
        if (!strcmp(cc, "IT")) {
                if (!strcmp(pc, "23041"))
                        return "Livigno";
                if (!strcmp(pc, "22061"))
                        return "Campione d'Italia";
        }
        return NULL;
}

/* Regions inside the EU VAT area with rates of their own, by postcode (vat.md 1.5). */
static void region_by_postcode(const char *cc, const char *pc, territory *out)
{
        int n;

        if (strlen(pc) < 4 || !isdigit((unsigned char)pc[0]) || !isdigit((unsigned char)pc[1]) ||
            !isdigit((unsigned char)pc[2]) || !isdigit((unsigned char)pc[3]))
                return;
        n = (pc[0] - '0') * 1000 + (pc[1] - '0') * 100 + (pc[2] - '0') * 10 + (pc[3] - '0');
        /* PT: NNNN-NNN, 9000-9499 Madeira, 9500-9999 Azores */
        if (!strcmp(cc, "PT") && n >= 9000) {
                snprintf(out->region, sizeof(out->region), "%s", n < 9500 ? "PT-30" : "PT-20");
                out->region_name = n < 9500 ? "Madeira" : "Azores";
        }
        /* AT: Jungholz 6691; Mittelberg (Riezlern 6991, Hirschegg 6992, Mittelberg 6993) */
        if (!strcmp(cc, "AT") && strlen(pc) == 4 && (n == 6691 || (n >= 6991 && n <= 6993))) {
                snprintf(out->region, sizeof(out->region), "AT-JM");
                out->region_name = n == 6691 ? "Jungholz" : "Mittelberg";
        }
}

int territory_resolve(const char *country, const char *postcode, territory *out)
{
        char cc[3] = "";
        char pc[16];

        memset(out, 0, sizeof(*out));
        if (country && strlen(country) == 2) {
                cc[0] = (char)toupper((unsigned char)country[0]);
                cc[1] = (char)toupper((unsigned char)country[1]);
        }
        if (!strcmp(cc, "EL"))
                set_code(cc, "GR");
        snprintf(out->iso, sizeof(out->iso), "%s", cc);
        if (!territory_iso_known(cc)) {
                out->kind = TERRITORY_UNKNOWN;
                return -1;
        }
        norm_postcode(postcode, pc, sizeof(pc));
        for (size_t i = 0; i < sizeof(outside_codes) / sizeof(outside_codes[0]); i++) {
                if (!strcmp(cc, outside_codes[i][0])) {
                        out->kind = TERRITORY_OUTSIDE;
                        out->special = outside_codes[i][1];
                        return 0;
                }
        }
        if (!strcmp(cc, "MC")) {
                out->kind = TERRITORY_EU;
                set_code(out->vat_country, "FR");
                out->special = "Monaco (French VAT)";
                return 0;
        }
        if (!strcmp(cc, "XI") || (!strcmp(cc, "GB") && !strncmp(pc, "BT", 2))) {
                out->kind = TERRITORY_EU;
                set_code(out->vat_country, "XI");
                out->special = !strcmp(cc, "GB") ? "Northern Ireland (goods)" : NULL;
                return 0;
        }
        const vat_country *vc = vat_rates_find(cc);

        if (!vc || vc->area != VAT_AREA_EU) {
                out->kind = TERRITORY_OUTSIDE;
                return 0;
        }
        out->special = special_by_postcode(cc, pc);
        if (out->special) {
                out->kind = TERRITORY_OUTSIDE;
                return 0;
        }
        out->kind = TERRITORY_EU;
        set_code(out->vat_country, cc);
        region_by_postcode(cc, pc, out);
        return 0;
}
