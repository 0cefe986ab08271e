#!/usr/bin/env python3
"""The extractor under faults the main test never opens (issue 16).

Usage: test_extractor_faults.py EXTRACTOR CCVSHOP_FAKE CONNECTOR_ADMIN (run through meson).
- a webhook flood (unsigned, wrongly signed, and signed random ids) is refused or bounded,
  the tenant's orders still sync, and an unknown tenant gets the same answer as a bad
  signature;
- many orders sharing one create date across page boundaries, with the fake giving ties a
  different order on every request: every order once;
- a slice slower than its lease: the lease is renewed within the slice, the second instance
  never starts the same tenant, nothing is published twice."""
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.environ.get("TEST_SOURCE_DIR", "."), "tests", "harness"))
import cxtest  # noqa: E402
import test_extractor as tx  # noqa: E402


def ccv_get(shop, path):
    """A signed GET on the fake's API (spec 1.2), for what a shop owner could look up."""
    uri = urllib.parse.urlparse(shop["base_url"]).path + path
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = f"{shop['public_key']}|GET|{uri}||{date}"
    sig = hmac.new(shop["secret"].encode(), text.encode(), hashlib.sha512).hexdigest()
    req = urllib.request.Request(shop["base_url"] + path, headers={
        "x-public": shop["public_key"], "x-date": date, "x-hash": sig})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())


