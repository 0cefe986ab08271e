/* webhook.c: webhooks: registration on the shop, the route that stores deliveries as hints,
 * and the slices that re-fetch hinted resources (see webhook.h). */
#include "extractor/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccv/fields.h"
#include "common/crypto.h"
#include "common/journal.h"
#include "common/metrics.h"
#include "extractor/lease.h"
#include "extractor/listing.h"

/* ---- hints --------------------------------------------------------------- */

void ex_poll_hints(extractor *x)
{
        cx_err err = { 0 };
        const char *p[1] = { x->d->instance_id };
        PGresult *r;

        if (x->n_tenants == 0)
                return;
        r = cx_db_query(x->db,
                        "SELECT h.id, h.tenant_id, h.entity, h.source_id FROM extract_hints"
                        " h JOIN extract_leases l ON l.tenant_id = h.tenant_id AND l.owner = $1"
                        " ORDER BY h.id LIMIT 500",
                        1, p, &err);
        if (!r) {
                cx_log(CX_LOG_WARN, "hints.failed", "%s", err.msg);
                return;
        }
        for (int k = 0; k < PQntuples(r); k++) {
                ex_tenant *t = ex_tenant_find(x, PQgetvalue(r, k, 1));
                long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
                bool queued = false;
                ex_hint *h;

                if (!t || t->n_hints == EX_MAX_HINTS)
                        continue;
                for (int i = 0; i < t->n_hints; i++)
                        if (t->hints[i].id == id)
                                queued = true;
                if (queued)
                        continue;
                h = &t->hints[t->n_hints++];
                h->id = id;
                h->entity = !strcmp(PQgetvalue(r, k, 2), "product") ? ENT_PRODUCT : ENT_ORDER;
                snprintf(h->source_id, sizeof(h->source_id), "%s", PQgetvalue(r, k, 3));
                /* a hint is worth more than waiting out an error backoff */
                if (t->fails > 0 && t->wait_until > ccv_now() + 1)
                        t->wait_until = ccv_now() + 1;
        }
        PQclear(r);
}

bool ex_hints_may_run(const extractor *x, ex_tenant *t, double now)
{
        if (now >= t->hint_window_at + x->set.window_s) {
                t->hint_window_at = now;
                t->hint_requests = 0;
        }
        return x->set.get_limit == 0 || t->hint_requests < (x->set.get_limit + 1) / 2;
}

/* A hinted product answers 404: published once as event "deleted" with payload {"id"} when
 * it was published before (docs/messages-shop.md), else nothing. */
static ex_rc product_gone(extractor *x, ex_tenant *t, ex_batch *b, const char *id, const char *path)
{
        char hash[65], head[65], ev[12];
        cx_err err = { 0 };
        int known = ex_known_get(x, t, b, ENT_PRODUCT, id, hash, head, ev, &err);
        json_t *payload;
        int rc;

        if (known < 0)
                return ex_failed(x, t, "product", path, &err);
        if (!known || !strcmp(ev, "deleted")) {
                ex_log(CX_LOG_INFO, "hint.gone", t, path, "product gone, never published");
                return EX_DONE;
        }
        payload = json_pack("{s:s}", "id", id);
        rc = payload ? ex_publish(x, t, b, ENT_PRODUCT, "deleted", id, payload, NULL, &err) : -1;
        json_decref(payload);
        if (rc < 0)
                return ex_failed(x, t, "product", path, &err);
        return EX_DONE;
}

