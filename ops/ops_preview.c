#include "ops/ops_preview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/http_client.h"
#include "common/journal.h"
#include "common/tenant.h"
#include "ccv/client.h"
#include "ops/ops_mappings.h"
#include "booking/dryrun.h"
#include "booking/rules.h"
#include "taxstate/oss_state.h"
#include "taxstate/vies_service.h"
#include "taxstate/vies_store.h"

/* Rules from the request, or the stored ones; parsed and validated by the rules module. */
static rules *load_rules(ops_ctx *ctx, const char *tenant, const json_t *given, json_t **version,
                         cx_err *err)
{
        char msg[512] = "";
        json_t *stored = NULL;
        rules *r;
        int v = 0;

        *version = json_null();
        if (given && !json_is_object(given)) {
                cx_fail(err, CX_ERR_PARSE, false, "\"rules\" must be a rules object");
                return NULL;
        }
        if (!given) {
                stored = ops_mapping_export(ctx, tenant, &v, err);
                if (!stored) {
                        if (err->code == CX_ERR_NOT_FOUND)
                                cx_fail(err, CX_ERR_NOT_FOUND, false,
                                        "tenant %s has no mapping "
                                        "rules yet: save some first",
                                        tenant);
                        return NULL;
                }
                json_decref(*version);
                *version = json_integer(v);
        }
        r = rules_from_json(given ? given : stored, msg, sizeof(msg));
        json_decref(stored);
        if (r && rules_validate(r, msg, sizeof(msg)) < 0) {
                rules_free(r);
                r = NULL;
        }
        if (!r)
                cx_fail(err, CX_ERR_PARSE, false, "%s", msg);
        return r;
}

/* The order of an event payload (the shop event envelope, or a bare order). */
static json_t *order_of_event(const char *payload)
{
        json_t *env = json_loads(payload, 0, NULL), *order = NULL;

        if (json_is_object(json_object_get(env, "payload")))
                order = json_incref(json_object_get(env, "payload"));
        else if (json_is_object(env) && json_object_get(env, "orderrows"))
                order = json_incref(env);
        json_decref(env);
        return order;
}

static json_t *order_from_dead_letters(ops_ctx *ctx, const char *tenant, const char *id,
                                       cx_err *err)
{
        const char *params[3] = { tenant, cx_topic(CX_TOPIC_SHOP_ORDERS), id };
        PGresult *r = cx_db_query(ctx->db,
                                  "SELECT payload FROM dead_letters WHERE tenant_id = $1"
                                  " AND source_topic = $2 AND source_id = $3 ORDER BY id DESC"
                                  " LIMIT 1",
                                  3, params, err);
        json_t *order = NULL;

        if (r && PQntuples(r) == 1)
                order = order_of_event(PQgetvalue(r, 0, 0));
        PQclear(r);
        return order;
}

/* Fetch GET /orders/{id} and its rows from the shop, as the extractor would. */
static json_t *order_from_shop(ops_ctx *ctx, const char *tenant, const char *id, cx_err *err)
{
        cx_tenant row;
        ccv_shop shop;
        cx_http_client *hc = NULL;
        json_t *order = NULL, *rows = NULL, *page = NULL;
        char path[160];
        double wait = 0;
        char *secret = NULL;

        memset(&shop, 0, sizeof(shop));
        if (!ctx->key) {
                cx_fail(err, CX_ERR_NOT_FOUND, false,
                        "order %s is not among the tenant's dead "
                        "letters, and without CX_SECRET_KEY the panel cannot ask the shop: paste "
                        "the order JSON instead",
                        id);
                return NULL;
        }
        if (cx_tenant_get(ctx->db, tenant, &row, err) < 0) {
                if (err->code == CX_ERR_NOT_FOUND)
                        cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", tenant);
                return NULL;
        }
        secret = cx_keyring_open(ctx->key, tenant, row.shop_secret_sealed, err);
        if (!secret) {
                cx_tenant_clear(&row);
                cx_fail(err, CX_ERR_INVALID, false,
                        "order %s is not among the tenant's dead "
                        "letters, and the shop secret of %s cannot be opened to ask the shop "
                        "(set it with connector-admin tenants credentials): paste the order "
                        "JSON instead",
                        id, tenant);
                return NULL;
        }
        snprintf(shop.tenant, sizeof(shop.tenant), "%s", tenant);
        snprintf(shop.base, sizeof(shop.base), "%s", row.shop_base_url);
        snprintf(shop.public_key, sizeof(shop.public_key), "%s", row.shop_public_key);
        cx_tenant_clear(&row);
        shop.secret = secret;
        shop.get_limit = 20;
        shop.write_limit = 1;
        shop.window_s = 1;
        shop.verify = true;
        hc = cx_http_client_new(ctx->http_timeout_ms, false);
        if (!hc) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                goto out;
        }
        snprintf(path, sizeof(path), "orders/%s", id);
        if (ccv_request(&shop, hc, "GET", path, NULL, &order, &wait, err) != CCV_OK)
                goto fail;
        snprintf(path, sizeof(path), "orders/%s/orderrows?start=0&size=250", id);
        if (ccv_request(&shop, hc, "GET", path, NULL, &page, &wait, err) != CCV_OK)
                goto fail;
        rows = json_object_get(page, "items");
        if (!json_is_object(order) || !json_is_array(rows)) {
                cx_fail(err, CX_ERR_PARSE, false,
                        "the shop's answer for order %s is not an "
                        "order with rows",
                        id);
                goto fail;
        }
        json_object_set(order, "orderrows", rows);
        goto out;
