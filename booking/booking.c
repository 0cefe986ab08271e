/* booking: CCV order -> Exact sales order / invoice, priced the way Exact will book it
 * (booking/money.h has the arithmetic). */
#include "booking/booking.h"
#include "booking/relations.h"

#include "booking/dates.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/fields.h"
#include "booking/money.h"

/* ---------------------------------------------------------------- accounts */

static uint64_t fnv1a64(const char *s)
{
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++) {
                h ^= (unsigned char)tolower((unsigned char)*s);
                h *= 1099511628211ULL;
        }
        return h;
}

static bool all_digits(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++) {
                if (!isdigit((unsigned char)*s))
                        return false;
        }
        return true;
}

/* Stable account code: the numeric user id, or 9 + 17 digits of a hash of the e-mail address
 * (guests), so it fits Exact's 18-character numeric Code. */
static int account_code(const char *user_id, const char *email, char out[24], char *err,
                        size_t errlen)
{
        char trimmed[256];
        size_t k = 0;

        if (user_id && all_digits(user_id) && strlen(user_id) <= 17) {
                const char *p = user_id;

                while (*p == '0' && p[1] != '\0')
                        p++;
                field_copy(out, 24, p);
                return 0;
        }
        if (user_id && user_id[0] != '\0') {
                char key[128];

                snprintf(key, sizeof(key), "user:%s", user_id);
                snprintf(out, 24, "9%017llu",
                         (unsigned long long)(fnv1a64(key) % 100000000000000000ULL));
                return 0;
        }
        for (const char *p = email; *p && k + 1 < sizeof(trimmed); p++) {
                if (!isspace((unsigned char)*p))
                        trimmed[k++] = *p;
        }
        trimmed[k] = '\0';
        if (k == 0 || !strchr(trimmed, '@')) {
                snprintf(err, errlen,
                         "guest order without an e-mail address: no stable account "
                         "code");
                return -1;
        }
        snprintf(out, 24, "9%017llu",
                 (unsigned long long)(fnv1a64(trimmed) % 100000000000000000ULL));
        return 0;
}

static void address_line(const json_t *addr, char *out, size_t len)
{
        const char *l1 = field_str(addr, "address_line_1");
        char num[32] = "";

        if (l1[0] != '\0') {
                field_copy(out, len, l1);
                return;
        }
        field_id(addr, "housenumber", num, sizeof(num));
        snprintf(out, len, "%s%s%s%s", field_str(addr, "street"), num[0] ? " " : "", num,
                 field_str(addr, "housenumber_suffix"));
}

static void person_name(const json_t *addr, char *out, size_t len)
{
        const char *full = field_str(addr, "full_name");
        const char *first = field_str(addr, "first_name");
        const char *last = field_str(addr, "last_name");

        if (full[0] != '\0')
                field_copy(out, len, full);
        else
                snprintf(out, len, "%s%s%s", first, first[0] && last[0] ? " " : "", last);
}

json_t *booking_account_def(const json_t *info, const char *user_id, char *err, size_t errlen)
{
        const json_t *bill = json_object_get(info, "billingaddress");
        char code[24], name[256], line[256], vat[48], tmp[128];
        json_t *acc, *contact;

        if (!json_is_object(info) || !json_is_object(bill)) {
                snprintf(err, errlen, "missing address: customer has no billing address");
                return NULL;
        }
        if (account_code(user_id, field_str(info, "email"), code, err, errlen) != 0)
                return NULL;
        person_name(bill, name, sizeof(name));
        const char *company = field_str(bill, "company");

        if (company[0] == '\0' && name[0] == '\0') {
                snprintf(err, errlen, "customer has neither a company nor a name");
                return NULL;
        }
        acc = json_object();
        json_object_set_new_nocheck(acc, "Code", json_string(code));
        field_utf8_trunc(company[0] ? company : name, 50, tmp, sizeof(tmp));
        json_object_set_new_nocheck(acc, "Name", json_string(tmp));
        json_object_set_new_nocheck(acc, "Status", json_string("C"));
        address_line(bill, line, sizeof(line));
        field_set_str(acc, "AddressLine1", line);
        field_set_str(acc, "AddressLine2", field_str(bill, "address_line_2"));
        field_set_str(acc, "Postcode", field_str(bill, "zipcode"));
        field_set_str(acc, "City", field_str(bill, "city"));
        field_set_str(acc, "State", field_str(bill, "province"));
        {
                char cc[3] = "";
                const char *c = field_str(bill, "country_code");

                if (strlen(c) == 2) {
                        cc[0] = (char)toupper((unsigned char)c[0]);
                        cc[1] = (char)toupper((unsigned char)c[1]);
                }
                field_set_str(acc, "Country", cc);
        }
        field_set_str(acc, "Email", field_str(info, "email"));
        {
                const char *phone = field_str(bill, "telephone");

                field_set_str(acc, "Phone", phone[0] ? phone : field_str(bill, "mobile"));
        }
        if (vat_number_check(field_str(info, "btw"), vat, sizeof(vat)) != VAT_NUMBER_EMPTY)
                field_set_str(acc, "VATNumber", vat);
        field_set_str(acc, "ChamberOfCommerce", field_str(info, "kvk"));
        field_set_str(acc, "Website", field_str(info, "website"));
        contact = json_object();
        field_set_str(contact, "FirstName", field_str(bill, "first_name"));
        field_set_str(contact, "LastName", field_str(bill, "last_name"));
        if (json_object_size(contact) == 0 && name[0] != '\0')
                field_set_str(contact, "LastName", name);
        field_set_str(contact, "Initials", field_str(bill, "initials"));
        field_set_str(contact, "Email", field_str(info, "email"));
        field_set_str(contact, "Phone", field_str(bill, "telephone"));
        field_set_str(contact, "Mobile", field_str(bill, "mobile"));
        if (json_object_get(contact, "FirstName") || json_object_get(contact, "LastName"))
                json_object_set_new_nocheck(acc, "contact", contact);
        else
                json_decref(contact);
        return acc;
}

/* ---------------------------------------------------------------- order lines */

enum line_kind {
        LINE_GOODS = 0,
        LINE_SHIPPING,
        LINE_PAYMENT,
        LINE_EXTRA,
        LINE_DISCOUNT,
        LINE_ROUNDING,
};

static const char *const kind_gl_key[] = { "goods",       "shipping", "payment_costs",
                                           "extra_costs", "discount", "rounding" };

