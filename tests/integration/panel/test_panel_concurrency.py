#!/usr/bin/env python3
"""The control panel serves its clients concurrently: a flood of sign-ins (each an Argon2id
hash) and a preview waiting on a slow shop do not stall a plain page request of another
client, and a search that takes too long is stopped by the statement timeout instead of
holding a connection. Bounds are relative to what the same run measures, never fixed."""
import http.server
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402

S = None
FLOOD = 40


class SlowShop:
    """A shop that holds every request until released: the preview waits on it."""

    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.paths = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.paths.append(self.path)
                outer.arrived.set()
                outer.release.wait(120)
                body = b'{"error":"not found"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()


def setUpModule():
    global S
    # One hash slot: the flood queues on it, as it would have queued on the old single thread.
    S = panellib.Stack("t_panel_conc", panel_env={"CX_PANEL_HASH_SLOTS": "1",
                                                  "CX_PANEL_STATEMENT_TIMEOUT_MS": "1500"})


def tearDownModule():
    if S:
        S.stop()


def signed_in(user):
    c = Client(S.base)
    status, obj, _ = c.login(user)
    assert status == 200, obj
    return c


def timed(c, path):
    t0 = time.monotonic()
    status, obj, _, _ = c.request("GET", path)
    return status, obj, time.monotonic() - t0


class Concurrency(unittest.TestCase):
    def test_slow_preview_does_not_stall_others(self):
        shop = SlowShop()
        try:
            sealed = panellib.run(panellib.ADMIN, S.env, "seal", "shop-b",
                                  stdin="shop-b-secret\n").stdout.strip()
            cxtest.psql(S.dsn, f"UPDATE tenants SET shop_base_url = '{shop.url}',"
                        f" shop_secret_sealed = '{sealed}' WHERE id = 'shop-b'")
            owner = signed_in("owner-b")
            other = signed_in("owner-a")
            status, obj, _, _ = owner.request("PUT", "/api/tenants/shop-b/mappings",
                                              panellib.rules("shop-b"))
            self.assertEqual(status, 200, obj)
            answer = {}

            def preview():
                answer["r"] = owner.request("POST", "/api/tenants/shop-b/preview",
                                            {"order_id": "777"})

            t = threading.Thread(target=preview)
            t.start()
            self.assertTrue(shop.arrived.wait(60), "the preview never reached the shop")
            # The preview is now held by the shop; another client's pages still answer.
            for path in ("/api/tenants", "/api/tenants/shop-a", "/api/session"):
                status, obj, _ = timed(other, path)
                self.assertEqual(status, 200, (path, obj))
                self.assertTrue(t.is_alive(), "the preview ended before the page answered")
            status, obj, _ = timed(other, "/api/tenants")
            self.assertEqual([x["tenant"] for x in obj["tenants"]], ["shop-a"])
            # So does the held client's own second connection (a thread per connection).
            status, obj, _ = timed(owner, "/api/tenants/shop-b")
            self.assertEqual(status, 200, obj)
            self.assertEqual(obj["tenant"]["id"], "shop-b")
            self.assertTrue(t.is_alive())
            shop.release.set()
            t.join(60)
            self.assertFalse(t.is_alive())
            status, obj, _, _ = answer["r"]
            self.assertNotEqual(status, 200, obj)
            self.assertIn("777", obj["error"])
            self.assertTrue(shop.paths[0].endswith("orders/777"), shop.paths)
        finally:
            shop.stop()

    def test_sign_in_flood_does_not_stall_others(self):
        plain = signed_in("op")
        status, _, _ = timed(plain, "/api/tenants")
        self.assertEqual(status, 200)
        results = []
        lock = threading.Lock()
        start = threading.Barrier(FLOOD + 1)

        def guess(i):
            c = Client(S.base)
            start.wait()
            st, obj, _ = c.login(f"nobody-{i}", "not-the-password")
            with lock:
                results.append((st, obj["error"] if obj else None))

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(FLOOD)]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.monotonic()
        latencies = []
        # Plain requests for as long as the flood lasts (at least three).
        while len(latencies) < 3 or any(t.is_alive() for t in threads):
            for path in ("/api/tenants", "/"):
                status, obj, took = timed(plain, path)
                self.assertEqual(status, 200, (path, obj))
                latencies.append(took)
            if time.monotonic() - t0 > 120:
                break
        for t in threads:
            t.join(60)
        flood = time.monotonic() - t0
        self.assertEqual(len(results), FLOOD)
        refused = [e for st, e in results if st == 401]
        busy = [e for st, e in results if st == 429]
        self.assertEqual(len(refused) + len(busy), FLOOD, results)
        self.assertTrue(refused and all(e == "wrong user name or password" for e in refused),
                        results)
        self.assertTrue(all("at once" in e for e in busy), busy)
        print(f"{len(latencies)} pages during the flood, slowest {max(latencies):.3f} s; the"
              f" flood took {flood:.3f} s, {len(refused)} hashed", file=sys.stderr)
        # Served one at a time, a page asked for during the flood would wait for the sign-ins
        # queued before it: the flood's length. Concurrently it waits for none of them.
        self.assertLess(max(latencies), flood / 4,
                        f"slowest page {max(latencies):.3f} s during a {flood:.3f} s flood "
                        f"of {FLOOD} sign-ins ({len(refused)} hashed)")

    def test_statement_timeout_stops_a_blocked_search(self):
        c = signed_in("owner-a")
        status, obj, _ = timed(c, "/api/tenants/shop-a/log?q=nothing")
        self.assertEqual(status, 200, obj)
        # Another session holds sync_log locked: the search cannot proceed.
        holder = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", S.dsn, "-c",
                                   "BEGIN; LOCK TABLE sync_log IN ACCESS EXCLUSIVE MODE;"
                                   " SELECT pg_sleep(60); COMMIT;"],
                                  env={**os.environ, "PGAPPNAME": "cx_lock_holder"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while cxtest.psql(S.dsn, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON"
                              " c.oid = l.relation WHERE c.relname = 'sync_log' AND"
                              " l.mode = 'AccessExclusiveLock' AND l.granted") != "1":
                self.assertLess(time.monotonic(), deadline, "the lock was never taken")
                time.sleep(0.05)
            status, obj, took = timed(c, "/api/tenants/shop-a/log?q=nothing")
            self.assertEqual(status, 503, obj)
            self.assertIn("took longer than 1500 ms", obj["error"])
            self.assertNotIn("57014", obj["error"])
            # The request thread's connection went back to the pool in a usable state.
            status, obj, _ = timed(c, "/api/session")
            self.assertEqual(status, 200, obj)
        finally:
            # The server side sleeps on without its client: end it there, releasing the lock.
            cxtest.psql(S.dsn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = 'cx_lock_holder'")
            cxtest.terminate(holder)
        status, obj, _ = timed(c, "/api/tenants/shop-a/log?q=nothing")
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["entries"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
