/* extract.c: the extraction engine (see extract.h and docs/extractor.md).
 *
 * Every unit of work is a "slice": one page of one listing, or a few webhook hints, for one
 * tenant. A slice publishes what changed, waits for Kafka to acknowledge all of it, and only
 * then writes the content hashes and moves the cursor in one PostgreSQL transaction that
 * also checks the lease is still ours. A crash between the two repeats a slice; it never
 * loses one. Tenants take turns, one slice each. */
#include "extractor/extract.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccv/client.h"
#include "ccv/fields.h"
#include "common/iso8601.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/signals.h"

#define EX_MAX_HINTS 32
#define EX_HINTS_PER_SLICE 8

enum { ENT_ORDER, ENT_PRODUCT, ENT_CUSTOMER, ENT_COUNT };
static const char *const ent_names[ENT_COUNT] = { "order", "product", "customer" };

/* Outcome of a slice or of one item in it. */
typedef enum ex_rc {
        EX_DONE,  /* handled (published, unchanged or not for publishing) */
        EX_IDLE,  /* the tenant had nothing to do */
        EX_WAIT,  /* budget spent or throttled: t->wait_until is set */
        EX_FAIL,  /* error: logged, backoff set */
} ex_rc;

typedef struct ex_pass {
        bool active;
        long long start;      /* offset into the listing */
        long long min;        /* orders: min_create_date of the pass */
        long long max_seen;   /* products: newest modifydate seen in the pass */
        double next_at;       /* monotonic time the next pass is due */
} ex_pass;

typedef struct ex_hint {
        long long id;
        int entity;
        char source_id[40];
} ex_hint;

typedef struct ex_tenant {
        char id[64];
        bool held;
        bool broken;          /* credentials cannot be opened; retried when the row changes */
        char *sealed;         /* the sealed secret we opened, to notice changes */
        ccv_shop shop;
        bool want[ENT_COUNT];
        bool require_paid;
        int statuses[16];
        int n_statuses;
        long long extract_from;
        long long cursor;          /* orders: create_date of the last order handled */
        long long prod_watermark;  /* products: modifydate every earlier pass reached */
        ex_pass orders, reread, products, users;
        bool hooks_done;
        double hooks_retry_at;
        double wait_until;
        int fails;
        int counts[ENT_COUNT][4]; /* published, unchanged, skipped, failed */
        ex_hint hints[EX_MAX_HINTS];
        int n_hints;
        time_t caught_up_at;
} ex_tenant;

enum { C_PUB, C_SAME, C_SKIP, C_FAIL };

typedef struct ex_write {
        int entity;
        char *source_id;
        char hash[65];
        char head[65];
        const char *event;
} ex_write;

/* What a slice will write once Kafka has acknowledged what it sent. */
typedef struct ex_batch {
        ex_write *w;
        size_t n, cap;
        long long hint_ids[EX_HINTS_PER_SLICE];
        int n_hints;
        const char *cursor_entity;   /* "orders" or "products", or NULL */
        char cursor[32];
        int sent;
        int counts[ENT_COUNT][4];
} ex_batch;

struct extractor {
        cx_daemon *d;
        cx_db *db;
        cx_producer *producer;
        ex_settings set;
        cx_http_client *http;
        ex_tenant **tenants;
        size_t n_tenants;
        size_t rr;
        double next_house;
        double next_hint_poll;
        /* shared with the webhook route */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool hint_flag;
        cx_db *hook_db;
};

/* ---- small helpers ------------------------------------------------------- */

static void tlog(cx_log_level lvl, const char *event, const ex_tenant *t, const char *resource,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A log line about one tenant and resource. */
static void tlog(cx_log_level lvl, const char *event, const ex_tenant *t, const char *resource,
                 const char *fmt, ...)
{
        char msg[700];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cx_log_fields(lvl, event, json_pack("{s:s, s:s}", "tenant", t->id, "resource",
                                            resource ? resource : ""), "%s", msg);
}

static void hash_json(const json_t *j, char out[65])
{
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

        cx_sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
        free(text);
}

static void set_wait(ex_tenant *t, double wait_s)
{
        t->wait_until = ccv_now() + wait_s;
}

static void backoff(extractor *x, ex_tenant *t)
{
        double w = 1;

        if (t->fails < 30)
                t->fails++;
        for (int i = 1; i < t->fails && w < x->set.backoff_max_s; i++)
                w *= 2;
        if (w > x->set.backoff_max_s)
                w = x->set.backoff_max_s;
        set_wait(t, w);
}

/* A failure a person may need to see: log line, sync-log row, backoff, metric. */
static ex_rc tenant_failed(extractor *x, ex_tenant *t, const char *entity, const char *resource,
                           const cx_err *err)
{
        char label[160], msg[700];
        cx_err e2 = { 0 };

        snprintf(msg, sizeof(msg), "%s: %s", resource, err->msg);
        tlog(CX_LOG_WARN, "extract.failed", t, resource, "%s", err->msg);
        if (cx_sync_log(x->db, t->id, "extract", entity, "", "failed", msg, "", &e2) < 0)
                cx_log(CX_LOG_WARN, "sync_log.failed", "%s", e2.msg);
        cx_metrics_label(label, sizeof(label), "tenant", t->id);
        cx_counter_add("cx_extractor_errors_total", "Failed extraction steps, per tenant", label,
                       1);
        backoff(x, t);
        return EX_FAIL;
}

/* Map a request outcome to a slice outcome. */
static ex_rc request_failed(extractor *x, ex_tenant *t, ccv_status st, double wait,
                            const char *entity, const char *resource, const cx_err *err)
{
        if (st == CCV_BUDGET) {
                set_wait(t, wait);
                return EX_WAIT;
        }
        if (st == CCV_THROTTLED) {
                tlog(CX_LOG_INFO, "extract.throttled", t, resource, "%s", err->msg);
                set_wait(t, wait);
                return EX_WAIT;
        }
        return tenant_failed(x, t, entity, resource, err);
}

/* ---- batches ------------------------------------------------------------- */

static void batch_free(ex_batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->w[i].source_id);
        free(b->w);
        memset(b, 0, sizeof(*b));
}

static int batch_add(ex_batch *b, int entity, const char *source_id, const char *hash,
                     const char *head, const char *event)
{
        ex_write *w;

        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 32;
                ex_write *nw = realloc(b->w, cap * sizeof(*nw));

                if (!nw)
                        return -1;
                b->w = nw;
                b->cap = cap;
        }
        w = &b->w[b->n];
        w->source_id = strdup(source_id);
        if (!w->source_id)
                return -1;
        w->entity = entity;
        snprintf(w->hash, sizeof(w->hash), "%s", hash);
        snprintf(w->head, sizeof(w->head), "%s", head ? head : "");
        w->event = event;
        b->n++;
        return 0;
}