def deliver(url, body, key=None, address=None):
    """POST a webhook delivery; signed like the shop signs them when key is given."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-hash"] = hmac.new(key.encode(), (address or url).encode() + b"|" + data,
                                     hashlib.sha512).hexdigest()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def hints(e, tenant="t1"):
    return int(cxtest.psql(e.dsn, f"SELECT count(*) FROM extract_hints WHERE tenant_id ="
                           f" '{tenant}'"))


class WebhookFlood(tx.Base):
    CAP = 25

    def test_flood_refused_bounded_and_sync_goes_on(self):
        fake = self.start_fake("--shops", "1", "--orders", "60", "--seed", "21")
        e = tx.Env(fake, 1)
        orders = fake.dump_orders()
        port = cxtest.free_port()
        base = f"http://127.0.0.1:{port}"
        d = self.start_extractor(e.env(CX_HTTP_PORT=port, CX_WEBHOOK_BASE_URL=base,
                                       CX_EXTRACT_HINTS_MAX=self.CAP,
                                       CX_EXTRACT_ORDERS_INTERVAL_S=2))
        tx.wait_for(lambda: cxtest.psql(e.dsn, "SELECT count(*) FROM extract_webhooks") == "6",
                    30, what="webhooks registered")
        shop = fake.shops()[0]
        hooks = ccv_get(shop, "webhooks")["items"]
        self.assertEqual(len(hooks), 6)
        key, address = hooks[0]["key"], hooks[0]["address"]
        rng = random.Random(16)
        url = f"{base}/webhooks/t1"

        def body():
            oid = rng.randrange(10**8, 10**9)
            return {"href": f"{shop['base_url']}orders/{oid}", "id": oid}
        # unsigned and wrongly signed: refused, nothing stored
        refused = set()
        for i in range(150):
            refused.add(deliver(url, body(), None if i % 2 else "not-the-key", address))
        self.assertEqual(hints(e), 0, "unauthenticated deliveries were stored as hints")
        self.assertEqual(len({s for s, _ in refused}), 1, refused)
        status = next(iter(refused))[0]
        self.assertGreaterEqual(status, 400)
        # an unknown tenant gets exactly the same answers: no way to tell which ids exist
        for i in range(20):
            got = deliver(f"{base}/webhooks/nosuch{i}", body(), None if i % 2 else key,
                          f"{base}/webhooks/nosuch{i}")
            self.assertIn(got, refused, "an unknown tenant is answered differently")
        got = deliver(f"{base}/webhooks/t1", body(), key, f"{base}/webhooks/other")
        self.assertIn(got, refused, "a delivery signed for another address was accepted")
        # signed, duplicated and random: bounded by the cap, duplicates collapse
        peak = 0
        for i in range(200):
            b = body() if i % 3 else {"href": f"{shop['base_url']}orders/777", "id": 777}
            st, _ = deliver(url, b, key, address)
            self.assertEqual(st, 200)
            if i % 20 == 0:
                peak = max(peak, hints(e))
        peak = max(peak, hints(e))
        self.assertLessEqual(peak, self.CAP, "extract_hints grew beyond the cap")
        # the tenant's own orders still sync while the flood's hints are worked off
        tx.Base.assert_all_once(self, e, orders, [1], 60)
        made = fake.admin("POST", "/shops/1/orders", {"paid": True, "status": 7})
        oid = str(made["id"])
        tx.wait_for(lambda: any(m["source_id"] == oid for m in e.messages()), 30,
                    what="a new order after the flood")
        self.assertLessEqual(hints(e), self.CAP)
        # a key the operator set for webhooks made by hand in the shop is accepted too
        hand = "hand-made-key-!^*"
        self.assertIn(deliver(url, {"href": f"{shop['base_url']}orders/{oid}", "id": oid},
                              hand, url), refused, "a key nobody set was accepted")
        subprocess.run([tx.ADMIN, "tenants", "set-credentials", "t1", "--webhook-key-file", "-"],
                       input=hand, text=True, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "CX_PG_DSN": e.dsn, "CX_SECRET_KEY": tx.SECRET_KEY})
        self.assertEqual(deliver(url, {"href": f"{shop['base_url']}orders/{oid}", "id": oid},
                                 hand, url), (200, '{"status":"queued"}'))
        ids = [m["source_id"] for m in tx.published(e.messages(), "t1")]
        self.assertEqual(len(ids), len(set(ids)), "an order was published twice")
        self.assertEqual(d.stop(timeout=15), 0, d.output()[-3000:])


class PageTies(tx.Base):
    def test_ties_at_page_boundaries_none_missed_none_doubled(self):
        fake = self.start_fake("--shops", "1", "--orders", "0", "--seed", "22")
        e = tx.Env(fake, 1)
        made = []
        for group in ("2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z", "2025-03-01T12:00:00Z"):
            for _ in range(13):
                made.append(str(fake.admin("POST", "/shops/1/orders", {
                    "paid": True, "status": 7, "create_date": group})["id"]))
        # page size 5: every group of 13 straddles page boundaries; no re-read window, so
        # only the pass over new orders can find them
        self.start_extractor(e.env(CX_EXTRACT_PAGE_SIZE=5, CX_EXTRACT_REREAD_DAYS=0))
        tx.wait_for(lambda: len(e.messages()) >= len(made), 30, what="the orders")
        time.sleep(4)  # a few more passes over the last group
        ids = [m["source_id"] for m in tx.published(e.messages(), "t1")]
        self.assertEqual(len(ids), len(set(ids)), "an order was published twice")
        self.assertEqual(set(ids), set(made), "orders missed at a page boundary")


class SlowSlice(tx.Base):
    def test_slice_slower_than_lease_keeps_one_owner(self):
        # 400 ms a request, 25 orders a page (about half of them bookable, each with its rows
        # read): a slice takes over 5 s, the lease is 3 s
        fake = self.start_fake("--shops", "1", "--orders", "50", "--seed", "23",
                               "--latency-ms", "400", "--threads", "4")
        e = tx.Env(fake, 1)
        orders = fake.dump_orders()
        env = dict(CX_EXTRACT_PAGE_SIZE=25, CX_EXTRACT_LEASE_S=3, CX_EXTRACT_REREAD_DAYS=0,
                   CX_EXTRACT_USERS_INTERVAL_S=3600, CX_EXTRACT_PRODUCTS_INTERVAL_S=3600)
        a = self.start_extractor(e.env(CX_INSTANCE_ID="slow-a", **env), name="slow-a")
        b = self.start_extractor(e.env(CX_INSTANCE_ID="slow-b", **env), name="slow-b")
        tx.Base.assert_all_once(self, e, orders, [1], 120)
        takers = [d.name for d in (a, b) for ev in d.log_events()
                  if ev.get("event") == "lease.acquired" and ev.get("tenant") == "t1"]
        self.assertEqual(len(takers), 1, f"two instances worked on t1: {takers}")
        lost = cxtest.psql(e.dsn, "SELECT count(*) FROM sync_log WHERE message LIKE"
                           " '%lease lost%'")
        self.assertEqual(lost, "0", "a slice ran on after its lease was lost")
        msgs = e.messages()
        keys = [(m["source_id"], m["content_hash"]) for m in msgs]
        self.assertEqual(len(keys), len(set(keys)), "the same content was published twice")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[4:], verbosity=2)
