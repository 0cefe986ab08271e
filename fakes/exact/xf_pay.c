/*
 * fakes/exact/xf_pay.c — payments and receivables of exact-fake (docs/research/
 * exact-payments.md §1.1-1.5, §3 "What the fake Exact must model strictly"):
 * generaljournalentry/GeneralJournalEntries (+Lines), cashflow/Receivables and
 * read/financial/ReceivablesList(+ByAccount).
 *
 * Receivables are derived, never posted: every processed sales invoice or credit note is one
 * open item; every journal-entry line on a debtors G/L account (Type 20) either settles an
 * item (same Account, same debtors G/L account, OurRef = its InvoiceNumber, an amount that
 * brings it to exactly zero: Status 50) or reduces it (a smaller amount of the opposite sign:
 * a part payment), or else stays an open item of its own. The sets are rebuilt before each
 * read, so a DELETEd entry reopens what it settled. Our model, UNCONFIRMED as Exact's.
 */
#include "xf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *sget(json_t *e, const char *k)
{
        return json_string_value(json_object_get(e, k));
}

static bool has(json_t *e, const char *k)
{
        json_t *v = json_object_get(e, k);

        return v != NULL && !json_is_null(v);
}

static void msg(json_t *msgs, const char *text)
{
        size_t i;
        json_t *m;

        json_array_foreach (msgs, i, m) {
                if (strcmp(json_string_value(m), text) == 0)
                        return;
        }
        json_array_append_new(msgs, json_string(text));
}

static long long cents(double v)
{
        return llround(v * 100.0);
}

/* One line of a journal entry: its references checked, its codes and names filled in. */
static void line_rules(struct xf_div *d, json_t *head, json_t *l, size_t n, json_t *msgs)
{
        json_t *gl = xf_find(d, XF_E_GLACCOUNTS, "ID", sget(l, "GLAccount"));
        json_t *acc = has(l, "Account") ? xf_find(d, XF_E_ACCOUNTS, "ID", sget(l, "Account"))
                                        : NULL;
        char buf[40];

        if (!has(l, "GLAccount"))
                msg(msgs, "Mandatory: G/L account");
        else if (gl == NULL)
                msg(msgs, "Invalid reference: G/L account");
        if (!has(l, "AmountFC"))
                msg(msgs, "Mandatory: Amount");
        if (has(l, "Account") && acc == NULL)
                msg(msgs, "Invalid reference: Account");
        /* a debtors account needs the relation it is owed by (UNCONFIRMED) */
        if (gl && json_integer_value(json_object_get(gl, "Type")) == 20 && !has(l, "Account"))
                msg(msgs, "Mandatory: Account (G/L account of type receivables)");
        if (has(l, "VATCode"))
                msg(msgs, "Not allowed: VAT code (the journal does not allow VAT)");
        json_object_set(l, "EntryID", json_object_get(head, "EntryID"));
        json_object_set(l, "JournalCode", json_object_get(head, "JournalCode"));
        json_object_set_new(l, "LineNumber", json_integer((json_int_t)n));
        json_object_set(l, "GLAccountCode", json_object_get(gl, "Code"));
        json_object_set(l, "AccountCode", json_object_get(acc, "Code"));
        json_object_set(l, "AccountName", json_object_get(acc, "Name"));
        json_object_set_new(
                l, "AmountDC",
                json_real(xf_round2(json_number_value(json_object_get(l, "AmountFC")))));
        if (!has(l, "Date")) {
                int64_t now = xf_now_ms();

                json_object_set_new(
                        l, "Date",
                        json_string(xf_date_str(now - now % 86400000, buf, sizeof(buf))));
        }
}

