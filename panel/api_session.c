#include "panel/api_session.h"

#include "common/log.h"
#include "common/metrics.h"
#include "ops/ops_users.h"

json_t *api_session_json(const rq *q)
{
        json_t *j = json_pack("{s:s, s:s, s:s}", "user", q->user.name, "role", q->user.role, "csrf",
                              q->csrf);

        json_object_set_new(j, "tenant",
                            q->user.tenant[0] ? json_string(q->user.tenant) : json_null());
        return j;
}

void api_session_login(rq *q)
{
        json_t *b = rq_body_object(q);
        const char *name, *pw;
        long retry = 0;
        cx_err err = { 0 };

        int rc;

        if (!b)
                return;
        name = json_string_value(json_object_get(b, "user"));
        pw = json_string_value(json_object_get(b, "password"));
        if (!name || !pw) {
                json_decref(b);
                rq_reply_error(q, 400, "expected {\"user\": ..., \"password\": ...}");
                return;
        }
        /* The limits come before the database and the hash: a flood costs next to nothing. */
        if (!rq_hash_and_db(q)) {
                json_decref(b);
                return;
        }
        rc = ops_login(q->db, &q->p->policy, name, pw, &q->user, q->token, q->csrf, &retry, &err);
        rq_hash_end(q);
        if (rc < 0) {
                json_decref(b);
                cx_counter_add("cx_panel_logins_total", "sign-in attempts by result",
                               err.code == CX_ERR_LIMIT     ? "result=\"throttled\""
                               : err.code == CX_ERR_INVALID ? "result=\"refused\""
                                                            : "result=\"error\"",
                               1);
                if (err.code == CX_ERR_INVALID) {
                        rq_reply_error(q, 401, "%s", err.msg);
                        return;
                }
                if (err.code == CX_ERR_LIMIT)
                        rq_add_header(q, "Retry-After: %ld", retry > 0 ? retry : 1);
                rq_reply_err(q, &err);
                return;
        }
        json_decref(b);
        cx_counter_add("cx_panel_logins_total", "sign-in attempts by result", "result=\"ok\"", 1);
        cx_log_fields(CX_LOG_INFO, "panel.login",
                      json_pack("{s:s, s:s}", "user", q->user.name, "role", q->user.role),
                      "panel user %s signed in", q->user.name);
        rq_add_header(q, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
                      rq_cookie_name(q->p), q->token, q->p->policy.session_max_s,
                      q->p->cookie_secure ? "; Secure" : "");
        rq_reply_json(q, 200, api_session_json(q));
}

void api_session_logout(rq *q)
{
        cx_err err = { 0 };

        if (ops_logout(q->db, q->token, &err) < 0) {
                rq_reply_err(q, &err);
                return;
        }
        rq_add_header(q, "Set-Cookie: %s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                      rq_cookie_name(q->p), q->p->cookie_secure ? "; Secure" : "");
        rq_reply_json(q, 200, json_pack("{s:b}", "signed_out", 1));
}
