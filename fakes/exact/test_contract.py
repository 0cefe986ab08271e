"""Contract tests of exact-fake: each behaviour of docs/fakes-exact.md through plain HTTP."""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakelib import Fake, q, wait_until  # noqa: E402

DIV = 4242


class FakeCase(unittest.TestCase):
    ARGS = ("--no-limits",)

    def setUp(self):
        self.fake = Fake(*self.ARGS)
        self.addCleanup(self.fake.close)

    def account(self, tok, code, name="Klant", div=DIV, **extra):
        body = {"Code": code, "Name": name}
        body.update(extra)
        st, _, data = self.fake.api(tok, "POST", "%d/crm/Accounts" % div, body)
        self.assertEqual(st, 201, data)
        return data["d"]

    def item(self, tok, code, div=DIV, **extra):
        body = {"Code": code, "Description": "Artikel " + code}
        body.update(extra)
        st, _, data = self.fake.api(tok, "POST", "%d/logistics/Items" % div, body)
        self.assertEqual(st, 201, data)
        return data["d"]


class TokenLifeCycle(FakeCase):
    ARGS = ("--token-ttl", "32", "--token-daily-cap", "6")

    def test_life_cycle(self):
        f = self.fake
        code = f.consent(DIV)
        st, _, tok = f.exchange(code)
        self.assertEqual(st, 200)
        self.assertEqual(tok["expires_in"], "32")
        self.assertIsInstance(tok["expires_in"], str)
        self.assertEqual(tok["token_type"].lower(), "bearer")
        self.assertIn("!", tok["refresh_token"])
        # the code is single use
        st, _, _ = f.exchange(code)
        self.assertEqual(st, 400)
        # too early: 400 access_denied plus the Reason header; tokens stay valid
        st, h, body = f.refresh(tok["refresh_token"])
        self.assertEqual(st, 400)
        self.assertEqual(body["error"], "access_denied")
        self.assertEqual(body["error_description"],
                         "Rate limit exceeded: access_token not expired")
        self.assertTrue(h["reason"].startswith("TooEarlyToRefreshTokens"))
        st, _, me = f.api(tok["access_token"], "GET", "current/Me")
        self.assertEqual(st, 200)
        self.assertEqual(me["d"]["results"][0]["CurrentDivision"], DIV)
        # inside the last 30 s of a 32 s token the refresh is allowed and rotates
        time.sleep(2.1)
        st, _, tok2 = f.refresh(tok["refresh_token"])
        self.assertEqual(st, 200, tok2)
        self.assertNotEqual(tok2["refresh_token"], tok["refresh_token"])
        self.assertNotEqual(tok2["access_token"], tok["access_token"])
        st, _, body = f.refresh(tok["refresh_token"])
        self.assertEqual(st, 401)
        self.assertEqual(body, {"error": "unauthorized_client",
                                "error_description": "Old refresh token used."})
        # the new access token works; the old one lives until it expires
        self.assertEqual(f.api(tok2["access_token"], "GET", "%d/crm/Accounts" % DIV)[0], 200)
        self.assertEqual(f.api(tok["access_token"], "GET", "%d/crm/Accounts" % DIV)[0], 200)
        # bad bearer tokens
        self.assertEqual(f.api("nonsense", "GET", "%d/crm/Accounts" % DIV)[0], 401)
        self.assertEqual(f.request("GET", "/api/v1/%d/crm/Accounts" % DIV)[0], 401)
        # a token only reaches its own division
        st, h, body = f.api(tok2["access_token"], "GET", "999/crm/Accounts")
        self.assertEqual(st, 403)
        self.assertEqual(body["error"]["message"]["value"], "Forbidden - WrongDivision")
        # wrong client secret
        st, _, body = f.token({"grant_type": "refresh_token",
                               "refresh_token": tok2["refresh_token"],
                               "client_id": "test-client", "client_secret": "wrong"})
        self.assertEqual((st, body), (400, {"error": "invalid_request"}))
        stats = f.admin("GET", "stats")[1]
        self.assertEqual(stats["token"]["refreshed"], 1)
        self.assertEqual(stats["token"]["old_refresh_token"], 1)
        self.assertEqual(stats["token"]["too_early"], 1)
        # per-user daily cap on token calls: 6 allowed, this user has used 5 so far
        st, _, _ = f.refresh(tok2["refresh_token"])
        self.assertEqual(st, 400)      # too early, counted
        st, _, body = f.refresh(tok2["refresh_token"])
        self.assertEqual(st, 429)
        self.assertEqual(body, b"")
        self.assertEqual(f.admin("GET", "stats")[1]["token"]["daily_cap"], 1)

    def test_expired_access_token(self):
        f = self.fake
        tok = f.login(DIV)
        f.admin("POST", "clock", {"advance_ms": 33000})
        st, h, _ = f.api(tok["access_token"], "GET", "%d/crm/Accounts" % DIV)
        self.assertEqual(st, 401)
        # refreshing after expiry is allowed
        st, _, tok2 = f.refresh(tok["refresh_token"])
        self.assertEqual(st, 200)


class OData(FakeCase):
    def test_paging_filter_select(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        for i in range(1, 131):
            self.account(tok, str(i), "Klant %03d" % i, City="Utrecht" if i % 2 else "Gouda")
        seen = []
        st, _, page = f.api(tok, "GET", "%d/crm/Accounts?$select=ID,Code" % DIV)
        pages = 0
        while True:
            pages += 1
            self.assertEqual(st, 200)
            results = page["d"]["results"]
            self.assertLessEqual(len(results), 60)
            for r in results:
                self.assertEqual(sorted(r), ["Code", "ID", "__metadata"])
            seen += [r["ID"] for r in results]
            nxt = page["d"].get("__next")
            if not nxt:
                break
            self.assertTrue(nxt.startswith(f.base + "/api/v1/%d/crm/Accounts?" % DIV), nxt)
            self.assertIn("$skiptoken=guid'", nxt)
            st, _, page = f.api(tok, "GET", nxt[len(f.base) + len("/api/v1/"):])
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 130)
        self.assertEqual(len(set(seen)), 130)
        # Code is padded to 18 and the filter must carry the padding
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (
            DIV, q("Code eq '%18s'" % "25")))
        self.assertEqual(len(res["d"]["results"]), 1)
        self.assertEqual(res["d"]["results"][0]["Code"], " " * 16 + "25")
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (DIV, q("Code eq '25'")))
        self.assertEqual(res["d"]["results"], [])
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (
            DIV, q("trim(Code) eq '25'")))
        self.assertEqual(len(res["d"]["results"]), 1)
        guid = res["d"]["results"][0]["ID"]
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s&$select=Name" % (
            DIV, q("ID eq guid'%s'" % guid)))
        self.assertEqual(res["d"]["results"][0]["Name"], "Klant 025")
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s&$inlinecount=allpages"
                           "&$top=5&$orderby=Name%%20desc" % (
                               DIV, q("City eq 'Gouda' and Status eq null")))
        self.assertEqual(res["d"]["__count"], "65")
        self.assertEqual([r["Name"] for r in res["d"]["results"]],
                         ["Klant 130", "Klant 128", "Klant 126", "Klant 124", "Klant 122"])
        self.assertNotIn("__next", res["d"])
        # GET by key, dates, $count
        st, _, one = f.api(tok, "GET", "%d/crm/Accounts(guid'%s')" % (DIV, guid))
        self.assertEqual(st, 200)
        self.assertRegex(one["d"]["Created"], r"^/Date\(\d+\)/$")
        st, _, n = f.api(tok, "GET", "%d/crm/Accounts/$count" % DIV)
        self.assertEqual(n, b"130")
        # errors: syntax, unknown property, GUID compared with a string, missing key
        for flt in ("Code eq", "Nope eq 1", "ID eq '%s'" % guid, "Name eq 'x' and"):
            st, _, err = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (DIV, q(flt)))
            self.assertEqual(st, 400, flt)
            self.assertIn("message", err["error"])
        # only Exact's filterable fields (CRMAccounts reference page); e-mail, VAT and CoC are
        st, _, err = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (
            DIV, q("AddressLine1 eq 'Straat 1'")))
        self.assertEqual(st, 400)
        self.assertIn("Filtering on these fields is not supported: AddressLine1",
                      err["error"]["message"]["value"])
        st, _, res = f.api(tok, "GET", "%d/crm/Accounts?$filter=%s" % (DIV, q(
            "VATNumber eq 'X' or ChamberOfCommerce eq 'Y' or Email eq 'z@example.test'")))
        self.assertEqual(st, 200)
        st, _, _ = f.api(tok, "GET", "%d/crm/Accounts(guid'%s')" % (
            DIV, "00000000-0000-0000-0000-000000000000"))
        self.assertEqual(st, 404)
        self.assertEqual(f.api(tok, "GET", "%d/crm/Nope" % DIV)[0], 404)
        # seeded reference data
        st, _, vat = f.api(tok, "GET", "%d/vat/VATCodes?$filter=%s" % (
            DIV, q("OssCountry eq 'DE'")))
        self.assertEqual(sorted((v["Code"], v["Percentage"]) for v in vat["d"]["results"]),
                         [("D1 ", 0.19), ("D2 ", 0.07)])
        for path in ("logistics/ItemGroups", "cashflow/PaymentConditions", "financial/Journals",
                     "financial/GLAccounts", "system/Divisions"):
            st, _, res = f.api(tok, "GET", "%d/%s" % (DIV, path))
            self.assertEqual(st, 200, path)
            self.assertTrue(res["d"]["results"], path)
        # the division's Status follows the faults' division_status (2: archived)
        self.assertEqual(f.admin("POST", "faults", {"division": DIV, "division_status": 2})[0],
                         200)
        st, _, res = f.api(tok, "GET", "%d/system/Divisions?$select=Code,Status" % DIV)
        self.assertEqual([(d["Code"], d["Status"]) for d in res["d"]["results"]], [(DIV, 2)])
        self.assertEqual(f.admin("POST", "faults", {"division": DIV, "division_status": 3})[0],
                         400)
        self.assertEqual(f.admin("POST", "faults", {"division": DIV, "division_status": 1})[0],
                         200)
        # Accept: application/json is required
        st, _, _ = f.request("GET", "/api/v1/%d/crm/Accounts" % DIV,
                             headers={"Authorization": "Bearer " + tok})
        self.assertEqual(st, 406)


