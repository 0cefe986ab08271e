#include "ops/ops_tenants.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_client.h"
#include "common/tenant.h"
#include "exact/token.h"

/* One settable column: where its value comes from, its SQL cast and how it is checked. */
enum field_kind {
        F_TEXT,
        F_URL,
        F_DIVISION,
        F_TIME,
        F_ENTITIES,
        F_BOOL,
        F_NONEMPTY
};

struct field_def {
        const char *column;
        const char *cast;
        enum field_kind kind;
        const char *option; /* how the CLI names it, for messages */
        size_t offset;
};

#define FIELD(col, cast, kind, opt, member)                               \
        {                                                                 \
                col, cast, kind, opt, offsetof(ops_tenant_fields, member) \
        }

static const struct field_def field_defs[] = {
        FIELD("name", "", F_TEXT, "--name", name),
        FIELD("shop_base_url", "", F_URL, "--shop-url", shop_base_url),
        FIELD("shop_public_key", "", F_NONEMPTY, "--shop-public-key", shop_public_key),
        FIELD("exact_base_url", "", F_URL, "--exact-url", exact_base_url),
        FIELD("exact_division", "::integer", F_DIVISION, "--division", exact_division),
        FIELD("exact_client_id", "", F_NONEMPTY, "--exact-client-id", exact_client_id),
        FIELD("exact_redirect_uri", "", F_URL, "--redirect-uri", exact_redirect_uri),
        FIELD("extract_from", "::timestamptz", F_TIME, "--extract-from", extract_from),
        FIELD("sync_entities", "::text[]", F_ENTITIES, "--entities", sync_entities),
        FIELD("bookable_require_paid", "::boolean", F_BOOL, "--require-paid", require_paid),
};
#define N_FIELDS (sizeof(field_defs) / sizeof(field_defs[0]))

static const char *field_value(const ops_tenant_fields *f, const struct field_def *d)
{
        return *(const char *const *)((const char *)f + d->offset);
}

/* Whether host[0..n) is one of the comma-separated names in @p hosts. */
static bool host_listed(const char *host, size_t n, const char *hosts)
{
        while (hosts && *hosts) {
                size_t len = strcspn(hosts, ",");

                if (len == n && !strncmp(hosts, host, n))
                        return true;
                hosts += len + (hosts[len] == ',');
        }
        return false;
}

/* Secrets and tokens travel to these URLs: https:// only, except http:// to this machine
 * (localhost, 127.0.0.0/8, [::1]), which the tests use for the fakes, or to a host the
 * operator listed in CX_ADMIN_HTTP_HOSTS (the demo's fakes on the compose network). */
bool ops_url_allowed(const char *v, const char *http_hosts)
{
        const char *host = v + 7;
        size_t n;

        if (!strncmp(v, "https://", 8))
                return strlen(v) > 8;
        if (strncmp(v, "http://", 7) != 0)
                return false;
        n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/?#");
        if (memchr(host, '@', n) || (host[n] && !strchr(":/?#", host[n])))
                return false;
        if ((n == 9 && !strncmp(host, "localhost", 9)) || (n == 5 && !strncmp(host, "[::1]", 5)) ||
            host_listed(host, n, http_hosts))
                return true;
        if (n < 7 || strncmp(host, "127.", 4) != 0)
                return false;
        for (size_t i = 4; i < n; i++)
                if (!strchr("0123456789.", host[i]))
                        return false;
        return true;
}

