/*
 * ccv_server.c - HTTP side of the CCV Shop fake.
 *
 * One global mutex guards all shop data, rate-limit windows and counters;
 * handlers hold it only while they read or change data and render JSON.
 */
#include "ccv_server.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "ccv_after.h"
#include "ccv_hook.h"

#define MAX_QUERY 32
#define DEFAULT_PAGE 25
#define MAX_PAGE 250

struct ccv_fake {
        struct ccv_fake_opts o;
        pthread_mutex_t lock;
        struct ccv_shop *shops;
        int n_shops;
        struct MHD_Daemon *mhd;
        struct ccv_hooks *hooks;
        struct {
                uint64_t requests, api, admin, auth_failures, rate_limited, bad_requests;
                uint64_t not_found, oversized, status[6];
        } st;
};

struct req {
        char *uri; /* raw request-target as received */
        struct ccv_buf body;
        bool started;
        bool too_big;
};

struct qp {
        char *key;
        char *val;
        const char *raw;
        size_t raw_len;
};

struct query {
        struct qp p[MAX_QUERY];
        size_t n;
};

/* What a handler produces; the dispatcher turns it into an MHD response. */
struct reply {
        unsigned status;
        char *body; /* malloc'd JSON text or NULL */
        bool sign;  /* sign with the shop's secret */
        char retry_after[16];
};

static double mono_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- query strings ------------------------------------------------------- */

static void query_free(struct query *q)
{
        size_t i;

        for (i = 0; i < q->n; i++) {
                free(q->p[i].key);
                free(q->p[i].val);
        }
        q->n = 0;
}