ex_rc ex_slice_hints(extractor *x, ex_tenant *t)
{
        ex_batch b = { 0 };
        cx_err err = { 0 };
        ex_rc r = EX_DONE;
        bool committed;
        int i;

        for (i = 0; i < t->n_hints && i < EX_HINTS_PER_SLICE; i++) {
                const ex_hint *h = &t->hints[i];
                char path[96];
                json_t *obj = NULL;
                double wait = 0;
                ccv_status st;

                snprintf(path, sizeof(path), "%s/%s",
                         h->entity == ENT_ORDER ? "orders" : "products", h->source_id);
                if (!t->want[h->entity]) {
                        b.hint_ids[b.n_hints++] = h->id;
                        continue;
                }
                if (!ex_hints_may_run(x, t, ccv_now()))
                        break; /* the rest waits for the next window */
                t->hint_requests++;
                st = ex_request(x, t, "GET", path, NULL, &obj, &wait, &err);
                if (st == CCV_NOT_FOUND && h->entity == ENT_PRODUCT) {
                        /* a product published before and deleted since stops being sold */
                        r = product_gone(x, t, &b, h->source_id, path);
                } else if (st == CCV_NOT_FOUND) {
                        /* deleted since: nothing to publish, nothing to retry */
                        ex_log(CX_LOG_INFO, "hint.gone", t, path, "%s", err.msg);
                } else if (st != CCV_OK) {
                        r = ex_request_failed(x, t, st, wait, ex_ent_names[h->entity], path, &err);
                        break;
                } else if (h->entity == ENT_ORDER) {
                        r = ex_order_handle(x, t, &b, obj);
                } else if (!json_is_object(obj)) {
                        ex_dead_letter(x, t, ENT_PRODUCT, h->source_id, obj,
                                       "product answer is not an object");
                } else if (ex_publish(x, t, &b, ENT_PRODUCT, "upsert", h->source_id, obj, NULL,
                                      &err) < 0) {
                        r = ex_failed(x, t, "product", path, &err);
                }
                json_decref(obj);
                if (r != EX_DONE)
                        break;
                cx_log_fields(CX_LOG_INFO, "hint.fetched",
                              json_pack("{s:s, s:s, s:s}", "tenant", t->id, "entity",
                                        ex_ent_names[h->entity], "source_id", h->source_id),
                              "re-fetched after a webhook");
                b.hint_ids[b.n_hints++] = h->id;
        }
        r = ex_slice_end(x, t, &b, r, "order", "webhook hints", &committed);
        if (committed) {
                memmove(t->hints, t->hints + i, (size_t)(t->n_hints - i) * sizeof(ex_hint));
                t->n_hints -= i;
        }
        return r;
}

/* ---- webhook registration ------------------------------------------------ */

static const char *const hook_events[] = {
        "orders.created",
        "orders.updated.status",
        "orders.updated.ispaid",
        "products.created",
        "products.updated",
        "products.deleted",
        NULL,
};

static int hook_record(extractor *x, ex_tenant *t, const json_t *hook, cx_err *err)
{
        char hid[32] = "";
        const char *key = json_string_value(json_object_get(hook, "key"));
        char *sealed = NULL;
        const char *p[5];
        int rc;

        ccv_json_id(json_object_get(hook, "id"), hid, sizeof(hid));
        if (key && x->set.keys)
                sealed = cx_keyring_seal(x->set.keys, t->id, key, NULL);
        p[0] = t->id;
        p[1] = json_string_value(json_object_get(hook, "event"));
        p[2] = json_string_value(json_object_get(hook, "address"));
        p[3] = hid;
        p[4] = sealed ? sealed : "";
        if (!p[1] || !p[2]) {
                free(sealed);
                return cx_fail(err, CX_ERR_PARSE, false, "webhook answer without event/address");
        }
        rc = cx_db_exec(x->db,
                        "INSERT INTO extract_webhooks (tenant_id, event, address, hook_id,"
                        " hook_key_sealed) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
                        5, p, err);
        free(sealed);
        return rc;
}

long ex_hook_events_count(void)
{
        long n = 0;

        while (hook_events[n])
                n++;
        return n;
}

ex_rc ex_slice_hooks(extractor *x, ex_tenant *t)
{
        char address[700];
        json_t *list = NULL, *it;
        cx_err err = { 0 };
        size_t i;
        ex_rc r;

        snprintf(address, sizeof(address), "%s/webhooks/%s", x->set.webhook_base, t->id);
        r = ex_get_all(x, t, "webhooks", "webhook", &list);
        if (r != EX_DONE) {
                t->hooks_retry_at = ccv_now() + 5;
                return r;
        }
        for (int e = 0; hook_events[e]; e++) {
                json_t *created = NULL;
                char *body;
                double wait = 0;
                ccv_status st;
                bool have = false;

                json_array_foreach (list, i, it) {
                        const char *ev = json_string_value(json_object_get(it, "event"));
                        const char *ad = json_string_value(json_object_get(it, "address"));

                        if (ev && ad && !strcmp(ev, hook_events[e]) && !strcmp(ad, address)) {
                                have = true;
                                if (hook_record(x, t, it, &err) < 0)
                                        goto failed;
                        }
                }
                if (have)
                        continue;
                it = json_pack("{s:s, s:s, s:b}", "event", hook_events[e], "address", address,
                               "is_active", 1);
                body = it ? json_dumps(it, JSON_COMPACT) : NULL;
                json_decref(it);
                if (!body) {
                        cx_fail(&err, CX_ERR_IO, false, "out of memory");
                        goto failed;
                }
                st = ex_request(x, t, "POST", "webhooks", body, &created, &wait, &err);
                free(body);
                if (st != CCV_OK) {
                        json_decref(list);
                        t->hooks_retry_at = ccv_now() + 5;
                        return ex_request_failed(x, t, st, wait, "webhook", "webhooks", &err);
                }
                if (json_is_object(created) && !json_object_get(created, "address"))
                        json_object_set_new(created, "address", json_string(address));
                if (json_is_object(created) && !json_object_get(created, "event"))
                        json_object_set_new(created, "event", json_string(hook_events[e]));
                if (!json_is_object(created) || hook_record(x, t, created, &err) < 0) {
                        json_decref(created);
                        if (!err.msg[0])
                                cx_fail(&err, CX_ERR_PARSE, false, "webhook answer not an object");
                        goto failed;
                }
                json_decref(created);
        }
        json_decref(list);
        t->hooks_done = true;
        ex_log(CX_LOG_INFO, "webhooks.registered", t, "webhooks", "webhooks point at %s", address);
        {
                cx_err e2 = { 0 };

                cx_sync_log(x->db, t->id, "extract", "webhook", "", "info", "webhooks registered",
                            "", &e2);
        }
        return EX_DONE;
failed:
        json_decref(list);
        t->hooks_retry_at = ccv_now() + 5;
        return ex_failed(x, t, "webhook", "webhooks", &err);
}

