/* listing.c: the passes over the shop's listings (see listing.h). */
#include "extractor/listing.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ccv/fields.h"
#include "ccv/paging.h"
#include "common/iso8601.h"
#include "common/signals.h"
#include "extractor/watch.h"

/* ---- one order ----------------------------------------------------------- */

/* The customer of a published order: a guest's block as is, a registered user fetched from
 * /users once (the periodic scan keeps it current). Failures here never stop the order. */
static void order_customer(extractor *x, ex_tenant *t, ex_batch *b, const json_t *order,
                           const char *order_id)
{
        const json_t *customer = json_object_get(order, "customer");
        char uid[32], sid[300], h1[65], h2[65], ev[12];
        cx_err err = { 0 };

        if (!t->want[ENT_CUSTOMER])
                return;
        if (ccv_json_id(json_object_get(json_object_get(order, "user"), "id"), uid, sizeof(uid))) {
                json_t *user = NULL;
                double wait;
                char path[64];
                int known = ex_known_get(x, t, b, ENT_CUSTOMER, uid, h1, h2, ev, &err);

                if (known != 0)
                        return;
                snprintf(path, sizeof(path), "users/%s", uid);
                if (ex_request(x, t, "GET", path, NULL, &user, &wait, &err) != CCV_OK) {
                        ex_log(CX_LOG_INFO, "customer.deferred", t, path,
                               "left to the users scan: %s", err.msg);
                        return;
                }
                if (json_is_object(user) &&
                    ex_publish(x, t, b, ENT_CUSTOMER, "upsert", uid, user, NULL, &err) < 0)
                        ex_log(CX_LOG_WARN, "customer.failed", t, path, "%s", err.msg);
                json_decref(user);
                return;
        }
        if (json_is_object(customer)) {
                const char *email = json_string_value(json_object_get(customer, "email"));
                json_t *payload;
                size_t i;

                if (email && *email) {
                        snprintf(sid, sizeof(sid), "guest:%s", email);
                        for (i = 6; sid[i]; i++)
                                sid[i] = (char)tolower((unsigned char)sid[i]);
                } else {
                        snprintf(sid, sizeof(sid), "guest-order:%s", order_id);
                }
                payload = json_pack("{s:b, s:s?, s:O}", "guest", 1, "email", email, "customer",
                                    customer);
                if (payload &&
                    ex_publish(x, t, b, ENT_CUSTOMER, "upsert", sid, payload, NULL, &err) < 0)
                        ex_log(CX_LOG_WARN, "customer.failed", t, "orders", "%s", err.msg);
                json_decref(payload);
        }
}

static bool order_bookable(const ex_tenant *t, const json_t *o, long long status)
{
        bool completed = ccv_json_bool(json_object_get(o, "is_completed"), true);
        bool paid = ccv_json_bool(json_object_get(o, "paid"), false);

        if (!completed || status == 8 || status <= 0)
                return false;
        if (t->require_paid && !paid)
                return false;
        if (t->n_statuses == 0)
                return true;
        for (int i = 0; i < t->n_statuses; i++)
                if (t->statuses[i] == status)
                        return true;
        return false;
}

/* The order's credit invoices (refunds), each with its rows in "invoicerows" instead of the
 * href (docs/messages-shop.md); *out an empty array when there are none. CCV announces no new
 * invoice by webhook, so every order that is published is asked. Debit invoices are left out:
 * they change nothing the connector books. */
static ex_rc order_credits(extractor *x, ex_tenant *t, const char *id, json_t **out)
{
        char path[96];
        json_t *all = NULL, *inv;
        size_t i;
        ex_rc r;

        *out = json_array();
        snprintf(path, sizeof(path), "orders/%s/invoices", id);
        r = ex_get_all(x, t, path, "order", &all);
        json_array_foreach (all, i, inv) {
                const char *type = json_string_value(json_object_get(inv, "type"));
                char iid[32];
                json_t *rows = NULL, *copy;

                if (r != EX_DONE || !type || strcasecmp(type, "credit") ||
                    !ccv_json_id(json_object_get(inv, "id"), iid, sizeof(iid)))
                        continue;
                snprintf(path, sizeof(path), "invoices/%s/invoicerows", iid);
                r = ex_get_all(x, t, path, "order", &rows);
                if (r != EX_DONE)
                        break;
                copy = json_deep_copy(inv);
                json_object_set_new(copy, "invoicerows", rows);
                json_array_append_new(*out, copy);
        }
        json_decref(all);
        if (r != EX_DONE) {
                json_decref(*out);
                *out = NULL;
        }
        return r;
}

