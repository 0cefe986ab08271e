#!/usr/bin/env python3
"""Reference data that follows Exact, and the check after each POST, against exact-fake, the
real broker and PostgreSQL:

* a command fails because the division lacks a VAT code (an order) or a G/L account (an
  invoice); the codes are created in Exact, the dead letters redriven with connector-admin,
  and both documents are booked by the same loader, without a restart;
* a VAT code whose percentage in Exact differs from the rule's, or of type I (including VAT),
  fails the command before the POST with both figures; a code changed in Exact is seen once
  the TTL has passed;
* a document Exact books with other amounts than the shop's (the fake's amount_skew fault)
  is a loud failure: both figures in the dead letter, the sync log and connector-admin status,
  the metric counts it, the ledger keeps the document and a redrive posts nothing again."""
import json
import os
import sys
import time
import unittest
import random

sys.path.insert(0, os.path.dirname(__file__))
import loaderlib as L  # noqa: E402

DIV = 1000


class RefdataTest(unittest.TestCase):
    def setUp(self):
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000")
        self.env = L.new_env("t_ld_ref")
        self.tenants = L.add_tenants(self.env, self.fake, 1, DIV)
        self.exact = self.fake.user_api(DIV)
        self.rng = random.Random(L.random_seed())
        self.loaders = []

    def tearDown(self):
        for d in self.loaders:
            d.kill()
        self.fake.stop()
        for d in self.loaders:
            out = d.output()
            self.assertNotIn("AddressSanitizer", out)
            self.assertNotIn("runtime error:", out)

    def sql(self, q):
        return L.psql(self.env["CX_PG_DSN"], q).strip()

    def dead_letters(self, n, timeout=60):
        ok = L.wait_until(lambda: int(self.sql("SELECT count(*) FROM dead_letters")) >= n,
                          timeout)
        self.assertTrue(ok, "\n".join(d.output()[-3000:] for d in self.loaders))
        return self.sql("SELECT reason FROM dead_letters ORDER BY id").split("\n")

    def docs(self, etype="SalesOrders"):
        return {d["YourRef"]: d for d in L.booked(self.fake, DIV, etype)}

    def command(self, n, invoice=False):
        return L.order_command("t00", n, self.rng, invoice=invoice)

    def test_missing_codes_are_read_again_at_the_redrive(self):
        order = self.command(1)
        order["body"]["SalesOrderLines"][0]["VATCode"] = "V9"
        invoice = self.command(2, invoice=True)
        invoice["body"]["SalesInvoiceLines"][0]["GLAccount"] = "8099"
        L.produce(self.env, [("t00", json.dumps(order)), ("t00", json.dumps(invoice))])
        self.loaders = L.start_loaders(self.env, 1, CX_LOADER_REFDATA_MISS_TTL_S=1)
        reasons = self.dead_letters(2)
        self.assertIn(f"VAT code V9 (line 1) is not known in division {DIV}", reasons[0])
        self.assertIn(f"financial/GLAccounts code 8099 is not known in division {DIV}",
                      reasons[1])
        self.assertEqual(self.docs(), {})
        # the user does what docs/troubleshooting.md says: create the codes, then redrive
        st, vat = self.exact("POST", "vat/VATCodes", {
            "Code": "V9", "Description": "Hoog (webshop)", "VATPercentages": [
                {"Percentage": 0.21}]})
        self.assertEqual(st, 201, vat)
        st, gl = self.exact("POST", "financial/GLAccounts",
                            {"Code": "8099", "Description": "Omzet webshop"})
        self.assertEqual(st, 201, gl)
        time.sleep(1.5)
        out = json.loads(L.run_admin_cli(self.env, "--json", "deadletters", "redrive",
                                         "--tenant", "t00", kafka=True))
        self.assertEqual(len(out["redriven"]), 2, out)
        ok = L.wait_until(lambda: len(self.docs()) == 1 and
                          len(self.docs("SalesInvoices")) == 1, 60)
        self.assertTrue(ok, self.loaders[0].output()[-3000:])
        line = self.docs()[order["body"]["YourRef"]]["SalesOrderLines"][0]
        self.assertEqual(line["VATCode"], "V9 ")
        self.assertAlmostEqual(line["VATPercentage"], 0.21)
        self.assertAlmostEqual(line["VATAmount"], round(line["AmountFC"] * 0.21 + 1e-9, 2))
        inv_line = self.docs("SalesInvoices")[invoice["body"]["YourRef"]]["SalesInvoiceLines"][0]
        self.assertEqual(inv_line["GLAccount"], gl["d"]["ID"])
        self.assertIsNone(self.loaders[0].proc.poll(), "the loader was not restarted")
        self.assertEqual(self.sql("SELECT count(*) FROM ledger WHERE state = 'done' AND kind "
                                  "IN ('sales_order', 'sales_invoice')"), "2")

    def test_vat_code_must_agree_with_its_rule(self):
        for code, typ in (("IN", "I"), ("V7", "E")):
            st, body = self.exact("POST", "vat/VATCodes", {
                "Code": code, "Description": f"21% {typ}", "Type": typ,
                "VATPercentages": [{"Percentage": 0.21}]})
            self.assertEqual(st, 201, body)
        wrong_pct = self.command(1)
        wrong_pct["body"]["SalesOrderLines"][0]["VATPercentage"] = 0.09
        incl = self.command(2)
        incl["body"]["SalesOrderLines"][0]["VATCode"] = "IN"
        good = self.command(3)
        good["body"]["SalesOrderLines"][0]["VATCode"] = "V7"
        L.produce(self.env, [("t00", json.dumps(c)) for c in (wrong_pct, incl, good)])
        self.loaders = L.start_loaders(self.env, 1, CX_LOADER_REFDATA_TTL_S=2)
        reasons = self.dead_letters(2)
        self.assertIn(f"VAT code 2 (line 1) is 21% in Exact division {DIV}, but the rule that "
                      "chose it says 9%", reasons[0])
        self.assertIn("VAT code IN (line 1) is of type I (prices including VAT)", reasons[1])
        self.assertTrue(L.wait_until(lambda: len(self.docs()) == 1, 30))
        self.assertEqual(set(self.docs()), {good["body"]["YourRef"]})
        self.assertEqual(self.docs()[good["body"]["YourRef"]]["SalesOrderLines"][0]["VATCode"],
                         "V7 ")
        # the accountant changes V7 to "including VAT": seen once the TTL has passed
        st, rows = self.exact("GET", "vat/VATCodes?$filter=trim(Code)%20eq%20'V7'&$select=ID")
        key = rows["d"]["results"][0]["ID"]
        st, _ = self.exact("PUT", f"vat/VATCodes(guid'{key}')", {"Type": "I"})
        self.assertEqual(st, 204)
        time.sleep(2.5)
        later = self.command(4)
        later["body"]["SalesOrderLines"][0]["VATCode"] = "V7"
        L.produce(self.env, [("t00", json.dumps(later))])
        reasons = self.dead_letters(3)
        self.assertIn("VAT code V7 (line 1) is of type I", reasons[2])
        self.assertEqual(len(self.docs()), 1)

    def test_amount_booked_other_than_the_shops_is_loud(self):
        self.fake.post("/_fake/faults", {"division": DIV, "amount_skew_cents": 1,
                                         "amount_skew_documents": 1})
        skewed, fine = self.command(1), self.command(2)
        L.produce(self.env, [("t00", json.dumps(skewed)), ("t00", json.dumps(fine))])
        self.loaders = L.start_loaders(self.env, 1)
        reasons = self.dead_letters(1)
        self.assertTrue(L.wait_until(lambda: len(self.docs()) == 2, 30))
        t = skewed["totals"]
        shop = f"{t['gross']:.2f}"
        booked = f"{t['gross'] + 0.01:.2f}"
        want = f"Exact booked {booked} incl. VAT"
        self.assertIn(want, reasons[0])
        self.assertIn(f"the shop charged {shop} ({t['net']:.2f} excl., VAT {t['vat']:.2f})",
                      reasons[0])
        doc = self.docs()[skewed["body"]["YourRef"]]
        self.assertAlmostEqual(doc["AmountFC"], t["gross"] + 0.01, places=2)
        # the sync log and connector-admin status say both figures
        log = self.sql("SELECT message FROM sync_log WHERE status = 'failed' AND source_id = '1'")
        self.assertIn(want, log)
        self.assertIn(f"the shop charged {shop}", log)
        status = json.loads(L.run_admin_cli(self.env, "--json", "status", "t00"))
        msgs = " ".join(f["message"] for f in status["failures"])
        self.assertIn(want, msgs)
        self.assertIn(f"the shop charged {shop}", msgs)
        # the document is kept, the other one booked normally, the metric counts one
        self.assertEqual(self.sql("SELECT state FROM ledger WHERE kind = 'sales_order' AND "
                                  "source_key = '1'"), "done")
        metrics = L.cxtest.http("GET", self.loaders[0].metrics_url())[1]
        self.assertIn('cx_loader_amount_mismatches_total{tenant="t00",kind="sales_order"} 1',
                      metrics)
        # a redrive posts nothing again
        L.run_admin_cli(self.env, "deadletters", "redrive", "--tenant", "t00", kafka=True)
        ok = L.wait_until(lambda: "skipped" in self.sql(
            "SELECT string_agg(status, ',') FROM sync_log WHERE stage = 'load' AND "
            "source_id = '1'"), 30)
        self.assertTrue(ok, self.loaders[0].output()[-3000:])
        self.assertEqual(len(self.docs()), 2)
        self.assertEqual(self.fake.stats()["divisions"][str(DIV)]["created"]["SalesOrders"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
