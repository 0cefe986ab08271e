/* booking: CCV order -> Exact sales order / invoice, priced the way Exact will book it.
 *
 * Money is held in integer cents, unit prices in micro-euros and quantities in thousandths, so
 * every amount Exact computes (per line: round2(qty * NetPrice), VAT round2(amount * pct / 100),
 * half away from zero) can be reproduced exactly here. */
#include "booking/booking.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

#define MAX_ITEM_CODE 30
#define MAX_DESCRIPTION 60

/* ---------------------------------------------------------------- arithmetic */

static long long div_round(i128 num, i128 den)
{
        int neg = (num < 0) != (den < 0);
        i128 a = num < 0 ? -num : num;
        i128 b = den < 0 ? -den : den;
        i128 q = (a + b / 2) / b;

        return (long long)(neg ? -q : q);
}

/* VAT Exact computes on a line amount: round2(amount * pct / 100). */
static long long line_vat(long long net_cents, int pct_bp)
{
        return div_round((i128)net_cents * pct_bp, 10000);
}

/* Net amount whose net + VAT equals gross, or the nearest one when no such amount exists. */
static long long net_from_gross(long long gross, int pct_bp)
{
        long long n0;
        static const int tries[] = {0, -1, 1, -2, 2};

        if (pct_bp == 0)
                return gross;
        n0 = div_round((i128)gross * 10000, 10000 + pct_bp);
        for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
                long long n = n0 + tries[i];

                if (n + line_vat(n, pct_bp) == gross)
                        return n;
        }
        return n0;
}

/* ---------------------------------------------------------------- JSON helpers */

/* Decimal from a JSON number or numeric string, scaled by 10^6. Returns 1 when absent (null,
 * missing, ""), 0 when parsed, -1 when malformed. */
static int json_micro(const json_t *v, long long *out)
{
        *out = 0;
        if (v == NULL || json_is_null(v))
                return 1;
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                if (i > 1000000000000LL || i < -1000000000000LL)
                        return -1;
                *out = (long long)i * 1000000;
                return 0;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);

                if (!isfinite(d) || fabs(d) > 1e12)
                        return -1;
                *out = llround(d * 1e6);
                return 0;
        }
        if (!json_is_string(v))
                return -1;
        const char *s = json_string_value(v);
        int sign = 1;
        long long whole = 0, frac = 0;
        int fdigits = 0;
        bool any = false;

        while (isspace((unsigned char)*s))
                s++;
        if (*s == '\0')
                return 1;
        if (*s == '-' || *s == '+') {
                sign = *s == '-' ? -1 : 1;
                s++;
        }
        for (; isdigit((unsigned char)*s); s++) {
                if (whole > 1000000000000LL)
                        return -1;
                whole = whole * 10 + (*s - '0');
                any = true;
        }
        if (*s == '.' || *s == ',') {
                s++;
                for (; isdigit((unsigned char)*s); s++) {
                        any = true;
                        if (fdigits < 7) {
                                frac = frac * 10 + (*s - '0');
                                fdigits++;
                        }
                }
        }
        while (isspace((unsigned char)*s))
                s++;
        if (!any || *s != '\0')
                return -1;
        while (fdigits < 7) {
                frac *= 10;
                fdigits++;
        }
        *out = sign * (whole * 1000000 + (frac + 5) / 10);
        return 0;
}

static long long micro_to_cents(long long micro)
{
        return div_round(micro, 10000);
}

/* Text member: "" when absent, null or not a string. */
static const char *jstr(const json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? s : "";
}

/* snprintf(dst, len, "%s", src) without the format machinery (hot: every line copies its
 * item code and description). */
static void copy_str(char *dst, size_t len, const char *src)
{
        size_t n = strnlen(src, len - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Id member (number or string) into buf; returns buf, or NULL when absent or empty. */
static const char *jid(const json_t *obj, const char *key, char *buf, size_t len)
{
        json_t *v = json_object_get(obj, key);

        if (json_is_integer(v)) {
                snprintf(buf, len, "%lld", (long long)json_integer_value(v));
                return buf;
        }
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
                snprintf(buf, len, "%.0f", json_real_value(v));
                return buf;
        }
        if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < len) {
                copy_str(buf, len, json_string_value(v));
                return buf;
        }
        return NULL;
}

/* Boolean member, also "true"/"1" strings; def when absent. */
static bool jbool(const json_t *obj, const char *key, bool def)
{
        json_t *v = json_object_get(obj, key);

        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v))
                return json_integer_value(v) != 0;
        if (json_is_string(v)) {
                const char *s = json_string_value(v);

                if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
                        return true;
                if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
                        return false;
        }
        return def;
}

/* Copies at most max characters of s (UTF-8 aware, never splitting a sequence). */
static void utf8_trunc(const char *s, size_t max, char *out, size_t outlen)
{
        size_t chars = 0, i = 0;

        while (s[i] != '\0' && chars < max && i + 4 < outlen) {
                size_t n = 1;
                unsigned char c = (unsigned char)s[i];

                if (c >= 0xf0)
                        n = 4;
                else if (c >= 0xe0)
                        n = 3;
                else if (c >= 0xc0)
                        n = 2;
                for (size_t k = 1; k < n; k++) {
                        if (s[i + k] == '\0')
                                n = k;
                }
                i += n;
                chars++;
        }
        memcpy(out, s, i);
        out[i] = '\0';
}

static void set_str(json_t *obj, const char *key, const char *val)
{
        if (val != NULL && val[0] != '\0')
                json_object_set_new_nocheck(obj, key, json_string(val));
}

static json_t *money(long long cents)
{
        return json_real((double)cents / 100.0);
}

static json_t *micro_num(long long micro)
{
        return json_real((double)micro / 1e6);
}

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

        if (user_id != NULL && all_digits(user_id) && strlen(user_id) <= 17) {
                const char *p = user_id;

                while (*p == '0' && p[1] != '\0')
                        p++;
                copy_str(out, 24, p);
                return 0;
        }
        if (user_id != NULL && user_id[0] != '\0') {
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
        if (k == 0 || strchr(trimmed, '@') == NULL) {
                snprintf(err, errlen, "guest order without an e-mail address: no stable account "
                         "code");
                return -1;
        }
        snprintf(out, 24, "9%017llu",
                 (unsigned long long)(fnv1a64(trimmed) % 100000000000000000ULL));
        return 0;
}

static void address_line(const json_t *addr, char *out, size_t len)
{
        const char *l1 = jstr(addr, "address_line_1");
        char num[32] = "";

        if (l1[0] != '\0') {
                copy_str(out, len, l1);
                return;
        }
        jid(addr, "housenumber", num, sizeof(num));
        snprintf(out, len, "%s%s%s%s", jstr(addr, "street"), num[0] ? " " : "", num,
                 jstr(addr, "housenumber_suffix"));
}

