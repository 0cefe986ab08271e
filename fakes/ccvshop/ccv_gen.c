/*
 * ccv_gen.c - deterministic generator of shops, products, users and orders.
 *
 * Every order is built from a "case" (who buys, where it ships), then the VAT
 * a correct NL shop charges is derived from the destination and the customer's
 * VAT number (ccv_vat.c), and finally the totals are computed in cents
 * (rules in docs/fakes-ccvshop.md "Totals").  A few cases are deliberately
 * wrong and say so in _fake_expect.
 */
#include "ccv_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccv_vat.h"

enum gen_case {
        GC_NL_B2C,
        GC_NL_B2B,
        GC_EU_B2C,
        GC_EU_B2B_VALID,
        GC_EU_B2B_INVALID,
        GC_EXPORT_B2C,
        GC_EXPORT_B2B,
        GC_CANARY,
        GC_HELIGOLAND,
        GC_NORTHERN_IRELAND,
        GC_LIVIGNO,
        GC_FR_OVERSEAS,
        GC_MONACO,
        GC_BAD_ICP_INVALID_VAT,
        GC_BAD_VAT_ON_EXPORT,
        GC_BAD_ICP_WITHOUT_VAT,
        GC_COUNT
};

static const char *const case_names[GC_COUNT] = {
        "nl_b2c",
        "nl_b2b",
        "eu_b2c",
        "eu_b2b_valid_vat",
        "eu_b2b_invalid_vat",
        "export_b2c",
        "export_b2b",
        "canary_islands",
        "heligoland",
        "northern_ireland",
        "livigno",
        "fr_overseas",
        "monaco",
        "bad_icp_invalid_vat",
        "bad_vat_on_export",
        "bad_icp_without_vat",
};

static const int case_weights[GC_COUNT] = {
        22, 10, 18, 12, 5, 6, 3, 3, 2, 3, 1, 1, 2, 1, 1, 1,
};

const char *const *ccv_gen_case_names(size_t *ret_n)
{
        *ret_n = GC_COUNT;
        return case_names;
}

/* Address material per country: cities with a postcode pattern. */
struct place {
        const char *iso;
        const char *city;
        const char *postcode; /* '#' = random digit, 'a' = random lower-case letter */
        const char *street;
        const char *phone;
};

static const struct place places[] = {
        { "NL", "Amsterdam", "10##aa", "Keizersgracht", "6########" },
        { "NL", "Utrecht", "35## AB", "Oudegracht", "30#######" },
        { "NL", "Groningen", "97##xk", "Herestraat", "50#######" },
        { "DE", "Berlin", "10###", "Friedrichstraße", "30########" },
        { "DE", "München", "80###", "Leopoldstraße", "89#######" },
        { "BE", "Brussel", "1000", "Wetstraat", "2#######" },
        { "BE", "Antwerpen", "20##", "Meir", "3#######" },
        { "FR", "Paris", "750##", "Rue de Rivoli", "1########" },
        { "FR", "Lyon", "6900#", "Rue de la République", "4########" },
        { "AT", "Wien", "10#0", "Kärntner Straße", "1#######" },
        { "IT", "Roma", "001##", "Via del Corso", "06#######" },
        { "IT", "Milano", "201##", "Via Torino", "02#######" },
        { "ES", "Madrid", "280##", "Calle Mayor", "91#######" },
        { "ES", "Barcelona", "080##", "La Rambla", "93#######" },
        { "PL", "Warszawa", "00-###", "Nowy Świat", "22#######" },
        { "US", "New York", "100##", "Broadway", "212#######" },
        { "CH", "Zürich", "80##", "Bahnhofstrasse", "44#######" },
        { "NO", "Oslo", "01##", "Karl Johans gate", "2#######" },
        { "GB", "London", "SW1A #AA", "Whitehall", "20########" },
        { "GB", "Manchester", "M1 #AE", "Market Street", "161#######" },
};

static const char *const first_names[] = {
        "Jan",   "Sanne", "Pieter", "Femke", "Lukas", "Anna",   "Marie", "Louis",  "Giulia",
        "Marco", "Lucía", "Pablo",  "Emma",  "Noah",  "Olivia", "Liam",  "Ingrid", "Sven",
};
static const char *const last_names[] = {
        "de Vries", "Jansen", "Bakker", "Visser", "Müller", "Schmidt", "Peeters", "Martin",
        "Rossi",    "García", "Smith",  "Huber",  "Nowak",  "Hansen",  "Dubois",  "Bianchi",
};
static const char *const company_words[] = {
        "Techniek",      "Handel",   "Solutions", "Trading", "Logistik",
        "Distribuzione", "Services", "Import",    "Consult", "Works",
};

struct category_def {
        const char *name;
        bool reduced; /* products in it use the reduced VAT class */
        const char *thing;
        int min_price, max_price; /* cents incl. NL VAT */
};

static const struct category_def category_defs[] = {
        { "Telefoons", false, "Smartphone", 9900, 59900 },
        { "Boeken", true, "Roman", 995, 3495 },
        { "Koffie & thee", true, "Koffiebonen", 495, 2495 },
        { "Kleding", false, "T-shirt", 1495, 7995 },
        { "Tuin", false, "Tuinslang", 1995, 14995 },
        { "Speelgoed", false, "Bouwset", 995, 9995 },
};
#define N_CATEGORIES (sizeof(category_defs) / sizeof(category_defs[0]))

struct paymethod_def {
        int id;
        const char *method;
        const char *label;
        int costs; /* cents */
};

static const struct paymethod_def paymethod_defs[] = {
        { 1, "iDEAL", "iDEAL", 0 },           { 2, "BankTransfer", "Vooraf overmaken", 0 },
        { 3, "PayPal", "PayPal", 35 },        { 4, "AfterPay", "Achteraf betalen", 195 },
        { 5, "CreditCard", "Creditcard", 0 },
};
#define N_PAYMETHODS (sizeof(paymethod_defs) / sizeof(paymethod_defs[0]))

#define PICK(r, arr) (arr[ccv_rng_range((r), 0, (int64_t)(sizeof(arr) / sizeof(arr[0])) - 1)])