class Validation(FakeCase):
    def msg(self, data):
        return data["error"]["message"]["value"]

    def test_post_errors(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "1001", "Acme B.V.", Country="NL", SalesVATCode="2",
                            PaymentConditionSales="30")
        self.assertEqual(acct["Code"], "              1001")
        self.assertEqual(acct["Country"], "NL ")
        self.assertEqual(acct["SalesVATCode"], "2  ")
        cases = [
            ("crm/Accounts", {"Code": "77"}, "Mandatory: Name"),
            ("crm/Accounts", {"Code": "1001", "Name": "Dup"}, "Already exists: Code"),
            ("crm/Accounts", {"Name": "X", "SalesVATCode": "ZZ"}, "Invalid reference: VAT code"),
            ("crm/Accounts", {"Name": "X", "Bogus": 1}, "property name 'Bogus'"),
            ("logistics/Items", {"Code": "A"}, "Mandatory: Description"),
            ("salesorder/SalesOrders", {"OrderedBy": acct["ID"]}, "Mandatory: Sales order lines"),
            ("salesorder/SalesOrders",
             {"OrderedBy": "11111111-1111-4111-8111-111111111111",
              "SalesOrderLines": [{"Item": "11111111-1111-4111-8111-111111111111",
                                   "Quantity": 1, "UnitPrice": 1, "VATCode": "2"}]},
             "Invalid reference: Ordered by\r\nInvalid reference: Item"),
            ("salesorder/SalesOrders",
             {"OrderedBy": acct["ID"], "SalesOrderLines": {"Item": acct["ID"]}},
             "valid top-level resource object"),
            ("salesorder/SalesOrders",
             {"OrderedBy": acct["ID"], "SalesOrderLines": [{"Item": "not-a-guid"}]},
             "Unrecognized Guid format."),
            ("salesinvoice/SalesInvoices", {"OrderedBy": acct["ID"]},
             "Mandatory: Journal"),
        ]
        for path, body, expect in cases:
            st, _, data = f.api(tok, "POST", "%d/%s" % (DIV, path), body)
            self.assertEqual(st, 400, (path, body, data))
            self.assertIn(expect, self.msg(data), body)
        item = self.item(tok, "SKU-1")
        st, _, data = f.api(tok, "POST", "%d/logistics/Items" % DIV,
                            {"Code": "SKU-1", "Description": "again"})
        self.assertEqual((st, self.msg(data)), (400, "Already exists: Code"))
        st, _, data = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, {
            "OrderedBy": acct["ID"],
            "SalesOrderLines": [{"Item": item["ID"], "Quantity": 1, "UnitPrice": 5,
                                 "VATCode": "XX"}]})
        self.assertEqual((st, self.msg(data)), (400, "Invalid reference: VAT code"))
        st, _, data = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, {
            "OrderedBy": acct["ID"],
            "SalesOrderLines": [{"Item": item["ID"], "Quantity": "1,00", "UnitPrice": 5}]})
        self.assertEqual(st, 400)
        # malformed JSON, wrong content type, oversized body
        hdr = {"Authorization": "Bearer " + tok, "Accept": "application/json",
               "Content-Type": "application/json"}
        st, _, _ = f.request("POST", "/api/v1/%d/crm/Accounts" % DIV, body="{bad", headers=hdr)
        self.assertEqual(st, 400)
        st, _, _ = f.request("POST", "/api/v1/%d/crm/Accounts" % DIV, body="[1]", headers=hdr)
        self.assertEqual(st, 400)
        st, _, _ = f.request("POST", "/api/v1/%d/crm/Accounts" % DIV,
                             body='{"Name":"' + "x" * (2 << 20) + '"}', headers=hdr)
        self.assertEqual(st, 413)
        st, _, _ = f.api(tok, "POST", "%d/crm/Accounts" % DIV, '{"Name":"x"}',
                         headers={"Content-Type": "text/plain"})
        self.assertEqual(st, 415)
        # read-only endpoint, PUT rules
        st, _, _ = f.api(tok, "POST", "%d/logistics/ItemGroups" % DIV, {"Code": "9"})
        self.assertEqual(st, 405)
        st, _, data = f.api(tok, "PUT", "%d/crm/Accounts(guid'%s')" % (DIV, acct["ID"]),
                            {"Code": "1001"})
        self.assertEqual((st, self.msg(data)), (400, "Already exists: Code"))
        st, _, data = f.api(tok, "PUT", "%d/crm/Accounts(guid'%s')" % (DIV, acct["ID"]),
                            {"City": "Zeist"})
        self.assertEqual((st, data), (204, b""))
        st, _, got = f.api(tok, "GET", "%d/crm/Accounts(guid'%s')?$select=City" % (
            DIV, acct["ID"]))
        self.assertEqual(got["d"]["City"], "Zeist")
        # nothing invalid was stored
        ents = f.admin("GET", "divisions/%d/entities?type=SalesOrders" % DIV)[1]
        self.assertEqual(ents["count"], 0)


class Validation500(FakeCase):
    ARGS = ("--no-limits", "--validation-status", "500")

    def test_switch(self):
        tok = self.fake.login(DIV)["access_token"]
        st, _, data = self.fake.api(tok, "POST", "%d/crm/Accounts" % DIV, {"Code": "1"})
        self.assertEqual(st, 500)
        self.assertEqual(data["error"]["message"]["value"], "Mandatory: Name")


