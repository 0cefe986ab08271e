#include "panel/api_onboarding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ccv/client.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/tenant.h"
#include "exact/api.h"
#include "exact/token.h"
#include "ops/ops_mappings.h"
#include "ops/ops_tenants.h"

/* Pages read per Exact collection for the pickers (Exact pages 60 rows at a time). */
#define MAX_PAGES 20

static bool is_method(const rq *q, const char *m)
{
        return !strcmp(q->method, m);
}

static bool nonempty(const json_t *v)
{
        return json_is_string(v) && json_string_length(v) > 0;
}

/* Refused input: {"error": English text, "reason": what the page names in its language,
 * "detail": the shop's or Exact's own words, or the missing step}. */
static void refuse(rq *q, int status, const char *reason, const char *detail, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void refuse(rq *q, int status, const char *reason, const char *detail, const char *fmt, ...)
{
        char msg[700];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        rq_reply_json(
                q, status,
                json_pack("{s:s, s:s, s:s?}", "error", msg, "reason", reason, "detail", detail));
}

/* ---- state ----------------------------------------------------------------------------- */

static json_t *state_of(rq *q, const char *t, cx_err *err)
{
        json_t *show = ops_tenant_show(&q->ops, t, err), *missing, *out;
        bool shop, exact, division;

        if (!show)
                return NULL;
        shop = json_is_true(json_object_get(show, "shop_secret_set")) &&
               nonempty(json_object_get(show, "shop_public_key")) &&
               nonempty(json_object_get(show, "shop_base_url"));
        exact = nonempty(json_object_get(show, "token_state")) &&
                !strcmp(json_string_value(json_object_get(show, "token_state")), "ok");
        division = json_is_integer(json_object_get(show, "exact_division"));
        missing = json_array();
        if (!shop)
                json_array_append_new(missing, json_string("shop"));
        if (!exact)
                json_array_append_new(missing, json_string("exact"));
        if (!division)
                json_array_append_new(missing, json_string("division"));
        out = json_pack("{s:s, s:{s:b, s:O, s:O}, s:{s:b, s:O, s:O}, s:O, s:O, s:o}", "tenant", t,
                        "shop", "connected", shop, "url", json_object_get(show, "shop_base_url"),
                        "public_key", json_object_get(show, "shop_public_key"), "exact",
                        "connected", exact, "token_state", json_object_get(show, "token_state"),
                        "division", json_object_get(show, "exact_division") ?: json_null(),
                        "mapping_version", json_object_get(show, "mapping_version") ?: json_null(),
                        "live", json_object_get(show, "enabled"), "missing", missing);
        json_decref(show);
        if (!out)
                cx_fail(err, CX_ERR_IO, false, "out of memory");
        return out;
}

static void show_state(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *st = state_of(q, t, &err);

        if (!st)
                rq_reply_err(q, &err);
        else
                rq_reply_json(q, 200, st);
}

/* ---- step 1: the shop -------------------------------------------------------------------- */

/* The shop's address as the CCV client takes it: without "/api/rest/v1" and trailing '/'. */
static void shop_base(const char *url, char *out, size_t size)
{
        static const char suffix[] = "/api/rest/v1";
        size_t n;

        snprintf(out, size, "%s", url);
        n = strlen(out);
        while (n && out[n - 1] == '/')
                out[--n] = '\0';
        if (n >= sizeof(suffix) - 1 && !strcasecmp(out + n - (sizeof(suffix) - 1), suffix))
                out[n -= sizeof(suffix) - 1] = '\0';
        while (n && out[n - 1] == '/')
                out[--n] = '\0';
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
                        return false;
        return true;
}

/* Why the shop did not answer the signed call, for the owner: which input to look at. */
static void refuse_shop(rq *q, ccv_status st, const cx_err *err)
{
        const char *http = strstr(err->msg, ": HTTP ");
        long status = http ? strtol(http + 7, NULL, 10) : 0;
        const char *said = http ? strchr(http + 7, ':') : NULL;
        json_t *body;
        char words[300];

        said = said ? said + 2 : NULL;
        /* the shop's own words: its error body's developermessage (spec 1.6), else the text */
        body = said ? json_loads(said, 0, NULL) : NULL;
        if (json_is_string(json_object_get(body, "developermessage"))) {
                snprintf(words, sizeof(words), "%s",
                         json_string_value(json_object_get(body, "developermessage")));
                said = words;
        }
        json_decref(body);
        if (st == CCV_NOT_FOUND)
                refuse(q, 400, "shop_not_found", NULL,
                       "there is no CCV Shop API at this address (HTTP 404): check the shop "
                       "URL");
        else if (status == 401 || status == 403)
                /* The shop refused the signature: the public key is unknown to it, or the
                 * secret is not the one of that key. Its own words say which. */
                refuse(q, 400, "shop_keys", said,
                       "the shop refused the public key or the secret (HTTP %ld): check both "
                       "in the shop's API settings",
                       status);
        else if (err->code == CX_ERR_CRYPTO)
                refuse(q, 400, "shop_signature", NULL,
                       "the shop's answer is not signed with this secret: check the secret");
        else if (status > 0 || err->code == CX_ERR_PARSE)
                refuse(q, 400, "shop_answer", err->msg,
                       "the address answered, but not as a CCV Shop API: check the shop "
                       "URL");
        else
                refuse(q, 400, "shop_unreachable", err->msg,
                       "the shop could not be reached at this address: check the shop URL");
}

static void connect_shop(rq *q, const char *t)
{
        json_t *b = rq_body_object(q), *page = NULL, *first;
        const char *url, *pub, *secret;
        char base[512], name[200] = "";
        ccv_shop shop;
        cx_http_client *hc;
        cx_err err = { 0 };
        ccv_status st;
        double wait = 0;

        if (!b)
                return;
        memset(&shop, 0, sizeof(shop));
        url = json_string_value(json_object_get(b, "url"));
        pub = json_string_value(json_object_get(b, "public_key"));
        secret = json_string_value(json_object_get(b, "secret"));
        if (!url || !*url || strlen(url) > 400 || !printable(url)) {
                refuse(q, 400, "shop_url", NULL, "url: expected the shop's address");
                goto out;
        }
        if (!pub || !*pub || strlen(pub) > 200 || !printable(pub)) {
                refuse(q, 400, "shop_public_key", NULL,
                       "public_key: expected the shop's API public key");
                goto out;
        }
        if (!secret || !*secret || strlen(secret) > 400 || !printable(secret)) {
                refuse(q, 400, "shop_secret", NULL, "secret: expected the shop's API secret");
                goto out;
        }
        shop_base(url, base, sizeof(base));
        if (strlen(base) < 10 || !ops_url_allowed(base, q->ops.http_hosts)) {
                refuse(q, 400, "shop_url", NULL, "url: expected an https:// address, got \"%s\"",
                       base);
                goto out;
        }
        if (ops_need_key(&q->ops, &err) < 0) {
                rq_reply_err(q, &err);
                goto out;
        }
        snprintf(shop.tenant, sizeof(shop.tenant), "%s", t);
        snprintf(shop.base, sizeof(shop.base), "%s", base);
        snprintf(shop.public_key, sizeof(shop.public_key), "%s", pub);
        shop.secret = strdup(secret);
        shop.get_limit = 5;
        shop.write_limit = 1;
        shop.window_s = 1;
        shop.verify = true;
        hc = cx_http_client_new(q->ops.http_timeout_ms, false);
        if (!shop.secret || !hc) {
                cx_http_client_free(hc);
                rq_reply_error(q, 500, "out of memory");
                goto out;
        }
        /* One signed read, its answer's signature checked: both keys are right. */
        st = ccv_request(&shop, hc, "GET", "webshops?start=0&size=1", NULL, &page, &wait, &err);
        cx_http_client_free(hc);
        if (st != CCV_OK) {
                cx_log_fields(CX_LOG_INFO, "panel.shop_refused", json_pack("{s:s}", "tenant", t),
                              "shop keys not accepted: %s", err.msg);
                refuse_shop(q, st, &err);
                goto out;
        }
        first = json_array_get(json_object_get(page, "items"), 0);
        if (json_is_string(json_object_get(first, "name")))
                snprintf(name, sizeof(name), "%s",
                         json_string_value(json_object_get(first, "name")));
        if (ops_tenant_connect_shop(&q->ops, t, base, pub, secret, &err) < 0) {
                if (err.code == CX_ERR_PARSE)
                        refuse(q, 400, "shop_url", NULL, "%s", err.msg);
                else
                        rq_reply_err(q, &err);
                goto out;
        }
        rq_audit(q, t, "onboarding.shop", "shop connected (keys verified)");
        rq_reply_json(q, 200,
                      json_pack("{s:b, s:s, s:s}", "connected", 1, "url", base, "webshop", name));
out:
        json_decref(page);
        ccv_shop_clear(&shop);
        json_decref(b);
}

/* ---- Exact: the tenant's token, bounded reads ------------------------------------------- */

typedef struct xread {
        exact_token_ctx tk;
        exact_conn conn;
        exact_budget budget;
        char *access;
        char base[512];
        struct timespec deadline;
} xread;

static bool past(const struct timespec *deadline)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return now.tv_sec > deadline->tv_sec ||
               (now.tv_sec == deadline->tv_sec && now.tv_nsec > deadline->tv_nsec);
}

