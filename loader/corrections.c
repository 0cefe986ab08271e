/* corrections: see corrections.h. */
#include "loader/corrections.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exact/api.h"
#include "loader/amounts.h"
#include "loader/command_check.h"
#include "loader/documents.h"
#include "loader/entities.h"
#include "loader/invoicing.h"
#include "loader/ledger.h"

#define jstr command_str
#define INVOICES "salesinvoice/SalesInvoices"
#define ORDERS "salesorder/SalesOrders"
#define ORDER_LINES "salesorder/SalesOrderLines"
#define CREDIT "credit_note"
/* in an UPDATE that sets shop_revision: the revision it replaces joins the past ones */
#define PAST_APPEND                                                                           \
        "past_revisions = CASE WHEN ledger.shop_revision IS NULL THEN ledger.past_revisions " \
        "ELSE ledger.past_revisions || jsonb_build_array(ledger.shop_revision) END"

/* A ledger row with what it booked. */
typedef struct booked {
        ledger_state state;
        bool in_doubt;
        int64_t intent_ms;
        char guid[64];
        long long number;
        json_t *head;  /* the posted header, GUIDs, no lines; NULL when not kept */
        json_t *lines; /* [{"key", "line", "id"}]; NULL when not kept */
        char revision[80];
        long long revision_at; /* Kafka timestamp of the command that booked the revision */
        json_t *past;          /* the revisions booked before it */
        bool cancelled;
        int revisions;
} booked;

/* The invoice an order's corrections refer to: ours, the one Exact made of the order, or
 * the latest re-invoice. */
typedef struct current {
        char guid[64];
        long long number;
        const json_t *head;
        const json_t *lines;
        bool of_order; /* head and lines are a sales order's */
} current;

static void booked_clear(booked *b)
{
        json_decref(b->head);
        json_decref(b->lines);
        json_decref(b->past);
        b->head = b->lines = b->past = NULL;
}

static int booked_get(run *r, const char *kind, const char *key, booked *b)
{
        const char *p[3] = { r->tenant, kind, key };
        cx_err e = { 0 };
        PGresult *res;

        memset(b, 0, sizeof(*b));
        b->number = -1;
        res = cx_db_query(r->w->db,
                          "SELECT state, coalesce(exact_guid, ''), coalesce(exact_number, -1), "
                          "coalesce(booked_head::text, ''), coalesce(booked_lines::text, ''), "
                          "coalesce(shop_revision, ''), cancelled, revisions, "
                          "intent_at IS NOT NULL, coalesce((extract(epoch FROM "
                          "coalesce(write_until, intent_at)) * 1000)::bigint, 0), "
                          "coalesce(revision_at, 0), past_revisions::text FROM ledger "
                          "WHERE tenant_id = $1 AND kind = $2 AND source_key = $3",
                          3, p, &e);
        if (!res)
                return run_ledger_error(r, &e);
        if (PQntuples(res) == 1) {
                const char *st = PQgetvalue(res, 0, 0);

                b->state = !strcmp(st, "done")     ? LEDGER_DONE
                           : !strcmp(st, "failed") ? LEDGER_FAILED
                                                   : LEDGER_PENDING;
                snprintf(b->guid, sizeof(b->guid), "%s", PQgetvalue(res, 0, 1));
                b->number = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
                b->head = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
                b->lines = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
                snprintf(b->revision, sizeof(b->revision), "%s", PQgetvalue(res, 0, 5));
                b->cancelled = PQgetvalue(res, 0, 6)[0] == 't';
                b->revisions = (int)strtol(PQgetvalue(res, 0, 7), NULL, 10);
                b->in_doubt = PQgetvalue(res, 0, 8)[0] == 't';
                b->intent_ms = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
                b->revision_at = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
                b->past = json_loads(PQgetvalue(res, 0, 11), 0, NULL);
        }
        PQclear(res);
        return 0;
}

