/* engine.c: failure handling shared by the engine's modules (see engine.h). */
#include "extractor/engine.h"

#include <stdarg.h>
#include <stdio.h>

#include "ccv/paging.h"
#include "common/journal.h"
#include "common/metrics.h"
#include "extractor/lease.h"

const char *const ex_ent_names[ENT_COUNT] = { "order", "product", "customer" };

void ex_log(cx_log_level lvl, const char *event, const ex_tenant *t, const char *resource,
            const char *fmt, ...)
{
        char msg[700];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cx_log_fields(
                lvl, event,
                json_pack("{s:s, s:s}", "tenant", t->id, "resource", resource ? resource : ""),
                "%s", msg);
}

void ex_set_wait(ex_tenant *t, double wait_s)
{
        t->wait_until = ccv_now() + wait_s;
}

static void backoff(extractor *x, ex_tenant *t)
{
        double w = 1;

        if (t->fails < 30)
                t->fails++;
        for (int i = 1; i < t->fails && w < x->set.backoff_max_s; i++)
                w *= 2;
        if (w > x->set.backoff_max_s)
                w = x->set.backoff_max_s;
        ex_set_wait(t, w);
}

ex_rc ex_failed(extractor *x, ex_tenant *t, const char *entity, const char *resource,
                const cx_err *err)
{
        char label[160], msg[700];
        cx_err e2 = { 0 };

        snprintf(msg, sizeof(msg), "%s: %s", resource, err->msg);
        ex_log(CX_LOG_WARN, "extract.failed", t, resource, "%s", err->msg);
        if (cx_sync_log(x->db, t->id, "extract", entity, "", "failed", msg, "", &e2) < 0)
                cx_log(CX_LOG_WARN, "sync_log.failed", "%s", e2.msg);
        cx_metrics_label(label, sizeof(label), "tenant", t->id);
        cx_counter_add("cx_extractor_errors_total", "Failed extraction steps, per tenant", label,
                       1);
        backoff(x, t);
        return EX_FAIL;
}

ex_rc ex_request_failed(extractor *x, ex_tenant *t, ccv_status st, double wait, const char *entity,
                        const char *resource, const cx_err *err)
{
        if (st == CCV_BUDGET) {
                ex_set_wait(t, wait);
                return EX_WAIT;
        }
        if (st == CCV_THROTTLED) {
                ex_log(CX_LOG_INFO, "extract.throttled", t, resource, "%s", err->msg);
                ex_set_wait(t, wait);
                return EX_WAIT;
        }
        return ex_failed(x, t, entity, resource, err);
}

ccv_status ex_request(extractor *x, ex_tenant *t, const char *method, const char *path,
                      const char *body, json_t **out, double *wait, cx_err *err)
{
        if (ex_lease_keep(x, t, err) < 0)
                return CCV_FAILED;
        return ccv_request(&t->shop, x->http, method, path, body, out, wait, err);
}

/* As ccv_get_all(), but page by page through ex_request(), so the lease is checked before
 * each page of a long collection too. */
ex_rc ex_get_all(extractor *x, ex_tenant *t, const char *path, const char *entity, json_t **out)
{
        json_t *all = json_array();
        long long start = 0;
        cx_err err = { 0 };

        *out = NULL;
        for (int pages = 0; all && pages < 100; pages++) {
                char p[512];
                json_t *page = NULL, *items;
                double wait = 0;
                ccv_status st;
                bool more;

                snprintf(p, sizeof(p), "%s?start=%lld&size=250", path, start);
                st = ex_request(x, t, "GET", p, NULL, &page, &wait, &err);
                if (st != CCV_OK) {
                        json_decref(all);
                        return ex_request_failed(x, t, st, wait, entity, path, &err);
                }
                if (ccv_page_items(page, &items, &more) < 0) {
                        json_decref(page);
                        json_decref(all);
                        cx_fail(&err, CX_ERR_PARSE, false, "collection without an items array");
                        return ex_failed(x, t, entity, path, &err);
                }
                json_array_extend(all, items);
                start += (long long)json_array_size(items);
                json_decref(page);
                if (!more)
                        break;
        }
        if (!all) {
                cx_fail(&err, CX_ERR_IO, false, "out of memory");
                return ex_failed(x, t, entity, path, &err);
        }
        *out = all;
        return EX_DONE;
}
