/* vies_gate: see vies_gate.h. */
#include "transformer/vies_gate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/journal.h"
#include "common/log.h"
#include "common/metrics.h"
#include "taxstate/vies_store.h"

static long long mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vies_gate_init(vies_gate *g, cx_db *db, const cx_config *cfg)
{
        const char *url = cx_config_str(cfg, "CX_VIES_URL");
        long timeout = (long)cx_config_int(cfg, "CX_VIES_TIMEOUT_MS");

        memset(g, 0, sizeof(*g));
        g->svc.db = db;
        g->svc.valid_ttl_s = (long)cx_config_int(cfg, "CX_VIES_CACHE_VALID_S");
        g->svc.invalid_ttl_s = (long)cx_config_int(cfg, "CX_VIES_CACHE_INVALID_S");
        g->svc.limit_wait_ms = timeout;
        g->retry_s = (long)cx_config_int(cfg, "CX_VIES_RETRY_S");
        vies_limiter_init(&g->svc.limiter, (double)cx_config_int(cfg, "CX_VIES_RATE_PER_MIN"),
                          (double)cx_config_int(cfg, "CX_VIES_GLOBAL_RATE_PER_MIN"));
        if (!*url) {
                cx_log(CX_LOG_WARN, "vies.off",
                       "CX_VIES_URL is empty: no VIES checks, 0%% ICP on the offline VAT-number "
                       "check alone");
                return;
        }
        g->svc.client = vies_client_new(url, timeout);
        g->on = g->svc.client != NULL;
}

void vies_gate_free(vies_gate *g)
{
        vies_client_free(g->svc.client);
        g->svc.client = NULL;
}

vies_lookup_fn vies_gate_lookup(vies_gate *g)
{
        return g->on ? vies_service_lookup : NULL;
}

static void count(const char *outcome)
{
        char label[64];

        cx_metrics_label(label, sizeof(label), "outcome", outcome);
        cx_counter_add("cx_transformer_vies_total", "VIES answers used for ICP orders, by outcome",
                       label, 1);
}

int vies_gate_record(vies_gate *g, cx_db *db, const char *tenant, const char *source_id,
                     const rules *r, const vies_outcome *vo, const rd_kafka_message_t *m,
                     cx_err *err)
{
        const vies_answer *a = &vo->answer;
        const char *policy = vies_policy_name(rules_vies_policy(r));

        if (!vo->consulted)
                return 0;
        count(a->from_cache ? "cached" : vies_state_name(a->state));
        if (vies_consultation_put(db, tenant, source_id, a, policy, err) < 0)
                return -1;
        if (vo->action == VIES_ACTION_HOLD)
                return vies_pending_put(db, tenant, source_id, "hold", a->vat_number,
                                        rd_kafka_topic_name(m->rkt), m->payload, m->len, err);
        if (vo->action == VIES_ACTION_RECHECK)
                return vies_pending_put(db, tenant, source_id, "recheck", a->vat_number, "", NULL,
                                        0, err);
        return 0;
}

/* A held order whose number VIES answered for: its event goes round again. */
static int release_held(const vies_pending_row *row, cx_producer *p, cx_consumer *c, cx_err *err)
{
        if (!row->payload)
                return 0;
        if (cx_producer_begin(p, err) < 0)
                return -1;
        if (cx_producer_send(p, row->topic, row->tenant, row->payload, row->len, err) < 0) {
                cx_producer_abort(p, NULL);
                return -1;
        }
        return cx_producer_commit(p, c, err);
}

/* The sync-log entry of a re-check: the booking stands, or it needs a correction. */
static int log_recheck(cx_db *db, const vies_pending_row *row, const vies_answer *a, cx_err *err)
{
        char msg[512];

        if (a->state == VIES_VALID) {
                snprintf(msg, sizeof(msg),
                         "VIES re-check: %s valid%s%s, %.10s: the ICP booking stands",
                         a->vat_number, a->request_identifier[0] ? ", consultation " : "",
                         a->request_identifier, a->request_date);
                return cx_sync_log_once(db, row->tenant, "transform", "order", row->source_id,
                                        "info", msg, "", err);
        }
        snprintf(msg, sizeof(msg),
                 "VIES re-check: %s is not a valid VAT number (%.10s): the order was booked as "
                 "an intra-community supply at 0%% and needs a correction (credit it and invoice "
                 "it again with VAT)",
                 a->vat_number, a->request_date);
        return cx_sync_log_once(db, row->tenant, "transform", "order", row->source_id, "failed",
                                msg, "", err);
}

/* One waiting order. */
static int retry_one(vies_gate *g, cx_db *db, rules_store *rs, const vies_pending_row *row,
                     cx_producer *p, cx_consumer *c, cx_err *err)
{
        char why[256];
        vies_answer a;
        const rules *r = rules_store_get(rs, row->tenant, why, sizeof(why), err);
        long delay = g->retry_s;

        if (!r)
                return why[0] ? vies_pending_later(db, row, 3600, why, err) : -1;
        if (vies_service_lookup(&g->svc, r, row->vat_number, &a) < 0)
                return cx_fail(err, CX_ERR_DB, true, "VIES cache not readable");
        if (a.state != VIES_VALID && a.state != VIES_INVALID) {
                for (int i = 0; i < row->attempts && delay < 3600; i++)
                        delay *= 2;
                return vies_pending_later(db, row, delay < 3600 ? delay : 3600, a.error, err);
        }
        if (!strcmp(row->action, "hold")) {
                if (release_held(row, p, c, err) < 0)
                        return -1;
                snprintf(why, sizeof(why),
                         "VIES answered for %s (%s): the held order is taken "
                         "up again",
                         a.vat_number, vies_state_name(a.state));
                if (cx_sync_log_once(db, row->tenant, "transform", "order", row->source_id, "info",
                                     why, "", err) < 0)
                        return -1;
        } else {
                if (vies_consultation_put(db, row->tenant, row->source_id, &a,
                                          vies_policy_name(rules_vies_policy(r)), err) < 0 ||
                    log_recheck(db, row, &a, err) < 0)
                        return -1;
        }
        return vies_pending_done(db, row, err);
}

int vies_gate_retry_due(vies_gate *g, cx_db *db, rules_store *rs, cx_producer *p, cx_consumer *c,
                        cx_err *err)
{
        vies_pending_row *rows;
        int n, rc = 0;

        if (!g->on || mono_ms() < g->next_scan_ms)
                return 0;
        g->next_scan_ms = mono_ms() + 1000;
        n = vies_pending_due(db, 20, &rows, err);
        if (n < 0)
                return -1;
        for (int i = 0; i < n && rc == 0; i++)
                rc = retry_one(g, db, rs, &rows[i], p, c, err);
        vies_pending_free(rows, n);
        return rc;
}
