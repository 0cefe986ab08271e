/* after: the order command members about what happens after booking (docs/commands.md
 * "After booking"): the shop revision, cancellation, the shop's credit invoices as refunds,
 * the payment and the tenant's correction policy. None enters content_hash, so an order
 * booked before replays unchanged. */
#include "booking/booking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "booking/dates.h"
#include "booking/fields.h"
#include "booking/json_fast.h"
#include "booking/money.h"

static const json_t *rows_of(const json_t *order, const char *key)
{
        const json_t *rows = json_object_get(order, key);

        if (json_is_object(rows))
                rows = json_object_get(rows, "items");
        return json_is_array(rows) ? rows : NULL;
}

static void copy_members(json_t *dst, const json_t *src, const char *const keys[], size_t n)
{
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(src, keys[i]);

                json_object_set_nocheck(dst, keys[i], v ? v : json_null());
        }
}

int booking_shop_revision(const json_t *order, char out[72])
{
        static const char *const row_keys[] = { "id",       "product_id",  "count", "price",
                                                "discount", "total_price", "tax" };
        static const char *const order_keys[] = {
                "total_orderrow_price", "total_shipping",        "paymethod_costs", "extra_costs",
                "total_discounts",      "credit_point_discount", "total_tax",       "total_price"
        };
        const json_t *rows = rows_of(order, "orderrows");
        const json_t *customer = json_object_get(order, "customer");
        json_t *s = json_object(), *a = json_array();
        int rc;

        for (size_t i = 0; rows && i < json_array_size(rows); i++) {
                json_t *r = json_object();

                copy_members(r, json_array_get(rows, i), row_keys, 7);
                json_array_append_new(a, r);
        }
        json_object_set_new_nocheck(s, "rows", a);
        copy_members(s, order, order_keys, 8);
        json_object_set_nocheck(s, "billing",
                                json_object_get(customer, "billingaddress")
                                        ? json_object_get(customer, "billingaddress")
                                        : json_null());
        json_object_set_nocheck(s, "delivery",
                                json_object_get(customer, "deliveryaddress")
                                        ? json_object_get(customer, "deliveryaddress")
                                        : json_null());
        rc = booking_content_hash(s, out);
        json_decref(s);
        return rc;
}

/* Absolute amount member in cents; 0 when absent. -1 when malformed. */
static int abs_cents(const json_t *obj, const char *key, long long *cents)
{
        long long micro = 0;
        int rc = field_micro(json_object_get(obj, key), &micro);

        if (rc < 0)
                return -1;
        *cents = rc == 1 ? 0 : llabs(money_micro_to_cents(micro));
        return 0;
}

static bool has_key(const json_t *keys, const char *key)
{
        for (size_t i = 0; i < json_array_size(keys); i++) {
                if (!strcmp(json_string_value(json_array_get(keys, i)), key))
                        return true;
        }
        return false;
}

/* Every line key of a charge kind ("shipping", "shipping:2", ...) with quantity 1: the
 * charge refunded in full. */
static void add_charge_keys(json_t *lines, const json_t *keys, const char *kind)
{
        size_t n = strlen(kind);

        for (size_t i = 0; i < json_array_size(keys); i++) {
                const char *k = json_string_value(json_array_get(keys, i));

                if (!strncmp(k, kind, n) && (k[n] == '\0' || k[n] == ':'))
                        json_array_append_new(lines,
                                              json_pack("{s:s,s:i}", "key", k, "quantity", 1));
        }
}

/* The orderrow id an invoice row refers to: the last path segment of orderrow.href (or
 * orderrow_id). */
static bool invoice_row_order_row(const json_t *row, char *id, size_t len)
{
        const char *href = field_str(json_object_get(row, "orderrow"), "href");
        size_t n = strlen(href);

        if (field_id(row, "orderrow_id", id, len))
                return true;
        while (n > 0 && href[n - 1] == '/')
                n--;
        size_t start = n;

        while (start > 0 && href[start - 1] >= '0' && href[start - 1] <= '9')
                start--;
        if (start == n || n - start >= len)
                return false;
        memcpy(id, href + start, n - start);
        id[n - start] = '\0';
        return true;
}

