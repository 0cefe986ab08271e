#pragma once
/*
 * ccv_server.h - the CCV Shop fake: shops in memory behind a libmicrohttpd
 * server, request/response signing, rate limits, admin endpoints.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ccv_data.h"

struct ccv_fake_opts {
        int rate_get;     /* GETs per minute per shop per resource (0 = off) */
        int rate_write;   /* POST/PATCH/PUT/DELETE per minute per shop per resource */
        int rate_total;   /* all requests per minute per shop (0 = off) -> 429.11 */
        double minute;    /* length of the rate-limit window in seconds */
        int auth_window;  /* allowed |now - x-date| in seconds */
        int auth_status;  /* 401 or 403 */
        bool no_auth;     /* bench knob: skip request verification */
        bool retry_after; /* fake-only Retry-After header on 429 */
        bool sign_errors; /* also sign non-2xx responses */
        size_t max_body;  /* bytes; larger -> 500.80 */
        long hook_timeout_ms;
        long latency_ms; /* every API request waits this long before it is handled */
        int threads;
};

struct ccv_fake;

/*
 * Create a fake serving @p n_shops shops (ownership of the array moves to
 * the fake).  Returns NULL on OOM.
 */
struct ccv_fake *ccv_fake_new(const struct ccv_fake_opts *o, struct ccv_shop *shops, int n_shops);
/*
 * Start serving on listen_fd (bound and listening).  Returns 0 or -EIO.
 */
int ccv_fake_start(struct ccv_fake *f, int listen_fd);
/* Stop serving, stop webhook delivery, free everything.  NULL-safe. */
void ccv_fake_free(struct ccv_fake *f);
