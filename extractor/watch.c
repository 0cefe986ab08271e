/* watch.c: the watch list of not yet bookable orders (see watch.h). */
#include "extractor/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccv/fields.h"
#include "common/iso8601.h"
#include "extractor/batch.h"
#include "extractor/listing.h"

void ex_watch_add(extractor *x, ex_tenant *t, const char *id, const json_t *order)
{
        const char *cd = json_string_value(json_object_get(order, "create_date"));
        const char *p[3] = { t->id, id, cd };
        long long when;
        cx_err err = { 0 };

        if (x->set.watch_days <= 0 || !cd || cx_iso8601_parse(cd, &when) != 0)
                return;
        if (cx_db_exec(x->db,
                       "INSERT INTO extract_watch (tenant_id, order_id, created_at) VALUES ($1, "
                       "$2, $3::timestamptz) ON CONFLICT DO NOTHING",
                       3, p, &err) < 0)
                ex_log(CX_LOG_WARN, "watch.failed", t, "orders", "%s", err.msg);
}

static int watch_sql(extractor *x, const char *sql, const ex_tenant *t, const char *id)
{
        const char *p[2] = { t->id, id };
        cx_err err = { 0 };

        if (cx_db_exec(x->db, sql, 2, p, &err) < 0) {
                ex_log(CX_LOG_WARN, "watch.failed", t, "orders", "%s", err.msg);
                return -1;
        }
        return 0;
}

/* One watched order: dropped when published since, too old or gone; else re-read. */
static ex_rc watch_one(extractor *x, ex_tenant *t, ex_batch *b, const char *id, bool expired)
{
        char hash[65], head[65], ev[12], path[64];
        cx_err err = { 0 };
        json_t *obj = NULL;
        double wait = 0;
        ccv_status st;
        int known = ex_known_get(x, t, b, ENT_ORDER, id, hash, head, ev, &err);
        ex_rc r;

        if (known < 0)
                return ex_failed(x, t, "order", "watched orders", &err);
        if (known || expired) {
                if (expired && !known)
                        ex_log(CX_LOG_INFO, "watch.expired", t, "orders",
                               "order %s still not bookable after %d days: no longer watched", id,
                               x->set.watch_days);
                watch_sql(x, "DELETE FROM extract_watch WHERE tenant_id = $1 AND order_id = $2", t,
                          id);
                return EX_DONE;
        }
        snprintf(path, sizeof(path), "orders/%s", id);
        st = ex_request(x, t, "GET", path, NULL, &obj, &wait, &err);
        if (st == CCV_NOT_FOUND) {
                watch_sql(x, "DELETE FROM extract_watch WHERE tenant_id = $1 AND order_id = $2", t,
                          id);
                return EX_DONE;
        }
        if (st != CCV_OK)
                return ex_request_failed(x, t, st, wait, "order", path, &err);
        r = ex_order_handle(x, t, b, obj);
        json_decref(obj);
        if (r == EX_DONE)
                watch_sql(x,
                          "UPDATE extract_watch SET checked_at = now() WHERE tenant_id = $1 AND "
                          "order_id = $2",
                          t, id);
        return r;
}

ex_rc ex_slice_watch(extractor *x, ex_tenant *t)
{
        char days[16], watch[16], every[32], limit[16];
        const char *p[5] = { t->id, days, watch, every, limit };
        ex_batch b = { 0 };
        cx_err err = { 0 };
        ex_rc r = EX_DONE;
        bool committed;
        PGresult *res;
        int n;

        snprintf(days, sizeof(days), "%d", x->set.reread_days);
        snprintf(watch, sizeof(watch), "%d", x->set.watch_days);
        snprintf(every, sizeof(every), "%.0f", x->set.reread_interval_s);
        snprintf(limit, sizeof(limit), "%d", x->set.page_size);
        res = cx_db_query(x->db,
                          "SELECT order_id, created_at < now() - make_interval(days => $3::int) "
                          "FROM extract_watch WHERE tenant_id = $1 AND created_at < now() - "
                          "make_interval(days => $2::int) AND checked_at <= now() - "
                          "make_interval(secs => $4::int) ORDER BY checked_at LIMIT $5::int",
                          5, p, &err);
        if (!res)
                return ex_failed(x, t, "order", "watched orders", &err);
        n = PQntuples(res);
        for (int i = 0; i < n && r == EX_DONE; i++)
                r = watch_one(x, t, &b, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)[0] == 't');
        PQclear(res);
        if (n == 0) {
                t->watch.active = false;
                t->watch.next_at = ccv_now() + x->set.reread_interval_s;
                free(b.w);
                return EX_IDLE;
        }
        r = ex_slice_end(x, t, &b, r, "order", "watched orders", &committed);
        if (committed && n < x->set.page_size) {
                t->watch.active = false;
                t->watch.next_at = ccv_now() + x->set.reread_interval_s;
        }
        return r;
}
