/* snapshot: see snapshot.h. */
#include "loader/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/http_client.h"
#include "common/log.h"
#include "exact/api.h"
#include "loader/command_check.h"

#define jstr command_str

#define ITEM_SELECT "ID,Code,Timestamp"
#define ACCOUNT_SELECT "ID,Code,Name,Email,VATNumber,ChamberOfCommerce,Postcode,Blocked,Timestamp"

/* An empty code never replaces one held (a PUT sends no Code). */
static const char UPSERT_ACCOUNTS[] =
        "INSERT INTO exact_snapshot_accounts AS t (tenant_id, division, id, code, name, email,"
        " vat, coc, postcode, blocked)"
        " SELECT $1, $2::bigint, x.id, coalesce(x.code, ''), coalesce(x.name, ''),"
        " coalesce(x.email, ''), coalesce(x.vat, ''), coalesce(x.coc, ''),"
        " coalesce(x.postcode, ''), coalesce(x.blocked, false)"
        " FROM json_to_recordset($3::json) AS x(id text, code text, name text, email text,"
        " vat text, coc text, postcode text, blocked boolean) WHERE x.id <> ''"
        " ON CONFLICT (tenant_id, division, id) DO UPDATE SET"
        " code = CASE WHEN EXCLUDED.code = '' THEN t.code ELSE EXCLUDED.code END,"
        " name = EXCLUDED.name, email = EXCLUDED.email, vat = EXCLUDED.vat,"
        " coc = EXCLUDED.coc, postcode = EXCLUDED.postcode, blocked = EXCLUDED.blocked";

static const char UPSERT_ITEMS[] =
        "INSERT INTO exact_snapshot_items (tenant_id, division, id, code)"
        " SELECT $1, $2::bigint, x.id, x.code FROM json_to_recordset($3::json) AS x(id text,"
        " code text) WHERE x.id <> '' AND x.code <> ''"
        " ON CONFLICT (tenant_id, division, id) DO UPDATE SET code = EXCLUDED.code";

typedef struct kind_spec {
        const char *kind;     /* exact_snapshot.kind */
        const char *endpoint; /* the sync endpoint */
        const char *select;
        const char *upsert;
} kind_spec;

static const kind_spec ITEMS = { "item", "sync/Logistics/Items", ITEM_SELECT, UPSERT_ITEMS };
static const kind_spec ACCOUNTS = { "account", "sync/CRM/Accounts", ACCOUNT_SELECT,
                                    UPSERT_ACCOUNTS };

bool snapshot_on(const run *r)
{
        return r->w->sh->cfg.snapshot;
}

/* A sync row as the upsert takes it. */
static json_t *row_of(const kind_spec *k, const json_t *row)
{
        if (k == &ITEMS)
                return json_pack("{s:s,s:s}", "id", jstr(row, "ID"), "code", jstr(row, "Code"));
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "id", jstr(row, "ID"), "code",
                         jstr(row, "Code"), "name", jstr(row, "Name"), "email", jstr(row, "Email"),
                         "vat", jstr(row, "VATNumber"), "coc", jstr(row, "ChamberOfCommerce"),
                         "postcode", jstr(row, "Postcode"), "blocked",
                         json_is_true(json_object_get(row, "Blocked")));
}

static int upsert(run *r, const kind_spec *k, json_t *rows, cx_err *e)
{
        char div[24];
        char *text = json_dumps(rows, JSON_COMPACT);
        const char *p[3] = { r->tenant, div, text };
        int rc;

        if (!text)
                return cx_fail(e, CX_ERR_DB, true, "out of memory");
        snprintf(div, sizeof(div), "%ld", r->division);
        rc = cx_db_exec(r->w->db, k->upsert, 3, p, e);
        free(text);
        return rc;
}

/* The endpoint and query of an absolute __next link ("" when there is none). */
static void next_of(const run *r, const json_t *d, char *ep, size_t ep_size, const char **query)
{
        const char *nx = json_string_value(json_object_get(d, "__next"));
        char marker[64];
        const char *p;
        char *q;

        ep[0] = '\0';
        *query = NULL;
        snprintf(marker, sizeof(marker), "/api/v1/%ld/", r->division);
        if (!nx || !(p = strstr(nx, marker)))
                return;
        snprintf(ep, ep_size, "%s", p + strlen(marker));
        q = strchr(ep, '?');
        if (q) {
                *q = '\0';
                *query = q + 1;
        }
}

