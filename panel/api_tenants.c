#include "panel/api_tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_mappings.h"
#include "ops/ops_preview.h"
#include "ops/ops_status.h"
#include "ops/ops_synclog.h"
#include "ops/ops_tenants.h"

/* healthy, lagging, failing, needs_consent or disabled, from one ops_status() object. */
static void derive_state(const panel *p, json_t *st)
{
        json_t *counts = json_object_get(st, "counts");
        json_t *budget = json_object_get(st, "budget");
        json_t *lag = json_object_get(json_object_get(st, "extraction"), "lag_seconds");
        const char *token = json_string_value(
                json_object_get(json_object_get(st, "token"), "state"));
        const char *state = "healthy", *why = "everything is flowing";
        char buf[160];

        if (!json_is_true(json_object_get(st, "enabled"))) {
                state = "disabled";
                why = "the tenant is switched off";
        } else if (!token || strcmp(token, "ok") != 0) {
                state = "needs_consent";
                why = "Exact Online needs a (new) consent";
        } else if (json_integer_value(json_object_get(counts, "failed")) > 0 ||
                   json_integer_value(json_object_get(budget, "blocked_endpoints")) > 0 ||
                   json_is_string(json_object_get(budget, "parked_until"))) {
                state = "failing";
                snprintf(buf, sizeof(buf), "%lld failed, %lld dead letters open",
                         (long long)json_integer_value(json_object_get(counts, "failed")),
                         (long long)json_integer_value(
                                 json_object_get(counts, "dead_letters_open")));
                why = buf;
        } else if (!json_is_integer(lag)) {
                state = "lagging";
                why = "nothing extracted yet";
        } else if (json_integer_value(lag) > p->lag_warn_s) {
                state = "lagging";
                snprintf(buf, sizeof(buf), "last extraction %lld s ago",
                         (long long)json_integer_value(lag));
                why = buf;
        }
        json_object_set_new(st, "state", json_string(state));
        json_object_set_new(st, "state_reason", json_string(why));
}

/* Last successful sync-log entry of @p tenant into @p st as "last_sync". */
static void add_last_sync(ops_ctx *ops, json_t *st, const char *tenant)
{
        json_object_set_new(st, "last_sync", ops_synclog_last_ok(ops, tenant));
}

void api_tenants_list(rq *q)
{
        cx_err err = { 0 };
        json_t *all, *mine, *st;
        size_t i;

        all = ops_status(&q->ops, rq_is_operator(q) ? NULL : q->user.tenant, 3, &err);
        if (!all) {
                rq_reply_err(q, &err);
                return;
        }
        if (json_is_object(all)) {
                mine = json_array();
                json_array_append_new(mine, all);
        } else {
                mine = all;
        }
        json_array_foreach (mine, i, st) {
                const char *t = json_string_value(json_object_get(st, "tenant"));

                derive_state(q->p, st);
                add_last_sync(&q->ops, st, t ? t : "");
        }
        rq_reply_json(q, 200, json_pack("{s:o}", "tenants", mine));
}

void api_tenants_show(rq *q, const char *t)
{
        cx_err err = { 0 };
        json_t *show = ops_tenant_show(&q->ops, t, &err);
        json_t *st = show ? ops_status(&q->ops, t, 10, &err) : NULL;

        if (!st) {
                json_decref(show);
                rq_reply_err(q, &err);
                return;
        }
        derive_state(q->p, st);
        add_last_sync(&q->ops, st, t);
        rq_reply_json(q, 200, json_pack("{s:o, s:o}", "tenant", show, "status", st));
}

void api_tenants_mappings_get(rq *q, const char *t)
{
        cx_err err = { 0 };
        int version = 0;
        json_t *rules = ops_mapping_export(&q->ops, t, &version, &err);

        if (!rules && err.code == CX_ERR_NOT_FOUND && ops_tenant_exists(&q->ops, t, NULL) == 0) {
                rq_reply_json(q, 200, json_pack("{s:n, s:i}", "rules", "version", 0));
                return;
        }
        if (!rules) {
                rq_reply_err(q, &err);
                return;
        }
        rq_reply_json(q, 200, json_pack("{s:o, s:i}", "rules", rules, "version", version));
}