static void person_name(const json_t *addr, char *out, size_t len)
{
        const char *full = jstr(addr, "full_name");
        const char *first = jstr(addr, "first_name");
        const char *last = jstr(addr, "last_name");

        if (full[0] != '\0')
                copy_str(out, len, full);
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
        if (account_code(user_id, jstr(info, "email"), code, err, errlen) != 0)
                return NULL;
        person_name(bill, name, sizeof(name));
        const char *company = jstr(bill, "company");

        if (company[0] == '\0' && name[0] == '\0') {
                snprintf(err, errlen, "customer has neither a company nor a name");
                return NULL;
        }
        acc = json_object();
        json_object_set_new_nocheck(acc, "Code", json_string(code));
        utf8_trunc(company[0] ? company : name, 50, tmp, sizeof(tmp));
        json_object_set_new_nocheck(acc, "Name", json_string(tmp));
        json_object_set_new_nocheck(acc, "Status", json_string("C"));
        address_line(bill, line, sizeof(line));
        set_str(acc, "AddressLine1", line);
        set_str(acc, "AddressLine2", jstr(bill, "address_line_2"));
        set_str(acc, "Postcode", jstr(bill, "zipcode"));
        set_str(acc, "City", jstr(bill, "city"));
        set_str(acc, "State", jstr(bill, "province"));
        {
                char cc[3] = "";
                const char *c = jstr(bill, "country_code");

                if (strlen(c) == 2) {
                        cc[0] = (char)toupper((unsigned char)c[0]);
                        cc[1] = (char)toupper((unsigned char)c[1]);
                }
                set_str(acc, "Country", cc);
        }
        set_str(acc, "Email", jstr(info, "email"));
        {
                const char *phone = jstr(bill, "telephone");

                set_str(acc, "Phone", phone[0] ? phone : jstr(bill, "mobile"));
        }
        if (vat_number_check(jstr(info, "btw"), vat, sizeof(vat)) != VAT_NUMBER_EMPTY)
                set_str(acc, "VATNumber", vat);
        set_str(acc, "ChamberOfCommerce", jstr(info, "kvk"));
        set_str(acc, "Website", jstr(info, "website"));
        contact = json_object();
        set_str(contact, "FirstName", jstr(bill, "first_name"));
        set_str(contact, "LastName", jstr(bill, "last_name"));
        if (json_object_size(contact) == 0 && name[0] != '\0')
                set_str(contact, "LastName", name);
        set_str(contact, "Initials", jstr(bill, "initials"));
        set_str(contact, "Email", jstr(info, "email"));
        set_str(contact, "Phone", jstr(bill, "telephone"));
        set_str(contact, "Mobile", jstr(bill, "mobile"));
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

static const char *const kind_gl_key[] = {"goods", "shipping", "payment_costs", "extra_costs",
                                          "discount", "rounding"};

struct line {
        enum line_kind kind;
        const char *item;         /* item code (points into the order or the rules) */
        char item_buf[MAX_ITEM_CODE + 8];
        char desc[256];
        long long qty_milli;
        long long net;            /* cents: round2(qty * NetPrice) as Exact will compute it */
        long long target_gross;   /* what the shop charged for this line, incl. VAT */
        int pct_bp;
        const char *code;         /* VAT code */
        bool adjusted;
};

struct group {
        int pct_bp;
        const char *code;
        long long weight;         /* goods net at this rate (for pro rata splits) */
};

/* Most orders fit in the builder's own line array; a fresh heap block per order costs more
 * than the booking itself (it makes malloc consolidate its free lists). */
#define BUILDER_INLINE_LINES 24

struct builder {
        struct line *lines;       /* inline_lines, or a heap copy once that is full */
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

                if (l == NULL)
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
        return l->net + line_vat(l->net, l->pct_bp);
}

/* NetPrice (micro-euros) such that round2(qty * NetPrice) == net; falls back to quantity 1
 * when no 6-decimal unit price reproduces the amount. */
static long long unit_price_micro(struct line *l)
{
        if (l->qty_milli != 1000) {
                long long np = div_round((i128)l->net * 10000 * 1000, l->qty_milli);

                if (div_round((i128)np * l->qty_milli, 10000000) == l->net)
                        return np;
                l->qty_milli = 1000;
        }
        return l->net * 10000;
}

/* Item code of an order row: variant SKU, variant number, product number, product id. */
static const char *row_item_code(const json_t *row, const struct rules *r, char *buf, size_t len)
{
        static const char *const keys[] = {"sub_sku_number", "sub_product_number",
                                           "product_number"};
        char id[32];

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const char *s = jstr(row, keys[i]);

                if (s[0] != '\0') {
                        copy_str(buf, len, s);
                        return strlen(s) < len ? buf : NULL;
                }
        }
        if (jid(row, "product_id", id, sizeof(id)) != NULL) {
                snprintf(buf, len, "P%s", id);
                return buf;
        }
        if (r->custom_item != NULL) {
                copy_str(buf, len, r->custom_item);
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
                i128 p = (i128)a * w;

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
static int add_charge(struct builder *b, enum line_kind kind, const char *item,
                      const char *desc, long long amount, bool incl, int shop_pct_bp,
                      bool zero_rated, bool keep_paid, char *err, size_t errlen,
                      const char *what)
{
        long long parts[16];

        if (amount == 0)
                return 0;
        if (item == NULL) {
                snprintf(err, errlen, "order has %s but no %s is mapped in the rules", what,
                         kind == LINE_SHIPPING ? "shipping_item" :
                         kind == LINE_DISCOUNT ? "discount_item" : "payment_cost_item");
                return -1;
        }
        split_pro_rata(b, amount, parts);
        for (size_t i = 0; i < b->n_groups; i++) {
                struct line *l;
                int pct = b->groups[i].pct_bp;

                if (parts[i] == 0)
                        continue;
                l = add_line(b);
                if (l == NULL) {
                        snprintf(err, errlen, "out of memory");
                        return -1;
                }
                l->kind = kind;
                l->item = item;
                l->pct_bp = pct;
                l->code = b->groups[i].code;
                copy_str(l->desc, sizeof(l->desc), desc);
                if (incl) {
                        l->target_gross = parts[i];
                        l->net = net_from_gross(parts[i], pct);
                } else if (zero_rated || shop_pct_bp == pct || shop_pct_bp < 0 || !keep_paid) {
                        /* excl. VAT: the net is split, each part taxed at its goods' rate */
                        l->net = parts[i];
                        l->target_gross = line_gross(l);
                } else {
                        /* the shop taxed the whole charge at its own rate: keep what the
                         * customer paid and re-split it at the goods' rates */
                        l->target_gross = parts[i] + line_vat(parts[i], shop_pct_bp);
                        l->net = net_from_gross(l->target_gross, pct);
                }
        }
        return 0;
}

/* Closes the gap between Exact's gross and the shop's total: first by moving single lines a
 * cent, then with a rounding line. Returns 0, or -1 with err. */
static int balance(struct builder *b, const struct rules *r, long long total, char *err,
                   size_t errlen)
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
        if (r->rounding_item == NULL) {
                snprintf(err, errlen, "a rounding difference of %.2f remains and no "
                         "rounding_item is mapped in the rules", (double)diff / 100.0);
                return -1;
        }
        for (size_t g = 0; g < b->n_groups; g++) {
                int pct = b->groups[g].pct_bp;
                long long n = net_from_gross(diff, pct);

                if (n + line_vat(n, pct) != diff)
                        continue;
                struct line *l = add_line(b);

                if (l == NULL)
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
        snprintf(err, errlen, "a rounding difference of %.2f cannot be booked at the order's "
                 "VAT rates", (double)diff / 100.0);
        return -1;
}

/* ---------------------------------------------------------------- the order */

struct order_amounts {
        long long total, shipping, payment, extra, discount, tax;
        bool has_tax;
};

static int read_amount(const json_t *order, const char *key, long long *cents, bool *present,
                       char *err, size_t errlen)
{
        long long micro;
        int rc = json_micro(json_object_get(order, key), &micro);

        if (rc < 0) {
                snprintf(err, errlen, "malformed amount in \"%s\"", key);
                return -1;
        }
        if (present != NULL)
                *present = rc == 0;
        *cents = micro_to_cents(micro);
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

        if (json_is_object(del) && jstr(del, "country_code")[0] != '\0')
                return del;
        return json_object_get(customer, "billingaddress");
}

static json_t *item_def(const struct line *l, const struct rules *r, const struct vat_decision *d)
{
        json_t *it = json_object();
        char desc[256];

        json_object_set_new_nocheck(it, "Code", json_string(l->item));
        utf8_trunc(l->desc[0] ? l->desc : l->item, MAX_DESCRIPTION, desc, sizeof(desc));
        json_object_set_new_nocheck(it, "Description", json_string(desc));
        json_object_set_new_nocheck(it, "IsSalesItem", json_true());
        set_str(it, "ItemGroup", r->default_item_group);
        /* the item's default sales VAT code is the home one for its rate, when mapped */
        {
                struct vat_decision home;
                char e[8];

                memset(&home, 0, sizeof(home));
                home.scenario = VAT_SCENARIO_DOMESTIC;
                copy_str(home.rate_country, sizeof(home.rate_country), r->home_country);
                const char *code = vat_engine_code(r, &home, l->pct_bp, e, sizeof(e));

                set_str(it, "SalesVatCode", code);
        }
        (void)d;
        return it;
}

/* A shop-level charge (shipping, payment costs, discount, rounding) as an item, so a command
 * stays self-contained: a division that has never seen the mapped code gets it created. It
 * carries no default VAT code, since each line brings the VAT of the goods it belongs to. */
static json_t *service_item_def(const struct line *l, const struct rules *r)
{
        static const char *const names[] = { "Artikel", "Verzendkosten", "Betaalkosten",
                                             "Overige kosten", "Korting", "Afronding" };
        json_t *it = json_object();

        json_object_set_new_nocheck(it, "Code", json_string(l->item));
        json_object_set_new_nocheck(it, "Description", json_string(names[l->kind]));
        json_object_set_new_nocheck(it, "IsSalesItem", json_true());
        set_str(it, "ItemGroup", r->default_item_group);
        return it;
}

static json_t *line_json(struct line *l, const struct rules *r, bool invoice)
{
        json_t *j = json_object();
        long long np = unit_price_micro(l);
        char desc[256];
        const char *gl;

        json_object_set_new_nocheck(j, "Item", json_string(l->item));
        utf8_trunc(l->desc, MAX_DESCRIPTION, desc, sizeof(desc));
        json_object_set_new_nocheck(j, "Description", json_string(desc));
        if (l->qty_milli % 1000 == 0)
                json_object_set_new_nocheck(j, "Quantity", json_integer(l->qty_milli / 1000));
        else
                json_object_set_new_nocheck(j, "Quantity",
                                            json_real((double)l->qty_milli / 1000.0));
        json_object_set_new_nocheck(j, "UnitPrice", micro_num(np));
        json_object_set_new_nocheck(j, "NetPrice", micro_num(np));
        json_object_set_new_nocheck(j, "VATCode", json_string(l->code));
        json_object_set_new_nocheck(j, "VATPercentage", json_real((double)l->pct_bp / 10000.0));
        gl = rules_map_get(r->gl_accounts, kind_gl_key[l->kind]);
        if (invoice && gl != NULL)
                json_object_set_new_nocheck(j, "GLAccount", json_string(gl));
        return j;
}

void booking_clear(struct booking *b)
{
        json_decref(b->body);
        json_decref(b->account);
        json_decref(b->items);
        b->body = b->account = b->items = NULL;
}

static int check_shop_icp(const json_t *order, const json_t *rows, const struct vat_decision *d,
                          const struct order_amounts *a, const char *raw_vat, char *err,
                          size_t errlen)
{
        bool icp_flag = jbool(order, "is_intra_community_order", false);
        bool all_zero = true, any_amount = false;

        if (d->scenario == VAT_SCENARIO_ICP || d->scenario == VAT_SCENARIO_EXPORT)
                return 0;
        for (size_t i = 0; i < json_array_size(rows); i++) {
                const json_t *row = json_array_get(rows, i);
                long long tax, tp;

                json_micro(json_object_get(row, "tax"), &tax);
                json_micro(json_object_get(row, "total_price"), &tp);
                if (tax != 0)
                        all_zero = false;
                if (tp != 0)
                        any_amount = true;
        }
        /* a VAT number on a 0% order means the shop applied the ICP exemption */
        if (!icp_flag && !(raw_vat[0] != '\0' && all_zero && any_amount &&
                           a->has_tax && a->tax == 0))
                return 0;
        if (d->vat_status != VAT_NUMBER_VALID && d->vat_status != VAT_NUMBER_EMPTY)
                snprintf(err, errlen, "0%% intra-community VAT charged but VAT number \"%s\" "
                         "fails validation (%s)", raw_vat, vat_number_status_name(d->vat_status));
        else if (d->vat_status == VAT_NUMBER_EMPTY)
                snprintf(err, errlen, "0%% intra-community VAT charged without a customer VAT "
                         "number");
        else if (strcmp(d->dest_country, d->rate_country) == 0 &&
                 d->scenario == VAT_SCENARIO_DOMESTIC && !d->n_warnings)
                snprintf(err, errlen, "0%% intra-community VAT charged on a delivery within %s",
                         d->rate_country);
        else if (!d->vat_number_usable)
                snprintf(err, errlen, "0%% intra-community VAT charged but VAT number %s cannot "
                         "be used for an intra-community supply (%s)", d->vat_number,
                         d->n_warnings ? "home-country number" : "not confirmed by VIES");
        else
                snprintf(err, errlen, "0%% intra-community VAT charged on a %s sale",
                         vat_scenario_name(d->scenario));
        return -1;
}

int booking_from_order(const struct rules *r, const json_t *order, const struct booking_ctx *ctx,
                       struct booking *out, char *err, size_t errlen)
{
        struct builder b;
        struct order_amounts a = {0};
        const json_t *customer, *ship, *rows;
        char user_id[32] = "", ordernum[64], idbuf[32];
        bool rows_incl, ship_incl;
        long long ship_pct_micro = 0;
        int ship_pct;
        int rc = -1;

        builder_init(&b);
        memset(out, 0, sizeof(*out));
        if (!json_is_object(order)) {
                snprintf(err, errlen, "order is not a JSON object");
                return -1;
        }
        if (jid(order, "id", out->source_id, sizeof(out->source_id)) == NULL) {
                snprintf(err, errlen, "order has no id");
                return -1;
        }
        if (!jbool(order, "is_completed", false) ||
            json_is_null(json_object_get(order, "status"))) {
                snprintf(err, errlen, "order is not completed");
                return -1;
        }
        if (json_is_integer(json_object_get(order, "status")) &&
            json_integer_value(json_object_get(order, "status")) == 8) {
                snprintf(err, errlen, "order is cancelled (status 8)");
                return -1;
        }
        if (jbool(order, "is_platform_sale", false)) {
                snprintf(err, errlen, "platform sale (marketplace as deemed supplier) is not "
                         "supported");
                return -1;
        }
        {
                const char *cur = jstr(order, "currency");

                if (cur[0] != '\0' && strcmp(cur, "EUR") != 0) {
                        snprintf(err, errlen, "currency %s is not supported (EUR only)", cur);
                        return -1;
                }
        }
        customer = json_object_get(order, "customer");
        if (!json_is_object(customer) || !json_is_object(json_object_get(customer,
                                                                         "billingaddress"))) {
                snprintf(err, errlen, "missing address: order has no customer billing address");
                return -1;
        }
        ship = ship_address(customer);
        if (jstr(ship, "country_code")[0] == '\0') {
                snprintf(err, errlen, "missing address: no ship-to country");
                return -1;
        }
        rows = order_rows(order);
        if (rows == NULL || json_array_size(rows) == 0) {
                snprintf(err, errlen, "order has no rows (\"orderrows\" missing or empty)");
                return -1;
        }
        bool has_total;

        if (read_amount(order, "total_price", &a.total, &has_total, err, errlen) ||
            read_amount(order, "total_shipping", &a.shipping, NULL, err, errlen) ||
            read_amount(order, "paymethod_costs", &a.payment, NULL, err, errlen) ||
            read_amount(order, "extra_costs", &a.extra, NULL, err, errlen) ||
            read_amount(order, "total_tax", &a.tax, &a.has_tax, err, errlen))
                return -1;
        if (!has_total) {
                snprintf(err, errlen, "order has no total_price");
                return -1;
        }
        {
                long long d1, d2;

                if (read_amount(order, "total_discounts", &d1, NULL, err, errlen) ||
                    read_amount(order, "credit_point_discount", &d2, NULL, err, errlen))
                        return -1;
                a.discount = d1 + d2;
        }
        if (a.shipping < 0 || a.payment < 0 || a.discount < 0) {
                snprintf(err, errlen, "negative shipping, payment costs or discount");
                return -1;
        }
        rows_incl = jbool(order, "order_row_taxes_included", jbool(order, "taxes_included", true));
        ship_incl = jbool(order, "shipping_taxes_included", rows_incl);
        if (json_micro(json_object_get(order, "shipping_tax_percentage"), &ship_pct_micro) < 0) {
                snprintf(err, errlen, "malformed shipping_tax_percentage");
                return -1;
        }
        ship_pct = (int)div_round(ship_pct_micro, 10000);

        /* goods rows: amounts at the shop's rates, before any scenario is known */
        long long goods_net_shop = 0;

        for (size_t i = 0; i < json_array_size(rows); i++) {
                const json_t *row = json_array_get(rows, i);
                long long count, tax, tp, price, disc;
                struct line *l;
                int rc_tp;

                if (!json_is_object(row)) {
                        snprintf(err, errlen, "order row %zu is not an object", i + 1);
                        goto out;
                }
                if (json_micro(json_object_get(row, "count"), &count) != 0 ||
                    json_micro(json_object_get(row, "tax"), &tax) < 0 ||
                    json_micro(json_object_get(row, "price"), &price) < 0 ||
                    json_micro(json_object_get(row, "discount"), &disc) < 0 ||
                    (rc_tp = json_micro(json_object_get(row, "total_price"), &tp)) < 0) {
                        snprintf(err, errlen, "order row %zu: malformed count, price or tax",
                                 i + 1);
                        goto out;
                }
                if (count < 0) {
                        snprintf(err, errlen, "order row %zu: negative quantity", i + 1);
                        goto out;
                }
                if (count == 0)
                        continue;
                if (tax < 0 || tax >= 100000000 || tax % 10000 != 0) {
                        snprintf(err, errlen, "order row %zu: bad VAT percentage", i + 1);
                        goto out;
                }
                if (rc_tp == 1)
                        tp = div_round((i128)count * (price - disc), 1000000);
                l = add_line(&b);
                if (l == NULL) {
                        snprintf(err, errlen, "out of memory");
                        goto out;
                }
                l->kind = LINE_GOODS;
                l->qty_milli = div_round(count, 1000);
                if (l->qty_milli <= 0) {
                        snprintf(err, errlen, "order row %zu: quantity below 0.001", i + 1);
                        goto out;
                }
                l->pct_bp = (int)(tax / 10000);
                l->item = row_item_code(row, r, l->item_buf, sizeof(l->item_buf));
                if (l->item == NULL) {
                        snprintf(err, errlen, "order row %zu: no product number or id (or it is "
                                 "longer than %d characters) and no custom_item mapped", i + 1,
                                 MAX_ITEM_CODE);
                        goto out;
                }
                copy_str(l->desc, sizeof(l->desc), jstr(row, "product_name"));
                long long amount = micro_to_cents(tp);

                if (rows_incl) {
                        l->target_gross = amount;
                        l->net = net_from_gross(amount, l->pct_bp);
                } else {
                        l->net = amount;
                        l->target_gross = line_gross(l);
                }
                goods_net_shop += l->net;
        }
        if (b.n == 0) {
                snprintf(err, errlen, "order has no rows with a quantity");
                goto out;
        }

        /* the scenario */
        {
                struct vat_input in = {0};
                const char *method = jstr(order, "deliver_method");

                in.rules = r;
                in.ship_country = jstr(ship, "country_code");
                in.ship_postcode = jstr(ship, "zipcode");
                in.collected_at_home = strcasecmp(method, "pickup") == 0;
                in.vat_number = jstr(customer, "btw");
                in.vies = ctx ? ctx->vies : VIES_NOT_CHECKED;
                in.order_net_cents = a.has_tax ? a.total - a.tax : goods_net_shop;
                in.oss_ytd_cents = ctx ? ctx->oss_ytd_cents : 0;
                in.oss_prev_year_over = (ctx && ctx->oss_prev_year_over) || r->oss_prev_year_over;
                if (vat_engine_decide(&in, &out->decision, err, errlen) != 0)
                        goto out;
                if (out->decision.counts_for_threshold)
                        out->threshold_net_cents = in.order_net_cents;
        }
        const struct vat_decision *d = &out->decision;
        bool zero_rated = d->scenario == VAT_SCENARIO_ICP || d->scenario == VAT_SCENARIO_EXPORT;

        if (check_shop_icp(order, rows, d, &a, jstr(customer, "btw"), err, errlen) != 0)
                goto out;
        if (zero_rated && a.has_tax && a.tax != 0) {
                if (d->scenario == VAT_SCENARIO_EXPORT)
                        snprintf(err, errlen, "VAT charged (%.2f) on an export to %s%s%s%s: 0%% "
                                 "is due", (double)a.tax / 100.0, d->territory.iso,
                                 d->territory.special ? " (" : "",
                                 d->territory.special ? d->territory.special : "",
                                 d->territory.special ? ")" : "");
                else
                        snprintf(err, errlen, "VAT charged (%.2f) on an intra-community supply "
                                 "to %s (VAT number %s): 0%% is due", (double)a.tax / 100.0,
                                 d->dest_country, d->vat_number);
                goto out;
        }
        /* VAT codes per rate group */
        for (size_t i = 0; i < b.n; i++) {
                struct line *l = &b.lines[i];
                struct group *g = group_for(&b, l->pct_bp);

                if (g == NULL) {
                        snprintf(err, errlen, "too many different VAT rates in one order");
                        goto out;
                }
                if (g->code == NULL) {
                        g->code = vat_engine_code(r, d, l->pct_bp, err, errlen);
                        if (g->code == NULL)
                                goto out;
                }
                l->code = g->code;
                g->weight += l->net;
        }
        /* ancillary charges follow the goods, split pro rata over their rates; charges
         * priced excl. VAT are first split by net (the legal method), and only when the
         * shop's total shows it taxed them at its own rate, by what the customer paid */
        size_t n_goods = b.n;

        for (int attempt = 0; attempt < 2; attempt++) {
                bool keep_paid = attempt == 1;
                long long shop_gross = 0, exact_gross = 0;
                long long tolerance;

                b.n = n_goods;
                if (add_charge(&b, LINE_SHIPPING, r->shipping_item, "Verzendkosten", a.shipping,
                               ship_incl, ship_pct, zero_rated, keep_paid, err, errlen,
                               "shipping costs") ||
                    add_charge(&b, LINE_PAYMENT, r->payment_cost_item, "Betaalkosten",
                               a.payment, rows_incl, -1, zero_rated, keep_paid, err, errlen,
                               "payment costs"))
                        goto out;
                if (a.extra > 0 &&
                    add_charge(&b, LINE_EXTRA, r->payment_cost_item,
                               jstr(order, "extra_costs_description")[0] ?
                               jstr(order, "extra_costs_description") : "Extra kosten",
                               a.extra, rows_incl, -1, zero_rated, keep_paid, err, errlen,
                               "extra costs"))
                        goto out;
                if (add_charge(&b, LINE_DISCOUNT, r->discount_item, "Korting", -a.discount +
                               (a.extra < 0 ? a.extra : 0), rows_incl, -1, zero_rated,
                               keep_paid, err, errlen, "a discount"))
                        goto out;
                tolerance = (long long)b.n + 2;
                for (size_t i = 0; i < b.n; i++) {
                        shop_gross += b.lines[i].target_gross;
                        exact_gross += line_gross(&b.lines[i]);
                }
                if (llabs(a.total - shop_gross) <= tolerance &&
                    llabs(a.total - exact_gross) <= tolerance)
                        break;
                if (attempt == 1 || ship_incl || a.shipping == 0 || b.n_groups < 2) {
                        snprintf(err, errlen, "order totals do not add up: rows, shipping, "
                                 "costs and discounts come to %.2f incl. VAT, total_price is %.2f",
                                 (double)shop_gross / 100.0, (double)a.total / 100.0);
                        goto out;
                }
        }
        if (balance(&b, r, a.total, err, errlen) != 0)
                goto out;

        /* the document */
        {
                bool invoice = r->book_as == BOOK_AS_SALES_INVOICE;
                json_t *body = json_object();
                json_t *lines = json_array();
                json_t *items = json_array();
                const char *pm;
                char pmid[32];
                char date[32];

                out->body = body;
                out->items = items;
                jid(json_object_get(order, "user"), "id", user_id, sizeof(user_id));
                out->account = booking_account_def(customer, user_id, err, errlen);
                if (out->account == NULL || body == NULL || lines == NULL || items == NULL) {
                        json_decref(lines);
                        goto out;
                }
                const char *acc = json_string_value(json_object_get(out->account, "Code"));

                out->endpoint = invoice ? "salesinvoice/SalesInvoices" : "salesorder/SalesOrders";
                if (invoice) {
                        json_object_set_new_nocheck(body, "Journal", json_string(r->journal));
                        json_object_set_new_nocheck(body, "Type", json_integer(8020));
                }
                json_object_set_new_nocheck(body, "OrderedBy", json_string(acc));
                json_object_set_new_nocheck(body, "InvoiceTo", json_string(acc));
                if (jstr(order, "ordernumber_full")[0] != '\0')
                        copy_str(ordernum, sizeof(ordernum), jstr(order, "ordernumber_full"));
                else if (jid(order, "ordernumber", idbuf, sizeof(idbuf)) != NULL)
                        copy_str(ordernum, sizeof(ordernum), idbuf);
                else
                        copy_str(ordernum, sizeof(ordernum), out->source_id);
                json_object_set_new_nocheck(body, "YourRef", json_string(ordernum));
                {
                        char descr[128];

                        snprintf(descr, sizeof(descr), "Webshop order %s", ordernum);
                        json_object_set_new_nocheck(body, "Description", json_string(descr));
                }
                copy_str(date, sizeof(date), jstr(order, "create_date"));
                if (strlen(date) >= 19) {
                        date[19] = '\0';
                        json_object_set_new_nocheck(body, "OrderDate", json_string(date));
                }
                pm = rules_map_get(r->payment_conditions, jstr(order, "paymethod"));
                if (pm == NULL && jid(order, "paymethod_id", pmid, sizeof(pmid)) != NULL)
                        pm = rules_map_get(r->payment_conditions, pmid);
                if (pm == NULL)
                        pm = r->default_payment_condition;
                set_str(body, "PaymentCondition", pm);
                json_object_set_new_nocheck(body, "Currency", json_string("EUR"));
                for (size_t i = 0; i < b.n; i++) {
                        struct line *l = &b.lines[i];

                        json_array_append_new(lines, line_json(l, r, invoice));
                        out->net_cents += l->net;
                        out->vat_cents += line_vat(l->net, l->pct_bp);
                        bool seen = false;

                        for (size_t k = 0; k < i && !seen; k++)
                                seen = strcmp(b.lines[k].item, l->item) == 0;
                        if (seen)
                                continue;
                        json_array_append_new(items, l->kind == LINE_GOODS
                                                             ? item_def(l, r, d)
                                                             : service_item_def(l, r));
                }
                json_object_set_new_nocheck(body, invoice ? "SalesInvoiceLines" : "SalesOrderLines",
                                    lines);
                out->gross_cents = out->net_cents + out->vat_cents;
        }
        rc = 0;
out:
        builder_free(&b);
        if (rc != 0)
                booking_clear(out);
        return rc;
}

/* ---------------------------------------------------------------- output */

static json_t *totals_json(const struct booking *b)
{
        json_t *t = json_object();

        json_object_set_new_nocheck(t, "net", money(b->net_cents));
        json_object_set_new_nocheck(t, "vat", money(b->vat_cents));
        json_object_set_new_nocheck(t, "gross", money(b->gross_cents));
        return t;
}

static void add_warnings(json_t *obj, const struct vat_decision *d)
{
        if (d->n_warnings == 0)
                return;
        json_t *w = json_array();

        for (int i = 0; i < d->n_warnings; i++)
                json_array_append_new(w, json_string(d->warnings[i]));
        json_object_set_new_nocheck(obj, "warnings", w);
}

json_t *booking_result_json(const struct booking *b)
{
        json_t *o = json_object();

        json_object_set_new_nocheck(o, "source_id", json_string(b->source_id));
        json_object_set_new_nocheck(o, "scenario",
                                    json_string(vat_scenario_name(b->decision.scenario)));
        json_object_set_new_nocheck(o, "endpoint", json_string(b->endpoint));
        json_object_set_nocheck(o, "body", b->body);
        json_object_set_new_nocheck(o, "totals", totals_json(b));
        add_warnings(o, &b->decision);
        return o;
}

/* ---------------------------------------------------------------- serialising */

/* json_dumps spends most of its time outside the text it writes: a hash table of visited
 * containers (keyed by "%p" strings) to catch cycles, a callback per token and snprintf per
 * number. The writer below produces the very same bytes as json_dumps(j, DUMP_FLAGS) by a
 * direct walk. It takes the easy cases itself and gives the rest back to jansson: a real
 * that is not a short decimal is formatted by jansson, and anything it cannot vouch for
 * (deep nesting, which is also how a cycle shows, or invalid UTF-8) makes the caller
 * redo the whole value with json_dumps, so odd input still gets jansson's answer. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define DUMP_MAX_DEPTH 64

struct outbuf {
        char *data;
        size_t len, cap;
        bool failed;            /* out of memory */
};

static void out_grow(struct outbuf *o, size_t need)
{
        size_t cap = o->cap ? o->cap : 1024;
        char *p;

        while (cap - o->len < need)
                cap *= 2;
        p = realloc(o->data, cap);
        if (p == NULL) {
                o->failed = true;
                return;
        }
        o->data = p;
        o->cap = cap;
}

static void out_put(struct outbuf *o, const char *s, size_t n)
{
        if (o->cap - o->len < n + 1) {
                out_grow(o, n + 1);
                if (o->failed)
                        return;
        }
        memcpy(o->data + o->len, s, n);
        o->len += n;
}

static void out_byte(struct outbuf *o, char c)
{
        out_put(o, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid, as for jansson). */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
        unsigned int c = s[0], cp;
        size_t n;

        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (left < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Bytes a JSON string carries as they are and that need no UTF-8 check: printable ASCII
 * except the quote and the backslash. */
static const bool plain_ascii[256] = {
        [0x20 ... 0x21] = true,         /* 0x22 is '"' */
        [0x23 ... 0x5b] = true,         /* 0x5c is '\\' */
        [0x5d ... 0x7f] = true,
};

/* jansson's two-character escapes (by the byte escaped); other control characters are
 * written as \u00XX. */
static const char short_escape[0x80] = {
        ['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
        ['\t'] = 't',
};

/* A JSON string the way jansson writes it without JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH.
 * Returns -1 on invalid UTF-8 (jansson refuses to dump those). */
static int out_string(struct outbuf *o, const char *str, size_t len)
{
        static const char hex[] = "0123456789ABCDEF";
        const unsigned char *s = (const unsigned char *)str;
        size_t run = 0, i = 0;

        out_byte(o, '"');
        while (i < len) {
                unsigned char c = s[i];

                if (plain_ascii[c]) {
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        size_t n = utf8_seq_len(s + i, len - i);

                        if (n == 0)
                                return -1;
                        i += n;
                        continue;
                }
                out_put(o, str + run, i - run);
                if (short_escape[c] != 0) {
                        char e[2] = {'\\', short_escape[c]};

                        out_put(o, e, sizeof(e));
                } else {
                        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

                        out_put(o, u, sizeof(u));
                }
                run = ++i;
        }
        out_put(o, str + run, len - run);
        out_byte(o, '"');
        return 0;
}

static void out_integer(struct outbuf *o, long long v)
{
        char buf[24];
        char *p = buf + sizeof(buf);
        /* negate in unsigned arithmetic so LLONG_MIN works too */
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u != 0);
        if (v < 0)
                *--p = '-';
        out_put(o, p, (size_t)(buf + sizeof(buf) - p));
}

/* A real as "%.15g" plus jansson's ".0" for whole numbers. The amounts written here are
 * decimals of at most 6 places (cents, micro-euros, percentages), held as the double nearest
 * to that decimal; for those %.15g prints exactly the decimal, so it can be written from the
 * integer digits. Everything else (and values %g would put in exponent form) goes to jansson. */
static void out_real(struct outbuf *o, const json_t *j)
{
        static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
        double v = json_real_value(j);
        double a = fabs(v);

        if (v == 0.0 && !signbit(v)) {
                out_put(o, "0.0", 3);
                return;
        }
        if (a >= 1e-4 && a < 1e9) {
                for (int k = 0; k < 7; k++) {
                        long long m = llround(v * pow10[k]);

                        if ((double)m / pow10[k] != v)
                                continue;
                        /* m/10^k has at most 15 significant digits: %.15g gives it back */
                        unsigned long long u = m < 0 ? (unsigned long long)-m
                                                     : (unsigned long long)m;
                        char buf[40];
                        char *p = buf + sizeof(buf);

                        if (k == 0) {
                                *--p = '0';
                                *--p = '.';
                        }
                        for (int d = 0; d < k; d++) {
                                *--p = (char)('0' + u % 10);
                                u /= 10;
                        }
                        if (k > 0)
                                *--p = '.';
                        do {
                                *--p = (char)('0' + u % 10);
                                u /= 10;
                        } while (u != 0);
                        if (m < 0)
                                *--p = '-';
                        out_put(o, p, (size_t)(buf + sizeof(buf) - p));
                        return;
                }
        }
        char *s = json_dumps(j, DUMP_FLAGS | JSON_ENCODE_ANY);

        if (s == NULL) {
                o->failed = true;
                return;
        }
        out_put(o, s, strlen(s));
        free(s);
}

/* Returns 0, or -1 when the value must be left to json_dumps. */
static int out_value(struct outbuf *o, const json_t *j, int depth)
{
        if (depth > DUMP_MAX_DEPTH || j == NULL)
                return -1;
        switch (json_typeof(j)) {
        case JSON_NULL:
                out_put(o, "null", 4);
                return 0;
        case JSON_TRUE:
                out_put(o, "true", 4);
                return 0;
        case JSON_FALSE:
                out_put(o, "false", 5);
                return 0;
        case JSON_INTEGER:
                out_integer(o, (long long)json_integer_value(j));
                return 0;
        case JSON_REAL:
                out_real(o, j);
                return 0;
        case JSON_STRING:
                return out_string(o, json_string_value(j), json_string_length(j));
        case JSON_ARRAY:
                out_byte(o, '[');
                for (size_t i = 0; i < json_array_size(j); i++) {
                        if (i > 0)
                                out_byte(o, ',');
                        if (out_value(o, json_array_get(j, i), depth + 1) != 0)
                                return -1;
                }
                out_byte(o, ']');
                return 0;
        case JSON_OBJECT:
                out_byte(o, '{');
                /* insertion order, as json_dumps without JSON_SORT_KEYS */
                for (void *it = json_object_iter((json_t *)j), *first = it; it != NULL;
                     it = json_object_iter_next((json_t *)j, it)) {
                        if (it != first)
                                out_byte(o, ',');
                        if (out_string(o, json_object_iter_key(it),
                                       json_object_iter_key_len(it)) != 0)
                                return -1;
                        out_byte(o, ':');
                        if (out_value(o, json_object_iter_value(it), depth + 1) != 0)
                                return -1;
                }
                out_byte(o, '}');
                return 0;
        }
        return -1;
}

/* Serialises j into o (not NUL-terminated). Returns 0, or -1 when json_dumps must be used. */
static int out_json(struct outbuf *o, const json_t *j)
{
        if (!json_is_object(j) && !json_is_array(j))
                return -1;
        if (out_value(o, j, 0) != 0 || o->failed)
                return -1;
        return 0;
}

char *booking_dumps(const json_t *j)
{
        struct outbuf o = {0};

        if (out_json(&o, j) != 0) {
                free(o.data);
                return json_dumps(j, DUMP_FLAGS);
        }
        o.data[o.len] = '\0';
        return o.data;
}

int booking_content_hash(const json_t *j, char out[72])
{
        static const char hex[] = "0123456789abcdef";
        struct outbuf o = {0};
        unsigned char md[32];
        unsigned int mdlen = 0;
        int rc;

        out[0] = '\0';
        if (out_json(&o, j) != 0) {
                char *s = json_dumps(j, DUMP_FLAGS);

                free(o.data);
                if (s == NULL)
                        return -1;
                o.data = s;
                o.len = strlen(s);
        }
        rc = EVP_Digest(o.data, o.len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32
             ? 0 : -1;
        free(o.data);
        if (rc != 0)
                return -1;
        memcpy(out, "sha256:", 7);
        for (unsigned int i = 0; i < 32; i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[8 + 2 * i] = hex[md[i] & 15];
        }
        out[71] = '\0';
        return 0;
}

/* ---------------------------------------------------------------- parsing */

/* jansson's parser reads through a character stream with a function call and a buffer
 * append per byte; for an order that is most of the transform's time. This reader walks the
 * buffer directly and builds the same tree with the same jansson calls. It only accepts what
 * it is sure of and answers NULL for anything else (errors, \u0000, huge numbers, duplicate
 * keys, deep nesting), so that booking_loadb can hand the text to json_loadb and the result,
 * or the error message, is always jansson's own. */
#define LOAD_MAX_DEPTH 64

struct inbuf {
        const char *p, *end;
        char *scratch;          /* unescaped string text */
        size_t scratch_cap;
};

static void in_skip_ws(struct inbuf *in)
{
        while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' ||
                                   *in->p == '\t'))
                in->p++;
}

static int in_hex4(const char *p, unsigned int *out)
{
        unsigned int v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned int)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned int)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned int)(c - 'A' + 10);
                else
                        return -1;
        }
        *out = v;
        return 0;
}

