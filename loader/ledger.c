/* ledger: see ledger.h. */
#include "loader/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

void ledger_content_hash(const json_t *def, char out[80])
{
        char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        char hex[65];

        cx_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
        snprintf(out, 80, "sha256:%s", hex);
        free(text);
}

#define ROW_COLUMNS                                                                   \
        "state, coalesce(exact_guid, ''), coalesce(exact_number, -1), content_hash, " \
        "intent_at IS NOT NULL, coalesce((extract(epoch FROM coalesce(write_until, "  \
        "intent_at)) * 1000)::bigint, 0), attempts, kind "

static void read_row(PGresult *r, ledger_row *row)
{
        if (PQntuples(r) >= 1) {
                const char *s = PQgetvalue(r, 0, 0);

                row->state = !strcmp(s, "done")     ? LEDGER_DONE
                             : !strcmp(s, "failed") ? LEDGER_FAILED
                                                    : LEDGER_PENDING;
                snprintf(row->guid, sizeof(row->guid), "%s", PQgetvalue(r, 0, 1));
                row->number = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
                snprintf(row->content_hash, sizeof(row->content_hash), "%s", PQgetvalue(r, 0, 3));
                row->in_doubt = PQgetvalue(r, 0, 4)[0] == 't';
                row->intent_ms = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
                row->attempts = (int)strtol(PQgetvalue(r, 0, 6), NULL, 10);
        }
}

int ledger_get(cx_db *db, const char *tenant, const char *kind, const char *key, ledger_row *row,
               cx_err *err)
{
        const char *p[3] = { tenant, kind, key };
        PGresult *r;

        memset(row, 0, sizeof(*row));
        r = cx_db_query(db,
                        "SELECT " ROW_COLUMNS "FROM ledger "
                        "WHERE tenant_id = $1 AND kind = $2 AND source_key = $3",
                        3, p, err);
        if (!r)
                return -1;
        read_row(r, row);
        PQclear(r);
        return 0;
}

int ledger_get_document(cx_db *db, const char *tenant, const char *kind, const char *key,
                        ledger_row *row, char booked_kind[32], cx_err *err)
{
        const char *p[3] = { tenant, kind, key };
        PGresult *r;

        memset(row, 0, sizeof(*row));
        snprintf(booked_kind, 32, "%s", kind);
        r = cx_db_query(db,
                        "SELECT " ROW_COLUMNS "FROM ledger WHERE tenant_id = $1 AND "
                        "kind IN ('sales_order', 'sales_invoice') AND source_key = $3 "
                        "ORDER BY state = 'done' DESC, intent_at IS NOT NULL DESC, kind = $2 DESC "
                        "LIMIT 1",
                        3, p, err);
        if (!r)
                return -1;
        read_row(r, row);
        if (PQntuples(r) == 1)
                snprintf(booked_kind, 32, "%s", PQgetvalue(r, 0, 7));
        PQclear(r);
        return 0;
}

int ledger_intent(cx_db *db, const char *tenant, const char *kind, const char *key,
                  const char *lookup_ref, const char *trace, long long fence, long timeout_ms,
                  cx_err *err)
{
        char f[32], t[32];
        const char *p[7] = { tenant, kind, key, lookup_ref, trace ? trace : "", f, t };
        PGresult *r;
        bool written;

        snprintf(f, sizeof(f), "%lld", fence);
        snprintf(t, sizeof(t), "%ld", timeout_ms);
        /* FOR SHARE: a loader raising the token waits for this intent (and then sees it), or
         * this intent waits for the raise (and then finds the token changed). A done row
         * keeps its GUID: an update (PUT) in doubt is simply repeated. */
        r = cx_db_query(db,
                        "WITH fence AS (SELECT 1 FROM loader_fences WHERE tenant_id = $1 "
                        "AND token = $6::bigint FOR SHARE) "
                        "INSERT INTO ledger (tenant_id, kind, source_key, lookup_ref, "
                        "content_hash, state, intent_at, write_until, attempts, trace_id) "
                        "SELECT $1, $2, $3, $4, '', 'pending', now(), "
                        "now() + $7::bigint * interval '1 millisecond', 1, $5 FROM fence "
                        "ON CONFLICT (tenant_id, kind, source_key) DO UPDATE SET "
                        "state = CASE WHEN ledger.state = 'done' THEN 'done' ELSE 'pending' END, "
                        "intent_at = now(), write_until = excluded.write_until, "
                        "attempts = ledger.attempts + 1, lookup_ref = $4, "
                        "trace_id = $5, last_error = '', updated_at = now()",
                        7, p, err);
        if (!r)
                return -1;
        written = !strcmp(PQcmdTuples(r), "1");
        PQclear(r);
        return written ? 0 : 1;
}

