/*
 * ccv_after.c - what happens to an order after it was completed (issue 13): row edits and
 * address changes, credit invoices (partial and full refunds), returns, in the API's shapes
 * of spec 3.10 (docs/fakes-ccvshop.md "After completion"; docs/research/ccv-after-booking.md).
 */
#include "ccv_after.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int64_t cents_of(const json_t *v)
{
        return (int64_t)llround(json_number_value(v) * 100.0);
}

static int rate10_of(const json_t *v)
{
        return (int)lround(json_number_value(v) * 10.0);
}

static bool truthy(const json_t *v)
{
        return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

static json_t *url(const struct ccv_shop *s, const char *fmt, int64_t id)
{
        char path[128], out[512];

        snprintf(path, sizeof(path), fmt, (long long)id);
        snprintf(out, sizeof(out), "%s%s", s->base_url, path);
        return json_string(out);
}

static json_t *link(const struct ccv_shop *s, const char *fmt, int64_t id)
{
        return json_pack("{s:o}", "href", url(s, fmt, id));
}

static json_t *row_by_id(const struct ccv_order *o, int64_t id)
{
        size_t i;
        json_t *r;

        json_array_foreach (o->rows, i, r)
                if (json_integer_value(json_object_get(r, "id")) == id)
                        return r;
        return NULL;
}

/* VAT in @p gross (incl) or on @p net (excl) at rate10 (tenths of a percent). */
static int64_t vat_of(int64_t amount, int rate10, bool incl)
{
        return incl ? ccv_div_round(amount * rate10, 1000 + rate10)
                    : ccv_div_round(amount * rate10, 1000);
}

static void add_money(json_t *obj, const char *key, int64_t delta)
{
        json_object_set_new(obj, key, ccv_money_json(cents_of(json_object_get(obj, key)) + delta));
}

/* One row's new quantity, the order's totals following it. */
static int edit_row(struct ccv_order *o, const json_t *e, char *err, size_t len)
{
        json_t *row = row_by_id(o, json_integer_value(json_object_get(e, "id")));
        const json_t *cnt = json_object_get(e, "count");
        bool incl = truthy(json_object_get(o->obj, "order_row_taxes_included"));
        int64_t sell, before, after, delta, tax;
        int rate;

        if (!row || !json_is_integer(cnt) || json_integer_value(cnt) < 0) {
                snprintf(err, len,
                         "rows: each {\"id\": <orderrow id of this order>, \"count\": "
                         "<int >= 0>}");
                return -1;
        }
        sell = cents_of(json_object_get(row, "price")) - cents_of(json_object_get(row, "discount"));
        rate = rate10_of(json_object_get(row, "tax"));
        before = cents_of(json_object_get(row, "total_price"));
        after = sell * json_integer_value(cnt);
        delta = after - before;
        tax = vat_of(delta, rate, incl);
        json_object_set_new(row, "count", json_integer(json_integer_value(cnt)));
        json_object_set_new(row, "total_price", ccv_money_json(after));
        json_object_set_new(row, "total_price_with_attributes", ccv_money_json(after));
        add_money(o->obj, "total_orderrow_price", delta);
        add_money(o->obj, "total_price", incl ? delta : delta + tax);
        add_money(o->obj, "total_tax", tax);
        return 0;
}

int ccv_after_edit(struct ccv_order *o, const json_t *body, char *err, size_t len)
{
        static const char *const addrs[] = { "billingaddress", "deliveryaddress" };
        const json_t *rows = json_object_get(body, "rows"), *e;
        json_t *cust = json_object_get(o->obj, "customer");
        size_t i;

        if (rows && !json_is_array(rows)) {
                snprintf(err, len, "rows must be an array");
                return -1;
        }
        for (i = 0; i < 2; i++) {
                const json_t *a = json_object_get(body, addrs[i]);

                if (a && (!json_is_object(a) || !json_is_object(json_object_get(cust, addrs[i])))) {
                        snprintf(err, len, "%s must be an object of address fields", addrs[i]);
                        return -1;
                }
        }
        json_array_foreach (rows, i, e)
                if (edit_row(o, e, err, len) < 0)
                        return -1;
        for (i = 0; i < 2; i++) {
                const json_t *a = json_object_get(body, addrs[i]);

                if (a)
                        json_object_update(json_object_get(cust, addrs[i]), (json_t *)a);
        }
        return 0;
}

static int status_code(const char *name)
{
        if (!name || !strcmp(name, "reimbursed"))
                return 3;
        if (!strcmp(name, "paid"))
                return 1;
        if (!strcmp(name, "unpaid"))
                return 2;
        return 0;
}

static const char *status_name(int code)
{
        return code == 1 ? "Paid" : code == 2 ? "Unpaid" : "Reimbursed";
}

/* The credit invoice's rows and amounts from the request; -1 with err when malformed. */
struct credit_sum {
        int64_t gross, tax, shipping, paycost, discounts;
};

static json_t *credit_row(struct ccv_shop *s, const struct ccv_order *o, const json_t *row,
                          int64_t count, int64_t inv_id, struct credit_sum *sum)
{
        bool incl = truthy(json_object_get(o->obj, "order_row_taxes_included"));
        int64_t sell = cents_of(json_object_get(row, "price")) -
                       cents_of(json_object_get(row, "discount"));
        int64_t amount = sell * count,
                tax = vat_of(amount, rate10_of(json_object_get(row, "tax")), incl);
        json_t *r = json_deep_copy(row);
        int64_t id = s->next_invoice_row_id++;

        sum->gross += incl ? amount : amount + tax;
        sum->tax += tax;
        json_object_del(r, "parent");
        json_object_set_new(r, "id", json_integer(id));
        json_object_set_new(r, "href", url(s, "invoicerows/%lld/", id));
        json_object_set_new(r, "invoice_id", json_integer(inv_id));
        json_object_set_new(r, "count", json_integer(-count));
        json_object_set_new(r, "total_price", ccv_money_json(-amount));
        json_object_set_new(
                r, "orderrow",
                link(s, "orderrows/%lld/", json_integer_value(json_object_get(row, "id"))));
        return r;
}

static int credit_rows(const struct ccv_shop *cs, struct ccv_order *o, const json_t *body,
                       int64_t inv_id, json_t *rows, struct credit_sum *sum, char *err, size_t len)
{
        struct ccv_shop *s = (struct ccv_shop *)cs;
        bool full = json_is_true(json_object_get(body, "full"));
        const json_t *want = json_object_get(body, "rows"), *e;
        size_t i;

        if (full) {
                json_array_foreach (o->rows, i, e) {
                        int64_t c = json_integer_value(json_object_get(e, "count"));

                        if (c > 0)
                                json_array_append_new(rows, credit_row(s, o, e, c, inv_id, sum));
                }
                return 0;
        }
        if (want && !json_is_array(want))
                goto bad;
        json_array_foreach (want, i, e) {
                json_t *row = row_by_id(o, json_integer_value(json_object_get(e, "orderrow_id")));
                json_int_t c = json_integer_value(json_object_get(e, "count"));

                if (!row || c < 1 || c > json_integer_value(json_object_get(row, "count")))
                        goto bad;
                json_array_append_new(rows, credit_row(s, o, row, c, inv_id, sum));
        }
        return 0;
bad:
        snprintf(err, len,
                 "rows: each {\"orderrow_id\": <row of this order>, \"count\": 1..the "
                 "row's count}");
        return -1;
}

/* Shipping, payment costs and an amount without rows, as the request says. */
static int credit_extras(const struct ccv_order *o, const json_t *body, struct credit_sum *sum,
                         char *err, size_t len)
{
        const json_t *j = o->obj, *amount = json_object_get(body, "amount");
        bool full = json_is_true(json_object_get(body, "full"));
        bool incl = truthy(json_object_get(j, "shipping_taxes_included"));
        int srate = rate10_of(json_object_get(j, "shipping_tax_percentage"));

        if (amount && (!json_is_number(amount) || json_number_value(amount) <= 0)) {
                snprintf(err, len, "amount must be a number > 0 (gross euros)");
                return -1;
        }
        if (full || json_is_true(json_object_get(body, "shipping"))) {
                int64_t sh = cents_of(json_object_get(j, "total_shipping")),
                        t = vat_of(sh, srate, incl);

                sum->shipping = sh;
                sum->gross += incl ? sh : sh + t;
                sum->tax += t;
        }
        if (full) {
                int64_t pc = cents_of(json_object_get(j, "paymethod_costs"));

                sum->paycost = pc;
                sum->discounts = cents_of(json_object_get(j, "total_discounts"));
                /* a full credit gives back exactly what the customer paid */
                sum->tax = cents_of(json_object_get(j, "total_tax"));
                sum->gross = cents_of(json_object_get(j, "total_price"));
        }
        if (amount)
                sum->gross += (int64_t)llround(json_number_value(amount) * 100.0);
        if (sum->gross <= 0) {
                snprintf(err, len, "nothing to credit: give rows, shipping, amount or full");
                return -1;
        }
        return 0;
}

static json_t *credit_obj(struct ccv_shop *s, const struct ccv_order *o, int64_t id, int status,
                          const struct credit_sum *sum, const char *created)
{
        const json_t *j = o->obj;
        char num[48];
        int64_t n = s->next_invoice_number++;
        json_t *inv;

        snprintf(num, sizeof(num), "%s%lld", s->ordernumber_prefix, (long long)n);
        inv = json_pack(
                "{s:I,s:o,s:s,s:I,s:s,s:O,s:O,s:O,s:s,s:i,s:s,s:s,s:b,s:O,s:O}", "id",
                (json_int_t)id, "href", url(s, "invoices/%lld/", id), "invoicenumber_prefix",
                s->ordernumber_prefix, "invoicenumber", (json_int_t)n, "invoicenumber_full", num,
                "ordernumber_prefix", json_object_get(j, "ordernumber_prefix"), "ordernumber",
                json_object_get(j, "ordernumber"), "ordernumber_full",
                json_object_get(j, "ordernumber_full"), "create_date", created, "status", status,
                "status_name", status_name(status), "type", "credit", "payment_link_sent", 0,
                "taxes_included", json_object_get(j, "taxes_included"), "is_intra_community_order",
                json_object_get(j, "is_intra_community_order"));
        if (!inv)
                return NULL;
        json_object_set(inv, "shipping_taxes_included",
                        json_object_get(j, "shipping_taxes_included"));
        json_object_set(inv, "shipping_tax_percentage",
                        json_object_get(j, "shipping_tax_percentage"));
        json_object_set_new(inv, "total_shipping", ccv_money_json(-sum->shipping));
        json_object_set_new(inv, "total_discounts", ccv_money_json(sum->discounts));
        json_object_set_new(inv, "paymethod_costs", ccv_money_json(-sum->paycost));
        json_object_set_new(inv, "total_price_inc_tax", ccv_money_json(-sum->gross));
        json_object_set_new(inv, "total_price_exc_tax", ccv_money_json(-(sum->gross - sum->tax)));
        json_object_set_new(inv, "total_price", ccv_money_json(-sum->gross));
        json_object_set_new(inv, "total_tax", ccv_money_json(-sum->tax));
        json_object_set_new(inv, "currency", json_string("EUR"));
        json_object_set(inv, "customer", json_object_get(j, "customer"));
        json_object_set(inv, "user", json_object_get(j, "user"));
        json_object_set_new(inv, "order", link(s, "orders/%lld/", o->id));
        json_object_set_new(inv, "invoicerows", link(s, "invoices/%lld/invoicerows/", id));
        return inv;
}

json_t *ccv_after_credit(struct ccv_shop *s, struct ccv_order *o, const json_t *body, time_t now,
                         char *err, size_t len)
{
        const char *st = json_string_value(json_object_get(body, "status"));
        struct credit_sum sum = { 0 };
        int status = status_code(st);
        json_t *rows, *inv;
        char created[32];
        int64_t id;

        if (!json_is_true(json_object_get(o->obj, "is_completed"))) {
                snprintf(err, len, "the order is not completed");
                return NULL;
        }
        if (json_object_get(body, "status") && !status) {
                snprintf(err, len, "status must be paid, unpaid or reimbursed");
                return NULL;
        }
        if (!s->next_invoice_id) {
                s->next_invoice_id = 70000000LL + (int64_t)s->n * 1000000LL;
                s->next_invoice_row_id = 71000000LL + (int64_t)s->n * 1000000LL;
                s->next_invoice_number = 1;
        }
        id = s->next_invoice_id;
        rows = json_array();
        if (credit_rows(s, o, body, id, rows, &sum, err, len) < 0 ||
            credit_extras(o, body, &sum, err, len) < 0) {
                json_decref(rows);
                return NULL;
        }
        s->next_invoice_id++;
        ccv_time_format(now, created, sizeof(created));
        inv = credit_obj(s, o, id, status, &sum, created);
        if (!o->invoices)
                o->invoices = json_array();
        json_array_append_new(o->invoices, json_pack("{s:o,s:o}", "obj", inv, "rows", rows));
        return inv;
}

json_t *ccv_after_return(struct ccv_shop *s, struct ccv_order *o, const json_t *body, time_t now,
                         char *err, size_t len)
{
        const json_t *want = json_object_get(body, "rows"), *e;
        struct credit_sum sum = { 0 };
        json_t *rows = json_array(), *ret;
        char created[32], num[48];
        size_t i;
        int64_t id;

        if (!s->next_return_id)
                s->next_return_id = 72000000LL + (int64_t)s->n * 1000000LL;
        id = s->next_return_id;
        if (!json_is_array(want) || json_array_size(want) == 0)
                goto bad;
        json_array_foreach (want, i, e) {
                json_t *row = row_by_id(o, json_integer_value(json_object_get(e, "orderrow_id")));
                json_int_t c = json_integer_value(json_object_get(e, "count"));
                json_t *r;

                if (!row || c < 1 || c > json_integer_value(json_object_get(row, "count")))
                        goto bad;
                r = credit_row(s, o, row, c, id, &sum);
                json_object_del(r, "invoice_id");
                json_object_set_new(r, "return_id", json_integer(id));
                json_object_set_new(r, "count", json_integer(c));
                json_array_append_new(rows, r);
        }
        s->next_return_id++;
        ccv_time_format(now, created, sizeof(created));
        snprintf(num, sizeof(num), "R%lld", (long long)(id % 1000000));
        ret = json_pack("{s:I,s:s,s:s,s:s,s:O,s:O,s:s,s:i,s:s,s:s}", "id", (json_int_t)id,
                        "returnnumber_prefix", "R", "returnnumber_full", num, "returnnumber",
                        num + 1, "ordernumber", json_object_get(o->obj, "ordernumber"),
                        "ordernumber_full", json_object_get(o->obj, "ordernumber_full"),
                        "create_date", created, "status", 1, "action_name",
                        json_string_value(json_object_get(body, "action"))
                                ? json_string_value(json_object_get(body, "action"))
                                : "Refund",
                        "reason_name",
                        json_string_value(json_object_get(body, "reason"))
                                ? json_string_value(json_object_get(body, "reason"))
                                : "");
        json_object_set_new(ret, "total_price_inc_tax", ccv_money_json(sum.gross));
        json_object_set_new(ret, "total_price_exc_tax", ccv_money_json(sum.gross - sum.tax));
        json_object_set_new(ret, "total_price", ccv_money_json(sum.gross));
        json_object_set_new(ret, "total_tax", ccv_money_json(sum.tax));
        json_object_set_new(ret, "currency", json_string("EUR"));
        json_object_set(ret, "customer", json_object_get(o->obj, "customer"));
        json_object_set_new(ret, "order", link(s, "orders/%lld/", o->id));
        json_object_set_new(ret, "returnrows", link(s, "returns/%lld/returnrows/", id));
        json_object_set_new(ret, "href", url(s, "returns/%lld/", id));
        if (!o->returns)
                o->returns = json_array();
        json_array_append_new(o->returns, json_pack("{s:o,s:o}", "obj", ret, "rows", rows));
        return ret;
bad:
        json_decref(rows);
        snprintf(err, len,
                 "rows: a non-empty array of {\"orderrow_id\": <row of this order>, "
                 "\"count\": 1..the row's count}");
        return NULL;
}

const json_t *ccv_after_find(struct ccv_shop *s, bool returns, int64_t id)
{
        size_t i, k;
        json_t *e;

        for (i = 0; i < s->n_orders; i++) {
                json_t *list = returns ? s->orders[i].returns : s->orders[i].invoices;

                json_array_foreach (list, k, e)
                        if (json_integer_value(json_object_get(json_object_get(e, "obj"), "id")) ==
                            id)
                                return e;
        }
        return NULL;
}
