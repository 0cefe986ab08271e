/* command: see command.h. */
#include "loader/command.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/journal.h"
#include "common/log.h"
#include "loader/command_check.h"
#include "common/metrics.h"
#include "exact/api.h"
#include "loader/ledger.h"
#include "exact/ratelimit.h"

enum step {
        ST_OK,
        ST_WAIT,  /* come back at `until`, not a failure */
        ST_RETRY, /* transient failure: back off, count the attempt */
        ST_FAIL,  /* dead-letter with `reason` */
};

typedef struct run {
        worker *w;
        job *j;
        json_t *cmd;
        const char *tenant;
        const char *kind;
        const char *source_id;
        const char *trace;
        long division;
        char base[256];
        exact_budget *budget;
        enum step st;
        int64_t until;
        char reason[640];
        int calls;
} run;

static void set_step(run *r, enum step st, int64_t until, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void set_step(run *r, enum step st, int64_t until, const char *fmt, ...)
{
        va_list ap;

        r->st = st;
        r->until = until;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
        va_end(ap);
}

#define jstr command_str

static void trim_copy(const char *in, char *out, size_t size)
{
        size_t len;

        while (*in == ' ')
                in++;
        snprintf(out, size, "%s", in);
        len = strlen(out);
        while (len > 0 && out[len - 1] == ' ')
                out[--len] = '\0';
}

static void label2(char *out, size_t size, const char *k1, const char *v1, const char *k2,
                   const char *v2)
{
        char a[256], b[256];

        cx_metrics_label(a, sizeof(a), k1, v1);
        cx_metrics_label(b, sizeof(b), k2, v2);
        snprintf(out, size, "%.255s,%.255s", a, b);
}

/* ---------------------------------------------------------------- endpoint errors */

/* Errors (400/401/403/404...) per tenant and endpoint in a sliding window; Exact blocks the
 * app after 10 per hour, so the loader stops itself earlier and tells the operator. */
struct ep_errors {
        char *key;
        int64_t *times;
        int n;
        int64_t blocked_until;
};

static pthread_mutex_t ep_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ep_errors *eps;
static size_t n_eps, cap_eps;

static struct ep_errors *ep_find(const char *tenant, const char *ep, bool create, int limit)
{
        char key[400];

        snprintf(key, sizeof(key), "%s\n%s", tenant, ep);
        for (size_t i = 0; i < n_eps; i++) {
                if (!strcmp(eps[i].key, key))
                        return &eps[i];
        }
        if (!create)
                return NULL;
        if (n_eps == cap_eps) {
                size_t cap = cap_eps ? cap_eps * 2 : 16;
                struct ep_errors *n = realloc(eps, cap * sizeof(*n));

                if (!n)
                        return NULL;
                eps = n;
                cap_eps = cap;
        }
        eps[n_eps].key = strdup(key);
        eps[n_eps].times = calloc((size_t)limit, sizeof(int64_t));
        eps[n_eps].n = 0;
        eps[n_eps].blocked_until = 0;
        if (!eps[n_eps].key || !eps[n_eps].times) {
                free(eps[n_eps].key);
                free(eps[n_eps].times);
                return NULL;
        }
        return &eps[n_eps++];
}

static bool ep_blocked(run *r, const char *ep, int64_t *until)
{
        struct ep_errors *e;
        bool blocked = false;

        pthread_mutex_lock(&ep_lock);
        e = ep_find(r->tenant, ep, false, 0);
        if (e && e->blocked_until > exact_now_ms()) {
                *until = e->blocked_until;
                blocked = true;
        }
        pthread_mutex_unlock(&ep_lock);
        return blocked;
}

static void ep_error(run *r, const char *ep, const char *message)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        int limit = cfg->endpoint_error_limit;
        int64_t now = exact_now_ms(), until = 0;
        struct ep_errors *e;
        int recent = 0;
        char labels[600];

        label2(labels, sizeof(labels), "tenant", r->tenant, "endpoint", ep);
        cx_counter_add("cx_loader_api_errors_total",
                       "Answers Exact counts toward its error limit (400/401/403/404)", labels, 1);
        pthread_mutex_lock(&ep_lock);
        e = ep_find(r->tenant, ep, true, limit);
        if (e) {
                /* keep the last `limit` error times in a ring */
                e->times[e->n % limit] = now;
                e->n++;
                for (int i = 0; i < limit && i < e->n; i++) {
                        if (e->times[i] > now - cfg->error_window_ms)
                                recent++;
                }
                if (recent >= limit && e->blocked_until <= now) {
                        e->blocked_until = now + cfg->error_window_ms;
                        until = e->blocked_until;
                }
        }
        pthread_mutex_unlock(&ep_lock);
        if (until) {
                char msg[700];

                snprintf(msg, sizeof(msg),
                         "stopped calling %s for this tenant after %d errors: %s", ep, recent,
                         message);
                cx_counter_add("cx_loader_endpoint_blocks_total",
                               "Endpoints the loader stopped calling after repeated errors",
                               labels, 1);
                cx_log_fields(CX_LOG_ERROR, "endpoint.blocked",
                              json_pack("{s:s,s:s,s:i}", "tenant", r->tenant, "endpoint", ep,
                                        "errors", recent),
                              "%s", msg);
                ledger_save_block(r->w->db, r->tenant, ep, recent, until, message, NULL);
                cx_sync_log(r->w->db, r->tenant, "load", ep, "", "failed", msg, "", NULL);
        }
}

/* ---------------------------------------------------------------- reference data */

