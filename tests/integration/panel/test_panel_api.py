#!/usr/bin/env python3
"""The control panel's JSON API against the real PostgreSQL and Kafka: sign-in with delay and
lockout, sessions, CSRF, roles (operator / shop owner), mappings through the admin library's
validation, sync-log search, dead-letter redrive to the real topic, the booking preview, and
the Exact consent against exact-fake. Every refusal must change nothing and leak nothing."""
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402

S = None


def setUpModule():
    global S
    S = panellib.Stack("t_panel_api")


def tearDownModule():
    if S:
        S.stop()


def version(tenant):
    v = cxtest.psql(S.dsn, f"SELECT version FROM mapping_rules WHERE tenant_id = '{tenant}'")
    return int(v) if v else 0


def signed_in(user):
    c = Client(S.base)
    status, obj, _ = c.login(user)
    assert status == 200, obj
    return c


def put_rules(c, tenant, rules):
    return c.request("PUT", f"/api/tenants/{tenant}/mappings", rules)


class Basics(unittest.TestCase):
    def test_health_metrics_and_page(self):
        for path in ("/healthz", "/readyz"):
            status, _, _ = cxtest.http("GET", S.base + path)
            self.assertEqual(status, 200, path)
        # /metrics only on the internal listener, never on the panel's public one
        self.assertEqual(cxtest.http("GET", S.base + "/metrics")[0], 404)
        status, text, _ = cxtest.http("GET", S.panel.metrics_url())
        self.assertEqual(status, 200)
        self.assertIn("cx_ready 1", text)
        c = Client(S.base)
        for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"),
                            ("/app.css", "text/css")):
            status, _, text, hdrs = c.request("GET", path)
            h = {k.lower(): v for k, v in hdrs}
            self.assertEqual(status, 200)
            self.assertTrue(h["content-type"].startswith(ctype), h)
            self.assertIn("default-src 'self'", h["content-security-policy"])
            self.assertEqual(h["x-content-type-options"], "nosniff")
        self.assertIn("<script src=\"/app.js\">", c.request("GET", "/")[2])
        self.assertEqual(c.request("GET", "/nothing-here")[0], 404)

    def test_unauthenticated_requests_refused(self):
        c = Client(S.base)
        for method, path in (("GET", "/api/session"), ("GET", "/api/tenants"),
                             ("GET", "/api/tenants/shop-a"), ("GET", "/api/tenants/shop-a/log"),
                             ("PUT", "/api/tenants/shop-a/mappings"),
                             ("POST", "/api/tenants/shop-a/deadletters/1/redrive")):
            status, obj, _, _ = c.request(method, path, {} if method != "GET" else None)
            self.assertEqual(status, 401, (method, path))
            self.assertIn("not signed in", obj["error"])
        c.cookie = "cx_panel=" + "a" * 64
        self.assertEqual(c.request("GET", "/api/tenants")[0], 401)


