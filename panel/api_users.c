#include "panel/api_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/log.h"
#include "common/mail.h"
#include "ops/ops.h"
#include "ops/ops_users.h"

void api_users_list(rq *q)
{
        cx_err err = { 0 };
        json_t *users;

        if (!rq_is_operator(q)) {
                rq_reply_error(q, 403, "only operators see the users");
                return;
        }
        users = ops_user_list(q->db, &err);
        if (!users) {
                rq_reply_err(q, &err);
                return;
        }
        rq_reply_json(q, 200, json_pack("{s:o}", "users", users));
}

/* The link in a mail: the page's own route in the fragment, which browsers send to no server
 * (not in Referer, not in proxy logs). */
static void link_of(const rq *q, const char *route, const char *token, char *out, size_t size)
{
        snprintf(out, size, "%s/#/%s/%s", q->p->public_url, route, token);
}

static bool mail_ready(rq *q)
{
        if (cx_mail_configured(&q->p->mail) && q->p->public_url[0])
                return true;
        rq_reply_error(q, 503,
                       "the panel cannot send mail (CX_SMTP_URL and CX_PANEL_PUBLIC_URL are "
                       "needed): ask the operator");
        return false;
}

void api_users_invite(rq *q)
{
        json_t *b;
        const char *name, *email, *role, *tenant;
        char token[OPS_TOKEN_LEN + 1], link[1024], *text = NULL;
        cx_err err = { 0 };
        int rc;

        if (!rq_is_operator(q)) {
                rq_reply_error(q, 403, "only operators invite users");
                return;
        }
        if (!mail_ready(q) || !(b = rq_body_object(q)))
                return;
        name = json_string_value(json_object_get(b, "name"));
        email = json_string_value(json_object_get(b, "email"));
        role = json_string_value(json_object_get(b, "role"));
        tenant = json_string_value(json_object_get(b, "tenant"));
        if (!role)
                role = "owner";
        if (!name || !email) {
                json_decref(b);
                rq_reply_error(q, 400,
                               "expected {\"name\": ..., \"email\": ..., \"role\": \"owner\", "
                               "\"tenant\": ...}");
                return;
        }
        rc = ops_user_invite(q->db, name, email, role, tenant, q->user.name, q->p->invite_ttl_s,
                             token, &err);
        if (rc < 0) {
                json_decref(b);
                rq_reply_err(q, &err);
                return;
        }
        link_of(q, "invite", token, link, sizeof(link));
        sodium_memzero(token, sizeof(token));
        if (asprintf(&text,
                     "Hallo,\n\n%s nodigt u uit voor het controlepaneel van de koppeling tussen "
                     "CCV Shop en Exact Online. Uw gebruikersnaam is: %s\n\n"
                     "Kies uw wachtwoord via deze link (eenmalig te gebruiken, %ld uur geldig):\n"
                     "%s\n\n"
                     "---\n\n"
                     "Hello,\n\n%s invites you to the control panel of the CCV Shop to Exact "
                     "Online connector. Your user name is: %s\n\n"
                     "Choose your password with this link (works once, for %ld hours):\n%s\n",
                     q->user.name, name, q->p->invite_ttl_s / 3600, link, q->user.name, name,
                     q->p->invite_ttl_s / 3600, link) < 0)
                text = NULL;
        rc = text ? cx_mail_send(&q->p->mail, email,
                                 "Uitnodiging voor het controlepaneel / Invitation to the "
                                 "control panel",
                                 text, &err)
                  : cx_fail(&err, CX_ERR_IO, false, "out of memory");
        if (text)
                sodium_memzero(text, strlen(text));
        free(text);
        sodium_memzero(link, sizeof(link));
        if (rc < 0) {
                json_decref(b);
                rq_reply_err(q, &err);
                return;
        }
        rq_audit(q, tenant, "user.invite", name);
        rq_reply_json(q, 200,
                      json_pack("{s:s, s:s, s:s, s:b}", "user", name, "email", email, "role", role,
                                "invited", 1));
        json_decref(b);
}

void api_users_change_password(rq *q)
{
        json_t *b = rq_body_object(q);
        const char *cur, *nw;
        cx_err err = { 0 };
        int rc;

        if (!b)
                return;
        cur = json_string_value(json_object_get(b, "current"));
        nw = json_string_value(json_object_get(b, "new"));
        if (!cur || !nw) {
                json_decref(b);
                rq_reply_error(q, 400, "expected {\"current\": ..., \"new\": ...}");
                return;
        }
        if (!rq_hash_begin(q)) {
                json_decref(b);
                return;
        }
        rc = ops_password_change(q->db, q->user.name, cur, nw, q->token, &err);
        rq_hash_end(q);
        json_decref(b);
        if (rc < 0) {
                if (err.code == CX_ERR_INVALID)
                        rq_reply_error(q, 403, "%s", err.msg);
                else
                        rq_reply_err(q, &err);
                return;
        }
        rq_audit(q, q->user.tenant, "user.password", "changed the own password");
        rq_reply_json(q, 200, json_pack("{s:b}", "changed", 1));
}