struct line {
        enum line_kind kind;
        const char *item; /* item code (points into the order or the rules) */
        char item_buf[BOOKING_MAX_ITEM_CODE + 8];
        char desc[256];
        long long qty_milli;
        long long net;          /* cents: round2(qty * NetPrice) as Exact will compute it */
        long long target_gross; /* what the shop charged for this line, incl. VAT */
        int pct_bp;
        const char *code; /* VAT code */
        bool adjusted;
        bool deposit;    /* CCV product_type "deposit": always 0% */
        char row_id[24]; /* goods: the CCV orderrow id, for the line key */
};

struct group {
        int pct_bp;
        const char *code;
        long long weight; /* goods net at this rate (for pro rata splits) */
};

/* Most orders fit in the builder's own line array; a fresh heap block per order costs more
 * than the booking itself (it makes malloc consolidate its free lists). */
#define BUILDER_INLINE_LINES 24

struct builder {
        struct line *lines; /* inline_lines, or a heap copy once that is full */
        size_t n, cap;
        struct group groups[16];
        size_t n_groups;
        struct line inline_lines[BUILDER_INLINE_LINES];
};

static void builder_init(struct builder *b)
{
        b->lines = b->inline_lines;
        b->n = 0;
        b->cap = BUILDER_INLINE_LINES;
        b->n_groups = 0;
}

static void builder_free(struct builder *b)
{
        if (b->lines != b->inline_lines)
                free(b->lines);
}

static struct line *add_line(struct builder *b)
{
        if (b->n == b->cap) {
                size_t cap = b->cap * 2;
                struct line *l = malloc(cap * sizeof(*l));

                if (!l)
                        return NULL;
                memcpy(l, b->lines, b->n * sizeof(*l));
                /* item codes kept in a line's own buffer move with it */
                for (size_t i = 0; i < b->n; i++) {
                        if (b->lines[i].item == b->lines[i].item_buf)
                                l[i].item = l[i].item_buf;
                }
                builder_free(b);
                b->lines = l;
                b->cap = cap;
        }
        memset(&b->lines[b->n], 0, sizeof(b->lines[0]));
        b->lines[b->n].qty_milli = 1000;
        return &b->lines[b->n++];
}

static long long line_gross(const struct line *l)
{
        return l->net + money_line_vat(l->net, l->pct_bp);
}

/* NetPrice (micro-euros) such that round2(qty * NetPrice) == net; falls back to quantity 1
 * when no 6-decimal unit price reproduces the amount. */
static long long unit_price_micro(struct line *l)
{
        if (l->qty_milli != 1000) {
                long long np = money_div_round((__int128)l->net * 10000 * 1000, l->qty_milli);

                if (money_div_round((__int128)np * l->qty_milli, 10000000) == l->net)
                        return np;
                l->qty_milli = 1000;
        }
        return l->net * 10000;
}

/* Item code of an order row: variant SKU, variant number, product number, product id. */
static const char *row_item_code(const json_t *row, const rules *r, char *buf, size_t len)
{
        static const char *const keys[] = { "sub_sku_number", "sub_product_number",
                                            "product_number" };
        char id[32];

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const char *s = field_str(row, keys[i]);

                if (s[0] != '\0') {
                        field_copy(buf, len, s);
                        return strlen(s) < len ? buf : NULL;
                }
        }
        if (field_id(row, "product_id", id, sizeof(id))) {
                snprintf(buf, len, "P%s", id);
                return buf;
        }
        if (r->custom_item) {
                field_copy(buf, len, r->custom_item);
                return buf;
        }
        return NULL;
}

static struct group *group_for(struct builder *b, int pct_bp)
{
        for (size_t i = 0; i < b->n_groups; i++) {
                if (b->groups[i].pct_bp == pct_bp)
                        return &b->groups[i];
        }
        if (b->n_groups == sizeof(b->groups) / sizeof(b->groups[0]))
                return NULL;
        b->groups[b->n_groups].pct_bp = pct_bp;
        b->groups[b->n_groups].code = NULL;
        b->groups[b->n_groups].weight = 0;
        return &b->groups[b->n_groups++];
}

/* Splits amount over the groups in proportion to their goods net (largest remainder). */
static void split_pro_rata(const struct builder *b, long long amount, long long *parts)
{
        long long total = 0, given = 0;
        size_t n = b->n_groups;

        for (size_t i = 0; i < n; i++)
                total += b->groups[i].weight > 0 ? b->groups[i].weight : 0;
        if (total == 0) {
                for (size_t i = 0; i < n; i++)
                        parts[i] = i == 0 ? amount : 0;
                return;
        }
        long long sign = amount < 0 ? -1 : 1;
        long long a = amount * sign;
        long long rem[16];

        for (size_t i = 0; i < n; i++) {
                long long w = b->groups[i].weight > 0 ? b->groups[i].weight : 0;
                __int128 p = (__int128)a * w;

                parts[i] = (long long)(p / total);
                rem[i] = (long long)(p % total);
                given += parts[i];
        }
        while (given < a) {
                size_t best = 0;

                for (size_t i = 1; i < n; i++) {
                        if (rem[i] > rem[best])
                                best = i;
                }
                parts[best]++;
                rem[best] = -1;
                given++;
        }
        for (size_t i = 0; i < n; i++)
                parts[i] *= sign;
}

/* Adds an ancillary charge (shipping, payment costs, discount) as one line per rate group. */
static int add_charge(struct builder *b, enum line_kind kind, const char *item, const char *desc,
                      long long amount, bool incl, int shop_pct_bp, bool zero_rated, bool keep_paid,
                      char *err, size_t errlen, const char *what)
{
        long long parts[16];

        if (amount == 0)
                return 0;
        if (!item) {
                snprintf(err, errlen, "order has %s but no %s is mapped in the rules", what,
                         kind == LINE_SHIPPING   ? "shipping_item"
                         : kind == LINE_DISCOUNT ? "discount_item"
                                                 : "payment_cost_item");
                return -1;
        }
        split_pro_rata(b, amount, parts);
        for (size_t i = 0; i < b->n_groups; i++) {
                struct line *l;
                int pct = b->groups[i].pct_bp;

                if (parts[i] == 0)
                        continue;
                l = add_line(b);
                if (!l) {
                        snprintf(err, errlen, "out of memory");
                        return -1;
                }
                l->kind = kind;
                l->item = item;
                l->pct_bp = pct;
                l->code = b->groups[i].code;
                field_copy(l->desc, sizeof(l->desc), desc);
                if (incl) {
                        l->target_gross = parts[i];
                        l->net = money_net_from_gross(parts[i], pct);
                } else if (zero_rated || shop_pct_bp == pct || shop_pct_bp < 0 || !keep_paid) {
                        /* excl. VAT: the net is split, each part taxed at its goods' rate */
                        l->net = parts[i];
                        l->target_gross = line_gross(l);
                } else {
                        /* the shop taxed the whole charge at its own rate: keep what the
                         * customer paid and re-split it at the goods' rates */
                        l->target_gross = parts[i] + money_line_vat(parts[i], shop_pct_bp);
                        l->net = money_net_from_gross(l->target_gross, pct);
                }
        }
        return 0;
}

