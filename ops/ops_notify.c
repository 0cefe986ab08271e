#include "ops/ops_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"

#define LOCAL_TZ "Europe/Amsterdam"

/* One row per enabled tenant that has recipients, with what the notices need. */
static const char due_sql[] =
        "SELECT t.id, coalesce(nullif(t.name, ''), t.id) AS name,"
        " (SELECT json_agg(u.email ORDER BY u.email) FROM panel_users u WHERE u.tenant_id = t.id"
        "  AND u.role = 'owner' AND u.email IS NOT NULL AND u.password_hash IS NOT NULL)"
        "  AS recipients,"
        " coalesce(k.state, 'needs_consent') AS token_state, coalesce(k.state_reason, '') AS"
        "  token_reason, coalesce(extract(epoch FROM k.updated_at)::bigint, 0) AS token_changed,"
        " coalesce((SELECT max(n.last_id) FROM panel_notices n WHERE n.tenant_id = t.id AND"
        "  n.kind = 'failures'), 0) AS failures_told,"
        " coalesce((SELECT max(d.id) FROM dead_letters d WHERE d.tenant_id = t.id AND"
        "  d.state = 'open'), 0) AS failures_last,"
        " EXISTS (SELECT 1 FROM panel_notices n WHERE n.tenant_id = t.id AND n.kind = 'failures'"
        "  AND n.sent_at > now() - $1::bigint * interval '1 second') AS failures_recent,"
        " to_char(now() AT TIME ZONE '" LOCAL_TZ "', 'YYYY-MM-DD') AS today,"
        " $2::int >= 0 AND extract(hour FROM now() AT TIME ZONE '" LOCAL_TZ "') >= $2::int"
        "  AND NOT EXISTS (SELECT 1 FROM panel_notices n WHERE n.tenant_id = t.id AND"
        "  n.kind = 'summary' AND n.key = 'summary:' || to_char(now() AT TIME ZONE '" LOCAL_TZ
        "', 'YYYY-MM-DD')) AS summary_due,"
        " (SELECT count(*) FROM sync_log s WHERE s.tenant_id = t.id AND s.at > now() -"
        "  interval '1 day' AND s.stage = 'extract' AND s.status = 'ok') AS extracted_24h,"
        " (SELECT count(*) FROM sync_log s WHERE s.tenant_id = t.id AND s.at > now() -"
        "  interval '1 day' AND s.stage = 'load' AND s.status = 'ok') AS booked_24h,"
        " (SELECT count(*) FROM sync_log s WHERE s.tenant_id = t.id AND s.at > now() -"
        "  interval '1 day' AND s.status = 'failed') AS failed_24h,"
        " (SELECT count(*) FROM dead_letters d WHERE d.tenant_id = t.id AND d.state = 'open')"
        "  AS waiting"
        " FROM tenants t LEFT JOIN exact_tokens k ON k.tenant_id = t.id"
        " WHERE t.enabled AND EXISTS (SELECT 1 FROM panel_users u WHERE u.tenant_id = t.id AND"
        "  u.role = 'owner' AND u.email IS NOT NULL AND u.password_hash IS NOT NULL)"
        " ORDER BY t.id";

static long long int_of(const json_t *row, const char *k)
{
        return json_integer_value(json_object_get(row, k));
}

static const char *str_of(const json_t *row, const char *k)
{
        const char *v = json_string_value(json_object_get(row, k));

        return v ? v : "";
}

/* Claim (tenant, kind, key); true when this run is the one to send it. */
static int claim(ops_ctx *ctx, const char *tenant, const char *kind, const char *key,
                 long long last_id, cx_err *err)
{
        char last[24];
        const char *p[4] = { tenant, kind, key, last };
        PGresult *r;
        int got;

        snprintf(last, sizeof(last), "%lld", last_id);
        r = cx_db_query(ctx->db,
                        "INSERT INTO panel_notices (tenant_id, kind, key, last_id) VALUES ($1, $2,"
                        " $3, $4::bigint) ON CONFLICT DO NOTHING RETURNING 1",
                        4, p, err);
        if (!r)
                return -1;
        got = PQntuples(r);
        PQclear(r);
        return got;
}

static void release(ops_ctx *ctx, const char *tenant, const char *kind, const char *key)
{
        const char *p[3] = { tenant, kind, key };

        cx_db_exec(ctx->db,
                   "DELETE FROM panel_notices WHERE tenant_id = $1 AND kind = $2 AND key = $3", 3,
                   p, NULL);
}

