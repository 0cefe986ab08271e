/*
 * fakes/exact/xf_store.c — per-division entity store of exact-fake: seed data,
 * POST/PUT/DELETE validation and line arithmetic, and the collection query (select,
 * order, paging).
 */
#include "xf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHAPE_MSG                                                                   \
        "Error processing request stream. The request should be a valid top-level " \
        "resource object."

/* ---- small helpers ---------------------------------------------------------------- */

static const char *sget(json_t *e, const char *k)
{
        return json_string_value(json_object_get(e, k));
}

static bool has(json_t *e, const char *k)
{
        json_t *v = json_object_get(e, k);

        return v != NULL && !json_is_null(v);
}

static void now_date(json_t *e, const char *k, int64_t ms)
{
        char buf[40];

        json_object_set_new(e, k, json_string(xf_date_str(ms, buf, sizeof(buf))));
}

static int64_t today_ms(void)
{
        int64_t now = xf_now_ms();

        return now - now % 86400000;
}

static void add_msg(json_t *msgs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_msg(json_t *msgs, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        size_t i;
        json_t *m;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        json_array_foreach (msgs, i, m) {
                if (strcmp(json_string_value(m), buf) == 0)
                        return;
        }
        json_array_append_new(msgs, json_string(buf));
}

static void join_msgs(json_t *msgs, char *err, size_t errlen)
{
        size_t i, o = 0;
        json_t *m;

        err[0] = '\0';
        json_array_foreach (msgs, i, m) {
                int n = snprintf(err + o, errlen - o, "%s%s", i ? "\r\n" : "",
                                 json_string_value(m));

                if (n < 0 || (size_t)n >= errlen - o)
                        break;
                o += (size_t)n;
        }
}

/* Looks up an entity whose @field equals @value (GUIDs case-insensitively). */
json_t *xf_find(struct xf_div *d, int ent, const char *field, const char *value)
{
        size_t i;
        json_t *e;

        if (value == NULL)
                return NULL;
        json_array_foreach (d->sets[ent], i, e) {
                const char *v = sget(e, field);

                if (v != NULL && strcasecmp(v, value) == 0)
                        return e;
        }
        return NULL;
}

/* Codes are compared after trimming the padding Exact adds. */
static json_t *find_code(struct xf_div *d, int ent, const char *code)
{
        char want[64], have[64];
        size_t i;
        json_t *e;

        if (code == NULL)
                return NULL;
        xf_trim(code, want, sizeof(want));
        json_array_foreach (d->sets[ent], i, e) {
                const char *v = sget(e, "Code");

                if (v == NULL)
                        continue;
                xf_trim(v, have, sizeof(have));
                if (strcasecmp(have, want) == 0)
                        return e;
        }
        return NULL;
}

json_t *xf_find_code(struct xf_div *d, int ent, const char *code)
{
        return find_code(d, ent, code);
}

static json_t *ent_blank(int ent)
{
        const struct xf_field *f;
        json_t *e = json_object();

        for (f = xf_entities[ent].fields; f->name != NULL; f++) {
                if (f->type != XF_T_LINES && f->type != XF_T_COLL)
                        json_object_set_new(e, f->name, json_null());
        }
        return e;
}

/* The row version the sync endpoints filter on: one counter, larger on every write (the
 * start is arbitrary; Exact's are large numbers, and clients begin at "Timestamp gt 1"). */
static int64_t ts_seq = 1000000;

void xf_stamp(json_t *e)
{
        json_object_set_new(e, "Timestamp",
                            json_integer(__atomic_add_fetch(&ts_seq, 1, __ATOMIC_SEQ_CST)));
}

static json_t *ent_start(struct xf_div *d, int ent)
{
        json_t *e = ent_blank(ent);
        char id[37];
        int64_t now = xf_now_ms();

        xf_guid_new(id);
        json_object_set_new(e, xf_entities[ent].key, json_string(id));
        json_object_set_new(e, "Division", json_integer(d->number));
        xf_stamp(e);
        if (xf_field_find(ent, "Created") != NULL) {
                now_date(e, "Created", now);
                now_date(e, "Modified", now);
        }
        return e;
}

json_t *xf_ent_start(struct xf_div *d, int ent)
{
        json_t *e = ent_start(d, ent);

        if (ent == XF_E_GLENTRYLINES) {
                json_object_del(e, "Created");
                json_object_del(e, "Modified");
        }
        return e;
}

json_t *xf_lines_of(struct xf_div *d, int ent, const char *key)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        json_t *out = json_array();
        size_t i;
        json_t *l;

        if (def->lines_ent < 0)
                return out;
        json_array_foreach (d->sets[def->lines_ent], i, l) {
                const char *p = sget(l, def->parent_key);

                if (p != NULL && strcasecmp(p, key) == 0)
                        json_array_append(out, l);
        }
        return out;
}

/* ---- seed data -------------------------------------------------------------------- */

static json_t *seed(struct xf_div *d, int ent, json_t *fields)
{
        json_t *e = ent_start(d, ent);

        json_object_update(e, fields);
        json_decref(fields);
        json_array_append_new(d->sets[ent], e);
        return e;
}

static const char *gl_id(struct xf_div *d, const char *code)
{
        return sget(find_code(d, XF_E_GLACCOUNTS, code), "ID");
}

static void seed_vat(struct xf_div *d, const char *code, const char *desc, double pct,
                     const char *type, const char *tt, const char *listing, const char *oss,
                     bool charged, const char *legal, const char *gl)
{
        char padded[8];

        xf_pad_right(code, 3, padded, sizeof(padded));
        seed(d, XF_E_VATCODES,
             json_pack("{s:s,s:s,s:f,s:s,s:s,s:b,s:b,s:s,s:s?,s:s?,s:s?}", "Code", padded,
                       "Description", desc, "Percentage", pct, "Type", type, "VATTransactionType",
                       tt, "IsBlocked", 0, "Charged", charged, "EUSalesListing", listing,
                       "OssCountry", oss, "LegalText", legal, "GLToPay", gl_id(d, gl)));
}

static void seed_division(struct xf_div *d)
{
        static const struct {
                const char *code, *desc;
                int type;
                const char *bt, *side;
        } gls[] = {
                { "1300", "Debiteuren", 20, "B", "D" },
                { "1500", "Te betalen btw hoog", 24, "B", "C" },
                { "1510", "Te betalen btw laag", 24, "B", "C" },
                { "1520", "Te betalen btw OSS", 24, "B", "C" },
                { "1100", "Bank", 12, "B", "D" },
                { "1190", "Tussenrekening betalingen (PSP)", 90, "B", "D" },
                { "3000", "Voorraad handelsgoederen", 30, "B", "D" },
                { "7000", "Kostprijs verkopen", 111, "W", "D" },
                { "8000", "Omzet hoog tarief", 110, "W", "C" },
                { "8010", "Omzet laag tarief", 110, "W", "C" },
                { "8020", "Omzet 0% / export", 110, "W", "C" },
                { "8030", "Omzet intracommunautair (ICP)", 110, "W", "C" },
                { "8040", "Omzet afstandsverkopen OSS", 110, "W", "C" },
                { "8100", "Omzet verzendkosten", 110, "W", "C" },
        };
        static const struct {
                const char *code, *desc;
                double pct;
                const char *type, *listing, *oss, *gl;
        } oss[] = {
                { "D1", "OSS Duitsland hoog 19%", 0.19, "E", "N", "DE", "1520" },
                { "D2", "OSS Duitsland laag 7%", 0.07, "E", "N", "DE", "1520" },
                { "F1", "OSS Frankrijk hoog 20%", 0.20, "E", "N", "FR", "1520" },
                { "F2", "OSS Frankrijk laag 5,5%", 0.055, "E", "N", "FR", "1520" },
                { "F3", "OSS Frankrijk laag 10%", 0.10, "E", "N", "FR", "1520" },
                { "F4", "OSS Frankrijk 2,1%", 0.021, "E", "N", "FR", "1520" },
                { "B1", "OSS Belgie hoog 21%", 0.21, "E", "N", "BE", "1520" },
                { "B2", "OSS Belgie laag 6%", 0.06, "E", "N", "BE", "1520" },
                { "B3", "OSS Belgie 12%", 0.12, "E", "N", "BE", "1520" },
                { "A1", "OSS Oostenrijk hoog 20%", 0.20, "E", "N", "AT", "1520" },
                { "A2", "OSS Oostenrijk laag 10%", 0.10, "E", "N", "AT", "1520" },
                { "A3", "OSS Oostenrijk 13%", 0.13, "E", "N", "AT", "1520" },
                { "I1", "OSS Italie hoog 22%", 0.22, "E", "N", "IT", "1520" },
                { "I2", "OSS Italie laag 10%", 0.10, "E", "N", "IT", "1520" },
                { "I3", "OSS Italie 5%", 0.05, "E", "N", "IT", "1520" },
                { "I4", "OSS Italie 4%", 0.04, "E", "N", "IT", "1520" },
                { "E1", "OSS Spanje hoog 21%", 0.21, "E", "N", "ES", "1520" },
                { "E2", "OSS Spanje laag 10%", 0.10, "E", "N", "ES", "1520" },
                { "E3", "OSS Spanje 4%", 0.04, "E", "N", "ES", "1520" },
        };
        size_t i;

        for (i = 0; i < sizeof(gls) / sizeof(gls[0]); i++)
                seed(d, XF_E_GLACCOUNTS,
                     json_pack("{s:s,s:s,s:i,s:s,s:s,s:b}", "Code", gls[i].code, "Description",
                               gls[i].desc, "Type", gls[i].type, "BalanceType", gls[i].bt,
                               "BalanceSide", gls[i].side, "IsBlocked", 0));

        seed_vat(d, "0", "0% btw binnenland", 0.0, "B", "S", "N", NULL, false, NULL, "1510");
        seed_vat(d, "1", "Verkopen laag 9%", 0.09, "E", "S", "N", NULL, false, NULL, "1510");
        seed_vat(d, "2", "Verkopen hoog 21%", 0.21, "E", "S", "N", NULL, false, NULL, "1500");
        seed_vat(d, "5", "Inkopen hoog 21%", 0.21, "E", "P", "N", NULL, false, NULL, "1500");
        seed_vat(d, "ICP", "Leveringen binnen EU (ICP)", 0.0, "B", "S", "L", NULL, false,
                 "Intracommunautaire levering, btw verlegd (art. 138 Btw-richtlijn)", "1500");
        seed_vat(d, "EXP", "Leveringen buiten EU (export)", 0.0, "B", "S", "N", NULL, false,
                 "Export, 0% btw", "1500");
        seed_vat(d, "VL", "Btw verlegd binnenland", 0.0, "B", "S", "N", NULL, true, "Btw verlegd",
                 "1500");
        seed_vat(d, "GB", "Geen btw", 0.0, "N", "S", "N", NULL, false, NULL, "1500");
        for (i = 0; i < sizeof(oss) / sizeof(oss[0]); i++)
                seed_vat(d, oss[i].code, oss[i].desc, oss[i].pct, oss[i].type, "S", oss[i].listing,
                         oss[i].oss, false, NULL, oss[i].gl);

        seed(d, XF_E_ITEMGROUPS,
             json_pack("{s:s,s:s,s:i,s:s?,s:s,s:s?,s:s,s:s?,s:s}", "Code", "001", "Description",
                       "Algemeen", "IsDefault", 1, "GLRevenue", gl_id(d, "8000"), "GLRevenueCode",
                       "8000", "GLCosts", gl_id(d, "7000"), "GLCostsCode", "7000", "GLStock",
                       gl_id(d, "3000"), "GLStockCode", "3000"));
        seed(d, XF_E_ITEMGROUPS,
             json_pack("{s:s,s:s,s:i,s:s?,s:s,s:s?,s:s,s:s?,s:s}", "Code", "100", "Description",
                       "Handelsgoederen", "IsDefault", 0, "GLRevenue", gl_id(d, "8000"),
                       "GLRevenueCode", "8000", "GLCosts", gl_id(d, "7000"), "GLCostsCode", "7000",
                       "GLStock", gl_id(d, "3000"), "GLStockCode", "3000"));
        seed(d, XF_E_ITEMGROUPS,
             json_pack("{s:s,s:s,s:i,s:s?,s:s,s:s?,s:s,s:n,s:n}", "Code", "200", "Description",
                       "Verzendkosten en diensten", "IsDefault", 0, "GLRevenue", gl_id(d, "8100"),
                       "GLRevenueCode", "8100", "GLCosts", gl_id(d, "7000"), "GLCostsCode", "7000",
                       "GLStock", "GLStockCode"));

        {
                static const struct {
                        const char *code, *desc, *method;
                        int days;
                } pcs[] = {
                        { "00", "Direct", "B", 0 },
                        { "14", "14 dagen", "B", 14 },
                        { "21", "21 dagen", "B", 21 },
                        { "30", "30 dagen", "B", 30 },
                        { "IC", "Incasso", "I", 14 },
                        { "ID", "iDEAL (vooruitbetaald)", "K", 0 },
                        { "PP", "PayPal (vooruitbetaald)", "K", 0 },
                };

                for (i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++)
                        seed(d, XF_E_PAYMENTCONDITIONS,
                             json_pack("{s:s,s:s,s:i,s:i,s:i,s:f,s:s,s:f}", "Code", pcs[i].code,
                                       "Description", pcs[i].desc, "PaymentDays", pcs[i].days,
                                       "PaymentEndOfMonths", 0, "DiscountPaymentDays", 0,
                                       "DiscountPercentage", 0.0, "PaymentMethod", pcs[i].method,
                                       "Percentage", 0.0));
        }
        {
                static const struct {
                        const char *code, *desc, *tdesc, *gl;
                        int type;
                } js[] = {
                        { "10", "Kas", "Kas", NULL, 10 },
                        { "20", "Bank", "Bank", "1100", 12 },
                        { "70", "Verkoopboek", "Verkoopboek", "1300", 20 },
                        { "71", "Verkoopboek webshop", "Verkoopboek", "1300", 20 },
                        { "90", "Memoriaal", "Memoriaal", NULL, 90 },
                        { "91", "Memoriaal webshopbetalingen", "Memoriaal", NULL, 90 },
                };

                for (i = 0; i < sizeof(js) / sizeof(js[0]); i++)
                        seed(d, XF_E_JOURNALS,
                             json_pack("{s:s,s:s,s:i,s:s,s:s?}", "Code", js[i].code, "Description",
                                       js[i].desc, "Type", js[i].type, "TypeDescription",
                                       js[i].tdesc, "GLAccount",
                                       js[i].gl ? gl_id(d, js[i].gl) : NULL));
        }
}