/* The lines a credit invoice refunds, by line key; NULL when they cannot all be named (the
 * refund is then booked as an amount). */
static json_t *refund_lines(const json_t *inv, const json_t *order, const json_t *keys)
{
        const json_t *rows = rows_of(inv, "invoicerows");
        json_t *lines = json_array();
        long long ship = 0, order_ship = 0, pay = 0, order_pay = 0, disc = 0;

        if (abs_cents(inv, "total_shipping", &ship) ||
            abs_cents(order, "total_shipping", &order_ship) ||
            abs_cents(inv, "paymethod_costs", &pay) ||
            abs_cents(order, "paymethod_costs", &order_pay) ||
            abs_cents(inv, "total_discounts", &disc) || disc != 0 ||
            (ship != 0 && ship != order_ship) || (pay != 0 && pay != order_pay))
                goto amount;
        for (size_t i = 0; rows && i < json_array_size(rows); i++) {
                const json_t *row = json_array_get(rows, i);
                char id[24], key[40];
                long long count;

                if (!invoice_row_order_row(row, id, sizeof(id)) ||
                    field_micro(json_object_get(row, "count"), &count) != 0)
                        goto amount;
                count = llabs(count);
                if (count == 0)
                        continue;
                snprintf(key, sizeof(key), "row:%s", id);
                if (!has_key(keys, key))
                        goto amount;
                json_array_append_new(lines, json_pack("{s:s,s:o}", "key", key, "quantity",
                                                       count % 1000000 == 0
                                                               ? json_integer(count / 1000000)
                                                               : json_real((double)count / 1e6)));
        }
        if (ship)
                add_charge_keys(lines, keys, "shipping");
        if (pay)
                add_charge_keys(lines, keys, "payment_costs");
        if (json_array_size(lines) > 0)
                return lines;
amount:
        json_decref(lines);
        return NULL;
}

static bool credit_paid(const json_t *inv)
{
        const json_t *st = json_object_get(inv, "status");
        const char *s = json_string_value(st);

        /* CCV invoice status 1 paid, 3 reimbursed (spec 3.8); money went back */
        if (json_is_integer(st))
                return json_integer_value(st) == 1 || json_integer_value(st) == 3;
        return s && (!strcasecmp(s, "paid") || !strcasecmp(s, "reimbursed") || !strcmp(s, "1") ||
                     !strcmp(s, "3"));
}

/* The day of an ISO timestamp in the administration's zone, "YYYY-MM-DD"; "" when none. */
static void local_date(const rules *r, const char *iso, char out[11])
{
        char day[20], e[128];

        out[0] = '\0';
        if (iso[0] != '\0' && dates_local_day(iso, rules_time_zone(r), day, e, sizeof(e)) == 0)
                snprintf(out, 11, "%.10s", day);
}

/* A credit of the whole order: every booked line, in full. */
static json_t *full_refund_lines(const booking *b)
{
        const json_t *lines = json_object_get(b->body, "SalesInvoiceLines");
        json_t *out = json_array();

        if (!lines)
                lines = json_object_get(b->body, "SalesOrderLines");
        for (size_t i = 0; i < json_array_size(lines); i++)
                json_array_append_new(
                        out,
                        json_pack("{s:O,s:O}", "key", json_array_get(b->line_keys, i), "quantity",
                                  json_object_get(json_array_get(lines, i), "Quantity")));
        return out;
}

/* The shop's credit invoices of the order (payload member "invoices", docs/messages-shop.md)
 * as refunds, in the order the shop lists them. */
