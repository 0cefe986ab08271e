#!/usr/bin/env python3
"""Corrections after booking (issue 13 item 2) through the real loader, Kafka, PostgreSQL and
exact-fake, with hand-written commands carrying the contract's members (line_keys,
shop_revision, cancelled, refunds, corrections):

* an invoice tenant whose invoices are processed: a cancel (credit note of everything, with
  the booked VAT codes although the rules changed since), a refund of one row, of the
  shipping only, of an amount (split over two VAT codes), an edit after invoicing (credit
  note plus a new invoice), a refund left for a person (policy "log");
* a sales-order tenant: a cancel of an open order (deleted), an edit of an open order
  (updated in place through SalesOrderLines), an item deactivated;
* every correction's write fails after the fact 30% of the time (looked up, never doubled);
* per order the documents in exact-fake add up to the shop's net and VAT to the cent;
  a replay of every command changes nothing; a kill -9 of the loader between a credit
  note's intent and its done books it once."""
import json
import os
import sys
import time
import unittest
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.dirname(__file__))
import loaderlib as L  # noqa: E402

PCT = {"2": Decimal("0.21"), "1": Decimal("0.09")}
DAY = "2026-04-01T00:00:00"


def rev(n, v):
    return "sha256:%064x" % (n * 1000 + v)


def row_amounts(qty, price, code):
    net = L.cents(Decimal(qty) * Decimal(str(price)))
    return net, L.cents(net * PCT[code])


def totals(rows):
    net = vat = Decimal(0)
    for _, _, qty, price, code in rows:
        n, v = row_amounts(qty, price, code)
        net += n
        vat += v
    return net, vat


def command(tenant, n, rows, invoice, revision, **members):
    """rows: (line key, item code, quantity, net price, VAT code)."""
    lines, items = [], {}
    for key, item, qty, price, code in rows:
        lines.append({"Item": item, "Description": f"{item} ({key})", "Quantity": qty,
                      "UnitPrice": price, "NetPrice": price, "VATCode": code,
                      "VATPercentage": float(PCT[code])})
        items[item] = {"Code": item, "Description": f"Artikel {item}", "IsSalesItem": True,
                       "ItemGroup": "001", "SalesVatCode": code}
    body = {"OrderedBy": "101", "InvoiceTo": "101", "YourRef": f"WEB-{n}",
            "Description": f"Webshop order {n}", "OrderDate": DAY, "Currency": "EUR",
            ("SalesInvoiceLines" if invoice else "SalesOrderLines"): lines}
    net, vat = totals(rows)
    cmd = {"v": 1, "tenant": tenant, "kind": "sales_invoice" if invoice else "sales_order",
           "source_id": str(n), "trace_id": f"tr-{n}",
           "endpoint": "salesinvoice/SalesInvoices" if invoice else "salesorder/SalesOrders",
           "account": {"Code": "101", "Name": "Kim Klant", "Status": "C", "Country": "NL",
                       "City": "Utrecht", "Email": "kim@example.invalid"},
           "items": list(items.values()), "body": body,
           "totals": {"net": float(net), "vat": float(vat), "gross": float(net + vat)},
           "line_keys": [r[0] for r in rows], "shop_revision": revision}
    if invoice:
        body.update({"Journal": "70", "Type": 8020})
        cmd["invoicing"] = {"process": True, "send_email": False, "invoice_date": DAY}
    cmd.update(members)
    return cmd