/* Returns 0, -E2BIG (too many params) or -ENOMEM. */
static int query_parse(const char *qs, struct query *q)
{
        const char *p = qs;

        q->n = 0;
        while (p && *p) {
                const char *amp = strchr(p, '&');
                size_t len = amp ? (size_t)(amp - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                struct qp *e;

                if (len == 0) {
                        p = amp ? amp + 1 : NULL;
                        continue;
                }
                if (q->n == MAX_QUERY)
                        return -E2BIG;
                e = &q->p[q->n];
                e->raw = p;
                e->raw_len = len;
                e->key = ccv_url_decode(p, eq ? (size_t)(eq - p) : len);
                e->val = eq ? ccv_url_decode(eq + 1, len - (size_t)(eq - p) - 1) : strdup("");
                q->n++;
                if (!e->key || !e->val)
                        return -ENOMEM;
                p = amp ? amp + 1 : NULL;
        }
        return 0;
}

static const char *query_get(const struct query *q, const char *key)
{
        size_t i;

        for (i = 0; i < q->n; i++)
                if (strcmp(q->p[i].key, key) == 0)
                        return q->p[i].val;
        return NULL;
}

/* ---- replies ------------------------------------------------------------- */

static void reply_json(struct reply *rp, unsigned status, json_t *j)
{
        rp->status = status;
        rp->body = j ? json_dumps(j, CCV_JSON_FLAGS) : NULL;
        rp->sign = status >= 200 && status < 300;
        json_decref(j);
        if (j && !rp->body) {
                rp->status = 500;
                rp->body = strdup("{\"status\":500,\"code\":\"500.00\","
                                  "\"developermessage\":\"out of memory\"}");
        }
}

static void reply_error(struct reply *rp, unsigned status, const char *code, const char *msg)
{
        reply_json(rp, status,
                   json_pack("{s:i,s:s,s:s}", "status", (int)status, "code", code,
                             "developermessage", msg));
        rp->sign = false;
}

static void reply_empty(struct reply *rp, unsigned status)
{
        rp->status = status;
        rp->body = NULL;
        rp->sign = true;
}

static const char msg_429_10[] =
        "Each method in each resource has a limit of requests that can be made per minute. "
        "Please lower the frequency of your request rate.";
static const char msg_429_11[] =
        "The API has a total limit of requests that can be made per minute. Please lower the "
        "frequency of your request rate.";

/* ---- paging and sorting -------------------------------------------------- */

struct page {
        int64_t start;
        int64_t size;
};

/* Returns 0 or -EINVAL with rp filled. */
static int page_parse(const struct query *q, struct page *pg, struct reply *rp)
{
        const char *s = query_get(q, "start"), *z = query_get(q, "size");

        pg->start = 0;
        pg->size = DEFAULT_PAGE;
        if (s && (ccv_parse_i64(s, &pg->start) < 0 || pg->start < 0)) {
                reply_error(rp, 400, "400.12", "start must be a non-negative integer");
                return -EINVAL;
        }
        if (z && ccv_parse_i64(z, &pg->size) < 0) {
                reply_error(rp, 400, "400.12", "size must be an integer");
                return -EINVAL;
        }
        if (pg->size < 1)
                pg->size = 1;
        if (pg->size > MAX_PAGE)
                pg->size = MAX_PAGE;
        return 0;
}

static json_t *page_href(const struct ccv_shop *s, const char *res, const struct query *q,
                         int64_t start, int64_t size)
{
        struct ccv_buf b = { 0 };
        json_t *j = NULL;
        size_t i;
        int r = 0;

        r |= ccv_buf_printf(&b, "%s%s?", s->base_url, res);
        for (i = 0; i < q->n; i++) {
                if (strcmp(q->p[i].key, "start") == 0 || strcmp(q->p[i].key, "size") == 0)
                        continue;
                r |= ccv_buf_add(&b, q->p[i].raw, q->p[i].raw_len);
                r |= ccv_buf_add(&b, "&", 1);
        }
        r |= ccv_buf_printf(&b, "start=%lld&size=%lld", (long long)start, (long long)size);
        if (r == 0)
                j = json_string(b.data);
        ccv_buf_free(&b);
        return j;
}

/* Envelope of spec section 3.1 around items[pg.start ..]; borrows the items. */
static json_t *collection(const struct ccv_shop *s, const char *res, const struct query *q,
                          json_t *const *items, size_t n, const struct page *pg)
{
        json_t *arr = json_array(), *c;
        size_t i;

        if (!arr)
                return NULL;
        for (i = (size_t)pg->start; i < n && i < (size_t)(pg->start + pg->size); i++)
                json_array_append(arr, items[i]);
        c = json_pack(
                "{s:o,s:I,s:I,s:o,s:o,s:o,s:o}", "href", page_href(s, res, q, pg->start, pg->size),
                "start", (json_int_t)pg->start, "size", (json_int_t)pg->size, "first",
                page_href(s, res, q, 0, pg->size), "previous",
                pg->start > 0 ? page_href(s, res, q,
                                          pg->start > pg->size ? pg->start - pg->size : 0, pg->size)
                              : json_null(),
                "next",
                (size_t)(pg->start + pg->size) < n
                        ? page_href(s, res, q, pg->start + pg->size, pg->size)
                        : json_null(),
                "items", arr);
        return c;
}

struct sort_ctx {
        const char *field; /* member name, "created" for orders' time */
        bool desc;
        bool numeric;
        uint64_t salt; /* non-zero: ties in the sort key come in a per-request order */
};

/* A 64-bit mix (splitmix64 finaliser), so salted ids sort in no useful order. */
static uint64_t tie_mix(uint64_t v)
{
        v ^= v >> 30;
        v *= 0xbf58476d1ce4e5b9ULL;
        v ^= v >> 27;
        v *= 0x94d049bb133111ebULL;
        return v ^ (v >> 31);
}

static int cmp_json_field(const json_t *a, const json_t *b, const struct sort_ctx *sc)
{
        const json_t *x = json_object_get(a, sc->field), *y = json_object_get(b, sc->field);
        int r;

        if (sc->numeric) {
                double u = json_is_number(x) ? json_number_value(x) : -1e18;
                double v = json_is_number(y) ? json_number_value(y) : -1e18;

                r = u < v ? -1 : u > v ? 1 : 0;
        } else {
                r = strcmp(json_is_string(x) ? json_string_value(x) : "",
                           json_is_string(y) ? json_string_value(y) : "");
        }
        if (r == 0) {
                json_int_t i = json_integer_value(json_object_get(a, "id"));
                json_int_t k = json_integer_value(json_object_get(b, "id"));

                if (sc->salt) {
                        uint64_t u = tie_mix((uint64_t)i ^ sc->salt);
                        uint64_t v = tie_mix((uint64_t)k ^ sc->salt);

                        return u < v ? -1 : u > v ? 1 : 0;
                }
                r = i < k ? -1 : i > k ? 1 : 0;
        }
        return sc->desc ? -r : r;
}

static int cmp_items(const void *pa, const void *pb, void *ctx)
{
        return cmp_json_field(*(json_t *const *)pa, *(json_t *const *)pb, ctx);
}

/* Parse orderby against the allowed names.  Returns 0 or -EINVAL. */
static int parse_orderby(const char *v, const char *const *allowed, struct sort_ctx *sc)
{
        char name[64];
        size_t n, i;

        sc->desc = false;
        if (!v)
                return 0;
        snprintf(name, sizeof(name), "%s", v);
        n = strlen(name);
        if (n > 5 && strcmp(name + n - 5, "_desc") == 0) {
                name[n - 5] = '\0';
                sc->desc = true;
        }
        for (i = 0; allowed[i]; i++) {
                if (strcmp(allowed[i], name) == 0) {
                        sc->field = allowed[i];
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_bool(const char *v, bool *ret)
{
        if (strcmp(v, "true") == 0) {
                *ret = true;
                return 0;
        }
        if (strcmp(v, "false") == 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

/* ---- API resources ------------------------------------------------------- */

static void api_root(struct ccv_shop *s, struct reply *rp)
{
        static const char *const res[] = { "orders",     "orderrows", "users",      "products",
                                           "categories", "webshops",  "paymethods", "webhooks" };
        json_t *items = json_array();
        char h[512];
        size_t i;

        for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
                snprintf(h, sizeof(h), "%s%s/", s->base_url, res[i]);
                json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s}", "href", h, "title",
                                                       res[i], "description", "", "uri", h));
        }
        snprintf(h, sizeof(h), "%s", s->base_url);
        reply_json(rp, 200, json_pack("{s:s,s:o}", "href", h, "items", items));
}

static void orders_list(struct ccv_shop *s, const struct query *q, struct reply *rp)
{
        static const char *const sortable[] = { "id", "ordernumber", "create_date", "deliver_date",
                                                NULL };
        static uint64_t requests; /* under the fake's lock */
        struct sort_ctx sc = { "id", false, true, 0 };
        bool completed = true, paid = false, has_paid = false;
        int64_t status = 0, onum = 0, pmid = 0, txid = 0;
        time_t mind = 0, maxd = 0;
        bool has_min = false, has_max = false, date_only = false;
        const char *v, *deliver = NULL;
        json_t **items = NULL;
        struct page pg;
        size_t i, n = 0;

        if (page_parse(q, &pg, rp) < 0)
                return;
        v = query_get(q, "is_completed");
        if (v && parse_bool(v, &completed) < 0)
                goto bad;
        v = query_get(q, "is_paid");
        if (v) {
                if (parse_bool(v, &paid) < 0)
                        goto bad;
                has_paid = true;
        }
        v = query_get(q, "status");
        if (v && (ccv_parse_i64(v, &status) < 0 || status < 1 || status > 14))
                goto bad;
        v = query_get(q, "ordernumber");
        if (v && (ccv_parse_i64(v, &onum) < 0 || onum < 1))
                goto bad;
        v = query_get(q, "paymethod_id");
        if (v && (ccv_parse_i64(v, &pmid) < 0 || pmid < 1))
                goto bad;
        v = query_get(q, "transaction_id");
        if (v && (ccv_parse_i64(v, &txid) < 0 || txid < 1))
                goto bad;
        v = query_get(q, "min_create_date");
        if (v) {
                if (ccv_time_parse(v, true, &mind, &date_only) < 0)
                        goto bad;
                has_min = true;
        }
        v = query_get(q, "max_create_date");
        if (v) {
                if (ccv_time_parse(v, true, &maxd, &date_only) < 0)
                        goto bad;
                if (date_only)
                        maxd += 86399; /* a bare date includes the whole day */
                has_max = true;
        }
        deliver = query_get(q, "deliver_date");
        v = query_get(q, "orderby");
        if (parse_orderby(v, sortable, &sc) < 0)
                goto bad;
        sc.numeric = strcmp(sc.field, "id") == 0 || strcmp(sc.field, "ordernumber") == 0;
        /* Orders sharing a create date (or deliver date) have no defined order, as under an
         * SQL ORDER BY on a non-unique column: it changes from one request to the next, so
         * offset paging without a unique key misses and repeats orders across pages. */
        sc.salt = strcmp(sc.field, "id") != 0 ? tie_mix(++requests) | 1 : 0;

        items = malloc((s->n_orders + 1) * sizeof(*items));
        if (!items) {
                reply_error(rp, 500, "500.00", "out of memory");
                return;
        }
        for (i = 0; i < s->n_orders; i++) {
                const struct ccv_order *o = &s->orders[i];
                json_t *j = o->obj;

                if (json_is_true(json_object_get(j, "is_completed")) != completed)
                        continue;
                if (has_paid && json_is_true(json_object_get(j, "paid")) != paid)
                        continue;
                if (status && json_integer_value(json_object_get(j, "status")) != status)
                        continue;
                if (onum && json_integer_value(json_object_get(j, "ordernumber")) != onum)
                        continue;
                if (pmid && json_integer_value(json_object_get(j, "paymethod_id")) != pmid)
                        continue;
                if (txid && json_integer_value(json_object_get(j, "transaction_id")) != txid)
                        continue;
                if (has_min && o->created < mind)
                        continue;
                if (has_max && o->created > maxd)
                        continue;
                if (deliver) {
                        const char *d = json_string_value(json_object_get(j, "deliver_date"));

                        if (!d || strncmp(d, deliver, strlen(deliver)) != 0)
                                continue;
                }
                items[n++] = j;
        }
        if (strcmp(sc.field, "id") != 0 || sc.desc)
                qsort_r(items, n, sizeof(*items), cmp_items, &sc);
        reply_json(rp, 200, collection(s, "orders/", q, items, n, &pg));
        free(items);
        return;
bad:
        reply_error(rp, 400, "400.12", "invalid query parameter");
}

static void rows_list(struct ccv_shop *s, const struct ccv_order *o, const struct query *q,
                      struct reply *rp)
{
        char res[64];
        struct page pg;
        json_t **items;
        size_t n = json_array_size(o->rows), i;

        if (page_parse(q, &pg, rp) < 0)
                return;
        items = malloc((n + 1) * sizeof(*items));
        if (!items) {
                reply_error(rp, 500, "500.00", "out of memory");
                return;
        }
        for (i = 0; i < n; i++)
                items[i] = json_array_get(o->rows, i);
        snprintf(res, sizeof(res), "orders/%lld/orderrows/", (long long)o->id);
        reply_json(rp, 200, collection(s, res, q, items, n, &pg));
        free(items);
}

static void array_list(struct ccv_shop *s, json_t *arr, const char *res, const struct query *q,
                       const char *const *sortable, struct reply *rp)
{
        struct sort_ctx sc = { "id", false, true };
        const char *appr = NULL, *pnum = NULL, *ean = NULL, *v;
        bool active = false, has_active = false;
        json_t **items, *it;
        struct page pg;
        size_t n = 0, i;

        if (page_parse(q, &pg, rp) < 0)
                return;
        if (parse_orderby(query_get(q, "orderby"), sortable, &sc) < 0) {
                reply_error(rp, 400, "400.12", "invalid orderby");
                return;
        }
        sc.numeric = strcmp(sc.field, "id") == 0;
        if (strcmp(res, "users/") == 0) {
                appr = query_get(q, "approval_status");
                if (appr && strcmp(appr, "pending") != 0 && strcmp(appr, "accepted") != 0) {
                        reply_error(rp, 400, "400.12", "approval_status must be pending|accepted");
                        return;
                }
        }
        if (strcmp(res, "products/") == 0) {
                pnum = query_get(q, "productnumber");
                ean = query_get(q, "eannumber");
                v = query_get(q, "active");
                if (v) {
                        if (parse_bool(v, &active) < 0) {
                                reply_error(rp, 400, "400.12", "active must be true|false");
                                return;
                        }
                        has_active = true;
                }
        }
        items = malloc((json_array_size(arr) + 1) * sizeof(*items));
        if (!items) {
                reply_error(rp, 500, "500.00", "out of memory");
                return;
        }
        json_array_foreach (arr, i, it) {
                if (appr && strcmp(appr, json_string_value(json_object_get(it, "approval_status"))))
                        continue;
                if (pnum && strcmp(pnum, json_string_value(json_object_get(it, "productnumber"))))
                        continue;
                if (ean && strcmp(ean, json_string_value(json_object_get(it, "eannumber"))))
                        continue;
                if (has_active && json_is_true(json_object_get(it, "is_active")) != active)
                        continue;
                items[n++] = it;
        }
        if (strcmp(sc.field, "first_name") == 0 || strcmp(sc.field, "last_name") == 0) {
                /* Users sort on the billing name inside userinfo. */
                json_t **keyed = items;
                size_t k;

                for (k = 0; k + 1 < n; k++) {
                        size_t m, best = k;

                        for (m = k + 1; m < n; m++) {
                                const char *a = json_string_value(json_object_get(
                                        json_object_get(json_object_get(keyed[m], "userinfo"),
                                                        "billingaddress"),
                                        sc.field));
                                const char *b = json_string_value(json_object_get(
                                        json_object_get(json_object_get(keyed[best], "userinfo"),
                                                        "billingaddress"),
                                        sc.field));
                                int c = strcmp(a ? a : "", b ? b : "");

                                if (sc.desc ? c > 0 : c < 0)
                                        best = m;
                        }
                        it = keyed[k];
                        keyed[k] = keyed[best];
                        keyed[best] = it;
                }
        } else if (strcmp(sc.field, "id") != 0 || sc.desc) {
                qsort_r(items, n, sizeof(*items), cmp_items, &sc);
        }
        reply_json(rp, 200, collection(s, res, q, items, n, &pg));
        free(items);
}

static json_t *find_by_id(json_t *arr, int64_t id)
{
        size_t i;
        json_t *it;

        json_array_foreach (arr, i, it) {
                if (json_integer_value(json_object_get(it, "id")) == id)
                        return it;
        }
        return NULL;
}

static json_t *webshop_obj(const struct ccv_shop *s)
{
        char h[512], root[256];
        const char *p;

        snprintf(h, sizeof(h), "%swebshops/%lld", s->base_url, (long long)s->id);
        snprintf(root, sizeof(root), "%s", s->base_url);
        p = strstr(root, "/api/rest/v1/");
        if (p)
                root[p - root] = '\0';
        return json_pack("{s:I,s:s,s:s,s:s,s:b,s:b,s:i,s:i,s:s}", "id", (json_int_t)s->id, "href",
                         h, "create_date", "2020-01-01T00:00:00Z", "name", s->name,
                         "is_multishop_system", 0, "is_salespos", 0, "product_limit", 10000,
                         "product_limit_left", 10000 - (int)json_array_size(s->products),
                         "api_root", root);
}

/* ---- webhooks ------------------------------------------------------------ */

static const char *const hook_events[] = {
        "orders.created",        "orders.updated.ispaid",
        "orders.updated.status", "orders.updated.trackandtrace",
        "orders.deleted",        "invoices.updated.status",
        "products.created",      "products.updated",
        "products.deleted",      "returns.created",
        "returns.updated",       "returns.deleted",
        "categories.created",    "categories.updated",
        "categories.deleted",    NULL,
};

static json_t *hook_json(const struct ccv_shop *s, const struct ccv_webhook *w)
{
        char h[512], cd[32];

        snprintf(h, sizeof(h), "%swebhooks/%lld", s->base_url, (long long)w->id);
        ccv_time_format(w->created, cd, sizeof(cd));
        return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:b}", "href", h, "id", (json_int_t)w->id,
                         "createdate", cd, "event", w->event, "address", w->address, "key", w->key,
                         "is_active", w->active);
}

