/* relations: see relations.h. */
#include "loader/relations.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_client.h"
#include "common/journal.h"
#include "common/log.h"
#include "exact/api.h"
#include "loader/command_check.h"
#include "loader/entities.h"
#include "loader/ledger.h"
#include "loader/snapshot.h"

#define jstr command_str

#define SELECT "ID,Code,Name,Email,VATNumber,ChamberOfCommerce,Postcode,Blocked"
#define HASH_MATCHED "matched"
#define HASH_COLLECTIVE "collective"

/* The policy of one command's account (docs/commands.md, account.relation). */
typedef struct policy {
        const char *keys[3]; /* Exact field names, in the order they are tried */
        size_t n_keys;
        char code[32];      /* the Code to post; "" = Exact numbers the relation */
        long long from, to; /* a range to number from (to > 0) */
        bool collective;    /* the B2C collective relation: must exist, never written */
        char key[48];       /* the ledger key */
} policy;

static const struct {
        const char *name, *field;
} MATCH_KEYS[] = { { "vat", "VATNumber" }, { "coc", "ChamberOfCommerce" }, { "email", "Email" } };

static int bad(run *r, const char *what)
{
        run_set(r, RUN_FAIL, 0, "account.relation: %s", what);
        return -1;
}

static int policy_keys(run *r, const json_t *match, policy *p)
{
        size_t i, k;
        json_t *v;

        if (!match) { /* commands of older transformers: the default order */
                for (k = 0; k < 3; k++)
                        p->keys[p->n_keys++] = MATCH_KEYS[k].field;
                return 0;
        }
        if (!json_is_array(match) || json_array_size(match) > 3)
                return bad(r, "match must be a list of at most three of vat, coc, email");
        json_array_foreach (match, i, v) {
                for (k = 0; k < 3 && strcmp(json_string_value(v) ? json_string_value(v) : "",
                                            MATCH_KEYS[k].name) != 0;
                     k++)
                        ;
                if (k == 3)
                        return bad(r, "match must be a list of at most three of vat, coc, email");
                p->keys[p->n_keys++] = MATCH_KEYS[k].field;
        }
        return 0;
}

/* The policy of @p def; a command without "relation" keeps the old behaviour (its Code is
 * posted) but is matched like the default policy. */
static int policy_of(run *r, const json_t *def, policy *p)
{
        const json_t *rel = json_object_get(def, "relation");
        const json_t *code, *range;

        memset(p, 0, sizeof(*p));
        snprintf(p->key, sizeof(p->key), "%s", jstr(def, "Code"));
        if (rel && !json_is_object(rel))
                return bad(r, "must be an object");
        if (!rel) {
                snprintf(p->code, sizeof(p->code), "%s", jstr(def, "Code"));
                return policy_keys(r, NULL, p);
        }
        if (policy_keys(r, json_object_get(rel, "match"), p) < 0)
                return -1;
        p->collective = json_is_true(json_object_get(rel, "collective"));
        if (p->collective) {
                snprintf(p->code, sizeof(p->code), "%s", jstr(def, "Code"));
                snprintf(p->key, sizeof(p->key), "b2c/%s", jstr(def, "Code"));
                return 0;
        }
        code = json_object_get(rel, "code");
        range = json_object_get(rel, "range");
        if (code &&
            (!json_is_string(code) || !json_string_length(code) || json_string_length(code) > 18))
                return bad(r, "code must be text of 1-18 characters");
        if (code)
                snprintf(p->code, sizeof(p->code), "%s", json_string_value(code));
        if (range) {
                p->from = json_integer_value(json_array_get(range, 0));
                p->to = json_integer_value(json_array_get(range, 1));
                if (!json_is_array(range) || json_array_size(range) != 2 || p->from <= 0 ||
                    p->to < p->from || p->to > 999999999999999999LL)
                        return bad(r, "range must be [first, last], positive numbers");
        }
        return 0;
}

