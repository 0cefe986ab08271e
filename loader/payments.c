/* payments: see payments.h. */
#include "loader/payments.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/journal.h"
#include "common/metrics.h"
#include "exact/api.h"
#include "loader/command_check.h"
#include "loader/ledger.h"

#define jstr command_str
#define PAYMENT_KIND "payment"
#define ENTRY_EP "generaljournalentry/GeneralJournalEntries"
#define LINES_EP "generaljournalentry/GeneralJournalEntryLines"
#define RECEIVABLES_EP "cashflow/Receivables"
#define LIST_EP "read/financial/ReceivablesListByAccount"

/* One document to settle: an invoice (sign +1: the customer paid) or a credit note (-1: the
 * money went back). */
typedef struct settlement {
        const char *key;  /**< ledger key of the payment: the order, or <order>/R<refund> */
        const char *what; /**< "invoice" or "credit note", for the sync log */
        char doc[64];     /**< its InvoiceID */
        double amount;    /**< gross, positive */
        int sign;
        const json_t *pay; /**< the command's payment member: journal, clearing_gl, date */
        const char *reference;
        long long number;   /**< InvoiceNumber, read from Exact */
        char account[64];   /**< the receivable's Account */
        char ar[64];        /**< the receivable's debtors G/L account */
        double doc_amount;  /**< the document's AmountFC, read from Exact */
        bool amount_of_doc; /**< settle what the document says, not the shop's amount */
} settlement;

