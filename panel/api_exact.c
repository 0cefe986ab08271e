#include "panel/api_exact.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "ops/ops_tenants.h"

static void callback_url(const panel *p, char *out, size_t size)
{
        if (p->public_url[0])
                snprintf(out, size, "%s/oauth/callback", p->public_url);
        else
                out[0] = '\0';
}

void api_exact_show(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->ops, t, &err), *out;
        char cb[600];
        static const char *const keep[] = { "exact_base_url",
                                            "exact_division",
                                            "exact_client_id",
                                            "exact_client_secret_set",
                                            "exact_redirect_uri",
                                            "token_state",
                                            "token_reason",
                                            "token_expires_at",
                                            NULL };

        if (!show) {
                rq_reply_err(q, &err);
                return;
        }
        out = json_object();
        for (const char *const *k = keep; *k; k++)
                json_object_set(out, *k, json_object_get(show, *k) ?: json_null());
        json_decref(show);
        callback_url(q->p, cb, sizeof(cb));
        json_object_set_new(out, "panel_callback", cb[0] ? json_string(cb) : json_null());
        rq_reply_json(q, 200, out);
}

void api_exact_connect(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->ops, t, &err), *start;
        const char *redirect;
        char cb[600];

        if (!show) {
                rq_reply_err(q, &err);
                return;
        }
        callback_url(q->p, cb, sizeof(cb));
        redirect = json_string_value(json_object_get(show, "exact_redirect_uri"));
        if (cb[0] && (!redirect || !*redirect)) {
                ops_tenant_fields f = { 0 };

                /* First consent from the panel: the answer must come back here. */
                f.exact_redirect_uri = cb;
                if (ops_tenant_update(&q->ops, t, &f, &err) < 0) {
                        json_decref(show);
                        rq_reply_err(q, &err);
                        return;
                }
        } else if (cb[0] && strcmp(redirect, cb) != 0) {
                rq_reply_error(
                        q, 409,
                        "the tenant's Exact redirect URI is %s, but the panel "
                        "receives consents at %s: an operator must change it (connector-admin"
                        " tenants update --redirect-uri) and in the Exact app",
                        redirect, cb);
                json_decref(show);
                return;
        }
        json_decref(show);
        start = ops_consent_start(&q->ops, t, &err);
        if (!start) {
                rq_reply_err(q, &err);
                return;
        }
        json_object_del(start, "state");
        rq_audit(q, t, "exact.consent_start", "consent started");
        rq_reply_json(q, 200, start);
}

/* Exact sends the browser back here. The session cookie is SameSite=Strict, so a browser
 * arriving from Exact's site does not send it: the proof is the state, 128 random bits
 * stored when a signed-in user started the consent, usable once and for 15 minutes. */
void api_exact_callback(rq *q)
{
        const char *code = cx_http_request_query(q->req, "code");
        const char *state = cx_http_request_query(q->req, "state");
        const char *error = cx_http_request_query(q->req, "error");
        bool en = rq_lang_en(q);
        const char *failed = en ? "Consent failed" : "Toestemming mislukt";
        cx_err err = { 0 };
        char tenant[64], next[128], msg[700];

        if (error) {
                snprintf(msg, sizeof(msg),
                         en ? "Exact Online answered: %.200s" : "Exact Online antwoordde: %.200s",
                         error);
                rq_reply_html(q, 400, en ? "Consent refused" : "Toestemming geweigerd", msg, NULL);
                return;
        }
        if (!state || !*state || strlen(state) > 64 || !code || !*code || strlen(code) > 4096) {
                rq_reply_html(q, 400, failed,
                              en ? "The answer from Exact Online has no code or state."
                                 : "Het antwoord van Exact Online mist de code of de status.",
                              NULL);
                return;
        }
        if (ops_consent_tenant(&q->ops, state, tenant, &err) < 0) {
                rq_reply_html(q, 400, failed,
                              en ? "This consent is unknown or expired: start it again with "
                                   "\"Connect to Exact Online\"."
                                 : "Deze toestemming is onbekend of verlopen: begin opnieuw "
                                   "met \"Koppelen met Exact Online\".",
                              NULL);
                return;
        }
        if (ops_consent_complete(&q->ops, tenant, code, state, &err) < 0) {
                cx_log_fields(CX_LOG_WARN, "panel.consent_failed",
                              json_pack("{s:s}", "tenant", tenant), "%s", err.msg);
                snprintf(msg, sizeof(msg),
                         en ? "Exact Online did not accept the consent: %s"
                            : "Exact Online accepteerde de toestemming niet: %s",
                         err.msg);
                rq_reply_html(q, 502, failed, msg, NULL);
                return;
        }
        cx_log_fields(CX_LOG_INFO, "panel.consent", json_pack("{s:s}", "tenant", tenant),
                      "Exact consent completed for %s", tenant);
        snprintf(next, sizeof(next), "/#/t/%s/exact", tenant);
        snprintf(msg, sizeof(msg),
                 en ? "Shop %s is connected to Exact Online."
                    : "Winkel %s is gekoppeld aan Exact Online.",
                 tenant);
        rq_reply_html(q, 200, en ? "Connected" : "Gekoppeld", msg, next);
}