/* Closes the gap between Exact's gross and the shop's total: first by moving single lines a
 * cent, then with a rounding line. Returns 0, or -1 with err. */
static int balance(struct builder *b, const rules *r, long long total, char *err, size_t errlen)
{
        long long gross = 0;

        for (size_t i = 0; i < b->n; i++)
                gross += line_gross(&b->lines[i]);
        long long diff = total - gross;

        for (int pass = 0; pass < 2 && diff != 0; pass++) {
                for (size_t i = 0; i < b->n && diff != 0; i++) {
                        struct line *l = &b->lines[i];
                        long long step = diff > 0 ? 1 : -1;
                        long long before = line_gross(l);

                        if (l->adjusted || l->net == 0)
                                continue;
                        /* first pass: only lines whose own rounding is off */
                        if (pass == 0 && before == l->target_gross)
                                continue;
                        l->net += step;
                        long long delta = line_gross(l) - before;

                        if ((diff > 0 && delta <= diff) || (diff < 0 && delta >= diff)) {
                                diff -= delta;
                                l->adjusted = true;
                        } else {
                                l->net -= step;
                        }
                }
        }
        if (diff == 0)
                return 0;
        if (!r->rounding_item) {
                snprintf(err, errlen,
                         "a rounding difference of %.2f remains and no "
                         "rounding_item is mapped in the rules",
                         (double)diff / 100.0);
                return -1;
        }
        for (size_t g = 0; g < b->n_groups; g++) {
                int pct = b->groups[g].pct_bp;
                long long n = money_net_from_gross(diff, pct);

                if (n + money_line_vat(n, pct) != diff)
                        continue;
                struct line *l = add_line(b);

                if (!l)
                        break;
                l->kind = LINE_ROUNDING;
                l->item = r->rounding_item;
                l->pct_bp = pct;
                l->code = b->groups[g].code;
                l->net = n;
                l->target_gross = diff;
                snprintf(l->desc, sizeof(l->desc), "Afrondingsverschil (rounding)");
                return 0;
        }
        snprintf(err, errlen,
                 "a rounding difference of %.2f cannot be booked at the order's "
                 "VAT rates",
                 (double)diff / 100.0);
        return -1;
}

/* ---------------------------------------------------------------- the order */

struct order_amounts {
        long long total, shipping, payment, extra, discount, tax;
        bool has_tax;
        bool rows_incl, ship_incl; /* row prices, shipping incl. VAT */
        int ship_pct;              /* the shop's shipping VAT rate (basis points) */
};

static int read_amount(const json_t *order, const char *key, long long *cents, bool *present,
                       char *err, size_t errlen)
{
        long long micro;
        int rc = field_micro(json_object_get(order, key), &micro);

        if (rc < 0) {
                snprintf(err, errlen, "malformed amount in \"%s\"", key);
                return -1;
        }
        if (present)
                *present = rc == 0;
        *cents = money_micro_to_cents(micro);
        return 0;
}

static const json_t *order_rows(const json_t *order)
{
        const json_t *rows = json_object_get(order, "orderrows");

        if (json_is_object(rows))
                rows = json_object_get(rows, "items");
        return json_is_array(rows) ? rows : NULL;
}

/* Ship-to address: the delivery address, or the billing address when the delivery address is
 * left empty (CCV sends all-empty strings when both are the same). */
static const json_t *ship_address(const json_t *customer)
{
        const json_t *del = json_object_get(customer, "deliveryaddress");

        if (json_is_object(del) && field_str(del, "country_code")[0] != '\0')
                return del;
        return json_object_get(customer, "billingaddress");
}

/* Text compared for "same address": trimmed, case and spaces ignored (CCV's "1234ab" is
 * "1234 AB"). */
static void addr_key(const char *in, char *out, size_t len)
{
        size_t k = 0;

        for (; *in && k + 1 < len; in++) {
                if (!isspace((unsigned char)*in))
                        out[k++] = (char)toupper((unsigned char)*in);
        }
        out[k] = '\0';
}

static bool addr_same_field(const char *a, const char *b)
{
        char ka[256], kb[256];

        addr_key(a, ka, sizeof(ka));
        addr_key(b, kb, sizeof(kb));
        return strcmp(ka, kb) == 0;
}

static bool same_place(const json_t *a, const json_t *b)
{
        static const char *const k[] = { "address_line_2", "zipcode", "city", "country_code" };
        char la[256], lb[256];

        address_line(a, la, sizeof(la));
        address_line(b, lb, sizeof(lb));
        if (!addr_same_field(la, lb))
                return false;
        for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
                if (!addr_same_field(field_str(a, k[i]), field_str(b, k[i])))
                        return false;
        }
        return true;
}

json_t *booking_delivery_address(const json_t *customer, const char *deliver_method)
{
        const json_t *bill = json_object_get(customer, "billingaddress");
        const json_t *ship = ship_address(customer);
        char line[256], name[256], cc[3] = "";
        const char *c = field_str(ship, "country_code");
        const char *phone = field_str(ship, "telephone");
        json_t *a;

        /* collected at the shop, or shipped to the invoice address: nothing to add */
        if (!strcasecmp(deliver_method, "pickup") || !json_is_object(ship) || ship == bill ||
            same_place(ship, bill) || strlen(c) != 2)
                return NULL;
        a = json_object();
        json_object_set_new_nocheck(a, "Type", json_integer(4));
        address_line(ship, line, sizeof(line));
        field_set_str(a, "AddressLine1", line);
        field_set_str(a, "AddressLine2", field_str(ship, "address_line_2"));
        /* the recipient, when the shop names one: crm/Addresses has no name field */
        person_name(ship, name, sizeof(name));
        field_set_str(a, "AddressLine3",
                      field_str(ship, "company")[0] ? field_str(ship, "company") : name);
        field_set_str(a, "Postcode", field_str(ship, "zipcode"));
        field_set_str(a, "City", field_str(ship, "city"));
        field_set_str(a, "State", field_str(ship, "province"));
        cc[0] = (char)toupper((unsigned char)c[0]);
        cc[1] = (char)toupper((unsigned char)c[1]);
        field_set_str(a, "Country", cc);
        field_set_str(a, "Phone", phone[0] ? phone : field_str(ship, "mobile"));
        return a;
}

