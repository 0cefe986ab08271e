/* json_fast: see json_fast.h. */
#include "booking/json_fast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- writing */

/* json_dumps spends most of its time outside the text it writes: a hash table of visited
 * containers (keyed by "%p" strings) to catch cycles, a callback per token and snprintf per
 * number. The writer below produces the very same bytes as json_dumps(j, DUMP_FLAGS) by a
 * direct walk. It takes the easy cases itself and gives the rest back to jansson: a real
 * that is not a short decimal is formatted by jansson, and anything it cannot vouch for
 * (deep nesting, which is also how a cycle shows, or invalid UTF-8) makes the caller
 * redo the whole value with json_dumps, so odd input still gets jansson's answer. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define DUMP_MAX_DEPTH 64

struct outbuf {
        char *data;
        size_t len, cap;
        bool failed; /* out of memory */
};

static void out_grow(struct outbuf *o, size_t need)
{
        size_t cap = o->cap ? o->cap : 1024;
        char *p;

        while (cap - o->len < need)
                cap *= 2;
        p = realloc(o->data, cap);
        if (!p) {
                o->failed = true;
                return;
        }
        o->data = p;
        o->cap = cap;
}

static void out_put(struct outbuf *o, const char *s, size_t n)
{
        if (o->cap - o->len < n + 1) {
                out_grow(o, n + 1);
                if (o->failed)
                        return;
        }
        memcpy(o->data + o->len, s, n);
        o->len += n;
}