/* Check one value and put what goes to PostgreSQL into out. */
static int check_field(const ops_ctx *ctx, const struct field_def *d, const char *v, char *out,
                       size_t size, cx_err *err)
{
        char *end = NULL;
        long long n;

        switch (d->kind) {
        case F_TEXT: break;
        case F_NONEMPTY:
                if (!*v)
                        return cx_fail(err, CX_ERR_PARSE, false, "%s: expected a non-empty value",
                                       d->option);
                break;
        case F_URL:
                if (!ops_url_allowed(v, ctx->http_hosts) || strpbrk(v, " \t\r\n") || strlen(v) < 10)
                        return cx_fail(err, CX_ERR_PARSE, false,
                                       "%s: expected an https:// URL (http:// only to localhost, "
                                       "127.0.0.0/8 or [::1]), got \"%s\"",
                                       d->option, v);
                break;
        case F_DIVISION:
                n = strtoll(v, &end, 10);
                if (!*v || *end || n <= 0 || n > 2147483647)
                        return cx_fail(err, CX_ERR_PARSE, false,
                                       "%s: expected a positive integer (the Exact division), "
                                       "got \"%s\"",
                                       d->option, v);
                break;
        case F_TIME: return ops_parse_time(v, NULL, out, err);
        case F_ENTITIES: {
                size_t off = 0;
                const char *p = v;

                off += (size_t)snprintf(out + off, size - off, "{");
                while (*p) {
                        size_t len = strcspn(p, ",");

                        if (!((len == 6 && !strncmp(p, "orders", 6)) ||
                              (len == 8 && !strncmp(p, "products", 8)) ||
                              (len == 9 && !strncmp(p, "customers", 9))))
                                return cx_fail(err, CX_ERR_PARSE, false,
                                               "%s: expected a comma list of orders, products, "
                                               "customers, got \"%s\"",
                                               d->option, v);
                        off += (size_t)snprintf(out + off, size - off, "%s%.*s", off > 1 ? "," : "",
                                                (int)len, p);
                        p += len;
                        if (*p == ',')
                                p++;
                }
                if (off < 2)
                        return cx_fail(err, CX_ERR_PARSE, false,
                                       "%s: expected at least one of orders, products, customers",
                                       d->option);
                snprintf(out + off, size - off, "}");
                return 0;
        }
        case F_BOOL:
                if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                        return cx_fail(err, CX_ERR_PARSE, false,
                                       "%s: expected true or false, got \"%s\"", d->option, v);
                break;
        }
        snprintf(out, size, "%s", v);
        return 0;
}

/* Checked values of the given fields: vals[i] is NULL for fields not given. */
static int check_fields(const ops_ctx *ctx, const ops_tenant_fields *f, char vals[N_FIELDS][1024],
                        bool given[], cx_err *err)
{
        for (size_t i = 0; i < N_FIELDS; i++) {
                const char *v = field_value(f, &field_defs[i]);

                given[i] = v != NULL;
                if (v && check_field(ctx, &field_defs[i], v, vals[i], sizeof(vals[i]), err) < 0)
                        return -1;
                if (v && strlen(v) >= sizeof(vals[i]))
                        return cx_fail(err, CX_ERR_PARSE, false, "%s: value too long",
                                       field_defs[i].option);
        }
        return 0;
}

static char *seal(ops_ctx *ctx, const char *id, const char *secret, cx_err *err)
{
        if (!*secret) {
                cx_fail(err, CX_ERR_PARSE, false, "the secret is empty");
                return NULL;
        }
        return cx_keyring_seal(ctx->key, id, secret, err);
}

/* One Exact administration per shop (docs/admin.md "One administration per shop"): two
 * tenants in one division would share customer codes, order references (YourRef) and the
 * division's API budget. Checked inside the caller's transaction, under a lock, so two
 * onboardings at once cannot both pass. @p division and @p url are the new values or NULL. */
static int check_division_free(ops_ctx *ctx, const char *id, const char *division, const char *url,
                               cx_err *err)
{
        const char *params[3] = { id, division, url };
        PGresult *r;
        int rc = 0;

        if (!division && !url)
                return 0;
        if (cx_db_exec(ctx->db, "SELECT pg_advisory_xact_lock(hashtext('cx-tenant-division'))", 0,
                       NULL, err) < 0)
                return -1;
        r = cx_db_query(ctx->db,
                        "WITH me AS (SELECT coalesce($2::integer, (SELECT exact_division FROM "
                        "tenants WHERE id = $1)) AS div, coalesce($3, (SELECT exact_base_url "
                        "FROM tenants WHERE id = $1), 'https://start.exactonline.nl') AS url) "
                        "SELECT o.id, me.div, me.url FROM tenants o, me WHERE o.id <> $1 AND "
                        "o.exact_division = me.div AND o.exact_base_url = me.url "
                        "ORDER BY o.id LIMIT 1",
                        3, params, err);
        if (!r)
                return -1;
        if (PQntuples(r) == 1)
                rc = cx_fail(err, CX_ERR_INVALID, false,
                             "Exact division %s%s%s%s is already the administration of tenant "
                             "\"%s\": two shops in one administration are not supported (their "
                             "customer codes, order references and API budget would collide); "
                             "give this shop an administration (division) of its own",
                             PQgetvalue(r, 0, 1), *PQgetvalue(r, 0, 2) ? " (" : "",
                             PQgetvalue(r, 0, 2), *PQgetvalue(r, 0, 2) ? ")" : "",
                             PQgetvalue(r, 0, 0));
        PQclear(r);
        return rc;
}

