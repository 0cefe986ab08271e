/* api: see api.h. */
#include "exact/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"

static void set_msg(exact_result *res, const char *prefix, const char *a)
{
        snprintf(res->message, sizeof(res->message), "%s%.400s", prefix, a ? a : "");
}

/* Exact's error envelope {"error":{"message":{"value":...}}}, the OAuth shape, or the start
 * of whatever came back. */
static void error_text(exact_result *res, const cx_http_response *r)
{
        json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
        const char *v = NULL;

        if (json_is_object(j)) {
                json_t *e = json_object_get(j, "error");

                v = json_string_value(json_object_get(json_object_get(e, "message"), "value"));
                if (!v)
                        v = json_string_value(json_object_get(j, "error_description"));
                if (!v)
                        v = json_string_value(e);
        }
        if (v && *v)
                snprintf(res->message, sizeof(res->message), "HTTP %ld: %s", r->status, v);
        else if (r->body_len)
                snprintf(res->message, sizeof(res->message), "HTTP %ld: %.200s", r->status,
                         r->body);
        else
                snprintf(res->message, sizeof(res->message), "HTTP %ld with an empty body",
                         r->status);
        for (char *p = res->message; *p; p++) {
                if (*p == '\r' || *p == '\n')
                        *p = ' ';
        }
        json_decref(j);
}

