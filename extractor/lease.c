/* lease.c: leases and housekeeping (see lease.h). */
#include "extractor/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/iso8601.h"
#include "common/tenant.h"
#include "common/journal.h"
#include "common/metrics.h"
#include "extractor/webhook.h"

static void tenant_free(ex_tenant *t)
{
        if (!t)
                return;
        cx_log_forget_secret(t->shop.secret);
        ccv_shop_clear(&t->shop);
        free(t->sealed);
        free(t);
}

ex_tenant *ex_tenant_find(extractor *x, const char *id)
{
        for (size_t i = 0; i < x->n_tenants; i++)
                if (!strcmp(x->tenants[i]->id, id))
                        return x->tenants[i];
        return NULL;
}

/* Parse a PostgreSQL array literal of simple words ("{a,b}") into flags / integers. */
static void parse_entities(ex_tenant *t, const char *arr)
{
        for (int e = 0; e < ENT_COUNT; e++)
                t->want[e] = false;
        t->want[ENT_ORDER] = strstr(arr, "orders") != NULL;
        t->want[ENT_PRODUCT] = strstr(arr, "products") != NULL;
        t->want[ENT_CUSTOMER] = strstr(arr, "customers") != NULL;
}

static void parse_statuses(ex_tenant *t, const char *arr)
{
        const char *p = arr;

        t->n_statuses = 0;
        while (*p && t->n_statuses < 16) {
                char *end = NULL;
                long v;

                if (*p < '0' || *p > '9') {
                        p++;
                        continue;
                }
                v = strtol(p, &end, 10);
                t->statuses[t->n_statuses++] = (int)v;
                p = end;
        }
}

static void tenant_load_state(extractor *x, ex_tenant *t)
{
        const char *p[1] = { t->id };
        cx_err err = { 0 };
        PGresult *r;

        t->cursor = t->extract_from;
        r = cx_db_query(x->db, "SELECT entity, cursor FROM extract_cursors WHERE tenant_id = $1", 1,
                        p, &err);
        for (int i = 0; r && i < PQntuples(r); i++) {
                long long v;

                if (cx_iso8601_parse(PQgetvalue(r, i, 1), &v) < 0)
                        continue;
                if (!strcmp(PQgetvalue(r, i, 0), "orders"))
                        t->cursor = v;
                else if (!strcmp(PQgetvalue(r, i, 0), "products"))
                        t->prod_watermark = v;
        }
        PQclear(r);
        if (x->set.webhook_base[0]) {
                char addr[700];
                const char *p2[2] = { t->id, addr };

                snprintf(addr, sizeof(addr), "%s/webhooks/%s", x->set.webhook_base, t->id);
                r = cx_db_query(x->db,
                                "SELECT count(*) FROM extract_webhooks WHERE tenant_id = $1"
                                " AND address = $2",
                                2, p2, &err);
                t->hooks_done = r && PQntuples(r) == 1 &&
                                strtol(PQgetvalue(r, 0, 0), NULL, 10) >= ex_hook_events_count();
                PQclear(r);
        }
}

/* Apply the tenant's row; credentials are opened again only when they changed. */
static void tenant_apply(extractor *x, ex_tenant *t, const cx_tenant *row)
{
        const char *base = row->shop_base_url, *pub = row->shop_public_key;
        const char *sealed = row->shop_secret_sealed;
        bool creds_changed = !t->sealed || strcmp(t->sealed, sealed) ||
                             strcmp(t->shop.public_key, pub) || strcmp(t->shop.base, base);

        parse_entities(t, row->sync_entities);
        t->require_paid = row->bookable_require_paid;
        parse_statuses(t, row->bookable_statuses);
        t->extract_from = row->extract_from;
        if (!creds_changed)
                return;
        cx_log_forget_secret(t->shop.secret);
        ccv_shop_clear(&t->shop);
        free(t->sealed);
        t->sealed = strdup(sealed);
        snprintf(t->shop.tenant, sizeof(t->shop.tenant), "%s", t->id);
        snprintf(t->shop.base, sizeof(t->shop.base), "%s", base);
        snprintf(t->shop.public_key, sizeof(t->shop.public_key), "%s", pub);
        t->shop.get_limit = x->set.get_limit;
        t->shop.write_limit = x->set.write_limit;
        t->shop.window_s = x->set.window_s;
        t->shop.verify = x->set.verify_responses;
        t->broken = false;
        if (!x->set.keys) {
                t->broken = true;
                ex_log(CX_LOG_ERROR, "tenant.credentials", t, "tenants", "%s",
                       "CX_SECRET_KEY is not set: cannot open the shop secret");
        } else {
                cx_err err = { 0 }, e2 = { 0 };

                t->shop.secret = cx_keyring_open(x->set.keys, t->id, sealed, &err);
                if (!t->shop.secret) {
                        t->broken = true;
                        ex_log(CX_LOG_ERROR, "tenant.credentials", t, "tenants",
                               "shop secret does not open: %s", err.msg);
                        cx_sync_log(x->db, t->id, "extract", "", "", "failed",
                                    "shop secret does not open with CX_SECRET_KEY", "", &e2);
                } else {
                        cx_log_add_secret(t->shop.secret);
                }
        }
        t->wait_until = 0;
        t->fails = 0;
}