static void fill_pattern(struct ccv_rng *r, const char *pat, char *out, size_t len)
{
        size_t i;

        for (i = 0; pat[i] && i + 1 < len; i++) {
                if (pat[i] == '#')
                        out[i] = (char)('0' + ccv_rng_range(r, 0, 9));
                else if (pat[i] == 'a')
                        out[i] = (char)('a' + ccv_rng_range(r, 0, 25));
                else
                        out[i] = pat[i];
        }
        out[i] = '\0';
}

static const struct place *pick_place(struct ccv_rng *r, const char *iso)
{
        const struct place *cand[8];
        size_t i, n = 0;

        for (i = 0; i < sizeof(places) / sizeof(places[0]) && n < 8; i++)
                if (strcmp(places[i].iso, iso) == 0)
                        cand[n++] = &places[i];
        if (n == 0)
                return &places[0];
        return cand[ccv_rng_range(r, 0, (int64_t)n - 1)];
}

/* One address as CCV renders it; iso NULL = the all-empty "same as billing" block. */
static json_t *make_address(struct ccv_rng *r, const char *iso, const char *city,
                            const char *postcode, const char *street, const char *first,
                            const char *last, const char *company, bool billing)
{
        const struct ccv_country *c = iso ? ccv_country_get(iso) : NULL;
        const struct place *pl = iso ? pick_place(r, iso) : NULL;
        char full[128], line1[160], phone[24], pc[24];
        json_t *a;
        int hn = (int)ccv_rng_range(r, 1, 240);

        if (!iso) {
                a = json_pack("{s:n,s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:s,s:s,s:s,s:s,s:s,s:s,"
                              "s:s,s:s,s:n}",
                              "gender", "full_name", "", "initials", "", "company", "",
                              "address_line_1", "", "address_line_2", "", "street", "",
                              "housenumber", "housenumber_suffix", "", "zipcode", "", "city", "",
                              "province", "", "telephone", "", "mobile", "", "comment", "",
                              "country", "", "country_code");
                return a;
        }
        if (!postcode) {
                fill_pattern(r, pl->postcode, pc, sizeof(pc));
                postcode = pc;
        }
        if (!city)
                city = pl->city;
        if (!street)
                street = pl->street;
        fill_pattern(r, pl->phone, phone, sizeof(phone));
        snprintf(full, sizeof(full), "%s %s", first, last);
        snprintf(line1, sizeof(line1), "%s %d", street, hn);
        a = json_pack("{s:n,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                      "gender", "initials", "", "full_name", full, "company",
                      company ? company : "", "address_line_1", line1, "address_line_2", "",
                      "street", street, "housenumber", hn, "housenumber_suffix",
                      ccv_rng_chance(r, 10) ? "A" : "", "zipcode", postcode, "city", city,
                      "province", "", "telephone", phone, "mobile", "", "comment", "", "country",
                      c ? c->name_nl : iso, "country_code", strcmp(iso, "XI") == 0 ? "GB" : iso);
        if (a && billing) {
                json_object_set_new(a, "first_name", json_string(first));
                json_object_set_new(a, "last_name", json_string(last));
                json_object_set_new(a, "fax", json_string(""));
        }
        return a;
}

/* Customer (Personalinfo) snapshot; see spec section 3.6. */
struct customer_spec {
        const char *iso; /* billing country code as CCV stores it */
        const char *city;
        const char *postcode; /* NULL = random from the place pattern */
        const char *street;
        bool company;
        const char *btw; /* "" when none */
        const char *kvk;
        bool separate_delivery;
};

static json_t *make_customer(struct ccv_rng *r, const struct customer_spec *cs)
{
        const char *first = PICK(r, first_names), *last = PICK(r, last_names);
        char company[96] = "", email[128], lower[64];
        json_t *bill, *del, *c;
        size_t i;

        if (cs->company)
                snprintf(company, sizeof(company), "%s %s", last, PICK(r, company_words));
        snprintf(lower, sizeof(lower), "%s", first);
        for (i = 0; lower[i]; i++)
                if (lower[i] >= 'A' && lower[i] <= 'Z')
                        lower[i] = (char)(lower[i] - 'A' + 'a');
        snprintf(email, sizeof(email), "%s.%u@example.test", lower,
                 (unsigned)ccv_rng_range(r, 1000, 99999));
        bill = make_address(r, cs->iso, cs->city, cs->postcode, cs->street, first, last, company,
                            true);
        if (cs->separate_delivery)
                del = make_address(r, cs->iso, cs->city, cs->postcode, NULL, first, last, company,
                                   false);
        else
                del = make_address(r, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false);
        c = json_pack("{s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
                      "s:s,s:s,s:n,s:s,s:s}",
                      "billingaddress", bill, "deliveryaddress", del, "email_invoice", "",
                      "email_invoice_company", "", "email_invoice_union", "", "email", email,
                      "customertype", cs->company ? "b2b" : "b2c", "bankaccount", "", "iban", "",
                      "bic", "", "bank", "", "tenname", "", "bankname", "", "btw",
                      cs->btw ? cs->btw : "", "kvk", cs->kvk ? cs->kvk : "", "reference", "",
                      "branch", "", "website", "", "birthdate", "costcentre", "", "findus", "");
        return c;
}

static json_t *href(const struct ccv_shop *s, const char *fmt, int64_t id)
{
        char path[128], out[512];

        snprintf(path, sizeof(path), fmt, (long long)id);
        snprintf(out, sizeof(out), "%s%s", s->base_url, path);
        return json_string(out);
}

static json_t *href_obj(const struct ccv_shop *s, const char *fmt, int64_t id)
{
        return json_pack("{s:o}", "href", href(s, fmt, id));
}

static void time_str(time_t t, char *buf)
{
        ccv_time_format(t, buf, 32);
}

/* ---- catalog ------------------------------------------------------------ */

