"""Faults that could double a document in Exact, one per test, each with short timeouts so it
runs in seconds (docs/reliability.md, "Loader and Exact"):

* a slow Exact: the order's POST is still being worked on when the loader gives up, and is
  committed seconds later, while look-ups answer at once: the order is booked once;
* a lost tenant lock: the session of the loader holding a tenant ends (pg_terminate_backend)
  while it waits for a look-up, and a second loader takes the tenant: booked once, and a
  loader whose fencing token was raised meanwhile writes nothing;
* a switch between orders and invoices: an order booked as a sales order and republished
  after the tenant switched to invoices is not booked again; a new order is an invoice;
* a keep-alive connection that the server closes after taking a POST, unanswered: libcurl
  must not send the POST again (one order, found by the look-up after the doubt);
* an item or account POSTed when Exact has its code already (a resent POST whose first
  answer was lost, or one created since the look-up): "400 Already exists: Code" makes the
  loader look it up by its code and use it, not dead-letter the order.

Every test reads what Exact holds back from exact-fake (the order's YourRef, its amount)."""
import json
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import loaderlib as L  # noqa: E402

SHIP = {"Type": 4, "AddressLine1": "Keizersgracht 12A", "Postcode": "1015 CX",
        "City": "Amsterdam", "Country": "NL"}