static void xread_clear(xread *x)
{
        free(x->access);
        cx_http_client_free(x->tk.http);
        memset(x, 0, sizeof(*x));
}

/* The tenant's access token (refreshed when due) and Exact address; a whole wizard read ends
 * within twice the panel's HTTP timeout however many pages it takes. */
static int xread_open(rq *q, const char *t, xread *x, cx_err *err)
{
        json_t *show = ops_tenant_show(&q->ops, t, err);
        long ms = q->ops.http_timeout_ms > 0 ? q->ops.http_timeout_ms : 10000;

        memset(x, 0, sizeof(*x));
        if (!show)
                return -1;
        snprintf(x->base, sizeof(x->base), "%s",
                 json_string_value(json_object_get(show, "exact_base_url")) ?: "");
        x->conn.division = (long)json_integer_value(json_object_get(show, "exact_division"));
        json_decref(show);
        if (ops_need_key(&q->ops, err) < 0)
                return -1;
        x->tk.db = q->db;
        x->tk.http = cx_http_client_new(ms, false);
        x->tk.key = q->ops.key;
        x->tk.timeout_ms = ms;
        x->tk.refresh_margin_s = 30;
        if (!x->tk.http)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        if (exact_token_access(&x->tk, t, &x->access, err) < 0)
                return -1;
        x->conn.http = x->tk.http;
        x->conn.base_url = x->base;
        x->conn.access_token = x->access;
        x->conn.timeout_ms = ms;
        clock_gettime(CLOCK_MONOTONIC, &x->deadline);
        x->deadline.tv_sec += 2 * ms / 1000 + 1;
        return 0;
}