int xf_pay_entry_create(struct xf_div *d, json_t *body, json_t *e, json_t *msgs, char *err,
                        size_t errlen)
{
        json_t *in = json_object_get(body, "GeneralJournalEntryLines");
        json_t *lines = json_array();
        json_t *j = xf_find_code(d, XF_E_JOURNALS, sget(e, "JournalCode"));
        long long sum = 0;
        long number = 1;
        json_t *v;
        size_t i;
        int r = 0;

        if (!has(e, "JournalCode"))
                msg(msgs, "Mandatory: Journal");
        else if (j == NULL || json_integer_value(json_object_get(j, "Type")) != 90)
                msg(msgs, "Invalid reference: Journal (a general journal, type 90)");
        else {
                json_object_set(e, "JournalCode", json_object_get(j, "Code"));
                json_object_set(e, "JournalDescription", json_object_get(j, "Description"));
        }
        if (!json_is_array(in) || json_array_size(in) == 0)
                msg(msgs, "Mandatory: Lines");
        json_array_foreach (in, i, v) {
                json_t *l;

                if (!json_is_object(v)) {
                        snprintf(err, errlen,
                                 "Error processing request stream. The request should be a valid "
                                 "top-level resource object.");
                        r = 400;
                        goto out;
                }
                l = xf_ent_start(d, XF_E_GLENTRYLINES);
                json_array_append_new(lines, l);
                r = xf_decode(XF_E_GLENTRYLINES, v, l, false, msgs, err, errlen);
                if (r != 0)
                        goto out;
                line_rules(d, e, l, i + 1, msgs);
                sum += cents(json_number_value(json_object_get(l, "AmountFC")));
        }
        if (json_array_size(lines) > 0 && sum != 0)
                msg(msgs, "The entry is not in balance: the lines must add up to zero");
        if (json_array_size(msgs) > 0)
                goto out;
        json_array_foreach (d->sets[XF_E_GLENTRIES], i, v) {
                if (json_integer_value(json_object_get(v, "EntryNumber")) >= number)
                        number = (long)json_integer_value(json_object_get(v, "EntryNumber")) + 1;
        }
        json_object_set_new(e, "EntryNumber", json_integer(number));
        json_object_set_new(e, "Type", json_integer(90));
        json_object_set_new(e, "TypeDescription", json_string("Other"));
        /* booked at once (UNCONFIRMED: Exact may leave it open, 20) */
        json_object_set_new(e, "Status", json_integer(50));
        json_object_set_new(e, "StatusDescription", json_string("Processed"));
        if (!has(e, "Currency"))
                json_object_set_new(e, "Currency", json_string("EUR"));
        json_array_foreach (lines, i, v) {
                json_object_set_new(v, "EntryNumber", json_integer(number));
                json_array_append(d->sets[XF_E_GLENTRYLINES], v);
        }
out:
        json_decref(lines);
        return r;
}

/* A stable Int64 key for a list row, from its item's GUID. */
static json_int_t hid_of(const char *guid)
{
        char hex[16] = "";
        size_t n = 0;

        for (const char *p = guid; p && *p && n < 12; p++)
                if (*p != '-')
                        hex[n++] = *p;
        return (json_int_t)strtoll(hex, NULL, 16);
}

/* An item: the stored row (Receivables) and its open amount in cents. */
struct item {
        json_t *row;
        long long open;
};

static void copy(json_t *dst, const char *dk, json_t *src, const char *sk)
{
        json_t *v = json_object_get(src, sk);

        json_object_set(dst, dk, v ? v : json_null());
}

/* Fields of a Receivables row and where they come from (dst, src). */
struct map {
        const char *dst, *src;
};

static const struct map INVOICE_MAP[] = {
        { "ID", "InvoiceID" },
        { "Account", "InvoiceTo" },
        { "AmountDC", "AmountDC" },
        { "AmountFC", "AmountFC" },
        { "Currency", "Currency" },
        { "Description", "Description" },
        { "DueDate", "DueDate" },
        { "EntryID", "InvoiceID" },
        { "EntryNumber", "InvoiceNumber" },
        { "TransactionEntryID", "InvoiceID" },
        { "TransactionID", "InvoiceID" },
        { "InvoiceDate", "InvoiceDate" },
        { "InvoiceNumber", "InvoiceNumber" },
        { "JournalCode", "Journal" },
        { "YourRef", "YourRef" },
        { NULL, NULL },
};

/* a cashflow entry names the invoice it is for in InvoiceNumber (research §1.2) */
static const struct map LINE_MAP[] = {
        { "ID", "ID" },
        { "Account", "Account" },
        { "AccountCode", "AccountCode" },
        { "AccountName", "AccountName" },
        { "AmountDC", "AmountDC" },
        { "AmountFC", "AmountFC" },
        { "Description", "Description" },
        { "DueDate", "Date" },
        { "EntryID", "EntryID" },
        { "EntryNumber", "EntryNumber" },
        { "TransactionEntryID", "EntryID" },
        { "TransactionID", "ID" },
        { "GLAccount", "GLAccount" },
        { "GLAccountCode", "GLAccountCode" },
        { "InvoiceDate", "Date" },
        { "InvoiceNumber", "OurRef" },
        { "JournalCode", "JournalCode" },
        { NULL, NULL },
};

