/* vies_gate: the transformer's side of the VIES check (docs/vat-engine.md "VIES"): the
 * service it asks (cache, rate limit, VIES), the consultations it keeps with the orders, and
 * the orders waiting for VIES (held, or booked to be re-checked) that it takes up again. */
#ifndef TRANSFORMER_VIES_GATE_H
#define TRANSFORMER_VIES_GATE_H

#include <librdkafka/rdkafka.h>

#include "booking/vies_policy.h"
#include "common/config.h"
#include "common/kafka.h"
#include "taxstate/vies_service.h"
#include "transformer/rules_store.h"

/* The configuration variables (a part of the transformer's table). */
#define VIES_GATE_CFG_VARS                                                                   \
        { "CX_VIES_URL", CX_CFG_STR, "", 0, 0, false,                                        \
          "base URL of VIES's REST API (https://ec.europa.eu/taxation_customs/vies/rest-api);" \
          " empty: no VIES checks, 0% ICP on the offline VAT-number check alone" },           \
                { "CX_VIES_TIMEOUT_MS", CX_CFG_INT, "10000", 100, 120000, false,             \
                  "longest VIES call; a slower answer counts as unavailable (TIMEOUT)" },     \
                { "CX_VIES_RATE_PER_MIN", CX_CFG_INT, "30", 1, 6000, false,                  \
                  "VIES calls per minute and member state (token bucket, per process)" },    \
                { "CX_VIES_GLOBAL_RATE_PER_MIN", CX_CFG_INT, "120", 1, 60000, false,         \
                  "VIES calls per minute for all member states together (per process)" },    \
                { "CX_VIES_CACHE_VALID_S", CX_CFG_INT, "86400", 0, 604800, false,            \
                  "how long a valid VIES answer is reused (seconds)" },                      \
                { "CX_VIES_CACHE_INVALID_S", CX_CFG_INT, "3600", 0, 604800, false,           \
                  "how long an invalid VIES answer is reused (seconds)" },                   \
        {                                                                                    \
                "CX_VIES_RETRY_S", CX_CFG_INT, "300", 1, 86400, false,                       \
                        "first wait before a held or re-check order asks VIES again "        \
                        "(doubles per attempt, at most an hour)"                             \
        }

typedef struct vies_gate {
        bool on;
        vies_service svc;
        long retry_s;
        long long next_scan_ms;
} vies_gate;

void vies_gate_init(vies_gate *g, cx_db *db, const cx_config *cfg);
void vies_gate_free(vies_gate *g);

/* The lookup for vies_book_order, or NULL when VIES checks are off (no CX_VIES_URL). */
vies_lookup_fn vies_gate_lookup(vies_gate *g);

/* Keeps what vies_book_order found out for order @p source_id: the consultation, and for a
 * held or re-check order its place in vies_pending (with the event @p m for a held one). */
int vies_gate_record(vies_gate *g, cx_db *db, const char *tenant, const char *source_id,
                     const rules *r, const vies_outcome *vo, const rd_kafka_message_t *m,
                     cx_err *err);

/* Takes up the waiting orders that are due (every few seconds at most): asks VIES again;
 * a held order whose number VIES now answered for is produced again to its topic (the
 * answer is in the cache by then), a re-checked one gets its consultation and a sync-log
 * entry. Returns -1 on infrastructure trouble (tried again later). */
int vies_gate_retry_due(vies_gate *g, cx_db *db, rules_store *rs, cx_producer *p,
                        cx_consumer *c, cx_err *err);

#endif
