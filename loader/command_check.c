#include "loader/command_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t why_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
        return -1;
}

const char *command_str(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));

        return s ? s : "";
}

const char *command_lines_member(int invoice)
{
        return invoice ? "SalesInvoiceLines" : "SalesOrderLines";
}

#define jstr command_str
#define lines_member command_lines_member

/* A document's ship-to, when it has one: the crm/Addresses row the loader makes of it. */
static int check_delivery_address(const json_t *body, bool invoice, char *why, size_t why_size)
{
        const char *member = invoice ? "DeliverToAddress" : "DeliveryAddress";
        const json_t *a = json_object_get(body, member);

        if (!a)
                return 0;
        if (!json_is_object(a))
                return fail(why, why_size, "%s must be an object of crm/Addresses fields", member);
        if (json_integer_value(json_object_get(a, "Type")) != 4 ||
            !json_is_integer(json_object_get(a, "Type")))
                return fail(why, why_size, "%s needs Type 4 (delivery)", member);
        if (!jstr(a, "AddressLine1")[0])
                return fail(why, why_size, "Mandatory: AddressLine1 (%s)", member);
        if (strlen(jstr(a, "Country")) != 2)
                return fail(why, why_size, "%s needs a two-letter Country", member);
        return 0;
}

/* The after-booking members (docs/commands.md "After booking"): line_keys parallel to the
 * lines and unique, refunds with an id and lines by key or an amount, the policy. */
static int check_after_booking(const json_t *c, const json_t *lines, char *why, size_t why_size)
{
        const json_t *keys = json_object_get(c, "line_keys");
        const json_t *refunds = json_object_get(c, "refunds");
        const json_t *pol = json_object_get(c, "corrections");
        const json_t *v, *w;
        size_t i, j;

        if (keys && (!json_is_array(keys) || json_array_size(keys) != json_array_size(lines)))
                return fail(why, why_size, "line_keys must be an array with a key per line (%zu)",
                            json_array_size(lines));
        json_array_foreach ((json_t *)keys, i, v) {
                if (!json_is_string(v) || !json_string_length(v))
                        return fail(why, why_size, "line_keys[%zu] must be a non-empty string", i);
                for (j = 0; j < i; j++)
                        if (json_equal(v, json_array_get(keys, j)))
                                return fail(why, why_size, "line key \"%s\" occurs twice",
                                            json_string_value(v));
        }
        if (json_object_get(c, "shop_revision") &&
            !json_is_string(json_object_get(c, "shop_revision")))
                return fail(why, why_size, "shop_revision must be a string");
        if (pol && (!json_is_string(pol) || (strcmp(json_string_value(pol), "auto") &&
                                             strcmp(json_string_value(pol), "log"))))
                return fail(why, why_size, "corrections must be \"auto\" or \"log\"");
        if (refunds && !json_is_array(refunds))
                return fail(why, why_size, "refunds must be an array");
        json_array_foreach ((json_t *)refunds, i, v) {
                const json_t *rl = json_object_get(v, "lines");
                const json_t *amount = json_object_get(v, "amount");

                if (!json_is_object(v) || !jstr(v, "id")[0])
                        return fail(why, why_size, "refund %zu has no id", i + 1);
                if (json_array_size(rl) == 0 &&
                    !(json_is_number(amount) && json_number_value(amount) > 0))
                        return fail(why, why_size, "refund %s needs lines or a positive amount",
                                    jstr(v, "id"));
                json_array_foreach ((json_t *)rl, j, w) {
                        if (!jstr(w, "key")[0] || !json_is_number(json_object_get(w, "quantity")) ||
                            json_number_value(json_object_get(w, "quantity")) <= 0)
                                return fail(why, why_size,
                                            "refund %s line %zu needs a key and a positive "
                                            "quantity",
                                            jstr(v, "id"), j + 1);
                }
        }
        return 0;
}

/* The payment member (docs/commands.md): what the loader books from it must be there. */
static int check_payment(const json_t *c, char *why, size_t why_size)
{
        json_t *p = json_object_get(c, "payment");
        json_t *amount = json_object_get(p, "amount");

        if (!p)
                return 0;
        if (!json_is_object(p) || !json_is_true(json_object_get(p, "paid")))
                return fail(why, why_size, "payment must be an object with \"paid\": true");
        if (!json_is_number(amount) || json_number_value(amount) <= 0)
                return fail(why, why_size, "payment needs a positive amount");
        if (json_is_true(json_object_get(p, "unmapped")))
                return 0;
        if (!jstr(p, "journal")[0] || !jstr(p, "clearing_gl")[0])
                return fail(why, why_size,
                            "payment needs journal and clearing_gl (or \"unmapped\": true)");
        return 0;
}