/* What the character after a backslash stands for (\u apart); 0 for an invalid escape. */
static const char unescape[0x80] = {
        ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n',
        ['r'] = '\r', ['t'] = '\t',
};

/* The string at in->p (after the opening quote): points *s at its text, unescaped into the
 * scratch buffer when it has escapes. Returns 0, or -1 when unsure. */
static int in_string(struct inbuf *in, const char **s, size_t *len)
{
        const char *start = in->p;
        size_t n = 0;

        for (;;) {
                if (in->p >= in->end)
                        return -1;
                unsigned char c = (unsigned char)*in->p;

                if (c == '"')
                        break;
                if (c == '\\' || c < 0x20)
                        goto escaped;
                if (c >= 0x80) {
                        size_t k = utf8_seq_len((const unsigned char *)in->p,
                                                (size_t)(in->end - in->p));

                        if (k == 0)
                                return -1;
                        in->p += k;
                } else {
                        in->p++;
                }
        }
        *s = start;
        *len = (size_t)(in->p - start);
        in->p++;
        return 0;
escaped:
        /* an escaped string unescapes to at most its own length */
        n = (size_t)(in->p - start);
        {
                size_t need = (size_t)(in->end - start) + 1;

                if (need > in->scratch_cap) {
                        char *b = realloc(in->scratch, need);

                        if (b == NULL)
                                return -1;
                        in->scratch = b;
                        in->scratch_cap = need;
                }
        }
        memcpy(in->scratch, start, n);
        for (;;) {
                if (in->p >= in->end)
                        return -1;
                unsigned char c = (unsigned char)*in->p;

                if (c == '"')
                        break;
                if (c < 0x20)
                        return -1;
                if (c >= 0x80) {
                        size_t k = utf8_seq_len((const unsigned char *)in->p,
                                                (size_t)(in->end - in->p));

                        if (k == 0)
                                return -1;
                        memcpy(in->scratch + n, in->p, k);
                        n += k;
                        in->p += k;
                        continue;
                }
                if (c != '\\') {
                        in->scratch[n++] = (char)c;
                        in->p++;
                        continue;
                }
                if (in->end - in->p < 2)
                        return -1;
                c = (unsigned char)in->p[1];
                in->p += 2;
                if (c < 0x80 && unescape[c] != 0) {
                        in->scratch[n++] = unescape[c];
                        continue;
                }
                if (c != 'u')
                        return -1;
                unsigned int cp, lo;

                if (in->end - in->p < 4 || in_hex4(in->p, &cp) != 0)
                        return -1;
                in->p += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                        if (in->end - in->p < 6 || in->p[0] != '\\' || in->p[1] != 'u' ||
                            in_hex4(in->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                                return -1;
                        in->p += 6;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                        return -1;
                }
                /* \uXXXX (6 or 12 bytes of input) is never longer as UTF-8 */
                if (cp < 0x80) {
                        in->scratch[n++] = (char)cp;
                } else if (cp < 0x800) {
                        in->scratch[n++] = (char)(0xc0 | (cp >> 6));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                        in->scratch[n++] = (char)(0xe0 | (cp >> 12));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                } else {
                        in->scratch[n++] = (char)(0xf0 | (cp >> 18));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        in->scratch[n++] = (char)(0x80 | (cp & 0x3f));
                }
        }
        in->p++;
        *s = in->scratch;
        *len = n;
        return 0;
}

/* A number with jansson's rules: integers as json_integer, anything with a fraction or
 * exponent as the correctly rounded double (what strtod gives). NULL when unsure. */
static json_t *in_number(struct inbuf *in)
{
        static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                       1e11, 1e12, 1e13, 1e14, 1e15};
        const char *start = in->p, *p = in->p;
        bool neg = false, real = false;
        long long mant = 0;
        int digits = 0, frac = 0;

        if (p < in->end && *p == '-') {
                neg = true;
                p++;
        }
        if (p >= in->end || !isdigit((unsigned char)*p))
                return NULL;
        if (*p == '0' && p + 1 < in->end && isdigit((unsigned char)p[1]))
                return NULL;
        for (; p < in->end && isdigit((unsigned char)*p); p++, digits++)
                mant = digits < 18 ? mant * 10 + (*p - '0') : mant;
        if (p < in->end && *p == '.') {
                real = true;
                p++;
                if (p >= in->end || !isdigit((unsigned char)*p))
                        return NULL;
                for (; p < in->end && isdigit((unsigned char)*p); p++, digits++, frac++)
                        mant = digits < 18 ? mant * 10 + (*p - '0') : mant;
        }
        if (p < in->end && (*p == 'e' || *p == 'E')) {
                real = true;
                digits = 99;    /* exponents are left to strtod */
                p++;
                if (p < in->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= in->end || !isdigit((unsigned char)*p))
                        return NULL;
                while (p < in->end && isdigit((unsigned char)*p))
                        p++;
        }
        in->p = p;
        if (!real) {
                if (digits > 18)
                        return NULL;
                return json_integer(neg ? -mant : mant);
        }
        /* up to 15 digits: mantissa and power of ten are exact doubles, so one division is
         * the correctly rounded value */
        if (digits <= 15) {
                double v = (double)mant / pow10[frac];

                return json_real(neg ? -v : v);
        }
        char tok[64];
        size_t len = (size_t)(p - start);
        char *endp;

        if (len >= sizeof(tok))
                return NULL;
        memcpy(tok, start, len);
        tok[len] = '\0';
        errno = 0;
        double v = strtod(tok, &endp);

        if (errno != 0 || endp != tok + len || !isfinite(v))
                return NULL;
        return json_real(v);
}

