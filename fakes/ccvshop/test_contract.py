#!/usr/bin/env python3
"""Contract tests for ccvshop-fake (a fake of the CCV Shop REST API).

Black-box: starts the fake on a free port, signs requests itself (HMAC-SHA512
per specs/ccvshop.md section 1) and checks every documented behaviour.
Usage: test_contract.py PATH-TO-ccvshop-fake
"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import queue
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from datetime import datetime, timedelta, timezone
from decimal import Decimal, ROUND_HALF_UP
from urllib.parse import urlsplit

FAKE = None

# Rates of eu-vat-rates.csv for the countries the generator uses (standard,
# reduced, super-reduced, parking).
RATES = {
    "NL": {21, 9}, "DE": {19, 7}, "BE": {21, 6, 12}, "FR": {20, 5.5, 10, 2.1},
    "AT": {20, 10, 13}, "IT": {22, 5, 10, 4}, "ES": {21, 10, 4}, "PL": {23, 5, 8},
    "XI": {20, 5},
}
CSV = "/work/shared/specs/eu-vat-rates.csv"


def sign(pub, secret, method, uri, body, date):
    msg = "%s|%s|%s|%s|%s" % (pub, method, uri, body, date)
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha512).hexdigest()


def now_iso(delta=0):
    t = datetime.now(timezone.utc) + timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Fake:
    """A running ccvshop-fake process."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([FAKE, "--listen", "127.0.0.1:0"] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.err)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.stop()
            raise RuntimeError("fake did not start")
        line = self.proc.stdout.readline().decode()
        self.url = json.loads(line)["listen"]
        u = urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        self.shops = self.admin("GET", "/_fake/shops")[1]["shops"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err.seek(0)
        err = self.err.read().decode(errors="replace")
        self.err.close()
        if self.proc.returncode != 0:
            raise AssertionError("fake exited with %r: %s" % (self.proc.returncode, err[-4000:]))
        return self.proc.returncode

    def raw(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def admin(self, method, path, obj=None):
        body = json.dumps(obj) if obj is not None else None
        st, _, data = self.raw(method, path, body)
        return st, (json.loads(data) if data else None)

    def api(self, shop, method, rel, obj=None, date=None, pub=None, secret=None, raw_body=None):
        """Signed request; rel is relative to the shop's base URL or absolute."""
        s = self.shops[shop - 1]
        url = rel if rel.startswith("http") else s["base_url"] + rel
        uri = url[len("http://%s:%d" % (self.host, self.port)):]
        body = raw_body if raw_body is not None else (json.dumps(obj) if obj is not None else "")
        date = date or now_iso()
        pub = pub or s["public_key"]
        h = {"x-public": pub, "x-date": date,
             "x-hash": sign(pub, secret or s["secret"], method, uri, body, date)}
        if body:
            h["Content-Type"] = "application/json"
        st, hdr, data = self.raw(method, uri, body.encode() if body else None, h)
        return st, hdr, data, uri

    def get(self, shop, rel):
        st, hdr, data, uri = self.api(shop, "GET", rel)
        return st, (json.loads(data) if data else None)


def decimal_round(x):
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))


def cents(v):
    return decimal_round(Decimal(str(v)) * 100)


def line_vat(amount, rate, incl):
    a, r = Decimal(amount), Decimal(str(rate))
    return decimal_round(a * r / (100 + r)) if incl else decimal_round(a * r / 100)


