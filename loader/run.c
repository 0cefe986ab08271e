/* run: see run.h. */
#include "loader/run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "exact/token.h"
#include "loader/guard.h"
#include "loader/ledger.h"

void run_set(run *r, enum run_step st, int64_t until, const char *fmt, ...)
{
        va_list ap;

        r->st = st;
        r->until = until;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
        va_end(ap);
}

int run_fail_with(run *r, const cx_err *e)
{
        if (e->code != CX_OK)
                run_set(r, e->retriable ? RUN_RETRY : RUN_FAIL, 0, "%s", e->msg);
        return -1;
}

void run_save_budget(run *r, int64_t parked_until, const char *why)
{
        char lab[256];

        int64_t now = exact_now_ms();

        /* exact_budget is for people (status, panel): once a second is fresh enough, while a
         * write after every call made PostgreSQL the busiest process. Parking always counts. */
        if (parked_until || why[0] || now - r->budget->persisted_ms >= 1000) {
                ledger_save_budget(r->w->db, r->tenant, r->division, r->budget, parked_until, why,
                                   NULL);
                r->budget->persisted_ms = now;
        }
        cx_metrics_label(lab, sizeof(lab), "tenant", r->tenant);
        if (r->budget->known) {
                cx_gauge_set("cx_loader_budget_minutely_remaining",
                             "Calls left in the current minute window", lab,
                             (double)r->budget->min_remaining);
                cx_gauge_set("cx_loader_budget_daily_remaining", "Calls left today", lab,
                             (double)r->budget->day_remaining);
        }
}

/* May a call start? Otherwise the verdict says how long to wait. */
static bool budget_allows(run *r)
{
        int64_t until;

        switch (exact_budget_check(r->budget, exact_now_ms(), r->w->sh->cfg.skew_ms, &until)) {
        case EXACT_BUDGET_WAIT_MINUTE:
                run_set(r, RUN_WAIT, until, "minutely budget spent");
                return false;
        case EXACT_BUDGET_WAIT_DAY: run_set(r, RUN_WAIT, until, "daily budget spent"); return false;
        default: return true;
        }
}

/* The tenant's access token (refreshed when due), or -1 with the verdict set. */
static int access_token(run *r, char **tok)
{
        cx_err e = { 0 };

        *tok = NULL;
        if (exact_token_access(&r->w->tok, r->tenant, tok, &e) == 0)
                return 0;
        if (e.retriable)
                run_set(r, RUN_RETRY, 0, "token: %s", e.msg);
        else
                run_set(r, RUN_FAIL, 0, "token refused, tenant needs consent: %s", e.msg);
        return -1;
}

/* The call itself, with the tenant's token; counted in the budget and the metrics. */
static int send_call(run *r, const char *method, const char *ep, const char *full,
                     const char *query, const json_t *body, exact_result *res)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        char labels[800], lab[600], st[16];
        exact_conn c;
        char *tok = NULL;
        int rc;

        if (access_token(r, &tok) < 0)
                return -1;
        c.http = r->w->http;
        c.base_url = r->base;
        c.division = r->division;
        c.access_token = tok;
        c.timeout_ms = cfg->http_timeout_ms;
        exact_budget_note_call(r->budget);
        r->calls++;
        rc = exact_call(&c, r->budget, method, full, query, body, res);
        free(tok);
        if (rc < 0) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        snprintf(st, sizeof(st), "%ld", res->status);
        cx_metrics_label2(lab, sizeof(lab), "tenant", r->tenant, "endpoint", ep);
        snprintf(labels, sizeof(labels), "%s,method=\"%s\",status=\"%s\"", lab, method, st);
        cx_counter_add("cx_loader_api_calls_total", "Calls to the Exact REST API", labels, 1);
        run_save_budget(r, 0, "");
        return 0;
}

/* A 429: park the tenant until the window that was hit resets. */
static void rate_limited(run *r, const char *ep, exact_result *res)
{
        char lab[600];
        int64_t until;

        cx_metrics_label(lab, sizeof(lab), "tenant", r->tenant);
        cx_counter_add("cx_loader_rate_limited_total", "429 answers received", lab, 1);
        cx_log_fields(CX_LOG_WARN, "api.rate_limited",
                      json_pack("{s:s,s:s}", "tenant", r->tenant, "endpoint", ep),
                      "Exact answered 429");
        if (exact_budget_check(r->budget, exact_now_ms(), r->w->sh->cfg.skew_ms, &until) ==
            EXACT_BUDGET_GO)
                until = exact_now_ms() + 1000;
        run_set(r, RUN_WAIT, until, "rate limited (429)");
        exact_result_clear(res);
}

