/* amounts: see amounts.h. */
#include "loader/amounts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/metrics.h"
#include "exact/api.h"

typedef struct figures {
        long long net, vat, gross; /* cents */
        bool has_net, has_vat, has_gross;
} figures;

static long long cents(double v)
{
        return llround(v * 100.0);
}

/* What Exact booked, from a document row; false when the row lacks the amounts. */
static bool booked_of(const json_t *row, bool invoice, figures *f)
{
        json_t *fc = json_object_get(row, "AmountFC");
        json_t *excl = json_object_get(row, "AmountFCExclVat");
        json_t *vat = json_object_get(row, "VATAmountFC");

        if (!json_is_number(fc) || !json_is_number(excl) || (invoice && !json_is_number(vat)))
                return false;
        f->gross = cents(json_number_value(fc));
        f->net = cents(json_number_value(excl));
        f->vat = invoice ? cents(json_number_value(vat)) : f->gross - f->net;
        f->has_net = f->has_vat = f->has_gross = true;
        return true;
}

static void shop_of(const json_t *totals, figures *f)
{
        json_t *v;

        memset(f, 0, sizeof(*f));
        if ((f->has_net = json_is_number(v = json_object_get(totals, "net"))))
                f->net = cents(json_number_value(v));
        if ((f->has_vat = json_is_number(v = json_object_get(totals, "vat"))))
                f->vat = cents(json_number_value(v));
        if ((f->has_gross = json_is_number(v = json_object_get(totals, "gross"))))
                f->gross = cents(json_number_value(v));
}

/* "121.00" for 12100 cents, "?" when the shop did not say. */
static const char *money(long long c, bool has, char *buf, size_t size)
{
        if (!has)
                return "?";
        snprintf(buf, size, "%s%lld.%02lld", c < 0 ? "-" : "", llabs(c) / 100, llabs(c) % 100);
        return buf;
}

/* The document read back by its key, for an answer without amounts. */
static json_t *read_back(run *r, bool invoice, const char *ep, const char *guid)
{
        char key[96];
        exact_result res;
        json_t *row = NULL;

        snprintf(key, sizeof(key), "(guid'%s')", guid);
        if (run_api(r, "GET", ep, key,
                    invoice ? "$select=AmountFC,AmountFCExclVat,VATAmountFC"
                            : "$select=AmountFC,AmountFCExclVat",
                    NULL, &res) < 0)
                return NULL;
        if (res.outcome == EX_OK)
                row = json_incref(res.d);
        exact_result_clear(&res);
        return row;
}

static void count_mismatch(run *r)
{
        char lab[600];

        cx_metrics_label2(lab, sizeof(lab), "tenant", r->tenant, "kind", r->kind);
        cx_counter_add("cx_loader_amount_mismatches_total",
                       "Documents whose amounts in Exact differ from the shop's", lab, 1);
}

int amounts_check(run *r, bool invoice, const char *ep, const char *guid, long long number,
                  const json_t *answer)
{
        figures b, s;
        json_t *row = NULL;
        char b1[32], b2[32], b3[32], s1[32], s2[32], s3[32];
        bool ok;

        shop_of(json_object_get(r->cmd, "totals"), &s);
        if (!booked_of(answer, invoice, &b)) {
                row = read_back(r, invoice, ep, guid);
                ok = row && booked_of(row, invoice, &b);
                json_decref(row);
                if (!ok) {
                        /* booked, but unverified: a person looks, the ledger keeps it */
                        count_mismatch(r);
                        run_set(r, RUN_FAIL, 0,
                                "booked as number %lld (%s), but its amounts could not be read "
                                "back to compare with the shop's %s incl. VAT: check the "
                                "document in Exact",
                                number, guid, money(s.gross, s.has_gross, s3, sizeof(s3)));
                        return -1;
                }
        }
        if ((!s.has_net || s.net == b.net) && (!s.has_vat || s.vat == b.vat) &&
            (!s.has_gross || s.gross == b.gross))
                return 0;
        count_mismatch(r);
        run_set(r, RUN_FAIL, 0,
                "amounts differ: Exact booked %s incl. VAT (%s excl., VAT %s), the shop charged "
                "%s (%s excl., VAT %s); number %lld (%s) stays in Exact and is not posted again: "
                "correct it there, then drop this dead letter",
                money(b.gross, true, b3, sizeof(b3)), money(b.net, true, b1, sizeof(b1)),
                money(b.vat, true, b2, sizeof(b2)), money(s.gross, s.has_gross, s3, sizeof(s3)),
                money(s.net, s.has_net, s1, sizeof(s1)), money(s.vat, s.has_vat, s2, sizeof(s2)),
                number, guid);
        return -1;
}