# --- independent VAT number checks (specs/vat.md section 4) ---------------
def luhn_ok(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        v = int(c)
        if i % 2:
            v *= 2
            v = v // 10 + v % 10
        s += v
    return s % 10 == 0


def vat_valid(v):
    cc, d = v[:2], v[2:]
    if cc == "NL":
        if len(d) != 12 or d[9] != "B" or not d[:9].isdigit() or not d[10:].isdigit():
            return False
        s = sum((9 - i) * int(d[i]) for i in range(8)) - int(d[8])
        if s % 11 == 0 and d[10:] != "00":
            return True
        num = "".join(str(ord(c) - 55) if c.isalpha() else c for c in v)
        return int(num) % 97 == 1
    if cc == "BE":
        return len(d) == 10 and d.isdigit() and d[0] in "01" and (int(d[:8]) + int(d[8:])) % 97 == 0
    if cc == "DE":
        if len(d) != 9 or not d.isdigit() or d[0] == "0":
            return False
        check = 5
        for c in d:
            check = (((check or 10) * 2) % 11 + int(c)) % 10
        return check == 1
    if cc == "FR":
        return (len(d) == 11 and d.isdigit() and luhn_ok(d[2:])
                and int(d[:2]) == (12 + 3 * (int(d[2:]) % 97)) % 97)
    if cc == "AT":
        if len(d) != 9 or d[0] != "U" or not d[1:].isdigit():
            return False
        s = 0
        for i, c in enumerate(reversed(d[1:8])):
            x = int(c)
            if i % 2:
                x *= 2
                x = x // 10 + x % 10
            s += x
        return (6 - s) % 10 == int(d[8])
    if cc == "IT":
        return len(d) == 11 and d.isdigit() and luhn_ok(d) and 1 <= int(d[7:10]) <= 100
    if cc == "ES":
        return (len(d) == 9 and d[:8].isdigit()
                and d[8] == "TRWAGMYFPDXBNJZSQVHLCKE"[int(d[:8]) % 23])
    return False


class Hooks:
    """Webhook receiver on a free loopback port."""

    def __init__(self):
        self.q = queue.Queue()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                outer.q.put((self.path, dict((k.lower(), v) for k, v in self.headers.items()),
                             body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait(self, timeout=5):
        return self.q.get(timeout=timeout)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class ContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = Fake("--seed", "11", "--shops", "3", "--orders", "120", "--products", "30")

    @classmethod
    def tearDownClass(cls):
        rc = cls.f.stop()
        assert rc == 0, "fake exited with %r on SIGTERM" % rc

    # -- shops and signing ----------------------------------------------------
    def test_signing_vectors(self):
        self.assertEqual(sign("demo-public", "demo-secret", "GET",
                              "/api/rest/v1/orders?min_create_date=2024-01-01&start=0&size=25",
                              "", "2024-01-01T12:00:00Z"),
                         "377c7e9222b4b0b810c5d633e788d6566dadc0f032cc1702373227fe99ac83ba3fc4a7dc"
                         "d6ae04ee5a3f300619444b44c026fed02004d8fa3fb21aa1c7c4022d")
        body = '{"event":"orders.created","address":"https://example.test/hook","is_active":true}'
        self.assertEqual(sign("demo-public", "demo-secret", "POST", "/api/rest/v1/webhooks", body,
                              "2024-01-01T12:00:00Z"),
                         "73c29714ec815f69620fffd07573870fd697c534b77e1b30890639224fbc6600c9adeb28"
                         "a4c28f20040ddad7c6ac0da8721f9778405bf5f7e3cc749b5538d2c4")
        self.assertEqual(sign("demo-public", "demo-secret", "GET", "/api/rest/v1/orders/123",
                              '{"id":123}', "2024-01-01T12:00:01Z"),
                         "9e777de98faff75beae36ca8c527acd7e18bd08f97cfe3669a1c1520ec7985b99b125fd3"
                         "dd829bcde47762f9bc3b44cb3d34afcee884b6462a914d2603982c14")

    def test_shops_listing(self):
        self.assertEqual(len(self.f.shops), 3)
        keys = set()
        for s in self.f.shops:
            self.assertEqual(len(s["public_key"]), 32)
            self.assertFalse(s["public_key"].isalnum())
            self.assertFalse(s["secret"].isalnum())
            self.assertIsInstance(s["oss_registered"], bool)
            keys.add(s["public_key"])
            st, root = self.f.get(s["n"], "")
            self.assertEqual(st, 200)
            self.assertTrue(any(i["title"] == "orders" for i in root["items"]))
        self.assertEqual(len(keys), 3)
        self.assertEqual([s["oss_registered"] for s in self.f.shops], [True, False, True])

    def test_response_signed(self):
        s = self.f.shops[0]
        st, hdr, data, uri = self.f.api(1, "GET", "orders?size=2")
        self.assertEqual(st, 200)
        self.assertEqual(hdr["x-hash"], sign(s["public_key"], s["secret"], "GET", uri,
                                             data.decode(), hdr["x-date"]))
        # Trailing slash optional.
        self.assertEqual(self.f.api(1, "GET", "orders/?size=2")[0], 200)

    def test_auth_errors(self):
        s = self.f.shops[0]
        uri = urlsplit(s["base_url"]).path + "orders"
        st, _, data = self.f.raw("GET", uri)
        self.assertEqual((st, json.loads(data)["code"]), (401, "401.10"))
        st, _, data, _ = self.f.api(1, "GET", "orders", pub=self.f.shops[1]["public_key"],
                                    secret=self.f.shops[1]["secret"])
        self.assertEqual((st, json.loads(data)["code"]), (401, "401.11"))
        st, _, data, _ = self.f.api(1, "GET", "orders", date="last tuesday")
        self.assertEqual((st, json.loads(data)["code"]), (401, "401.12"))
        st, _, data, _ = self.f.api(1, "GET", "orders", date=now_iso(-400))
        body = json.loads(data)
        self.assertEqual((st, body["code"], body["status"]), (401, "401.13", 401))
        self.assertIn("developermessage", body)
        self.assertEqual(self.f.api(1, "GET", "orders", date=now_iso(400))[0], 401)
        self.assertEqual(self.f.api(1, "GET", "orders", date=now_iso(-250))[0], 200)
        st, _, data, _ = self.f.api(1, "GET", "orders", secret="wrong")
        self.assertEqual((st, json.loads(data)["code"]), (401, "401.14"))
        # Other accepted ISO-8601 forms.
        t = datetime.now(timezone.utc)
        for d in (t.strftime("%Y-%m-%dT%H:%M:%S+00:00"), t.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                  t.strftime("%Y-%m-%dT%H:%M:%S.123Z")):
            self.assertEqual(self.f.api(1, "GET", "orders?size=1", date=d)[0], 200, d)
        # Signed query must match byte for byte.
        date = now_iso()
        h = {"x-public": s["public_key"], "x-date": date,
             "x-hash": sign(s["public_key"], s["secret"], "GET", uri + "?size=1", "", date)}
        self.assertEqual(self.f.raw("GET", uri + "?size=2", None, h)[0], 401)
        self.assertEqual(self.f.raw("GET", uri + "?size=1", None, h)[0], 200)

    # -- collections -----------------------------------------------------------
    def test_paging_follow_next(self):
        seen, url, pages = [], "orders?size=7&orderby=id", 0
        while url:
            st, page = self.f.get(2, url)
            self.assertEqual(st, 200)
            for k in ("href", "start", "size", "first", "previous", "next", "items"):
                self.assertIn(k, page)
            self.assertLessEqual(len(page["items"]), 7)
            seen += [o["id"] for o in page["items"]]
            url = page["next"]
            if url:
                self.assertIn("orderby=id", url)
            pages += 1
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(seen, sorted(seen))
        total_completed = len(seen)
        st, incomplete = self.f.get(2, "orders?is_completed=false&size=250")
        st2, everything = self.f.get(2, "orders?size=250")
        self.assertEqual(everything["size"], 250)
        self.assertEqual(len(everything["items"]), total_completed)
        self.assertEqual(total_completed + len(incomplete["items"]), 120)
        self.assertTrue(all(o["is_completed"] is False and o["ordernumber"] is None
                            and o["status"] is None for o in incomplete["items"]))
        st, p = self.f.get(2, "orders?size=9999")
        self.assertEqual(p["size"], 250)
        st, p = self.f.get(2, "orders?start=10&size=5")
        self.assertIsNotNone(p["previous"])
        self.assertEqual(self.f.get(2, "orders?start=-1")[0], 400)
        self.assertEqual(self.f.get(2, "orders?size=abc")[0], 400)

    def test_order_filters(self):
        st, p = self.f.get(1, "orders?status=5&size=250")
        self.assertTrue(p["items"])
        self.assertTrue(all(o["status"] == 5 for o in p["items"]))
        st, p = self.f.get(1, "orders?is_paid=true&size=250")
        self.assertTrue(all(o["paid"] is True for o in p["items"]))
        st, allp = self.f.get(1, "orders?size=250&orderby=create_date_desc")
        dates = [o["create_date"] for o in allp["items"]]
        self.assertEqual(dates, sorted(dates, reverse=True))
        mid = sorted(dates)[len(dates) // 2]
        st, p = self.f.get(1, "orders?size=250&min_create_date=" + mid)
        self.assertTrue(all(o["create_date"] >= mid for o in p["items"]))
        self.assertEqual(len(p["items"]), sum(1 for d in dates if d >= mid))
        st, p = self.f.get(1, "orders?size=250&max_create_date=" + mid[:10])
        self.assertTrue(all(o["create_date"][:10] <= mid[:10] for o in p["items"]))
        onum = allp["items"][0]["ordernumber"]
        st, p = self.f.get(1, "orders?ordernumber=%d" % onum)
        self.assertEqual([o["ordernumber"] for o in p["items"]], [onum])
        for bad in ("is_paid=yes", "status=99", "min_create_date=nope", "orderby=color"):
            st, body = self.f.get(1, "orders?" + bad)
            self.assertEqual(st, 400, bad)
            self.assertEqual(body["status"], 400)

    def test_order_detail_and_rows(self):
        st, p = self.f.get(1, "orders?size=3")
        o = p["items"][0]
        st, d = self.f.get(1, "orders/%d" % o["id"])
        self.assertEqual(d, o)
        st, rows = self.f.get(1, o["orderrows"]["href"])
        self.assertEqual(st, 200)
        self.assertTrue(rows["items"])
        for r in rows["items"]:
            self.assertEqual(r["order_id"], o["id"])
            st, one = self.f.get(1, "orderrows/%d" % r["id"])
            self.assertEqual(one, r)
        self.assertEqual(self.f.get(1, "orders/1")[0], 404)
        self.assertEqual(self.f.get(1, "orders/1")[1]["code"], "404.10")

    def test_other_resources(self):
        st, u = self.f.get(1, "users?size=250&orderby=last_name")
        self.assertEqual(st, 200)
        self.assertTrue(u["items"])
        names = [x["userinfo"]["billingaddress"]["last_name"] for x in u["items"]]
        self.assertEqual(names, sorted(names))
        st, one = self.f.get(1, "users/%d" % u["items"][0]["id"])
        self.assertEqual(one["id"], u["items"][0]["id"])
        st, pr = self.f.get(1, "products?size=250&orderby=modifydate_desc")
        md = [x["modifydate"] for x in pr["items"]]
        self.assertEqual(md, sorted(md, reverse=True))
        self.assertGreaterEqual(len(pr["items"]), 30)
        st, c = self.f.get(1, "categories")
        self.assertEqual(st, 200)
        self.assertEqual(self.f.get(1, "categories/%d" % c["items"][0]["id"])[0], 200)
        st, w = self.f.get(1, "webshops")
        self.assertEqual(w["items"][0]["name"], "shop1")
        self.assertEqual(self.f.get(1, "paymethods")[0], 200)
        st, body = self.f.get(1, "nonsense")
        self.assertEqual((st, body["code"]), (404, "404.20"))
        st, hdr, data, _ = self.f.api(1, "DELETE", "orders")
        self.assertEqual((st, json.loads(data)["code"]), (405, "405.10"))

    def test_bad_input(self):
        st, _, data, _ = self.f.api(1, "POST", "webhooks", raw_body="{not json")
        self.assertEqual((st, json.loads(data)["code"]), (400, "400.10"))
        st, _, data, _ = self.f.api(1, "POST", "webhooks", obj={"event": "x.y", "address": "a"})
        self.assertEqual(st, 400)
        big = json.dumps({"event": "orders.created", "address": "http://x/" + "a" * 300000})
        st, _, data, _ = self.f.api(1, "POST", "webhooks", raw_body=big)
        self.assertEqual((st, json.loads(data)["code"]), (500, "500.80"))
        st, _, data = self.f.raw("GET", "/elsewhere")
        self.assertEqual(st, 404)
        self.assertEqual(self.f.raw("GET", "/shop/99/api/rest/v1/orders")[0], 404)

    # -- webhooks --------------------------------------------------------------
    def test_webhooks(self):
        hooks = Hooks()
        try:
            ids = {}
            for ev in ("orders.created", "orders.updated.status", "orders.updated.ispaid",
                       "products.updated"):
                st, _, data, _ = self.f.api(3, "POST", "webhooks",
                                            obj={"event": ev, "address": hooks.url("/h/" + ev),
                                                 "is_active": True})
                self.assertEqual(st, 201)
                w = json.loads(data)
                self.assertEqual(w["event"], ev)
                self.assertTrue(w["key"])
                ids[ev] = w
            st, lst = self.f.get(3, "webhooks")
            self.assertEqual(len(lst["items"]), 4)

            def check(ev):
                path, hdr, body = hooks.wait()
                self.assertEqual(path, "/h/" + ev)
                w = ids[ev]
                want = hmac.new(w["key"].encode(), (w["address"] + "|" + body).encode(),
                                hashlib.sha512).hexdigest()
                self.assertEqual(hdr["x-hash"], want)
                return json.loads(body)

            st, created = self.f.admin("POST", "/_fake/shops/3/orders",
                                       {"case": "nl_b2c", "status": 1, "paid": False})
            self.assertEqual(st, 201)
            oid = created["id"]
            b = check("orders.created")
            self.assertEqual(b["id"], oid)
            self.assertIn("order_number", b)
            self.assertIn("triggered_at", b)
            st, d = self.f.get(3, "orders/%d" % oid)
            self.assertEqual(st, 200)
            self.assertEqual(d["status"], 1)

            st, _ = self.f.admin("PATCH", "/_fake/shops/3/orders/%d" % oid, {"status": 5})
            self.assertEqual(st, 200)
            b = check("orders.updated.status")
            self.assertEqual((b["id"], b["previous_status"], b["status"]), (oid, 1, 5))
            st, _ = self.f.admin("PATCH", "/_fake/shops/3/orders/%d" % oid, {"paid": True})
            b = check("orders.updated.ispaid")
            self.assertIs(b["paid"], True)
            st, d = self.f.get(3, "orders/%d" % oid)
            self.assertEqual((d["status"], d["paid"]), (5, True))

            st, p = self.f.get(3, "products?size=1")
            pid = p["items"][0]["id"]
            st, _ = self.f.admin("PATCH", "/_fake/shops/3/products/%d" % pid, {"price": 12.5})
            self.assertEqual(st, 200)
            b = check("products.updated")
            self.assertEqual(b["id"], pid)
            st, p = self.f.get(3, "products?size=1&orderby=modifydate_desc")
            self.assertEqual((p["items"][0]["id"], p["items"][0]["price"]), (pid, 12.5))

            # PATCH / DELETE of the registration, then nothing is delivered.
            w = ids["orders.updated.status"]
            st, hdr, data, _ = self.f.api(3, "PATCH", "webhooks/%d" % w["id"],
                                          obj={"is_active": False})
            self.assertEqual(st, 204)
            self.assertIn("x-hash", hdr)
            self.f.admin("PATCH", "/_fake/shops/3/orders/%d" % oid, {"status": 7})
            for ev in ("orders.created", "orders.updated.ispaid", "products.updated"):
                st, _, _, _ = self.f.api(3, "DELETE", "webhooks/%d" % ids[ev]["id"])
                self.assertEqual(st, 204)
            self.f.admin("PATCH", "/_fake/shops/3/orders/%d" % oid, {"paid": False})
            with self.assertRaises(queue.Empty):
                hooks.wait(0.5)
            self.assertEqual(self.f.get(3, "webhooks/%d" % ids["products.updated"]["id"])[0], 404)
            st, stats = self.f.admin("GET", "/_fake/stats")
            self.assertGreaterEqual(stats["webhooks"]["delivered"], 4)
        finally:
            hooks.close()

    def test_admin_shapes(self):
        st, o = self.f.admin("POST", "/_fake/shops/1/orders",
                             {"case": "eu_b2b_valid_vat", "country": "DE"})
        self.assertEqual(st, 201)
        self.assertEqual(o["_fake_expect"]["scenario"], "icp")
        self.assertTrue(vat_valid(o["order"]["customer"]["btw"]))
        self.assertTrue(o["order"]["is_intra_community_order"])
        st, o2 = self.f.admin("GET", "/_fake/shops/1/orders/%d" % o["id"])
        self.assertEqual(o2["order"]["id"], o["id"])
        st, e = self.f.admin("POST", "/_fake/shops/1/orders", {"case": "no_such_case"})
        self.assertEqual(st, 400)
        st, a = self.f.admin("POST", "/_fake/shops/1/orders", {"is_completed": False})
        self.assertIsNone(a["order"]["ordernumber"])
        st, b = self.f.admin("PATCH", "/_fake/shops/1/orders/%d" % a["id"],
                             {"is_completed": True})
        self.assertEqual(st, 200)
        self.assertIsInstance(b["order"]["ordernumber"], int)
        st, p = self.f.admin("POST", "/_fake/shops/1/products", {"name": "Nieuw", "price": 9.95})
        self.assertEqual((st, p["name"], p["price"]), (201, "Nieuw", 9.95))
        st, stats = self.f.admin("GET", "/_fake/stats")
        self.assertGreater(stats["requests"], 0)
        self.assertEqual(len(stats["shops"]), 3)


class RateLimitTest(unittest.TestCase):
    def test_rate_limit_and_throttle(self):
        f = Fake("--seed", "3", "--shops", "2", "--orders", "10", "--rate-limit", "5",
                 "--minute", "1.5", "--retry-after")
        try:
            for _ in range(5):
                self.assertEqual(f.get(1, "orders")[0], 200)
            st, body = f.get(1, "orders")
            self.assertEqual(st, 429)
            self.assertEqual(body, {"status": 429, "code": "429.10", "developermessage":
                                    "Each method in each resource has a limit of requests that "
                                    "can be made per minute. Please lower the frequency of your "
                                    "request rate."})
            # Other resource and other shop are independent.
            self.assertEqual(f.get(1, "products")[0], 200)
            self.assertEqual(f.get(2, "orders")[0], 200)
            st, hdr, _, _ = f.api(1, "GET", "orders")
            self.assertIn("retry-after", hdr)
            time.sleep(1.6)
            self.assertEqual(f.get(1, "orders")[0], 200)
            # Forced throttling for the extractor's tests.
            st, t = f.admin("POST", "/_fake/shops/2/throttle", {"requests": 2})
            self.assertEqual(st, 200)
            self.assertEqual(f.get(2, "products")[0], 429)
            self.assertEqual(f.get(2, "users")[1]["code"], "429.10")
            self.assertEqual(f.get(2, "users")[0], 200)
            f.admin("POST", "/_fake/shops/2/throttle", {"seconds": 0.5, "code": "429.11"})
            self.assertEqual(f.get(2, "categories")[1]["code"], "429.11")
            time.sleep(0.6)
            self.assertEqual(f.get(2, "categories")[0], 200)
            st, stats = f.admin("GET", "/_fake/stats")
            self.assertGreaterEqual(stats["rate_limited"], 5)
        finally:
            self.assertEqual(f.stop(), 0)


class DumpTest(unittest.TestCase):
    def dump(self, *args):
        out = subprocess.run([FAKE, "--dump-orders"] + list(args), stdout=subprocess.PIPE,
                             check=True, timeout=60).stdout.decode()
        return [json.loads(line) for line in out.splitlines()]

    def test_determinism(self):
        a = subprocess.run([FAKE, "--dump-orders", "--seed", "5", "--shops", "2", "--orders",
                            "200"], stdout=subprocess.PIPE, check=True, timeout=60).stdout
        b = subprocess.run([FAKE, "--dump-orders", "--seed", "5", "--shops", "2", "--orders",
                            "200"], stdout=subprocess.PIPE, check=True, timeout=60).stdout
        c = subprocess.run([FAKE, "--dump-orders", "--seed", "6", "--shops", "2", "--orders",
                            "200"], stdout=subprocess.PIPE, check=True, timeout=60).stdout
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        s1 = subprocess.run([FAKE, "--dump-shops", "--seed", "5", "--shops", "2"],
                            stdout=subprocess.PIPE, check=True, timeout=60).stdout
        s2 = subprocess.run([FAKE, "--dump-shops", "--seed", "5", "--shops", "2"],
                            stdout=subprocess.PIPE, check=True, timeout=60).stdout
        self.assertEqual(s1, s2)

    def test_served_equals_dump(self):
        dumped = [o for o in self.dump("--seed", "9", "--shops", "1", "--orders", "30")]
        f = Fake("--seed", "9", "--shops", "1", "--orders", "30")
        try:
            for o in dumped[:10]:
                st, d = f.get(1, "orders/%d" % o["id"])
                self.assertEqual(st, 200)
                self.assertEqual(d["total_price"], o["total_price"])
                self.assertEqual(d["customer"], o["customer"])
                st, rows = f.get(1, "orders/%d/orderrows?size=250" % o["id"])
                self.assertEqual([r["total_price"] for r in rows["items"]],
                                 [r["total_price"] for r in o["orderrows"]])
        finally:
            f.stop()

    def test_generated_orders_are_consistent(self):
        orders = self.dump("--seed", "21", "--shops", "4", "--orders", "750")
        self.assertEqual(len(orders), 3000)
        csv_rates = {}
        if os.path.exists(CSV):
            import csv
            with open(CSV) as fh:
                for row in csv.DictReader(fh):
                    rs = {float(row["standard_rate"])}
                    for k in ("reduced_rates", "super_reduced_rate", "parking_rate"):
                        rs |= {float(x) for x in row[k].split(";") if x}
                    csv_rates[row["iso_code"]] = rs
        cases, scen, rejects = {}, {}, 0
        for o in orders:
            e = o["_fake_expect"]
            self.assertEqual(set(e) - {"reason"},
                             {"scenario", "reject", "case", "vat_country", "oss_registered"})
            cases[e["case"]] = cases.get(e["case"], 0) + 1
            scen[e["scenario"]] = scen.get(e["scenario"], 0) + 1
            rejects += e["reject"]
            self.assertIn(o["shop"], (1, 2, 3, 4))
            incl = o["order_row_taxes_included"]
            self.assertEqual(incl, o["shipping_taxes_included"])
            rows_total, lines = 0, []
            for r in o["orderrows"]:
                unit = cents(r["price"]) - cents(r["discount"])
                self.assertEqual(cents(r["selling_price"]), unit)
                self.assertEqual(cents(r["total_price"]), unit * r["count"])
                rows_total += cents(r["total_price"])
                lines.append((cents(r["total_price"]), r["tax"]))
            sr = o["shipping_tax_percentage"]
            lines += [(cents(o["total_shipping"]), sr), (cents(o["paymethod_costs"]), sr),
                      (-cents(o["total_discounts"]), sr)]
            tax = sum(line_vat(a, rt, incl) for a, rt in lines)
            self.assertEqual(cents(o["total_orderrow_price"]), rows_total)
            self.assertEqual(cents(o["total_tax"]), tax, o["id"])
            gross = (rows_total + cents(o["total_shipping"]) + cents(o["paymethod_costs"])
                     - cents(o["total_discounts"]) + (0 if incl else tax))
            self.assertEqual(cents(o["total_price"]), gross, o["id"])
            self.assertGreater(gross, 0)
            if not incl:
                self.assertEqual(len({t for _, t in lines[:-3]}), 1, "excl. orders: one rate")
            if e["reject"]:
                continue
            taxes = {r["tax"] for r in o["orderrows"]}
            if e["scenario"] in ("icp", "export"):
                self.assertEqual(taxes, {0})
                self.assertEqual(sr, 0)
            else:
                vc = e["vat_country"]
                self.assertTrue(taxes <= RATES[vc], (o["id"], vc, taxes))
                if vc in csv_rates:
                    self.assertTrue({float(t) for t in taxes} <= csv_rates[vc])
            if e["scenario"] == "domestic":
                self.assertEqual(e["vat_country"], "NL")
            if e["scenario"] == "oss":
                self.assertTrue(e["oss_registered"])
                self.assertNotEqual(e["vat_country"], "NL")
            if e["scenario"] == "distance_origin":
                self.assertFalse(e["oss_registered"])
            self.assertEqual(o["is_intra_community_order"], e["scenario"] == "icp")
            btw = o["customer"]["btw"]
            if e["scenario"] == "icp":
                self.assertTrue(vat_valid(btw), btw)
            if e["case"] == "eu_b2b_invalid_vat":
                self.assertFalse(vat_valid(btw), btw)
                self.assertIn(e["scenario"], ("oss", "distance_origin"))
            if e["case"] == "nl_b2b":
                self.assertTrue(vat_valid(btw))
                self.assertEqual(len(o["customer"]["kvk"]), 8)
        for c in ("nl_b2c", "nl_b2b", "eu_b2c", "eu_b2b_valid_vat", "eu_b2b_invalid_vat",
                  "export_b2c", "export_b2b", "canary_islands", "heligoland",
                  "northern_ireland", "monaco", "bad_icp_invalid_vat", "bad_vat_on_export"):
            self.assertIn(c, cases)
        for s in ("domestic", "icp", "export", "oss", "distance_origin"):
            self.assertIn(s, scen)
        self.assertLess(rejects / len(orders), 0.2)
        self.assertTrue(any(o["user"] is None for o in orders))
        self.assertTrue(any(isinstance(o["user"], dict) and isinstance(o["user"]["id"], str)
                            for o in orders))
        self.assertTrue(any(o["customer"]["deliveryaddress"]["country_code"] is None
                            for o in orders))
        self.assertTrue(any(cents(o["total_discounts"]) > 0 for o in orders))
        self.assertTrue(any(len({r["tax"] for r in o["orderrows"]}) > 1 for o in orders))
        self.assertTrue(any(not o["order_row_taxes_included"] for o in orders))

    def test_fixtures(self):
        orders = self.dump("--seed", "4", "--shops", "1", "--orders", "5")
        fx = {"shops": [{"public_key": "fix-pub!^", "secret": "fix-secret*_",
                         "oss_registered": False, "orders": orders}]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(fx, fh)
            path = fh.name
        try:
            f = Fake("--fixtures", path)
            try:
                self.assertEqual(f.shops[0]["public_key"], "fix-pub!^")
                st, d = f.get(1, "orders/%d" % orders[2]["id"])
                self.assertEqual(st, 200)
                self.assertNotIn("_fake_expect", d)
                self.assertEqual(d["total_price"], orders[2]["total_price"])
                st, rows = f.get(1, "orders/%d/orderrows" % orders[2]["id"])
                self.assertEqual(len(rows["items"]), len(orders[2]["orderrows"]))
            finally:
                f.stop()
        finally:
            os.unlink(path)


class FuzzTest(unittest.TestCase):
    def test_fuzz_keeps_serving(self):
        f = Fake("--seed", "2", "--shops", "2", "--orders", "20", "--rate-limit", "0")
        rnd = random.Random(1234)
        try:
            s = f.shops[0]
            prefix = urlsplit(s["base_url"]).path
            paths = ["", "orders", "orders/", "orders/abc", "orders/%d" % 2**62, "orders//x",
                     "orderrows/0", "users/-1", "products?orderby=", "webhooks", "webhooks/1",
                     "../../etc/passwd", "orders?%zz=1", "orders?" + "a=1&" * 40,
                     "orders?start=99999999999999999999", "categories/0/x/y/z/q/r/s/t/u"]
            methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "BREW"]
            conn = http.client.HTTPConnection(f.host, f.port, timeout=10)
            n_http = 0
            for i in range(2500):
                m = rnd.choice(methods)
                p = prefix + rnd.choice(paths) if rnd.random() < 0.8 else \
                    "/" + "".join(rnd.choice("/_fakeshop0123?&=%")
                                  for _ in range(rnd.randint(0, 40)))
                body = None
                if m in ("POST", "PATCH", "PUT") and rnd.random() < 0.7:
                    body = rnd.choice(['{"event":"orders.created","address":"http://127.0.0.1:9/"}',
                                       "{", "[]", "null", '{"a":' * 50, "\x00\xff garbage",
                                       json.dumps({"status": rnd.randint(-5, 20)})])
                date = rnd.choice([now_iso(), "x", now_iso(-1000), ""])
                pub = rnd.choice([s["public_key"], "nope", ""])
                hsh = sign(pub, s["secret"], m, p, body or "", date) if rnd.random() < 0.5 \
                    else "0" * rnd.choice([0, 5, 128])
                hdr = {"x-public": pub, "x-date": date, "x-hash": hsh}
                if rnd.random() < 0.2:
                    hdr = {}
                try:
                    conn.request(m, p, body=body.encode("latin-1") if body else None, headers=hdr)
                    r = conn.getresponse()
                    r.read()
                    self.assertLess(r.status, 600)
                    n_http += 1
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection(f.host, f.port, timeout=10)
                except (http.client.HTTPException, ConnectionError, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection(f.host, f.port, timeout=10)
            conn.close()
            # Raw garbage on sockets, including admin paths with bad JSON.
            for i in range(300):
                sk = socket.create_connection((f.host, f.port), timeout=5)
                try:
                    junk = rnd.choice([b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5,
                                       bytes(rnd.randrange(256)
                                             for _ in range(rnd.randint(1, 300))),
                                       b"POST /_fake/shops/1/orders HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Length: 5\r\n\r\n{\"ca",
                                       b"GET /shop/1/api/rest/v1/orders HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Length: 999999999\r\n\r\n"])
                    sk.sendall(junk)
                    sk.settimeout(0.01 if i % 30 else 0.3)
                    try:
                        sk.recv(4096)
                    except OSError:
                        pass
                finally:
                    sk.close()
            self.assertGreater(n_http, 2000)
            self.assertIsNone(f.proc.poll(), "fake died")
            st, root = f.get(1, "")
            self.assertEqual(st, 200)
            st, stats = f.admin("GET", "/_fake/stats")
            self.assertEqual(st, 200)
        finally:
            self.assertEqual(f.stop(), 0)


class AfterCompletionTest(unittest.TestCase):
    """Changes to completed orders (issue 13): row edits, addresses, credit invoices, returns,
    product deletion, late payment without a webhook (docs/fakes-ccvshop.md)."""

    @classmethod
    def setUpClass(cls):
        cls.f = Fake("--seed", "5", "--shops", "1", "--orders", "5", "--products", "10")

    @classmethod
    def tearDownClass(cls):
        assert cls.f.stop() == 0

    def new_order(self, **kw):
        params = {"case": "nl_b2c", "status": 4, "paid": True}
        params.update(kw)
        st, o = self.f.admin("POST", "/_fake/shops/1/orders", params)
        self.assertEqual(st, 201, o)
        return o

    def test_row_edit_and_address_follow_totals(self):
        o = self.new_order()
        row = o["orderrows"][0]
        before = o["order"]
        st, e = self.f.admin("PATCH", "/_fake/shops/1/orders/%d" % o["id"],
                             {"rows": [{"id": row["id"], "count": row["count"] + 2}],
                              "billingaddress": {"city": "Elders"}})
        self.assertEqual(st, 200, e)
        st, now = self.f.get(1, "orders/%d" % o["id"])
        st, rows = self.f.get(1, "orders/%d/orderrows" % o["id"])
        r = [x for x in rows["items"] if x["id"] == row["id"]][0]
        unit = cents(row["price"]) - cents(row["discount"])
        self.assertEqual(r["count"], row["count"] + 2)
        self.assertEqual(cents(r["total_price"]), unit * (row["count"] + 2))
        incl = bool(before["order_row_taxes_included"])
        delta = 2 * unit
        self.assertEqual(cents(now["total_orderrow_price"]),
                         cents(before["total_orderrow_price"]) + delta)
        tax = line_vat(delta, row["tax"], incl)
        self.assertEqual(cents(now["total_tax"]), cents(before["total_tax"]) + tax)
        self.assertEqual(cents(now["total_price"]),
                         cents(before["total_price"]) + delta + (0 if incl else tax))
        self.assertEqual(now["customer"]["billingaddress"]["city"], "Elders")
        st, bad = self.f.admin("PATCH", "/_fake/shops/1/orders/%d" % o["id"],
                               {"rows": [{"id": 1, "count": 1}]})
        self.assertEqual(st, 400)

    def test_credit_invoices_partial_shipping_amount_full(self):
        o = self.new_order()
        oid, row = o["id"], o["orderrows"][0]
        st, c1 = self.f.admin("POST", "/_fake/shops/1/orders/%d/credit" % oid,
                              {"rows": [{"orderrow_id": row["id"], "count": 1}]})
        self.assertEqual(st, 201, c1)
        self.assertEqual((c1["type"], c1["status"], c1["status_name"]), ("credit", 3, "Reimbursed"))
        incl = bool(o["order"]["order_row_taxes_included"])
        unit = cents(row["price"]) - cents(row["discount"])
        gross = unit + (0 if incl else line_vat(unit, row["tax"], False))
        self.assertEqual(cents(c1["total_price"]), -gross)
        self.assertEqual(c1["ordernumber"], o["order"]["ordernumber"])
        st, c2 = self.f.admin("POST", "/_fake/shops/1/orders/%d/credit" % oid,
                              {"amount": 2.5, "status": "unpaid"})
        self.assertEqual((st, cents(c2["total_price"]), c2["status"]), (201, -250, 2))
        st, c3 = self.f.admin("POST", "/_fake/shops/1/orders/%d/credit" % oid, {"full": True})
        self.assertEqual(cents(c3["total_price"]), -cents(o["order"]["total_price"]))
        st, lst = self.f.get(1, "orders/%d/invoices" % oid)
        self.assertEqual([i["id"] for i in lst["items"]], [c1["id"], c2["id"], c3["id"]])
        st, one = self.f.get(1, "invoices/%d" % c1["id"])
        self.assertEqual(one, c1)
        st, irows = self.f.get(1, "invoices/%d/invoicerows" % c1["id"])
        [ir] = irows["items"]
        self.assertEqual((ir["count"], ir["invoice_id"]), (-1, c1["id"]))
        self.assertTrue(ir["orderrow"]["href"].endswith("/orderrows/%d/" % row["id"]))
        st, by_num = self.f.get(1, "invoices?ordernumber=%d" % o["order"]["ordernumber"])
        self.assertEqual(len(by_num["items"]), 3)
        for body in ({"rows": [{"orderrow_id": row["id"], "count": 999}]}, {"status": "x",
                     "amount": 1}, {}, {"amount": -1}):
            st, e = self.f.admin("POST", "/_fake/shops/1/orders/%d/credit" % oid, body)
            self.assertEqual(st, 400, body)
        st, e = self.f.get(1, "invoices/1")
        self.assertEqual(st, 404)

    def test_returns_and_cancellation(self):
        hooks = Hooks()
        try:
            st, w = self.f.api(1, "POST", "webhooks", {"event": "returns.created",
                                                       "address": hooks.url("/r")})[:2]
            o = self.new_order()
            row = o["orderrows"][0]
            st, r = self.f.admin("POST", "/_fake/shops/1/orders/%d/returns" % o["id"],
                                 {"rows": [{"orderrow_id": row["id"], "count": 1}],
                                  "reason": "Kapot"})
            self.assertEqual(st, 201, r)
            self.assertEqual(r["reason_name"], "Kapot")
            path, hdr, body = hooks.wait()
            self.assertEqual(json.loads(body)["id"], r["id"])
            st, rows = self.f.get(1, "returns/%d/returnrows" % r["id"])
            self.assertEqual(rows["items"][0]["count"], 1)
            st, lst = self.f.get(1, "returns?ordernumber=%d" % o["order"]["ordernumber"])
            self.assertEqual([x["id"] for x in lst["items"]], [r["id"]])
            st, c = self.f.admin("PATCH", "/_fake/shops/1/orders/%d" % o["id"], {"status": 8})
            st, now = self.f.get(1, "orders/%d" % o["id"])
            self.assertEqual(now["status"], 8)
        finally:
            hooks.close()

    def test_late_payment_without_webhook_and_product_deletion(self):
        hooks = Hooks()
        try:
            for ev in ("orders.updated.ispaid", "products.deleted"):
                self.f.api(1, "POST", "webhooks", {"event": ev, "address": hooks.url("/h")})
            o = self.new_order(paid=False, create_date="2025-01-02T10:00:00Z")
            st, p = self.f.admin("PATCH", "/_fake/shops/1/orders/%d" % o["id"],
                                 {"paid": True, "quiet": True})
            self.assertEqual(st, 200)
            st, now = self.f.get(1, "orders/%d" % o["id"])
            self.assertTrue(now["paid"])
            self.assertEqual(now["create_date"], "2025-01-02T10:00:00Z")
            st, prods = self.f.get(1, "products")
            pid = prods["items"][0]["id"]
            st, d = self.f.admin("DELETE", "/_fake/shops/1/products/%d" % pid)
            self.assertEqual((st, d), (200, {"id": pid, "deleted": True}))
            path, hdr, body = hooks.wait()  # only the deletion: the payment was quiet
            self.assertEqual(json.loads(body)["id"], pid)
            self.assertEqual(self.f.get(1, "products/%d" % pid)[0], 404)
            self.assertEqual(self.f.admin("DELETE", "/_fake/shops/1/products/%d" % pid)[0], 404)
        finally:
            hooks.close()


if __name__ == "__main__":
    FAKE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
