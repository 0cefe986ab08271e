/* vat_rates: an operator's rates file (eu-vat-rates.csv format) checked and made active. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vat/vat_rates.h"

enum {
        COL_ISO,
        COL_PREFIX,
        COL_NAME,
        COL_AREA,
        COL_CURRENCY,
        COL_STD,
        COL_REDUCED,
        COL_SUPER,
        COL_PARKING,
        COL_FROM,
        COL_TO,
        COL_REGION,
        N_COLS
};

static const char *const col_names[N_COLS] = {
        "iso_code",     "vat_prefix",    "country",       "eu_vat_area",
        "currency",     "standard_rate", "reduced_rates", "super_reduced_rate",
        "parking_rate", "valid_from",    "valid_to",      "region",
};

#define MAX_FIELDS 32

/* Splits one CSV line in place (RFC 4180 quotes, no line breaks inside fields). */
static int split_csv(char *line, char *fields[MAX_FIELDS])
{
        int n = 0;
        char *r = line, *w = line;

        while (n < MAX_FIELDS) {
                bool quoted = *r == '"';

                fields[n++] = w;
                if (quoted)
                        r++;
                for (;; r++) {
                        if (quoted && r[0] == '"' && r[1] == '"') {
                                *w++ = '"';
                                r++;
                        } else if (quoted && r[0] == '"') {
                                quoted = false;
                        } else if (*r == '\0' || *r == '\n' || *r == '\r' ||
                                   (!quoted && *r == ',')) {
                                break;
                        } else {
                                *w++ = *r;
                        }
                }
                if (*r != ',') {
                        *w = '\0';
                        return n;
                }
                r++;
                *w++ = '\0';
        }
        return n;
}

/* "21", "5.5", "25.5", "4.80" -> basis points; "" -> -1 when allowed; -2 when malformed. */
static int parse_bp(const char *s, bool allow_empty)
{
        int whole = 0, frac = 0, digits = 0, fd = 0;

        if (*s == '\0')
                return allow_empty ? -1 : -2;
        for (; isdigit((unsigned char)*s); s++, digits++)
                whole = whole * 10 + (*s - '0');
        if (*s == '.') {
                for (s++; isdigit((unsigned char)*s) && fd < 3; s++, fd++)
                        frac = frac * 10 + (*s - '0');
                if (fd == 0 || fd > 2)
                        return -2;
                if (fd == 1)
                        frac *= 10;
        }
        if (*s != '\0' || digits == 0 || digits > 2 || whole * 100 + frac <= 0)
                return -2;
        return whole * 100 + frac;
}

/* "YYYY-MM-DD" -> YYYYMMDD, "" -> 0, malformed -> -1. */
static long parse_date(const char *s)
{
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int y, m, d;
        char tail;

        if (*s == '\0')
                return 0;
        if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1900 ||
            m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
                return -1;
        return (long)y * 10000 + m * 100 + d;
}

static const vat_country *builtin(const char *iso)
{
        for (size_t i = 0; i < vat_rates_table_len; i++) {
                if (!strcmp(vat_rates_table[i].iso, iso))
                        return &vat_rates_table[i];
        }
        return NULL;
}

struct loaded {
        vat_country *rows;
        int *lines;
        size_t n, cap;
};

static void loaded_free(struct loaded *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free((char *)t->rows[i].iso);
                free((char *)t->rows[i].prefix);
                free((char *)t->rows[i].name);
                free((char *)t->rows[i].currency);
                free((char *)t->rows[i].region);
        }
        free(t->rows);
        free(t->lines);
}

