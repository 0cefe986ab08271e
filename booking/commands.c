/* commands: what the booking library emits, see commands.h. */
#include "booking/commands.h"
#include "booking/relations.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "booking/fields.h"
#include "booking/json_fast.h"
#include "booking/money.h"
#include "vat/vat_rates.h"

static json_t *totals_json(const booking *b)
{
        json_t *t = json_object();

        json_object_set_new_nocheck(t, "net", money_json(b->net_cents));
        json_object_set_new_nocheck(t, "vat", money_json(b->vat_cents));
        json_object_set_new_nocheck(t, "gross", money_json(b->gross_cents));
        return t;
}

static void add_warnings(json_t *obj, const vat_decision *d)
{
        if (d->n_warnings == 0)
                return;
        json_t *w = json_array();

        for (int i = 0; i < d->n_warnings; i++)
                json_array_append_new(w, json_string(d->warnings[i]));
        json_object_set_new_nocheck(obj, "warnings", w);
}

json_t *booking_result_json(const booking *b)
{
        json_t *o = json_object();

        json_object_set_new_nocheck(o, "source_id", json_string(b->source_id));
        json_object_set_new_nocheck(o, "scenario",
                                    json_string(vat_scenario_name(b->decision.scenario)));
        json_object_set_new_nocheck(o, "endpoint", json_string(b->endpoint));
        json_object_set_nocheck(o, "body", b->body);
        json_object_set_new_nocheck(o, "totals", totals_json(b));
        add_warnings(o, &b->decision);
        if (b->vies)
                json_object_set_nocheck(o, "vies", b->vies);
        if (b->after)
                json_object_update(o, b->after);
        return o;
}

static json_t *envelope(const char *tenant, const char *kind, const char *source_id,
                        const char *trace_id)
{
        json_t *e = json_object();

        json_object_set_new_nocheck(e, "v", json_integer(1));
        json_object_set_new_nocheck(e, "tenant", json_string(tenant));
        json_object_set_new_nocheck(e, "kind", json_string(kind));
        json_object_set_new_nocheck(e, "source_id", json_string(source_id));
        json_object_set_new_nocheck(e, "trace_id", trace_id ? json_string(trace_id) : json_null());
        return e;
}

/* content_hash over everything the loader acts on, so a replay with the same content is
 * recognisably the same command. */
static const char *const hashed_keys[] = { "kind", "endpoint", "account", "items", "body" };
#define N_HASHED (sizeof(hashed_keys) / sizeof(hashed_keys[0]))

static void set_hash(json_t *e)
{
        json_t *h = json_object();
        char hash[72];

        for (size_t i = 0; i < N_HASHED; i++) {
                json_t *v = json_object_get(e, hashed_keys[i]);

                if (v)
                        json_object_set_nocheck(h, hashed_keys[i], v);
        }
        if (booking_content_hash(h, hash) == 0)
                json_object_set_new_nocheck(e, "content_hash", json_string(hash));
        json_decref(h);
}

/* What the loader does after posting the document: have Exact invoice the sales order
 * (InvoiceSalesOrders), process the invoice (PrintedSalesInvoices) dated on the order's day,
 * and whether Exact e-mails it. */
static json_t *invoicing_json(const booking *b, const rules *r)
{
        json_t *o = json_object();
        json_t *date = json_object_get(b->body, "OrderDate");

        json_object_set_new_nocheck(o, "process", json_boolean(r->process_invoices));
        json_object_set_new_nocheck(o, "send_email", json_boolean(r->email_invoices));
        if (r->invoice_sales_orders) {
                json_object_set_new_nocheck(o, "invoice_sales_orders", json_true());
                json_object_set_new_nocheck(o, "journal", json_string(r->journal));
        }
        if (date)
                json_object_set_nocheck(o, "invoice_date", date);
        return o;
}