static json_t *mapped(const struct map *m, json_t *src)
{
        json_t *row = json_pack("{s:f,s:n}", "RateFC", 1.0, "YourRef");

        for (; m->dst; m++)
                copy(row, m->dst, src, m->src);
        return row;
}

static json_t *invoice_item(struct xf_div *d, json_t *inv)
{
        json_t *j = xf_find_code(d, XF_E_JOURNALS, sget(inv, "Journal"));
        json_t *gl = xf_find(d, XF_E_GLACCOUNTS, "ID", sget(j, "GLAccount"));
        json_t *acc = xf_find(d, XF_E_ACCOUNTS, "ID", sget(inv, "InvoiceTo"));
        json_t *row = mapped(INVOICE_MAP, inv);

        copy(row, "AccountCode", acc, "Code");
        copy(row, "AccountName", acc, "Name");
        copy(row, "GLAccount", gl, "ID");
        copy(row, "GLAccountCode", gl, "Code");
        return row;
}

static json_t *line_item(json_t *l, json_t *head)
{
        json_t *row = mapped(LINE_MAP, l);

        copy(row, "Currency", head, "Currency");
        return row;
}

static bool same(json_t *a, const char *ka, json_t *b, const char *kb)
{
        const char *x = sget(a, ka), *y = sget(b, kb);

        return x && y && strcasecmp(x, y) == 0;
}

/* Apply one debtors line: settle or reduce its invoice's item, else it is an item itself. */
static void apply_line(struct item *it, size_t n, json_t *l, json_t *head, json_t *extra)
{
        long long amt = cents(json_number_value(json_object_get(l, "AmountFC")));
        json_t *ref = json_object_get(l, "OurRef");

        for (size_t i = 0; json_is_integer(ref) && i < n; i++) {
                json_t *r = it[i].row;

                if (it[i].open == 0 || !same(r, "Account", l, "Account") ||
                    !same(r, "GLAccount", l, "GLAccount") ||
                    json_integer_value(json_object_get(r, "InvoiceNumber")) !=
                            json_integer_value(ref))
                        continue;
                if (it[i].open + amt == 0 ||
                    ((it[i].open > 0) != (amt > 0) && llabs(amt) < llabs(it[i].open))) {
                        it[i].open += amt;
                        copy(r, "LastPaymentDate", l, "Date");
                        if (it[i].open == 0)
                                copy(r, "EndDate", l, "Date");
                        return;
                }
        }
        json_array_append_new(extra, line_item(l, head));
}

static void keep_writable(json_t *row, json_t *old)
{
        static const char *const keys[] = { "Description", "PaymentMethod", "PaymentReference" };

        for (size_t i = 0; old && i < sizeof(keys) / sizeof(keys[0]); i++)
                copy(row, keys[i], old, keys[i]);
}

static json_t *list_row(json_t *r, long long open)
{
        json_t *o = json_object();

        json_object_set_new(o, "HID", json_integer(hid_of(sget(r, "ID"))));
        copy(o, "AccountId", r, "Account");
        copy(o, "AccountCode", r, "AccountCode");
        copy(o, "AccountName", r, "AccountName");
        json_object_set_new(o, "Amount", json_real((double)open / 100.0));
        json_object_set_new(o, "AmountInTransit", json_real(0.0));
        copy(o, "CurrencyCode", r, "Currency");
        copy(o, "Description", r, "Description");
        copy(o, "DueDate", r, "DueDate");
        copy(o, "EntryNumber", r, "EntryNumber");
        copy(o, "InvoiceDate", r, "InvoiceDate");
        copy(o, "InvoiceNumber", r, "InvoiceNumber");
        copy(o, "JournalCode", r, "JournalCode");
        copy(o, "YourRef", r, "YourRef");
        json_object_set_new(o, "Notes", json_null());
        return o;
}