/* The checked value of the field stored in @p column, or NULL when it was not given. */
static const char *given_value(const char *column, char vals[N_FIELDS][1024], const bool given[])
{
        for (size_t i = 0; i < N_FIELDS; i++)
                if (given[i] && !strcmp(field_defs[i].column, column))
                        return vals[i];
        return NULL;
}

int ops_tenant_add(ops_ctx *ctx, const char *id, const ops_tenant_fields *f, bool enabled,
                   const char *shop_secret, const char *exact_secret, cx_err *err)
{
        char vals[N_FIELDS][1024];
        bool given[N_FIELDS];
        char sql[2048], cols[1024], args[512];
        const char *params[N_FIELDS + 4];
        char *shop_sealed = NULL, *exact_sealed = NULL;
        size_t cl = 0, al = 0;
        int n = 0, rc = -1;

        if (ops_check_tenant_id(id, err) < 0 || check_fields(ctx, f, vals, given, err) < 0)
                return -1;
        if (!f->shop_base_url || !f->shop_public_key)
                return cx_fail(err, CX_ERR_PARSE, false,
                               "tenants add: --shop-url and --shop-public-key are required");
        if ((shop_secret || exact_secret) && ops_need_key(ctx, err) < 0)
                return -1;
        if (shop_secret && !(shop_sealed = seal(ctx, id, shop_secret, err)))
                goto out;
        if (exact_secret && !(exact_sealed = seal(ctx, id, exact_secret, err)))
                goto out;
        params[n++] = id;
        params[n++] = enabled ? "true" : "false";
        params[n++] = shop_sealed ? shop_sealed : "";
        params[n++] = exact_sealed;
        cl += (size_t)snprintf(cols, sizeof(cols),
                               "id, enabled, shop_secret_sealed, "
                               "exact_client_secret_sealed");
        al += (size_t)snprintf(args, sizeof(args), "$1, $2::boolean, $3, $4");
        for (size_t i = 0; i < N_FIELDS; i++) {
                if (!given[i])
                        continue;
                params[n++] = vals[i];
                cl += (size_t)snprintf(cols + cl, sizeof(cols) - cl, ", %s", field_defs[i].column);
                al += (size_t)snprintf(args + al, sizeof(args) - al, ", $%d%s", n,
                                       field_defs[i].cast);
        }
        snprintf(sql, sizeof(sql),
                 "INSERT INTO tenants (%s) VALUES (%s) ON CONFLICT (id) DO "
                 "NOTHING RETURNING id",
                 cols, args);
        if (cx_db_begin(ctx->db, err) < 0)
                goto out;
        if (check_division_free(ctx, id, given_value("exact_division", vals, given),
                                given_value("exact_base_url", vals, given), err) < 0)
                goto rollback;
        {
                PGresult *r = cx_db_query(ctx->db, sql, n, params, err);
                int rows = r ? PQntuples(r) : -1;

                PQclear(r);
                if (rows < 0)
                        goto rollback;
                if (rows == 0) {
                        cx_fail(err, CX_ERR_INVALID, false, "tenant \"%s\" already exists", id);
                        goto rollback;
                }
        }
        if (cx_db_exec(ctx->db,
                       "INSERT INTO exact_tokens (tenant_id) VALUES ($1)"
                       " ON CONFLICT DO NOTHING",
                       1, params, err) < 0 ||
            ops_audit(ctx, id, "tenant", id, "tenant added", err) < 0 ||
            cx_db_commit(ctx->db, err) < 0)
                goto rollback;
        rc = 0;
        goto out;
rollback:
        cx_db_rollback(ctx->db);
out:
        free(shop_sealed);
        free(exact_sealed);
        return rc;
}

/* In the transaction the caller began: run @p sql (an UPDATE of tenant $1 ... RETURNING id),
 * record @p audit and commit; roll back on any failure (CX_ERR_NOT_FOUND: no such tenant). */
static int update_and_commit(ops_ctx *ctx, const char *id, const char *sql, int n,
                             const char *const *params, const char *audit, cx_err *err)
{
        PGresult *r = cx_db_query(ctx->db, sql, n, params, err);
        int rows = r ? PQntuples(r) : -1;

        PQclear(r);
        if (rows == 0)
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
        if (rows != 1 || ops_audit(ctx, id, "tenant", id, audit, err) < 0 ||
            cx_db_commit(ctx->db, err) < 0) {
                cx_db_rollback(ctx->db);
                return -1;
        }
        return 0;
}

