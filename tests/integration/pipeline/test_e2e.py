#!/usr/bin/env python3
"""The whole pipeline against both fakes, on the shared Kafka broker and PostgreSQL:
generated shops sync completely, exactly once and to the cent; then live traffic — a new
order announced by webhook, a status change of a booked order, a product price change —
reaches Exact as the shop owner expects, still without a single duplicate."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
from stack import Stack  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(BUILD, tenants=3, orders=int(os.environ.get("TEST_E2E_ORDERS", "30")),
                          products=10, seed=77, exact_args=("--minute", "6"))
        try:
            cls.stack.start()
            cls.expected = cls.stack.expected()
        except Exception:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def wait(self, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.5)
        self.fail(f"timed out after {timeout}s waiting for {what}")

    def test_1_initial_sync_exactly_once_to_the_cent(self):
        self.stack.wait_synced(self.expected, timeout=300)
        per, totals = self.stack.report(self.expected)
        for key in ("duplicates", "missing", "wrong_totals", "duplicate_accounts",
                    "duplicate_items", "http_429"):
            self.assertEqual(totals[key], 0, (key, per))
        want_docs = sum(len(e["ok"]) for e in self.expected.values())
        want_failed = sum(len(e["failed"]) for e in self.expected.values())
        self.assertEqual(totals["documents_created"], want_docs)
        self.assertEqual(totals["failures"], want_failed, per)
        for row in per:
            for f in row["failures"]:
                exp = self.expected[row["tenant"]]["failed"][str(f["source_id"])]
                self.assertEqual(f["reason"], exp)  # the reason the dry run gives

    def test_2_live_order_status_change_and_product_change(self):
        self.stack.wait_synced(self.expected, timeout=300)
        t = self.stack.tenants[0]
        before = len(self.stack.documents(t))
        # A new paid order, announced by the shop's webhook.
        status, created = self.stack.ccv.call("POST", f"/_fake/shops/{t['shop']['n']}/orders",
                                              {"case": "nl_b2c", "status": 7, "paid": True})
        self.assertEqual(status, 201, created)
        ref = created["order"]["ordernumber_full"] or str(created["order"]["ordernumber"])
        docs = self.wait(lambda: [d for d in self.stack.documents(t) if d["YourRef"] == ref],
                         60, f"order {ref} in Exact")
        self.assertEqual(len(docs), 1)
        self.assertAlmostEqual(float(docs[0]["AmountDC"]),
                               float(created["order"]["total_price"]), places=2)
        # A status change is published again, but the order is already booked: no second one.
        oid = created["order"]["id"]
        status, _ = self.stack.ccv.call("PATCH", f"/_fake/shops/{t['shop']['n']}/orders/{oid}",
                                        {"status": 5})
        self.assertEqual(status, 200)
        time.sleep(8)
        docs = [d for d in self.stack.documents(t) if d["YourRef"] == ref]
        self.assertEqual(len(docs), 1, "a status change must not book the order twice")
        self.assertEqual(len(self.stack.documents(t)), before + 1)
        # A product price change reaches the item in Exact.
        items = self.stack.exact.entities(t["division"], "Items")
        status, products = self.stack.ccv.call(
            "POST", f"/_fake/shops/{t['shop']['n']}/products", {"name": "Nieuw boek",
                                                                "price": 19.95})
        self.assertEqual(status, 201, products)
        pid = products["id"]
        status, _ = self.stack.ccv.call("PATCH",
                                        f"/_fake/shops/{t['shop']['n']}/products/{pid}",
                                        {"price": 24.5, "name": "Nieuw boek (2e druk)"})
        self.assertEqual(status, 200)

        def updated():
            now = self.stack.exact.entities(t["division"], "Items")
            hit = [i for i in now if i.get("Description") == "Nieuw boek (2e druk)"]
            return hit if hit and len(now) == len(items) + 1 else None
        hit = self.wait(updated, 60, "the changed product in Exact")
        self.assertEqual(len(hit), 1)
        _, totals = self.stack.report(self.expected)
        self.assertEqual(totals["duplicate_items"], 0)
        self.assertEqual(totals["duplicates"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