/* A statement on the row (kind, key) with up to three more parameters ($4..$6). */
static int row_exec(run *r, const char *kind, const char *key, const char *sql, const char *a,
                    const char *b, const char *c)
{
        const char *p[6] = { r->tenant, kind, key, a, b, c };
        cx_err e = { 0 };
        int n = c ? 6 : b ? 5 : a ? 4 : 3;

        if (cx_db_exec(r->w->db, sql, n, p, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

static char *dump(const json_t *j)
{
        return j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
}

/* Keep what a document posts (header, keyed lines, revision, what it corrects) on its row,
 * before the POST: a done row is never changed. */
static int stage_raw(run *r, const char *kind, const char *key, const json_t *head,
                     const json_t *lines, const char *revision, const char *corrects)
{
        char *h = dump(head), *l = dump(lines), ts[32];
        const char *p[8] = { r->tenant, kind, key, h, l, revision, corrects, ts };
        cx_err e = { 0 };
        int rc = 0;

        if (!h || !l) {
                free(h);
                free(l);
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        snprintf(ts, sizeof(ts), "%lld", (long long)r->j->kafka_ts_ms);
        if (cx_db_exec(
                    r->w->db,
                    "INSERT INTO ledger (tenant_id, kind, source_key, booked_head, booked_lines, "
                    "shop_revision, corrects, revision_at) VALUES ($1, $2, $3, $4::jsonb, "
                    "$5::jsonb, nullif($6, ''), nullif($7, ''), $8::bigint) "
                    "ON CONFLICT (tenant_id, kind, source_key) DO UPDATE SET "
                    "booked_head = $4::jsonb, booked_lines = $5::jsonb, "
                    "shop_revision = nullif($6, ''), corrects = nullif($7, ''), "
                    "revision_at = $8::bigint, updated_at = now() WHERE ledger.state <> 'done'",
                    8, p, &e) < 0)
                rc = run_ledger_error(r, &e);
        free(h);
        free(l);
        return rc;
}

/* [{"key": null, "line"}] of @p lines (set_keys names them). */
static json_t *keyed(const json_t *lines)
{
        json_t *out = json_array(), *v;
        size_t i;

        json_array_foreach ((json_t *)lines, i, v)
                json_array_append_new(out, json_pack("{s:n,s:O}", "key", "line", v));
        return out;
}

static void set_keys(run *r, json_t *entries)
{
        json_t *keys = json_object_get(r->cmd, "line_keys");
        json_t *v;
        size_t i;

        if (!json_is_array(keys) || json_array_size(keys) != json_array_size(entries))
                return;
        json_array_foreach (entries, i, v) {
                json_t *k = json_array_get(keys, i);

                if (json_is_string(k))
                        json_object_set(v, "key", k);
        }
}

int corrections_stage(run *r, const char *kind, const char *key, const json_t *body, bool invoice)
{
        const char *member = command_lines_member(invoice);
        json_t *head = json_deep_copy(body);
        json_t *lines = keyed(json_object_get(body, member));
        int rc;

        json_object_del(head, member);
        set_keys(r, lines);
        rc = stage_raw(r, kind, key, head, lines, jstr(r->cmd, "shop_revision"), "");
        json_decref(head);
        json_decref(lines);
        return rc;
}

static void append(char *summary, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void append(char *summary, size_t size, const char *fmt, ...)
{
        size_t len = strlen(summary);
        va_list ap;

        if (len + 2 >= size)
                return;
        if (len)
                snprintf(summary + len, size - len, "; ");
        len = strlen(summary);
        va_start(ap, fmt);
        vsnprintf(summary + len, size - len, fmt, ap);
        va_end(ap);
}

/* ---- lines ------------------------------------------------------------------------------ */

static double num(const json_t *o, const char *k)
{
        return json_number_value(json_object_get(o, k));
}

static bool same_member(const json_t *a, const json_t *b, const char *k)
{
        json_t *x = json_object_get(a, k), *y = json_object_get(b, k);

        if (json_is_number(x) && json_is_number(y))
                return fabs(json_number_value(x) - json_number_value(y)) < 1e-9;
        return json_equal(x, y) || (!x && !y);
}

/* Two lines that differ at most in their quantity. */
static bool same_line(const json_t *a, const json_t *b)
{
        static const char *const f[] = { "Item",     "GLAccount",     "VATCode",    "UnitPrice",
                                         "Discount", "VATPercentage", "Description" };

        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
                if (!same_member(a, b, f[i]))
                        return false;
        return true;
}

static bool amount_line(const json_t *l)
{
        return json_object_get(l, "VATAmountFC") || json_object_get(l, "VATAmount");
}

static bool same_key(const json_t *a, const json_t *b)
{
        json_t *x = json_object_get(a, "key"), *y = json_object_get(b, "key");

        return json_is_string(x) ? json_equal(x, y) : !json_is_string(y);
}

/* Cents, rounded as Exact rounds a line's amounts (half away from zero). */
static long long round_cents(double x)
{
        double c = x * 100.0;

        return llround(c + copysign(1e-7, c));
}

/* Exact's net and VAT in cents of @p qty of line @p l, its VAT code exclusive or inclusive
 * (the loader does not know which: both are checked). */
static void line_cents(const json_t *l, double qty, bool incl, long long *net, long long *vat)
{
        double pct = num(l, "VATPercentage");
        long long g = round_cents(qty * num(l, "UnitPrice") * (1.0 - num(l, "Discount")));

        *vat = round_cents((double)g / 100.0 * (incl ? pct / (1.0 + pct) : pct));
        *net = incl ? g - *vat : g;
}

/* The group's lines as one line of their summed quantity give the same cents as they do
 * one by one, whichever kind the VAT code is. */
static bool merge_exact(const json_t *group, double qty)
{
        for (int incl = 0; incl < 2; incl++) {
                long long net = 0, vat = 0, n, v;
                json_t *e;
                size_t i;

                json_array_foreach ((json_t *)group, i, e) {
                        json_t *l = json_object_get(e, "line");

                        line_cents(l, num(l, "Quantity"), incl, &n, &v);
                        net += n;
                        vat += v;
                }
                line_cents(json_object_get(json_array_get(group, 0), "line"), qty, incl, &n, &v);
                if (n != net || v != vat)
                        return false;
        }
        return true;
}

/*
 * What @p entries (the booked lines of an order's invoices and credit notes) leave, line by
 * line, such that its negation brings every amount to zero to the cent. Lines are summed only
 * within one line key (two rows of one product stay two lines: Exact rounds each), and only
 * when the sum rounds as the parts do; otherwise the parts stay, less those that cancel out
 * (a line and its exact opposite). An amount line, which carries its VAT, stays as it is.
 */
static json_t *merged(const json_t *entries)
{
        size_t n = json_array_size(entries), i, j, k;
        bool *used = calloc(n ? n : 1, sizeof(*used));
        json_t *out = json_array(), *v, *w;

        if (!used)
                return out;
        json_array_foreach ((json_t *)entries, i, v) {
                json_t *l = json_object_get(v, "line"), *group;
                double qty = 0;

                if (used[i])
                        continue;
                if (amount_line(l)) {
                        json_array_append_new(out, json_deep_copy(v));
                        continue;
                }
                group = json_array();
                for (j = i; j < n; j++) {
                        w = json_array_get(entries, j);
                        if (j > i && (used[j] || amount_line(json_object_get(w, "line")) ||
                                      !same_key(v, w) || !same_line(l, json_object_get(w, "line"))))
                                continue;
                        used[j] = true;
                        json_array_append_new(group, json_deep_copy(w));
                        qty += num(json_object_get(w, "line"), "Quantity");
                }
                if (merge_exact(group, qty)) {
                        if (fabs(qty) >= 1e-9) {
                                w = json_array_get(group, 0);
                                json_object_set_new(json_object_get(w, "line"), "Quantity",
                                                    json_real(qty));
                                json_array_append(out, w);
                        }
                        json_decref(group);
                        continue;
                }
                /* the parts stay, less pairs of opposite quantities */
                for (j = 0; j < json_array_size(group); j++) {
                        double q = num(json_object_get(json_array_get(group, j), "line"),
                                       "Quantity");

                        for (k = j + 1; k < json_array_size(group); k++)
                                if (fabs(num(json_object_get(json_array_get(group, k), "line"),
                                             "Quantity") +
                                         q) < 1e-9) {
                                        json_array_remove(group, k);
                                        json_array_remove(group, j--);
                                        break;
                                }
                }
                json_array_extend(out, group);
                json_decref(group);
        }
        free(used);
        return out;
}

static void negate_member(json_t *l, const char *k)
{
        if (json_is_number(json_object_get(l, k)))
                json_object_set_new(l, k, json_real(-num(l, k)));
}

/* The entries with quantities (and posted VAT amounts) of the opposite sign. */
static json_t *negated(const json_t *entries)
{
        json_t *out = json_deep_copy(entries), *v;
        size_t i;

        json_array_foreach (out, i, v) {
                json_t *l = json_object_get(v, "line");

                json_object_del(v, "id");
                negate_member(l, "Quantity");
                negate_member(l, "VATAmountFC");
                negate_member(l, "VATAmount");
        }
        return out;
}

/* The line of an order as an invoice line: the same members; a VAT amount by its name. */
static json_t *invoice_lines_of(const json_t *entries)
{
        json_t *out = json_array(), *v;
        size_t i;

        json_array_foreach ((json_t *)entries, i, v) {
                json_t *l = json_deep_copy(json_object_get(v, "line"));
                json_t *va = json_object_get(l, "VATAmount");

                if (va) {
                        json_object_set(l, "VATAmountFC", va);
                        json_object_del(l, "VATAmount");
                }
                json_array_append_new(out, l);
        }
        return out;
}

/* What all invoices and credit notes of the order add up to, line by line. */
static int position(run *r, const char *lkind, json_t **out)
{
        const char *p[3] = { r->tenant, r->source_id, lkind };
        cx_err e = { 0 };
        json_t *all = json_array(), *lines;
        PGresult *res;

        *out = NULL;
        res = cx_db_query(r->w->db,
                          "SELECT booked_lines::text FROM ledger WHERE tenant_id = $1 AND "
                          "state = 'done' AND booked_lines IS NOT NULL AND ((kind = $3 AND "
                          "source_key = $2) OR (kind IN ('sales_invoice', 'credit_note') AND "
                          "left(source_key, length($2) + 1) = $2 || '/'))",
                          3, p, &e);
        if (!res) {
                json_decref(all);
                return run_ledger_error(r, &e);
        }
        for (int i = 0; i < PQntuples(res); i++) {
                lines = json_loads(PQgetvalue(res, i, 0), 0, NULL);
                json_array_extend(all, lines);
                json_decref(lines);
        }
        PQclear(res);
        *out = merged(all);
        json_decref(all);
        return 0;
}

/* ---- Exact reads -------------------------------------------------------------------- */

/* OData string literal content: a quote doubled. */
static void quoted(const char *s, char *out, size_t size)
{
        size_t n = 0;

        for (; *s && n + 2 < size; s++) {
                if (*s == '\'')
                        out[n++] = '\'';
                out[n++] = *s;
        }
        out[n] = '\0';
}

/* The first row @p filter finds at @p ep (NULL when none), or -1 with the verdict set. */
static int first_row(run *r, const char *ep, const char *filter, const char *select,
                     const char *what, json_t **row)
{
        json_t *rows;

        *row = NULL;
        if (run_get_rows(r, ep, filter, select, what, &rows) < 0)
                return -1;
        if (json_array_size(rows) > 0)
                *row = json_incref(json_array_get(rows, 0));
        json_decref(rows);
        return 0;
}

/* A correction document after a write in doubt: by its YourRef and Description, which name
 * the correction (docs/loader.md "After booking"). */
static int find_correction(run *r, const char *yourref, const char *desc, char guid[64],
                           long long *number)
{
        char a[200], b[400], filter[700];
        json_t *row;

        quoted(yourref, a, sizeof(a));
        quoted(desc, b, sizeof(b));
        snprintf(filter, sizeof(filter), "YourRef eq '%s' and Description eq '%s'", a, b);
        if (first_row(r, INVOICES, filter, "InvoiceID,InvoiceNumber,Description",
                      "correction look-up", &row) < 0)
                return -1;
        snprintf(guid, 64, "%s", jstr(row, "InvoiceID"));
        *number = json_is_integer(json_object_get(row, "InvoiceNumber"))
                          ? json_integer_value(json_object_get(row, "InvoiceNumber"))
                          : -1;
        json_decref(row);
        return 0;
}

/* ---- correction documents ------------------------------------------------------------ */

/* The header of a credit note for @p cur: the invoice's parties, journal, currency and
 * reference, Type 8021. */
static json_t *credit_head(run *r, const current *cur, const char *desc, const char *date)
{
        static const char *const keep[] = { "OrderedBy", "InvoiceTo",        "DeliverTo",
                                            "YourRef",   "PaymentCondition", "Currency",
                                            "Journal",   "DeliverToAddress" };
        json_t *h = json_object();
        const char *journal;

        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
                json_t *v = json_object_get(cur->head, keep[i]);

                if (v)
                        json_object_set(h, keep[i], v);
        }
        if (cur->of_order && json_object_get(cur->head, "DeliveryAddress"))
                json_object_set(h, "DeliverToAddress",
                                json_object_get(cur->head, "DeliveryAddress"));
        if (!json_object_get(h, "InvoiceTo"))
                json_object_set(h, "InvoiceTo", json_object_get(h, "OrderedBy"));
        if (!json_object_get(h, "Journal")) {
                journal = jstr(json_object_get(r->cmd, "invoicing"), "journal");
                if (!journal[0])
                        journal = jstr(json_object_get(r->cmd, "body"), "Journal");
                json_object_set_new(h, "Journal", json_string(journal));
        }
        json_object_set_new(h, "Type", json_integer(8021));
        json_object_set_new(h, "Description", json_string(desc));
        if (date && *date)
                json_object_set_new(h, "OrderDate", json_string(date));
        return h;
}

/*
 * Post the correction document (@p kind, @p key) exactly once: @p head with the lines of
 * @p entries, kept on its ledger row with what it @p corrects; after a write in doubt it is
 * looked up by YourRef and Description first. Processed like the original when asked.
 * @p posted tells whether it was created now. @returns 1 when it was processed now, 0, or
 * -1 with the verdict set.
 */
static int correction_post(run *r, const char *kind, const char *key, const json_t *head,
                           const json_t *entries, const char *corrects, const char *date,
                           char guid[64], long long *number, bool *posted)
{
        char said[120] = "";
        const char *desc = jstr(head, "Description"), *yourref = jstr(head, "YourRef");
        json_t *body;
        exact_result res;
        booked D;
        cx_err e = { 0 };
        char what[200];
        int rc;

        *posted = false;
        guid[0] = '\0';
        *number = -1;
        if (booked_get(r, kind, key, &D) < 0)
                return -1;
        booked_clear(&D);
        if (D.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", D.guid);
                *number = D.number;
        } else {
                if (D.in_doubt && (run_doubt_wait(r, D.intent_ms) ||
                                   find_correction(r, yourref, desc, guid, number) < 0))
                        return -1;
                if (!guid[0]) {
                        body = json_deep_copy(head);
                        json_object_set_new(body, "SalesInvoiceLines", invoice_lines_of(entries));
                        snprintf(what, sizeof(what), "%s %s (%s)", kind, key, desc);
                        rc = stage_raw(r, kind, key, head, entries, "", corrects);
                        if (rc == 0)
                                rc = run_write(r, kind, key, yourref, "", "POST", INVOICES, NULL,
                                               body, what, &res);
                        json_decref(body);
                        if (rc < 0)
                                return -1;
                        snprintf(guid, 64, "%s", jstr(res.d, "InvoiceID"));
                        if (json_is_integer(json_object_get(res.d, "InvoiceNumber")))
                                *number = json_integer_value(
                                        json_object_get(res.d, "InvoiceNumber"));
                        exact_result_clear(&res);
                        if (!guid[0]) {
                                run_set(r, RUN_RETRY, 0, "%s created without InvoiceID", what);
                                return -1;
                        }
                        *posted = true;
                }
                if (ledger_done(r->w->db, r->tenant, kind, key, guid, *number, "", r->trace, &e) <
                    0)
                        return run_ledger_error(r, &e);
        }
        /* the caller says it, after what the document is */
        return invoicing_process(r, key, guid, *number, date, said, sizeof(said));
}

/* "YYYY-MM-DD" -> "YYYY-MM-DDT00:00:00" in @p out ("" when not a date). */
static void day_of(const char *d, char out[32])
{
        out[0] = '\0';
        if (strlen(d) >= 10 && d[4] == '-' && d[7] == '-')
                snprintf(out, 32, "%.10sT00:00:00", d);
}

/* ---- refunds ------------------------------------------------------------------------- */

static long long cents_of(double x)
{
        return llround(x * 100.0);
}

/*
 * An amount refund (no lines) as one line per VAT code of the invoice: the gross amount is
 * shared out over the codes in proportion to their gross on the invoice, in whole cents (the
 * cents left by rounding down go to the largest remainders, so the shares add up to the
 * amount); per share the VAT is round2(share × p / (1 + p)) and the net the rest, and the
 * line posts that VAT amount (VATAmountFC), so net + VAT is the share to the cent.
 */
static json_t *amount_entries(run *r, const current *cur, const char *rid, double amount)
{
        json_t *groups = json_object(), *out = json_array(), *v, *g;
        long long total = 0, want = cents_of(amount), given = 0;
        const char *code;
        size_t i, n = 0;
        char desc[61];

        json_array_foreach ((json_t *)cur->lines, i, v) {
                json_t *l = json_object_get(v, "line");
                long long net = cents_of(num(l, "Quantity") * num(l, "UnitPrice"));
                long long vat = llround((double)net * num(l, "VATPercentage"));

                g = json_object_get(groups, jstr(l, "VATCode"));
                if (!g) {
                        g = json_pack("{s:I,s:O,s:f}", "gross", (json_int_t)0, "line", l, "big",
                                      0.0);
                        json_object_set_new(groups, jstr(l, "VATCode"), g);
                }
                json_object_set_new(
                        g, "gross",
                        json_integer(json_integer_value(json_object_get(g, "gross")) + net + vat));
                if ((double)(net + vat) > num(g, "big")) {
                        json_object_set(g, "line", l);
                        json_object_set_new(g, "big", json_real((double)(net + vat)));
                }
        }
        json_object_foreach (groups, code, g) {
                long long gross = json_integer_value(json_object_get(g, "gross"));

                if (gross > 0)
                        total += gross;
        }
        if (total <= 0 || want <= 0) {
                run_set(r, RUN_FAIL, 0,
                        "refund %s: no amount, or nothing on the invoice to share it over", rid);
                json_decref(groups);
                json_decref(out);
                return NULL;
        }
        /* shares rounded down, then a cent each to the largest remainders */
        json_object_foreach (groups, code, g) {
                long long gross = json_integer_value(json_object_get(g, "gross"));
                long long share = gross > 0 ? want * gross / total : 0;

                json_object_set_new(g, "share", json_integer(share));
                json_object_set_new(g, "rest", json_integer(gross > 0 ? want * gross % total : -1));
                given += share;
                n++;
        }
        while (given < want) {
                json_t *best = NULL;

                json_object_foreach (groups, code, g)
                        if (!best || json_integer_value(json_object_get(g, "rest")) >
                                             json_integer_value(json_object_get(best, "rest")))
                                best = g;
                json_object_set_new(
                        best, "share",
                        json_integer(json_integer_value(json_object_get(best, "share")) + 1));
                json_object_set_new(best, "rest", json_integer(-2));
                given++;
        }
        snprintf(desc, sizeof(desc), "Refund %s", rid);
        json_object_foreach (groups, code, g) {
                long long share = json_integer_value(json_object_get(g, "share"));
                json_t *src = json_object_get(g, "line");
                double p = num(src, "VATPercentage");
                long long vat = llround((double)share * p / (1.0 + p));
                double net = (double)(share - vat) / 100.0;
                json_t *l;

                if (share == 0)
                        continue;
                l = json_pack("{s:O?,s:s,s:i,s:f,s:f,s:O?,s:O?,s:f}", "Item",
                              json_object_get(src, "Item"), "Description", desc, "Quantity", -1,
                              "UnitPrice", net, "NetPrice", net, "VATCode",
                              json_object_get(src, "VATCode"), "VATPercentage",
                              json_object_get(src, "VATPercentage"), "VATAmountFC",
                              -(double)vat / 100.0);
                if (json_object_get(src, "GLAccount"))
                        json_object_set(l, "GLAccount", json_object_get(src, "GLAccount"));
                json_array_append_new(out, json_pack("{s:s,s:o}", "key", "amount", "line", l));
        }
        (void)n;
        json_decref(groups);
        return out;
}

/* What refund @p rf credits: its lines by key and quantity, or an amount. */
static json_t *refund_entries(run *r, const current *cur, const json_t *rf, const char *rid)
{
        json_t *lines = json_object_get(rf, "lines"), *out, *v, *b;
        size_t i, j;

        if (!json_is_array(lines) || json_array_size(lines) == 0)
                return amount_entries(r, cur, rid, num(rf, "amount"));
        out = json_array();
        json_array_foreach (lines, i, v) {
                const char *key = jstr(v, "key");
                json_t *hit = NULL;

                json_array_foreach ((json_t *)cur->lines, j, b)
                        if (!strcmp(jstr(b, "key"), key))
                                hit = b;
                if (!key[0] || !hit || num(v, "quantity") <= 0) {
                        run_set(r, RUN_FAIL, 0,
                                "refund %s names line \"%s\" (quantity %g), which the booked "
                                "invoice of order %s does not have",
                                rid, key, num(v, "quantity"), r->source_id);
                        json_decref(out);
                        return NULL;
                }
                /* a copy: the booked line itself stays as it was booked */
                hit = json_pack("{s:s,s:o}", "key", key, "line",
                                json_deep_copy(json_object_get(hit, "line")));
                json_object_set_new(json_object_get(hit, "line"), "Quantity",
                                    json_real(num(v, "quantity")));
                json_array_append_new(out, hit);
        }
        b = negated(out);
        json_decref(out);
        return b;
}

static int book_refunds(run *r, const current *cur, bool *wrote, char *summary, size_t summary_size)
{
        json_t *rf;
        size_t i;

        json_array_foreach (json_object_get(r->cmd, "refunds"), i, rf) {
                const char *rid = jstr(rf, "id");
                char key[200], desc[300], date[32], guid[64];
                long long number;
                json_t *entries, *head;
                ledger_row D;
                cx_err e = { 0 };
                bool posted;
                int rc;

                snprintf(key, sizeof(key), "%s/R%s", r->source_id, rid);
                if (ledger_get(r->w->db, r->tenant, CREDIT, key, &D, &e) < 0)
                        return run_ledger_error(r, &e);
                if (D.state == LEDGER_DONE)
                        continue;
                entries = refund_entries(r, cur, rf, rid);
                if (!entries)
                        return -1;
                snprintf(desc, sizeof(desc), "Credit note %s: refund %s (invoice %lld)",
                         jstr(cur->head, "YourRef"), rid, cur->number);
                day_of(jstr(rf, "date"), date);
                head = credit_head(r, cur, desc, date);
                rc = correction_post(r, CREDIT, key, head, entries, cur->guid, date, guid, &number,
                                     &posted);
                json_decref(head);
                json_decref(entries);
                if (rc < 0)
                        return -1;
                *wrote = true;
                append(summary, summary_size, "credited (credit note %lld%s) for refund %s", number,
                       rc > 0 ? ", processed" : "", rid);
        }
        return 0;
}

/* ---- cancel and edit of an invoice ------------------------------------------------------- */

static int credit_rest(run *r, const char *lkind, const current *cur, bool *wrote, char *summary,
                       size_t summary_size)
{
        char key[160], desc[300], guid[64];
        json_t *pos, *entries, *head;
        long long number;
        bool posted;
        int rc;

        snprintf(key, sizeof(key), "%s/C", r->source_id);
        if (position(r, lkind, &pos) < 0)
                return -1;
        entries = negated(pos);
        json_decref(pos);
        if (json_array_size(entries) == 0) {
                json_decref(entries);
                append(summary, summary_size, "cancelled; nothing left to credit");
                *wrote = true;
                return 0;
        }
        snprintf(desc, sizeof(desc), "Credit note %s: cancelled (invoice %lld)",
                 jstr(cur->head, "YourRef"), cur->number);
        head = credit_head(r, cur, desc, NULL);
        rc = correction_post(r, CREDIT, key, head, entries, cur->guid, NULL, guid, &number,
                             &posted);
        json_decref(head);
        json_decref(entries);
        if (rc < 0)
                return -1;
        *wrote = true;
        append(summary, summary_size, "cancelled: credited (credit note %lld%s)", number,
               rc > 0 ? ", processed" : "");
        return 0;
}

/* The command's order body as an invoice body (a tenant whose orders Exact invoices). */
static json_t *as_invoice_body(run *r, const json_t *src)
{
        json_t *b = json_deep_copy(src);

        if (!strcmp(r->kind, "sales_invoice"))
                return b;
        json_object_set(b, "SalesInvoiceLines", json_object_get(b, "SalesOrderLines"));
        json_object_del(b, "SalesOrderLines");
        if (json_object_get(b, "DeliveryAddress")) {
                json_object_set(b, "DeliverToAddress", json_object_get(b, "DeliveryAddress"));
                json_object_del(b, "DeliveryAddress");
        }
        if (!json_object_get(b, "InvoiceTo"))
                json_object_set(b, "InvoiceTo", json_object_get(b, "OrderedBy"));
        json_object_set_new(b, "Journal",
                            json_string(jstr(json_object_get(r->cmd, "invoicing"), "journal")));
        json_object_set_new(b, "Type", json_integer(8020));
        return b;
}

/* Edit n after invoicing: credit note <order>/E<n> of the current invoice's lines, then the
 * new invoice <order>/V<n> from the command's body. */
static int reinvoice(run *r, exact_refdata *rd, const char *lkind, const booked *orig,
                     const current *cur, bool *wrote, char *summary, size_t summary_size)
{
        int n = orig->revisions + 1;
        char key[160], desc[400], guid[64], vguid[64], num_s[16], ts[32];
        json_t *entries, *head, *src, *body = NULL, *lines;
        long long number, vnumber;
        bool posted;
        int rc = -1, erc, vrc;

        snprintf(key, sizeof(key), "%s/E%d", r->source_id, n);
        snprintf(desc, sizeof(desc),
                 "Credit note %s: changed in the shop, revision %d (invoice %lld)",
                 jstr(cur->head, "YourRef"), n, cur->number);
        entries = negated(cur->lines);
        head = credit_head(r, cur, desc, NULL);
        rc = correction_post(r, CREDIT, key, head, entries, cur->guid, NULL, guid, &number,
                             &posted);
        json_decref(head);
        json_decref(entries);
        if (rc < 0)
                return -1;
        erc = rc;
        rc = -1;
        src = as_invoice_body(r, json_object_get(r->cmd, "body"));
        body = document_resolved_body(r, rd, true, src);
        json_decref(src);
        if (!body)
                return -1;
        snprintf(desc, sizeof(desc), "%s (revision %d)", jstr(body, "Description"), n);
        json_object_set_new(body, "Description", json_string(desc));
        lines = keyed(json_object_get(body, "SalesInvoiceLines"));
        set_keys(r, lines);
        json_object_del(body, "SalesInvoiceLines");
        snprintf(key, sizeof(key), "%s/V%d", r->source_id, n);
        vrc = correction_post(r, "sales_invoice", key, body, lines, orig->guid, NULL, vguid,
                              &vnumber, &posted);
        if (vrc < 0)
                goto out;
        /* checked against the shop's totals; booked and in the ledger whatever it says */
        if (posted && amounts_check(r, true, INVOICES, vguid, vnumber, NULL) < 0)
                goto out;
        snprintf(num_s, sizeof(num_s), "%d", n);
        snprintf(ts, sizeof(ts), "%lld", (long long)r->j->kafka_ts_ms);
        if (row_exec(r, lkind, r->source_id,
                     "UPDATE ledger SET revisions = $5::int, shop_revision = $4, "
                     "revision_at = $6::bigint, " PAST_APPEND ", updated_at = now() "
                     "WHERE tenant_id = $1 AND kind = $2 AND source_key = $3",
                     jstr(r->cmd, "shop_revision"), num_s, ts) < 0)
                goto out;
        *wrote = true;
        append(summary, summary_size,
               "changed in the shop: credited (credit note %lld%s) and invoiced again (invoice "
               "%lld%s)",
               number, erc > 0 ? ", processed" : "", vnumber, vrc > 0 ? ", processed" : "");
        rc = 0;
out:
        json_decref(lines);
        json_decref(body);
        return rc;
}

/* The run's Kafka timestamp as the time of the revision the original row holds now. */
static int set_revision_at(run *r, const char *lkind)
{
        char ts[32];

        snprintf(ts, sizeof(ts), "%lld", (long long)r->j->kafka_ts_ms);
        return row_exec(r, lkind, r->source_id,
                        "UPDATE ledger SET revision_at = $4::bigint WHERE tenant_id = $1 AND "
                        "kind = $2 AND source_key = $3",
                        ts, NULL, NULL);
}

/* ---- sales orders not yet invoiced ---------------------------------------------------- */

/* The order in Exact now; NULL when it is gone. */
static int order_now(run *r, const char *guid, json_t **row)
{
        char filter[120];

        snprintf(filter, sizeof(filter), "OrderID eq guid'%s'", guid);
        return first_row(r, ORDERS, filter,
                         "OrderID,OrderNumber,Status,InvoiceStatus,DeliveryStatus",
                         "sales order status", row);
}

static bool order_open(const json_t *o)
{
        long long st = json_integer_value(json_object_get(o, "Status"));

        return st == 12 && json_integer_value(json_object_get(o, "InvoiceStatus")) == 12 &&
               json_integer_value(json_object_get(o, "DeliveryStatus")) == 12;
}

/* A write on the order or its lines, framed by the original's ledger row (its intent: a
 * DELETE or POST in doubt is looked for in Exact's lines before anything else is written). */
static int order_write(run *r, const char *lkind, const char *method, const char *ep,
                       const char *guid, const json_t *body, const char *what, json_t **answer)
{
        char keypath[80];
        exact_result res;
        cx_err e = { 0 };

        if (guid)
                snprintf(keypath, sizeof(keypath), "(guid'%s')", guid);
        if (run_write(r, lkind, r->source_id, jstr(json_object_get(r->cmd, "body"), "YourRef"), "",
                      method, ep, guid ? keypath : NULL, body, what, &res) < 0)
                return -1;
        if (answer)
                *answer = res.d ? json_incref(res.d) : NULL;
        exact_result_clear(&res);
        if (ledger_clear_intent(r->w->db, r->tenant, lkind, r->source_id, "", &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

static int cancel_order(run *r, const char *lkind, const booked *orig, bool *gone, bool *wrote,
                        char *summary, size_t summary_size)
{
        json_t *o;
        char what[160];

        if (orig->in_doubt && run_doubt_wait(r, orig->intent_ms))
                return -1;
        if (order_now(r, orig->guid, &o) < 0)
                return -1;
        if (o && !order_open(o)) {
                append(summary, summary_size,
                       "cancelled in the shop; sales order %lld is invoiced or delivered in "
                       "Exact: left for a person",
                       json_integer_value(json_object_get(o, "OrderNumber")));
                json_decref(o);
                return 0;
        }
        snprintf(what, sizeof(what), "deleting sales order %s (order %s)", orig->guid,
                 r->source_id);
        if (o && order_write(r, lkind, "DELETE", ORDERS, orig->guid, NULL, what, NULL) < 0) {
                json_decref(o);
                return -1;
        }
        json_decref(o);
        if (row_exec(r, lkind, r->source_id,
                     "UPDATE ledger SET cancelled = true, intent_at = NULL, updated_at = now() "
                     "WHERE tenant_id = $1 AND kind = $2 AND source_key = $3",
                     NULL, NULL, NULL) < 0)
                return -1;
        *gone = *wrote = true;
        append(summary, summary_size, "cancelled in Exact (sales order %lld deleted)",
               orig->number);
        return 0;
}

static json_t *entry_of(json_t *entries, const char *key)
{
        json_t *v;
        size_t i;

        json_array_foreach (entries, i, v)
                if (json_is_string(json_object_get(v, "key")) && !strcmp(jstr(v, "key"), key))
                        return v;
        return NULL;
}

static json_t *line_by_id(json_t *actual, const char *id)
{
        json_t *v;
        size_t i;

        json_array_foreach (actual, i, v)
                if (!strcmp(jstr(v, "ID"), id))
                        return v;
        return NULL;
}

static bool id_used(json_t *entries, const char *id)
{
        json_t *v;
        size_t i;

        json_array_foreach (entries, i, v)
                if (!strcmp(jstr(v, "id"), id))
                        return true;
        return false;
}

/* The posted line and a line of Exact's agree (a POST in doubt that happened). */
static bool line_matches(const json_t *posted, const json_t *exact)
{
        char a[8], b[8];

        snprintf(a, sizeof(a), "%s", jstr(posted, "VATCode"));
        snprintf(b, sizeof(b), "%s", jstr(exact, "VATCode"));
        for (char *p = a + strlen(a); p > a && p[-1] == ' ';)
                *--p = '\0';
        for (char *p = b + strlen(b); p > b && p[-1] == ' ';)
                *--p = '\0';
        return !strcasecmp(jstr(posted, "Item"), jstr(exact, "Item")) && !strcmp(a, b) &&
               fabs(num(posted, "Quantity") - num(exact, "Quantity")) < 1e-9 &&
               fabs(num(posted, "UnitPrice") - num(exact, "UnitPrice")) < 1e-9;
}

static int save_lines(run *r, const char *lkind, const json_t *entries)
{
        char *t = dump(entries);
        int rc;

        if (!t) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        rc = row_exec(r, lkind, r->source_id,
                      "UPDATE ledger SET booked_lines = $4::jsonb, updated_at = now() WHERE "
                      "tenant_id = $1 AND kind = $2 AND source_key = $3",
                      t, NULL, NULL);
        free(t);
        return rc;
}

/* The order's lines made the command's, by line key: gone keys DELETEd, changed lines PUT,
 * new keys POSTed; after each write the ledger keeps which Exact line holds which key.
 * @returns 0, 1 when Exact holds other lines than were booked (no write), or -1. */
static int order_lines(run *r, const char *lkind, const booked *orig, json_t *entries,
                       const json_t *want)
{
        char filter[120], what[200];
        json_t *actual, *v, *d;
        size_t i;
        bool ids = false;

        snprintf(filter, sizeof(filter), "OrderID eq guid'%s'", orig->guid);
        if (run_get_rows(r, ORDER_LINES, filter,
                         "ID,LineNumber,Item,Description,Quantity,UnitPrice,VATCode",
                         "sales order lines", &actual) < 0)
                return -1;
        json_array_foreach (entries, i, v)
                ids |= jstr(v, "id")[0] != '\0';
        if (!ids) {
                /* the first edit: Exact numbered the posted lines in their order. Kept before
                 * any write, so a retry after a write in doubt knows them. */
                if (json_array_size(actual) != json_array_size(entries)) {
                        json_decref(actual);
                        return 1;
                }
                json_array_foreach (actual, i, v) {
                        long long ln = json_integer_value(json_object_get(v, "LineNumber"));

                        if (ln >= 1 && (size_t)ln <= json_array_size(entries))
                                json_object_set(json_array_get(entries, (size_t)ln - 1), "id",
                                                json_object_get(v, "ID"));
                }
                if (save_lines(r, lkind, entries) < 0)
                        goto fail;
        }
        for (i = json_array_size(entries); i-- > 0;) {
                v = json_array_get(entries, i);
                if (json_is_string(json_object_get(v, "key")) &&
                    entry_of((json_t *)want, jstr(v, "key")))
                        continue;
                if (line_by_id(actual, jstr(v, "id"))) {
                        snprintf(what, sizeof(what), "deleting line %s of sales order %s",
                                 jstr(v, "id"), orig->guid);
                        if (order_write(r, lkind, "DELETE", ORDER_LINES, jstr(v, "id"), NULL, what,
                                        NULL) < 0)
                                goto fail;
                }
                json_array_remove(entries, i);
                if (save_lines(r, lkind, entries) < 0)
                        goto fail;
        }
        json_array_foreach ((json_t *)want, i, d) {
                json_t *have = entry_of(entries, jstr(d, "key"));
                json_t *line = json_object_get(d, "line");
                json_t *body, *ans = NULL;
                int rc;

                if (have && line_by_id(actual, jstr(have, "id"))) {
                        if (json_equal(json_object_get(have, "line"), line))
                                continue;
                        snprintf(what, sizeof(what), "changing line %s of sales order %s",
                                 jstr(have, "id"), orig->guid);
                        if (order_write(r, lkind, "PUT", ORDER_LINES, jstr(have, "id"), line, what,
                                        NULL) < 0)
                                goto fail;
                        json_object_set(have, "line", line);
                } else {
                        json_t *found = NULL, *a;
                        size_t j;

                        json_array_foreach (actual, j, a)
                                if (!found && !id_used(entries, jstr(a, "ID")) &&
                                    line_matches(line, a))
                                        found = a;
                        if (!have) {
                                have = json_pack("{s:O,s:O}", "key", json_object_get(d, "key"),
                                                 "line", line);
                                json_array_append_new(entries, have);
                        }
                        if (found) {
                                json_object_set(have, "id", json_object_get(found, "ID"));
                        } else {
                                body = json_deep_copy(line);
                                json_object_set_new(body, "OrderID", json_string(orig->guid));
                                snprintf(what, sizeof(what), "adding line %s to sales order %s",
                                         jstr(d, "key"), orig->guid);
                                rc = order_write(r, lkind, "POST", ORDER_LINES, NULL, body, what,
                                                 &ans);
                                json_decref(body);
                                if (rc < 0)
                                        goto fail;
                                json_object_set_new(have, "id", json_string(jstr(ans, "ID")));
                                json_decref(ans);
                        }
                        json_object_set(have, "line", line);
                }
                if (save_lines(r, lkind, entries) < 0)
                        goto fail;
        }
        json_decref(actual);
        return 0;
fail:
        json_decref(actual);
        return -1;
}

static int update_order(run *r, exact_refdata *rd, const char *lkind, const booked *orig,
                        bool *wrote, char *summary, size_t summary_size)
{
        static const char *const fixed[] = { "OrderedBy", "InvoiceTo", "DeliverTo", "OrderNumber" };
        json_t *o, *body, *want = NULL, *entries = NULL, *head = NULL, *old = NULL;
        char what[160];
        char *h = NULL, *l = NULL;
        int rc = -1;

        if (!json_is_array(json_object_get(r->cmd, "line_keys"))) {
                append(summary, summary_size,
                       "changed in the shop, the command has no line keys: left for a person");
                return 0;
        }
        if (orig->in_doubt && run_doubt_wait(r, orig->intent_ms))
                return -1;
        if (order_now(r, orig->guid, &o) < 0)
                return -1;
        if (!o || !order_open(o)) {
                append(summary, summary_size,
                       "changed in the shop; sales order %lld is %s in Exact: left for a person",
                       orig->number, o ? "invoiced or delivered" : "no longer");
                json_decref(o);
                return 0;
        }
        json_decref(o);
        body = document_resolved_body(r, rd, false, json_object_get(r->cmd, "body"));
        if (!body)
                return -1;
        want = keyed(json_object_get(body, "SalesOrderLines"));
        set_keys(r, want);
        entries = json_deep_copy(orig->lines);
        rc = order_lines(r, lkind, orig, entries, want);
        if (rc != 0) {
                if (rc > 0)
                        append(summary, summary_size,
                               "changed in the shop; sales order %lld has other lines in Exact "
                               "than were booked: left for a person",
                               orig->number);
                rc = rc > 0 ? 0 : -1;
                goto out;
        }
        rc = -1;
        head = json_deep_copy(body);
        json_object_del(head, "SalesOrderLines");
        old = json_deep_copy(orig->head);
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                json_object_del(head, fixed[i]);
                json_object_del(old, fixed[i]);
        }
        snprintf(what, sizeof(what), "updating sales order %s (order %s)", orig->guid,
                 r->source_id);
        if (!json_equal(head, old) &&
            order_write(r, lkind, "PUT", ORDERS, orig->guid, head, what, NULL) < 0)
                goto out;
        /* the lines in the command's order, as they now are in Exact */
        {
                json_t *sorted = json_array(), *d;
                size_t i;

                json_array_foreach (want, i, d)
                        json_array_append(sorted, entry_of(entries, jstr(d, "key")));
                json_object_del(body, "SalesOrderLines");
                h = dump(body);
                l = dump(sorted);
                json_decref(sorted);
        }
        if (!h || !l) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                goto out;
        }
        /* the revision's Kafka timestamp on the row with it: statements take three values */
        if (row_exec(r, lkind, r->source_id,
                     "UPDATE ledger SET booked_head = $4::jsonb, booked_lines = $5::jsonb, "
                     "shop_revision = $6, intent_at = NULL, " PAST_APPEND
                     ", updated_at = now() WHERE "
                     "tenant_id = $1 AND kind = $2 AND source_key = $3",
                     h, l, jstr(r->cmd, "shop_revision")) < 0 ||
            set_revision_at(r, lkind) < 0)
                goto out;
        *wrote = true;
        append(summary, summary_size, "changed in the shop: updated in Exact (sales order %lld)",
               orig->number);
        rc = 0;
out:
        free(h);
        free(l);
        json_decref(old);
        json_decref(head);
        json_decref(entries);
        json_decref(want);
        json_decref(body);
        return rc;
}

/* ---- the decision ------------------------------------------------------------------------ */

/* The invoice of the order, if any: the latest re-invoice, ours, or Exact's of the order. */
static int current_invoice(run *r, const char *lkind, const booked *orig, booked *v, current *cur,
                           bool *invoiced)
{
        char key[160];
        ledger_row O;
        cx_err e = { 0 };

        memset(cur, 0, sizeof(*cur));
        *invoiced = false;
        if (orig->revisions > 0) {
                snprintf(key, sizeof(key), "%s/V%d", r->source_id, orig->revisions);
                if (booked_get(r, "sales_invoice", key, v) < 0)
                        return -1;
                if (v->state != LEDGER_DONE || !v->lines) {
                        run_set(r, RUN_FAIL, 0, "the ledger has no done invoice %s", key);
                        return -1;
                }
                snprintf(cur->guid, sizeof(cur->guid), "%s", v->guid);
                cur->number = v->number;
                cur->head = v->head;
                cur->lines = v->lines;
                *invoiced = true;
                return 0;
        }
        cur->head = orig->head;
        cur->lines = orig->lines;
        if (!strcmp(lkind, "sales_invoice")) {
                snprintf(cur->guid, sizeof(cur->guid), "%s", orig->guid);
                cur->number = orig->number;
                *invoiced = true;
                return 0;
        }
        if (ledger_get(r->w->db, r->tenant, "order_invoice", r->source_id, &O, &e) < 0)
                return run_ledger_error(r, &e);
        if (O.state == LEDGER_DONE) {
                char filter[120];
                json_t *row;

                snprintf(filter, sizeof(filter), "InvoiceID eq guid'%s'", O.guid);
                if (first_row(r, INVOICES, filter, "InvoiceID,InvoiceNumber", "invoice number",
                              &row) < 0)
                        return -1;
                snprintf(cur->guid, sizeof(cur->guid), "%s", O.guid);
                cur->number = json_is_integer(json_object_get(row, "InvoiceNumber"))
                                      ? json_integer_value(json_object_get(row, "InvoiceNumber"))
                                      : -1;
                cur->of_order = true;
                json_decref(row);
                *invoiced = true;
        }
        return 0;
}

static int mark_cancelled(run *r, const char *lkind)
{
        return row_exec(r, lkind, r->source_id,
                        "UPDATE ledger SET cancelled = true, updated_at = now() WHERE "
                        "tenant_id = $1 AND kind = $2 AND source_key = $3",
                        NULL, NULL, NULL);
}

/* Correction documents of the order posted but not processed yet (a print refused or cut
 * short after the document was done): processed now, when the tenant processes invoices,
 * dated as the document (a refund's day). */
static int finish_prints(run *r, bool *wrote, char *summary, size_t summary_size)
{
        const char *p[2] = { r->tenant, r->source_id };
        char said[120] = "";
        cx_err e = { 0 };
        PGresult *res;
        int rc = 0;

        if (!json_is_true(json_object_get(json_object_get(r->cmd, "invoicing"), "process")))
                return 0;
        res = cx_db_query(r->w->db,
                          "SELECT l.source_key, l.exact_guid, coalesce(l.exact_number, -1), "
                          "coalesce(l.booked_head->>'OrderDate', '') FROM ledger l WHERE "
                          "l.tenant_id = $1 AND l.state = 'done' AND l.kind IN ('credit_note', "
                          "'sales_invoice') AND left(l.source_key, length($2) + 1) = $2 || '/' "
                          "AND NOT EXISTS (SELECT 1 FROM ledger p WHERE p.tenant_id = $1 AND "
                          "p.kind = 'invoice_print' AND p.source_key = l.source_key AND "
                          "p.state = 'done') ORDER BY l.created_at",
                          2, p, &e);
        if (!res)
                return run_ledger_error(r, &e);
        for (int i = 0; i < PQntuples(res) && rc >= 0; i++) {
                long long n = strtoll(PQgetvalue(res, i, 2), NULL, 10);

                rc = invoicing_process(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), n,
                                       PQgetvalue(res, i, 3), said, sizeof(said));
                if (rc > 0) {
                        *wrote = true;
                        append(summary, summary_size, "%s %lld (%s) processed",
                               strstr(PQgetvalue(res, i, 0), "/V") ? "invoice" : "credit note", n,
                               PQgetvalue(res, i, 0));
                }
        }
        PQclear(res);
        return rc < 0 ? -1 : 0;
}

static bool past_revision(const booked *b, const char *rev)
{
        json_t *v;
        size_t i;

        json_array_foreach (b->past, i, v)
                if (!strcmp(json_string_value(v) ? json_string_value(v) : "", rev))
                        return true;
        return false;
}

/* Refunds of the command not yet credited. */
static int refunds_open(run *r, int *n)
{
        json_t *rf;
        size_t i;

        *n = 0;
        json_array_foreach (json_object_get(r->cmd, "refunds"), i, rf) {
                char key[200];
                ledger_row D;
                cx_err e = { 0 };

                snprintf(key, sizeof(key), "%s/R%s", r->source_id, jstr(rf, "id"));
                if (ledger_get(r->w->db, r->tenant, CREDIT, key, &D, &e) < 0)
                        return run_ledger_error(r, &e);
                *n += D.state != LEDGER_DONE;
        }
        return 0;
}

int corrections_after_booking(run *r, exact_refdata *rd, bool *gone, bool *skipped, char *summary,
                              size_t summary_size)
{
        const char *rev = jstr(r->cmd, "shop_revision");
        bool cancel = json_is_true(json_object_get(r->cmd, "cancelled"));
        bool log_only = !strcmp(jstr(r->cmd, "corrections"), "log");
        bool edit, invoiced = false, wrote = false;
        char lkind[32], what[160] = "";
        booked orig, v = { 0 };
        current cur;
        ledger_row L;
        cx_err e = { 0 };
        int refunds = 0, rc = -1;

        *gone = false;
        if (ledger_get_document(r->w->db, r->tenant, r->kind, r->source_id, &L, lkind, &e) < 0)
                return run_ledger_error(r, &e);
        if (L.state != LEDGER_DONE)
                return 0;
        if (booked_get(r, lkind, r->source_id, &orig) < 0)
                return -1;
        if (orig.cancelled) {
                *gone = !strcmp(lkind, "sales_order");
                append(summary, summary_size, "cancelled in the shop and in Exact before");
                rc = 0;
                goto out;
        }
        if (finish_prints(r, &wrote, summary, summary_size) < 0)
                goto out;
        if (!orig.revision[0] && rev[0] &&
            (row_exec(r, lkind, r->source_id,
                      "UPDATE ledger SET shop_revision = $4 WHERE tenant_id = $1 AND kind = $2 "
                      "AND source_key = $3 AND shop_revision IS NULL",
                      rev, NULL, NULL) < 0 ||
             set_revision_at(r, lkind) < 0))
                goto out;
        edit = rev[0] && orig.revision[0] && strcmp(rev, orig.revision) != 0;
        if (edit && r->j->kafka_ts_ms > 0 && r->j->kafka_ts_ms < orig.revision_at) {
                /* a replay of a command older than the one that booked the revision */
                edit = false;
                append(summary, summary_size, "an older revision of the order than the one booked");
        } else if (edit && past_revision(&orig, rev)) {
                /* a redrive of an old command, or the order changed back: never guessed */
                edit = false;
                append(summary, summary_size,
                       "an earlier revision of the order again (a replay, or changed back): left "
                       "for a person");
        }
        if (refunds_open(r, &refunds) < 0)
                goto out;
        if (cancel) {
                char key[160];
                ledger_row C;

                snprintf(key, sizeof(key), "%s/C", r->source_id);
                if (ledger_get(r->w->db, r->tenant, CREDIT, key, &C, &e) < 0) {
                        run_ledger_error(r, &e);
                        goto out;
                }
                if (C.state == LEDGER_DONE) {
                        /* credited before, cut short after: nothing more for this order */
                        if (mark_cancelled(r, lkind) < 0)
                                goto out;
                        append(summary, summary_size, "cancelled: credited (credit note %lld)",
                               C.number);
                        wrote = true;
                        rc = 0;
                        goto out;
                }
        }
        if (!cancel && !edit && refunds == 0) {
                rc = 0;
                goto out;
        }
        snprintf(what, sizeof(what), "%s%s%s",
                 cancel ? "cancelled"
                 : edit ? "changed"
                        : "",
                 (cancel || edit) && refunds ? " and " : "", refunds ? "refunded" : "");
        if (log_only || !orig.lines || !orig.head) {
                append(summary, summary_size, "%s in the shop: left for a person%s", what,
                       log_only ? "" : " (booked before the loader kept its lines)");
                rc = 0;
                goto out;
        }
        if (current_invoice(r, lkind, &orig, &v, &cur, &invoiced) < 0)
                goto out;
        if (!invoiced) {
                if (cancel)
                        rc = cancel_order(r, lkind, &orig, gone, &wrote, summary, summary_size);
                else if (refunds) {
                        append(summary, summary_size,
                               "refunded in the shop before the order was invoiced: left for a "
                               "person");
                        rc = 0;
                } else
                        rc = update_order(r, rd, lkind, &orig, &wrote, summary, summary_size);
                goto out;
        }
        if (book_refunds(r, &cur, &wrote, summary, summary_size) < 0)
                goto out;
        if (cancel) {
                if (credit_rest(r, lkind, &cur, &wrote, summary, summary_size) < 0 ||
                    mark_cancelled(r, lkind) < 0)
                        goto out;
        } else if (edit &&
                   reinvoice(r, rd, lkind, &orig, &cur, &wrote, summary, summary_size) < 0) {
                goto out;
        }
        rc = 0;
out:
        if (rc == 0 && (wrote || strstr(summary, "left for a person")))
                *skipped = false;
        booked_clear(&v);
        booked_clear(&orig);
        return rc;
}

/* ---- items -------------------------------------------------------------------------------- */

int corrections_note_product(run *r, const char *code, const char *guid)
{
        const char *p[4] = { r->tenant, r->source_id, guid, code };
        cx_err e = { 0 };

        if (!r->source_id[0] || !code[0] || !guid[0])
                return 0;
        if (cx_db_exec(r->w->db,
                       "INSERT INTO ledger (tenant_id, kind, source_key, state, exact_guid, "
                       "booked_head) VALUES ($1, 'product', $2, 'done', $3, "
                       "jsonb_build_object('Code', $4::text)) ON CONFLICT (tenant_id, kind, "
                       "source_key) DO UPDATE SET state = 'done', exact_guid = $3, booked_head = "
                       "jsonb_build_object('Code', $4::text), updated_at = now() WHERE "
                       "ledger.exact_guid IS DISTINCT FROM $3 OR ledger.booked_head->>'Code' IS "
                       "DISTINCT FROM $4::text",
                       4, p, &e) < 0)
                return run_ledger_error(r, &e);
        return 0;
}

/* The item code the command's product was booked as ("" when not known). */
static int product_code(run *r, char code[120])
{
        const char *p[2] = { r->tenant, r->source_id };
        cx_err e = { 0 };
        PGresult *res;

        code[0] = '\0';
        res = cx_db_query(r->w->db,
                          "SELECT coalesce(booked_head->>'Code', '') FROM ledger WHERE "
                          "tenant_id = $1 AND kind = 'product' AND source_key = $2 AND "
                          "state = 'done'",
                          2, p, &e);
        if (!res)
                return run_ledger_error(r, &e);
        if (PQntuples(res) == 1)
                snprintf(code, 120, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

int corrections_deactivate_items(run *r, exact_refdata *rd, char *summary, size_t summary_size)
{
        size_t n = json_array_size(json_object_get(r->cmd, "items"));
        char known[120] = "";
        json_t *def;
        size_t i;

        /* a product has one item: the one its id was booked as, if any */
        if (n == 1 && product_code(r, known) < 0)
                return -1;
        json_array_foreach (json_object_get(r->cmd, "items"), i, def) {
                const char *code = known[0] ? known : jstr(def, "Code");
                json_t *d = json_deep_copy(def), *row;
                char g[64], filter[160], q[120];
                ledger_row L;
                cx_err e = { 0 };
                int rc;

                if (known[0] && strcmp(known, jstr(def, "Code")) != 0) {
                        /* only its id is known (deleted): the item as it is, but not for sale */
                        json_decref(d);
                        d = json_pack("{s:s}", "Code", known);
                }

                if (ledger_get(r->w->db, r->tenant, "item", code, &L, &e) < 0) {
                        json_decref(d);
                        return run_ledger_error(r, &e);
                }
                if (L.state != LEDGER_DONE) {
                        quoted(code, q, sizeof(q));
                        snprintf(filter, sizeof(filter), "Code eq '%s'", q);
                        if (first_row(r, "logistics/Items", filter, "ID,Code", "item look-up",
                                      &row) < 0) {
                                json_decref(d);
                                return -1;
                        }
                        json_decref(row);
                        if (!row) {
                                append(summary, summary_size,
                                       "item %s is not in Exact: nothing to deactivate", code);
                                json_decref(d);
                                continue;
                        }
                }
                json_object_set_new(d, "IsSalesItem", json_false());
                rc = entity_item(r, rd, d, true, g);
                json_decref(d);
                if (rc < 0)
                        return -1;
                append(summary, summary_size, "item %s is no sales item any more (%s)", code, g);
        }
        return 0;
}
