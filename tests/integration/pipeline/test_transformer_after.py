#!/usr/bin/env python3
"""The transformer daemon after booking (issue 13), against real Kafka and PostgreSQL.

* An order, the same order refunded in part (a credit invoice embedded as the extractor
  publishes it) and its cancellation (event "cancelled") become three order commands with the
  same content_hash, carrying line_keys, shop_revision, refunds, payment (journal from the
  rules' payment_journals), corrections and, for the last, "cancelled": true; the dry run
  predicts the same members.
* A cancelled order that cannot be mapped sends nothing and dead-letters nothing: the sync
  log says so.
* A product deleted in the shop (event "deleted", payload {"id"}) and a deactivated one
  (is_active false) become item_upsert commands with "deactivate": true."""
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import cxtest  # noqa: E402
from orderlib import base_rules, make_order  # noqa: E402
from test_transformer import kcat_produce, kcat_read  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
TENANT = "shop-after"


def envelope(entity, event, sid, payload, n):
    return (TENANT, json.dumps({"v": 1, "tenant": TENANT, "entity": entity, "event": event,
                                "source_id": sid, "trace_id": f"ta-{n}", "payload": payload}))


class TransformerAfterBooking(unittest.TestCase):
    def setUp(self):
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        self.dsn = cxtest.new_database("t_txa")
        subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": self.dsn},
                       check=True, stdout=subprocess.DEVNULL)
        self.prefix = cxtest.unique("txa") + "."
        self.rules = base_rules(tenant=TENANT, payment_journals={
            "iDEAL": {"journal": "20", "clearing_gl": "1105"}})
        cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                    f" shop_secret_sealed) VALUES ('{TENANT}', 'http://127.0.0.1:1', 'pk', 'v1:x')")
        text = json.dumps(self.rules).replace("'", "''")
        cxtest.psql(self.dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                    f" ('{TENANT}', '{text}'::jsonb)")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.kill()

    def dry_run(self, orders):
        path = os.path.join(cxtest.tempfile.mkdtemp(), "rules.json")
        with open(path, "w") as f:
            json.dump(self.rules, f)
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                             input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def test_after_booking_members_cancellation_and_deactivation(self):
        order = make_order(920001, rows=[(2, 12.10, 21), (1, 5.45, 9)], shipping=4.95)
        order["transaction_id"] = "TX-9"
        refunded = json.loads(json.dumps(order))
        refunded["invoices"] = [{
            "id": 70001, "type": "credit", "status": 3, "create_date": "2025-06-10T09:00:00Z",
            "total_shipping": 0, "total_discounts": 0, "paymethod_costs": 0,
            "total_price": -12.1,
            "invoicerows": [{"id": 71001, "invoice_id": 70001, "count": -1, "price": 12.1,
                             "orderrow": {"href": "http://s/api/rest/v1/orderrows/92000100/"}}]}]
        cancelled = json.loads(json.dumps(refunded))
        cancelled["status"] = 8
        never = make_order(920002, rows=[(1, 10, 21)], status=8, completed=False)
        records = [envelope("order", "upsert", "920001", order, 1),
                   envelope("order", "upsert", "920001", refunded, 2),
                   envelope("order", "cancelled", "920001", cancelled, 3),
                   envelope("order", "cancelled", "920002", never, 4),
                   envelope("product", "deleted", "845000001", {"id": "845000001"}, 5),
                   envelope("product", "upsert", "845000002",
                            {"id": 845000002, "name": "Oud model", "productnumber": "OUD-2",
                             "is_active": False, "price": 10, "taxtariff": "normal"}, 6)]
        kcat_produce(self.brokers, self.prefix + "shop.orders", records[:4])
        kcat_produce(self.brokers, self.prefix + "shop.products", records[4:])
        dry = self.dry_run([order, refunded, cancelled])
        self.daemon = cxtest.Daemon(TRANSFORMER, {
            "CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
            "CX_TOPIC_PREFIX": self.prefix, "CX_INSTANCE_ID": "txa-1",
            "CX_RULES_REFRESH_MS": "200"}, name="txa-1").start()
        self.daemon.wait_ready(120)
        deadline = time.time() + 120
        cmds = []
        while time.time() < deadline:
            cmds = [c for _, c in kcat_read(self.brokers, self.prefix + "exact.commands")]
            if len(cmds) >= 5:
                break
            time.sleep(0.5)
        orders = [c for c in cmds if c["source_id"] == "920001"]
        items = {c["source_id"]: c for c in cmds if c["kind"] == "item_upsert"}
        self.assertEqual(len(orders), 3, cmds)
        self.assertEqual(len({c["content_hash"] for c in orders}), 1,
                         "the after-booking members changed content_hash")
        self.assertEqual([c.get("cancelled") for c in orders], [None, None, True])
        for cmd, d in zip(orders, dry):
            for key in ("line_keys", "shop_revision", "refunds", "payment", "corrections"):
                self.assertEqual(cmd[key], d[key], key)
        first, second, third = orders
        self.assertEqual(first["line_keys"], ["row:92000100", "row:92000101", "shipping",
                                              "shipping:2"])
        self.assertEqual(first["refunds"], [])
        self.assertEqual(second["refunds"], [{"id": "70001", "date": "2025-06-10",
                                              "lines": [{"key": "row:92000100",
                                                         "quantity": 1}],
                                              "gross": 12.1, "paid": True, "method": "iDEAL"}])
        self.assertEqual(first["payment"], {"paid": True, "method": "iDEAL",
                                            "date": "2025-06-01", "amount": 34.6,
                                            "reference": "TX-9", "journal": "20",
                                            "clearing_gl": "1105"})
        self.assertEqual(third["corrections"], "auto")
        self.assertEqual(third["shop_revision"], first["shop_revision"])
        # sales orders (book_as salesorder): the booked order is cancelled in Exact
        self.assertEqual([(a["kind"], a["source_id"]) for a in dry[2]["after_booking"]],
                         [("cancel", "920001")])
        self.assertFalse([c for c in cmds if c["source_id"] == "920002"])
        self.assertEqual(items["845000001"]["deactivate"], True)
        self.assertEqual(items["845000001"]["items"], [{"Code": "P845000001",
                                                        "IsSalesItem": False}])
        self.assertEqual(items["845000002"]["deactivate"], True)
        self.assertEqual(items["845000002"]["items"][0]["Code"], "OUD-2")
        self.assertIs(items["845000002"]["items"][0]["IsSalesItem"], False)
        self.assertEqual(kcat_read(self.brokers, self.prefix + "dead.letters"), [])
        log = cxtest.psql(self.dsn, "SELECT source_id || '|' || status || '|' || message FROM"
                          f" sync_log WHERE tenant_id = '{TENANT}' AND stage = 'transform'"
                          " AND entity = 'order' ORDER BY id")
        lines = [l.split("|", 2) for l in log.splitlines()]
        self.assertIn(["920001", "ok", "order cancelled in the shop: sent to be credited (the"
                       " loader credits it only if it was booked)"], lines)
        never_line = [l for l in lines if l[0] == "920002"]
        self.assertEqual(len(never_line), 1, lines)
        self.assertEqual(never_line[0][1], "info")
        self.assertIn("cannot be mapped (order is not completed)", never_line[0][2])


if __name__ == "__main__":
    unittest.main(verbosity=2)
