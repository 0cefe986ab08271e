/* entities: see entities.h. */
#include "loader/entities.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "exact/api.h"
#include "loader/command_check.h"
#include "loader/ledger.h"
#include "loader/prices.h"
#include "loader/relations.h"
#include "loader/snapshot.h"

#define jstr command_str

typedef struct ent_spec {
        const char *kind; /* ledger kind */
        const char *endpoint;
        const char *id_field;
        const char *label; /* for messages */
} ent_spec;

static const ent_spec SPEC_CONTACT = { "contact", "crm/Contacts", "ID", "contact" };
static const ent_spec SPEC_ITEM = { "item", "logistics/Items", "ID", "item" };

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

/* The GUID (or "") of the first entity @p query finds. */
static int find_entity(run *r, const ent_spec *s, const char *query, const char *what,
                       char guid[64])
{
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        json_t *row;

        if (exact_lookup(&rd, s->endpoint, query, what, &row, &e) < 0)
                return run_fail_with(r, &e);
        snprintf(guid, 64, "%s", jstr(row, s->id_field));
        json_decref(row);
        return 0;
}

static int create_entity(run *r, const ent_spec *s, const char *key, const json_t *body,
                         const char *hash, const char *what, bool *created, char guid[64])
{
        exact_result res;
        cx_err e = { 0 };

        if (run_write(r, s->kind, key, key, hash, "POST", s->endpoint, NULL, body, what, &res) < 0)
                return -1;
        snprintf(guid, 64, "%s", jstr(res.d, s->id_field));
        exact_result_clear(&res);
        if (!guid[0]) {
                run_set(r, RUN_RETRY, 0, "%s created without an ID in the answer", what);
                return -1;
        }
        if (s == &SPEC_ITEM)
                snapshot_put_item(r, guid, key);
        if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1, hash, r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        if (created)
                *created = true;
        return 0;
}

