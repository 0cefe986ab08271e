/* client.c: signed CCV Shop requests with a local request budget (see client.h). */
#include "ccv/client.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccv/sign.h"
#include "common/iso8601.h"
#include "common/log.h"
#include "common/metrics.h"

double ccv_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ccv_shop_reset(ccv_shop *s)
{
        for (int i = 0; i < s->n_buckets; i++)
                free(s->buckets[i].stamps);
        memset(s->buckets, 0, sizeof(s->buckets));
        s->n_buckets = 0;
}

void ccv_shop_clear(ccv_shop *s)
{
        ccv_shop_reset(s);
        free(s->secret);
        s->secret = NULL;
}

/* The resource a request counts against: the last path segment that is not an id, as the
 * shop counts "each method in each resource" (orders/1/orderrows -> orderrows). */
static void resource_of(const char *path, char *out, size_t size)
{
        const char *p = path, *end = path + strcspn(path, "?");

        snprintf(out, size, "root");
        while (p < end) {
                size_t len;

                while (p < end && *p == '/')
                        p++;
                len = strcspn(p, "/?");
                if (p + len > end)
                        len = (size_t)(end - p);
                if (len && strspn(p, "0123456789") < len)
                        snprintf(out, size, "%.*s", (int)len, p);
                p += len;
        }
}

static ccv_bucket *bucket_for(ccv_shop *s, const char *key, int limit)
{
        size_t kl = strnlen(key, sizeof(s->buckets[0].key) - 1);
        int i;
        ccv_bucket *b;

        for (i = 0; i < s->n_buckets; i++)
                if (!strcmp(s->buckets[i].key, key))
                        return &s->buckets[i];
        /* Few resources exist; reuse the last bucket if more show up than we keep. */
        i = s->n_buckets < CCV_MAX_BUCKETS ? s->n_buckets++ : CCV_MAX_BUCKETS - 1;
        b = &s->buckets[i];
        free(b->stamps);
        memset(b, 0, sizeof(*b));
        memcpy(b->key, key, kl);
        b->key[kl] = '\0';
        b->stamps = calloc((size_t)(limit > 0 ? limit : 1), sizeof(double));
        return b->stamps ? b : NULL;
}

/* Seconds until one more request fits in the window (0: now), counting it when it does. */
static double budget_take(ccv_shop *s, const char *method, const char *resource)
{
        int limit = strcmp(method, "GET") ? s->write_limit : s->get_limit;
        char key[80];
        ccv_bucket *b;
        double now = ccv_now(), oldest;

        if (limit <= 0)
                return 0;
        snprintf(key, sizeof(key), "%s %s", method, resource);
        b = bucket_for(s, key, limit);
        if (!b)
                return 0;
        if (b->n == limit) {
                oldest = b->stamps[b->head];
                /* a small margin keeps our window strictly inside the shop's */
                if (now - oldest < s->window_s + 0.05)
                        return oldest + s->window_s + 0.05 - now;
                b->head = (b->head + 1) % limit;
                b->n--;
        }
        b->stamps[(b->head + b->n) % limit] = now;
        b->n++;
        return 0;
}

/* Path and query of an absolute URL: what the shop signs. */
static const char *uri_of(const char *url)
{
        const char *p = strstr(url, "://");

        p = p ? strchr(p + 3, '/') : NULL;
        return p ? p : "/";
}

static void count(const ccv_shop *s, const char *name, const char *help)
{
        char label[160];

        cx_metrics_label(label, sizeof(label), "tenant", s->tenant);
        cx_counter_add(name, help, label, 1);
}

/* A 2xx answer must be signed by the shop over its body with the request's method and uri. */
static ccv_status verify_response(const ccv_shop *s, const cx_http_response *resp,
                                  const char *method, const char *path, const char *uri,
                                  cx_err *err)
{
        const char *rdate = cx_http_header(resp, "x-date");
        const char *rhash = cx_http_header(resp, "x-hash");
        char want[129];

        if (!rdate || !rhash) {
                cx_fail(err, CX_ERR_CRYPTO, true, "%s %s: response not signed (no x-date/x-hash)",
                        method, path);
                return CCV_FAILED;
        }
        ccv_sign(s->public_key, s->secret, method, uri, resp->body ? resp->body : "",
                 resp->body_len, rdate, want);
        if (strlen(rhash) != 128 || CRYPTO_memcmp(rhash, want, 128) != 0) {
                cx_fail(err, CX_ERR_CRYPTO, true, "%s %s: response signature does not match",
                        method, path);
                return CCV_FAILED;
        }
        return CCV_OK;
}