int exact_call(exact_conn *c, exact_budget *budget, const char *method, const char *endpoint,
               const char *query, const json_t *body, exact_result *res)
{
        cx_http_response r = { 0 };
        cx_http_client_request req = { 0 };
        cx_err err = { 0 };
        char *url = NULL, *auth = NULL, *text = NULL;
        const char *headers[6];
        size_t n = 0;
        int rc;

        memset(res, 0, sizeof(*res));
        if (asprintf(&url, "%s/api/v1/%ld/%s%s%s", c->base_url, c->division, endpoint,
                     query ? "?" : "", query ? query : "") < 0)
                return -1;
        if (asprintf(&auth, "Authorization: Bearer %s", c->access_token) < 0) {
                free(url);
                return -1;
        }
        headers[n++] = auth;
        headers[n++] = "Accept: application/json";
        headers[n++] = "Prefer: return=representation";
        if (body) {
                headers[n++] = "Content-Type: application/json";
                text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
                if (!text) {
                        free(url);
                        free(auth);
                        return -1;
                }
        }
        headers[n] = NULL;
        req.method = method;
        req.url = url;
        req.headers = headers;
        req.body = text;
        req.body_len = text ? strlen(text) : 0;
        req.timeout_ms = c->timeout_ms;
        {
                struct timespec t0, t1;
                char ml[32];

                clock_gettime(CLOCK_MONOTONIC, &t0);
                rc = cx_http_do(c->http, &req, &r, &err);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                cx_metrics_label(ml, sizeof(ml), "method", method);
                cx_histogram_observe("cx_exact_request_seconds",
                                     "Time of one call to the Exact REST API, answered or not", ml,
                                     (double)(t1.tv_sec - t0.tv_sec) +
                                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        }
        if (budget)
                exact_budget_update(budget, cx_http_header(&r, "x-ratelimit-limit"),
                                    cx_http_header(&r, "x-ratelimit-remaining"),
                                    cx_http_header(&r, "x-ratelimit-reset"),
                                    cx_http_header(&r, "x-ratelimit-minutely-limit"),
                                    cx_http_header(&r, "x-ratelimit-minutely-remaining"),
                                    cx_http_header(&r, "x-ratelimit-minutely-reset"));
        res->status = r.status;
        if (rc < 0) {
                res->outcome = EX_NETWORK;
                res->ambiguous = r.ambiguous;
                set_msg(res, "no answer from Exact: ", err.msg);
        } else if (r.status == 429) {
                res->outcome = EX_RATE_LIMITED;
                set_msg(res, "HTTP 429 Too Many Requests", "");
                if (budget)
                        budget->rate_limited++;
        } else if (r.status == 401) {
                res->outcome = EX_UNAUTHORIZED;
                error_text(res, &r);
        } else if (r.status >= 400 && r.status < 500) {
                res->outcome = EX_CLIENT_ERROR;
                error_text(res, &r);
        } else if (r.status >= 500 || r.status < 200 || r.status >= 300) {
                res->outcome = EX_SERVER_ERROR;
                res->ambiguous = strcmp(method, "GET") != 0;
                error_text(res, &r);
        } else if (r.status == 204) {
                res->outcome = EX_OK;
        } else {
                json_t *j = r.body_len ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
                json_t *d = json_object_get(j, "d");

                if (json_is_object(d) || json_is_array(d)) {
                        res->outcome = EX_OK;
                        res->d = json_incref(d);
                } else {
                        res->outcome = EX_BAD_BODY;
                        res->ambiguous = strcmp(method, "GET") != 0;
                        if (r.body_len)
                                snprintf(res->message, sizeof(res->message),
                                         "HTTP %ld but the body is not Exact's JSON: %.120s",
                                         r.status, r.body);
                        else
                                snprintf(res->message, sizeof(res->message),
                                         "HTTP %ld with an empty body", r.status);
                }
                json_decref(j);
        }
        cx_http_response_free(&r);
        free(text);
        free(url);
        free(auth);
        return 0;
}

void exact_result_clear(exact_result *res)
{
        json_decref(res->d);
        res->d = NULL;
}

json_t *exact_rows(const exact_result *res)
{
        json_t *r;

        if (json_is_array(res->d))
                return res->d;
        r = json_object_get(res->d, "results");
        return json_is_array(r) ? r : NULL;
}

/* "$filter=<filter percent-encoded>&$select=...&$top=1"; takes @p filter (may be NULL). */
static char *first_row_query(char *filter, const char *select)
{
        char *enc = filter ? cx_http_escape(filter) : NULL;
        char *out = NULL;

        if (enc && asprintf(&out, "$filter=%s&$select=%s&$top=1", enc, select) < 0)
                out = NULL;
        free(filter);
        free(enc);
        return out;
}

char *exact_filter_eq(const char *field, const char *value, const char *select)
{
        size_t len = strlen(value);
        char *quoted = malloc(len * 2 + 1);
        char *filter = NULL;
        size_t k = 0;

        if (!quoted)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                quoted[k++] = value[i];
                if (value[i] == '\'')
                        quoted[k++] = '\'';
        }
        quoted[k] = '\0';
        if (asprintf(&filter, "%s eq '%s'", field, quoted) < 0)
                filter = NULL;
        free(quoted);
        return first_row_query(filter, select);
}

char *exact_filter_guid(const char *field, const char *guid, const char *select)
{
        char *filter = NULL;

        if (asprintf(&filter, "%s eq guid'%s'", field, guid) < 0)
                filter = NULL;
        return first_row_query(filter, select);
}

int exact_read_failed(const exact_result *res, const char *what, cx_err *err)
{
        if (res->outcome == EX_CLIENT_ERROR)
                return cx_fail(err, CX_ERR_HTTP, false, "Exact refused %s: %s", what, res->message);
        return cx_fail(err, CX_ERR_HTTP, true, "%s: %s", what, res->message);
}

int exact_lookup(const exact_reader *rd, const char *endpoint, const char *query, const char *what,
                 json_t **row, cx_err *err)
{
        exact_result res;

        *row = NULL;
        cx_err_clear(err);
        if (!query)
                return cx_fail(err, CX_ERR_IO, true, "out of memory");
        if (rd->get(rd->ud, endpoint, query, &res) < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, what, err);
                exact_result_clear(&res);
                return -1;
        }
        *row = json_incref(json_array_get(exact_rows(&res), 0));
        exact_result_clear(&res);
        return 0;
}

void exact_pad_account_code(const char *code, char out[32])
{
        snprintf(out, 32, "%18.18s", code);
}