/* What was last published for a resource: the batch first (not yet written), then the table.
 * @returns 1 found, 0 not found, -1 database error (err set). */
static int known_get(extractor *x, const ex_tenant *t, const ex_batch *b, int entity,
                     const char *source_id, char hash[65], char head[65], char event[12],
                     cx_err *err)
{
        const char *params[3] = { t->id, ent_names[entity], source_id };
        PGresult *r;

        for (size_t i = b->n; i-- > 0;) {
                if (b->w[i].entity == entity && !strcmp(b->w[i].source_id, source_id)) {
                        snprintf(hash, 65, "%s", b->w[i].hash);
                        snprintf(head, 65, "%s", b->w[i].head);
                        snprintf(event, 12, "%s", b->w[i].event);
                        return 1;
                }
        }
        r = cx_db_query(x->db, "SELECT content_hash, head_hash, event FROM extract_hashes "
                        "WHERE tenant_id = $1 AND entity = $2 AND source_id = $3",
                        3, params, err);
        if (!r)
                return -1;
        if (PQntuples(r) == 0) {
                PQclear(r);
                return 0;
        }
        snprintf(hash, 65, "%s", PQgetvalue(r, 0, 0));
        snprintf(head, 65, "%s", PQgetvalue(r, 0, 1));
        snprintf(event, 12, "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        return 1;
}

static const char *topic_of(int entity)
{
        return cx_topic(entity == ENT_ORDER ? CX_TOPIC_SHOP_ORDERS :
                        entity == ENT_PRODUCT ? CX_TOPIC_SHOP_PRODUCTS :
                        CX_TOPIC_SHOP_CUSTOMERS);
}

/* Publish @p payload (borrowed) unless the same content was published last.
 * @returns 1 published, 0 unchanged, -1 error (err set). */
static int publish(extractor *x, ex_tenant *t, ex_batch *b, int entity, const char *event,
                   const char *source_id, json_t *payload, const char *head, cx_err *err)
{
        char hash[65], khash[65], khead[65], kevent[12], trace[33], now[32];
        json_t *env;
        char *text;
        int known, rc;

        hash_json(payload, hash);
        known = known_get(x, t, b, entity, source_id, khash, khead, kevent, err);
        if (known < 0)
                return -1;
        if (known && !strcmp(khash, hash) && !strcmp(kevent, event)) {
                /* same content; remember the order head so the next re-read is cheap */
                if (head && strcmp(head, khead) &&
                    batch_add(b, entity, source_id, hash, head, event) < 0)
                        return cx_fail(err, CX_ERR_IO, false, "out of memory");
                b->counts[entity][C_SAME]++;
                return 0;
        }
        cx_random_id(trace);
        cx_iso8601_format((long long)time(NULL), now, sizeof(now));
        env = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "v", 1, "tenant",
                        t->id, "entity", ent_names[entity], "event", event, "source_id",
                        source_id, "content_hash", hash, "extracted_at", now, "trace_id", trace,
                        "payload", payload);
        text = env ? json_dumps(env, JSON_COMPACT) : NULL;
        json_decref(env);
        if (!text)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        rc = cx_producer_send(x->producer, topic_of(entity), t->id, text, strlen(text), err);
        free(text);
        if (rc < 0)
                return -1;
        b->sent++;
        if (batch_add(b, entity, source_id, hash, head, event) < 0)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        b->counts[entity][C_PUB]++;
        return 1;
}

/* Wait for Kafka, then record hashes, the cursor and handled hints in one transaction that
 * also proves the lease is still ours. @returns 0, or -1 (nothing recorded). */
static int batch_commit(extractor *x, ex_tenant *t, ex_batch *b, cx_err *err)
{
        const char *p2[2] = { t->id, x->d->instance_id };
        PGresult *r;

        if (b->n == 0 && !b->cursor_entity && b->n_hints == 0)
                return 0;
        if (b->sent > 0 && cx_producer_flush(x->producer, 30000, err) < 0)
                return -1;
        if (cx_db_begin(x->db, err) < 0)
                return -1;
        r = cx_db_query(x->db, "SELECT 1 FROM extract_leases WHERE tenant_id = $1 AND owner = $2"
                        " FOR UPDATE", 2, p2, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                PQclear(r);
                t->held = false;
                cx_fail(err, CX_ERR_INVALID, false, "lease lost to another instance");
                goto fail;
        }
        PQclear(r);
        for (size_t i = 0; i < b->n; i++) {
                const ex_write *w = &b->w[i];
                const char *p[6] = { t->id, ent_names[w->entity], w->source_id, w->hash,
                                     w->head, w->event };

                if (cx_db_exec(x->db, "INSERT INTO extract_hashes (tenant_id, entity, source_id,"
                               " content_hash, head_hash, event) VALUES ($1,$2,$3,$4,$5,$6)"
                               " ON CONFLICT (tenant_id, entity, source_id) DO UPDATE SET"
                               " content_hash = $4, head_hash = $5, event = $6,"
                               " published_at = CASE WHEN extract_hashes.content_hash = $4"
                               " THEN extract_hashes.published_at ELSE now() END",
                               6, p, err) < 0)
                        goto fail;
        }
        if (b->cursor_entity) {
                const char *p[3] = { t->id, b->cursor_entity, b->cursor };

                if (cx_db_exec(x->db, "INSERT INTO extract_cursors (tenant_id, entity, cursor)"
                               " VALUES ($1,$2,$3) ON CONFLICT (tenant_id, entity) DO UPDATE"
                               " SET cursor = $3, updated_at = now()", 3, p, err) < 0)
                        goto fail;
        }
        for (int i = 0; i < b->n_hints; i++) {
                char id[24];
                const char *p[1] = { id };

                snprintf(id, sizeof(id), "%lld", b->hint_ids[i]);
                if (cx_db_exec(x->db, "DELETE FROM extract_hints WHERE id = $1", 1, p, err) < 0)
                        goto fail;
        }
        if (cx_db_commit(x->db, err) < 0)
                goto fail;
        for (int e = 0; e < ENT_COUNT; e++) {
                char label[200], tl[100], el[60];

                for (int c = 0; c < 4; c++)
                        t->counts[e][c] += b->counts[e][c];
                if (!b->counts[e][C_PUB])
                        continue;
                cx_metrics_label(tl, sizeof(tl), "tenant", t->id);
                cx_metrics_label(el, sizeof(el), "entity", ent_names[e]);
                snprintf(label, sizeof(label), "%s,%s", tl, el);
                cx_counter_add("cx_extractor_published_total",
                               "Resources published (acknowledged by Kafka)", label,
                               b->counts[e][C_PUB]);
        }
        return 0;
fail:
        cx_db_rollback(x->db);
        return -1;
}

/* ---- dead letters -------------------------------------------------------- */

