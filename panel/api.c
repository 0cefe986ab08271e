#include "panel/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/journal.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ops/ops_deadletters.h"
#include "ops/ops_mappings.h"
#include "ops/ops_preview.h"
#include "ops/ops_status.h"
#include "ops/ops_synclog.h"
#include "ops/ops_tenants.h"
#include "panel/assets.h"

#define MAX_SEGS 8

/* One request while it is handled. */
typedef struct rq {
        panel *p;
        const cx_http_request *req;
        cx_http_reply *reply;
        const char *method;
        char pathbuf[512];
        char *seg[MAX_SEGS];
        int n_seg;
        ops_user user;
        char csrf[OPS_TOKEN_LEN + 1];
        char token[OPS_TOKEN_LEN + 1];
        int n_headers;
} rq;

static const char *cookie_name(const panel *p)
{
        /* The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain. */
        return p->cookie_secure ? "__Host-cx_panel" : "cx_panel";
}

static void add_header(rq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_header(rq *q, const char *fmt, ...)
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

static void security_headers(rq *q)
{
        add_header(q, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                   "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                   "frame-ancestors 'none'; form-action 'self'");
        add_header(q, "X-Content-Type-Options: nosniff");
        add_header(q, "X-Frame-Options: DENY");
        add_header(q, "Referrer-Policy: no-referrer");
        add_header(q, "Cache-Control: no-store");
}

/* Reply with @p j (stolen). */
static void reply_json(rq *q, int status, json_t *j)
{
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        free(q->reply->body);
        q->reply->status = text ? status : 500;
        q->reply->content_type = "application/json";
        q->reply->body = text ? text : strdup("{\"error\":\"out of memory\"}");
        q->reply->len = q->reply->body ? strlen(q->reply->body) : 0;
}

static void reply_error(rq *q, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void reply_error(rq *q, int status, const char *fmt, ...)
{
        char msg[700];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        reply_json(q, status, json_pack("{s:s}", "error", msg));
}

/* Map an operation's error to a status; internal details stay in the log. */
static void reply_err(rq *q, const cx_err *err)
{
        switch (err->code) {
        case CX_ERR_PARSE:
        case CX_ERR_CONFIG:
                reply_error(q, 400, "%s", err->msg);
                return;
        case CX_ERR_INVALID:
                reply_error(q, 409, "%s", err->msg);
                return;
        case CX_ERR_NOT_FOUND:
                reply_error(q, 404, "%s", err->msg);
                return;
        case CX_ERR_LIMIT:
                reply_error(q, 429, "%s", err->msg);
                return;
        case CX_ERR_HTTP:
                reply_error(q, 502, "%s", err->msg);
                return;
        case CX_ERR_KAFKA:
                reply_error(q, 503, "Kafka: %s", err->msg);
                return;
        default:
                cx_log_fields(CX_LOG_ERROR, "panel.internal",
                              json_pack("{s:s, s:s}", "path", cx_http_request_path(q->req),
                                        "code", cx_code_name(err->code)),
                              "%s", err->msg);
                reply_error(q, 500, "internal error (%s); the panel's log has the details",
                            cx_code_name(err->code));
        }
}

static void audit(rq *q, const char *tenant, const char *action, const char *detail)
{
        cx_log_fields(CX_LOG_INFO, "panel.change",
                      json_pack("{s:s, s:s, s:s, s:s}", "user", q->user.name, "role",
                                q->user.role, "tenant", tenant ? tenant : "", "action", action),
                      "%s by %s: %s", action, q->user.name, detail ? detail : "");
}

/* The value of cookie @p name in the Cookie header, copied into @p out. */
static bool get_cookie(const rq *q, const char *name, char *out, size_t size)
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
static json_t *body_object(rq *q)
{
        const char *ct = cx_http_request_header(q->req, "Content-Type");
        size_t len;
        const char *body = cx_http_request_body(q->req, &len);
        json_error_t jerr;
        json_t *j;

        if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
                reply_error(q, 415, "send the request body as Content-Type: application/json");
                return NULL;
        }
        if (len > PANEL_MAX_BODY) {
                reply_error(q, 413, "request body too large (%zu bytes; the limit is %d)", len,
                            PANEL_MAX_BODY);
                return NULL;
        }
        j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                reply_error(q, 400, "malformed JSON: %s (line %d, column %d)", jerr.text,
                            jerr.line, jerr.column);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                reply_error(q, 400, "the request body must be a JSON object");
                return NULL;
        }
        return j;
}

static bool is_operator(const rq *q)
{
        return !strcmp(q->user.role, "operator");
}

/* Whether the signed-in user may see @p tenant; replies 403 when not. */
static bool may_see(rq *q, const char *tenant)
{
        if (is_operator(q) || !strcmp(q->user.tenant, tenant))
                return true;
        reply_error(q, 403, "you have no access to that tenant");
        return false;
}

static bool parse_id(const char *s, long long *out)
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

/* ---- session --------------------------------------------------------------------------- */

static json_t *session_json(const rq *q)
{
        json_t *j = json_pack("{s:s, s:s, s:s}", "user", q->user.name, "role", q->user.role,
                              "csrf", q->csrf);

        json_object_set_new(j, "tenant", q->user.tenant[0] ? json_string(q->user.tenant)
                                                           : json_null());
        return j;
}

static void h_login(rq *q)
{
        json_t *b = body_object(q);
        const char *name, *pw;
        long retry = 0;
        cx_err err = { 0 };

        if (!b)
                return;
        name = json_string_value(json_object_get(b, "user"));
        pw = json_string_value(json_object_get(b, "password"));
        if (!name || !pw) {
                json_decref(b);
                reply_error(q, 400, "expected {\"user\": ..., \"password\": ...}");
                return;
        }
        if (ops_login(q->p->d->db, &q->p->policy, name, pw, &q->user, q->token, q->csrf,
                       &retry, &err) < 0) {
                json_decref(b);
                cx_counter_add("cx_panel_logins_total", "sign-in attempts by result",
                               err.code == CX_ERR_LIMIT ? "result=\"throttled\"" :
                               err.code == CX_ERR_INVALID ? "result=\"refused\"" :
                                                            "result=\"error\"", 1);
                if (err.code == CX_ERR_INVALID) {
                        reply_error(q, 401, "%s", err.msg);
                        return;
                }
                if (err.code == CX_ERR_LIMIT)
                        add_header(q, "Retry-After: %ld", retry > 0 ? retry : 1);
                reply_err(q, &err);
                return;
        }
        json_decref(b);
        cx_counter_add("cx_panel_logins_total", "sign-in attempts by result", "result=\"ok\"", 1);
        cx_log_fields(CX_LOG_INFO, "panel.login", json_pack("{s:s, s:s}", "user", q->user.name,
                                                             "role", q->user.role),
                      "panel user %s signed in", q->user.name);
        add_header(q, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
                   cookie_name(q->p), q->token, q->p->policy.session_ttl_s,
                   q->p->cookie_secure ? "; Secure" : "");
        reply_json(q, 200, session_json(q));
}

static void h_logout(rq *q)
{
        cx_err err = { 0 };

        if (ops_logout(q->p->d->db, q->token, &err) < 0) {
                reply_err(q, &err);
                return;
        }
        add_header(q, "Set-Cookie: %s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                   cookie_name(q->p), q->p->cookie_secure ? "; Secure" : "");
        reply_json(q, 200, json_pack("{s:b}", "signed_out", 1));
}

/* ---- tenants --------------------------------------------------------------------------- */

/* healthy, lagging, failing, needs_consent or disabled, from one ops_status() object. */
static void derive_state(const panel *p, json_t *st)
{
        json_t *counts = json_object_get(st, "counts");
        json_t *budget = json_object_get(st, "budget");
        json_t *lag = json_object_get(json_object_get(st, "extraction"), "lag_seconds");
        const char *token = json_string_value(json_object_get(json_object_get(st, "token"),
                                                              "state"));
        const char *state = "healthy", *why = "everything is flowing";
        char buf[160];

        if (!json_is_true(json_object_get(st, "enabled"))) {
                state = "disabled";
                why = "the tenant is switched off";
        } else if (!token || strcmp(token, "ok") != 0) {
                state = "needs_consent";
                why = "Exact Online needs a (new) consent";
        } else if (json_integer_value(json_object_get(counts, "failed")) > 0 ||
                   json_integer_value(json_object_get(budget, "blocked_endpoints")) > 0 ||
                   json_is_string(json_object_get(budget, "parked_until"))) {
                state = "failing";
                snprintf(buf, sizeof(buf), "%lld failed, %lld dead letters open",
                         (long long)json_integer_value(json_object_get(counts, "failed")),
                         (long long)json_integer_value(json_object_get(counts,
                                                                       "dead_letters_open")));
                why = buf;
        } else if (!json_is_integer(lag)) {
                state = "lagging";
                why = "nothing extracted yet";
        } else if (json_integer_value(lag) > p->lag_warn_s) {
                state = "lagging";
                snprintf(buf, sizeof(buf), "last extraction %lld s ago",
                         (long long)json_integer_value(lag));
                why = buf;
        }
        json_object_set_new(st, "state", json_string(state));
        json_object_set_new(st, "state_reason", json_string(why));
}

/* Last successful sync-log entry of @p tenant into @p st as "last_sync". */
static void add_last_sync(panel *p, json_t *st, const char *tenant)
{
        json_object_set_new(st, "last_sync", ops_synclog_last_ok(&p->ops, tenant));
}

static void h_tenants(rq *q)
{
        cx_err err = { 0 };
        json_t *all, *mine, *st;
        size_t i;

        all = ops_status(&q->p->ops, is_operator(q) ? NULL : q->user.tenant, 3, &err);
        if (!all) {
                reply_err(q, &err);
                return;
        }
        if (json_is_object(all)) {
                mine = json_array();
                json_array_append_new(mine, all);
        } else {
                mine = all;
        }
        json_array_foreach(mine, i, st) {
                const char *t = json_string_value(json_object_get(st, "tenant"));

                derive_state(q->p, st);
                add_last_sync(q->p, st, t ? t : "");
        }
        reply_json(q, 200, json_pack("{s:o}", "tenants", mine));
}

static void h_tenant(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->p->ops, t, &err);
        json_t *st = show ? ops_status(&q->p->ops, t, 10, &err) : NULL;

        if (!st) {
                json_decref(show);
                reply_err(q, &err);
                return;
        }
        derive_state(q->p, st);
        add_last_sync(q->p, st, t);
        reply_json(q, 200, json_pack("{s:o, s:o}", "tenant", show, "status", st));
}

/* ---- mappings -------------------------------------------------------------------------- */

static void h_mappings_get(rq *q, const char *t)
{
        cx_err err = { 0 };
        int version = 0;
        json_t *rules = ops_mapping_export(&q->p->ops, t, &version, &err);

        if (!rules && err.code == CX_ERR_NOT_FOUND && ops_tenant_exists(&q->p->ops, t, NULL) == 0) {
                reply_json(q, 200, json_pack("{s:n, s:i}", "rules", "version", 0));
                return;
        }
        if (!rules) {
                reply_err(q, &err);
                return;
        }
        reply_json(q, 200, json_pack("{s:o, s:i}", "rules", rules, "version", version));
}

static void h_mappings_put(rq *q, const char *t, bool check_only)
{
        json_t *b = body_object(q), *res;
        char *text;
        cx_err err = { 0 };

        if (!b)
                return;
        text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        if (!text) {
                reply_error(q, 500, "out of memory");
                return;
        }
        if (check_only) {
                int rc = ops_mapping_check(&q->p->ops, t, text, &err);

                free(text);
                if (rc < 0)
                        reply_error(q, 400, "%s", err.msg);
                else
                        reply_json(q, 200, json_pack("{s:b}", "ok", 1));
                return;
        }
        res = ops_mapping_import(&q->p->ops, t, text, &err);
        free(text);
        if (!res) {
                if (err.code == CX_ERR_PARSE)
                        reply_error(q, 400, "%s", err.msg);
                else
                        reply_err(q, &err);
                return;
        }
        audit(q, t, "mappings.import", "mapping rules replaced");
        reply_json(q, 200, res);
}

/* ---- sync log -------------------------------------------------------------------------- */

static bool one_of(const char *v, const char *const *allowed)
{
        for (; *allowed; allowed++)
                if (!strcmp(v, *allowed))
                        return true;
        return false;
}

static const char *query_or_null(rq *q, const char *name)
{
        const char *v = cx_http_request_query(q->req, name);

        return v && *v ? v : NULL;
}

static void h_log(rq *q, const char *t)
{
        static const char *const statuses[] = { "ok", "failed", "skipped", "info", NULL };
        static const char *const stages[] = { "extract", "transform", "load", "admin", NULL };
        const char *status = query_or_null(q, "status"), *stage = query_or_null(q, "stage");
        const char *entity = query_or_null(q, "entity"), *text = query_or_null(q, "q");
        const char *before = query_or_null(q, "before"), *lim = query_or_null(q, "limit");
        const char *since = query_or_null(q, "since"), *until = query_or_null(q, "until");
        char since_iso[32], until_iso[32];
        ops_synclog_filter f;
        long long n = 100, b;
        long long epoch;
        cx_err err = { 0 };
        json_t *rows, *last;

        if (status && !one_of(status, statuses)) {
                reply_error(q, 400, "status: expected ok, failed, skipped or info");
                return;
        }
        if (stage && !one_of(stage, stages)) {
                reply_error(q, 400, "stage: expected extract, transform, load or admin");
                return;
        }
        if ((entity && strlen(entity) > 64) || (text && strlen(text) > 200)) {
                reply_error(q, 400, "search text too long");
                return;
        }
        if (before && !parse_id(before, &b)) {
                reply_error(q, 400, "before: expected a positive entry id");
                return;
        }
        if (lim && (!parse_id(lim, &n) || n > 500)) {
                reply_error(q, 400, "limit: expected 1 to 500");
                return;
        }
        if ((since && ops_parse_time(since, &epoch, since_iso, &err) < 0) ||
            (until && ops_parse_time(until, &epoch, until_iso, &err) < 0)) {
                reply_error(q, 400, "%s", err.msg);
                return;
        }
        f = (ops_synclog_filter){ .status = status, .stage = stage, .entity = entity,
                                  .text = text, .before = before,
                                  .since = since ? since_iso : NULL,
                                  .until = until ? until_iso : NULL, .limit = n };
        rows = ops_synclog_list(&q->p->ops, t, &f, &err);
        if (!rows) {
                reply_err(q, &err);
                return;
        }
        last = json_array_size(rows) == (size_t)n ?
               json_object_get(json_array_get(rows, json_array_size(rows) - 1), "id") : NULL;
        reply_json(q, 200, json_pack("{s:o, s:O}", "entries", rows, "next_before",
                                     last ? last : json_null()));
}

/* ---- dead letters ---------------------------------------------------------------------- */

/* Dead letter @p ids of tenant @p t (with payload), or NULL after replying 404. A dead letter
 * of another tenant is "not found" too, so ids do not tell what exists elsewhere. */
static json_t *own_dead_letter(rq *q, const char *t, const char *ids, long long *id)
{
        cx_err err = { 0 };
        json_t *dl;

        if (!parse_id(ids, id)) {
                reply_error(q, 400, "dead letter id: expected a positive integer");
                return NULL;
        }
        dl = ops_deadletter_show(&q->p->ops, *id, &err);
        if (!dl && err.code != CX_ERR_NOT_FOUND) {
                reply_err(q, &err);
                return NULL;
        }
        if (!dl || strcmp(json_string_value(json_object_get(dl, "tenant_id")) ?: "", t) != 0) {
                json_decref(dl);
                reply_error(q, 404, "tenant %s has no dead letter %lld", t, *id);
                return NULL;
        }
        return dl;
}

static void h_deadletters(rq *q, const char *t)
{
        const char *state = query_or_null(q, "state");
        cx_err err = { 0 };
        json_t *list = ops_deadletter_list(&q->p->ops, t, state, 200, &err);

        if (!list) {
                reply_err(q, &err);
                return;
        }
        reply_json(q, 200, json_pack("{s:o}", "dead_letters", list));
}

static void h_deadletter_action(rq *q, const char *t, const char *ids, const char *action)
{
        long long id;
        json_t *dl, *b = NULL;
        cx_err err = { 0 };
        int rc;
        char detail[64];

        if (action && !strcmp(action, "drop") && !is_operator(q)) {
                reply_error(q, 403, "only operators may drop dead letters");
                return;
        }
        dl = own_dead_letter(q, t, ids, &id);
        if (!dl)
                return;
        if (!action) {
                reply_json(q, 200, dl);
                return;
        }
        json_decref(dl);
        if (!strcmp(action, "redrive")) {
                if (!q->p->producer && q->p->ops.brokers[0])
                        q->p->producer = cx_producer_new(q->p->ops.brokers, NULL, &err);
                if (!q->p->producer && err.code == CX_OK)
                        cx_fail(&err, CX_ERR_CONFIG, false, "redrive needs Kafka "
                                "(CX_KAFKA_BROKERS)");
                rc = q->p->producer ? ops_deadletter_redrive(&q->p->ops, q->p->producer, id,
                                                             &err) : -1;
        } else if (!strcmp(action, "drop")) {
                b = body_object(q);
                if (!b)
                        return;
                rc = ops_deadletter_drop(&q->p->ops, id,
                                         json_string_value(json_object_get(b, "reason")) ?: "",
                                         &err);
                json_decref(b);
        } else {
                reply_error(q, 404, "no such action");
                return;
        }
        if (rc < 0) {
                reply_err(q, &err);
                return;
        }
        snprintf(detail, sizeof(detail), "dead letter %lld", id);
        audit(q, t, !strcmp(action, "drop") ? "deadletter.drop" : "deadletter.redrive", detail);
        reply_json(q, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
                                     !strcmp(action, "drop") ? "dropped" : "redriven"));
}

