#!/usr/bin/env python3
"""The transformer daemon's VAT state against real Kafka and PostgreSQL (issue 18, item 5).

* A review warning of the VAT engine (a German VAT number on a delivery to Austria: ICP, but
  the number is not from the ship-to country) travels in the exact.commands envelope and is
  written to the sync log: status ok, the message lists the warning.
* The auto OSS mode starts from the rules' onboarding year-to-date figure (oss_ytd_eur of
  oss_ytd_year): with EUR 9,990 already sold in 2025, a EUR 100 German consumer order of 2025
  crosses the threshold and is booked at German VAT, while the same order dated 2026 starts
  the new year from zero and stays at Dutch VAT. The dry run predicts exactly the same.
* Rates (second test): the daemon with the operator's rates file (CX_TRANSFORMER_VAT_RATES_FILE,
  Germany at 20% from 2027-01-01, no rebuild) books a 2027 German order at 20% and a 2026 one at
  19%, replays December 2025's Finnish 14% order in 2026 at 14% (its tax point), books
  Madeira's 22% with the regional code and refuses the mainland 23% there, all exactly as the
  dry run with the same file; a file with overlapping periods stops the daemon at start
  (startup.failed, the line named)."""
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

    def test_rates_file_regions_and_replay_as_the_dry_run(self):
        tenant = "shop-rates"
        rules = base_rules(tenant=tenant)
        rules["vat_codes"] += [
            {"code": "F14", "scenario": "oss", "country": "FI", "percentage": 14},
            {"code": "F13", "scenario": "oss", "country": "FI", "percentage": 13.5},
            {"code": "D20", "scenario": "oss", "country": "DE", "percentage": 20},
            {"code": "MA1", "scenario": "oss", "country": "PT", "region": "PT-30",
             "class": "standard", "percentage": 22}]
        cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                    f" shop_secret_sealed) VALUES ('{tenant}', 'http://127.0.0.1:1', 'pk', 'v1:x')")
        text = json.dumps(rules).replace("'", "''")
        cxtest.psql(self.dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                    f" ('{tenant}', '{text}'::jsonb)")
        # the operator's file: DE 19% until 2026-12-31, 20% from 2027-01-01
        tmp = cxtest.tempfile.mkdtemp()
        with open(os.path.join(os.environ["TEST_SOURCE_DIR"], "vat", "eu-vat-rates.csv"),
                  encoding="utf-8") as f:
            src = f.read().splitlines()
        de = next(i for i, line in enumerate(src) if line.startswith("DE,"))
        row = src[de].split(",")
        good = src[:de] + [",".join(row[:-2] + ["", "2026-12-31"]),
                           ",".join(row[:5] + ["20"] + row[6:-2] + ["2027-01-01", ""])] + src[de + 1:]
        bad = src[:de] + [",".join(row[:-2] + ["", "2026-12-31"]),
                          ",".join(row[:-2] + ["2026-06-01", ""])] + src[de + 1:]
        paths = {}
        for name, lines in (("good", good), ("bad", bad)):
            paths[name] = os.path.join(tmp, name + ".csv")
            with open(paths[name], "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        env = {"CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
               "CX_TOPIC_PREFIX": self.prefix, "CX_INSTANCE_ID": "txv-rates",
               "CX_RULES_REFRESH_MS": "200"}
        p = subprocess.run([TRANSFORMER], env={**cxtest.clean_env(), **env,
                                               "CX_HTTP_PORT": "0",
                                               "CX_METRICS_LISTEN": "127.0.0.1:0",
                                               "CX_TRANSFORMER_VAT_RATES_FILE": paths["bad"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr[-2000:])
        last = json.loads(p.stderr.strip().splitlines()[-1])
        self.assertEqual(last["event"], "startup.failed")
        self.assertIn(paths["bad"], last["msg"])
        self.assertIn("overlaps line", last["msg"])

        orders = [
            make_order(920001, rows=[(1, 120, 20)], country="DE", zipcode="10115",
                       create_date="2027-01-04T10:00:00Z"),
            make_order(920002, rows=[(1, 119, 19)], country="DE", zipcode="10115",
                       create_date="2026-12-30T10:00:00Z"),
            # December's order replayed now: the rate of its tax point (FI 14% until 2025)
            make_order(920003, rows=[(1, 114, 14)], country="FI", zipcode="00100",
                       create_date="2025-12-31T10:00:00Z"),
            make_order(920004, rows=[(1, 113.5, 13.5)], country="FI", zipcode="00100",
                       create_date="2026-01-02T10:00:00Z"),
            make_order(920005, rows=[(1, 122, 22)], country="PT", zipcode="9000-018"),
            make_order(920006, rows=[(1, 123, 23)], country="PT", zipcode="9000-018"),
        ]
        rules_path = os.path.join(tmp, "rules.json")
        with open(rules_path, "w") as f:
            json.dump(rules, f)
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", rules_path, "--vat-rates",
                              paths["good"]], input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        dry = {r["source_id"]: r for r in map(json.loads, out.splitlines())}
        kcat_produce(self.brokers, self.prefix + "shop.orders", [
            (tenant, json.dumps({"v": 1, "tenant": tenant, "entity": "order", "event": "upsert",
                                 "source_id": str(o["id"]), "trace_id": f"tr-{o['id']}",
                                 "payload": o})) for o in orders])
        self.daemon = cxtest.Daemon(TRANSFORMER, {
            **env, "CX_TRANSFORMER_VAT_RATES_FILE": paths["good"]}, name="txv-rates").start()
        self.daemon.wait_ready(120)
        deadline = time.time() + 120
        while time.time() < deadline:
            cmds = {c["source_id"]: c for _, c in kcat_read(self.brokers,
                                                            self.prefix + "exact.commands")}
            dls = {d["source_id"]: d for _, d in kcat_read(self.brokers,
                                                           self.prefix + "dead.letters")}
            if len(cmds) + len(dls) >= 6:
                break
            time.sleep(0.5)
        self.assertEqual(sorted(cmds), ["920001", "920002", "920003", "920004", "920005"], dls)
        codes = {sid: {ln["VATCode"] for ln in c["body"]["SalesOrderLines"]}
                 for sid, c in cmds.items()}
        self.assertEqual(codes, {"920001": {"D20"}, "920002": {"D1"}, "920003": {"F14"},
                                 "920004": {"F13"}, "920005": {"MA1"}})
        for sid, cmd in cmds.items():
            self.assertEqual(cmd["scenario"], "oss", sid)
            self.assertEqual(cmd["body"], dry[sid]["body"], sid)
        self.assertIn("23% is not a PT VAT rate in Madeira (PT-30)", dls["920006"]["reason"])
        self.assertEqual(dls["920006"]["reason"], dry["920006"]["error"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