/* Values compared the way an accountant would: case, spaces and dots do not count. */
static void norm(const char *field, const char *in, char *out, size_t size)
{
        size_t k = 0;
        bool loose = !strcmp(field, "VATNumber") || !strcmp(field, "ChamberOfCommerce");

        for (; in && *in && k + 1 < size; in++) {
                if (isspace((unsigned char)*in) || (loose && (*in == '.' || *in == '-')))
                        continue;
                out[k++] = (char)tolower((unsigned char)*in);
        }
        out[k] = '\0';
}

static bool same(const json_t *row, const json_t *def, const char *field)
{
        char a[256], b[256];

        norm(field, jstr(row, field), a, sizeof(a));
        norm(field, jstr(def, field), b, sizeof(b));
        return a[0] && !strcmp(a, b);
}

/* "Field eq 'value'" with the value quoted for OData, appended to @p f. */
static void add_eq(char *f, size_t size, const char *field, const char *value)
{
        size_t k = strlen(f);

        if (!value[0] || k + strlen(field) + 16 >= size)
                return;
        k += (size_t)snprintf(f + k, size - k, "%s%s eq '", k ? " or " : "", field);
        for (; *value && k + 4 < size; value++) {
                f[k++] = *value;
                if (*value == '\'')
                        f[k++] = '\'';
        }
        snprintf(f + k, size - k, "'");
}

/* The candidates from the snapshot: the same equalities the filter below asks Exact. */
static int snapshot_of(run *r, const json_t *def, const policy *p, json_t **rows)
{
        const char *v[3] = { NULL, NULL, NULL }; /* VATNumber, ChamberOfCommerce, Email */
        char padded[32] = "", mail[256];

        if (p->code[0])
                exact_pad_account_code(p->code, padded);
        for (size_t i = 0; i < p->n_keys; i++) {
                for (size_t k = 0; k < 3; k++) {
                        if (!strcmp(p->keys[i], MATCH_KEYS[k].field))
                                v[k] = jstr(def, p->keys[i]);
                }
        }
        if (v[2]) {
                norm("Email", v[2], mail, sizeof(mail));
                v[2] = mail;
        }
        return snapshot_accounts(r, padded, v[0], v[1], v[2], NULL, rows);
}

/* The relations that may be this customer: by our code, by each match key, and (after a
 * write in doubt) by name. One GET. */
static int candidates(run *r, const json_t *def, const policy *p, bool doubt, json_t **rows)
{
        char f[2048] = "", padded[32], mail[256];

        if (p->code[0]) {
                exact_pad_account_code(p->code, padded);
                add_eq(f, sizeof(f), "Code", padded);
        }
        for (size_t i = 0; i < p->n_keys; i++) {
                const char *v = jstr(def, p->keys[i]);

                if (!strcmp(p->keys[i], "Email")) {
                        norm("Email", v, mail, sizeof(mail));
                        v = mail;
                }
                add_eq(f, sizeof(f), p->keys[i], v);
        }
        if (doubt)
                add_eq(f, sizeof(f), "Name", jstr(def, "Name"));
        if (!f[0]) {
                *rows = json_array();
                return 0;
        }
        /* after a write in doubt only Exact can say what our lost answer created */
        if (!doubt && snapshot_on(r))
                return snapshot_of(r, def, p, rows);
        return run_get_rows(r, "crm/Accounts", f, SELECT, "crm/Accounts (matching)", rows);
}

static const char *trimmed(const char *s, char *buf, size_t size)
{
        size_t n;

        while (*s == ' ')
                s++;
        snprintf(buf, size, "%s", s);
        n = strlen(buf);
        while (n && buf[n - 1] == ' ')
                buf[--n] = '\0';
        return buf;
}

/* Whether @p row is the same customer as @p def (for a relation that has our code). */
static bool identity(const json_t *row, const json_t *def)
{
        return same(row, def, "VATNumber") || same(row, def, "ChamberOfCommerce") ||
               same(row, def, "Email") || (same(row, def, "Name") && same(row, def, "Postcode"));
}

/* The outcome of looking at the candidates. */
typedef struct verdict {
        const json_t *row; /* the relation to link, or NULL */
        const char *by;    /* how it was found */
        bool collision;    /* a relation of another customer has our code */
} verdict;

