#!/usr/bin/env python3
"""The invoice path through the real loader, Kafka, PostgreSQL and exact-fake (issue 13 item
3): sales invoices booked once and processed once (PrintedSalesInvoices) with writes failing
after the fact, dated on the order's day in Europe/Amsterdam, due after the payment
condition's days, the e-mail flag passed on; read back field by field from exact-fake. The
dates come from the real booking library through `transformer --dry-run`. And a sales-order
tenant whose orders Exact invoices (InvoiceSalesOrders), once each, then processed."""
import json
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "unit", "transformer"))
import loaderlib as L  # noqa: E402
import orderlib  # noqa: E402

TRANSFORMER = os.path.join(L.BUILD, "transformer", "transformer")
RULES = os.path.join(os.path.dirname(__file__), "..", "..", "unit", "transformer",
                     "rules-nl.json")
DAY = 86400000


def ms(date):
    """'2026-04-01T00:00:00' -> Exact's /Date(ms)/ of that day at 00:00Z."""
    y, m, d = (int(x) for x in date[:10].split("-"))
    import datetime
    t = datetime.datetime(y, m, d, tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def dry_run_dates(tmp, stamps):
    """OrderDate and the invoicing member the booking library makes of CCV create_dates."""
    rules = json.load(open(RULES))
    rules.update({"book_as": "salesinvoice", "journal": "70",
                  "invoicing": {"process": True, "send_email": True}})
    path = os.path.join(tmp, "rules-invoice.json")
    with open(path, "w") as f:
        json.dump(rules, f)
    lines = []
    for i, stamp in enumerate(stamps):
        o = orderlib.make_order(500 + i, [(1, 12.10, 21)])
        o["create_date"] = stamp
        lines.append(json.dumps(o))
    p = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path], input="\n".join(lines) + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(x)["body"]["OrderDate"] for x in p.stdout.splitlines()]