/* ---- the webhook route --------------------------------------------------- */

static void reply_text(cx_http_reply *reply, int status, const char *msg)
{
        json_t *j = json_pack("{s:s}", status < 300 ? "status" : "error", msg);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

        cx_http_reply_set(reply, status, "application/json", text ? text : "{}");
        free(text);
        json_decref(j);
}

/* One answer for every delivery we do not take: an unknown tenant, a missing or wrong
 * signature, a disabled tenant. The reason goes to the log only, so the answers do not tell
 * which tenant ids exist. */
static void refuse(cx_http_reply *reply, const char *tenant, const char *why)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        static time_t last;
        static long quiet;
        time_t now = time(NULL);
        long skipped = -1;

        /* a flood must not flood the log too: one line a second, with the count left out */
        pthread_mutex_lock(&lock);
        if (now != last) {
                skipped = quiet;
                quiet = 0;
                last = now;
        } else {
                quiet++;
        }
        pthread_mutex_unlock(&lock);
        if (skipped >= 0)
                cx_log_fields(CX_LOG_INFO, "webhook.refused",
                              json_pack("{s:s, s:i}", "tenant", tenant, "not_logged", (int)skipped),
                              "%s", why);
        reply_text(reply, 401, "delivery not accepted");
}

/* Whether @p sig is HMAC-SHA512(key, address|body) for one of the keys the tenant's deliveries
 * may carry: each webhook the extractor registered (its own key and address) and the tenant's
 * webhook key from connector-admin (with this service's address). Called with x->lock held.
 * @returns 1 signed, 0 not, -1 database error. */
static int delivery_signed(extractor *x, const char *tenant, const char *body, size_t len,
                           const char *sig, cx_err *err)
{
        char address[700] = "", mac[129];
        const char *p[2] = { tenant, address };
        PGresult *r;
        int ok = 0;

        if (x->set.webhook_base[0])
                snprintf(address, sizeof(address), "%s/webhooks/%s", x->set.webhook_base, tenant);
        r = cx_db_query(x->hook_db,
                        "SELECT w.address, w.hook_key_sealed FROM extract_webhooks w JOIN tenants"
                        " t ON t.id = w.tenant_id AND t.enabled WHERE w.tenant_id = $1 AND"
                        " w.hook_key_sealed <> '' UNION ALL SELECT $2, webhook_key_sealed FROM"
                        " tenants WHERE id = $1 AND enabled AND webhook_key_sealed <> '' AND"
                        " $2 <> ''",
                        2, p, err);
        if (!r)
                return -1;
        for (int i = 0; i < PQntuples(r) && !ok; i++) {
                const char *addr = PQgetvalue(r, i, 0);
                char *key = cx_keyring_open(x->set.keys, tenant, PQgetvalue(r, i, 1), NULL);
                size_t alen = strlen(addr);
                char *text = key ? malloc(alen + 1 + len) : NULL;

                if (text) {
                        memcpy(text, addr, alen);
                        text[alen] = '|';
                        memcpy(text + alen + 1, body, len);
                        cx_hmac_sha512_hex(key, text, alen + 1 + len, mac);
                        ok = cx_equal_hex(mac, sig);
                }
                free(text);
                cx_secret_free(key);
        }
        PQclear(r);
        return ok;
}