void api_tenants_mappings_put(rq *q, const char *t, bool check_only)
{
        json_t *b = rq_body_object(q), *res;
        char *text;
        cx_err err = { 0 };

        if (!b)
                return;
        text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        if (!text) {
                rq_reply_error(q, 500, "out of memory");
                return;
        }
        if (check_only) {
                int rc = ops_mapping_check(&q->ops, t, text, &err);

                free(text);
                if (rc < 0)
                        rq_reply_error(q, 400, "%s", err.msg);
                else
                        rq_reply_json(q, 200, json_pack("{s:b}", "ok", 1));
                return;
        }
        res = ops_mapping_import(&q->ops, t, text, &err);
        free(text);
        if (!res) {
                if (err.code == CX_ERR_PARSE)
                        rq_reply_error(q, 400, "%s", err.msg);
                else
                        rq_reply_err(q, &err);
                return;
        }
        rq_audit(q, t, "mappings.import", "mapping rules replaced");
        rq_reply_json(q, 200, res);
}

static bool one_of(const char *v, const char *const *allowed)
{
        for (; *allowed; allowed++)
                if (!strcmp(v, *allowed))
                        return true;
        return false;
}

void api_tenants_log(rq *q, const char *t)
{
        static const char *const statuses[] = { "ok", "failed", "skipped", "info", NULL };
        static const char *const stages[] = { "extract", "transform", "load", "admin", NULL };
        const char *status = rq_query(q, "status"), *stage = rq_query(q, "stage");
        const char *entity = rq_query(q, "entity"), *text = rq_query(q, "q");
        const char *before = rq_query(q, "before"), *lim = rq_query(q, "limit");
        const char *since = rq_query(q, "since"), *until = rq_query(q, "until");
        char since_iso[32], until_iso[32];
        ops_synclog_filter f;
        long long n = 100, b;
        long long epoch;
        cx_err err = { 0 };
        json_t *rows, *last;

        if (status && !one_of(status, statuses)) {
                rq_reply_error(q, 400, "status: expected ok, failed, skipped or info");
                return;
        }
        if (stage && !one_of(stage, stages)) {
                rq_reply_error(q, 400, "stage: expected extract, transform, load or admin");
                return;
        }
        if ((entity && strlen(entity) > 64) || (text && strlen(text) > 200)) {
                rq_reply_error(q, 400, "search text too long");
                return;
        }
        if (before && !rq_parse_id(before, &b)) {
                rq_reply_error(q, 400, "before: expected a positive entry id");
                return;
        }
        if (lim && (!rq_parse_id(lim, &n) || n > 500)) {
                rq_reply_error(q, 400, "limit: expected 1 to 500");
                return;
        }
        if ((since && ops_parse_time(since, &epoch, since_iso, &err) < 0) ||
            (until && ops_parse_time(until, &epoch, until_iso, &err) < 0)) {
                rq_reply_error(q, 400, "%s", err.msg);
                return;
        }
        f = (ops_synclog_filter){ .status = status,
                                  .stage = stage,
                                  .entity = entity,
                                  .text = text,
                                  .before = before,
                                  .since = since ? since_iso : NULL,
                                  .until = until ? until_iso : NULL,
                                  .limit = n };
        rows = ops_synclog_list(&q->ops, t, &f, &err);
        if (!rows) {
                rq_reply_err(q, &err);
                return;
        }
        last = json_array_size(rows) == (size_t)n
                       ? json_object_get(json_array_get(rows, json_array_size(rows) - 1), "id")
                       : NULL;
        rq_reply_json(
                q, 200,
                json_pack("{s:o, s:O}", "entries", rows, "next_before", last ? last : json_null()));
}

void api_tenants_preview(rq *q, const char *t)
{
        json_t *b = rq_body_object(q), *res;
        cx_err err = { 0 };

        if (!b)
                return;
        res = ops_preview(&q->ops, t, b, &err);
        json_decref(b);
        if (!res) {
                rq_reply_err(q, &err);
                return;
        }
        rq_reply_json(q, 200, res);
}