fail:
        if (err->code != CX_ERR_PARSE) {
                char why[sizeof(err->msg)];

                snprintf(why, sizeof(why), "%s", err->msg);
                cx_fail(err, CX_ERR_HTTP, false,
                        "order %s is not among the tenant's dead "
                        "letters and the shop could not be asked: %.300s",
                        id, why);
        }
        json_decref(order);
        order = NULL;
out:
        json_decref(page);
        cx_http_client_free(hc);
        ccv_shop_clear(&shop);
        return order;
}

/* The daemon's state, read from its own tables: the OSS running total, the VIES cache and
 * the order's own consultation (never VIES itself: a preview asks nobody). */
struct preview_state {
        ops_ctx *ctx;
        const char *tenant;
        vies_service vies;
        char source_id[40]; /* the previewed order's id, "" when it has none */
};

static int preview_oss(void *arg, int year, const char *source_id, long long *cents)
{
        struct preview_state *ps = arg;
        cx_err err = { 0 };

        return oss_state_ytd(ps->ctx->db, ps->tenant, year, source_id, cents, &err);
}

/* An answer in the cache, else what VIES did for this very order when it could not answer
 * (so a held or home-rate order previews as the daemon decided it), else not checked. */
static int preview_vies(void *arg, const rules *r, const char *vat_number, vies_answer *out)
{
        struct preview_state *ps = arg;
        cx_err err = { 0 };
        vies_answer rec;
        bool hit = false;

        if (vies_service_lookup(&ps->vies, r, vat_number, out) != 0)
                return -1;
        if (out->state != VIES_NOT_CHECKED || !ps->source_id[0])
                return 0;
        if (vies_consultation_unavailable(ps->ctx->db, ps->tenant, ps->source_id, vat_number, &rec,
                                          &hit, &err) != 0)
                return -1;
        if (hit)
                *out = rec;
        return 0;
}

/* One dry-run line for @p order with @p r, on the daemon's state of @p tenant. */
static json_t *dry_run(ops_ctx *ctx, const char *tenant, const rules *r, const json_t *order,
                       cx_err *err)
{
        struct preview_state ps = { ctx, tenant, { 0 }, "" };
        dryrun_state st = { preview_oss, preview_vies, &ps };
        const json_t *oid = json_object_get(order, "id");

        ps.vies.db = ctx->db;
        if (json_is_integer(oid))
                snprintf(ps.source_id, sizeof(ps.source_id), "%lld",
                         (long long)json_integer_value(oid));
        else if (json_is_string(oid))
                snprintf(ps.source_id, sizeof(ps.source_id), "%s", json_string_value(oid));

        char *line = json_dumps(order, JSON_COMPACT), *out = NULL, *in_text = NULL;
        size_t out_len = 0;
        FILE *in, *outf;
        json_t *res = NULL;

        if (!line || asprintf(&in_text, "%s\n", line) < 0) {
                free(line);
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                return NULL;
        }
        free(line);
        in = fmemopen(in_text, strlen(in_text), "r");
        outf = open_memstream(&out, &out_len);
        if (in && outf)
                dryrun_run_state(in, outf, r, &st);
        if (in)
                fclose(in);
        if (outf)
                fclose(outf);
        if (out)
                res = json_loadb(out, out_len, 0, NULL);
        if (!res)
                cx_fail(err, CX_ERR_IO, false, "the dry run gave no answer");
        free(out);
        free(in_text);
        return res;
}

json_t *ops_preview(ops_ctx *ctx, const char *tenant, const json_t *req, cx_err *err)
{
        const json_t *given = json_object_get(req, "order");
        const json_t *jid = json_object_get(req, "order_id");
        const char *source = "pasted";
        json_t *order = NULL, *version = NULL, *res;
        rules *r;
        char id[40];

        if (given && !json_is_object(given)) {
                cx_fail(err, CX_ERR_PARSE, false, "\"order\" must be a CCV order object");
                return NULL;
        }
        if (!given) {
                if (json_is_integer(jid) && json_integer_value(jid) > 0)
                        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(jid));
                else if (json_is_string(jid) && json_string_length(jid) > 0 &&
                         json_string_length(jid) < 20 &&
                         strspn(json_string_value(jid), "0123456789") == json_string_length(jid))
                        snprintf(id, sizeof(id), "%s", json_string_value(jid));
                else {
                        cx_fail(err, CX_ERR_PARSE, false,
                                "give \"order\" (the order JSON) or "
                                "\"order_id\" (digits)");
                        return NULL;
                }
        }
        r = load_rules(ctx, tenant, json_object_get(req, "rules"), &version, err);
        if (!r) {
                json_decref(version);
                return NULL;
        }
        if (given) {
                order = json_incref((json_t *)given);
        } else {
                order = order_from_dead_letters(ctx, tenant, id, err);
                source = "dead_letter";
                if (!order && err->code == CX_OK) {
                        order = order_from_shop(ctx, tenant, id, err);
                        source = "shop";
                }
        }
        res = order ? dry_run(ctx, tenant, r, order, err) : NULL;
        json_decref(order);
        rules_free(r);
        if (!res) {
                json_decref(version);
                return NULL;
        }
        return json_pack("{s:o, s:s, s:o}", "result", res, "order_source", source, "rules_version",
                         version);
}