static int judge(run *r, const json_t *def, const policy *p, bool doubt, const json_t *rows,
                 verdict *v)
{
        char c1[32], c2[32], code[32];
        const json_t *row, *by_code = NULL;
        size_t i;

        memset(v, 0, sizeof(*v));
        for (size_t k = 0; k < p->n_keys; k++) {
                const json_t *hit = NULL, *second = NULL;

                json_array_foreach (rows, i, row) {
                        if (json_is_true(json_object_get(row, "Blocked")) ||
                            !same(row, def, p->keys[k]))
                                continue;
                        if (hit)
                                second = row;
                        else
                                hit = row;
                }
                if (second) {
                        if (strcmp(jstr(hit, "Code"), jstr(second, "Code")) > 0) {
                                const json_t *t = hit; /* padded codes: the lower one first */

                                hit = second;
                                second = t;
                        }
                        run_set(r, RUN_FAIL, 0,
                                "more than one relation in Exact division %ld has %s %s: codes %s "
                                "(%s) and %s (%s); block or merge the duplicate in Exact, then "
                                "redrive",
                                r->division, p->keys[k], jstr(def, p->keys[k]),
                                trimmed(jstr(hit, "Code"), c1, sizeof(c1)), jstr(hit, "Name"),
                                trimmed(jstr(second, "Code"), c2, sizeof(c2)),
                                jstr(second, "Name"));
                        return -1;
                }
                if (hit) {
                        v->row = hit;
                        v->by = p->keys[k];
                        return 0;
                }
        }
        json_array_foreach (rows, i, row) {
                if (p->code[0] && !strcmp(trimmed(jstr(row, "Code"), code, sizeof(code)), p->code))
                        by_code = row;
                else if (doubt && !v->row && same(row, def, "Name") && same(row, def, "Postcode"))
                        v->row = row, v->by = "Name";
        }
        if (by_code && identity(by_code, def)) {
                v->row = by_code;
                v->by = "Code";
        } else if (by_code) {
                v->row = NULL;
                v->collision = true;
        }
        return 0;
}

/* The next free code of the policy's range: one above the highest code in it. */
static int next_in_range(run *r, policy *p)
{
        char lo[32], hi[32], from[24], to[24], *enc, *q = NULL, f[128], code[32];
        exact_result res;
        cx_err e = { 0 };
        long long top;
        int rc;

        snprintf(from, sizeof(from), "%lld", p->from);
        snprintf(to, sizeof(to), "%lld", p->to);
        exact_pad_account_code(from, lo);
        exact_pad_account_code(to, hi);
        snprintf(f, sizeof(f), "Code ge '%s' and Code le '%s'", lo, hi);
        enc = cx_http_escape(f);
        if (!enc || asprintf(&q, "$filter=%s&$select=Code&$orderby=Code%%20desc&$top=1", enc) < 0) {
                free(enc);
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        free(enc);
        rc = run_api(r, "GET", "crm/Accounts", NULL, q, NULL, &res);
        free(q);
        if (rc < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, "crm/Accounts (code range)", &e);
                exact_result_clear(&res);
                return run_fail_with(r, &e);
        }
        trimmed(jstr(json_array_get(exact_rows(&res), 0), "Code"), code, sizeof(code));
        exact_result_clear(&res);
        top = code[0] ? strtoll(code, NULL, 10) : p->from - 1;
        if (top >= p->to) {
                run_set(r, RUN_FAIL, 0,
                        "the relation code range %lld-%lld (rules relation_codes) is full in "
                        "Exact division %ld: widen the range in the rules, then redrive",
                        p->from, p->to, r->division);
                return -1;
        }
        snprintf(p->code, sizeof(p->code), "%lld", top + 1);
        return 0;
}

/* What is POSTed or PUT: the command's account without our members, Code as the policy
 * says (none: Exact numbers the relation). */
static json_t *body_of(const json_t *def, const policy *p)
{
        json_t *b = json_deep_copy(def);

        json_object_del(b, "contact");
        json_object_del(b, "relation");
        json_object_del(b, "Code");
        if (p->code[0])
                json_object_set_new(b, "Code", json_string(p->code));
        return b;
}