static void out_byte(struct outbuf *o, char c)
{
        out_put(o, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid, as for jansson). */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
        unsigned int c = s[0], cp;
        size_t n;

        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (left < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Bytes a JSON string carries as they are and that need no UTF-8 check: printable ASCII
 * except the quote and the backslash. */
static const bool plain_ascii[256] = {
        [0x20 ... 0x21] = true, /* 0x22 is '"' */
        [0x23 ... 0x5b] = true, /* 0x5c is '\\' */
        [0x5d ... 0x7f] = true,
};

/* jansson's two-character escapes (by the byte escaped); other control characters are
 * written as \u00XX. */
static const char short_escape[0x80] = {
        ['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
        ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't',
};

/* A JSON string the way jansson writes it without JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH.
 * Returns -1 on invalid UTF-8 (jansson refuses to dump those). */
static int out_string(struct outbuf *o, const char *str, size_t len)
{
        static const char hex[] = "0123456789ABCDEF";
        const unsigned char *s = (const unsigned char *)str;
        size_t run = 0, i = 0;

        out_byte(o, '"');
        while (i < len) {
                unsigned char c = s[i];

                if (plain_ascii[c]) {
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        size_t n = utf8_seq_len(s + i, len - i);

                        if (n == 0)
                                return -1;
                        i += n;
                        continue;
                }
                out_put(o, str + run, i - run);
                if (short_escape[c] != 0) {
                        char e[2] = { '\\', short_escape[c] };

                        out_put(o, e, sizeof(e));
                } else {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

                        out_put(o, u, sizeof(u));
                }
                run = ++i;
        }
        out_put(o, str + run, len - run);
        out_byte(o, '"');
        return 0;
}

static void out_integer(struct outbuf *o, long long v)
{
        char buf[24];
        char *p = buf + sizeof(buf);
        /* negate in unsigned arithmetic so LLONG_MIN works too */
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u != 0);
        if (v < 0)
                *--p = '-';
        out_put(o, p, (size_t)(buf + sizeof(buf) - p));
}

/* A real as "%.15g" plus jansson's ".0" for whole numbers. The amounts written here are
 * decimals of at most 6 places (cents, micro-euros, percentages), held as the double nearest
 * to that decimal; for those %.15g prints exactly the decimal, so it can be written from the
 * integer digits. Everything else (and values %g would put in exponent form) goes to jansson. */
static void out_real(struct outbuf *o, const json_t *j)
{
        static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
        double v = json_real_value(j);
        double a = fabs(v);

        if (v == 0.0 && !signbit(v)) {
                out_put(o, "0.0", 3);
                return;
        }
        if (a >= 1e-4 && a < 1e9) {
                for (int k = 0; k < 7; k++) {
                        long long m = llround(v * pow10[k]);

                        if ((double)m / pow10[k] != v)
                                continue;
                        /* m/10^k has at most 15 significant digits: %.15g gives it back */
                        unsigned long long u = m < 0 ? (unsigned long long)-m
                                                     : (unsigned long long)m;
                        char buf[40];
                        char *p = buf + sizeof(buf);

                        if (k == 0) {
                                *--p = '0';
                                *--p = '.';
                        }
                        for (int d = 0; d < k; d++) {
                                *--p = (char)('0' + u % 10);
                                u /= 10;
                        }
                        if (k > 0)
                                *--p = '.';
                        do {
                                *--p = (char)('0' + u % 10);
                                u /= 10;
                        } while (u != 0);
                        if (m < 0)
                                *--p = '-';
                        out_put(o, p, (size_t)(buf + sizeof(buf) - p));
                        return;
                }
        }
        char *s = json_dumps(j, DUMP_FLAGS | JSON_ENCODE_ANY);

        if (!s) {
                o->failed = true;
                return;
        }
        out_put(o, s, strlen(s));
        free(s);
}

/* Returns 0, or -1 when the value must be left to json_dumps. */
static int out_value(struct outbuf *o, const json_t *j, int depth)
{
        if (depth > DUMP_MAX_DEPTH || !j)
                return -1;
        switch (json_typeof(j)) {
        case JSON_NULL: out_put(o, "null", 4); return 0;
        case JSON_TRUE: out_put(o, "true", 4); return 0;
        case JSON_FALSE: out_put(o, "false", 5); return 0;
        case JSON_INTEGER: out_integer(o, (long long)json_integer_value(j)); return 0;
        case JSON_REAL: out_real(o, j); return 0;
        case JSON_STRING: return out_string(o, json_string_value(j), json_string_length(j));
        case JSON_ARRAY:
                out_byte(o, '[');
                for (size_t i = 0; i < json_array_size(j); i++) {
                        if (i > 0)
                                out_byte(o, ',');
                        if (out_value(o, json_array_get(j, i), depth + 1) != 0)
                                return -1;
                }
                out_byte(o, ']');
                return 0;
        case JSON_OBJECT:
                out_byte(o, '{');
                /* insertion order, as json_dumps without JSON_SORT_KEYS */
                for (void *it = json_object_iter((json_t *)j), *first = it; it;
                     it = json_object_iter_next((json_t *)j, it)) {
                        if (it != first)
                                out_byte(o, ',');
                        if (out_string(o, json_object_iter_key(it), json_object_iter_key_len(it)) !=
                            0)
                                return -1;
                        out_byte(o, ':');
                        if (out_value(o, json_object_iter_value(it), depth + 1) != 0)
                                return -1;
                }
                out_byte(o, '}');
                return 0;
        }
        return -1;
}

/* Serialises j into o (not NUL-terminated). Returns 0, or -1 when json_dumps must be used. */
static int out_json(struct outbuf *o, const json_t *j)
{
        if (!json_is_object(j) && !json_is_array(j))
                return -1;
        if (out_value(o, j, 0) != 0 || o->failed)
                return -1;
        return 0;
}

char *booking_dumps(const json_t *j)
{
        struct outbuf o = { 0 };

        if (out_json(&o, j) != 0) {
                free(o.data);
                return json_dumps(j, DUMP_FLAGS);
        }
        o.data[o.len] = '\0';
        return o.data;
}

/* A SHA-256 digest as 64 lowercase hex digits (not NUL-terminated). */
static void hex_digest(const unsigned char md[32], char *out)
{
        static const char hex[] = "0123456789abcdef";

        for (unsigned int i = 0; i < 32; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
}

int booking_content_hash(const json_t *j, char out[72])
{
        struct outbuf o = { 0 };
        unsigned char md[32];
        unsigned int mdlen = 0;
        int rc;

        out[0] = '\0';
        if (out_json(&o, j) != 0) {
                char *s = json_dumps(j, DUMP_FLAGS);

                free(o.data);
                if (!s)
                        return -1;
                o.data = s;
                o.len = strlen(s);
        }
        rc = EVP_Digest(o.data, o.len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32 ? 0 : -1;
        free(o.data);
        if (rc != 0)
                return -1;
        memcpy(out, "sha256:", 7);
        hex_digest(md, out + 7);
        out[71] = '\0';
        return 0;
}

/* The hashed object {"k1":..,"k2":..} serialises to exactly those members' "key":value texts
 * joined by commas, so each member is written once and its text both hashed and kept. */
char *booking_dumps_hashed(const json_t *e, const char *const keys[], size_t n_keys)
{
        size_t start[BOOKING_HASHED_MAX], end[BOOKING_HASHED_MAX];
        bool have[BOOKING_HASHED_MAX] = { false };
        struct outbuf o = { 0 };
        EVP_MD_CTX *ctx = NULL;
        unsigned char md[32];
        unsigned int mdlen = 0;
        bool ok = true, first = true;

        if (n_keys > BOOKING_HASHED_MAX)
                return NULL;
        out_byte(&o, '{');
        for (void *it = json_object_iter((json_t *)e); it && ok;
             it = json_object_iter_next((json_t *)e, it)) {
                const char *key = json_object_iter_key(it);
                size_t klen = json_object_iter_key_len(it);
                size_t at;

                if (it != json_object_iter((json_t *)e))
                        out_byte(&o, ',');
                at = o.len;
                ok = out_string(&o, key, klen) == 0;
                out_byte(&o, ':');
                ok = ok && out_value(&o, json_object_iter_value(it), 1) == 0;
                for (size_t k = 0; k < n_keys; k++) {
                        if (strlen(keys[k]) == klen && !memcmp(keys[k], key, klen)) {
                                start[k] = at;
                                end[k] = o.len;
                                have[k] = true;
                        }
                }
        }
        ctx = EVP_MD_CTX_new();
        ok = ok && !o.failed && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, "{", 1) == 1;
        for (size_t k = 0; k < n_keys && ok; k++) {
                if (!have[k])
                        continue;
                ok = (first || EVP_DigestUpdate(ctx, ",", 1) == 1) &&
                     EVP_DigestUpdate(ctx, o.data + start[k], end[k] - start[k]) == 1;
                first = false;
        }
        ok = ok && EVP_DigestUpdate(ctx, "}", 1) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
             mdlen == 32;
        EVP_MD_CTX_free(ctx);
        if (ok) {
                char tail[96] = ",\"content_hash\":\"sha256:";
                size_t n = strlen(tail);

                hex_digest(md, tail + n);
                n += 64;
                tail[n++] = '"';
                tail[n++] = '}';
                out_put(&o, tail, n);
        }
        if (!ok || o.failed) {
                free(o.data);
                return NULL;
        }
        o.data[o.len] = '\0';
        return o.data;
}

/* ---------------------------------------------------------------- reading */

/* jansson's parser reads through a character stream with a function call and a buffer
 * append per byte; for an order that is most of the transform's time. This reader walks the
 * buffer directly and builds the same tree with the same jansson calls. It only accepts what
 * it is sure of and answers NULL for anything else (errors, \u0000, huge numbers, duplicate
 * keys, deep nesting), so that booking_loadb can hand the text to json_loadb and the result,
 * or the error message, is always jansson's own. */
#define LOAD_MAX_DEPTH 64

struct inbuf {
        const char *p, *end;
        char *scratch; /* unescaped string text */
        size_t scratch_cap;
};

static void in_skip_ws(struct inbuf *in)
{
        while (in->p < in->end &&
               (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t'))
                in->p++;
}

static int in_hex4(const char *p, unsigned int *out)
{
        unsigned int v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned int)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned int)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned int)(c - 'A' + 10);
                else
                        return -1;
        }
        *out = v;
        return 0;
}

/* What the character after a backslash stands for (\u apart); 0 for an invalid escape. */
static const char unescape[0x80] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
};