static void say(run *r, const char *key, const char *status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* One sync-log line per payment, in plain words. */
static void say(run *r, const char *key, const char *status, const char *fmt, ...)
{
        char msg[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cx_sync_log(r->w->db, r->tenant, "load", "payment", key, status, msg, r->trace, NULL);
}

/* The document in Exact: its Status (50 processed), InvoiceNumber and InvoiceTo; -1 with the
 * verdict set. */
static int read_document(run *r, settlement *s)
{
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        json_t *row;
        char *q = exact_filter_guid("InvoiceID", s->doc,
                                    "InvoiceID,Status,InvoiceNumber,InvoiceTo,AmountFC");
        int rc = exact_lookup(&rd, "salesinvoice/SalesInvoices", q, "invoice to settle", &row, &e);
        int st;

        free(q);
        if (rc < 0)
                return run_fail_with(r, &e);
        if (!row) {
                run_set(r, RUN_FAIL, 0, "%s %s of order %s is no longer in Exact", s->what, s->doc,
                        r->source_id);
                return -1;
        }
        st = (int)json_integer_value(json_object_get(row, "Status"));
        s->number = json_integer_value(json_object_get(row, "InvoiceNumber"));
        s->doc_amount = json_number_value(json_object_get(row, "AmountFC"));
        if (s->amount_of_doc)
                s->amount = s->sign * s->doc_amount;
        snprintf(s->account, sizeof(s->account), "%s", jstr(row, "InvoiceTo"));
        json_decref(row);
        return st;
}

/* The document's receivable: 1 open, 2 settled already, 0 none; its G/L account into s->ar. */
static int read_receivable(run *r, settlement *s)
{
        char filter[64];
        json_t *rows, *v;
        size_t i;
        int found = 0;

        snprintf(filter, sizeof(filter), "InvoiceNumber eq %lld", s->number);
        if (run_get_rows(r, RECEIVABLES_EP, filter, "ID,Account,GLAccount,Status",
                         "receivable of the invoice", &rows) < 0)
                return -1;
        json_array_foreach (rows, i, v) {
                if (strcasecmp(jstr(v, "Account"), s->account))
                        continue;
                snprintf(s->ar, sizeof(s->ar), "%s", jstr(v, "GLAccount"));
                found = json_integer_value(json_object_get(v, "Status")) == 50 ? 2 : 1;
                break;
        }
        json_decref(rows);
        return found;
}

/* After a write in doubt: our entry, by the debtor line's OurRef and Account; "" if none. */
static int find_entry(run *r, const settlement *s, char entry[64])
{
        char filter[160];
        json_t *rows;

        entry[0] = '\0';
        snprintf(filter, sizeof(filter), "OurRef eq %lld and Account eq guid'%s'", s->number,
                 s->account);
        if (run_get_rows(r, LINES_EP, filter, "EntryID,AmountFC", "payment entry look-up", &rows) <
            0)
                return -1;
        if (json_array_size(rows) > 0) {
                snprintf(entry, 64, "%s", jstr(json_array_get(rows, 0), "EntryID"));
                cx_counter_add("cx_loader_duplicates_avoided_total",
                               "Writes in doubt that turned out to have happened", NULL, 1);
        }
        json_decref(rows);
        return 0;
}

/* POST journal entry @p body (taken) as ledger key @p key; its EntryID into @p entry. Posted
 * without an EntryID in the answer: given up in the ledger, so the next try looks it up. */
static int write_entry(run *r, const char *key, const char *ref, json_t *body, const char *what,
                       char entry[64])
{
        exact_result res;
        int rc = run_write(r, PAYMENT_KIND, key, ref, "", "POST", ENTRY_EP, NULL, body, what, &res);

        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(entry, 64, "%s", jstr(res.d, "EntryID"));
        exact_result_clear(&res);
        if (!entry[0]) {
                ledger_gave_up(r->w->db, r->tenant, PAYMENT_KIND, key, NULL);
                run_set(r, RUN_RETRY, 0, "journal entry created without EntryID in the answer");
                return -1;
        }
        return 0;
}

/* POST the entry: the debtor line settles the receivable, the clearing line balances it. */
static int post_entry(run *r, exact_refdata *rd, const settlement *s, char entry[64])
{
        exact_reader reader = run_reader(r);
        const char *date = jstr(s->pay, "date");
        char clearing[64], desc[61], when[32] = "", what[200];
        double amount = (double)(long long)(s->amount * 100.0 + 0.5) / 100.0; /* positive */
        json_t *body, *debtor, *other;
        cx_err e = { 0 };

        if (exact_refdata_guid(rd, &reader, EXACT_REF_GL_ACCOUNT, jstr(s->pay, "clearing_gl"),
                               clearing, &e) < 0)
                return run_fail_with(r, &e);
        snprintf(desc, sizeof(desc), "%s %s %s", s->sign > 0 ? "Payment" : "Repayment",
                 jstr(json_object_get(r->cmd, "body"), "YourRef"), s->reference);
        if (strlen(date) == 10)
                snprintf(when, sizeof(when), "%sT00:00:00", date);
        debtor = json_pack("{s:s,s:s,s:f,s:I,s:s}", "GLAccount", s->ar, "Account", s->account,
                           "AmountFC", -s->sign * amount, "OurRef", (json_int_t)s->number,
                           "Description", desc);
        other = json_pack("{s:s,s:f,s:s}", "GLAccount", clearing, "AmountFC", s->sign * amount,
                          "Description", desc);
        if (when[0]) {
                json_object_set_new(debtor, "Date", json_string(when));
                json_object_set_new(other, "Date", json_string(when));
        }
        body = json_pack("{s:s,s:[o,o]}", "JournalCode", jstr(s->pay, "journal"),
                         "GeneralJournalEntryLines", debtor, other);
        snprintf(what, sizeof(what), "payment of %s %lld (order %s)", s->what, s->number,
                 r->source_id);
        snprintf(desc, sizeof(desc), "%lld", s->number);
        return write_entry(r, s->key, desc, body, what, entry);
}

/* The open items left for the document after the payment (0 when matched), with their sum;
 * -1 on failure. The REST API has no matching endpoint: this is only a check. */
static int still_open(run *r, const settlement *s, double *open)
{
        char acc[80], filter[64];
        char *ea, *ef, *q = NULL;
        exact_result res;
        cx_err e = { 0 };
        json_t *v;
        size_t i;
        int n = 0;

        *open = 0;
        snprintf(acc, sizeof(acc), "guid'%s'", s->account);
        snprintf(filter, sizeof(filter), "InvoiceNumber eq %lld", s->number);
        ea = cx_http_escape(acc);
        ef = cx_http_escape(filter);
        if (!ea || !ef ||
            asprintf(&q, "accountId=%s&$filter=%s&$select=InvoiceNumber,Amount", ea, ef) < 0)
                q = NULL;
        free(ea);
        free(ef);
        if (!q) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return -1;
        }
        n = run_api(r, "GET", LIST_EP, NULL, q, NULL, &res);
        free(q);
        if (n < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, "open items of the account", &e);
                exact_result_clear(&res);
                return run_fail_with(r, &e);
        }
        json_array_foreach (exact_rows(&res), i, v) {
                if (json_integer_value(json_object_get(v, "InvoiceNumber")) != s->number)
                        continue;
                *open += json_number_value(json_object_get(v, "Amount"));
                n++;
        }
        exact_result_clear(&res);
        return n;
}

