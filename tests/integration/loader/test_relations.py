#!/usr/bin/env python3
"""Relations in Exact (issue 17 item 1), through the loader into exact-fake, read back field by
field:

* relations the accountant entered are found by VAT number, Chamber of Commerce number and
  e-mail (in the policy's order), linked, and never written to (name, address, e-mail, VAT
  number read back unchanged; no contact added; an account_upsert costs no PUT);
* a relation that merely has our code is not adopted: the customer gets a relation numbered by
  Exact, the other relation keeps its fields;
* without a code Exact numbers the relation (highest + 1, not 18 digits); a range numbers from
  its first free code and a full range is a dead letter naming it;
* a registered customer and the same person's guest orders land on one relation (e-mail);
* two relations with the same VAT number are a dead letter naming both codes;
* consumer orders on the collective relation carry the consumer's address as delivery address,
  and a collective relation missing in Exact is a dead letter saying so;
* a non-EUR order is refused by the transformer with a reason the shop owner can act on."""
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import loaderlib as L  # noqa: E402
from orderlib import make_order  # noqa: E402

DIV = 1000
TRANSFORMER = os.path.join(L.BUILD, "transformer", "transformer")
RULES = os.path.join(HERE, "..", "..", "unit", "transformer", "rules-nl.json")
SELECT = ("ID,Code,Name,AddressLine1,Postcode,City,Country,Email,VATNumber,ChamberOfCommerce,"
          "Modified")


def trim(s):
    return (s or "").strip()


