/* command: see command.h. The steps live in entities.h and documents.h, the calls in
 * run.h; this is the run itself: parse, tenant, lock, VAT codes, the step of the command's
 * kind, and what its verdict means for the job. */
#include "loader/command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/journal.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/tenant.h"
#include "exact/refdata.h"
#include "loader/command_check.h"
#include "loader/corrections.h"
#include "loader/documents.h"
#include "loader/invoicing.h"
#include "loader/entities.h"
#include "loader/guard.h"
#include "loader/ledger.h"
#include "loader/payments.h"
#include "loader/refcheck.h"
#include "loader/run.h"

#define jstr command_str

void command_caches_free(void)
{
        exact_refdata_free_all();
        guard_free();
}

static void dead_letter(run *r, const char *reason, job_outcome *outcome, int64_t *until, char *why,
                        size_t why_size)
{
        loader_shared *sh = r->w->sh;
        cx_dead_letter dl = { 0 };
        cx_err e = { 0 };
        char lab[256];
        int rc;

        /* Before the command is parsed only the message key names a tenant. */
        dl.tenant = r->tenant ? r->tenant : r->j->tenant[0] ? r->j->tenant : jstr(r->cmd, "tenant");
        dl.stage = "load";
        dl.source_topic = r->j->topic;
        dl.source_id = r->source_id ? r->source_id : "";
        dl.reason = reason;
        dl.payload = r->j->payload;
        dl.payload_len = r->j->len;
        dl.trace_id = r->trace ? r->trace : "";
        pthread_mutex_lock(&sh->dl_lock);
        rc = cx_dead_letter_publish(sh->producer, sh->producer != NULL, r->w->db, &dl, &e);
        pthread_mutex_unlock(&sh->dl_lock);
        if (rc < 0) {
                /* the record must not vanish: keep it and try again */
                cx_log(CX_LOG_ERROR, "deadletter.failed", "could not dead-letter: %s", e.msg);
                *outcome = JOB_LATER;
                *until = exact_now_ms() + 5000;
                snprintf(why, why_size, "dead-letter failed");
                return;
        }
        cx_metrics_label(lab, sizeof(lab), "tenant", dl.tenant);
        cx_counter_add("cx_loader_dead_letters_total", "Commands sent to the dead-letter topic",
                       lab, 1);
        cx_log_fields(CX_LOG_WARN, "command.dead_letter",
                      json_pack("{s:s,s:s,s:s}", "tenant", dl.tenant, "source_id", dl.source_id,
                                "trace_id", dl.trace_id),
                      "dead-lettered: %s", reason);
        *outcome = JOB_DONE;
}

static int load_tenant(run *r)
{
        cx_err e = { 0 };
        cx_tenant t;
        int rc = -1;

        if (cx_tenant_get(r->w->db, r->tenant, &t, &e) < 0) {
                if (e.code == CX_ERR_NOT_FOUND)
                        run_set(r, RUN_FAIL, 0, "unknown tenant \"%s\"", r->tenant);
                else
                        run_set(r, RUN_RETRY, 0, "database: %s", e.msg);
                return -1;
        }
        if (!t.enabled) {
                run_set(r, RUN_FAIL, 0, "tenant %s is disabled", r->tenant);
        } else if (!t.has_division) {
                run_set(r, RUN_FAIL, 0, "tenant %s has no Exact division configured", r->tenant);
        } else {
                r->division = t.exact_division;
                snprintf(r->base, sizeof(r->base), "%s", t.exact_base_url);
                rc = 0;
        }
        cx_tenant_clear(&t);
        return rc;
}

static int64_t backoff_ms(const loader_cfg *cfg, int attempt)
{
        int64_t d = cfg->backoff_base_ms;
        unsigned char rnd[2] = { 0, 0 };

        for (int i = 1; i < attempt && d < cfg->backoff_max_ms; i++)
                d *= 2;
        if (d > cfg->backoff_max_ms)
                d = cfg->backoff_max_ms;
        if (cx_random_bytes(rnd, sizeof(rnd)) < 0)
                return d; /* no jitter without random bytes: the full delay, never a zero one */
        /* full jitter on half the delay: between d/2 and d */
        return d / 2 + (int64_t)(((rnd[0] << 8) | rnd[1]) % (d / 2 + 1));
}

