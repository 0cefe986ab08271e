#!/usr/bin/env python3
"""The control panel shows what the transformer found out about an order's VAT, and its
preview decides on the same state as the daemon (issue 18, items 3 and 5), against real
Kafka and PostgreSQL, vies-fake and the real transformer daemon.

* The sync log (GET /api/tenants/T/log) of a booked ICP order carries the VAT engine's review
  warning ("warnings") and the VIES consultation ("vies": outcome, consultation number, date)
  that the daemon put in its command.
* The preview (POST /api/tenants/T/preview) of the same order uses the daemon's VIES cache:
  the same consultation number, without asking VIES (the fake's counter does not move).
* The preview uses the daemon's OSS running total: with EUR 9,900 of onboarding sales, a
  EUR 100 order keeps the year at EUR 10,000 (Dutch VAT) and the next EUR 50 order crosses
  the threshold (German VAT). Previewed before the daemon sees it, the second order is
  predicted exactly as the daemon then books it; the rules alone would put it at EUR 9,950
  (and refuse its German rate)."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402
from orderlib import base_rules, make_order  # noqa: E402

VIES_FAKE = os.path.join(os.environ.get("TEST_BUILD_DIR", "build"), "fakes", "vies",
                         "vies-fake")
WARNING = "review: VAT number DE136695976 is not from the ship-to country AT"


def kcat_read(brokers, topic):
    p = subprocess.run(["kcat", "-b", brokers, "-C", "-t", topic, "-e", "-o", "beginning", "-q",
                        "-X", "isolation.level=read_committed", "-f", "%s\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


class PanelVies(unittest.TestCase):
    def setUp(self):
        self.stack = panellib.Stack("t_panel_vies")
        self.addCleanup(self.stack.stop)
        self.vies = subprocess.Popen([VIES_FAKE, "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.vies.stdout.close)
        self.addCleanup(cxtest.terminate, self.vies)
        self.vies_url = json.loads(self.vies.stdout.readline())["listen"]

    def produce(self, orders):
        s = self.stack
        lines = "".join("shop-a\t" + json.dumps({
            "v": 1, "tenant": "shop-a", "entity": "order", "event": "upsert",
            "source_id": str(o["id"]), "trace_id": f"tr-{o['id']}", "payload": o}) + "\n"
            for o in orders)
        subprocess.run(["kcat", "-b", s.brokers, "-P", "-t", s.topic_prefix + "shop.orders",
                        "-K", "\t"], input=lines, text=True, check=True, timeout=60)

    def commands(self):
        s = self.stack
        return {c["source_id"]: c for c in kcat_read(s.brokers, s.topic_prefix + "exact.commands")}

    def vies_calls(self):
        return json.loads(cxtest.http("GET", self.vies_url + "/_fake/stats")[1])["checks"]

    wait = panellib.wait

    def test_sync_log_and_preview_show_the_daemons_vat_state(self):
        s = self.stack
        op = Client(s.base)
        self.assertEqual(op.login("op")[0], 200)
        rules = base_rules(tenant="shop-a", division=panellib.DIVISION, vat_number="NL001241643B01",
                           vies_policy="recheck", oss_registered=False, oss_mode="auto",
                           oss_ytd_eur=9900, oss_ytd_year=2025)
        status, obj, _, _ = op.request("PUT", "/api/tenants/shop-a/mappings", rules)
        self.assertEqual(status, 200, obj)
        orders = [make_order(9101, rows=[(1, 100, 0)], country="AT", zipcode="1010",
                             vat_number="DE136695976", icp_flag=True, company="Kunde GmbH"),
                  # net 100: the year reaches exactly 10,000, still Dutch VAT
                  make_order(9102, rows=[(1, 121, 21)], country="DE", zipcode="10115",
                             create_date="2025-10-01T10:00:00Z"),
                  # net 50 on top: over the threshold, German VAT
                  make_order(9103, rows=[(1, 59.5, 19)], country="DE", zipcode="10115",
                             create_date="2025-10-02T10:00:00Z")]
        tx = s.daemon(panellib.TRANSFORMER, {"CX_RULES_REFRESH_MS": "200",
                                             "CX_TRANSFORMER_GROUP": cxtest.unique("gv"),
                                             "CX_INSTANCE_ID": "tx-vies",
                                             "CX_VIES_URL": self.vies_url}, "transformer",
                      without=("CX_SECRET_KEY",))
        self.produce(orders[:2])
        tx.wait_ready(120)
        self.wait("two commands", lambda: len(self.commands()) >= 2)
        # before the daemon sees 9103, the preview says what it will do with it
        status, before, _, _ = op.request("POST", "/api/tenants/shop-a/preview",
                                          {"order": orders[2]})
        self.assertEqual(status, 200, before)
        self.assertEqual(before["result"].get("scenario"), "oss", before)
        self.produce(orders[2:])
        cmds = self.wait("three commands", lambda: (lambda c: c if len(c) >= 3 else None)(
            self.commands()))
        self.assertEqual(before["result"]["body"], cmds["9103"]["body"])
        self.assertEqual(cmds["9102"]["scenario"], "distance_origin")
        self.assertEqual(cmds["9103"]["scenario"], "oss")
        icp = cmds["9101"]
        self.assertEqual(icp["warnings"], [WARNING])
        self.assertEqual(icp["vies"]["outcome"], "valid")
        number = icp["vies"]["consultation"]

        # the sync log: the warning and the consultation, as structured members
        status, log, _, _ = op.request("GET", "/api/tenants/shop-a/log?q=9101&stage=transform")
        self.assertEqual(status, 200, log)
        entry = [e for e in log["entries"] if e["source_id"] == "9101"][0]
        self.assertEqual(entry["status"], "ok")
        self.assertEqual(entry["warnings"], [WARNING])
        self.assertEqual(entry["vies"]["outcome"], "valid")
        self.assertEqual(entry["vies"]["consultation"], number)
        self.assertEqual(entry["vies"]["date"], icp["vies"]["date"])
        self.assertEqual(entry["vies"]["vat_number"], "DE136695976")
        other = [e for e in op.request("GET", "/api/tenants/shop-a/log?q=9102")[1]["entries"]
                 if e["source_id"] == "9102"][0]
        self.assertIsNone(other["vies"])
        self.assertEqual(other["warnings"], [])

        # the preview: the daemon's cache, VIES not asked again
        calls = self.vies_calls()
        status, pv, _, _ = op.request("POST", "/api/tenants/shop-a/preview", {"order": orders[0]})
        self.assertEqual(status, 200, pv)
        self.assertEqual(pv["result"]["scenario"], "icp")
        self.assertEqual(pv["result"]["body"], icp["body"])
        self.assertEqual(pv["result"]["warnings"], [WARNING])
        self.assertEqual(pv["result"]["vies"]["consultation"], number)
        self.assertIs(pv["result"]["vies"]["cached"], True)
        self.assertEqual(self.vies_calls(), calls)
        # an order whose number the daemon never asked about: the preview does not ask either
        fresh = make_order(9104, rows=[(1, 100, 0)], country="BE", zipcode="1000",
                           vat_number="BE0468561072", icp_flag=True)
        pv = op.request("POST", "/api/tenants/shop-a/preview", {"order": fresh})[1]
        self.assertEqual(pv["result"]["vies"]["outcome"], "not_checked")
        self.assertEqual(self.vies_calls(), calls)


if __name__ == "__main__":
    unittest.main(verbosity=2)
