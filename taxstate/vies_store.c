/* vies_store: see vies_store.h. */
#include "taxstate/vies_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cell(PGresult *r, int row, int col, char *dst, size_t size)
{
        snprintf(dst, size, "%s", PQgetvalue(r, row, col));
}

int vies_cache_get(cx_db *db, const char *vat_number, const char *requester, vies_answer *a,
                   bool *hit, cx_err *err)
{
        char cc[3], number[40];
        const char *p[3] = { cc, number, requester ? requester : "" };
        PGresult *r;

        *hit = false;
        memset(a, 0, sizeof(*a));
        snprintf(a->vat_number, sizeof(a->vat_number), "%s", vat_number);
        if (vies_split(vat_number, cc, number, sizeof(number)) != 0)
                return 0;
        r = cx_db_query(db,
                        "SELECT valid, request_identifier, request_date FROM vies_cache"
                        " WHERE country = $1 AND number = $2 AND requester = $3"
                        " AND expires_at > now()",
                        3, p, err);
        if (!r)
                return -1;
        if (PQntuples(r) == 1) {
                *hit = true;
                a->state = !strcmp(PQgetvalue(r, 0, 0), "t") ? VIES_VALID : VIES_INVALID;
                cell(r, 0, 1, a->request_identifier, sizeof(a->request_identifier));
                cell(r, 0, 2, a->request_date, sizeof(a->request_date));
                a->from_cache = true;
        }
        PQclear(r);
        return 0;
}

int vies_cache_put(cx_db *db, const char *requester, const vies_answer *a, long ttl_s, cx_err *err)
{
        char cc[3], number[40], ttl[24];
        const char *p[7] = { cc,
                             number,
                             requester ? requester : "",
                             a->state == VIES_VALID ? "t" : "f",
                             a->request_identifier,
                             a->request_date,
                             ttl };

        if (a->state != VIES_VALID && a->state != VIES_INVALID)
                return 0; /* "could not ask" is never cached */
        if (vies_split(a->vat_number, cc, number, sizeof(number)) != 0)
                return 0;
        snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
        return cx_db_exec(db,
                          "INSERT INTO vies_cache (country, number, requester, valid,"
                          " request_identifier, request_date, expires_at) VALUES ($1, $2, $3,"
                          " $4::boolean, $5, $6, now() + make_interval(secs => $7::int))"
                          " ON CONFLICT (country, number, requester) DO UPDATE SET"
                          " valid = EXCLUDED.valid, request_identifier ="
                          " EXCLUDED.request_identifier, request_date = EXCLUDED.request_date,"
                          " checked_at = now(), expires_at = EXCLUDED.expires_at",
                          7, p, err);
}

int vies_consultation_put(cx_db *db, const char *tenant, const char *source_id,
                          const vies_answer *a, const char *policy, cx_err *err)
{
        const char *p[9] = { tenant,
                             source_id,
                             a->vat_number,
                             vies_state_name(a->state),
                             a->request_identifier,
                             a->request_date,
                             a->error,
                             a->state == VIES_UNAVAILABLE ? policy : "",
                             a->from_cache ? "t" : "f" };

        if (a->state == VIES_NOT_CHECKED)
                return 0;
        return cx_db_exec(db,
                          "INSERT INTO vies_consultations (tenant_id, source_id, vat_number,"
                          " outcome, request_identifier, request_date, error, policy, from_cache)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::boolean)"
                          " ON CONFLICT (tenant_id, source_id) DO UPDATE SET"
                          " vat_number = EXCLUDED.vat_number, outcome = EXCLUDED.outcome,"
                          " request_identifier = EXCLUDED.request_identifier,"
                          " request_date = EXCLUDED.request_date, error = EXCLUDED.error,"
                          " policy = EXCLUDED.policy, from_cache = EXCLUDED.from_cache, at = now()",
                          9, p, err);
}

int vies_consultation_unavailable(cx_db *db, const char *tenant, const char *source_id,
                                  const char *vat_number, vies_answer *a, bool *hit, cx_err *err)
{
        const char *p[3] = { tenant, source_id, vat_number };
        PGresult *r = cx_db_query(db,
                                  "SELECT error FROM vies_consultations WHERE tenant_id = $1"
                                  " AND source_id = $2 AND vat_number = $3"
                                  " AND outcome = 'unavailable'",
                                  3, p, err);

        *hit = false;
        if (!r)
                return -1;
        if (PQntuples(r) == 1) {
                *hit = true;
                memset(a, 0, sizeof(*a));
                a->state = VIES_UNAVAILABLE;
                snprintf(a->vat_number, sizeof(a->vat_number), "%s", vat_number);
                cell(r, 0, 0, a->error, sizeof(a->error));
        }
        PQclear(r);
        return 0;
}