int ops_tenant_update(ops_ctx *ctx, const char *id, const ops_tenant_fields *f, cx_err *err)
{
        char vals[N_FIELDS][1024];
        bool given[N_FIELDS];
        char sql[2048];
        const char *params[N_FIELDS + 1];
        size_t sl;
        int n = 0;

        if (ops_check_tenant_id(id, err) < 0 || check_fields(ctx, f, vals, given, err) < 0)
                return -1;
        params[n++] = id;
        sl = (size_t)snprintf(sql, sizeof(sql), "UPDATE tenants SET updated_at = now()");
        for (size_t i = 0; i < N_FIELDS; i++) {
                if (!given[i])
                        continue;
                params[n++] = vals[i];
                sl += (size_t)snprintf(sql + sl, sizeof(sql) - sl, ", %s = $%d%s",
                                       field_defs[i].column, n, field_defs[i].cast);
        }
        if (n == 1)
                return cx_fail(err, CX_ERR_PARSE, false,
                               "tenants update: expected at least one field option to change");
        snprintf(sql + sl, sizeof(sql) - sl, " WHERE id = $1 RETURNING id");
        if (cx_db_begin(ctx->db, err) < 0)
                return -1;
        if (check_division_free(ctx, id, given_value("exact_division", vals, given),
                                given_value("exact_base_url", vals, given), err) < 0) {
                cx_db_rollback(ctx->db);
                return -1;
        }
        return update_and_commit(ctx, id, sql, n, params, "tenant settings changed", err);
}

int ops_tenant_connect_shop(ops_ctx *ctx, const char *id, const char *base_url,
                            const char *public_key, const char *secret, cx_err *err)
{
        ops_tenant_fields f = { .shop_base_url = base_url, .shop_public_key = public_key };
        char vals[N_FIELDS][1024], *sealed = NULL;
        bool given[N_FIELDS];
        const char *p[4];
        int rc;

        if (ops_check_tenant_id(id, err) < 0 || check_fields(ctx, &f, vals, given, err) < 0 ||
            ops_need_key(ctx, err) < 0 || !(sealed = seal(ctx, id, secret, err)))
                return -1;
        p[0] = id;
        p[1] = given_value("shop_base_url", vals, given);
        p[2] = given_value("shop_public_key", vals, given);
        p[3] = sealed;
        rc = cx_db_begin(ctx->db, err) < 0
                     ? -1
                     : update_and_commit(ctx, id,
                                         "UPDATE tenants SET shop_base_url = $2, shop_public_key ="
                                         " $3, shop_secret_sealed = $4, updated_at = now() WHERE"
                                         " id = $1 RETURNING id",
                                         4, p, "shop address, public key and secret replaced", err);
        free(sealed);
        return rc;
}

#define TENANT_COLUMNS                                                                            \
        "t.id, t.name, t.enabled, t.shop_base_url, t.shop_public_key, "                           \
        "t.shop_secret_sealed <> '' AS shop_secret_set, t.sync_entities::text AS sync_entities, " \
        "t.bookable_require_paid, t.bookable_statuses::text AS bookable_statuses, "               \
        "to_char(t.extract_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "           \
        "AS extract_from, t.exact_base_url, t.exact_division, t.exact_client_id, "                \
        "t.exact_client_secret_sealed IS NOT NULL AS exact_client_secret_set, "                   \
        "t.exact_redirect_uri, coalesce(k.state, 'needs_consent') AS token_state, "               \
        "coalesce(k.state_reason, '') AS token_reason, "                                          \
        "(SELECT version FROM mapping_rules m WHERE m.tenant_id = t.id) AS mapping_version, "     \
        "t.created_at::text AS created_at, t.updated_at::text AS updated_at "                     \
        "FROM tenants t LEFT JOIN exact_tokens k ON k.tenant_id = t.id"

json_t *ops_tenant_list(ops_ctx *ctx, cx_err *err)
{
        PGresult *r = cx_db_query(ctx->db, "SELECT " TENANT_COLUMNS " ORDER BY t.id", 0, NULL, err);
        json_t *out;

        if (!r)
                return NULL;
        out = ops_rows_json(r);
        PQclear(r);
        return out;
}