/* Per division: VAT codes (listed once), item groups and G/L accounts (by code, on demand). */
struct refdata {
        char *key;
        json_t *vat;       /* object: trimmed code -> true; NULL until listed */
        json_t *groups;    /* object: code -> guid or null (not found) */
        json_t *gl;
};

static pthread_mutex_t ref_lock = PTHREAD_MUTEX_INITIALIZER;
/* Entries are allocated one by one: workers keep pointers to them while the list grows. */
static struct refdata **refs;
static size_t n_refs, cap_refs;

static struct refdata *ref_get(run *r)
{
        struct refdata *rd;
        char key[300];

        snprintf(key, sizeof(key), "%s|%ld", r->base, r->division);
        for (size_t i = 0; i < n_refs; i++) {
                if (!strcmp(refs[i]->key, key))
                        return refs[i];
        }
        if (n_refs == cap_refs) {
                size_t cap = cap_refs ? cap_refs * 2 : 16;
                struct refdata **n = realloc(refs, cap * sizeof(*n));

                if (!n)
                        return NULL;
                refs = n;
                cap_refs = cap;
        }
        rd = calloc(1, sizeof(*rd));
        if (!rd)
                return NULL;
        rd->key = strdup(key);
        rd->groups = json_object();
        rd->gl = json_object();
        refs[n_refs++] = rd;
        return rd;
}

void command_caches_free(void)
{
        pthread_mutex_lock(&ref_lock);
        for (size_t i = 0; i < n_refs; i++) {
                free(refs[i]->key);
                json_decref(refs[i]->vat);
                json_decref(refs[i]->groups);
                json_decref(refs[i]->gl);
                free(refs[i]);
        }
        free(refs);
        refs = NULL;
        n_refs = cap_refs = 0;
        pthread_mutex_unlock(&ref_lock);
        pthread_mutex_lock(&ep_lock);
        for (size_t i = 0; i < n_eps; i++) {
                free(eps[i].key);
                free(eps[i].times);
        }
        free(eps);
        eps = NULL;
        n_eps = cap_eps = 0;
        pthread_mutex_unlock(&ep_lock);
}

/* ---------------------------------------------------------------- one API call */

static void save_budget(run *r, int64_t parked_until, const char *why)
{
        char lab[256];

        int64_t now = exact_now_ms();

        /* exact_budget is for people (status, panel): once a second is fresh enough, while a
         * write after every call made PostgreSQL the busiest process. Parking always counts. */
        if (parked_until || why[0] || now - r->budget->persisted_ms >= 1000) {
                ledger_save_budget(r->w->db, r->tenant, r->division, r->budget, parked_until,
                                   why, NULL);
                r->budget->persisted_ms = now;
        }
        cx_metrics_label(lab, sizeof(lab), "tenant", r->tenant);
        if (r->budget->known) {
                cx_gauge_set("cx_loader_budget_minutely_remaining",
                             "Calls left in the current minute window", lab,
                             (double)r->budget->min_remaining);
                cx_gauge_set("cx_loader_budget_daily_remaining", "Calls left today", lab,
                             (double)r->budget->day_remaining);
        }
}

/*
 * Make one call through the tenant's budget and token. Returns 0 when @p res holds an answer
 * the caller must judge (OK, client error, server error, network, bad body), or -1 when the
 * run has to stop here (r->st says wait, retry or fail).
 */
static int api(run *r, const char *method, const char *ep, const char *key, const char *query,
               const json_t *body, exact_result *res)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        char full[400], labels[800], lab[600];
        int64_t until;

        memset(res, 0, sizeof(*res));
        snprintf(full, sizeof(full), "%s%s", ep, key ? key : "");
        if (ep_blocked(r, ep, &until)) {
                set_step(r, ST_WAIT, until, "endpoint %s blocked after repeated errors", ep);
                return -1;
        }
        for (int tries = 0; tries < 2; tries++) {
                exact_budget_verdict v = exact_budget_check(r->budget, exact_now_ms(),
                                                            cfg->skew_ms, &until);
                exact_conn c;
                char *tok = NULL;
                cx_err e = { 0 };
                char st[16];

                if (v == EXACT_BUDGET_WAIT_MINUTE) {
                        set_step(r, ST_WAIT, until, "minutely budget spent");
                        return -1;
                }
                if (v == EXACT_BUDGET_WAIT_DAY) {
                        set_step(r, ST_WAIT, until, "daily budget spent");
                        return -1;
                }
                if (exact_token_access(&r->w->tok, r->tenant, &tok, &e) < 0) {
                        if (e.retriable)
                                set_step(r, ST_RETRY, 0, "token: %s", e.msg);
                        else
                                set_step(r, ST_FAIL, 0, "token refused, tenant needs consent: %s",
                                         e.msg);
                        return -1;
                }
                c.http = r->w->http;
                c.base_url = r->base;
                c.division = r->division;
                c.access_token = tok;
                c.timeout_ms = cfg->http_timeout_ms;
                exact_budget_note_call(r->budget);
                r->calls++;
                if (exact_call(&c, r->budget, method, full, query, body, res) < 0) {
                        free(tok);
                        set_step(r, ST_RETRY, 0, "out of memory");
                        return -1;
                }
                free(tok);
                snprintf(st, sizeof(st), "%ld", res->status);
                label2(lab, sizeof(lab), "tenant", r->tenant, "endpoint", ep);
                snprintf(labels, sizeof(labels), "%s,method=\"%s\",status=\"%s\"", lab, method,
                         st);
                cx_counter_add("cx_loader_api_calls_total", "Calls to the Exact REST API",
                               labels, 1);
                save_budget(r, 0, "");
                if (res->outcome == EX_RATE_LIMITED) {
                        cx_metrics_label(lab, sizeof(lab), "tenant", r->tenant);
                        cx_counter_add("cx_loader_rate_limited_total", "429 answers received",
                                       lab, 1);
                        cx_log_fields(CX_LOG_WARN, "api.rate_limited",
                                      json_pack("{s:s,s:s}", "tenant", r->tenant, "endpoint", ep),
                                      "Exact answered 429");
                        if (exact_budget_check(r->budget, exact_now_ms(), cfg->skew_ms,
                                               &until) == EXACT_BUDGET_GO)
                                until = exact_now_ms() + 1000;
                        set_step(r, ST_WAIT, until, "rate limited (429)");
                        exact_result_clear(res);
                        return -1;
                }
                if (res->outcome == EX_UNAUTHORIZED) {
                        ep_error(r, ep, res->message);
                        exact_token_forget(r->tenant);
                        if (tries == 0) {
                                exact_result_clear(res);
                                continue; /* another instance may have refreshed: re-read */
                        }
                        set_step(r, ST_RETRY, 0, "access token refused: %s", res->message);
                        exact_result_clear(res);
                        return -1;
                }
                if (res->outcome == EX_CLIENT_ERROR)
                        ep_error(r, ep, res->message);
                return 0;
        }
        return -1;
}