struct xf_div *xf_div_new(long number)
{
        struct xf_div *d = calloc(1, sizeof(*d));
        int i;

        if (d == NULL)
                return NULL;
        d->number = number;
        for (i = 0; i < XF_E_COUNT; i++)
                d->sets[i] = json_array();
        d->invoice_numbers = json_object();
        d->stats = json_object();
        d->next_order_number = 1;
        d->next_invoice_order_number = 1;
        d->fault_status = 500;
        d->division_status = 1;
        seed_division(d);
        return d;
}

void xf_div_free(struct xf_div *d)
{
        int i;

        if (d == NULL)
                return;
        for (i = 0; i < XF_E_COUNT; i++)
                json_decref(d->sets[i]);
        json_decref(d->invoice_numbers);
        json_decref(d->stats);
        free(d);
}

/* ---- body decoding ---------------------------------------------------------------- */

/*
 * Copies the settable members of @body into @e, checking names and JSON types against
 * the schema. Returns 0, or 400 with @err set for a body the OData reader would refuse.
 * @put selects the PUT writability; members that are known but read-only are ignored,
 * except POST-only ones on PUT, which are reported in @msgs when their value changes.
 */
static int decode_body(int ent, json_t *body, json_t *e, bool put, json_t *msgs, char *err,
                       size_t errlen)
{
        const char *k;
        json_t *v;

        json_object_foreach (body, k, v) {
                const struct xf_field *f = xf_field_find(ent, k);
                json_t *conv = NULL;

                if (f == NULL) {
                        if (strcmp(k, "__metadata") == 0)
                                continue;
                        snprintf(err, errlen,
                                 "Error processing request stream. The property name '%s' "
                                 "specified for type '%s' is not valid.",
                                 k, xf_entities[ent].model);
                        return 400;
                }
                if (f->type == XF_T_LINES || f->type == XF_T_COLL) {
                        if (!json_is_array(v) && !json_is_null(v)) {
                                snprintf(err, errlen, "%s", SHAPE_MSG);
                                return 400;
                        }
                        if (put) {
                                snprintf(err, errlen,
                                         "Error processing request stream. Deep updates are "
                                         "not supported in PUT requests.");
                                return 400;
                        }
                        continue;
                }
                if (!json_is_null(v)) {
                        bool ok = true;

                        switch (f->type) {
                        case XF_T_STR: ok = json_is_string(v); break;
                        case XF_T_NUM:
                                ok = json_is_number(v);
                                if (ok)
                                        conv = json_real(json_number_value(v));
                                break;
                        case XF_T_INT:
                        case XF_T_BYTE:
                                ok = json_is_integer(v) ||
                                     (json_is_real(v) &&
                                      json_real_value(v) == floor(json_real_value(v)) &&
                                      fabs(json_real_value(v)) < 2147483648.0);
                                if (ok)
                                        conv = json_integer((json_int_t)json_number_value(v));
                                if (ok && f->type == XF_T_BYTE &&
                                    (json_number_value(v) < 0 || json_number_value(v) > 255))
                                        ok = false;
                                break;
                        case XF_T_BOOL: ok = json_is_boolean(v); break;
                        case XF_T_GUID:
                                ok = json_is_string(v) && xf_guid_valid(json_string_value(v));
                                if (json_is_string(v) && !ok) {
                                        snprintf(err, errlen, "Unrecognized Guid format.");
                                        return 400;
                                }
                                break;
                        case XF_T_DATE: {
                                int64_t ms;
                                char buf[40];

                                ok = json_is_string(v) &&
                                     xf_date_parse(json_string_value(v), &ms) == 0;
                                if (ok)
                                        conv = json_string(xf_date_str(ms, buf, sizeof(buf)));
                                break;
                        }
                        default: break;
                        }
                        if (!ok) {
                                json_decref(conv);
                                snprintf(err, errlen,
                                         "Error processing request stream. Type conversion "
                                         "failed for property '%s'.",
                                         k);
                                return 400;
                        }
                }
                if (!(f->flags & (put ? XF_F_PUT : XF_F_POST))) {
                        if (put && (f->flags & XF_F_POST)) {
                                json_t *old = json_object_get(e, k);
                                json_t *nv = conv ? conv : v;

                                if (!json_equal(old, nv) &&
                                    !(json_is_string(old) && json_is_string(nv) &&
                                      strcasecmp(json_string_value(old), json_string_value(nv)) ==
                                              0))
                                        add_msg(msgs,
                                                "%s: for an existing record this value can not "
                                                "be changed",
                                                f->caption);
                        }
                        json_decref(conv);
                        continue;
                }
                if (f->maxlen > 0 && json_is_string(v) &&
                    strlen(json_string_value(v)) > (size_t)f->maxlen)
                        add_msg(msgs, "%s: the value is longer than %d characters", f->caption,
                                f->maxlen);
                if (conv != NULL)
                        json_object_set_new(e, k, conv);
                else
                        json_object_set(e, k, v);
        }
        return 0;
}

static bool str_empty(json_t *e, const char *k)
{
        const char *s = sget(e, k);
        char t[8];

        if (s == NULL)
                return true;
        xf_trim(s, t, sizeof(t));
        return t[0] == '\0';
}

/* Checks a GUID reference; fills the companion name field when @name_field is set. */
static void check_ref(struct xf_div *d, json_t *e, const char *field, int target,
                      const char *caption, const char *name_field, const char *src, json_t *msgs)
{
        json_t *t;

        if (!has(e, field))
                return;
        t = xf_find(d, target, xf_entities[target].key, sget(e, field));
        if (t == NULL) {
                add_msg(msgs, "Invalid reference: %s", caption);
                return;
        }
        if (name_field != NULL)
                json_object_set(e, name_field, json_object_get(t, src));
}

/* Resolves a VAT code on a sales document or master record; returns it or NULL. */
static json_t *check_vat(struct xf_div *d, json_t *e, const char *field, json_t *msgs)
{
        json_t *v;
        char padded[8], t[8];

        if (!has(e, field))
                return NULL;
        v = find_code(d, XF_E_VATCODES, sget(e, field));
        if (v == NULL || json_is_true(json_object_get(v, "IsBlocked")) ||
            strcmp(sget(v, "VATTransactionType"), "P") == 0) {
                add_msg(msgs, "Invalid reference: %s",
                        xf_field_find(XF_E_ITEMS, "SalesVatCode")->caption);
                return NULL;
        }
        xf_trim(sget(v, "Code"), t, sizeof(t));
        xf_pad_right(t, 3, padded, sizeof(padded));
        json_object_set_new(e, field, json_string(padded));
        return v;
}

static void check_payment_condition(struct xf_div *d, json_t *e, const char *field,
                                    const char *desc_field, json_t *msgs)
{
        json_t *pc;

        if (!has(e, field))
                return;
        pc = find_code(d, XF_E_PAYMENTCONDITIONS, sget(e, field));
        if (pc == NULL) {
                add_msg(msgs, "Invalid reference: Payment condition");
                return;
        }
        json_object_set(e, field, json_object_get(pc, "Code"));
        if (desc_field != NULL)
                json_object_set(e, desc_field, json_object_get(pc, "Description"));
}

/* Same record? PUT validates a copy, so compare keys rather than pointers. */
static bool same_key(int ent, json_t *a, json_t *b)
{
        const char *ka = sget(a, xf_entities[ent].key);
        const char *kb = sget(b, xf_entities[ent].key);

        return ka != NULL && kb != NULL && strcasecmp(ka, kb) == 0;
}

static bool code_taken(struct xf_div *d, int ent, const char *code, json_t *self)
{
        json_t *o = find_code(d, ent, code);

        return o != NULL && !same_key(ent, o, self);
}

/* ---- addresses and item prices ------------------------------------------------------ */

