#!/usr/bin/env python3
"""After publication (issue 13), through the real extractor, Kafka, PostgreSQL and
ccvshop-fake: an order edited, cancelled or refunded after it was published is published
again with the change (credit invoices embedded with their rows); an order paid weeks after
it was created, outside the re-read window and without a webhook, is found through the watch
list; a deleted product is published as event "deleted". Nothing is published twice.

Usage: test_after_booking.py EXTRACTOR CCVSHOP_FAKE CONNECTOR_ADMIN (run through meson)."""
import os
import sys
import time
import unittest
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.environ.get("TEST_SOURCE_DIR", "."), "tests", "harness"))
import cxtest  # noqa: E402
from test_extractor import Base, Env, wait_for  # noqa: E402


def days_ago(n):
    t = datetime.now(timezone.utc) - timedelta(days=n)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class AfterPublication(Base):
    def test_edit_cancel_refund_late_payment_product_deletion(self):
        fake = self.start_fake("--shops", "1", "--orders", "5", "--products", "5")
        e = Env(fake, 1)  # the tenant books paid orders only
        mk = lambda days, paid: fake.admin("POST", "/shops/1/orders", {  # noqa: E731
            "case": "nl_b2c", "status": 4, "paid": paid, "create_date": days_ago(days)})
        edit, cancel, refund = mk(1, True), mk(1, True), mk(2, True)
        late = mk(40, False)  # beyond the 14-day re-read window
        port = cxtest.free_port()
        self.start_extractor(e.env(CX_EXTRACT_REREAD_DAYS=14, CX_EXTRACT_REREAD_INTERVAL_S=2,
                                   CX_EXTRACT_WATCH_DAYS=120, CX_HTTP_PORT=port,
                                   CX_WEBHOOK_BASE_URL=f"http://127.0.0.1:{port}"))
        ids = {k: str(o["id"]) for k, o in
               (("edit", edit), ("cancel", cancel), ("refund", refund), ("late", late))}

        def of(msgs, key):
            return [m for m in msgs if m["source_id"] == ids[key]]

        msgs = wait_for(lambda: (lambda m: m if all(of(m, k) for k in ("edit", "cancel",
                                                                          "refund")) else None)(
            e.messages()), 60, what="the three paid orders")
        self.assertEqual(of(msgs, "late"), [], "an unpaid order was published")
        wait_for(lambda: cxtest.psql(e.dsn, "SELECT count(*) FROM extract_watch WHERE"
                                     f" order_id = '{ids['late']}'") == "1", 30,
                 what="the unpaid order on the watch list")
        products = wait_for(lambda: e.messages("shop.products"), 60, what="products")
        wait_for(lambda: cxtest.psql(e.dsn, "SELECT count(*) FROM extract_webhooks WHERE"
                                     " event = 'products.deleted'") == "1", 30,
                 what="products.deleted registered")

        # the changes after publication; "quiet": no webhook announces them
        row = edit["orderrows"][0]
        fake.admin("PATCH", f"/shops/1/orders/{ids['edit']}",
                   {"rows": [{"id": row["id"], "count": row["count"] + 1}], "quiet": True})
        fake.admin("PATCH", f"/shops/1/orders/{ids['cancel']}", {"status": 8, "quiet": True})
        rrow = refund["orderrows"][0]
        credit = fake.admin("POST", f"/shops/1/orders/{ids['refund']}/credit",
                            {"rows": [{"orderrow_id": rrow["id"], "count": 1}]})
        fake.admin("PATCH", f"/shops/1/orders/{ids['late']}", {"paid": True, "quiet": True})
        gone = products[0]["source_id"]
        fake.admin("DELETE", f"/shops/1/products/{gone}")

        def settled():
            m = e.messages()
            ok = (len(of(m, "edit")) == 2 and len(of(m, "cancel")) == 2 and
                  len(of(m, "refund")) == 2 and len(of(m, "late")) == 1 and
                  [p for p in e.messages("shop.products") if p["event"] == "deleted"])
            return m if ok else None
        msgs = wait_for(settled, 60, what="the changes published")
        time.sleep(6)  # a few re-read and watch cycles: nothing more may appear
        msgs = e.messages()

        ed = of(msgs, "edit")
        self.assertEqual([m["event"] for m in ed], ["upsert", "upsert"])
        r2 = [r for r in ed[1]["payload"]["orderrows"] if r["id"] == row["id"]][0]
        self.assertEqual(r2["count"], row["count"] + 1)
        self.assertNotEqual(ed[1]["payload"]["total_price"], ed[0]["payload"]["total_price"])

        ca = of(msgs, "cancel")
        self.assertEqual([m["event"] for m in ca], ["upsert", "cancelled"])
        self.assertEqual(ca[1]["payload"]["status"], 8)

        rf = of(msgs, "refund")
        self.assertEqual([m["event"] for m in rf], ["upsert", "upsert"])
        self.assertIsInstance(rf[0]["payload"]["invoices"], dict)  # no credit yet: the href
        [inv] = rf[1]["payload"]["invoices"]
        self.assertEqual((inv["id"], inv["type"], inv["total_price"]),
                         (credit["id"], "credit", credit["total_price"]))
        [irow] = inv["invoicerows"]
        self.assertEqual(irow["count"], -1)
        self.assertTrue(irow["orderrow"]["href"].endswith(f"/orderrows/{rrow['id']}/"))

        [la] = of(msgs, "late")
        self.assertEqual((la["event"], la["payload"]["paid"]), ("upsert", True))
        self.assertEqual(cxtest.psql(e.dsn, "SELECT count(*) FROM extract_watch WHERE"
                                     f" order_id = '{ids['late']}'"), "0",
                         "a published order stays on the watch list")

        dels = [p for p in e.messages("shop.products") if p["event"] == "deleted"]
        self.assertEqual([(p["source_id"], p["payload"]) for p in dels],
                         [(gone, {"id": gone})])
        keys = [(m["source_id"], m["content_hash"]) for m in msgs]
        self.assertEqual(len(keys), len(set(keys)), "a message was published twice")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