/* The status class of an answer; CCV_OK for 2xx. */
static ccv_status check_status(ccv_shop *s, const cx_http_response *resp, const char *method,
                               const char *path, double *wait_s, cx_err *err)
{
        if (resp->status == 429) {
                const char *ra = cx_http_header(resp, "retry-after");
                char *end = NULL;
                double v = ra ? strtod(ra, &end) : 0;

                count(s, "cx_extractor_throttled_total", "429 answers from CCV Shop, per tenant");
                *wait_s = ra && end && end != ra && v > 0 && v < 3600 ? v : s->window_s;
                cx_fail(err, CX_ERR_LIMIT, true, "%s %s: HTTP 429 (throttled)", method, path);
                return CCV_THROTTLED;
        }
        if (resp->status == 404) {
                cx_fail(err, CX_ERR_NOT_FOUND, false, "%s %s: HTTP 404", method, path);
                return CCV_NOT_FOUND;
        }
        if (resp->status < 200 || resp->status > 299) {
                cx_fail(err, CX_ERR_HTTP, resp->status >= 500 || resp->status == 408,
                        "%s %s: HTTP %ld: %.200s", method, path, resp->status,
                        resp->body ? resp->body : "");
                return CCV_FAILED;
        }
        return CCV_OK;
}

ccv_status ccv_request(ccv_shop *s, cx_http_client *hc, const char *method, const char *path,
                       const char *body, json_t **out, double *wait_s, cx_err *err)
{
        char url[2048], date[32], hash[129], hdr_pub[300], hdr_date[48], hdr_hash[140];
        char resource[64];
        const char *headers[6];
        cx_http_client_request req = { 0 };
        cx_http_response resp = { 0 };
        const char *uri;
        size_t blen = body ? strlen(body) : 0;
        ccv_status st;
        json_error_t jerr;
        double wait;

        *out = NULL;
        *wait_s = 0;
        if (!s->secret || !*s->secret) {
                /* a tenant whose secret was never opened: refuse, never sign with nothing */
                cx_fail(err, CX_ERR_CONFIG, false, "%s %s: tenant %s has no shop secret loaded",
                        method, path, s->tenant);
                return CCV_FAILED;
        }
        resource_of(path, resource, sizeof(resource));
        wait = budget_take(s, method, resource);
        if (wait > 0) {
                *wait_s = wait;
                cx_fail(err, CX_ERR_LIMIT, true, "request budget for %s %s spent", method,
                        resource);
                return CCV_BUDGET;
        }
        snprintf(url, sizeof(url), "%s/api/rest/v1/%s", s->base, path[0] == '/' ? path + 1 : path);
        uri = uri_of(url);
        cx_iso8601_format((long long)time(NULL), date, sizeof(date));
        ccv_sign(s->public_key, s->secret, method, uri, body ? body : "", blen, date, hash);
        snprintf(hdr_pub, sizeof(hdr_pub), "x-public: %s", s->public_key);
        snprintf(hdr_date, sizeof(hdr_date), "x-date: %s", date);
        snprintf(hdr_hash, sizeof(hdr_hash), "x-hash: %s", hash);
        headers[0] = hdr_pub;
        headers[1] = hdr_date;
        headers[2] = hdr_hash;
        headers[3] = "Accept: application/json";
        headers[4] = body ? "Content-Type: application/json" : NULL;
        headers[5] = NULL;
        req.method = method;
        req.url = url;
        req.headers = headers;
        req.body = body;
        req.body_len = blen;
        count(s, "cx_extractor_requests_total", "Requests sent to CCV Shop, per tenant");
        {
                double t0 = ccv_now();
                int rc = cx_http_do(hc, &req, &resp, err);
                char ml[32];

                cx_metrics_label(ml, sizeof(ml), "method", method);
                cx_histogram_observe("cx_extractor_request_seconds",
                                     "Time of one request to CCV Shop, answered or not", ml,
                                     ccv_now() - t0);
                if (rc < 0) {
                        cx_http_response_free(&resp);
                        return CCV_FAILED;
                }
        }
        st = check_status(s, &resp, method, path, wait_s, err);
        if (st == CCV_OK && s->verify)
                st = verify_response(s, &resp, method, path, uri, err);
        if (st == CCV_OK && resp.body_len > 0) {
                *out = json_loadb(resp.body, resp.body_len, 0, &jerr);
                if (!*out) {
                        cx_fail(err, CX_ERR_PARSE, true, "%s %s: malformed JSON at %d:%d: %s",
                                method, path, jerr.line, jerr.column, jerr.text);
                        st = CCV_FAILED;
                }
        }
        cx_http_response_free(&resp);
        return st;
}
