#include "common/http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

struct cx_http_client {
        CURL *curl;
        long default_timeout_ms;
        bool insecure;
};

struct collect {
        cx_http_response *resp;
        bool too_big;
};

void cx_http_global_init(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cx_http_global_cleanup(void)
{
        curl_global_cleanup();
}

cx_http_client *cx_http_client_new(long default_timeout_ms, bool insecure)
{
        cx_http_client *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->curl = curl_easy_init();
        if (!c->curl) {
                free(c);
                return NULL;
        }
        c->default_timeout_ms = default_timeout_ms > 0 ? default_timeout_ms : 30000;
        c->insecure = insecure;
        if (insecure)
                cx_log(CX_LOG_WARN, "http.insecure", "TLS verification is off for this client");
        return c;
}

void cx_http_client_free(cx_http_client *c)
{
        if (!c)
                return;
        curl_easy_cleanup(c->curl);
        free(c);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
        struct collect *col = ud;
        cx_http_response *r = col->resp;
        size_t n = size * nmemb;
        char *grown;

        if (r->body_len + n > CX_HTTP_MAX_RESPONSE) {
                col->too_big = true;
                return 0; /* aborts the transfer */
        }
        grown = realloc(r->body, r->body_len + n + 1);
        if (!grown)
                return 0;
        r->body = grown;
        memcpy(r->body + r->body_len, data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
        struct collect *col = ud;
        cx_http_response *r = col->resp;
        size_t n = size * nmemb, name_len, vstart, vend;
        char *colon = memchr(data, ':', n);
        char **names, **values;

        if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
                /* A new response (after 100-continue or a redirect): drop older headers. */
                for (size_t i = 0; i < r->n_headers; i++) {
                        free(r->header_names[i]);
                        free(r->header_values[i]);
                }
                r->n_headers = 0;
                return n;
        }
        if (!colon)
                return n;
        name_len = (size_t)(colon - data);
        vstart = name_len + 1;
        while (vstart < n && (data[vstart] == ' ' || data[vstart] == '\t'))
                vstart++;
        vend = n;
        while (vend > vstart &&
               (data[vend - 1] == '\r' || data[vend - 1] == '\n' || data[vend - 1] == ' '))
                vend--;
        names = realloc(r->header_names, (r->n_headers + 1) * sizeof(*names));
        if (!names)
                return 0;
        r->header_names = names;
        values = realloc(r->header_values, (r->n_headers + 1) * sizeof(*values));
        if (!values)
                return 0;
        r->header_values = values;
        names[r->n_headers] = strndup(data, name_len);
        values[r->n_headers] = strndup(data + vstart, vend - vstart);
        if (!names[r->n_headers] || !values[r->n_headers]) {
                free(names[r->n_headers]);
                free(values[r->n_headers]);
                return 0;
        }
        for (char *p = names[r->n_headers]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        r->n_headers++;
        return n;
}

int cx_http_do(cx_http_client *c, const cx_http_client_request *req, cx_http_response *resp,
               cx_err *err)
{
        struct curl_slist *hdrs = NULL;
        struct collect col = { resp, false };
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *h = c->curl;
        CURLcode rc;
        curl_off_t uploaded = 0;

        memset(resp, 0, sizeof(*resp));
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, req->url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         req->timeout_ms ? req->timeout_ms : c->default_timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &col);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &col);
        if (!strcmp(req->method, "GET")) {
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        } else {
                /* libcurl sends a request again, unasked, when a reused connection closes
                 * before any answer: a POST that arrived would be made twice. A write goes on
                 * a connection of its own (never reused, so never resent); its loss is a
                 * write in doubt the caller resolves. */
                curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
                curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        }
        if (req->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        for (const char *const *p = req->headers; p && *p; p++)
                hdrs = curl_slist_append(hdrs, *p);
        /* curl would send "Expect: 100-continue" on large bodies; Exact and CCV gain nothing. */
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        rc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (!resp->body) {
                resp->body = strdup("");
                resp->body_len = 0;
        }
        if (rc == CURLE_OK)
                return 0;
        curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &uploaded);
        /* If a write may have been sent, only a read can tell whether it took effect. */
        resp->ambiguous = strcmp(req->method, "GET") != 0 &&
                          (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                           rc == CURLE_SEND_ERROR || uploaded > 0 || resp->status > 0);
        if (col.too_big)
                return cx_fail(err, CX_ERR_LIMIT, false, "%s %s: response larger than %d bytes",
                               req->method, req->url, CX_HTTP_MAX_RESPONSE);
        return cx_fail(err, CX_ERR_HTTP, true, "%s %s: %s", req->method, req->url,
                       errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

const char *cx_http_header(const cx_http_response *resp, const char *name)
{
        for (size_t i = 0; i < resp->n_headers; i++)
                if (!strcasecmp(resp->header_names[i], name))
                        return resp->header_values[i];
        return NULL;
}

void cx_http_response_free(cx_http_response *resp)
{
        if (!resp)
                return;
        free(resp->body);
        for (size_t i = 0; i < resp->n_headers; i++) {
                free(resp->header_names[i]);
                free(resp->header_values[i]);
        }
        free(resp->header_names);
        free(resp->header_values);
        memset(resp, 0, sizeof(*resp));
}

char *cx_http_escape(const char *s)
{
        char *e = curl_easy_escape(NULL, s, 0);
        char *out = e ? strdup(e) : NULL;

        curl_free(e);
        return out;
}