void api_users_forgot(rq *q)
{
        json_t *b = rq_body_object(q);
        const char *who;
        char token[OPS_TOKEN_LEN + 1], link[1024], *text = NULL;
        ops_user u = { 0 };
        cx_err err = { 0 };
        long retry;

        if (!b)
                return;
        who = json_string_value(json_object_get(b, "user"));
        if (!who) {
                json_decref(b);
                rq_reply_error(q, 400, "expected {\"user\": name or e-mail address}");
                return;
        }
        /* Throttled like a sign-in (no hash, but a mail per request is worth limiting). */
        if (!throttle_take(&q->p->throttle, q->addr, &retry)) {
                json_decref(b);
                rq_add_header(q, "Retry-After: %ld", retry);
                rq_reply_error(q, 429, "too many attempts: wait %ld s before trying again", retry);
                return;
        }
        if (!mail_ready(q) || !rq_db(q)) {
                json_decref(b);
                return;
        }
        if (ops_reset_issue(q->db, who, q->p->reset_ttl_s, &u, token, &err) == 0) {
                link_of(q, "reset", token, link, sizeof(link));
                sodium_memzero(token, sizeof(token));
                if (asprintf(&text,
                             "Hallo %s,\n\nU (of iemand anders) vroeg om een nieuw wachtwoord "
                             "voor het controlepaneel. Kies het via deze link (eenmalig te "
                             "gebruiken, %ld minuten geldig):\n%s\n\nVroeg u niets aan? Dan "
                             "kunt u deze mail negeren; uw wachtwoord blijft hetzelfde.\n\n"
                             "---\n\n"
                             "Hello %s,\n\nYou (or someone else) asked for a new password for "
                             "the control panel. Choose it with this link (works once, for %ld "
                             "minutes):\n%s\n\nDid not ask? Ignore this mail; your password "
                             "stays the same.\n",
                             u.name, q->p->reset_ttl_s / 60, link, u.name, q->p->reset_ttl_s / 60,
                             link) < 0)
                        text = NULL;
                if (!text || cx_mail_send(&q->p->mail, u.email,
                                          "Nieuw wachtwoord voor het controlepaneel / New "
                                          "password for the control panel",
                                          text, &err) < 0)
                        cx_log_fields(CX_LOG_ERROR, "panel.mail_failed",
                                      json_pack("{s:s}", "user", u.name), "reset mail for %s: %s",
                                      u.name, text ? err.msg : "out of memory");
                if (text)
                        sodium_memzero(text, strlen(text));
                free(text);
                sodium_memzero(link, sizeof(link));
                cx_log_fields(CX_LOG_INFO, "panel.reset_requested",
                              json_pack("{s:s, s:s}", "user", u.name, "addr", q->addr),
                              "password reset link sent for %s", u.name);
        } else if (err.code != CX_ERR_NOT_FOUND) {
                json_decref(b);
                rq_reply_err(q, &err);
                return;
        }
        json_decref(b);
        /* The same answer whether the user exists or not: nobody learns names here. */
        rq_reply_json(q, 200,
                      json_pack("{s:b, s:s}", "accepted", 1, "message",
                                "Als deze gebruiker bestaat en een e-mailadres heeft, is er een "
                                "link gestuurd. / If this user exists and has an e-mail "
                                "address, a link was sent."));
}

void api_users_redeem(rq *q, const char *purpose)
{
        json_t *b = rq_body_object(q);
        const char *token, *pw;
        ops_user u = { 0 };
        cx_err err = { 0 };
        int rc;

        if (!b)
                return;
        token = json_string_value(json_object_get(b, "token"));
        pw = json_string_value(json_object_get(b, "password"));
        if (!token || !pw) {
                json_decref(b);
                rq_reply_error(q, 400, "expected {\"token\": ..., \"password\": ...}");
                return;
        }
        if (!rq_hash_and_db(q)) {
                json_decref(b);
                return;
        }
        rc = ops_link_redeem(q->db, purpose, token, pw, &u, &err);
        rq_hash_end(q);
        json_decref(b);
        if (rc < 0) {
                if (err.code == CX_ERR_INVALID)
                        rq_reply_error(q, 410, "%s", err.msg);
                else
                        rq_reply_err(q, &err);
                return;
        }
        rq_reply_json(q, 200, json_pack("{s:s, s:b}", "user", u.name, "password_set", 1));
}