/* Where a read under way goes on ("" = nothing), and how far it has come. */
static int save_progress(run *r, const kind_spec *k, const char *next, long long mark)
{
        char div[24], mark_s[24];
        const char *p[5] = { r->tenant, div, k->kind, next[0] ? next : NULL, mark_s };
        cx_err e = { 0 };

        snprintf(div, sizeof(div), "%ld", r->division);
        snprintf(mark_s, sizeof(mark_s), "%lld", mark);
        if (cx_db_exec(r->w->db,
                       "INSERT INTO exact_snapshot (tenant_id, division, kind, next_page,"
                       " reading_mark) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id,"
                       " division, kind) DO UPDATE SET next_page = EXCLUDED.next_page,"
                       " reading_mark = EXCLUDED.reading_mark",
                       5, p, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

/*
 * Read the sync endpoint's rows into the snapshot: from @p resume ("endpoint?query" of a
 * read that stopped, e.g. on the minute's budget) or else past @p *mark; @p *mark becomes the
 * highest Timestamp read. Each page's place is saved, so a division with more pages than
 * one minute's budget is read in several runs, never from the start again.
 */
static int read_sync(run *r, const kind_spec *k, const char *resume, long long *mark)
{
        char f[64], *enc, *first = NULL, ep[1024];
        const char *query;
        exact_result res;
        cx_err e = { 0 };
        int pages = 0;

        if (resume[0]) {
                snprintf(ep, sizeof(ep), "%s", resume);
                first = strchr(ep, '?') ? strdup(strchr(ep, '?') + 1) : NULL;
                *strchrnul(ep, '?') = '\0';
        } else {
                snprintf(f, sizeof(f), "Timestamp gt %lldL", *mark > 0 ? *mark : 1);
                enc = cx_http_escape(f);
                if (enc && asprintf(&first, "$filter=%s&$select=%s", enc, k->select) < 0)
                        first = NULL;
                free(enc);
                snprintf(ep, sizeof(ep), "%s", k->endpoint);
        }
        if (!first) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        query = first;
        while (ep[0]) {
                json_t *rows = json_array(), *row;
                char next[1024], saved[2048];
                const char *nq;
                size_t i;
                int rc;

                rc = run_api(r, "GET", ep, NULL, query, NULL, &res);
                if (rc == 0 && res.outcome != EX_OK) {
                        exact_read_failed(&res, k->endpoint, &e);
                        exact_result_clear(&res);
                        rc = run_fail_with(r, &e);
                }
                if (rc < 0) {
                        json_decref(rows);
                        free(first);
                        return -1;
                }
                json_array_foreach (exact_rows(&res), i, row) {
                        json_t *ts = json_object_get(row, "Timestamp");
                        /* an Int64 may come as a JSON string (OData v2) */
                        long long t = json_is_string(ts) ? strtoll(json_string_value(ts), NULL, 10)
                                                         : (long long)json_integer_value(ts);

                        json_array_append_new(rows, row_of(k, row));
                        if (t > *mark)
                                *mark = t;
                }
                next_of(r, res.d, next, sizeof(next), &nq);
                exact_result_clear(&res);
                rc = json_array_size(rows) ? upsert(r, k, rows, &e) : 0;
                json_decref(rows);
                if (rc < 0) {
                        free(first);
                        return run_ledger_error(r, &e);
                }
                /* the query points into next: both move to the buffers of this loop */
                snprintf(ep, sizeof(ep), "%s", next);
                free(first);
                first = nq ? strdup(nq) : NULL;
                query = first;
                if (ep[0] && !first) {
                        run_set(r, RUN_RETRY, 0, "out of memory");
                        return -1;
                }
                snprintf(saved, sizeof(saved), "%s%s%s", ep, first ? "?" : "", first ? first : "");
                if (ep[0] && save_progress(r, k, saved, *mark) < 0) {
                        free(first);
                        return -1;
                }
                if (++pages >= 10000) {
                        run_set(r, RUN_RETRY, 0, "%s: more than 10000 pages", k->endpoint);
                        free(first);
                        return -1;
                }
        }
        free(first);
        return 0;
}

/* Bring the snapshot of @p k up to date when it is older than the refresh interval, or go on
 * with a read under way. */
static int fresh(run *r, const kind_spec *k)
{
        char div[24], mark_s[24], resume[1024] = "";
        const char *p[4] = { r->tenant, div, k->kind, NULL };
        cx_err e = { 0 };
        long long mark = 0, age = -1;
        PGresult *q;
        bool complete = false;

        snprintf(div, sizeof(div), "%ld", r->division);
        q = cx_db_query(r->w->db,
                        "SELECT watermark, floor(extract(epoch FROM now() - refreshed_at))::bigint,"
                        " coalesce(next_page, ''), reading_mark, refreshed_at IS NOT NULL FROM"
                        " exact_snapshot WHERE tenant_id = $1 AND division = $2 AND kind = $3",
                        3, p, &e);
        if (!q)
                return run_ledger_error(r, &e);
        if (PQntuples(q) == 1) {
                mark = strtoll(PQgetvalue(q, 0, 0), NULL, 10);
                complete = PQgetvalue(q, 0, 4)[0] == 't';
                if (complete)
                        age = strtoll(PQgetvalue(q, 0, 1), NULL, 10);
                snprintf(resume, sizeof(resume), "%s", PQgetvalue(q, 0, 2));
                if (resume[0])
                        mark = strtoll(PQgetvalue(q, 0, 3), NULL, 10);
        }
        PQclear(q);
        if (complete && !resume[0] && age < r->w->sh->cfg.snapshot_refresh_s)
                return 0;
        if (read_sync(r, k, resume, &mark) < 0)
                return -1;
        snprintf(mark_s, sizeof(mark_s), "%lld", mark);
        p[3] = mark_s;
        if (cx_db_exec(r->w->db,
                       "INSERT INTO exact_snapshot (tenant_id, division, kind, watermark,"
                       " refreshed_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (tenant_id,"
                       " division, kind) DO UPDATE SET watermark = greatest("
                       "exact_snapshot.watermark, EXCLUDED.watermark), refreshed_at = now(),"
                       " next_page = NULL, reading_mark = 0",
                       4, p, &e) < 0)
                return run_ledger_error(r, &e);
        if (!complete)
                cx_log_fields(CX_LOG_INFO, "snapshot.loaded",
                              json_pack("{s:s,s:i,s:s}", "tenant", r->tenant, "division",
                                        (json_int_t)r->division, "kind", k->kind),
                              "read the division's %ss from Exact (up to Timestamp %lld)", k->kind,
                              mark);
        return 0;
}

int snapshot_item(run *r, const char *code, char guid[64])
{
        char div[24];
        const char *p[3] = { r->tenant, div, code };
        cx_err e = { 0 };
        PGresult *q;

        guid[0] = '\0';
        if (fresh(r, &ITEMS) < 0)
                return -1;
        snprintf(div, sizeof(div), "%ld", r->division);
        q = cx_db_query(r->w->db,
                        "SELECT id FROM exact_snapshot_items WHERE tenant_id = $1 AND"
                        " division = $2 AND code = $3 ORDER BY id LIMIT 1",
                        3, p, &e);
        if (!q)
                return run_ledger_error(r, &e);
        if (PQntuples(q) == 1)
                snprintf(guid, 64, "%s", PQgetvalue(q, 0, 0));
        PQclear(q);
        return 0;
}

static const char *or_null(const char *v)
{
        return v && *v ? v : NULL;
}

int snapshot_accounts(run *r, const char *code, const char *vat, const char *coc, const char *email,
                      const char *name, json_t **rows)
{
        char div[24];
        const char *p[7] = { r->tenant,    div,          or_null(code),
                             or_null(vat), or_null(coc), or_null(email),
                             or_null(name) };
        cx_err e = { 0 };
        PGresult *q;

        *rows = NULL;
        if (fresh(r, &ACCOUNTS) < 0)
                return -1;
        snprintf(div, sizeof(div), "%ld", r->division);
        /* the same equalities as the OData filter Exact was asked before (relations.c) */
        q = cx_db_query(r->w->db,
                        "SELECT id, code, name, email, vat, coc, postcode, blocked FROM"
                        " exact_snapshot_accounts WHERE tenant_id = $1 AND division = $2 AND"
                        " (code = $3 OR vat = $4 OR coc = $5 OR email = $6 OR name = $7)"
                        " ORDER BY code, id",
                        7, p, &e);
        if (!q)
                return run_ledger_error(r, &e);
        *rows = json_array();
        for (int i = 0; i < PQntuples(q); i++)
                json_array_append_new(
                        *rows,
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "ID", PQgetvalue(q, i, 0),
                                  "Code", PQgetvalue(q, i, 1), "Name", PQgetvalue(q, i, 2), "Email",
                                  PQgetvalue(q, i, 3), "VATNumber", PQgetvalue(q, i, 4),
                                  "ChamberOfCommerce", PQgetvalue(q, i, 5), "Postcode",
                                  PQgetvalue(q, i, 6), "Blocked", PQgetvalue(q, i, 7)[0] == 't'));
        PQclear(q);
        return 0;
}

static void put_rows(run *r, const kind_spec *k, json_t *row)
{
        json_t *rows = json_array();
        cx_err e = { 0 };

        json_array_append_new(rows, row);
        /* a row not written in is read again by the next refresh: only a log line */
        if (upsert(r, k, rows, &e) < 0)
                cx_log_fields(CX_LOG_WARN, "snapshot.write_failed",
                              json_pack("{s:s,s:s}", "tenant", r->tenant, "kind", k->kind),
                              "could not write a %s into the snapshot: %s", k->kind, e.msg);
        json_decref(rows);
}

void snapshot_put_item(run *r, const char *guid, const char *code)
{
        if (snapshot_on(r))
                put_rows(r, &ITEMS, json_pack("{s:s,s:s}", "id", guid, "code", code));
}

void snapshot_put_account(run *r, const json_t *row)
{
        if (snapshot_on(r))
                put_rows(r, &ACCOUNTS, row_of(&ACCOUNTS, row));
}