static bool valid_address(const json_t *v)
{
        const char *a = json_string_value(v);

        return a && strlen(a) < 2048 && strlen(a) > 8 &&
               (strncmp(a, "http://", 7) == 0 || strncmp(a, "https://", 8) == 0) &&
               !strpbrk(a, " \r\n\t");
}

static void hooks_create(struct ccv_shop *s, json_t *body, struct reply *rp)
{
        json_t *ev = json_object_get(body, "event"), *addr = json_object_get(body, "address");
        json_t *act = json_object_get(body, "is_active"), *extra;
        struct ccv_webhook *w;
        const char *key;
        size_t i;
        bool known = false;
        static const char hex[] = "0123456789abcdef";

        json_object_foreach (body, key, extra) {
                if (strcmp(key, "event") && strcmp(key, "address") && strcmp(key, "is_active")) {
                        reply_error(rp, 400, "400.11", "unknown member in webhook body");
                        return;
                }
        }
        for (i = 0; json_is_string(ev) && hook_events[i]; i++)
                if (strcmp(hook_events[i], json_string_value(ev)) == 0)
                        known = true;
        if (!known) {
                reply_error(rp, 400, "400.11", "event is missing or not a known event");
                return;
        }
        if (!valid_address(addr)) {
                reply_error(rp, 400, "400.11", "address must be an http(s) URL");
                return;
        }
        if (act && !json_is_boolean(act)) {
                reply_error(rp, 400, "400.11", "is_active must be a boolean");
                return;
        }
        if (s->n_hooks == s->cap_hooks) {
                size_t cap = s->cap_hooks ? s->cap_hooks * 2 : 8;
                struct ccv_webhook *nw = realloc(s->hooks, cap * sizeof(*nw));

                if (!nw) {
                        reply_error(rp, 500, "500.00", "out of memory");
                        return;
                }
                s->hooks = nw;
                s->cap_hooks = cap;
        }
        w = &s->hooks[s->n_hooks];
        memset(w, 0, sizeof(*w));
        w->id = s->next_hook_id++;
        w->event = strdup(json_string_value(ev));
        w->address = strdup(json_string_value(addr));
        if (!w->event || !w->address) {
                free(w->event);
                free(w->address);
                reply_error(rp, 500, "500.00", "out of memory");
                return;
        }
        for (i = 0; i < 40; i++)
                w->key[i] = hex[ccv_rng_next(&s->rng) & 15];
        w->key[40] = '\0';
        w->active = act ? json_is_true(act) : true;
        w->created = time(NULL);
        s->n_hooks++;
        reply_json(rp, 201, hook_json(s, w));
}

static struct ccv_webhook *hook_find(struct ccv_shop *s, int64_t id)
{
        size_t i;

        for (i = 0; i < s->n_hooks; i++)
                if (s->hooks[i].id == id)
                        return &s->hooks[i];
        return NULL;
}

static void hooks_patch(struct ccv_shop *s, struct ccv_webhook *w, json_t *body, struct reply *rp)
{
        json_t *addr = json_object_get(body, "address"), *act = json_object_get(body, "is_active");
        const char *key;
        json_t *v;
        char *na = NULL;

        (void)s;
        json_object_foreach (body, key, v) {
                if (strcmp(key, "address") && strcmp(key, "is_active")) {
                        reply_error(rp, 400, "400.11", "only address and is_active can change");
                        return;
                }
        }
        if ((addr && !valid_address(addr)) || (act && !json_is_boolean(act))) {
                reply_error(rp, 400, "400.11", "invalid address or is_active");
                return;
        }
        if (addr) {
                na = strdup(json_string_value(addr));
                if (!na) {
                        reply_error(rp, 500, "500.00", "out of memory");
                        return;
                }
                free(w->address);
                w->address = na;
        }
        if (act)
                w->active = json_is_true(act);
        reply_empty(rp, 204);
}

static void hooks_delete(struct ccv_shop *s, struct ccv_webhook *w, struct reply *rp)
{
        size_t i = (size_t)(w - s->hooks);

        free(w->event);
        free(w->address);
        memmove(&s->hooks[i], &s->hooks[i + 1], (s->n_hooks - i - 1) * sizeof(*w));
        s->n_hooks--;
        reply_empty(rp, 204);
}

