"""After booking, end to end (issue 13): the real extractor, transformer and loader, Kafka,
PostgreSQL and both fakes.

1. Two shops' paid orders are booked as sales invoices, processed, and their payments matched.
2. Then, in the fake shop, some orders are edited, some cancelled, some refunded (one row, the
   shipping, an amount, everything), and some orders paid weeks after they were placed, quietly
   (no webhook), as a bank transfer is.
3. At the end, read back from the fake Exact: per order, its documents add up to the shop's
   gross and VAT now (the order as it is, less its credit invoices), to the cent; no paid
   invoice, and no repaid credit note, has an open receivable; nothing is doubled.

Not here yet (issue 13 stays open): the same with kill -9 of the daemons during the
corrections. A first try (seed 8) left a cancelled order's credit note a cent short of its
invoice: not the kills but two rows of one product (shop 1's order 6, total 338.01: 3 and 1
of one product at 54.50 incl. VAT), summed into one credit line of 4 that Exact rounded
otherwise (fixed; test_corrections.py test_cancel_mirrors_each_line)."""
import collections
import os
import sys
import time
import unittest
from decimal import ROUND_HALF_UP, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
import stack as stacklib  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
CENT = Decimal("0.01")

RULES = {
    "book_as": "salesinvoice",
    "journal": "70",  # exact-fake's sales journal
    "invoicing": {"process": True, "send_email": False},
    # exact-fake's general journal for web payments and its PSP clearing account
    "payment_journals": {"default": {"journal": "91", "clearing_gl": "1190"}},
    "corrections": "auto",
}