static json_t *in_value(struct inbuf *in, int depth)
{
        const char *s;
        size_t len;

        if (depth > LOAD_MAX_DEPTH || in->p >= in->end)
                return NULL;
        switch (*in->p) {
        case '{': {
                json_t *obj = json_object();

                in->p++;
                in_skip_ws(in);
                if (in->p < in->end && *in->p == '}') {
                        in->p++;
                        return obj;
                }
                for (;;) {
                        json_t *v;
                        char key[256];
                        size_t before = json_object_size(obj);

                        if (in->p >= in->end || *in->p != '"')
                                break;
                        in->p++;
                        if (in_string(in, &s, &len) != 0 || len >= sizeof(key))
                                break;
                        memcpy(key, s, len);
                        key[len] = '\0';
                        in_skip_ws(in);
                        if (in->p >= in->end || *in->p != ':')
                                break;
                        in->p++;
                        in_skip_ws(in);
                        v = in_value(in, depth + 1);
                        /* a duplicate key leaves the size unchanged: jansson decides */
                        if (v == NULL || json_object_setn_new_nocheck(obj, key, len, v) != 0 ||
                            json_object_size(obj) != before + 1)
                                break;
                        in_skip_ws(in);
                        if (in->p < in->end && *in->p == ',') {
                                in->p++;
                                in_skip_ws(in);
                                continue;
                        }
                        if (in->p < in->end && *in->p == '}') {
                                in->p++;
                                return obj;
                        }
                        break;
                }
                json_decref(obj);
                return NULL;
        }
        case '[': {
                json_t *arr = json_array();

                in->p++;
                in_skip_ws(in);
                if (in->p < in->end && *in->p == ']') {
                        in->p++;
                        return arr;
                }
                for (;;) {
                        json_t *v = in_value(in, depth + 1);

                        if (v == NULL || json_array_append_new(arr, v) != 0)
                                break;
                        in_skip_ws(in);
                        if (in->p < in->end && *in->p == ',') {
                                in->p++;
                                in_skip_ws(in);
                                continue;
                        }
                        if (in->p < in->end && *in->p == ']') {
                                in->p++;
                                return arr;
                        }
                        break;
                }
                json_decref(arr);
                return NULL;
        }
        case '"':
                in->p++;
                if (in_string(in, &s, &len) != 0)
                        return NULL;
                return json_stringn_nocheck(s, len);
        case 't':
                if (in->end - in->p >= 4 && memcmp(in->p, "true", 4) == 0) {
                        in->p += 4;
                        return json_true();
                }
                return NULL;
        case 'f':
                if (in->end - in->p >= 5 && memcmp(in->p, "false", 5) == 0) {
                        in->p += 5;
                        return json_false();
                }
                return NULL;
        case 'n':
                if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) {
                        in->p += 4;
                        return json_null();
                }
                return NULL;
        default:
                return in_number(in);
        }
}

