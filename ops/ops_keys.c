#include "ops/ops_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Re-seal one column of one table; *current counts the values left as they were.
 * @returns rows changed, or -1. */
static int reseal_column(ops_ctx *ctx, cx_keyring *to, const char *table, const char *column,
                         const char *tenant_col, long *current, cx_err *err)
{
        char sql[512];
        PGresult *r;
        int n = 0;

        /* names come from information_schema, quoted as identifiers all the same */
        snprintf(sql, sizeof(sql),
                 "SELECT ctid::text, \"%s\", \"%s\" FROM \"%s\" WHERE \"%s\""
                 " IS NOT NULL AND \"%s\" <> '' FOR UPDATE",
                 tenant_col, column, table, column, column);
        r = cx_db_query(ctx->db, sql, 0, NULL, err);
        if (!r)
                return -1;
        snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = $2 WHERE ctid = $1::tid", table,
                 column);
        for (int i = 0; i < PQntuples(r); i++) {
                const char *tenant = PQgetvalue(r, i, 1);
                char *plain, *sealed;
                const char *p[2] = { PQgetvalue(r, i, 0), NULL };
                int rc;

                if (cx_keyring_is_current(to, PQgetvalue(r, i, 2))) {
                        (*current)++;
                        continue;
                }
                plain = cx_keyring_open(to, tenant, PQgetvalue(r, i, 2), err);
                sealed = plain ? cx_keyring_seal(to, tenant, plain, err) : NULL;
                p[1] = sealed;
                cx_secret_free(plain);
                if (!sealed) {
                        cx_fail(err, CX_ERR_CRYPTO, false,
                                "%s.%s of tenant %s does not open with any key in "
                                "CX_SECRET_KEY: nothing was changed",
                                table, column, tenant);
                        PQclear(r);
                        return -1;
                }
                rc = cx_db_exec(ctx->db, sql, 2, p, err);
                free(sealed);
                if (rc < 0) {
                        PQclear(r);
                        return -1;
                }
                n++;
        }
        PQclear(r);
        return n;
}

json_t *ops_rotate_key(ops_ctx *ctx, cx_keyring *to, cx_err *err)
{
        PGresult *cols;
        json_t *list = json_array(), *out = NULL;
        long total = 0, current = 0;
        char kid[9];

        if (ops_need_key(ctx, err) < 0 || !list) {
                json_decref(list);
                return NULL;
        }
        if (cx_db_begin(ctx->db, err) < 0) {
                json_decref(list);
                return NULL;
        }
        cols = cx_db_query(ctx->db,
                           "SELECT c.table_name, c.column_name, CASE WHEN c.table_name ="
                           " 'tenants' THEN 'id' ELSE 'tenant_id' END FROM"
                           " information_schema.columns c WHERE c.table_schema = current_schema()"
                           " AND c.column_name LIKE '%\\_sealed' AND EXISTS (SELECT 1 FROM"
                           " information_schema.columns t WHERE t.table_schema = c.table_schema"
                           " AND t.table_name = c.table_name AND t.column_name = CASE WHEN"
                           " c.table_name = 'tenants' THEN 'id' ELSE 'tenant_id' END)"
                           " ORDER BY 1, 2",
                           0, NULL, err);
        if (!cols)
                goto fail;
        for (int i = 0; i < PQntuples(cols); i++) {
                int n = reseal_column(ctx, to, PQgetvalue(cols, i, 0), PQgetvalue(cols, i, 1),
                                      PQgetvalue(cols, i, 2), &current, err);

                if (n < 0)
                        goto fail;
                total += n;
                json_array_append_new(list,
                                      json_pack("{s:s, s:s, s:i}", "table", PQgetvalue(cols, i, 0),
                                                "column", PQgetvalue(cols, i, 1), "rows", n));
        }
        if (cx_db_commit(ctx->db, err) < 0)
                goto fail;
        PQclear(cols);
        cx_keyring_first_id(to, kid);
        out = json_pack("{s:I, s:I, s:s, s:o}", "resealed", (json_int_t)total, "current",
                        (json_int_t)current, "key_id", kid, "columns", list);
        return out;
fail:
        PQclear(cols);
        json_decref(list);
        cx_db_rollback(ctx->db);
        return NULL;
}
