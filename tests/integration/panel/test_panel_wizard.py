#!/usr/bin/env python3
"""The onboarding wizard (docs/panel.md, "Onboarding"): real PostgreSQL, ccvshop-fake and
exact-fake as HTTP servers, the panel binary. API level, step by step, for a tenant an operator
made with nothing but its Exact app: wrong shop keys refused with the reason (nothing stored),
the right ones stored sealed, syncing refused before shop and Exact are connected, the
administrations Exact lists, the pickers' lists and proposal, the shop's latest orders
previewed, the switch on and off. Then the same wizard walked in headless Chromium in Dutch and
in English (browser_wizard.js), with screenshots $TEST_BUILD_DIR/screenshots/wizard-*.png."""
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402

S = None
SHOP = None
OWNER_PW = "wizard-owner-pass-1"


class ShopFake:
    def __init__(self):
        args = ["--seed", "7", "--shops", "1", "--orders", "4"]
        self.proc = subprocess.Popen([panellib.CCV_FAKE, "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = json.loads(self.proc.stdout.readline())["listen"]
        self.shop = json.loads(cxtest.http("GET", self.url + "/_fake/shops")[1])["shops"][0]

    def stats(self):
        return json.loads(cxtest.http("GET", self.url + "/_fake/stats")[1])["shops"][0]

    def stop(self):
        cxtest.terminate(self.proc)
        self.proc.stdout.close()


def new_tenant(tenant, owner):
    """A tenant as an operator makes it before the shop owner's wizard: switched off, a
    placeholder shop, the Exact app but no division and no consent."""
    panellib.run(panellib.ADMIN, S.env, "tenants", "add", tenant, "--name", f"Shop {tenant}",
                 "--shop-url", "https://shop.invalid", "--shop-public-key", "pending",
                 "--exact-url", S.fake.url, "--exact-client-id", panellib.CLIENT_ID,
                 "--redirect-uri", f"{S.base}/oauth/callback", "--exact-secret-file", "-",
                 "--disabled", stdin=panellib.CLIENT_SECRET + "\n")
    panellib.run(panellib.ADMIN, S.env, "users", "add", owner, "--role", "owner", "--tenant",
                 tenant, stdin=OWNER_PW + "\n")


def setUpModule():
    global S, SHOP
    # a short per-call timeout, so that the bound on the pickers' reads is tested in seconds
    S = panellib.Stack("t_panel_wiz", panel_env={"CX_PANEL_HTTP_TIMEOUT_MS": "2000"})
    try:
        SHOP = ShopFake()
        new_tenant("wiz", "owner-w")
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if SHOP:
        SHOP.stop()
    if S:
        S.stop()


def owner():
    c = Client(S.base)
    status, obj, _ = c.login("owner-w", OWNER_PW)
    assert status == 200, obj
    return c


def row(sql):
    return cxtest.psql(S.dsn, sql)


def consent(c, tenant, division):
    """The Exact consent as the browser makes it; exact-fake's division=N picks the
    administration the consent reaches."""
    status, obj, _, _ = c.request("POST", f"/api/tenants/{tenant}/exact/connect", {})
    assert status == 200, obj
    url = urllib.parse.urlparse(obj["url"] + f"&division={division}")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", url.path + "?" + url.query)
    r = conn.getresponse()
    location = r.getheader("Location")
    conn.close()
    assert r.status == 302, r.status
    status, _, text, _ = Client(S.base).request("GET", location[len(S.base):])
    assert status == 200, text


class Wizard(unittest.TestCase):
    """Ordered steps on one tenant (unittest runs them by name)."""

    def fake_division_status(self, division, status):
        code, body, _ = cxtest.http("POST", f"{S.fake.url}/_fake/faults",
                                    json.dumps({"division": division,
                                                "division_status": status}),
                                    {"Content-Type": "application/json"})
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["division_status"], status)

    def test_1_nothing_connected(self):
        c = owner()
        status, st, text, _ = c.request("GET", "/api/tenants/wiz/onboarding")
        self.assertEqual(status, 200, text)
        self.assertEqual(st["missing"], ["shop", "exact", "division"])
        self.assertFalse(st["live"])
        self.assertFalse(st["shop"]["connected"])
        status, obj, _, _ = c.request("POST", "/api/tenants/wiz/onboarding/live", {"live": True})
        self.assertEqual(status, 409, obj)
        self.assertEqual(obj["reason"], "not_ready")
        self.assertEqual(obj["detail"], "shop")
        self.assertEqual(row("SELECT enabled FROM tenants WHERE id = 'wiz'"), "f")
        # another tenant's owner sees nothing of it
        other = Client(S.base)
        other.login("owner-a")
        self.assertEqual(other.request("GET", "/api/tenants/wiz/onboarding")[0], 403)
        self.assertEqual(other.request("POST", "/api/tenants/wiz/onboarding/shop",
                                       {"url": "x", "public_key": "y", "secret": "z"})[0], 403)

    def test_2_wrong_shop_keys_refused(self):
        c = owner()
        base = SHOP.url + "/shop/1"
        before = SHOP.stats()["auth_failures"]
        cases = [
            ({"url": base, "public_key": "not-the-key", "secret": SHOP.shop["secret"]},
             "shop_keys", "unknown public key"),
            ({"url": base, "public_key": SHOP.shop["public_key"], "secret": "not-the-secret"},
             "shop_keys", "x-hash does not match"),
        ]
        for body, reason, said in cases:
            status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/shop", body)
            self.assertEqual(status, 400, text)
            self.assertEqual(obj["reason"], reason)
            self.assertIn(said, obj["detail"])
            self.assertIn("public key or the secret", obj["error"])
            self.assertNotIn(SHOP.shop["secret"], text)
        self.assertEqual(SHOP.stats()["auth_failures"], before + 2)
        for body, reason in (
                ({"url": "http://shop.example.com", "public_key": "k", "secret": "s"}, "shop_url"),
                ({"url": f"http://127.0.0.1:{cxtest.free_port()}", "public_key": "k",
                  "secret": "s"}, "shop_unreachable"),
                ({"url": SHOP.url + "/shop/9", "public_key": "k", "secret": "s"},
                 "shop_not_found"),
                ({"url": base, "public_key": "", "secret": "s"}, "shop_public_key"),
                ({"url": base, "public_key": "k"}, "shop_secret")):
            status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/shop", body)
            self.assertEqual((status, obj and obj.get("reason")), (400, reason), text)
        self.assertEqual(row("SELECT shop_base_url || ' ' || shop_public_key || ' ' ||"
                             " (shop_secret_sealed = '')::text FROM tenants WHERE id = 'wiz'"),
                         "https://shop.invalid pending true")

    def test_3_right_shop_keys_stored_sealed(self):
        c = owner()
        # the address as the shop lists it, with /api/rest/v1/: stored without
        status, obj, text, _ = c.request(
            "POST", "/api/tenants/wiz/onboarding/shop",
            {"url": SHOP.shop["base_url"], "public_key": SHOP.shop["public_key"],
             "secret": SHOP.shop["secret"]})
        self.assertEqual(status, 200, text)
        self.assertTrue(obj["connected"])
        self.assertEqual(obj["url"], SHOP.url + "/shop/1")
        self.assertEqual(obj["webshop"], SHOP.shop["name"])
        got = row("SELECT shop_base_url || ' ' || shop_public_key FROM tenants WHERE id = 'wiz'")
        self.assertEqual(got, f"{SHOP.url}/shop/1 {SHOP.shop['public_key']}")
        self.assertEqual(row("SELECT message FROM sync_log WHERE tenant_id = 'wiz' AND"
                             " stage = 'admin' ORDER BY id DESC LIMIT 1"),
                         "shop address, public key and secret replaced")
        sealed = row("SELECT shop_secret_sealed FROM tenants WHERE id = 'wiz'")
        self.assertNotIn(SHOP.shop["secret"], sealed)
        self.assertTrue(sealed)
        st = c.request("GET", "/api/tenants/wiz/onboarding")[1]
        self.assertEqual(st["missing"], ["exact", "division"])
        self.assertTrue(st["shop"]["connected"])
        status, obj, _, _ = c.request("POST", "/api/tenants/wiz/onboarding/live", {"live": True})
        self.assertEqual((status, obj["detail"]), (409, "exact"))
        self.assertEqual(row("SELECT enabled FROM tenants WHERE id = 'wiz'"), "f")
        # the sealed secret opens: the shop's latest orders, read with it, newest first
        status, obj, text, _ = c.request("GET", "/api/tenants/wiz/onboarding/orders")
        self.assertEqual(status, 200, text)
        fake_orders = [json.loads(cxtest.http(
            "GET", f"{SHOP.url}/_fake/shops/1/orders/{o['id']}")[1])["order"]
            for o in obj["orders"]]
        self.assertEqual(len(obj["orders"]), 4)
        self.assertEqual([o["create_date"] for o in obj["orders"]],
                         sorted([o["create_date"] for o in fake_orders], reverse=True))
        self.assertEqual([o["ordernumber_full"] for o in obj["orders"]],
                         [o["ordernumber_full"] for o in fake_orders])

    def test_4_exact_administration(self):
        c = owner()
        status, obj, _, _ = c.request("GET", "/api/tenants/wiz/onboarding/divisions")
        self.assertEqual((status, obj["reason"]), (409, "exact_consent"))
        consent(c, "wiz", 5151)
        st = c.request("GET", "/api/tenants/wiz/onboarding")[1]
        self.assertEqual(st["missing"], ["division"])
        status, obj, _, _ = c.request("POST", "/api/tenants/wiz/onboarding/live", {"live": True})
        self.assertEqual((status, obj["detail"]), (409, "division"))
        status, obj, text, _ = c.request("GET", "/api/tenants/wiz/onboarding/divisions")
        self.assertEqual(status, 200, text)
        self.assertEqual(obj["current"], 5151)
        self.assertEqual([(d["Code"], d["Description"]) for d in obj["divisions"]],
                         [(5151, "Administratie 5151")])
        # an archived administration is not offered, nor can it be chosen
        self.fake_division_status(5151, 2)
        status, obj, text, _ = c.request("GET", "/api/tenants/wiz/onboarding/divisions")
        self.assertEqual((status, obj["divisions"]), (200, []), text)
        status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/division",
                                         {"division": 5151})
        self.assertEqual((status, obj["reason"]), (400, "division_unknown"), text)
        self.fake_division_status(5151, 1)
        for bad, reason in ((4242, "division_unknown"), ("5151", "division"), (0, "division")):
            status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/division",
                                             {"division": bad})
            self.assertEqual((status, obj["reason"]), (400, reason), text)
        self.assertEqual(row("SELECT exact_division IS NULL FROM tenants WHERE id = 'wiz'"), "t")
        status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/division",
                                         {"division": 5151})
        self.assertEqual(status, 200, text)
        self.assertEqual(row("SELECT exact_division FROM tenants WHERE id = 'wiz'"), "5151")

    def test_5_mapping_choices_and_preview(self):
        c = owner()
        status, obj, text, _ = c.request("GET", "/api/tenants/wiz/onboarding/choices")
        self.assertEqual(status, 200, text)
        self.assertEqual(obj["division"], 5151)
        codes = {v["Code"]: v for v in obj["vat_codes"]}
        fake_codes = {v["Code"].strip(): v for v in S.fake.entities("VATCodes", 5151)}
        self.assertEqual(set(codes), set(fake_codes))
        for name, etype in (("item_groups", "ItemGroups"), ("journals", "Journals"),
                            ("payment_conditions", "PaymentConditions"),
                            ("gl_accounts", "GLAccounts")):
            self.assertEqual(sorted(x["Code"] for x in obj[name]),
                             sorted(x["Code"].strip() for x in S.fake.entities(etype, 5151)), name)
        prop = obj["proposal"]
        self.assertEqual(prop["division"], 5151)
        std = [v for v in prop["vat_codes"] if v["scenario"] == "domestic"
               and v["class"] == "standard"]
        self.assertEqual(len(std), 1)
        self.assertAlmostEqual(codes[std[0]["code"]]["Percentage"], 0.21)
        # test first: the latest order previewed on the proposal, nothing stored
        orders = c.request("GET", "/api/tenants/wiz/onboarding/orders")[1]["orders"]
        rules = {k: v for k, v in prop.items() if k != "review"}
        status, pv, text, _ = c.request("POST", "/api/tenants/wiz/preview",
                                        {"order_id": str(orders[0]["id"]), "rules": rules})
        self.assertEqual(status, 200, text)
        self.assertEqual(pv["order_source"], "shop")
        self.assertEqual(pv["result"]["source_id"], str(orders[0]["id"]))
        self.assertEqual(row("SELECT count(*) FROM mapping_rules WHERE tenant_id = 'wiz'"), "0")
        status, obj, text, _ = c.request("PUT", "/api/tenants/wiz/mappings", rules)
        self.assertEqual(status, 200, text)
        self.assertEqual(row("SELECT rules->'vat_codes' @> '[{\"scenario\":\"domestic\","
                             f"\"class\":\"standard\",\"code\":\"{std[0]['code']}\"}}]'"
                             " FROM mapping_rules WHERE tenant_id = 'wiz'"), "t")

    def test_6_go_live_and_pause(self):
        c = owner()
        self.assertEqual(c.request("GET", "/api/tenants/wiz/onboarding")[1]["missing"], [])
        status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/live",
                                         {"live": "yes"})
        self.assertEqual((status, obj["reason"]), (400, "live"), text)
        status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/live",
                                         {"live": True})
        self.assertEqual(status, 200, text)
        self.assertEqual(row("SELECT enabled FROM tenants WHERE id = 'wiz'"), "t")
        self.assertTrue(c.request("GET", "/api/tenants/wiz/onboarding")[1]["live"])
        status, obj, text, _ = c.request("POST", "/api/tenants/wiz/onboarding/live",
                                         {"live": False})
        self.assertEqual((status, obj["live"]), (200, False), text)
        self.assertEqual(row("SELECT enabled FROM tenants WHERE id = 'wiz'"), "f")
        self.assertEqual(row("SELECT string_agg(message, ',' ORDER BY id) FROM sync_log WHERE"
                             " tenant_id = 'wiz' AND message LIKE 'tenant %abled'"),
                         "tenant enabled,tenant disabled")

    def test_7_slow_exact_is_bounded(self):
        """Exact answering every call in 1.5 s (under the 2 s per-call timeout): the pickers'
        five lists would take 7.5 s, the read gives up at its bound (2 x 2 s + 1 s, the call in
        flight ending within its 2 s) with 502, and another client's request is answered while
        it waits."""
        c = owner()
        code, body, _ = cxtest.http("POST", f"{S.fake.url}/_fake/faults",
                                    json.dumps({"division": 5151, "latency_ms": 1500}),
                                    {"Content-Type": "application/json"})
        self.assertEqual(code, 200, body)
        try:
            done = {}

            def slow():
                t0 = time.monotonic()
                done["answer"] = c.request("GET", "/api/tenants/wiz/onboarding/choices")
                done["took"] = time.monotonic() - t0
            th = threading.Thread(target=slow)
            th.start()
            time.sleep(0.5)
            other = Client(S.base)
            self.assertEqual(other.login("owner-a")[0], 200)
            self.assertEqual(other.request("GET", "/api/tenants/shop-a/onboarding")[0], 200)
            # answered while the slow read still waits on Exact
            self.assertTrue(th.is_alive())
            th.join(30)
            status, obj, text, _ = done["answer"]
            self.assertEqual((status, obj["reason"]), (502, "exact_unreachable"), text)
            self.assertIn("took too long", obj["detail"])
            self.assertGreater(done["took"], 5.0)
            self.assertLess(done["took"], 7.5)
        finally:
            cxtest.http("POST", f"{S.fake.url}/_fake/faults",
                        json.dumps({"division": 5151, "latency_ms": 0}),
                        {"Content-Type": "application/json"})


