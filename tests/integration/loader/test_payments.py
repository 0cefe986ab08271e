#!/usr/bin/env python3
"""Payment matching through the real loader, Kafka, PostgreSQL and exact-fake (issue 13 item
4): paid orders booked as processed invoices end with no open receivable in
read/financial/ReceivablesList; a payment a cent short, or by a method without a payment
journal, stays open and is said in the sync log; a replay posts no second payment, also with
writes failing after the fact; a refund paid back settles its credit note; a kill -9 of the
loader while the payment's POST is on its way books it once; an invoice whose e-mail Exact
could not create is final and the sync log says the mail failed."""
import json
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import loaderlib as L  # noqa: E402
import test_corrections as C  # noqa: E402  (its command builder: line keys, revisions)

DAY = "2026-04-01T00:00:00"
JOURNAL, CLEARING = "91", "1190"


def invoice_command(tenant, n, rng):
    """A sales invoice, processed when booked, dated on DAY."""
    cmd = L.order_command(tenant, n, rng, invoice=True)
    cmd["body"].update({"OrderDate": DAY, "PaymentCondition": "14"})
    cmd["invoicing"] = {"process": True, "send_email": False, "invoice_date": DAY}
    return cmd


class PaymentsTest(L.LoaderCase):

    def setup_tenant(self, prefix, division, seed):
        self.fake = L.Fake("--no-limits", "--seed", str(seed))
        env = L.new_env(prefix)
        tenants = L.add_tenants(env, self.fake, 1, first_division=division)
        return env, tenants["t00"]

    def sql(self, env, q):
        return L.psql(env["CX_PG_DSN"], q).strip()

    def wait_ledger(self, env, kind, n, timeout=180):
        def done():
            return int(self.sql(env, f"SELECT count(*) FROM ledger WHERE kind = '{kind}' "
                                     "AND state = 'done'")) >= n
        self.assertTrue(L.wait_until(done, timeout), self.logs_of_failure())

    def open_items(self, api):
        st, res = api("GET", "read/financial/ReceivablesList")
        self.assertEqual(st, 200, res)
        return {r["InvoiceNumber"]: r["Amount"] for r in res["d"]["results"]}

    def invoices(self, div):
        return {i["YourRef"]: i for i in L.booked(self.fake, div, "SalesInvoices")}

    def entries_of(self, div, number):
        lines = [l for l in self.fake.entities(div, "GeneralJournalEntryLines")
                 if l["OurRef"] == number]
        return lines

    def log(self, env, key):
        return self.sql(env, "SELECT string_agg(message, ' | ' ORDER BY id) FROM sync_log "
                             f"WHERE entity = 'payment' AND source_id = '{key}'")

    def test_paid_orders_matched_once(self):
        rng = random.Random(L.random_seed())
        env, div = self.setup_tenant("t_ld_pay", 3300, 21)
        self.fake.post("/_fake/faults", {"division": div, "fail_after_write": 0.25})
        records, gross = [], {}
        for i in range(8):
            cmd = invoice_command("t00", i, rng)
            gross[i] = cmd["totals"]["gross"]
            # order 6 pays a cent short; order 7 by a method without a payment journal
            paid = round(gross[i] - 0.01, 2) if i == 6 else gross[i]
            cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                              "amount": paid, "reference": f"tr_{i}", "journal": JOURNAL,
                              "clearing_gl": CLEARING}
            if i == 7:
                cmd["payment"] = {"paid": True, "method": "cash_on_delivery",
                                  "date": "2026-04-01", "amount": paid, "reference": "",
                                  "unmapped": True}
            records.append(("t00", json.dumps(cmd)))
        # a replay of every command must post nothing twice
        L.produce(env, records + records)
        self.loaders = L.start_loaders(env, 2)
        self.wait_ledger(env, "payment", 7)
        L.produce(env, records)
        time.sleep(4)
        faults = self.fake.stats()["divisions"][str(div)]["faults"].get("after_write", 0)
        self.assertGreater(faults, 0, "no write failed after the fact")
        invs = self.invoices(div)
        self.assertEqual(len(invs), 8)
        api = self.fake.user_api(div)
        items = self.open_items(api)
        entries = self.fake.entities(div, "GeneralJournalEntries")
        self.assertEqual(len(entries), 7, "one entry per mapped payment, none twice")
        for i in range(8):
            inv = invs[f"t00-{i:05d}"]
            self.assertEqual(inv["Status"], 50)
            lines = self.entries_of(div, inv["InvoiceNumber"])
            log = self.log(env, str(i))
            if i == 7:
                self.assertEqual(lines, [])
                self.assertEqual(items.get(inv["InvoiceNumber"]), gross[i])
                self.assertIn("paid by cash_on_delivery; no payment journal for it in the "
                              "rules (payment_journals)", log)
                continue
            self.assertEqual(len(lines), 1, f"order {i}: {lines}")
            debtor = lines[0]
            paid = round(gross[i] - 0.01, 2) if i == 6 else gross[i]
            self.assertEqual(debtor["Account"], inv["InvoiceTo"])
            self.assertEqual(debtor["GLAccountCode"], "1300")
            self.assertAlmostEqual(debtor["AmountFC"], -paid, places=2)
            self.assertEqual(debtor["Date"], "/Date(1775001600000)/")
            entry = [e for e in entries if e["EntryID"] == debtor["EntryID"]][0]
            self.assertEqual(entry["JournalCode"], JOURNAL)
            other = [l for l in entry["GeneralJournalEntryLines"] if l["ID"] != debtor["ID"]]
            self.assertEqual([(l["GLAccountCode"], l["AmountFC"]) for l in other],
                             [(CLEARING, paid)])
            ledger = self.sql(env, "SELECT exact_guid || ' ' || exact_number FROM ledger "
                                   f"WHERE kind = 'payment' AND source_key = '{i}'")
            self.assertEqual(ledger, f"{entry['EntryID']} {inv['InvoiceNumber']}")
            if i == 6:
                self.assertEqual(items.get(inv["InvoiceNumber"]), 0.01)
                self.assertIn("paid, not matched: match it in Exact", log)
            else:
                self.assertNotIn(inv["InvoiceNumber"], items, f"order {i} still open")
                self.assertIn("paid and matched", log)
                self.assertNotIn("not matched", log)
        self.assertEqual(set(items), {invs["t00-00006"]["InvoiceNumber"],
                                      invs["t00-00007"]["InvoiceNumber"]})
        self.assertEqual(self.sql(env, "SELECT count(*) FROM dead_letters"), "0",
                         self.sql(env, "SELECT string_agg(reason, ' | ') FROM dead_letters"))
        for d in self.loaders:
            self.assertEqual(d.stop(timeout=30), 0)

    def test_refund_repaid_against_its_credit_note(self):
        rng = random.Random(L.random_seed())
        env, div = self.setup_tenant("t_ld_rep", 3400, 22)
        cmd = invoice_command("t00", 1, rng)
        cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                          "amount": cmd["totals"]["gross"], "reference": "tr_1",
                          "journal": JOURNAL, "clearing_gl": CLEARING}
        L.produce(env, [("t00", json.dumps(cmd))])
        self.loaders = L.start_loaders(env, 1)
        self.wait_ledger(env, "payment", 1)
        inv = self.invoices(div)["t00-00001"]
        # the credit note of refund 5, as the corrections module books it: one row back
        api = self.fake.user_api(div)
        line = inv["SalesInvoiceLines"][0]
        st, cn = api("POST", "salesinvoice/SalesInvoices", {
            "Journal": "70", "Type": 8021, "OrderedBy": inv["OrderedBy"],
            "InvoiceTo": inv["InvoiceTo"], "YourRef": inv["YourRef"],
            "Description": f"Credit {inv['InvoiceNumber']}",
            "SalesInvoiceLines": [{"Item": line["Item"], "Quantity": -1,
                                   "UnitPrice": line["UnitPrice"], "VATCode": "2"}]})
        self.assertEqual(st, 201, cn)
        cn = cn["d"]
        st, res = api("POST", "salesinvoice/PrintedSalesInvoices", {"InvoiceID": cn["InvoiceID"]})
        self.assertEqual(st, 201, res)
        back = round(-cn["AmountFC"], 2)
        self.assertEqual(self.open_items(api), {cn["InvoiceNumber"]: -back})
        refunds = [{"id": "5", "date": "2026-04-03", "gross": back, "paid": True,
                    "method": "ideal", "lines": [{"key": "row:1", "quantity": 1}]},
                   {"id": "6", "date": "2026-04-04", "gross": 1.0, "paid": True,
                    "method": "ideal", "amount": 1.0}]
        cmd["refunds"] = refunds
        # refund 6 has no credit note yet: it waits, and says so. "log" keeps the corrections
        # module from crediting it in this run (test_corrections covers that side).
        cmd["corrections"] = "log"
        self.sql(env, "INSERT INTO ledger (tenant_id, kind, source_key, exact_guid, "
                      f"exact_number, state) VALUES ('t00', 'credit_note', '1/R5', "
                      f"'{cn['InvoiceID']}', {cn['InvoiceNumber']}, 'done')")
        L.produce(env, [("t00", json.dumps(cmd))] * 2)
        self.wait_ledger(env, "payment", 2)
        time.sleep(3)
        self.assertEqual(self.open_items(api), {})
        lines = self.entries_of(div, cn["InvoiceNumber"])
        self.assertEqual([(l["Account"], l["GLAccountCode"], l["AmountFC"]) for l in lines],
                         [(inv["InvoiceTo"], "1300", back)], "the repayment once, debtor debited")
        self.assertEqual(len(self.fake.entities(div, "GeneralJournalEntries")), 2)
        self.assertIn("paid and matched (credit note", self.log(env, "1/R5"))
        self.assertIn("its credit note is not in Exact yet", self.log(env, "1/R6"))
        self.assertEqual(self.sql(env, "SELECT count(*) FROM ledger WHERE source_key = '1/R6' "
                                       "AND kind = 'payment'"), "0")
        for d in self.loaders:
            self.assertEqual(d.stop(timeout=30), 0)

    def test_kill_between_intent_and_done_posts_once(self):
        rng = random.Random(L.random_seed())
        env, div = self.setup_tenant("t_ld_pkill", 3500, 23)
        cmd = invoice_command("t00", 3, rng)
        L.produce(env, [("t00", json.dumps(cmd))])
        self.loaders = L.start_loaders(env, 1, CX_LOADER_HTTP_TIMEOUT_MS=10000)
        self.wait_ledger(env, "invoice_print", 1)
        # the next write (the payment's POST) is held, then committed with nobody listening
        self.fake.post("/_fake/faults", {"division": div, "slow_write_ms": 4000,
                                         "slow_writes": 1})
        cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                          "amount": cmd["totals"]["gross"], "reference": "tr_3",
                          "journal": JOURNAL, "clearing_gl": CLEARING}
        L.produce(env, [("t00", json.dumps(cmd))])

        def in_flight():
            return self.sql(env, "SELECT count(*) FROM ledger WHERE kind = 'payment' AND "
                                 "state = 'pending' AND intent_at IS NOT NULL") == "1"
        self.assertTrue(L.wait_until(in_flight, 60, step=0.05), self.logs_of_failure())
        self.loaders[0].kill()  # SIGKILL with the POST on its way
        self.assertTrue(L.wait_until(
            lambda: len(self.fake.entities(div, "GeneralJournalEntries")) == 1, 30),
            "the held write was not committed")
        self.loaders += L.start_loaders(env, 1)
        self.wait_ledger(env, "payment", 1)
        time.sleep(2)
        inv = self.invoices(div)["t00-00003"]
        entries = self.fake.entities(div, "GeneralJournalEntries")
        self.assertEqual(len(entries), 1, "the payment was posted twice")
        self.assertEqual(len(self.entries_of(div, inv["InvoiceNumber"])), 1)
        self.assertEqual(self.open_items(self.fake.user_api(div)), {})
        guid = self.sql(env, "SELECT exact_guid FROM ledger WHERE kind = 'payment'")
        self.assertEqual(guid, entries[0]["EntryID"])
        self.assertIn("paid and matched", self.log(env, "3"))
        self.assertEqual(self.loaders[1].stop(timeout=30), 0)

    def test_email_failure_said_and_invoice_final(self):
        """A print whose e-mail Exact could not create: the invoice is final, printed once,
        paid and matched, and the sync log says the mail failed instead of "e-mailed"."""
        rng = random.Random(L.random_seed())
        env, div = self.setup_tenant("t_ld_mail", 3600, 24)
        self.fake.post("/_fake/faults", {"division": div, "email_errors": 1})
        cmd = invoice_command("t00", 4, rng)
        cmd["invoicing"]["send_email"] = True
        cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                          "amount": cmd["totals"]["gross"], "reference": "tr_4",
                          "journal": JOURNAL, "clearing_gl": CLEARING}
        L.produce(env, [("t00", json.dumps(cmd))] * 2)
        self.loaders = L.start_loaders(env, 1)
        self.wait_ledger(env, "payment", 1)
        time.sleep(2)
        inv = self.invoices(div)["t00-00004"]
        self.assertEqual(inv["Status"], 50)
        prints = L.booked(self.fake, div, "PrintedSalesInvoices")
        self.assertEqual(len(prints), 1)
        self.assertTrue(prints[0]["EmailCreationError"])
        msg = self.sql(env, "SELECT message FROM sync_log WHERE entity = 'sales_invoice' AND "
                            "source_id = '4' AND status = 'ok'")
        self.assertIn("processed; Exact could not e-mail it: Email could not be created", msg)
        self.assertNotIn("e-mailed by Exact", msg)
        self.assertEqual(self.open_items(self.fake.user_api(div)), {})
        self.assertIn("paid and matched", self.log(env, "4"))
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)

    def test_sales_orders_paid_once_exact_invoiced_them(self):
        """A sales-order tenant: the payment settles the invoice Exact made of the order; an
        order Exact does not invoice (invoice_sales_orders off) gets no payment, and says so."""
        rng = random.Random(L.random_seed())
        env, div = self.setup_tenant("t_ld_pso", 3700, 25)
        records = []
        for i in range(2):
            cmd = L.order_command("t00", 10 + i, rng)
            cmd["body"].update({"OrderDate": DAY, "PaymentCondition": "14"})
            if i == 0:
                cmd["invoicing"] = {"process": True, "send_email": False, "invoice_date": DAY,
                                    "invoice_sales_orders": True, "journal": "70"}
            cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                              "amount": cmd["totals"]["gross"], "reference": "",
                              "journal": JOURNAL, "clearing_gl": CLEARING}
            records.append(("t00", json.dumps(cmd)))
        L.produce(env, records * 2)
        self.loaders = L.start_loaders(env, 1)
        self.wait_ledger(env, "payment", 1)
        self.assertTrue(L.wait_until(lambda: "not invoiced in Exact" in (self.log(env, "11")
                                                                         or ""), 60))
        time.sleep(2)
        invs = L.booked(self.fake, div, "SalesInvoices")
        self.assertEqual([i["YourRef"] for i in invs], ["t00-00010"])
        lines = self.entries_of(div, invs[0]["InvoiceNumber"])
        self.assertEqual([(l["Account"], l["AmountFC"]) for l in lines],
                         [(invs[0]["InvoiceTo"], -json.loads(records[0][1])["totals"]["gross"])])
        self.assertEqual(len(self.fake.entities(div, "GeneralJournalEntries")), 1)
        self.assertEqual(self.open_items(self.fake.user_api(div)), {})
        self.assertIn("paid and matched", self.log(env, "10"))
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)

    def test_edit_of_a_paid_invoice_moves_the_payment(self):
        """A paid invoice edited twice (credit note <order>/E<n> + new invoice <order>/V<n>):
        each edit's entry sets the credit note against the new invoice and books the
        difference on the clearing account, so no receivable of the order stays open; a
        replay posts nothing more."""
        env, div = self.setup_tenant("t_ld_pedit", 3800, 26)
        ship = ("shipping", "VERZEND", 1, 4.09, "2")
        revs = [[("row:1", "SKU-1", q, 10.00, "2"), ship] for q in (2, 3, 1)]
        cmds = []
        for n, rows in enumerate(revs, 1):
            cmd = C.command("t00", 1, rows, True, C.rev(1, n))
            cmd["payment"] = {"paid": True, "method": "ideal", "date": "2026-04-01",
                              "amount": cmd["totals"]["gross"], "reference": "tr_1",
                              "journal": JOURNAL, "clearing_gl": CLEARING}
            cmds.append(cmd)
        gross = [c["totals"]["gross"] for c in cmds]
        L.produce(env, [("t00", json.dumps(cmds[0]))])
        self.loaders = L.start_loaders(env, 1)
        self.wait_ledger(env, "payment", 1)
        api = self.fake.user_api(div)
        self.assertEqual(self.open_items(api), {})
        L.produce(env, [("t00", json.dumps(cmds[1]))] * 2)
        self.wait_ledger(env, "payment", 2)
        L.produce(env, [("t00", json.dumps(cmds[2]))])
        self.wait_ledger(env, "payment", 3)
        L.produce(env, [("t00", json.dumps(c)) for c in cmds])
        time.sleep(4)
        docs = {}
        for d in L.booked(self.fake, div, "SalesInvoices"):
            docs[d["Description"]] = d
        self.assertEqual(len(docs), 5, list(docs))
        orig = docs["Webshop order 1"]
        e1, e2 = (next(d for k, d in docs.items() if f"revision {n} (invoice" in k)
                  for n in (1, 2))
        v1, v2 = (docs[f"Webshop order 1 (revision {n})"] for n in (1, 2))
        self.assertEqual([round(d["AmountFC"], 2) for d in (orig, e1, v1, e2, v2)],
                         [gross[0], -gross[0], gross[1], -gross[1], gross[2]])
        self.assertEqual(self.open_items(api), {}, "a receivable of the order stays open")
        entries = self.fake.entities(div, "GeneralJournalEntries")
        self.assertEqual(len(entries), 3, "one entry per payment and per edit, none twice")
        for e, v, was, now in ((e1, v1, gross[0], gross[1]), (e2, v2, gross[1], gross[2])):
            [line] = self.entries_of(div, v["InvoiceNumber"])
            entry = next(x for x in entries if x["EntryID"] == line["EntryID"])
            self.assertEqual(entry["JournalCode"], JOURNAL)
            got = sorted((ln.get("OurRef") or 0, ln["GLAccountCode"], ln.get("Account") or "",
                          round(ln["AmountFC"], 2))
                         for ln in entry["GeneralJournalEntryLines"])
            want = sorted([(e["InvoiceNumber"], "1300", e["InvoiceTo"], was),
                           (v["InvoiceNumber"], "1300", v["InvoiceTo"], -now),
                           (0, CLEARING, "", round(now - was, 2))])
            self.assertEqual(got, want)
        self.assertIn("paid and matched (changed in the shop: the payment moved from credit "
                      "note", self.log(env, "1/V2"))
        self.assertEqual(self.sql(env, "SELECT count(*) FROM dead_letters"), "0",
                         self.sql(env, "SELECT string_agg(reason, ' | ') FROM dead_letters"))
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