class SignIn(unittest.TestCase):
    def test_cookie_and_session(self):
        c = Client(S.base)
        status, obj, hdrs = c.login("op")
        self.assertEqual(status, 200)
        self.assertEqual(obj["role"], "operator")
        self.assertIsNone(obj["tenant"])
        cookie = [v for k, v in hdrs if k.lower() == "set-cookie"][0]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertNotIn("Secure", cookie)  # CX_PANEL_COOKIE_SECURE=false (localhost test)
        self.assertEqual(len(c.csrf), 64)
        status, obj, _, _ = c.request("GET", "/api/session")
        self.assertEqual((status, obj["user"], obj["csrf"]), (200, "op", c.csrf))
        # Only a hash of the cookie is stored.
        token = c.cookie.split("=", 1)[1]
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM panel_sessions WHERE"
                                     f" token_hash = '{token}'"), "0")
        hashed = cxtest.psql(S.dsn, "SELECT password_hash FROM panel_users WHERE name = 'op'")
        self.assertTrue(hashed.startswith("$argon2id$"), hashed)
        status, _, _, _ = c.request("POST", "/api/logout", {})
        self.assertEqual(status, 200)
        self.assertEqual(c.request("GET", "/api/session")[0], 401)

    def test_wrong_password_delay_and_lockout(self):
        c = Client(S.base)
        status, obj, _ = c.login("victim", "wrong-password")
        self.assertEqual(status, 401)
        self.assertEqual(obj["error"], "wrong user name or password")
        # At once again, even with the right password: the account must wait first.
        status, obj, hdrs = c.login("victim")
        self.assertEqual(status, 429, obj)
        self.assertIn("Retry-After", dict(hdrs))
        time.sleep(0.5)
        status, obj, _ = c.login("victim")
        self.assertEqual(status, 200, obj)
        # Three wrong in a row (waiting out the growing delay) lock the account.
        for i in range(3):
            status, obj, _ = c.login("victim", "wrong-password")
            self.assertEqual(status, 401, obj)
            time.sleep(0.45 * 2 ** i)
        self.assertIn("locked", obj["error"])
        status, obj, _ = c.login("victim")
        self.assertEqual(status, 429)
        self.assertIn("locked", obj["error"])
        time.sleep(3.2)
        status, obj, _ = c.login("victim")
        self.assertEqual(status, 200, obj)

    def test_unknown_user_and_bad_bodies(self):
        c = Client(S.base)
        status, obj, _ = c.login("nobody-here", "whatever-password")
        self.assertEqual((status, obj["error"]), (401, "wrong user name or password"))
        status, obj, _, _ = c.request("POST", "/api/login", raw=b"user=op&password=x",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 415)
        status, obj, _, _ = c.request("POST", "/api/login", raw=b"{\"user\":",
                                      headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertIn("malformed JSON", obj["error"])
        status, obj, _, _ = c.request("POST", "/api/login", {"user": "op"})
        self.assertEqual(status, 400)
        self.assertEqual(c.request("GET", "/api/login")[0], 405)

    def test_cli_refusals(self):
        for args, stdin, code in (
                (["users", "add", "x1", "--role", "operator"], "short\n", 2),
                (["users", "add", "x2", "--role", "owner"], "long-enough-pass\n", 2),
                (["users", "add", "x3", "--role", "owner", "--tenant", "nope"],
                 "long-enough-pass\n", 4),
                (["users", "add", "x4", "--role", "king"], "long-enough-pass\n", 2),
                (["users", "add", "bad name!", "--role", "operator"], "long-enough-pass\n", 2),
                (["users", "add", "x5"], "long-enough-pass\n", 2)):
            p = panellib.run(panellib.ADMIN, S.env, *args, stdin=stdin, check=False)
            self.assertEqual(p.returncode, code, (args, p.stderr))
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM panel_users WHERE name LIKE"
                                     " 'x%'"), "0")