/* Claim, then send to every recipient; released again when nobody got it. */
static int notice(ops_ctx *ctx, const json_t *row, const char *kind, const char *key,
                  long long last_id, const char *subject, const char *text, ops_notify_send_fn send,
                  void *ud, cx_err *err)
{
        const char *tenant = str_of(row, "id");
        const json_t *to = json_object_get(row, "recipients");
        size_t i, sent = 0;
        char label[64];
        json_t *addr;
        int c = claim(ctx, tenant, kind, key, last_id, err);

        if (c <= 0)
                return c;
        json_array_foreach (to, i, addr) {
                cx_err e = { 0 };

                if (send(ud, json_string_value(addr), subject, text, &e) == 0)
                        sent++;
                else
                        cx_log_fields(CX_LOG_ERROR, "panel.notify_failed",
                                      json_pack("{s:s, s:s}", "tenant", tenant, "kind", kind),
                                      "%s notice for %s not sent: %s", kind, tenant, e.msg);
        }
        snprintf(label, sizeof(label), "kind=\"%s\",result=\"%s\"", kind, sent ? "sent" : "failed");
        cx_counter_add("cx_panel_notices_total", "e-mail notifications by kind and result", label,
                       1);
        if (sent == 0) {
                release(ctx, tenant, kind, key);
                return 0;
        }
        cx_log_fields(CX_LOG_INFO, "panel.notified",
                      json_pack("{s:s, s:s, s:i}", "tenant", tenant, "kind", kind, "recipients",
                                (int)sent),
                      "%s notice for %s sent", kind, tenant);
        return 1;
}

static int consent(ops_ctx *ctx, const ops_notify_cfg *cfg, const json_t *row,
                   ops_notify_send_fn send, void *ud, cx_err *err)
{
        char key[48], subject[300], *text = NULL;
        const char *name = str_of(row, "name"), *t = str_of(row, "id");
        const char *why = str_of(row, "token_reason");
        int rc;

        snprintf(key, sizeof(key), "consent:%lld", int_of(row, "token_changed"));
        snprintf(subject, sizeof(subject),
                 "%s: Exact Online heeft opnieuw uw toestemming nodig / needs your consent "
                 "again",
                 name);
        if (asprintf(&text,
                     "Hallo,\n\nDe koppeling van %s met Exact Online werkt pas weer als u "
                     "opnieuw toestemming geeft%s%s%s. Tot dan wordt er niets geboekt; niets "
                     "gaat verloren.\n\nLog in op het controlepaneel en kies \"Verbinden met "
                     "Exact Online\":\n%s/#/t/%s/exact\n\n---\n\n"
                     "Hello,\n\nThe connection of %s with Exact Online works again once you give "
                     "your consent again. Until then nothing is booked; nothing is lost.\n\nSign "
                     "in to the control panel and choose \"Connect to Exact Online\":\n"
                     "%s/#/t/%s/exact\n",
                     name, *why ? " (" : "", why, *why ? ")" : "", cfg->public_url, t, name,
                     cfg->public_url, t) < 0)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        rc = notice(ctx, row, "consent", key, 0, subject, text, send, ud, err);
        free(text);
        return rc;
}