static void tenant_drop(extractor *x, size_t i)
{
        cx_log_fields(CX_LOG_INFO, "lease.dropped", json_pack("{s:s}", "tenant", x->tenants[i]->id),
                      "no longer extracting this tenant");
        cx_metrics_remove_tenant(x->tenants[i]->id);
        tenant_free(x->tenants[i]);
        x->tenants[i] = x->tenants[--x->n_tenants];
}

/* Write the counts gathered since the last time as one sync-log row per entity. */
static void flush_counts(extractor *x, ex_tenant *t)
{
        for (int e = 0; e < ENT_COUNT; e++) {
                int *c = t->counts[e];
                char msg[200];
                cx_err err = { 0 };

                if (c[C_PUB] == 0 && c[C_FAIL] == 0)
                        continue;
                snprintf(msg, sizeof(msg),
                         "published %d, unchanged %d, not bookable %d, "
                         "failed %d",
                         c[C_PUB], c[C_SAME], c[C_SKIP], c[C_FAIL]);
                if (cx_sync_log(x->db, t->id, "extract", ex_ent_names[e], "",
                                c[C_FAIL] ? "failed" : "ok", msg, "", &err) < 0)
                        cx_log(CX_LOG_WARN, "sync_log.failed", "%s", err.msg);
                memset(c, 0, sizeof(t->counts[e]));
        }
}

/* Give back our lease on @p tenant so that any instance may take it at once. */
static int lease_give_back(extractor *x, const char *tenant, cx_err *err)
{
        const char *p[2] = { tenant, x->d->instance_id };

        return cx_db_exec(x->db,
                          "UPDATE extract_leases SET owner = NULL,"
                          " expires_at = '-infinity' WHERE tenant_id = $1 AND owner = $2",
                          2, p, err);
}

/* Heartbeat, leases for new tenants, give back disabled ones; *target is this instance's
 * share of the enabled tenants. */