/* A country code must be two capitals; stored padded to 3 as on accounts. */
static void check_country(json_t *e, json_t *msgs)
{
        const char *country = sget(e, "Country");
        char t[8], p[8];

        if (country == NULL)
                return;
        xf_trim(country, t, sizeof(t));
        if (strlen(t) != 2 || !isupper((unsigned char)t[0]) || !isupper((unsigned char)t[1])) {
                add_msg(msgs, "Invalid reference: Country");
                return;
        }
        xf_pad_right(t, 3, p, sizeof(p));
        json_object_set_new(e, "Country", json_string(p));
}

/* Type 1 visit, 2 postal, 3 invoice, 4 delivery; a warehouse address is type 4 without an
 * account. Stricter than the reference, which marks nothing mandatory: Type, Account (or
 * Warehouse), AddressLine1 and Country. */
static void rules_address(struct xf_div *d, json_t *e, bool create, json_t *msgs)
{
        json_int_t type = json_integer_value(json_object_get(e, "Type"));
        json_t *acct;

        if (!has(e, "Type"))
                add_msg(msgs, "Mandatory: Type");
        else if (type < 1 || type > 4)
                add_msg(msgs, "Invalid value: Type");
        if (has(e, "Warehouse")) {
                if (type != 4)
                        add_msg(msgs, "Invalid value: Warehouse");
                if (has(e, "Account"))
                        add_msg(msgs, "Invalid value: Account");
        } else if (!has(e, "Account")) {
                add_msg(msgs, "Mandatory: Account");
        }
        check_ref(d, e, "Account", XF_E_ACCOUNTS, "Account", "AccountName", "Name", msgs);
        acct = xf_find(d, XF_E_ACCOUNTS, "ID", sget(e, "Account"));
        if (acct != NULL)
                json_object_set(e, "AccountIsSupplier", json_object_get(acct, "IsSupplier"));
        check_ref(d, e, "Contact", XF_E_CONTACTS, "Contact", "ContactName", "FullName", msgs);
        if (str_empty(e, "AddressLine1"))
                add_msg(msgs, "Mandatory: Address line 1");
        if (str_empty(e, "Country"))
                add_msg(msgs, "Mandatory: Country");
        else
                check_country(e, msgs);
        if (create && !has(e, "Main"))
                json_object_set_new(e, "Main", json_false());
}

static bool same_text(json_t *a, json_t *b, const char *k)
{
        char ta[256], tb[256];

        xf_trim(sget(a, k) ? sget(a, k) : "", ta, sizeof(ta));
        xf_trim(sget(b, k) ? sget(b, k) : "", tb, sizeof(tb));
        return strcasecmp(ta, tb) == 0;
}

/* Exact: "a POST first checks whether the same address already exists; if so it returns that
 * address's ID". Which fields it compares is not documented; these are. */
static json_t *same_address(struct xf_div *d, json_t *e)
{
        static const char *const k[] = { "Account",      "Warehouse",    "AddressLine1",
                                         "AddressLine2", "AddressLine3", "Postcode",
                                         "City",         "State",        "Country" };
        size_t i, j;
        json_t *a;

        json_array_foreach (d->sets[XF_E_ADDRESSES], i, a) {
                bool same = json_equal(json_object_get(a, "Type"), json_object_get(e, "Type"));

                for (j = 0; same && j < sizeof(k) / sizeof(k[0]); j++)
                        same = same_text(a, e, k[j]);
                if (same)
                        return a;
        }
        return NULL;
}

/* A document's delivery address: a type-4 address of the account it is delivered to. */
static void check_delivery_address(struct xf_div *d, json_t *e, const char *field,
                                   const char *caption, json_t *msgs)
{
        json_t *a;
        const char *to = sget(e, "DeliverTo") ? sget(e, "DeliverTo") : sget(e, "OrderedBy");

        if (!has(e, field))
                return;
        a = xf_find(d, XF_E_ADDRESSES, "ID", sget(e, field));
        if (a == NULL || json_integer_value(json_object_get(a, "Type")) != 4 ||
            sget(a, "Account") == NULL || to == NULL || strcasecmp(sget(a, "Account"), to) != 0)
                add_msg(msgs, "Invalid reference: %s", caption);
}

static void rules_item_price(struct xf_div *d, json_t *e, bool create, json_t *msgs)
{
        json_t *item = NULL;

        if (!has(e, "Item")) {
                add_msg(msgs, "Mandatory: Item");
        } else {
                item = xf_find(d, XF_E_ITEMS, "ID", sget(e, "Item"));
                if (item == NULL) {
                        add_msg(msgs, "Invalid reference: Item");
                } else {
                        json_object_set(e, "ItemCode", json_object_get(item, "Code"));
                        json_object_set(e, "ItemDescription", json_object_get(item, "Description"));
                        json_object_set(e, "DefaultItemUnit", json_object_get(item, "Unit"));
                        json_object_set(e, "DefaultItemUnitDescription",
                                        json_object_get(item, "UnitDescription"));
                }
        }
        if (!has(e, "Price"))
                add_msg(msgs, "Mandatory: Price");
        check_ref(d, e, "Account", XF_E_ACCOUNTS, "Account", "AccountName", "Name", msgs);
        if (!has(e, "Currency")) {
                if (create)
                        json_object_set_new(e, "Currency", json_string("EUR"));
        } else if (strcmp(sget(e, "Currency"), "EUR") != 0) {
                add_msg(msgs, "Invalid reference: Currency");
        }
        if (create && !has(e, "Unit") && item != NULL)
                json_object_set(e, "Unit", json_object_get(item, "Unit"));
        if (create && !has(e, "Quantity"))
                json_object_set_new(e, "Quantity", json_real(0));
        if (create && !has(e, "NumberOfItemsPerUnit"))
                json_object_set_new(e, "NumberOfItemsPerUnit", json_real(1));
        if (json_number_value(json_object_get(e, "Quantity")) < 0)
                add_msg(msgs, "Invalid value: Quantity");
        if (item != NULL && same_text(e, item, "Unit"))
                json_object_set(e, "UnitDescription", json_object_get(item, "UnitDescription"));
}

static int64_t date_or(json_t *e, const char *k, int64_t dflt)
{
        int64_t ms;

        return sget(e, k) && xf_date_value(sget(e, k), &ms) ? ms : dflt;
}

/* A usual sales price (no account, division currency, the item's unit, no minimum quantity)
 * that is active today (EndDate inclusive). */
static bool usual_price_now(json_t *p, json_t *item, int64_t today)
{
        return !has(p, "Account") &&
               strcmp(sget(p, "Currency") ? sget(p, "Currency") : "", "EUR") == 0 &&
               json_number_value(json_object_get(p, "Quantity")) == 0 &&
               same_text(p, item, "Unit") && date_or(p, "StartDate", INT64_MIN) <= today &&
               date_or(p, "EndDate", INT64_MAX) >= today;
}

/* StandardSalesPrice is GET only (research §1): it shows the usual row active today, the one
 * with the latest StartDate (no StartDate counts as the earliest), 0 when there is none. */
static void item_price_refresh(struct xf_div *d, const char *item_id)
{
        json_t *item = xf_find(d, XF_E_ITEMS, "ID", item_id);
        int64_t today = today_ms(), best_start = INT64_MIN;
        json_t *best = NULL, *p;
        size_t i;

        if (item == NULL)
                return;
        json_array_foreach (d->sets[XF_E_SALESITEMPRICES], i, p) {
                const char *pi = sget(p, "Item");

                if (pi == NULL || strcasecmp(pi, item_id) != 0 || !usual_price_now(p, item, today))
                        continue;
                if (best == NULL || date_or(p, "StartDate", INT64_MIN) >= best_start) {
                        best = p;
                        best_start = date_or(p, "StartDate", INT64_MIN);
                }
        }
        json_object_set_new(
                item, "StandardSalesPrice",
                json_real(best ? json_number_value(json_object_get(best, "Price")) : 0));
}

/* A new item comes with a usual price row of 0 (picqer #558: "one at 0, created together
 * with the item"). */
static void item_price_row(struct xf_div *d, json_t *item)
{
        json_t *p = ent_start(d, XF_E_SALESITEMPRICES);

        json_object_set(p, "Item", json_object_get(item, "ID"));
        json_object_set(p, "ItemCode", json_object_get(item, "Code"));
        json_object_set(p, "ItemDescription", json_object_get(item, "Description"));
        json_object_set_new(p, "Price", json_real(0));
        json_object_set_new(p, "Currency", json_string("EUR"));
        json_object_set_new(p, "Quantity", json_real(0));
        json_object_set_new(p, "NumberOfItemsPerUnit", json_real(1));
        json_object_set(p, "Unit", json_object_get(item, "Unit"));
        json_object_set(p, "UnitDescription", json_object_get(item, "UnitDescription"));
        json_object_set(p, "DefaultItemUnit", json_object_get(item, "Unit"));
        json_object_set(p, "DefaultItemUnitDescription", json_object_get(item, "UnitDescription"));
        json_array_append_new(d->sets[XF_E_SALESITEMPRICES], p);
}

/* What a stored write changes elsewhere: item prices, the one main address per type. */
static void order_totals(struct xf_div *d, const char *order_id);

static void after_write(struct xf_div *d, int ent, json_t *e, bool create, const char *old_item)
{
        size_t i;
        json_t *a;

        if (ent == XF_E_SALESORDERLINES) {
                order_totals(d, sget(e, "OrderID"));
        } else if (ent == XF_E_ITEMS) {
                if (create)
                        item_price_row(d, e);
                item_price_refresh(d, sget(e, "ID"));
        } else if (ent == XF_E_SALESITEMPRICES) {
                item_price_refresh(d, sget(e, "Item"));
                if (old_item != NULL)
                        item_price_refresh(d, old_item);
        } else if (ent == XF_E_ADDRESSES && json_is_true(json_object_get(e, "Main"))) {
                json_array_foreach (d->sets[XF_E_ADDRESSES], i, a) {
                        if (a != e && same_text(a, e, "Account") &&
                            json_equal(json_object_get(a, "Type"), json_object_get(e, "Type")))
                                json_object_set_new(a, "Main", json_false());
                }
        }
}

int xf_decode(int ent, json_t *body, json_t *e, bool put, json_t *msgs, char *err, size_t errlen)
{
        return decode_body(ent, body, e, put, msgs, err, errlen);
}

/* ---- per-entity rules --------------------------------------------------------------- */