/* The head hash: of the order alone, as before credit invoices were read (so orders without
 * any are not published again), or of the order and its credit invoices. */
static void order_head(const json_t *order, const json_t *credits, char head[65])
{
        json_t *h;

        if (json_array_size(credits) == 0) {
                ex_content_hash(order, head);
                return;
        }
        h = json_pack("{s:O,s:O}", "order", order, "credit_invoices", credits);
        ex_content_hash(h, head);
        json_decref(h);
}

ex_rc ex_order_handle(extractor *x, ex_tenant *t, ex_batch *b, const json_t *order)
{
        json_t *credits = NULL;
        char id[32], head[65], khash[65], khead[65], kevent[12], path[96];
        json_t *rows = NULL, *payload;
        long long status;
        bool bookable, cancelled;
        const char *event;
        cx_err err = { 0 };
        int known, rc;
        ex_rc r;

        if (!json_is_object(order) || !ccv_json_id(json_object_get(order, "id"), id, sizeof(id))) {
                ex_dead_letter(x, t, ENT_ORDER, NULL, order, "order without a usable id");
                b->counts[ENT_ORDER][C_FAIL]++;
                return EX_DONE;
        }
        status = ccv_json_int(json_object_get(order, "status"), 0);
        bookable = order_bookable(t, order, status);
        cancelled = status == 8;
        known = ex_known_get(x, t, b, ENT_ORDER, id, khash, khead, kevent, &err);
        if (known < 0)
                return ex_failed(x, t, "order", "orders", &err);
        if (cancelled) {
                if (!known || strcmp(kevent, "upsert") != 0) {
                        b->counts[ENT_ORDER][C_SKIP]++;
                        return EX_DONE;
                }
                event = "cancelled";
        } else if (bookable) {
                event = "upsert";
        } else {
                if (ccv_json_bool(json_object_get(order, "is_completed"), true) && status > 0)
                        ex_watch_add(x, t, id, order);
                b->counts[ENT_ORDER][C_SKIP]++;
                return EX_DONE;
        }
        r = order_credits(x, t, id, &credits);
        if (r != EX_DONE)
                return r;
        order_head(order, credits, head);
        if (known && !strcmp(khead, head) && !strcmp(kevent, event)) {
                json_decref(credits);
                b->counts[ENT_ORDER][C_SAME]++;
                return EX_DONE;
        }
        snprintf(path, sizeof(path), "orders/%s/orderrows", id);
        r = ex_get_all(x, t, path, "order", &rows);
        if (r != EX_DONE) {
                json_decref(credits);
                return r;
        }
        payload = json_deep_copy(order);
        if (payload && json_array_size(credits) > 0)
                json_object_set(payload, "invoices", credits);
        json_decref(credits);
        if (!payload || json_object_set_new(payload, "orderrows", rows) < 0) {
                json_decref(payload);
                cx_fail(&err, CX_ERR_IO, false, "out of memory");
                return ex_failed(x, t, "order", path, &err);
        }
        rc = ex_publish(x, t, b, ENT_ORDER, event, id, payload, head, &err);
        if (rc < 0) {
                json_decref(payload);
                return ex_failed(x, t, "order", "orders", &err);
        }
        if (rc == 1 && !cancelled)
                order_customer(x, t, b, order, id);
        json_decref(payload);
        return EX_DONE;
}

/* ---- the walker ---------------------------------------------------------- */

typedef struct ex_listing ex_listing;