static json_t *item_def(const struct line *l, const rules *r, const vat_decision *d)
{
        json_t *it = json_object();
        char desc[256];

        json_object_set_new_nocheck(it, "Code", json_string(l->item));
        field_utf8_trunc(l->desc[0] ? l->desc : l->item, BOOKING_MAX_DESCRIPTION, desc,
                         sizeof(desc));
        json_object_set_new_nocheck(it, "Description", json_string(desc));
        json_object_set_new_nocheck(it, "IsSalesItem", json_true());
        field_set_str(it, "ItemGroup", r->default_item_group);
        /* the item's default sales VAT code is the home one for its rate, when mapped */
        {
                vat_decision home;
                char e[8];

                memset(&home, 0, sizeof(home));
                home.scenario = VAT_SCENARIO_DOMESTIC;
                home.tax_date = d->tax_date;
                field_copy(home.rate_country, sizeof(home.rate_country), r->home_country);
                const char *code = vat_engine_code(r, &home, l->pct_bp, e, sizeof(e));

                field_set_str(it, "SalesVatCode", code);
        }
        return it;
}

/* A shop-level charge (shipping, payment costs, discount, rounding) as an item, so a command
 * stays self-contained: a division that has never seen the mapped code gets it created. It
 * carries no default VAT code, since each line brings the VAT of the goods it belongs to. */
static json_t *service_item_def(const struct line *l, const rules *r)
{
        static const char *const names[] = { "Artikel",        "Verzendkosten", "Betaalkosten",
                                             "Overige kosten", "Korting",       "Afronding" };
        json_t *it = json_object();

        json_object_set_new_nocheck(it, "Code", json_string(l->item));
        json_object_set_new_nocheck(it, "Description", json_string(names[l->kind]));
        json_object_set_new_nocheck(it, "IsSalesItem", json_true());
        field_set_str(it, "ItemGroup", r->default_item_group);
        return it;
}

static json_t *line_json(struct line *l, const rules *r, bool invoice)
{
        json_t *j = json_object();
        long long np = unit_price_micro(l);
        char desc[256];
        const char *gl;

        json_object_set_new_nocheck(j, "Item", json_string(l->item));
        field_utf8_trunc(l->desc, BOOKING_MAX_DESCRIPTION, desc, sizeof(desc));
        json_object_set_new_nocheck(j, "Description", json_string(desc));
        if (l->qty_milli % 1000 == 0)
                json_object_set_new_nocheck(j, "Quantity", json_integer(l->qty_milli / 1000));
        else
                json_object_set_new_nocheck(j, "Quantity",
                                            json_real((double)l->qty_milli / 1000.0));
        json_object_set_new_nocheck(j, "UnitPrice", money_micro_json(np));
        json_object_set_new_nocheck(j, "NetPrice", money_micro_json(np));
        json_object_set_new_nocheck(j, "VATCode", json_string(l->code));
        json_object_set_new_nocheck(j, "VATPercentage", json_real((double)l->pct_bp / 10000.0));
        gl = rules_map_get(r->gl_accounts, kind_gl_key[l->kind]);
        if (invoice && gl)
                json_object_set_new_nocheck(j, "GLAccount", json_string(gl));
        return j;
}

void booking_clear(booking *b)
{
        json_decref(b->body);
        json_decref(b->account);
        json_decref(b->items);
        json_decref(b->vies);
        json_decref(b->line_keys);
        json_decref(b->after);
        b->body = b->account = b->items = b->vies = b->line_keys = b->after = NULL;
}

static int check_shop_icp(const json_t *order, const json_t *rows, const vat_decision *d,
                          const struct order_amounts *a, const char *raw_vat, char *err,
                          size_t errlen)
{
        bool icp_flag = field_bool(order, "is_intra_community_order", false);
        bool all_zero = true, any_amount = false;

        if (d->scenario == VAT_SCENARIO_ICP || d->scenario == VAT_SCENARIO_EXPORT ||
            d->vies_domestic)
                return 0;
        for (size_t i = 0; i < json_array_size(rows); i++) {
                const json_t *row = json_array_get(rows, i);
                long long tax, tp;

                field_micro(json_object_get(row, "tax"), &tax);
                field_micro(json_object_get(row, "total_price"), &tp);
                if (tax != 0)
                        all_zero = false;
                if (tp != 0)
                        any_amount = true;
        }
        /* a VAT number on a 0% order means the shop applied the ICP exemption */
        if (!icp_flag &&
            !(raw_vat[0] != '\0' && all_zero && any_amount && a->has_tax && a->tax == 0))
                return 0;
        if (d->vat_status != VAT_NUMBER_VALID && d->vat_status != VAT_NUMBER_EMPTY)
                snprintf(err, errlen,
                         "0%% intra-community VAT charged but VAT number \"%s\" "
                         "fails validation (%s)",
                         raw_vat, vat_number_status_name(d->vat_status));
        else if (d->vat_status == VAT_NUMBER_EMPTY)
                snprintf(err, errlen,
                         "0%% intra-community VAT charged without a customer VAT "
                         "number");
        else if (!strcmp(d->dest_country, d->rate_country) &&
                 d->scenario == VAT_SCENARIO_DOMESTIC && !d->n_warnings)
                snprintf(err, errlen, "0%% intra-community VAT charged on a delivery within %s",
                         d->rate_country);
        else if (!d->vat_number_usable)
                snprintf(err, errlen,
                         "0%% intra-community VAT charged but VAT number %s cannot "
                         "be used for an intra-community supply (%s)",
                         d->vat_number,
                         d->n_warnings ? "home-country number" : "not confirmed by VIES");
        else
                snprintf(err, errlen, "0%% intra-community VAT charged on a %s sale",
                         vat_scenario_name(d->scenario));
        return -1;
}


