/* tenant: see tenant.h. */
#include "common/tenant.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/metrics.h"

/* The columns, in the order read_row() takes them. */
#define TENANT_SELECT                                                                   \
        "SELECT id, name, enabled, shop_base_url, shop_public_key, shop_secret_sealed," \
        " sync_entities::text, bookable_require_paid, bookable_statuses::text,"         \
        " extract(epoch FROM extract_from)::bigint, exact_base_url, exact_division,"    \
        " exact_client_id, exact_client_secret_sealed, exact_redirect_uri FROM tenants"

static char *text_or_null(PGresult *r, int row, int col)
{
        return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

static void strip_slashes(char *url)
{
        size_t n = strlen(url);

        while (n > 0 && url[n - 1] == '/')
                url[--n] = '\0';
}

static int read_row(PGresult *r, int row, cx_tenant *t)
{
        memset(t, 0, sizeof(*t));
        t->id = strdup(PQgetvalue(r, row, 0));
        t->name = strdup(PQgetvalue(r, row, 1));
        t->enabled = PQgetvalue(r, row, 2)[0] == 't';
        t->shop_base_url = strdup(PQgetvalue(r, row, 3));
        t->shop_public_key = strdup(PQgetvalue(r, row, 4));
        t->shop_secret_sealed = strdup(PQgetvalue(r, row, 5));
        t->sync_entities = strdup(PQgetvalue(r, row, 6));
        t->bookable_require_paid = PQgetvalue(r, row, 7)[0] == 't';
        t->bookable_statuses = strdup(PQgetvalue(r, row, 8));
        t->has_extract_from = !PQgetisnull(r, row, 9);
        t->extract_from = t->has_extract_from ? strtoll(PQgetvalue(r, row, 9), NULL, 10) : 0;
        t->exact_base_url = strdup(PQgetvalue(r, row, 10));
        t->has_division = !PQgetisnull(r, row, 11);
        t->exact_division = t->has_division ? strtol(PQgetvalue(r, row, 11), NULL, 10) : 0;
        t->exact_client_id = text_or_null(r, row, 12);
        t->exact_client_secret_sealed = text_or_null(r, row, 13);
        t->exact_redirect_uri = text_or_null(r, row, 14);
        if (!t->id || !t->name || !t->shop_base_url || !t->shop_public_key ||
            !t->shop_secret_sealed || !t->sync_entities || !t->bookable_statuses ||
            !t->exact_base_url || (!PQgetisnull(r, row, 12) && !t->exact_client_id) ||
            (!PQgetisnull(r, row, 13) && !t->exact_client_secret_sealed) ||
            (!PQgetisnull(r, row, 14) && !t->exact_redirect_uri)) {
                cx_tenant_clear(t);
                return -1;
        }
        strip_slashes(t->shop_base_url);
        strip_slashes(t->exact_base_url);
        return 0;
}

int cx_tenant_get(cx_db *db, const char *id, cx_tenant *t, cx_err *err)
{
        const char *p[1] = { id };
        PGresult *r;
        int rc = -1;

        memset(t, 0, sizeof(*t));
        r = cx_db_query(db, TENANT_SELECT " WHERE id = $1", 1, p, err);
        if (!r)
                return -1;
        if (PQntuples(r) != 1)
                cx_fail(err, CX_ERR_NOT_FOUND, false, "unknown tenant \"%s\"", id);
        else if (read_row(r, 0, t) < 0)
                cx_fail(err, CX_ERR_DB, true, "out of memory reading tenant %s", id);
        else
                rc = 0;
        PQclear(r);
        return rc;
}

/* The ids as a PostgreSQL array literal, each element quoted (ids never hold '"' or '\\'). */
static char *id_array(const char *const *ids, size_t n)
{
        size_t len = 3, off = 0;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(ids[i]) + 3;
        s = malloc(len);
        if (!s)
                return NULL;
        s[off++] = '{';
        for (size_t i = 0; i < n; i++) {
                size_t il = strlen(ids[i]);

                if (i)
                        s[off++] = ',';
                s[off++] = '"';
                memcpy(s + off, ids[i], il);
                off += il;
                s[off++] = '"';
        }
        s[off++] = '}';
        s[off] = '\0';
        return s;
}

int cx_tenants_get(cx_db *db, const char *const *ids, size_t n, cx_tenant **out, size_t *n_out,
                   cx_err *err)
{
        char *arr = id_array(ids, n);
        const char *p[1] = { arr };
        PGresult *r;
        int rows;

        *out = NULL;
        *n_out = 0;
        if (!arr)
                return cx_fail(err, CX_ERR_DB, true, "out of memory");
        for (size_t i = 0; i < n; i++)
                if (strpbrk(ids[i], "\"\\")) {
                        free(arr);
                        return cx_fail(err, CX_ERR_INVALID, false, "bad tenant id \"%s\"", ids[i]);
                }
        r = cx_db_query(db, TENANT_SELECT " WHERE id = ANY($1::text[]) ORDER BY id", 1, p, err);
        free(arr);
        if (!r)
                return -1;
        rows = PQntuples(r);
        *out = calloc(rows ? (size_t)rows : 1, sizeof(**out));
        for (int i = 0; *out && i < rows; i++) {
                if (read_row(r, i, &(*out)[i]) < 0) {
                        cx_tenants_free(*out, (size_t)i);
                        *out = NULL;
                }
        }
        PQclear(r);
        if (!*out)
                return cx_fail(err, CX_ERR_DB, true, "out of memory reading tenants");
        *n_out = (size_t)rows;
        return 0;
}

void cx_tenant_clear(cx_tenant *t)
{
        free(t->id);
        free(t->name);
        free(t->shop_base_url);
        free(t->shop_public_key);
        free(t->shop_secret_sealed);
        free(t->sync_entities);
        free(t->bookable_statuses);
        free(t->exact_base_url);
        free(t->exact_client_id);
        free(t->exact_client_secret_sealed);
        free(t->exact_redirect_uri);
        memset(t, 0, sizeof(*t));
}

void cx_tenants_free(cx_tenant *ts, size_t n)
{
        for (size_t i = 0; ts && i < n; i++)
                cx_tenant_clear(&ts[i]);
        free(ts);
}

/* Per-tenant gauges an operator alerts on, from PostgreSQL: one query for every tenant (the
 * sync-log look-up walks its (tenant_id, status, at) index from the newest entry). */
static int tenant_gauges(cx_db *db, cx_err *err)
{
        PGresult *r = cx_db_query(
                db,
                "SELECT t.id, (SELECT count(*) FROM dead_letters d WHERE d.tenant_id = t.id AND"
                " d.state = 'open'), coalesce(k.state, 'needs_consent') = 'ok',"
                " extract(epoch FROM now() - coalesce(k.refreshed_at, k.updated_at))::bigint,"
                " (SELECT extract(epoch FROM now() - s.at)::bigint FROM sync_log s WHERE"
                "  s.tenant_id = t.id AND s.status = 'ok' AND s.stage = 'load' ORDER BY s.at DESC"
                "  LIMIT 1) FROM tenants t LEFT JOIN exact_tokens k ON k.tenant_id = t.id",
                0, NULL, err);

        if (!r)
                return -1;
        for (int i = 0; i < PQntuples(r); i++) {
                char l[160];

                cx_metrics_label(l, sizeof(l), "tenant", PQgetvalue(r, i, 0));
                cx_gauge_set("cx_tenant_dead_letters_open", "Open dead letters of the tenant", l,
                             strtod(PQgetvalue(r, i, 1), NULL));
                cx_gauge_set("cx_tenant_token_ok",
                             "1 while the tenant's Exact tokens work, 0 when it needs consent", l,
                             PQgetvalue(r, i, 2)[0] == 't' ? 1 : 0);
                if (!PQgetisnull(r, i, 3))
                        cx_gauge_set("cx_tenant_refresh_token_age_seconds",
                                     "Seconds since the tenant's Exact refresh token was issued", l,
                                     strtod(PQgetvalue(r, i, 3), NULL));
                if (!PQgetisnull(r, i, 4))
                        cx_gauge_set("cx_tenant_last_booking_age_seconds",
                                     "Seconds since the loader last booked for the tenant", l,
                                     strtod(PQgetvalue(r, i, 4), NULL));
        }
        PQclear(r);
        return 0;
}

int cx_tenants_sweep_metrics(cx_db *db, cx_err *err)
{
        static time_t last;
        time_t now = time(NULL);
        const char **ids;
        PGresult *r;
        int n;

        if (now - last < 60)
                return 0;
        last = now;
        r = cx_db_query(db, "SELECT id FROM tenants", 0, NULL, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        ids = calloc(n ? (size_t)n : 1, sizeof(*ids));
        if (!ids) {
                PQclear(r);
                return cx_fail(err, CX_ERR_DB, true, "out of memory");
        }
        for (int i = 0; i < n; i++)
                ids[i] = PQgetvalue(r, i, 0);
        cx_metrics_keep_tenants(ids, (size_t)n);
        free(ids);
        PQclear(r);
        return tenant_gauges(db, err);
}