/* Queue event for every active webhook of the shop registered for it. */
static void fire(struct ccv_fake *f, struct ccv_shop *s, const char *event, json_t *body)
{
        char now[32], *text;
        size_t i;

        if (!body)
                return;
        ccv_time_format(time(NULL), now, sizeof(now));
        json_object_set_new(body, "triggered_at", json_string(now));
        text = json_dumps(body, CCV_JSON_FLAGS);
        json_decref(body);
        if (!text)
                return;
        for (i = 0; i < s->n_hooks; i++)
                if (s->hooks[i].active && strcmp(s->hooks[i].event, event) == 0)
                        (void)ccv_hooks_enqueue(f->hooks, s->hooks[i].address, s->hooks[i].key,
                                                event, text);
        free(text);
}

/* The common part of the order webhook bodies (spec section 3.9). */
static json_t *order_hook_body(const struct ccv_shop *s, const struct ccv_order *o)
{
        const json_t *j = o->obj, *c = json_object_get(j, "customer");
        char h[512];

        snprintf(h, sizeof(h), "%sorders/%lld", s->base_url, (long long)o->id);
        return json_pack("{s:s,s:s,s:I,s:O,s:O,s:O,s:O,s:O,s:s}", "triggered_at", "", "href", h,
                         "id", (json_int_t)o->id, "order_number", json_object_get(j, "ordernumber"),
                         "ordernumber_prefix", json_object_get(j, "ordernumber_prefix"),
                         "ordernumber_full", json_object_get(j, "ordernumber_full"), "total_price",
                         json_object_get(j, "total_price"), "customer_email",
                         json_object_get(c, "email"), "customer_mobile", "");
}

/* ---- authentication and limits ------------------------------------------- */

static int check_auth(struct ccv_fake *f, struct ccv_shop *s, struct MHD_Connection *c,
                      const char *method, const struct req *rq, struct reply *rp)
{
        const char *pub = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-public");
        const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-date");
        const char *hash = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-hash");
        unsigned st = (unsigned)f->o.auth_status;
        char want[129];
        time_t t;

        if (!pub || !date || !hash) {
                reply_error(rp, st, st == 403 ? "403.10" : "401.10",
                            "missing x-public, x-date or x-hash header");
                return -EACCES;
        }
        if (strcmp(pub, s->public_key) != 0) {
                reply_error(rp, st, st == 403 ? "403.11" : "401.11", "unknown public key");
                return -EACCES;
        }
        if (ccv_time_parse(date, false, &t, NULL) < 0) {
                reply_error(rp, st, st == 403 ? "403.12" : "401.12",
                            "x-date is not an ISO 8601 timestamp");
                return -EACCES;
        }
        if (llabs((long long)(time(NULL) - t)) > f->o.auth_window) {
                reply_error(rp, st, st == 403 ? "403.13" : "401.13",
                            "x-date differs more than 5 minutes from server time");
                return -EACCES;
        }
        if (ccv_sign(pub, s->secret, method, rq->uri, rq->body.data, rq->body.len, date, want) <
            0) {
                reply_error(rp, 500, "500.00", "out of memory");
                return -ENOMEM;
        }
        if (strlen(hash) != 128 || CRYPTO_memcmp(hash, want, 128) != 0) {
                reply_error(rp, st, st == 403 ? "403.14" : "401.14", "x-hash does not match");
                return -EACCES;
        }
        return 0;
}

/* Returns 0 when the request may proceed, else fills rp with a 429. */
static int check_limits(struct ccv_fake *f, struct ccv_shop *s, const char *method,
                        const char *resource, struct reply *rp)
{
        bool get = strcmp(method, "GET") == 0;
        int limit = get ? f->o.rate_get : f->o.rate_write;
        double now = mono_now(), left = 0;
        struct ccv_rl_slot *sl = NULL;
        const char *code = NULL;
        char key[48];
        size_t i;

        if (s->throttle_left > 0 || now < s->throttle_until) {
                if (s->throttle_left > 0)
                        s->throttle_left--;
                code = s->throttle_code;
                left = s->throttle_until > now ? s->throttle_until - now : f->o.minute;
                goto limited;
        }
        if (f->o.rate_total > 0) {
                if (now - s->total_start >= f->o.minute) {
                        s->total_start = now;
                        s->total_count = 0;
                }
                if (s->total_count >= f->o.rate_total) {
                        code = "429.11";
                        left = s->total_start + f->o.minute - now;
                        goto limited;
                }
        }
        if (limit > 0) {
                snprintf(key, sizeof(key), "%s %s", method, resource);
                for (i = 0; i < s->n_slots; i++)
                        if (strcmp(s->slots[i].key, key) == 0)
                                sl = &s->slots[i];
                if (!sl) {
                        /* Unknown resources share the last slot; the table is small. */
                        sl = &s->slots[s->n_slots < CCV_RL_SLOTS ? s->n_slots++ : CCV_RL_SLOTS - 1];
                        snprintf(sl->key, sizeof(sl->key), "%s", key);
                        sl->start = now;
                        sl->count = 0;
                }
                if (now - sl->start >= f->o.minute) {
                        sl->start = now;
                        sl->count = 0;
                }
                if (sl->count >= limit) {
                        code = "429.10";
                        left = sl->start + f->o.minute - now;
                        goto limited;
                }
                sl->count++;
        }
        s->total_count++;
        return 0;
limited:
        s->rate_limited++;
        f->st.rate_limited++;
        reply_error(rp, 429, code, strcmp(code, "429.11") == 0 ? msg_429_11 : msg_429_10);
        if (f->o.retry_after)
                snprintf(rp->retry_after, sizeof(rp->retry_after), "%d",
                         (int)ceil(left > 0 ? left : 1));
        return -EAGAIN;
}

/* ---- API dispatch -------------------------------------------------------- */

static bool is_id(const char *seg, int64_t *ret)
{
        return ccv_parse_i64(seg, ret) == 0 && *ret > 0;
}

static int parse_body(const struct req *rq, json_t **ret, struct reply *rp)
{
        json_error_t jerr;
        json_t *j;

        j = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len, JSON_REJECT_DUPLICATES,
                       &jerr);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                reply_error(rp, 400, "400.10", "request body is not a JSON object");
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

/* Invoices (or returns) of one order, or of the shop (o NULL), as a collection; the shop's
 * list filters on ordernumber and min_create_date (spec 3.10). */
static void after_list(struct ccv_shop *s, bool returns, const struct ccv_order *o,
                       const struct query *q, struct reply *rp)
{
        const char *num = query_get(q, "ordernumber"), *since = query_get(q, "min_create_date");
        size_t n = 0, cap = 16, i, k;
        json_t **items = malloc(cap * sizeof(*items)), *e;
        char res[64];
        struct page pg;

        if (!items || page_parse(q, &pg, rp) < 0) {
                if (!items)
                        reply_error(rp, 500, "500.00", "out of memory");
                free(items);
                return;
        }
        for (i = 0; i < s->n_orders; i++) {
                const struct ccv_order *x = &s->orders[i];
                json_t *list = returns ? x->returns : x->invoices;

                if (o && x != o)
                        continue;
                json_array_foreach (list, k, e) {
                        json_t *obj = json_object_get(e, "obj"), **grown;
                        char on[32];

                        snprintf(
                                on, sizeof(on), "%lld",
                                (long long)json_integer_value(json_object_get(obj, "ordernumber")));
                        if ((num && strcmp(num, on)) ||
                            (since && strcmp(json_string_value(json_object_get(obj, "create_date")),
                                             since) < 0))
                                continue;
                        if (n == cap) {
                                grown = realloc(items, (cap *= 2) * sizeof(*items));
                                if (!grown) {
                                        free(items);
                                        reply_error(rp, 500, "500.00", "out of memory");
                                        return;
                                }
                                items = grown;
                        }
                        items[n++] = obj;
                }
        }
        if (o)
                snprintf(res, sizeof(res), "orders/%lld/%s/", (long long)o->id,
                         returns ? "returns" : "invoices");
        else
                snprintf(res, sizeof(res), "%s/", returns ? "returns" : "invoices");
        reply_json(rp, 200, collection(s, res, q, items, n, &pg));
        free(items);
}