class Amounts(FakeCase):
    def test_line_amounts(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "5", "Acme", PaymentConditionSales="14")
        a = self.item(tok, "A")["ID"]
        b = self.item(tok, "B")["ID"]
        body = {"OrderedBy": acct["ID"], "YourRef": "WEB-1", "OrderDate": "2024-05-13T00:00:00",
                "SalesOrderLines": [
                    {"Item": a, "Quantity": 3, "UnitPrice": 19.99, "Discount": 0.1,
                     "VATCode": "2"},
                    {"Item": b, "Quantity": 1, "UnitPrice": 37.5, "VATCode": "2"},
                    {"Item": b, "Quantity": 2, "UnitPrice": 12.5, "VATCode": "1"},
                    {"Item": a, "Quantity": 1, "UnitPrice": 10, "VATCode": "D2"}]}
        st, _, res = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, body)
        self.assertEqual(st, 201, res)
        so = res["d"]
        lines = so["SalesOrderLines"]["results"]
        self.assertEqual([l["AmountFC"] for l in lines], [53.97, 37.5, 25.0, 10.0])
        self.assertEqual([l["VATAmount"] for l in lines], [11.33, 7.88, 2.25, 0.7])
        self.assertEqual([l["VATPercentage"] for l in lines], [0.21, 0.21, 0.09, 0.07])
        self.assertEqual([l["LineNumber"] for l in lines], [1, 2, 3, 4])
        self.assertEqual(lines[0]["VATCode"], "2  ")
        self.assertAlmostEqual(lines[0]["NetPrice"], 17.991)
        self.assertEqual(so["AmountFCExclVat"], 126.47)
        self.assertEqual(so["AmountFC"], 148.63)
        self.assertEqual(so["OrderNumber"], 1)
        self.assertEqual(so["OrderDate"], "/Date(1715558400000)/")
        self.assertEqual(so["PaymentCondition"], "14")
        self.assertEqual(so["DeliverTo"], acct["ID"])
        # expand on GET; deferred without it
        st, _, got = f.api(tok, "GET", "%d/salesorder/SalesOrders?$filter=%s&$expand="
                           "SalesOrderLines" % (DIV, q("YourRef eq 'WEB-1'")))
        self.assertEqual(len(got["d"]["results"][0]["SalesOrderLines"]["results"]), 4)
        st, _, got = f.api(tok, "GET", "%d/salesorder/SalesOrders(guid'%s')" % (
            DIV, so["OrderID"]))
        self.assertIn("__deferred", got["d"]["SalesOrderLines"])
        st, _, got = f.api(tok, "GET", "%d/salesorder/SalesOrderLines?$filter=%s" % (
            DIV, q("OrderID eq guid'%s'" % so["OrderID"])))
        self.assertEqual(len(got["d"]["results"]), 4)
        # invoices: VATAmountFC, journal numbering, explicit VAT amounts honoured
        inv = {"Journal": "70", "OrderedBy": acct["ID"], "InvoiceTo": acct["ID"],
               "YourRef": "WEB-2", "SalesInvoiceLines": [
                   {"Item": a, "Quantity": 300, "UnitPrice": 25, "VATCode": "2"},
                   {"Item": b, "Quantity": 1, "UnitPrice": 29.95, "VATCode": "2",
                    "VATAmountFC": 6.29}]}
        st, _, res = f.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, inv)
        self.assertEqual(st, 201, res)
        d = res["d"]
        self.assertEqual(d["InvoiceNumber"], 70000001)
        self.assertEqual(d["Status"], 20)
        self.assertEqual(d["Type"], 8020)
        self.assertEqual(d["VATAmountFC"], 1581.29)
        self.assertEqual(d["AmountFC"], 9111.24)
        self.assertEqual(d["SalesInvoiceLines"]["results"][0]["VATAmountFC"], 1575.0)
        self.assertTrue(d["SalesInvoiceLines"]["results"][0]["GLAccount"])
        # without Prefer: return=representation only posted members are filled
        st, _, res = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, body, prefer=False)
        self.assertEqual(st, 201)
        self.assertIsNone(res["d"]["OrderID"])
        self.assertIsNone(res["d"]["AmountFC"])
        self.assertEqual(res["d"]["YourRef"], "WEB-1")
        ents = f.admin("GET", "divisions/%d/entities?type=SalesOrders" % DIV)[1]
        self.assertEqual(ents["count"], 2)
        self.assertEqual(len(ents["entities"][0]["SalesOrderLines"]), 4)
        self.assertEqual(ents["entities"][1]["OrderNumber"], 2)
        # amount_skew fault: the next document's first line books 3 cents more VAT, then off
        st, cfg = f.admin("POST", "faults", {"division": DIV, "amount_skew_cents": 3,
                                             "amount_skew_documents": 1})
        self.assertEqual((st, cfg["amount_skew_documents"]), (200, 1))
        inv["YourRef"] = "WEB-3"
        del inv["SalesInvoiceLines"][1]["VATAmountFC"]
        st, _, res = f.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, inv)
        self.assertEqual(st, 201, res)
        self.assertEqual(res["d"]["SalesInvoiceLines"]["results"][0]["VATAmountFC"], 1575.03)
        self.assertEqual(res["d"]["VATAmountFC"], 1581.32)
        self.assertEqual(res["d"]["AmountFC"], 9111.27)
        self.assertEqual(f.admin("GET", "faults?division=%d" % DIV)[1]["amount_skew_documents"],
                         0)
        inv["YourRef"] = "WEB-4"
        st, _, res = f.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, inv)
        self.assertEqual(res["d"]["AmountFC"], 9111.24)
        self.assertEqual(f.admin("POST", "faults", {"division": DIV,
                                                    "amount_skew_documents": -1})[0], 400)