int ledger_gave_up(cx_db *db, const char *tenant, const char *kind, const char *key, cx_err *err)
{
        const char *p[3] = { tenant, kind, key };

        return cx_db_exec(db,
                          "UPDATE ledger SET write_until = least(write_until, now()), "
                          "updated_at = now() WHERE tenant_id = $1 AND kind = $2 AND "
                          "source_key = $3 AND intent_at IS NOT NULL",
                          3, p, err);
}

int ledger_clear_intent(cx_db *db, const char *tenant, const char *kind, const char *key,
                        const char *why, cx_err *err)
{
        const char *p[4] = { tenant, kind, key, why ? why : "" };

        return cx_db_exec(db,
                          "UPDATE ledger SET intent_at = NULL, last_error = $4, updated_at = now() "
                          "WHERE tenant_id = $1 AND kind = $2 AND source_key = $3",
                          4, p, err);
}

int ledger_done(cx_db *db, const char *tenant, const char *kind, const char *key, const char *guid,
                long long number, const char *hash, const char *trace, cx_err *err)
{
        char num[32];
        const char *p[7] = { tenant,
                             kind,
                             key,
                             guid,
                             number >= 0 ? num : NULL,
                             hash ? hash : "",
                             trace ? trace : "" };

        snprintf(num, sizeof(num), "%lld", number);
        return cx_db_exec(db,
                          "INSERT INTO ledger (tenant_id, kind, source_key, exact_guid, "
                          "exact_number, content_hash, state, trace_id) "
                          "VALUES ($1, $2, $3, $4, $5::bigint, $6, 'done', $7) "
                          "ON CONFLICT (tenant_id, kind, source_key) DO UPDATE SET "
                          "exact_guid = $4, exact_number = coalesce($5::bigint, "
                          "ledger.exact_number), content_hash = $6, state = 'done', "
                          "intent_at = NULL, last_error = '', trace_id = $7, updated_at = now()",
                          7, p, err);
}

int ledger_failed(cx_db *db, const char *tenant, const char *kind, const char *key, const char *why,
                  cx_err *err)
{
        const char *p[4] = { tenant, kind, key, why };

        return cx_db_exec(db,
                          "INSERT INTO ledger (tenant_id, kind, source_key, state, last_error) "
                          "VALUES ($1, $2, $3, 'failed', $4) "
                          "ON CONFLICT (tenant_id, kind, source_key) DO UPDATE SET "
                          "state = CASE WHEN ledger.state = 'done' THEN 'done' ELSE 'failed' END, "
                          "intent_at = NULL, last_error = $4, updated_at = now()",
                          4, p, err);
}

bool ledger_try_lock_tenant(cx_db *db, const char *tenant, long long *fence)
{
        const char *p[1] = { tenant };
        PGresult *r = cx_db_query(db, "SELECT pg_try_advisory_lock(hashtext('cx-loader:' || $1))",
                                  1, p, NULL);
        bool ok = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';

        if (r)
                PQclear(r);
        if (!ok)
                return false;
        r = cx_db_query(db,
                        "INSERT INTO loader_fences (tenant_id, token) VALUES ($1, 1) "
                        "ON CONFLICT (tenant_id) DO UPDATE SET token = loader_fences.token + 1 "
                        "RETURNING token",
                        1, p, NULL);
        ok = r && PQntuples(r) == 1;
        *fence = ok ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        if (r)
                PQclear(r);
        if (!ok)
                ledger_unlock_tenant(db, tenant);
        return ok;
}