static void dead_letter(extractor *x, ex_tenant *t, int entity, const char *source_id,
                        const json_t *item, const char *reason)
{
        char *text = item ? json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        cx_dead_letter dl = { 0 };
        cx_err err = { 0 };
        char trace[33];

        cx_random_id(trace);
        dl.tenant = t->id;
        dl.stage = "extract";
        dl.source_topic = topic_of(entity);
        dl.source_id = source_id ? source_id : "";
        dl.reason = reason;
        dl.payload = text ? text : "";
        dl.trace_id = trace;
        if (cx_dead_letter_publish(x->producer, true, x->db, &dl, &err) < 0)
                tlog(CX_LOG_ERROR, "dead_letter.failed", t, ent_names[entity], "%s", err.msg);
        free(text);
}

/* ---- fetching ------------------------------------------------------------ */

/* GET every page of a collection into a new array (*out). */
static ex_rc fetch_all(extractor *x, ex_tenant *t, const char *path, const char *entity,
                       json_t **out)
{
        json_t *all = json_array();
        long long start = 0;
        cx_err err = { 0 };

        *out = NULL;
        for (int pages = 0; pages < 100; pages++) {
                char p[512];
                json_t *page = NULL, *items;
                double wait = 0;
                ccv_status st;
                bool more;

                snprintf(p, sizeof(p), "%s?start=%lld&size=250", path, start);
                st = ccv_request(&t->shop, x->http, "GET", p, NULL, &page, &wait, &err);
                if (st != CCV_OK) {
                        json_decref(all);
                        return request_failed(x, t, st, wait, entity, path, &err);
                }
                items = json_object_get(page, "items");
                if (!json_is_array(items)) {
                        json_decref(page);
                        json_decref(all);
                        cx_fail(&err, CX_ERR_PARSE, false, "collection without an items array");
                        return tenant_failed(x, t, entity, path, &err);
                }
                json_array_extend(all, items);
                start += (long long)json_array_size(items);
                more = json_is_string(json_object_get(page, "next")) &&
                       *json_string_value(json_object_get(page, "next")) &&
                       json_array_size(items) > 0;
                json_decref(page);
                if (!more)
                        break;
        }
        *out = all;
        return EX_DONE;
}

/* ---- customers ----------------------------------------------------------- */

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
                int known = known_get(x, t, b, ENT_CUSTOMER, uid, h1, h2, ev, &err);

                if (known != 0)
                        return;
                snprintf(path, sizeof(path), "users/%s", uid);
                if (ccv_request(&t->shop, x->http, "GET", path, NULL, &user, &wait, &err) !=
                    CCV_OK) {
                        tlog(CX_LOG_INFO, "customer.deferred", t, path,
                             "left to the users scan: %s", err.msg);
                        return;
                }
                if (json_is_object(user) && publish(x, t, b, ENT_CUSTOMER, "upsert", uid, user,
                                                    NULL, &err) < 0)
                        tlog(CX_LOG_WARN, "customer.failed", t, path, "%s", err.msg);
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
                if (payload && publish(x, t, b, ENT_CUSTOMER, "upsert", sid, payload, NULL,
                                       &err) < 0)
                        tlog(CX_LOG_WARN, "customer.failed", t, "orders", "%s", err.msg);
                json_decref(payload);
        }
}

/* ---- orders -------------------------------------------------------------- */

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

/* Handle one order object (a list item or GET /orders/{id}: the same shape). */
static ex_rc do_order(extractor *x, ex_tenant *t, ex_batch *b, const json_t *order)
{
        char id[32], head[65], khash[65], khead[65], kevent[12], path[96];
        json_t *rows = NULL, *payload;
        long long status;
        bool bookable, cancelled;
        const char *event;
        cx_err err = { 0 };
        int known, rc;
        ex_rc r;

        if (!json_is_object(order) || !ccv_json_id(json_object_get(order, "id"), id, sizeof(id))) {
                dead_letter(x, t, ENT_ORDER, NULL, order, "order without a usable id");
                b->counts[ENT_ORDER][C_FAIL]++;
                return EX_DONE;
        }
        status = ccv_json_int(json_object_get(order, "status"), 0);
        bookable = order_bookable(t, order, status);
        cancelled = status == 8;
        known = known_get(x, t, b, ENT_ORDER, id, khash, khead, kevent, &err);
        if (known < 0)
                return tenant_failed(x, t, "order", "orders", &err);
        if (cancelled) {
                if (!known || strcmp(kevent, "upsert") != 0) {
                        b->counts[ENT_ORDER][C_SKIP]++;
                        return EX_DONE;
                }
                event = "cancelled";
        } else if (bookable) {
                event = "upsert";
        } else {
                b->counts[ENT_ORDER][C_SKIP]++;
                return EX_DONE;
        }
        hash_json(order, head);
        if (known && !strcmp(khead, head) && !strcmp(kevent, event)) {
                b->counts[ENT_ORDER][C_SAME]++;
                return EX_DONE;
        }
        snprintf(path, sizeof(path), "orders/%s/orderrows", id);
        r = fetch_all(x, t, path, "order", &rows);
        if (r != EX_DONE)
                return r;
        payload = json_deep_copy(order);
        if (!payload || json_object_set_new(payload, "orderrows", rows) < 0) {
                json_decref(payload);
                cx_fail(&err, CX_ERR_IO, false, "out of memory");
                return tenant_failed(x, t, "order", path, &err);
        }
        rc = publish(x, t, b, ENT_ORDER, event, id, payload, head, &err);
        if (rc < 0) {
                json_decref(payload);
                return tenant_failed(x, t, "order", "orders", &err);
        }
        if (rc == 1 && !cancelled)
                order_customer(x, t, b, order, id);
        json_decref(payload);
        return EX_DONE;
}

static bool next_link(const json_t *page)
{
        const json_t *n = json_object_get(page, "next");

        return json_is_string(n) && *json_string_value(n);
}

/* Finish a slice: commit, account, and say how it went. */
static ex_rc slice_end(extractor *x, ex_tenant *t, ex_batch *b, ex_rc r, const char *entity,
                       const char *resource, bool *committed)
{
        cx_err err = { 0 };

        *committed = false;
        if (batch_commit(x, t, b, &err) < 0) {
                batch_free(b);
                return tenant_failed(x, t, entity, resource, &err);
        }
        *committed = true;
        batch_free(b);
        if (r == EX_DONE)
                t->fails = 0;
        return r;
}

