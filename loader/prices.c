/* prices: see prices.h. */
#include "loader/prices.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/metrics.h"
#include "loader/command_check.h"
#include "loader/ledger.h"

#define jstr command_str

#define PRICES_EP "logistics/SalesItemPrices"

/* "/Date(ms)/" as ms; @p dflt when absent or unreadable. */
static int64_t date_ms(const json_t *row, const char *k, int64_t dflt)
{
        const char *s = jstr(row, k);
        long long ms;

        return sscanf(s, "/Date(%lld", &ms) == 1 ? (int64_t)ms : dflt;
}

static bool same_unit(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        while (la > 0 && a[la - 1] == ' ')
                la--;
        while (lb > 0 && b[lb - 1] == ' ')
                lb--;
        return !la || !lb || (la == lb && strncmp(a, b, la) == 0);
}

/* The usual row active today: no account, EUR, no minimum quantity, the item's own unit, in
 * its date window (EndDate counts as a whole day); the latest StartDate wins. */
static json_t *usual_row(json_t *rows)
{
        int64_t now = exact_now_ms(), today = now - now % 86400000, best_start = INT64_MIN;
        json_t *best = NULL, *row;
        size_t i;

        json_array_foreach (rows, i, row) {
                const char *cur = jstr(row, "Currency");
                int64_t start = date_ms(row, "StartDate", INT64_MIN);

                if (jstr(row, "Account")[0] || (cur[0] && strcmp(cur, "EUR")) ||
                    json_number_value(json_object_get(row, "Quantity")) != 0 ||
                    !same_unit(jstr(row, "Unit"), jstr(row, "DefaultItemUnit")) || start > now ||
                    date_ms(row, "EndDate", INT64_MAX) < today)
                        continue;
                if (!best || start >= best_start) {
                        best = row;
                        best_start = start;
                }
        }
        return best;
}

static int put_price(run *r, const char *code, const char *hash, const char *row_guid, double price)
{
        json_t *body = json_pack("{s:f}", "Price", price);
        char keypath[80], what[160];
        exact_result res;
        int rc;

        snprintf(keypath, sizeof(keypath), "(guid'%s')", row_guid);
        snprintf(what, sizeof(what), "sales price of item %s", code);
        /* a PUT repeats safely, so one in doubt is simply sent again */
        rc = run_write(r, "item_price", code, code, hash, "PUT", PRICES_EP, keypath, body, what,
                       &res);
        json_decref(body);
        if (rc == 0)
                exact_result_clear(&res);
        return rc;
}

/* No usual row at all: a new one in the item's unit, from today (UTC: never later than the
 * day in Exact's zone, so it is active at once). */
static int post_price(run *r, const char *code, const char *hash, const char *item_guid,
                      double price, char row_guid[64])
{
        exact_reader rd = run_reader(r);
        time_t now = (time_t)(exact_now_ms() / 1000);
        char today[16], what[160];
        json_t *item = NULL, *body;
        exact_result res;
        struct tm tm;
        cx_err e = { 0 };
        int rc;

        if (exact_lookup(&rd, "logistics/Items", exact_filter_guid("ID", item_guid, "ID,Unit"),
                         "item unit look-up", &item, &e) < 0)
                return run_fail_with(r, &e);
        gmtime_r(&now, &tm);
        strftime(today, sizeof(today), "%Y-%m-%d", &tm);
        body = json_pack("{s:s,s:f,s:s,s:s}", "Item", item_guid, "Price", price, "Currency", "EUR",
                         "StartDate", today);
        if (jstr(item, "Unit")[0])
                json_object_set_new(body, "Unit", json_string(jstr(item, "Unit")));
        json_decref(item);
        snprintf(what, sizeof(what), "sales price of item %s", code);
        rc = run_write(r, "item_price", code, code, hash, "POST", PRICES_EP, NULL, body, what,
                       &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(row_guid, 64, "%s", jstr(res.d, "ID"));
        exact_result_clear(&res);
        if (!row_guid[0]) {
                run_set(r, RUN_RETRY, 0, "%s created without an ID in the answer", what);
                return -1;
        }
        return 0;
}

/* Not in the ledger (or a write in doubt): find the usual row, then set its price. */
static int settle_price(run *r, const char *code, const char *hash, const char *item_guid,
                        double price, char row_guid[64])
{
        json_t *rows, *row;
        char *filter = NULL;
        int rc = 0;

        if (asprintf(&filter, "Item eq guid'%s'", item_guid) < 0) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        rc = run_get_rows(r, PRICES_EP, filter,
                          "ID,Account,Currency,Quantity,StartDate,EndDate,Price,Unit,"
                          "DefaultItemUnit",
                          "sales price look-up", &rows);
        free(filter);
        if (rc < 0)
                return -1;
        row = usual_row(rows);
        if (!row) {
                json_decref(rows);
                return post_price(r, code, hash, item_guid, price, row_guid);
        }
        snprintf(row_guid, 64, "%s", jstr(row, "ID"));
        if (fabs(json_number_value(json_object_get(row, "Price")) - price) >= 0.0000005)
                rc = put_price(r, code, hash, row_guid, price);
        json_decref(rows);
        return rc;
}

int price_ensure(run *r, const char *code, const char *item_guid, double price)
{
        json_t *def = json_pack("{s:s,s:f,s:s}", "Item", item_guid, "Price", price, "Currency",
                                "EUR");
        char hash[80], row_guid[64];
        ledger_row L;
        cx_err e = { 0 };

        ledger_content_hash(def, hash);
        json_decref(def);
        if (ledger_get(r->w->db, r->tenant, "item_price", code, &L, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state == LEDGER_DONE && !strcmp(L.content_hash, hash))
                return 0;
        if (L.state == LEDGER_DONE && L.guid[0] && !L.in_doubt) {
                snprintf(row_guid, sizeof(row_guid), "%s", L.guid);
                if (put_price(r, code, hash, row_guid, price) < 0)
                        return -1;
        } else {
                if (L.in_doubt && run_doubt_wait(r, L.intent_ms))
                        return -1;
                if (settle_price(r, code, hash, item_guid, price, row_guid) < 0)
                        return -1;
        }
        if (ledger_done(r->w->db, r->tenant, "item_price", code, row_guid, -1, hash, r->trace, &e) <
            0)
                return run_ledger_error(r, &e);
        return 0;
}