/* GET /invoices/{id}[/invoicerows/] and /returns/{id}[/returnrows/]. */
static void after_get(struct ccv_shop *s, bool returns, int64_t id, char **seg, size_t nseg,
                      const struct query *q, struct reply *rp)
{
        const json_t *e = ccv_after_find(s, returns, id), *rows;
        char res[64];
        struct page pg;
        json_t **items;
        size_t n, i;

        if (!e) {
                reply_error(rp, 404, "404.10", "no resource with this id");
                return;
        }
        if (nseg == 2) {
                reply_json(rp, 200, json_incref(json_object_get(e, "obj")));
                return;
        }
        if (nseg != 3 || strcmp(seg[2], returns ? "returnrows" : "invoicerows")) {
                reply_error(rp, 404, "404.20", "invalid resource name");
                return;
        }
        if (page_parse(q, &pg, rp) < 0)
                return;
        rows = json_object_get(e, "rows");
        n = json_array_size(rows);
        items = malloc((n + 1) * sizeof(*items));
        if (!items) {
                reply_error(rp, 500, "500.00", "out of memory");
                return;
        }
        for (i = 0; i < n; i++)
                items[i] = json_array_get(rows, i);
        snprintf(res, sizeof(res), "%s/%lld/%s/", seg[0], (long long)id, seg[2]);
        reply_json(rp, 200, collection(s, res, q, items, n, &pg));
        free(items);
}

static void api_route(struct ccv_fake *f, struct ccv_shop *s, const char *method, char **seg,
                      size_t nseg, const struct query *q, const struct req *rq, struct reply *rp)
{
        static const char *const user_sort[] = { "id", "first_name", "last_name", NULL };
        static const char *const product_sort[] = { "id", "name", "createdate", "modifydate",
                                                    NULL };
        static const char *const plain_sort[] = { "id", NULL };
        bool get = strcmp(method, "GET") == 0;
        const char *res = nseg ? seg[0] : "";
        json_t *j, *body = NULL;
        int64_t id = 0;

        if (nseg == 0) {
                if (!get)
                        goto not_allowed;
                api_root(s, rp);
                return;
        }
        if (nseg >= 2 && !is_id(seg[1], &id))
                goto no_id;
        if (strcmp(res, "orders") == 0) {
                struct ccv_order *o;

                if (!get)
                        goto not_allowed;
                if (nseg == 1) {
                        orders_list(s, q, rp);
                        return;
                }
                o = ccv_shop_order(s, id);
                if (!o)
                        goto no_id;
                if (nseg == 2) {
                        reply_json(rp, 200, json_incref(o->obj));
                        return;
                }
                if (nseg == 3 && strcmp(seg[2], "orderrows") == 0) {
                        rows_list(s, o, q, rp);
                        return;
                }
                if (nseg == 3 && strcmp(seg[2], "invoices") == 0) {
                        after_list(s, false, o, q, rp);
                        return;
                }
                goto no_res;
        }
        if (strcmp(res, "invoices") == 0 || strcmp(res, "returns") == 0) {
                if (!get)
                        goto not_allowed;
                if (nseg == 1)
                        after_list(s, res[0] == 'r', NULL, q, rp);
                else
                        after_get(s, res[0] == 'r', id, seg, nseg, q, rp);
                return;
        }
        if (strcmp(res, "orderrows") == 0) {
                size_t i;

                if (!get)
                        goto not_allowed;
                if (nseg != 2)
                        goto no_res;
                for (i = 0; i < s->n_orders; i++) {
                        j = find_by_id(s->orders[i].rows, id);
                        if (j) {
                                reply_json(rp, 200, json_incref(j));
                                return;
                        }
                }
                goto no_id;
        }
        if (strcmp(res, "users") == 0 || strcmp(res, "products") == 0 ||
            strcmp(res, "categories") == 0 || strcmp(res, "paymethods") == 0) {
                json_t *arr = res[0] == 'u'                    ? s->users
                              : res[0] == 'p' && res[1] == 'r' ? s->products
                              : res[0] == 'c'                  ? s->categories
                                                               : s->paymethods;
                char rname[32];

                if (!get)
                        goto not_allowed;
                if (nseg == 1) {
                        snprintf(rname, sizeof(rname), "%s/", res);
                        array_list(s, arr, rname, q,
                                   res[0] == 'u'                    ? user_sort
                                   : res[0] == 'p' && res[1] == 'r' ? product_sort
                                                                    : plain_sort,
                                   rp);
                        return;
                }
                if (nseg != 2)
                        goto no_res;
                j = find_by_id(arr, id);
                if (!j)
                        goto no_id;
                reply_json(rp, 200, json_incref(j));
                return;
        }
        if (strcmp(res, "webshops") == 0) {
                json_t *ws;

                if (!get)
                        goto not_allowed;
                ws = webshop_obj(s);
                if (nseg == 1) {
                        struct page pg;

                        if (page_parse(q, &pg, rp) == 0)
                                reply_json(rp, 200, collection(s, "webshops/", q, &ws, 1, &pg));
                        json_decref(ws);
                        return;
                }
                if (nseg == 2 && id == s->id) {
                        reply_json(rp, 200, ws);
                        return;
                }
                json_decref(ws);
                goto no_id;
        }
        if (strcmp(res, "webhooks") == 0) {
                struct ccv_webhook *w = NULL;

                if (nseg > 2)
                        goto no_res;
                if (nseg == 2) {
                        w = hook_find(s, id);
                        if (!w)
                                goto no_id;
                }
                if (get && nseg == 1) {
                        json_t **items = malloc((s->n_hooks + 1) * sizeof(*items));
                        struct page pg;
                        size_t i;

                        if (!items) {
                                reply_error(rp, 500, "500.00", "out of memory");
                                return;
                        }
                        for (i = 0; i < s->n_hooks; i++)
                                items[i] = hook_json(s, &s->hooks[i]);
                        if (page_parse(q, &pg, rp) == 0)
                                reply_json(rp, 200,
                                           collection(s, "webhooks/", q, items, s->n_hooks, &pg));
                        for (i = 0; i < s->n_hooks; i++)
                                json_decref(items[i]);
                        free(items);
                        return;
                }
                if (get) {
                        reply_json(rp, 200, hook_json(s, w));
                        return;
                }
                if (strcmp(method, "DELETE") == 0 && w) {
                        hooks_delete(s, w, rp);
                        return;
                }
                if ((strcmp(method, "POST") == 0 && !w) || (strcmp(method, "PATCH") == 0 && w)) {
                        if (parse_body(rq, &body, rp) < 0)
                                return;
                        if (w)
                                hooks_patch(s, w, body, rp);
                        else
                                hooks_create(s, body, rp);
                        json_decref(body);
                        return;
                }
                goto not_allowed;
        }
no_res:
        reply_error(rp, 404, "404.20", "invalid resource name");
        return;
no_id:
        reply_error(rp, 404, "404.10", "no resource with this id");
        return;
not_allowed:
        (void)f;
        reply_error(rp, 405, "405.10", "method not allowed");
}

/* Split path into at most 8 segments (modifies path).  Returns count or -1. */
static int split_path(char *path, char **seg, int max)
{
        int n = 0;
        char *p = path, *slash;

        while (*p == '/')
                p++;
        while (*p) {
                if (n == max)
                        return -1;
                seg[n++] = p;
                slash = strchr(p, '/');
                if (!slash)
                        break;
                *slash = '\0';
                p = slash + 1;
                if (*p == '/')
                        return -1; /* empty segment */
        }
        return n;
}

static const char *resource_of(char **seg, int n)
{
        int64_t id;
        int i;

        for (i = n - 1; i >= 0; i--)
                if (!is_id(seg[i], &id))
                        return seg[i];
        return "root";
}