/* One page of the order listing: new orders (incremental) or the re-read window. */
static ex_rc slice_orders(extractor *x, ex_tenant *t, ex_pass *ps, bool incremental)
{
        char path[256], mind[32];
        json_t *page = NULL, *items, *it;
        ex_batch b = { 0 };
        cx_err err = { 0 };
        double wait = 0;
        long long last = ps->min;
        size_t done = 0, n;
        ccv_status st;
        bool more, committed;
        ex_rc r = EX_DONE;

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
        }
        cx_iso8601_format(ps->min, mind, sizeof(mind));
        snprintf(path, sizeof(path), "orders?min_create_date=%s&orderby=create_date&start=%lld"
                 "&size=%d", mind, ps->start, x->set.page_size);
        st = ccv_request(&t->shop, x->http, "GET", path, NULL, &page, &wait, &err);
        if (st != CCV_OK)
                return request_failed(x, t, st, wait, "order", "orders", &err);
        items = json_object_get(page, "items");
        if (!json_is_array(items)) {
                json_decref(page);
                cx_fail(&err, CX_ERR_PARSE, false, "order listing without an items array");
                return tenant_failed(x, t, "order", "orders", &err);
        }
        n = json_array_size(items);
        more = next_link(page) && n > 0;
        for (done = 0; done < n && cx_running(); done++) {
                long long cd;

                it = json_array_get(items, done);
                r = do_order(x, t, &b, it);
                if (r != EX_DONE)
                        break;
                if (cx_iso8601_parse(json_string_value(json_object_get(it, "create_date")), &cd) ==
                    0 && cd > last)
                        last = cd;
        }
        json_decref(page);
        if (incremental && last > t->cursor) {
                b.cursor_entity = "orders";
                cx_iso8601_format(last, b.cursor, sizeof(b.cursor));
        }
        r = slice_end(x, t, &b, r, "order", "orders", &committed);
        if (!committed)
                return r;
        if (incremental && last > t->cursor)
                t->cursor = last;
        ps->start += (long long)done;
        if (done == n && !more) {
                ps->active = false;
                ps->next_at = ccv_now() + (incremental ? x->set.orders_interval_s :
                                           x->set.reread_interval_s);
                if (incremental)
                        t->caught_up_at = time(NULL);
        }
        return r == EX_FAIL ? EX_FAIL : r == EX_WAIT ? EX_WAIT : EX_DONE;
}

/* ---- products and users -------------------------------------------------- */

static ex_rc slice_products(extractor *x, ex_tenant *t)
{
        ex_pass *ps = &t->products;
        char path[200], sid[32];
        json_t *page = NULL, *items, *it;
        ex_batch b = { 0 };
        cx_err err = { 0 };
        double wait = 0;
        size_t done, n;
        ccv_status st;
        bool more, reached = false, committed;
        ex_rc r = EX_DONE;

        if (!ps->active) {
                ps->active = true;
                ps->start = 0;
                ps->max_seen = t->prod_watermark;
        }
        snprintf(path, sizeof(path), "products?orderby=modifydate_desc&start=%lld&size=%d",
                 ps->start, x->set.page_size);
        st = ccv_request(&t->shop, x->http, "GET", path, NULL, &page, &wait, &err);
        if (st != CCV_OK)
                return request_failed(x, t, st, wait, "product", "products", &err);
        items = json_object_get(page, "items");
        if (!json_is_array(items)) {
                json_decref(page);
                cx_fail(&err, CX_ERR_PARSE, false, "product listing without an items array");
                return tenant_failed(x, t, "product", "products", &err);
        }
        n = json_array_size(items);
        more = next_link(page) && n > 0;
        for (done = 0; done < n && cx_running(); done++) {
                long long md = 0;

                it = json_array_get(items, done);
                if (!json_is_object(it) || !ccv_json_id(json_object_get(it, "id"), sid, sizeof(sid))) {
                        dead_letter(x, t, ENT_PRODUCT, NULL, it, "product without a usable id");
                        b.counts[ENT_PRODUCT][C_FAIL]++;
                        continue;
                }
                if (cx_iso8601_parse(json_string_value(json_object_get(it, "modifydate")), &md) ==
                    0) {
                        /* newest first: everything after this was seen by an earlier pass */
                        if (md < t->prod_watermark) {
                                reached = true;
                                break;
                        }
                        if (md > ps->max_seen)
                                ps->max_seen = md;
                }
                if (publish(x, t, &b, ENT_PRODUCT, "upsert", sid, it, NULL, &err) < 0) {
                        r = tenant_failed(x, t, "product", "products", &err);
                        break;
                }
        }
        json_decref(page);
        if (r == EX_DONE && (reached || (done == n && !more))) {
                b.cursor_entity = "products";
                cx_iso8601_format(ps->max_seen, b.cursor, sizeof(b.cursor));
        }
        r = slice_end(x, t, &b, r, "product", "products", &committed);
        if (!committed)
                return r;
        ps->start += (long long)done;
        if (r == EX_DONE && (reached || (done == n && !more))) {
                t->prod_watermark = ps->max_seen;
                ps->active = false;
                ps->next_at = ccv_now() + x->set.products_interval_s;
        }
        return r;
}

static ex_rc slice_users(extractor *x, ex_tenant *t)
{
        ex_pass *ps = &t->users;
        char path[200], sid[32];
        json_t *page = NULL, *items, *it;
        ex_batch b = { 0 };
        cx_err err = { 0 };
        double wait = 0;
        size_t done, n;
        ccv_status st;
        bool more, committed;
        ex_rc r = EX_DONE;

        if (!ps->active) {
                ps->active = true;
                ps->start = 0;
        }
        snprintf(path, sizeof(path), "users?orderby=id&start=%lld&size=%d", ps->start,
                 x->set.page_size);
        st = ccv_request(&t->shop, x->http, "GET", path, NULL, &page, &wait, &err);
        if (st != CCV_OK)
                return request_failed(x, t, st, wait, "customer", "users", &err);
        items = json_object_get(page, "items");
        if (!json_is_array(items)) {
                json_decref(page);
                cx_fail(&err, CX_ERR_PARSE, false, "user listing without an items array");
                return tenant_failed(x, t, "customer", "users", &err);
        }
        n = json_array_size(items);
        more = next_link(page) && n > 0;
        for (done = 0; done < n && cx_running(); done++) {
                it = json_array_get(items, done);
                if (!json_is_object(it) || !ccv_json_id(json_object_get(it, "id"), sid, sizeof(sid))) {
                        dead_letter(x, t, ENT_CUSTOMER, NULL, it, "user without a usable id");
                        b.counts[ENT_CUSTOMER][C_FAIL]++;
                        continue;
                }
                if (publish(x, t, &b, ENT_CUSTOMER, "upsert", sid, it, NULL, &err) < 0) {
                        r = tenant_failed(x, t, "customer", "users", &err);
                        break;
                }
        }
        json_decref(page);
        r = slice_end(x, t, &b, r, "customer", "users", &committed);
        if (!committed)
                return r;
        ps->start += (long long)done;
        if (r == EX_DONE && done == n && !more) {
                ps->active = false;
                ps->next_at = ccv_now() + x->set.users_interval_s;
        }
        return r;
}

