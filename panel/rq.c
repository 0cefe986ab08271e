#include "panel/rq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/metrics.h"

bool rq_db(rq *q)
{
        cx_err err = { 0 };

        if (q->db)
                return true;
        q->db = cx_db_pool_take(q->p->pool, 5000, &err);
        if (!q->db) {
                cx_log(CX_LOG_WARN, "panel.db_busy", "%s", err.msg);
                rq_add_header(q, "Retry-After: 2");
                rq_reply_error(q, 503, "the panel is busy: try again in a moment");
                return false;
        }
        q->ops.db = q->db;
        return true;
}

void rq_db_release(rq *q)
{
        cx_db_pool_give(q->p->pool, q->db);
        q->db = NULL;
        q->ops.db = NULL;
}

bool rq_hash_begin(rq *q)
{
        long retry = 0;

        if (!throttle_take(&q->p->throttle, q->addr, &retry)) {
                cx_counter_add("cx_panel_logins_total", "sign-in attempts by result",
                               "result=\"throttled\"", 1);
                rq_add_header(q, "Retry-After: %ld", retry);
                rq_reply_error(q, 429, "too many attempts: wait %ld s before trying again", retry);
                return false;
        }
        if (!throttle_hash_begin(&q->p->throttle, 2000)) {
                cx_counter_add("cx_panel_logins_total", "sign-in attempts by result",
                               "result=\"busy\"", 1);
                rq_add_header(q, "Retry-After: 1");
                rq_reply_error(q, 429, "too many sign-ins at once: try again in a moment");
                return false;
        }
        return true;
}

void rq_hash_end(rq *q)
{
        throttle_hash_end(&q->p->throttle);
}

bool rq_hash_and_db(rq *q)
{
        if (!rq_hash_begin(q))
                return false;
        if (rq_db(q))
                return true;
        rq_hash_end(q);
        return false;
}

const char *rq_cookie_name(const panel *p)
{
        /* The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain. */
        return p->cookie_secure ? "__Host-cx_panel" : "cx_panel";
}

void rq_add_header(rq *q, const char *fmt, ...)
{
        va_list ap;
        char *h = NULL;
        size_t max = sizeof(q->reply->extra_headers) / sizeof(q->reply->extra_headers[0]);

        if ((size_t)q->n_headers >= max)
                return;
        va_start(ap, fmt);
        if (vasprintf(&h, fmt, ap) < 0)
                h = NULL;
        va_end(ap);
        if (h)
                q->reply->extra_headers[q->n_headers++] = h;
}

void rq_security_headers(rq *q)
{
        rq_add_header(q,
                      "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                      "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                      "frame-ancestors 'none'; form-action 'self'");
        rq_add_header(q, "X-Content-Type-Options: nosniff");
        rq_add_header(q, "X-Frame-Options: DENY");
        rq_add_header(q, "Referrer-Policy: no-referrer");
        rq_add_header(q, "Cache-Control: no-store");
}

/* Reply with @p j (stolen). */
void rq_reply_json(rq *q, int status, json_t *j)
{
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        free(q->reply->body);
        q->reply->status = text ? status : 500;
        q->reply->content_type = "application/json";
        q->reply->body = text ? text : strdup("{\"error\":\"out of memory\"}");
        q->reply->len = q->reply->body ? strlen(q->reply->body) : 0;
}

void rq_reply_error(rq *q, int status, const char *fmt, ...)
{
        char msg[700];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        rq_reply_json(q, status, json_pack("{s:s}", "error", msg));
}

/* Map an operation's error to a status; internal details stay in the log. */
void rq_reply_err(rq *q, const cx_err *err)
{
        if (err->code == CX_ERR_DB && !strncmp(err->msg, "57014", 5)) {
                /* statement_timeout (CX_PANEL_STATEMENT_TIMEOUT_MS) */
                rq_reply_error(q, 503,
                               "the search took longer than %ld ms and was stopped: narrow it "
                               "down (a date range, a status, an order id)",
                               q->p->statement_timeout_ms);
                return;
        }
        switch (err->code) {
        case CX_ERR_PARSE:
        case CX_ERR_CONFIG: rq_reply_error(q, 400, "%s", err->msg); return;
        case CX_ERR_INVALID: rq_reply_error(q, 409, "%s", err->msg); return;
        case CX_ERR_NOT_FOUND: rq_reply_error(q, 404, "%s", err->msg); return;
        case CX_ERR_LIMIT: rq_reply_error(q, 429, "%s", err->msg); return;
        case CX_ERR_HTTP: rq_reply_error(q, 502, "%s", err->msg); return;
        case CX_ERR_KAFKA: rq_reply_error(q, 503, "Kafka: %s", err->msg); return;
        default:
                cx_log_fields(CX_LOG_ERROR, "panel.internal",
                              json_pack("{s:s, s:s}", "path", cx_http_request_path(q->req), "code",
                                        cx_code_name(err->code)),
                              "%s", err->msg);
                rq_reply_error(q, 500, "internal error (%s); the panel's log has the details",
                               cx_code_name(err->code));
        }
}

void rq_audit(rq *q, const char *tenant, const char *action, const char *detail)
{
        cx_log_fields(CX_LOG_INFO, "panel.change",
                      json_pack("{s:s, s:s, s:s, s:s}", "user", q->user.name, "role", q->user.role,
                                "tenant", tenant ? tenant : "", "action", action),
                      "%s by %s: %s", action, q->user.name, detail ? detail : "");
}

