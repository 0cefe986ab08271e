/*
 * fakes/exact/xf_util.c — clock, random numbers, GUIDs, dates, rounding and URL
 * coding helpers for exact-fake.
 */
#include "xf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

static int64_t clock_offset_ms;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

int64_t xf_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms;
}

/* Moves the fake's clock forward; callers hold the state lock. */
void xf_clock_advance(int64_t ms)
{
        clock_offset_ms += ms;
}

void xf_rng_seed(uint64_t seed)
{
        rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

/* splitmix64: tiny, deterministic for a given seed and call order. */
uint64_t xf_rng_next(void)
{
        uint64_t z;

        rng_state += 0x9e3779b97f4a7c15ull;
        z = rng_state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

double xf_rng_unit(void)
{
        return (double)(xf_rng_next() >> 11) / 9007199254740992.0;
}

void xf_guid_new(char out[37])
{
        uint64_t a = xf_rng_next();
        uint64_t b = xf_rng_next();

        /* version 4 / variant 1 bits, like a real random GUID */
        snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
                 (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xfff),
                 (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
                 (unsigned long long)(b & 0xffffffffffffull));
}

bool xf_guid_valid(const char *s)
{
        size_t i;

        if (strlen(s) != 36)
                return false;
        for (i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char)s[i])) {
                        return false;
                }
        }
        return true;
}

/*
 * Half away from zero at two decimals. The tiny nudge makes decimal halves such as
 * 1.005 (stored as 1.00499999...) round the way a person doing the sum on paper would.
 */
double xf_round2(double x)
{
        double c = x * 100.0;

        c += copysign(1e-7, c);
        return round(c) / 100.0;
}

char *xf_date_str(int64_t ms, char *buf, size_t len)
{
        snprintf(buf, len, "/Date(%lld)/", (long long)ms);
        return buf;
}

/* True when @s is a "/Date(ms)/" value; @ret_ms gets the milliseconds. */
bool xf_date_value(const char *s, int64_t *ret_ms)
{
        const char *p;
        char *end;
        long long v;

        if (strncmp(s, "/Date(", 6) != 0)
                return false;
        p = s + 6;
        v = strtoll(p, &end, 10);
        if (end == p)
                return false;
        if (*end == '+' || *end == '-') {
                end++;
                while (isdigit((unsigned char)*end))
                        end++;
        }
        if (strcmp(end, ")/") != 0)
                return false;
        *ret_ms = v;
        return true;
}

/*
 * Parses a request date: "/Date(ms)/" or ISO 8601 "YYYY-MM-DD[THH:MM:SS[.fff]][Z]".
 * Returns 0, or -1 when the text is not a date.
 */
int xf_date_parse(const char *s, int64_t *ret_ms)
{
        struct tm tm;
        int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, frac = 0;
        const char *p;
        time_t t;

        if (xf_date_value(s, ret_ms))
                return 0;
        if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
                return -1;
        p = s + n;
        if (*p == 'T') {
                if (sscanf(p, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 9)
                        return -1;
                p += n;
                if (*p == '.') {
                        int digits = 0;

                        p++;
                        while (isdigit((unsigned char)*p)) {
                                if (digits < 3)
                                        frac = frac * 10 + (*p - '0');
                                digits++;
                                p++;
                        }
                        if (digits == 0)
                                return -1;
                        while (digits < 3) {
                                frac *= 10;
                                digits++;
                        }
                }
        }
        if (*p == 'Z')
                p++;
        if (*p != '\0')
                return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return -1;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        t = timegm(&tm);
        *ret_ms = (int64_t)t * 1000 + frac;
        return 0;
}

char *xf_url_encode(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out = malloc(n * 3 + 1);
        size_t o = 0;
        size_t i;

        if (out == NULL)
                return NULL;
        for (i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '$' ||
                    c == ',' || c == '\'' || c == '(' || c == ')') {
                        out[o++] = (char)c;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 15];
                }
        }
        out[o] = '\0';
        return out;
}

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes form encoding (%XX and '+'); a broken escape is kept literally. */
char *xf_url_decode(const char *s, size_t len)
{
        char *out = malloc(len + 1);
        size_t o = 0;
        size_t i;

        if (out == NULL)
                return NULL;
        for (i = 0; i < len; i++) {
                if (s[i] == '+') {
                        out[o++] = ' ';
                } else if (s[i] == '%' && i + 2 < len + 0 && hexval(s[i + 1]) >= 0 &&
                           hexval(s[i + 2]) >= 0) {
                        out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        return out;
}

/* Right-aligns @in in a field of @width (Exact's Account Code layout). */
void xf_pad_left(const char *in, size_t width, char *out, size_t outlen)
{
        size_t n = strlen(in);

        if (n >= width)
                snprintf(out, outlen, "%s", in);
        else
                snprintf(out, outlen, "%*s", (int)width, in);
}

/* Left-aligns @in in a field of @width (VAT codes, countries). */
void xf_pad_right(const char *in, size_t width, char *out, size_t outlen)
{
        size_t n = strlen(in);

        if (n >= width)
                snprintf(out, outlen, "%s", in);
        else
                snprintf(out, outlen, "%-*s", (int)width, in);
}

void xf_trim(const char *in, char *out, size_t outlen)
{
        const char *b = in;
        size_t n;

        while (*b == ' ')
                b++;
        n = strlen(b);
        while (n > 0 && b[n - 1] == ' ')
                n--;
        if (n >= outlen)
                n = outlen - 1;
        memcpy(out, b, n);
        out[n] = '\0';
}

/*
 * Makes an opaque token: @prefix followed by @nbytes random bytes in a URL-unsafe
 * alphabet that includes '!', as Exact's tokens do. Returns 0 or -1 (no memory).
 */
int xf_random_token(const char *prefix, size_t nbytes, char **ret)
{
        static const char alpha[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_!*";
        size_t plen = strlen(prefix);
        unsigned char *raw = malloc(nbytes);
        char *out = malloc(plen + nbytes + 1);
        size_t i;

        if (raw == NULL || out == NULL) {
                free(raw);
                free(out);
                return -1;
        }
        if (RAND_bytes(raw, (int)nbytes) != 1) {
                for (i = 0; i < nbytes; i++)
                        raw[i] = (unsigned char)xf_rng_next();
        }
        memcpy(out, prefix, plen);
        for (i = 0; i < nbytes; i++)
                out[plen + i] = alpha[raw[i] % (sizeof(alpha) - 1)];
        out[plen + nbytes] = '\0';
        free(raw);
        *ret = out;
        return 0;
}

/*
 * Returns the next non-empty token of *@cursor split at @sep, cutting the string in place,
 * or NULL at the end (a re-entrant replacement for strtok).
 */
char *xf_next_token(char **cursor, char sep)
{
        char *start = *cursor;
        char *end;

        if (start == NULL)
                return NULL;
        while (*start == sep)
                start++;
        if (*start == '\0') {
                *cursor = NULL;
                return NULL;
        }
        end = strchr(start, sep);
        if (end != NULL) {
                *end = '\0';
                *cursor = end + 1;
        } else {
                *cursor = NULL;
        }
        return start;
}

json_t *xf_error_body(const char *msg)
{
        return json_pack("{s:{s:s,s:{s:s,s:s}}}", "error", "code", "", "message", "lang", "",
                         "value", msg);
}