/* The string at in->p (after the opening quote): points *s at its text, unescaped into the
 * scratch buffer when it has escapes. Returns 0, or -1 when unsure. */
static int in_string(struct inbuf *in, const char **s, size_t *len)
{
        const char *start = in->p;
        size_t n = 0;

        for (;;) {
                if (in->p >= in->end)
                        return -1;
                unsigned char c = (unsigned char)*in->p;

                if (c == '"')
                        break;
                if (c == '\\' || c < 0x20)
                        goto escaped;
                if (c >= 0x80) {
                        size_t k = utf8_seq_len((const unsigned char *)in->p,
                                                (size_t)(in->end - in->p));

                        if (k == 0)
                                return -1;
                        in->p += k;
                } else {
                        in->p++;
                }
        }
        *s = start;
        *len = (size_t)(in->p - start);
        in->p++;
        return 0;
escaped:
        /* an escaped string unescapes to at most its own length */
        n = (size_t)(in->p - start);
        {
                size_t need = (size_t)(in->end - start) + 1;

                if (need > in->scratch_cap) {
                        char *b = realloc(in->scratch, need);

                        if (!b)
                                return -1;
                        in->scratch = b;
                        in->scratch_cap = need;
                }
        }
        memcpy(in->scratch, start, n);
        for (;;) {
                if (in->p >= in->end)
                        return -1;
                unsigned char c = (unsigned char)*in->p;

                if (c == '"')
                        break;
                if (c < 0x20)
                        return -1;
                if (c >= 0x80) {
                        size_t k = utf8_seq_len((const unsigned char *)in->p,
                                                (size_t)(in->end - in->p));

                        if (k == 0)
                                return -1;
                        memcpy(in->scratch + n, in->p, k);
                        n += k;
                        in->p += k;
                        continue;
                }
                if (c != '\\') {
                        in->scratch[n++] = (char)c;
                        in->p++;
                        continue;
                }
                if (in->end - in->p < 2)
                        return -1;
                c = (unsigned char)in->p[1];
                in->p += 2;
                if (c < 0x80 && unescape[c] != 0) {
                        in->scratch[n++] = unescape[c];
                        continue;
                }
                if (c != 'u')
                        return -1;
                unsigned int cp, lo;

                if (in->end - in->p < 4 || in_hex4(in->p, &cp) != 0)
                        return -1;
                in->p += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                        if (in->end - in->p < 6 || in->p[0] != '\\' || in->p[1] != 'u' ||
                            in_hex4(in->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                                return -1;
                        in->p += 6;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                        return -1;
                }
                /* \uXXXX (6 or 12 bytes of input) is never longer as UTF-8 */
                if (cp < 0x80) {
                        in->scratch[n++] = (char)cp;
                } else if (cp < 0x800) {
                        in->scratch[n++] = (char)(0xc0 | (cp >> 6));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                        in->scratch[n++] = (char)(0xe0 | (cp >> 12));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                } else {
                        in->scratch[n++] = (char)(0xf0 | (cp >> 18));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                }
        }
        in->p++;
        *s = in->scratch;
        *len = n;
        return 0;
}

/* A number with jansson's rules: integers as json_integer, anything with a fraction or
 * exponent as the correctly rounded double (what strtod gives). NULL when unsure. */
static json_t *in_number(struct inbuf *in)
{
        static const double pow10[] = { 1,   1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
        const char *start = in->p, *p = in->p;
        bool neg = false, real = false;
        long long mant = 0;
        int digits = 0, frac = 0;

        if (p < in->end && *p == '-') {
                neg = true;
                p++;
        }
        if (p >= in->end || !isdigit((unsigned char)*p))
                return NULL;
        if (*p == '0' && p + 1 < in->end && isdigit((unsigned char)p[1]))
                return NULL;
        for (; p < in->end && isdigit((unsigned char)*p); p++, digits++)
                mant = digits < 18 ? mant * 10 + (*p - '0') : mant;
        if (p < in->end && *p == '.') {
                real = true;
                p++;
                if (p >= in->end || !isdigit((unsigned char)*p))
                        return NULL;
                for (; p < in->end && isdigit((unsigned char)*p); p++, digits++, frac++)
                        mant = digits < 18 ? mant * 10 + (*p - '0') : mant;
        }
        if (p < in->end && (*p == 'e' || *p == 'E')) {
                real = true;
                digits = 99; /* exponents are left to strtod */
                p++;
                if (p < in->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= in->end || !isdigit((unsigned char)*p))
                        return NULL;
                while (p < in->end && isdigit((unsigned char)*p))
                        p++;
        }
        in->p = p;
        if (!real) {
                if (digits > 18)
                        return NULL;
                return json_integer(neg ? -mant : mant);
        }
        /* up to 15 digits: mantissa and power of ten are exact doubles, so one division is
         * the correctly rounded value */
        if (digits <= 15) {
                double v = (double)mant / pow10[frac];

                return json_real(neg ? -v : v);
        }
        char tok[64];
        size_t len = (size_t)(p - start);
        char *endp;

        if (len >= sizeof(tok))
                return NULL;
        memcpy(tok, start, len);
        tok[len] = '\0';
        errno = 0;
        double v = strtod(tok, &endp);

        if (errno != 0 || endp != tok + len || !isfinite(v))
                return NULL;
        return json_real(v);
}

static json_t *in_value(struct inbuf *in, int depth);

/* Past an opening bracket: true when the container closes at once (and steps over close). */
static bool in_empty(struct inbuf *in, char close)
{
        in->p++;
        in_skip_ws(in);
        if (in->p < in->end && *in->p == close) {
                in->p++;
                return true;
        }
        return false;
}

/* After a member or an element: 1 past a comma (more follow), 0 past the closing bracket,
 * -1 for anything else. */
static int in_next(struct inbuf *in, char close)
{
        in_skip_ws(in);
        if (in->p < in->end && *in->p == ',') {
                in->p++;
                in_skip_ws(in);
                return 1;
        }
        if (in->p < in->end && *in->p == close) {
                in->p++;
                return 0;
        }
        return -1;
}

static json_t *in_object(struct inbuf *in, int depth)
{
        json_t *obj = json_object();
        int more = 1;

        if (in_empty(in, '}'))
                return obj;
        while (more == 1) {
                json_t *v;
                char key[256];
                const char *s;
                size_t len, before = json_object_size(obj);

                if (in->p >= in->end || *in->p != '"')
                        break;
                in->p++;
                if (in_string(in, &s, &len) != 0 || len >= sizeof(key))
                        break;
                memcpy(key, s, len);
                key[len] = '\0';
                in_skip_ws(in);
                if (in->p >= in->end || *in->p != ':')
                        break;
                in->p++;
                in_skip_ws(in);
                v = in_value(in, depth + 1);
                /* a duplicate key leaves the size unchanged: jansson decides */
                if (!v || json_object_setn_new_nocheck(obj, key, len, v) != 0 ||
                    json_object_size(obj) != before + 1)
                        break;
                more = in_next(in, '}');
                if (more == 0)
                        return obj;
        }
        json_decref(obj);
        return NULL;
}

static json_t *in_array(struct inbuf *in, int depth)
{
        json_t *arr = json_array();
        int more = 1;

        if (in_empty(in, ']'))
                return arr;
        while (more == 1) {
                json_t *v = in_value(in, depth + 1);

                if (!v || json_array_append_new(arr, v) != 0)
                        break;
                more = in_next(in, ']');
                if (more == 0)
                        return arr;
        }
        json_decref(arr);
        return NULL;
}

static json_t *in_value(struct inbuf *in, int depth)
{
        const char *s;
        size_t len;

        if (depth > LOAD_MAX_DEPTH || in->p >= in->end)
                return NULL;
        switch (*in->p) {
        case '{': return in_object(in, depth);
        case '[': return in_array(in, depth);
        case '"':
                in->p++;
                if (in_string(in, &s, &len) != 0)
                        return NULL;
                return json_stringn_nocheck(s, len);
        case 't':
                if (in->end - in->p >= 4 && !memcmp(in->p, "true", 4)) {
                        in->p += 4;
                        return json_true();
                }
                return NULL;
        case 'f':
                if (in->end - in->p >= 5 && !memcmp(in->p, "false", 5)) {
                        in->p += 5;
                        return json_false();
                }
                return NULL;
        case 'n':
                if (in->end - in->p >= 4 && !memcmp(in->p, "null", 4)) {
                        in->p += 4;
                        return json_null();
                }
                return NULL;
        default: return in_number(in);
        }
}

json_t *booking_loadb(const char *text, size_t len, size_t flags, json_error_t *error)
{
        struct inbuf in = { .p = text, .end = text + len };
        json_t *j = NULL;

        if ((flags & ~(size_t)JSON_REJECT_DUPLICATES) == 0 && text) {
                in_skip_ws(&in);
                if (in.p < in.end && (*in.p == '{' || *in.p == '[')) {
                        j = in_value(&in, 0);
                        in_skip_ws(&in);
                        if (j && in.p != in.end) {
                                json_decref(j);
                                j = NULL;
                        }
                }
                free(in.scratch);
        }
        if (!j)
                return json_loadb(text, len, flags, error);
        if (error) {
                /* what json_loadb leaves in it on success */
                error->text[0] = '\0';
                error->line = -1;
                error->column = -1;
                error->position = len;
                snprintf(error->source, sizeof(error->source), "<buffer>");
        }
        return j;
}
