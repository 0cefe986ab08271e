/* invoicing: see invoicing.h. */
#include "loader/invoicing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "exact/api.h"
#include "loader/command_check.h"
#include "loader/ledger.h"

#define PRINT_KIND "invoice_print"
#define PRINT_EP "salesinvoice/PrintedSalesInvoices"
#define ORDER_INVOICE_KIND "order_invoice"
#define ORDER_INVOICE_EP "salesinvoice/InvoiceSalesOrders"

/* The invoice's Status in Exact (50 processed, 20 open), or -1 with the verdict set. */
static int invoice_status(run *r, const char *guid, long long *number)
{
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        json_t *row, *n;
        char *q = exact_filter_guid("InvoiceID", guid, "InvoiceID,Status,InvoiceNumber");
        int rc = exact_lookup(&rd, "salesinvoice/SalesInvoices", q, "invoice status", &row, &e);
        long long st;

        free(q);
        if (rc < 0)
                return run_fail_with(r, &e);
        if (!row) {
                run_set(r, RUN_FAIL, 0, "sales invoice %s is no longer in Exact", guid);
                return -1;
        }
        st = json_integer_value(json_object_get(row, "Status"));
        n = json_object_get(row, "InvoiceNumber");
        if (json_is_integer(n))
                *number = json_integer_value(n);
        json_decref(row);
        return (int)st;
}

/* POST the print: the invoice made final, dated, e-mailed when asked; what Exact said about
 * the e-mail into mail_err ("" when it was created or not asked for). */