static int put_entity(run *r, const ent_spec *s, const char *key, const json_t *body,
                      const char *hash, const char *what, const char *guid)
{
        json_t *put = put_body_of(s, body);
        char keypath[80];
        exact_result res;
        cx_err e = { 0 };
        int rc;

        snprintf(keypath, sizeof(keypath), "(guid'%s')", guid);
        /* a PUT repeats safely, so a doubtful one is simply sent again */
        rc = run_write(r, s->kind, key, key, hash, "PUT", s->endpoint, keypath, put, what, &res);
        json_decref(put);
        if (rc < 0)
                return -1;
        exact_result_clear(&res);
        if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1, hash, r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

/* Whether the run failed on Exact's answer to a POST of a code it holds already. */
bool entity_code_exists(const run *r)
{
        return r->st == RUN_FAIL && strstr(r->reason, "Already exists: Code") != NULL;
}

/*
 * The POST of @p key was refused because Exact has its code already: the answer to an earlier
 * POST of ours was lost (a resent request), or someone created it since the look-up. Either
 * way the entity with our code is the one to use, as the look-up before the POST would have
 * found it; look it up and put its GUID in @p guid (the verdict is cleared then).
 */
static int adopt_existing(run *r, const ent_spec *s, const char *key, const char *lookup,
                          const char *what, char guid[64])
{
        char reason[sizeof(r->reason)];

        snprintf(reason, sizeof(reason), "%s", r->reason);
        r->st = RUN_OK;
        r->reason[0] = '\0';
        guid[0] = '\0';
        if (find_entity(r, s, lookup, what, guid) < 0)
                return -1;
        if (!guid[0]) {
                run_set(r, RUN_RETRY, 0, "%s: Exact has its code but the look-up finds none (%s)",
                        what, reason);
                return -1;
        }
        if (s == &SPEC_ITEM)
                snapshot_put_item(r, guid, key);
        cx_log_fields(CX_LOG_INFO, "entity.adopted",
                      json_pack("{s:s,s:s,s:s}", "tenant", r->tenant, "kind", s->kind, "key", key),
                      "%s existed in Exact already: linked", what);
        return 0;
}

static int ensure_in_exact(run *r, const ent_spec *s, const char *key, const json_t *body,
                           const char *lookup, bool update, bool skip_lookup, bool *created,
                           char guid[64])
{
        ledger_row L;
        cx_err e = { 0 };
        char hash[80], what[200];

        if (!body || !lookup) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        snprintf(what, sizeof(what), "%s %s", s->label, key);
        ledger_content_hash(body, hash);
        if (ledger_get(r->w->db, r->tenant, s->kind, key, &L, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state != LEDGER_DONE) {
                if (L.in_doubt && run_doubt_wait(r, L.intent_ms))
                        return -1;
                /* Master data may exist in Exact already (or from a write in doubt); a
                 * contact of an account created just now cannot, so it costs no look-up. */
                guid[0] = '\0';
                if (skip_lookup && L.state == LEDGER_ABSENT)
                        ;
                else if (s == &SPEC_ITEM && !L.in_doubt && snapshot_on(r)) {
                        /* after a write in doubt only Exact can say what it created */
                        if (snapshot_item(r, key, guid) < 0)
                                return -1;
                } else if (find_entity(r, s, lookup, what, guid) < 0) {
                        return -1;
                }
                if (!guid[0]) {
                        if (create_entity(r, s, key, body, hash, what, created, guid) == 0)
                                return 0;
                        if (!entity_code_exists(r) ||
                            adopt_existing(r, s, key, lookup, what, guid) < 0)
                                return -1;
                }
                /* found: with update, an empty hash makes the PUT below happen */
                if (ledger_done(r->w->db, r->tenant, s->kind, key, guid, -1, update ? "" : hash,
                                r->trace, &e) < 0)
                        return run_ledger_error(r, &e);
                if (!update)
                        return 0;
                snprintf(L.guid, sizeof(L.guid), "%s", guid);
                L.content_hash[0] = '\0';
        }
        snprintf(guid, 64, "%s", L.guid);
        if (update && strcmp(L.content_hash, hash) != 0)
                return put_entity(r, s, key, body, hash, what, guid);
        return 0;
}

/*
 * Make sure the entity @p key of @p s exists in Exact and put its GUID in @p guid.
 * @p body is what to POST; @p lookup the query that finds it by its natural key (both are
 * taken over and freed; NULL when out of memory). With @p update, an existing entity whose
 * definition changed (content hash) gets a PUT.
 */
static int ensure_entity(run *r, const ent_spec *s, const char *key, json_t *body, char *lookup,
                         bool update, bool skip_lookup, bool *created, char guid[64])
{
        int rc = ensure_in_exact(r, s, key, body, lookup, update, skip_lookup, created, guid);

        json_decref(body);
        free(lookup);
        return rc;
}

int entity_account(run *r, const json_t *def, bool update, char guid[64])
{
        json_t *contact = json_object_get(def, "contact");
        json_t *body;
        char cguid[64];
        bool fresh = false, owned = false;

        if (relation_resolve(r, def, update, guid, &fresh, &owned) < 0)
                return -1;
        /* a matched or collective relation is the accountant's: no contact is added or changed */
        if (!owned || !json_is_object(contact))
                return 0;
        body = json_deep_copy(contact);
        json_object_set_new(body, "Account", json_string(guid));
        return ensure_entity(r, &SPEC_CONTACT, jstr(def, "Code"), body,
                             exact_filter_guid("Account", guid, "ID"), update, fresh, NULL, cguid);
}

/* Item definition as Exact takes it: item group code -> GUID; the shop price goes to the
 * item's usual SalesItemPrices row (prices.h), since StandardSalesPrice is read-only. */
int entity_item(run *r, exact_refdata *rd, const json_t *def, bool update, char guid[64])
{
        const char *code = jstr(def, "Code");
        json_t *body = json_deep_copy(def);
        json_t *price = json_object_get(def, "SalesPrice");
        const char *group = json_string_value(json_object_get(def, "ItemGroup"));

        json_object_del(body, "SalesPrice");
        if (group && *group) {
                exact_reader reader = run_reader(r);
                cx_err e = { 0 };
                char g[64];

                if (exact_refdata_guid(rd, &reader, EXACT_REF_ITEM_GROUP, group, g, &e) < 0) {
                        json_decref(body);
                        return run_fail_with(r, &e);
                }
                json_object_set_new(body, "ItemGroup", json_string(g));
        }
        if (ensure_entity(r, &SPEC_ITEM, code, body, exact_filter_eq("Code", code, "ID,Code"),
                          update, false, NULL, guid) < 0)
                return -1;
        return json_is_number(price) ? price_ensure(r, code, guid, json_number_value(price)) : 0;
}

int entity_known_item(run *r, const char *code, char guid[64])
{
        ledger_row L = { 0 };
        cx_err e = { 0 };
        char *q;
        int rc;

        guid[0] = '\0';
        if (ledger_get(r->w->db, r->tenant, "item", code, &L, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", L.guid);
                return 0;
        }
        if (snapshot_on(r) && snapshot_item(r, code, guid) < 0)
                return -1;
        if (!guid[0]) { /* created in Exact since the snapshot's refresh, maybe */
                q = exact_filter_eq("Code", code, "ID,Code");
                rc = find_entity(r, &SPEC_ITEM, q, "logistics/Items", guid);
                free(q);
                if (rc < 0)
                        return -1;
        }
        if (!guid[0]) {
                run_set(r, RUN_FAIL, 0,
                        "item %s is used by a line but neither defined by the "
                        "command nor present in Exact",
                        code);
                return -1;
        }
        if (ledger_done(r->w->db, r->tenant, "item", code, guid, -1, "", r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}
