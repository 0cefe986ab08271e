/* engine.h: the extraction engine's shared state and the failure handling its modules share
 * (leases, batches, listings, webhooks). Not for main.c, which uses extract.h.
 *
 * Every unit of work is a "slice": one page of one listing, or a few webhook hints, for one
 * tenant. A slice publishes what changed, waits for Kafka to acknowledge all of it, and only
 * then writes the content hashes and moves the cursor in one PostgreSQL transaction that
 * also checks the lease is still ours (batch.h). A crash between the two repeats a slice; it
 * never loses one. Tenants take turns, one slice each. */
#ifndef CX_EXTRACTOR_ENGINE_H
#define CX_EXTRACTOR_ENGINE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "ccv/client.h"
#include "common/log.h"
#include "extractor/extract.h"

#define EX_MAX_HINTS 32
#define EX_HINTS_PER_SLICE 8

enum {
        ENT_ORDER,
        ENT_PRODUCT,
        ENT_CUSTOMER,
        ENT_COUNT
};
extern const char *const ex_ent_names[ENT_COUNT]; /* "order", "product", "customer" */

/* Per-entity counts, flushed to the sync log at housekeeping. */
enum {
        C_PUB,
        C_SAME,
        C_SKIP,
        C_FAIL
};

/* Outcome of a slice or of one item in it. */
typedef enum ex_rc {
        EX_DONE, /* handled (published, unchanged or not for publishing) */
        EX_IDLE, /* the tenant had nothing to do */
        EX_WAIT, /* budget spent or throttled: t->wait_until is set */
        EX_FAIL, /* error: logged, backoff set */
} ex_rc;

typedef struct ex_pass {
        bool active;
        long long start;    /* offset into the listing */
        long long min;      /* orders: min_create_date of the pass */
        long long max_seen; /* products: newest modifydate seen in the pass */
        double next_at;     /* monotonic time the next pass is due */
} ex_pass;

typedef struct ex_hint {
        long long id;
        int entity;
        char source_id[40];
} ex_hint;

typedef struct ex_tenant {
        char id[64];
        bool held;
        bool broken;  /* credentials cannot be opened; retried when the row changes */
        char *sealed; /* the sealed secret we opened, to notice changes */
        ccv_shop shop;
        bool want[ENT_COUNT];
        bool require_paid;
        int statuses[16];
        int n_statuses;
        long long extract_from;
        long long cursor;         /* orders: create_date of the last order handled */
        long long prod_watermark; /* products: modifydate every earlier pass reached */
        bool products_failed;     /* a product listing failed: products no longer go first */
        ex_pass orders, reread, products, users;
        ex_pass watch;         /* the watch list of not yet bookable orders (watch.h) */
        double lease_renewed;  /* monotonic time our lease was last renewed */
        bool hints_went_last;  /* the last slice worked hints: a due pass goes next */
        double hint_window_at; /* start of the window hint requests are counted in */
        int hint_requests;     /* hint requests in that window (at most half the budget) */
        bool hooks_done;
        double hooks_retry_at;
        double wait_until;
        int fails;
        int counts[ENT_COUNT][4]; /* C_PUB, C_SAME, C_SKIP, C_FAIL */
        ex_hint hints[EX_MAX_HINTS];
        int n_hints;
        time_t caught_up_at;
} ex_tenant;

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

/** @brief A log line about one tenant and resource (@p resource may be NULL). */
void ex_log(cx_log_level lvl, const char *event, const ex_tenant *t, const char *resource,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** @brief Leave @p t alone for @p wait_s seconds. */
void ex_set_wait(ex_tenant *t, double wait_s);

/** @brief A failure a person may need to see: log line, sync-log row, backoff, metric.
 *  @returns EX_FAIL. */
ex_rc ex_failed(extractor *x, ex_tenant *t, const char *entity, const char *resource,
                const cx_err *err);

/** @brief Map a request outcome @p st (not CCV_OK) to a slice outcome: a wait for the budget
 *         or a 429, ex_failed() for the rest. */
ex_rc ex_request_failed(extractor *x, ex_tenant *t, ccv_status st, double wait, const char *entity,
                        const char *resource, const cx_err *err);

/** @brief ccv_request() for @p t, after making sure its lease is still ours (renewed when a
 *         third of it has passed), so a slow slice never outlives its lease.
 *  @returns CCV_FAILED (err says so) when the lease was lost or cannot be renewed. */
ccv_status ex_request(extractor *x, ex_tenant *t, const char *method, const char *path,
                      const char *body, json_t **out, double *wait, cx_err *err);

/** @brief GET every page of the collection at @p path into a new array (*out).
 *  @returns EX_DONE, or the outcome of the failure (reported against @p entity). */
ex_rc ex_get_all(extractor *x, ex_tenant *t, const char *path, const char *entity, json_t **out);

#endif