void xf_pay_refresh(struct xf_div *d)
{
        json_t *rows = json_array(), *list = json_array(), *extra = json_array();
        size_t n = 0, i, k;
        struct item *it = calloc(json_array_size(d->sets[XF_E_SALESINVOICES]) + 1, sizeof(*it));
        json_t *v, *l;

        if (it == NULL || !rows || !list || !extra)
                goto out;
        json_array_foreach (d->sets[XF_E_SALESINVOICES], i, v) {
                if (json_integer_value(json_object_get(v, "Status")) != 50)
                        continue; /* an open invoice owes nothing yet */
                it[n].row = invoice_item(d, v);
                it[n].open = cents(json_number_value(json_object_get(v, "AmountDC")));
                n++;
        }
        json_array_foreach (d->sets[XF_E_GLENTRIES], i, v) {
                json_t *ls = xf_lines_of(d, XF_E_GLENTRIES, sget(v, "EntryID"));

                json_array_foreach (ls, k, l) {
                        json_t *gl = xf_find(d, XF_E_GLACCOUNTS, "ID", sget(l, "GLAccount"));

                        if (json_integer_value(json_object_get(gl, "Type")) == 20)
                                apply_line(it, n, l, v, extra);
                }
                json_decref(ls);
        }
        for (i = 0; i < n; i++) {
                json_t *r = it[i].row;

                json_object_set_new(r, "Status", json_integer(it[i].open == 0 ? 50 : 20));
                json_object_set_new(r, "IsFullyPaid", json_boolean(it[i].open == 0));
                if (it[i].open != 0)
                        json_array_append_new(list, list_row(r, it[i].open));
                json_array_append(rows, r);
        }
        json_array_foreach (extra, i, v) {
                json_object_set_new(v, "Status", json_integer(20));
                json_object_set_new(v, "IsFullyPaid", json_false());
                json_array_append_new(
                        list,
                        list_row(v, cents(json_number_value(json_object_get(v, "AmountDC")))));
                json_array_append(rows, v);
        }
        json_array_foreach (rows, i, v) {
                keep_writable(v, xf_find(d, XF_E_RECEIVABLES, "ID", sget(v, "ID")));
                if (!has(v, "PaymentMethod"))
                        json_object_set_new(v, "PaymentMethod", json_string("B"));
                if (!json_object_get(v, "PaymentReference"))
                        json_object_set_new(v, "PaymentReference", json_null());
                json_object_set_new(v, "Division", json_integer(d->number));
                if (!json_object_get(v, "LastPaymentDate"))
                        json_object_set_new(v, "LastPaymentDate", json_null());
                if (!json_object_get(v, "EndDate"))
                        json_object_set_new(v, "EndDate", json_null());
        }
        json_decref(d->sets[XF_E_RECEIVABLES]);
        d->sets[XF_E_RECEIVABLES] = json_incref(rows);
        json_decref(d->sets[XF_E_RECEIVABLESLIST]);
        d->sets[XF_E_RECEIVABLESLIST] = json_incref(list);
        json_decref(d->sets[XF_E_RECEIVABLESLISTBYACCOUNT]);
        d->sets[XF_E_RECEIVABLESLISTBYACCOUNT] = json_incref(list);
out:
        for (i = 0; it && i < n; i++)
                json_decref(it[i].row);
        free(it);
        json_decref(rows);
        json_decref(list);
        json_decref(extra);
}

bool xf_pay_derived(int ent)
{
        return ent == XF_E_RECEIVABLES || ent == XF_E_RECEIVABLESLIST ||
               ent == XF_E_RECEIVABLESLISTBYACCOUNT;
}

json_t *xf_pay_by_account(struct xf_div *d, const char *arg, char *err, size_t errlen)
{
        char guid[64];
        json_t *out, *v;
        size_t i, n;

        if (arg == NULL) {
                snprintf(err, errlen, "Mandatory: accountId");
                return NULL;
        }
        n = strlen(arg);
        if (n < 7 || strncasecmp(arg, "guid'", 5) != 0 || arg[n - 1] != '\'' ||
            n - 6 >= sizeof(guid)) {
                snprintf(err, errlen, "accountId: expected guid'...'");
                return NULL;
        }
        memcpy(guid, arg + 5, n - 6);
        guid[n - 6] = '\0';
        if (!xf_guid_valid(guid)) {
                snprintf(err, errlen, "Unrecognized Guid format.");
                return NULL;
        }
        out = json_array();
        json_array_foreach (d->sets[XF_E_RECEIVABLESLISTBYACCOUNT], i, v) {
                if (sget(v, "AccountId") && strcasecmp(sget(v, "AccountId"), guid) == 0)
                        json_array_append(out, v);
        }
        return out;
}