/* Judge a non-OK answer of a read: a refusal is final, anything else passes. */
static void read_failed(run *r, const char *what, const exact_result *res)
{
        if (res->outcome == EX_CLIENT_ERROR)
                set_step(r, ST_FAIL, 0, "Exact refused %s: %s", what, res->message);
        else
                set_step(r, ST_RETRY, 0, "%s: %s", what, res->message);
}

/* ---------------------------------------------------------------- reference data */

static int ensure_vat_list(run *r, struct refdata *rd)
{
        json_t *set;
        char next[1024] = "";
        const char *query = "$select=Code";
        int pages = 0;

        pthread_mutex_lock(&ref_lock);
        set = rd->vat;
        pthread_mutex_unlock(&ref_lock);
        if (set)
                return 0;
        set = json_object();
        do {
                exact_result res;
                json_t *rows, *row;
                const char *nx;
                size_t i;

                if (api(r, "GET", next[0] ? next : "vat/VATCodes", NULL, next[0] ? NULL : query,
                        NULL, &res) < 0) {
                        json_decref(set);
                        return -1;
                }
                if (res.outcome != EX_OK) {
                        read_failed(r, "vat/VATCodes", &res);
                        exact_result_clear(&res);
                        json_decref(set);
                        return -1;
                }
                rows = exact_rows(&res);
                json_array_foreach(rows, i, row) {
                        char code[32];

                        trim_copy(jstr(row, "Code"), code, sizeof(code));
                        if (code[0])
                                json_object_set_new(set, code, json_true());
                }
                nx = json_string_value(json_object_get(res.d, "__next"));
                next[0] = '\0';
                /* __next is absolute; only its part after the division is ours to send */
                if (nx) {
                        char marker[64];
                        const char *p;

                        snprintf(marker, sizeof(marker), "/api/v1/%ld/", r->division);
                        p = strstr(nx, marker);
                        if (p)
                                snprintf(next, sizeof(next), "%s", p + strlen(marker));
                }
                exact_result_clear(&res);
        } while (next[0] && ++pages < 50);
        pthread_mutex_lock(&ref_lock);
        if (!rd->vat)
                rd->vat = set;
        else
                json_decref(set);
        pthread_mutex_unlock(&ref_lock);
        return 0;
}

static bool vat_known(struct refdata *rd, const char *code)
{
        char t[32];
        bool ok;

        trim_copy(code, t, sizeof(t));
        pthread_mutex_lock(&ref_lock);
        ok = rd->vat && json_object_get(rd->vat, t) != NULL;
        pthread_mutex_unlock(&ref_lock);
        return ok;
}

/* Code -> GUID of an item group or G/L account, cached per division. */
static int ref_guid(run *r, json_t *cache, const char *ep, const char *code, char out[64])
{
        json_t *v;
        exact_result res;
        char *q;
        json_t *rows;

        pthread_mutex_lock(&ref_lock);
        v = json_object_get(cache, code);
        if (v)
                snprintf(out, 64, "%s", json_is_string(v) ? json_string_value(v) : "");
        pthread_mutex_unlock(&ref_lock);
        if (v) {
                if (!out[0])
                        set_step(r, ST_FAIL, 0, "%s code %s is not known in division %ld", ep,
                                 code, r->division);
                return out[0] ? 0 : -1;
        }
        q = exact_filter_eq("Code", code, "ID,Code");
        if (!q) {
                set_step(r, ST_RETRY, 0, "out of memory");
                return -1;
        }
        if (api(r, "GET", ep, NULL, q, NULL, &res) < 0) {
                free(q);
                return -1;
        }
        free(q);
        if (res.outcome != EX_OK) {
                read_failed(r, ep, &res);
                exact_result_clear(&res);
                return -1;
        }
        rows = exact_rows(&res);
        snprintf(out, 64, "%s", jstr(json_array_get(rows, 0), "ID"));
        pthread_mutex_lock(&ref_lock);
        json_object_set_new(cache, code, out[0] ? json_string(out) : json_null());
        pthread_mutex_unlock(&ref_lock);
        exact_result_clear(&res);
        if (!out[0]) {
                set_step(r, ST_FAIL, 0, "%s code %s is not known in division %ld", ep, code,
                         r->division);
                return -1;
        }
        return 0;
}