void ledger_unlock_tenant(cx_db *db, const char *tenant)
{
        const char *p[1] = { tenant };

        cx_db_exec(db, "SELECT pg_advisory_unlock(hashtext('cx-loader:' || $1))", 1, p, NULL);
}

static void ms_text(int64_t ms, char *out, size_t size, const char **param)
{
        if (ms <= 0) {
                *param = NULL;
                return;
        }
        snprintf(out, size, "%lld", (long long)ms);
        *param = out;
}

int ledger_save_budget(cx_db *db, const char *tenant, long division, const exact_budget *b,
                       int64_t parked_until_ms, const char *parked_reason, cx_err *err)
{
        char v[11][32];
        const char *p[12];

        p[0] = tenant;
        snprintf(v[1], 32, "%ld", division);
        p[1] = v[1];
        snprintf(v[2], 32, "%ld", b->min_limit);
        snprintf(v[3], 32, "%ld", b->min_remaining);
        snprintf(v[5], 32, "%ld", b->day_limit);
        snprintf(v[6], 32, "%ld", b->day_remaining);
        p[2] = b->known ? v[2] : NULL;
        p[3] = b->known ? v[3] : NULL;
        ms_text(b->min_reset_ms, v[4], 32, &p[4]);
        p[5] = b->known ? v[5] : NULL;
        p[6] = b->known ? v[6] : NULL;
        ms_text(b->day_reset_ms, v[7], 32, &p[7]);
        ms_text(parked_until_ms, v[8], 32, &p[8]);
        p[9] = parked_reason ? parked_reason : "";
        snprintf(v[9], 32, "%ld", b->calls);
        snprintf(v[10], 32, "%ld", b->rate_limited);
        p[10] = v[9];
        p[11] = v[10];
        return cx_db_exec(db,
                          "INSERT INTO exact_budget AS e (tenant_id, division, minutely_limit, "
                          "minutely_remaining, minutely_reset_at, daily_limit, daily_remaining, "
                          "daily_reset_at, parked_until, parked_reason, calls_total, "
                          "rate_limited_total, updated_at) VALUES ($1, $2::int, $3::int, $4::int, "
                          "to_timestamp($5::bigint / 1000.0), $6::int, $7::int, "
                          "to_timestamp($8::bigint / 1000.0), to_timestamp($9::bigint / 1000.0), "
                          "$10, $11::bigint, $12::bigint, now()) ON CONFLICT (tenant_id) DO UPDATE "
                          "SET division = $2::int, minutely_limit = $3::int, "
                          "minutely_remaining = $4::int, "
                          "minutely_reset_at = to_timestamp($5::bigint / 1000.0), "
                          "daily_limit = $6::int, daily_remaining = $7::int, "
                          "daily_reset_at = to_timestamp($8::bigint / 1000.0), "
                          "parked_until = to_timestamp($9::bigint / 1000.0), parked_reason = $10, "
                          "calls_total = $11::bigint, rate_limited_total = $12::bigint, "
                          "updated_at = now()",
                          12, p, err);
}

int ledger_save_block(cx_db *db, const char *tenant, const char *endpoint, int errors,
                      int64_t until_ms, const char *last_error, cx_err *err)
{
        char n[16], u[32];
        const char *p[5] = { tenant, endpoint, n, u, last_error };

        snprintf(n, sizeof(n), "%d", errors);
        snprintf(u, sizeof(u), "%lld", (long long)until_ms);
        return cx_db_exec(
                db,
                "INSERT INTO exact_endpoint_blocks (tenant_id, endpoint, errors, "
                "blocked_until, last_error) VALUES ($1, $2, $3::int, "
                "to_timestamp($4::bigint / 1000.0), $5) ON CONFLICT (tenant_id, endpoint) "
                "DO UPDATE SET errors = $3::int, blocked_until = "
                "to_timestamp($4::bigint / 1000.0), last_error = $5, updated_at = now()",
                5, p, err);
}