/* ---- Exact connection ------------------------------------------------------------------ */

static void callback_url(const panel *p, char *out, size_t size)
{
        if (p->public_url[0])
                snprintf(out, size, "%s/oauth/callback", p->public_url);
        else
                out[0] = '\0';
}

static void h_exact(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->p->ops, t, &err), *out;
        char cb[600];
        static const char *const keep[] = {
                "exact_base_url", "exact_division", "exact_client_id", "exact_client_secret_set",
                "exact_redirect_uri", "token_state", "token_reason", "token_expires_at", NULL
        };

        if (!show) {
                reply_err(q, &err);
                return;
        }
        out = json_object();
        for (const char *const *k = keep; *k; k++)
                json_object_set(out, *k, json_object_get(show, *k) ?: json_null());
        json_decref(show);
        callback_url(q->p, cb, sizeof(cb));
        json_object_set_new(out, "panel_callback", cb[0] ? json_string(cb) : json_null());
        reply_json(q, 200, out);
}

static void h_exact_connect(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->p->ops, t, &err), *start;
        const char *redirect;
        char cb[600];

        if (!show) {
                reply_err(q, &err);
                return;
        }
        callback_url(q->p, cb, sizeof(cb));
        redirect = json_string_value(json_object_get(show, "exact_redirect_uri"));
        if (cb[0] && (!redirect || !*redirect)) {
                ops_tenant_fields f = { 0 };

                /* First consent from the panel: the answer must come back here. */
                f.exact_redirect_uri = cb;
                if (ops_tenant_update(&q->p->ops, t, &f, &err) < 0) {
                        json_decref(show);
                        reply_err(q, &err);
                        return;
                }
        } else if (cb[0] && strcmp(redirect, cb) != 0) {
                reply_error(q, 409, "the tenant's Exact redirect URI is %s, but the panel "
                            "receives consents at %s: an operator must change it (connector-admin"
                            " tenants update --redirect-uri) and in the Exact app", redirect, cb);
                json_decref(show);
                return;
        }
        json_decref(show);
        start = ops_consent_start(&q->p->ops, t, &err);
        if (!start) {
                reply_err(q, &err);
                return;
        }
        json_object_del(start, "state");
        audit(q, t, "exact.consent_start", "consent started");
        reply_json(q, 200, start);
}