/* ---- webhook hints ------------------------------------------------------- */

static ex_rc slice_hints(extractor *x, ex_tenant *t)
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

                snprintf(path, sizeof(path), "%s/%s", h->entity == ENT_ORDER ? "orders" :
                         "products", h->source_id);
                if (!t->want[h->entity]) {
                        b.hint_ids[b.n_hints++] = h->id;
                        continue;
                }
                st = ccv_request(&t->shop, x->http, "GET", path, NULL, &obj, &wait, &err);
                if (st == CCV_NOT_FOUND) {
                        /* deleted since: nothing to publish, nothing to retry */
                        tlog(CX_LOG_INFO, "hint.gone", t, path, "%s", err.msg);
                } else if (st != CCV_OK) {
                        r = request_failed(x, t, st, wait, ent_names[h->entity], path, &err);
                        break;
                } else if (h->entity == ENT_ORDER) {
                        r = do_order(x, t, &b, obj);
                } else if (!json_is_object(obj)) {
                        dead_letter(x, t, ENT_PRODUCT, h->source_id, obj,
                                    "product answer is not an object");
                } else if (publish(x, t, &b, ENT_PRODUCT, "upsert", h->source_id, obj, NULL,
                                   &err) < 0) {
                        r = tenant_failed(x, t, "product", path, &err);
                }
                json_decref(obj);
                if (r != EX_DONE)
                        break;
                cx_log_fields(CX_LOG_INFO, "hint.fetched",
                              json_pack("{s:s, s:s, s:s}", "tenant", t->id, "entity",
                                        ent_names[h->entity], "source_id", h->source_id),
                              "re-fetched after a webhook");
                b.hint_ids[b.n_hints++] = h->id;
        }
        r = slice_end(x, t, &b, r, "order", "webhook hints", &committed);
        if (committed) {
                memmove(t->hints, t->hints + i, (size_t)(t->n_hints - i) * sizeof(ex_hint));
                t->n_hints -= i;
        }
        return r;
}

/* ---- webhook registration ------------------------------------------------ */

static const char *const hook_events[] = {
        "orders.created", "orders.updated.status", "orders.updated.ispaid",
        "products.created", "products.updated", NULL,
};

static int hook_record(extractor *x, ex_tenant *t, const json_t *hook, cx_err *err)
{
        char hid[32] = "";
        const char *key = json_string_value(json_object_get(hook, "key"));
        char *sealed = NULL;
        const char *p[5];
        int rc;

        ccv_json_id(json_object_get(hook, "id"), hid, sizeof(hid));
        if (key && x->set.have_key)
                sealed = cx_secret_seal(x->set.key, t->id, key, NULL);
        p[0] = t->id;
        p[1] = json_string_value(json_object_get(hook, "event"));
        p[2] = json_string_value(json_object_get(hook, "address"));
        p[3] = hid;
        p[4] = sealed ? sealed : "";
        if (!p[1] || !p[2]) {
                free(sealed);
                return cx_fail(err, CX_ERR_PARSE, false, "webhook answer without event/address");
        }
        rc = cx_db_exec(x->db, "INSERT INTO extract_webhooks (tenant_id, event, address, hook_id,"
                        " hook_key_sealed) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
                        5, p, err);
        free(sealed);
        return rc;
}

static long n_hook_events(void)
{
        long n = 0;

        while (hook_events[n])
                n++;
        return n;
}

/* Register the webhooks this tenant lacks; existing ones (a lost answer last time) are
 * recorded instead of registered twice. */