static int lease_heartbeat(extractor *x, const char *lease, long *target, cx_err *err)
{
        const char *p2[2] = { x->d->instance_id, lease };
        long enabled, live;
        PGresult *r;

        if (cx_db_exec(x->db,
                       "INSERT INTO extract_instances (instance_id) VALUES ($1)"
                       " ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()",
                       1, p2, err) < 0)
                return -1;
        if (cx_db_exec(x->db,
                       "DELETE FROM extract_instances WHERE seen_at < now() - interval"
                       " '1 day'",
                       0, NULL, err) < 0)
                return -1;
        if (cx_db_exec(x->db,
                       "INSERT INTO extract_leases (tenant_id) SELECT id FROM tenants"
                       " WHERE enabled ON CONFLICT DO NOTHING",
                       0, NULL, err) < 0)
                return -1;
        /* give back what was disabled, keep the rest */
        if (cx_db_exec(x->db,
                       "UPDATE extract_leases SET owner = NULL, expires_at = '-infinity'"
                       " WHERE owner = $1 AND tenant_id IN (SELECT id FROM tenants WHERE NOT"
                       " enabled)",
                       1, p2, err) < 0)
                return -1;
        r = cx_db_query(x->db,
                        "SELECT (SELECT count(*) FROM tenants WHERE enabled),"
                        " (SELECT count(*) FROM extract_instances WHERE instance_id <> $1 AND"
                        "  seen_at > now() - $2 * interval '1 second')",
                        2, p2, err);
        if (!r)
                return -1;
        enabled = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        live = 1 + strtol(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
        *target = (enabled + live - 1) / live;
        return 0;
}

int ex_lease_keep(extractor *x, ex_tenant *t, cx_err *err)
{
        char lease[24];
        const char *p[3] = { t->id, x->d->instance_id, lease };
        double now = ccv_now();
        PGresult *r;
        int n;

        if (now < t->lease_renewed + x->set.lease_s / 3.0)
                return 0;
        snprintf(lease, sizeof(lease), "%d", x->set.lease_s);
        r = cx_db_query(x->db,
                        "UPDATE extract_leases SET expires_at = now() + $3 * interval '1 second'"
                        " WHERE tenant_id = $1 AND owner = $2 RETURNING 1",
                        3, p, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        PQclear(r);
        if (n != 1) {
                t->held = false;
                return cx_fail(err, CX_ERR_INVALID, false, "lease lost to another instance");
        }
        t->lease_renewed = now;
        return 0;
}

/* Renew our leases and mark the tenants held; *mine is how many we hold. */
static int lease_renew(extractor *x, const char *lease, long *mine, cx_err *err)
{
        const char *p2[2] = { x->d->instance_id, lease };
        double now = ccv_now();
        PGresult *r;

        r = cx_db_query(x->db,
                        "UPDATE extract_leases SET expires_at = now() + $2 * interval"
                        " '1 second' WHERE owner = $1 RETURNING tenant_id",
                        2, p2, err);
        if (!r)
                return -1;
        *mine = PQntuples(r);
        for (size_t i = 0; i < x->n_tenants; i++)
                x->tenants[i]->held = false;
        for (int k = 0; k < PQntuples(r); k++) {
                ex_tenant *t = ex_tenant_find(x, PQgetvalue(r, k, 0));

                if (t) {
                        t->held = true;
                        t->lease_renewed = now;
                        continue;
                }
                /* A lease under our name that this process never took: a predecessor with
                 * the same instance id died holding it. Give it back so the acquisition
                 * takes it over properly (it loads the tenant). */
                if (lease_give_back(x, PQgetvalue(r, k, 0), err) < 0) {
                        PQclear(r);
                        return -1;
                }
                (*mine)--;
        }
        PQclear(r);
        return 0;
}

/* Take up to @p n free or expired leases, adding the tenants we did not hold yet. */
static int lease_take(extractor *x, const char *lease, long n, cx_err *err)
{
        char limit[24];
        const char *p3[3] = { x->d->instance_id, lease, limit };
        double now = ccv_now();
        PGresult *r;

        snprintf(limit, sizeof(limit), "%ld", n);
        r = cx_db_query(x->db,
                        "UPDATE extract_leases SET owner = $1, acquired_at = now(),"
                        " expires_at = now() + $2 * interval '1 second' WHERE tenant_id IN"
                        " (SELECT l.tenant_id FROM extract_leases l JOIN tenants t ON"
                        "  t.id = l.tenant_id WHERE t.enabled AND (l.owner IS NULL OR"
                        "  l.expires_at < now()) ORDER BY l.expires_at, l.tenant_id"
                        "  LIMIT $3 FOR UPDATE OF l SKIP LOCKED) RETURNING tenant_id",
                        3, p3, err);
        if (!r)
                return -1;
        for (int k = 0; k < PQntuples(r); k++) {
                const char *id = PQgetvalue(r, k, 0);
                ex_tenant *t = ex_tenant_find(x, id);

                cx_log_fields(CX_LOG_INFO, "lease.acquired", json_pack("{s:s}", "tenant", id),
                              "extracting this tenant");
                if (!t) {
                        ex_tenant **nt = realloc(x->tenants, (x->n_tenants + 1) * sizeof(*nt));

                        t = nt ? calloc(1, sizeof(*t)) : NULL;
                        if (nt)
                                x->tenants = nt;
                        if (!t)
                                continue;
                        snprintf(t->id, sizeof(t->id), "%s", id);
                        t->caught_up_at = time(NULL);
                        x->tenants[x->n_tenants++] = t;
                }
                t->held = true;
                t->lease_renewed = now;
        }
        PQclear(r);
        return 0;
}

/* Hold @p target tenants: hand over the surplus when another instance joined (our state is
 * all committed), take free leases when we hold too few. */
static int lease_balance(extractor *x, const char *lease, long target, long mine, cx_err *err)
{
        if (mine < target)
                return lease_take(x, lease, target - mine, err);
        for (size_t i = 0; i < x->n_tenants && mine > target; i++) {
                ex_tenant *t = x->tenants[i];

                if (!t->held)
                        continue;
                if (lease_give_back(x, t->id, err) < 0)
                        return -1;
                t->held = false;
                mine--;
        }
        return 0;
}

/* Re-read the held tenants' rows: changes take effect without a restart. */
static int tenants_reread(extractor *x, cx_err *err)
{
        const char **ids = calloc(x->n_tenants ? x->n_tenants : 1, sizeof(*ids));
        cx_tenant *rows = NULL;
        size_t n = 0;

        if (!ids)
                return cx_fail(err, CX_ERR_DB, true, "out of memory");
        for (size_t i = 0; i < x->n_tenants; i++)
                ids[i] = x->tenants[i]->id;
        if (cx_tenants_get(x->db, ids, x->n_tenants, &rows, &n, err) < 0) {
                free(ids);
                return -1;
        }
        free(ids);
        for (size_t k = 0; k < n; k++) {
                ex_tenant *t = ex_tenant_find(x, rows[k].id);
                bool fresh;

                if (!t)
                        continue;
                fresh = t->sealed == NULL;
                tenant_apply(x, t, &rows[k]);
                if (fresh)
                        tenant_load_state(x, t);
        }
        cx_tenants_free(rows, n);
        return 0;
}

void ex_housekeeping(extractor *x)
{
        char lease[24];
        cx_err err = { 0 };
        long target = 0, mine = 0;
        size_t i;

        snprintf(lease, sizeof(lease), "%d", x->set.lease_s);
        if (lease_heartbeat(x, lease, &target, &err) < 0 ||
            lease_renew(x, lease, &mine, &err) < 0 ||
            lease_balance(x, lease, target, mine, &err) < 0)
                goto db_failed;
        for (i = x->n_tenants; i-- > 0;) {
                if (!x->tenants[i]->held) {
                        flush_counts(x, x->tenants[i]);
                        tenant_drop(x, i);
                }
        }
        if (tenants_reread(x, &err) < 0)
                goto db_failed;
        for (i = 0; i < x->n_tenants; i++) {
                ex_tenant *t = x->tenants[i];
                char label[160];

                flush_counts(x, t);
                cx_metrics_label(label, sizeof(label), "tenant", t->id);
                cx_gauge_set("cx_extractor_lag_seconds",
                             "Seconds since the tenant's new orders were last read to the end",
                             label, (double)(time(NULL) - t->caught_up_at));
        }
        cx_gauge_set("cx_extractor_tenants", "Tenants this instance holds a lease on", NULL,
                     (double)x->n_tenants);
        cx_daemon_set_ready(x->d, true, NULL);
        return;
db_failed:
        cx_log(CX_LOG_WARN, "housekeeping.failed", "%s", err.msg);
        cx_daemon_set_ready(x->d, false, "PostgreSQL not reachable");
}

void ex_leases_release(extractor *x)
{
        const char *p[1] = { x->d->instance_id };
        cx_err err = { 0 };

        for (size_t i = 0; i < x->n_tenants; i++) {
                flush_counts(x, x->tenants[i]);
                tenant_free(x->tenants[i]);
        }
        free(x->tenants);
        x->tenants = NULL;
        x->n_tenants = 0;
        /* our state is committed after every slice, so the leases can go at once */
        if (cx_db_exec(x->db,
                       "UPDATE extract_leases SET owner = NULL, expires_at = '-infinity'"
                       " WHERE owner = $1",
                       1, p, &err) < 0 ||
            cx_db_exec(x->db, "DELETE FROM extract_instances WHERE instance_id = $1", 1, p, &err) <
                    0)
                cx_log(CX_LOG_WARN, "lease.release_failed", "%s", err.msg);
        else
                cx_log(CX_LOG_INFO, "lease.released", "leases released");
}