/* Settle one document exactly once. 0 also when it has to wait (said in the sync log). */
static int settle(run *r, exact_refdata *rd, settlement *s)
{
        ledger_row P;
        cx_err e = { 0 };
        char entry[64] = "";
        double open;
        int st, rec, left;

        if (ledger_get(r->w->db, r->tenant, PAYMENT_KIND, s->key, &P, &e) < 0)
                return run_ledger_error(r, &e);
        if (P.state == LEDGER_DONE)
                return 0; /* booked before: never twice, whatever Exact matched */
        if (P.state == LEDGER_PENDING && P.in_doubt && run_doubt_wait(r, P.intent_ms))
                return -1; /* no call before the write in doubt can no longer land */
        st = read_document(r, s);
        if (st < 0)
                return -1;
        if (st != 50) {
                say(r, s->key, "info",
                    "paid; %s %lld is not processed in Exact yet, so the payment is not booked "
                    "(it is when the order comes again with the invoice processed)",
                    s->what, s->number);
                return 0;
        }
        rec = read_receivable(r, s);
        if (rec < 0)
                return -1;
        if (P.state == LEDGER_PENDING && P.in_doubt && find_entry(r, s, entry) < 0)
                return -1;
        if (!entry[0] && rec == 0) {
                /* processed with a positive amount, so it is owed: never skip it for good */
                run_set(r, RUN_RETRY, 0, "the receivable of %s %lld is not visible in Exact yet",
                        s->what, s->number);
                return -1;
        }
        if (!entry[0] && rec == 2) {
                if (ledger_done(r->w->db, r->tenant, PAYMENT_KIND, s->key, "", s->number,
                                "settled in Exact", r->trace, &e) < 0)
                        return run_ledger_error(r, &e);
                say(r, s->key, "ok", "paid; %s %lld was settled in Exact already: nothing booked",
                    s->what, s->number);
                return 0;
        }
        if (!entry[0] && post_entry(r, rd, s, entry) < 0)
                return -1;
        if (ledger_done(r->w->db, r->tenant, PAYMENT_KIND, s->key, entry, s->number, "", r->trace,
                        &e) < 0)
                return run_ledger_error(r, &e);
        left = still_open(r, s, &open);
        if (left < 0)
                return -1;
        if (left == 0) {
                say(r, s->key, "ok", "paid and matched (%s %lld, journal %s, entry %s)", s->what,
                    s->number, jstr(s->pay, "journal"), entry);
                return 0;
        }
        cx_counter_add("cx_loader_payments_unmatched_total",
                       "Payments booked that left an open item in Exact", NULL, 1);
        say(r, s->key, "info",
            "paid, not matched: match it in Exact (%s %lld: %.2f paid, %d open item(s) of "
            "%.2f together; entry %s)",
            s->what, s->number, s->amount, left, open, entry);
        return 0;
}

/* Money in cents, as the fake and Exact keep amounts. */
static double round2(double x)
{
        return (double)llround(x * 100.0) / 100.0;
}