/* ---- preview --------------------------------------------------------------------------- */

static void h_preview(rq *q, const char *t)
{
        json_t *b = body_object(q), *res;
        cx_err err = { 0 };

        if (!b)
                return;
        res = ops_preview(&q->p->ops, t, b, &err);
        json_decref(b);
        if (!res) {
                reply_err(q, &err);
                return;
        }
        reply_json(q, 200, res);
}

/* ---- page and consent callback ---------------------------------------------------------- */

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
                const char *rep = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;" :
                                  *c == '"' ? "&quot;" : *c == '\'' ? "&#39;" : NULL;

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

static void reply_html(rq *q, int status, const char *title, const char *msg,
                       const char *next)
{
        char *html = NULL;
        char *etitle = NULL, *emsg = NULL;

        /* Only our own fixed texts and escaped values go into this page. */
        etitle = html_escape(title);
        emsg = html_escape(msg);
        if (!etitle || !emsg ||
            asprintf(&html, "<!doctype html><html><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "%s%s%s<title>%s</title><link rel=\"stylesheet\" href=\"/app.css\"></head>"
                     "<body><main class=\"card narrow\"><h1>%s</h1><p>%s</p>"
                     "<p><a href=\"%s\">Back to the control panel</a></p></main></body></html>",
                     next ? "<meta http-equiv=\"refresh\" content=\"2; url=" : "",
                     next ? next : "", next ? "\">" : "", etitle, etitle, emsg,
                     next ? next : "/") < 0)
                html = NULL;
        free(etitle);
        free(emsg);
        free(q->reply->body);
        q->reply->status = html ? status : 500;
        q->reply->content_type = "text/html; charset=utf-8";
        q->reply->body = html ? html : strdup("out of memory");
        q->reply->len = q->reply->body ? strlen(q->reply->body) : 0;
}

