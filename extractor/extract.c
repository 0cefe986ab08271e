/* extract.c: the extraction engine's loop (see extract.h and docs/extractor.md): tenants take
 * turns, one slice each; housekeeping (lease.h) and the webhook hints (webhook.h) run
 * between the turns. */
#include "extractor/extract.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/signals.h"
#include "extractor/engine.h"
#include "extractor/lease.h"
#include "extractor/listing.h"
#include "extractor/watch.h"
#include "extractor/webhook.h"

static bool due(const ex_pass *p, double now)
{
        return p->active || now >= p->next_at;
}

enum {
        PASS_NONE,
        PASS_ORDERS,
        PASS_PRODUCTS,
        PASS_REREAD,
        PASS_USERS,
        PASS_WATCH
};

/* The first pass that is due, in the order of docs/extractor.md, "How it works". Until the
 * products have been read once, they go first: an order's line then finds the product's own
 * item, instead of creating one from the line that the product would rewrite (issue 15). A
 * product listing that fails gives up that place, so it never holds the orders back. */
static int due_pass(const extractor *x, const ex_tenant *t, double now)
{
        if (t->want[ENT_PRODUCT] && !t->prod_watermark && !t->products_failed &&
            due(&t->products, now))
                return PASS_PRODUCTS;
        if (t->want[ENT_ORDER] && due(&t->orders, now))
                return PASS_ORDERS;
        if (t->want[ENT_PRODUCT] && due(&t->products, now))
                return PASS_PRODUCTS;
        if (t->want[ENT_ORDER] && x->set.reread_days > 0 && due(&t->reread, now))
                return PASS_REREAD;
        if (t->want[ENT_CUSTOMER] && due(&t->users, now))
                return PASS_USERS;
        if (t->want[ENT_ORDER] && x->set.watch_days > 0 && due(&t->watch, now))
                return PASS_WATCH;
        return PASS_NONE;
}

/* The tenant's next slice. Hints and due passes take turns, so a flood of webhooks never
 * starves the passes (and the hints' own budget, webhook.c, keeps them from spending it). */
static ex_rc tenant_slice(extractor *x, ex_tenant *t, double now)
{
        int pass;

        /* No secret: its row was not read yet (housekeeping failed after the lease was taken);
         * nothing may be signed for it. */
        if (!t->held || t->broken || !t->shop.secret || now < t->wait_until)
                return EX_IDLE;
        if (x->set.webhook_base[0] && !t->hooks_done && now >= t->hooks_retry_at)
                return ex_slice_hooks(x, t);
        pass = due_pass(x, t, now);
        if (t->n_hints > 0 && ex_hints_may_run(x, t, now) &&
            (pass == PASS_NONE || !t->hints_went_last)) {
                t->hints_went_last = true;
                return ex_slice_hints(x, t);
        }
        t->hints_went_last = false;
        switch (pass) {
        case PASS_ORDERS: return ex_slice_orders(x, t, true);
        case PASS_PRODUCTS: {
                ex_rc rc = ex_slice_products(x, t);

                if (rc == EX_FAIL)
                        t->products_failed = true;
                return rc;
        }
        case PASS_REREAD: return ex_slice_orders(x, t, false);
        case PASS_USERS: return ex_slice_users(x, t);
        case PASS_WATCH: return ex_slice_watch(x, t);
        default: return EX_IDLE;
        }
}

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
                        ex_housekeeping(x);
                        x->next_house = now + period;
                }
                if (take_hint_flag(x) || now >= x->next_hint_poll) {
                        ex_poll_hints(x);
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
        if (!x)
                return;
        ex_leases_release(x);
        pthread_mutex_lock(&x->lock);
        cx_db_close(x->hook_db);
        x->hook_db = NULL;
        pthread_mutex_unlock(&x->lock);
        cx_http_client_free(x->http);
        pthread_cond_destroy(&x->cond);
        pthread_mutex_destroy(&x->lock);
        free(x);
}