/* The step of the command's kind, once the tenant is locked. */
static void run_kind(run *r, bool *skipped, char *summary, size_t summary_size)
{
        exact_refdata *rd = exact_refdata_get(r->base, r->division);
        json_t *items = json_object_get(r->cmd, "items");
        json_t *acc = json_object_get(r->cmd, "account");
        char g[64];
        json_t *v;
        size_t i;
        int rc = 0;

        if (!rd) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return;
        }
        if (refcheck_vat(r, rd) < 0)
                return;
        if (!strcmp(r->kind, "account_upsert")) {
                if (entity_account(r, acc, true, g) == 0)
                        snprintf(summary, summary_size, "account %s is %s", jstr(acc, "Code"), g);
        } else if (!strcmp(r->kind, "item_upsert") &&
                   json_is_true(json_object_get(r->cmd, "deactivate"))) {
                corrections_deactivate_items(r, rd, summary, summary_size);
        } else if (!strcmp(r->kind, "item_upsert")) {
                json_array_foreach (items, i, v) {
                        if (rc == 0)
                                rc = entity_item(r, rd, v, true, g);
                }
                /* the product's item, for a deletion that names the product only */
                if (rc == 0 && json_array_size(items) == 1)
                        rc = corrections_note_product(r, jstr(json_array_get(items, 0), "Code"), g);
                if (rc == 0)
                        snprintf(summary, summary_size, "%zu item(s) in step",
                                 json_array_size(items));
        } else {
                /* after booking: corrections first, so a cancelled open order is not invoiced;
                 * where Exact invoices the orders, after that invoice (credited, not edited);
                 * payments last, so a credit note made in this run is found */
                bool gone = false,
                     late = json_is_true(json_object_get(json_object_get(r->cmd, "invoicing"),
                                                         "invoice_sales_orders"));

                if (document_book(r, rd, skipped, summary, summary_size) == 0 &&
                    (late || corrections_after_booking(r, rd, &gone, skipped, summary,
                                                       summary_size) == 0) &&
                    !gone && invoicing_after_booking(r, skipped, summary, summary_size) == 0 &&
                    (!late ||
                     corrections_after_booking(r, rd, &gone, skipped, summary, summary_size) == 0))
                        payments_after_booking(r, rd);
        }
}

static void report_done(run *r, bool skipped, const char *summary)
{
        int64_t lat = r->j->kafka_ts_ms > 0 ? exact_now_ms() - r->j->kafka_ts_ms : 0;
        char lab[600];

        cx_sync_log(r->w->db, r->tenant, "load", r->kind, r->source_id, skipped ? "skipped" : "ok",
                    summary, r->trace, NULL);
        cx_metrics_label2(lab, sizeof(lab), "kind", r->kind, "result",
                          skipped ? "skipped" : "loaded");
        cx_counter_add("cx_loader_commands_total", "Commands finished", lab, 1);
        if (!skipped && lat >= 0) {
                cx_counter_add("cx_loader_latency_seconds_sum",
                               "End-to-end latency (Kafka timestamp to booked), sum", NULL,
                               (double)lat / 1000.0);
                cx_counter_add("cx_loader_latency_seconds_count",
                               "End-to-end latency (Kafka timestamp to booked), count", NULL, 1);
                cx_gauge_set("cx_loader_latency_seconds_last",
                             "End-to-end latency of the last booked command", NULL,
                             (double)lat / 1000.0);
        }
        cx_log_fields(CX_LOG_INFO, skipped ? "command.skipped" : "command.loaded",
                      json_pack("{s:s,s:s,s:s,s:s,s:i}", "tenant", r->tenant, "kind", r->kind,
                                "source_id", r->source_id, "trace_id", r->trace, "calls", r->calls),
                      "%s", summary);
}