int run_api(run *r, const char *method, const char *ep, const char *key, const char *query,
            const json_t *body, exact_result *res)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        char full[400];
        int64_t until;

        memset(res, 0, sizeof(*res));
        snprintf(full, sizeof(full), "%s%s", ep, key ? key : "");
        if (guard_blocked(r->tenant, ep, &until)) {
                run_set(r, RUN_WAIT, until, "endpoint %s blocked after repeated errors", ep);
                return -1;
        }
        for (int tries = 0; tries < 2; tries++) {
                if (!budget_allows(r) || send_call(r, method, ep, full, query, body, res) < 0)
                        return -1;
                if (res->outcome == EX_RATE_LIMITED) {
                        rate_limited(r, ep, res);
                        return -1;
                }
                if (res->outcome == EX_UNAUTHORIZED) {
                        guard_error(r->w->db, r->tenant, ep, res->message,
                                    cfg->endpoint_error_limit, cfg->error_window_ms);
                        exact_token_forget(r->tenant);
                        if (tries == 0) {
                                exact_result_clear(res);
                                continue; /* another instance may have refreshed: re-read */
                        }
                        run_set(r, RUN_RETRY, 0, "access token refused: %s", res->message);
                        exact_result_clear(res);
                        return -1;
                }
                if (res->outcome == EX_CLIENT_ERROR)
                        guard_error(r->w->db, r->tenant, ep, res->message,
                                    cfg->endpoint_error_limit, cfg->error_window_ms);
                return 0;
        }
        return -1;
}

static int reader_get(void *ud, const char *endpoint, const char *query, exact_result *res)
{
        return run_api(ud, "GET", endpoint, NULL, query, NULL, res);
}

int run_get_rows(run *r, const char *ep, const char *filter, const char *select, const char *what,
                 json_t **rows)
{
        char *enc = cx_http_escape(filter);
        char *q = NULL;
        exact_result res;
        cx_err e = { 0 };
        int rc;

        *rows = NULL;
        if (!enc || asprintf(&q, "$filter=%s&$select=%s", enc, select) < 0) {
                free(enc);
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        free(enc);
        rc = run_api(r, "GET", ep, NULL, q, NULL, &res);
        free(q);
        if (rc < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, what, &e);
                exact_result_clear(&res);
                return run_fail_with(r, &e);
        }
        *rows = exact_rows(&res) ? json_incref(exact_rows(&res)) : json_array();
        exact_result_clear(&res);
        return 0;
}

exact_reader run_reader(run *r)
{
        exact_reader rd = { reader_get, r };

        return rd;
}

/* Judge the answer to a write whose intent is recorded. */
static int judge_write(run *r, const char *kind, const char *key, const char *what,
                       exact_result *res)
{
        if (res->outcome == EX_OK)
                return 0;
        if (res->outcome == EX_CLIENT_ERROR) {
                ledger_failed(r->w->db, r->tenant, kind, key, res->message, NULL);
                run_set(r, RUN_FAIL, 0, "Exact refused %s: %s", what, res->message);
        } else if (res->outcome == EX_NETWORK && !res->ambiguous) {
                ledger_clear_intent(r->w->db, r->tenant, kind, key, res->message, NULL);
                run_set(r, RUN_RETRY, 0, "%s: %s", what, res->message);
        } else {
                /* the write may have happened: the intent stays and the retry looks first,
                 * a grace period after now (when the loader stopped waiting for it) */
                ledger_gave_up(r->w->db, r->tenant, kind, key, NULL);
                cx_counter_add("cx_loader_writes_in_doubt_total",
                               "Writes whose outcome was unknown (looked up before retrying)", NULL,
                               1);
                run_set(r, RUN_RETRY, 0, "%s in doubt: %s", what, res->message);
        }
        exact_result_clear(res);
        return -1;
}

int run_write(run *r, const char *kind, const char *key, const char *ref, const char *hash,
              const char *method, const char *ep, const char *keypath, const json_t *body,
              const char *what, exact_result *res)
{
        cx_err e = { 0 };
        char *tok;
        int rc;

        (void)hash; /* the hash is written with the outcome, not with the intent */
        if (!run_holds_lock(r)) {
                run_set(r, RUN_WAIT, exact_now_ms() + 200,
                        "tenant lock lost with the database session: taking it again");
                return -1;
        }
        /* A token refresh now, not between the intent and the POST: the intent's bound on
         * how long the write may be on its way is the request timeout alone. */
        if (access_token(r, &tok) < 0)
                return -1;
        free(tok);
        rc = ledger_intent(r->w->db, r->tenant, kind, key, ref, r->trace, r->fence,
                           r->w->sh->cfg.http_timeout_ms, &e);
        if (rc < 0)
                return run_ledger_error(r, &e);
        if (rc > 0) {
                cx_log_fields(
                        CX_LOG_WARN, "tenant.fenced",
                        json_pack("{s:s,s:s}", "tenant", r->tenant, "source_id", r->source_id),
                        "another loader took the tenant: nothing written");
                run_set(r, RUN_WAIT, exact_now_ms() + 200, "tenant taken by another loader");
                return -1;
        }
        if (run_api(r, method, ep, keypath, NULL, body, res) < 0) {
                ledger_clear_intent(r->w->db, r->tenant, kind, key, r->reason, NULL);
                return -1;
        }
        return judge_write(r, kind, key, what, res);
}

int run_ledger_error(run *r, const cx_err *e)
{
        run_set(r, RUN_RETRY, 0, "ledger: %s", e->msg);
        return -1;
}

bool run_holds_lock(const run *r)
{
        return cx_db_generation(r->w->db) == r->db_gen;
}

bool run_doubt_wait(run *r, int64_t intent_ms)
{
        int64_t grace = r->w->sh->cfg.grace_ms;

        if (exact_now_ms() >= intent_ms + grace)
                return false;
        run_set(r, RUN_WAIT, intent_ms + grace, "write in doubt, waiting before the look-up");
        return true;
}
