/* tenant: the one reader of a `tenants` row (migrations/0001_core.sql). Every program reads a
 * tenant's settings through it, so a new column is added in one place and every reader agrees
 * on what its values mean. */
#ifndef CX_TENANT_H
#define CX_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/db.h"
#include "common/error.h"

typedef struct cx_tenant {
        char *id;
        char *name;
        bool enabled;
        char *shop_base_url; /* without trailing slashes */
        char *shop_public_key;
        char *shop_secret_sealed;
        char *sync_entities; /* PostgreSQL array text: {orders,products,customers} */
        bool bookable_require_paid;
        char *bookable_statuses; /* PostgreSQL array text: {} or {4,5} */
        bool has_extract_from;
        long long extract_from; /* Unix seconds */
        char *exact_base_url;   /* without trailing slashes */
        bool has_division;
        long exact_division;
        char *exact_client_id;            /* NULL when not set */
        char *exact_client_secret_sealed; /* NULL when not set */
        char *exact_redirect_uri;         /* NULL when not set */
} cx_tenant;

/** @brief Read tenant @p id into @p t (cleared first; free with cx_tenant_clear()).
 *  @returns 0, or -1 with @p err: CX_ERR_NOT_FOUND for no such tenant, CX_ERR_DB. */
int cx_tenant_get(cx_db *db, const char *id, cx_tenant *t, cx_err *err);

/** @brief Read the tenants among @p ids (any number; unknown ids are left out) into a new array
 *  @p *out of @p *n_out entries, ordered by id; free it with cx_tenants_free(). */
int cx_tenants_get(cx_db *db, const char *const *ids, size_t n, cx_tenant **out, size_t *n_out,
                   cx_err *err);

/** @brief At most once a minute: drop the metric series of tenants that no longer exist
 *  (deleted with connector-admin tenants delete), for daemons that meet tenants through their
 *  records rather than leases (the loader), and set every tenant's cx_tenant_* gauges (open
 *  dead letters, token state, refresh-token age, last booking) from PostgreSQL. */
int cx_tenants_sweep_metrics(cx_db *db, cx_err *err);

void cx_tenant_clear(cx_tenant *t);
void cx_tenants_free(cx_tenant *ts, size_t n);

#endif