/* Store the hint unless the tenant already has x->set.hints_max waiting; a hint for a
 * resource already queued is renumbered instead (a newer delivery: fetch it again).
 * Called with x->lock held. @returns 1 stored, 0 dropped (queue full), -1 error. */
static int hint_store(extractor *x, const char *tenant, const char *entity, const char *id,
                      cx_err *err)
{
        char cap[24];
        const char *p[4] = { tenant, entity, id, cap };
        PGresult *r;
        int n;

        snprintf(cap, sizeof(cap), "%d", x->set.hints_max);
        r = cx_db_query(x->hook_db,
                        "INSERT INTO extract_hints (tenant_id, entity, source_id) SELECT $1, $2,"
                        " $3 WHERE EXISTS (SELECT 1 FROM extract_hints WHERE tenant_id = $1 AND"
                        " entity = $2 AND source_id = $3) OR (SELECT count(*) FROM extract_hints"
                        " WHERE tenant_id = $1) < $4::int ON CONFLICT (tenant_id, entity,"
                        " source_id) DO UPDATE SET id = nextval('extract_hints_id_seq'),"
                        " received_at = now() RETURNING id",
                        4, p, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        PQclear(r);
        return n > 0;
}

/* The hinted resource of a delivery: entity from its href, id into @p id. */
static const char *delivery_resource(const char *body, size_t len, char id[32])
{
        json_error_t jerr;
        json_t *j = body ? json_loadb(body, len, 0, &jerr) : NULL;
        const char *href = json_string_value(json_object_get(j, "href"));
        const char *entity = href && strstr(href, "/products/") ? "product"
                             : href && strstr(href, "/orders/") ? "order"
                                                                : NULL;

        if (!json_is_object(j) || !ccv_json_id(json_object_get(j, "id"), id, 32))
                entity = NULL;
        json_decref(j);
        return entity;
}

/* The answer to a delivery whose handling ended with @p rc: 1 queued, 3 dropped (the tenant's
 * hints are full; its passes still read the change), 2 malformed, 0 not signed, -1 error. */
static void webhook_answer(cx_http_reply *reply, const char *tenant, int rc, const cx_err *err)
{
        json_t *who = json_pack("{s:s}", "tenant", tenant);

        if (rc < 0) {
                cx_log_fields(CX_LOG_WARN, "webhook.failed", who, "%s", err->msg);
                reply_text(reply, 503, "could not store the delivery");
                return;
        }
        if (rc == 0) {
                json_decref(who);
                refuse(reply, tenant, "signature does not match a webhook key");
                return;
        }
        if (rc == 2) {
                cx_log_fields(CX_LOG_WARN, "webhook.rejected", who,
                              "delivery without an order/product href and id");
                reply_text(reply, 400, "expected a JSON object with href and id");
                return;
        }
        json_decref(who);
        if (rc == 3) {
                cx_counter_add("cx_extractor_webhooks_dropped_total",
                               "Signed deliveries dropped: the tenant's hints were full", NULL, 1);
                reply_text(reply, 200, "dropped: too many hints waiting, the passes read it");
                return;
        }
        cx_counter_add("cx_extractor_webhooks_total", "Webhook deliveries accepted", NULL, 1);
        reply_text(reply, 200, "queued");
}

void ex_webhook_route(void *ud, const cx_http_request *req, cx_http_reply *reply)
{
        extractor *x = ud;
        const char *tenant = cx_http_request_path(req) + strlen("/webhooks/"), *entity, *body;
        const char *sig = cx_http_request_header(req, "x-hash");
        char id[32];
        size_t len = 0;
        cx_err err = { 0 };
        int rc;

        if (!*tenant || strlen(tenant) > 63 ||
            strspn(tenant, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(tenant)) {
                refuse(reply, "", "not a tenant id");
                return;
        }
        if (!sig || strlen(sig) != 128) {
                refuse(reply, tenant, "delivery without an x-hash signature");
                return;
        }
        body = cx_http_request_body(req, &len);
        pthread_mutex_lock(&x->lock);
        if (!x->hook_db)
                x->hook_db = cx_db_open(x->set.dsn, 5, &err);
        rc = x->hook_db ? delivery_signed(x, tenant, body ? body : "", len, sig, &err) : -1;
        if (rc == 1) {
                entity = delivery_resource(body, len, id);
                rc = entity ? hint_store(x, tenant, entity, id, &err) : 2;
                rc = rc == 0 ? 3 : rc;
                if (rc == 1) {
                        x->hint_flag = true;
                        pthread_cond_signal(&x->cond);
                }
        }
        pthread_mutex_unlock(&x->lock);
        webhook_answer(reply, tenant, rc, &err);
}
