/* dryrun_after: what the loader would post when an order the dry run booked earlier in the
 * same run comes again, changed (docs/commands.md "Dry run after booking"). The first line
 * of an order stands for its booking; a later line with the same id is the order as the shop
 * holds it now (edited, cancelled, refunded, paid). */
#include "booking/dryrun_after.h"

#include <stdio.h>
#include <string.h>

#include "booking/money.h"

static const char *str(const json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : "";
}

static json_t *body_lines(const booking *b)
{
        json_t *l = json_object_get(b->body, "SalesInvoiceLines");

        return l ? l : json_object_get(b->body, "SalesOrderLines");
}

/* A copy of a booked line with its quantity negated (times q/original when q is given). */
static json_t *mirror(const json_t *line, const json_t *qty)
{
        json_t *m = json_deep_copy(line);
        double q = qty ? json_number_value(qty)
                       : json_number_value(json_object_get(line, "Quantity"));

        if (q == (double)(long long)q)
                json_object_set_new_nocheck(m, "Quantity", json_integer(-(long long)q));
        else
                json_object_set_new_nocheck(m, "Quantity", json_real(-q));
        return m;
}

/* The booked lines negated: the credit note of an edit (whole, as the new invoice repeats the
 * whole order and the refunds stay), or with @p net of the refunded quantities that of a
 * cancellation (nothing is credited twice). */
static json_t *mirror_all(const json_t *seen, bool net)
{
        const json_t *lines = json_object_get(seen, "lines");
        const json_t *keys = json_object_get(seen, "keys");
        const json_t *done = json_object_get(seen, "refunded");
        json_t *out = json_array();

        for (size_t i = 0; i < json_array_size(lines); i++) {
                const json_t *l = json_array_get(lines, i);
                double q = json_number_value(json_object_get(l, "Quantity"));
                json_t *qj;

                if (net)
                        q -= json_number_value(
                                json_object_get(done, json_string_value(json_array_get(keys, i))));
                if (q <= 0)
                        continue;
                qj = json_real(q);
                json_array_append_new(out, mirror(l, qj));
                json_decref(qj);
        }
        return out;
}

/* The booked lines a refund names, negated by the refunded quantity. */
static json_t *mirror_refund(const json_t *seen, const json_t *refund)
{
        const json_t *lines = json_object_get(seen, "lines");
        const json_t *keys = json_object_get(seen, "keys");
        const json_t *rl = json_object_get(refund, "lines");
        json_t *out = json_array();

        for (size_t i = 0; i < json_array_size(rl); i++) {
                const json_t *want = json_array_get(rl, i);

                for (size_t k = 0; k < json_array_size(keys); k++) {
                        if (!strcmp(json_string_value(json_array_get(keys, k)), str(want, "key")))
                                json_array_append_new(out,
                                                      mirror(json_array_get(lines, k),
                                                             json_object_get(want, "quantity")));
                }
        }
        return out;
}

static json_t *entry(const char *kind, const char *source_id)
{
        return json_pack("{s:s,s:s}", "kind", kind, "source_id", source_id);
}

static void left_for_person(json_t *out, const char *sid, const char *what)
{
        char text[256];

        snprintf(text, sizeof(text), "%s in the shop after booking; left for a person", what);
        json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "kind", "sync_log", "source_id", sid,
                                             "text", text));
}

static bool listed(const json_t *ids, const char *id)
{
        for (size_t i = 0; i < json_array_size(ids); i++) {
                if (!strcmp(json_string_value(json_array_get(ids, i)), id))
                        return true;
        }
        return false;
}

/* The cancellation or the edit (credit note and new invoice, or the order updated). */
static void changes(json_t *out, json_t *seen, const booking *b, const rules *r)
{
        const char *sid = b->source_id;
        bool invoice = r->book_as == BOOK_AS_SALES_INVOICE;
        char id[80];

        if (b->cancelled) {
                if (json_is_true(json_object_get(seen, "cancelled")))
                        return;
                json_object_set_new_nocheck(seen, "cancelled", json_true());
                if (r->corrections_log) {
                        left_for_person(out, sid, "cancelled");
                        return;
                }
                snprintf(id, sizeof(id), "%s/C", sid);
                json_t *e = entry(invoice ? "credit_note" : "cancel", invoice ? id : sid);

                if (invoice)
                        json_object_set_new_nocheck(e, "lines", mirror_all(seen, true));
                else
                        json_object_set_new_nocheck(
                                e, "note",
                                json_string("the sales order is deleted in Exact, or credited "
                                            "when Exact has invoiced it"));
                json_array_append_new(out, e);
                return;
        }
        if (!strcmp(str(seen, "revision"), str(b->after, "shop_revision")))
                return;
        if (r->corrections_log) {
                left_for_person(out, sid, "changed");
        } else if (invoice) {
                long long n = json_integer_value(json_object_get(seen, "edits")) + 1;
                json_t *cn, *inv;

                json_object_set_new_nocheck(seen, "edits", json_integer(n));
                snprintf(id, sizeof(id), "%s/E%lld", sid, n);
                cn = entry("credit_note", id);
                json_object_set_new_nocheck(cn, "lines", mirror_all(seen, false));
                snprintf(id, sizeof(id), "%s/V%lld", sid, n);
                inv = entry("invoice", id);
                json_object_set_nocheck(inv, "lines", body_lines(b));
                json_array_append_new(out, cn);
                json_array_append_new(out, inv);
        } else {
                json_t *u = entry("update", sid);

                json_object_set_nocheck(u, "lines", body_lines(b));
                json_array_append_new(out, u);
        }
        /* what is booked now: later refunds mirror these lines */
        json_object_set_nocheck(seen, "lines", body_lines(b));
        json_object_set_nocheck(seen, "keys", b->line_keys);
        json_object_set_nocheck(seen, "revision", json_object_get(b->after, "shop_revision"));
}