json_t *ops_tenant_show(ops_ctx *ctx, const char *id, cx_err *err)
{
        const char *p[1] = { id };
        PGresult *r;
        json_t *out;

        if (ops_check_tenant_id(id, err) < 0)
                return NULL;
        r = cx_db_query(ctx->db,
                        "SELECT " TENANT_COLUMNS ", to_char(k.access_expires_at AT TIME"
                        " ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS token_expires_at"
                        " WHERE t.id = $1",
                        1, p, err);
        if (!r)
                return NULL;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
                return NULL;
        }
        out = ops_row_json(r, 0);
        PQclear(r);
        return out;
}

int ops_tenant_set_enabled(ops_ctx *ctx, const char *id, bool enabled, cx_err *err)
{
        const char *p[2] = { id, enabled ? "true" : "false" };
        PGresult *r;
        int rows;

        if (ops_check_tenant_id(id, err) < 0 || cx_db_begin(ctx->db, err) < 0)
                return -1;
        r = cx_db_query(ctx->db,
                        "UPDATE tenants SET enabled = $2::boolean, updated_at = now()"
                        " WHERE id = $1 RETURNING id",
                        2, p, err);
        rows = r ? PQntuples(r) : -1;
        PQclear(r);
        if (rows == 0)
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
        if (rows != 1 ||
            ops_audit(ctx, id, "tenant", id, enabled ? "tenant enabled" : "tenant disabled", err) <
                    0 ||
            cx_db_commit(ctx->db, err) < 0) {
                cx_db_rollback(ctx->db);
                return -1;
        }
        return 0;
}

int ops_tenant_set_credentials(ops_ctx *ctx, const char *id, const char *shop_secret,
                               const char *exact_secret, cx_err *err)
{
        char *shop_sealed = NULL, *exact_sealed = NULL;
        const char *p[3];
        PGresult *r;
        int rows, rc = -1;

        if (!shop_secret && !exact_secret)
                return cx_fail(err, CX_ERR_PARSE, false,
                               "expected --shop-secret-file and/or --exact-secret-file");
        if (ops_check_tenant_id(id, err) < 0 || ops_need_key(ctx, err) < 0)
                return -1;
        if (shop_secret && !(shop_sealed = seal(ctx, id, shop_secret, err)))
                goto out;
        if (exact_secret && !(exact_sealed = seal(ctx, id, exact_secret, err)))
                goto out;
        p[0] = id;
        p[1] = shop_sealed;
        p[2] = exact_sealed;
        if (cx_db_begin(ctx->db, err) < 0)
                goto out;
        r = cx_db_query(ctx->db,
                        "UPDATE tenants SET shop_secret_sealed = coalesce($2,"
                        " shop_secret_sealed), exact_client_secret_sealed = coalesce($3,"
                        " exact_client_secret_sealed), updated_at = now() WHERE id = $1"
                        " RETURNING id",
                        3, p, err);
        rows = r ? PQntuples(r) : -1;
        PQclear(r);
        if (rows == 0)
                cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
        if (rows != 1 ||
            ops_audit(ctx, id, "tenant", id,
                      shop_secret && exact_secret ? "shop and Exact client secrets replaced"
                      : shop_secret               ? "shop secret replaced"
                                                  : "Exact client secret replaced",
                      err) < 0 ||
            cx_db_commit(ctx->db, err) < 0) {
                cx_db_rollback(ctx->db);
                goto out;
        }
        rc = 0;
out:
        free(shop_sealed);
        free(exact_sealed);
        return rc;
}

json_t *ops_consent_start(ops_ctx *ctx, const char *id, cx_err *err)
{
        const char *p[2] = { id, NULL };
        char state[33], *url = NULL, *e_id = NULL, *e_red = NULL;
        json_t *out = NULL;
        cx_tenant t;

        if (ops_check_tenant_id(id, err) < 0)
                return NULL;
        if (cx_tenant_get(ctx->db, id, &t, err) < 0) {
                if (err->code == CX_ERR_NOT_FOUND)
                        cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
                return NULL;
        }
        if (!t.exact_client_id || !t.exact_redirect_uri) {
                cx_fail(err, CX_ERR_CONFIG, false,
                        "tenant \"%s\" has no Exact client id or "
                        "redirect URI (set them with tenants update --exact-client-id "
                        "--redirect-uri)",
                        id);
                goto out;
        }
        if (cx_random_id(state, err) < 0)
                goto out;
        p[1] = state;
        e_id = cx_http_escape(t.exact_client_id);
        e_red = cx_http_escape(t.exact_redirect_uri);
        if (!e_id || !e_red ||
            asprintf(&url,
                     "%s/api/oauth2/auth?client_id=%s&redirect_uri=%s"
                     "&response_type=code&state=%s",
                     t.exact_base_url, e_id, e_red, state) < 0) {
                url = NULL;
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                goto out;
        }
        if (cx_db_exec(ctx->db,
                       "INSERT INTO admin_consents (tenant_id, state) VALUES ($1, $2)"
                       " ON CONFLICT (tenant_id) DO UPDATE SET state = $2, created_at = now()",
                       2, p, err) < 0)
                goto out;
        out = json_pack("{s:s, s:s, s:s}", "tenant", id, "url", url, "state", state);
out:
        cx_tenant_clear(&t);
        free(url);
        free(e_id);
        free(e_red);
        return out;
}