def amount_split(rows, amount):
    """The documented split of an amount refund (docs/loader.md "After booking"): in cents,
    in proportion to each VAT code's gross, the rest to the largest remainders; VAT per share
    round2(share × p / (1 + p)). Returns (net, vat) of the refund."""
    gross = {}
    for _, _, qty, price, code in rows:
        n, v = row_amounts(qty, price, code)
        gross[code] = gross.get(code, 0) + int((n + v) * 100)
    want, total = int(Decimal(str(amount)) * 100), sum(gross.values())
    share = {c: want * g // total for c, g in gross.items()}
    rest = sorted(gross, key=lambda c: -(want * gross[c] % total))
    for c in rest[:want - sum(share.values())]:
        share[c] += 1
    net = vat = Decimal(0)
    for c, s in share.items():
        v = (Decimal(s) * PCT[c] / (1 + PCT[c])).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        vat += v / 100
        net += (Decimal(s) - v) / 100
    return net, vat


SHIP = ("shipping", "VERZEND", 1, 4.09, "2")
INV = {  # invoice tenant t00
    10: [("row:1001", "SKU-1", 2, 10.00, "2"), ("row:1002", "SKU-2", 1, 7.35, "1"), SHIP],
    11: [("row:1101", "SKU-1", 2, 10.00, "2"), ("row:1102", "SKU-3", 3, 2.50, "1"), SHIP],
    12: [("row:1201", "SKU-1", 1, 10.00, "2"), SHIP],
    13: [("row:1301", "SKU-1", 2, 10.00, "2"), ("row:1302", "SKU-2", 4, 5.00, "1"), SHIP],
    14: [("row:1401", "SKU-1", 1, 10.00, "2"), SHIP],
    15: [("row:1501", "SKU-1", 1, 10.00, "2")],
    16: [("row:1601", "SKU-1", 1, 10.00, "2")],
}
EDIT_14 = [("row:1401", "SKU-1", 3, 10.00, "2"), ("row:1402", "SKU-3", 1, 2.50, "1"), SHIP]
ORD = {  # sales-order tenant t01
    20: [("row:2001", "SKU-1", 1, 10.00, "2")],
    21: [("row:2101", "SKU-1", 2, 10.00, "2"), ("row:2102", "SKU-2", 1, 7.35, "1"), SHIP],
}
EDIT_21 = [("row:2101", "SKU-1", 3, 10.00, "2"), ("row:2103", "SKU-3", 2, 2.50, "1"), SHIP]
EXACT = {  # t02: sales orders that Exact invoices, processed
    30: [("row:3001", "SKU-1", 2, 10.00, "2"), ("row:3002", "SKU-2", 2, 7.35, "1"), SHIP],
    31: [("row:3101", "SKU-1", 1, 10.00, "2"), SHIP],
    32: [("row:3201", "SKU-1", 2, 10.00, "2"), SHIP],  # refunded before it was booked
}
EDIT_31 = [("row:3101", "SKU-1", 2, 10.00, "2"), SHIP]


def exact_invoiced(n, rows, revision, **members):
    c = command("t02", n, rows, False, revision, **members)
    c["invoicing"] = {"process": True, "send_email": False, "invoice_date": DAY,
                      "invoice_sales_orders": True, "journal": "70"}
    return c


def refund(rid, lines=None, amount=None):
    r = {"id": rid, "date": "2026-04-03", "paid": True, "method": "ideal"}
    if lines:
        r["lines"] = [{"key": k, "quantity": q} for k, q in lines]
    if amount:
        r["amount"] = amount
    return r


class Corrections(L.LoaderCase):

    def setUp(self):
        super().setUp()
        self.env = L.new_env("t_ld_corr")
        self.fake = L.Fake("--threads", "0", "--no-limits", "--seed", "13")
        self.tenants = L.add_tenants(self.env, self.fake, 3, first_division=3300)
        self.dsn = self.env["CX_PG_DSN"]

    def sql(self, q):
        return L.psql(self.dsn, q).strip()

    def produce(self, cmds):
        L.produce(self.env, [(c["tenant"], json.dumps(c)) for c in cmds])

    def loads(self):
        return int(self.sql("SELECT count(*) FROM sync_log WHERE stage = 'load' AND "
                            "status IN ('ok', 'skipped')"))

    def wait_loads(self, n, timeout=180):
        ok = L.wait_until(lambda: self.loads() >= n, timeout)
        dl = self.sql("SELECT reason FROM dead_letters")
        self.assertEqual(dl, "", "dead letters:\n" + dl)
        self.assertTrue(ok, f"{self.loads()} of {n} loaded:\n" + self.logs_of_failure())

    def log_of(self, source_id):
        return self.sql(f"SELECT message FROM sync_log WHERE stage = 'load' AND "
                        f"source_id = '{source_id}' ORDER BY id")

    def invoices(self, ref, tenant="t00"):
        return [d for d in L.booked(self.fake, self.tenants[tenant], "SalesInvoices")
                if d["YourRef"] == ref]

    def orders_of(self, tenant, ref):
        return [d for d in L.booked(self.fake, self.tenants[tenant], "SalesOrders")
                if d["YourRef"] == ref]

    def orders(self, ref):
        return [d for d in L.booked(self.fake, self.tenants["t01"], "SalesOrders")
                if d["YourRef"] == ref]

    def assert_invoiced(self, ref, net, vat, tenant="t00"):
        """Every document of the order together: the shop's net and VAT, to the cent."""
        docs = self.invoices(ref, tenant)
        got_net = sum(Decimal(str(d["AmountFCExclVat"])) for d in docs)
        got_vat = sum(Decimal(str(d["VATAmountFC"])) for d in docs)
        self.assertEqual((got_net, got_vat), (net, vat), "%s: %s" % (ref, json.dumps([
            (d["Type"], d["Description"], [(l["ItemCode"], l["Quantity"], l["UnitPrice"],
                                            l["VATCode"], l["VATAmountFC"])
                                           for l in d["SalesInvoiceLines"]]) for d in docs])))
        for d in docs:
            self.assertEqual(d["Status"], 50, f"{ref}: {d['Description']} not processed")
        return docs

    def snapshot(self):
        out = {}
        for t, div in self.tenants.items():
            for et in ("SalesInvoices", "SalesOrders", "SalesOrderLines",
                       "PrintedSalesInvoices", "Items"):
                out[(t, et)] = sorted(json.dumps(e, sort_keys=True)
                                      for e in L.booked(self.fake, div, et))
        return out

    def test_corrections(self):
        originals = [command("t00", n, rows, True, rev(n, 1)) for n, rows in INV.items()]
        originals += [command("t01", n, rows, False, rev(n, 1)) for n, rows in ORD.items()]
        originals += [exact_invoiced(n, rows, rev(n, 1)) for n, rows in EXACT.items()
                      if n != 32]
        originals.append(exact_invoiced(32, EXACT[32], rev(32, 1),
                                        refunds=[refund("532", [("row:3201", 1)])]))
        self.produce(originals)
        self.loaders = L.start_loaders(self.env, 1, CX_LOADER_HTTP_TIMEOUT_MS=6000)
        self.wait_loads(len(originals))
        booked = {d["YourRef"]: d for d in L.booked(self.fake, self.tenants["t00"],
                                                     "SalesInvoices")}
        order21 = self.orders("WEB-21")[0]

        # the rules changed since: SKU-2 and the shipping now 9% -- the credit note mirrors
        changed = [(k, i, q, p, "1" if i in ("SKU-2", "VERZEND") else c)
                   for k, i, q, p, c in INV[10]]
        fixes = [
            command("t00", 10, changed, True, rev(10, 2), cancelled=True),
            command("t00", 11, INV[11], True, rev(11, 1),
                    refunds=[refund("501", [("row:1101", 1)])]),
            command("t00", 12, INV[12], True, rev(12, 1),
                    refunds=[refund("502", [("shipping", 1)])]),
            command("t00", 13, INV[13], True, rev(13, 1), refunds=[refund("503", amount=10.00)]),
            command("t00", 14, EDIT_14, True, rev(14, 2)),
            command("t00", 16, INV[16], True, rev(16, 1), corrections="log",
                    refunds=[refund("506", [("row:1601", 1)])]),
            command("t01", 20, ORD[20], False, rev(20, 1), cancelled=True),
            dict(command("t01", 21, EDIT_21, False, rev(21, 2)),
                 body=dict(command("t01", 21, EDIT_21, False, rev(21, 2))["body"],
                           Description="Webshop order 21 (changed)")),
            exact_invoiced(30, EXACT[30], rev(30, 1), refunds=[refund("530", [("row:3002", 1)])]),
            exact_invoiced(30, EXACT[30], rev(30, 1), cancelled=True,
                           refunds=[refund("530", [("row:3002", 1)])]),
            exact_invoiced(31, EDIT_31, rev(31, 2)),
            {"v": 1, "tenant": "t01", "kind": "item_upsert", "source_id": "p2",
             "endpoint": "logistics/Items", "deactivate": True,
             "items": [{"Code": "SKU-2", "Description": "Artikel SKU-2", "IsSalesItem": False,
                        "ItemGroup": "001", "SalesVatCode": "1"}]},
        ]
        # every correction's write may fail after Exact took it: looked up, never doubled
        for div in self.tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "fail_after_write": 0.3})
        self.produce(fixes)
        self.wait_loads(len(originals) + len(fixes))
        faults = sum(d.get("faults", {}).get("after_write", 0)
                     for d in self.fake.stats()["divisions"].values())
        self.assertGreater(faults, 0, "no write failed after the fact")

        # cancel of an invoice: one credit note of everything, booked VAT codes
        docs = self.assert_invoiced("WEB-10", Decimal(0), Decimal(0))
        cn = [d for d in docs if d["Type"] == 8021]
        self.assertEqual(len(cn), 1)
        self.assertIn(str(booked["WEB-10"]["InvoiceNumber"]), cn[0]["Description"])
        orig_lines = {(l["Item"], l["VATCode"], l["GLAccount"], l["UnitPrice"])
                      for l in booked["WEB-10"]["SalesInvoiceLines"]}
        cn_lines = {(l["Item"], l["VATCode"], l["GLAccount"], l["UnitPrice"])
                    for l in cn[0]["SalesInvoiceLines"]}
        self.assertEqual(cn_lines, orig_lines, "the credit note mirrors the booked lines")
        self.assertTrue(all(l["Quantity"] < 0 for l in cn[0]["SalesInvoiceLines"]))
        self.assertIn("credited (credit note", self.log_of("10"))

        # refunds: one row, the shipping only, an amount
        net, vat = totals(INV[11])
        n1, v1 = row_amounts(1, 10.00, "2")
        docs = self.assert_invoiced("WEB-11", net - n1, vat - v1)
        cn = [d for d in docs if d["Type"] == 8021]
        self.assertEqual([(l["Quantity"], l["UnitPrice"]) for l in cn[0]["SalesInvoiceLines"]],
                         [(-1, 10.0)])
        self.assertEqual(cn[0]["OrderDate"], "/Date(1775174400000)/")  # the refund's day
        net, vat = totals(INV[12])
        n1, v1 = row_amounts(1, 4.09, "2")
        docs = self.assert_invoiced("WEB-12", net - n1, vat - v1)
        self.assertEqual([l["Item"] for d in docs if d["Type"] == 8021
                          for l in d["SalesInvoiceLines"]],
                         [l["Item"] for l in booked["WEB-12"]["SalesInvoiceLines"][1:]])
        net, vat = totals(INV[13])
        rn, rv = amount_split(INV[13], 10.00)
        self.assertEqual(rn + rv, Decimal("10.00"))
        self.assert_invoiced("WEB-13", net - rn, vat - rv)

        # edit after invoicing: credit note and a new invoice, together the new order
        net, vat = totals(EDIT_14)
        docs = self.assert_invoiced("WEB-14", net, vat)
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8020, 8021])
        self.assertIn("invoiced again", self.log_of("14"))

        # policy log: nothing written, said in the sync log
        net, vat = totals(INV[16])
        self.assert_invoiced("WEB-16", net, vat)
        self.assertIn("left for a person", self.log_of("16"))

        # sales orders: a cancel deletes the open order, an edit updates it in place
        self.assertEqual(self.orders("WEB-20"), [])
        self.assertIn("cancelled in Exact", self.log_of("20"))
        o = self.orders("WEB-21")
        self.assertEqual(len(o), 1)
        self.assertEqual(o[0]["OrderID"], order21["OrderID"])
        self.assertEqual(o[0]["Description"], "Webshop order 21 (changed)")
        net, vat = totals(EDIT_21)
        self.assertEqual(Decimal(str(o[0]["AmountFCExclVat"])), net)
        self.assertEqual(L.cents(Decimal(str(o[0]["AmountFC"])) -
                                 Decimal(str(o[0]["AmountFCExclVat"]))), vat)
        items = {i["ID"]: i["Code"] for i in L.booked(self.fake, self.tenants["t01"], "Items")}
        self.assertEqual(sorted((items[l["Item"]], l["Quantity"])
                                for l in o[0]["SalesOrderLines"]),
                         [("SKU-1", 3), ("SKU-3", 2), ("VERZEND", 1)])
        self.assertIn("updated in Exact", self.log_of("21"))
        sku2 = [i for i in L.booked(self.fake, self.tenants["t01"], "Items")
                if i["Code"] == "SKU-2"]
        self.assertEqual(len(sku2), 1, "a deactivated item is never deleted")
        self.assertFalse(sku2[0]["IsSalesItem"])

        # orders Exact invoiced: a refund, then a cancel of what is left; an edit
        docs = self.assert_invoiced("WEB-30", Decimal(0), Decimal(0), "t02")
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8021, 8021])
        self.assertEqual(len(self.orders_of("t02", "WEB-30")), 1, "the order stays")
        net, vat = totals(EDIT_31)
        docs = self.assert_invoiced("WEB-31", net, vat, "t02")
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8020, 8021])
        net, vat = totals(EXACT[32])
        n1, v1 = row_amounts(1, 10.00, "2")
        docs = self.assert_invoiced("WEB-32", net - n1, vat - v1, "t02")
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8021])

        # a replay of every command, in order, changes nothing in Exact
        before = self.snapshot()
        n = self.loads()
        self.produce(originals + fixes)
        self.wait_loads(n + len(originals) + len(fixes))
        time.sleep(1)
        self.assertEqual(self.snapshot(), before, "a replay changed what Exact holds")

        for div in self.tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "fail_after_write": 0})
        # a clean stop (LeakSanitizer reports there in a sanitizer build), a fresh loader
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)
        self.loaders += L.start_loaders(self.env, 1, CX_LOADER_HTTP_TIMEOUT_MS=6000)

        # kill -9 between the credit note's intent and its done: booked once
        self.fake.post("/_fake/faults", {"division": self.tenants["t00"],
                                         "slow_write_ms": 3000, "slow_writes": 1})
        self.produce([command("t00", 15, INV[15], True, rev(15, 2), cancelled=True)])
        held = L.wait_until(lambda: self.fake.stats()["divisions"][str(self.tenants["t00"])]
                            .get("faults", {}).get("slow_write") == 1, 60, 0.1)
        self.assertTrue(held, self.logs_of_failure())
        self.assertEqual(self.sql("SELECT count(*) FROM ledger WHERE kind = 'credit_note' AND "
                                  "source_key = '15/C' AND intent_at IS NOT NULL"), "1")
        self.loaders[-1].kill()
        time.sleep(4)  # the held POST is committed meanwhile
        self.assertEqual(len([d for d in self.invoices("WEB-15") if d["Type"] == 8021]), 1)
        self.loaders += L.start_loaders(self.env, 1, CX_LOADER_HTTP_TIMEOUT_MS=6000)
        done = L.wait_until(lambda: self.sql(
            "SELECT count(*) FROM ledger WHERE state = 'done' AND ((kind = 'credit_note' AND "
            "source_key = '15/C') OR (kind = 'invoice_print' AND source_key = '15/C'))") == "2",
            90)
        self.assertTrue(done, self.logs_of_failure())
        docs = self.assert_invoiced("WEB-15", Decimal(0), Decimal(0))
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8021])
        prints = [p for p in L.booked(self.fake, self.tenants["t00"], "PrintedSalesInvoices")
                  if p["InvoiceID"] in {d["InvoiceID"] for d in docs}]
        self.assertEqual(len(prints), 2, "each document processed once")
        self.assertEqual(self.sql("SELECT corrects FROM ledger WHERE kind = 'credit_note' AND "
                                  "source_key = '15/C'"), booked["WEB-15"]["InvoiceID"])
        self.assertEqual(self.sql("SELECT reason FROM dead_letters"), "")
        self.assertEqual(self.loaders[-1].stop(timeout=30), 0)

    def test_cancel_mirrors_each_line(self):
        """A cancel credits what is left line by line, rounded as Exact rounds each line: two
        rows of one product stay two lines (one line of both rounds to another cent), and a
        row refunded in part is not summed into a quantity that rounds differently."""
        same = [("row:4001", "SKU-1", 1, 4.125, "2"), ("row:4002", "SKU-1", 1, 4.125, "2"),
                SHIP]
        part = [("row:4101", "SKU-1", 3, 1.1875, "2"), SHIP]

        def same_desc(c):  # as the shop names them: by the product
            for ln in c["body"]["SalesInvoiceLines"]:
                ln["Description"] = ln["Item"]
            return c

        self.produce([same_desc(command("t00", 40, same, True, rev(40, 1))),
                      command("t00", 41, part, True, rev(41, 1))])
        self.loaders = L.start_loaders(self.env, 1)
        self.wait_loads(2)
        self.produce([command("t00", 41, part, True, rev(41, 1),
                              refunds=[refund("541", [("row:4101", 1)])])])
        self.wait_loads(3)
        self.produce([same_desc(command("t00", 40, same, True, rev(40, 1), cancelled=True)),
                      command("t00", 41, part, True, rev(41, 1), cancelled=True,
                              refunds=[refund("541", [("row:4101", 1)])])])
        self.wait_loads(5)
        docs = self.assert_invoiced("WEB-40", Decimal(0), Decimal(0))
        [cn] = [d for d in docs if d["Type"] == 8021]
        self.assertEqual(sorted((l["Description"], l["Quantity"])
                                for l in cn["SalesInvoiceLines"]),
                         [("SKU-1", -1), ("SKU-1", -1), ("VERZEND", -1)])
        docs = self.assert_invoiced("WEB-41", Decimal(0), Decimal(0))
        self.assertEqual(sorted(d["Type"] for d in docs), [8020, 8021, 8021])
        self.assertEqual(self.sql("SELECT reason FROM dead_letters"), "")
        self.assertEqual(self.loaders[-1].stop(timeout=30), 0)

    def test_deleted_product_deactivates_its_item(self):
        """A product booked under its productnumber, then deleted in the shop: the deletion
        names its id only (the transformer derives the code P<id>), and the item it was
        booked as stops being a sales item, never deleted, no P<id> item made."""
        def upsert(pid, item, **members):
            return dict({"v": 1, "tenant": "t00", "kind": "item_upsert", "source_id": pid,
                         "trace_id": f"tr-p{pid}", "endpoint": "logistics/Items",
                         "items": [item]}, **members)

        self.produce([upsert("845", {"Code": "ART-100", "Description": "Artikel 100",
                                     "IsSalesItem": True, "ItemGroup": "001",
                                     "SalesVatCode": "2"}),
                      upsert("846", {"Code": "ART-101", "Description": "Artikel 101",
                                     "IsSalesItem": True, "ItemGroup": "001",
                                     "SalesVatCode": "2"})])
        self.loaders = L.start_loaders(self.env, 1)
        self.wait_loads(2)
        self.produce([upsert("845", {"Code": "P845", "IsSalesItem": False}, deactivate=True),
                      upsert("999", {"Code": "P999", "IsSalesItem": False}, deactivate=True)])
        self.wait_loads(4)
        items = {i["Code"]: i for i in L.booked(self.fake, self.tenants["t00"], "Items")}
        self.assertEqual(sorted(items), ["ART-100", "ART-101"], "no item made, none deleted")
        self.assertFalse(items["ART-100"]["IsSalesItem"])
        self.assertEqual(items["ART-100"]["Description"], "Artikel 100")
        self.assertTrue(items["ART-101"]["IsSalesItem"])
        self.assertIn("item ART-100 is no sales item any more", self.log_of("845"))
        self.assertIn("item P999 is not in Exact: nothing to deactivate", self.log_of("999"))
        self.assertEqual(self.loaders[-1].stop(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
