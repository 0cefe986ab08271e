#include "transformer/rules_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "taxstate/oss_state.h"

struct cached_rules {
        char *tenant;
        long version; /* mapping_rules.version, -1 when there are none */
        bool enabled;
        rules *rules;
        char why[256]; /* why rules is NULL */
        long long checked_at;
        struct cached_rules *next;
};

struct rules_store {
        cx_db *db;
        int refresh_ms;
        struct cached_rules *list;
};

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

rules_store *rules_store_new(cx_db *db, int refresh_ms)
{
        rules_store *s = calloc(1, sizeof(*s));

        if (s) {
                s->db = db;
                s->refresh_ms = refresh_ms;
        }
        return s;
}

static void drop(struct cached_rules *c)
{
        rules_free(c->rules);
        free(c->tenant);
        free(c);
}

void rules_store_free(rules_store *s)
{
        if (!s)
                return;
        while (s->list) {
                struct cached_rules *c = s->list;

                s->list = c->next;
                drop(c);
        }
        free(s);
}

/* Read tenant and rules row; fill c. Returns -1 only on database errors. */
static int load(rules_store *s, struct cached_rules *c, cx_err *err)
{
        const char *params[1] = { c->tenant };
        PGresult *r = cx_db_query(s->db,
                                  "SELECT t.enabled, m.version, m.rules::text FROM tenants t"
                                  " LEFT JOIN mapping_rules m ON m.tenant_id = t.id"
                                  " WHERE t.id = $1",
                                  1, params, err);
        char perr[256];

        if (!r)
                return -1;
        rules_free(c->rules);
        c->rules = NULL;
        c->why[0] = '\0';
        if (PQntuples(r) == 0) {
                c->version = -2;
                snprintf(c->why, sizeof(c->why), "unknown tenant \"%s\"", c->tenant);
        } else if (PQgetisnull(r, 0, 1)) {
                c->version = -1;
                c->enabled = PQgetvalue(r, 0, 0)[0] == 't';
                snprintf(c->why, sizeof(c->why),
                         "tenant \"%s\" has no mapping rules: import a rules file", c->tenant);
        } else {
                c->enabled = PQgetvalue(r, 0, 0)[0] == 't';
                c->version = strtol(PQgetvalue(r, 0, 1), NULL, 10);
                c->rules = rules_parse(PQgetvalue(r, 0, 2), perr, sizeof(perr));
                if (c->rules && rules_validate(c->rules, perr, sizeof(perr)) < 0) {
                        rules_free(c->rules);
                        c->rules = NULL;
                }
                if (!c->rules)
                        snprintf(c->why, sizeof(c->why),
                                 "mapping rules of \"%.40s\" are invalid: %.180s", c->tenant, perr);
                else
                        cx_log_fields(CX_LOG_INFO, "rules.loaded",
                                      json_pack("{s:s, s:i}", "tenant", c->tenant, "version",
                                                (int)c->version),
                                      "mapping rules loaded");
        }
        PQclear(r);
        return 0;
}

/* Cheap check, at most every refresh_ms per tenant: has the version or the flag changed? */
static int stale(rules_store *s, struct cached_rules *c, bool *changed, cx_err *err)
{
        const char *params[1] = { c->tenant };
        PGresult *r = cx_db_query(s->db,
                                  "SELECT t.enabled, coalesce(m.version, -1) FROM tenants t"
                                  " LEFT JOIN mapping_rules m ON m.tenant_id = t.id"
                                  " WHERE t.id = $1",
                                  1, params, err);
        long version;
        bool enabled;

        if (!r)
                return -1;
        if (PQntuples(r) == 0) {
                *changed = c->version != -2;
        } else {
                enabled = PQgetvalue(r, 0, 0)[0] == 't';
                version = strtol(PQgetvalue(r, 0, 1), NULL, 10);
                *changed = version != c->version || enabled != c->enabled;
        }
        PQclear(r);
        return 0;
}

const rules *rules_store_get(rules_store *s, const char *tenant, char *why, size_t why_size,
                             cx_err *err)
{
        struct cached_rules *c;
        bool changed = false;

        why[0] = '\0';
        for (c = s->list; c; c = c->next)
                if (!strcmp(c->tenant, tenant))
                        break;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c || !(c->tenant = strdup(tenant))) {
                        free(c);
                        cx_fail(err, CX_ERR_DB, true, "out of memory");
                        return NULL;
                }
                if (load(s, c, err) < 0) {
                        drop(c);
                        return NULL;
                }
                c->next = s->list;
                s->list = c;
                c->checked_at = now_ms();
        } else if (now_ms() - c->checked_at >= s->refresh_ms) {
                /* A version check per tenant per period keeps the database off the hot path
                 * while an edit still applies within refresh_ms. */
                if (stale(s, c, &changed, err) < 0)
                        return NULL;
                if (changed && load(s, c, err) < 0)
                        return NULL;
                c->checked_at = now_ms();
        }
        if (c->version >= 0 && !c->enabled) {
                snprintf(why, why_size, "tenant \"%s\" is disabled", tenant);
                return NULL;
        }
        if (!c->rules)
                snprintf(why, why_size, "%s", c->why);
        return c->rules;
}

/* The running totals live in taxstate/oss_state.c, which the panel's preview reads too. */
int rules_store_oss_ytd(rules_store *s, const char *tenant, int year, const char *source_id,
                        long long *cents, cx_err *err)
{
        return oss_state_ytd(s->db, tenant, year, source_id, cents, err);
}

int rules_store_oss_add(rules_store *s, const char *tenant, int year, const char *source_id,
                        long long cents, cx_err *err)
{
        return oss_state_add(s->db, tenant, year, source_id, cents, err);
}