static void handle_api(struct ccv_fake *f, struct MHD_Connection *c, const char *method,
                       const struct req *rq, struct ccv_shop **ret_shop, struct reply *rp)
{
        char path[1024], *seg[8], *qs;
        struct query q = { .n = 0 };
        struct ccv_shop *s;
        const char *rest;
        int64_t n;
        int nseg, r;

        snprintf(path, sizeof(path), "%s", rq->uri);
        qs = strchr(path, '?');
        if (qs)
                *qs++ = '\0';
        /* /shop/{n}/api/rest/v1/... */
        rest = path + 6;
        {
                char num[16];
                size_t k = 0;

                while (rest[k] >= '0' && rest[k] <= '9' && k < sizeof(num) - 1) {
                        num[k] = rest[k];
                        k++;
                }
                num[k] = '\0';
                if (ccv_parse_i64(num, &n) < 0 || n < 1 || n > f->n_shops ||
                    strncmp(rest + k, "/api/rest/v1", 12) != 0 ||
                    (rest[k + 12] != '\0' && rest[k + 12] != '/')) {
                        reply_error(rp, 404, "404.20", "invalid resource name");
                        return;
                }
                rest += k + 12;
        }
        s = &f->shops[n - 1];
        *ret_shop = s;
        s->requests++;
        if (!f->o.no_auth && check_auth(f, s, c, method, rq, rp) < 0) {
                s->auth_failures++;
                f->st.auth_failures++;
                return;
        }
        nseg = split_path((char *)rest, seg, 8);
        if (nseg < 0) {
                reply_error(rp, 404, "404.20", "invalid resource name");
                return;
        }
        if (check_limits(f, s, method, resource_of(seg, nseg), rp) < 0)
                return;
        r = query_parse(qs, &q);
        if (r < 0) {
                reply_error(rp, 400, "400.12", "too many query parameters");
        } else if (rq->too_big) {
                f->st.oversized++;
                reply_error(rp, 500, "500.80", "requested payload too big");
        } else {
                api_route(f, s, method, seg, (size_t)nseg, &q, rq, rp);
        }
        query_free(&q);
}

/* ---- admin (/_fake/) ----------------------------------------------------- */

static json_t *shop_info(const struct ccv_shop *s)
{
        return json_pack("{s:i,s:I,s:s,s:s,s:s,s:s,s:s,s:b,s:s?,s:I,s:I}", "n", s->n, "id",
                         (json_int_t)s->id, "name", s->name, "base_url", s->base_url, "path_prefix",
                         s->path_prefix, "public_key", s->public_key, "secret", s->secret,
                         "oss_registered", s->oss, "ordernumber_prefix",
                         s->ordernumber_prefix[0] ? s->ordernumber_prefix : NULL, "orders",
                         (json_int_t)s->n_orders, "products",
                         (json_int_t)json_array_size(s->products));
}

static json_t *order_admin_json(const struct ccv_order *o)
{
        return json_pack("{s:I,s:O,s:O,s:O}", "id", (json_int_t)o->id, "order", o->obj, "orderrows",
                         o->rows, "_fake_expect", o->expect);
}

/* fire(), unless the test asked for no webhook ("quiet": a change the shop does not announce). */
static void fire_unless(struct ccv_fake *f, struct ccv_shop *s, bool quiet, const char *event,
                        json_t *body)
{
        if (quiet)
                json_decref(body);
        else
                fire(f, s, event, body);
}

static void admin_patch_order(struct ccv_fake *f, struct ccv_shop *s, struct ccv_order *o,
                              json_t *body, struct reply *rp)
{
        bool quiet = json_is_true(json_object_get(body, "quiet"));
        char eerr[160];
        json_t *st = json_object_get(body, "status"), *paid = json_object_get(body, "paid");
        json_t *comp = json_object_get(body, "is_completed");
        json_t *tt = json_object_get(body, "track_and_trace_code");
        json_t *j = o->obj, *b;
        json_int_t prev = json_integer_value(json_object_get(j, "status"));
        bool was_completed = json_is_true(json_object_get(j, "is_completed"));

        if ((st &&
             (!json_is_integer(st) || json_integer_value(st) < 1 || json_integer_value(st) > 14)) ||
            (paid && !json_is_boolean(paid)) || (comp && !json_is_true(comp)) ||
            (tt && !json_is_string(tt))) {
                reply_error(rp, 400, "400.11",
                            "status 1..14, paid bool, is_completed true, track_and_trace_code "
                            "string");
                return;
        }
        if ((json_object_get(body, "rows") || json_object_get(body, "billingaddress") ||
             json_object_get(body, "deliveryaddress")) &&
            (!was_completed || ccv_after_edit(o, body, eerr, sizeof(eerr)) < 0)) {
                reply_error(rp, 400, "400.11",
                            was_completed ? eerr : "complete the order first (is_completed: true)");
                return;
        }
        if (comp && !was_completed) {
                char full[48];

                if (s->ordernumber_prefix[0])
                        snprintf(full, sizeof(full), "%s-%lld", s->ordernumber_prefix,
                                 (long long)s->next_ordernumber);
                else
                        snprintf(full, sizeof(full), "%lld", (long long)s->next_ordernumber);
                json_object_set_new(j, "is_completed", json_true());
                json_object_set_new(j, "ordernumber", json_integer(s->next_ordernumber++));
                json_object_set_new(j, "ordernumber_full", json_string(full));
                json_object_set_new(j, "ordernumber_prefix",
                                    s->ordernumber_prefix[0] ? json_string(s->ordernumber_prefix)
                                                             : json_null());
                json_object_set_new(j, "status", json_integer(st ? json_integer_value(st) : 1));
                json_object_del(j, "basket_href");
                json_object_del(j, "checkout_href");
                json_object_set_new(o->expect, "reject", json_false());
                json_object_del(o->expect, "reason");
                fire(f, s, "orders.created", order_hook_body(s, o));
                prev = json_integer_value(json_object_get(j, "status"));
        } else if ((st || paid || tt) && !was_completed) {
                reply_error(rp, 400, "400.11", "complete the order first (is_completed: true)");
                return;
        }
        if (st && json_integer_value(st) != prev) {
                json_object_set(j, "status", st);
                if (json_integer_value(st) == 8) {
                        json_object_set_new(o->expect, "reject", json_true());
                        json_object_set_new(o->expect, "reason", json_string("order is cancelled"));
                }
                b = order_hook_body(s, o);
                json_object_set_new(b, "previous_status", json_integer(prev));
                json_object_set(b, "status", st);
                fire_unless(f, s, quiet, "orders.updated.status", b);
        }
        if (paid && json_is_true(paid) != json_is_true(json_object_get(j, "paid"))) {
                json_object_set(j, "paid", paid);
                b = order_hook_body(s, o);
                json_object_set_new(b, "paid", json_boolean(json_is_true(paid)));
                fire_unless(f, s, quiet, "orders.updated.ispaid", b);
        }
        if (tt && strcmp(json_string_value(tt),
                         json_string_value(json_object_get(j, "track_and_trace_code")))) {
                json_object_set(j, "track_and_trace_code", tt);
                json_object_set_new(j, "track_and_trace_carrier", json_string("PostNL"));
                b = order_hook_body(s, o);
                json_object_set(b, "track_and_trace_code", tt);
                json_object_set_new(b, "track_and_trace_carrier", json_string("PostNL"));
                fire_unless(f, s, quiet, "orders.updated.trackandtrace", b);
        }
        reply_json(rp, 200, order_admin_json(o));
}

static void admin_patch_product(struct ccv_fake *f, struct ccv_shop *s, json_t *p, json_t *body,
                                struct reply *rp)
{
        static const char *const fields[] = { "name",      "price",    "stock",
                                              "is_active", "discount", NULL };
        char now[32], h[512];
        const char *key;
        json_t *v;
        size_t i;
        bool ok;