/* The division the consent's user works in: GET /api/v1/current/Me (no division in the URL,
 * so not through exact_call). */
static long current_division(xread *x, cx_err *err)
{
        cx_http_client_request req = { 0 };
        cx_http_response resp = { 0 };
        char url[700], auth[4200];
        const char *headers[3] = { auth, "Accept: application/json", NULL };
        json_t *j;
        long div = 0;

        snprintf(url, sizeof(url), "%s/api/v1/current/Me?$select=CurrentDivision", x->base);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", x->access);
        req.method = "GET";
        req.url = url;
        req.headers = headers;
        req.timeout_ms = x->conn.timeout_ms;
        if (cx_http_do(x->tk.http, &req, &resp, err) < 0) {
                cx_http_response_free(&resp);
                return -1;
        }
        j = resp.status == 200 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        div = (long)json_integer_value(json_object_get(
                json_array_get(json_object_get(json_object_get(j, "d"), "results"), 0),
                "CurrentDivision"));
        json_decref(j);
        if (div <= 0)
                cx_fail(err, resp.status == 401 ? CX_ERR_INVALID : CX_ERR_HTTP, false,
                        "Exact current/Me: HTTP %ld without a current division", resp.status);
        cx_http_response_free(&resp);
        return div > 0 ? div : -1;
}

