/* retention: see retention.h. */
#include "common/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant: the key of the advisory lock that lets one pruner work at a time. */
#define PRUNE_LOCK "7315001519"

/* Delete the rows @p where selects from @p table, a batch at a time; @p done counts them. */
static int prune_table(cx_db *db, const char *table, const char *where, int days,
                       const cx_retention *r, long long *done, bool *more, cx_err *err)
{
        char sql[600], d[16], lim[16];
        const char *p[2] = { d, lim };

        snprintf(d, sizeof(d), "%d", days);
        snprintf(lim, sizeof(lim), "%d", CX_RETENTION_BATCH);
        if (r->dry_run) {
                PGresult *res;

                snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s", table, where);
                res = cx_db_query(db, sql, 1, p, err);
                if (!res)
                        return -1;
                *done += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                return 0;
        }
        snprintf(sql, sizeof(sql),
                 "WITH gone AS (DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE %s"
                 " LIMIT $2::integer) RETURNING 1) SELECT count(*) FROM gone",
                 table, table, where);
        for (int b = 0; r->max_batches == 0 || b < r->max_batches; b++) {
                PGresult *res = cx_db_query(db, sql, 2, p, err);
                long long n;

                if (!res)
                        return -1;
                n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                *done += n;
                if (n < CX_RETENTION_BATCH)
                        return 0;
        }
        *more = true;
        return 0;
}

int cx_retention_prune(cx_db *db, const cx_retention *r, cx_retention_result *out, cx_err *err)
{
        PGresult *res;
        bool locked;
        int rc = 0;

        memset(out, 0, sizeof(*out));
        if (r->sync_log_days <= 0 && r->dead_letter_days <= 0)
                return 0;
        res = cx_db_query(db, "SELECT pg_try_advisory_lock(" PRUNE_LOCK ")", 0, NULL, err);
        if (!res)
                return -1;
        locked = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (!locked) {
                out->busy = true; /* another instance is pruning */
                return 0;
        }
        if (r->sync_log_days > 0)
                rc = prune_table(db, "sync_log", "at < now() - $1::integer * interval '1 day'",
                                 r->sync_log_days, r, &out->sync_log, &out->more, err);
        if (rc == 0 && r->dead_letter_days > 0)
                rc = prune_table(db, "dead_letters",
                                 "state <> 'open' AND resolved_at IS NOT NULL AND resolved_at <"
                                 " now() - $1::integer * interval '1 day'",
                                 r->dead_letter_days, r, &out->dead_letters, &out->more, err);
        res = cx_db_query(db, "SELECT pg_advisory_unlock(" PRUNE_LOCK ")", 0, NULL, NULL);
        PQclear(res);
        return rc;
}