class Faults(L.LoaderCase):
    def setUp(self):
        super().setUp()
        self.env = L.new_env("ldf")
        # a thread per connection: a held write delays no look-up on another connection
        self.fake = L.Fake("--threads", "0", "--no-limits")
        self.tenants = L.add_tenants(self.env, self.fake, 1)
        self.div = self.tenants["t00"]
        self.rng = random.Random(16)

    def command(self, n, invoice=False, ship=False):
        """Order n of t00: always account 101 and item SKU-1, so that after order 1 only the
        document (and a ship-to) is written."""
        c = L.order_command("t00", n, self.rng, customers=1, items=1, invoice=invoice)
        if ship:
            c["body"]["DeliveryAddress"] = dict(SHIP)
            c["body"]["DeliverTo"] = c["account"]["Code"]
        return c

    def produce(self, *cmds):
        L.produce(self.env, [("t00", json.dumps(c)) for c in cmds])

    def sql(self, q):
        return L.psql(self.env["CX_PG_DSN"], q).strip()

    def logged(self, source_id, n=1):
        """Wait until @n load results of @source_id are in the sync log; returns them."""
        q = ("SELECT status || ' ' || entity FROM sync_log WHERE stage = 'load' AND "
             f"source_id = '{source_id}' AND status IN ('ok', 'skipped', 'failed') ORDER BY id")
        ok = L.wait_until(lambda: len(self.sql(q).splitlines()) >= n, 90, 0.3)
        self.assertTrue(ok, f"order {source_id} not loaded:\n" + self.logs_of_failure())
        return self.sql(q).splitlines()

    def docs(self, yourref, etype="SalesOrders"):
        return [d for d in L.booked(self.fake, self.div, etype) if d["YourRef"] == yourref]

    def first_order(self, **extra):
        """Order 1 books the account and the item, with no fault."""
        self.loaders = L.start_loaders(self.env, 1, CX_LOADER_WORKERS=1, **extra)
        first = self.command(1)
        self.produce(first)
        self.assertEqual(self.logged("1"), ["ok sales_order"])
        return first

    def test_slow_write_is_looked_up_not_posted_again(self):
        """The POST is committed 5 s after it arrived; the loader gives up after 2 s and may
        look it up only a 4 s grace after that: found, not posted again."""
        self.first_order(CX_LOADER_HTTP_TIMEOUT_MS=2000, CX_LOADER_DOUBT_GRACE_MS=4000)
        self.fake.post("/_fake/faults", {"division": self.div, "slow_write_ms": 5000,
                                         "slow_writes": 1})
        second = self.command(2)
        self.produce(second)
        self.assertEqual(self.logged("2"), ["ok sales_order"])
        time.sleep(1)
        docs = self.docs("t00-00002")
        self.assertEqual(len(docs), 1, "the slow order was booked twice")
        net = round(sum(x["AmountFC"] for x in docs[0]["SalesOrderLines"]), 2)
        self.assertAlmostEqual(net, second["totals"]["net"], places=2)
        div_stats = self.fake.stats()["divisions"][str(self.div)]
        self.assertEqual(div_stats["faults"]["slow_write"], 1)
        self.assertEqual(div_stats["created"]["SalesOrders"], 2)

    def test_lost_lock_during_takeover(self):
        """Two loaders (two consumer groups: both own the partition, as the old and the new
        owner do during a rebalance). The one holding the tenant looks up the order's new
        item, answered 4 s late (with what Exact held when it asked: no such item);
        meanwhile its database session is killed, so its lock goes, and the other loader
        takes the tenant and books the order. The first must write nothing more: the order
        exists once, with one item and one ship-to, and nothing is dead-lettered. (The item's
        look-up reads the snapshot, refreshed from Exact at every look-up here.)"""
        self.loaders = L.start_loaders(self.env, 1, CX_LOADER_WORKERS=1,
                                       CX_LOADER_HTTP_TIMEOUT_MS=8000,
                                       CX_LOADER_DOUBT_GRACE_MS=1000,
                                       CX_LOADER_SNAPSHOT_REFRESH_S=0)
        self.loaders += [L.cxtest.Daemon(L.LOADER, {**self.env, "CX_INSTANCE_ID": "loader1",
                                                    "CX_LOADER_GROUP": L.cxtest.unique("g"),
                                                    "CX_LOADER_WORKERS": "1",
                                                    "CX_LOADER_HTTP_TIMEOUT_MS": "8000",
                                                    "CX_LOADER_DOUBT_GRACE_MS": "1000",
                                                    "CX_LOADER_SNAPSHOT_REFRESH_S": "0"},
                                         name="loader1").start()]
        self.loaders[1].wait_ready(90)
        self.produce(self.command(1))
        self.assertEqual(sorted(self.logged("1", 2)), ["ok sales_order", "skipped sales_order"])
        self.fake.post("/_fake/faults", {"division": self.div, "slow_write_ms": 4000,
                                         "slow_reads": 1})
        second = self.new_item(self.command(2, ship=True))
        self.produce(second)
        held = L.wait_until(lambda: self.fake.stats()["divisions"][str(self.div)]
                            .get("faults", {}).get("slow_read") == 1, 30, 0.1)
        self.assertTrue(held, "the item was not looked up:\n" + self.logs_of_failure())
        killed = self.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = "
            "current_database())")
        self.assertEqual(killed, "1", "no loader held the tenant")
        results = self.logged("2", 2)
        self.assertEqual(sorted(results), ["ok sales_order", "skipped sales_order"], results)
        time.sleep(1)
        docs = self.docs("t00-00002")
        self.assertEqual(len(docs), 1, "two loaders booked the order")
        addrs = [a for a in L.booked(self.fake, self.div, "Addresses") if a["Type"] == 4]
        self.assertEqual(len(addrs), 1, addrs)
        self.assertEqual(docs[0]["DeliveryAddress"], addrs[0]["ID"])
        self.assertEqual(addrs[0]["City"], "Amsterdam")
        items = [i["Code"] for i in L.booked(self.fake, self.div, "Items")]
        self.assertEqual(sorted(items), ["SKU-1", "SKU-NEW"])
        self.assertEqual(self.sql("SELECT count(*) FROM dead_letters"), "0")

    def test_stale_fencing_token_writes_nothing(self):
        """The loader holds the tenant, and its session lives on, but another loader raised
        the tenant's fencing token (as taking the lock does) while this one waited for a
        look-up (the snapshot's refresh from Exact, due at every look-up here): its next
        intent is refused, nothing is written under the old token, and the order is booked
        once after the loader took the tenant again."""
        self.first_order(CX_LOADER_HTTP_TIMEOUT_MS=8000, CX_LOADER_SNAPSHOT_REFRESH_S=0)
        self.fake.post("/_fake/faults", {"division": self.div, "slow_write_ms": 3000,
                                         "slow_reads": 1})
        second = self.new_item(self.command(2))
        self.produce(second)
        held = L.wait_until(lambda: self.fake.stats()["divisions"][str(self.div)]
                            .get("faults", {}).get("slow_read") == 1, 30, 0.1)
        self.assertTrue(held, "the item was not looked up:\n" + self.logs_of_failure())
        self.sql("UPDATE loader_fences SET token = token + 1 WHERE tenant_id = 't00'")
        self.assertEqual(self.logged("2"), ["ok sales_order"])
        events = [e["event"] for e in self.loaders[0].log_events()]
        self.assertIn("tenant.fenced", events)
        self.assertEqual(len(self.docs("t00-00002")), 1)
        items = [i["Code"] for i in L.booked(self.fake, self.div, "Items")]
        self.assertEqual(sorted(items), ["SKU-1", "SKU-NEW"])

    def new_item(self, cmd):
        """@cmd with its one item replaced by SKU-NEW, which Exact does not have yet."""
        cmd["items"][0].update(Code="SKU-NEW", Description="Nieuw artikel")
        for line in cmd["body"]["SalesOrderLines"]:
            line["Item"] = "SKU-NEW"
        return cmd

    def test_kind_switch_books_an_order_once(self):
        """Order 1 is a sales order; the tenant switches to invoices; order 1 comes again as
        an invoice (a replay) and order 3 is new."""
        self.first_order()
        again, third = self.command(1, invoice=True), self.command(3, invoice=True)
        self.produce(again, third)
        self.assertEqual(self.logged("3"), ["ok sales_invoice"])
        self.assertEqual(self.logged("1", 2), ["ok sales_order", "skipped sales_invoice"])
        self.assertEqual(len(self.docs("t00-00001")), 1)
        self.assertEqual(self.docs("t00-00001", "SalesInvoices"), [])
        inv = self.docs("t00-00003", "SalesInvoices")
        self.assertEqual(len(inv), 1)
        self.assertAlmostEqual(inv[0]["AmountFCExclVat"], third["totals"]["net"], places=2)
        self.assertEqual(self.docs("t00-00003"), [])

    def test_dropped_keep_alive_connection_does_not_resend_the_post(self):
        """Exact commits the order's POST and closes the (reused) connection unanswered: the
        POST is sent once and found by the look-up after the doubt."""
        self.first_order()
        self.fake.post("/_fake/faults", {"division": self.div, "fail_after_write": 1.0,
                                         "drop_connection": True})
        second = self.command(2)
        self.produce(second)
        self.assertEqual(self.logged("2"), ["ok sales_order"])
        time.sleep(1)
        self.assertEqual(len(self.docs("t00-00002")), 1, "the POST was sent twice")
        by_ep = self.fake.stats()["divisions"][str(self.div)]["by_endpoint"]
        self.assertEqual(by_ep["POST salesorder/SalesOrders"].get("0"), 1, by_ep)

    def held_write_meets(self, cmd, create):
        """The next write of the division (the loader's first POST for @cmd) is held 3 s;
        once it is held, @create makes the same entity in Exact through a session of its
        own."""
        self.fake.post("/_fake/faults", {"division": self.div, "slow_write_ms": 3000,
                                         "slow_writes": 1})
        self.produce(cmd)
        held = L.wait_until(lambda: self.fake.stats()["divisions"][str(self.div)]
                            .get("faults", {}).get("slow_write") == 1, 30, 0.05)
        self.assertTrue(held, "no write was held:\n" + self.logs_of_failure())
        status, body = create(self.fake.user_api(self.div))
        self.assertEqual(status, 201, body)
        return body["d"]["ID"]

    def test_item_posted_when_its_code_exists_is_adopted(self):
        """The order's new item is POSTed while Exact has its code already (what a lost
        answer and a resent POST leave): Exact answers "400 Already exists: Code"; the item
        is looked up by its code and used, not dead-lettered."""
        self.first_order()
        second = self.new_item(self.command(2))
        guid = self.held_write_meets(second, lambda api: api("POST", "logistics/Items", {
            "Code": "SKU-NEW", "Description": "Nieuw artikel", "IsSalesItem": True}))
        self.assertEqual(self.logged("2"), ["ok sales_order"], self.logs_of_failure())
        docs = self.docs("t00-00002")
        self.assertEqual(len(docs), 1)
        self.assertAlmostEqual(docs[0]["AmountFCExclVat"], second["totals"]["net"], places=2)
        self.assertEqual({ln["Item"] for ln in docs[0]["SalesOrderLines"]}, {guid})
        items = [i["Code"] for i in L.booked(self.fake, self.div, "Items")]
        self.assertEqual(sorted(items), ["SKU-1", "SKU-NEW"])
        self.assertEqual(self.sql("SELECT exact_guid FROM ledger WHERE kind = 'item' AND "
                                  "source_key = 'SKU-NEW' AND state = 'done'"), guid)
        self.assertEqual(self.sql("SELECT count(*) FROM dead_letters"), "0")

    def test_account_posted_when_its_code_exists_is_linked(self):
        """The same for the order's new account: Exact has a relation with its code and the
        customer's e-mail address; it is linked, and the order booked on it."""
        self.first_order()
        second = self.command(2)
        second["account"].update(Code="190", Email="nieuw@example.invalid", Name="Nieuwe klant")
        second["body"].update(OrderedBy="190", InvoiceTo="190")
        guid = self.held_write_meets(second, lambda api: api("POST", "crm/Accounts", {
            "Code": "190", "Name": "Nieuwe klant", "Status": "C",
            "Email": "nieuw@example.invalid"}))
        self.assertEqual(self.logged("2"), ["ok sales_order"], self.logs_of_failure())
        docs = self.docs("t00-00002")
        self.assertEqual(len(docs), 1)
        self.assertEqual(docs[0]["OrderedBy"], guid)
        self.assertAlmostEqual(docs[0]["AmountFCExclVat"], second["totals"]["net"], places=2)
        codes = sorted(a["Code"].strip() for a in L.booked(self.fake, self.div, "Accounts"))
        self.assertEqual(codes, ["101", "190"])
        self.assertEqual(self.sql("SELECT exact_guid FROM ledger WHERE kind = 'account' AND "
                                  "source_key = '190' AND state = 'done'"), guid)
        self.assertEqual(self.sql("SELECT count(*) FROM dead_letters"), "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