static void rules_account(struct xf_div *d, json_t *e, bool create, json_t *body, json_t *msgs)
{
        const char *status = sget(e, "Status");
        const char *country = sget(e, "Country");

        if (create && str_empty(e, "Name"))
                add_msg(msgs, "Mandatory: Name");
        if (!create && json_object_get(body, "Code") != NULL) {
                /* Exact refuses any PUT of Code, even with the unchanged value. */
                add_msg(msgs, "Already exists: Code");
        }
        if (create) {
                char trimmed[64], padded[64];
                const char *code = sget(e, "Code");

                if (code != NULL)
                        xf_trim(code, trimmed, sizeof(trimmed));
                else
                        trimmed[0] = '\0';
                if (trimmed[0] == '\0') {
                        /* highest numeric code + 1 */
                        long long max = 0;
                        size_t i;
                        json_t *a;

                        json_array_foreach (d->sets[XF_E_ACCOUNTS], i, a) {
                                const char *c = sget(a, "Code");
                                long long v = c ? strtoll(c, NULL, 10) : 0;

                                if (v > max)
                                        max = v;
                        }
                        snprintf(trimmed, sizeof(trimmed), "%lld", max + 1);
                } else {
                        size_t i, n = strlen(trimmed);
                        bool digits = n <= 18;

                        for (i = 0; i < n && digits; i++)
                                digits = isdigit((unsigned char)trimmed[i]) != 0;
                        if (!digits)
                                add_msg(msgs, "Invalid value: Code");
                }
                xf_pad_left(trimmed, 18, padded, sizeof(padded));
                json_object_set_new(e, "Code", json_string(padded));
                if (code_taken(d, XF_E_ACCOUNTS, padded, e))
                        add_msg(msgs, "Already exists: Code");
                json_object_set_new(e, "IsSales", json_true());
                json_object_set_new(e, "Type", json_string("A"));
                if (!has(e, "IsSupplier"))
                        json_object_set_new(e, "IsSupplier", json_false());
                if (!has(e, "Blocked"))
                        json_object_set_new(e, "Blocked", json_false());
        }
        if (status != NULL && strcmp(status, "A") != 0 && strcmp(status, "S") != 0 &&
            strcmp(status, "P") != 0 && strcmp(status, "C") != 0)
                add_msg(msgs, "Invalid value: Status");
        if (country != NULL) {
                char t[8], p[8];

                xf_trim(country, t, sizeof(t));
                if (strlen(t) != 2 || !isupper((unsigned char)t[0]) ||
                    !isupper((unsigned char)t[1])) {
                        add_msg(msgs, "Invalid reference: Country");
                } else {
                        xf_pad_right(t, 3, p, sizeof(p));
                        json_object_set_new(e, "Country", json_string(p));
                }
        }
        (void)check_vat(d, e, "SalesVATCode", msgs);
        check_payment_condition(d, e, "PaymentConditionSales", NULL, msgs);
        check_ref(d, e, "GLAR", XF_E_GLACCOUNTS, "G/L account receivable", NULL, NULL, msgs);
        check_ref(d, e, "InvoiceAccount", XF_E_ACCOUNTS, "Invoice account", NULL, NULL, msgs);
        check_ref(d, e, "MainContact", XF_E_CONTACTS, "Main contact", NULL, NULL, msgs);
        if (has(e, "PriceList"))
                add_msg(msgs, "Invalid reference: Price list");
}

static void rules_contact(struct xf_div *d, json_t *e, bool create, json_t *msgs)
{
        char full[256];
        const char *fn = sget(e, "FirstName");
        const char *ln = sget(e, "LastName");

        if (create && !has(e, "Account"))
                add_msg(msgs, "Mandatory: Account");
        check_ref(d, e, "Account", XF_E_ACCOUNTS, "Account", "AccountName", "Name", msgs);
        if (str_empty(e, "FirstName") && str_empty(e, "LastName"))
                add_msg(msgs, "Mandatory: Last name");
        snprintf(full, sizeof(full), "%s%s%s", fn ? fn : "", fn && ln ? " " : "", ln ? ln : "");
        json_object_set_new(e, "FullName", json_string(full));
}

static void rules_item(struct xf_div *d, json_t *e, bool create, json_t *msgs)
{
        json_t *grp = NULL;
        json_t *vat;

        if (str_empty(e, "Code"))
                add_msg(msgs, "Mandatory: Code");
        else if (code_taken(d, XF_E_ITEMS, sget(e, "Code"), e))
                add_msg(msgs, "Already exists: Code");
        if (str_empty(e, "Description"))
                add_msg(msgs, "Mandatory: Description");
        if (has(e, "ItemGroup")) {
                grp = xf_find(d, XF_E_ITEMGROUPS, "ID", sget(e, "ItemGroup"));
                if (grp == NULL)
                        add_msg(msgs, "Invalid reference: Item group");
        } else if (create) {
                size_t i;
                json_t *g;

                json_array_foreach (d->sets[XF_E_ITEMGROUPS], i, g) {
                        if (json_integer_value(json_object_get(g, "IsDefault")) == 1)
                                grp = g;
                }
                if (grp != NULL)
                        json_object_set(e, "ItemGroup", json_object_get(grp, "ID"));
        }
        if (grp != NULL) {
                json_object_set(e, "ItemGroupCode", json_object_get(grp, "Code"));
                json_object_set(e, "ItemGroupDescription", json_object_get(grp, "Description"));
        }
        vat = check_vat(d, e, "SalesVatCode", msgs);
        if (vat != NULL)
                json_object_set(e, "SalesVatCodeDescription", json_object_get(vat, "Description"));
        check_ref(d, e, "GLRevenue", XF_E_GLACCOUNTS, "Revenue account", NULL, NULL, msgs);
        check_ref(d, e, "GLCosts", XF_E_GLACCOUNTS, "Cost account", NULL, NULL, msgs);
        if (create) {
                if (!has(e, "IsSalesItem"))
                        json_object_set_new(e, "IsSalesItem", json_true());
                if (!has(e, "IsPurchaseItem"))
                        json_object_set_new(e, "IsPurchaseItem", json_false());
                if (!has(e, "IsStockItem"))
                        json_object_set_new(e, "IsStockItem", json_false());
                if (!has(e, "IsWebshopItem"))
                        json_object_set_new(e, "IsWebshopItem", json_integer(0));
                if (!has(e, "Unit"))
                        json_object_set_new(e, "Unit", json_string("pc"));
                json_object_set_new(e, "UnitDescription", json_string("Stuk"));
                json_object_set_new(e, "Stock", json_real(0));
        }
}

static void rules_simple_code(struct xf_div *d, int ent, json_t *e, json_t *msgs)
{
        if (str_empty(e, "Code"))
                add_msg(msgs, "Mandatory: Code");
        else if (code_taken(d, ent, sget(e, "Code"), e))
                add_msg(msgs, "Already exists: Code");
        if (str_empty(e, "Description"))
                add_msg(msgs, "Mandatory: Description");
}

static void rules_vatcode(struct xf_div *d, json_t *e, bool create, json_t *body, json_t *msgs)
{
        json_t *pcts = json_object_get(body, "VATPercentages");
        const char *code = sget(e, "Code");

        rules_simple_code(d, XF_E_VATCODES, e, msgs);
        if (code != NULL) {
                char t[8], p[8];

                xf_trim(code, t, sizeof(t));
                xf_pad_right(t, 3, p, sizeof(p));
                json_object_set_new(e, "Code", json_string(p));
        }
        if (create) {
                double pct = 0;

                if (json_is_array(pcts) && json_array_size(pcts) > 0) {
                        json_t *p0 = json_array_get(pcts, 0);
                        json_t *pv = json_object_get(p0, "Percentage");

                        if (!json_is_object(p0) || (pv != NULL && !json_is_number(pv)))
                                add_msg(msgs, "Invalid value: VAT percentages");
                        else if (pv != NULL)
                                pct = json_number_value(pv);
                }
                json_object_set_new(e, "Percentage", json_real(pct));
                if (!has(e, "Type"))
                        json_object_set_new(e, "Type", json_string("E"));
                if (!has(e, "VATTransactionType"))
                        json_object_set_new(e, "VATTransactionType", json_string("S"));
                if (!has(e, "IsBlocked"))
                        json_object_set_new(e, "IsBlocked", json_false());
                if (!has(e, "Charged"))
                        json_object_set_new(e, "Charged", json_false());
                if (!has(e, "EUSalesListing"))
                        json_object_set_new(e, "EUSalesListing", json_string("N"));
        }
        check_ref(d, e, "GLToPay", XF_E_GLACCOUNTS, "G/L account to pay", NULL, NULL, msgs);
        check_ref(d, e, "GLToClaim", XF_E_GLACCOUNTS, "G/L account to claim", NULL, NULL, msgs);
}

/* ---- sales documents ---------------------------------------------------------------- */

struct doc_kind {
        int head;
        int line;
        const char *lines_prop;
        const char *key;
        const char *vat_field; /* VATAmount or VATAmountFC */
        bool invoice;
};

static const struct doc_kind k_order = { XF_E_SALESORDERS, XF_E_SALESORDERLINES, "SalesOrderLines",
                                         "OrderID",        "VATAmount",          false };
static const struct doc_kind k_invoice = { XF_E_SALESINVOICES,  XF_E_SALESINVOICELINES,
                                           "SalesInvoiceLines", "InvoiceID",
                                           "VATAmountFC",       true };

struct totals {
        double excl;
        double vat;
        double discount;
};

/*
 * Validates one line and computes its amounts as Exact does: the line amount is
 * Quantity * UnitPrice * (1 - Discount) rounded to cents, the VAT is that amount times the
 * code's percentage, again rounded per line (half away from zero).
 */
static void line_rules(struct xf_div *d, const struct doc_kind *k, json_t *head, json_t *l,
                       json_t *acct, json_t *msgs, struct totals *t)
{
        json_t *item = NULL;
        json_t *vat = NULL;
        double qty, price, disc, gross, amount, vat_amount, pct;
        bool incl;

        if (has(l, "Item")) {
                item = xf_find(d, XF_E_ITEMS, "ID", sget(l, "Item"));
                if (item == NULL)
                        add_msg(msgs, "Invalid reference: Item");
        } else if (!k->invoice || !has(l, "GLAccount")) {
                add_msg(msgs, "Mandatory: Item");
        }
        if (item != NULL) {
                json_object_set(l, "ItemCode", json_object_get(item, "Code"));
                json_object_set(l, "ItemDescription", json_object_get(item, "Description"));
                if (!has(l, "Description"))
                        json_object_set(l, "Description", json_object_get(item, "Description"));
                if (!has(l, "UnitCode"))
                        json_object_set(l, "UnitCode", json_object_get(item, "Unit"));
        }
        if (k->invoice) {
                if (has(l, "GLAccount")) {
                        check_ref(d, l, "GLAccount", XF_E_GLACCOUNTS, "G/L account", NULL, NULL,
                                  msgs);
                } else if (item != NULL) {
                        json_t *gl = json_object_get(item, "GLRevenue");

                        if (json_is_null(gl) || gl == NULL) {
                                json_t *grp = xf_find(d, XF_E_ITEMGROUPS, "ID",
                                                      sget(item, "ItemGroup"));

                                gl = json_object_get(grp, "GLRevenue");
                        }
                        if (gl == NULL || json_is_null(gl))
                                add_msg(msgs, "Mandatory: G/L account");
                        else
                                json_object_set(l, "GLAccount", gl);
                }
        }
        if (!has(l, "Quantity"))
                add_msg(msgs, "Mandatory: Quantity");
        if (!has(l, "UnitPrice")) {
                if (has(l, "NetPrice") && !has(l, "Discount"))
                        json_object_set(l, "UnitPrice", json_object_get(l, "NetPrice"));
                else if (item != NULL && has(item, "StandardSalesPrice"))
                        json_object_set(l, "UnitPrice",
                                        json_object_get(item, "StandardSalesPrice"));
                else
                        add_msg(msgs, "Mandatory: Unit price");
        }
        if (!has(l, "Discount"))
                json_object_set_new(l, "Discount", json_real(0));
        disc = json_number_value(json_object_get(l, "Discount"));
        if (disc > 1.0 || disc < -1.0)
                add_msg(msgs, "Invalid value: Discount");
        if (!has(l, "VATCode")) {
                const char *dflt = item ? sget(item, "SalesVatCode") : NULL;

                if (dflt == NULL && acct != NULL)
                        dflt = sget(acct, "SalesVATCode");
                if (dflt != NULL)
                        json_object_set_new(l, "VATCode", json_string(dflt));
                else
                        add_msg(msgs, "Mandatory: VAT code");
        }
        if (has(l, "VATCode"))
                vat = check_vat(d, l, "VATCode", msgs);
        if (!has(l, "DeliveryDate") && !k->invoice)
                json_object_set(l, "DeliveryDate", json_object_get(head, "DeliveryDate"));

        qty = json_number_value(json_object_get(l, "Quantity"));
        price = json_number_value(json_object_get(l, "UnitPrice"));
        pct = vat ? json_number_value(json_object_get(vat, "Percentage")) : 0;
        incl = vat != NULL && strcmp(sget(vat, "Type"), "I") == 0;
        json_object_set_new(l, "NetPrice", json_real(price * (1.0 - disc)));
        gross = xf_round2(qty * price * (1.0 - disc));
        if (has(l, k->vat_field)) {
                vat_amount = xf_round2(json_number_value(json_object_get(l, k->vat_field)));
        } else if (incl) {
                vat_amount = xf_round2(gross * pct / (1.0 + pct));
        } else {
                vat_amount = xf_round2(gross * pct);
        }
        amount = incl ? xf_round2(gross - vat_amount) : gross;
        json_object_set_new(l, "AmountFC", json_real(amount));
        json_object_set_new(l, "AmountDC", json_real(amount));
        json_object_set_new(l, "VATPercentage", json_real(pct));
        json_object_set_new(l, k->vat_field, json_real(vat_amount));
        if (k->invoice)
                json_object_set_new(l, "VATAmountDC", json_real(vat_amount));
        t->excl += amount;
        t->vat += vat_amount;
        t->discount += qty * price * disc;
}