/* The value of cookie @p name in the Cookie header, copied into @p out. */
bool rq_cookie(const rq *q, const char *name, char *out, size_t size)
{
        const char *h = cx_http_request_header(q->req, "Cookie");
        size_t nlen = strlen(name);

        while (h && *h) {
                while (*h == ' ' || *h == ';')
                        h++;
                if (!strncmp(h, name, nlen) && h[nlen] == '=') {
                        const char *v = h + nlen + 1;
                        size_t vlen = strcspn(v, ";");

                        if (vlen >= size)
                                return false;
                        memcpy(out, v, vlen);
                        out[vlen] = '\0';
                        return true;
                }
                h = strchr(h, ';');
        }
        return false;
}

/* The JSON object in the request body, or NULL after replying why not. */
json_t *rq_body_object(rq *q)
{
        const char *ct = cx_http_request_header(q->req, "Content-Type");
        size_t len;
        const char *body = cx_http_request_body(q->req, &len);
        json_error_t jerr;
        json_t *j;

        if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
                rq_reply_error(q, 415, "send the request body as Content-Type: application/json");
                return NULL;
        }
        if (len > PANEL_MAX_BODY) {
                rq_reply_error(q, 413, "request body too large (%zu bytes; the limit is %d)", len,
                               PANEL_MAX_BODY);
                return NULL;
        }
        j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                rq_reply_error(q, 400, "malformed JSON: %s (line %d, column %d)", jerr.text,
                               jerr.line, jerr.column);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                rq_reply_error(q, 400, "the request body must be a JSON object");
                return NULL;
        }
        return j;
}

bool rq_is_operator(const rq *q)
{
        return !strcmp(q->user.role, "operator");
}

/* Whether the signed-in user may see @p tenant; replies 403 when not. */
bool rq_may_see(rq *q, const char *tenant)
{
        if (rq_is_operator(q) || !strcmp(q->user.tenant, tenant))
                return true;
        rq_reply_error(q, 403, "you have no access to that tenant");
        return false;
}

bool rq_parse_id(const char *s, long long *out)
{
        char *end;
        long long v;

        if (!s || !*s || strlen(s) > 18)
                return false;
        v = strtoll(s, &end, 10);
        if (*end || v <= 0)
                return false;
        *out = v;
        return true;
}

const char *rq_query(rq *q, const char *name)
{
        const char *v = cx_http_request_query(q->req, name);

        return v && *v ? v : NULL;
}

/* @p s with &, <, >, " and ' escaped for HTML (malloc'd), or NULL. */
static char *html_escape(const char *s)
{
        size_t n = 0;
        char *out, *o;

        for (const char *c = s; *c; c++)
                n += strchr("&<>\"'", *c) ? 6 : 1;
        out = malloc(n + 1);
        if (!out)
                return NULL;
        o = out;
        for (const char *c = s; *c; c++) {
                const char *rep = *c == '&'    ? "&amp;"
                                  : *c == '<'  ? "&lt;"
                                  : *c == '>'  ? "&gt;"
                                  : *c == '"'  ? "&quot;"
                                  : *c == '\'' ? "&#39;"
                                               : NULL;

                if (rep) {
                        memcpy(o, rep, strlen(rep));
                        o += strlen(rep);
                } else {
                        *o++ = *c;
                }
        }
        *o = '\0';
        return out;
}

bool rq_lang_en(const rq *q)
{
        const char *s = cx_http_request_header(q->req, "Accept-Language");

        /* The first of Dutch and English the browser names, in its order (q-values aside). */
        while (s && *s) {
                size_t n;

                s += strspn(s, " ,");
                n = strcspn(s, "-;, ");
                if (n == 2 && !strncasecmp(s, "nl", 2))
                        return false;
                if (n == 2 && !strncasecmp(s, "en", 2))
                        return true;
                s += strcspn(s, ",");
        }
        return false;
}

void rq_reply_html(rq *q, int status, const char *title, const char *msg, const char *next)
{
        bool en = rq_lang_en(q);
        char *html = NULL;
        char *etitle = NULL, *emsg = NULL;

        /* Only our own fixed texts and escaped values go into this page. No timed refresh
         * to @p next: the reader decides when to go on (WCAG 2.2.1; axe's meta-refresh). */
        etitle = html_escape(title);
        emsg = html_escape(msg);
        if (!etitle || !emsg ||
            asprintf(&html,
                     "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>%s</title><link rel=\"stylesheet\" href=\"/app.css\"></head>"
                     "<body><main class=\"card narrow\"><h1>%s</h1><p>%s</p>"
                     "<p><a href=\"%s\" data-testid=\"continue\">%s</a></p></main></body></html>",
                     en ? "en" : "nl", etitle, etitle, emsg, next ? next : "/",
                     next ? (en ? "Continue" : "Verder")
                          : (en ? "Back to the control panel" : "Terug naar het controlepaneel")) <
                    0)
                html = NULL;
        free(etitle);
        free(emsg);
        free(q->reply->body);
        q->reply->status = html ? status : 500;
        q->reply->content_type = "text/html; charset=utf-8";
        q->reply->body = html ? html : strdup("out of memory");
        q->reply->len = q->reply->body ? strlen(q->reply->body) : 0;
}