        json_object_foreach (body, key, v) {
                ok = false;
                for (i = 0; fields[i]; i++)
                        if (strcmp(fields[i], key) == 0)
                                ok = true;
                if (!ok || (strcmp(key, "name") == 0 && !json_is_string(v)) ||
                    ((strcmp(key, "price") == 0 || strcmp(key, "discount") == 0) &&
                     !json_is_number(v)) ||
                    (strcmp(key, "stock") == 0 && !json_is_integer(v)) ||
                    (strcmp(key, "is_active") == 0 && !json_is_boolean(v))) {
                        reply_error(rp, 400, "400.11",
                                    "allowed: name string, price/discount number, stock int, "
                                    "is_active bool");
                        return;
                }
        }
        json_object_foreach (body, key, v) {
                /* Money keeps the CCV form: integral amounts as integers. */
                if (json_is_number(v) && strcmp(key, "stock") != 0)
                        json_object_set_new(
                                p, key,
                                ccv_money_json((int64_t)llround(json_number_value(v) * 100.0)));
                else
                        json_object_set(p, key, v);
        }
        ccv_time_format(time(NULL), now, sizeof(now));
        json_object_set_new(p, "modifydate", json_string(now));
        snprintf(h, sizeof(h), "%sproducts/%lld", s->base_url,
                 (long long)json_integer_value(json_object_get(p, "id")));
        fire(f, s, "products.updated",
             json_pack("{s:s,s:s,s:O}", "triggered_at", "", "href", h, "id",
                       json_object_get(p, "id")));
        reply_json(rp, 200, json_incref(p));
}

/* The product leaves the shop: GET answers 404 from now on; products.deleted is fired. */
static void admin_delete_product(struct ccv_fake *f, struct ccv_shop *s, int64_t id,
                                 struct reply *rp)
{
        size_t i;
        json_t *p;
        char h[512];

        json_array_foreach (s->products, i, p) {
                if (json_integer_value(json_object_get(p, "id")) != id)
                        continue;
                snprintf(h, sizeof(h), "%sproducts/%lld", s->base_url, (long long)id);
                fire(f, s, "products.deleted",
                     json_pack("{s:s,s:s,s:I}", "triggered_at", "", "href", h, "id",
                               (json_int_t)id));
                json_array_remove(s->products, i);
                reply_json(rp, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1));
                return;
        }
        reply_error(rp, 404, "404.10", "no resource with this id");
}

static void admin_throttle(struct ccv_shop *s, json_t *body, double minute, struct reply *rp)
{
        json_t *req = json_object_get(body, "requests"), *sec = json_object_get(body, "seconds");
        json_t *code = json_object_get(body, "code");
        const char *cv = json_string_value(code);

        if ((req && (!json_is_integer(req) || json_integer_value(req) < 0)) ||
            (sec && (!json_is_number(sec) || json_number_value(sec) < 0)) ||
            (code && (!cv || (strcmp(cv, "429.10") && strcmp(cv, "429.11"))))) {
                reply_error(rp, 400, "400.11",
                            "requests int >= 0, seconds number >= 0, code 429.10|429.11");
                return;
        }
        s->throttle_left = req ? (int)json_integer_value(req) : 0;
        s->throttle_until = sec ? mono_now() + json_number_value(sec) : 0;
        if (!req && !sec)
                s->throttle_until = mono_now() + minute;
        snprintf(s->throttle_code, sizeof(s->throttle_code), "%s", cv ? cv : "429.10");
        reply_json(rp, 200,
                   json_pack("{s:i,s:i,s:f,s:s}", "shop", s->n, "requests", s->throttle_left,
                             "seconds",
                             s->throttle_until > 0 ? s->throttle_until - mono_now() : 0.0, "code",
                             s->throttle_code));
}

static json_t *stats_json(struct ccv_fake *f)
{
        struct ccv_hook_stats hs;
        json_t *shops = json_array(), *j;
        int i;

        ccv_hooks_stats(f->hooks, &hs);
        for (i = 0; i < f->n_shops; i++)
                json_array_append_new(
                        shops, json_pack("{s:i,s:I,s:I,s:I,s:I,s:I}", "n", f->shops[i].n,
                                         "requests", (json_int_t)f->shops[i].requests,
                                         "rate_limited", (json_int_t)f->shops[i].rate_limited,
                                         "auth_failures", (json_int_t)f->shops[i].auth_failures,
                                         "orders", (json_int_t)f->shops[i].n_orders, "webhooks",
                                         (json_int_t)f->shops[i].n_hooks));
        j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},"
                      "s:{s:I,s:I,s:I,s:I},s:o}",
                      "requests", (json_int_t)f->st.requests, "api_requests", (json_int_t)f->st.api,
                      "admin_requests", (json_int_t)f->st.admin, "auth_failures",
                      (json_int_t)f->st.auth_failures, "rate_limited",
                      (json_int_t)f->st.rate_limited, "bad_requests",
                      (json_int_t)f->st.bad_requests, "not_found", (json_int_t)f->st.not_found,
                      "oversized", (json_int_t)f->st.oversized, "by_status_class", "1xx",
                      (json_int_t)f->st.status[1], "2xx", (json_int_t)f->st.status[2], "3xx",
                      (json_int_t)f->st.status[3], "4xx", (json_int_t)f->st.status[4], "5xx",
                      (json_int_t)f->st.status[5], "webhooks", "queued", (json_int_t)hs.queued,
                      "delivered", (json_int_t)hs.delivered, "failed", (json_int_t)hs.failed,
                      "dropped", (json_int_t)hs.dropped, "shops", shops);
        return j;
}

static void handle_admin(struct ccv_fake *f, const char *method, const struct req *rq,
                         struct reply *rp)
{
        char path[512], *seg[8], *qs;
        bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
        bool patch = strcmp(method, "PATCH") == 0;
        struct ccv_shop *s = NULL;
        json_t *body = NULL, *arr;
        int64_t n = 0, id = 0;
        int nseg, i;

        snprintf(path, sizeof(path), "%s", rq->uri);
        qs = strchr(path, '?');
        if (qs)
                *qs = '\0';
        nseg = split_path(path, seg, 8);
        if (nseg < 2)
                goto not_found;
        if (nseg == 2 && strcmp(seg[1], "shops") == 0 && get) {
                arr = json_array();
                for (i = 0; i < f->n_shops; i++)
                        json_array_append_new(arr, shop_info(&f->shops[i]));
                reply_json(rp, 200, json_pack("{s:o}", "shops", arr));
                return;
        }
        if (nseg == 2 && strcmp(seg[1], "stats") == 0 && get) {
                reply_json(rp, 200, stats_json(f));
                return;
        }
        if (nseg == 2 && strcmp(seg[1], "reset-limits") == 0 && post) {
                for (i = 0; i < f->n_shops; i++) {
                        f->shops[i].n_slots = 0;
                        f->shops[i].total_count = 0;
                        f->shops[i].throttle_left = 0;
                        f->shops[i].throttle_until = 0;
                }
                reply_json(rp, 200, json_pack("{s:b}", "ok", 1));
                return;
        }
        if (nseg < 4 || strcmp(seg[1], "shops") != 0 || ccv_parse_i64(seg[2], &n) < 0 || n < 1 ||
            n > f->n_shops)
                goto not_found;
        s = &f->shops[n - 1];
        if (nseg >= 5 && ccv_parse_i64(seg[4], &id) < 0)
                goto not_found;
        if ((post || patch) && rq->body.len > 0 && parse_body(rq, &body, rp) < 0)
                return;
        if ((post || patch) && rq->too_big) {
                reply_error(rp, 500, "500.80", "requested payload too big");
                goto out;
        }
        if (strcmp(seg[3], "orders") == 0) {
                struct ccv_order *o;
                char err[128];
                int r;

                if (nseg == 4 && post) {
                        r = ccv_gen_order(s, body, time(NULL), err, sizeof(err));
                        if (r < 0) {
                                reply_error(rp, r == -EINVAL ? 400 : 500,
                                            r == -EINVAL ? "400.11" : "500.00", err);
                                goto out;
                        }
                        o = &s->orders[s->n_orders - 1];
                        if (json_is_true(json_object_get(o->obj, "is_completed"))) {
                                json_t *b = order_hook_body(s, o);

                                json_object_set(b, "status", json_object_get(o->obj, "status"));
                                json_object_set(b, "paid", json_object_get(o->obj, "paid"));
                                fire(f, s, "orders.created", b);
                        }
                        reply_json(rp, 201, order_admin_json(o));
                        goto out;
                }
                if (nseg == 6 && post) {
                        bool ret = strcmp(seg[5], "returns") == 0;
                        json_t *empty = json_object(), *made;

                        o = ccv_shop_order(s, id);
                        if (!o || (!ret && strcmp(seg[5], "credit"))) {
                                json_decref(empty);
                                goto not_found;
                        }
                        made = ret ? ccv_after_return(s, o, body ? body : empty, time(NULL), err,
                                                      sizeof(err))
                                   : ccv_after_credit(s, o, body ? body : empty, time(NULL), err,
                                                      sizeof(err));
                        json_decref(empty);
                        if (!made) {
                                reply_error(rp, 400, "400.11", err);
                                goto out;
                        }
                        if (ret)
                                fire(f, s, "returns.created",
                                     json_pack("{s:s,s:O,s:O}", "triggered_at", "", "href",
                                               json_object_get(made, "href"), "id",
                                               json_object_get(made, "id")));
                        reply_json(rp, 201, json_incref(made));
                        goto out;
                }
                if (nseg == 5) {
                        o = ccv_shop_order(s, id);
                        if (!o)
                                goto not_found;
                        if (get) {
                                reply_json(rp, 200, order_admin_json(o));
                                goto out;
                        }
                        if (patch && body) {
                                admin_patch_order(f, s, o, body, rp);
                                goto out;
                        }
                }
        } else if (strcmp(seg[3], "products") == 0) {
                json_t *p;

                if (nseg == 4 && post) {
                        char h[512];

                        p = ccv_gen_product(s, body, time(NULL));
                        if (!p) {
                                reply_error(rp, 500, "500.00", "out of memory");
                                goto out;
                        }
                        snprintf(h, sizeof(h), "%sproducts/%lld", s->base_url,
                                 (long long)json_integer_value(json_object_get(p, "id")));
                        fire(f, s, "products.created",
                             json_pack("{s:s,s:s,s:O}", "triggered_at", "", "href", h, "id",
                                       json_object_get(p, "id")));
                        reply_json(rp, 201, json_incref(p));
                        goto out;
                }
                if (nseg == 5 && patch && body) {
                        p = ccv_shop_product(s, id);
                        if (!p)
                                goto not_found;
                        admin_patch_product(f, s, p, body, rp);
                        goto out;
                }
                if (nseg == 5 && strcmp(method, "DELETE") == 0) {
                        admin_delete_product(f, s, id, rp);
                        goto out;
                }
        } else if (strcmp(seg[3], "throttle") == 0 && nseg == 4 && post) {
                json_t *empty = json_object();

                admin_throttle(s, body ? body : empty, f->o.minute, rp);
                json_decref(empty);
                goto out;
        }
        if (!rp->status)
                reply_error(rp, 404, "404.20", "unknown admin endpoint or method");
out:
        json_decref(body);
        return;
not_found:
        json_decref(body);
        reply_error(rp, 404, "404.20", "unknown admin endpoint");
}

