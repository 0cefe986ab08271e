/* ccv_vat.c - see ccv_vat.h */
#include "ccv_vat.h"

#include <stdio.h>
#include <string.h>

static const struct ccv_country countries[] = {
        { "NL", "Nederland", true, 210, 90, 0 },
        { "DE", "Duitsland", true, 190, 70, 0 },
        { "BE", "België", true, 210, 60, 120 },
        { "FR", "Frankrijk", true, 200, 55, 100 },
        { "AT", "Oostenrijk", true, 200, 100, 130 },
        { "IT", "Italië", true, 220, 100, 50 },
        { "ES", "Spanje", true, 210, 100, 40 },
        { "PL", "Polen", true, 230, 80, 50 },
        { "XI", "Noord-Ierland", true, 200, 50, 0 },
        { "MC", "Monaco", false, 0, 0, 0 },
        { "GB", "Verenigd Koninkrijk", false, 0, 0, 0 },
        { "US", "Verenigde Staten", false, 0, 0, 0 },
        { "CH", "Zwitserland", false, 0, 0, 0 },
        { "NO", "Noorwegen", false, 0, 0, 0 },
};

/* Every listed rate (eu-vat-rates.csv: standard, reduced, super-reduced, parking). */
static const struct {
        const char *iso;
        int rates[6];
} real_rates[] = {
        { "NL", { 210, 90 } },          { "DE", { 190, 70 } },       { "BE", { 210, 60, 120 } },
        { "FR", { 200, 55, 100, 21 } }, { "AT", { 200, 100, 130 } }, { "IT", { 220, 50, 100, 40 } },
        { "ES", { 210, 100, 40 } },     { "PL", { 230, 50, 80 } },   { "XI", { 200, 50 } },
};