/* Exact sends the browser back here. The session cookie is SameSite=Strict, so a browser
 * arriving from Exact's site does not send it: the proof is the state, 128 random bits
 * stored when a signed-in user started the consent, usable once and for 15 minutes. */
static void h_callback(rq *q)
{
        const char *code = cx_http_request_query(q->req, "code");
        const char *state = cx_http_request_query(q->req, "state");
        const char *error = cx_http_request_query(q->req, "error");
        cx_err err = { 0 };
        char tenant[64], next[128], msg[700];

        if (error) {
                snprintf(msg, sizeof(msg), "Exact Online answered: %.200s", error);
                reply_html(q, 400, "Consent refused", msg, NULL);
                return;
        }
        if (!state || !*state || strlen(state) > 64 || !code || !*code || strlen(code) > 4096) {
                reply_html(q, 400, "Consent failed", "The answer from Exact Online has no code "
                           "or state.", NULL);
                return;
        }
        if (ops_consent_tenant(&q->p->ops, state, tenant, &err) < 0) {
                reply_html(q, 400, "Consent failed", "This consent is unknown or expired: start "
                           "it again with \"Connect to Exact Online\".", NULL);
                return;
        }
        if (ops_consent_complete(&q->p->ops, tenant, code, state, &err) < 0) {
                cx_log_fields(CX_LOG_WARN, "panel.consent_failed",
                              json_pack("{s:s}", "tenant", tenant), "%s", err.msg);
                snprintf(msg, sizeof(msg), "Exact Online did not accept the consent: %s",
                         err.msg);
                reply_html(q, 502, "Consent failed", msg, NULL);
                return;
        }
        cx_log_fields(CX_LOG_INFO, "panel.consent", json_pack("{s:s}", "tenant", tenant),
                      "Exact consent completed for %s", tenant);
        snprintf(next, sizeof(next), "/#/t/%s/exact", tenant);
        snprintf(msg, sizeof(msg), "Tenant %s is connected to Exact Online.", tenant);
        reply_html(q, 200, "Connected", msg, next);
}