int vies_pending_put(cx_db *db, const char *tenant, const char *source_id, const char *action,
                     const char *vat_number, const char *topic, const void *payload, size_t len,
                     cx_err *err)
{
        char *hex = NULL;
        int rc;

        if (payload && len) {
                hex = malloc(len * 2 + 3);
                if (!hex)
                        return cx_fail(err, CX_ERR_IO, false, "out of memory");
                memcpy(hex, "\\x", 2);
                for (size_t i = 0; i < len; i++)
                        sprintf(hex + 2 + i * 2, "%02x", ((const unsigned char *)payload)[i]);
        }
        {
                const char *p[6] = { tenant, source_id, action, vat_number, topic, hex };

                rc = cx_db_exec(db,
                                "INSERT INTO vies_pending (tenant_id, source_id, action,"
                                " vat_number, topic, payload) VALUES ($1, $2, $3, $4, $5,"
                                " $6::bytea) ON CONFLICT (tenant_id, source_id) DO UPDATE SET"
                                " action = EXCLUDED.action, vat_number = EXCLUDED.vat_number,"
                                " topic = EXCLUDED.topic, payload = EXCLUDED.payload",
                                6, p, err);
        }
        free(hex);
        return rc;
}

static void take_payload(PGresult *r, int i, vies_pending_row *row)
{
        size_t n = 0;
        unsigned char *raw;

        if (PQgetisnull(r, i, 5))
                return;
        raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 5), &n);
        if (!raw)
                return;
        row->payload = malloc(n ? n : 1);
        if (row->payload) {
                memcpy(row->payload, raw, n);
                row->len = n;
        }
        PQfreemem(raw);
}

int vies_pending_due(cx_db *db, int max, vies_pending_row **rows, cx_err *err)
{
        char lim[16];
        const char *p[1] = { lim };
        PGresult *r;
        int n;

        snprintf(lim, sizeof(lim), "%d", max);
        *rows = NULL;
        r = cx_db_query(db,
                        /* claimed for a minute, so that another transformer skips
                         * them (a held order is produced again only once) */
                        "UPDATE vies_pending SET next_at = now() + interval '60 seconds'"
                        " WHERE (tenant_id, source_id) IN (SELECT tenant_id, source_id"
                        " FROM vies_pending WHERE next_at <= now() ORDER BY next_at"
                        " LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING tenant_id, source_id,"
                        " action, vat_number, topic, payload, attempts",
                        1, p, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        *rows = n ? calloc((size_t)n, sizeof(**rows)) : NULL;
        for (int i = 0; *rows && i < n; i++) {
                vies_pending_row *row = &(*rows)[i];

                cell(r, i, 0, row->tenant, sizeof(row->tenant));
                cell(r, i, 1, row->source_id, sizeof(row->source_id));
                cell(r, i, 2, row->action, sizeof(row->action));
                cell(r, i, 3, row->vat_number, sizeof(row->vat_number));
                cell(r, i, 4, row->topic, sizeof(row->topic));
                take_payload(r, i, row);
                row->attempts = atoi(PQgetvalue(r, i, 6));
        }
        PQclear(r);
        return *rows || !n ? n : -1;
}

void vies_pending_free(vies_pending_row *rows, int n)
{
        for (int i = 0; rows && i < n; i++)
                free(rows[i].payload);
        free(rows);
}

int vies_pending_done(cx_db *db, const vies_pending_row *row, cx_err *err)
{
        const char *p[2] = { row->tenant, row->source_id };

        return cx_db_exec(db, "DELETE FROM vies_pending WHERE tenant_id = $1 AND source_id = $2", 2,
                          p, err);
}

int vies_pending_later(cx_db *db, const vies_pending_row *row, long delay_s, const char *why,
                       cx_err *err)
{
        char d[24];
        const char *p[4] = { row->tenant, row->source_id, d, why };

        snprintf(d, sizeof(d), "%ld", delay_s);
        return cx_db_exec(db,
                          "UPDATE vies_pending SET attempts = attempts + 1, last_error = $4,"
                          " next_at = now() + make_interval(secs => $3::int)"
                          " WHERE tenant_id = $1 AND source_id = $2",
                          4, p, err);
}