/* The order's state and kind: what is booked at all. Fills out->source_id. */
static int check_order(const json_t *order, const booking_ctx *ctx, booking *out, char *err,
                       size_t errlen)
{
        const char *cur;

        if (!json_is_object(order)) {
                snprintf(err, errlen, "order is not a JSON object");
                return -1;
        }
        if (!field_id(order, "id", out->source_id, sizeof(out->source_id))) {
                snprintf(err, errlen, "order has no id");
                return -1;
        }
        if (!field_bool(order, "is_completed", false) ||
            json_is_null(json_object_get(order, "status"))) {
                snprintf(err, errlen, "order is not completed");
                return -1;
        }
        if (json_is_integer(json_object_get(order, "status")) &&
            json_integer_value(json_object_get(order, "status")) == 8) {
                /* a cancellation after booking is mapped as the order was, to be credited */
                if (!ctx || !ctx->map_cancelled) {
                        snprintf(err, errlen, "order is cancelled (status 8)");
                        return -1;
                }
                out->cancelled = true;
        }
        if (field_bool(order, "is_platform_sale", false)) {
                snprintf(err, errlen,
                         "platform sale (marketplace as deemed supplier) is not "
                         "supported");
                return -1;
        }
        cur = field_str(order, "currency");
        if (cur[0] != '\0' && strcmp(cur, "EUR")) {
                /* docs/research/exact-currencies.md: EUR only, with what the owner can do */
                snprintf(err, errlen,
                         "order in %.3s (bestelling in %.3s): the connector books EUR only, as "
                         "the VAT rules and the amount check work in euros. Book this order by "
                         "hand in Exact in %.3s (a sales journal that allows %.3s and a rate "
                         "for it), then drop this dead letter (connector-admin deadletters drop "
                         "ID --reason ...); or have the shop charge in EUR",
                         cur, cur, cur, cur);
                return -1;
        }
        return 0;
}

/* CCV's product_type of each row: goods ("product", or none given) and deposits ("deposit",
 * always 0% per CCV) are booked; anything else may be a service or a digital good, whose
 * place of supply the engine does not decide (docs/vat-engine.md "Services and digital
 * goods"), so the order is refused rather than taxed as goods. */
static int check_product_types(const json_t *rows, char *err, size_t errlen)
{
        for (size_t i = 0; i < json_array_size(rows); i++) {
                const json_t *t = json_object_get(json_array_get(rows, i), "product_type");
                const char *s = json_string_value(t);

                if (!t || json_is_null(t) ||
                    (s && (!*s || !strcmp(s, "product") || !strcmp(s, "deposit"))))
                        continue;
                snprintf(err, errlen,
                         "order row %zu has product_type \"%.40s\": only goods (product) and "
                         "deposits are booked; services and digital goods are not supported "
                         "(their VAT follows other rules)",
                         i + 1, s ? s : "(not a string)");
                return -1;
        }
        return 0;
}

/* The customer, the ship-to address and the rows, each of which an order must have. */
static int order_parts(const json_t *order, const json_t **customer, const json_t **ship,
                       const json_t **rows, char *err, size_t errlen)
{
        *customer = json_object_get(order, "customer");
        if (!json_is_object(*customer) ||
            !json_is_object(json_object_get(*customer, "billingaddress"))) {
                snprintf(err, errlen, "missing address: order has no customer billing address");
                return -1;
        }
        *ship = ship_address(*customer);
        if (field_str(*ship, "country_code")[0] == '\0') {
                snprintf(err, errlen, "missing address: no ship-to country");
                return -1;
        }
        *rows = order_rows(order);
        if (!*rows || json_array_size(*rows) == 0) {
                snprintf(err, errlen, "order has no rows (\"orderrows\" missing or empty)");
                return -1;
        }
        return check_product_types(*rows, err, errlen);
}

/* The order-level amounts and how the shop priced them. */
static int read_amounts(const json_t *order, struct order_amounts *a, char *err, size_t errlen)
{
        long long ship_pct_micro = 0, d1, d2;
        bool has_total;

        if (read_amount(order, "total_price", &a->total, &has_total, err, errlen) ||
            read_amount(order, "total_shipping", &a->shipping, NULL, err, errlen) ||
            read_amount(order, "paymethod_costs", &a->payment, NULL, err, errlen) ||
            read_amount(order, "extra_costs", &a->extra, NULL, err, errlen) ||
            read_amount(order, "total_tax", &a->tax, &a->has_tax, err, errlen))
                return -1;
        if (!has_total) {
                snprintf(err, errlen, "order has no total_price");
                return -1;
        }
        if (read_amount(order, "total_discounts", &d1, NULL, err, errlen) ||
            read_amount(order, "credit_point_discount", &d2, NULL, err, errlen))
                return -1;
        a->discount = d1 + d2;
        if (a->shipping < 0 || a->payment < 0 || a->discount < 0) {
                snprintf(err, errlen, "negative shipping, payment costs or discount");
                return -1;
        }
        a->rows_incl = field_bool(order, "order_row_taxes_included",
                                  field_bool(order, "taxes_included", true));
        a->ship_incl = field_bool(order, "shipping_taxes_included", a->rows_incl);
        if (field_micro(json_object_get(order, "shipping_tax_percentage"), &ship_pct_micro) < 0) {
                snprintf(err, errlen, "malformed shipping_tax_percentage");
                return -1;
        }
        a->ship_pct = (int)money_div_round(ship_pct_micro, 10000);
        return 0;
}

/* One goods row (i counts from 0) as a line at the shop's rate, before any scenario is
 * known; rows with quantity 0 add nothing. */
