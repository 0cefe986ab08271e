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

/* POST the print: the invoice made final, dated, e-mailed when asked. */
static int post_print(run *r, const json_t *inv, const char *guid, char doc[64])
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
        snprintf(what, sizeof(what), "processing invoice %s (order %s)", guid, r->source_id);
        rc = run_write(r, PRINT_KIND, r->source_id, guid, "", "POST", PRINT_EP, NULL, body, what,
                       &res);
        json_decref(body);
        if (rc < 0)
                return -1;
        snprintf(doc, 64, "%s", command_str(res.d, "Document"));
        if (command_str(res.d, "EmailCreationError")[0])
                /* the invoice is final; only the mail failed: say so, never print again */
                cx_counter_add("cx_loader_invoice_email_errors_total",
                               "Processed invoices whose e-mail Exact could not create", NULL, 1);
        exact_result_clear(&res);
        return 0;
}

int invoicing_after_booking(run *r, bool *skipped, char *summary, size_t summary_size)
{
        const json_t *inv = json_object_get(r->cmd, "invoicing");
        long long number = -1;
        ledger_row D, P;
        cx_err e = { 0 };
        char doc[64] = "";
        size_t len;
        int st;

        if (strcmp(r->kind, "sales_invoice") || !json_is_true(json_object_get(inv, "process")))
                return 0;
        if (ledger_get(r->w->db, r->tenant, r->kind, r->source_id, &D, &e) < 0 ||
            ledger_get(r->w->db, r->tenant, PRINT_KIND, r->source_id, &P, &e) < 0)
                return run_ledger_error(r, &e);
        if (P.state == LEDGER_DONE || D.state != LEDGER_DONE)
                return 0;
        if (P.state != LEDGER_ABSENT) {
                /* an earlier attempt: in doubt, refused or cut short; Exact says what happened */
                if (P.in_doubt && run_doubt_wait(r, P.intent_ms))
                        return -1;
                st = invoice_status(r, D.guid, &number);
                if (st < 0)
                        return -1;
                if (st == 50)
                        snprintf(doc, sizeof(doc), "found processed");
        }
        if (!doc[0] && post_print(r, inv, D.guid, doc) < 0)
                return -1;
        if (number < 0)
                number = D.number;
        if (ledger_done(r->w->db, r->tenant, PRINT_KIND, r->source_id, doc[0] ? doc : D.guid,
                        number, "", r->trace, &e) < 0)
                return run_ledger_error(r, &e);
        *skipped = false;
        len = strlen(summary);
        snprintf(summary + len, summary_size - len, "; processed%s",
                 json_is_true(json_object_get(inv, "send_email")) ? ", e-mailed by Exact" : "");
        return 0;
}