/* The order command without its content_hash. */
static json_t *command_envelope(const booking *b, const rules *r, const char *trace_id)
{
        bool invoice = !strcmp(b->endpoint, "salesinvoice/SalesInvoices");
        json_t *e = envelope(r->tenant, invoice ? "sales_invoice" : "sales_order", b->source_id,
                             trace_id);

        if (!e)
                return NULL;
        json_object_set_new_nocheck(e, "division", json_integer(r->division));
        json_object_set_new_nocheck(e, "scenario",
                                    json_string(vat_scenario_name(b->decision.scenario)));
        json_object_set_new_nocheck(e, "endpoint", json_string(b->endpoint));
        json_object_set_nocheck(e, "account", b->account);
        json_object_set_nocheck(e, "items", b->items);
        json_object_set_nocheck(e, "body", b->body);
        json_object_set_new_nocheck(e, "totals", totals_json(b));
        if ((invoice && r->process_invoices) || (!invoice && r->invoice_sales_orders))
                json_object_set_new_nocheck(e, "invoicing", invoicing_json(b, r));
        add_warnings(e, &b->decision);
        if (b->vies)
                json_object_set_nocheck(e, "vies", b->vies);
        /* line_keys, shop_revision, cancelled, refunds, payment, corrections: outside
         * content_hash, so an order booked before this change replays as unchanged */
        if (b->after)
                json_object_update(e, b->after);
        return e;
}

json_t *booking_command_json(const booking *b, const rules *r, const char *trace_id)
{
        json_t *e = command_envelope(b, r, trace_id);

        if (e)
                set_hash(e);
        return e;
}

char *booking_command_dumps(const booking *b, const rules *r, const char *trace_id)
{
        json_t *e = command_envelope(b, r, trace_id);
        char *s;

        if (!e)
                return NULL;
        s = booking_dumps_hashed(e, hashed_keys, N_HASHED);
        if (!s) {
                set_hash(e);
                s = booking_dumps(e);
        }
        json_decref(e);
        return s;
}

/* A customer or product envelope: member (acc or items, consumed) for endpoint. */
static json_t *upsert_json(const rules *r, const char *kind, const char *id, const char *trace_id,
                           const char *endpoint, const char *member, json_t *value)
{
        json_t *e = envelope(r->tenant, kind, id, trace_id);

        json_object_set_new_nocheck(e, "division", json_integer(r->division));
        json_object_set_new_nocheck(e, "endpoint", json_string(endpoint));
        json_object_set_new_nocheck(e, member, value);
        set_hash(e);
        return e;
}

json_t *booking_account_upsert_json(const rules *r, const json_t *user, const char *trace_id,
                                    char *err, size_t errlen)
{
        char id[32];
        json_t *acc;
        bool collective;

        if (!json_is_object(user) || !field_id(user, "id", id, sizeof(id))) {
                snprintf(err, errlen, "user has no id");
                return NULL;
        }
        acc = booking_account_def(json_object_get(user, "userinfo"), id, err, errlen);
        if (!acc)
                return NULL;
        /* a consumer of a tenant with a collective relation: that relation, which is never
         * written (the loader resolves it and changes nothing) */
        if (booking_relation_apply(r->relations, json_object_get(user, "userinfo"), acc, id, true,
                                   &collective, err, errlen) != 0) {
                json_decref(acc);
                return NULL;
        }
        return upsert_json(r, "account_upsert", id, trace_id, "crm/Accounts", "account", acc);
}

/* The product's item; @p deleted: the product is gone from the shop (its last known state,
 * or only its id and number), so the item stops being a sales item. */