static bool number_taken(struct xf_div *d, int ent, const char *field, json_int_t n, json_t *self)
{
        size_t i;
        json_t *e;

        json_array_foreach (d->sets[ent], i, e) {
                json_t *v = json_object_get(e, field);

                if (!same_key(ent, e, self) && json_is_integer(v) && json_integer_value(v) == n)
                        return true;
        }
        return false;
}

static void doc_header_rules(struct xf_div *d, const struct doc_kind *k, json_t *e, bool create,
                             json_t *msgs, json_t **ret_acct)
{
        json_t *acct = NULL;

        if (create && !has(e, "OrderedBy"))
                add_msg(msgs, "Mandatory: Ordered by");
        if (has(e, "OrderedBy")) {
                acct = xf_find(d, XF_E_ACCOUNTS, "ID", sget(e, "OrderedBy"));
                if (acct == NULL)
                        add_msg(msgs, "Invalid reference: Ordered by");
                else
                        json_object_set(e, "OrderedByName", json_object_get(acct, "Name"));
        }
        if (create && k->invoice && !has(e, "InvoiceTo"))
                add_msg(msgs, "Mandatory: Invoice to");
        if (create && acct != NULL) {
                if (!has(e, "InvoiceTo"))
                        json_object_set(e, "InvoiceTo", json_object_get(e, "OrderedBy"));
                if (!has(e, "DeliverTo"))
                        json_object_set(e, "DeliverTo", json_object_get(e, "OrderedBy"));
        }
        check_ref(d, e, "InvoiceTo", XF_E_ACCOUNTS, "Invoice to", "InvoiceToName", "Name", msgs);
        check_ref(d, e, "DeliverTo", XF_E_ACCOUNTS, "Deliver to", "DeliverToName", "Name", msgs);
        check_delivery_address(d, e, k->invoice ? "DeliverToAddress" : "DeliveryAddress",
                               k->invoice ? "Deliver to address" : "Delivery address", msgs);
        if (!k->invoice) {
                check_ref(d, e, "OrderedByContactPerson", XF_E_CONTACTS,
                          "Ordered by contact person", NULL, NULL, msgs);
                check_ref(d, e, "DeliverToContactPerson", XF_E_CONTACTS,
                          "Deliver to contact person", NULL, NULL, msgs);
                check_ref(d, e, "InvoiceToContactPerson", XF_E_CONTACTS,
                          "Invoice to contact person", NULL, NULL, msgs);
        }
        if (create && !has(e, "PaymentCondition") && acct != NULL &&
            has(acct, "PaymentConditionSales"))
                json_object_set(e, "PaymentCondition",
                                json_object_get(acct, "PaymentConditionSales"));
        check_payment_condition(d, e, "PaymentCondition", "PaymentConditionDescription", msgs);
        if (!has(e, "Currency")) {
                if (create)
                        json_object_set_new(e, "Currency", json_string("EUR"));
        } else if (strcmp(sget(e, "Currency"), "EUR") != 0) {
                add_msg(msgs, "Invalid reference: Currency");
        }
        if (has(e, "OrderNumber")) {
                json_int_t n = json_integer_value(json_object_get(e, "OrderNumber"));

                if (n <= 0)
                        add_msg(msgs, "Invalid value: Order number");
                else if (number_taken(d, k->head, "OrderNumber", n, e))
                        add_msg(msgs, "Already exists: Order number");
        }
        *ret_acct = acct;
}

static long next_free(struct xf_div *d, int ent, const char *field, long start)
{
        size_t i;
        json_t *e;
        long max = start - 1;

        json_array_foreach (d->sets[ent], i, e) {
                json_t *v = json_object_get(e, field);

                if (json_is_integer(v) && json_integer_value(v) > max)
                        max = (long)json_integer_value(v);
        }
        return max + 1;
}

static int doc_create(struct xf_div *d, const struct doc_kind *k, json_t *body, json_t *e,
                      json_t *msgs, char *err, size_t errlen)
{
        json_t *lines_in = json_object_get(body, k->lines_prop);
        json_t *lines = json_array();
        json_t *acct = NULL;
        struct totals t = { 0, 0, 0 };
        int64_t today = today_ms();
        size_t i;
        json_t *lin;
        int r = 0;

        if (k->invoice) {
                if (str_empty(e, "Journal")) {
                        add_msg(msgs, "Mandatory: Journal");
                } else {
                        json_t *j = find_code(d, XF_E_JOURNALS, sget(e, "Journal"));

                        if (j == NULL || json_integer_value(json_object_get(j, "Type")) != 20)
                                add_msg(msgs, "Invalid reference: Journal");
                        else
                                json_object_set(e, "Journal", json_object_get(j, "Code"));
                }
        }
        doc_header_rules(d, k, e, true, msgs, &acct);
        if (k->invoice) {
                json_int_t type = has(e, "Type") ? json_integer_value(json_object_get(e, "Type"))
                                                 : 8020;

                if (type != 8020 && type != 8021 && type != 8023 && type != 8024)
                        add_msg(msgs, "Invalid value: Type");
                if ((type == 8023 || type == 8024) && !has(e, "Warehouse"))
                        add_msg(msgs, "Mandatory: Warehouse");
                if ((type == 8020 || type == 8021) && has(e, "Warehouse"))
                        add_msg(msgs, "Warehouse: only allowed on direct sales invoices");
                json_object_set_new(e, "Type", json_integer(type));
                json_object_set_new(e, "TypeDescription",
                                    json_string(type == 8021 || type == 8024 ? "Creditnota"
                                                                             : "Verkoopfactuur"));
                json_object_set_new(e, "Status", json_integer(20));
                json_object_set_new(e, "StatusDescription", json_string("Open"));
                if (!has(e, "InvoiceDate"))
                        now_date(e, "InvoiceDate", today);
                if (!has(e, "OrderDate"))
                        json_object_set(e, "OrderDate", json_object_get(e, "InvoiceDate"));
                if (!has(e, "DueDate")) {
                        json_t *pc = find_code(d, XF_E_PAYMENTCONDITIONS,
                                               sget(e, "PaymentCondition"));
                        int64_t base = today;
                        json_int_t days = json_integer_value(json_object_get(pc, "PaymentDays"));

                        xf_date_value(sget(e, "InvoiceDate"), &base);
                        now_date(e, "DueDate", base + (int64_t)days * 86400000);
                }
        } else {
                json_int_t ap = has(e, "ApprovalStatus")
                                        ? json_integer_value(json_object_get(e, "ApprovalStatus"))
                                        : 1;

                if (ap < 0 || ap > 2)
                        add_msg(msgs, "Invalid value: Approval status");
                json_object_set_new(e, "ApprovalStatus", json_integer(ap));
                json_object_set_new(e, "Status", json_integer(12));
                json_object_set_new(e, "StatusDescription", json_string("Open"));
                json_object_set_new(e, "DeliveryStatus", json_integer(12));
                json_object_set_new(e, "InvoiceStatus", json_integer(12));
                if (!has(e, "OrderDate"))
                        now_date(e, "OrderDate", today);
                if (!has(e, "DeliveryDate"))
                        json_object_set(e, "DeliveryDate", json_object_get(e, "OrderDate"));
        }
        if (!json_is_array(lines_in) || json_array_size(lines_in) == 0)
                add_msg(msgs, "Mandatory: %s",
                        k->invoice ? "Sales invoice lines" : "Sales order lines");
        json_array_foreach (lines_in, i, lin) {
                json_t *l;

                if (!json_is_object(lin)) {
                        snprintf(err, errlen, "%s", SHAPE_MSG);
                        r = 400;
                        goto out;
                }
                l = ent_start(d, k->line);
                json_array_append_new(lines, l);
                json_object_del(l, "Created");
                json_object_del(l, "Modified");
                r = decode_body(k->line, lin, l, false, msgs, err, errlen);
                if (r != 0)
                        goto out;
                json_object_set(l, k->key, json_object_get(e, k->key));
                json_object_set_new(l, "LineNumber", json_integer((json_int_t)i + 1));
                line_rules(d, k, e, l, acct, msgs, &t);
        }
        if (json_array_size(msgs) > 0)
                goto out;
        if (d->amount_skew_docs > 0 && json_array_size(lines) > 0) {
                /* fault: Exact books a VAT amount other than the shop's */
                json_t *l0 = json_array_get(lines, 0);
                double skew = (double)d->amount_skew_cents / 100.0;
                double v = json_number_value(json_object_get(l0, k->vat_field)) + skew;

                json_object_set_new(l0, k->vat_field, json_real(xf_round2(v)));
                if (k->invoice)
                        json_object_set_new(l0, "VATAmountDC", json_real(xf_round2(v)));
                t.vat += skew;
                d->amount_skew_docs--;
        }
        if (!has(e, "OrderNumber")) {
                long n = next_free(d, k->head, "OrderNumber", 1);

                json_object_set_new(e, "OrderNumber", json_integer(n));
        }
        if (k->invoice) {
                const char *jc = sget(e, "Journal");
                char jt[16];
                long base, last;
                json_t *cur;

                xf_trim(jc, jt, sizeof(jt));
                base = strtol(jt, NULL, 10) * 1000000L;
                cur = json_object_get(d->invoice_numbers, jt);
                last = cur ? (long)json_integer_value(cur) : base;
                json_object_set_new(d->invoice_numbers, jt, json_integer(last + 1));
                json_object_set_new(e, "InvoiceNumber", json_integer(last + 1));
                json_object_set_new(e, "VATAmountFC", json_real(xf_round2(t.vat)));
                json_object_set_new(e, "VATAmountDC", json_real(xf_round2(t.vat)));
        } else {
                json_object_set_new(e, "AmountDiscountExclVat", json_real(xf_round2(t.discount)));
        }
        json_object_set_new(e, "AmountFCExclVat", json_real(xf_round2(t.excl)));
        json_object_set_new(e, "AmountFC", json_real(xf_round2(t.excl + t.vat)));
        json_object_set_new(e, "AmountDC", json_real(xf_round2(t.excl + t.vat)));
        json_object_set_new(e, "AmountDiscount", json_real(xf_round2(t.discount)));
        json_array_foreach (lines, i, lin) {
                if (!k->invoice)
                        json_object_set(lin, "OrderNumber", json_object_get(e, "OrderNumber"));
                json_array_append(d->sets[k->line], lin);
        }
out:
        json_decref(lines);
        return r;
}