json_t *booking_loadb(const char *text, size_t len, size_t flags, json_error_t *error)
{
        struct inbuf in = {.p = text, .end = text + len};
        json_t *j = NULL;

        if ((flags & ~(size_t)JSON_REJECT_DUPLICATES) == 0 && text != NULL) {
                in_skip_ws(&in);
                if (in.p < in.end && (*in.p == '{' || *in.p == '[')) {
                        j = in_value(&in, 0);
                        in_skip_ws(&in);
                        if (j != NULL && in.p != in.end) {
                                json_decref(j);
                                j = NULL;
                        }
                }
                free(in.scratch);
        }
        if (j == NULL)
                return json_loadb(text, len, flags, error);
        if (error != NULL) {
                /* what json_loadb leaves in it on success */
                error->text[0] = '\0';
                error->line = -1;
                error->column = -1;
                error->position = len;
                snprintf(error->source, sizeof(error->source), "<buffer>");
        }
        return j;
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
static void set_hash(json_t *e)
{
        json_t *h = json_object();
        static const char *const keys[] = {"kind", "endpoint", "account", "items", "body"};
        char hash[72];

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_t *v = json_object_get(e, keys[i]);

                if (v != NULL)
                        json_object_set_nocheck(h, keys[i], v);
        }
        if (booking_content_hash(h, hash) == 0)
                json_object_set_new_nocheck(e, "content_hash", json_string(hash));
        json_decref(h);
}

