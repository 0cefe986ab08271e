/* token: see token.h. */
#include "exact/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/cache.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/tenant.h"
#include "exact/ratelimit.h"

/* Access tokens already opened, so a command costs no database read for its token. */
struct cached {
        char *access;
        int64_t expires_ms;
};

static void cached_free(void *entry)
{
        free(((struct cached *)entry)->access);
}

static cx_cache tokens = CX_CACHE_INIT(struct cached, cached_free);

static void cache_put(const char *tenant, const char *access, int64_t expires_ms)
{
        struct cached *c;

        cx_cache_lock(&tokens);
        c = cx_cache_get(&tokens, tenant, true);
        if (c) {
                free(c->access);
                c->access = strdup(access);
                c->expires_ms = expires_ms;
        }
        cx_cache_unlock(&tokens);
}

void exact_token_forget(const char *tenant)
{
        struct cached *c;

        cx_cache_lock(&tokens);
        c = cx_cache_get(&tokens, tenant, false);
        if (c)
                c->expires_ms = 0;
        cx_cache_unlock(&tokens);
}

void exact_token_cache_free(void)
{
        cx_cache_clear(&tokens);
}

static char *cache_get(const char *tenant, int64_t min_expiry_ms)
{
        struct cached *c;
        char *out = NULL;

        cx_cache_lock(&tokens);
        c = cx_cache_get(&tokens, tenant, false);
        if (c && c->access && c->expires_ms > min_expiry_ms)
                out = strdup(c->access);
        cx_cache_unlock(&tokens);
        return out;
}

int exact_token_mark_needs_consent(cx_db *db, const char *tenant, const char *reason, cx_err *err)
{
        const char *p[2] = { tenant, reason };

        exact_token_forget(tenant);
        cx_counter_add("cx_loader_token_refusals_total",
                       "Token refusals that put a tenant in needs_consent", NULL, 1);
        cx_log_fields(CX_LOG_ERROR, "token.needs_consent", json_pack("{s:s}", "tenant", tenant),
                      "tenant needs a new consent: %s", reason);
        return cx_db_exec(db,
                          "UPDATE exact_tokens SET state = 'needs_consent', state_reason = $2, "
                          "updated_at = now() WHERE tenant_id = $1",
                          2, p, err);
}

/* POST a form to {base}/api/oauth2/token. Fills status and the parsed body (or NULL). */
static int token_post(exact_token_ctx *t, const char *base, const char *form, long *status,
                      json_t **body, char *why, size_t why_size, cx_err *err)
{
        const char *headers[] = { "Content-Type: application/x-www-form-urlencoded",
                                  "Accept: application/json", NULL };
        cx_http_client_request req = { 0 };
        cx_http_response r = { 0 };
        char *url = NULL;
        int rc;

        *status = 0;
        *body = NULL;
        if (asprintf(&url, "%s/api/oauth2/token", base) < 0)
                return cx_fail(err, CX_ERR_IO, true, "out of memory");
        req.method = "POST";
        req.url = url;
        req.headers = headers;
        req.body = form;
        req.body_len = strlen(form);
        req.timeout_ms = t->timeout_ms;
        rc = cx_http_do(t->http, &req, &r, err);
        free(url);
        if (rc < 0) {
                cx_http_response_free(&r);
                return -1;
        }
        *status = r.status;
        *body = r.body_len ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        if (r.body_len && !*body)
                snprintf(why, why_size, "HTTP %ld: %.200s", r.status, r.body);
        else
                snprintf(why, why_size, "HTTP %ld: %s %s", r.status,
                         json_string_value(json_object_get(*body, "error")) ?: "",
                         json_string_value(json_object_get(*body, "error_description")) ?: "");
        cx_http_response_free(&r);
        return 0;
}

/* Seal and store a token answer. The caller holds the row (or inserts it). */
static int store_tokens(exact_token_ctx *t, const char *tenant, const json_t *ans,
                        char **access_out, int64_t *expires_ms, cx_err *err)
{
        const char *access = json_string_value(json_object_get(ans, "access_token"));
        const char *refresh = json_string_value(json_object_get(ans, "refresh_token"));
        json_t *ei = json_object_get(ans, "expires_in");
        long long secs = 600;
        char *sa = NULL, *sr = NULL, secs_txt[32];
        int rc = -1;

        if (!access || !refresh || !*access || !*refresh)
                return cx_fail(err, CX_ERR_PARSE, true, "token answer without tokens");
        if (json_is_string(ei)) {
                char *end;

                errno = 0;
                secs = strtoll(json_string_value(ei), &end, 10);
                if (errno || end == json_string_value(ei) || secs <= 0)
                        secs = 600;
        } else if (json_is_integer(ei) && json_integer_value(ei) > 0) {
                secs = json_integer_value(ei);
        }
        sa = cx_keyring_seal(t->key, tenant, access, err);
        sr = sa ? cx_keyring_seal(t->key, tenant, refresh, err) : NULL;
        if (sa && sr) {
                const char *p[4] = { tenant, sa, sr, secs_txt };

                snprintf(secs_txt, sizeof(secs_txt), "%lld", secs);
                rc = cx_db_exec(t->db,
                                "INSERT INTO exact_tokens (tenant_id, access_token_sealed, "
                                "refresh_token_sealed, access_expires_at, state, state_reason, "
                                "refreshed_at, updated_at) VALUES ($1, $2, $3, now() + "
                                "make_interval(secs => $4::int), 'ok', '', now(), now()) "
                                "ON CONFLICT (tenant_id) DO UPDATE SET access_token_sealed = $2, "
                                "refresh_token_sealed = $3, access_expires_at = now() + "
                                "make_interval(secs => $4::int), state = 'ok', "
                                "state_reason = '', refreshed_at = now(), updated_at = now()",
                                4, p, err);
        }
        if (rc == 0) {
                *expires_ms = exact_now_ms() + secs * 1000;
                if (access_out)
                        *access_out = strdup(access);
        }
        free(sa);
        free(sr);
        return rc;
}