/* ---------------------------------------------------------------- entities */

static void content_hash(const json_t *j, char out[80])
{
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        char hex[65];

        cx_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
        snprintf(out, 80, "sha256:%s", hex);
        free(text);
}

typedef struct ent_spec {
        const char *kind;     /* ledger kind */
        const char *endpoint;
        const char *id_field;
        const char *label;    /* for messages */
} ent_spec;

static const ent_spec SPEC_ACCOUNT = { "account", "crm/Accounts", "ID", "account" };
static const ent_spec SPEC_CONTACT = { "contact", "crm/Contacts", "ID", "contact" };
static const ent_spec SPEC_ITEM = { "item", "logistics/Items", "ID", "item" };

/* Judge the answer to a write whose intent is recorded. Returns 0 with the new entity's
 * answer kept in res on success; -1 with r->st set otherwise. */
static int judge_write(run *r, const char *kind, const char *key, const char *what,
                       exact_result *res)
{
        if (res->outcome == EX_OK)
                return 0;
        if (res->outcome == EX_CLIENT_ERROR) {
                ledger_failed(r->w->db, r->tenant, kind, key, res->message, NULL);
                set_step(r, ST_FAIL, 0, "Exact refused %s: %s", what, res->message);
        } else if (res->outcome == EX_NETWORK && !res->ambiguous) {
                ledger_clear_intent(r->w->db, r->tenant, kind, key, res->message, NULL);
                set_step(r, ST_RETRY, 0, "%s: %s", what, res->message);
        } else {
                /* the write may have happened: the intent stays and the retry looks first */
                cx_counter_add("cx_loader_writes_in_doubt_total",
                               "Writes whose outcome was unknown (looked up before retrying)",
                               NULL, 1);
                set_step(r, ST_RETRY, 0, "%s in doubt: %s", what, res->message);
        }
        exact_result_clear(res);
        return -1;
}

/* Members that may not be sent on PUT. */
static json_t *put_body_of(const ent_spec *s, const json_t *body)
{
        json_t *p = json_deep_copy(body);

        json_object_del(p, "Code");
        if (s == &SPEC_CONTACT)
                json_object_del(p, "Account");
        json_object_del(p, "CostPriceStandard");
        return p;
}

/*
 * Make sure the entity @p key of @p s exists in Exact and put its GUID in @p guid.
 * @p body is what to POST; @p lookup the query that finds it by its natural key. With
 * @p update, an existing entity whose definition changed (content hash) gets a PUT.
 */
static int ensure_entity(run *r, const ent_spec *s, const char *key, const json_t *body,
                         const char *lookup, bool update, bool skip_lookup, bool *created,
                         char guid[64])
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        ledger_row L;
        cx_err e = { 0 };
        exact_result res;
        char hash[80], what[200];
        json_t *rows;

        snprintf(what, sizeof(what), "%s %s", s->label, key);
        content_hash(body, hash);
        if (ledger_get(r->w->db, r->tenant, s->kind, key, &L, &e) < 0) {
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                return -1;
        }
        if (L.state != LEDGER_DONE) {
                if (L.in_doubt && exact_now_ms() < L.intent_ms + cfg->grace_ms) {
                        set_step(r, ST_WAIT, L.intent_ms + cfg->grace_ms,
                                 "write in doubt, waiting before the look-up");
                        return -1;
                }
                /* Master data may exist in Exact already (or from a write in doubt); a
                 * contact of an account created just now cannot, so it costs no look-up. */
                guid[0] = '\0';
                if (!(skip_lookup && L.state == LEDGER_ABSENT)) {
                        if (api(r, "GET", s->endpoint, NULL, lookup, NULL, &res) < 0)
                                return -1;
                        if (res.outcome != EX_OK) {
                                read_failed(r, what, &res);
                                exact_result_clear(&res);
                                return -1;
                        }
                        rows = exact_rows(&res);
                        snprintf(guid, 64, "%s", jstr(json_array_get(rows, 0), s->id_field));
                        exact_result_clear(&res);
                }
                if (guid[0]) {
                        /* found: with update, an empty hash makes the PUT below happen */
                        if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1,
                                        update ? "" : hash, r->trace, &e) < 0) {
                                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                                return -1;
                        }
                        if (!update)
                                return 0;
                        snprintf(L.guid, sizeof(L.guid), "%s", guid);
                        L.content_hash[0] = '\0';
                        L.state = LEDGER_DONE;
                } else {
                        if (ledger_intent(r->w->db, r->tenant, s->kind, key, key, hash, r->trace,
                                          &e) < 0) {
                                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                                return -1;
                        }
                        if (api(r, "POST", s->endpoint, NULL, NULL, body, &res) < 0) {
                                ledger_clear_intent(r->w->db, r->tenant, s->kind, key, r->reason,
                                                    NULL);
                                return -1;
                        }
                        if (judge_write(r, s->kind, key, what, &res) < 0)
                                return -1;
                        snprintf(guid, 64, "%s", jstr(res.d, s->id_field));
                        exact_result_clear(&res);
                        if (!guid[0]) {
                                set_step(r, ST_RETRY, 0, "%s created without an ID in the answer",
                                         what);
                                return -1;
                        }
                        if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1, hash,
                                        r->trace, &e) < 0) {
                                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                                return -1;
                        }
                        if (created)
                                *created = true;
                        return 0;
                }
        }
        snprintf(guid, 64, "%s", L.guid);
        if (update && strcmp(L.content_hash, hash) != 0) {
                char keypath[80];
                json_t *put = put_body_of(s, body);
                int rc;

                snprintf(keypath, sizeof(keypath), "(guid'%s')", guid);
                if (ledger_intent(r->w->db, r->tenant, s->kind, key, key, hash, r->trace, &e) < 0) {
                        json_decref(put);
                        set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                        return -1;
                }
                rc = api(r, "PUT", s->endpoint, keypath, NULL, put, &res);
                json_decref(put);
                if (rc < 0) {
                        ledger_clear_intent(r->w->db, r->tenant, s->kind, key, r->reason, NULL);
                        return -1;
                }
                /* a PUT repeats safely, so a doubtful one is simply sent again */
                if (judge_write(r, s->kind, key, what, &res) < 0)
                        return -1;
                exact_result_clear(&res);
                if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1, hash, r->trace,
                                &e) < 0) {
                        set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                        return -1;
                }
        }
        return 0;
}

