#pragma once
/*
 * ccv_util.h - small helpers of the CCV Shop fake: deterministic PRNG, money
 * in cents, ISO-8601 time, HMAC-SHA512 signing and a growable string buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* splitmix64/xorshift style generator: same seed, same sequence everywhere. */
struct ccv_rng {
        uint64_t s;
};

void ccv_rng_seed(struct ccv_rng *r, uint64_t seed);
uint64_t ccv_rng_next(struct ccv_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t ccv_rng_range(struct ccv_rng *r, int64_t lo, int64_t hi);
/* True with probability pct/100. */
bool ccv_rng_chance(struct ccv_rng *r, int pct);
/* Pick an index from weights[0..n). */
size_t ccv_rng_weighted(struct ccv_rng *r, const int *weights, size_t n);

/*
 * Money is int64 cents.  JSON form: integral amounts as JSON integers (CCV
 * sends 590, not 590.0), others as reals.  Dump with CCV_JSON_FLAGS.
 */
#define CCV_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
json_t *ccv_money_json(int64_t cents);
/* Rate in tenths of a percent (55 = 5.5 %) to its JSON number. */
json_t *ccv_rate_json(int rate10);
/* Round num/den half away from zero; den > 0. */
int64_t ccv_div_round(int64_t num, int64_t den);

/* Format @p t as YYYY-MM-DDTHH:MM:SSZ into buf (>= 21 bytes). */
void ccv_time_format(time_t t, char *buf, size_t len);
/*
 * Parse an ISO-8601 instant (Z, +HH:MM, +HHMM, optional fraction, 1-2 digit
 * fields tolerated).  A bare date YYYY-MM-DD is accepted when @p date_ok.
 * Returns 0 and sets *ret, or -EINVAL.
 */
int ccv_time_parse(const char *s, bool date_ok, time_t *ret, bool *ret_date_only);

/* Lowercase hex HMAC-SHA512 of msg keyed with key; out must hold 129 bytes. */
void ccv_hmac_hex(const char *key, size_t keylen, const char *msg, size_t msglen, char *out);
/*
 * Hash of the CCV string to sign "public|METHOD|uri|body|date".
 * out must hold 129 bytes.  Returns 0 or -ENOMEM.
 */
int ccv_sign(const char *pub, const char *secret, const char *method, const char *uri,
             const char *body, size_t body_len, const char *date, char *out);

/* Growable NUL-terminated byte buffer. */
struct ccv_buf {
        char *data;
        size_t len;
        size_t cap;
};

/* Append; returns 0 or -ENOMEM (buffer left valid). */
int ccv_buf_add(struct ccv_buf *b, const char *p, size_t n);
int ccv_buf_printf(struct ccv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ccv_buf_free(struct ccv_buf *b);

/* Percent-decode src[0..n) into a new string (also '+' -> ' '); NULL on OOM. */
char *ccv_url_decode(const char *src, size_t n);
/* Parse a decimal int64 strictly (whole string).  Returns 0 or -EINVAL. */
int ccv_parse_i64(const char *s, int64_t *ret);
