#!/usr/bin/env python3
"""The control panel's sync log in headless Chromium with a Dutch locale shows what the
transformer found out about VIES (issue 18, items 1 and 5), against real Kafka and PostgreSQL,
vies-fake (Austria's VIES unavailable) and the real transformer daemon, tenant policy
vies_policy "domestic":

* an ICP order whose German number VIES confirms: the page shows its review warning (number
  not from the ship-to country) and the consultation number VIES returned, the same one the
  command carries;
* an ICP order whose Austrian number VIES cannot check: booked at the Dutch 21%, and the page
  shows the review warning with its Dutch words ("VIES niet bereikbaar: binnenlands
  btw-tarief toegepast") and the consultation outcome (unavailable, MS_UNAVAILABLE, policy
  domestic).
* the preview of both orders decides as the daemon did (the cache; for the second the
  consultation the daemon recorded, since "unavailable" is never cached).

The page speaks Dutch (the browser's language): its own labels, the booked line, the VIES
outcome and the chosen policy; the warning's text is the transformer's. A screenshot goes to
<build>/meson-logs/panel-screenshots/vies-sync-log.png."""
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
from test_panel_browser import ensure_playwright  # noqa: E402
from test_panel_vies import kcat_read  # noqa: E402

VIES_FAKE = os.path.join(panellib.BUILD, "fakes", "vies", "vies-fake")
DE, AT = "DE136695976", "ATU14243102"
NOT_FROM = f"review: VAT number {DE} is not from the ship-to country AT"
DOMESTIC = (f"review: VIES could not confirm {AT}, vies_policy domestic: booked at the NL rate"
            " 21% out of the amount paid, not as 0% ICP (VIES niet bereikbaar: binnenlands"
            " btw-tarief toegepast)")