/* The account of a command: create it if missing (PUT when @p update and changed), then its
 * contact person. */
static int ensure_account(run *r, const json_t *def, bool update, char guid[64])
{
        const char *code = jstr(def, "Code");
        json_t *body = json_deep_copy(def);
        json_t *contact = json_object_get(def, "contact");
        char padded[32], cguid[64];
        bool fresh = false;
        char *q;
        int rc;

        json_object_del(body, "contact");
        exact_pad_account_code(code, padded);
        q = exact_filter_eq("Code", padded, "ID,Code");
        rc = q ? ensure_entity(r, &SPEC_ACCOUNT, code, body, q, update, false, &fresh,
                                   guid) : -1;
        free(q);
        json_decref(body);
        if (rc < 0 || !json_is_object(contact))
                return rc;
        {
                json_t *cb = json_deep_copy(contact);
                char *filter = NULL, *enc = NULL;

                json_object_set_new(cb, "Account", json_string(guid));
                if (asprintf(&filter, "Account eq guid'%s'", guid) < 0)
                        filter = NULL;
                enc = filter ? cx_http_escape(filter) : NULL;
                if (!enc || asprintf(&q, "$filter=%s&$select=ID&$top=1", enc) < 0)
                        q = NULL;
                rc = q ? ensure_entity(r, &SPEC_CONTACT, code, cb, q, update, fresh, NULL,
                                           cguid) : -1;
                if (!q)
                        set_step(r, ST_RETRY, 0, "out of memory");
                free(filter);
                free(enc);
                free(q);
                json_decref(cb);
        }
        return rc;
}

/* Item definition as Exact takes it: item group code -> GUID, shop price -> sales price. */
static int ensure_item(run *r, struct refdata *rd, const json_t *def, bool update, char guid[64])
{
        const char *code = jstr(def, "Code");
        json_t *body = json_deep_copy(def);
        json_t *price = json_object_get(def, "SalesPrice");
        const char *group = json_string_value(json_object_get(def, "ItemGroup"));
        char *q;
        int rc;

        if (price) {
                json_object_set(body, "StandardSalesPrice", price);
                json_object_del(body, "SalesPrice");
        }
        if (group && *group) {
                char g[64];

                if (ref_guid(r, rd->groups, "logistics/ItemGroups", group, g) < 0) {
                        json_decref(body);
                        return -1;
                }
                json_object_set_new(body, "ItemGroup", json_string(g));
        }
        q = exact_filter_eq("Code", code, "ID,Code");
        rc = q ? ensure_entity(r, &SPEC_ITEM, code, body, q, update, false, NULL, guid) : -1;
        if (!q)
                set_step(r, ST_RETRY, 0, "out of memory");
        free(q);
        json_decref(body);
        return rc;
}

/* An item a line uses that the command does not define (shipping, discount): it must exist. */
static int known_item(run *r, const char *code, char guid[64])
{
        ledger_row L;
        cx_err e = { 0 };
        exact_result res;
        char *q;

        if (ledger_get(r->w->db, r->tenant, "item", code, &L, &e) < 0) {
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                return -1;
        }
        if (L.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", L.guid);
                return 0;
        }
        q = exact_filter_eq("Code", code, "ID,Code");
        if (!q || api(r, "GET", "logistics/Items", NULL, q, NULL, &res) < 0) {
                if (!q)
                        set_step(r, ST_RETRY, 0, "out of memory");
                free(q);
                return -1;
        }
        free(q);
        if (res.outcome != EX_OK) {
                read_failed(r, "logistics/Items", &res);
                exact_result_clear(&res);
                return -1;
        }
        snprintf(guid, 64, "%s", jstr(json_array_get(exact_rows(&res), 0), "ID"));
        exact_result_clear(&res);
        if (!guid[0]) {
                set_step(r, ST_FAIL, 0, "item %s is used by a line but neither defined by the "
                         "command nor present in Exact", code);
                return -1;
        }
        if (ledger_done(r->w->db, r->tenant, "item", code, guid, -1, "", r->trace, &e) < 0) {
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                return -1;
        }
        return 0;
}

/* ---------------------------------------------------------------- validation */