static int refunds_json(const rules *r, const json_t *order, const booking *b, json_t *out,
                        char *err, size_t errlen)
{
        const json_t *invs = rows_of(order, "invoices");
        const char *method = field_str(order, "paymethod");

        for (size_t i = 0; invs && i < json_array_size(invs); i++) {
                const json_t *inv = json_array_get(invs, i);
                char id[32], date[11];
                long long gross;
                json_t *ref, *lines;

                if (!json_is_object(inv)) {
                        snprintf(err, errlen, "invoice %zu of the order is not an object", i + 1);
                        return -1;
                }
                if (strcasecmp(field_str(inv, "type"), "credit"))
                        continue;
                if (!field_id(inv, "id", id, sizeof(id))) {
                        snprintf(err, errlen, "credit invoice %zu of the order has no id", i + 1);
                        return -1;
                }
                if (abs_cents(inv, "total_price", &gross) != 0) {
                        snprintf(err, errlen, "credit invoice %s: malformed total_price", id);
                        return -1;
                }
                if (gross == 0)
                        continue;
                local_date(r, field_str(inv, "create_date"), date);
                ref = json_object();
                json_object_set_new_nocheck(ref, "id", json_string(id));
                if (date[0])
                        json_object_set_new_nocheck(ref, "date", json_string(date));
                lines = gross == b->gross_cents ? full_refund_lines(b)
                                                : refund_lines(inv, order, b->line_keys);
                if (lines)
                        json_object_set_new_nocheck(ref, "lines", lines);
                else
                        json_object_set_new_nocheck(ref, "amount", money_json(gross));
                json_object_set_new_nocheck(ref, "gross", money_json(gross));
                json_object_set_new_nocheck(ref, "paid", json_boolean(credit_paid(inv)));
                json_object_set_new_nocheck(ref, "method", json_string(method));
                json_array_append_new(out, ref);
        }
        return 0;
}

/* The order's payment, when the shop marks it paid; NULL otherwise. CCV has no payment date
 * (spec 3.4), so it is the order's day. */
static json_t *payment_json(const rules *r, const json_t *order, const booking *b)
{
        const char *method = field_str(order, "paymethod");
        const json_t *ref = json_object_get(order, "transaction_id");
        const json_t *j;
        char mid[32] = "", date[11], refbuf[32];
        json_t *p;

        if (!field_bool(order, "paid", false) && !field_bool(order, "is_paid", false))
                return NULL;
        field_id(order, "paymethod_id", mid, sizeof(mid));
        p = json_object();
        json_object_set_new_nocheck(p, "paid", json_true());
        json_object_set_new_nocheck(p, "method", json_string(method));
        local_date(r, field_str(order, "create_date"), date);
        if (date[0])
                json_object_set_new_nocheck(p, "date", json_string(date));
        json_object_set_new_nocheck(p, "amount", money_json(b->gross_cents));
        if (json_is_string(ref))
                json_object_set_new_nocheck(p, "reference", json_string(json_string_value(ref)));
        else if (field_id(order, "transaction_id", refbuf, sizeof(refbuf)))
                json_object_set_new_nocheck(p, "reference", json_string(refbuf));
        else
                json_object_set_new_nocheck(p, "reference", json_string(""));
        j = rules_payment_journal(r, method, mid);
        if (j) {
                json_object_set_nocheck(p, "journal", json_object_get(j, "journal"));
                if (json_object_get(j, "clearing_gl"))
                        json_object_set_nocheck(p, "clearing_gl",
                                                json_object_get(j, "clearing_gl"));
        } else {
                json_object_set_new_nocheck(p, "unmapped", json_true());
        }
        return p;
}

int booking_after_members(const rules *r, const json_t *order, booking *b, char *err, size_t errlen)
{
        char rev[72];
        json_t *a = json_object(), *refunds = json_array(), *pay;

        b->after = a;
        if (!a || !refunds || booking_shop_revision(order, rev) != 0) {
                json_decref(refunds);
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        json_object_set_nocheck(a, "line_keys", b->line_keys);
        json_object_set_new_nocheck(a, "shop_revision", json_string(rev));
        if (b->cancelled)
                json_object_set_new_nocheck(a, "cancelled", json_true());
        json_object_set_new_nocheck(a, "refunds", refunds);
        if (refunds_json(r, order, b, refunds, err, errlen) != 0)
                return -1;
        pay = payment_json(r, order, b);
        if (pay)
                json_object_set_new_nocheck(a, "payment", pay);
        json_object_set_new_nocheck(a, "corrections",
                                    json_string(r->corrections_log ? "log" : "auto"));
        return 0;
}