/* Every row of @p endpoint in the division, following __next, each reduced to @p keep. */
static json_t *read_all(xread *x, const char *endpoint, const char *select, const char *const *keep,
                        cx_err *err)
{
        json_t *all = json_array();
        char *query = select ? strdup(select) : NULL;

        for (int page = 0; all && page < MAX_PAGES; page++) {
                exact_result res = { 0 };
                const char *next;
                json_t *row;
                size_t i;

                if (past(&x->deadline)) {
                        cx_fail(err, CX_ERR_LIMIT, true, "Exact took too long to list %s",
                                endpoint);
                        goto fail;
                }
                if (exact_call(&x->conn, &x->budget, "GET", endpoint, query, NULL, &res) < 0) {
                        cx_fail(err, CX_ERR_IO, false, "out of memory");
                        goto fail;
                }
                if (res.outcome != EX_OK) {
                        cx_fail(err, res.outcome == EX_UNAUTHORIZED ? CX_ERR_INVALID : CX_ERR_HTTP,
                                false, "Exact %s: HTTP %ld %s", endpoint, res.status, res.message);
                        exact_result_clear(&res);
                        goto fail;
                }
                json_array_foreach (exact_rows(&res), i, row) {
                        json_t *o = json_object();

                        const char *code = json_string_value(json_object_get(row, "Code"));

                        for (const char *const *k = keep; *k; k++)
                                if (json_object_get(row, *k))
                                        json_object_set(o, *k, json_object_get(row, *k));
                        /* Exact pads codes ("2  "); rules hold them trimmed, as the
                         * proposal does. */
                        if (code)
                                json_object_set_new(o, "Code",
                                                    json_stringn(code, strcspn(code, " ")));
                        json_array_append_new(all, o);
                }
                next = json_string_value(json_object_get(res.d, "__next"));
                free(query);
                query = next && strchr(next, '?') ? strdup(strchr(next, '?') + 1) : NULL;
                exact_result_clear(&res);
                if (!query)
                        break;
        }
        free(query);
        return all;
fail:
        free(query);
        json_decref(all);
        return NULL;
}

static void reply_exact_err(rq *q, const cx_err *err)
{
        if (err->code == CX_ERR_INVALID)
                refuse(q, 409, "exact_consent", NULL, "Exact Online needs a (new) consent first");
        else if (err->code == CX_ERR_HTTP || err->code == CX_ERR_LIMIT)
                refuse(q, 502, "exact_unreachable", err->msg, "Exact Online could not be asked: %s",
                       err->msg);
        else
                rq_reply_err(q, err);
}

/* ---- step 2: the administration ---------------------------------------------------------- */

static const char *const division_keys[] = { "Code",    "Description", "Country",
                                             "Current", "Status",      NULL };

static json_t *divisions(rq *q, const char *t, long *current, cx_err *err)
{
        xread x;
        json_t *rows = NULL;

        if (xread_open(q, t, &x, err) == 0 && (*current = current_division(&x, err)) > 0) {
                x.conn.division = *current;
                rows = read_all(&x, "system/Divisions",
                                "$select=Code,Description,Country,Current,Status", division_keys,
                                err);
        }
        /* Status 0 is inactive, 2 archived (picqer/exact-php-client SystemDivision): only an
         * active administration can be booked into. */
        for (size_t i = rows ? json_array_size(rows) : 0; i-- > 0;) {
                json_t *st = json_object_get(json_array_get(rows, i), "Status");

                if (json_is_integer(st) && json_integer_value(st) != 1)
                        json_array_remove(rows, i);
        }
        xread_clear(&x);
        return rows;
}

static void list_divisions(rq *q, const char *t)
{
        cx_err err = { 0 };
        long current = 0;
        json_t *rows = divisions(q, t, &current, &err);

        if (!rows) {
                reply_exact_err(q, &err);
                return;
        }
        rq_reply_json(q, 200,
                      json_pack("{s:I, s:o}", "current", (json_int_t)current, "divisions", rows));
}

