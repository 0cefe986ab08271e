#include "ops/ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/iso8601.h"
#include "common/journal.h"

/* Type oids from PostgreSQL's catalog (pg_type.h is not part of libpq's headers). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

int ops_exit_code(const cx_err *err)
{
        switch (err->code) {
        case CX_OK: return OPS_EXIT_OK;
        case CX_ERR_CONFIG:
        case CX_ERR_PARSE: return OPS_EXIT_USAGE;
        case CX_ERR_INVALID: return OPS_EXIT_REFUSED;
        case CX_ERR_NOT_FOUND: return OPS_EXIT_NOT_FOUND;
        default: return OPS_EXIT_FAILURE;
        }
}

static json_t *value_json(const PGresult *r, int row, int col)
{
        const char *v = PQgetvalue(r, row, col);
        json_t *j;

        if (PQgetisnull(r, row, col))
                return json_null();
        switch (PQftype(r, col)) {
        case OID_BOOL: return json_boolean(v[0] == 't');
        case OID_INT2:
        case OID_INT4:
        case OID_INT8: return json_integer(strtoll(v, NULL, 10));
        case OID_FLOAT4:
        case OID_FLOAT8:
        case OID_NUMERIC: return json_real(strtod(v, NULL));
        case OID_JSON:
        case OID_JSONB: j = json_loads(v, JSON_DECODE_ANY, NULL); return j ? j : json_string(v);
        default: return json_string(v);
        }
}

json_t *ops_row_json(const PGresult *r, int row)
{
        json_t *o = json_object();

        for (int c = 0; o && c < PQnfields(r); c++)
                json_object_set_new(o, PQfname(r, c), value_json(r, row, c));
        return o;
}

json_t *ops_rows_json(const PGresult *r)
{
        json_t *a = json_array();

        for (int i = 0; a && i < PQntuples(r); i++)
                json_array_append_new(a, ops_row_json(r, i));
        return a;
}

int ops_check_tenant_id(const char *id, cx_err *err)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 63 || !(islower((unsigned char)id[0]) || isdigit((unsigned char)id[0])))
                goto bad;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)id[i];

                if (!(islower(c) || isdigit(c) || c == '_' || c == '-'))
                        goto bad;
        }
        return 0;
bad:
        return cx_fail(err, CX_ERR_PARSE, false,
                       "tenant id \"%s\": expected 1-63 characters a-z, 0-9, '_' or '-', "
                       "starting with a letter or digit",
                       id ? id : "");
}

int ops_tenant_exists(ops_ctx *ctx, const char *id, cx_err *err)
{
        const char *p[1] = { id };
        PGresult *r;
        int n;

        if (ops_check_tenant_id(id, err) < 0)
                return -1;
        r = cx_db_query(ctx->db, "SELECT 1 FROM tenants WHERE id = $1", 1, p, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        PQclear(r);
        if (n != 1)
                return cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", id);
        return 0;
}

int ops_parse_time(const char *text, long long *epoch, char iso[32], cx_err *err)
{
        long long t;

        /* the one ISO 8601 parser refuses impossible dates; before 1970 is no date of ours
         * (four digits, so comparing the text compares the year) */
        if (cx_iso8601_parse(text, &t) < 0 || strncmp(text, "1970", 4) < 0)
                return cx_fail(err, CX_ERR_PARSE, false,
                               "time \"%s\": expected YYYY-MM-DD or"
                               " YYYY-MM-DDTHH:MM:SS[Z|+HH:MM]",
                               text ? text : "");
        if (epoch)
                *epoch = t;
        if (iso)
                cx_iso8601_format(t, iso, 32);
        return 0;
}

int ops_audit(ops_ctx *ctx, const char *tenant, const char *entity, const char *source_id,
              const char *message, cx_err *err)
{
        return cx_sync_log(ctx->db, tenant, "admin", entity, source_id, "info", message, "", err);
}

int ops_need_key(const ops_ctx *ctx, cx_err *err)
{
        if (!ctx->key)
                return cx_fail(err, CX_ERR_CONFIG, false,
                               "CX_SECRET_KEY is not set: secrets cannot be sealed or opened");
        return 0;
}