static ex_rc slice_hooks(extractor *x, ex_tenant *t)
{
        char address[700];
        json_t *list = NULL, *it;
        cx_err err = { 0 };
        size_t i;
        ex_rc r;

        snprintf(address, sizeof(address), "%s/webhooks/%s", x->set.webhook_base, t->id);
        r = fetch_all(x, t, "webhooks", "webhook", &list);
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

                json_array_foreach(list, i, it) {
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
                st = ccv_request(&t->shop, x->http, "POST", "webhooks", body, &created, &wait,
                                 &err);
                free(body);
                if (st != CCV_OK) {
                        json_decref(list);
                        t->hooks_retry_at = ccv_now() + 5;
                        return request_failed(x, t, st, wait, "webhook", "webhooks", &err);
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
        tlog(CX_LOG_INFO, "webhooks.registered", t, "webhooks", "webhooks point at %s", address);
        {
                cx_err e2 = { 0 };

                cx_sync_log(x->db, t->id, "extract", "webhook", "", "info",
                            "webhooks registered", "", &e2);
        }
        return EX_DONE;
failed:
        json_decref(list);
        t->hooks_retry_at = ccv_now() + 5;
        return tenant_failed(x, t, "webhook", "webhooks", &err);
}

/* ---- one tenant's turn --------------------------------------------------- */

static bool due(const ex_pass *p, double now)
{
        return p->active || now >= p->next_at;
}

static ex_rc tenant_slice(extractor *x, ex_tenant *t, double now)
{
        if (!t->held || t->broken || now < t->wait_until)
                return EX_IDLE;
        if (x->set.webhook_base[0] && !t->hooks_done && now >= t->hooks_retry_at)
                return slice_hooks(x, t);
        if (t->n_hints > 0)
                return slice_hints(x, t);
        if (t->want[ENT_ORDER] && due(&t->orders, now))
                return slice_orders(x, t, &t->orders, true);
        if (t->want[ENT_PRODUCT] && due(&t->products, now))
                return slice_products(x, t);
        if (t->want[ENT_ORDER] && x->set.reread_days > 0 && due(&t->reread, now))
                return slice_orders(x, t, &t->reread, false);
        if (t->want[ENT_CUSTOMER] && due(&t->users, now))
                return slice_users(x, t);
        return EX_IDLE;
}

/* ---- tenants and leases -------------------------------------------------- */

static void tenant_free(ex_tenant *t)
{
        if (!t)
                return;
        ccv_shop_clear(&t->shop);
        free(t->sealed);
        free(t);
}

static ex_tenant *tenant_find(extractor *x, const char *id)
{
        for (size_t i = 0; i < x->n_tenants; i++)
                if (!strcmp(x->tenants[i]->id, id))
                        return x->tenants[i];
        return NULL;
}

/* Parse a PostgreSQL array literal of simple words ("{a,b}") into flags / integers. */
static void parse_entities(ex_tenant *t, const char *arr)
{
        for (int e = 0; e < ENT_COUNT; e++)
                t->want[e] = false;
        t->want[ENT_ORDER] = strstr(arr, "orders") != NULL;
        t->want[ENT_PRODUCT] = strstr(arr, "products") != NULL;
        t->want[ENT_CUSTOMER] = strstr(arr, "customers") != NULL;
}

static void parse_statuses(ex_tenant *t, const char *arr)
{
        const char *p = arr;

        t->n_statuses = 0;
        while (*p && t->n_statuses < 16) {
                char *end = NULL;
                long v;

                if (*p < '0' || *p > '9') {
                        p++;
                        continue;
                }
                v = strtol(p, &end, 10);
                t->statuses[t->n_statuses++] = (int)v;
                p = end;
        }
}

static void tenant_load_state(extractor *x, ex_tenant *t)
{
        const char *p[1] = { t->id };
        cx_err err = { 0 };
        PGresult *r;

        t->cursor = t->extract_from;
        r = cx_db_query(x->db, "SELECT entity, cursor FROM extract_cursors WHERE tenant_id = $1",
                        1, p, &err);
        for (int i = 0; r && i < PQntuples(r); i++) {
                long long v;

                if (cx_iso8601_parse(PQgetvalue(r, i, 1), &v) < 0)
                        continue;
                if (!strcmp(PQgetvalue(r, i, 0), "orders"))
                        t->cursor = v;
                else if (!strcmp(PQgetvalue(r, i, 0), "products"))
                        t->prod_watermark = v;
        }
        PQclear(r);
        if (x->set.webhook_base[0]) {
                char addr[700];
                const char *p2[2] = { t->id, addr };

                snprintf(addr, sizeof(addr), "%s/webhooks/%s", x->set.webhook_base, t->id);
                r = cx_db_query(x->db, "SELECT count(*) FROM extract_webhooks WHERE tenant_id = $1"
                                " AND address = $2", 2, p2, &err);
                t->hooks_done = r && PQntuples(r) == 1 &&
                                strtol(PQgetvalue(r, 0, 0), NULL, 10) >= n_hook_events();
                PQclear(r);
        }
}

/* Apply one tenants row (id, shop_base_url, shop_public_key, shop_secret_sealed,
 * sync_entities, bookable_require_paid, bookable_statuses, extract_from epoch). */
static void tenant_apply(extractor *x, ex_tenant *t, PGresult *r, int row)
{
        const char *base = PQgetvalue(r, row, 1), *pub = PQgetvalue(r, row, 2);
        const char *sealed = PQgetvalue(r, row, 3);
        size_t bl = strlen(base);
        bool creds_changed;

        while (bl > 0 && base[bl - 1] == '/')
                bl--;
        creds_changed = !t->sealed || strcmp(t->sealed, sealed) ||
                        strcmp(t->shop.public_key, pub) || strncmp(t->shop.base, base, bl) ||
                        t->shop.base[bl];
        parse_entities(t, PQgetvalue(r, row, 4));
        t->require_paid = PQgetvalue(r, row, 5)[0] == 't';
        parse_statuses(t, PQgetvalue(r, row, 6));
        t->extract_from = PQgetisnull(r, row, 7) ? 0 : strtoll(PQgetvalue(r, row, 7), NULL, 10);
        if (!creds_changed)
                return;
        ccv_shop_clear(&t->shop);
        free(t->sealed);
        t->sealed = strdup(sealed);
        snprintf(t->shop.tenant, sizeof(t->shop.tenant), "%s", t->id);
        snprintf(t->shop.base, sizeof(t->shop.base), "%.*s", (int)bl, base);
        snprintf(t->shop.public_key, sizeof(t->shop.public_key), "%s", pub);
        t->shop.get_limit = x->set.get_limit;
        t->shop.write_limit = x->set.write_limit;
        t->shop.window_s = x->set.window_s;
        t->shop.verify = x->set.verify_responses;
        t->broken = false;
        if (!x->set.have_key) {
                t->broken = true;
                tlog(CX_LOG_ERROR, "tenant.credentials", t, "tenants", "%s",
                     "CX_SECRET_KEY is not set: cannot open the shop secret");
        } else {
                cx_err err = { 0 }, e2 = { 0 };

                t->shop.secret = cx_secret_open(x->set.key, t->id, sealed, &err);
                if (!t->shop.secret) {
                        t->broken = true;
                        tlog(CX_LOG_ERROR, "tenant.credentials", t, "tenants",
                             "shop secret does not open: %s", err.msg);
                        cx_sync_log(x->db, t->id, "extract", "", "", "failed",
                                    "shop secret does not open with CX_SECRET_KEY", "", &e2);
                } else {
                        cx_log_add_secret(t->shop.secret);
                }
        }
        t->wait_until = 0;
        t->fails = 0;
}

static void tenant_drop(extractor *x, size_t i)
{
        cx_log_fields(CX_LOG_INFO, "lease.dropped", json_pack("{s:s}", "tenant",
                                                             x->tenants[i]->id),
                      "no longer extracting this tenant");
        tenant_free(x->tenants[i]);
        x->tenants[i] = x->tenants[--x->n_tenants];
}

/* Write the counts gathered since the last time as one sync-log row per entity. */
static void flush_counts(extractor *x, ex_tenant *t)
{
        for (int e = 0; e < ENT_COUNT; e++) {
                int *c = t->counts[e];
                char msg[200];
                cx_err err = { 0 };

                if (c[C_PUB] == 0 && c[C_FAIL] == 0)
                        continue;
                snprintf(msg, sizeof(msg), "published %d, unchanged %d, not bookable %d, "
                         "failed %d", c[C_PUB], c[C_SAME], c[C_SKIP], c[C_FAIL]);
                if (cx_sync_log(x->db, t->id, "extract", ent_names[e], "",
                                c[C_FAIL] ? "failed" : "ok", msg, "", &err) < 0)
                        cx_log(CX_LOG_WARN, "sync_log.failed", "%s", err.msg);
                memset(c, 0, sizeof(t->counts[e]));
        }
}

static void lease_expr(const extractor *x, char *out, size_t size)
{
        snprintf(out, size, "%d", x->set.lease_s);
}

/* Heartbeat, renew, rebalance, take free leases, re-read the held tenants' rows. */
static void housekeeping(extractor *x)
{
        const char *me = x->d->instance_id;
        char lease[24], limit[24], held_arr[8192];
        const char *p2[2] = { me, lease };
        cx_err err = { 0 };
        PGresult *r;
        long enabled = 0, live = 1, target, mine = 0;
        size_t i, off;

        lease_expr(x, lease, sizeof(lease));
        if (cx_db_exec(x->db, "INSERT INTO extract_instances (instance_id) VALUES ($1)"
                       " ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()", 1, p2,
                       &err) < 0)
                goto db_failed;
        if (cx_db_exec(x->db, "DELETE FROM extract_instances WHERE seen_at < now() - interval"
                       " '1 day'", 0, NULL, &err) < 0)
                goto db_failed;
        if (cx_db_exec(x->db, "INSERT INTO extract_leases (tenant_id) SELECT id FROM tenants"
                       " WHERE enabled ON CONFLICT DO NOTHING", 0, NULL, &err) < 0)
                goto db_failed;
        /* give back what was disabled, keep the rest */
        if (cx_db_exec(x->db, "UPDATE extract_leases SET owner = NULL, expires_at = '-infinity'"
                       " WHERE owner = $1 AND tenant_id IN (SELECT id FROM tenants WHERE NOT"
                       " enabled)", 1, p2, &err) < 0)
                goto db_failed;
        r = cx_db_query(x->db, "SELECT (SELECT count(*) FROM tenants WHERE enabled),"
                        " (SELECT count(*) FROM extract_instances WHERE instance_id <> $1 AND"
                        "  seen_at > now() - $2 * interval '1 second')", 2, p2, &err);
        if (!r)
                goto db_failed;
        enabled = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        live = 1 + strtol(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
        target = (enabled + live - 1) / live;
        r = cx_db_query(x->db, "UPDATE extract_leases SET expires_at = now() + $2 * interval"
                        " '1 second' WHERE owner = $1 RETURNING tenant_id", 2, p2, &err);
        if (!r)
                goto db_failed;
        mine = PQntuples(r);
        for (i = 0; i < x->n_tenants; i++)
                x->tenants[i]->held = false;
        for (int k = 0; k < PQntuples(r); k++) {
                ex_tenant *t = tenant_find(x, PQgetvalue(r, k, 0));
                const char *p[2] = { PQgetvalue(r, k, 0), me };

                if (t) {
                        t->held = true;
                        continue;
                }
                /* A lease under our name that this process never took: a predecessor with
                 * the same instance id died holding it. Give it back so the acquisition
                 * below takes it over properly (it loads the tenant). */
                if (cx_db_exec(x->db, "UPDATE extract_leases SET owner = NULL,"
                               " expires_at = '-infinity' WHERE tenant_id = $1 AND owner = $2",
                               2, p, &err) < 0) {
                        PQclear(r);
                        goto db_failed;
                }
                mine--;
        }
        PQclear(r);
        if (mine > target) {
                /* another instance joined: hand over the surplus (state is all committed) */
                for (i = 0; i < x->n_tenants && mine > target; i++) {
                        ex_tenant *t = x->tenants[i];
                        const char *p[2] = { t->id, me };

                        if (!t->held)
                                continue;
                        if (cx_db_exec(x->db, "UPDATE extract_leases SET owner = NULL,"
                                       " expires_at = '-infinity' WHERE tenant_id = $1 AND"
                                       " owner = $2", 2, p, &err) < 0)
                                goto db_failed;
                        t->held = false;
                        mine--;
                }
        } else if (mine < target) {
                const char *p3[3] = { me, lease, limit };

                snprintf(limit, sizeof(limit), "%ld", target - mine);
                r = cx_db_query(x->db, "UPDATE extract_leases SET owner = $1, acquired_at = now(),"
                                " expires_at = now() + $2 * interval '1 second' WHERE tenant_id IN"
                                " (SELECT l.tenant_id FROM extract_leases l JOIN tenants t ON"
                                "  t.id = l.tenant_id WHERE t.enabled AND (l.owner IS NULL OR"
                                "  l.expires_at < now()) ORDER BY l.expires_at, l.tenant_id"
                                "  LIMIT $3 FOR UPDATE OF l SKIP LOCKED) RETURNING tenant_id",
                                3, p3, &err);
                if (!r)
                        goto db_failed;
                for (int k = 0; k < PQntuples(r); k++) {
                        const char *id = PQgetvalue(r, k, 0);
                        ex_tenant *t = tenant_find(x, id);

                        cx_log_fields(CX_LOG_INFO, "lease.acquired", json_pack("{s:s}", "tenant",
                                                                               id),
                                      "extracting this tenant");
                        if (!t) {
                                ex_tenant **nt = realloc(x->tenants, (x->n_tenants + 1) *
                                                         sizeof(*nt));

                                t = nt ? calloc(1, sizeof(*t)) : NULL;
                                if (nt)
                                        x->tenants = nt;
                                if (!t)
                                        continue;
                                snprintf(t->id, sizeof(t->id), "%s", id);
                                t->caught_up_at = time(NULL);
                                x->tenants[x->n_tenants++] = t;
                        }
                        t->held = true;
                }
                PQclear(r);
        }
        for (i = x->n_tenants; i-- > 0;) {
                if (!x->tenants[i]->held) {
                        flush_counts(x, x->tenants[i]);
                        tenant_drop(x, i);
                }
        }
        /* re-read the held tenants: changes take effect without a restart */
        off = 0;
        held_arr[off++] = '{';
        for (i = 0; i < x->n_tenants && off + 70 < sizeof(held_arr); i++)
                off += (size_t)snprintf(held_arr + off, sizeof(held_arr) - off, "%s%s",
                                        i ? "," : "", x->tenants[i]->id);
        snprintf(held_arr + off, sizeof(held_arr) - off, "}");
        {
                const char *p[1] = { held_arr };

                r = cx_db_query(x->db, "SELECT id, shop_base_url, shop_public_key,"
                                " shop_secret_sealed, sync_entities::text, bookable_require_paid,"
                                " bookable_statuses::text,"
                                " extract(epoch FROM extract_from)::bigint"
                                " FROM tenants WHERE id = ANY($1::text[])", 1, p, &err);
        }
        if (!r)
                goto db_failed;
        for (int k = 0; k < PQntuples(r); k++) {
                ex_tenant *t = tenant_find(x, PQgetvalue(r, k, 0));
                bool fresh;

                if (!t)
                        continue;
                fresh = t->sealed == NULL;
                tenant_apply(x, t, r, k);
                if (fresh)
                        tenant_load_state(x, t);
        }
        PQclear(r);
        for (i = 0; i < x->n_tenants; i++) {
                ex_tenant *t = x->tenants[i];
                char label[160];

                flush_counts(x, t);
                cx_metrics_label(label, sizeof(label), "tenant", t->id);
                cx_gauge_set("cx_extractor_lag_seconds",
                             "Seconds since the tenant's new orders were last read to the end",
                             label, (double)(time(NULL) - t->caught_up_at));
        }
        cx_gauge_set("cx_extractor_tenants", "Tenants this instance holds a lease on", NULL,
                     (double)x->n_tenants);
        cx_daemon_set_ready(x->d, true, NULL);
        return;
db_failed:
        cx_log(CX_LOG_WARN, "housekeeping.failed", "%s", err.msg);
        cx_daemon_set_ready(x->d, false, "PostgreSQL not reachable");
}

/* Pull the stored webhook hints of the tenants we hold into their queues. */
static void poll_hints(extractor *x)
{
        cx_err err = { 0 };
        const char *p[1] = { x->d->instance_id };
        PGresult *r;

        if (x->n_tenants == 0)
                return;
        r = cx_db_query(x->db, "SELECT h.id, h.tenant_id, h.entity, h.source_id FROM extract_hints"
                        " h JOIN extract_leases l ON l.tenant_id = h.tenant_id AND l.owner = $1"
                        " ORDER BY h.id LIMIT 500", 1, p, &err);
        if (!r) {
                cx_log(CX_LOG_WARN, "hints.failed", "%s", err.msg);
                return;
        }
        for (int k = 0; k < PQntuples(r); k++) {
                ex_tenant *t = tenant_find(x, PQgetvalue(r, k, 1));
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

/* ---- the loop ------------------------------------------------------------ */

extractor *ex_new(cx_daemon *d, cx_producer *producer, const ex_settings *set)
{
        extractor *x = calloc(1, sizeof(*x));

        if (!x)
                return NULL;
        x->d = d;
        x->db = d->db;
        x->producer = producer;
        x->set = *set;
        x->http = cx_http_client_new(set->http_timeout_ms, false);
        if (!x->http) {
                free(x);
                return NULL;
        }
        pthread_mutex_init(&x->lock, NULL);
        pthread_cond_init(&x->cond, NULL);
        return x;
}

static bool take_hint_flag(extractor *x)
{
        bool f;

        pthread_mutex_lock(&x->lock);
        f = x->hint_flag;
        x->hint_flag = false;
        pthread_mutex_unlock(&x->lock);
        return f;
}

static void idle_wait(extractor *x, double seconds)
{
        struct timespec ts;
        long long ns;

        clock_gettime(CLOCK_REALTIME, &ts);
        ns = (long long)ts.tv_nsec + (long long)(seconds * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_mutex_lock(&x->lock);
        if (!x->hint_flag)
                pthread_cond_timedwait(&x->cond, &x->lock, &ts);
        pthread_mutex_unlock(&x->lock);
}

void ex_run(extractor *x)
{
        double period = x->set.refresh_s;

        if (period > x->set.lease_s / 3.0)
                period = x->set.lease_s / 3.0;
        while (cx_running()) {
                double now = ccv_now();
                bool worked = false;

                if (now >= x->next_house) {
                        housekeeping(x);
                        x->next_house = now + period;
                }
                if (take_hint_flag(x) || now >= x->next_hint_poll) {
                        poll_hints(x);
                        x->next_hint_poll = now + 1.0;
                }
                for (size_t k = 0; k < x->n_tenants && cx_running(); k++) {
                        size_t i = (x->rr + k) % x->n_tenants;
                        ex_rc r = tenant_slice(x, x->tenants[i], now);

                        if (r == EX_IDLE)
                                continue;
                        x->rr = i + 1;
                        worked = r == EX_DONE;
                        break;
                }
                rd_kafka_poll(cx_producer_handle(x->producer), 0);
                if (!worked)
                        idle_wait(x, 0.05);
        }
}

void ex_free(extractor *x)
{
        const char *p[1];
        cx_err err = { 0 };

        if (!x)
                return;
        p[0] = x->d->instance_id;
        for (size_t i = 0; i < x->n_tenants; i++) {
                flush_counts(x, x->tenants[i]);
                tenant_free(x->tenants[i]);
        }
        free(x->tenants);
        /* our state is committed after every slice, so the leases can go at once */
        if (cx_db_exec(x->db, "UPDATE extract_leases SET owner = NULL, expires_at = '-infinity'"
                       " WHERE owner = $1", 1, p, &err) < 0 ||
            cx_db_exec(x->db, "DELETE FROM extract_instances WHERE instance_id = $1", 1, p,
                       &err) < 0)
                cx_log(CX_LOG_WARN, "lease.release_failed", "%s", err.msg);
        else
                cx_log(CX_LOG_INFO, "lease.released", "leases released");
        pthread_mutex_lock(&x->lock);
        cx_db_close(x->hook_db);
        x->hook_db = NULL;
        pthread_mutex_unlock(&x->lock);
        cx_http_client_free(x->http);
        pthread_cond_destroy(&x->cond);
        pthread_mutex_destroy(&x->lock);
        free(x);
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

void ex_webhook_route(void *ud, const cx_http_request *req, cx_http_reply *reply)
{
        extractor *x = ud;
        const char *path = cx_http_request_path(req), *tenant, *href, *entity;
        const char *body;
        char id[32];
        size_t len = 0;
        json_t *j;
        json_error_t jerr;
        cx_err err = { 0 };
        int rc;

        tenant = path + strlen("/webhooks/");
        if (!*tenant || strlen(tenant) > 63 ||
            strspn(tenant, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(tenant)) {
                reply_text(reply, 404, "unknown tenant");
                return;
        }
        body = cx_http_request_body(req, &len);
        j = body ? json_loadb(body, len, 0, &jerr) : NULL;
        href = json_string_value(json_object_get(j, "href"));
        entity = href && strstr(href, "/products/") ? "product" :
                 href && strstr(href, "/orders/") ? "order" : NULL;
        if (!json_is_object(j) || !entity || !ccv_json_id(json_object_get(j, "id"), id, sizeof(id))) {
                cx_log_fields(CX_LOG_WARN, "webhook.rejected", json_pack("{s:s}", "tenant",
                                                                         tenant),
                              "delivery without an order/product href and id");
                json_decref(j);
                reply_text(reply, 400, "expected a JSON object with href and id");
                return;
        }
        json_decref(j);
        pthread_mutex_lock(&x->lock);
        if (!x->hook_db)
                x->hook_db = cx_db_open(x->set.dsn, 5, &err);
        if (!x->hook_db) {
                rc = -1;
        } else {
                const char *p[3] = { tenant, entity, id };

                /* a newer delivery for a queued resource renumbers it, so the engine does not
                 * delete it after handling the older state */
                rc = cx_db_exec(x->hook_db, "INSERT INTO extract_hints (tenant_id, entity,"
                                " source_id) VALUES ($1,$2,$3) ON CONFLICT (tenant_id, entity,"
                                " source_id) DO UPDATE SET id = nextval('extract_hints_id_seq'),"
                                " received_at = now()", 3, p, &err);
        }
        if (rc == 0) {
                x->hint_flag = true;
                pthread_cond_signal(&x->cond);
        }
        pthread_mutex_unlock(&x->lock);
        if (rc < 0) {
                bool unknown = strstr(err.msg, "foreign key") != NULL;

                cx_log_fields(CX_LOG_WARN, "webhook.failed", json_pack("{s:s}", "tenant", tenant),
                              "%s", err.msg);
                reply_text(reply, unknown ? 404 : 503, unknown ? "unknown tenant" :
                           "could not store the delivery");
                return;
        }
        cx_counter_add("cx_extractor_webhooks_total", "Webhook deliveries accepted", NULL, 1);
        reply_text(reply, 200, "queued");
}