class Relations(L.LoaderCase):

    def setUp(self):
        super().setUp()
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000")
        self.env = L.new_env("t_ld_rel")
        L.add_tenants(self.env, self.fake, 1, DIV)
        self.exact = self.fake.user_api(DIV)
        self.rng = random.Random(L.random_seed())

    def sql(self, q):
        return L.psql(self.env["CX_PG_DSN"], q).strip()

    def accountant(self, **fields):
        """A relation entered in Exact by the accountant."""
        st, body = self.exact("POST", "crm/Accounts", {"Status": "C", **fields})
        self.assertEqual(st, 201, body)
        return body["d"]

    def read(self, guid):
        """The relation's fields as Exact returns them (GET with $select)."""
        st, body = self.exact("GET", f"crm/Accounts(guid'{guid}')?$select={SELECT}")
        self.assertEqual(st, 200, body)
        return body["d"]

    def order(self, n, acc):
        c = L.order_command("t00", n, self.rng)
        c["account"] = acc
        c["body"]["OrderedBy"] = c["body"]["InvoiceTo"] = acc["Code"]
        return c

    def upsert(self, acc):
        return {"v": 1, "tenant": "t00", "kind": "account_upsert", "source_id": acc["Code"],
                "trace_id": None, "division": DIV, "endpoint": "crm/Accounts", "account": acc,
                "content_hash": "sha256:" + str(hash(json.dumps(acc)))}

    def run_commands(self, cmds, booked, dead=0):
        L.produce(self.env, [("t00", json.dumps(c)) for c in cmds])
        if not self.loaders:
            self.loaders = L.start_loaders(self.env, 1)
        ok = L.wait_until(lambda: len(self.docs()) >= booked and int(self.sql(
            "SELECT count(*) FROM dead_letters")) >= dead, 90)
        self.assertTrue(ok, self.logs_of_failure())

    def docs(self):
        return {d["YourRef"]: d for d in L.booked(self.fake, DIV)}

    def reasons(self):
        return self.sql("SELECT reason FROM dead_letters ORDER BY id").split("\n")

    def test_existing_relations_are_matched_and_left_alone(self):
        acme = self.accountant(Code="5001", Name="Acme B.V.", AddressLine1="Dorpsstraat 1",
                               Postcode="1234 AB", City="Utrecht", Country="NL",
                               Email="boekhouding@acme.test", VATNumber="NL000099998B57")
        bakker = self.accountant(Code="5002", Name="Bakkerij Jansen",
                                 ChamberOfCommerce="12345678", City="Gouda")
        kim = self.accountant(Code="5003", Name="K. Klant", Email="kim@example.test")
        other = self.accountant(Code="77", Name="Garage Other", Email="garage@other.test")
        for code in ("5004", "5005"):
            self.accountant(Code=code, Name=f"Dubbel {code}", VATNumber="NL111111111B01")
        before = {g["ID"]: self.read(g["ID"]) for g in (acme, bakker, kim, other)}
        shop = {"Status": "C", "Country": "NL", "City": "Amsterdam",
                "AddressLine1": "Webshopstraat 9", "Postcode": "1000 AA",
                "contact": {"FirstName": "Web", "LastName": "Shop"}}
        by_vat = dict(shop, Code="201", Name="ACME webshop account", Email="shop@acme.test",
                      VATNumber="NL000099998B57", ChamberOfCommerce="12345678")
        by_coc = dict(shop, Code="202", Name="Jansen", ChamberOfCommerce="12345678")
        by_mail = dict(shop, Code="203", Name="Kim", Email="Kim@Example.test")
        # shop codes: customer 77 would get code 77, which another relation holds
        clash = dict(shop, Code="77", Name="Nieuwe Klant 77", Email="new77@example.test",
                     relation={"match": ["vat", "coc", "email"], "code": "77"})
        fresh = dict(shop, Code="204", Name="Nieuw B.V.", Email="info@nieuw.test",
                     VATNumber="NL222222222B01", relation={"match": ["vat", "coc", "email"]})
        registered = dict(shop, Code="205", Name="Sam Smit", Email="sam@example.test",
                          relation={"match": ["email"]})
        guest = dict(registered, Code="912345678901234567", Name="Sam S.")
        twice = dict(shop, Code="206", Name="Dubbel", VATNumber="NL111111111B01")
        cmds = [self.order(1, by_vat), self.order(2, by_coc), self.order(3, by_mail),
                self.order(4, clash), self.order(5, fresh), self.order(6, registered),
                self.order(7, guest), self.order(8, twice),
                self.upsert(dict(by_vat, Name="Renamed in the shop", City="Rotterdam"))]
        self.run_commands(cmds, booked=7, dead=1)
        docs = self.docs()
        ordered = {ref: d["OrderedBy"] for ref, d in docs.items()}
        self.assertEqual(ordered["t00-00001"], acme["ID"], "matched by VAT number")
        self.assertEqual(ordered["t00-00002"], bakker["ID"], "matched by CoC number")
        self.assertEqual(ordered["t00-00003"], kim["ID"], "matched by e-mail (case-blind)")
        # matched relations keep every field the accountant entered; no contact was added
        self.assertTrue(L.wait_until(lambda: self.sql(
            "SELECT count(*) FROM sync_log WHERE entity = 'account_upsert' AND source_id = '201'"
            " AND status = 'ok'") != "0", 30), self.logs_of_failure())
        for guid, fields in before.items():
            self.assertEqual(self.read(guid), fields)
        contacts = {c["Account"] for c in self.fake.entities(DIV, "Contacts")}
        self.assertFalse(contacts & set(before), "a contact was added to a matched relation")
        # the code collision: a new relation, the other one untouched
        new77 = self.read(ordered["t00-00004"])
        self.assertNotEqual(new77["ID"], other["ID"])
        self.assertEqual(new77["Name"], "Nieuwe Klant 77")
        self.assertNotEqual(trim(new77["Code"]), "77")
        # Exact numbered the new relation: highest numeric code + 1, read back with its fields
        made = self.read(ordered["t00-00005"])
        self.assertEqual((made["Name"], made["AddressLine1"], made["Postcode"], made["City"],
                          trim(made["Country"]), made["Email"], made["VATNumber"]),
                         ("Nieuw B.V.", "Webshopstraat 9", "1000 AA", "Amsterdam", "NL",
                          "info@nieuw.test", "NL222222222B01"))
        self.assertLess(len(trim(made["Code"])), 18)
        self.assertEqual(self.sql("SELECT exact_number FROM ledger WHERE kind = 'account' AND "
                                  "source_key = '204'"), trim(made["Code"]))
        # registered customer and the same person's guest order: one relation
        self.assertEqual(ordered["t00-00006"], ordered["t00-00007"])
        self.assertEqual(self.read(ordered["t00-00006"])["Name"], "Sam Smit")
        # two relations with that VAT number: refused, both named
        reason = [r for r in self.reasons() if "more than one relation" in r]
        self.assertEqual(len(reason), 1, self.reasons())
        self.assertIn("VATNumber NL111111111B01", reason[0])
        self.assertIn("5004 (Dubbel 5004) and 5005 (Dubbel 5005)", reason[0])
        self.assertNotIn("t00-00008", docs)
        self.assertIn("linked to the existing relation 5001 (Acme B.V.)", self.sql(
            "SELECT string_agg(message, ' | ') FROM sync_log WHERE entity = 'account'"))

    def test_ranges_and_the_collective_relation(self):
        coll = self.accountant(Code="1000", Name="Particuliere klanten webshop")
        shop = {"Status": "C", "Country": "NL", "City": "Utrecht"}
        ranged = [dict(shop, Code=str(300 + i), Name=f"Range {i}", Email=f"r{i}@x.test",
                       relation={"match": ["email"], "range": [400000, 400001]})
                  for i in range(3)]
        consumer = {"Code": "1000", "Name": "Sanne de Vries", "relation": {"collective": True}}
        c1 = self.order(1, ranged[0])
        c2 = self.order(2, ranged[1])
        c3 = self.order(3, ranged[2])
        b2c = self.order(4, consumer)
        b2c["body"].update({"DeliverTo": "1000", "Description": "Webshop order 4, Sanne de Vries",
                            "DeliveryAddress": {"Type": 4, "AddressLine1": "Keizersgracht 12A",
                                                "AddressLine3": "Sanne de Vries",
                                                "Postcode": "1015 CX", "City": "Amsterdam",
                                                "Country": "NL"}})
        missing = self.order(5, dict(consumer, Code="1001"))
        self.run_commands([c1, c2, c3, b2c, missing], booked=3, dead=2)
        docs = self.docs()
        codes = [trim(self.read(docs[f"t00-0000{n}"]["OrderedBy"])["Code"]) for n in (1, 2)]
        self.assertEqual(codes, ["400000", "400001"])
        reasons = " | ".join(self.reasons())
        self.assertIn("relation code range 400000-400001 (rules relation_codes) is full", reasons)
        self.assertIn("collective relation 1001 for consumer orders (rules "
                      "b2c_collective_account) does not exist in Exact division 1000", reasons)
        order = docs["t00-00004"]
        self.assertEqual(order["OrderedBy"], coll["ID"])
        self.assertEqual(order["Description"], "Webshop order 4, Sanne de Vries")
        addr = [a for a in self.fake.entities(DIV, "Addresses")
                if a["ID"] == order["DeliveryAddress"]]
        self.assertEqual(len(addr), 1)
        self.assertEqual((addr[0]["Account"], addr[0]["AddressLine1"], addr[0]["AddressLine3"],
                          addr[0]["City"]),
                         (coll["ID"], "Keizersgracht 12A", "Sanne de Vries", "Amsterdam"))
        self.assertEqual(self.read(coll["ID"])["Name"], "Particuliere klanten webshop")

    def test_relations_numbered_by_exact_survive_writes_in_doubt(self):
        self.fake.post("/_fake/faults", {"division": DIV, "fail_after_write": 0.3})
        people = [dict(Code=str(600 + i), Name=f"Twijfel {i}", Status="C", Country="NL",
                       Email=f"t{i}@doubt.test", relation={"match": ["email"]},
                       contact={"LastName": f"Twijfel {i}"}) for i in range(4)]
        cmds = [self.order(n, people[n % 4]) for n in range(1, 9)]
        self.run_commands(cmds + copy.deepcopy(cmds), booked=8)
        L.produce(self.env, [("t00", json.dumps(c)) for c in cmds])  # a replay
        self.assertTrue(L.wait_until(lambda: self.sql(
            "SELECT count(*) FROM sync_log WHERE stage = 'load' AND status IN ('ok', 'skipped')"
            " AND entity = 'sales_order'") == "24", 90), self.logs_of_failure())
        accounts = self.fake.entities(DIV, "Accounts")
        self.assertEqual(sorted(a["Email"] for a in accounts),
                         [f"t{i}@doubt.test" for i in range(4)], "a relation was doubled")
        contacts = [c["Account"] for c in self.fake.entities(DIV, "Contacts")]
        self.assertEqual(sorted(contacts), sorted(a["ID"] for a in accounts))
        refs = [d["YourRef"] for d in L.booked(self.fake, DIV)]
        self.assertEqual(sorted(refs), sorted(set(refs)))
        self.assertEqual(len(refs), 8)


class Currency(unittest.TestCase):

    def test_non_euro_order_is_refused_with_what_to_do(self):
        with open(RULES) as f:
            rules = json.load(f)
        path = os.path.join(tempfile.mkdtemp(), "rules.json")
        with open(path, "w") as f:
            json.dump(rules, f)
        order = make_order(1, [(1, "10.00", 21)], user_id=77)
        order["currency"] = "USD"
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                             input=json.dumps(order) + "\n", stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        err = json.loads(out.splitlines()[0])["error"]
        self.assertIn("USD", err)
        self.assertIn("EUR", err)
        self.assertIn("Book this order by hand in Exact", err)
        self.assertIn("deadletters drop", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