/* Only an administration Exact lists for the consent's user may be chosen. */
static void choose_division(rq *q, const char *t)
{
        json_t *b = rq_body_object(q), *rows = NULL, *row;
        json_t *v = b ? json_object_get(b, "division") : NULL;
        json_int_t want = json_is_integer(v) ? json_integer_value(v) : 0;
        cx_err err = { 0 };
        ops_tenant_fields f = { 0 };
        char text[24];
        long current = 0;
        bool listed = false;
        size_t i;

        if (!b)
                return;
        if (want <= 0 || want > 2147483647) {
                refuse(q, 400, "division", NULL,
                       "division: expected the number of an administration");
                goto out;
        }
        rows = divisions(q, t, &current, &err);
        if (!rows) {
                reply_exact_err(q, &err);
                goto out;
        }
        json_array_foreach (rows, i, row)
                listed |= json_integer_value(json_object_get(row, "Code")) == want;
        if (!listed) {
                refuse(q, 400, "division_unknown", NULL,
                       "administration %lld is not one this Exact user can reach", (long long)want);
                goto out;
        }
        snprintf(text, sizeof(text), "%lld", (long long)want);
        f.exact_division = text;
        if (ops_tenant_update(&q->ops, t, &f, &err) < 0) {
                if (err.code == CX_ERR_INVALID)
                        refuse(q, 409, "division_taken", NULL, "%s", err.msg);
                else
                        rq_reply_err(q, &err);
                goto out;
        }
        rq_audit(q, t, "onboarding.division", "Exact administration chosen");
        rq_reply_json(q, 200, json_pack("{s:I}", "division", want));
out:
        json_decref(rows);
        json_decref(b);
}

/* ---- step 3: go live ---------------------------------------------------------------------- */

static void set_live(rq *q, const char *t)
{
        json_t *b = rq_body_object(q), *st = NULL, *v;
        cx_err err = { 0 };
        bool live;

        if (!b)
                return;
        v = json_object_get(b, "live");
        if (!json_is_boolean(v)) {
                refuse(q, 400, "live", NULL, "live: expected true or false");
                goto out;
        }
        live = json_is_true(v);
        st = state_of(q, t, &err);
        if (!st) {
                rq_reply_err(q, &err);
                goto out;
        }
        if (live && json_array_size(json_object_get(st, "missing")) > 0) {
                const char *first = json_string_value(
                        json_array_get(json_object_get(st, "missing"), 0));

                refuse(q, 409, "not_ready", first, "syncing cannot start yet: connect %s first",
                       !strcmp(first, "shop")    ? "the shop"
                       : !strcmp(first, "exact") ? "Exact Online"
                                                 : "an Exact administration");
                goto out;
        }
        /* The same switch as connector-admin tenants enable/disable. */
        if (ops_tenant_set_enabled(&q->ops, t, live, &err) < 0) {
                rq_reply_err(q, &err);
                goto out;
        }
        rq_audit(q, t, live ? "onboarding.live" : "onboarding.paused",
                 live ? "syncing started" : "syncing paused");
        rq_reply_json(q, 200, json_pack("{s:b}", "live", live));
out:
        json_decref(st);
        json_decref(b);
}

/* ---- step 4: what the mapping is picked from ---------------------------------------------- */

static const char *const vat_keys[] = { "Code",       "Description",        "Percentage",
                                        "Type",       "VATTransactionType", "EUSalesListing",
                                        "OssCountry", "IsBlocked",          "Charged",
                                        NULL };
static const char *const group_keys[] = { "Code", "Description", "IsDefault", "GLRevenueCode",
                                          NULL };
static const char *const plain_keys[] = { "Code", "Description", NULL };
static const char *const journal_keys[] = { "Code", "Description", "Type", NULL };
static const char *const gl_keys[] = { "Code", "Description", "BalanceType", NULL };