class Invoicing(FakeCase):
    """PrintedSalesInvoices and InvoiceSalesOrders (docs/research/exact-payments.md §1.6-1.7)."""

    def invoice(self, tok, acct, item, ref, **extra):
        body = {"Journal": "70", "OrderedBy": acct, "InvoiceTo": acct, "YourRef": ref,
                "PaymentCondition": "14", "OrderDate": "2026-04-01T00:00:00",
                "SalesInvoiceLines": [{"Item": item, "Quantity": 2, "UnitPrice": 10,
                                       "VATCode": "2"}]}
        body.update(extra)
        st, _, res = self.fake.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, body)
        self.assertEqual(st, 201, res)
        return res["d"]

    def test_print_makes_final_and_dates(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "7", "Acme")["ID"]
        item = self.item(tok, "A")["ID"]
        inv = self.invoice(tok, acct, item, "WEB-7")
        self.assertEqual(inv["Status"], 20)
        path = "%d/salesinvoice/PrintedSalesInvoices" % DIV
        st, _, res = f.api(tok, "POST", path, {"InvoiceID": inv["InvoiceID"],
                                               "InvoiceDate": "2026-04-01T00:00:00",
                                               "SendEmailToCustomer": True})
        self.assertEqual(st, 201, res)
        self.assertEqual(res["d"]["EmailCreationSuccess"], "Email created")
        self.assertTrue(res["d"]["Document"])
        st, _, got = f.api(tok, "GET", "%d/salesinvoice/SalesInvoices(guid'%s')" % (
            DIV, inv["InvoiceID"]))
        d = got["d"]
        self.assertEqual(d["Status"], 50)
        self.assertEqual(d["InvoiceDate"], "/Date(1775001600000)/")  # 2026-04-01
        self.assertEqual(d["DueDate"], "/Date(1776211200000)/")  # + 14 days
        # a second print, a change and a deletion are refused
        st, _, res = f.api(tok, "POST", path, {"InvoiceID": inv["InvoiceID"]})
        self.assertNotEqual(st, 201)
        self.assertIn("already processed", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "PUT", "%d/salesinvoice/SalesInvoices(guid'%s')" % (
            DIV, inv["InvoiceID"]), {"Description": "x"})
        self.assertNotEqual(st, 204)
        st, _, res = f.api(tok, "DELETE", "%d/salesinvoice/SalesInvoices(guid'%s')" % (
            DIV, inv["InvoiceID"]))
        self.assertNotEqual(st, 204)
        # the e-mail fault: the next print asking for a mail is final, only the mail failed
        self.assertEqual(f.admin("POST", "faults", {"division": DIV, "email_errors": 1})[0], 200)
        inv2 = self.invoice(tok, acct, item, "WEB-7b")
        st, _, res = f.api(tok, "POST", path, {"InvoiceID": inv2["InvoiceID"],
                                               "SendEmailToCustomer": True})
        self.assertEqual(st, 201, res)
        self.assertIn("could not be created", res["d"]["EmailCreationError"])
        self.assertIsNone(res["d"]["EmailCreationSuccess"])
        st, _, got = f.api(tok, "GET", "%d/salesinvoice/SalesInvoices(guid'%s')" % (
            DIV, inv2["InvoiceID"]))
        self.assertEqual(got["d"]["Status"], 50)
        self.assertEqual(f.admin("GET", "faults?division=%d" % DIV)[1]["email_errors"], 0)
        # strict: InvoiceID mandatory and must exist; POST only
        st, _, res = f.api(tok, "POST", path, {"SendEmailToCustomer": False})
        self.assertNotEqual(st, 201)
        self.assertIn("Mandatory: Invoice", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "POST", path, {"InvoiceID": acct})
        self.assertIn("Invalid reference: Invoice", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "GET", path)
        self.assertNotEqual(st, 200)

    def test_invoice_sales_orders(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "8", "Bcme")["ID"]
        item = self.item(tok, "B")["ID"]
        body = {"OrderedBy": acct, "YourRef": "WEB-8", "OrderDate": "2026-04-01T00:00:00",
                "SalesOrderLines": [{"Item": item, "Quantity": 3, "UnitPrice": 5,
                                     "VATCode": "2"}]}
        st, _, res = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, body)
        self.assertEqual(st, 201, res)
        so = res["d"]
        path = "%d/salesinvoice/InvoiceSalesOrders" % DIV
        req = {"CreateMode": 1, "InvoiceMode": 1, "JournalCode": "70",
               "SalesOrderIDs": [{"ID": so["OrderID"]}]}
        st, _, res = f.api(tok, "POST", path, req)
        self.assertEqual(st, 201, res)
        self.assertEqual(res["d"]["NumberOfCreatedInvoices"], 1)
        self.assertEqual(res["d"]["NumberOfFailedInvoices"], 0)
        st, _, got = f.api(tok, "GET", "%d/salesinvoice/SalesInvoiceLines?$filter=%s" % (
            DIV, q("SalesOrder eq guid'%s'" % so["OrderID"])))
        lines = got["d"]["results"]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["Quantity"], 3)
        self.assertEqual(lines[0]["SalesOrderNumber"], so["OrderNumber"])
        st, _, got = f.api(tok, "GET", "%d/salesinvoice/SalesInvoices(guid'%s')" % (
            DIV, lines[0]["InvoiceID"]))
        self.assertEqual(got["d"]["Status"], 20)
        self.assertEqual(got["d"]["YourRef"], "WEB-8")
        self.assertEqual(got["d"]["AmountFC"], 18.15)
        st, _, got = f.api(tok, "GET", "%d/salesorder/SalesOrders(guid'%s')" % (
            DIV, so["OrderID"]))
        self.assertEqual(got["d"]["InvoiceStatus"], 21)
        # a second time fails for that order, in Errors, not as an HTTP error
        st, _, res = f.api(tok, "POST", path, req)
        self.assertEqual(st, 201, res)
        self.assertEqual(res["d"]["NumberOfCreatedInvoices"], 0)
        self.assertEqual(res["d"]["NumberOfFailedInvoices"], 1)
        self.assertIn("already invoiced", res["d"]["Errors"])
        # by quantity delivered: nothing delivered, nothing invoiced
        st, _, res = f.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, dict(body, YourRef="W9"))
        st, _, res = f.api(tok, "POST", path, dict(req, InvoiceMode=0, SalesOrderIDs=[
            {"ID": res["d"]["OrderID"]}]))
        self.assertEqual(res["d"]["NumberOfFailedInvoices"], 1)
        self.assertIn("Nothing delivered", res["d"]["Errors"])
        # strict: the mandatory members and a sales journal
        st, _, res = f.api(tok, "POST", path, {"CreateMode": 1, "InvoiceMode": 1,
                                               "SalesOrderIDs": [{"ID": so["OrderID"]}]})
        self.assertNotEqual(st, 201)
        self.assertIn("Mandatory", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "POST", path, dict(req, JournalCode="NOPE"))
        self.assertIn("Invalid reference: Journal", res["error"]["message"]["value"])


class Corrections(FakeCase):
    """Sales orders changed or cancelled, credit notes (docs/research/exact-payments.md §1.8-1.9
    and "What the fake Exact must model strictly")."""

    invoice = Invoicing.invoice

    def order(self, tok, acct, item, ref):
        body = {"OrderedBy": acct, "YourRef": ref, "OrderDate": "2026-04-01T00:00:00",
                "SalesOrderLines": [{"Item": item, "Quantity": 3, "UnitPrice": 5,
                                     "VATCode": "2"}]}
        st, _, res = self.fake.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, body)
        self.assertEqual(st, 201, res)
        return res["d"]

    def test_open_order_updated_through_lines_endpoint(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "9", "Ccme")["ID"]
        item = self.item(tok, "C")["ID"]
        so = self.order(tok, acct, item, "WEB-9")
        key = "%d/salesorder/SalesOrders(guid'%s')" % (DIV, so["OrderID"])
        lines = "%d/salesorder/SalesOrderLines" % DIV
        # Status is read-only: a PUT of it changes nothing; header fields do change
        st, _, res = f.api(tok, "PUT", key, {"Status": 45, "Description": "changed"})
        self.assertEqual(st, 204, res)
        st, _, got = f.api(tok, "GET", key)
        self.assertEqual(got["d"]["Status"], 12)
        self.assertEqual(got["d"]["Description"], "changed")
        # lines are not changed through the header (no deep update)
        st, _, res = f.api(tok, "PUT", key, {"SalesOrderLines": []})
        self.assertEqual(st, 400)
        # the lines endpoint: OrderID and Item mandatory, the order must exist
        st, _, res = f.api(tok, "POST", lines, {"Item": item, "Quantity": 1, "UnitPrice": 2,
                                                "VATCode": "2"})
        self.assertIn("Mandatory: Order ID", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "POST", lines, {"OrderID": acct, "Item": item, "Quantity": 1,
                                                "UnitPrice": 2, "VATCode": "2"})
        self.assertIn("Invalid reference: Order ID", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "POST", lines, {"OrderID": so["OrderID"], "Item": item,
                                                "Quantity": 2, "UnitPrice": 4.13,
                                                "VATCode": "1"})
        self.assertEqual(st, 201, res)
        new = res["d"]
        self.assertEqual(new["LineNumber"], 2)
        self.assertEqual(new["AmountFC"], 8.26)
        self.assertEqual(new["VATAmount"], 0.74)
        first = so["SalesOrderLines"]["results"][0]["ID"]
        st, _, res = f.api(tok, "PUT", "%s(guid'%s')" % (lines, first), {"Quantity": 1})
        self.assertEqual(st, 204, res)
        st, _, got = f.api(tok, "GET", key)
        # 1 x 5 + 21% = 6.05; 8.26 + 0.74
        self.assertEqual(got["d"]["AmountFCExclVat"], 13.26)
        self.assertEqual(got["d"]["AmountFC"], 15.05)
        st, _, res = f.api(tok, "PUT", "%s(guid'%s')" % (lines, first),
                           {"OrderID": new["ID"]})
        self.assertIn("can not be changed", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "DELETE", "%s(guid'%s')" % (lines, new["ID"]))
        self.assertEqual(st, 204, res)
        st, _, got = f.api(tok, "GET", key)
        self.assertEqual(got["d"]["AmountFC"], 6.05)
        # an open order may be deleted, with its lines
        st, _, res = f.api(tok, "DELETE", key)
        self.assertEqual(st, 204, res)
        st, _, got = f.api(tok, "GET", "%s?$filter=%s" % (lines, q(
            "OrderID eq guid'%s'" % so["OrderID"])))
        self.assertEqual(got["d"]["results"], [])

    def test_invoiced_order_is_closed(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "10", "Dcme")["ID"]
        item = self.item(tok, "D")["ID"]
        so = self.order(tok, acct, item, "WEB-10")
        st, _, res = f.api(tok, "POST", "%d/salesinvoice/InvoiceSalesOrders" % DIV, {
            "CreateMode": 1, "InvoiceMode": 1, "JournalCode": "70",
            "SalesOrderIDs": [{"ID": so["OrderID"]}]})
        self.assertEqual(res["d"]["NumberOfCreatedInvoices"], 1, res)
        key = "%d/salesorder/SalesOrders(guid'%s')" % (DIV, so["OrderID"])
        line = "%d/salesorder/SalesOrderLines(guid'%s')" % (
            DIV, so["SalesOrderLines"]["results"][0]["ID"])
        st, _, res = f.api(tok, "PUT", key, {"Description": "x"})
        self.assertEqual(st, 400)
        self.assertIn("cannot be changed", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "DELETE", key)
        self.assertEqual(st, 400)
        self.assertIn("cannot be deleted", res["error"]["message"]["value"])
        for method, body in (("PUT", {"Quantity": 1}), ("DELETE", None)):
            st, _, res = f.api(tok, method, line, body)
            self.assertEqual(st, 400, method)
            self.assertIn("invoiced or delivered", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "POST", "%d/salesorder/SalesOrderLines" % DIV, {
            "OrderID": so["OrderID"], "Item": item, "Quantity": 1, "UnitPrice": 1,
            "VATCode": "2"})
        self.assertEqual(st, 400)

    def test_credit_note(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "11", "Ecme")["ID"]
        item = self.item(tok, "E")["ID"]
        inv = self.invoice(tok, acct, item, "WEB-11")
        cn = self.invoice(tok, acct, item, "WEB-11", Type=8021,
                          Description="Credit note for invoice %d" % inv["InvoiceNumber"],
                          SalesInvoiceLines=[{"Item": item, "Quantity": -1, "UnitPrice": 10,
                                              "VATCode": "2"},
                                             {"Item": item, "Description": "Refund 5",
                                              "Quantity": -1, "UnitPrice": 4.13,
                                              "VATCode": "2", "VATAmountFC": -0.87}])
        self.assertEqual(cn["Type"], 8021)
        self.assertEqual(cn["TypeDescription"], "Creditnota")
        self.assertEqual(cn["AmountFCExclVat"], -14.13)
        # -10 * 21% = -2.10, and the posted VAT amount of the amount line is kept
        self.assertEqual(cn["VATAmountFC"], -2.97)
        self.assertEqual(cn["AmountFC"], -17.10)
        path = "%d/salesinvoice/PrintedSalesInvoices" % DIV
        st, _, res = f.api(tok, "POST", path, {"InvoiceID": cn["InvoiceID"]})
        self.assertEqual(st, 201, res)
        key = "%d/salesinvoice/SalesInvoices(guid'%s')" % (DIV, cn["InvoiceID"])
        for method, body in (("PUT", {"Description": "x"}), ("DELETE", None)):
            st, _, res = f.api(tok, method, key, body)
            self.assertEqual(st, 400, method)
            self.assertIn("processed invoice", res["error"]["message"]["value"])
        st, _, res = f.api(tok, "PUT", key.replace(cn["InvoiceID"], inv["InvoiceID"]),
                           {"Type": 8021})
        self.assertIn("can not be changed", res["error"]["message"]["value"])