static bool serve_asset(rq *q, const char *path)
{
        if (!strcmp(path, "/"))
                path = "/index.html";
        for (const struct panel_asset *a = panel_assets; a->path; a++) {
                if (strcmp(a->path, path) != 0)
                        continue;
                free(q->reply->body);
                q->reply->body = malloc(a->len + 1);
                if (!q->reply->body) {
                        reply_error(q, 500, "out of memory");
                        return true;
                }
                memcpy(q->reply->body, a->data, a->len);
                q->reply->body[a->len] = '\0';
                q->reply->len = a->len;
                q->reply->status = 200;
                q->reply->content_type = a->content_type;
                return true;
        }
        return false;
}

/* ---- dispatch -------------------------------------------------------------------------- */

/* Segments between slashes, empty ones skipped; a deeper path matches no route. */
static void split_path(rq *q, const char *path)
{
        char *s = q->pathbuf;

        snprintf(q->pathbuf, sizeof(q->pathbuf), "%s", path);
        q->n_seg = 0;
        while (s && q->n_seg < MAX_SEGS) {
                char *tok = strsep(&s, "/");

                if (*tok)
                        q->seg[q->n_seg++] = tok;
        }
        if (s && *s)
                q->n_seg = MAX_SEGS + 1;
}

static bool method_is(const rq *q, const char *m)
{
        return !strcmp(q->method, m);
}

