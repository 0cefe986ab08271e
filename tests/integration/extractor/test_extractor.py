#!/usr/bin/env python3
"""The extractor against ccvshop-fake, the real Kafka broker and PostgreSQL.

Usage: test_extractor.py EXTRACTOR CCVSHOP_FAKE CONNECTOR_ADMIN (run through meson).
Every bookable order is published exactly once per change; kill -9 loses nothing; a webhook
is published within a second; a throttled tenant does not hold up the others; two instances
share the tenants through leases and one takes over when the other dies."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("TEST_SOURCE_DIR", "."), "tests", "harness"))
import cxtest  # noqa: E402

EXTRACTOR, FAKE, ADMIN = sys.argv[1:4] if len(sys.argv) >= 4 else (None, None, None)
SECRET_KEY = "0123456789abcdef" * 4


class Fake:
    """ccvshop-fake as a child process."""

    def __init__(self, *args):
        self.args = ["--minute", "1", *args]
        self.proc = subprocess.Popen([FAKE, "--listen", "127.0.0.1:0", *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("ccvshop-fake did not start")
        self.url = json.loads(line)["listen"]

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/_fake" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read().decode())

    def shops(self):
        return self.admin("GET", "/shops")["shops"]

    def dump_orders(self):
        out = subprocess.run([FAKE, "--dump-orders", *self.args], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def stop(self):
        cxtest.terminate(self.proc)


def bookable(order):
    return (order.get("is_completed") is True and order.get("paid") is True
            and order.get("status") not in (None, 0, 8))


class Env:
    """A database with tenants for the fake's shops, a topic prefix, extractor settings."""

    def __init__(self, fake, n_tenants, secrets=None):
        self.fake = fake
        self.dsn = cxtest.new_database("t_extract")
        subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": self.dsn}, check=True,
                       stdout=subprocess.DEVNULL)
        self.prefix = cxtest.unique("x")
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        for shop in fake.shops()[:n_tenants]:
            tenant = f"t{shop['n']}"
            secret = (secrets or {}).get(tenant, shop["secret"])
            sealed = subprocess.run([ADMIN, "seal", tenant], input=secret,
                                    env={**os.environ, "CX_SECRET_KEY": SECRET_KEY}, check=True,
                                    stdout=subprocess.PIPE, text=True).stdout.strip()
            base = shop["base_url"].split("/api/rest/v1")[0]
            # bookable() below is "paid"; new tenants book unpaid orders too (migration 0010)
            cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                        " shop_secret_sealed, bookable_require_paid) VALUES"
                        f" ('{tenant}', '{base}',"
                        f" '{shop['public_key'].replace(chr(39), chr(39) * 2)}', '{sealed}', true)")

    def env(self, **extra):
        env = {"CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
               "CX_TOPIC_PREFIX": self.prefix, "CX_SECRET_KEY": SECRET_KEY,
               "CX_EXTRACT_RATE_WINDOW_S": "1", "CX_EXTRACT_ORDERS_INTERVAL_S": "1",
               "CX_EXTRACT_PRODUCTS_INTERVAL_S": "2", "CX_EXTRACT_USERS_INTERVAL_S": "5",
               "CX_EXTRACT_REREAD_INTERVAL_S": "2", "CX_EXTRACT_REREAD_DAYS": "3650",
               "CX_EXTRACT_TENANT_REFRESH_S": "1", "CX_EXTRACT_LEASE_S": "3",
               "CX_EXTRACT_BACKOFF_MAX_S": "2", "CX_STARTUP_TIMEOUT": "30"}
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def messages(self, topic="shop.orders"):
        p = subprocess.run(["kcat", "-b", self.brokers, "-C", "-t", f"{self.prefix}{topic}",
                            "-e", "-J", "-q", "-X", "isolation.level=read_committed"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            return []
        out = []
        for line in p.stdout.splitlines():
            rec = json.loads(line)
            env = json.loads(rec["payload"])
            env["_key"] = rec["key"]
            env["_ts"] = rec.get("ts", 0) / 1000.0
            out.append(env)
        return out


def wait_for(pred, timeout, step=0.5, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def expected_ids(orders, shop_n):
    return {str(o["id"]) for o in orders if o["shop"] == shop_n and bookable(o)}


def published(msgs, tenant, event="upsert"):
    return [m for m in msgs if m["tenant"] == tenant and m["event"] == event]


class Base(unittest.TestCase):
    def start_fake(self, *args):
        fake = Fake(*args)
        self.addCleanup(fake.stop)
        return fake

    def start_extractor(self, env, name="extractor"):
        d = cxtest.Daemon(EXTRACTOR, env, name=name).start()
        self.addCleanup(d.kill)
        d.wait_ready(60)
        return d

    def assert_all_once(self, e, orders, tenants, timeout):
        def done():
            msgs = e.messages()
            return all(expected_ids(orders, n) <= {m["source_id"] for m in
                                                   published(msgs, f"t{n}")}
                       for n in tenants) and msgs
        msgs = wait_for(done, timeout, what="every bookable order on the topic")
        for n in tenants:
            ids = [m["source_id"] for m in published(msgs, f"t{n}")]
            self.assertEqual(len(ids), len(set(ids)), f"t{n}: an order was published twice")
            self.assertEqual(set(ids), expected_ids(orders, n), f"t{n}: wrong set of orders")
        return msgs


class ThreeTenants(Base):
    """3 tenants x 500 orders, webhooks registered; the tests run in name order."""

    @classmethod
    def setUpClass(cls):
        cls.fake = Fake("--shops", "3", "--orders", "500", "--products", "30")
        try:
            cls.e = Env(cls.fake, 3)
            cls.orders = cls.fake.dump_orders()
            port = cxtest.free_port()
            # new orders are polled only every 30 s here, so a fast one came by webhook
            env = cls.e.env(CX_HTTP_PORT=port, CX_WEBHOOK_BASE_URL=f"http://127.0.0.1:{port}",
                            CX_EXTRACT_ORDERS_INTERVAL_S=30, CX_EXTRACT_REREAD_INTERVAL_S=3)
            cls.d = cxtest.Daemon(EXTRACTOR, env).start()
            cls.d.wait_ready(60)
        except BaseException:
            cls.fake.stop()
            if getattr(cls, "d", None):
                cls.d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop(timeout=15)
        cls.fake.stop()
        assert rc == 0, cls.d.output()[-3000:]
        owners = cxtest.psql(cls.e.dsn, "SELECT count(*) FROM extract_leases WHERE owner IS"
                             " NOT NULL")
        assert owners == "0", "leases not released on SIGTERM"

    def test_a_every_bookable_order_once(self):
        msgs = self.assert_all_once(self.e, self.orders, [1, 2, 3], 90)
        m = msgs[0]
        for k in ("v", "tenant", "entity", "event", "source_id", "content_hash", "extracted_at",
                  "trace_id", "payload"):
            self.assertIn(k, m)
        self.assertEqual(m["_key"], m["tenant"])
        self.assertEqual(m["entity"], "order")
        self.assertIsInstance(m["payload"]["orderrows"], list)
        self.assertGreater(len(m["payload"]["orderrows"]), 0)
        dumped = {str(o["id"]): o for o in self.orders}
        src = dumped[m["source_id"]]
        self.assertEqual(len(m["payload"]["orderrows"]), len(src["orderrows"]))
        self.assertEqual(m["payload"]["total_price"], src["total_price"])
        # webhooks were registered once per tenant and recorded
        wait_for(lambda: cxtest.psql(self.e.dsn, "SELECT count(DISTINCT tenant_id) FROM"
                                     " extract_webhooks") == "3", 20, what="webhooks recorded")
        # products and customers flow too, each resource once
        for topic in ("shop.products", "shop.customers"):
            got = wait_for(lambda t=topic: self.e.messages(t), 30, what=topic)
            keys = [(x["tenant"], x["source_id"], x["content_hash"]) for x in got]
            self.assertEqual(len(keys), len(set(keys)), f"{topic}: duplicate content")
        guests = [x for x in self.e.messages("shop.customers") if x["payload"].get("guest")]
        self.assertTrue(guests, "no guest customer published")
        ok = cxtest.psql(self.e.dsn, "SELECT count(*) FROM sync_log WHERE stage = 'extract'"
                         " AND status = 'ok' AND entity = 'order'")
        self.assertGreater(int(ok), 0)

    def test_b_status_change_published_once_more(self):
        before = self.e.messages()
        target = next(m for m in before if m["tenant"] == "t2" and
                      m["payload"]["status"] != 6)
        oid = target["source_id"]
        self.fake.admin("PATCH", f"/shops/2/orders/{oid}", {"status": 6})
        cancel = next(m for m in before if m["tenant"] == "t3")
        self.fake.admin("PATCH", f"/shops/3/orders/{cancel['source_id']}", {"status": 8})

        def changed():
            msgs = self.e.messages()
            a = [m for m in msgs if m["tenant"] == "t2" and m["source_id"] == oid]
            c = [m for m in msgs if m["tenant"] == "t3" and m["source_id"] == cancel["source_id"]]
            return (a, c) if len(a) >= 2 and len(c) >= 2 else None
        a, c = wait_for(changed, 15, what="the status change")
        # let a few re-read cycles pass: nothing more may appear
        time.sleep(5)
        msgs = self.e.messages()
        a = [m for m in msgs if m["tenant"] == "t2" and m["source_id"] == oid]
        c = [m for m in msgs if m["tenant"] == "t3" and m["source_id"] == cancel["source_id"]]
        self.assertEqual(len(a), 2, "status change not published exactly once more")
        self.assertEqual(a[1]["payload"]["status"], 6)
        self.assertEqual(a[1]["event"], "upsert")
        self.assertEqual([m["event"] for m in c], ["upsert", "cancelled"])

    def test_c_webhook_announced_order_within_a_second(self):
        for shop in (1, 3):
            t0 = time.time()
            made = self.fake.admin("POST", f"/shops/{shop}/orders", {"paid": True, "status": 7})
            oid = str(made["id"])
            got = wait_for(lambda: [m for m in self.e.messages() if m["source_id"] == oid], 5,
                           0.05, what="the webhook-announced order")
            # the broker's timestamp of the message, not when this poll happened to see it
            self.assertLess(got[0]["_ts"] - t0, 1.0, "not published within a second")
            self.assertTrue(any(ev.get("event") == "hint.fetched" and ev.get("source_id") == oid
                                for ev in self.d.log_events()), "not fetched after the webhook")

    def test_d_unchanged_reread_not_published(self):
        count = len(self.e.messages())
        # re-read interval is 3 s: full re-reads of all 1,500 orders happen here
        time.sleep(7)
        self.assertEqual(len(self.e.messages()), count)
        reread = cxtest.psql(self.e.dsn, "SELECT count(*) FROM extract_hashes WHERE entity ="
                             " 'order'")
        self.assertGreater(int(reread), 0)
        metrics = cxtest.http("GET", self.d.metrics_url())[1]
        self.assertIn("cx_extractor_requests_total", metrics)
        self.assertIn("cx_extractor_lag_seconds", metrics)


class Crash(Base):
    def test_kill_9_mid_run_loses_nothing(self):
        fake = self.start_fake("--shops", "1", "--orders", "600", "--seed", "7")
        e = Env(fake, 1)
        orders = fake.dump_orders()
        # 10 order-row reads a second: the whole run takes over 30 s, so the kill lands
        # mid-run however slowly this machine reads the topic back
        env = e.env(CX_EXTRACT_GET_LIMIT=10, CX_EXTRACT_PAGE_SIZE=20)
        d = self.start_extractor(env)
        wait_for(lambda: len(e.messages()) > 60, 30, 0.2, what="a first part of the orders")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        got = {m["source_id"] for m in e.messages()}
        self.assertLess(len(got), len(expected_ids(orders, 1)), "run finished before the kill")
        self.start_extractor(env, name="extractor-restarted")
        wait_for(lambda: expected_ids(orders, 1) <= {m["source_id"] for m in e.messages()},
                 120, what="every order after the restart")


class Throttled(Base):
    def test_429_one_tenant_others_flow_then_catch_up(self):
        fake = self.start_fake("--shops", "3", "--orders", "150", "--seed", "11")
        e = Env(fake, 3)
        orders = fake.dump_orders()
        fake.admin("POST", "/shops/1/throttle", {"seconds": 6})
        t0 = time.time()
        d = self.start_extractor(e.env())
        wait_for(lambda: all(expected_ids(orders, n) <= {m["source_id"] for m in
                                                          published(e.messages(), f"t{n}")}
                             for n in (2, 3)), 30, what="the unthrottled tenants")
        if time.time() - t0 < 5:
            self.assertEqual(published(e.messages(), "t1"), [],
                             "throttled tenant published while the shop answered 429")
        self.assert_all_once(e, orders, [1, 2, 3], 40)
        metrics = cxtest.http("GET", d.metrics_url())[1]
        self.assertRegex(metrics, r'cx_extractor_throttled_total\{tenant="t1"\} [1-9]')
        failed = cxtest.psql(e.dsn, "SELECT count(*) FROM sync_log WHERE tenant_id = 't1'"
                             " AND status = 'failed'")
        self.assertEqual(failed, "0", "a 429 is a wait, not a failure")
        self.assertEqual(d.stop(timeout=15), 0, d.output()[-3000:])


class BadInput(Base):
    def test_bad_response_signature_is_an_error_not_data(self):
        # the fake skips request checks but signs its answers with the shop's real secret:
        # t1's sealed secret is wrong, so every answer it gets fails verification
        fake = self.start_fake("--shops", "2", "--orders", "40", "--seed", "3", "--no-auth")
        e = Env(fake, 2, secrets={"t1": "not-the-secret"})
        orders = fake.dump_orders()
        d = self.start_extractor(e.env())
        self.assert_all_once(e, orders, [2], 30)
        wait_for(lambda: int(cxtest.psql(e.dsn, "SELECT count(*) FROM sync_log WHERE tenant_id ="
                                         " 't1' AND status = 'failed' AND message LIKE"
                                         " '%signature%'")) > 0, 15, what="sync-log failure")
        self.assertEqual(published(e.messages(), "t1"), [])
        self.assertEqual(e.messages("shop.products") and
                         [m for m in e.messages("shop.products") if m["tenant"] == "t1"], [])
        self.assertTrue(any(ev.get("event") == "extract.failed" and ev.get("tenant") == "t1"
                            for ev in d.log_events()))
        # fixing the tenant row takes effect without a restart
        right = next(s["secret"] for s in fake.shops() if s["n"] == 1)
        sealed = subprocess.run([ADMIN, "seal", "t1"], input=right,
                                env={**os.environ, "CX_SECRET_KEY": SECRET_KEY}, check=True,
                                stdout=subprocess.PIPE, text=True).stdout.strip()
        cxtest.psql(e.dsn, f"UPDATE tenants SET shop_secret_sealed = '{sealed}' WHERE id = 't1'")
        self.assert_all_once(e, orders, [1, 2], 30)
        # so does disabling one: its lease is given back
        cxtest.psql(e.dsn, "UPDATE tenants SET enabled = false WHERE id = 't2'")
        wait_for(lambda: cxtest.psql(e.dsn, "SELECT count(*) FROM extract_leases WHERE tenant_id"
                                     " = 't2' AND owner IS NOT NULL") == "0", 10,
                 what="the disabled tenant's lease released")
        self.assertEqual(d.stop(timeout=15), 0, d.output()[-3000:])


class TwoInstances(Base):
    def test_leases_shared_and_taken_over(self):
        fake = self.start_fake("--shops", "6", "--orders", "80", "--seed", "5")
        e = Env(fake, 6)
        orders = fake.dump_orders()
        a = cxtest.Daemon(EXTRACTOR, e.env(CX_INSTANCE_ID="ext-a"), name="ext-a").start()
        b = cxtest.Daemon(EXTRACTOR, e.env(CX_INSTANCE_ID="ext-b"), name="ext-b").start()
        self.addCleanup(a.kill)
        self.addCleanup(b.kill)
        a.wait_ready(60)
        b.wait_ready(60)
        self.assert_all_once(e, orders, range(1, 7), 60)
        split = "SELECT owner || '|' || count(*) FROM extract_leases GROUP BY owner ORDER BY 1"
        wait_for(lambda: cxtest.psql(e.dsn, split) == "ext-a|3\next-b|3", 20,
                 what="the tenants split 3/3 between the instances")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        new = {}
        for shop in range(1, 7):
            made = fake.admin("POST", f"/shops/{shop}/orders", {"paid": True, "status": 7})
            new[f"t{shop}"] = str(made["id"])
        wait_for(lambda: all(any(m["tenant"] == t and m["source_id"] == oid
                                 for m in e.messages()) for t, oid in new.items()),
                 30, what="new orders of every tenant after the kill")
        self.assertEqual(cxtest.psql(e.dsn, "SELECT DISTINCT owner FROM extract_leases"), "ext-b")
        ids = [(m["tenant"], m["source_id"]) for m in e.messages() if m["event"] == "upsert"]
        self.assertEqual(len(ids), len(set(ids)), "an order was published twice")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
