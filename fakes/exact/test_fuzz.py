"""Fuzz-style robustness test of exact-fake: a few thousand random and malformed requests
(bad paths, filters, bodies, headers and raw bytes), then checks it still answers correctly."""

import json
import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakelib import Fake, q  # noqa: E402

DIV = 777
N_REQUESTS = int(os.environ.get("EXACT_FAKE_FUZZ_N", "3000"))
DEADLINE_S = 60

PATHS = ["crm/Accounts", "crm/Contacts", "logistics/Items", "logistics/ItemGroups",
         "salesorder/SalesOrders", "salesorder/SalesOrderLines", "salesinvoice/SalesInvoices",
         "vat/VATCodes", "cashflow/PaymentConditions", "financial/GLAccounts",
         "financial/Journals", "system/Divisions", "crm/Nope", "", "x/y/z/w",
         "generaljournalentry/GeneralJournalEntries",
         "generaljournalentry/GeneralJournalEntryLines", "cashflow/Receivables",
         "read/financial/ReceivablesList",
         "read/financial/ReceivablesListByAccount", "read/x/y"]
FILTERS = ["Code eq '1'", "ID eq guid'%s'", "Name eq", "(((", "not not Blocked eq true",
           "trim(Code) eq 'x' or Name ne null", "Created ge datetime'2024-01-01T00:00:00'",
           "Timestamp gt 1L", "Code eq 1", "startswith(Name,'A')", "'a' eq 'a'",
           "OrderNumber gt 5 and YourRef eq 'O''Brien'", "\x00\xff", "guid'", "datetime'x'",
           "substringof('x', Name) and not (Code eq '2')"]


def rand_str(rng, n):
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x2fff)]))
                   for _ in range(n))


def rand_json(rng, depth=0):
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 1e308, 2**63, 3.14159, -0.0])
    if kind == 2:
        return rand_str(rng, rng.randrange(0, 40))
    if kind == 3:
        return rng.choice(["11111111-1111-4111-8111-111111111111", "2024-02-30T25:00:00",
                           "/Date(99999999999999)/", "", "NL"])
    if kind == 4:
        return [rand_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["Name", "Code", "Description", "OrderedBy", "SalesOrderLines", "Item",
            "Quantity", "UnitPrice", "VATCode", "Journal", "InvoiceTo", "SalesInvoiceLines",
            "Discount", "OrderDate", "Bogus", "Country", "VATPercentages", "OrderNumber"]
    return {rng.choice(keys): rand_json(rng, depth + 1) for _ in range(rng.randrange(6))}


class Fuzz(unittest.TestCase):
    def test_keeps_serving(self):
        rng = random.Random(int(os.environ.get("EXACT_FAKE_FUZZ_SEED", "12345")))
        fake = Fake("--minute", "0.05", "--error-limit", "5", "--max-body", "65536")
        self.addCleanup(fake.close)
        tok = fake.login(DIV)
        acct = fake.api(tok["access_token"], "POST", "%d/crm/Accounts" % DIV, {"Name": "F"})
        self.assertEqual(acct[0], 201)
        guid = acct[2]["d"]["ID"]
        statuses = {}
        start = time.time()
        for i in range(N_REQUESTS):
            if time.time() - start > DEADLINE_S:
                break
            r = rng.random()
            try:
                if r < 0.05:
                    self.raw(fake, rng)
                    continue
                method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
                div = rng.choice([DIV, DIV, 1, 0, -5, 99999999999])
                path = rng.choice(PATHS)
                if rng.random() < 0.3:
                    path += rng.choice(["(guid'%s')" % guid, "(guid'zz')", "(", "(1)",
                                        "/$count", "(guid'%s')/x" % guid])
                url = "/api/v1/%s/%s" % (div, path)
                if rng.random() < 0.05:
                    url = rng.choice(["/api/v1/current/Me", "/api/oauth2/token",
                                      "/api/oauth2/auth?client_id=test-client",
                                      "/_fake/stats", "/_fake/divisions/%d/entities" % DIV,
                                      "/_fake/faults", "/", "/api/v1/"])
                opts = []
                if rng.random() < 0.5:
                    flt = rng.choice(FILTERS)
                    if "%s" in flt:
                        flt = flt % guid
                    opts.append("$filter=" + q(flt))
                if rng.random() < 0.3:
                    opts.append("$select=" + q(rng.choice(["ID,Code", "Nope", "*", ",", ""])))
                if rng.random() < 0.3:
                    opts.append("$top=" + rng.choice(["1", "-1", "x", "100000000000", "0"]))
                if rng.random() < 0.2:
                    opts.append("accountId=" + q(rng.choice(["guid'%s'" % guid, "guid'zz'",
                                                             "guid'", "x", ""])))
                if rng.random() < 0.2:
                    opts.append("$skiptoken=" + q(rng.choice(["guid'%s'" % guid, "'", "5"])))
                if rng.random() < 0.2:
                    opts.append(rng.choice(["$expand=SalesOrderLines", "$orderby=Name%20desc",
                                            "$orderby=Nope", "$inlinecount=allpages",
                                            "$bogus=1", "$format=xml"]))
                if opts:
                    url += "?" + "&".join(opts)
                headers = {"Accept": rng.choice(["application/json", "*/*", "text/xml"])}
                auth = rng.random()
                if auth < 0.8:
                    headers["Authorization"] = "Bearer " + tok["access_token"]
                elif auth < 0.9:
                    headers["Authorization"] = "Bearer " + "".join(
                        chr(rng.randrange(33, 127)) for _ in range(20))
                body = None
                if method in ("POST", "PUT"):
                    b = rng.random()
                    if b < 0.6:
                        body = json.dumps(rand_json(rng)).encode()
                    elif b < 0.8:
                        body = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
                    elif b < 0.9:
                        body = b"[" * 5000
                    else:
                        body = b"{" + b'"a":' * 200
                    headers["Content-Type"] = rng.choice(["application/json", "text/plain"])
                st, _, _ = fake.request(method, url, body=body, headers=headers, timeout=5)
                statuses[st] = statuses.get(st, 0) + 1
                self.assertLess(st, 600)
            except (ConnectionError, OSError) as e:
                # only injected drops may close a connection; none are configured here
                self.fail("connection failed on request %d: %r" % (i, e))
        self.assertIsNone(fake.proc.poll(), "exact-fake died")
        # still serving correctly
        self.assertEqual(fake.admin("GET", "health")[1], {"ok": True})
        time.sleep(3.1)     # let the compressed error-limit hour (3 s) run out
        # a fresh account: the fuzz may well have DELETEd the first one, by its own GUID
        st, _, data = fake.api(tok["access_token"], "POST", "%d/crm/Accounts" % DIV,
                               {"Name": "After"})
        self.assertEqual(st, 201, data)
        st, _, data = fake.api(tok["access_token"], "GET",
                               "%d/crm/Accounts(guid'%s')" % (DIV, data["d"]["ID"]))
        self.assertEqual(st, 200, data)
        self.assertEqual(data["d"]["Name"], "After")
        self.assertGreater(statuses.get(400, 0), 0)
        self.assertGreater(statuses.get(200, 0), 0)
        print("fuzz statuses:", dict(sorted(statuses.items())))
        self.assertEqual(fake.close(), 0)

    def raw(self, fake, rng):
        s = socket.create_connection((fake.host, fake.port), timeout=2)
        try:
            junk = rng.choice([
                b"GET /api/v1/%d/crm/Accounts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
                % DIV,
                b"POST /api/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
                bytes(rng.randrange(256) for _ in range(300)),
                b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 2000 + b"\r\n",
            ])
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
        except OSError:
            pass
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