static void api_tenant(rq *q)
{
        const char *t = q->seg[2], *what = q->n_seg > 3 ? q->seg[3] : NULL;
        bool get = method_is(q, "GET");

        if (ops_check_tenant_id(t, NULL) < 0) {
                reply_error(q, 400, "not a tenant id");
                return;
        }
        if (!may_see(q, t))
                return;
        if (!what && q->n_seg == 3 && get)
                h_tenant(q, t);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 4 && get)
                h_mappings_get(q, t);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 4 && method_is(q, "PUT"))
                h_mappings_put(q, t, false);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 5 &&
                 !strcmp(q->seg[4], "check") && method_is(q, "POST"))
                h_mappings_put(q, t, true);
        else if (what && !strcmp(what, "log") && q->n_seg == 4 && get)
                h_log(q, t);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 4 && get)
                h_deadletters(q, t);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 5 && get)
                h_deadletter_action(q, t, q->seg[4], NULL);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 6 && method_is(q, "POST"))
                h_deadletter_action(q, t, q->seg[4], q->seg[5]);
        else if (what && !strcmp(what, "exact") && q->n_seg == 4 && get)
                h_exact(q, t);
        else if (what && !strcmp(what, "exact") && q->n_seg == 5 &&
                 !strcmp(q->seg[4], "connect") && method_is(q, "POST"))
                h_exact_connect(q, t);
        else if (what && !strcmp(what, "preview") && q->n_seg == 4 && method_is(q, "POST"))
                h_preview(q, t);
        else
                reply_error(q, 404, "no such resource or method");
}