/* A sales order's header amounts from its stored lines, after a line was written. */
static void order_totals(struct xf_div *d, const char *order_id)
{
        json_t *o = order_id ? xf_find(d, XF_E_SALESORDERS, "OrderID", order_id) : NULL;
        json_t *lines, *l;
        double excl = 0, vat = 0, disc = 0;
        size_t i;

        if (o == NULL)
                return;
        lines = xf_lines_of(d, XF_E_SALESORDERS, order_id);
        json_array_foreach (lines, i, l) {
                excl += json_number_value(json_object_get(l, "AmountFC"));
                vat += json_number_value(json_object_get(l, "VATAmount"));
                disc += json_number_value(json_object_get(l, "Quantity")) *
                        json_number_value(json_object_get(l, "UnitPrice")) *
                        json_number_value(json_object_get(l, "Discount"));
        }
        json_decref(lines);
        json_object_set_new(o, "AmountFCExclVat", json_real(xf_round2(excl)));
        json_object_set_new(o, "AmountFC", json_real(xf_round2(excl + vat)));
        json_object_set_new(o, "AmountDC", json_real(xf_round2(excl + vat)));
        json_object_set_new(o, "AmountDiscount", json_real(xf_round2(disc)));
        json_object_set_new(o, "AmountDiscountExclVat", json_real(xf_round2(disc)));
        now_date(o, "Modified", xf_now_ms());
}

/* Invoiced or delivered (research §1.9): its lines stay, it is not deleted. */
static bool order_invoiced_or_delivered(json_t *o)
{
        return json_integer_value(json_object_get(o, "InvoiceStatus")) == 21 ||
               json_integer_value(json_object_get(o, "DeliveryStatus")) == 21;
}

/* Complete (Status 21) or invoiced: "updating a completed sales order through the API does
 * not succeed" (research §1.9); an invoiced one is treated the same (UNCONFIRMED). */
static bool order_closed(json_t *o)
{
        return json_integer_value(json_object_get(o, "Status")) == 21 ||
               json_integer_value(json_object_get(o, "InvoiceStatus")) == 21;
}

/* salesorder/SalesOrderLines POST and PUT (research §1.9: GET POST PUT DELETE, mandatory Item
 * and OrderID): a line of an open order, its amounts computed as on a deep insert; the
 * order's header amounts follow (after_write). */
static void rules_order_line(struct xf_div *d, json_t *l, json_t *body, bool create, json_t *msgs)
{
        const char *oid = sget(l, "OrderID");
        json_t *o = oid ? xf_find(d, XF_E_SALESORDERS, "OrderID", oid) : NULL;
        struct totals t = { 0, 0, 0 };
        json_t *acct;

        if (oid == NULL) {
                add_msg(msgs, "Mandatory: Order ID");
                return;
        }
        if (o == NULL) {
                add_msg(msgs, "Invalid reference: Order ID");
                return;
        }
        if (order_closed(o) || order_invoiced_or_delivered(o)) {
                add_msg(msgs,
                        "Sales order %lld is invoiced or delivered: its lines cannot be "
                        "changed",
                        (long long)json_integer_value(json_object_get(o, "OrderNumber")));
                return;
        }
        /* a VAT amount is kept only when this request posts one */
        if (json_object_get(body, "VATAmount") == NULL)
                json_object_del(l, "VATAmount");
        acct = xf_find(d, XF_E_ACCOUNTS, "ID", sget(o, "OrderedBy"));
        line_rules(d, &k_order, o, l, acct, msgs, &t);
        if (create) {
                json_t *lines = xf_lines_of(d, XF_E_SALESORDERS, oid), *x;
                json_int_t n = 0;
                size_t i;

                json_array_foreach (lines, i, x) {
                        json_int_t ln = json_integer_value(json_object_get(x, "LineNumber"));

                        if (ln > n)
                                n = ln;
                }
                json_decref(lines);
                json_object_set_new(l, "LineNumber", json_integer(n + 1));
                json_object_set(l, "OrderNumber", json_object_get(o, "OrderNumber"));
        }
}

/* ---- create / update / delete ------------------------------------------------------- */

static void run_rules(struct xf_div *d, int ent, json_t *e, bool create, json_t *body, json_t *msgs)
{
        switch (ent) {
        case XF_E_ACCOUNTS: rules_account(d, e, create, body, msgs); break;
        case XF_E_CONTACTS: rules_contact(d, e, create, msgs); break;
        case XF_E_ITEMS: rules_item(d, e, create, msgs); break;
        case XF_E_VATCODES: rules_vatcode(d, e, create, body, msgs); break;
        case XF_E_PAYMENTCONDITIONS:
        case XF_E_GLACCOUNTS: rules_simple_code(d, ent, e, msgs); break;
        case XF_E_ADDRESSES: rules_address(d, e, create, msgs); break;
        case XF_E_SALESITEMPRICES: rules_item_price(d, e, create, msgs); break;
        case XF_E_SALESORDERLINES: rules_order_line(d, e, body, create, msgs); break;
        case XF_E_SALESORDERS:
        case XF_E_SALESINVOICES: {
                json_t *acct;

                doc_header_rules(d, ent == XF_E_SALESORDERS ? &k_order : &k_invoice, e, false, msgs,
                                 &acct);
                break;
        }
        default: break;
        }
}

/* PrintedSalesInvoices: processing makes an open invoice (Status 20) final (50) and dates it:
 * InvoiceDate as posted, else today; DueDate follows from that date and the payment
 * condition's days (research §1.6; the recomputation of DueDate is our model, UNCONFIRMED).
 * A second print of a processed invoice is refused (UNCONFIRMED, research "treat as an
 * error"). SendEmailToCustomer is recorded on the print and reported as e-mail created. */
static void rules_print(struct xf_div *d, json_t *e, json_t *msgs)
{
        const char *id = sget(e, "InvoiceID");
        json_t *inv = id ? xf_find(d, XF_E_SALESINVOICES, "InvoiceID", id) : NULL;
        int64_t date = today_ms();
        json_t *pc;

        if (!id) {
                add_msg(msgs, "Mandatory: Invoice");
                return;
        }
        if (!inv) {
                add_msg(msgs, "Invalid reference: Invoice");
                return;
        }
        if (json_integer_value(json_object_get(inv, "Status")) != 20) {
                add_msg(msgs, "Invoice %s is already processed", id);
                return;
        }
        if (has(e, "InvoiceDate"))
                xf_date_value(sget(e, "InvoiceDate"), &date);
        date -= date % 86400000;
        json_object_set_new(inv, "Status", json_integer(50));
        json_object_set_new(inv, "StatusDescription", json_string("Processed"));
        now_date(inv, "InvoiceDate", date);
        pc = find_code(d, XF_E_PAYMENTCONDITIONS, sget(inv, "PaymentCondition"));
        now_date(inv, "DueDate",
                 date + (int64_t)json_integer_value(json_object_get(pc, "PaymentDays")) * 86400000);
        now_date(inv, "Modified", xf_now_ms());
        json_object_set_new(e, "DocumentCreationSuccess", json_string("Document created"));
        if (json_is_true(json_object_get(e, "SendEmailToCustomer")) && d->email_errors > 0) {
                /* fault: the invoice is final all the same, only its e-mail failed */
                d->email_errors--;
                json_object_set_new(e, "EmailCreationError",
                                    json_string("Email could not be created: no e-mail address"));
        } else if (json_is_true(json_object_get(e, "SendEmailToCustomer"))) {
                json_object_set_new(e, "EmailCreationSuccess", json_string("Email created"));
        }
}

/* The invoice body for one sales order, by quantity ordered (InvoiceMode 1). */
static json_t *order_invoice_body(struct xf_div *d, json_t *o, const char *journal)
{
        static const char *const head[] = { "OrderedBy",        "InvoiceTo", "DeliverTo",
                                            "YourRef",          "OrderDate", "Description",
                                            "PaymentCondition", "Currency" };
        static const char *const line[] = { "Item",      "Description", "Quantity",
                                            "UnitPrice", "Discount",    "VATCode" };
        json_t *b = json_pack("{s:s}", "Journal", journal);
        json_t *lines = json_array();
        json_t *ol = xf_lines_of(d, XF_E_SALESORDERS, sget(o, "OrderID"));
        json_t *l;
        size_t i;

        for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
                if (has(o, head[i]))
                        json_object_set(b, head[i], json_object_get(o, head[i]));
        json_array_foreach (ol, i, l) {
                json_t *nl = json_object();

                for (size_t k = 0; k < sizeof(line) / sizeof(line[0]); k++)
                        if (has(l, line[k]))
                                json_object_set(nl, line[k], json_object_get(l, line[k]));
                json_array_append_new(lines, nl);
        }
        json_decref(ol);
        json_object_set_new(b, "SalesInvoiceLines", lines);
        return b;
}

/* Invoice one order: a new open invoice whose lines point back to it; the order's
 * InvoiceStatus becomes 21 (complete). Returns false with the reason in err. */
static bool invoice_one_order(struct xf_div *d, json_t *o, const char *journal, char *err,
                              size_t errlen)
{
        json_t *body = order_invoice_body(d, o, journal);
        json_t *inv = NULL, *lines, *l;
        size_t i;
        int code;

        code = xf_create(d, XF_E_SALESINVOICES, body, 422, &inv, err, errlen);
        json_decref(body);
        if (code != 201)
                return false;
        lines = xf_lines_of(d, XF_E_SALESINVOICES, sget(inv, "InvoiceID"));
        json_array_foreach (lines, i, l) {
                json_t *stored = xf_find(d, XF_E_SALESINVOICELINES, "ID", sget(l, "ID"));

                json_object_set(stored, "SalesOrder", json_object_get(o, "OrderID"));
                json_object_set(stored, "SalesOrderNumber", json_object_get(o, "OrderNumber"));
        }
        json_decref(lines);
        json_object_set_new(o, "InvoiceStatus", json_integer(21));
        now_date(o, "Modified", xf_now_ms());
        return true;
}

