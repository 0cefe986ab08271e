/* documents: see documents.h. */
#include "loader/documents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "exact/api.h"
#include "loader/addresses.h"
#include "loader/amounts.h"
#include "loader/command_check.h"
#include "loader/corrections.h"
#include "loader/entities.h"
#include "loader/ledger.h"

#define jstr command_str

/* Where a kind of document lives in Exact and what its answer calls its id and number. */
typedef struct doc_spec {
        bool invoice;
        const char *endpoint;
        const char *id_field;
        const char *number_field;
} doc_spec;

static const doc_spec SPEC_ORDER = { false, "salesorder/SalesOrders", "OrderID", "OrderNumber" };
static const doc_spec SPEC_INVOICE = { true, "salesinvoice/SalesInvoices", "InvoiceID",
                                       "InvoiceNumber" };

static long long number_of(const json_t *row, const char *field)
{
        json_t *n = json_object_get(row, field);

        return json_is_integer(n) ? json_integer_value(n) : -1;
}

/* After a write in doubt: the document by its YourRef, guid "" when it is not there. */
static int find_document(run *r, const doc_spec *s, const char *yourref, char guid[64],
                         long long *number)
{
        exact_reader rd = run_reader(r);
        cx_err e = { 0 };
        char sel[64];
        json_t *row;
        char *q;
        int rc;

        snprintf(sel, sizeof(sel), "%s,%s,YourRef", s->id_field, s->number_field);
        q = exact_filter_eq("YourRef", yourref, sel);
        rc = exact_lookup(&rd, s->endpoint, q, "document look-up", &row, &e);
        free(q);
        if (rc < 0)
                return run_fail_with(r, &e);
        snprintf(guid, 64, "%s", jstr(row, s->id_field));
        *number = number_of(row, s->number_field);
        json_decref(row);
        return 0;
}

/* The command's account and the items it defines, before the document refers to them. */
static int ensure_parties(run *r, exact_refdata *rd, char acc_guid[64])
{
        json_t *v;
        size_t i;

        if (entity_account(r, json_object_get(r->cmd, "account"), false, acc_guid) < 0)
                return -1;
        json_array_foreach (json_object_get(r->cmd, "items"), i, v) {
                char g[64];

                if (entity_item(r, rd, v, false, g) < 0)
                        return -1;
        }
        return 0;
}

/* Item codes of the lines -> GUIDs (from the ledger, or items that must exist); G/L account
 * codes of invoice lines -> GUIDs. */
static int resolve_lines(run *r, exact_refdata *rd, json_t *lines)
{
        exact_reader reader = run_reader(r);
        cx_err e = { 0 };
        json_t *v;
        size_t i;

        json_array_foreach (lines, i, v) {
                const char *code = jstr(v, "Item");
                const char *gl = json_string_value(json_object_get(v, "GLAccount"));
                char g[64] = "";
                ledger_row il;

                if (ledger_get(r->w->db, r->tenant, "item", code, &il, &e) < 0)
                        return run_ledger_error(r, &e);
                if (il.state == LEDGER_DONE)
                        snprintf(g, sizeof(g), "%s", il.guid);
                else if (entity_known_item(r, code, g) < 0)
                        return -1;
                json_object_set_new(v, "Item", json_string(g));
                if (gl && *gl) {
                        char glg[64];

                        if (exact_refdata_guid(rd, &reader, EXACT_REF_GL_ACCOUNT, gl, glg, &e) < 0)
                                return run_fail_with(r, &e);
                        json_object_set_new(v, "GLAccount", json_string(glg));
                }
        }
        return 0;
}

/* The command's ship-to object -> the GUID of its crm/Addresses row (addresses.h). */
static int delivery_address(run *r, const doc_spec *s, json_t *body, const char *acc_guid)
{
        const char *member = s->invoice ? "DeliverToAddress" : "DeliveryAddress";
        json_t *def = json_object_get(body, member);
        char g[64];

        if (!def)
                return 0;
        if (address_ensure(r, jstr(json_object_get(r->cmd, "account"), "Code"), acc_guid, def, g) <
            0)
                return -1;
        json_object_set_new(body, member, json_string(g));
        return 0;
}

/* The body to POST: the command's, with the account, the ship-to and the lines' codes as
 * GUIDs. */
static json_t *document_body(run *r, const doc_spec *s, exact_refdata *rd, const json_t *src,
                             const char *acc_guid)
{
        json_t *body = json_deep_copy(src);

        if (!body) {
                run_set(r, RUN_RETRY, 0, "out of memory");
                return NULL;
        }
        json_object_set_new(body, "OrderedBy", json_string(acc_guid));
        if (json_object_get(body, "InvoiceTo"))
                json_object_set_new(body, "InvoiceTo", json_string(acc_guid));
        if (json_object_get(body, "DeliverTo"))
                json_object_set_new(body, "DeliverTo", json_string(acc_guid));
        if (delivery_address(r, s, body, acc_guid) < 0 ||
            resolve_lines(r, rd, json_object_get(body, command_lines_member(s->invoice))) < 0) {
                json_decref(body);
                return NULL;
        }
        return body;
}

json_t *document_resolved_body(run *r, exact_refdata *rd, bool invoice, const json_t *src)
{
        char acc_guid[64];

        if (ensure_parties(r, rd, acc_guid) < 0)
                return NULL;
        return document_body(r, invoice ? &SPEC_INVOICE : &SPEC_ORDER, rd, src, acc_guid);
}