class BrowserWalk(unittest.TestCase):
    """The wizard in headless Chromium, once in Dutch and once in English, each for a tenant
    of its own."""

    def walk(self, locale, tenant, division):
        from test_panel_browser import ensure_playwright
        ensure_playwright()
        new_tenant(tenant, f"owner-{tenant}")
        shots = os.path.join(panellib.BUILD, "screenshots")
        os.makedirs(shots, exist_ok=True)
        p = subprocess.run(["node", os.path.join(HERE, "browser_wizard.js")], cwd=HERE,
                           env={**os.environ, "PANEL_URL": S.base, "PANEL_TENANT": tenant,
                                "PANEL_LOCALE": locale, "PANEL_SHOTS": shots,
                                "PANEL_DIVISION": str(division),
                                "PANEL_USER": f"owner-{tenant}", "PANEL_PASSWORD": OWNER_PW,
                                "SHOP_URL": SHOP.url + "/shop/1",
                                "SHOP_PUBLIC_KEY": SHOP.shop["public_key"],
                                "SHOP_SECRET": SHOP.shop["secret"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr + "\n" + S.panel.output()[-3000:])
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["page_errors"], [])
        # axe-core on every screen of the walk: no serious or critical violation
        self.assertEqual(len(seen["axe"]), 10)
        self.assertEqual({k: v for k, v in seen["axe"].items() if v}, {})
        self.assertTrue(seen["focus_on_title"])
        self.assertFalse(seen["live_checked_after_refusal"])
        self.assertEqual(seen["secret_field_after"], "")
        self.assertEqual(seen["selects_without_label"], 0)
        self.assertEqual(seen["shop_url_prefixed"], "https://" + SHOP.url[len("http://"):] +
                         "/shop/1")
        self.assertEqual(seen["live_missing_after"], 0)
        self.assertEqual(seen["steps_done"], ["shop", "exact", "mapping", "preview", "live"])
        self.assertEqual(len(seen["preview"]), 4)
        self.assertEqual(len(seen["divisions"]), 1)
        self.assertTrue(seen["divisions"][0].startswith(f"{division} – Administratie {division}"))
        codes = {v["Code"].strip(): v for v in S.fake.entities("VATCodes", division)}
        # pre-selected: the code whose percentage and kind fit (ICP: on the EU sales listing;
        # export: 0 %, not listed; domestic zero: not the domestic reverse-charge code VL)
        for sit, pct, listing, code in (("vat_standard", 0.21, "N", "2"),
                                        ("vat_reduced", 0.09, "N", "1"),
                                        ("vat_zero", 0, "N", "0"),
                                        ("vat_icp", 0, "L", "ICP"),
                                        ("vat_export", 0, "N", "EXP")):
            chosen = codes[seen[sit]["value"]]
            self.assertEqual(seen[sit]["value"], code, (sit, chosen))
            self.assertAlmostEqual(chosen["Percentage"], pct, msg=sit)
            self.assertEqual(chosen["EUSalesListing"], listing, (sit, chosen))
            self.assertEqual(seen[sit]["options"], len(codes))
        # what the walk did, read back
        got = row("SELECT enabled::text || ' ' || exact_division || ' ' || shop_public_key ||"
                  " ' ' || (shop_secret_sealed <> '')::text FROM tenants WHERE id = '{t}'"
                  .format(t=tenant))
        self.assertEqual(got, f"true {division} {SHOP.shop['public_key']} true")
        self.assertEqual(row("SELECT rules->'vat_codes' @> '[{\"scenario\":\"domestic\","
                             f"\"class\":\"standard\",\"code\":\"{seen['vat_standard']['value']}\"}}]'"
                             f" FROM mapping_rules WHERE tenant_id = '{tenant}'"), "t")
        for name in ("0-live-refused", "1-shop-refused", "1-shop-connected", "2-exact-division",
                     "3-mapping", "4-preview", "5-live", "5-live-phone"):
            f = os.path.join(shots, f"wizard-{seen['lang']}-{name}.png")
            self.assertGreater(os.path.getsize(f), 1000, f)
        return seen

    def latest_total(self, tenant):
        """The shop's own total of its latest order: the preview's first card must show it."""
        c = Client(S.base)
        self.assertEqual(c.login(f"owner-{tenant}", OWNER_PW)[0], 200)
        status, obj, text, _ = c.request("GET", f"/api/tenants/{tenant}/onboarding/orders")
        self.assertEqual(status, 200, text)
        return obj["orders"][0]["total_price"]

    def test_dutch(self):
        seen = self.walk("nl-NL", "wiz-nl", 6161)
        self.assertEqual(seen["tab"], "Aan de slag")
        self.assertEqual(seen["first_step"], "1. Webwinkel koppelen")
        self.assertIn("de webwinkel koppelen, Exact Online koppelen", seen["live_missing"])
        self.assertIn("rond eerst de vorige stappen af", seen["live_refused"])
        self.assertIn("De winkel is op dit adres niet bereikbaar", seen["shop_no_scheme"])
        self.assertIn("De winkel weigert deze sleutels", seen["shop_refused"])
        self.assertIn("De winkel antwoordde: x-hash does not match", seen["shop_refused"])
        self.assertEqual(seen["shop_connected"], f"Uw winkel is gekoppeld: {SHOP.shop['name']}")
        self.assertIn("Gekozen administratie: 6161", seen["division_chosen"])
        self.assertEqual(seen["vat_standard_label"], "Nederland, hoog tarief 21%")
        self.assertIn("verkooporder · Nederland · netto €\xa0", seen["preview"][0])
        gross = f"{self.latest_total('wiz-nl'):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        self.assertIn(f"totaal €\xa0{gross}", seen["preview"][0])
        self.assertIn("De boekingsregels zijn opgeslagen", seen["saved"])
        self.assertEqual(seen["live"], "De synchronisatie staat aan.")

    def test_english(self):
        seen = self.walk("en-GB", "wiz-en", 7171)
        self.assertEqual(seen["tab"], "Get started")
        self.assertEqual(seen["first_step"], "1. Connect the shop")
        self.assertIn("connect the shop, connect Exact Online", seen["live_missing"])
        self.assertIn("finish the earlier steps first", seen["live_refused"])
        self.assertIn("The shop cannot be reached at this address", seen["shop_no_scheme"])
        self.assertIn("The shop refuses these keys", seen["shop_refused"])
        self.assertEqual(seen["shop_connected"], f"Your shop is connected: {SHOP.shop['name']}")
        self.assertIn("Chosen administration: 7171", seen["division_chosen"])
        self.assertEqual(seen["vat_standard_label"], "The Netherlands, standard rate 21%")
        self.assertIn("sales order · The Netherlands · net €", seen["preview"][0])
        self.assertIn(f"total €{self.latest_total('wiz-en'):,.2f}", seen["preview"][0])
        self.assertIn("The booking rules are saved", seen["saved"])
        self.assertEqual(seen["live"], "Syncing is on.")


if __name__ == "__main__":
    unittest.main(verbosity=2)