/* The order command without its content_hash. */
static json_t *command_envelope(const struct booking *b, const struct rules *r,
                                const char *trace_id)
{
        bool invoice = strcmp(b->endpoint, "salesinvoice/SalesInvoices") == 0;
        json_t *e = envelope(r->tenant, invoice ? "sales_invoice" : "sales_order", b->source_id,
                             trace_id);

        if (e == NULL)
                return NULL;
        json_object_set_new_nocheck(e, "division", json_integer(r->division));
        json_object_set_new_nocheck(e, "scenario",
                                    json_string(vat_scenario_name(b->decision.scenario)));
        json_object_set_new_nocheck(e, "endpoint", json_string(b->endpoint));
        json_object_set_nocheck(e, "account", b->account);
        json_object_set_nocheck(e, "items", b->items);
        json_object_set_nocheck(e, "body", b->body);
        json_object_set_new_nocheck(e, "totals", totals_json(b));
        add_warnings(e, &b->decision);
        return e;
}

json_t *booking_command_json(const struct booking *b, const struct rules *r, const char *trace_id)
{
        json_t *e = command_envelope(b, r, trace_id);

        if (e != NULL)
                set_hash(e);
        return e;
}

/* What booking_dumps prints for e after set_hash(e), from one serialisation: the hashed
 * members are written once and their text is both hashed and kept. The hashed object
 * {"kind":..,"endpoint":..,"account":..,"items":..,"body":..} serialises to exactly those
 * members' "key":value texts joined by commas. NULL when unsure (the caller then takes the
 * long way, which also decides what happens on failure). */