static int create(run *r, const json_t *def, policy *p, const char *hash, char guid[64])
{
        char what[200], code[32];
        exact_result res;
        cx_err e = { 0 };
        json_t *body;
        int rc;

        if (p->to > 0 && !p->code[0] && next_in_range(r, p) < 0)
                return -1;
        body = body_of(def, p);
        snprintf(what, sizeof(what), "account %s", p->key);
        rc = run_write(r, "account", p->key, p->key, hash, "POST", "crm/Accounts", NULL, body, what,
                       &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(guid, 64, "%s", jstr(res.d, "ID"));
        trimmed(jstr(res.d, "Code"), code, sizeof(code));
        if (guid[0])
                snapshot_put_account(r, res.d);
        exact_result_clear(&res);
        if (!guid[0]) {
                run_set(r, RUN_RETRY, 0, "%s created without an ID in the answer", what);
                return -1;
        }
        /* the ledger keeps the GUID, and Exact's code as the number */
        if (ledger_done(r->w->db, r->tenant, "account", p->key, guid,
                        code[0] && strlen(code) <= 18 ? strtoll(code, NULL, 10) : -1, hash,
                        r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

static int put(run *r, const json_t *def, const policy *p, const char *hash, const char *guid)
{
        policy none = *p;
        char keypath[80], what[200];
        exact_result res;
        cx_err e = { 0 };
        json_t *body;
        int rc;

        none.code[0] = '\0'; /* Exact refuses any PUT of Code */
        body = body_of(def, &none);
        snprintf(keypath, sizeof(keypath), "(guid'%s')", guid);
        snprintf(what, sizeof(what), "account %s", p->key);
        rc = run_write(r, "account", p->key, p->key, hash, "PUT", "crm/Accounts", keypath, body,
                       what, &res);
        if (rc == 0) {
                json_object_set_new(body, "ID", json_string(guid));
                snapshot_put_account(r, body); /* no Code: the one held stays */
        }
        json_decref(body);
        if (rc < 0)
                return -1;
        exact_result_clear(&res);
        if (ledger_done(r->w->db, r->tenant, "account", p->key, guid, -1, hash, r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

/* The collective relation: found by its code, never created or written. */
static int collective(run *r, const policy *p, char guid[64])
{
        char padded[32], *q;
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        json_t *row;

        guid[0] = '\0';
        exact_pad_account_code(p->code, padded);
        if (snapshot_on(r)) {
                json_t *rows;

                if (snapshot_accounts(r, padded, NULL, NULL, NULL, NULL, &rows) < 0)
                        return -1;
                snprintf(guid, 64, "%s", jstr(json_array_get(rows, 0), "ID"));
                json_decref(rows);
        }
        if (!guid[0]) { /* not in the snapshot (or none kept): Exact says */
                q = exact_filter_eq("Code", padded, "ID,Code");
                if (exact_lookup(&rd, "crm/Accounts", q, "the collective relation", &row, &e) < 0) {
                        free(q);
                        return run_fail_with(r, &e);
                }
                free(q);
                snprintf(guid, 64, "%s", jstr(row, "ID"));
                json_decref(row);
        }
        if (!guid[0]) {
                run_set(r, RUN_FAIL, 0,
                        "the collective relation %s for consumer orders (rules "
                        "b2c_collective_account) does not exist in Exact division %ld: create it "
                        "in Exact or change the rules, then redrive",
                        p->code, r->division);
                return -1;
        }
        if (ledger_done(r->w->db, r->tenant, "account", p->key, guid, -1, HASH_COLLECTIVE, r->trace,
                        &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

/* A relation found in Exact is linked; the sync log says which and why. */
static int link_found(run *r, const policy *p, const verdict *v, bool ours, const char *hash,
                      char guid[64])
{
        char msg[400], code[32];
        cx_err e = { 0 };

        snprintf(guid, 64, "%s", jstr(v->row, "ID"));
        trimmed(jstr(v->row, "Code"), code, sizeof(code));
        if (ledger_done(r->w->db, r->tenant, "account", p->key, guid,
                        code[0] ? strtoll(code, NULL, 10) : -1, ours ? hash : HASH_MATCHED,
                        r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        if (ours)
                return 0;
        snprintf(msg, sizeof(msg),
                 "shop customer %s linked to the existing relation %s (%s) in Exact, found by "
                 "%s; its fields are left as they are",
                 p->key, code, jstr(v->row, "Name"), v->by);
        cx_sync_log(r->w->db, r->tenant, "load", "account", p->key, "info", msg, r->trace, NULL);
        return 0;
}

/* Not in the ledger yet: match, or create (with Exact's or the range's code after a code
 * collision: another customer's relation is never adopted). */
static int find_or_create(run *r, const json_t *def, policy *p, const ledger_row *L,
                          const char *hash, char guid[64], bool *created, bool *owned, bool again)
{
        json_t *rows = NULL;
        verdict v;
        int rc;

        if (candidates(r, def, p, L->in_doubt, &rows) < 0)
                return -1;
        rc = judge(r, def, p, L->in_doubt, rows, &v);
        if (rc == 0 && v.row) {
                /* after our own write in doubt, what matches is what we created */
                *owned = L->in_doubt;
                rc = link_found(r, p, &v, L->in_doubt, hash, guid);
                json_decref(rows);
                return rc;
        }
        json_decref(rows);
        if (rc < 0)
                return -1;
        if (v.collision) {
                char msg[300];

                snprintf(msg, sizeof(msg),
                         "code %s belongs to another relation in Exact; shop customer %s gets "
                         "%s",
                         p->code, p->key,
                         p->to > 0 ? "the next code of the range"
                                   : "a code "
                                     "numbered by "
                                     "Exact");
                cx_sync_log(r->w->db, r->tenant, "load", "account", p->key, "info", msg, r->trace,
                            NULL);
                p->code[0] = '\0';
        }
        *owned = *created = true;
        if (create(r, def, p, hash, guid) == 0)
                return 0;
        if (again || !p->code[0] || !entity_code_exists(r))
                return -1;
        /* Exact has our code already (the answer to an earlier POST lost, or the relation
         * created since the look-up): judged again as after a write in doubt, so our own
         * relation is linked and another customer's makes us take another code. */
        {
                ledger_row doubt = *L;

                cx_log_fields(CX_LOG_INFO, "relation.code_exists",
                              json_pack("{s:s,s:s}", "tenant", r->tenant, "key", p->key),
                              "account %s: Exact has its code already, looking again", p->key);
                r->st = RUN_OK;
                r->reason[0] = '\0';
                doubt.in_doubt = true;
                *owned = *created = false;
                return find_or_create(r, def, p, &doubt, hash, guid, created, owned, true);
        }
}

int relation_resolve(run *r, const json_t *def, bool update, char guid[64], bool *created,
                     bool *owned)
{
        json_t *body;
        ledger_row L;
        cx_err e = { 0 };
        policy p;
        char hash[80];

        *created = *owned = false;
        if (policy_of(r, def, &p) < 0)
                return -1;
        /* the hash of what the command says, so an unchanged definition costs no call */
        body = json_deep_copy(def);
        json_object_del(body, "contact");
        ledger_content_hash(body, hash);
        json_decref(body);
        if (ledger_get(r->w->db, r->tenant, "account", p.key, &L, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", L.guid);
                if (!strcmp(L.content_hash, HASH_MATCHED) ||
                    !strcmp(L.content_hash, HASH_COLLECTIVE))
                        return 0; /* the accountant's relation: never written */
                *owned = true;
                return update && strcmp(L.content_hash, hash) != 0 ? put(r, def, &p, hash, guid)
                                                                   : 0;
        }
        if (L.in_doubt && run_doubt_wait(r, L.intent_ms))
                return -1;
        if (p.collective)
                return collective(r, &p, guid);
        return find_or_create(r, def, &p, &L, hash, guid, created, owned, false);
}
