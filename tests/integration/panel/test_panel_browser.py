#!/usr/bin/env python3
"""The control panel in headless Chromium over the whole pipeline: an order that the
transformer dead-letters for a missing VAT code is fixed in the page (sign in, connect Exact
through exact-fake, add the code, preview), retried from the page, and must then be booked
in the fake Exact by the real transformer and loader. Screenshots of each page go to
<build>/meson-logs/panel-screenshots/.

playwright-core comes from npm (package.json beside this file) into node_modules/ here; the
test installs it when it is missing (run.sh does it up front)."""
import json
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402

ORDER_ID = 8001


def ensure_playwright():
    """playwright-core and axe-core, as pinned in package-lock.json."""
    if all(os.path.isdir(os.path.join(HERE, "node_modules", m))
           for m in ("playwright-core", "axe-core")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   timeout=300, stdout=subprocess.DEVNULL)


class Browser(unittest.TestCase):
    def setUp(self):
        ensure_playwright()
        self.stack = panellib.Stack("t_panel_ui")
        self.addCleanup(self.stack.stop)

    wait = panellib.wait

    def test_fix_mapping_and_retry_in_the_browser(self):
        s = self.stack
        op = Client(s.base)
        self.assertEqual(op.login("op")[0], 200)
        status, obj, _, _ = op.request("PUT", "/api/tenants/shop-a/mappings",
                                       panellib.rules("shop-a", with_standard=False))
        self.assertEqual(status, 200, obj)
        tx = s.daemon(panellib.TRANSFORMER, {"CX_RULES_REFRESH_MS": "200",
                                             "CX_TRANSFORMER_GROUP": cxtest.unique("gt"),
                                             "CX_INSTANCE_ID": "tx-ui"}, "transformer",
                      without=("CX_SECRET_KEY",))
        ld = s.daemon(panellib.LOADER, {"CX_LOADER_GROUP": cxtest.unique("gl"),
                                        "CX_LOADER_BACKOFF_BASE_MS": "100",
                                        "CX_LOADER_BACKOFF_MAX_MS": "1000"}, "loader")
        event = {"v": 1, "tenant": "shop-a", "entity": "order", "event": "upsert",
                 "source_id": str(ORDER_ID), "trace_id": "tr-ui",
                 "payload": panellib.sample_order(ORDER_ID)}
        subprocess.run(["kcat", "-b", s.brokers, "-P", "-t", s.topic_prefix + "shop.orders",
                        "-K", "\t"], input=f"shop-a\t{json.dumps(event)}\n", text=True,
                       check=True, timeout=60)
        tx.wait_ready(120)
        ld.wait_ready(120)
        self.wait("the dead letter", lambda: cxtest.psql(
            s.dsn, "SELECT count(*) FROM dead_letters WHERE tenant_id = 'shop-a' AND"
            f" source_id = '{ORDER_ID}' AND state = 'open'") == "1")

        shots = os.path.join(os.environ.get("TEST_BUILD_DIR", "build"), "meson-logs",
                             "panel-screenshots")
        shutil.rmtree(shots, ignore_errors=True)
        os.makedirs(shots)
        p = subprocess.run(["node", os.path.join(HERE, "browser.js")], cwd=HERE,
                           env={**os.environ, "PANEL_URL": s.base, "PANEL_TENANT": "shop-a",
                                "PANEL_ORDER_ID": str(ORDER_ID), "PANEL_SHOTS": shots,
                                "PANEL_USER": "owner-a",
                                "PANEL_PASSWORD": panellib.PASSWORDS["owner-a"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr + "\n" + s.panel.output()[-3000:])
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertIn("wrong user name or password", seen["wrong_password"])
        self.assertEqual(seen["tenant_state_before"], "needs consent")
        self.assertEqual(seen["tenant_rows"], 1)
        self.assertEqual(seen["callback"], "Connected")
        self.assertEqual(seen["token_state"], "ok")
        self.assertIn("Saved: version", seen["saved"])
        self.assertIn("home_country", seen["refused"])
        self.assertIn("domestic", seen["preview"])
        self.assertEqual(seen["preview_vat"], "2")
        self.assertGreaterEqual(seen["log_rows"], 1)
        self.assertIn("sent again", seen["redrive"])
        self.assertEqual(seen["page_errors"], [])
        for name in ("02-tenants", "06-mappings-saved", "08-preview", "11-dead-letter-retried",
                     "12-tenants-phone"):
            self.assertTrue(os.path.getsize(os.path.join(shots, name + ".png")) > 1000)

        # The retried order is booked in the fake Exact, once.
        def booked():
            return [o for o in s.fake.entities("SalesOrders")
                    if o.get("YourRef") == f"WEB-{ORDER_ID}"]
        orders = self.wait("the sales order in exact-fake", booked, timeout=90)
        self.assertEqual(len(orders), 1)
        self.assertEqual(cxtest.psql(s.dsn, "SELECT state FROM dead_letters WHERE"
                                     f" source_id = '{ORDER_ID}'"), "redriven")


if __name__ == "__main__":
    unittest.main(verbosity=2)