/* The rates columns of one row; NULL, or what is wrong. */
static const char *row_rates(char *f[], int col[], vat_country *c)
{
        char red[64];
        char *save = NULL;

        c->standard = parse_bp(f[col[COL_STD]], false);
        if (c->standard < 0)
                return "standard_rate";
        c->super_reduced = parse_bp(f[col[COL_SUPER]], true);
        c->parking = parse_bp(f[col[COL_PARKING]], true);
        if (c->super_reduced < -1)
                return "super_reduced_rate";
        if (c->parking < -1)
                return "parking_rate";
        snprintf(red, sizeof(red), "%s", f[col[COL_REDUCED]]);
        c->reduced[0] = c->reduced[1] = c->reduced[2] = -1;
        for (char *tok = strtok_r(red, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
                if (c->n_reduced == 3 || (c->reduced[c->n_reduced] = parse_bp(tok, false)) < 0)
                        return "reduced_rates (at most 3, separated by ;)";
                c->n_reduced++;
        }
        return NULL;
}

/* One data row into t; -1 with err naming the line. */
static int add_row(struct loaded *t, char *f[], int nf, int col[], int line, const char *path,
                   char *err, size_t errlen)
{
        vat_country c = { 0 };
        const char *bad;
        char from_s[12], to_s[12];

        for (int k = 0; k < N_COLS; k++) {
                if (col[k] >= nf) {
                        snprintf(err, errlen,
                                 "rates file %s line %d: %d fields, too few for the header", path,
                                 line, nf);
                        return -1;
                }
        }
        if (!builtin(f[col[COL_ISO]])) {
                snprintf(err, errlen,
                         "rates file %s line %d: unknown country \"%s\" (not an EU member state "
                         "or XI)",
                         path, line, f[col[COL_ISO]]);
                return -1;
        }
        bad = row_rates(f, col, &c);
        if (!bad && strlen(f[col[COL_REGION]]) > 7)
                bad = "region (at most 7 characters, e.g. PT-30)";
        c.valid_from = parse_date(f[col[COL_FROM]]);
        c.valid_to = parse_date(f[col[COL_TO]]);
        if (!bad && (c.valid_from < 0 || c.valid_to < 0))
                bad = c.valid_from < 0 ? "valid_from (YYYY-MM-DD)" : "valid_to (YYYY-MM-DD)";
        if (!bad && c.valid_to && c.valid_from > c.valid_to)
                bad = "period: valid_to before valid_from";
        if (!bad && strcmp(f[col[COL_AREA]], "yes") && strcmp(f[col[COL_AREA]], "goods only"))
                bad = "eu_vat_area (yes or goods only)";
        if (bad) {
                snprintf(err, errlen, "rates file %s line %d (%s): bad %s", path, line,
                         f[col[COL_ISO]], bad);
                return -1;
        }
        for (size_t i = 0; i < t->n; i++) {
                const vat_country *o = &t->rows[i];

                if (strcmp(o->iso, f[col[COL_ISO]]) || strcmp(o->region, f[col[COL_REGION]]) ||
                    (o->valid_to && c.valid_from && o->valid_to < c.valid_from) ||
                    (c.valid_to && o->valid_from && c.valid_to < o->valid_from))
                        continue;
                vat_date_format(c.valid_from, from_s, sizeof(from_s));
                vat_date_format(c.valid_to, to_s, sizeof(to_s));
                snprintf(err, errlen,
                         "rates file %s line %d (%s%s%s): period %s..%s overlaps line %d", path,
                         line, o->iso, o->region[0] ? " " : "", o->region,
                         c.valid_from ? from_s : "", c.valid_to ? to_s : "", t->lines[i]);
                return -1;
        }
        c.area = !strcmp(f[col[COL_AREA]], "yes") ? VAT_AREA_EU : VAT_AREA_GOODS_ONLY;
        if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 64;
                t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
                t->lines = realloc(t->lines, t->cap * sizeof(*t->lines));
                if (!t->rows || !t->lines) {
                        snprintf(err, errlen, "rates file %s: out of memory", path);
                        return -1;
                }
        }
        c.iso = strdup(f[col[COL_ISO]]);
        c.prefix = strdup(f[col[COL_PREFIX]]);
        c.name = strdup(f[col[COL_NAME]]);
        c.currency = strdup(f[col[COL_CURRENCY]]);
        c.region = strdup(f[col[COL_REGION]]);
        t->lines[t->n] = line;
        t->rows[t->n++] = c;
        return 0;
}

/* The header's column positions; -1 with err naming a missing column. */
static int read_header(char *line, int col[N_COLS], const char *path, char *err, size_t errlen)
{
        char *f[MAX_FIELDS];
        int nf = split_csv(line, f);

        for (int c = 0; c < N_COLS; c++) {
                col[c] = -1;
                for (int i = 0; i < nf; i++) {
                        if (!strcmp(f[i], col_names[c]))
                                col[c] = i;
                }
                if (col[c] < 0) {
                        snprintf(err, errlen, "rates file %s line 1: no column \"%s\"", path,
                                 col_names[c]);
                        return -1;
                }
        }
        return 0;
}

static int read_file(const char *path, struct loaded *t, char *err, size_t errlen)
{
        FILE *fp = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        int col[N_COLS], lineno = 0, rc = -1;

        if (!fp) {
                snprintf(err, errlen, "rates file %s: cannot open it", path);
                return -1;
        }
        while (getline(&line, &cap, fp) >= 0) {
                char *f[MAX_FIELDS];

                if (++lineno == 1) {
                        if (read_header(line, col, path, err, errlen) != 0)
                                goto out;
                        continue;
                }
                if (line[strspn(line, " \r\n")] == '\0')
                        continue;
                if (add_row(t, f, split_csv(line, f), col, lineno, path, err, errlen) != 0)
                        goto out;
        }
        for (size_t i = 0; i < vat_rates_table_len; i++) {
                bool found = false;

                for (size_t k = 0; k < t->n && !found; k++)
                        found = !strcmp(t->rows[k].iso, vat_rates_table[i].iso);
                if (!found) {
                        snprintf(err, errlen, "rates file %s: no rates for %s", path,
                                 vat_rates_table[i].iso);
                        goto out;
                }
        }
        rc = lineno ? 0 : -1;
        if (rc)
                snprintf(err, errlen, "rates file %s: empty", path);
out:
        free(line);
        fclose(fp);
        return rc;
}

int vat_rates_check_file(const char *path, char *err, size_t errlen)
{
        struct loaded t = { 0 };
        int rc = read_file(path, &t, err, errlen);

        loaded_free(&t);
        return rc;
}

int vat_rates_load_file(const char *path, char *err, size_t errlen)
{
        struct loaded t = { 0 };

        if (read_file(path, &t, err, errlen) != 0) {
                loaded_free(&t);
                return -1;
        }
        free(t.lines);
        /* loaded once at start and kept for the life of the process */
        vat_rates_set_table(t.rows, t.n);
        return 0;
}