struct ex_listing {
        const char *entity;   /* failure reports and the sync log: "order" */
        const char *resource; /* "orders" */
        const char *noun;     /* what an item is, in messages: "user" */
        int ent;              /* ENT_* the items are published as */
        ex_pass *ps;
        double interval_s; /* the next pass is due this long after one ends */
        /* one item: EX_DONE to go on (also for an item dead-lettered), else stop the page */
        ex_rc (*item)(extractor *x, ex_tenant *t, ex_listing *l, json_t *it);
        /* before the commit: the cursor the batch records (optional) */
        void (*record)(ex_tenant *t, ex_listing *l);
        /* after the commit: the tenant's copy of what was recorded (optional) */
        void (*recorded)(ex_tenant *t, ex_listing *l);
        bool incremental; /* orders: new orders, not the re-read window */
        bool reached;     /* products: the watermark was reached, the pass is complete */
        ex_batch b;
        size_t done;   /* items of the page handled */
        bool complete; /* the pass has read its whole listing */
};

/* GET one page at @p path, hand its items to l->item, commit, advance the pass. */
static ex_rc listing_page(extractor *x, ex_tenant *t, ex_listing *l, const char *path)
{
        json_t *page = NULL, *items;
        cx_err err = { 0 };
        double wait = 0;
        ccv_status st;
        size_t n;
        bool more, committed;
        ex_rc r = EX_DONE;

        st = ex_request(x, t, "GET", path, NULL, &page, &wait, &err);
        if (st != CCV_OK)
                return ex_request_failed(x, t, st, wait, l->entity, l->resource, &err);
        if (ccv_page_items(page, &items, &more) < 0) {
                json_decref(page);
                cx_fail(&err, CX_ERR_PARSE, false, "%s listing without an items array", l->noun);
                return ex_failed(x, t, l->entity, l->resource, &err);
        }
        n = json_array_size(items);
        for (l->done = 0; l->done < n && cx_running(); l->done++) {
                r = l->item(x, t, l, json_array_get(items, l->done));
                if (r != EX_DONE || l->reached)
                        break;
        }
        json_decref(page);
        l->complete = r == EX_DONE && (l->reached || (l->done == n && !more));
        if (l->record)
                l->record(t, l);
        r = ex_slice_end(x, t, &l->b, r, l->entity, l->resource, &committed);
        if (!committed)
                return r;
        if (l->recorded)
                l->recorded(t, l);
        l->ps->start += (long long)l->done;
        if (l->complete) {
                l->ps->active = false;
                l->ps->next_at = ccv_now() + l->interval_s;
        }
        return r;
}

/* ---- orders -------------------------------------------------------------- */

static ex_rc order_item(extractor *x, ex_tenant *t, ex_listing *l, json_t *it)
{
        ex_rc r = ex_order_handle(x, t, &l->b, it);
        long long cd;

        if (r == EX_DONE &&
            cx_iso8601_parse(json_string_value(json_object_get(it, "create_date")), &cd) == 0 &&
            cd > l->ps->max_seen)
                l->ps->max_seen = cd;
        return r;
}

/* Orders are paged by id, the one unique key the listing sorts by: many orders may share a
 * create date, and their order among each other may change from one request to the next, so
 * offset paging by create_date misses and repeats them at page boundaries (spec section 4).
 * Paged by id, the create dates of a page are in no order, so the cursor moves only once the
 * whole pass was read: to the newest create date it saw. */
static bool cursor_moves(const ex_tenant *t, const ex_listing *l)
{
        return l->incremental && l->complete && l->ps->max_seen > t->cursor;
}

static void order_record(ex_tenant *t, ex_listing *l)
{
        if (!cursor_moves(t, l))
                return;
        l->b.cursor_entity = "orders";
        cx_iso8601_format(l->ps->max_seen, l->b.cursor, sizeof(l->b.cursor));
}

static void order_recorded(ex_tenant *t, ex_listing *l)
{
        if (cursor_moves(t, l))
                t->cursor = l->ps->max_seen;
        if (l->complete && l->incremental)
                t->caught_up_at = time(NULL);
}