static json_t *product_new(struct ccv_shop *s, struct ccv_rng *r, int64_t id, int idx,
                           time_t created, time_t modified, const char *name_override,
                           int64_t price_override)
{
        const struct category_def *cd = &category_defs[idx % N_CATEGORIES];
        char name[128], pnum[32], ean[16], cdate[32], mdate[32], deeplink[256];
        int64_t price =
                price_override > 0
                        ? price_override
                        : (ccv_rng_range(r, cd->min_price / 100, cd->max_price / 100) * 100 - 5);
        int64_t discount = ccv_rng_chance(r, 15) ? ccv_div_round(price * 10, 100) : 0;
        json_t *p;

        if (price <= 0)
                price = 95;
        if (name_override)
                snprintf(name, sizeof(name), "%s", name_override);
        else
                snprintf(name, sizeof(name), "%s %s-%d", cd->thing, s->name, idx + 1);
        snprintf(pnum, sizeof(pnum), "ART-%d-%05lld", s->n, (long long)(id % 100000));
        fill_pattern(r, "871############", ean, 14);
        time_str(created, cdate);
        time_str(modified, mdate);
        snprintf(deeplink, sizeof(deeplink), "https://shop%d.example.test/p/%lld", s->n,
                 (long long)id);
        p = json_pack(
                "{s:o,s:I,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:i,"
                "s:i,s:s,s:b,s:i,s:o,s:s,s:s,s:n,s:i,s:s,s:s,s:o,s:o}",
                "href", href(s, "products/%lld", id), "id", (json_int_t)id, "is_active",
                !ccv_rng_chance(r, 5), "createdate", cdate, "modifydate", mdate, "productnumber",
                pnum, "eannumber", ean, "mpnnumber", "", "name", name, "shortdescription", "",
                "description", "<p>Omschrijving</p>", "taxtariff",
                cd->reduced ? "reduced" : "normal", "price", ccv_money_json(price), "discount",
                ccv_money_json(discount), "purchaseprice", ccv_money_json(price / 2),
                "container_deposit_price", 0, "safety_deposit_price", 0, "unit", "stuk",
                "stockenabled", 1, "stock", (int)ccv_rng_range(r, 0, 250), "weight",
                json_real((double)ccv_rng_range(r, 1, 40) / 10.0), "maincategory", cd->name,
                "subcategory", "", "brand", "product_layout", 1, "deeplink", deeplink,
                "productmainphoto", "", "producttocategories",
                href_obj(s, "products/%lld/producttocategories/", id), "attributecombinations",
                href_obj(s, "products/%lld/attributecombinations/", id));
        return p;
}

json_t *ccv_gen_product(struct ccv_shop *s, const json_t *params, time_t created)
{
        const char *name = NULL;
        int64_t price = 0;
        json_t *v, *p;
        int idx = (int)ccv_rng_range(&s->rng, 0, (int64_t)N_CATEGORIES - 1);

        if (params) {
                v = json_object_get(params, "name");
                if (json_is_string(v))
                        name = json_string_value(v);
                v = json_object_get(params, "price");
                if (json_is_number(v))
                        price = (int64_t)(json_number_value(v) * 100.0 + 0.5);
                v = json_object_get(params, "category");
                if (json_is_integer(v))
                        idx = (int)(json_integer_value(v) % (json_int_t)N_CATEGORIES);
        }
        p = product_new(s, &s->rng, s->next_product_id, idx, created, created, name, price);
        if (!p)
                return NULL;
        s->next_product_id += 3;
        if (json_array_append_new(s->products, p) < 0)
                return NULL;
        return p;
}

/* ---- orders ------------------------------------------------------------- */

struct vat_plan {
        const char *scenario;    /* domestic icp export oss distance_origin */
        const char *vat_country; /* whose rates apply, "" for zero-rated */
        bool zero;
        bool icp_flag; /* is_intra_community_order as the shop sets it */
        bool reject;
        const char *reason;
        const char *charge_country; /* rates actually charged, NULL = zero */
};

static int rate_for(const char *iso, bool reduced)
{
        const struct ccv_country *c = ccv_country_get(iso);

        if (!c)
                return 0;
        if (reduced && c->reduced)
                return c->reduced;
        return c->standard;
}

static void plan_law(const struct ccv_shop *s, const char *ship_iso, const char *ship_pc,
                     bool vat_valid, const char *vat_prefix, struct vat_plan *p)
{
        const char *vc = ship_iso;
        bool eu = ccv_vat_destination(ship_iso, ship_pc, &vc);

        memset(p, 0, sizeof(*p));
        if (!eu) {
                p->scenario = "export";
                p->vat_country = "";
                p->zero = true;
        } else if (strcmp(vc, "NL") == 0) {
                p->scenario = "domestic";
                p->vat_country = "NL";
                p->charge_country = "NL";
        } else if (vat_valid && vat_prefix && strcmp(vat_prefix, "NL") != 0) {
                p->scenario = "icp";
                p->vat_country = "";
                p->zero = true;
                p->icp_flag = true;
        } else if (s->oss) {
                p->scenario = "oss";
                p->vat_country = vc;
                p->charge_country = vc;
        } else {
                p->scenario = "distance_origin";
                p->vat_country = "NL";
                p->charge_country = "NL";
        }
}

static const char *const eu_b2c_countries[] = { "DE", "BE", "FR", "AT", "IT", "ES", "PL" };
static const char *const eu_b2b_countries[] = { "DE", "BE", "FR", "AT", "IT", "ES" };
static const char *const export_countries[] = { "US", "CH", "NO", "GB" };

struct line {
        int64_t amount; /* cents, incl. or excl. VAT per the order's mode */
        int rate;       /* tenths of a percent */
};

static int64_t line_vat(const struct line *l, bool incl)
{
        if (incl)
                return ccv_div_round(l->amount * l->rate, 1000 + l->rate);
        return ccv_div_round(l->amount * l->rate, 1000);
}

static int orders_reserve(struct ccv_shop *s)
{
        if (s->n_orders == s->cap_orders) {
                size_t cap = s->cap_orders ? s->cap_orders * 2 : 64;
                struct ccv_order *o = realloc(s->orders, cap * sizeof(*o));

                if (!o)
                        return -ENOMEM;
                s->orders = o;
                s->cap_orders = cap;
        }
        return 0;
}

static int find_case(const char *name)
{
        int i;

        for (i = 0; i < GC_COUNT; i++)
                if (strcmp(case_names[i], name) == 0)
                        return i;
        return -1;
}