static int add_goods_row(struct builder *b, const rules *r, const json_t *row, size_t i,
                         bool rows_incl, char *err, size_t errlen)
{
        long long count, tax, tp, price, disc, amount;
        struct line *l;
        int rc_tp;

        if (!json_is_object(row)) {
                snprintf(err, errlen, "order row %zu is not an object", i + 1);
                return -1;
        }
        if (field_micro(json_object_get(row, "count"), &count) != 0 ||
            field_micro(json_object_get(row, "tax"), &tax) < 0 ||
            field_micro(json_object_get(row, "price"), &price) < 0 ||
            field_micro(json_object_get(row, "discount"), &disc) < 0 ||
            (rc_tp = field_micro(json_object_get(row, "total_price"), &tp)) < 0) {
                snprintf(err, errlen, "order row %zu: malformed count, price or tax", i + 1);
                return -1;
        }
        if (count < 0) {
                snprintf(err, errlen, "order row %zu: negative quantity", i + 1);
                return -1;
        }
        if (count == 0)
                return 0;
        if (tax < 0 || tax >= 100000000 || tax % 10000 != 0) {
                snprintf(err, errlen, "order row %zu: bad VAT percentage", i + 1);
                return -1;
        }
        if (rc_tp == 1)
                tp = money_div_round((__int128)count * (price - disc), 1000000);
        l = add_line(b);
        if (!l) {
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        l->kind = LINE_GOODS;
        if (!field_id(row, "id", l->row_id, sizeof(l->row_id)))
                snprintf(l->row_id, sizeof(l->row_id), "n%zu", i + 1);
        l->qty_milli = money_div_round(count, 1000);
        if (l->qty_milli <= 0) {
                snprintf(err, errlen, "order row %zu: quantity below 0.001", i + 1);
                return -1;
        }
        l->pct_bp = (int)(tax / 10000);
        l->item = row_item_code(row, r, l->item_buf, sizeof(l->item_buf));
        if (!l->item) {
                snprintf(err, errlen,
                         "order row %zu: no product number or id (or it is longer "
                         "than %d characters) and no custom_item mapped",
                         i + 1, BOOKING_MAX_ITEM_CODE);
                return -1;
        }
        field_copy(l->desc, sizeof(l->desc), field_str(row, "product_name"));
        l->deposit = !strcmp(field_str(row, "product_type"), "deposit");
        amount = money_micro_to_cents(tp);
        if (rows_incl) {
                l->target_gross = amount;
                l->net = money_net_from_gross(amount, l->pct_bp);
        } else {
                l->net = amount;
                l->target_gross = line_gross(l);
        }
        return 0;
}

/* The goods rows; *goods_net is their net at the shop's rates. */
static int add_goods(struct builder *b, const rules *r, const json_t *rows, bool rows_incl,
                     long long *goods_net, char *err, size_t errlen)
{
        *goods_net = 0;
        for (size_t i = 0; i < json_array_size(rows); i++) {
                size_t n = b->n;

                if (add_goods_row(b, r, json_array_get(rows, i), i, rows_incl, err, errlen) != 0)
                        return -1;
                if (b->n > n)
                        *goods_net += b->lines[n].net;
        }
        if (b->n == 0) {
                snprintf(err, errlen, "order has no rows with a quantity");
                return -1;
        }
        return 0;
}

/* The VAT scenario of the order, into out->decision (and its OSS threshold amount). */
static int decide_scenario(const rules *r, const json_t *order, const json_t *customer,
                           const json_t *ship, const booking_ctx *ctx,
                           const struct order_amounts *a, long long goods_net_shop, booking *out,
                           char *err, size_t errlen)
{
        vat_input in = { 0 };
        const char *method = field_str(order, "deliver_method");

        in.rules = r;
        in.ship_country = field_str(ship, "country_code");
        in.ship_postcode = field_str(ship, "zipcode");
        in.collected_at_home = !strcasecmp(method, "pickup");
        in.vat_number = field_str(customer, "btw");
        in.vies = ctx ? ctx->vies : VIES_NOT_CHECKED;
        in.order_net_cents = a->has_tax ? a->total - a->tax : goods_net_shop;
        in.oss_ytd_cents = ctx ? ctx->oss_ytd_cents : 0;
        in.oss_prev_year_over = ctx ? ctx->oss_prev_year_over : r->oss_prev_year_over;
        in.tax_date = booking_tax_point(r, order);
        if (vat_engine_decide(&in, &out->decision, err, errlen) != 0)
                return -1;
        if (out->decision.counts_for_threshold)
                out->threshold_net_cents = in.order_net_cents;
        return 0;
}

/* An ICP supply or an export is booked at 0%: the shop must not have charged VAT. */
static int check_zero_rated_tax(const vat_decision *d, const struct order_amounts *a, char *err,
                                size_t errlen)
{
        if (!a->has_tax || a->tax == 0)
                return 0;
        if (d->scenario == VAT_SCENARIO_EXPORT)
                snprintf(err, errlen, "VAT charged (%.2f) on an export to %s%s%s%s: 0%% is due",
                         (double)a->tax / 100.0, d->territory.iso, d->territory.special ? " (" : "",
                         d->territory.special ? d->territory.special : "",
                         d->territory.special ? ")" : "");
        else
                snprintf(err, errlen,
                         "VAT charged (%.2f) on an intra-community supply to %s "
                         "(VAT number %s): 0%% is due",
                         (double)a->tax / 100.0, d->dest_country, d->vat_number);
        return -1;
}

/* Whether the shop charged no VAT at all: every row at 0% and no total_tax. */
static bool shop_charged_nothing(const json_t *rows, const struct order_amounts *a)
{
        for (size_t i = 0; i < json_array_size(rows); i++) {
                long long tax = 0;

                field_micro(json_object_get(json_array_get(rows, i), "tax"), &tax);
                if (tax != 0)
                        return false;
        }
        return !a->has_tax || a->tax == 0;
}

/* vies_policy domestic, VIES unavailable: the shop's 0% ICP becomes a home sale. What the
 * customer paid stays the gross; the home rate's VAT is taken out of it, so every amount
 * (rows, shipping, costs, discounts) is read as incl. VAT. */
static int vies_domestic_sale(const rules *r, const booking_ctx *ctx, const json_t *rows,
                              struct builder *b, struct order_amounts *a, booking *out, char *err,
                              size_t errlen)
{
        vat_decision *d = &out->decision;
        const vat_country *home;
        int pct = ctx->vies_domestic_bp;

        if (!ctx->vies_domestic || d->vat_status != VAT_NUMBER_VALID ||
            (d->scenario != VAT_SCENARIO_OSS && d->scenario != VAT_SCENARIO_DISTANCE_ORIGIN) ||
            !shop_charged_nothing(rows, a))
                return 0;
        if (pct <= 0) {
                home = vat_rates_find_region(r->home_country, "", d->tax_date);
                if (!home) {
                        snprintf(err, errlen, "no %s VAT rates for the order's date",
                                 r->home_country);
                        return -1;
                }
                pct = home->standard;
        }
        vat_engine_vies_domestic(r, d, pct);
        out->threshold_net_cents = 0;
        for (size_t i = 0; i < b->n; i++) {
                struct line *l = &b->lines[i];

                if (l->deposit)
                        continue;
                l->pct_bp = pct;
                l->net = money_net_from_gross(l->target_gross, pct);
        }
        a->rows_incl = a->ship_incl = true;
        a->ship_pct = pct;
        return 0;
}

/* VAT codes per rate group; each group's weight is its goods net. */
static int assign_vat_codes(struct builder *b, const rules *r, const vat_decision *d, char *err,
                            size_t errlen)
{
        for (size_t i = 0; i < b->n; i++) {
                struct line *l = &b->lines[i];
                struct group *g = group_for(b, l->pct_bp);

                if (!g) {
                        snprintf(err, errlen, "too many different VAT rates in one order");
                        return -1;
                }
                if (!g->code) {
                        g->code = vat_engine_code(r, d, l->pct_bp, err, errlen);
                        if (!g->code)
                                return -1;
                }
                l->code = g->code;
                g->weight += l->net;
        }
        return 0;
}

/* The ancillary charges after the goods, with keep_paid as add_charge takes it. */
static int add_order_charges(struct builder *b, const rules *r, const json_t *order,
                             const struct order_amounts *a, bool zero_rated, bool keep_paid,
                             char *err, size_t errlen)
{
        const char *extra_desc = field_str(order, "extra_costs_description");

        if (add_charge(b, LINE_SHIPPING, r->shipping_item, "Verzendkosten", a->shipping,
                       a->ship_incl, a->ship_pct, zero_rated, keep_paid, err, errlen,
                       "shipping costs") ||
            add_charge(b, LINE_PAYMENT, r->payment_cost_item, "Betaalkosten", a->payment,
                       a->rows_incl, -1, zero_rated, keep_paid, err, errlen, "payment costs"))
                return -1;
        if (a->extra > 0 &&
            add_charge(b, LINE_EXTRA, r->payment_cost_item,
                       extra_desc[0] ? extra_desc : "Extra kosten", a->extra, a->rows_incl, -1,
                       zero_rated, keep_paid, err, errlen, "extra costs"))
                return -1;
        return add_charge(b, LINE_DISCOUNT, r->discount_item, "Korting",
                          -a->discount + (a->extra < 0 ? a->extra : 0), a->rows_incl, -1,
                          zero_rated, keep_paid, err, errlen, "a discount");
}

/* Ancillary charges follow the goods, split pro rata over their rates; charges priced excl.
 * VAT are first split by net (the legal method), and only when the shop's total shows it
 * taxed them at its own rate, by what the customer paid. */
static int add_charges(struct builder *b, const rules *r, const json_t *order,
                       const struct order_amounts *a, bool zero_rated, char *err, size_t errlen)
{
        size_t n_goods = b->n;
        long long shop_gross = 0;

        for (int attempt = 0; attempt < 2; attempt++) {
                long long exact_gross = 0, tolerance;

                shop_gross = 0;
                b->n = n_goods;
                if (add_order_charges(b, r, order, a, zero_rated, attempt == 1, err, errlen) != 0)
                        return -1;
                tolerance = (long long)b->n + 2;
                for (size_t i = 0; i < b->n; i++) {
                        shop_gross += b->lines[i].target_gross;
                        exact_gross += line_gross(&b->lines[i]);
                }
                if (llabs(a->total - shop_gross) <= tolerance &&
                    llabs(a->total - exact_gross) <= tolerance)
                        return 0;
                if (attempt == 1 || a->ship_incl || a->shipping == 0 || b->n_groups < 2)
                        break;
        }
        snprintf(err, errlen,
                 "order totals do not add up: rows, shipping, costs and discounts "
                 "come to %.2f incl. VAT, total_price is %.2f",
                 (double)shop_gross / 100.0, (double)a->total / 100.0);
        return -1;
}

/* The document's header: parties, references, date, payment condition. */
static int document_header(json_t *body, const rules *r, const json_t *order, const char *acc,
                           const char *source_id, bool invoice, char *err, size_t errlen)
{
        char ordernum[64], idbuf[32], descr[128], date[20], pmid[32];
        const char *pm;

        if (invoice) {
                json_object_set_new_nocheck(body, "Journal", json_string(r->journal));
                json_object_set_new_nocheck(body, "Type", json_integer(8020));
        }
        json_object_set_new_nocheck(body, "OrderedBy", json_string(acc));
        json_object_set_new_nocheck(body, "InvoiceTo", json_string(acc));
        if (field_str(order, "ordernumber_full")[0] != '\0')
                field_copy(ordernum, sizeof(ordernum), field_str(order, "ordernumber_full"));
        else if (field_id(order, "ordernumber", idbuf, sizeof(idbuf)))
                memcpy(ordernum, idbuf, sizeof(idbuf));
        else
                snprintf(ordernum, sizeof(ordernum), "%s", source_id);
        json_object_set_new_nocheck(body, "YourRef", json_string(ordernum));
        snprintf(descr, sizeof(descr), "Webshop order %s", ordernum);
        json_object_set_new_nocheck(body, "Description", json_string(descr));
        /* the calendar day in the administration's zone, not the UTC one (none: Exact's today) */
        if (field_str(order, "create_date")[0] != '\0') {
                if (dates_local_day(field_str(order, "create_date"), rules_time_zone(r), date, err,
                                    errlen) != 0)
                        return -1;
                json_object_set_new_nocheck(body, "OrderDate", json_string(date));
        }
        pm = rules_map_get(r->payment_conditions, field_str(order, "paymethod"));
        if (!pm && field_id(order, "paymethod_id", pmid, sizeof(pmid)))
                pm = rules_map_get(r->payment_conditions, pmid);
        if (!pm)
                pm = r->default_payment_condition;
        field_set_str(body, "PaymentCondition", pm);
        json_object_set_new_nocheck(body, "Currency", json_string("EUR"));
        return 0;
}

/* The line's stable key (docs/commands.md "line_keys"): row:<orderrow id>, or the charge's
 * kind, with :<n> from the second line of a kind on (a charge split over two rates). */
static json_t *line_key(const struct builder *b, size_t i)
{
        static const char *const names[] = { "row",         "shipping", "payment_costs",
                                             "extra_costs", "discount", "rounding" };
        const struct line *l = &b->lines[i];
        char key[64];
        int nth = 1;

        if (l->kind == LINE_GOODS) {
                snprintf(key, sizeof(key), "row:%s", l->row_id);
                for (size_t k = 0; k < i; k++)
                        nth += b->lines[k].kind == LINE_GOODS &&
                               !strcmp(b->lines[k].row_id, l->row_id);
        } else {
                snprintf(key, sizeof(key), "%s", names[l->kind]);
                for (size_t k = 0; k < i; k++)
                        nth += b->lines[k].kind == l->kind;
        }
        if (nth > 1) {
                size_t n = strlen(key);

                snprintf(key + n, sizeof(key) - n, ":%d", nth);
        }
        return json_string(key);
}

/* The document lines and, once per item code, the item definitions; adds up the totals. */
static void document_lines(json_t *lines, json_t *items, struct builder *b, const rules *r,
                           bool invoice, booking *out)
{
        for (size_t i = 0; i < b->n; i++) {
                struct line *l = &b->lines[i];
                bool seen = false;

                json_array_append_new(lines, line_json(l, r, invoice));
                json_array_append_new(out->line_keys, line_key(b, i));
                out->net_cents += l->net;
                out->vat_cents += money_line_vat(l->net, l->pct_bp);
                for (size_t k = 0; k < i && !seen; k++)
                        seen = !strcmp(b->lines[k].item, l->item);
                if (seen)
                        continue;
                json_array_append_new(items, l->kind == LINE_GOODS ? item_def(l, r, &out->decision)
                                                                   : service_item_def(l, r));
        }
        out->gross_cents = out->net_cents + out->vat_cents;
}

/* On the collective B2C relation the document names the consumer: the description ends in
 * the name and the billing address is the delivery address (with the name on line 3). */
static json_t *consumer_address(const json_t *customer, json_t *body, const json_t *acc)
{
        json_t *only = json_pack("{s:O?}", "deliveryaddress",
                                 json_object_get(customer, "billingaddress"));
        json_t *a = only ? booking_delivery_address(only, "") : NULL;
        char d[256], t[256];

        json_decref(only);
        snprintf(d, sizeof(d), "%s, %s", json_string_value(json_object_get(body, "Description")),
                 json_string_value(json_object_get(acc, "Name")));
        field_utf8_trunc(d, BOOKING_MAX_DESCRIPTION, t, sizeof(t));
        json_object_set_new_nocheck(body, "Description", json_string(t));
        return a;
}

/* The Exact document with its account and items, into out. */
static int build_document(const rules *r, const json_t *order, const json_t *customer,
                          struct builder *b, booking *out, char *err, size_t errlen)
{
        bool invoice = r->book_as == BOOK_AS_SALES_INVOICE;
        json_t *body = json_object();
        json_t *lines = json_array();
        json_t *items = json_array();
        char user_id[32] = "";
        const char *acc;
        bool collective;

        out->body = body;
        out->items = items;
        out->line_keys = json_array();
        if (!out->line_keys) {
                json_decref(lines);
                return -1;
        }
        field_id(json_object_get(order, "user"), "id", user_id, sizeof(user_id));
        out->account = booking_account_def(customer, user_id, err, errlen);
        if (!out->account || !body || !lines || !items ||
            booking_relation_apply(r->relations, customer, out->account, user_id, true, &collective,
                                   err, errlen) != 0) {
                json_decref(lines);
                return -1;
        }
        acc = json_string_value(json_object_get(out->account, "Code"));
        out->endpoint = invoice ? "salesinvoice/SalesInvoices" : "salesorder/SalesOrders";
        if (document_header(body, r, order, acc, out->source_id, invoice, err, errlen) != 0) {
                json_decref(lines);
                return -1;
        }
        {
                json_t *ship = booking_delivery_address(customer,
                                                        field_str(order, "deliver_method"));

                if (collective && !ship)
                        ship = consumer_address(customer, body, out->account);
                if (ship) {
                        /* the loader turns the address into its crm/Addresses GUID */
                        json_object_set_new_nocheck(body, "DeliverTo", json_string(acc));
                        json_object_set_new_nocheck(
                                body, invoice ? "DeliverToAddress" : "DeliveryAddress", ship);
                }
        }
        document_lines(lines, items, b, r, invoice, out);
        json_object_set_new_nocheck(body, invoice ? "SalesInvoiceLines" : "SalesOrderLines", lines);
        return 0;
}

/* The steps after the order's checks: goods, scenario, VAT codes, charges, balance, document. */
static int map_order(const rules *r, const json_t *order, const booking_ctx *ctx, struct builder *b,
                     booking *out, char *err, size_t errlen)
{
        struct order_amounts a = { 0 };
        const json_t *customer, *ship, *rows;
        const vat_decision *d = &out->decision;
        long long goods_net_shop;
        bool zero_rated;

        if (order_parts(order, &customer, &ship, &rows, err, errlen) != 0 ||
            read_amounts(order, &a, err, errlen) != 0 ||
            add_goods(b, r, rows, a.rows_incl, &goods_net_shop, err, errlen) != 0 ||
            decide_scenario(r, order, customer, ship, ctx, &a, goods_net_shop, out, err, errlen) !=
                    0 ||
            (ctx && vies_domestic_sale(r, ctx, rows, b, &a, out, err, errlen) != 0))
                return -1;
        zero_rated = d->scenario == VAT_SCENARIO_ICP || d->scenario == VAT_SCENARIO_EXPORT;
        if (check_shop_icp(order, rows, d, &a, field_str(customer, "btw"), err, errlen) != 0 ||
            (zero_rated && check_zero_rated_tax(d, &a, err, errlen) != 0) ||
            assign_vat_codes(b, r, d, err, errlen) != 0 ||
            add_charges(b, r, order, &a, zero_rated, err, errlen) != 0 ||
            balance(b, r, a.total, err, errlen) != 0)
                return -1;
        return build_document(r, order, customer, b, out, err, errlen);
}

long booking_tax_point(const rules *r, const json_t *order)
{
        char local[20], e[128];
        const char *d = local;
        int y, m, day;
        char c1, c2;

        /* the same calendar day as the document's OrderDate (administration's zone) */
        if (dates_local_day(field_str(order, "create_date"), rules_time_zone(r), local, e,
                            sizeof(e)) != 0)
                return 0;
        if (sscanf(d, "%4d%c%2d%c%2d", &y, &c1, &m, &c2, &day) != 5 || c1 != '-' || c2 != '-' ||
            y < 1000 || m < 1 || m > 12 || day < 1 || day > 31)
                return 0;
        return (long)y * 10000 + m * 100 + day;
}

int booking_from_order(const rules *r, const json_t *order, const booking_ctx *ctx, booking *out,
                       char *err, size_t errlen)
{
        struct builder b;
        int rc;

        builder_init(&b);
        memset(out, 0, sizeof(*out));
        rc = check_order(order, ctx, out, err, errlen);
        if (rc == 0)
                rc = map_order(r, order, ctx, &b, out, err, errlen);
        if (rc == 0)
                rc = booking_after_members(r, order, out, err, errlen);
        builder_free(&b);
        if (rc != 0)
                booking_clear(out);
        return rc;
}