static json_t *item_upsert(const rules *r, const json_t *product, const char *trace_id,
                           bool deleted, char *err, size_t errlen)
{
        char id[32], code[64], desc[256];
        const char *name, *num, *group, *tariff;
        long long price, disc;
        json_t *it, *items, *e;
        bool off;

        if (!json_is_object(product) || !field_id(product, "id", id, sizeof(id))) {
                snprintf(err, errlen, "product has no id");
                return NULL;
        }
        /* deleted or deactivated: IsSalesItem false, never deleted (documents refer to it) */
        off = deleted || !field_bool(product, "is_active", true);
        name = field_str(product, "name");
        if (name[0] == '\0' && !deleted) {
                snprintf(err, errlen, "product %s has no name", id);
                return NULL;
        }
        num = field_str(product, "productnumber");
        if (num[0] != '\0')
                field_copy(code, sizeof(code), num);
        else
                snprintf(code, sizeof(code), "P%s", id);
        if (strlen(code) > BOOKING_MAX_ITEM_CODE) {
                snprintf(err, errlen, "product %s: item code longer than %d characters", id,
                         BOOKING_MAX_ITEM_CODE);
                return NULL;
        }
        it = json_object();
        json_object_set_new_nocheck(it, "Code", json_string(code));
        field_utf8_trunc(name, BOOKING_MAX_DESCRIPTION, desc, sizeof(desc));
        if (desc[0] != '\0')
                json_object_set_new_nocheck(it, "Description", json_string(desc));
        json_object_set_new_nocheck(it, "IsSalesItem", json_boolean(!off));
        if (deleted && name[0] == '\0') {
                items = json_array();
                json_array_append_new(items, it);
                goto envelope;
        }
        group = rules_map_get(r->item_groups, field_str(product, "maincategory"));
        if (!group)
                group = r->default_item_group;
        field_set_str(it, "ItemGroup", group);
        field_set_str(it, "Barcode", field_str(product, "eannumber"));
        /* default VAT code from the tax tariff at home; the price follows prices_shown */
        tariff = field_str(product, "taxtariff");
        {
                const vat_country *home = vat_rates_find(r->home_country);
                int pct = -1;
                vat_decision hd;
                char e2[8];

                if (!strcmp(tariff, "normal") || !strcmp(tariff, "standard") || tariff[0] == '\0')
                        pct = home->standard;
                else if (!strcmp(tariff, "reduced") || !strcmp(tariff, "low"))
                        pct = home->n_reduced > 0 ? home->reduced[0] : -1;
                else if (!strcmp(tariff, "exempt") || !strcmp(tariff, "zero"))
                        pct = 0;
                memset(&hd, 0, sizeof(hd));
                hd.scenario = VAT_SCENARIO_DOMESTIC;
                field_copy(hd.rate_country, sizeof(hd.rate_country), r->home_country);
                if (pct >= 0)
                        field_set_str(it, "SalesVatCode",
                                      vat_engine_code(r, &hd, pct, e2, sizeof(e2)));
                if (field_micro(json_object_get(product, "price"), &price) == 0) {
                        field_micro(json_object_get(product, "discount"), &disc);
                        long long sell = price - disc;

                        if (r->prices_incl_vat && pct > 0)
                                sell = money_div_round((__int128)sell * 10000, 10000 + pct);
                        json_object_set_new_nocheck(it, "SalesPrice",
                                                    money_json(money_micro_to_cents(sell)));
                }
        }
        items = json_array();
        json_array_append_new(items, it);
envelope:
        e = upsert_json(r, "item_upsert", id, trace_id, "logistics/Items", "items", items);
        if (e && off)
                json_object_set_new_nocheck(e, "deactivate", json_true());
        return e;
}

json_t *booking_item_upsert_json(const rules *r, const json_t *product, const char *trace_id,
                                 char *err, size_t errlen)
{
        return item_upsert(r, product, trace_id, false, err, errlen);
}

json_t *booking_item_deleted_json(const rules *r, const json_t *product, const char *trace_id,
                                  char *err, size_t errlen)
{
        return item_upsert(r, product, trace_id, true, err, errlen);
}

json_t *booking_dead_letter_json(const char *tenant, const char *source_topic,
                                 const char *source_id, const char *trace_id, const char *reason,
                                 const char *payload)
{
        json_t *e = json_object();

        json_object_set_new_nocheck(e, "v", json_integer(1));
        json_object_set_new_nocheck(e, "tenant", tenant ? json_string(tenant) : json_null());
        json_object_set_new_nocheck(e, "source_topic",
                                    json_string(source_topic ? source_topic : ""));
        json_object_set_new_nocheck(e, "source_id",
                                    source_id ? json_string(source_id) : json_null());
        json_object_set_new_nocheck(e, "trace_id", trace_id ? json_string(trace_id) : json_null());
        json_object_set_new_nocheck(e, "stage", json_string("transformer"));
        json_object_set_new_nocheck(e, "reason", json_string(reason ? reason : ""));
        json_object_set_new_nocheck(e, "payload",
                                    payload ? json_stringn(payload, strlen(payload)) : json_null());
        return e;
}