static void choices(rq *q, const char *t)
{
        static const struct {
                const char *name, *endpoint;
                const char *const *keep;
        } lists[] = {
                { "vat_codes", "vat/VATCodes", vat_keys },
                { "item_groups", "logistics/ItemGroups", group_keys },
                { "payment_conditions", "cashflow/PaymentConditions", plain_keys },
                { "journals", "financial/Journals", journal_keys },
                { "gl_accounts", "financial/GLAccounts", gl_keys },
        };
        cx_err err = { 0 };
        json_t *out = json_object(), *rules, *home;
        char country[3] = "NL";
        int version = 0;
        xread x;

        rules = ops_mapping_export(&q->ops, t, &version, NULL);
        home = json_object_get(rules, "home_country");
        if (json_is_string(home) && json_string_length(home) == 2)
                snprintf(country, sizeof(country), "%s", json_string_value(home));
        json_decref(rules);
        if (xread_open(q, t, &x, &err) < 0) {
                xread_clear(&x);
                json_decref(out);
                reply_exact_err(q, &err);
                return;
        }
        if (x.conn.division <= 0) {
                xread_clear(&x);
                json_decref(out);
                refuse(q, 409, "not_ready", "division", "choose the Exact administration first");
                return;
        }
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                json_t *rows = read_all(&x, lists[i].endpoint, NULL, lists[i].keep, &err);

                if (!rows) {
                        xread_clear(&x);
                        json_decref(out);
                        reply_exact_err(q, &err);
                        return;
                }
                json_object_set_new(out, lists[i].name, rows);
        }
        /* The proposal is the admin's (connector-admin mappings propose): one code per
         * scenario and class from the codes' percentage and type. */
        json_object_set_new(out, "proposal",
                            ops_mapping_propose_from(t, x.conn.division, country,
                                                     json_object_get(out, "vat_codes"))
                                    ?: json_null());
        json_object_set_new(out, "division", json_integer(x.conn.division));
        xread_clear(&x);
        rq_reply_json(q, 200, out);
}

/* ---- step 5: the shop's latest orders, for the preview ------------------------------------ */

static void latest_orders(rq *q, const char *t)
{
        static const char *const keep[] = { "id",          "ordernumber_full", "create_date",
                                            "total_price", "status",           NULL };
        cx_err err = { 0 };
        cx_tenant row;
        ccv_shop shop;
        cx_http_client *hc = NULL;
        json_t *page = NULL, *out, *o;
        double wait = 0;
        size_t i;

        memset(&shop, 0, sizeof(shop));
        if (ops_need_key(&q->ops, &err) < 0 || cx_tenant_get(q->db, t, &row, &err) < 0) {
                rq_reply_err(q, &err);
                return;
        }
        shop.secret = row.shop_secret_sealed && *row.shop_secret_sealed
                              ? cx_keyring_open(q->ops.key, t, row.shop_secret_sealed, &err)
                              : NULL;
        snprintf(shop.tenant, sizeof(shop.tenant), "%s", t);
        snprintf(shop.base, sizeof(shop.base), "%s", row.shop_base_url);
        snprintf(shop.public_key, sizeof(shop.public_key), "%s", row.shop_public_key);
        cx_tenant_clear(&row);
        if (!shop.secret) {
                refuse(q, 409, "not_ready", "shop", "connect the shop first");
                return;
        }
        shop.get_limit = 5;
        shop.write_limit = 1;
        shop.window_s = 1;
        shop.verify = true;
        hc = cx_http_client_new(q->ops.http_timeout_ms, false);
        if (!hc || ccv_request(&shop, hc, "GET", "orders?orderby=create_date_desc&start=0&size=5",
                               NULL, &page, &wait, &err) != CCV_OK) {
                refuse(q, 502, "shop_unreachable", err.msg,
                       "the shop's latest orders could not be read: %s", err.msg);
                goto out;
        }
        out = json_array();
        json_array_foreach (json_object_get(page, "items"), i, o) {
                json_t *x = json_object();

                for (const char *const *k = keep; *k; k++)
                        if (json_object_get(o, *k))
                                json_object_set(x, *k, json_object_get(o, *k));
                json_array_append_new(out, x);
        }
        rq_reply_json(q, 200, json_pack("{s:o}", "orders", out));
out:
        json_decref(page);
        cx_http_client_free(hc);
        ccv_shop_clear(&shop);
}

void api_onboarding(rq *q, const char *t, const char *step)
{
        bool get = is_method(q, "GET"), post = is_method(q, "POST");

        if (!step && get)
                show_state(q, t);
        else if (step && !strcmp(step, "shop") && post)
                connect_shop(q, t);
        else if (step && !strcmp(step, "divisions") && get)
                list_divisions(q, t);
        else if (step && !strcmp(step, "division") && post)
                choose_division(q, t);
        else if (step && !strcmp(step, "live") && post)
                set_live(q, t);
        else if (step && !strcmp(step, "choices") && get)
                choices(q, t);
        else if (step && !strcmp(step, "orders") && get)
                latest_orders(q, t);
        else
                rq_reply_error(q, 404, "no such resource or method");
}