/* VAT codes of lines, items and the account must exist in the division (cached list). */
static int validate_vat(run *r, struct refdata *rd)
{
        json_t *acc = json_object_get(r->cmd, "account");
        json_t *items = json_object_get(r->cmd, "items");
        json_t *lines = json_object_get(json_object_get(r->cmd, "body"),
                                        command_lines_member(!strcmp(r->kind, "sales_invoice")));
        const char *code;
        json_t *v;
        size_t i;

        if (ensure_vat_list(r, rd) < 0)
                return -1;
        code = json_string_value(json_object_get(acc, "SalesVATCode"));
        if (code && !vat_known(rd, code))
                return set_step(r, ST_FAIL, 0, "VAT code %s (account) is not known in division "
                                "%ld", code, r->division), -1;
        json_array_foreach(items, i, v) {
                code = json_string_value(json_object_get(v, "SalesVatCode"));
                if (code && !vat_known(rd, code))
                        return set_step(r, ST_FAIL, 0, "VAT code %s (item %s) is not known in "
                                        "division %ld", code, jstr(v, "Code"), r->division), -1;
        }
        json_array_foreach(lines, i, v) {
                code = json_string_value(json_object_get(v, "VATCode"));
                if (code && !vat_known(rd, code))
                        return set_step(r, ST_FAIL, 0, "VAT code %s (line %zu) is not known in "
                                        "division %ld", code, i + 1, r->division), -1;
        }
        return 0;
}

/* ---------------------------------------------------------------- documents */

static int find_document(run *r, const char *ep, const char *idf, const char *numf,
                         const char *yourref, char guid[64], long long *number)
{
        char sel[64];
        char *q;
        exact_result res;
        json_t *row;

        snprintf(sel, sizeof(sel), "%s,%s,YourRef", idf, numf);
        q = exact_filter_eq("YourRef", yourref, sel);
        if (!q) {
                set_step(r, ST_RETRY, 0, "out of memory");
                return -1;
        }
        if (api(r, "GET", ep, NULL, q, NULL, &res) < 0) {
                free(q);
                return -1;
        }
        free(q);
        if (res.outcome != EX_OK) {
                read_failed(r, "document look-up", &res);
                exact_result_clear(&res);
                return -1;
        }
        row = json_array_get(exact_rows(&res), 0);
        snprintf(guid, 64, "%s", jstr(row, idf));
        *number = json_is_integer(json_object_get(row, numf))
                          ? json_integer_value(json_object_get(row, numf))
                          : -1;
        exact_result_clear(&res);
        return 0;
}

/* Resolve codes and POST the document with its lines; exactly once through the ledger. */
static int book_document(run *r, struct refdata *rd, bool *skipped, char *summary,
                         size_t summary_size)
{
        const loader_cfg *cfg = &r->w->sh->cfg;
        bool invoice = !strcmp(r->kind, "sales_invoice");
        const char *ep = invoice ? "salesinvoice/SalesInvoices" : "salesorder/SalesOrders";
        const char *idf = invoice ? "InvoiceID" : "OrderID";
        const char *numf = invoice ? "InvoiceNumber" : "OrderNumber";
        json_t *src = json_object_get(r->cmd, "body");
        const char *yourref = jstr(src, "YourRef");
        json_t *items = json_object_get(r->cmd, "items");
        json_t *body = NULL, *lines, *v;
        char acc_guid[64], guid[64], hash[80];
        long long number = -1;
        ledger_row L;
        cx_err e = { 0 };
        exact_result res;
        size_t i;
        int rc = -1;

        *skipped = false;
        if (ledger_get(r->w->db, r->tenant, r->kind, r->source_id, &L, &e) < 0) {
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                return -1;
        }
        if (L.state == LEDGER_DONE) {
                *skipped = true;
                snprintf(summary, summary_size, "already booked as %s (%s)", L.guid, ep);
                return 0;
        }
        if (ensure_account(r, json_object_get(r->cmd, "account"), false, acc_guid) < 0)
                return -1;
        json_array_foreach(items, i, v) {
                char g[64];

                if (ensure_item(r, rd, v, false, g) < 0)
                        return -1;
        }
        body = json_deep_copy(src);
        json_object_set_new(body, "OrderedBy", json_string(acc_guid));
        if (json_object_get(body, "InvoiceTo"))
                json_object_set_new(body, "InvoiceTo", json_string(acc_guid));
        if (json_object_get(body, "DeliverTo"))
                json_object_set_new(body, "DeliverTo", json_string(acc_guid));
        lines = json_object_get(body, command_lines_member(invoice));
        json_array_foreach(lines, i, v) {
                const char *code = jstr(v, "Item");
                const char *gl = json_string_value(json_object_get(v, "GLAccount"));
                char g[64] = "";
                ledger_row il;

                if (ledger_get(r->w->db, r->tenant, "item", code, &il, &e) < 0) {
                        set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                        goto out;
                }
                if (il.state == LEDGER_DONE)
                        snprintf(g, sizeof(g), "%s", il.guid);
                else if (known_item(r, code, g) < 0)
                        goto out;
                json_object_set_new(v, "Item", json_string(g));
                if (gl && *gl) {
                        char glg[64];

                        if (ref_guid(r, rd->gl, "financial/GLAccounts", gl, glg) < 0)
                                goto out;
                        json_object_set_new(v, "GLAccount", json_string(glg));
                }
        }
        content_hash(src, hash);
        if (L.state == LEDGER_PENDING && L.in_doubt) {
                if (exact_now_ms() < L.intent_ms + cfg->grace_ms) {
                        set_step(r, ST_WAIT, L.intent_ms + cfg->grace_ms,
                                 "write in doubt, waiting before the look-up");
                        goto out;
                }
                if (find_document(r, ep, idf, numf, yourref, guid, &number) < 0)
                        goto out;
                if (guid[0]) {
                        cx_counter_add("cx_loader_duplicates_avoided_total",
                                       "Writes in doubt that turned out to have happened", NULL,
                                       1);
                        goto booked;
                }
        }
        if (ledger_intent(r->w->db, r->tenant, r->kind, r->source_id, yourref, hash, r->trace,
                          &e) < 0) {
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                goto out;
        }
        if (api(r, "POST", ep, NULL, NULL, body, &res) < 0) {
                ledger_clear_intent(r->w->db, r->tenant, r->kind, r->source_id, r->reason, NULL);
                goto out;
        }
        {
                char what[200];

                snprintf(what, sizeof(what), "%s %s (YourRef %s)", r->kind, r->source_id,
                         yourref);
                if (judge_write(r, r->kind, r->source_id, what, &res) < 0)
                        goto out;
        }
        snprintf(guid, sizeof(guid), "%s", jstr(res.d, idf));
        number = json_is_integer(json_object_get(res.d, numf))
                         ? json_integer_value(json_object_get(res.d, numf))
                         : -1;
        exact_result_clear(&res);
        if (!guid[0]) {
                /* created, but the answer did not say as what: look it up next time */
                set_step(r, ST_RETRY, 0, "document created without %s in the answer", idf);
                goto out;
        }
booked:
        if (ledger_done(r->w->db, r->tenant, r->kind, r->source_id, guid, number, hash, r->trace,
                        &e) < 0) {
                /* the look-up after a restart finds it: the intent is still recorded */
                set_step(r, ST_RETRY, 0, "ledger: %s", e.msg);
                goto out;
        }
        snprintf(summary, summary_size, "booked as %s %lld (%s)", numf, number, guid);
        rc = 0;
out:
        json_decref(body);
        return rc;
}