/* InvoiceSalesOrders (research §1.7): each order is invoiced by quantity ordered; one already
 * invoiced, unknown, or (InvoiceMode 0) never delivered fails with a line in Errors and the
 * others go on. More than one order: at most 500 lines together. CreateMode 0 (one invoice
 * per customer) is modelled as one per order (UNCONFIRMED how Exact merges them). */
static void rules_invoice_orders(struct xf_div *d, json_t *e, json_t *body, json_t *msgs)
{
        json_t *ids = json_object_get(body, "SalesOrderIDs");
        json_int_t cm = json_integer_value(json_object_get(e, "CreateMode"));
        json_int_t im = json_integer_value(json_object_get(e, "InvoiceMode"));
        json_t *j = find_code(d, XF_E_JOURNALS, sget(e, "JournalCode"));
        char errors[XF_MSG_MAX] = "", err[400];
        long created = 0, failed = 0, n_lines = 0;
        json_t *v;
        size_t i;

        if (!has(e, "CreateMode") || !has(e, "InvoiceMode") || !has(e, "JournalCode") ||
            !json_is_array(ids) || json_array_size(ids) == 0) {
                add_msg(msgs, "Mandatory: CreateMode, InvoiceMode, JournalCode, SalesOrderIDs");
                return;
        }
        if ((cm != 0 && cm != 1) || (im != 0 && im != 1))
                add_msg(msgs, "Invalid value: %s",
                        cm != 0 && cm != 1 ? "CreateMode" : "InvoiceMode");
        if (j == NULL || json_integer_value(json_object_get(j, "Type")) != 20)
                add_msg(msgs, "Invalid reference: Journal");
        json_array_foreach (ids, i, v) {
                json_t *o = xf_find(d, XF_E_SALESORDERS, "OrderID", sget(v, "ID"));
                json_t *ol = o ? xf_lines_of(d, XF_E_SALESORDERS, sget(o, "OrderID")) : NULL;

                n_lines += ol ? (long)json_array_size(ol) : 0;
                json_decref(ol);
        }
        if (json_array_size(ids) > 1 && n_lines > 500)
                add_msg(msgs, "The sales orders have more than 500 lines together");
        if (json_array_size(msgs) > 0)
                return;
        json_array_foreach (ids, i, v) {
                const char *id = sget(v, "ID");
                json_t *o = id ? xf_find(d, XF_E_SALESORDERS, "OrderID", id) : NULL;
                const char *why = NULL;

                if (o == NULL)
                        why = "Sales order not found";
                else if (json_integer_value(json_object_get(o, "InvoiceStatus")) == 21)
                        why = "Sales order is already invoiced";
                else if (im == 0 && json_integer_value(json_object_get(o, "DeliveryStatus")) != 21)
                        why = "Nothing delivered to invoice";
                else if (!invoice_one_order(d, o, json_string_value(json_object_get(j, "Code")),
                                            err, sizeof(err)))
                        why = err;
                if (why == NULL) {
                        created++;
                        continue;
                }
                failed++;
                snprintf(errors + strlen(errors), sizeof(errors) - strlen(errors),
                         "%s%.40s: %.400s", errors[0] ? "; " : "", id ? id : "(no ID)", why);
        }
        json_object_set_new(e, "NumberOfCreatedInvoices", json_integer(created));
        json_object_set_new(e, "NumberOfFailedInvoices", json_integer(failed));
        json_object_set_new(e, "Errors", errors[0] ? json_string(errors) : json_null());
}

/* A processed invoice is final: no change, no deletion (research §1.6). */
static bool processed_invoice(int ent, json_t *e)
{
        return ent == XF_E_SALESINVOICES && json_integer_value(json_object_get(e, "Status")) == 50;
}

int xf_create(struct xf_div *d, int ent, json_t *body, int validation_status, json_t **ret_entity,
              char *err, size_t errlen)
{
        json_t *e = ent_start(d, ent);
        json_t *msgs = json_array();
        int r;

        r = decode_body(ent, body, e, false, msgs, err, errlen);
        if (r != 0)
                goto fail;
        if (ent == XF_E_SALESORDERS || ent == XF_E_SALESINVOICES) {
                r = doc_create(d, ent == XF_E_SALESORDERS ? &k_order : &k_invoice, body, e, msgs,
                               err, errlen);
                if (r != 0)
                        goto fail;
        } else if (ent == XF_E_PRINTEDSALESINVOICES) {
                rules_print(d, e, msgs);
        } else if (ent == XF_E_INVOICESALESORDERS) {
                rules_invoice_orders(d, e, body, msgs);
        } else if (ent == XF_E_GLENTRIES) {
                r = xf_pay_entry_create(d, body, e, msgs, err, errlen);
                if (r != 0)
                        goto fail;
        } else {
                run_rules(d, ent, e, true, body, msgs);
        }
        if (json_array_size(msgs) > 0) {
                join_msgs(msgs, err, errlen);
                r = validation_status;
                goto fail;
        }
        if (ent == XF_E_ADDRESSES && same_address(d, e) != NULL) {
                /* the same address again: Exact answers with the one it has */
                *ret_entity = same_address(d, e);
                json_decref(e);
                json_decref(msgs);
                return 201;
        }
        json_array_append(d->sets[ent], e);
        after_write(d, ent, e, true, NULL);
        *ret_entity = e;
        json_decref(e);
        json_decref(msgs);
        return 201;
fail:
        json_decref(e);
        json_decref(msgs);
        return r;
}

int xf_update(struct xf_div *d, int ent, json_t *e, json_t *body, int validation_status, char *err,
              size_t errlen)
{
        json_t *copy = json_deep_copy(e);
        json_t *msgs = json_array();
        int r;

        if (processed_invoice(ent, e)) {
                snprintf(err, errlen, "A processed invoice cannot be changed");
                r = validation_status;
                goto out;
        }
        if (ent == XF_E_SALESORDERS && order_closed(e)) {
                snprintf(err, errlen,
                         "Sales order %lld is complete or invoiced: it cannot be changed",
                         (long long)json_integer_value(json_object_get(e, "OrderNumber")));
                r = validation_status;
                goto out;
        }
        r = decode_body(ent, body, copy, true, msgs, err, errlen);
        if (r != 0)
                goto out;
        run_rules(d, ent, copy, false, body, msgs);
        if (json_array_size(msgs) > 0) {
                join_msgs(msgs, err, errlen);
                r = validation_status;
                goto out;
        }
        if (json_object_get(copy, "Modified") != NULL)
                now_date(copy, "Modified", xf_now_ms());
        xf_stamp(copy);
        {
                char old_item[40] = "";

                if (sget(e, "Item") != NULL)
                        snprintf(old_item, sizeof(old_item), "%s", sget(e, "Item"));
                json_object_update(e, copy);
                after_write(d, ent, e, false, old_item[0] ? old_item : NULL);
        }
        r = 204;
out:
        json_decref(copy);
        json_decref(msgs);
        return r;
}

static bool referenced(struct xf_div *d, int ent, const char *field, const char *id)
{
        return xf_find(d, ent, field, id) != NULL;
}

static void remove_where(struct xf_div *d, int ent, const char *field, const char *value)
{
        size_t i = 0;

        while (i < json_array_size(d->sets[ent])) {
                const char *v = sget(json_array_get(d->sets[ent], i), field);

                if (v != NULL && strcasecmp(v, value) == 0)
                        json_array_remove(d->sets[ent], i);
                else
                        i++;
        }
}

int xf_delete(struct xf_div *d, int ent, const char *key, int validation_status, char *err,
              size_t errlen)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        json_t *e = xf_find(d, ent, def->key, key);
        const char *used = NULL;
        char code[64];

        if (e == NULL)
                return 404;
        if (processed_invoice(ent, e)) {
                snprintf(err, errlen, "A processed invoice cannot be deleted");
                return validation_status;
        }
        if (ent == XF_E_SALESORDERS && order_invoiced_or_delivered(e)) {
                snprintf(err, errlen,
                         "Sales order %lld is invoiced or delivered: it cannot be deleted",
                         (long long)json_integer_value(json_object_get(e, "OrderNumber")));
                return validation_status;
        }
        if (ent == XF_E_SALESORDERLINES) {
                json_t *o = xf_find(d, XF_E_SALESORDERS, "OrderID", sget(e, "OrderID"));
                char oid[40];

                if (o != NULL && (order_closed(o) || order_invoiced_or_delivered(o))) {
                        snprintf(err, errlen,
                                 "Sales order %lld is invoiced or delivered: its lines cannot be "
                                 "changed",
                                 (long long)json_integer_value(json_object_get(o, "OrderNumber")));
                        return validation_status;
                }
                snprintf(oid, sizeof(oid), "%s", sget(e, "OrderID") ? sget(e, "OrderID") : "");
                remove_where(d, ent, def->key, key);
                order_totals(d, oid);
                return 204;
        }
        xf_trim(sget(e, "Code") ? sget(e, "Code") : "", code, sizeof(code));
        if (ent == XF_E_ACCOUNTS) {
                if (referenced(d, XF_E_SALESORDERS, "OrderedBy", key) ||
                    referenced(d, XF_E_SALESORDERS, "InvoiceTo", key) ||
                    referenced(d, XF_E_SALESORDERS, "DeliverTo", key))
                        used = "Sales orders";
                else if (referenced(d, XF_E_SALESINVOICES, "OrderedBy", key) ||
                         referenced(d, XF_E_SALESINVOICES, "InvoiceTo", key))
                        used = "Sales invoices";
                else if (referenced(d, XF_E_CONTACTS, "Account", key))
                        used = "Contacts";
        } else if (ent == XF_E_ITEMS) {
                if (referenced(d, XF_E_SALESORDERLINES, "Item", key))
                        used = "Sales order lines";
                else if (referenced(d, XF_E_SALESINVOICELINES, "Item", key))
                        used = "Sales invoice lines";
        } else if (ent == XF_E_ADDRESSES) {
                if (referenced(d, XF_E_SALESORDERS, "DeliveryAddress", key))
                        used = "Sales orders";
                else if (referenced(d, XF_E_SALESINVOICES, "DeliverToAddress", key))
                        used = "Sales invoices";
        } else if (ent == XF_E_VATCODES) {
                char padded[8];

                xf_pad_right(code, 3, padded, sizeof(padded));
                if (referenced(d, XF_E_SALESORDERLINES, "VATCode", padded) ||
                    referenced(d, XF_E_SALESINVOICELINES, "VATCode", padded))
                        used = "Financial entries";
        }
        if (used != NULL) {
                snprintf(err, errlen, "Can't delete: %s %s - Used in: %s",
                         ent == XF_E_ACCOUNTS    ? "Account"
                         : ent == XF_E_ITEMS     ? "Item"
                         : ent == XF_E_ADDRESSES ? "Address"
                                                 : "VAT code",
                         code, used);
                return validation_status;
        }
        if (def->lines_ent >= 0)
                remove_where(d, def->lines_ent, def->parent_key, key);
        if (ent == XF_E_ITEMS)
                remove_where(d, XF_E_SALESITEMPRICES, "Item", key);
        {
                char item[40] = "";

                if (ent == XF_E_SALESITEMPRICES && sget(e, "Item") != NULL)
                        snprintf(item, sizeof(item), "%s", sget(e, "Item"));
                remove_where(d, ent, def->key, key);
                if (item[0])
                        item_price_refresh(d, item);
        }
        return 204;
}