int command_validate(const json_t *c, char *why, size_t why_size)
{
        const char *kind = jstr(c, "kind");
        bool doc = !strcmp(kind, "sales_order") || !strcmp(kind, "sales_invoice");
        bool invoice = !strcmp(kind, "sales_invoice");
        json_t *acc = json_object_get(c, "account");
        json_t *items = json_object_get(c, "items");
        json_t *v;
        size_t i;

        if (!doc && strcmp(kind, "account_upsert") && strcmp(kind, "item_upsert"))
                return fail(why, why_size, "unknown command kind \"%s\"", kind);
        if ((doc || !strcmp(kind, "account_upsert"))) {
                if (!json_is_object(acc))
                        return fail(why, why_size, "command has no account");
                if (!jstr(acc, "Code")[0] || strlen(jstr(acc, "Code")) > 18)
                        return fail(why, why_size,
                                    "account needs a Code of 1-18 "
                                    "characters");
                if (!jstr(acc, "Name")[0])
                        return fail(why, why_size, "Mandatory: Name (account %s)",
                                    jstr(acc, "Code"));
                v = json_object_get(acc, "contact");
                if (v &&
                    (!json_is_object(v) || (!jstr(v, "FirstName")[0] && !jstr(v, "LastName")[0])))
                        return fail(why, why_size, "contact needs a first or last name");
        }
        if (items && !json_is_array(items))
                return fail(why, why_size, "items must be an array");
        if (!strcmp(kind, "item_upsert") && json_array_size(items) == 0)
                return fail(why, why_size, "item_upsert without items");
        json_array_foreach (items, i, v) {
                if (!json_is_object(v) || !jstr(v, "Code")[0])
                        return fail(why, why_size, "Mandatory: Code (item %zu)", i);
                /* a deleted product is known by its id only: nothing is created from it */
                if (!jstr(v, "Description")[0] && !json_is_true(json_object_get(c, "deactivate")))
                        return fail(why, why_size, "Mandatory: Description (item %s)",
                                    jstr(v, "Code"));
        }
        if (!doc)
                return 0;
        {
                const char *ep = jstr(c, "endpoint");
                json_t *body = json_object_get(c, "body");
                json_t *lines = json_object_get(body, lines_member(invoice));
                const char *want = invoice ? "salesinvoice/SalesInvoices"
                                           : "salesorder/SalesOrders";

                if (ep[0] && strcmp(ep, want))
                        return fail(why, why_size, "endpoint %s does not match kind %s", ep, kind);
                if (!json_is_object(body))
                        return fail(why, why_size, "command has no body");
                if (!jstr(body, "YourRef")[0])
                        return fail(why, why_size, "Mandatory: YourRef");
                if (!jstr(body, "OrderedBy")[0])
                        return fail(why, why_size, "Mandatory: OrderedBy");
                if (invoice && !jstr(body, "Journal")[0])
                        return fail(why, why_size, "Mandatory: Journal");
                if (!json_is_array(lines) || json_array_size(lines) == 0)
                        return fail(why, why_size, "Mandatory: %s (at least one line)",
                                    lines_member(invoice));
                json_array_foreach (lines, i, v) {
                        if (!json_is_object(v) || !jstr(v, "Item")[0])
                                return fail(why, why_size, "Mandatory: Item (line %zu)", i + 1);
                        if (!json_is_number(json_object_get(v, "Quantity")))
                                return fail(why, why_size, "Mandatory: Quantity (line %zu)", i + 1);
                        if (json_object_get(v, "VATCode") &&
                            !json_is_string(json_object_get(v, "VATCode")))
                                return fail(why, why_size, "VATCode must be text (line %zu)",
                                            i + 1);
                }
                static const char *const refs_to_account[] = { "OrderedBy", "InvoiceTo",
                                                               "DeliverTo" };
                for (i = 0; i < 3; i++) {
                        const char *ref = json_string_value(
                                json_object_get(body, refs_to_account[i]));

                        if (ref && strcmp(ref, jstr(acc, "Code")) != 0)
                                return fail(why, why_size,
                                            "%s %s is not the command's "
                                            "account %s",
                                            refs_to_account[i], ref, jstr(acc, "Code"));
                }
                if (check_delivery_address(body, invoice, why, why_size) < 0 ||
                    check_after_booking(c, lines, why, why_size) < 0 ||
                    check_payment(c, why, why_size) < 0)
                        return -1;
        }
        return 0;
}


int command_parse(const char *payload, size_t len, const char *key, json_t **out, char *why,
                  size_t why_size)
{
        json_error_t jerr;
        json_t *cmd = json_loadb(payload, len, 0, &jerr);
        const char *tenant;

        *out = NULL;
        if (!json_is_object(cmd)) {
                fail(why, why_size, "malformed command: %s", cmd ? "not an object" : jerr.text);
                json_decref(cmd);
                return -1;
        }
        *out = cmd;
        tenant = jstr(cmd, "tenant");
        if (json_integer_value(json_object_get(cmd, "v")) != 1 ||
            !json_is_integer(json_object_get(cmd, "v"))) {
                return fail(why, why_size, "unsupported command version (want \"v\": 1)");
        }
        if (!tenant[0])
                return fail(why, why_size, "command names no tenant");
        if (!key || !key[0])
                return fail(why, why_size, "message has no tenant key");
        if (strcmp(key, tenant) != 0)
                return fail(why, why_size, "message key %s does not match tenant %s", key, tenant);
        if (!jstr(cmd, "source_id")[0])
                return fail(why, why_size, "command has no source_id");
        return command_validate(cmd, why, why_size);
}
