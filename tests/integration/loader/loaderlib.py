"""Shared set-up of the loader's integration tests and benchmark: an exact-fake, tenants in
PostgreSQL with sealed client secrets and consented tokens, commands produced with kcat in
the transformer's exact.commands format, and the fake's view of what was booked."""
import http.client
import json
import os
import random
import subprocess
import sys
import time
import unittest
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "harness"))
import cxtest  # noqa: E402

BUILD = os.environ.get("TEST_BUILD_DIR", "build")
LOADER = os.path.join(BUILD, "loader", "loader")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
FAKE = os.path.join(BUILD, "fakes", "exact", "exact-fake")
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
CLIENT_ID, CLIENT_SECRET = "cx-loader-test", "s3cret!"
REDIRECT = "https://connector.invalid/consent"


class Fake:
    def __init__(self, *args):
        self.proc = subprocess.Popen([FAKE, "--listen", "127.0.0.1:0", "--client",
                                      f"{CLIENT_ID}:{CLIENT_SECRET}", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.url = json.loads(line)["listen"]

    def get(self, path):
        status, body, _ = cxtest.http("GET", self.url + path, timeout=30)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def post(self, path, obj):
        status, body, _ = cxtest.http("POST", self.url + path, json.dumps(obj),
                                      {"Content-Type": "application/json"}, timeout=30)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def authorize(self, division):
        u = urllib.parse.urlparse(self.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        q = urllib.parse.urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT,
                                    "response_type": "code", "division": str(division)})
        c.request("GET", "/api/oauth2/auth?" + q)
        r = c.getresponse()
        loc = r.getheader("Location")
        c.close()
        qs = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        return qs["code"][0]

    def user_api(self, division):
        """A token of our own for @division, as the accountant's session in Exact: returns
        call(method, path, body) -> (status, parsed body)."""
        form = urllib.parse.urlencode({"grant_type": "authorization_code",
                                       "code": self.authorize(division), "redirect_uri": REDIRECT,
                                       "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        status, body, _ = cxtest.http("POST", self.url + "/api/oauth2/token", form,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        token = json.loads(body)["access_token"]

        def call(method, path, obj=None):
            hdrs = {"Authorization": "Bearer " + token, "Accept": "application/json",
                    "Prefer": "return=representation"}
            if obj is not None:
                hdrs["Content-Type"] = "application/json"
            st, b, _ = cxtest.http(method, f"{self.url}/api/v1/{division}/{path}",
                                   json.dumps(obj) if obj is not None else None, hdrs, timeout=30)
            return st, (json.loads(b) if b.startswith("{") else b)
        return call

    def entities(self, division, etype):
        return self.get(f"/_fake/divisions/{division}/entities?type={etype}")["entities"]

    def stats(self):
        return self.get("/_fake/stats")

    def stop(self):
        cxtest.terminate(self.proc)
        self.proc.stdout.close()


def psql(dsn, sql):
    return subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", dsn, "-c",
                           sql], check=True, stdout=subprocess.PIPE, text=True).stdout


def new_env(prefix):
    dsn = cxtest.new_database(prefix)
    subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": dsn}, check=True,
                   stdout=subprocess.DEVNULL)
    return {"CX_KAFKA_BROKERS": cxtest.need_env("TEST_KAFKA_BROKERS"), "CX_PG_DSN": dsn,
            "CX_TOPIC_PREFIX": cxtest.unique("ld"), "CX_SECRET_KEY": KEY,
            "CX_LOADER_GROUP": cxtest.unique("g"), "CX_LOADER_BACKOFF_BASE_MS": "100",
            "CX_LOADER_BACKOFF_MAX_MS": "2000", "CX_LOADER_DOUBT_GRACE_MS": "300",
            "CX_LOADER_MAX_ATTEMPTS": "30"}