/* ---------------------------------------------------------------- the run */

static void dead_letter(run *r, const char *reason, job_outcome *outcome, int64_t *until,
                        char *why, size_t why_size)
{
        loader_shared *sh = r->w->sh;
        cx_dead_letter dl = { 0 };
        cx_err e = { 0 };
        char lab[256];
        int rc;

        dl.tenant = r->tenant ? r->tenant : "";
        dl.stage = "load";
        dl.source_topic = r->j->topic;
        dl.source_id = r->source_id ? r->source_id : "";
        dl.reason = reason;
        dl.payload = r->j->payload;
        dl.trace_id = r->trace ? r->trace : "";
        pthread_mutex_lock(&sh->dl_lock);
        rc = cx_dead_letter_publish(sh->producer, sh->producer != NULL, r->w->db, &dl, &e);
        pthread_mutex_unlock(&sh->dl_lock);
        if (rc < 0) {
                /* the record must not vanish: keep it and try again */
                cx_log(CX_LOG_ERROR, "deadletter.failed", "could not dead-letter: %s", e.msg);
                *outcome = JOB_LATER;
                *until = exact_now_ms() + 5000;
                snprintf(why, why_size, "dead-letter failed");
                return;
        }
        cx_metrics_label(lab, sizeof(lab), "tenant", dl.tenant);
        cx_counter_add("cx_loader_dead_letters_total", "Commands sent to the dead-letter topic",
                       lab, 1);
        cx_log_fields(CX_LOG_WARN, "command.dead_letter",
                      json_pack("{s:s,s:s,s:s}", "tenant", dl.tenant, "source_id", dl.source_id,
                                "trace_id", dl.trace_id),
                      "dead-lettered: %s", reason);
        *outcome = JOB_DONE;
}