/* A browser sends Origin with every fetch that changes something; when it names another
 * site than the panel's public address, refuse (defence in depth besides the CSRF token). */
static bool same_origin(const rq *q)
{
        const char *origin = cx_http_request_header(q->req, "Origin");
        const char *slash;
        size_t n;

        if (!origin || !q->p->public_url[0])
                return true;
        slash = strstr(q->p->public_url, "://");
        slash = slash ? strchr(slash + 3, '/') : NULL;
        n = slash ? (size_t)(slash - q->p->public_url) : strlen(q->p->public_url);
        return strlen(origin) == n && !strncasecmp(origin, q->p->public_url, n);
}

static void api(rq *q)
{
        cx_err err = { 0 };
        bool change = !method_is(q, "GET") && !method_is(q, "HEAD");
        const char *sent;

        if (change && !same_origin(q)) {
                reply_error(q, 403, "cross-site request refused (Origin does not match the "
                            "panel's address)");
                return;
        }
        if (q->n_seg == 2 && !strcmp(q->seg[1], "login")) {
                if (method_is(q, "POST"))
                        h_login(q);
                else
                        reply_error(q, 405, "sign in with POST");
                return;
        }
        if (!get_cookie(q, cookie_name(q->p), q->token, sizeof(q->token)) ||
            ops_session(q->p->d->db, &q->p->policy, q->token, &q->user, q->csrf, &err) < 0) {
                if (err.code != CX_OK && err.code != CX_ERR_NOT_FOUND)
                        reply_err(q, &err);
                else
                        reply_error(q, 401, "not signed in (or the session expired)");
                return;
        }
        if (change) {
                sent = cx_http_request_header(q->req, "X-CSRF-Token");
                if (!sent || !ops_token_equal(sent, q->csrf)) {
                        cx_log_fields(CX_LOG_WARN, "panel.csrf_refused",
                                      json_pack("{s:s, s:s}", "user", q->user.name, "path",
                                                cx_http_request_path(q->req)),
                                      "change without a valid CSRF token refused");
                        reply_error(q, 403, "missing or wrong X-CSRF-Token header: reload the "
                                    "page and try again");
                        return;
                }
        }
        if (q->n_seg == 2 && !strcmp(q->seg[1], "session") && method_is(q, "GET"))
                reply_json(q, 200, session_json(q));
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "logout") && method_is(q, "POST"))
                h_logout(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "tenants") && method_is(q, "GET"))
                h_tenants(q);
        else if (q->n_seg >= 3 && q->n_seg <= MAX_SEGS && !strcmp(q->seg[1], "tenants"))
                api_tenant(q);
        else
                reply_error(q, 404, "no such resource or method");
}

void panel_route(void *ud, const cx_http_request *req, cx_http_reply *reply)
{
        rq *q = calloc(1, sizeof(*q));
        const char *path = cx_http_request_path(req);
        char label[64];

        if (!q) {
                cx_http_reply_set(reply, 500, "application/json", "{\"error\":\"out of memory\"}");
                return;
        }
        q->p = ud;
        q->req = req;
        q->reply = reply;
        q->method = cx_http_request_method(req);
        security_headers(q);
        split_path(q, path);
        pthread_mutex_lock(&q->p->lock);
        if (q->n_seg >= 1 && !strcmp(q->seg[0], "api"))
                api(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[0], "oauth") && !strcmp(q->seg[1], "callback")
                 && method_is(q, "GET"))
                h_callback(q);
        else if (!(method_is(q, "GET") && serve_asset(q, path)))
                reply_error(q, 404, "no such resource");
        pthread_mutex_unlock(&q->p->lock);
        snprintf(label, sizeof(label), "status=\"%d\"", reply->status);
        cx_counter_add("cx_panel_requests_total", "panel HTTP requests by status", label, 1);
        sodium_memzero(q->token, sizeof(q->token));
        free(q);
}
