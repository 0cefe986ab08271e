#!/usr/bin/env python3
"""The loader's snapshot of the administration (issue 15): items and relations are looked up in
PostgreSQL, read from Exact once through the sync endpoints and refreshed with what changed,
so that an order costs only its writes.

* an order for a relation and an item the accountant has in Exact books on them with no GET of
  crm/Accounts or logistics/Items (one read of each sync endpoint, nothing created);
* a relation the accountant adds after that read is matched (the snapshot is refreshed), not
  duplicated;
* a new customer and a new item: one POST each, the contact right after its account with no
  look-up, no PUT of the item just created; both are in the snapshot afterwards;
* a division with more than a page of items is read page by page (__next), once."""
import json
import os
import random
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loaderlib as L  # noqa: E402

DIV = 1000


class Snapshot(L.LoaderCase):

    def setUp(self):
        super().setUp()
        self.fake = L.Fake("--no-limits")
        self.env = L.new_env("t_ld_snap")
        L.add_tenants(self.env, self.fake, 1, DIV)
        self.exact = self.fake.user_api(DIV)
        self.rng = random.Random(L.random_seed())

    def sql(self, q):
        return L.psql(self.env["CX_PG_DSN"], q).strip()

    def accountant(self, ep, **fields):
        st, body = self.exact("POST", ep, fields)
        self.assertEqual(st, 201, body)
        return body["d"]

    def calls(self):
        """Calls per "METHOD endpoint" so far."""
        by = self.fake.stats()["divisions"][str(DIV)]["by_endpoint"]
        return {ep: sum(v.values()) for ep, v in by.items()}

    def since(self, before):
        """The calls made since @before (the accountant's own count too: taken after them)."""
        now = self.calls()
        return {ep: n - before.get(ep, 0) for ep, n in now.items() if n != before.get(ep, 0)}

    def order(self, n, acc, item):
        c = L.order_command("t00", n, self.rng)
        c["account"] = acc
        c["items"] = [item]
        c["body"]["OrderedBy"] = c["body"]["InvoiceTo"] = acc["Code"]
        c["body"]["SalesOrderLines"] = [{"Item": item["Code"], "Description": "Artikel",
                                         "Quantity": 2, "UnitPrice": 10.0, "NetPrice": 10.0,
                                         "VATCode": "2", "VATPercentage": 0.21}]
        c["totals"] = {"net": 20.0, "vat": 4.2, "gross": 24.2}
        return c

    def book(self, cmd):
        L.produce(self.env, [("t00", json.dumps(cmd))])
        if not self.loaders:
            self.loaders = L.start_loaders(self.env, 1, CX_LOADER_SNAPSHOT_REFRESH_S=1)
        ref = cmd["body"]["YourRef"]
        ok = L.wait_until(lambda: ref in self.docs(), 90)
        self.assertTrue(ok, self.logs_of_failure())
        return self.docs()[ref]

    def docs(self):
        return {d["YourRef"]: d for d in L.booked(self.fake, DIV)}

    def test_look_ups_read_the_snapshot(self):
        acme = self.accountant("crm/Accounts", Code="5001", Name="Acme B.V.", Status="C",
                               VATNumber="NL000099998B57", Email="boekhouding@acme.test")
        sku = self.accountant("logistics/Items", Code="SKU-OLD", Description="Bestaand",
                              IsSalesItem=True)
        shop = {"Status": "C", "Country": "NL", "City": "Amsterdam",
                "contact": {"FirstName": "Web", "LastName": "Shop"}}
        item = {"Code": "SKU-OLD", "Description": "Bestaand artikel", "IsSalesItem": True,
                "SalesVatCode": "2", "ItemGroup": "001"}

        base = self.calls()
        doc = self.book(self.order(1, dict(shop, Code="201", Name="ACME webshop",
                                           VATNumber="NL000099998B57"), item))
        self.assertEqual(doc["OrderedBy"], acme["ID"])
        self.assertEqual(self.line_item(doc), sku["ID"])
        c = self.since(base)
        for ep in ("GET crm/Accounts", "GET logistics/Items", "POST crm/Accounts",
                   "POST logistics/Items", "PUT logistics/Items", "POST crm/Contacts",
                   "GET crm/Contacts"):
            self.assertNotIn(ep, c, c)
        self.assertEqual(c["GET sync/CRM/Accounts"], 1, c)
        self.assertEqual(c["GET sync/Logistics/Items"], 1, c)
        self.assertEqual(c["POST salesorder/SalesOrders"], 1, c)

        # the accountant adds a relation after the snapshot was read: matched after a refresh
        bakker = self.accountant("crm/Accounts", Code="5002", Name="Bakkerij Jansen",
                                 Status="C", ChamberOfCommerce="12345678")
        base = self.calls()
        time.sleep(1.2)
        doc = self.book(self.order(2, dict(shop, Code="202", Name="Jansen",
                                           ChamberOfCommerce="12345678"), item))
        self.assertEqual(doc["OrderedBy"], bakker["ID"])
        c = self.since(base)
        self.assertNotIn("POST crm/Accounts", c, c)
        self.assertNotIn("GET crm/Accounts", c, c)
        self.assertEqual(c["GET sync/CRM/Accounts"], 1, c)
        names = sorted(a["Name"] for a in self.fake.entities(DIV, "Accounts"))
        self.assertEqual(names, ["Acme B.V.", "Bakkerij Jansen"])

        # new customer, new item: only the writes
        new_item = {"Code": "SKU-NEW", "Description": "Nieuw artikel", "IsSalesItem": True,
                    "SalesVatCode": "2", "ItemGroup": "001"}
        before = self.calls()
        doc = self.book(self.order(3, dict(shop, Code="203", Name="Nieuw B.V.",
                                           Email="info@nieuw.test"), new_item))
        grew = self.since(before)
        for ep in ("GET crm/Accounts", "GET logistics/Items", "PUT logistics/Items",
                   "GET crm/Contacts", "PUT crm/Accounts"):
            self.assertNotIn(ep, grew, grew)
        self.assertEqual(grew["POST crm/Accounts"], 1, grew)
        self.assertEqual(grew["POST crm/Contacts"], 1, grew)
        self.assertEqual(grew["POST logistics/Items"], 1, grew)
        created = [a for a in self.fake.entities(DIV, "Accounts") if a["Name"] == "Nieuw B.V."]
        self.assertEqual(len(created), 1)
        self.assertEqual(doc["OrderedBy"], created[0]["ID"])
        self.assertEqual(created[0]["Email"], "info@nieuw.test")
        contacts = [k for k in self.fake.entities(DIV, "Contacts")
                    if k["Account"] == created[0]["ID"]]
        self.assertEqual([(k["FirstName"], k["LastName"]) for k in contacts], [("Web", "Shop")])
        items = {i["Code"]: i for i in self.fake.entities(DIV, "Items")}
        self.assertEqual(items["SKU-NEW"]["Description"], "Nieuw artikel")
        # both written into the snapshot by the creates themselves
        self.assertEqual(self.sql(
            "SELECT trim(code) || '|' || email FROM exact_snapshot_accounts WHERE id = '%s'"
            % created[0]["ID"]), "203|info@nieuw.test")
        self.assertEqual(self.sql(
            "SELECT id FROM exact_snapshot_items WHERE code = 'SKU-NEW'"),
            items["SKU-NEW"]["ID"])

    def test_a_large_division_is_read_in_pages(self):
        for i in range(1, 1102):
            last = self.accountant("logistics/Items", Code="P%04d" % i, Description="Artikel",
                                   IsSalesItem=True)
        base = self.calls()
        item = {"Code": "P1101", "Description": "Artikel", "IsSalesItem": True,
                "SalesVatCode": "2", "ItemGroup": "001"}
        doc = self.book(self.order(1, {"Code": "201", "Name": "Klant", "Status": "C",
                                       "Country": "NL", "City": "Utrecht"}, item))
        self.assertEqual(self.line_item(doc), last["ID"])
        c = self.since(base)
        self.assertEqual(c["GET sync/Logistics/Items"], 2, c)
        self.assertNotIn("GET logistics/Items", c, c)
        self.assertNotIn("POST logistics/Items", c, c)
        self.assertEqual(self.sql("SELECT count(*) FROM exact_snapshot_items"), "1101")
        self.assertEqual(self.sql("SELECT next_page IS NULL AND watermark > 0 FROM "
                                  "exact_snapshot WHERE kind = 'item'"), "t")

    def line_item(self, doc):
        lines = [ln for ln in self.fake.entities(DIV, "SalesOrderLines")
                 if ln["OrderID"] == doc["OrderID"]]
        self.assertEqual(len(lines), 1)
        return lines[0]["Item"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