static char *dumps_with_hash(const json_t *e)
{
        static const char *const keys[] = {"kind", "endpoint", "account", "items", "body"};
        static const char hex[] = "0123456789abcdef";
        size_t start[5], end[5];
        bool have[5] = {false};
        struct outbuf o = {0};
        EVP_MD_CTX *ctx = NULL;
        unsigned char md[32];
        unsigned int mdlen = 0;
        bool ok = true, first = true;

        out_byte(&o, '{');
        for (void *it = json_object_iter((json_t *)e); it != NULL && ok;
             it = json_object_iter_next((json_t *)e, it)) {
                const char *key = json_object_iter_key(it);
                size_t klen = json_object_iter_key_len(it);
                size_t at;

                if (it != json_object_iter((json_t *)e))
                        out_byte(&o, ',');
                at = o.len;
                ok = out_string(&o, key, klen) == 0;
                out_byte(&o, ':');
                ok = ok && out_value(&o, json_object_iter_value(it), 1) == 0;
                for (size_t k = 0; k < 5; k++) {
                        if (strlen(keys[k]) == klen && memcmp(keys[k], key, klen) == 0) {
                                start[k] = at;
                                end[k] = o.len;
                                have[k] = true;
                        }
                }
        }
        ctx = EVP_MD_CTX_new();
        ok = ok && !o.failed && ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, "{", 1) == 1;
        for (size_t k = 0; k < 5 && ok; k++) {
                if (!have[k])
                        continue;
                ok = (first || EVP_DigestUpdate(ctx, ",", 1) == 1) &&
                     EVP_DigestUpdate(ctx, o.data + start[k], end[k] - start[k]) == 1;
                first = false;
        }
        ok = ok && EVP_DigestUpdate(ctx, "}", 1) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
        EVP_MD_CTX_free(ctx);
        if (ok) {
                char tail[96] = ",\"content_hash\":\"sha256:";
                size_t n = strlen(tail);

                for (unsigned int i = 0; i < 32; i++) {
                        tail[n++] = hex[md[i] >> 4];
                        tail[n++] = hex[md[i] & 15];
                }
                tail[n++] = '"';
                tail[n++] = '}';
                out_put(&o, tail, n);
        }
        if (!ok || o.failed) {
                free(o.data);
                return NULL;
        }
        o.data[o.len] = '\0';
        return o.data;
}