/* ---- MHD glue ------------------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
        struct req *rq = calloc(1, sizeof(*rq));

        (void)cls;
        (void)c;
        if (rq) {
                rq->uri = strdup(uri ? uri : "/");
                if (!rq->uri) {
                        free(rq);
                        rq = NULL;
                }
        }
        return rq;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
        struct req *rq = *con_cls;

        (void)cls;
        (void)c;
        (void)toe;
        if (!rq)
                return;
        free(rq->uri);
        ccv_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
}

static enum MHD_Result send_reply(struct ccv_fake *f, struct MHD_Connection *c, struct reply *rp,
                                  const struct ccv_shop *s, const char *method, const char *uri)
{
        struct MHD_Response *resp;
        size_t len = rp->body ? strlen(rp->body) : 0;
        char date[32], hash[129] = "";
        enum MHD_Result ret;

        if (s && (rp->sign || f->o.sign_errors)) {
                ccv_time_format(time(NULL), date, sizeof(date));
                if (ccv_sign(s->public_key, s->secret, method, uri, rp->body, len, date, hash) < 0)
                        hash[0] = '\0';
        }
        if (rp->body) {
                resp = MHD_create_response_from_buffer(len, rp->body, MHD_RESPMEM_MUST_FREE);
                if (!resp)
                        free(rp->body);
        } else {
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        }
        rp->body = NULL;
        if (!resp)
                return MHD_NO;
        if (len)
                MHD_add_response_header(resp, "Content-Type", "application/json");
        if (hash[0]) {
                MHD_add_response_header(resp, "x-date", date);
                MHD_add_response_header(resp, "x-hash", hash);
        }
        if (rp->retry_after[0])
                MHD_add_response_header(resp, "Retry-After", rp->retry_after);
        ret = MHD_queue_response(c, rp->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct ccv_fake *f = cls;
        struct req *rq = *con_cls;
        struct reply rp;
        struct ccv_shop *s = NULL;
        enum MHD_Result ret;

        (void)version;
        if (!rq) {
                rq = on_uri(NULL, url, c);
                if (!rq)
                        return MHD_NO;
                *con_cls = rq;
        }
        memset(&rp, 0, sizeof(rp));
        if (!rq->started) {
                const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                int64_t clen = 0;

                rq->started = true;
                if (cl && ccv_parse_i64(cl, &clen) == 0 && clen > (int64_t)f->o.max_body) {
                        /* Answer now; MHD closes the connection instead of reading it. */
                        reply_error(&rp, 500, "500.80", "requested payload too big");
                        pthread_mutex_lock(&f->lock);
                        f->st.requests++;
                        f->st.oversized++;
                        f->st.status[5]++;
                        pthread_mutex_unlock(&f->lock);
                        return send_reply(f, c, &rp, NULL, method, rq->uri);
                }
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (rq->too_big || rq->body.len + *upload_data_size > f->o.max_body) {
                        rq->too_big = true;
                } else if (ccv_buf_add(&rq->body, upload_data, *upload_data_size) < 0) {
                        return MHD_NO;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }

        if (f->o.latency_ms > 0 && strncmp(rq->uri, "/shop/", 6) == 0) {
                /* a slow shop: outside the lock, so other requests wait only their own turn */
                struct timespec ts = { f->o.latency_ms / 1000,
                                       (f->o.latency_ms % 1000) * 1000000L };

                nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&f->lock);
        f->st.requests++;
        if (strncmp(rq->uri, "/_fake/", 7) == 0) {
                f->st.admin++;
                handle_admin(f, method, rq, &rp);
        } else if (strncmp(rq->uri, "/shop/", 6) == 0) {
                f->st.api++;
                handle_api(f, c, method, rq, &s, &rp);
        } else {
                reply_error(&rp, 404, "404.20", "invalid resource name");
        }
        if (!rp.status)
                reply_error(&rp, 500, "500.00", "no reply");
        if (rp.status == 404)
                f->st.not_found++;
        if (rp.status == 400)
                f->st.bad_requests++;
        if (rp.status / 100 < 6)
                f->st.status[rp.status / 100]++;
        pthread_mutex_unlock(&f->lock);
        ret = send_reply(f, c, &rp, s, method, rq->uri);
        return ret;
}

struct ccv_fake *ccv_fake_new(const struct ccv_fake_opts *o, struct ccv_shop *shops, int n_shops)
{
        struct ccv_fake *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->o = *o;
        f->shops = shops;
        f->n_shops = n_shops;
        pthread_mutex_init(&f->lock, NULL);
        f->hooks = ccv_hooks_new(o->hook_timeout_ms);
        if (!f->hooks) {
                pthread_mutex_destroy(&f->lock);
                free(f);
                return NULL;
        }
        return f;
}

int ccv_fake_start(struct ccv_fake *f, int listen_fd)
{
        unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY;

        f->mhd = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, f, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                MHD_OPTION_URI_LOG_CALLBACK, on_uri, f, MHD_OPTION_NOTIFY_COMPLETED, on_done, f,
                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(f->o.threads > 0 ? f->o.threads : 2),
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned int)1000, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                MHD_OPTION_END);
        return f->mhd ? 0 : -EIO;
}

void ccv_fake_free(struct ccv_fake *f)
{
        int i;

        if (!f)
                return;
        if (f->mhd)
                MHD_stop_daemon(f->mhd);
        ccv_hooks_free(f->hooks);
        for (i = 0; i < f->n_shops; i++)
                ccv_shop_deinit(&f->shops[i]);
        free(f->shops);
        pthread_mutex_destroy(&f->lock);
        free(f);
}