#define TOKEN_ROW_SQL                                                                         \
        "SELECT k.access_token_sealed, k.refresh_token_sealed, "                              \
        "(extract(epoch FROM k.access_expires_at) * 1000)::bigint, k.state, k.state_reason, " \
        "t.exact_base_url, t.exact_client_id, t.exact_client_secret_sealed "                  \
        "FROM exact_tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.tenant_id = $1"

static char *open_col(exact_token_ctx *t, PGresult *r, int col, const char *tenant, cx_err *err)
{
        if (PQgetisnull(r, 0, col)) {
                cx_fail(err, CX_ERR_INVALID, false, "no token stored");
                return NULL;
        }
        return cx_keyring_open(t->key, tenant, PQgetvalue(r, 0, col), err);
}

/* The form of a token request: @p grant (escaped already, may be NULL when out of memory),
 * then the tenant's client id and its secret, opened from @p secret_sealed. */
static char *client_form(exact_token_ctx *t, const char *tenant, const char *grant,
                         const char *client_id, const char *secret_sealed, bool retriable,
                         cx_err *err)
{
        char *secret = cx_keyring_open(t->key, tenant, secret_sealed, err);
        char *e_id = NULL, *e_sec = NULL, *form = NULL;

        if (!secret)
                return NULL;
        e_id = cx_http_escape(client_id);
        e_sec = cx_http_escape(secret);
        if (!grant || !e_id || !e_sec ||
            asprintf(&form, "%s&client_id=%s&client_secret=%s", grant, e_id, e_sec) < 0) {
                form = NULL;
                cx_fail(err, CX_ERR_IO, retriable, "out of memory");
        }
        free(secret);
        free(e_id);
        free(e_sec);
        return form;
}

static int refresh_locked(exact_token_ctx *t, const char *tenant, char **out, cx_err *err)
{
        PGresult *r = NULL;
        const char *p[1] = { tenant };
        char *refresh = NULL, *grant = NULL, *form = NULL, *e_rt = NULL;
        json_t *ans = NULL;
        char why[400];
        long status;
        int64_t exp, now;
        int rc = -1;

        if (cx_db_begin(t->db, err) < 0)
                return -1;
        r = cx_db_query(t->db, TOKEN_ROW_SQL " FOR UPDATE OF k", 1, p, err);
        if (!r)
                goto out;
        if (PQntuples(r) != 1) {
                cx_fail(err, CX_ERR_INVALID, false, "no Exact tokens stored: consent needed");
                goto out;
        }
        if (strcmp(PQgetvalue(r, 0, 3), "ok") != 0) {
                cx_fail(err, CX_ERR_INVALID, false, "needs consent: %s", PQgetvalue(r, 0, 4));
                goto out;
        }
        exp = PQgetisnull(r, 0, 2) ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        now = exact_now_ms();
        /* Read again under the lock: another instance may have refreshed meanwhile. */
        if (exp - t->refresh_margin_s * 1000LL > now) {
                *out = open_col(t, r, 0, tenant, err);
                if (*out) {
                        cache_put(tenant, *out, exp);
                        rc = 0;
                }
                goto out;
        }
        refresh = open_col(t, r, 1, tenant, err);
        if (!refresh)
                goto out;
        if (PQgetisnull(r, 0, 6) || PQgetisnull(r, 0, 7)) {
                cx_fail(err, CX_ERR_CONFIG, false, "tenant has no Exact client id/secret");
                goto out;
        }
        e_rt = cx_http_escape(refresh);
        if (!e_rt || asprintf(&grant, "grant_type=refresh_token&refresh_token=%s", e_rt) < 0)
                grant = NULL;
        form = client_form(t, tenant, grant, PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 7), true, err);
        if (!form)
                goto out;
        cx_counter_add("cx_loader_token_refreshes_total", "Token refresh calls", NULL, 1);
        /* A lost answer may have rotated the token: the next attempt shows (401 if burned). */
        if (token_post(t, PQgetvalue(r, 0, 5), form, &status, &ans, why, sizeof(why), err) < 0)
                goto out;
        if (status == 200) {
                rc = store_tokens(t, tenant, ans, out, &exp, err);
                if (rc == 0) {
                        rc = cx_db_commit(t->db, err);
                        if (rc == 0) {
                                cache_put(tenant, *out, exp);
                                cx_log_fields(CX_LOG_INFO, "token.refreshed",
                                              json_pack("{s:s}", "tenant", tenant),
                                              "access token refreshed");
                        } else {
                                free(*out);
                                *out = NULL;
                        }
                }
                goto out_nocommit;
        }
        if (status == 400 && ans &&
            !strcmp(json_string_value(json_object_get(ans, "error")) ?: "", "access_denied")) {
                /* Too early: the current tokens stay valid. */
                if (exp > now) {
                        *out = open_col(t, r, 0, tenant, err);
                        if (*out) {
                                cache_put(tenant, *out, exp);
                                rc = 0;
                        }
                } else {
                        cx_fail(err, CX_ERR_HTTP, true, "token refresh refused as too early");
                }
                goto out;
        }
        if (status == 400 || status == 401) {
                cx_db_rollback(t->db);
                exact_token_mark_needs_consent(t->db, tenant, why, NULL);
                cx_fail(err, CX_ERR_INVALID, false, "token refused: %s", why);
                goto out_nocommit;
        }
        cx_fail(err, CX_ERR_HTTP, true, "token endpoint: %s", why);
