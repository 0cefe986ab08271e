/* lease.h: leases and housekeeping. Instances share the enabled tenants through
 * extract_leases: each holds about its share (enabled tenants / live instances), renews its
 * leases every housekeeping period, hands over its surplus when another instance joins and
 * takes leases that are free or expired. Housekeeping also re-reads the held tenants' rows
 * (credentials, entities, bookable rules), so changes need no restart, and writes the
 * per-entity counts to the sync log. */
#ifndef CX_EXTRACTOR_LEASE_H
#define CX_EXTRACTOR_LEASE_H

#include "extractor/engine.h"

/** @brief The held tenant @p id, or NULL. */
ex_tenant *ex_tenant_find(extractor *x, const char *id);

/** @brief Renew @p t's lease when a third of it has passed since the last renewal (called
 *         before each request of a slice). @returns 0 while it is ours; -1 with @p err when it
 *         was lost (t->held cleared) or the database failed. */
int ex_lease_keep(extractor *x, ex_tenant *t, cx_err *err);

/** @brief Heartbeat, renew, rebalance, take free leases, re-read the held tenants' rows;
 *         sets readiness (not ready while PostgreSQL fails). */
void ex_housekeeping(extractor *x);

/** @brief Flush the counts, free the tenants and give all our leases back (at exit). */
void ex_leases_release(extractor *x);

#endif
