#!/usr/bin/env python3
"""The transformer daemon's VAT state against real Kafka and PostgreSQL (issue 18, item 5).

* A review warning of the VAT engine (a German VAT number on a delivery to Austria: ICP, but
  the number is not from the ship-to country) travels in the exact.commands envelope and is
  written to the sync log: status ok, the message lists the warning.
* The auto OSS mode starts from the rules' onboarding year-to-date figure (oss_ytd_eur of
  oss_ytd_year): with EUR 9,990 already sold in 2025, a EUR 100 German consumer order of 2025
  crosses the threshold and is booked at German VAT, while the same order dated 2026 starts
  the new year from zero and stays at Dutch VAT. The dry run predicts exactly the same."""
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import cxtest  # noqa: E402
from orderlib import base_rules, make_order  # noqa: E402
from test_transformer import kcat_produce, kcat_read  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
TENANT = "shop-vat"


class TransformerVat(unittest.TestCase):
    def setUp(self):
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        self.dsn = cxtest.new_database("t_txv")
        subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": self.dsn},
                       check=True, stdout=subprocess.DEVNULL)
        self.prefix = cxtest.unique("txv") + "."
        self.rules = base_rules(tenant=TENANT, oss_registered=False, oss_mode="auto",
                                oss_ytd_eur=9990, oss_ytd_year=2025)
        cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                    f" shop_secret_sealed) VALUES ('{TENANT}', 'http://127.0.0.1:1', 'pk', 'v1:x')")
        text = json.dumps(self.rules).replace("'", "''")
        cxtest.psql(self.dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                    f" ('{TENANT}', '{text}'::jsonb)")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.kill()

    def dry_run(self, orders):
        path = os.path.join(cxtest.tempfile.mkdtemp(), "rules.json")
        with open(path, "w") as f:
            json.dump(self.rules, f)
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                             input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def test_warnings_in_sync_log_and_oss_ytd_from_rules(self):
        orders = [
            make_order(910001, rows=[(1, 100, 0)], country="AT", zipcode="1010",
                       vat_number="DE136695976", icp_flag=True),
            make_order(910002, rows=[(1, 119, 19)], country="DE", zipcode="10115",
                       create_date="2025-11-20T10:00:00Z"),
            make_order(910003, rows=[(1, 121, 21)], country="DE", zipcode="10115",
                       create_date="2026-01-05T10:00:00Z"),
        ]
        dry = {r["source_id"]: r for r in self.dry_run(orders)}
        self.assertEqual(dry["910002"].get("scenario"), "oss", dry["910002"])
        self.assertEqual(dry["910003"].get("scenario"), "distance_origin", dry["910003"])
        records = [(TENANT, json.dumps({"v": 1, "tenant": TENANT, "entity": "order",
                                        "event": "upsert", "source_id": str(o["id"]),
                                        "trace_id": f"tv-{o['id']}", "payload": o}))
                   for o in orders]
        kcat_produce(self.brokers, self.prefix + "shop.orders", records)
        self.daemon = cxtest.Daemon(TRANSFORMER, {
            "CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
            "CX_TOPIC_PREFIX": self.prefix, "CX_INSTANCE_ID": "txv-1",
            "CX_RULES_REFRESH_MS": "200"}, name="txv-1").start()
        self.daemon.wait_ready(120)
        deadline = time.time() + 120
        cmds = []
        while time.time() < deadline:
            cmds = kcat_read(self.brokers, self.prefix + "exact.commands")
            if len(cmds) >= 3:
                break
            time.sleep(0.5)
        by_id = {c["source_id"]: c for _, c in cmds}
        self.assertEqual(sorted(by_id), ["910001", "910002", "910003"],
                         kcat_read(self.brokers, self.prefix + "dead.letters"))
        for sid, cmd in by_id.items():
            self.assertEqual(cmd["scenario"], dry[sid]["scenario"], sid)
            self.assertEqual(cmd["body"], dry[sid]["body"], sid)
            self.assertEqual(cmd.get("warnings"), dry[sid].get("warnings"), sid)
        self.assertEqual(by_id["910002"]["scenario"], "oss")
        self.assertEqual({l["VATCode"] for l in by_id["910002"]["body"]["SalesOrderLines"]},
                         {"D1"})
        self.assertEqual(by_id["910003"]["scenario"], "distance_origin")
        warning = "review: VAT number DE136695976 is not from the ship-to country AT"
        self.assertEqual(by_id["910001"]["warnings"], [warning])
        row = cxtest.psql(self.dsn, "SELECT status || '|' || message FROM sync_log WHERE"
                          f" tenant_id = '{TENANT}' AND stage = 'transform' AND"
                          " source_id = '910001'")
        status, message = row.split("|", 1)
        self.assertEqual(status, "ok")
        self.assertIn("icp", message)
        self.assertIn("warning: " + warning, message)
        # the crossing order is counted in 2025 on top of the onboarding figure
        total = cxtest.psql(self.dsn, "SELECT coalesce(sum(net_cents), 0) FROM oss_sales WHERE"
                            f" tenant_id = '{TENANT}' AND year = 2025")
        self.assertEqual(int(total), 10000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