ex_rc ex_slice_orders(extractor *x, ex_tenant *t, bool incremental)
{
        ex_pass *ps = incremental ? &t->orders : &t->reread;
        ex_listing l = {
                .entity = "order",
                .resource = "orders",
                .noun = "order",
                .ent = ENT_ORDER,
                .ps = ps,
                .item = order_item,
                .record = order_record,
                .recorded = order_recorded,
                .incremental = incremental,
                .interval_s = incremental ? x->set.orders_interval_s : x->set.reread_interval_s,
        };
        char path[256], mind[32];

        if (!ps->active) {
                ps->active = true;
                ps->start = 0;
                if (incremental) {
                        ps->min = t->cursor;
                } else {
                        ps->min = (long long)time(NULL) - 86400LL * x->set.reread_days;
                        if (ps->min < t->extract_from)
                                ps->min = t->extract_from;
                }
                ps->max_seen = ps->min;
        }
        cx_iso8601_format(ps->min, mind, sizeof(mind));
        snprintf(path, sizeof(path),
                 "orders?min_create_date=%s&orderby=id&start=%lld"
                 "&size=%d",
                 mind, ps->start, x->set.page_size);
        return listing_page(x, t, &l, path);
}

/* ---- products and users -------------------------------------------------- */

/* A product or user: published as listed. Products come newest change first: one older than
 * the watermark ends the pass, as everything after it was seen by an earlier pass. */
static ex_rc listed_item(extractor *x, ex_tenant *t, ex_listing *l, json_t *it)
{
        char sid[32], why[64];
        cx_err err = { 0 };
        long long md = 0;

        if (!json_is_object(it) || !ccv_json_id(json_object_get(it, "id"), sid, sizeof(sid))) {
                snprintf(why, sizeof(why), "%s without a usable id", l->noun);
                ex_dead_letter(x, t, l->ent, NULL, it, why);
                l->b.counts[l->ent][C_FAIL]++;
                return EX_DONE;
        }
        if (l->ent == ENT_PRODUCT &&
            cx_iso8601_parse(json_string_value(json_object_get(it, "modifydate")), &md) == 0) {
                if (md < t->prod_watermark) {
                        l->reached = true;
                        return EX_DONE;
                }
                if (md > l->ps->max_seen)
                        l->ps->max_seen = md;
        }
        if (ex_publish(x, t, &l->b, l->ent, "upsert", sid, it, NULL, &err) < 0)
                return ex_failed(x, t, l->entity, l->resource, &err);
        return EX_DONE;
}

static void product_record(ex_tenant *t, ex_listing *l)
{
        if (!l->complete)
                return;
        l->b.cursor_entity = "products";
        cx_iso8601_format(l->ps->max_seen, l->b.cursor, sizeof(l->b.cursor));
}

static void product_recorded(ex_tenant *t, ex_listing *l)
{
        if (l->complete)
                t->prod_watermark = l->ps->max_seen;
}

ex_rc ex_slice_products(extractor *x, ex_tenant *t)
{
        ex_listing l = {
                .entity = "product",
                .resource = "products",
                .noun = "product",
                .ent = ENT_PRODUCT,
                .ps = &t->products,
                .item = listed_item,
                .record = product_record,
                .recorded = product_recorded,
                .interval_s = x->set.products_interval_s,
        };
        char path[200];

        if (!t->products.active) {
                t->products.active = true;
                t->products.start = 0;
                t->products.max_seen = t->prod_watermark;
        }
        snprintf(path, sizeof(path), "products?orderby=modifydate_desc&start=%lld&size=%d",
                 t->products.start, x->set.page_size);
        return listing_page(x, t, &l, path);
}

ex_rc ex_slice_users(extractor *x, ex_tenant *t)
{
        ex_listing l = {
                .entity = "customer",
                .resource = "users",
                .noun = "user",
                .ent = ENT_CUSTOMER,
                .ps = &t->users,
                .item = listed_item,
                .interval_s = x->set.users_interval_s,
        };
        char path[200];

        if (!t->users.active) {
                t->users.active = true;
                t->users.start = 0;
        }
        snprintf(path, sizeof(path), "users?orderby=id&start=%lld&size=%d", t->users.start,
                 x->set.page_size);
        return listing_page(x, t, &l, path);
}