static void retry_later(run *r, job_outcome *outcome, int64_t *until_ms, char *reason,
                        size_t reason_size)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        job *j = r->j;
        char lab[600];

        /* Our own database being down is no fault of the command: the try is not counted,
         * or a restart longer than the tries last would dead-letter valid orders. */
        bool db_down = !cx_db_ping(r->w->db);

        if (db_down)
                j->db_waits++;
        else
                j->attempts++;
        cx_metrics_label(lab, sizeof(lab), "tenant", r->tenant);
        cx_counter_add("cx_loader_retries_total", "Commands tried again after a failure", lab, 1);
        if (!db_down && j->attempts >= cfg->max_attempts) {
                char msg[800];

                snprintf(msg, sizeof(msg), "gave up after %d attempts: %s", j->attempts, r->reason);
                dead_letter(r, msg, outcome, until_ms, reason, reason_size);
                return;
        }
        cx_log_fields(CX_LOG_WARN, "command.retry",
                      json_pack("{s:s,s:s,s:i,s:b}", "tenant", r->tenant, "source_id",
                                r->source_id ? r->source_id : "", "attempt", j->attempts,
                                "database_down", db_down),
                      "%s", r->reason);
        *outcome = JOB_LATER;
        *until_ms = exact_now_ms() + backoff_ms(cfg, j->attempts + j->db_waits);
        snprintf(reason, reason_size, "backoff: %s", r->reason);
}

/* What the run's verdict means for the job. */
static void settle(run *r, bool skipped, const char *summary, job_outcome *outcome,
                   int64_t *until_ms, char *reason, size_t reason_size)
{
        switch (r->st) {
        case RUN_OK: report_done(r, skipped, summary); break;
        case RUN_WAIT:
                *outcome = JOB_LATER;
                *until_ms = r->until;
                snprintf(reason, reason_size, "%s", r->reason);
                if (strstr(r->reason, "daily") || strstr(r->reason, "blocked"))
                        run_save_budget(r, r->until, r->reason);
                break;
        case RUN_RETRY: retry_later(r, outcome, until_ms, reason, reason_size); break;
        case RUN_FAIL: dead_letter(r, r->reason, outcome, until_ms, reason, reason_size); break;
        }
}

void command_run(worker *w, job *j, job_outcome *outcome, int64_t *until_ms, char *reason,
                 size_t reason_size)
{
        run r;
        char why[300];
        bool locked = false, skipped = false, valid;
        char summary[300] = "";

        memset(&r, 0, sizeof(r));
        r.w = w;
        r.j = j;
        r.budget = sched_budget(j);
        *outcome = JOB_DONE;
        *until_ms = 0;
        reason[0] = '\0';
        r.kind = r.source_id = r.trace = "";
        valid = command_parse(j->payload, j->len, j->tenant, &r.cmd, why, sizeof(why)) == 0;
        if (r.cmd) {
                r.kind = jstr(r.cmd, "kind");
                r.source_id = jstr(r.cmd, "source_id");
                r.trace = jstr(r.cmd, "trace_id");
        }
        if (!valid) {
                /* Checked before any call: a bad command costs Exact nothing. */
                dead_letter(&r, why, outcome, until_ms, reason, reason_size);
                goto out;
        }
        r.tenant = jstr(r.cmd, "tenant");
        if (load_tenant(&r) == 0) {
                if (!ledger_try_lock_tenant(w->db, r.tenant, &r.fence)) {
                        run_set(&r, RUN_WAIT, exact_now_ms() + 200,
                                "tenant busy in another instance");
                } else {
                        locked = true;
                        r.db_gen = cx_db_generation(w->db);
                        run_kind(&r, &skipped, summary, sizeof(summary));
                }
        }
        settle(&r, skipped, summary, outcome, until_ms, reason, reason_size);
out:
        /* a lock lost with its session is not ours to release on the new one */
        if (locked && run_holds_lock(&r))
                ledger_unlock_tenant(w->db, r.tenant);
        json_decref(r.cmd);
}