const struct ccv_country *ccv_country_get(const char *iso)
{
        size_t i;

        for (i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
                if (strcmp(countries[i].iso, iso) == 0)
                        return &countries[i];
        return NULL;
}

bool ccv_rate_is_real(const char *iso, int rate10)
{
        size_t i, j;

        for (i = 0; i < sizeof(real_rates) / sizeof(real_rates[0]); i++) {
                if (strcmp(real_rates[i].iso, iso) != 0)
                        continue;
                for (j = 0; j < 6; j++)
                        if (real_rates[i].rates[j] && real_rates[i].rates[j] == rate10)
                                return true;
        }
        return false;
}

static bool starts(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ccv_vat_destination(const char *iso, const char *postcode, const char **ret_vat_country)
{
        const char *pc = postcode ? postcode : "";
        const struct ccv_country *c;

        *ret_vat_country = iso;
        if (strcmp(iso, "GB") == 0) {
                /* Northern Ireland stays in the EU VAT area for goods. */
                if ((pc[0] == 'B' || pc[0] == 'b') && (pc[1] == 'T' || pc[1] == 't')) {
                        *ret_vat_country = "XI";
                        return true;
                }
                return false;
        }
        if (strcmp(iso, "MC") == 0) {
                *ret_vat_country = "FR";
                return true;
        }
        if (strcmp(iso, "ES") == 0 &&
            (starts(pc, "35") || starts(pc, "38") || starts(pc, "51") || starts(pc, "52")))
                return false;
        if (strcmp(iso, "DE") == 0 && (starts(pc, "27498") || starts(pc, "78266")))
                return false;
        if (strcmp(iso, "IT") == 0 && (starts(pc, "23041") || starts(pc, "22061")))
                return false;
        if (strcmp(iso, "FR") == 0 &&
            (starts(pc, "97") || starts(pc, "986") || starts(pc, "987") || starts(pc, "988")))
                return false;
        c = ccv_country_get(iso);
        return c && c->eu;
}

bool ccv_vatno_supported(const char *iso)
{
        static const char *const ok[] = { "NL", "BE", "DE", "FR", "AT", "IT", "ES" };
        size_t i;

        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (strcmp(ok[i], iso) == 0)
                        return true;
        return false;
}

static bool all_digits(const char *s, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return s[n] == '\0';
}

/* stdnum-style Luhn checksum: 0 means the digit string is Luhn-valid. */
static int luhn_sum(const char *d, size_t n)
{
        int sum = 0;
        size_t i;

        for (i = 0; i < n; i++) {
                int v = d[n - 1 - i] - '0';

                if (i % 2) {
                        v *= 2;
                        v = v / 10 + v % 10;
                }
                sum += v;
        }
        return sum % 10;
}

static bool nl_valid(const char *v)
{
        /* NL + 9 digits + B + 2 digits; mod-97 (2020 btw-id) or 11-proof (RSIN). */
        const char *d = v + 2;
        int s = 0, i, m = 0;
        char num[32];
        size_t k = 0;

        if (strlen(v) != 14 || d[9] != 'B' || d[10] < '0' || d[10] > '9' || d[11] < '0' ||
            d[11] > '9')
                return false;
        for (i = 0; i < 9; i++)
                if (d[i] < '0' || d[i] > '9')
                        return false;
        for (i = 0; i < 8; i++)
                s += (9 - i) * (d[i] - '0');
        s -= d[8] - '0';
        if (((s % 11) + 11) % 11 == 0 && !(d[10] == '0' && d[11] == '0'))
                return true;
        for (i = 0; v[i]; i++) {
                if (v[i] >= 'A' && v[i] <= 'Z')
                        k += (size_t)snprintf(num + k, sizeof(num) - k, "%d", v[i] - 'A' + 10);
                else
                        num[k++] = v[i];
        }
        num[k] = '\0';
        for (i = 0; num[i]; i++)
                m = (m * 10 + (num[i] - '0')) % 97;
        return m == 1;
}

static bool be_valid(const char *v)
{
        const char *d = v + 2;
        long n8 = 0, c;
        int i;

        if (!all_digits(d, 10) || (d[0] != '0' && d[0] != '1'))
                return false;
        for (i = 0; i < 8; i++)
                n8 = n8 * 10 + (d[i] - '0');
        c = (d[8] - '0') * 10 + (d[9] - '0');
        return (n8 + c) % 97 == 0;
}

static int de_check(const char *d)
{
        int p = 10, i;

        for (i = 0; i < 8; i++) {
                int s = (d[i] - '0' + p) % 10;

                if (s == 0)
                        s = 10;
                p = (2 * s) % 11;
        }
        return (11 - p) % 10;
}

static bool de_valid(const char *v)
{
        const char *d = v + 2;

        if (!all_digits(d, 9) || d[0] == '0')
                return false;
        return de_check(d) == d[8] - '0';
}

static bool fr_valid(const char *v)
{
        const char *d = v + 2;
        long siren = 0, key;
        int i;

        if (!all_digits(d, 11))
                return false;
        for (i = 2; i < 11; i++)
                siren = siren * 10 + (d[i] - '0');
        key = (d[0] - '0') * 10 + (d[1] - '0');
        return luhn_sum(d + 2, 9) == 0 && key == (12 + 3 * (siren % 97)) % 97;
}

static bool at_valid(const char *v)
{
        const char *d = v + 3;

        if (v[2] != 'U' || !all_digits(d, 8))
                return false;
        return (6 - luhn_sum(d, 7) + 10) % 10 == d[7] - '0';
}

static bool it_valid(const char *v)
{
        const char *d = v + 2;
        int office;

        if (!all_digits(d, 11) || strncmp(d, "0000000", 7) == 0)
                return false;
        office = (d[7] - '0') * 100 + (d[8] - '0') * 10 + (d[9] - '0');
        if (!((office >= 1 && office <= 100) || office == 120 || office == 121 || office == 888 ||
              office == 999))
                return false;
        return luhn_sum(d, 11) == 0;
}

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

static bool es_valid(const char *v)
{
        const char *d = v + 2;
        long n = 0;
        int i;

        /* Only the DNI form (8 digits + letter) is generated and checked here. */
        if (strlen(d) != 9)
                return false;
        for (i = 0; i < 8; i++) {
                if (d[i] < '0' || d[i] > '9')
                        return false;
                n = n * 10 + (d[i] - '0');
        }
        return d[8] == dni_letters[n % 23];
}

bool ccv_vatno_valid(const char *vat)
{
        if (!vat || strlen(vat) < 4)
                return false;
        if (starts(vat, "NL"))
                return nl_valid(vat);
        if (starts(vat, "BE"))
                return be_valid(vat);
        if (starts(vat, "DE"))
                return de_valid(vat);
        if (starts(vat, "FR"))
                return fr_valid(vat);
        if (starts(vat, "AT"))
                return at_valid(vat);
        if (starts(vat, "IT"))
                return it_valid(vat);
        if (starts(vat, "ES"))
                return es_valid(vat);
        return false;
}

static void digits(struct ccv_rng *rng, char *d, int n)
{
        int i;

        for (i = 0; i < n; i++)
                d[i] = (char)('0' + ccv_rng_range(rng, 0, 9));
        d[n] = '\0';
}

static void make_valid(struct ccv_rng *rng, const char *iso, char *out, size_t len)
{
        char d[16];
        int i, s;

        for (;;) {
                if (strcmp(iso, "NL") == 0) {
                        digits(rng, d, 8);
                        for (s = 0, i = 0; i < 8; i++)
                                s += (9 - i) * (d[i] - '0');
                        if (s % 11 == 10)
                                continue;
                        snprintf(out, len, "NL%s%dB%02d", d, s % 11, (int)ccv_rng_range(rng, 1, 3));
                } else if (strcmp(iso, "BE") == 0) {
                        long n8 = 0;

                        digits(rng, d, 7);
                        for (i = 0; i < 7; i++)
                                n8 = n8 * 10 + (d[i] - '0');
                        snprintf(out, len, "BE0%s%02ld", d, 97 - (n8 % 97));
                } else if (strcmp(iso, "DE") == 0) {
                        digits(rng, d, 8);
                        if (d[0] == '0')
                                d[0] = '1';
                        snprintf(out, len, "DE%s%d", d, de_check(d));
                } else if (strcmp(iso, "FR") == 0) {
                        long siren = 0;

                        digits(rng, d, 8);
                        if (d[0] == '0')
                                d[0] = '3';
                        d[8] = '0';
                        d[9] = '\0';
                        d[8] = (char)('0' + (10 - luhn_sum(d, 9)) % 10);
                        for (i = 0; i < 9; i++)
                                siren = siren * 10 + (d[i] - '0');
                        snprintf(out, len, "FR%02ld%s", (12 + 3 * (siren % 97)) % 97, d);
                } else if (strcmp(iso, "AT") == 0) {
                        digits(rng, d, 7);
                        snprintf(out, len, "ATU%s%d", d, (6 - luhn_sum(d, 7) + 10) % 10);
                } else if (strcmp(iso, "IT") == 0) {
                        digits(rng, d, 7);
                        if (d[0] == '0')
                                d[0] = '1';
                        snprintf(d + 7, sizeof(d) - 7, "%03d0", (int)ccv_rng_range(rng, 1, 100));
                        d[10] = (char)('0' + (10 - luhn_sum(d, 11)) % 10);
                        snprintf(out, len, "IT%s", d);
                } else {
                        long n = 0;

                        digits(rng, d, 8);
                        for (i = 0; i < 8; i++)
                                n = n * 10 + (d[i] - '0');
                        snprintf(out, len, "ES%s%c", d, dni_letters[n % 23]);
                }
                if (ccv_vatno_valid(out))
                        return;
        }
}

void ccv_vatno_make(struct ccv_rng *rng, const char *iso, bool valid, char *out, size_t len)
{
        size_t n, pos;

        make_valid(rng, iso, out, len);
        if (valid)
                return;
        /* Break the check digit / letter; keep the format. */
        n = strlen(out);
        pos = strcmp(iso, "NL") == 0 ? n - 4 : n - 1;
        for (;;) {
                char c = out[pos];

                if (c >= '0' && c <= '9')
                        out[pos] = (char)('0' + (c - '0' + 1) % 10);
                else
                        out[pos] = c == 'Z' ? 'A' : (char)(c + 1);
                if (!ccv_vatno_valid(out))
                        return;
        }
}