static int failures(ops_ctx *ctx, const ops_notify_cfg *cfg, const json_t *row,
                    ops_notify_send_fn send, void *ud, cx_err *err)
{
        char key[48], subject[300], told[24];
        const char *t = str_of(row, "id"), *name = str_of(row, "name");
        const char *p[2] = { t, told };
        long long last = int_of(row, "failures_last");
        char *list = NULL, *text = NULL;
        size_t len = 0;
        PGresult *r;
        FILE *f;
        int rc, n;

        snprintf(told, sizeof(told), "%lld", int_of(row, "failures_told"));
        r = cx_db_query(ctx->db,
                        "SELECT CASE source_topic WHEN '' THEN stage ELSE source_topic END,"
                        " source_id, reason FROM dead_letters WHERE tenant_id = $1 AND state ="
                        " 'open' AND id > $2::bigint ORDER BY id LIMIT 10",
                        2, p, err);
        if (!r)
                return -1;
        n = PQntuples(r);
        f = open_memstream(&list, &len);
        for (int i = 0; f && i < n; i++)
                fprintf(f, "- %s %s: %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                        PQgetvalue(r, i, 2));
        if (f)
                fclose(f);
        PQclear(r);
        snprintf(key, sizeof(key), "failures:%lld", last);
        snprintf(subject, sizeof(subject), "%s: %lld %s op een oplossing / waiting for a fix", name,
                 int_of(row, "waiting"),
                 int_of(row, "waiting") == 1 ? "boeking wacht" : "boekingen wachten");
        if (!list || asprintf(&text,
                              "Hallo,\n\nBij %s wachten %lld boekingen op een oplossing. De "
                              "nieuwste:\n\n%s\nIn het controlepaneel ziet u per geval wat er "
                              "mis is en wat u kunt doen:\n%s/#/t/%s/deadletters\n\n---\n\n"
                              "Hello,\n\nAt %s, %lld bookings wait for a fix. The newest are "
                              "listed above. The control panel tells for each what is wrong "
                              "and what to do:\n%s/#/t/%s/deadletters\n",
                              name, int_of(row, "waiting"), list, cfg->public_url, t, name,
                              int_of(row, "waiting"), cfg->public_url, t) < 0) {
                free(list);
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        }
        rc = notice(ctx, row, "failures", key, last, subject, text, send, ud, err);
        free(list);
        free(text);
        return rc;
}

static int summary(ops_ctx *ctx, const ops_notify_cfg *cfg, const json_t *row,
                   ops_notify_send_fn send, void *ud, cx_err *err)
{
        char key[48], subject[300], *text = NULL;
        const char *t = str_of(row, "id"), *name = str_of(row, "name");
        bool ok = !strcmp(str_of(row, "token_state"), "ok");
        int rc;

        snprintf(key, sizeof(key), "summary:%s", str_of(row, "today"));
        snprintf(subject, sizeof(subject), "%s: overzicht van %s / daily summary", name,
                 str_of(row, "today"));
        if (asprintf(&text,
                     "Hallo,\n\nZo ging het de afgelopen 24 uur met %s:\n\n"
                     "- opgehaald uit de winkel: %lld\n- geboekt in Exact Online: %lld\n"
                     "- mislukt: %lld\n- wacht op een oplossing: %lld\n"
                     "- verbinding met Exact Online: %s\n\n%s/#/t/%s\n\n---\n\n"
                     "Hello,\n\nThe last 24 hours at %s:\n\n"
                     "- fetched from the shop: %lld\n- booked in Exact Online: %lld\n"
                     "- failed: %lld\n- waiting for a fix: %lld\n"
                     "- connection with Exact Online: %s\n",
                     name, int_of(row, "extracted_24h"), int_of(row, "booked_24h"),
                     int_of(row, "failed_24h"), int_of(row, "waiting"),
                     ok ? "in orde" : "nieuwe toestemming nodig", cfg->public_url, t, name,
                     int_of(row, "extracted_24h"), int_of(row, "booked_24h"),
                     int_of(row, "failed_24h"), int_of(row, "waiting"),
                     ok ? "working" : "needs a new consent") < 0)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        rc = notice(ctx, row, "summary", key, 0, subject, text, send, ud, err);
        free(text);
        return rc;
}

int ops_notify_run(ops_ctx *ctx, const ops_notify_cfg *cfg, ops_notify_send_fn send, void *ud,
                   cx_err *err)
{
        char gap[24], hour[8];
        const char *p[2] = { gap, hour };
        PGresult *r;
        json_t *rows, *row;
        size_t i;
        int sent = 0;

        snprintf(gap, sizeof(gap), "%ld", cfg->failures_gap_s);
        snprintf(hour, sizeof(hour), "%d", cfg->summary_hour);
        r = cx_db_query(ctx->db, due_sql, 2, p, err);
        if (!r)
                return -1;
        rows = ops_rows_json(r);
        PQclear(r);
        json_array_foreach (rows, i, row) {
                int a = 0, b = 0, c = 0;

                if (strcmp(str_of(row, "token_state"), "ok") != 0)
                        a = consent(ctx, cfg, row, send, ud, err);
                if (a >= 0 && int_of(row, "failures_last") > int_of(row, "failures_told") &&
                    !json_is_true(json_object_get(row, "failures_recent")))
                        b = failures(ctx, cfg, row, send, ud, err);
                if (a >= 0 && b >= 0 && json_is_true(json_object_get(row, "summary_due")))
                        c = summary(ctx, cfg, row, send, ud, err);
                if (a < 0 || b < 0 || c < 0) {
                        json_decref(rows);
                        return -1;
                }
                sent += a + b + c;
        }
        json_decref(rows);
        return sent;
}