/* Adds a refund's quantities to seen.refunded {line key: quantity}. */
static void count_refunded(json_t *seen, const json_t *ref)
{
        json_t *done = json_object_get(seen, "refunded");
        const json_t *rl = json_object_get(ref, "lines");

        for (size_t i = 0; i < json_array_size(rl); i++) {
                const json_t *l = json_array_get(rl, i);
                const char *key = str(l, "key");

                json_object_set_new(done, key,
                                    json_real(json_number_value(json_object_get(done, key)) +
                                              json_number_value(json_object_get(l, "quantity"))));
        }
}

static void refunds(json_t *out, json_t *seen, const booking *b, const rules *r)
{
        const json_t *list = json_object_get(b->after, "refunds");
        json_t *ids = json_object_get(seen, "refunds");
        char id[80];

        for (size_t i = 0; i < json_array_size(list); i++) {
                const json_t *ref = json_array_get(list, i);
                const char *rid = str(ref, "id");
                double gross = json_number_value(json_object_get(ref, "gross"));
                json_t *e;

                if (listed(ids, rid))
                        continue;
                json_array_append_new(ids, json_string(rid));
                snprintf(id, sizeof(id), "%s/R%s", b->source_id, rid);
                if (r->corrections_log) {
                        left_for_person(out, id, "refunded");
                        continue;
                }
                e = entry("credit_note", id);
                if (json_object_get(ref, "lines")) {
                        json_object_set_new_nocheck(e, "lines", mirror_refund(seen, ref));
                        count_refunded(seen, ref);
                } else
                        json_object_set_new_nocheck(e, "amount", json_real(-gross));
                json_object_set_new_nocheck(e, "gross", json_real(-gross));
                json_array_append_new(out, e);
                if (json_is_true(json_object_get(ref, "paid"))) {
                        e = entry("payment", id);
                        json_object_set_new_nocheck(e, "amount", json_real(-gross));
                        json_array_append_new(out, e);
                }
        }
}

/* A payment first seen now: booked on its journal, or a sync-log line when unmapped. */
static void payment(json_t *out, json_t *seen, const booking *b)
{
        const json_t *p = json_object_get(b->after, "payment");
        char text[256];

        if (!p || json_is_true(json_object_get(seen, "paid")))
                return;
        json_object_set_new_nocheck(seen, "paid", json_true());
        if (json_is_true(json_object_get(p, "unmapped"))) {
                snprintf(text, sizeof(text),
                         "paid by %s; no payment journal for it in the rules (payment_journals)",
                         str(p, "method"));
                json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "kind", "sync_log",
                                                     "source_id", b->source_id, "text", text));
                return;
        }
        json_t *e = entry("payment", b->source_id);

        json_object_set_nocheck(e, "journal", json_object_get(p, "journal"));
        json_object_set_nocheck(e, "amount", json_object_get(p, "amount"));
        json_array_append_new(out, e);
}

static json_t *remember(const booking *b)
{
        json_t *s = json_object(), *ids = json_array();
        const json_t *list = json_object_get(b->after, "refunds");

        for (size_t i = 0; i < json_array_size(list); i++)
                json_array_append_new(ids, json_string(str(json_array_get(list, i), "id")));
        json_object_set_nocheck(s, "revision", json_object_get(b->after, "shop_revision"));
        json_object_set_nocheck(s, "lines", body_lines(b));
        json_object_set_nocheck(s, "keys", b->line_keys);
        json_object_set_new_nocheck(s, "refunds", ids);
        json_object_set_new_nocheck(s, "paid", json_boolean(json_object_get(b->after, "payment")));
        json_object_set_new_nocheck(s, "edits", json_integer(0));
        json_object_set_new_nocheck(s, "refunded", json_object());
        for (size_t i = 0; i < json_array_size(list); i++)
                count_refunded(s, json_array_get(list, i));
        return s;
}

bool dryrun_after_booked(const json_t *seen, const char *source_id)
{
        return json_object_get(seen, source_id) != NULL;
}

json_t *dryrun_after_step(json_t *seen_all, const booking *b, const rules *r)
{
        json_t *seen = json_object_get(seen_all, b->source_id);
        json_t *out;

        if (!seen) {
                json_object_set_new(seen_all, b->source_id, remember(b));
                return NULL;
        }
        out = json_array();
        changes(out, seen, b, r);
        refunds(out, seen, b, r);
        payment(out, seen, b);
        return out;
}