/* The entry of an edit: the credit note @p E set against the new invoice @p V. */
static int post_transfer(run *r, exact_refdata *rd, const json_t *pay, const settlement *E,
                         const settlement *V, const char *vkey, char entry[64])
{
        exact_reader reader = run_reader(r);
        char clearing[64], desc[61], when[32] = "", what[200], ref[24];
        const char *date = jstr(pay, "date");
        json_t *body, *lines;
        cx_err e = { 0 };
        double diff;

        if (exact_refdata_guid(rd, &reader, EXACT_REF_GL_ACCOUNT, jstr(pay, "clearing_gl"),
                               clearing, &e) < 0)
                return run_fail_with(r, &e);
        snprintf(desc, sizeof(desc), "Payment %s moved to invoice %lld",
                 jstr(json_object_get(r->cmd, "body"), "YourRef"), V->number);
        if (strlen(date) == 10)
                snprintf(when, sizeof(when), "%sT00:00:00", date);
        lines = json_pack("[{s:s,s:s,s:f,s:I,s:s},{s:s,s:s,s:f,s:I,s:s}]", "GLAccount", E->ar,
                          "Account", E->account, "AmountFC", round2(E->amount), "OurRef",
                          (json_int_t)E->number, "Description", desc, "GLAccount", V->ar, "Account",
                          V->account, "AmountFC", -round2(V->amount), "OurRef",
                          (json_int_t)V->number, "Description", desc);
        diff = round2(V->amount) - round2(E->amount);
        if (llround(diff * 100.0) != 0)
                json_array_append_new(lines,
                                      json_pack("{s:s,s:f,s:s}", "GLAccount", clearing, "AmountFC",
                                                round2(diff), "Description", desc));
        if (when[0]) {
                json_t *l;
                size_t i;

                json_array_foreach (lines, i, l)
                        json_object_set_new(l, "Date", json_string(when));
        }
        body = json_pack("{s:s,s:o}", "JournalCode", jstr(pay, "journal"),
                         "GeneralJournalEntryLines", lines);
        snprintf(what, sizeof(what),
                 "payment moved from credit note %lld to invoice %lld (order %s)", E->number,
                 V->number, r->source_id);
        snprintf(ref, sizeof(ref), "%lld", V->number);
        return write_entry(r, vkey, ref, body, what, entry);
}

/*
 * Edit @p k of a paid invoice moves its payment: the credit note <order>/E<k> is set against
 * the new invoice <order>/V<k> by one entry (ledger kind `payment`, key <order>/V<k>): a
 * debtor line that settles the credit note (+its gross, OurRef its number), a debtor line that
 * settles the new invoice (-its gross; for the latest, the shop's paid amount, so a
 * difference shows as an open item) and, when the two differ, the difference on the clearing
 * account (paid more, or paid back). The original stays matched with the payment it had.
 */