static bool in_list(const char *iso, const char *const *list, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++)
                if (strcmp(list[i], iso) == 0)
                        return true;
        return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int ccv_gen_order(struct ccv_shop *s, const json_t *params, time_t created, char *err,
                  size_t errlen)
{
        struct ccv_rng *r = &s->rng;
        struct customer_spec cs;
        struct vat_plan plan;
        struct line lines[16];
        size_t n_lines = 0, i;
        int gc, status, nrows, k;
        bool completed = true, paid, incl, guest, mixed, reduced_class;
        const char *country = NULL, *ship_pc;
        char btw[32] = "", kvk[16] = "", pcbuf[24], cdate[32], full[48], tmp[256];
        const struct paymethod_def *pm;
        int64_t order_id, rows_total = 0, shipping, paycost, coupon = 0, total_tax = 0;
        int64_t total, weight_g = 0;
        int ship_rate = 0;
        json_t *rows = NULL, *order = NULL, *customer = NULL, *user = NULL, *expect = NULL;
        json_t *v, *coupon_obj = NULL;
        struct ccv_order *slot;
        int r_ret = -ENOMEM;

        /* -- parameters ------------------------------------------------------ */
        gc = (int)ccv_rng_weighted(r, case_weights, GC_COUNT);
        v = params ? json_object_get(params, "case") : NULL;
        if (v) {
                if (!json_is_string(v) || find_case(json_string_value(v)) < 0) {
                        snprintf(err, errlen, "unknown case");
                        return -EINVAL;
                }
                gc = find_case(json_string_value(v));
        }
        v = params ? json_object_get(params, "create_date") : NULL;
        if (v && (!json_is_string(v) ||
                  ccv_time_parse(json_string_value(v), false, &created, NULL) < 0)) {
                snprintf(err, errlen, "create_date must be an ISO-8601 instant");
                return -EINVAL;
        }
        k = (int)ccv_rng_range(r, 0, 99);
        if (k < 5)
                completed = false;
        status = k < 5   ? 0
                 : k < 9 ? 8
                         : (int)PICK(r, ((const int[]){ 1, 1, 2, 4, 5, 5, 6, 7, 7, 7, 9, 10, 11,
                                                        13 }));
        paid = status == 5 || status == 6 || status == 7 ? !ccv_rng_chance(r, 5)
               : status == 4                             ? false
                                                         : ccv_rng_chance(r, 50);
        v = params ? json_object_get(params, "is_completed") : NULL;
        if (json_is_boolean(v)) {
                completed = json_is_true(v);
                if (completed && status == 0)
                        status = 1;
        }
        if (!completed)
                status = 0;
        v = params ? json_object_get(params, "status") : NULL;
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 14) {
                        snprintf(err, errlen, "status must be an integer 1..14");
                        return -EINVAL;
                }
                status = (int)json_integer_value(v);
                completed = true;
        }
        v = params ? json_object_get(params, "paid") : NULL;
        if (json_is_boolean(v))
                paid = json_is_true(v);
        if (!completed)
                paid = false;

        /* -- customer -------------------------------------------------------- */
        memset(&cs, 0, sizeof(cs));
        cs.separate_delivery = ccv_rng_chance(r, 25);
        switch (gc) {
        case GC_NL_B2C: cs.iso = "NL"; break;
        case GC_NL_B2B:
                cs.iso = "NL";
                cs.company = true;
                ccv_vatno_make(r, "NL", true, btw, sizeof(btw));
                fill_pattern(r, "########", kvk, sizeof(kvk));
                if (kvk[0] == '0')
                        kvk[0] = '6';
                break;
        case GC_EU_B2C:
        case GC_BAD_ICP_WITHOUT_VAT: cs.iso = PICK(r, eu_b2c_countries); break;
        case GC_EU_B2B_VALID:
        case GC_EU_B2B_INVALID:
        case GC_BAD_ICP_INVALID_VAT:
                cs.iso = PICK(r, eu_b2b_countries);
                cs.company = true;
                break;
        case GC_EXPORT_B2C:
        case GC_BAD_VAT_ON_EXPORT: cs.iso = PICK(r, export_countries); break;
        case GC_EXPORT_B2B:
                cs.iso = PICK(r, ((const char *const[]){ "CH", "NO", "US" }));
                cs.company = true;
                if (strcmp(cs.iso, "CH") == 0)
                        fill_pattern(r, "CHE-###.###.### MWST", btw, sizeof(btw));
                else if (strcmp(cs.iso, "NO") == 0)
                        fill_pattern(r, "NO#########MVA", btw, sizeof(btw));
                break;
        case GC_CANARY:
                cs.iso = "ES";
                if (ccv_rng_chance(r, 50)) {
                        cs.city = "Las Palmas de Gran Canaria";
                        fill_pattern(r, "350##", pcbuf, sizeof(pcbuf));
                        cs.street = "Calle Triana";
                } else {
                        cs.city = "Santa Cruz de Tenerife";
                        fill_pattern(r, "380##", pcbuf, sizeof(pcbuf));
                        cs.street = "Calle del Castillo";
                }
                cs.postcode = pcbuf;
                cs.separate_delivery = false;
                break;
        case GC_HELIGOLAND:
                cs.iso = "DE";
                cs.city = "Helgoland";
                cs.postcode = "27498";
                cs.street = "Lung Wai";
                cs.separate_delivery = false;
                break;
        case GC_NORTHERN_IRELAND:
                cs.iso = "GB";
                cs.city = "Belfast";
                fill_pattern(r, "BT# #AA", pcbuf, sizeof(pcbuf));
                cs.postcode = pcbuf;
                cs.street = "Donegall Place";
                cs.separate_delivery = false;
                break;
        case GC_LIVIGNO:
                cs.iso = "IT";
                cs.city = "Livigno";
                cs.postcode = "23041";
                cs.street = "Via Plan";
                cs.separate_delivery = false;
                break;
        case GC_FR_OVERSEAS:
                cs.iso = "FR";
                cs.city = "Saint-Denis";
                cs.postcode = "97400";
                cs.street = "Rue de Paris";
                cs.separate_delivery = false;
                break;
        default: /* GC_MONACO */
                cs.iso = "MC";
                cs.city = "Monaco";
                cs.postcode = "98000";
                cs.street = "Boulevard des Moulins";
                cs.separate_delivery = false;
                break;
        }
        v = params ? json_object_get(params, "country") : NULL;
        if (json_is_string(v)) {
                country = json_string_value(v);
                if ((gc == GC_EU_B2C || gc == GC_BAD_ICP_WITHOUT_VAT) &&
                    in_list(country, eu_b2c_countries, NELEM(eu_b2c_countries)))
                        cs.iso = country;
                else if ((gc == GC_EU_B2B_VALID || gc == GC_EU_B2B_INVALID ||
                          gc == GC_BAD_ICP_INVALID_VAT) &&
                         in_list(country, eu_b2b_countries, NELEM(eu_b2b_countries)))
                        cs.iso = country;
                else if ((gc == GC_EXPORT_B2C || gc == GC_BAD_VAT_ON_EXPORT) &&
                         in_list(country, export_countries, NELEM(export_countries)))
                        cs.iso = country;
                else {
                        snprintf(err, errlen, "country %s not possible for case %s", country,
                                 case_names[gc]);
                        return -EINVAL;
                }
        }
        if (gc == GC_EU_B2B_VALID)
                ccv_vatno_make(r, cs.iso, true, btw, sizeof(btw));
        else if (gc == GC_EU_B2B_INVALID || gc == GC_BAD_ICP_INVALID_VAT)
                ccv_vatno_make(r, cs.iso, false, btw, sizeof(btw));
        if (cs.company && cs.iso && strcmp(cs.iso, "NL") != 0 && !kvk[0] && ccv_rng_chance(r, 20))
                fill_pattern(r, "HRB #####", kvk, sizeof(kvk));
        cs.btw = btw;
        cs.kvk = kvk;

        /* Reuse an earlier user of the same case now and then (repeat customer). */
        guest = gc != GC_NL_B2B && ccv_rng_chance(r, 35);
        if (!guest && ccv_rng_chance(r, 30)) {
                size_t nu = json_array_size(s->users), start, j;

                start = nu ? (size_t)ccv_rng_range(r, 0, (int64_t)nu - 1) : 0;
                for (j = 0; j < nu; j++) {
                        size_t u = (start + j) % nu;

                        if (s->user_case[u] == gc) {
                                json_t *ju = json_array_get(s->users, u);
                                char ids[24];

                                snprintf(ids, sizeof(ids), "%lld",
                                         (long long)json_integer_value(json_object_get(ju, "id")));
                                customer = json_deep_copy(json_object_get(ju, "userinfo"));
                                user = json_pack("{s:s,s:i,s:O}", "id", ids, "discount_percentage",
                                                 0, "href", json_object_get(ju, "href"));
                                break;
                        }
                }
        }
        if (!customer)
                customer = make_customer(r, &cs);
        if (!customer)
                goto out;
        {
                json_t *bill = json_object_get(customer, "billingaddress");
                json_t *del = json_object_get(customer, "deliveryaddress");
                json_t *ship = json_is_string(json_object_get(del, "country_code")) ? del : bill;
                const char *ship_iso = json_string_value(json_object_get(ship, "country_code"));
                const char *cust_btw = json_string_value(json_object_get(customer, "btw"));

                ship_pc = json_string_value(json_object_get(ship, "zipcode"));
                snprintf(btw, sizeof(btw), "%s", cust_btw ? cust_btw : "");
                plan_law(s, ship_iso ? ship_iso : "NL", ship_pc, ccv_vatno_valid(btw), btw, &plan);
        }
        switch (gc) {
        case GC_BAD_ICP_INVALID_VAT:
        case GC_BAD_ICP_WITHOUT_VAT:
                plan.reject = true;
                plan.reason =
                        gc == GC_BAD_ICP_INVALID_VAT
                                ? "0% intra-community VAT on a VAT number that fails its checksum"
                                : "0% intra-community VAT for a customer without a VAT number";
                plan.zero = true;
                plan.icp_flag = true;
                plan.charge_country = NULL;
                break;
        case GC_BAD_VAT_ON_EXPORT:
                plan.reject = true;
                plan.reason = "NL VAT charged on an export outside the EU";
                plan.zero = false;
                plan.charge_country = "NL";
                break;
        default: break;
        }
        if (status == 8 && !plan.reject) {
                plan.reject = true;
                plan.reason = "order is cancelled";
        }
        if (!completed) {
                plan.reject = true;
                plan.reason = "order is not completed (abandoned basket)";
        }

        /* -- rows -------------------------------------------------------------- */
        incl = cs.company ? ccv_rng_chance(r, 25) : ccv_rng_chance(r, 85);
        v = params ? json_object_get(params, "prices_include_vat") : NULL;
        if (json_is_boolean(v))
                incl = json_is_true(v);
        mixed = incl && ccv_rng_chance(r, 40);
        reduced_class = ccv_rng_chance(r, 30);
        order_id = s->next_order_id;
        rows = json_array();
        if (!rows)
                goto out;
        nrows = (int)ccv_rng_range(r, 1, ccv_rng_chance(r, 20) ? 6 : 3);
        for (k = 0; k < nrows; k++) {
                size_t np = json_array_size(s->products), tries;
                json_t *p = NULL, *row;
                int64_t price, disc = 0, count, sell, rtotal, row_id;
                bool red = false;
                int rate;

                for (tries = 0; tries < 64 && np; tries++) {
                        p = json_array_get(s->products,
                                           (size_t)ccv_rng_range(r, 0, (int64_t)np - 1));
                        red = strcmp(json_string_value(json_object_get(p, "taxtariff")),
                                     "reduced") == 0;
                        if (mixed || red == reduced_class)
                                break;
                }
                if (!p)
                        break;
                if (!mixed)
                        red = reduced_class;
                rate = plan.zero ? 0 : rate_for(plan.charge_country, red);
                price = (int64_t)(json_number_value(json_object_get(p, "price")) * 100.0 + 0.5);
                if (!incl)
                        price = ccv_div_round(price * 1000, 1000 + rate_for("NL", red));
                if (ccv_rng_chance(r, 20))
                        disc = ccv_div_round(price * ccv_rng_range(r, 5, 25), 100);
                count = ccv_rng_chance(r, 80) ? ccv_rng_range(r, 1, 2) : ccv_rng_range(r, 3, 12);
                sell = price - disc;
                rtotal = sell * count;
                rows_total += rtotal;
                weight_g += (int64_t)(json_number_value(json_object_get(p, "weight")) * 1000.0) *
                            count;
                if (n_lines < NELEM(lines)) {
                        lines[n_lines].amount = rtotal;
                        lines[n_lines++].rate = rate;
                }
                if (rate > ship_rate)
                        ship_rate = rate;
                row_id = s->next_row_id++;
                row = json_pack(
                        "{s:o,s:I,s:I,s:s,s:O,s:s,s:O,s:s,s:s,s:s,s:O,s:O,s:I,s:o,s:i,"
                        "s:o,s:b,s:o,s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:o,"
                        "s:o,s:i,s:o,s:o,s:[],s:[],s:o}",
                        "href", href(s, "orderrows/%lld/", row_id), "id", (json_int_t)row_id,
                        "order_id", (json_int_t)order_id, "product_type", "product", "product_name",
                        json_object_get(p, "name"), "product_name_google", "", "product_number",
                        json_object_get(p, "productnumber"), "sub_product_number", "",
                        "sub_sku_number", "", "sub_ean_number", "", "product_id",
                        json_object_get(p, "id"), "product_href", json_object_get(p, "href"),
                        "count", (json_int_t)count, "price", ccv_money_json(price),
                        "product_purchase_price", 0, "discount", ccv_money_json(disc),
                        "custom_price", 0, "tax", ccv_rate_json(rate), "unit", "stuk", "weight", 0,
                        "memo", "", "package_id", 1, "package_name", "Kartonnen doos",
                        "stock_location", "", "supplier", "", "user_discount", 0, "original_price",
                        ccv_money_json(sell), "selling_price", ccv_money_json(sell),
                        "price_without_discount", ccv_money_json(price),
                        "price_without_discount_with_attributes", ccv_money_json(price),
                        "total_price", ccv_money_json(rtotal), "total_extra_option_price", 0,
                        "price_with_attributes", ccv_money_json(sell),
                        "total_price_with_attributes", ccv_money_json(rtotal), "attributes",
                        "uploads", "parent", href_obj(s, "orders/%lld", order_id));
                if (!row || json_array_append_new(rows, row) < 0)
                        goto out;
        }

        /* -- shipping, payment costs, coupon -------------------------------------- */
        shipping = PICK(r, ((const int[]){ 0, 495, 495, 695, 1250 }));
        if (plan.scenario && strcmp(plan.scenario, "export") == 0 && shipping)
                shipping = 1495;
        if (!incl && shipping)
                shipping = ccv_div_round(shipping * 1000, 1210);
        pm = &paymethod_defs[ccv_rng_range(r, 0, (int64_t)N_PAYMETHODS - 1)];
        paycost = pm->costs;
        if (ccv_rng_chance(r, 15)) {
                bool pct = ccv_rng_chance(r, 50);

                coupon = pct ? ccv_div_round(rows_total * 10, 100) : 500;
                if (coupon >= rows_total)
                        coupon = ccv_div_round(rows_total, 2);
                coupon_obj = json_pack("{s:s,s:i,s:s,s:n,s:b,s:i,s:b}", "code",
                                       pct ? "WELKOM10" : "VIJFEURO", "discount", pct ? 10 : 5,
                                       "type", pct ? "percentage" : "price", "enddate",
                                       "onetimeuse", 0, "minimumprice", 0, "givesfreeshipping", 0);
        } else {
                coupon_obj = json_pack("{s:s,s:i,s:s,s:n,s:b,s:i,s:b}", "code", "", "discount", 0,
                                       "type", "", "enddate", "onetimeuse", 0, "minimumprice", 0,
                                       "givesfreeshipping", 0);
        }
        if (!coupon_obj)
                goto out;
        if (n_lines + 3 <= NELEM(lines)) {
                lines[n_lines].amount = shipping;
                lines[n_lines++].rate = ship_rate;
                lines[n_lines].amount = paycost;
                lines[n_lines++].rate = ship_rate;
                lines[n_lines].amount = -coupon;
                lines[n_lines++].rate = ship_rate;
        }
        for (i = 0; i < n_lines; i++)
                total_tax += line_vat(&lines[i], incl);
        total = rows_total + shipping + paycost - coupon + (incl ? 0 : total_tax);

        /* -- the order object ----------------------------------------------------- */
        time_str(created, cdate);
        if (completed) {
                if (s->ordernumber_prefix[0])
                        snprintf(full, sizeof(full), "%s-%lld", s->ordernumber_prefix,
                                 (long long)s->next_ordernumber);
                else
                        snprintf(full, sizeof(full), "%lld", (long long)s->next_ordernumber);
        }
        if (!user && !guest) {
                json_t *ju;
                int64_t uid = s->next_user_id;
                char ids[24];
                int *uc;

                snprintf(ids, sizeof(ids), "%lld", (long long)uid);
                uc = realloc(s->user_case, (json_array_size(s->users) + 1) * sizeof(int));
                if (!uc)
                        goto out;
                s->user_case = uc;
                ju = json_pack("{s:o,s:I,s:O,s:n,s:b,s:s,s:s,s:O,s:o,s:o,s:o}", "href",
                               href(s, "users/%lld", uid), "id", (json_int_t)uid, "username",
                               json_object_get(customer, "email"), "group_id", "status", 1,
                               "approval_status", ccv_rng_chance(r, 10) ? "pending" : "accepted",
                               "product_in_category_discount", "highest", "userinfo", customer,
                               "creditpoints", href_obj(s, "users/%lld/creditpoints/", uid),
                               "creditpointmutations",
                               href_obj(s, "users/%lld/creditpointmutations/", uid),
                               "disabledpaymethods",
                               href_obj(s, "users/%lld/disabledpaymethods/", uid));
                if (!ju || json_array_append_new(s->users, ju) < 0)
                        goto out;
                s->user_case[json_array_size(s->users) - 1] = gc;
                s->next_user_id += 7;
                /* CCV sends the user id as a string here (spec section 5). */
                user = json_pack("{s:s,s:i,s:o}", "id", ids, "discount_percentage", 0, "href",
                                 href(s, "users/%lld", uid));
                if (!user)
                        goto out;
        }
        order = json_pack(
                "{s:o,s:I,s:s,s:s,s:o,s:s,s:n,s:{s:n,s:n},s:b,s:s,s:b,s:b,s:b,"
                "s:i,s:s,s:s,s:b,s:b,s:b,s:o,s:b}",
                "href", href(s, "orders/%lld/", order_id), "id", (json_int_t)order_id,
                "create_date", cdate, "deliver_method", "shipping", "deliver_date", json_null(),
                "orderedinlng", strcmp(cs.iso ? cs.iso : "NL", "NL") == 0 ? "nl" : "en",
                "invoicenumber", "take_out_window", "start", "end", "is_platform_sale", 0,
                "transaction_id", paid && pm->id != 2 ? "" : "", "is_completed", completed, "paid",
                paid, "safety_deposit_returned", 0, "paymethod_id", pm->id, "paymethod", pm->method,
                "paymethod_label", pm->label, "taxes_included", 1, "order_row_taxes_included", incl,
                "shipping_taxes_included", incl, "shipping_tax_percentage",
                ccv_rate_json(ship_rate), "is_intra_community_order", plan.icp_flag);
        if (!order)
                goto out;
        /* transaction_id: PSP id for paid online payments, else null. */
        if (paid && pm->id != 2)
                json_object_set_new(order, "transaction_id",
                                    json_integer(ccv_rng_range(r, 100000000, 999999999)));
        else
                json_object_set_new(order, "transaction_id", json_null());
        if (completed) {
                json_object_set_new(order, "ordernumber_prefix",
                                    s->ordernumber_prefix[0] ? json_string(s->ordernumber_prefix)
                                                             : json_null());
                json_object_set_new(order, "ordernumber", json_integer(s->next_ordernumber));
                json_object_set_new(order, "ordernumber_full", json_string(full));
                json_object_set_new(order, "status", json_integer(status));
                s->next_ordernumber++;
        } else {
                json_object_set_new(order, "ordernumber_prefix", json_null());
                json_object_set_new(order, "ordernumber", json_null());
                json_object_set_new(order, "ordernumber_full", json_null());
                json_object_set_new(order, "status", json_null());
                snprintf(tmp, sizeof(tmp), "https://shop%d.example.test/basket/%lld", s->n,
                         (long long)order_id);
                json_object_set_new(order, "basket_href", json_string(tmp));
                snprintf(tmp, sizeof(tmp), "https://shop%d.example.test/checkout/%lld", s->n,
                         (long long)order_id);
                json_object_set_new(order, "checkout_href", json_string(tmp));
        }
        json_object_set_new(order, "total_orderrow_price", ccv_money_json(rows_total));
        json_object_set_new(order, "total_shipping", ccv_money_json(shipping));
        json_object_set_new(order, "total_discounts", ccv_money_json(coupon));
        json_object_set_new(order, "total_price", ccv_money_json(total));
        json_object_set_new(order, "currency", json_string("EUR"));
        json_object_set_new(order, "total_tax", ccv_money_json(total_tax));
        json_object_set_new(order, "total_weight", json_real((double)weight_g / 1000.0));
        json_object_set_new(order, "extra_payment_option", json_string(""));
        json_object_set_new(order, "extra_payment_option_price", json_integer(0));
        json_object_set_new(order, "extra_payment_option_no_sentprice", json_false());
        json_object_set_new(order, "extra_payment_option_pay_on_pickup", json_false());
        json_object_set_new(order, "extra_price", ccv_money_json(paycost));
        json_object_set_new(order, "paymethod_costs", ccv_money_json(paycost));
        json_object_set_new(order, "credit_point_discount", json_integer(0));
        json_object_set_new(order, "extra_costs", json_integer(0));
        json_object_set_new(order, "extra_costs_description", json_string(""));
        json_object_set_new(order, "track_and_trace_code", json_string(""));
        json_object_set_new(order, "track_and_trace_carrier", json_null());
        json_object_set_new(order, "track_and_trace_deeplink", json_string(""));
        json_object_set_new(order, "reservationnumber", json_string(""));
        json_object_set_new(order, "delivery_option", json_null());
        json_object_set_new(order, "user", user ? user : json_null());
        user = NULL;
        json_object_set_new(order, "discountcoupon", coupon_obj);
        coupon_obj = NULL;
        json_object_set_new(order, "customer", customer);
        customer = NULL;
        json_object_set_new(order, "pickup_address", json_null());
        snprintf(tmp, sizeof(tmp),
                 "https://shop%d.example.test/onderhoud/PackingSlip.php?OrderId=%lld", s->n,
                 (long long)order_id);
        json_object_set_new(order, "packing_slip_deeplink", json_string(tmp));
        json_object_set_new(order, "orderrows", href_obj(s, "orders/%lld/orderrows/", order_id));
        json_object_set_new(order, "ordernotes", href_obj(s, "orders/%lld/ordernotes/", order_id));
        json_object_set_new(order, "ordermessages",
                            href_obj(s, "orders/%lld/ordermessages/", order_id));
        json_object_set_new(order, "ordernotifications",
                            href_obj(s, "orders/%lld/ordernotifications/", order_id));
        json_object_set_new(order, "orderaffiliatenetworks",
                            href_obj(s, "orders/%lld/orderaffiliatenetworks/", order_id));
        json_object_set_new(order, "orderlabels",
                            href_obj(s, "orders/%lld/orderlabels/", order_id));
        json_object_set_new(order, "invoices", href_obj(s, "orders/%lld/invoices/", order_id));

        expect = json_pack("{s:s,s:b,s:s,s:s}", "scenario", plan.scenario, "reject", plan.reject,
                           "case", case_names[gc], "vat_country",
                           plan.vat_country ? plan.vat_country : "");
        if (!expect)
                goto out;
        if (plan.reason)
                json_object_set_new(expect, "reason", json_string(plan.reason));

        if (orders_reserve(s) < 0)
                goto out;
        slot = &s->orders[s->n_orders++];
        memset(slot, 0, sizeof(*slot));
        slot->id = order_id;
        slot->created = created;
        slot->obj = order;
        slot->rows = rows;
        slot->expect = expect;
        order = rows = expect = NULL;
        s->next_order_id += (int64_t)ccv_rng_range(r, 1, 9);
        r_ret = 0;