class PanelViesBrowser(unittest.TestCase):
    def setUp(self):
        ensure_playwright()
        self.stack = panellib.Stack("t_panel_vies_ui")
        self.addCleanup(self.stack.stop)
        self.vies = subprocess.Popen([VIES_FAKE, "--listen", "127.0.0.1:0",
                                      "--state", "AT=unavailable"],
                                     stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.vies.stdout.close)
        self.addCleanup(cxtest.terminate, self.vies)
        self.vies_url = json.loads(self.vies.stdout.readline())["listen"]

    def commands(self):
        s = self.stack
        return {c["source_id"]: c for c in kcat_read(s.brokers, s.topic_prefix + "exact.commands")}

    wait = panellib.wait

    def test_sync_log_shows_vies_warning_in_dutch_and_consultation(self):
        s = self.stack
        op = Client(s.base)
        self.assertEqual(op.login("op")[0], 200)
        rules = base_rules(tenant="shop-a", division=panellib.DIVISION,
                           vat_number="NL001241643B01", vies_policy="domestic")
        status, obj, _, _ = op.request("PUT", "/api/tenants/shop-a/mappings", rules)
        self.assertEqual(status, 200, obj)
        orders = [make_order(9201, rows=[(1, 100, 0)], country="AT", zipcode="1010",
                             vat_number=DE, icp_flag=True, company="Kunde GmbH"),
                  make_order(9202, rows=[(1, 121, 0)], country="AT", zipcode="1010",
                             vat_number=AT, icp_flag=True, company="Kunde GmbH")]
        lines = "".join("shop-a\t" + json.dumps({
            "v": 1, "tenant": "shop-a", "entity": "order", "event": "upsert",
            "source_id": str(o["id"]), "trace_id": f"tr-{o['id']}", "payload": o}) + "\n"
            for o in orders)
        subprocess.run(["kcat", "-b", s.brokers, "-P", "-t", s.topic_prefix + "shop.orders",
                        "-K", "\t"], input=lines, text=True, check=True, timeout=60)
        tx = s.daemon(panellib.TRANSFORMER, {"CX_RULES_REFRESH_MS": "200",
                                             "CX_TRANSFORMER_GROUP": cxtest.unique("gvb"),
                                             "CX_INSTANCE_ID": "tx-vies-ui",
                                             "CX_VIES_URL": self.vies_url,
                                             "CX_VIES_TIMEOUT_MS": "2000"}, "transformer",
                      without=("CX_SECRET_KEY",))
        tx.wait_ready(120)
        cmds = self.wait("two commands", lambda: (lambda c: c if len(c) >= 2 else None)(
            self.commands()))
        number = cmds["9201"]["vies"]["consultation"]
        self.assertRegex(number, r"^WAPIFAKE\d{8}$")
        self.assertEqual(cmds["9202"]["scenario"], "domestic")
        self.assertEqual(cmds["9202"]["warnings"], [DOMESTIC])
        # the sync log is written in the transformer's transaction, after the command
        self.wait("the sync log of both orders", lambda: cxtest.psql(
            s.dsn, "SELECT count(DISTINCT source_id) FROM sync_log WHERE stage = 'transform'"
            " AND source_id IN ('9201', '9202')") == "2")

        # the preview decides as the daemon did: the cache for 9201, and for 9202 the
        # consultation the daemon recorded when VIES could not answer (never cached)
        for sid, scenario in (("9201", "icp"), ("9202", "domestic")):
            order = orders[0] if sid == "9201" else orders[1]
            status, pv, _, _ = op.request("POST", "/api/tenants/shop-a/preview", {"order": order})
            self.assertEqual(status, 200, pv)
            self.assertEqual(pv["result"]["scenario"], scenario, pv)
            self.assertEqual(pv["result"]["body"], cmds[sid]["body"], sid)
            self.assertEqual(pv["result"]["warnings"], cmds[sid]["warnings"], sid)
            self.assertEqual(pv["result"]["vies"]["outcome"], cmds[sid]["vies"]["outcome"], sid)
        self.assertEqual(pv["result"]["vies"]["error"], "MS_UNAVAILABLE")

        shots = os.path.join(panellib.BUILD, "meson-logs", "panel-screenshots")
        os.makedirs(shots, exist_ok=True)
        p = subprocess.run(["node", os.path.join(HERE, "browser-vies.js")], cwd=HERE,
                           env={**os.environ, "PANEL_URL": s.base, "PANEL_TENANT": "shop-a",
                                "PANEL_ORDERS": "9201,9202", "PANEL_SHOTS": shots,
                                "PANEL_USER": "owner-a",
                                "PANEL_PASSWORD": panellib.PASSWORDS["owner-a"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr + "\n" + s.panel.output()[-3000:])
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["language"], "nl-NL")
        self.assertEqual(seen["page_errors"], [])
        self.assertTrue(seen["message_column"], "the sync log's columns do not line up")

        def nl_date(iso):  # Intl's nl-NL medium date: "2 dec 2026"
            y, m, d = (int(x) for x in iso[:10].split("-"))
            months = "jan feb mrt apr mei jun jul aug sep okt nov dec".split()
            return f"{d} {months[m - 1]} {y}"

        def plain(text):
            return text.replace("\u00a0", " ") if text else text

        valid = seen["orders"]["9201"]
        self.assertEqual(valid["status"], "Gelukt")
        self.assertEqual(valid["review"], "Controleren: " + NOT_FROM[len("review: "):])
        self.assertEqual(plain(valid["vies"]),
                         f"VIES {DE}: geldig · raadplegingsnummer {number} · "
                         f"{nl_date(cmds['9201']['vies']['date'])}")

        down = seen["orders"]["9202"]
        self.assertEqual(down["status"], "Gelukt")
        # the booked line in Dutch; its warning and consultation are shown under it
        self.assertEqual(down["message"].replace("\u00a0", " "),
                         "Verkooporder: Binnenland, bruto € 121,00, 1 regel(s)")
        self.assertEqual(down["review"], "Controleren: " + DOMESTIC[len("review: "):])
        self.assertTrue(down["review_visible"])
        self.assertIn("VIES niet bereikbaar: binnenlands btw-tarief toegepast", down["review"])
        self.assertEqual(down["vies"], f"VIES {AT}: niet bereikbaar · belastingdienst van dat land"
                         " niet bereikbaar · gekozen: Binnenlands btw-tarief (geen 0% zonder VIES)")
        self.assertGreater(os.path.getsize(os.path.join(shots, "vies-sync-log.png")), 1000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