class RateLimits(FakeCase):
    ARGS = ("--minute", "1", "--minutely-limit", "5", "--daily-limit", "8")

    def test_headers_and_429(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        # The days of 1,440 one-second minutes are aligned to the epoch, as Exact's are: if
        # the next boundary is near, wait for it, so the daily counts below start together.
        day_ms = 1440 * 1000
        next_day = (int(time.time() * 1000) // day_ms + 1) * day_ms
        if next_day - time.time() * 1000 < 30000:
            wait_until(next_day)
        # align to the start of a (1 s) minute so five calls fit in one window
        wait_until(int(time.time()) * 1000 + 1000)
        seen = []
        for _ in range(5):
            st, h, _ = f.api(tok, "GET", "%d/crm/Accounts" % DIV)
            self.assertEqual(st, 200)
            seen.append(int(h["x-ratelimit-minutely-remaining"]))
            self.assertEqual(h["x-ratelimit-limit"], "8")
            self.assertEqual(h["x-ratelimit-minutely-limit"], "5")
            self.assertEqual(int(h["x-ratelimit-minutely-reset"]) % 1000, 0)
            self.assertEqual(int(h["x-ratelimit-reset"]) % 1440000, 0)
        self.assertEqual(seen, [4, 3, 2, 1, 0])
        st, h, body = f.api(tok, "GET", "%d/crm/Accounts" % DIV)
        self.assertEqual((st, body), (429, b""))
        self.assertEqual(h["x-ratelimit-minutely-remaining"], "0")
        self.assertNotIn("x-ratelimit-remaining", h)
        # Me is not counted and carries no headers
        st, h, _ = f.api(tok, "GET", "current/Me")
        self.assertEqual(st, 200)
        self.assertNotIn("x-ratelimit-remaining", h)
        wait_until(int(h.get("x-ratelimit-minutely-reset", 0)) or
                   (int(time.time()) + 1) * 1000)
        for _ in range(3):
            st, h, _ = f.api(tok, "GET", "%d/crm/Accounts" % DIV)
            self.assertEqual(st, 200)
        self.assertEqual(h["x-ratelimit-remaining"], "0")
        wait_until((int(time.time()) + 1) * 1000)
        st, h, body = f.api(tok, "GET", "%d/crm/Accounts" % DIV)
        self.assertEqual((st, body), (429, b""))
        self.assertEqual(h["x-ratelimit-remaining"], "0")
        self.assertNotIn("x-ratelimit-minutely-remaining", h)
        rl = f.admin("GET", "stats")[1]["divisions"][str(DIV)]["rate_limited"]
        self.assertEqual(rl, {"minutely": 1, "daily": 1})


class ErrorLimit(FakeCase):
    ARGS = ("--error-limit", "3", "--minute", "0.2")

    def test_block(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        missing = "%d/crm/Accounts(guid'00000000-0000-4000-8000-000000000000')" % DIV
        for _ in range(3):
            self.assertEqual(f.api(tok, "GET", missing)[0], 404)
        st, _, body = f.api(tok, "GET", "%d/crm/Accounts" % DIV)
        self.assertEqual(st, 429)
        self.assertIn("too many errors", body["error"]["message"]["value"])
        self.assertEqual(f.api(tok, "GET", "%d/logistics/Items" % DIV)[0], 200)
        stats = f.admin("GET", "stats")[1]["divisions"][str(DIV)]
        self.assertEqual(stats["error_limited"], 1)
        self.assertEqual(stats["by_endpoint"]["GET crm/Accounts"]["404"], 3)
        # the block lasts one (compressed) hour: 60 * 0.2 s
        time.sleep(12.2)
        self.assertEqual(f.api(tok, "GET", "%d/crm/Accounts" % DIV)[0], 200)


class Faults(FakeCase):
    ARGS = ("--no-limits", "--seed", "7")

    def count(self):
        return self.fake.admin("GET", "divisions/%d/entities?type=Accounts" % DIV)[1]["count"]

    def test_before_and_after_write(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        st, cfg = f.admin("POST", "faults", {"division": DIV, "fail_before_write": 1.0})
        self.assertEqual((st, cfg["fail_before_write"]), (200, 1.0))
        st, _, _ = f.api(tok, "POST", "%d/crm/Accounts" % DIV, {"Name": "A"})
        self.assertEqual(st, 500)
        self.assertEqual(self.count(), 0)
        f.admin("POST", "faults", {"division": DIV, "fail_before_write": 0,
                                   "fail_after_write": 1.0, "status": 503})
        st, _, _ = f.api(tok, "POST", "%d/crm/Accounts" % DIV, {"Name": "B"})
        self.assertEqual(st, 503)
        self.assertEqual(self.count(), 1)
        f.admin("POST", "faults", {"division": DIV, "drop_connection": True})
        with self.assertRaises((ConnectionError, OSError, Exception)):
            f.api(tok, "POST", "%d/crm/Accounts" % DIV, {"Name": "C"})
        self.assertEqual(self.count(), 2)
        f.admin("POST", "faults", {"division": DIV, "fail_after_write": 0, "latency_ms": 150})
        t0 = time.time()
        self.assertEqual(f.api(tok, "GET", "%d/crm/Accounts" % DIV)[0], 200)
        self.assertGreaterEqual(time.time() - t0, 0.14)
        faults = f.admin("GET", "stats")[1]["divisions"][str(DIV)]["faults"]
        self.assertEqual(faults["before_write"], 1)
        self.assertEqual(faults["after_write"], 2)
        self.assertEqual(faults["dropped"], 1)
        st, cfg = f.admin("POST", "faults", {"division": DIV, "fail_before_write": 2})
        self.assertEqual(st, 400)
        # lost token response: rotated server side, old refresh token then refused
        f.admin("POST", "reset", {"faults": True})
        f2 = Fake("--token-ttl", "31")
        self.addCleanup(f2.close)
        tok = f2.login(DIV)
        f2.admin("POST", "faults", {"division": DIV, "token_fail_after_write": 1.0})
        time.sleep(1.1)
        st, _, body = f2.refresh(tok["refresh_token"])
        self.assertEqual(st, 500)
        self.assertIn("fault", body)
        f2.admin("POST", "faults", {"division": DIV, "token_fail_after_write": 0})
        st, _, body = f2.refresh(tok["refresh_token"])
        self.assertEqual((st, body["error_description"]), (401, "Old refresh token used."))


class Inspection(FakeCase):
    def test_reset_and_stats(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        self.account(tok, "1", "A")
        st, stats = f.admin("GET", "stats")
        self.assertEqual(stats["divisions"][str(DIV)]["by_endpoint"]["POST crm/Accounts"],
                         {"201": 1})
        self.assertEqual(stats["divisions"][str(DIV)]["created"]["Accounts"], 1)
        self.assertIn(DIV, f.admin("GET", "divisions")[1]["divisions"])
        st, ents = f.admin("GET", "divisions/%d/entities" % DIV)
        self.assertEqual(len(ents["entities"]["Accounts"]), 1)
        self.assertGreater(len(ents["entities"]["VATCodes"]), 20)
        self.assertEqual(f.admin("GET", "divisions/1/entities")[0], 404)
        f.admin("POST", "reset", {"data": True})
        self.assertEqual(f.admin("GET", "stats")[1]["divisions"][str(DIV)], {})
        st, ents = f.admin("GET", "divisions/%d/entities?type=Accounts" % DIV)
        self.assertEqual(ents["count"], 0)
        st, ents = f.admin("GET", "divisions/%d/entities?type=VATCodes" % DIV)
        self.assertGreater(ents["count"], 20)
        # tokens survive a data reset, and SIGTERM ends the process cleanly
        self.assertEqual(f.api(tok, "GET", "%d/crm/Accounts" % DIV)[0], 200)
        self.assertEqual(f.close(), 0)

    def test_raw_garbage(self):
        f = self.fake
        s = socket.create_connection((f.host, f.port), timeout=5)
        s.sendall(b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n")
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
        self.assertEqual(f.admin("GET", "health")[1], {"ok": True})



class AddressesAndPrices(FakeCase):
    """crm/Addresses, DeliveryAddress/DeliverToAddress references, logistics/SalesItemPrices and
    the read-only StandardSalesPrice (docs/research/exact-items-prices-currency-dates.md)."""

    def msg(self, data):
        return data["error"]["message"]["value"]

    def order(self, tok, acct, item, **extra):
        body = {"OrderedBy": acct, "SalesOrderLines": [
            {"Item": item, "Quantity": 1, "UnitPrice": 10.0, "VATCode": "2"}]}
        body.update(extra)
        return self.fake.api(tok, "POST", "%d/salesorder/SalesOrders" % DIV, body)

    def test_addresses(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        a = self.account(tok, "1", "Een")["ID"]
        b = self.account(tok, "2", "Twee")["ID"]
        it = self.item(tok, "A1")["ID"]
        ep = "%d/crm/Addresses" % DIV
        addr = {"Account": a, "Type": 4, "AddressLine1": "Keizersgracht 1",
                "Postcode": "1015 AA", "City": "Amsterdam", "Country": "NL"}
        for bad, want in [({"Type": 4, "AddressLine1": "x", "Country": "NL"},
                           "Mandatory: Account"),
                          ({"Account": a, "AddressLine1": "x", "Country": "NL"},
                           "Mandatory: Type"),
                          ({"Account": a, "Type": 7, "AddressLine1": "x", "Country": "NL"},
                           "Invalid value: Type"),
                          ({"Account": a, "Type": 4, "Country": "NL"},
                           "Mandatory: Address line 1"),
                          ({"Account": a, "Type": 4, "AddressLine1": "x"}, "Mandatory: Country"),
                          ({"Account": a, "Type": 4, "AddressLine1": "x", "Country": "nl"},
                           "Invalid reference: Country"),
                          ({"Account": "00000000-0000-0000-0000-000000000001", "Type": 4,
                            "AddressLine1": "x", "Country": "NL"}, "Invalid reference: Account")]:
            st, _, data = f.api(tok, "POST", ep, bad)
            self.assertEqual(st, 400, bad)
            self.assertIn(want, self.msg(data), bad)
        st, _, d1 = f.api(tok, "POST", ep, addr)
        self.assertEqual(st, 201, d1)
        d1 = d1["d"]
        self.assertEqual((d1["Country"], d1["AccountName"], d1["Main"]), ("NL ", "Een", False))
        # the same address again: Exact answers with the one it has
        st, _, d2 = f.api(tok, "POST", ep, addr)
        self.assertEqual((st, d2["d"]["ID"]), (201, d1["ID"]))
        st, _, d3 = f.api(tok, "POST", ep, dict(addr, City="Haarlem", Main=True))
        self.assertNotEqual(d3["d"]["ID"], d1["ID"])
        st, _, rows = f.api(tok, "GET", ep + "?$filter=" + q("Account eq guid'%s' and Type eq 4" % a))
        self.assertEqual(len(rows["d"]["results"]), 2)
        # a document refers to a type-4 address of the account it delivers to
        st, _, data = self.order(tok, a, it, DeliveryAddress=d1["ID"])
        self.assertEqual(st, 201, data)
        self.assertEqual(data["d"]["DeliveryAddress"], d1["ID"])
        for guid in ("00000000-0000-0000-0000-000000000002", d1["ID"]):
            st, _, data = self.order(tok, b, it, DeliveryAddress=guid)
            self.assertEqual(st, 400)
            self.assertIn("Invalid reference: Delivery address", self.msg(data))
        st, _, data = f.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, {
            "Journal": "70", "OrderedBy": b, "InvoiceTo": b, "DeliverToAddress": d1["ID"],
            "SalesInvoiceLines": [{"Item": it, "Quantity": 1, "UnitPrice": 1.0}]})
        self.assertEqual(st, 400)
        self.assertIn("Invalid reference: Deliver to address", self.msg(data))
        st, _, data = f.api(tok, "DELETE", ep + "(guid'%s')" % d1["ID"])
        self.assertEqual(st, 400)
        self.assertIn("Used in: Sales orders", self.msg(data))

    def test_item_prices(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        ep = "%d/logistics/SalesItemPrices" % DIV
        # StandardSalesPrice is GET only: a posted value is ignored
        it = self.item(tok, "P1", StandardSalesPrice=99.0)
        self.assertEqual(it["StandardSalesPrice"], 0)
        rows = f.api(tok, "GET", ep + "?$filter=" + q("Item eq guid'%s'" % it["ID"]))[2]
        rows = rows["d"]["results"]
        self.assertEqual(len(rows), 1)  # the usual row of 0 made with the item
        row = rows[0]
        self.assertEqual((row["Price"], row["Account"], row["Currency"], row["Unit"]),
                         (0, None, "EUR", "pc"))
        st, _, _ = f.api(tok, "PUT", ep + "(guid'%s')" % row["ID"], {"Price": 12.5})
        self.assertEqual(st, 204)
        got = f.api(tok, "GET", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]))[2]["d"]
        self.assertEqual(got["StandardSalesPrice"], 12.5)
        st, _, _ = f.api(tok, "PUT", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]),
                         {"StandardSalesPrice": 1.0})
        self.assertEqual(st, 204)
        got = f.api(tok, "GET", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]))[2]["d"]
        self.assertEqual(got["StandardSalesPrice"], 12.5)
        # a price agreement (with Account) and a future row leave the usual price alone
        acct = self.account(tok, "5", "Vijf")["ID"]
        st, _, _ = f.api(tok, "POST", ep, {"Item": it["ID"], "Price": 3.0, "Account": acct})
        self.assertEqual(st, 201)
        st, _, _ = f.api(tok, "POST", ep, {"Item": it["ID"], "Price": 4.0,
                                           "StartDate": "2999-01-01"})
        self.assertEqual(st, 201)
        got = f.api(tok, "GET", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]))[2]["d"]
        self.assertEqual(got["StandardSalesPrice"], 12.5)
        # a newer usual row takes over
        st, _, _ = f.api(tok, "POST", ep, {"Item": it["ID"], "Price": 14.0,
                                           "StartDate": "2020-01-01"})
        got = f.api(tok, "GET", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]))[2]["d"]
        self.assertEqual(got["StandardSalesPrice"], 14.0)
        for bad, want in [({"Price": 1.0}, "Mandatory: Item"),
                          ({"Item": it["ID"]}, "Mandatory: Price"),
                          ({"Item": "00000000-0000-0000-0000-000000000003", "Price": 1.0},
                           "Invalid reference: Item"),
                          ({"Item": it["ID"], "Price": 1.0, "Currency": "USD"},
                           "Invalid reference: Currency")]:
            st, _, data = f.api(tok, "POST", ep, bad)
            self.assertEqual(st, 400, bad)
            self.assertIn(want, self.msg(data), bad)
        # deleting the item takes its prices along
        st, _, _ = f.api(tok, "DELETE", "%d/logistics/Items(guid'%s')" % (DIV, it["ID"]))
        self.assertEqual(st, 204)
        rows = f.api(tok, "GET", ep + "?$filter=" + q("Item eq guid'%s'" % it["ID"]))[2]
        self.assertEqual(rows["d"]["results"], [])