out:
        json_decref(rows);
        json_decref(order);
        json_decref(customer);
        json_decref(user);
        json_decref(expect);
        json_decref(coupon_obj);
        if (r_ret == -ENOMEM)
                snprintf(err, errlen, "out of memory");
        return r_ret;
}

/* ---- shops -------------------------------------------------------------- */

static void make_key(struct ccv_rng *r, char *out, size_t n)
{
        static const char alpha[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!^*-_";
        size_t i;

        for (i = 0; i + 1 < n; i++)
                out[i] = alpha[ccv_rng_range(r, 0, (int64_t)sizeof(alpha) - 2)];
        out[n - 1] = '\0';
        /* Always at least two punctuation characters (spec: keys are not [A-Za-z0-9]). */
        out[ccv_rng_range(r, 0, (int64_t)n - 2)] = '!';
        out[ccv_rng_range(r, 0, (int64_t)n - 2)] = '^';
}

int ccv_gen_shop(struct ccv_shop *s, const struct ccv_gen_opts *o, int n)
{
        struct ccv_rng *r = &s->rng;
        char err[128], cdate[32];
        size_t i;
        int k;

        ccv_rng_seed(r, o->seed * 1000003ULL + (uint64_t)n);
        s->n = n;
        s->id = 100000 + n * 17;
        snprintf(s->name, sizeof(s->name), "shop%d", n);
        make_key(r, s->public_key, 33);
        make_key(r, s->secret, 65);
        s->oss = o->oss_mode == CCV_OSS_ALL || (o->oss_mode == CCV_OSS_ALTERNATE && n % 2 == 1);
        if (n % 3 == 2)
                snprintf(s->ordernumber_prefix, sizeof(s->ordernumber_prefix), "WEB%d", n);
        snprintf(s->path_prefix, sizeof(s->path_prefix), "/shop/%d", n);
        snprintf(s->base_url, sizeof(s->base_url), o->base_fmt, n);
        s->next_order_id = 339000000LL + (int64_t)n * 1000000LL;
        s->next_row_id = 648000000LL + (int64_t)n * 10000000LL;
        s->next_product_id = 845000000LL + (int64_t)n * 100000LL;
        s->next_user_id = 24400000LL + (int64_t)n * 100000LL;
        s->next_hook_id = 1000 + n * 100;
        s->next_ordernumber = 1;
        s->products = json_array();
        s->users = json_array();
        s->categories = json_array();
        s->paymethods = json_array();
        if (!s->products || !s->users || !s->categories || !s->paymethods)
                return -ENOMEM;
        time_str(o->epoch - 400 * 86400, cdate);
        for (i = 0; i < N_CATEGORIES; i++) {
                int64_t cid = 5000 + n * 100 + (int64_t)i;
                char alias[64];
                json_t *c;

                snprintf(alias, sizeof(alias), "cat-%d-%zu", n, i + 1);
                c = json_pack("{s:o,s:I,s:s,s:s,s:i,s:b,s:s,s:s,s:{s:n,s:n},s:o,s:o}", "href",
                              href(s, "categories/%lld", cid), "id", (json_int_t)cid, "name",
                              category_defs[i].name, "description", "", "position", (int)i + 1,
                              "show_on_website", 1, "alias", alias, "deeplink", "",
                              "parentcategory", "id", "href", "categories",
                              href_obj(s, "categories/%lld/categories/", cid),
                              "producttocategories",
                              href_obj(s, "categories/%lld/producttocategories/", cid));
                if (!c || json_array_append_new(s->categories, c) < 0)
                        return -ENOMEM;
        }
        for (i = 0; i < N_PAYMETHODS; i++) {
                json_t *p = json_pack("{s:o,s:i,s:s,s:s,s:s,s:s,s:o}", "href",
                                      href(s, "paymethods/%lld", paymethod_defs[i].id), "id",
                                      paymethod_defs[i].id, "psp", "CCV", "method",
                                      paymethod_defs[i].method, "combined_name",
                                      paymethod_defs[i].method, "label", paymethod_defs[i].label,
                                      "extra_costs", ccv_money_json(paymethod_defs[i].costs));

                if (!p || json_array_append_new(s->paymethods, p) < 0)
                        return -ENOMEM;
        }
        for (k = 0; k < o->products; k++) {
                time_t c = o->epoch - 300 * 86400 + k * 3600;
                time_t m = c + ccv_rng_range(r, 0, 200 * 86400);
                json_t *p = product_new(s, r, s->next_product_id, k, c, m, NULL, 0);

                if (!p || json_array_append_new(s->products, p) < 0)
                        return -ENOMEM;
                s->next_product_id += 3;
        }
        for (k = 0; k < o->orders; k++) {
                time_t c = o->epoch + (time_t)k * 7200 + ccv_rng_range(r, 0, 7000);

                if (ccv_gen_order(s, NULL, c, err, sizeof(err)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

void ccv_shop_deinit(struct ccv_shop *s)
{
        size_t i;

        for (i = 0; i < s->n_orders; i++) {
                json_decref(s->orders[i].obj);
                json_decref(s->orders[i].rows);
                json_decref(s->orders[i].expect);
                json_decref(s->orders[i].invoices);
                json_decref(s->orders[i].returns);
        }
        free(s->orders);
        for (i = 0; i < s->n_hooks; i++) {
                free(s->hooks[i].event);
                free(s->hooks[i].address);
        }
        free(s->hooks);
        free(s->user_case);
        json_decref(s->products);
        json_decref(s->users);
        json_decref(s->categories);
        json_decref(s->paymethods);
        memset(s, 0, sizeof(*s));
}

struct ccv_order *ccv_shop_order(struct ccv_shop *s, int64_t id)
{
        size_t lo = 0, hi = s->n_orders;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (s->orders[mid].id == id)
                        return &s->orders[mid];
                if (s->orders[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

json_t *ccv_shop_product(struct ccv_shop *s, int64_t id)
{
        size_t i;
        json_t *p;

        json_array_foreach (s->products, i, p) {
                if (json_integer_value(json_object_get(p, "id")) == id)
                        return p;
        }
        return NULL;
}