/* ---- output and queries ------------------------------------------------------------- */

static bool selected(json_t *select, const char *name)
{
        size_t i;
        json_t *s;

        if (select == NULL)
                return true;
        json_array_foreach (select, i, s) {
                if (strcmp(json_string_value(s), name) == 0)
                        return true;
        }
        return false;
}

static void key_literal(int ent, json_t *e, char *buf, size_t len)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        json_t *k = json_object_get(e, def->key);

        if (json_is_integer(k))
                snprintf(buf, len, "%lld", (long long)json_integer_value(k));
        else
                snprintf(buf, len, "guid'%s'", json_string_value(k) ? json_string_value(k) : "");
}

json_t *xf_entity_out(struct xf_div *d, int ent, json_t *e, const char *uri_base, bool expand_lines,
                      json_t *select)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        const struct xf_field *f;
        json_t *out = json_object();
        char key[128];
        char *uri;
        int n;

        key_literal(ent, e, key, sizeof(key));
        n = asprintf(&uri, "%s%s/%s(%s)", uri_base, def->service, def->name, key);
        if (n < 0)
                uri = NULL;
        json_object_set_new(out, "__metadata",
                            json_pack("{s:s,s:s}", "uri", uri ? uri : "", "type", def->model));
        for (f = def->fields; f->name != NULL; f++) {
                if (f->type == XF_T_LINES) {
                        if (expand_lines) {
                                const char *k = json_string_value(json_object_get(e, def->key));
                                json_t *lines = xf_lines_of(d, ent, k);
                                json_t *res = json_array();
                                size_t i;
                                json_t *l;

                                json_array_foreach (lines, i, l)
                                        json_array_append_new(res,
                                                              xf_entity_out(d, def->lines_ent, l,
                                                                            uri_base, false, NULL));
                                json_decref(lines);
                                json_object_set_new(out, f->name,
                                                    json_pack("{s:o}", "results", res));
                                continue;
                        }
                        if (!selected(select, f->name))
                                continue;
                }
                if (!selected(select, f->name))
                        continue;
                if (f->type == XF_T_LINES || f->type == XF_T_COLL) {
                        char *nav = NULL;

                        if (asprintf(&nav, "%s/%s", uri ? uri : "", f->name) < 0)
                                nav = NULL;
                        json_object_set_new(
                                out, f->name,
                                json_pack("{s:{s:s}}", "__deferred", "uri", nav ? nav : ""));
                        free(nav);
                        continue;
                }
                json_object_set(out, f->name, json_object_get(e, f->name));
        }
        free(uri);
        return out;
}

struct sort_ctx {
        int ent;
        const struct xf_field *fields[8];
        bool desc[8];
        int n;
};

static int cmp_json(json_t *a, json_t *b)
{
        bool na = a == NULL || json_is_null(a);
        bool nb = b == NULL || json_is_null(b);
        int64_t ma, mb;

        if (na || nb)
                return na && nb ? 0 : na ? -1 : 1;
        if (json_is_number(a) && json_is_number(b)) {
                double x = json_number_value(a), y = json_number_value(b);

                return x < y ? -1 : x > y ? 1 : 0;
        }
        if (json_is_boolean(a) && json_is_boolean(b))
                return (int)json_is_true(a) - (int)json_is_true(b);
        if (json_is_string(a) && json_is_string(b)) {
                if (xf_date_value(json_string_value(a), &ma) &&
                    xf_date_value(json_string_value(b), &mb))
                        return ma < mb ? -1 : ma > mb ? 1 : 0;
                return strcasecmp(json_string_value(a), json_string_value(b));
        }
        return 0;
}

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
        const struct sort_ctx *c = arg;
        json_t *a = *(json_t *const *)pa;
        json_t *b = *(json_t *const *)pb;
        const char *key = xf_entities[c->ent].key;
        int i, r;

        for (i = 0; i < c->n; i++) {
                r = cmp_json(json_object_get(a, c->fields[i]->name),
                             json_object_get(b, c->fields[i]->name));
                if (r != 0)
                        return c->desc[i] ? -r : r;
        }
        return cmp_json(json_object_get(a, key), json_object_get(b, key));
}

static int parse_orderby(int ent, const char *text, struct sort_ctx *c, char *err, size_t errlen)
{
        char *copy = strdup(text);
        char *save = NULL;
        char *part;
        int r = 0;

        if (copy == NULL)
                return 500;
        save = copy;
        for (part = xf_next_token(&save, ','); part != NULL; part = xf_next_token(&save, ',')) {
                char name[128] = "", dir[16] = "";
                int n = sscanf(part, " %127s %15s", name, dir);
                const struct xf_field *f;

                if (n < 1 || c->n >= 8) {
                        snprintf(err, errlen, "Syntax error in $orderby.");
                        r = 400;
                        break;
                }
                f = xf_field_find(ent, name);
                if (f == NULL || f->type == XF_T_LINES || f->type == XF_T_COLL) {
                        snprintf(err, errlen, "No property '%s' exists in type '%s'.", name,
                                 xf_entities[ent].model);
                        r = 400;
                        break;
                }
                if (n == 2 && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0) {
                        snprintf(err, errlen, "Syntax error in $orderby.");
                        r = 400;
                        break;
                }
                c->fields[c->n] = f;
                c->desc[c->n] = n == 2 && strcmp(dir, "desc") == 0;
                c->n++;
        }
        free(copy);
        return r;
}

static int parse_select(int ent, const char *text, json_t **ret, char *err, size_t errlen)
{
        char *copy = strdup(text);
        char *save = NULL;
        char *part;
        json_t *sel = json_array();

        if (copy == NULL) {
                json_decref(sel);
                return 500;
        }
        save = copy;
        for (part = xf_next_token(&save, ','); part != NULL; part = xf_next_token(&save, ',')) {
                char name[128];

                xf_trim(part, name, sizeof(name));
                if (strcmp(name, "*") == 0) {
                        json_decref(sel);
                        free(copy);
                        *ret = NULL;
                        return 0;
                }
                if (xf_field_find(ent, name) == NULL) {
                        snprintf(err, errlen, "No property '%s' exists in type '%s'.", name,
                                 xf_entities[ent].model);
                        json_decref(sel);
                        free(copy);
                        return 400;
                }
                json_array_append_new(sel, json_string(name));
        }
        free(copy);
        if (json_array_size(sel) == 0) {
                json_decref(sel);
                snprintf(err, errlen, "Syntax error in $select.");
                return 400;
        }
        *ret = sel;
        return 0;
}

int xf_query_run(struct xf_div *d, int ent, json_t *set, const struct xf_query *q,
                 json_t **ret_body, long *ret_count, char *err, size_t errlen)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        struct xf_filter *flt = NULL;
        struct sort_ctx sc = { .ent = ent };
        json_t *select = NULL;
        json_t **rows = NULL;
        json_t *results = NULL;
        json_t *dobj = NULL;
        bool expand = false;
        size_t n = 0, i, start = 0, take, total;
        long page = q->page_size > 0 ? q->page_size : XF_PAGE_SIZE;
        int r = 400;
        json_t *e;

        if (q->filter != NULL) {
                flt = xf_filter_compile(q->filter, ent, err, errlen);
                if (flt == NULL)
                        goto out;
        }
        if (q->select != NULL && parse_select(ent, q->select, &select, err, errlen) != 0)
                goto out;
        if (q->orderby != NULL && parse_orderby(ent, q->orderby, &sc, err, errlen) != 0)
                goto out;
        if (q->expand != NULL) {
                char t[128];

                xf_trim(q->expand, t, sizeof(t));
                if (def->lines_prop == NULL || strcmp(t, def->lines_prop) != 0) {
                        snprintf(err, errlen, "Unknown navigation property '%s' in $expand.", t);
                        goto out;
                }
                expand = true;
        }
        rows = malloc(sizeof(*rows) * (json_array_size(set) + 1));
        if (rows == NULL) {
                r = 500;
                goto out;
        }
        json_array_foreach (set, i, e) {
                if (flt == NULL || xf_filter_match(flt, e))
                        rows[n++] = e;
        }
        total = n;
        qsort_r(rows, n, sizeof(*rows), sort_cmp, &sc);
        if (q->skiptoken != NULL) {
                char tok[128];
                const char *s = q->skiptoken;
                size_t len;

                if (strncmp(s, "guid'", 5) == 0)
                        s += 5;
                snprintf(tok, sizeof(tok), "%s", s);
                len = strlen(tok);
                if (len > 0 && tok[len - 1] == '\'')
                        tok[len - 1] = '\0';
                start = n;
                for (i = 0; i < n; i++) {
                        json_t *k = json_object_get(rows[i], def->key);
                        char kb[64];

                        if (json_is_integer(k))
                                snprintf(kb, sizeof(kb), "%lld", (long long)json_integer_value(k));
                        else
                                snprintf(kb, sizeof(kb), "%s", json_string_value(k));
                        if (sc.n == 0) {
                                /* key order: continue after the token even if it vanished */
                                int c = json_is_integer(k)
                                                ? (json_integer_value(k) > strtoll(tok, NULL, 10))
                                                : strcasecmp(kb, tok) > 0;

                                if (c) {
                                        start = i;
                                        break;
                                }
                        } else if (strcasecmp(kb, tok) == 0) {
                                start = i + 1;
                                break;
                        }
                }
        }
        take = n - start;
        if ((long)take > page)
                take = (size_t)page;
        if (q->top >= 0 && (long)take > q->top)
                take = (size_t)q->top;
        results = json_array();
        for (i = start; i < start + take; i++)
                json_array_append_new(results,
                                      xf_entity_out(d, ent, rows[i], q->uri_base, expand, select));
        if (q->bare_array) {
                dobj = results;
                results = NULL;
        } else {
                dobj = json_object();
                json_object_set_new(dobj, "results", results);
                results = NULL;
                if (start + take < n && (q->top < 0 || q->top > (long)take) && take > 0) {
                        char key[128];
                        char *next = NULL;
                        char topbuf[32] = "";

                        key_literal(ent, rows[start + take - 1], key, sizeof(key));
                        if (q->top >= 0)
                                snprintf(topbuf, sizeof(topbuf), "&$top=%ld", q->top - (long)take);
                        if (asprintf(&next, "%s$skiptoken=%s%s", q->next_prefix, key, topbuf) >=
                            0) {
                                json_object_set_new(dobj, "__next", json_string(next));
                                free(next);
                        }
                }
                if (q->inlinecount) {
                        char cnt[32];

                        snprintf(cnt, sizeof(cnt), "%zu", total);
                        json_object_set_new(dobj, "__count", json_string(cnt));
                }
        }
        *ret_body = json_pack("{s:o}", "d", dobj);
        if (ret_count != NULL)
                *ret_count = (long)total;
        r = 200;
out:
        xf_filter_free(flt);
        json_decref(select);
        json_decref(results);
        free(rows);
        return r;
}
