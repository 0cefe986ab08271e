#pragma once
/*
 * ccv_data.h - in-memory shops of the CCV Shop fake and the deterministic
 * generator that fills them.  All access to a ccv_fake is serialised by its
 * mutex (see ccv_server.c); nothing here locks.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "ccv_util.h"

struct ccv_order {
        int64_t id;
        time_t created;
        json_t *obj;      /* body of GET /orders/{id} */
        json_t *rows;     /* items of GET /orders/{id}/orderrows */
        json_t *expect;   /* _fake_expect, only shown in dump mode and admin answers */
        json_t *invoices; /* NULL or [{"obj": invoice, "rows": [invoice rows]}] (ccv_after.h) */
        json_t *returns;  /* NULL or [{"obj": return, "rows": [return rows]}] */
};

struct ccv_webhook {
        int64_t id;
        char *event;
        char *address;
        char key[41];
        bool active;
        time_t created;
};

struct ccv_rl_slot {
        char key[48]; /* "METHOD resource" */
        double start; /* monotonic start of the current window */
        int count;
};

#define CCV_RL_SLOTS 48

struct ccv_shop {
        int n; /* 1-based shop number, path /shop/{n}/ */
        int64_t id;
        char name[64];
        char public_key[40];
        char secret[72];
        bool oss; /* registered for the OSS Union scheme */
        char ordernumber_prefix[16];
        char base_url[256];   /* absolute, ends in /api/rest/v1/ */
        char path_prefix[32]; /* "/shop/{n}" */

        struct ccv_order *orders; /* sorted by id */
        size_t n_orders, cap_orders;
        json_t *products; /* array of product objects */
        json_t *users;    /* array of user objects */
        int *user_case;   /* generator case of each user (for reuse) */
        json_t *categories;
        json_t *paymethods;
        struct ccv_webhook *hooks;
        size_t n_hooks, cap_hooks;

        struct ccv_rl_slot slots[CCV_RL_SLOTS];
        size_t n_slots;
        double total_start;
        int total_count;
        int throttle_left;     /* forced 429s still to answer */
        double throttle_until; /* forced 429s until this monotonic time */
        char throttle_code[8];

        struct ccv_rng rng; /* runtime stream (admin-created data) */
        int64_t next_order_id, next_row_id, next_ordernumber, next_product_id, next_user_id;
        int64_t next_hook_id;
        int64_t next_invoice_id, next_invoice_row_id, next_invoice_number, next_return_id;
        uint64_t requests;
        uint64_t rate_limited;
        uint64_t auth_failures;
};

enum ccv_oss_mode {
        CCV_OSS_ALTERNATE = 0, /* odd shops registered, even not */
        CCV_OSS_ALL,
        CCV_OSS_NONE,
};

struct ccv_gen_opts {
        uint64_t seed;
        int shops;
        int orders;   /* per shop */
        int products; /* per shop */
        time_t epoch; /* create date of the first generated order */
        enum ccv_oss_mode oss_mode;
        const char *base_fmt; /* printf format with one %d (shop n) -> base_url */
};

/*
 * Fill @p s as shop number @p n.  Returns 0 or -ENOMEM.  The caller zeroes s
 * first and frees it with ccv_shop_deinit() in any case.
 */
int ccv_gen_shop(struct ccv_shop *s, const struct ccv_gen_opts *o, int n);
void ccv_shop_deinit(struct ccv_shop *s);

/*
 * Generate one more order for @p s with the shop's runtime RNG.  @p params
 * (may be NULL) can fix "case", "country", "status", "paid", "is_completed",
 * "create_date".  created is used when params has no create_date.
 * Returns 0, -EINVAL (bad params, message in err) or -ENOMEM.
 */
int ccv_gen_order(struct ccv_shop *s, const json_t *params, time_t created, char *err,
                  size_t errlen);
/* Create a product with the runtime RNG (params may fix name/price); returns it or NULL. */
json_t *ccv_gen_product(struct ccv_shop *s, const json_t *params, time_t created);

struct ccv_order *ccv_shop_order(struct ccv_shop *s, int64_t id);
json_t *ccv_shop_product(struct ccv_shop *s, int64_t id);
/* Names of the order cases (for docs and validation). */
const char *const *ccv_gen_case_names(size_t *ret_n);