static int load_tenant(run *r)
{
        const char *p[1] = { r->tenant };
        cx_err e = { 0 };
        PGresult *res = cx_db_query(r->w->db,
                                    "SELECT enabled, exact_division, exact_base_url FROM tenants "
                                    "WHERE id = $1",
                                    1, p, &e);

        if (!res) {
                set_step(r, ST_RETRY, 0, "database: %s", e.msg);
                return -1;
        }
        if (PQntuples(res) != 1) {
                PQclear(res);
                set_step(r, ST_FAIL, 0, "unknown tenant \"%s\"", r->tenant);
                return -1;
        }
        if (PQgetvalue(res, 0, 0)[0] != 't') {
                PQclear(res);
                set_step(r, ST_FAIL, 0, "tenant %s is disabled", r->tenant);
                return -1;
        }
        if (PQgetisnull(res, 0, 1)) {
                PQclear(res);
                set_step(r, ST_FAIL, 0, "tenant %s has no Exact division configured", r->tenant);
                return -1;
        }
        r->division = strtol(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(r->base, sizeof(r->base), "%s", PQgetvalue(res, 0, 2));
        {
                size_t n = strlen(r->base);

                while (n > 0 && r->base[n - 1] == '/')
                        r->base[--n] = '\0';
        }
        PQclear(res);
        return 0;
}

static int64_t backoff_ms(const loader_cfg *cfg, int attempt)
{
        int64_t d = cfg->backoff_base_ms;
        unsigned char rnd[2] = { 0, 0 };

        for (int i = 1; i < attempt && d < cfg->backoff_max_ms; i++)
                d *= 2;
        if (d > cfg->backoff_max_ms)
                d = cfg->backoff_max_ms;
        cx_random_bytes(rnd, sizeof(rnd));
        /* full jitter on half the delay: between d/2 and d */
        return d / 2 + (int64_t)(((rnd[0] << 8) | rnd[1]) % (d / 2 + 1));
}

void command_run(worker *w, job *j, job_outcome *outcome, int64_t *until_ms, char *reason,
                 size_t reason_size)
{
        run r;
        char why[300];
        bool locked = false, skipped = false, valid;
        char summary[300] = "";
        struct refdata *rd = NULL;
        char lab[600];

        memset(&r, 0, sizeof(r));
        r.w = w;
        r.j = j;
        r.budget = sched_budget(j);
        *outcome = JOB_DONE;
        *until_ms = 0;
        reason[0] = '\0';
        r.kind = r.source_id = r.trace = "";
        valid = command_parse(j->payload, j->len, j->tenant, &r.cmd, why, sizeof(why)) == 0;
        if (r.cmd) {
                r.kind = jstr(r.cmd, "kind");
                r.source_id = jstr(r.cmd, "source_id");
                r.trace = jstr(r.cmd, "trace_id");
        }
        if (!valid) {
                /* Checked before any call: a bad command costs Exact nothing. */
                dead_letter(&r, why, outcome, until_ms, reason, reason_size);
                goto out;
        }
        r.tenant = jstr(r.cmd, "tenant");
        if (load_tenant(&r) == 0) {
                if (!ledger_try_lock_tenant(w->db, r.tenant)) {
                        set_step(&r, ST_WAIT, exact_now_ms() + 200, "tenant busy in another instance");
                } else {
                        locked = true;
                        rd = NULL;
                        pthread_mutex_lock(&ref_lock);
                        rd = ref_get(&r);
                        pthread_mutex_unlock(&ref_lock);
                        if (!rd) {
                                set_step(&r, ST_RETRY, 0, "out of memory");
                        } else if (validate_vat(&r, rd) == 0) {
                                bool upd_acc = !strcmp(r.kind, "account_upsert");
                                bool upd_item = !strcmp(r.kind, "item_upsert");
                                char g[64];

                                if (upd_acc) {
                                        if (ensure_account(&r, json_object_get(r.cmd, "account"),
                                                           true, g) == 0)
                                                snprintf(summary, sizeof(summary),
                                                         "account %s is %s",
                                                         jstr(json_object_get(r.cmd, "account"),
                                                              "Code"), g);
                                } else if (upd_item) {
                                        json_t *v;
                                        size_t i;
                                        int rc = 0;

                                        json_array_foreach(json_object_get(r.cmd, "items"), i, v) {
                                                if (rc == 0)
                                                        rc = ensure_item(&r, rd, v, true, g);
                                        }
                                        if (rc == 0)
                                                snprintf(summary, sizeof(summary),
                                                         "%zu item(s) in step",
                                                         json_array_size(json_object_get(
                                                                 r.cmd, "items")));
                                } else {
                                        book_document(&r, rd, &skipped, summary, sizeof(summary));
                                }
                        }
                }
        }
        switch (r.st) {
        case ST_OK: {
                int64_t lat = j->kafka_ts_ms > 0 ? exact_now_ms() - j->kafka_ts_ms : 0;

                cx_sync_log(w->db, r.tenant, "load", r.kind, r.source_id, skipped ? "skipped" : "ok",
                            summary, r.trace, NULL);
                label2(lab, sizeof(lab), "kind", r.kind, "result", skipped ? "skipped" : "loaded");
                cx_counter_add("cx_loader_commands_total", "Commands finished", lab, 1);
                if (!skipped && lat >= 0) {
                        cx_counter_add("cx_loader_latency_seconds_sum",
                                       "End-to-end latency (Kafka timestamp to booked), sum", NULL,
                                       (double)lat / 1000.0);
                        cx_counter_add("cx_loader_latency_seconds_count",
                                       "End-to-end latency (Kafka timestamp to booked), count",
                                       NULL, 1);
                        cx_gauge_set("cx_loader_latency_seconds_last",
                                     "End-to-end latency of the last booked command", NULL,
                                     (double)lat / 1000.0);
                }
                cx_log_fields(CX_LOG_INFO, skipped ? "command.skipped" : "command.loaded",
                              json_pack("{s:s,s:s,s:s,s:s,s:i}", "tenant", r.tenant, "kind", r.kind,
                                        "source_id", r.source_id, "trace_id", r.trace, "calls",
                                        r.calls),
                              "%s", summary);
                break;
        }
        case ST_WAIT:
                *outcome = JOB_LATER;
                *until_ms = r.until;
                snprintf(reason, reason_size, "%s", r.reason);
                if (strstr(r.reason, "daily") || strstr(r.reason, "blocked"))
                        save_budget(&r, r.until, r.reason);
                break;
        case ST_RETRY:
                j->attempts++;
                cx_metrics_label(lab, sizeof(lab), "tenant", r.tenant);
                cx_counter_add("cx_loader_retries_total", "Commands tried again after a failure",
                               lab, 1);
                if (j->attempts >= w->sh->cfg.max_attempts) {
                        char msg[800];

                        snprintf(msg, sizeof(msg), "gave up after %d attempts: %s", j->attempts,
                                 r.reason);
                        dead_letter(&r, msg, outcome, until_ms, reason, reason_size);
                        break;
                }
                cx_log_fields(CX_LOG_WARN, "command.retry",
                              json_pack("{s:s,s:s,s:i}", "tenant", r.tenant, "source_id",
                                        r.source_id ? r.source_id : "", "attempt", j->attempts),
                              "%s", r.reason);
                *outcome = JOB_LATER;
                *until_ms = exact_now_ms() + backoff_ms(&w->sh->cfg, j->attempts);
                snprintf(reason, reason_size, "backoff: %s", r.reason);
                break;
        case ST_FAIL:
                dead_letter(&r, r.reason, outcome, until_ms, reason, reason_size);
                break;
        }
out:
        if (locked)
                ledger_unlock_tenant(w->db, r.tenant);
        json_decref(r.cmd);
}
