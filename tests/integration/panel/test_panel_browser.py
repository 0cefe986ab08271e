#!/usr/bin/env python3
"""The control panel in headless Chromium over the whole pipeline: an order that the
transformer dead-letters for a missing VAT code is fixed in the page (sign in, connect Exact
through exact-fake, add the code, preview), retried from the page, and must then be booked
in the fake Exact by the real transformer and loader. The walk is in Dutch (the browser's
language), then in English (the page's switch); axe-core checks every screen in both, and a
screenshot of each goes to <build>/screenshots/panel/<lang>-<nn>-<screen>.png.

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

        shots = os.path.join(os.environ.get("TEST_BUILD_DIR", "build"), "screenshots", "panel")
        shutil.rmtree(shots, ignore_errors=True)
        os.makedirs(shots)
        p = subprocess.run(["node", os.path.join(HERE, "browser.js")], cwd=HERE,
                           env={**os.environ, "PANEL_URL": s.base, "PANEL_TENANT": "shop-a",
                                "PANEL_ORDER_ID": str(ORDER_ID), "PANEL_SHOTS": shots,
                                "PANEL_USER": "owner-a",
                                "PANEL_PASSWORD": panellib.PASSWORDS["owner-a"],
                                "PANEL_OP_USER": "op", "PANEL_OP_PASSWORD": panellib.PASSWORDS["op"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr + "\n" + s.panel.output()[-3000:])
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        nl, en = seen["nl"], seen["en"]
        self.assertEqual(seen["page_errors"], [])
        # axe-core: no serious or critical violation on any screen, in either language
        self.assertGreaterEqual(len(seen["axe"]), 28)
        self.assertEqual({k: v for k, v in seen["axe"].items() if v}, {})
        self.assertEqual(seen["internal"], {})

        # Dutch: the browser's language
        self.assertEqual(nl["lang"], "nl")
        self.assertEqual(nl["login_title"], "Inloggen")
        self.assertEqual(nl["wrong_password"], "Onjuiste gebruikersnaam of wachtwoord.")
        self.assertEqual(seen["tenant_rows"], 1)
        self.assertEqual(nl["tenant_state"], "Toestemming nodig")
        self.assertEqual((nl["tenants_focus"], nl["overview_focus"]), ("H1", "H1"))
        self.assertEqual(nl["overview_reason"], "Exact Online heeft (opnieuw) uw toestemming nodig.")
        self.assertIn("Alles geboekt in Exact (ook relaties en artikelen)", nl["overview_text"])
        self.assertIn("Bestellingen, Artikelen, Relaties", nl["overview_text"])
        self.assertEqual(nl["callback"], "Gekoppeld")
        self.assertEqual(nl["token_state"], "Gekoppeld")
        self.assertRegex(nl["saved"], r"^Opgeslagen: versie \d+\.$")
        self.assertRegex(nl["saved_flash"], r"^Koppelingen opgeslagen \(versie \d+\)\.$")
        self.assertEqual(nl["refused"], "Land van vestiging: XX is geen EU-lidstaat")

        # The preview's amounts as the API gives them, formatted per language.
        status, pv, _, _ = op.request("POST", "/api/tenants/shop-a/preview",
                                      {"order_id": str(ORDER_ID)})
        self.assertEqual(status, 200, pv)
        totals, line = pv["result"]["totals"], pv["result"]["body"]["SalesOrderLines"][0]

        def eur(v, lang):
            s = f"{float(v):,.2f}"
            return ("€ " + s.translate(str.maketrans(",.", ".,"))) if lang == "nl" else "€" + s
        for lang, words in (("nl", "Bestelling {}: Binnenland → Verkooporder (netto {}, btw {}, bruto {})"),
                            ("en", "Order {}: Domestic → Sales order (net {}, VAT {}, gross {})")):
            self.assertEqual(seen[lang]["preview"].replace("\u00a0", " "),
                             words.format(ORDER_ID, eur(totals["net"], lang), eur(totals["vat"], lang),
                                          eur(totals["gross"], lang)))
            row = [c.replace("\u00a0", " ") for c in seen[lang]["preview_line"]]
            self.assertEqual(row[3], eur(line["NetPrice"], lang))
            self.assertEqual(row[4], "2")
            self.assertEqual(row[5], "21%")
            self.assertTrue(seen[lang]["raw_body_hidden"])
        self.assertEqual(nl["support"], "Details voor support")
        self.assertEqual(en["support"], "Details for support")

        # The sync log: every cell under its header, a failed order linked to its preview,
        # times in local time for the language (the page's time zone is Europe/Amsterdam).
        for lang, headers, at in (
                ("nl", ["Tijdstip", "Stap", "Soort", "Bron", "Status", "Melding", "Kenmerk"],
                 r"^\d{1,2} (jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec)\.? \d{4}, \d\d:\d\d$"),
                ("en", ["At", "Step", "Kind", "Source", "Status", "Message", "Reference"],
                 r"^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec) \d{4}, \d\d:\d\d$")):
            self.assertGreaterEqual(seen[lang]["log_rows"], 1)
            self.assertEqual(seen[lang]["log_headers"], headers)
            self.assertTrue(seen[lang]["log_columns"], "the sync log's columns do not line up")
            self.assertRegex(seen[lang]["log_first"][0], at)
            self.assertGreaterEqual(seen[lang]["log_failed_preview"], 1)
        self.assertEqual(nl["log_first"][1:5], ["Omzetten", "Bestelling", str(ORDER_ID), "Mislukt"])
        self.assertEqual(en["log_first"][1:5], ["Convert", "Order", str(ORDER_ID), "Failed"])
        self.assertEqual(nl["dead_letter"][3], f"Bestelling {ORDER_ID}")
        self.assertEqual(en["dead_letter"][3], f"Order {ORDER_ID}")

        # English: the switch, remembered over a reload; the browser's first language too.
        self.assertEqual(en["switched"], "My account")
        self.assertEqual((en["after_reload"], en["lang"], en["pressed"]), ("My account", "en", "true"))
        self.assertEqual(en["tenant_state"], "Failing")  # the dead letter is still open
        self.assertRegex(en["overview_reason"], r"^[1-9]\d* failed, 1 waiting for a fix\.$")
        self.assertIn("Everything booked in Exact (with relations and items)", en["overview_text"])
        self.assertEqual(en["token_state"], "Connected")
        self.assertEqual(en["vat_header"], "VAT codes per scenario and country")
        self.assertEqual(en["redrive"], f"Order {ORDER_ID} was sent again.")
        self.assertEqual(en["login_title"], "Sign in")
        self.assertEqual(en["default_login_title"], "Sign in")
        self.assertEqual((nl["set_title"], en["set_title"]), ("Nieuw wachtwoord", "New password"))
        self.assertEqual((nl["users_title"], en["users_title"]), ("Gebruikers", "Users"))
        for name in ("nl-01-sign-in-refused", "nl-02-tenants", "nl-03-overview", "nl-04-exact-callback",
                     "nl-06-mappings-saved", "nl-08-preview", "nl-09-sync-log", "nl-10-dead-letters",
                     "nl-11-account", "nl-13-tenants-phone", "en-01-sign-in", "en-02-tenants",
                     "en-03-overview", "en-06-mappings", "en-08-preview", "en-09-sync-log",
                     "en-10-dead-letters", "en-12-dead-letter-retried", "en-13-tenants-phone",
                     "nl-14-forgot-password", "en-15-new-password", "nl-16-users", "en-16-users"):
            self.assertTrue(os.path.getsize(os.path.join(shots, name + ".png")) > 1000, name)

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
