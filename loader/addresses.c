/* addresses: see addresses.h. */
#include "loader/addresses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/metrics.h"
#include "loader/command_check.h"
#include "loader/ledger.h"

#define jstr command_str

static const char *const ADDRESS_FIELDS[] = { "AddressLine1", "AddressLine2", "AddressLine3",
                                              "Postcode",     "City",         "State",
                                              "Country" };

/* Text as Exact may give it back: padded ("NL "), or null for empty. */
static bool same_text(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        while (la > 0 && a[la - 1] == ' ')
                la--;
        while (lb > 0 && b[lb - 1] == ' ')
                lb--;
        return la == lb && strncasecmp(a, b, la) == 0;
}

/* 'text' as an OData literal. */
static char *odata_quote(const char *s)
{
        char *q = malloc(strlen(s) * 2 + 3);
        size_t k = 0;

        if (!q)
                return NULL;
        q[k++] = '\'';
        for (; *s; s++) {
                q[k++] = *s;
                if (*s == '\'')
                        q[k++] = '\'';
        }
        q[k++] = '\'';
        q[k] = '\0';
        return q;
}

/* After a write in doubt: the account's delivery address with these fields, "" when none. */
static int find_address(run *r, const char *acc_guid, const json_t *def, char guid[64])
{
        char *line = odata_quote(jstr(def, "AddressLine1"));
        char *filter = NULL;
        json_t *rows = NULL, *row;
        size_t i, k;
        int rc;

        guid[0] = '\0';
        if (!line || asprintf(&filter, "Account eq guid'%s' and Type eq 4 and AddressLine1 eq %s",
                              acc_guid, line) < 0) {
                free(line);
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        free(line);
        rc = run_get_rows(r, "crm/Addresses", filter,
                          "ID,AddressLine1,AddressLine2,AddressLine3,Postcode,City,State,Country",
                          "delivery address look-up", &rows);
        free(filter);
        if (rc < 0)
                return -1;
        json_array_foreach (rows, i, row) {
                bool same = true;

                for (k = 0; same && k < sizeof(ADDRESS_FIELDS) / sizeof(ADDRESS_FIELDS[0]); k++)
                        same = same_text(jstr(row, ADDRESS_FIELDS[k]),
                                         jstr(def, ADDRESS_FIELDS[k]));
                if (same) {
                        snprintf(guid, 64, "%s", jstr(row, "ID"));
                        break;
                }
        }
        json_decref(rows);
        return 0;
}

static int post_address(run *r, const char *key, const char *hash, const char *acc_guid,
                        const json_t *def, char guid[64])
{
        json_t *body = json_deep_copy(def);
        exact_result res;
        char what[200];
        int rc;

        if (!body) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        json_object_set_new(body, "Account", json_string(acc_guid));
        json_object_set_new(body, "Main", json_false());
        snprintf(what, sizeof(what), "delivery address %s", key);
        rc = run_write(r, "address", key, key, hash, "POST", "crm/Addresses", NULL, body, what,
                       &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(guid, 64, "%s", jstr(res.d, "ID"));
        exact_result_clear(&res);
        if (!guid[0]) {
                run_set(r, RUN_RETRY, 0, "%s created without an ID in the answer", what);
                return -1;
        }
        return 0;
}

int address_ensure(run *r, const char *acc_code, const char *acc_guid, const json_t *def,
                   char guid[64])
{
        char hash[80], key[128];
        ledger_row L;
        cx_err e = { 0 };

        ledger_content_hash(def, hash);
        /* one row per account and place; 16 hex digits of the hash tell places apart */
        snprintf(key, sizeof(key), "%s/%.16s", acc_code, hash + strlen("sha256:"));
        if (ledger_get(r->w->db, r->tenant, "address", key, &L, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", L.guid);
                return 0;
        }
        guid[0] = '\0';
        if (L.in_doubt) {
                if (run_doubt_wait(r, L.intent_ms) || find_address(r, acc_guid, def, guid) < 0)
                        return -1;
                if (guid[0])
                        cx_counter_add("cx_loader_duplicates_avoided_total",
                                       "Writes in doubt that turned out to have happened", NULL, 1);
        }
        if (!guid[0] && post_address(r, key, hash, acc_guid, def, guid) < 0)
                return -1;
        if (ledger_done(r->w->db, r->tenant, "address", key, guid, -1, hash, r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}