static int transfer(run *r, exact_refdata *rd, const json_t *pay, int k, bool latest)
{
        char ekey[160], vkey[160], entry[64] = "";
        settlement E = { 0 }, V = { 0 };
        ledger_row P, CE, CV;
        cx_err e = { 0 };
        double open;
        int st, re, rv, left;

        snprintf(ekey, sizeof(ekey), "%s/E%d", r->source_id, k);
        snprintf(vkey, sizeof(vkey), "%s/V%d", r->source_id, k);
        if (ledger_get(r->w->db, r->tenant, PAYMENT_KIND, vkey, &P, &e) < 0)
                return run_ledger_error(r, &e);
        if (P.state == LEDGER_DONE)
                return 0;
        if (ledger_get(r->w->db, r->tenant, "credit_note", ekey, &CE, &e) < 0 ||
            ledger_get(r->w->db, r->tenant, "sales_invoice", vkey, &CV, &e) < 0)
                return run_ledger_error(r, &e);
        if (CE.state != LEDGER_DONE || CV.state != LEDGER_DONE) {
                say(r, vkey, "info",
                    "paid; changed in the shop, its credit note or new invoice is not in Exact "
                    "yet: the payment is moved once they are");
                return 0;
        }
        if (P.state == LEDGER_PENDING && P.in_doubt && run_doubt_wait(r, P.intent_ms))
                return -1;
        E.key = V.key = vkey;
        E.what = "credit note";
        V.what = "invoice";
        E.sign = -1;
        V.sign = 1;
        E.amount_of_doc = V.amount_of_doc = true;
        snprintf(E.doc, sizeof(E.doc), "%s", CE.guid);
        snprintf(V.doc, sizeof(V.doc), "%s", CV.guid);
        if ((st = read_document(r, &E)) < 0)
                return -1;
        if (st == 50 && (st = read_document(r, &V)) < 0)
                return -1;
        if (st != 50) {
                say(r, vkey, "info",
                    "paid; changed in the shop, its credit note or new invoice is not processed "
                    "in Exact yet, so the payment is not moved (it is when the order comes again)");
                return 0;
        }
        if (latest)
                V.amount = json_number_value(json_object_get(pay, "amount"));
        if ((re = read_receivable(r, &E)) < 0 || (rv = read_receivable(r, &V)) < 0)
                return -1;
        if (P.state == LEDGER_PENDING && P.in_doubt && find_entry(r, &V, entry) < 0)
                return -1;
        if (!entry[0] && (re == 0 || rv == 0)) {
                run_set(r, RUN_RETRY, 0,
                        "the receivables of credit note %lld and invoice %lld are not visible in "
                        "Exact yet",
                        E.number, V.number);
                return -1;
        }
        if (!entry[0] && re == 2 && rv == 2) {
                if (ledger_done(r->w->db, r->tenant, PAYMENT_KIND, vkey, "", V.number,
                                "settled in Exact", r->trace, &e) < 0)
                        return run_ledger_error(r, &e);
                say(r, vkey, "ok",
                    "paid; credit note %lld and invoice %lld were settled in Exact already: "
                    "nothing booked",
                    E.number, V.number);
                return 0;
        }
        if (!entry[0] && post_transfer(r, rd, pay, &E, &V, vkey, entry) < 0)
                return -1;
        if (ledger_done(r->w->db, r->tenant, PAYMENT_KIND, vkey, entry, V.number, "", r->trace,
                        &e) < 0)
                return run_ledger_error(r, &e);
        if ((left = still_open(r, &V, &open)) < 0)
                return -1;
        if (left == 0 && (left = still_open(r, &E, &open)) < 0)
                return -1;
        if (left == 0) {
                say(r, vkey, "ok",
                    "paid and matched (changed in the shop: the payment moved from credit note "
                    "%lld to invoice %lld, journal %s, entry %s)",
                    E.number, V.number, jstr(pay, "journal"), entry);
                return 0;
        }
        cx_counter_add("cx_loader_payments_unmatched_total",
                       "Payments booked that left an open item in Exact", NULL, 1);
        say(r, vkey, "info",
            "paid, not matched: match it in Exact (changed in the shop: credit note %lld set "
            "against invoice %lld, %.2f paid; %d open item(s) of %.2f together; entry %s)",
            E.number, V.number, V.amount, left, open, entry);
        return 0;
}

/* The edits after invoicing the order's ledger row counts (0 when none). */
static int revisions_of(run *r, int *n)
{
        const char *p[2] = { r->tenant, r->source_id };
        cx_err e = { 0 };
        PGresult *res;

        *n = 0;
        res = cx_db_query(r->w->db,
                          "SELECT coalesce(max(revisions), 0) FROM ledger WHERE tenant_id = $1 "
                          "AND kind IN ('sales_invoice', 'sales_order') AND source_key = $2 AND "
                          "state = 'done'",
                          2, p, &e);
        if (!res)
                return run_ledger_error(r, &e);
        if (PQntuples(res) == 1)
                *n = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return 0;
}