class Csrf(unittest.TestCase):
    def test_changes_need_the_session_token(self):
        c = signed_in("op")
        self.assertEqual(put_rules(c, "shop-a", panellib.rules("shop-a"))[0], 200)
        before = version("shop-a")
        good = c.csrf
        for token in (None, "", "0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
            c.csrf = token
            h = {"X-CSRF-Token": token} if token is not None else {}
            status, obj, _, _ = c.request("PUT", "/api/tenants/shop-a/mappings",
                                          panellib.rules("shop-a"), headers=h, csrf=False)
            self.assertEqual(status, 403, token)
            self.assertIn("CSRF", obj["error"])
        # Another user's token does not fit this session either.
        other = signed_in("owner-a")
        c.csrf = other.csrf
        self.assertEqual(put_rules(c, "shop-a", panellib.rules("shop-a"))[0], 403)
        self.assertEqual(c.request("POST", "/api/logout", {})[0], 403)
        self.assertEqual(version("shop-a"), before)
        c.csrf = good
        # A browser on another site is refused by its Origin, even with the right token.
        for origin in ("https://evil.example", S.base + ".evil.example", "null"):
            status, obj, _, _ = c.request("PUT", "/api/tenants/shop-a/mappings",
                                          panellib.rules("shop-a"), headers={"Origin": origin})
            self.assertEqual(status, 403, origin)
            self.assertIn("cross-site", obj["error"])
        self.assertEqual(c.request("POST", "/api/tenants/shop-a/mappings/check",
                                   panellib.rules("shop-a"), headers={"Origin": S.base})[0], 200)
        self.assertEqual(version("shop-a"), before)
        self.assertEqual(put_rules(c, "shop-a", panellib.rules("shop-a"))[0], 200)
        self.assertEqual(version("shop-a"), before + 1)


class Roles(unittest.TestCase):
    def test_owner_sees_only_own_tenant(self):
        op, a = signed_in("op"), signed_in("owner-a")
        self.assertEqual(sorted(t["tenant"] for t in op.request("GET", "/api/tenants")[1]
                                ["tenants"]), ["shop-a", "shop-b"])
        status, obj, _, _ = a.request("GET", "/api/tenants")
        self.assertEqual([t["tenant"] for t in obj["tenants"]], ["shop-a"])
        self.assertEqual(a.request("GET", "/api/tenants/shop-a")[0], 200)
        put_rules(op, "shop-b", panellib.rules("shop-b"))
        vb = version("shop-b")
        for method, path, body in (
                ("GET", "/api/tenants/shop-b", None),
                ("GET", "/api/tenants/shop-b/mappings", None),
                ("PUT", "/api/tenants/shop-b/mappings", panellib.rules("shop-b")),
                ("POST", "/api/tenants/shop-b/mappings/check", panellib.rules("shop-b")),
                ("GET", "/api/tenants/shop-b/log", None),
                ("GET", "/api/tenants/shop-b/deadletters", None),
                ("GET", "/api/tenants/shop-b/exact", None),
                ("POST", "/api/tenants/shop-b/exact/connect", {}),
                ("POST", "/api/tenants/shop-b/preview", {"order": panellib.sample_order()}),
                ("GET", "/api/tenants/no-such-tenant", None)):
            status, obj, text, _ = a.request(method, path, body)
            self.assertEqual(status, 403, (method, path, text))
            self.assertEqual(obj, {"error": "you have no access to that tenant"})
        self.assertEqual(version("shop-b"), vb)
        # An operator asking for a tenant that does not exist gets 404.
        self.assertEqual(op.request("GET", "/api/tenants/no-such-tenant")[0], 404)
        self.assertEqual(op.request("GET", "/api/tenants/BAD%20ID")[0], 400)

    def test_dead_letter_of_other_tenant_is_not_found(self):
        dl = cxtest.psql(S.dsn, "INSERT INTO dead_letters (tenant_id, stage, source_topic,"
                         " source_id, reason, payload) VALUES ('shop-b', 'transform',"
                         f" '{S.topic_prefix}shop.orders', '77', 'secret reason b',"
                         " '{\"secret\":1}') RETURNING id").splitlines()[0]
        a = signed_in("owner-a")
        for method, path in (("GET", f"/api/tenants/shop-a/deadletters/{dl}"),
                             ("POST", f"/api/tenants/shop-a/deadletters/{dl}/redrive")):
            status, obj, text, _ = a.request(method, path, {} if method == "POST" else None)
            self.assertEqual(status, 404, text)
            self.assertNotIn("secret", text)
        status, obj, _, _ = a.request("POST", f"/api/tenants/shop-a/deadletters/{dl}/drop",
                                      {"reason": "x"})
        self.assertEqual(status, 403)  # owners never drop
        self.assertEqual(cxtest.psql(S.dsn, f"SELECT state FROM dead_letters WHERE id = {dl}"),
                         "open")
        status, obj, _, _ = a.request("GET", "/api/tenants/shop-a/deadletters")
        self.assertNotIn(int(dl), [x["id"] for x in obj["dead_letters"]])


class Mappings(unittest.TestCase):
    def test_validation_is_the_admin_one(self):
        c = signed_in("owner-a")
        self.assertEqual(put_rules(c, "shop-a", panellib.rules("shop-a"))[0], 200)
        v = version("shop-a")
        status, obj, _, _ = c.request("GET", "/api/tenants/shop-a/mappings")
        self.assertEqual((status, obj["version"]), (200, v))
        self.assertEqual(obj["rules"]["vat_codes"][0]["code"], "2")
        bad = []
        r = panellib.rules("shop-a")
        r["vat_codes"][0]["scenario"] = "moon"
        bad.append(r)
        r = panellib.rules("shop-a")
        r["tenant"] = "shop-b"
        bad.append(r)
        r = panellib.rules("shop-a")
        r["division"] = 1
        bad.append(r)
        r = panellib.rules("shop-a")
        r["book_as"] = "salesinvoice"  # invoices need a journal
        bad.append(r)
        r = panellib.rules("shop-a")
        r["vat_codes"] = []
        bad.append(r)
        for r in bad:
            for path, method in (("/mappings", "PUT"), ("/mappings/check", "POST")):
                status, obj, text, _ = c.request(method, "/api/tenants/shop-a" + path, r)
                self.assertEqual(status, 400, (r, text))
                self.assertTrue(obj["error"])
        self.assertEqual(version("shop-a"), v)
        good = panellib.rules("shop-a")
        good["shipping_item"] = "VERZEND"
        good["item_groups"] = {"Shirts": "SHIRT"}
        self.assertEqual(c.request("POST", "/api/tenants/shop-a/mappings/check", good)[0], 200)
        self.assertEqual(version("shop-a"), v)
        status, obj, _, _ = put_rules(c, "shop-a", good)
        self.assertEqual((status, obj["version"]), (200, v + 1))
        stored = json.loads(cxtest.psql(S.dsn, "SELECT rules FROM mapping_rules WHERE"
                                        " tenant_id = 'shop-a'"))
        self.assertEqual(stored["shipping_item"], "VERZEND")
        self.assertEqual(stored["item_groups"], {"Shirts": "SHIRT"})

    def test_oversized_and_malformed(self):
        c = signed_in("op")
        v = version("shop-a")
        big = panellib.rules("shop-a")
        big["padding"] = "x" * 300000
        status, obj, _, _ = put_rules(c, "shop-a", big)
        self.assertEqual(status, 413)
        self.assertIn("too large", obj["error"])
        status, obj, _, _ = c.request("PUT", "/api/tenants/shop-a/mappings",
                                      raw=b"x" * (2 * 1024 * 1024),
                                      headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        for raw in (b"{", b"[1,2]", b"\xff\xfe", b'{"a":1,"a":2}'):
            status, obj, _, _ = c.request("PUT", "/api/tenants/shop-a/mappings", raw=raw,
                                          headers={"Content-Type": "application/json"})
            self.assertEqual(status, 400, raw)
        status, _, _, _ = c.request("PUT", "/api/tenants/shop-a/mappings",
                                    raw=json.dumps(panellib.rules("shop-a")).encode(),
                                    headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        self.assertEqual(version("shop-a"), v)
        self.assertEqual(c.request("DELETE", "/api/tenants/shop-a/mappings")[0], 404)
        self.assertEqual(c.request("GET", "/api/tenants/shop-a/" + "x/" * 20)[0], 404)


class SyncLog(unittest.TestCase):
    def test_search_filters_and_paging(self):
        rows = []
        for i in range(130):
            status = "failed" if i % 10 == 0 else "ok"
            rows.append(f"('shop-a', 'transform', 'order', '{1000 + i}', '{status}',"
                        f" 'message {i} {'needle' if i == 42 else ''}', 'trace-{i}')")
        rows.append("('shop-b', 'transform', 'order', '1042', 'failed', 'needle of b', 'tb')")
        cxtest.psql(S.dsn, "INSERT INTO sync_log (tenant_id, stage, entity, source_id, status,"
                    " message, trace_id) VALUES " + ",".join(rows))
        c = signed_in("owner-a")
        status, obj, _, _ = c.request("GET", "/api/tenants/shop-a/log?q=needle")
        self.assertEqual(status, 200)
        self.assertEqual([e["source_id"] for e in obj["entries"]], ["1042"])
        obj = c.request("GET", "/api/tenants/shop-a/log?q=trace-7")[1]
        self.assertEqual([e["source_id"] for e in obj["entries"]], ["1007"])
        obj = c.request("GET", "/api/tenants/shop-a/log?status=failed&stage=transform"
                        "&entity=order&limit=500")[1]
        self.assertEqual(len(obj["entries"]), 13)
        self.assertTrue(all(e["status"] == "failed" for e in obj["entries"]))
        first = c.request("GET", "/api/tenants/shop-a/log?entity=order&limit=100")[1]
        self.assertEqual(len(first["entries"]), 100)
        rest = c.request("GET", "/api/tenants/shop-a/log?entity=order&limit=100&before="
                         f"{first['next_before']}")[1]
        ids = [e["id"] for e in first["entries"] + rest["entries"]]
        self.assertEqual(len(set(ids)), 130)
        obj = c.request("GET", "/api/tenants/shop-a/log?since=2000-01-01&until=2000-01-02")[1]
        self.assertEqual(obj["entries"], [])
        for bad in ("status=bogus", "stage=x", "limit=0", "limit=501", "before=-1",
                    "since=yesterday", "q=" + "x" * 300):
            status, obj, _, _ = c.request("GET", "/api/tenants/shop-a/log?" + bad)
            self.assertEqual(status, 400, bad)


def kcat_read(topic):
    p = subprocess.run(["kcat", "-b", S.brokers, "-C", "-t", topic, "-e", "-o", "beginning",
                        "-q", "-f", "%k\t%s\n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    return [line.split("\t", 1) for line in p.stdout.splitlines() if "\t" in line]


class DeadLettersAndPreview(unittest.TestCase):
    def test_redrive_reaches_the_topic_once(self):
        order = panellib.sample_order(6001)
        event = {"v": 1, "tenant": "shop-a", "entity": "order", "event": "upsert",
                 "source_id": "6001", "trace_id": "tr-6001", "payload": order}
        payload = json.dumps(event).replace("'", "''")
        dl = cxtest.psql(S.dsn, "INSERT INTO dead_letters (tenant_id, stage, source_topic,"
                         " source_id, reason, payload) VALUES ('shop-a', 'transform',"
                         f" '{S.topic_prefix}shop.orders', '6001', 'no VAT code',"
                         f" '{payload}') RETURNING id").splitlines()[0]
        c = signed_in("owner-a")
        obj = c.request("GET", "/api/tenants/shop-a/deadletters")[1]
        self.assertIn(int(dl), [x["id"] for x in obj["dead_letters"]])
        obj = c.request("GET", f"/api/tenants/shop-a/deadletters/{dl}")[1]
        self.assertEqual(json.loads(obj["payload"])["source_id"], "6001")
        # The preview finds the order by id among the dead letters.
        put_rules(c, "shop-a", panellib.rules("shop-a"))
        status, obj, text, _ = c.request("POST", "/api/tenants/shop-a/preview",
                                         {"order_id": "6001"})
        self.assertEqual(status, 200, text)
        self.assertEqual(obj["order_source"], "dead_letter")
        self.assertEqual(obj["result"]["body"]["YourRef"], "WEB-6001")
        status, obj, _, _ = c.request("POST", f"/api/tenants/shop-a/deadletters/{dl}/redrive",
                                      {})
        self.assertEqual(status, 200, obj)
        got = kcat_read(S.topic_prefix + "shop.orders")
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][0], "shop-a")
        self.assertEqual(json.loads(got[0][1])["source_id"], "6001")
        self.assertEqual(cxtest.psql(S.dsn, f"SELECT state FROM dead_letters WHERE id = {dl}"),
                         "redriven")
        status, obj, _, _ = c.request("POST", f"/api/tenants/shop-a/deadletters/{dl}/redrive",
                                      {})
        self.assertEqual(status, 409)
        self.assertEqual(len(kcat_read(S.topic_prefix + "shop.orders")), 1)
        self.assertEqual(c.request("POST", "/api/tenants/shop-a/deadletters/abc/redrive",
                                   {})[0], 400)
        self.assertEqual(c.request("POST", "/api/tenants/shop-a/deadletters/999999/redrive",
                                   {})[0], 404)

    def test_operator_drops_with_reason(self):
        dl = cxtest.psql(S.dsn, "INSERT INTO dead_letters (tenant_id, stage, source_topic,"
                         " source_id, reason, payload) VALUES ('shop-a', 'load', 't', '9',"
                         " 'r', '{}') RETURNING id").splitlines()[0]
        op = signed_in("op")
        status, obj, _, _ = op.request("POST", f"/api/tenants/shop-a/deadletters/{dl}/drop", {})
        self.assertEqual(status, 400)
        status, obj, _, _ = op.request("POST", f"/api/tenants/shop-a/deadletters/{dl}/drop",
                                       {"reason": "test order"})
        self.assertEqual(status, 200, obj)
        self.assertEqual(cxtest.psql(S.dsn, f"SELECT state FROM dead_letters WHERE id = {dl}"),
                         "dropped")

    def test_preview_pasted_and_rules_override(self):
        c = signed_in("owner-a")
        put_rules(c, "shop-a", panellib.rules("shop-a"))
        status, obj, text, _ = c.request("POST", "/api/tenants/shop-a/preview",
                                         {"order": panellib.sample_order(7001)})
        self.assertEqual(status, 200, text)
        res = obj["result"]
        self.assertEqual((res["scenario"], res["endpoint"]), ("domestic", "salesorder/SalesOrders"))
        self.assertEqual(res["totals"], {"net": 20.0, "vat": 4.2, "gross": 24.2})
        self.assertEqual(res["body"]["SalesOrderLines"][0]["VATCode"], "2")
        self.assertEqual(obj["order_source"], "pasted")
        # Rules being edited: without a standard-rate code the dry run rejects the order.
        status, obj, _, _ = c.request("POST", "/api/tenants/shop-a/preview",
                                      {"order": panellib.sample_order(7001),
                                       "rules": panellib.rules("shop-a", False)})
        self.assertEqual(status, 200)
        self.assertIn("error", obj["result"])
        bad_rules = panellib.rules("shop-a")
        bad_rules["home_country"] = "XX"
        for body in ({}, {"order": "x"}, {"order_id": "12a"}, {"order_id": -1},
                     {"order": panellib.sample_order(), "rules": bad_rules},
                     {"order": panellib.sample_order(), "rules": []}):
            status, obj, text, _ = c.request("POST", "/api/tenants/shop-a/preview", body)
            self.assertEqual(status, 400, (body, text))
        status, obj, _, _ = c.request("POST", "/api/tenants/shop-a/preview", {"order_id": "424242"})
        self.assertIn(status, (404, 409, 502))
        status, obj, _, _ = c.request("POST", "/api/tenants/shop-a/preview",
                                      {"order": {"id": 1}})
        self.assertEqual(status, 200)
        self.assertIn("error", obj["result"])


class ExactConsent(unittest.TestCase):
    def test_connect_through_exact_fake(self):
        c = signed_in("owner-a")
        obj = c.request("GET", "/api/tenants/shop-a/exact")[1]
        self.assertEqual(obj["token_state"], "needs_consent")
        self.assertEqual(obj["panel_callback"], S.base + "/oauth/callback")
        self.assertNotIn("exact_client_secret_sealed", json.dumps(obj))
        status, obj, _, _ = c.request("POST", "/api/tenants/shop-a/exact/connect", {})
        self.assertEqual(status, 200, obj)
        url = urllib.parse.urlparse(obj["url"])
        self.assertEqual(f"{url.scheme}://{url.netloc}", S.fake.url)
        self.assertEqual(url.path, "/api/oauth2/auth")
        # The browser goes to Exact, which answers with a redirect to the panel.
        import http.client
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", url.path + "?" + url.query)
        r = conn.getresponse()
        location = r.getheader("Location")
        conn.close()
        self.assertEqual(r.status, 302)
        self.assertTrue(location.startswith(S.base + "/oauth/callback?"), location)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        browser = Client(S.base)  # no cookie: SameSite=Strict keeps it off this redirect
        forged = "/oauth/callback?" + urllib.parse.urlencode({"code": q["code"][0],
                                                              "state": "f" * 32})
        # The page speaks the browser's first of Dutch and English, Dutch when it names neither.
        status, _, text, _ = browser.request("GET", forged)
        self.assertEqual(status, 400)
        self.assertIn('<html lang="nl">', text)
        self.assertIn("onbekend of verlopen", text)
        status, _, text, _ = browser.request(
            "GET", forged, headers={"Accept-Language": "de-DE,en-GB;q=0.8,nl;q=0.5"})
        self.assertEqual(status, 400)
        self.assertIn('<html lang="en">', text)
        self.assertIn("unknown or expired", text)
        status, _, text, _ = browser.request("GET", forged, headers={"Accept-Language": "fr"})
        self.assertIn("onbekend of verlopen", text)
        status, _, text, hdrs = browser.request("GET", location[len(S.base):],
                                                headers={"Accept-Language": "nl-NL,nl;q=0.9"})
        self.assertEqual(status, 200, text)
        self.assertIn("Winkel shop-a is gekoppeld aan Exact Online.", text)
        obj = c.request("GET", "/api/tenants/shop-a/exact")[1]
        self.assertEqual(obj["token_state"], "ok")
        # The state is single use.
        status, _, _, _ = browser.request("GET", location[len(S.base):])
        self.assertEqual(status, 400)
        status, _, text, _ = browser.request("GET", "/oauth/callback?error=access_denied"
                                             "&state=x")
        self.assertEqual(status, 400)
        self.assertIn("access_denied", text)
        status, _, text, _ = browser.request("GET", "/oauth/callback?error=%3Cscript%3E")
        self.assertNotIn("<script>", text)

    def test_redirect_uri_mismatch_refused(self):
        cxtest.psql(S.dsn, "UPDATE tenants SET exact_redirect_uri = 'https://elsewhere.invalid/cb'"
                    " WHERE id = 'shop-b'")
        c = signed_in("owner-b")
        status, obj, _, _ = c.request("POST", "/api/tenants/shop-b/exact/connect", {})
        self.assertEqual(status, 409)
        self.assertIn("redirect URI", obj["error"])
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM admin_consents WHERE"
                                     " tenant_id = 'shop-b'"), "0")


class Status(unittest.TestCase):
    def test_tenant_states(self):
        c = signed_in("op")
        obj = c.request("GET", "/api/tenants")[1]
        for t in obj["tenants"]:
            self.assertIn(t["state"], ("healthy", "lagging", "failing", "needs_consent",
                                       "disabled"))
            self.assertIn("counts", t)
            self.assertIn("last_sync", t)
        cxtest.psql(S.dsn, "UPDATE exact_tokens SET state = 'needs_consent' WHERE"
                    " tenant_id = 'shop-b'")
        obj = c.request("GET", "/api/tenants/shop-b")[1]
        self.assertEqual(obj["status"]["state"], "needs_consent")
        self.assertNotIn("sealed", json.dumps(obj))


class Config(unittest.TestCase):
    def test_insecure_cookie_only_on_localhost(self):
        for url, addr in (("https://panel.example.com", "127.0.0.1"),
                          ("http://panel.example.com", "127.0.0.1"),
                          ("http://localhost.evil.example", "127.0.0.1"),
                          (S.base, "0.0.0.0")):
            p = panellib.run(panellib.PANEL, {**S.env, "CX_PANEL_COOKIE_SECURE": "false",
                                              "CX_PANEL_PUBLIC_URL": url, "CX_HTTP_ADDR": addr,
                                              "CX_HTTP_PORT": "0"}, check=False)
            self.assertEqual(p.returncode, 2, (url, addr, p.stderr))
            self.assertIn("CX_PANEL_COOKIE_SECURE", p.stderr)

    def test_secure_cookie_by_default(self):
        d = cxtest.Daemon(panellib.PANEL, {**S.env, "CX_HTTP_ADDR": "127.0.0.1",
                                           "CX_PANEL_PUBLIC_URL": "https://panel.example.com"},
                          name="panel-secure").start()
        try:
            d.wait_ready(60)
            c = Client(f"http://127.0.0.1:{d.port}")
            status, obj, hdrs = c.login("op")
            self.assertEqual(status, 200, obj)
            cookie = [v for k, v in hdrs if k.lower() == "set-cookie"][0]
            self.assertTrue(cookie.startswith("__Host-cx_panel="), cookie)
            for attr in ("; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"):
                self.assertIn(attr, cookie)
            self.assertEqual(c.request("GET", "/api/session")[0], 200)
            obj = c.request("GET", "/api/tenants/shop-a/exact")[1]
            self.assertEqual(obj["panel_callback"], "https://panel.example.com/oauth/callback")
        finally:
            self.assertEqual(d.stop(), 0, d.output()[-2000:])


class PreviewFromShop(unittest.TestCase):
    def test_order_fetched_from_the_shop(self):
        args = ["--seed", "3", "--shops", "1", "--orders", "4"]
        first = json.loads(subprocess.run([panellib.CCV_FAKE, "--dump-orders", *args],
                                          stdout=subprocess.PIPE, text=True, check=True,
                                          timeout=60).stdout.splitlines()[0])
        fake = subprocess.Popen([panellib.CCV_FAKE, "--listen", "127.0.0.1:0", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = json.loads(fake.stdout.readline())["listen"]
            shop = json.loads(cxtest.http("GET", url + "/_fake/shops")[1])["shops"][0]
            sealed = panellib.run(panellib.ADMIN, S.env, "seal", "shop-b",
                                  stdin=shop["secret"] + "\n").stdout.strip()
            cxtest.psql(S.dsn, f"UPDATE tenants SET shop_base_url = '{url}/shop/1',"
                        f" shop_public_key = '{shop['public_key']}',"
                        f" shop_secret_sealed = '{sealed}' WHERE id = 'shop-b'")
            c = signed_in("op")
            put_rules(c, "shop-b", panellib.rules("shop-b"))
            status, obj, text, _ = c.request("POST", "/api/tenants/shop-b/preview",
                                             {"order_id": str(first["id"])})
            self.assertEqual(status, 200, text)
            self.assertEqual(obj["order_source"], "shop")
            self.assertEqual(obj["result"]["source_id"], str(first["id"]))
            status, obj, text, _ = c.request("POST", "/api/tenants/shop-b/preview",
                                             {"order_id": "999999999"})
            self.assertEqual(status, 502, text)
            self.assertNotIn(shop["secret"], text)
        finally:
            fake.terminate()
            fake.wait(10)
            fake.stdout.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