/* POST the document; its GUID and number from the answer. */
static int post_document(run *r, const doc_spec *s, const json_t *body, const char *yourref,
                         const char *hash, char guid[64], long long *number, json_t **answer)
{
        exact_result res;
        char what[200];

        snprintf(what, sizeof(what), "%s %s (YourRef %s)", r->kind, r->source_id, yourref);
        if (run_write(r, r->kind, r->source_id, yourref, hash, "POST", s->endpoint, NULL, body,
                      what, &res) < 0)
                return -1;
        snprintf(guid, 64, "%s", jstr(res.d, s->id_field));
        *number = number_of(res.d, s->number_field);
        *answer = json_incref(res.d);
        exact_result_clear(&res);
        if (!guid[0]) {
                /* created, but the answer did not say as what: look it up next time */
                run_set(r, RUN_RETRY, 0, "document created without %s in the answer", s->id_field);
                return -1;
        }
        return 0;
}

/* After a write in doubt (and its grace period): did it happen? guid "" when not. */
static int doubt_resolved(run *r, const doc_spec *s, const ledger_row *L, const char *yourref,
                          char guid[64], long long *number)
{
        if (run_doubt_wait(r, L->intent_ms) || find_document(r, s, yourref, guid, number) < 0)
                return -1;
        if (guid[0])
                cx_counter_add("cx_loader_duplicates_avoided_total",
                               "Writes in doubt that turned out to have happened", NULL, 1);
        return 0;
}

/* A write in doubt under the kind the tenant booked before a switch, looked up: found, it
 * is recorded as done (0); not found, its intent is dropped and the order is booked as the
 * current kind (1). -1 on a ledger error. */
static int other_kind_resolved(run *r, const char *kind, const doc_spec *s, const char *guid,
                               long long number, bool *skipped, char *summary, size_t summary_size)
{
        cx_err e = { 0 };

        if (!guid[0])
                return ledger_clear_intent(r->w->db, r->tenant, kind, r->source_id,
                                           "not found after a switch of kind", &e) < 0
                               ? run_ledger_error(r, &e)
                               : 1;
        if (ledger_done(r->w->db, r->tenant, kind, r->source_id, guid, number, "", r->trace, &e) <
            0)
                return run_ledger_error(r, &e);
        *skipped = true;
        snprintf(summary, summary_size, "already booked as %s (%s)", guid, s->endpoint);
        return 0;
}

int document_book(run *r, exact_refdata *rd, bool *skipped, char *summary, size_t summary_size)
{
        const doc_spec *s = !strcmp(r->kind, "sales_invoice") ? &SPEC_INVOICE : &SPEC_ORDER, *ls;
        json_t *src = json_object_get(r->cmd, "body");
        const char *yourref = jstr(src, "YourRef");
        char acc_guid[64], guid[64] = "", hash[80], lkind[32];
        long long number = -1;
        json_t *body, *answer = NULL;
        ledger_row L;
        cx_err e = { 0 };
        int rc = -1;

        *skipped = false;
        /* whatever the tenant books now: a kind switch applies to new orders only */
        if (ledger_get_document(r->w->db, r->tenant, r->kind, r->source_id, &L, lkind, &e) < 0)
                return run_ledger_error(r, &e);
        ls = !strcmp(lkind, "sales_invoice") ? &SPEC_INVOICE : &SPEC_ORDER;
        if (L.state == LEDGER_DONE) {
                *skipped = true;
                snprintf(summary, summary_size, "already booked as %s (%s)", L.guid, ls->endpoint);
                return 0;
        }
        if (!L.in_doubt && json_is_true(json_object_get(r->cmd, "cancelled"))) {
                *skipped = true;
                snprintf(summary, summary_size,
                         "cancelled in the shop before it was booked: "
                         "nothing booked");
                return 0;
        }
        if (ensure_parties(r, rd, acc_guid) < 0)
                return -1;
        body = document_body(r, s, rd, src, acc_guid);
        if (!body)
                return -1;
        ledger_content_hash(src, hash);
        if (L.state == LEDGER_PENDING && L.in_doubt &&
            doubt_resolved(r, ls, &L, yourref, guid, &number) < 0)
                goto out;
        if (ls != s && L.in_doubt) {
                /* in doubt as the kind booked before a switch: booked as that, or not at all */
                rc = other_kind_resolved(r, lkind, ls, guid, number, skipped, summary,
                                         summary_size);
                if (rc <= 0)
                        goto out;
                guid[0] = '\0';
                rc = -1;
        }
        /* what is posted is kept with the intent, for corrections after booking */
        if (!guid[0] && (corrections_stage(r, r->kind, r->source_id, body, s->invoice) < 0 ||
                         post_document(r, s, body, yourref, hash, guid, &number, &answer) < 0))
                goto out;
        if (ledger_done(r->w->db, r->tenant, r->kind, r->source_id, guid, number, hash, r->trace,
                        &e) < 0) {
                /* the look-up after a restart finds it: the intent is still recorded */
                run_ledger_error(r, &e);
                goto out;
        }
        /* booked and in the ledger whatever the check says: it is never posted again */
        if (amounts_check(r, s->invoice, s->endpoint, guid, number, answer) < 0)
                goto out;
        snprintf(summary, summary_size, "booked as %s %lld (%s)", s->number_field, number, guid);
        rc = 0;
out:
        json_decref(answer);
        json_decref(body);
        return rc;
}