/* The invoice the order's payment settles: "" when there is none (yet). */
static int order_invoice(run *r, char doc[64], const char **why)
{
        ledger_row D, O;
        cx_err e = { 0 };
        char kind[32];

        doc[0] = '\0';
        if (ledger_get_document(r->w->db, r->tenant, r->kind, r->source_id, &D, kind, &e) < 0)
                return run_ledger_error(r, &e);
        if (D.state != LEDGER_DONE) {
                *why = "the order is not booked";
                return 0;
        }
        if (!strcmp(kind, "sales_invoice")) {
                snprintf(doc, 64, "%s", D.guid);
                return 0;
        }
        if (ledger_get(r->w->db, r->tenant, "order_invoice", r->source_id, &O, &e) < 0)
                return run_ledger_error(r, &e);
        if (O.state == LEDGER_DONE)
                snprintf(doc, 64, "%s", O.guid);
        else
                *why = "the sales order is not invoiced in Exact (rules invoicing."
                       "invoice_sales_orders)";
        return 0;
}

/* Refunds paid back, each against its credit note once that is booked. */
static int repayments(run *r, exact_refdata *rd, const json_t *pay)
{
        json_t *v;
        size_t i;

        json_array_foreach (json_object_get(r->cmd, "refunds"), i, v) {
                settlement s = { 0 };
                char key[160];
                ledger_row C;
                cx_err e = { 0 };

                if (!json_is_true(json_object_get(v, "paid")))
                        continue;
                snprintf(key, sizeof(key), "%s/R%s", r->source_id, jstr(v, "id"));
                if (!pay || json_is_true(json_object_get(pay, "unmapped"))) {
                        say(r, key, "info",
                            "refund paid back by %s; no payment journal for it in the rules "
                            "(payment_journals)",
                            jstr(v, "method")[0] ? jstr(v, "method") : jstr(pay, "method"));
                        continue;
                }
                if (!(json_number_value(json_object_get(v, "gross")) > 0)) {
                        say(r, key, "info",
                            "refund paid back without a positive gross amount: nothing booked");
                        continue;
                }
                if (ledger_get(r->w->db, r->tenant, "credit_note", key, &C, &e) < 0)
                        return run_ledger_error(r, &e);
                if (C.state != LEDGER_DONE) {
                        say(r, key, "info",
                            "refund paid back; its credit note is not in Exact yet: the "
                            "repayment is booked once it is");
                        continue;
                }
                s.key = key;
                s.what = "credit note";
                snprintf(s.doc, sizeof(s.doc), "%s", C.guid);
                s.amount = json_number_value(json_object_get(v, "gross"));
                s.sign = -1;
                s.pay = pay;
                s.reference = "";
                if (settle(r, rd, &s) < 0)
                        return -1;
        }
        return 0;
}

int payments_after_booking(run *r, exact_refdata *rd)
{
        const json_t *pay = json_object_get(r->cmd, "payment");
        settlement s = { 0 };
        const char *why = "";
        int edits;

        if (!json_is_true(json_object_get(pay, "paid")))
                return repayments(r, rd, NULL);
        if (json_is_true(json_object_get(pay, "unmapped"))) {
                say(r, r->source_id, "info",
                    "paid by %s; no payment journal for it in the rules (payment_journals)",
                    jstr(pay, "method"));
                return repayments(r, rd, pay);
        }
        if (revisions_of(r, &edits) < 0)
                return -1;
        s.key = r->source_id;
        s.what = "invoice";
        s.amount = json_number_value(json_object_get(pay, "amount"));
        s.sign = 1;
        s.pay = pay;
        s.reference = jstr(pay, "reference");
        /* changed since: the shop's amount is the latest invoice's, the original is paid
         * what it says, and each edit moves the payment on */
        s.amount_of_doc = edits > 0;
        if (order_invoice(r, s.doc, &why) < 0)
                return -1;
        if (!s.doc[0])
                say(r, r->source_id, "info", "paid; %s, so the payment is not booked", why);
        else if (settle(r, rd, &s) < 0)
                return -1;
        for (int k = 1; s.doc[0] && k <= edits; k++)
                if (transfer(r, rd, pay, k, k == edits) < 0)
                        return -1;
        return repayments(r, rd, pay);
}
