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
int vies_gate_retry_due(vies_gate *g, cx_db *db, rules_store *rs, cx_producer *p, cx_consumer *c,
                        cx_err *err);

#endif