char *booking_command_dumps(const struct booking *b, const struct rules *r,
                            const char *trace_id)
{
        json_t *e = command_envelope(b, r, trace_id);
        char *s;

        if (e == NULL)
                return NULL;
        s = dumps_with_hash(e);
        if (s == NULL) {
                set_hash(e);
                s = booking_dumps(e);
        }
        json_decref(e);
        return s;
}

json_t *booking_account_upsert_json(const struct rules *r, const json_t *user,
                                    const char *trace_id, char *err, size_t errlen)
{
        char id[32];
        json_t *acc, *e;

        if (!json_is_object(user) || jid(user, "id", id, sizeof(id)) == NULL) {
                snprintf(err, errlen, "user has no id");
                return NULL;
        }
        acc = booking_account_def(json_object_get(user, "userinfo"), id, err, errlen);
        if (acc == NULL)
                return NULL;
        e = envelope(r->tenant, "account_upsert", id, trace_id);
        json_object_set_new_nocheck(e, "division", json_integer(r->division));
        json_object_set_new_nocheck(e, "endpoint", json_string("crm/Accounts"));
        json_object_set_new_nocheck(e, "account", acc);
        set_hash(e);
        return e;
}

json_t *booking_item_upsert_json(const struct rules *r, const json_t *product,
                                 const char *trace_id, char *err, size_t errlen)
{
        char id[32], code[64], desc[256];
        const char *name, *num, *group, *tariff;
        long long price, disc;
        json_t *it, *items, *e;

        if (!json_is_object(product) || jid(product, "id", id, sizeof(id)) == NULL) {
                snprintf(err, errlen, "product has no id");
                return NULL;
        }
        name = jstr(product, "name");
        if (name[0] == '\0') {
                snprintf(err, errlen, "product %s has no name", id);
                return NULL;
        }
        num = jstr(product, "productnumber");
        if (num[0] != '\0')
                copy_str(code, sizeof(code), num);
        else
                snprintf(code, sizeof(code), "P%s", id);
        if (strlen(code) > MAX_ITEM_CODE) {
                snprintf(err, errlen, "product %s: item code longer than %d characters", id,
                         MAX_ITEM_CODE);
                return NULL;
        }
        it = json_object();
        json_object_set_new_nocheck(it, "Code", json_string(code));
        utf8_trunc(name, MAX_DESCRIPTION, desc, sizeof(desc));
        json_object_set_new_nocheck(it, "Description", json_string(desc));
        json_object_set_new_nocheck(it, "IsSalesItem", json_true());
        group = rules_map_get(r->item_groups, jstr(product, "maincategory"));
        if (group == NULL)
                group = r->default_item_group;
        set_str(it, "ItemGroup", group);
        set_str(it, "Barcode", jstr(product, "eannumber"));
        /* default VAT code from the tax tariff at home; the price follows prices_shown */
        tariff = jstr(product, "taxtariff");
        {
                const struct vat_country *home = vat_rates_find(r->home_country);
                int pct = -1;
                struct vat_decision hd;
                char e2[8];

                if (strcmp(tariff, "normal") == 0 || strcmp(tariff, "standard") == 0 ||
                    tariff[0] == '\0')
                        pct = home->standard;
                else if (strcmp(tariff, "reduced") == 0 || strcmp(tariff, "low") == 0)
                        pct = home->n_reduced > 0 ? home->reduced[0] : -1;
                else if (strcmp(tariff, "exempt") == 0 || strcmp(tariff, "zero") == 0)
                        pct = 0;
                memset(&hd, 0, sizeof(hd));
                hd.scenario = VAT_SCENARIO_DOMESTIC;
                copy_str(hd.rate_country, sizeof(hd.rate_country), r->home_country);
                if (pct >= 0)
                        set_str(it, "SalesVatCode", vat_engine_code(r, &hd, pct, e2, sizeof(e2)));
                if (json_micro(json_object_get(product, "price"), &price) == 0) {
                        json_micro(json_object_get(product, "discount"), &disc);
                        long long sell = price - disc;

                        if (r->prices_incl_vat && pct > 0)
                                sell = div_round((i128)sell * 10000, 10000 + pct);
                        json_object_set_new_nocheck(it, "SalesPrice",
                                            money(micro_to_cents(sell)));
                }
        }
        items = json_array();
        json_array_append_new(items, it);
        e = envelope(r->tenant, "item_upsert", id, trace_id);
        json_object_set_new_nocheck(e, "division", json_integer(r->division));
        json_object_set_new_nocheck(e, "endpoint", json_string("logistics/Items"));
        json_object_set_new_nocheck(e, "items", items);
        set_hash(e);
        return e;
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
        json_object_set_new_nocheck(e, "payload", payload ? json_stringn(payload, strlen(payload))
                                                  : json_null());
        return e;
}