def run_admin_cli(env, *args, stdin=None, kafka=False):
    """connector-admin with the database and key of @env (it refuses the loader's settings);
    with @kafka also its brokers and topic prefix (for redrive)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    names = ("CX_PG_DSN", "CX_SECRET_KEY") + (("CX_KAFKA_BROKERS", "CX_TOPIC_PREFIX") if kafka
                                               else ())
    mine = {k: env[k] for k in names if k in env}
    p = subprocess.run([ADMIN, *args], env={**base, **mine}, input=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def add_tenants(env, fake, n, first_division=1000):
    """n tenants t00.. with divisions first_division+i, client sealed, tokens consented."""
    tenants = {}
    for i in range(n):
        t = f"t{i:02d}"
        div = first_division + i
        sealed = run_admin_cli(env, "seal", t, stdin=CLIENT_SECRET + "\n")
        psql(env["CX_PG_DSN"],
             "INSERT INTO tenants (id, shop_base_url, shop_public_key, shop_secret_sealed, "
             f"exact_base_url, exact_division, exact_client_id, exact_client_secret_sealed, "
             f"exact_redirect_uri) VALUES ('{t}', 'http://shop.invalid', 'pk', 'x', "
             f"'{fake.url}', {div}, '{CLIENT_ID}', '{sealed}', '{REDIRECT}')")
        run_admin_cli(env, "tenants", "exchange-code", t, fake.authorize(div))
        tenants[t] = div
    return tenants


def order_command(tenant, n, rng, customers=5, items=6, invoice=False):
    cust = rng.randrange(customers) + 1
    code = str(100 + cust)
    acc = {"Code": code, "Name": f"Klant {tenant} {cust}", "Status": "C", "Country": "NL",
           "City": "Utrecht", "Email": f"k{cust}@example.invalid",
           "contact": {"FirstName": "Jan", "LastName": f"Klant{cust}"}}
    lines, defs, net, vat = [], {}, 0, Decimal(0)
    for k in range(rng.randrange(3) + 1):
        it = rng.randrange(items) + 1
        icode = f"SKU-{it}"
        qty = rng.randrange(3) + 1
        price = round(5 + it * 1.25, 2)
        defs[icode] = {"Code": icode, "Description": f"Artikel {it}", "IsSalesItem": True,
                       "ItemGroup": "001", "SalesVatCode": "2"}
        lines.append({"Item": icode, "Description": f"Artikel {it}", "Quantity": qty,
                      "UnitPrice": price, "NetPrice": price, "VATCode": "2",
                      "VATPercentage": 0.21})
        net += round(qty * price, 2)
        vat += cents(cents(Decimal(qty) * Decimal(str(price))) * Decimal("0.21"))
    body = {"OrderedBy": code, "InvoiceTo": code, "YourRef": f"{tenant}-{n:05d}",
            "Description": f"Webshop order {n}", "OrderDate": "2024-05-01T10:00:00",
            "Currency": "EUR", ("SalesInvoiceLines" if invoice else "SalesOrderLines"): lines}
    if invoice:
        body.update({"Journal": "70", "Type": 8020})
    return {"v": 1, "tenant": tenant, "kind": "sales_invoice" if invoice else "sales_order",
            "source_id": str(n), "trace_id": f"tr-{tenant}-{n}",
            "endpoint": "salesinvoice/SalesInvoices" if invoice else "salesorder/SalesOrders",
            "account": acc, "items": list(defs.values()), "body": body,
            "totals": {"net": round(net, 2), "vat": float(vat),
                       "gross": float(cents(Decimal(str(round(net, 2))) + vat))}}


def cents(d):
    """Rounded to cents half away from zero, as Exact rounds each line."""
    return d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def produce(env, records):
    """records: list of (key, value-text)."""
    topic = env["CX_TOPIC_PREFIX"] + "exact.commands"
    data = "".join(f"{k}\t{v}\n" for k, v in records)
    subprocess.run(["kcat", "-b", env["CX_KAFKA_BROKERS"], "-P", "-t", topic, "-K", "\t",
                    "-z", "none"], input=data, text=True, check=True, timeout=120)


def start_loaders(env, n, **extra):
    ds = []
    for i in range(n):
        e = dict(env)
        e.update({"CX_INSTANCE_ID": f"loader{i}", **{k: str(v) for k, v in extra.items()}})
        ds.append(cxtest.Daemon(LOADER, e, name=f"loader{i}").start())
    for d in ds:
        d.wait_ready(90)
    return ds


def booked(fake, division, etype="SalesOrders"):
    return fake.entities(division, etype)


def wait_until(pred, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def check_exactly_once(tc, fake, tenants, expected, etype="SalesOrders"):
    """expected: {tenant: {yourref: net}}. Every order once, totals equal, no duplicate
    accounts or items."""
    for t, div in tenants.items():
        docs = booked(fake, div, etype)
        refs = [d["YourRef"] for d in docs]
        tc.assertEqual(len(refs), len(set(refs)), f"{t}: a document was booked twice")
        tc.assertEqual(set(refs), set(expected[t]), f"{t}: documents differ")
        for d in docs:
            lines = d.get("SalesOrderLines") or d.get("SalesInvoiceLines") or []
            net = round(sum(l["AmountFC"] for l in lines), 2)
            tc.assertAlmostEqual(net, expected[t][d["YourRef"]], places=2)
        for et in ("Accounts", "Items", "Contacts"):
            ents = fake.entities(div, et)
            key = "Account" if et == "Contacts" else "Code"
            codes = [e[key] for e in ents]
            tc.assertEqual(len(codes), len(set(codes)), f"{t}: duplicate in {et}")


def random_seed():
    return int(os.environ.get("LOADER_IT_SEED", str(random.randrange(1 << 30))))


class LoaderCase(unittest.TestCase):
    """A test holding one exact-fake (self.fake) and loader daemons (self.loaders): both
    are stopped after it, and no loader may have printed a sanitizer report."""

    def setUp(self):
        self.fake = None
        self.loaders = []

    def tearDown(self):
        for d in self.loaders:
            d.kill()
        if self.fake:
            self.fake.stop()
        for d in self.loaders:
            out = d.output()
            self.assertNotIn("AddressSanitizer", out)
            self.assertNotIn("runtime error:", out)

    def logs_of_failure(self):
        return "\n".join(d.output()[-4000:] for d in self.loaders)