int ops_consent_tenant(ops_ctx *ctx, const char *state, char tenant[64], cx_err *err)
{
        const char *p[1] = { state };
        PGresult *r = cx_db_query(ctx->db,
                                  "SELECT tenant_id FROM admin_consents WHERE state = $1"
                                  " AND created_at > now() - interval '15 minutes'",
                                  1, p, err);

        if (!r)
                return -1;
        if (PQntuples(r) != 1) {
                PQclear(r);
                return cx_fail(err, CX_ERR_NOT_FOUND, false,
                               "no consent in progress with that "
                               "state");
        }
        snprintf(tenant, 64, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return 0;
}

/* The code exchange itself, through the loader's token module. */
static int exchange(ops_ctx *ctx, const char *id, const char *code, long timeout_ms, bool insecure,
                    cx_err *err)
{
        exact_token_ctx t = { 0 };
        int rc;

        t.db = ctx->db;
        t.http = cx_http_client_new(timeout_ms, insecure);
        t.key = ctx->key;
        t.timeout_ms = timeout_ms;
        t.refresh_margin_s = 30;
        if (!t.http)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        rc = exact_token_exchange_code(&t, id, code, err);
        cx_http_client_free(t.http);
        exact_token_cache_free();
        return rc;
}

int ops_exchange_code(ops_ctx *ctx, const char *id, const char *code, cx_err *err)
{
        if (ops_need_key(ctx, err) < 0)
                return -1;
        return exchange(ctx, id, code, ctx->token_timeout_ms, ctx->tls_insecure, err);
}

int ops_consent_complete(ops_ctx *ctx, const char *id, const char *code, const char *state,
                         cx_err *err)
{
        const char *p[2] = { id, state };

        if (ops_tenant_exists(ctx, id, err) < 0 || ops_need_key(ctx, err) < 0)
                return -1;
        if (!code || !*code)
                return cx_fail(err, CX_ERR_PARSE, false, "expected the authorization code");
        if (state) {
                PGresult *r = cx_db_query(ctx->db,
                                          "SELECT 1 FROM admin_consents WHERE"
                                          " tenant_id = $1 AND state = $2",
                                          2, p, err);
                int rows = r ? PQntuples(r) : -1;

                PQclear(r);
                if (rows < 0)
                        return -1;
                if (rows == 0)
                        return cx_fail(err, CX_ERR_INVALID, false,
                                       "the state does not match the "
                                       "consent started for tenant \"%s\"",
                                       id);
        }
        if (exchange(ctx, id, code, ctx->http_timeout_ms, false, err) < 0)
                return -1;
        cx_db_exec(ctx->db, "DELETE FROM admin_consents WHERE tenant_id = $1", 1, p, NULL);
        return ops_audit(ctx, id, "tenant", id, "Exact consent completed", err);
}

int ops_tenant_set_webhook_key(ops_ctx *ctx, const char *id, const char *key, cx_err *err)
{
        char *sealed = NULL;
        const char *p[2];
        int rc;

        if (ops_check_tenant_id(id, err) < 0 || ops_need_key(ctx, err) < 0)
                return -1;
        if (!*key)
                return cx_fail(err, CX_ERR_PARSE, false, "the webhook key is empty");
        sealed = seal(ctx, id, key, err);
        if (!sealed)
                return -1;
        p[0] = id;
        p[1] = sealed;
        rc = cx_db_begin(ctx->db, err) < 0
                     ? -1
                     : update_and_commit(ctx, id,
                                         "UPDATE tenants SET webhook_key_sealed = $2, updated_at ="
                                         " now() WHERE id = $1 RETURNING id",
                                         2, p, "webhook key replaced", err);
        free(sealed);
        return rc;
}
