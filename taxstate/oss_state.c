/* oss_state: see oss_state.h. */
#include "taxstate/oss_state.h"

#include <stdio.h>
#include <stdlib.h>

int oss_state_ytd(cx_db *db, const char *tenant, int year, const char *source_id, long long *cents,
                  cx_err *err)
{
        char y[16];
        const char *params[3] = { tenant, y, source_id };
        PGresult *r;

        snprintf(y, sizeof(y), "%d", year);
        r = cx_db_query(db,
                        "SELECT coalesce(sum(net_cents), 0) FROM oss_sales"
                        " WHERE tenant_id = $1 AND year = $2::int AND source_id <> $3",
                        3, params, err);
        if (!r)
                return -1;
        *cents = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return 0;
}

int oss_state_add(cx_db *db, const char *tenant, int year, const char *source_id, long long cents,
                  cx_err *err)
{
        char y[16], c[32];
        const char *params[4] = { tenant, y, source_id, c };

        snprintf(y, sizeof(y), "%d", year);
        snprintf(c, sizeof(c), "%lld", cents);
        return cx_db_exec(db,
                          "INSERT INTO oss_sales (tenant_id, year, source_id, net_cents)"
                          " VALUES ($1, $2::int, $3, $4::bigint) ON CONFLICT DO NOTHING",
                          4, params, err);
}
