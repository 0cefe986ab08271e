/* ccv_util.c - see ccv_util.h */
#include "ccv_util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

void ccv_rng_seed(struct ccv_rng *r, uint64_t seed)
{
        r->s = seed ^ 0x9e3779b97f4a7c15ULL;
}

uint64_t ccv_rng_next(struct ccv_rng *r)
{
        uint64_t z;

        r->s += 0x9e3779b97f4a7c15ULL;
        z = r->s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

int64_t ccv_rng_range(struct ccv_rng *r, int64_t lo, int64_t hi)
{
        uint64_t span;

        if (hi <= lo)
                return lo;
        span = (uint64_t)(hi - lo) + 1;
        return lo + (int64_t)(ccv_rng_next(r) % span);
}

bool ccv_rng_chance(struct ccv_rng *r, int pct)
{
        return ccv_rng_range(r, 0, 99) < pct;
}

size_t ccv_rng_weighted(struct ccv_rng *r, const int *weights, size_t n)
{
        int64_t total = 0, pick;
        size_t i;

        for (i = 0; i < n; i++)
                total += weights[i];
        pick = ccv_rng_range(r, 0, total - 1);
        for (i = 0; i < n; i++) {
                if (pick < weights[i])
                        return i;
                pick -= weights[i];
        }
        return n - 1;
}

json_t *ccv_money_json(int64_t cents)
{
        if (cents % 100 == 0)
                return json_integer(cents / 100);
        return json_real((double)cents / 100.0);
}

json_t *ccv_rate_json(int rate10)
{
        if (rate10 % 10 == 0)
                return json_integer(rate10 / 10);
        return json_real((double)rate10 / 10.0);
}

int64_t ccv_div_round(int64_t num, int64_t den)
{
        if (num >= 0)
                return (2 * num + den) / (2 * den);
        return -((2 * -num + den) / (2 * den));
}

void ccv_time_format(time_t t, char *buf, size_t len)
{
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Read 1..max digits; returns count read (0 = none). */
static int read_num(const char **p, int max, int *out)
{
        int n = 0, v = 0;

        while (n < max && (*p)[0] >= '0' && (*p)[0] <= '9') {
                v = v * 10 + ((*p)[0] - '0');
                (*p)++;
                n++;
        }
        *out = v;
        return n;
}

int ccv_time_parse(const char *s, bool date_ok, time_t *ret, bool *ret_date_only)
{
        const char *p = s;
        struct tm tm;
        int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 1;
        time_t t;

        if (!s)
                return -EINVAL;
        memset(&tm, 0, sizeof(tm));
        if (read_num(&p, 4, &y) != 4 || *p++ != '-')
                return -EINVAL;
        if (read_num(&p, 2, &mo) < 1 || *p++ != '-')
                return -EINVAL;
        if (read_num(&p, 2, &d) < 1)
                return -EINVAL;
        if (*p == '\0') {
                if (!date_ok)
                        return -EINVAL;
                if (ret_date_only)
                        *ret_date_only = true;
                goto compose;
        }
        if (*p != 'T' && *p != 't' && *p != ' ')
                return -EINVAL;
        p++;
        if (read_num(&p, 2, &h) < 1 || *p++ != ':')
                return -EINVAL;
        if (read_num(&p, 2, &mi) < 1 || *p++ != ':')
                return -EINVAL;
        if (read_num(&p, 2, &se) < 1)
                return -EINVAL;
        if (*p == '.' || *p == ',') {
                int frac;

                p++;
                if (read_num(&p, 9, &frac) < 1)
                        return -EINVAL;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                sign = *p == '-' ? -1 : 1;
                p++;
                if (read_num(&p, 2, &oh) != 2)
                        return -EINVAL;
                if (*p == ':')
                        p++;
                if (read_num(&p, 2, &om) != 2)
                        return -EINVAL;
        } else {
                return -EINVAL;
        }
        if (*p != '\0')
                return -EINVAL;
        if (ret_date_only)
                *ret_date_only = false;
compose:
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || oh > 23 ||
            om > 59)
                return -EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = se;
        t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret = t - sign * (oh * 3600 + om * 60);
        return 0;
}

void ccv_hmac_hex(const char *key, size_t keylen, const char *msg, size_t msglen, char *out)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0, i;

        HMAC(EVP_sha512(), key, (int)keylen, (const unsigned char *)msg, msglen, md, &mdlen);
        for (i = 0; i < mdlen; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[2 * mdlen] = '\0';
}

int ccv_sign(const char *pub, const char *secret, const char *method, const char *uri,
             const char *body, size_t body_len, const char *date, char *out)
{
        struct ccv_buf b = { 0 };
        int r = 0;

        r |= ccv_buf_printf(&b, "%s|%s|%s|", pub, method, uri);
        r |= ccv_buf_add(&b, body ? body : "", body ? body_len : 0);
        r |= ccv_buf_printf(&b, "|%s", date);
        if (r == 0)
                ccv_hmac_hex(secret, strlen(secret), b.data, b.len, out);
        ccv_buf_free(&b);
        return r ? -ENOMEM : 0;
}

int ccv_buf_add(struct ccv_buf *b, const char *p, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *d;

                while (cap < b->len + n + 1)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int ccv_buf_printf(struct ccv_buf *b, const char *fmt, ...)
{
        char small[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t)n < sizeof(small))
                return ccv_buf_add(b, small, (size_t)n);
        {
                char *big = malloc((size_t)n + 1);
                int r;

                if (!big)
                        return -ENOMEM;
                va_start(ap, fmt);
                vsnprintf(big, (size_t)n + 1, fmt, ap);
                va_end(ap);
                r = ccv_buf_add(b, big, (size_t)n);
                free(big);
                return r;
        }
}

void ccv_buf_free(struct ccv_buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *ccv_url_decode(const char *src, size_t n)
{
        char *out = malloc(n + 1);
        size_t i, o = 0;

        if (!out)
                return NULL;
        for (i = 0; i < n; i++) {
                if (src[i] == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
                    hexval(src[i + 2]) >= 0) {
                        out[o++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
                        i += 2;
                } else if (src[i] == '+') {
                        out[o++] = ' ';
                } else {
                        out[o++] = src[i];
                }
        }
        out[o] = '\0';
        return out;
}

int ccv_parse_i64(const char *s, int64_t *ret)
{
        char *end = NULL;
        long long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || !end || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}