static int post_print(run *r, const json_t *inv, const char *key, const char *guid, char doc[64],
                      char mail_err[160])
{
        json_t *body = json_object();
        json_t *date = json_object_get(inv, "invoice_date");
        exact_result res;
        char what[160];
        int rc;

        json_object_set_new(body, "InvoiceID", json_string(guid));
        if (json_is_string(date))
                json_object_set(body, "InvoiceDate", date);
        json_object_set_new(body, "SendEmailToCustomer",
                            json_boolean(json_is_true(json_object_get(inv, "send_email"))));
        snprintf(what, sizeof(what), "processing invoice %s (order %s)", guid, key);
        rc = run_write(r, PRINT_KIND, key, guid, "", "POST", PRINT_EP, NULL, body, what, &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(doc, 64, "%s", command_str(res.d, "Document"));
        snprintf(mail_err, 160, "%s", command_str(res.d, "EmailCreationError"));
        if (mail_err[0])
                /* the invoice is final; only the mail failed: say so, never print again */
                cx_counter_add("cx_loader_invoice_email_errors_total",
                               "Processed invoices whose e-mail Exact could not create", NULL, 1);
        exact_result_clear(&res);
        return 0;
}

/* The print of the invoice guid (number: its InvoiceNumber when known), exactly once. */
static int process_invoice(run *r, const json_t *inv, const char *key, const char *guid,
                           long long number, char *summary, size_t summary_size)
{
        ledger_row P;
        cx_err e = { 0 };
        char doc[64] = "", mail_err[160] = "";
        size_t len;
        int st;

        if (ledger_get(r->w->db, r->tenant, PRINT_KIND, key, &P, &e) < 0)
                return run_ledger_error(r, &e);
        if (P.state == LEDGER_DONE)
                return 0;
        if (P.state != LEDGER_ABSENT) {
                /* an earlier attempt: in doubt, refused or cut short; Exact says what happened */
                if (P.in_doubt && run_doubt_wait(r, P.intent_ms))
                        return -1;
                st = invoice_status(r, guid, &number);
                if (st < 0)
                        return -1;
                if (st == 50)
                        snprintf(doc, sizeof(doc), "found processed");
        }
        if (!doc[0] && post_print(r, inv, key, guid, doc, mail_err) < 0)
                return -1;
        if (ledger_done(r->w->db, r->tenant, PRINT_KIND, key, doc[0] ? doc : guid, number, "",
                        r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        len = strlen(summary);
        if (mail_err[0])
                snprintf(summary + len, summary_size - len,
                         "; processed; Exact could not e-mail it: %.120s", mail_err);
        else
                snprintf(summary + len, summary_size - len, "; processed%s",
                         json_is_true(json_object_get(inv, "send_email")) ? ", e-mailed by Exact"
                                                                          : "");
        return 1;
}

/* The invoice Exact made of the sales order, by its lines' SalesOrder; guid "" when none. */
static int find_order_invoice(run *r, const char *order_guid, char guid[64])
{
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        json_t *row;
        char *q = exact_filter_guid("SalesOrder", order_guid, "InvoiceID,SalesOrder");
        int rc = exact_lookup(&rd, "salesinvoice/SalesInvoiceLines", q, "invoice of the order",
                              &row, &e);

        free(q);
        if (rc < 0)
                return run_fail_with(r, &e);
        snprintf(guid, 64, "%s", command_str(row, "InvoiceID"));
        json_decref(row);
        return 0;
}

/* POST InvoiceSalesOrders for the one order: by quantity ordered (a webshop delivers
 * nothing in Exact), one invoice per order. The answer has counts and Errors, no IDs. */
static int post_invoice_order(run *r, const json_t *inv, const char *order_guid)
{
        json_t *body = json_pack("{s:i,s:i,s:s,s:[{s:s}]}", "CreateMode", 1, "InvoiceMode", 1,
                                 "JournalCode", command_str(inv, "journal"), "SalesOrderIDs", "ID",
                                 order_guid);
        exact_result res;
        char what[160];
        long long made;
        int rc;

        snprintf(what, sizeof(what), "invoicing sales order %s (order %s)", order_guid,
                 r->source_id);
        rc = run_write(r, ORDER_INVOICE_KIND, r->source_id, order_guid, "", "POST",
                       ORDER_INVOICE_EP, NULL, body, what, &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        made = json_integer_value(json_object_get(res.d, "NumberOfCreatedInvoices"));
        if (made != 1) {
                char why[400];

                snprintf(why, sizeof(why), "Exact created %lld invoices for the order: %.300s",
                         made, command_str(res.d, "Errors"));
                ledger_failed(r->w->db, r->tenant, ORDER_INVOICE_KIND, r->source_id, why, NULL);
                run_set(r, RUN_FAIL, 0, "%s", why);
                exact_result_clear(&res);
                return -1;
        }
        exact_result_clear(&res);
        return 0;
}

/* The sales order invoiced on Exact's side, exactly once; its invoice's GUID into guid. */
static int invoice_order(run *r, const json_t *inv, const ledger_row *D, char guid[64],
                         char *summary, size_t summary_size)
{
        ledger_row O;
        cx_err e = { 0 };
        size_t len;

        if (ledger_get(r->w->db, r->tenant, ORDER_INVOICE_KIND, r->source_id, &O, &e) < 0)
                return run_ledger_error(r, &e);
        if (O.state == LEDGER_DONE) {
                snprintf(guid, 64, "%s", O.guid);
                return 0;
        }
        guid[0] = '\0';
        if (O.state != LEDGER_ABSENT && ((O.in_doubt && run_doubt_wait(r, O.intent_ms)) ||
                                         find_order_invoice(r, D->guid, guid) < 0))
                return -1;
        if (!guid[0] &&
            (post_invoice_order(r, inv, D->guid) < 0 || find_order_invoice(r, D->guid, guid) < 0))
                return -1;
        if (!guid[0]) {
                run_set(r, RUN_RETRY, 0, "the invoice of sales order %s is not visible yet",
                        D->guid);
                return -1;
        }
        if (ledger_done(r->w->db, r->tenant, ORDER_INVOICE_KIND, r->source_id, guid, -1, "",
                        r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        len = strlen(summary);
        snprintf(summary + len, summary_size - len, "; invoiced by Exact as %s", guid);
        return 1;
}

int invoicing_after_booking(run *r, bool *skipped, char *summary, size_t summary_size)
{
        const json_t *inv = json_object_get(r->cmd, "invoicing");
        bool on_order = !strcmp(r->kind, "sales_order") &&
                        json_is_true(json_object_get(inv, "invoice_sales_orders"));
        bool process = json_is_true(json_object_get(inv, "process"));
        char guid[64];
        ledger_row D;
        cx_err e = { 0 };
        int wrote = 0, rc;

        if (!on_order && !(process && !strcmp(r->kind, "sales_invoice")))
                return 0;
        if (ledger_get(r->w->db, r->tenant, r->kind, r->source_id, &D, &e) < 0)
                return run_ledger_error(r, &e);
        if (D.state != LEDGER_DONE)
                return 0;
        snprintf(guid, sizeof(guid), "%s", D.guid);
        if (on_order) {
                rc = invoice_order(r, inv, &D, guid, summary, summary_size);
                if (rc < 0)
                        return -1;
                wrote |= rc;
                D.number = -1;
        }
        if (process) {
                rc = process_invoice(r, inv, r->source_id, guid, D.number, summary, summary_size);
                if (rc < 0)
                        return -1;
                wrote |= rc;
        }
        if (wrote)
                *skipped = false;
        return 0;
}

int invoicing_process(run *r, const char *key, const char *guid, long long number, const char *date,
                      char *summary, size_t summary_size)
{
        json_t *inv = json_deep_copy(json_object_get(r->cmd, "invoicing"));
        int rc = 0;

        if (json_is_true(json_object_get(inv, "process"))) {
                if (date && *date)
                        json_object_set_new(inv, "invoice_date", json_string(date));
                rc = process_invoice(r, inv, key, guid, number, summary, summary_size);
        }
        json_decref(inv);
        return rc;
}