def money(v):
    return Decimal(str(v or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def line_vat(qty, line):
    """VAT of qty of a booked line, as Exact computes it: on the line's amount in cents."""
    pct = Decimal(str(line["VATPercentage"]))
    return money(money(Decimal(str(qty)) * Decimal(str(line["NetPrice"]))) * pct)


def amount_vat(amount, lines):
    """VAT of a gross amount refunded without rows: shared over the booked VAT rates in
    proportion to their gross, in whole cents, the cents left over to the largest remainders;
    each share's VAT taken out of it at its rate."""
    by_pct = collections.Counter()
    for ln in lines:
        pct = Decimal(str(ln["VATPercentage"]))
        net = money(Decimal(str(ln["Quantity"])) * Decimal(str(ln["NetPrice"])))
        by_pct[pct] += net + money(net * pct)
    total = sum(by_pct.values())
    cents = int(amount * 100)
    exact = {p: Decimal(cents) * g / total for p, g in by_pct.items()}
    share = {p: int(e) for p, e in exact.items()}
    for p in sorted(exact, key=lambda p: exact[p] - share[p], reverse=True)[:cents -
                                                                             sum(share.values())]:
        share[p] += 1
    return sum(money(Decimal(c) / 100 * p / (1 + p)) for p, c in share.items())


class AfterBooking(unittest.TestCase):
    def start(self, seed):
        self.apis = {}
        # The orders were placed 40 days ago: a late payment is beyond the 14 days the
        # extractor re-reads by default, so only its watch list finds it. CCV announces no
        # row edit or refund, so the operator's re-read window is widened to cover them.
        epoch = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 40 * 86400))
        self.s = stacklib.Stack(BUILD, tenants=2, orders=30, products=10, seed=seed,
                                rules_extra=RULES, ccv_args=["--epoch", epoch],
                                extra_env={"extractor:CX_EXTRACT_REREAD_DAYS": "60",
                                           "extractor:CX_EXTRACT_REREAD_INTERVAL_S": "5"})
        try:
            self.s.start()
        except BaseException:
            self.s.stop()
            raise
        self.addCleanup(self.s.stop)

    # -- the shop --------------------------------------------------------------------
    def shop_order(self, t, oid):
        st, body = self.s.ccv.call("GET", f"/_fake/shops/{t['shop']['n']}/orders/{oid}")
        self.assertEqual(st, 200, body)
        return body

    def patch(self, t, oid, change):
        st, body = self.s.ccv.call("PATCH", f"/_fake/shops/{t['shop']['n']}/orders/{oid}",
                                   change)
        self.assertEqual(st, 200, (oid, change, body))

    def credit(self, t, oid, what):
        st, body = self.s.ccv.call("POST", f"/_fake/shops/{t['shop']['n']}/orders/{oid}/credit",
                                   {**what, "status": "reimbursed"})
        self.assertEqual(st, 201, (oid, what, body))
        return dict(body, _asked=what)

    def change_the_shop(self, expected):
        """Edits, cancellations, refunds and late payments; returns, per tenant, the order ids
        to check, their credit invoices, and which of them are paid."""
        plan = {}
        dump = self.s.dump_orders()
        for t in self.s.tenants:
            booked = sorted(expected[t["id"]]["ok"], key=int)
            self.assertGreaterEqual(len(booked), 9, f"{t['id']}: too few booked orders")
            credits = collections.defaultdict(list)
            touched = {}
            it = iter(booked)
            # edits: one row's quantity up, and one down where it can go down
            for _ in range(2):
                oid = next(it)
                o = self.shop_order(t, oid)
                row = o["orderrows"][0]
                count = int(row["count"])
                new = count + 1 if count < 2 else count - 1
                self.patch(t, oid, {"rows": [{"id": row["id"], "count": new}]})
                touched[oid] = "edited"
            for _ in range(2):
                oid = next(it)
                self.patch(t, oid, {"status": 8})
                touched[oid] = "cancelled"
            oid = next(it)
            row = self.shop_order(t, oid)["orderrows"][0]
            credits[oid].append(self.credit(t, oid, {"rows": [{"orderrow_id": row["id"],
                                                               "count": 1}]}))
            touched[oid] = "one row refunded"
            for oid in it:
                if money(self.shop_order(t, oid)["order"].get("total_shipping")) > 0:
                    credits[oid].append(self.credit(t, oid, {"shipping": True}))
                    touched[oid] = "shipping refunded"
                    break
            oid = next(it)
            credits[oid].append(self.credit(t, oid, {"amount": 2.5}))
            touched[oid] = "amount refunded"
            oid = next(it)
            credits[oid].append(self.credit(t, oid, {"full": True}))
            touched[oid] = "fully refunded"
            # paid weeks after they were placed, without a webhook
            unpaid = [dict(o, paid=True) for o in dump[t["shop"]["n"]]
                      if o.get("is_completed") and not o.get("paid") and o.get("status") != 8]
            late = [str(o["id"]) for o, r in zip(unpaid, self.s.dry_run(t, unpaid))
                    if "body" in r][:3]
            self.assertTrue(late, f"{t['id']}: the generator made no unpaid orders")
            for oid in late:
                self.patch(t, oid, {"paid": True, "quiet": True})
                touched[oid] = "paid late"
            plan[t["id"]] = {"orders": sorted(set(booked) | set(late), key=int),
                             "credits": credits, "touched": touched}
        return plan

    def shop_now(self, t, oid, credits):
        """(gross, VAT, paid, cancelled) the books must show for an order now. The gross is
        the shop's: the order's total less its credit invoices. The VAT is the connector's
        (the dry run of the order as it is now: it may split a charge over the goods' rates
        where the shop taxed it at one), less the VAT of what was credited, as the booked
        lines had it (a refunded row or charge: those lines; an amount: shared over the VAT
        rates in proportion to their gross, whole cents, largest remainders first)."""
        got = self.shop_order(t, oid)
        o = got["order"]
        if o.get("status") == 8:
            return Decimal(0), Decimal(0), bool(o.get("paid")), True
        gross = money(o["total_price"]) + sum(money(c["total_price"]) for c in credits)
        [res] = self.s.dry_run(t, [dict(o, orderrows=got["orderrows"])])
        self.assertIn("body", res, res)
        lines = dict(zip(res["line_keys"], res["body"]["SalesInvoiceLines"]))
        vat = money(res["totals"]["vat"])
        for c in credits:
            if money(c["total_price"]) == -money(o["total_price"]):
                vat = Decimal(0)
            elif c.get("_asked", {}).get("rows"):
                for r in c["_asked"]["rows"]:
                    line = lines[f"row:{r['orderrow_id']}"]
                    vat -= line_vat(r["count"], line)
            elif c.get("_asked", {}).get("shipping"):
                vat -= sum(line_vat(1, ln) for k, ln in lines.items() if k.startswith("shipping"))
            else:
                vat -= amount_vat(-money(c["total_price"]), lines.values())
        return gross, vat, bool(o.get("paid")), False

    # -- Exact -----------------------------------------------------------------------
    def books(self, t):
        """Per YourRef: [(type, gross, VAT, status, number, description)] of the invoices and
        credit notes in exact-fake."""
        out = collections.defaultdict(list)
        for d in self.s.exact.entities(t["division"], "SalesInvoices"):
            out[d.get("YourRef")].append((d.get("Type"), money(d.get("AmountFC")),
                                          money(d.get("VATAmountFC")), d.get("Status"),
                                          d.get("InvoiceNumber"), d.get("Description")))
        return out

    def open_items(self, t):
        if t["id"] not in self.apis:
            self.apis[t["id"]] = self.s.exact.user_api(t["division"])
        st, body = self.apis[t["id"]]("GET", "read/financial/ReceivablesList")
        self.assertEqual(st, 200, body)
        return body["d"]["results"]

    def differences(self, plan, receivables):
        """What is not yet as it must be, in words (empty when the books are right). The
        receivables are read through the API, which counts against the division's rate limit
        that the loader shares: only when asked."""
        diffs = []
        for t in self.s.tenants:
            p = plan[t["id"]]
            books = self.books(t)
            open_numbers = {str(r.get("InvoiceNumber")) for r in self.open_items(t)} \
                if receivables else set()
            for oid in p["orders"]:
                o = self.shop_order(t, oid)["order"]
                ref = o["ordernumber_full"]
                gross, vat, paid, cancelled = self.shop_now(t, oid, p["credits"].get(oid, []))
                docs = books.get(ref, [])
                got_gross = sum(d[1] for d in docs)
                got_vat = sum(d[2] for d in docs)
                what = p["touched"].get(oid, "unchanged")
                if not docs:
                    diffs.append(f"{t['id']} {ref} ({what}): no document")
                    continue
                if (got_gross, got_vat) != (gross, vat):
                    diffs.append(f"{t['id']} {ref} ({what}): books {got_gross} / VAT {got_vat},"
                                 f" shop {gross} / VAT {vat}: {docs}")
                if any(d[3] != 50 for d in docs):
                    diffs.append(f"{t['id']} {ref} ({what}): not every document processed: "
                                 f"{docs}")
                # an edited paid invoice: its payment moved to the new invoice, the credit
                # note set against it (loader/payments.c), so none of them stays open
                if paid:
                    still_open = [d for d in docs if (d[1] > 0 or what == "edited") and
                                  str(d[4]) in open_numbers]
                    if still_open:
                        diffs.append(f"{t['id']} {ref} ({what}): paid, but open in Exact: "
                                     f"{still_open}")
                repaid = [d for d in docs if d[1] < 0 and what.endswith("refunded") and
                          str(d[4]) in open_numbers]
                if repaid:
                    diffs.append(f"{t['id']} {ref} ({what}): refund paid back, credit note "
                                 f"still open: {repaid}")
                invoices = [d for d in docs if d[0] == 8020]
                credit_notes = [d for d in docs if d[0] == 8021]
                if len(invoices) - len(credit_notes) > 1 or \
                        len({d[4] for d in docs}) != len(docs):
                    diffs.append(f"{t['id']} {ref} ({what}): doubled: {docs}")
        return diffs

    def wait_books(self, plan, timeout=420):
        t0, diffs, shown = time.time(), None, 0
        while time.time() - t0 < timeout:
            diffs = self.differences(plan, receivables=False)
            if not diffs:
                diffs = self.differences(plan, receivables=True)
                if not diffs:
                    return time.time() - t0
                time.sleep(10)
            if time.time() - shown > 60:
                shown = time.time()
                print(f"[{time.time() - t0:.0f}s] {len(diffs)} not right yet, e.g. {diffs[:3]}",
                      flush=True)
            time.sleep(3)
        self.fail(f"after {timeout}s, {len(diffs)} orders are not right:\n" + "\n".join(diffs))

    # -- the scenario ----------------------------------------------------------------
    def scenario(self, seed):
        self.start(seed)
        expected = self.s.expected()
        self.s.wait_synced(expected, timeout=300)
        first = {t["id"]: {"orders": sorted(expected[t["id"]]["ok"], key=int), "credits": {},
                           "touched": {}} for t in self.s.tenants}
        took = self.wait_books(first, timeout=240)
        print(f"booked, processed and matched {sum(len(v['orders']) for v in first.values())} "
              f"orders in {took:.0f}s more", flush=True)
        plan = self.change_the_shop(expected)
        took = self.wait_books(plan)
        counts = collections.Counter(w for p in plan.values() for w in p["touched"].values())
        print(f"after booking: {dict(counts)} right in Exact {took:.0f}s later", flush=True)
        self.assertEqual(self.s.exited_daemons(), [])
        new_failures = [d for d in self.s.dead_letters()
                        if str(d.get("source_id")) not in
                        expected.get(d.get("tenant_id"), {}).get("failed", {})]
        self.assertEqual(new_failures, [], "no failure but the shop's contradictory orders")

    def test_after_booking(self):
        self.scenario(seed=7)


if __name__ == "__main__":
    unittest.main(verbosity=2)
