#!/usr/bin/env python3
"""Loader against exact-fake, the real broker and PostgreSQL: exactly-once effect under
injected faults with several instances, kill -9 of an instance, rate limits with a compressed
minute (no 429, budget used, a tenant out of daily budget does not slow the others), token
rotation with a short TTL and several instances, and bad input going to the dead letters.

LOADER_IT_ORDERS scales the main run (default 400; the issue's full size is 2000)."""
import json
import os
import random
import sys
import time
import unittest
from datetime import datetime

sys.path.insert(0, os.path.dirname(__file__))
import loaderlib as L  # noqa: E402

ORDERS = int(os.environ.get("LOADER_IT_ORDERS", "400"))


class LoaderTest(L.LoaderCase):

    def make_orders(self, env, tenants, n, rng, invoice_every=0):
        expected = {t: {} for t in tenants}
        records = []
        names = sorted(tenants)
        for i in range(n):
            t = names[i % len(names)]
            inv = invoice_every and i % invoice_every == 0
            cmd = L.order_command(t, i, rng, invoice=bool(inv))
            if not inv:
                expected[t][cmd["body"]["YourRef"]] = cmd["totals"]["net"]
            records.append((t, json.dumps(cmd)))
        return expected, records

    def test_exactly_once_with_faults_and_three_instances(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000", "--seed", "7")
        env = L.new_env("t_ld_main")
        tenants = L.add_tenants(env, self.fake, 20)
        for div in tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "fail_before_write": 0.10,
                                             "fail_after_write": 0.05, "latency_ms": 3})
        expected, records = self.make_orders(env, tenants, ORDERS, rng)
        L.produce(env, records)
        self.loaders = L.start_loaders(env, 3)
        total = sum(len(v) for v in expected.values())

        def done():
            return sum(len(L.booked(self.fake, d)) for d in tenants.values()) >= total and \
                int(L.psql(env["CX_PG_DSN"], "SELECT count(*) FROM ledger WHERE "
                           "kind = 'sales_order' AND state = 'done'")) >= total
        self.assertTrue(L.wait_until(done, 150 + ORDERS / 4), self.logs_of_failure())
        time.sleep(1)
        L.check_exactly_once(self, self.fake, tenants, expected)
        st = self.fake.stats()
        faults = sum(d.get("faults", {}).get("after_write", 0)
                     for d in st["divisions"].values())
        self.assertGreater(faults, 0)
        dl = int(L.psql(env["CX_PG_DSN"], "SELECT count(*) FROM dead_letters"))
        self.assertEqual(dl, 0, L.psql(env["CX_PG_DSN"], "SELECT reason FROM dead_letters"))
        for d in self.loaders:
            self.assertEqual(d.stop(timeout=30), 0)

    def test_kill_minus_nine_moves_partitions(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000")
        env = L.new_env("t_ld_kill")
        tenants = L.add_tenants(env, self.fake, 8)
        for div in tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "latency_ms": 15})
        expected, records = self.make_orders(env, tenants, 240, rng)
        L.produce(env, records)
        self.loaders = L.start_loaders(env, 3)
        L.wait_until(lambda: sum(len(L.booked(self.fake, d)) for d in tenants.values()) > 40,
                     60, 0.1)
        self.loaders[0].kill()  # SIGKILL mid-run
        total = sum(len(v) for v in expected.values())
        ok = L.wait_until(lambda: sum(len(L.booked(self.fake, d))
                                      for d in tenants.values()) >= total, 120)
        self.assertTrue(ok, self.logs_of_failure())
        time.sleep(2)
        L.check_exactly_once(self, self.fake, tenants, expected)

    def test_rate_limits_and_daily_budget(self):
        rng = random.Random(L.random_seed())
        window_ms, limit = 2000, 10
        self.fake = L.Fake("--minute", str(window_ms / 1000), "--minutely-limit", str(limit),
                           "--daily-limit", "45", "--day-start", "now")
        env = L.new_env("t_ld_rate")
        tenants = L.add_tenants(env, self.fake, 3)
        records, expected = [], {t: {} for t in tenants}
        # t00 has a backlog larger than its daily budget; t01 and t02 a few orders each
        for i in range(60):
            cmd = L.order_command("t00", i, rng, customers=2, items=2)
            records.append(("t00", json.dumps(cmd)))
        for t in ("t01", "t02"):
            for i in range(10):
                cmd = L.order_command(t, i, rng, customers=2, items=2)
                expected[t][cmd["body"]["YourRef"]] = cmd["totals"]["net"]
                records.append((t, json.dumps(cmd)))
        L.produce(env, records)
        self.loaders = L.start_loaders(env, 1, CX_LOADER_CLOCK_SKEW_MS=30)
        ok = L.wait_until(lambda: all(len(L.booked(self.fake, tenants[t])) == 10
                                      for t in ("t01", "t02")), 60)
        self.assertTrue(ok, self.logs_of_failure())
        ok = L.wait_until(lambda: "daily" in L.psql(
            env["CX_PG_DSN"], "SELECT parked_reason FROM exact_budget WHERE tenant_id = 't00'"),
            60)
        self.assertTrue(ok, self.logs_of_failure())
        st = self.fake.stats()["divisions"]
        for t, div in tenants.items():
            self.assertEqual(st[str(div)].get("rate_limited", {}), {}, f"{t} got a 429")
        self.assertLessEqual(len(L.booked(self.fake, tenants["t00"])), 45)
        # budget use of t00 while its backlog lasted: full windows carry >= 90% of the limit
        calls = {}
        for e in self.loaders[0].log_events():
            if e.get("event") == "command.loaded" and e.get("tenant") == "t00":
                ts = datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
                w = int(ts * 1000 // window_ms)
                calls[w] = calls.get(w, 0) + e.get("calls", 0)
        ws = sorted(calls)
        full = [calls[w] for w in ws[1:-1]]
        self.assertTrue(full, calls)
        used = sum(full) / (limit * len(full))
        print(json.dumps({"budget_windows": full, "budget_used": round(used, 3)}))
        self.assertGreaterEqual(used, 0.9, calls)
        status = L.psql(env["CX_PG_DSN"], "SELECT parked_until > now(), daily_remaining FROM "
                        "exact_budget WHERE tenant_id = 't00'")
        self.assertTrue(status.startswith("t|0"), status)

    def test_token_rotation_three_instances(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--token-ttl", "33", "--minute", "2", "--minutely-limit", "1000")
        env = L.new_env("t_ld_tok")
        tenants = L.add_tenants(env, self.fake, 4)
        for div in tenants.values():
            self.fake.post("/_fake/faults", {"division": div, "latency_ms": 50})
        self.loaders = L.start_loaders(env, 3, CX_LOADER_WORKERS=2)
        # Traffic in waves until the tokens have rotated often enough: a token is refreshed
        # only when a call needs it, so one batch that is booked quickly rotates too little.
        expected, names, n = {t: {} for t in tenants}, sorted(tenants), 0
        deadline = time.time() + 150
        while time.time() < deadline:
            wave = []
            for _ in range(40):
                cmd = L.order_command(names[n % len(names)], n, rng)
                expected[cmd["tenant"]][cmd["body"]["YourRef"]] = cmd["totals"]["net"]
                wave.append((cmd["tenant"], json.dumps(cmd)))
                n += 1
            L.produce(env, wave)
            time.sleep(2)
            if n >= 200 and self.fake.stats().get("token", {}).get("refreshed", 0) >= 8:
                break
        total = sum(len(v) for v in expected.values())
        ok = L.wait_until(lambda: sum(len(L.booked(self.fake, d))
                                      for d in tenants.values()) >= total, 150)
        self.assertTrue(ok, self.logs_of_failure())
        tok = self.fake.stats().get("token", {})
        self.assertEqual(tok.get("old_refresh_token", 0), 0, tok)
        self.assertGreaterEqual(tok.get("refreshed", 0), 8, tok)
        states = L.psql(env["CX_PG_DSN"], "SELECT DISTINCT state FROM exact_tokens").split()
        self.assertEqual(states, ["ok"])
        L.check_exactly_once(self, self.fake, tenants, expected)

    def test_bad_input_goes_to_dead_letters(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000")
        env = L.new_env("t_ld_bad")
        tenants = L.add_tenants(env, self.fake, 2)
        good = L.order_command("t00", 1, rng)
        bad_vat = L.order_command("t00", 2, rng)
        bad_vat["body"]["SalesOrderLines"][0]["VATCode"] = "ZZ"
        no_lines = L.order_command("t01", 3, rng)
        no_lines["body"]["SalesOrderLines"] = []
        no_consent = L.order_command("t01", 4, rng)
        refused = L.order_command("t00", 6, rng)
        refused["body"]["SalesOrderLines"][0]["Description"] = "x" * 80  # Exact says no
        L.psql(env["CX_PG_DSN"], "UPDATE exact_tokens SET state = 'needs_consent' "
               "WHERE tenant_id = 't01'")
        records = [("t00", "{not json"), ("nobody", json.dumps(L.order_command("nobody", 5, rng))),
                   ("t00", json.dumps(bad_vat)), ("t01", json.dumps(no_lines)),
                   ("t01", json.dumps(no_consent)), ("t00", json.dumps(refused)),
                   ("t00", json.dumps(good)),
                   ("t00", json.dumps(good))]
        L.produce(env, records)
        self.loaders = L.start_loaders(env, 1)
        ok = L.wait_until(lambda: int(L.psql(env["CX_PG_DSN"],
                                             "SELECT count(*) FROM dead_letters")) >= 6, 60)
        self.assertTrue(ok, self.logs_of_failure())
        L.wait_until(lambda: len(L.booked(self.fake, tenants["t00"])) == 1, 30)
        self.assertEqual(len(L.booked(self.fake, tenants["t00"])), 1)
        reasons = L.psql(env["CX_PG_DSN"], "SELECT reason FROM dead_letters ORDER BY id")
        for needle in ("malformed", "unknown tenant", "VAT code ZZ", "at least one line",
                       "consent", "Exact refused"):
            self.assertIn(needle, reasons)
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
