"""Helpers of the admin tests: run connector-admin, start exact-fake, consent through it."""
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "harness"))
import cxtest  # noqa: E402

BUILD = os.environ.get("TEST_BUILD_DIR", "build")
SOURCE = os.environ.get("TEST_SOURCE_DIR", ".")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
FAKE = os.path.join(BUILD, "fakes", "exact", "exact-fake")
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
KEY2 = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"
CLIENT_ID, CLIENT_SECRET = "cx-admin-test", "exact-Client-S3cret!"
SHOP_SECRET = "shop-S3cret-value-42"
REDIRECT = "https://connector.invalid/consent"


def base_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("CX_")}


class Result:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"rc={self.rc}\nstdout={self.out}\nstderr={self.err}"


class Admin:
    """connector-admin with one environment; every output is kept to check for secrets."""

    def __init__(self, env):
        self.env = dict(env)
        self.outputs = []

    def __call__(self, *args, stdin=None, env=None, timeout=60):
        e = {**base_env(), **self.env, **(env or {})}
        p = subprocess.run([ADMIN, *args], env=e, input=stdin, text=True, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.outputs.append(p.stdout + p.stderr)
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in p.stderr, f"sanitizer report from {args}:\n{p.stderr}"
        return Result(p)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, repr(r)
        return r

    def js(self, *args, **kw):
        return self.ok("--json", *args, **kw).json()


def new_env(prefix="t_adm"):
    dsn = cxtest.new_database(prefix)
    env = {"CX_PG_DSN": dsn, "CX_KAFKA_BROKERS": cxtest.need_env("TEST_KAFKA_BROKERS"),
           "CX_TOPIC_PREFIX": cxtest.unique("adm"), "CX_SECRET_KEY": KEY}
    Admin(env).ok("migrate")
    return env


class Fake:
    def __init__(self, *args):
        self.proc = subprocess.Popen([FAKE, "--listen", "127.0.0.1:0", "--client",
                                      f"{CLIENT_ID}:{CLIENT_SECRET}", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = json.loads(self.proc.stdout.readline())["listen"]

    def consent(self, auth_url, division):
        """Follow the authorization URL as a browser would; return (code, state)."""
        u = urllib.parse.urlparse(auth_url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", f"{u.path}?{u.query}&division={division}")
        r = c.getresponse()
        loc = r.getheader("Location")
        c.close()
        assert loc, f"no redirect from {auth_url}: {r.status}"
        qs = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        return qs["code"][0], qs.get("state", [""])[0]

    def entities(self, division, etype):
        status, body, _ = cxtest.http(
            "GET", f"{self.url}/_fake/divisions/{division}/entities?type={etype}")
        if status == 404:
            return []
        assert status == 200, body
        return json.loads(body)["entities"]

    def stop(self):
        cxtest.terminate(self.proc)
        self.proc.stdout.close()


def add_consented_tenant(adm, fake, tenant, division):
    """A tenant on the fake with sealed secrets and tokens in state ok, all through the CLI."""
    adm.ok("tenants", "add", tenant, "--shop-url", "https://shop.invalid", "--shop-public-key",
           "pk-" + tenant, "--exact-url", fake.url, "--division", str(division),
           "--exact-client-id", CLIENT_ID, "--redirect-uri", REDIRECT,
           "--shop-secret-file", "-", stdin=SHOP_SECRET + "\n")
    adm.ok("tenants", "set-credentials", tenant, "--exact-secret-file", "-",
           stdin=CLIENT_SECRET + "\n")
    start = adm.js("tenants", "consent-url", tenant)
    code, state = fake.consent(start["url"], division)
    adm.ok("tenants", "consent-complete", tenant, code, "--state", state)


def rules(tenant, division, codes=None):
    return {
        "tenant": tenant, "division": division, "home_country": "NL", "oss_registered": True,
        "book_as": "salesorder", "shipping_item": "VERZEND", "discount_item": "KORTING",
        "vat_codes": codes if codes is not None else [
            {"code": "2", "scenario": "domestic", "class": "standard", "percentage": 21},
            {"code": "1", "scenario": "domestic", "class": "reduced", "percentage": 9},
            {"code": "0", "scenario": "domestic", "class": "zero", "percentage": 0},
            {"code": "ICP", "scenario": "icp", "percentage": 0},
            {"code": "EXP", "scenario": "export", "percentage": 0},
            {"code": "D1", "scenario": "oss", "country": "DE", "class": "standard",
             "percentage": 19},
            {"code": "D2", "scenario": "oss", "country": "DE", "class": "reduced",
             "percentage": 7},
        ]}


def psql(dsn, sql):
    return cxtest.psql(dsn, sql)