out:
        cx_db_rollback(t->db);
out_nocommit:
        if (r)
                PQclear(r);
        json_decref(ans);
        free(refresh);
        free(grant);
        free(form);
        free(e_rt);
        return rc;
}

int exact_token_access(exact_token_ctx *t, const char *tenant, char **out, cx_err *err)
{
        int64_t margin = t->refresh_margin_s * 1000LL;
        const char *p[1] = { tenant };
        PGresult *r;
        int64_t exp;

        *out = NULL;
        if (!t->key)
                return cx_fail(err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
        *out = cache_get(tenant, exact_now_ms() + margin);
        if (*out)
                return 0;
        r = cx_db_query(t->db, TOKEN_ROW_SQL, 1, p, err);
        if (!r)
                return -1;
        if (PQntuples(r) != 1) {
                PQclear(r);
                return cx_fail(err, CX_ERR_INVALID, false,
                               "no Exact tokens stored: consent needed");
        }
        if (strcmp(PQgetvalue(r, 0, 3), "ok") != 0) {
                cx_fail(err, CX_ERR_INVALID, false, "needs consent: %s", PQgetvalue(r, 0, 4));
                PQclear(r);
                return -1;
        }
        exp = PQgetisnull(r, 0, 2) ? 0 : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        if (exp - margin > exact_now_ms()) {
                *out = open_col(t, r, 0, tenant, err);
                PQclear(r);
                if (!*out)
                        return -1;
                cache_put(tenant, *out, exp);
                return 0;
        }
        PQclear(r);
        return refresh_locked(t, tenant, out, err);
}

int exact_token_exchange_code(exact_token_ctx *t, const char *tenant, const char *code, cx_err *err)
{
        cx_tenant row;
        char *grant = NULL, *form = NULL, *e_code = NULL, *e_red = NULL;
        json_t *ans = NULL;
        char why[400];
        long status;
        int64_t exp;
        int rc = -1;

        if (!t->key)
                return cx_fail(err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
        if (cx_tenant_get(t->db, tenant, &row, err) < 0) {
                if (err->code == CX_ERR_NOT_FOUND)
                        cx_fail(err, CX_ERR_NOT_FOUND, false, "unknown tenant %s", tenant);
                return -1;
        }
        if (!row.exact_client_id || !row.exact_client_secret_sealed || !row.exact_redirect_uri) {
                cx_fail(err, CX_ERR_CONFIG, false,
                        "tenant has no Exact client id, secret or redirect URI");
                goto out;
        }
        e_code = cx_http_escape(code);
        e_red = cx_http_escape(row.exact_redirect_uri);
        if (!e_code || !e_red ||
            asprintf(&grant, "grant_type=authorization_code&code=%s&redirect_uri=%s", e_code,
                     e_red) < 0)
                grant = NULL;
        form = client_form(t, tenant, grant, row.exact_client_id, row.exact_client_secret_sealed,
                           false, err);
        if (!form)
                goto out;
        if (token_post(t, row.exact_base_url, form, &status, &ans, why, sizeof(why), err) < 0)
                goto out;
        if (status != 200) {
                cx_fail(err, CX_ERR_INVALID, false, "code exchange refused: %s", why);
                goto out;
        }
        rc = store_tokens(t, tenant, ans, NULL, &exp, err);
        if (rc == 0)
                exact_token_forget(tenant);
out:
        cx_tenant_clear(&row);
        json_decref(ans);
        free(grant);
        free(form);
        free(e_code);
        free(e_red);
        return rc;
}
