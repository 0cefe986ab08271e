#include "panel/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/log.h"
#include "common/metrics.h"
#include "ops/ops_tenants.h"
#include "ops/ops_users.h"
#include "panel/api_deadletters.h"
#include "panel/api_exact.h"
#include "panel/api_onboarding.h"
#include "panel/api_session.h"
#include "panel/api_tenants.h"
#include "panel/api_users.h"
#include "panel/assets.h"
#include "panel/rq.h"

/* ---- the page -------------------------------------------------------------------------- */

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
                        rq_reply_error(q, 500, "out of memory");
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
                rq_reply_error(q, 400, "not a tenant id");
                return;
        }
        if (!rq_may_see(q, t))
                return;
        if (!what && q->n_seg == 3 && get)
                api_tenants_show(q, t);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 4 && get)
                api_tenants_mappings_get(q, t);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 4 && method_is(q, "PUT"))
                api_tenants_mappings_put(q, t, false);
        else if (what && !strcmp(what, "mappings") && q->n_seg == 5 &&
                 !strcmp(q->seg[4], "check") && method_is(q, "POST"))
                api_tenants_mappings_put(q, t, true);
        else if (what && !strcmp(what, "log") && q->n_seg == 4 && get)
                api_tenants_log(q, t);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 4 && get)
                api_deadletters_list(q, t);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 5 && get)
                api_deadletters_action(q, t, q->seg[4], NULL);
        else if (what && !strcmp(what, "deadletters") && q->n_seg == 6 && method_is(q, "POST"))
                api_deadletters_action(q, t, q->seg[4], q->seg[5]);
        else if (what && !strcmp(what, "exact") && q->n_seg == 4 && get)
                api_exact_show(q, t);
        else if (what && !strcmp(what, "exact") && q->n_seg == 5 && !strcmp(q->seg[4], "connect") &&
                 method_is(q, "POST"))
                api_exact_connect(q, t);
        else if (what && !strcmp(what, "preview") && q->n_seg == 4 && method_is(q, "POST"))
                api_tenants_preview(q, t);
        else if (what && !strcmp(what, "onboarding") && (q->n_seg == 4 || q->n_seg == 5))
                api_onboarding(q, t, q->n_seg == 5 ? q->seg[4] : NULL);
        else
                rq_reply_error(q, 404, "no such resource or method");
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
                rq_reply_error(q, 403,
                               "cross-site request refused (Origin does not match the "
                               "panel's address)");
                return;
        }
        if (q->n_seg == 2 && !strcmp(q->seg[1], "login")) {
                if (method_is(q, "POST"))
                        api_session_login(q);
                else
                        rq_reply_error(q, 405, "sign in with POST");
                return;
        }
        /* Without a session: a reset link asked for or used, an invitation accepted. */
        if (q->n_seg == 3 && !strcmp(q->seg[1], "password") && method_is(q, "POST") &&
            (!strcmp(q->seg[2], "forgot") || !strcmp(q->seg[2], "reset"))) {
                if (!strcmp(q->seg[2], "forgot"))
                        api_users_forgot(q);
                else
                        api_users_redeem(q, "reset");
                return;
        }
        if (q->n_seg == 3 && !strcmp(q->seg[1], "invite") && !strcmp(q->seg[2], "accept") &&
            method_is(q, "POST")) {
                api_users_redeem(q, "invite");
                return;
        }
        if (!rq_db(q))
                return;
        if (!rq_cookie(q, rq_cookie_name(q->p), q->token, sizeof(q->token)) ||
            ops_session(q->db, &q->p->policy, q->token, &q->user, q->csrf, &err) < 0) {
                if (err.code != CX_OK && err.code != CX_ERR_NOT_FOUND)
                        rq_reply_err(q, &err);
                else
                        rq_reply_error(q, 401, "not signed in (or the session expired)");
                return;
        }
        if (change) {
                sent = cx_http_request_header(q->req, "X-CSRF-Token");
                if (!sent || !ops_token_equal(sent, q->csrf)) {
                        cx_log_fields(CX_LOG_WARN, "panel.csrf_refused",
                                      json_pack("{s:s, s:s}", "user", q->user.name, "path",
                                                cx_http_request_path(q->req)),
                                      "change without a valid CSRF token refused");
                        rq_reply_error(q, 403,
                                       "missing or wrong X-CSRF-Token header: reload the "
                                       "page and try again");
                        return;
                }
        }
        if (q->n_seg == 2 && !strcmp(q->seg[1], "session") && method_is(q, "GET"))
                rq_reply_json(q, 200, api_session_json(q));
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "logout") && method_is(q, "POST"))
                api_session_logout(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "password") && method_is(q, "POST"))
                api_users_change_password(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "users") && method_is(q, "GET"))
                api_users_list(q);
        else if (q->n_seg == 3 && !strcmp(q->seg[1], "users") && !strcmp(q->seg[2], "invite") &&
                 method_is(q, "POST"))
                api_users_invite(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[1], "tenants") && method_is(q, "GET"))
                api_tenants_list(q);
        else if (q->n_seg >= 3 && q->n_seg <= MAX_SEGS && !strcmp(q->seg[1], "tenants"))
                api_tenant(q);
        else
                rq_reply_error(q, 404, "no such resource or method");
}

/* The client's address for the sign-in limits: the socket's peer, or behind a trusted proxy
 * the last X-Forwarded-For entry (the one that proxy added). */
static void client_addr(rq *q)
{
        const char *fwd = q->p->trust_forwarded ? cx_http_request_header(q->req, "X-Forwarded-For")
                                                : NULL;
        const char *last = fwd ? strrchr(fwd, ',') : NULL;

        if (fwd && *fwd) {
                last = last ? last + 1 : fwd;
                last += strspn(last, " \t");
                snprintf(q->addr, sizeof(q->addr), "%.*s", (int)strcspn(last, " \t"), last);
        }
        if (!q->addr[0])
                cx_http_request_peer(q->req, q->addr, sizeof(q->addr));
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
        q->ops = q->p->ops;
        q->ops.db = NULL;
        client_addr(q);
        rq_security_headers(q);
        split_path(q, path);
        if (q->n_seg >= 1 && !strcmp(q->seg[0], "api"))
                api(q);
        else if (q->n_seg == 2 && !strcmp(q->seg[0], "oauth") && !strcmp(q->seg[1], "callback") &&
                 method_is(q, "GET")) {
                if (rq_db(q))
                        api_exact_callback(q);
        } else if (!(method_is(q, "GET") && serve_asset(q, path)))
                rq_reply_error(q, 404, "no such resource");
        rq_db_release(q);
        snprintf(label, sizeof(label), "status=\"%d\"", reply->status);
        cx_counter_add("cx_panel_requests_total", "panel HTTP requests by status", label, 1);
        sodium_memzero(q->token, sizeof(q->token));
        free(q);
}