class Payments(FakeCase):
    """Journal entries and receivables (docs/research/exact-payments.md §3, the matching rule)."""

    def gl(self, tok, code):
        rows = self.fake.api(tok, "GET", "%d/financial/GLAccounts?$filter=%s&$select=ID,Code" % (
            DIV, q("Code eq '%s'" % code)))[2]["d"]["results"]
        return rows[0]["ID"]

    def processed_invoice(self, tok, acct, item, ref, qty=2, price=10, typ=8020):
        body = {"Journal": "70", "OrderedBy": acct, "InvoiceTo": acct, "YourRef": ref,
                "PaymentCondition": "14", "Type": typ,
                "SalesInvoiceLines": [{"Item": item, "Quantity": qty, "UnitPrice": price,
                                       "VATCode": "2"}]}
        st, _, res = self.fake.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, body)
        self.assertEqual(st, 201, res)
        inv = res["d"]
        st, _, res = self.fake.api(tok, "POST", "%d/salesinvoice/PrintedSalesInvoices" % DIV,
                                   {"InvoiceID": inv["InvoiceID"]})
        self.assertEqual(st, 201, res)
        return inv

    def pay(self, tok, acct, ar, clearing, amount, ourref, journal="91"):
        line = {"GLAccount": ar, "Account": acct, "AmountFC": -amount,
                "Description": "Payment"}
        if ourref is not None:
            line["OurRef"] = ourref
        body = {"JournalCode": journal, "GeneralJournalEntryLines": [
            line, {"GLAccount": clearing, "AmountFC": amount}]}
        return self.fake.api(tok, "POST", "%d/generaljournalentry/GeneralJournalEntries" % DIV,
                             body)

    def open_items(self, tok, acct=None):
        if acct:
            path = "%d/read/financial/ReceivablesListByAccount?accountId=%s" % (
                DIV, q("guid'%s'" % acct))
        else:
            path = "%d/read/financial/ReceivablesList" % DIV
        st, _, res = self.fake.api(tok, "GET", path)
        self.assertEqual(st, 200, res)
        return res["d"]["results"]

    def msg(self, data):
        return data["error"]["message"]["value"]

    def test_receivables_and_matching(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "11", "Kim")["ID"]
        other = self.account(tok, "12", "Lex")["ID"]
        item = self.item(tok, "P")["ID"]
        ar, clearing = self.gl(tok, "1300"), self.gl(tok, "1190")
        # an open (unprocessed) invoice owes nothing yet
        body = {"Journal": "70", "OrderedBy": acct, "InvoiceTo": acct, "YourRef": "OPEN-1",
                "SalesInvoiceLines": [{"Item": item, "Quantity": 1, "UnitPrice": 5,
                                       "VATCode": "2"}]}
        self.assertEqual(f.api(tok, "POST", "%d/salesinvoice/SalesInvoices" % DIV, body)[0], 201)
        self.assertEqual(self.open_items(tok), [])
        inv = self.processed_invoice(tok, acct, item, "WEB-11")  # 2 x 10 + 21% = 24.20
        items = self.open_items(tok)
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["InvoiceNumber"], inv["InvoiceNumber"])
        self.assertEqual(items[0]["Amount"], 24.2)
        self.assertEqual(items[0]["AccountId"], acct)
        self.assertEqual(items[0]["YourRef"], "WEB-11")
        rec = f.api(tok, "GET", "%d/cashflow/Receivables?$filter=%s" % (
            DIV, q("InvoiceNumber eq %d" % inv["InvoiceNumber"])))[2]["d"]["results"]
        self.assertEqual([(r["Status"], r["AmountDC"], r["GLAccount"], r["IsFullyPaid"])
                          for r in rec], [(20, 24.2, ar, False)])
        # one cent short: the item stays open with the cent
        st, _, res = self.pay(tok, acct, ar, clearing, 24.19, inv["InvoiceNumber"])
        self.assertEqual(st, 201, res)
        self.assertEqual([i["Amount"] for i in self.open_items(tok, acct)], [0.01])
        entry = res["d"]["EntryID"]
        self.assertEqual(f.api(tok, "DELETE", "%d/generaljournalentry/GeneralJournalEntries"
                               "(guid'%s')" % (DIV, entry))[0], 204)
        self.assertEqual([i["Amount"] for i in self.open_items(tok, acct)], [24.2])
        # wrong OurRef, other account, no OurRef, one cent over: each an open item of its own
        for ref, who, amount in [(inv["InvoiceNumber"] + 1, acct, 24.2),
                                 (inv["InvoiceNumber"], other, 24.2),
                                 (None, acct, 24.2), (inv["InvoiceNumber"], acct, 24.21)]:
            st, _, res = self.pay(tok, who, ar, clearing, amount, ref)
            self.assertEqual(st, 201, res)
            left = self.open_items(tok)
            self.assertIn((inv["InvoiceNumber"], 24.2), [(i["InvoiceNumber"], i["Amount"])
                                                          for i in left])
            self.assertIn(-amount, [i["Amount"] for i in left])
            f.api(tok, "DELETE", "%d/generaljournalentry/GeneralJournalEntries(guid'%s')" % (
                DIV, res["d"]["EntryID"]))
        # the exact amount with the invoice's number on the debtor's line: matched
        st, _, res = self.pay(tok, acct, ar, clearing, 24.2, inv["InvoiceNumber"])
        self.assertEqual(st, 201, res)
        self.assertEqual(self.open_items(tok), [])
        rec = f.api(tok, "GET", "%d/cashflow/Receivables?$filter=%s" % (
            DIV, q("InvoiceNumber eq %d" % inv["InvoiceNumber"])))[2]["d"]["results"]
        self.assertEqual([(r["Status"], r["IsFullyPaid"]) for r in rec], [(50, True)])
        lines = f.api(tok, "GET", "%d/generaljournalentry/GeneralJournalEntryLines?$filter=%s" % (
            DIV, q("OurRef eq %d and Account eq guid'%s'" % (inv["InvoiceNumber"], acct))))
        self.assertEqual([(x["AmountFC"], x["GLAccountCode"], x["EntryID"])
                          for x in lines[2]["d"]["results"]], [(-24.2, "1300", res["d"]["EntryID"])])
        # a credit note is an item too (negative), settled by a repayment the other way
        cn = self.processed_invoice(tok, acct, item, "WEB-11", qty=-1, typ=8021)  # -12.10
        self.assertEqual([(i["InvoiceNumber"], i["Amount"]) for i in self.open_items(tok)],
                         [(cn["InvoiceNumber"], -12.1)])
        st, _, res = self.pay(tok, acct, ar, clearing, -12.1, cn["InvoiceNumber"])
        self.assertEqual(st, 201, res)
        self.assertEqual(self.open_items(tok), [])

    def test_strict_entries_and_receivables(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        acct = self.account(tok, "13", "Mo")["ID"]
        ar, clearing = self.gl(tok, "1300"), self.gl(tok, "1190")
        ep = "%d/generaljournalentry/GeneralJournalEntries" % DIV
        for body, want in [
                ({"GeneralJournalEntryLines": [{"GLAccount": clearing, "AmountFC": 0}]},
                 "Mandatory: Journal"),
                ({"JournalCode": "70", "GeneralJournalEntryLines": [
                    {"GLAccount": clearing, "AmountFC": 0}]}, "Invalid reference: Journal"),
                ({"JournalCode": "91"}, "Mandatory: Lines"),
                ({"JournalCode": "91", "GeneralJournalEntryLines": [{"AmountFC": 1},
                  {"GLAccount": clearing, "AmountFC": -1}]}, "Mandatory: G/L account"),
                ({"JournalCode": "91", "GeneralJournalEntryLines": [{"GLAccount": clearing}]},
                 "Mandatory: Amount"),
                ({"JournalCode": "91", "GeneralJournalEntryLines": [
                    {"GLAccount": ar, "AmountFC": -1}, {"GLAccount": clearing, "AmountFC": 1}]},
                 "Mandatory: Account"),
                ({"JournalCode": "91", "GeneralJournalEntryLines": [
                    {"GLAccount": ar, "Account": acct, "AmountFC": -1},
                    {"GLAccount": clearing, "AmountFC": 0.99}]}, "not in balance")]:
            st, _, res = f.api(tok, "POST", ep, body)
            self.assertEqual(st, 400, body)
            self.assertIn(want, self.msg(res), body)
        st, _, res = f.api(tok, "POST", ep, {"JournalCode": "91", "GeneralJournalEntryLines": [
            {"GLAccount": ar, "Account": acct, "AmountFC": -1, "Bogus": 1}]})
        self.assertEqual(st, 400)
        self.assertIn("'Bogus'", self.msg(res))
        self.assertEqual(f.admin("GET", "divisions/%d/entities?type=GeneralJournalEntryLines"
                                 % DIV)[1]["count"], 0)
        # no PUT on entries; no POST, no DELETE on receivables; PUT of three fields only
        st, _, res = self.pay(tok, acct, ar, clearing, 5.0, None)
        self.assertEqual(st, 201, res)
        self.assertEqual((res["d"]["Type"], res["d"]["JournalCode"]), (90, "91"))
        self.assertEqual(f.api(tok, "PUT", ep + "(guid'%s')" % res["d"]["EntryID"],
                               {"Reversal": True})[0], 405)
        rec = f.api(tok, "GET", "%d/cashflow/Receivables" % DIV)[2]["d"]["results"][0]
        rp = "%d/cashflow/Receivables(guid'%s')" % (DIV, rec["ID"])
        self.assertEqual(f.api(tok, "POST", "%d/cashflow/Receivables" % DIV, {})[0], 405)
        self.assertEqual(f.api(tok, "DELETE", rp)[0], 405)
        self.assertEqual(f.api(tok, "PUT", rp, {"PaymentReference": "ABC",
                                                "Description": "note"})[0], 204)
        got = f.api(tok, "GET", rp)[2]["d"]
        self.assertEqual((got["PaymentReference"], got["Description"], got["Status"]),
                         ("ABC", "note", 20))
        st, _, res = f.api(tok, "PUT", rp, {"Status": 50, "AmountDC": 0})
        self.assertEqual(f.api(tok, "GET", rp)[2]["d"]["Status"], 20)
        self.assertEqual(self.open_items(tok)[0]["Amount"], -5.0)
        # ByAccount needs its accountId; the list refuses writes
        st, _, res = f.api(tok, "GET", "%d/read/financial/ReceivablesListByAccount" % DIV)
        self.assertEqual(st, 400)
        self.assertEqual(f.api(tok, "POST", "%d/read/financial/ReceivablesList" % DIV, {})[0],
                         405)
        js = f.api(tok, "GET", "%d/financial/Journals?$filter=%s" % (
            DIV, q("Code eq '91'")))[2]["d"]["results"]
        self.assertEqual(js[0]["Type"], 90)


class BulkAndSync(FakeCase):
    """bulk/... and sync/... mirrors: GET only, $select required, pages of 1000."""

    def pages(self, tok, path):
        rows, n = [], 0
        st, _, page = self.fake.api(tok, "GET", path)
        while True:
            self.assertEqual(st, 200, page)
            n += 1
            self.assertLessEqual(len(page["d"]["results"]), 1000)
            rows += page["d"]["results"]
            nxt = page["d"].get("__next")
            if not nxt:
                return rows, n
            self.assertTrue(nxt.startswith(self.fake.base + "/api/v1/%d/" % DIV), nxt)
            st, _, page = self.fake.api(tok, "GET", nxt[len(self.fake.base) + 8:])

    def test_bulk_and_sync(self):
        f = self.fake
        tok = f.login(DIV)["access_token"]
        for i in range(1, 1206):
            self.item(tok, "P%04d" % i)
        rows, n = self.pages(tok, "%d/bulk/Logistics/Items?$select=ID,Code" % DIV)
        self.assertEqual(n, 2)
        self.assertEqual(sorted(r["Code"] for r in rows), ["P%04d" % i for i in range(1, 1206)])
        self.assertEqual(sorted(rows[0]), ["Code", "ID", "__metadata"])
        # without $select, or another method: refused
        st, _, body = f.api(tok, "GET", "%d/bulk/Logistics/Items" % DIV)
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["message"]["value"],
                         "Please add a $select or a $top=1 statement to the query string.")
        self.assertEqual(f.api(tok, "GET", "%d/sync/CRM/Accounts" % DIV)[0], 400)
        self.assertEqual(f.api(tok, "POST", "%d/bulk/CRM/Accounts" % DIV, {"Name": "x"})[0], 405)
        self.assertEqual(f.api(tok, "GET", "%d/bulk/CRM/Nope?$select=ID" % DIV)[0], 404)
        self.assertEqual(f.api(tok, "GET", "%d/bulk/Logistics/Items?$select=ID&$top=5" % DIV)[0],
                         400)
        # sync: everything from Timestamp 1, in Timestamp order; then only what changed
        rows, n = self.pages(tok, "%d/sync/Logistics/Items?$filter=%s&$select=ID,Code,Timestamp"
                             % (DIV, q("Timestamp gt 1L")))
        self.assertEqual(n, 2)
        self.assertEqual(len(rows), 1205)
        stamps = [r["Timestamp"] for r in rows]
        self.assertEqual(stamps, sorted(stamps))
        top = stamps[-1]
        a = self.account(tok, "77", "Nieuw", VATNumber="NL001")
        st, _, body = f.api(tok, "PUT", "%d/logistics/Items(guid'%s')" % (DIV, rows[5]["ID"]),
                            {"Description": "Anders"})
        self.assertEqual(st, 204, body)
        rows, _ = self.pages(tok, "%d/sync/Logistics/Items?$filter=%s&$select=ID,Code,Timestamp"
                             % (DIV, q("Timestamp gt %dL" % top)))
        self.assertEqual([r["Code"] for r in rows], ["P0006"])
        self.assertGreater(rows[0]["Timestamp"], top)
        rows, _ = self.pages(tok, "%d/sync/CRM/Accounts?$filter=%s&$select=ID,VATNumber,Timestamp"
                             % (DIV, q("Timestamp gt %dL" % top)))
        self.assertEqual([(r["ID"], r["VATNumber"]) for r in rows], [(a["ID"], "NL001")])
        st, _, body = f.api(tok, "GET", "%d/sync/CRM/Accounts?$filter=%s&$select=ID" %
                            (DIV, q("Name eq 'Nieuw'")))
        self.assertEqual(st, 400)


if __name__ == "__main__":
    unittest.main(verbosity=2)