class InvoicingTest(L.LoaderCase):

    def test_invoices_booked_dated_processed_once(self):
        # 23:30Z on 31 March is 01:30 on 1 April in Amsterdam (summer time); 23:30Z on 14
        # January is 00:30 CET on the 15th; 21:00Z on 1 July is still the 1st
        stamps = ["2026-03-31T23:30:00Z", "2026-01-14T23:30:00Z", "2026-07-01T21:00:00Z"]
        want = ["2026-04-01T00:00:00", "2026-01-15T00:00:00", "2026-07-01T00:00:00"]
        days = dry_run_dates(os.environ.get("TMPDIR", "/tmp"), stamps)
        self.assertEqual(days, want, "the dry run's OrderDate")
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--no-limits", "--seed", "11")
        env = L.new_env("t_ld_inv")
        tenants = L.add_tenants(env, self.fake, 2, first_division=3100)
        for div in tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "fail_after_write": 0.25,
                                             "latency_ms": 2})
        records, expected = [], {}
        for i in range(24):
            t = sorted(tenants)[i % 2]
            cmd = L.order_command(t, i, rng, invoice=True)
            day = days[i % 3]
            email = i % 2 == 0
            pc = "14" if i % 4 < 2 else "30"
            cmd["body"].update({"OrderDate": day, "PaymentCondition": pc})
            cmd["invoicing"] = {"process": True, "send_email": email, "invoice_date": day}
            expected[cmd["body"]["YourRef"]] = (t, day, pc, email, cmd["totals"]["net"])
            records.append((t, json.dumps(cmd)))
        # a replay of every command must change nothing
        L.produce(env, records + records)
        self.loaders = L.start_loaders(env, 2)
        dsn = env["CX_PG_DSN"]

        def done():
            return int(L.psql(dsn, "SELECT count(*) FROM ledger WHERE kind = 'invoice_print' "
                              "AND state = 'done'")) >= len(expected)
        self.assertTrue(L.wait_until(done, 180), "\n".join(d.output()[-3000:]
                                                            for d in self.loaders))
        time.sleep(2)
        faults = sum(d.get("faults", {}).get("after_write", 0)
                     for d in self.fake.stats()["divisions"].values())
        self.assertGreater(faults, 0, "no write failed after the fact")
        seen = set()
        for t, div in tenants.items():
            invs = L.booked(self.fake, div, "SalesInvoices")
            prints = L.booked(self.fake, div, "PrintedSalesInvoices")
            refs = [i["YourRef"] for i in invs]
            self.assertEqual(len(refs), len(set(refs)), f"{t}: an invoice was booked twice")
            by_inv = {}
            for p in prints:
                by_inv.setdefault(p["InvoiceID"], []).append(p)
            for inv in invs:
                _, day, pc, email, net = expected[inv["YourRef"]]
                seen.add(inv["YourRef"])
                self.assertEqual(inv["Status"], 50, inv["YourRef"])
                self.assertEqual(inv["OrderDate"], "/Date(%d)/" % ms(day))
                self.assertEqual(inv["InvoiceDate"], "/Date(%d)/" % ms(day))
                self.assertEqual(inv["DueDate"], "/Date(%d)/" % (ms(day) + int(pc) * DAY))
                self.assertEqual(inv["PaymentCondition"], pc)
                lines = inv.get("SalesInvoiceLines") or []
                self.assertAlmostEqual(round(sum(l["AmountFC"] for l in lines), 2), net,
                                       places=2)
                ps = by_inv.get(inv["InvoiceID"], [])
                self.assertEqual(len(ps), 1, f"{inv['YourRef']} processed {len(ps)} times")
                self.assertEqual(ps[0]["SendEmailToCustomer"], email)
                self.assertEqual(ps[0]["InvoiceDate"], "/Date(%d)/" % ms(day))
        self.assertEqual(seen, set(expected))
        dl = int(L.psql(dsn, "SELECT count(*) FROM dead_letters"))
        self.assertEqual(dl, 0, L.psql(dsn, "SELECT reason FROM dead_letters"))
        logged = L.psql(dsn, "SELECT count(*) FROM sync_log WHERE stage = 'load' AND "
                        "status = 'ok' AND message LIKE '%processed%'")
        self.assertGreaterEqual(int(logged), len(expected))
        for d in self.loaders:
            self.assertEqual(d.stop(timeout=30), 0)


    def test_sales_orders_invoiced_by_exact_once(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--no-limits", "--seed", "12")
        env = L.new_env("t_ld_iso")
        tenants = L.add_tenants(env, self.fake, 1, first_division=3200)
        div = tenants["t00"]
        # a new tenant books orders paid on account too (migration 0010)
        self.assertEqual(L.psql(env["CX_PG_DSN"], "SELECT bookable_require_paid FROM tenants "
                                "WHERE id = 't00'").strip(), "f")
        self.fake.post("/_fake/faults", {"division": div, "fail_after_write": 0.25})
        day = "2026-04-01T00:00:00"
        records, expected = [], {}
        for i in range(12):
            cmd = L.order_command("t00", i, rng)
            cmd["body"].update({"OrderDate": day, "PaymentCondition": "30"})
            cmd["invoicing"] = {"process": True, "send_email": False, "invoice_date": day,
                                "invoice_sales_orders": True, "journal": "70"}
            expected[cmd["body"]["YourRef"]] = cmd["totals"]["net"]
            records.append(("t00", json.dumps(cmd)))
        L.produce(env, records + records)
        self.loaders = L.start_loaders(env, 2)
        dsn = env["CX_PG_DSN"]

        def done():
            return int(L.psql(dsn, "SELECT count(*) FROM ledger WHERE kind = 'invoice_print' "
                              "AND state = 'done'")) >= len(expected)
        self.assertTrue(L.wait_until(done, 180), "\n".join(d.output()[-3000:]
                                                            for d in self.loaders))
        time.sleep(2)
        orders = {o["OrderID"]: o for o in L.booked(self.fake, div, "SalesOrders")}
        invs = L.booked(self.fake, div, "SalesInvoices")
        prints = L.booked(self.fake, div, "PrintedSalesInvoices")
        self.assertEqual(sorted(o["YourRef"] for o in orders.values()), sorted(expected))
        self.assertEqual(sorted(i["YourRef"] for i in invs), sorted(expected),
                         "one invoice per order, none twice")
        self.assertEqual(len(prints), len(expected), "each invoice processed once")
        ledger = dict(line.split("|") for line in L.psql(
            dsn, "SELECT source_key, exact_guid FROM ledger WHERE kind = 'order_invoice' "
            "AND state = 'done'").split())
        self.assertEqual(len(ledger), len(expected))
        for inv in invs:
            lines = inv["SalesInvoiceLines"]
            order = orders[lines[0]["SalesOrder"]]
            self.assertEqual(order["YourRef"], inv["YourRef"])
            self.assertEqual(order["InvoiceStatus"], 21)
            self.assertIn(inv["InvoiceID"], ledger.values())
            self.assertEqual(inv["Status"], 50)
            self.assertEqual(inv["Journal"], "70")
            self.assertEqual(inv["OrderDate"], "/Date(%d)/" % ms(day))
            self.assertEqual(inv["InvoiceDate"], "/Date(%d)/" % ms(day))
            self.assertEqual(inv["DueDate"], "/Date(%d)/" % (ms(day) + 30 * DAY))
            self.assertAlmostEqual(round(sum(l["AmountFC"] for l in lines), 2),
                                   expected[inv["YourRef"]], places=2)
        self.assertFalse(any(p["SendEmailToCustomer"] for p in prints))
        dl = int(L.psql(dsn, "SELECT count(*) FROM dead_letters"))
        self.assertEqual(dl, 0, L.psql(dsn, "SELECT reason FROM dead_letters"))
        for d in self.loaders:
            self.assertEqual(d.stop(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
