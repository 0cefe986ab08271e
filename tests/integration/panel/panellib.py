"""Shared set-up of the control panel's integration tests: a fresh database with two tenants,
panel users, an exact-fake, the panel daemon, and an HTTP client that keeps the session
cookie and sends the CSRF token the way the page does."""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
import cxtest  # noqa: E402

BUILD = os.environ.get("TEST_BUILD_DIR", "build")
PANEL = os.path.join(BUILD, "panel", "panel")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
LOADER = os.path.join(BUILD, "loader", "loader")
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
EXACT_FAKE = os.path.join(BUILD, "fakes", "exact", "exact-fake")
CCV_FAKE = os.path.join(BUILD, "fakes", "ccvshop", "ccvshop-fake")
KEY = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLIENT_ID, CLIENT_SECRET = "cx-panel-test", "panel-app-secret"
DIVISION = 4242
PASSWORDS = {"op": "operator-pass-1", "owner-a": "owner-a-pass-1", "owner-b": "owner-b-pass-1",
             "victim": "victim-pass-1"}


def sample_order(order_id=5001):
    with open(os.path.join(HERE, "sample_order.json"), encoding="utf-8") as f:
        o = json.load(f)
    o["id"] = order_id
    o["ordernumber"] = order_id
    o["ordernumber_full"] = f"WEB-{order_id}"
    for r in o["orderrows"]:
        r["order_id"] = order_id
    return o


def rules(tenant, with_standard=True):
    codes = [{"code": "0", "scenario": "domestic", "class": "zero", "percentage": 0}]
    if with_standard:
        codes.insert(0, {"code": "2", "scenario": "domestic", "class": "standard",
                         "percentage": 21})
    return {"tenant": tenant, "division": DIVISION, "home_country": "NL",
            "oss_registered": True, "book_as": "salesorder", "vat_codes": codes}


def wait(test, what, fn, timeout=90):
    """fn()'s first true value within timeout seconds, else test fails (a test's method)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    test.fail(f"timed out waiting for {what}")


class ExactFake:
    def __init__(self):
        self.proc = subprocess.Popen([EXACT_FAKE, "--listen", "127.0.0.1:0", "--client",
                                      f"{CLIENT_ID}:{CLIENT_SECRET}",
                                      "--default-division", str(DIVISION)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = json.loads(self.proc.stdout.readline())["listen"]

    def entities(self, etype, division=DIVISION):
        status, body, _ = cxtest.http(
            "GET", f"{self.url}/_fake/divisions/{division}/entities?type={etype}")
        assert status == 200, body
        return json.loads(body)["entities"]

    def stop(self):
        cxtest.terminate(self.proc)
        self.proc.stdout.close()


def run(exe, env, *args, stdin=None, check=True):
    base = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    p = subprocess.run([exe, *args], env={**base, **env}, input=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if check:
        assert p.returncode == 0, (exe, args, p.returncode, p.stderr)
    return p


class Stack:
    """Database, exact-fake and panel for one test module; stop() always cleans up."""

    def __init__(self, prefix="t_panel", panel_env=None):
        self.fake = None
        self.panel = None
        self.daemons = []
        try:
            self._start(prefix, panel_env or {})
        except BaseException:
            self.stop()
            raise

    def _start(self, prefix, panel_env):
        self.dsn = cxtest.new_database(prefix)
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        self.topic_prefix = cxtest.unique("pn") + "."
        self.port = cxtest.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {"CX_PG_DSN": self.dsn, "CX_KAFKA_BROKERS": self.brokers,
                    "CX_TOPIC_PREFIX": self.topic_prefix, "CX_SECRET_KEY": KEY}
        run(ADMIN, {"CX_PG_DSN": self.dsn}, "migrate")
        self.fake = ExactFake()
        for t in ("shop-a", "shop-b"):
            sealed = run(ADMIN, self.env, "seal", t, stdin=CLIENT_SECRET + "\n").stdout.strip()
            cxtest.psql(self.dsn, "INSERT INTO tenants (id, name, shop_base_url, shop_public_key,"
                        " shop_secret_sealed, exact_base_url, exact_division, exact_client_id,"
                        " exact_client_secret_sealed, exact_redirect_uri) VALUES"
                        f" ('{t}', 'Shop {t}', 'http://127.0.0.1:1', 'pk', '', '{self.fake.url}',"
                        f" {DIVISION}, '{CLIENT_ID}', '{sealed}',"
                        f" '{self.base}/oauth/callback')")
            cxtest.psql(self.dsn, f"INSERT INTO exact_tokens (tenant_id) VALUES ('{t}')")
        for name, role, tenant in (("op", "operator", None), ("owner-a", "owner", "shop-a"),
                                   ("owner-b", "owner", "shop-b"),
                                   ("victim", "owner", "shop-a")):
            args = ["users", "add", name, "--role", role] + (["--tenant", tenant] if tenant else [])
            run(ADMIN, self.env, *args, stdin=PASSWORDS[name] + "\n")
        self.panel_env = panel_env
        self.panel = cxtest.Daemon(PANEL, self._panel_env(self.port, panel_env),
                                   name="panel").start()
        self.panel.wait_ready(60)

    def _panel_env(self, port, panel_env):
        return {**self.env, "CX_HTTP_ADDR": "127.0.0.1", "CX_HTTP_PORT": str(port),
                "CX_PANEL_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "CX_PANEL_COOKIE_SECURE": "false",
                "CX_PANEL_FAIL_DELAY_MS": "400", "CX_PANEL_LOCKOUT_AFTER": "3",
                "CX_PANEL_LOCKOUT_S": "3", "CX_LOG_LEVEL": "debug",
                # every test client is 127.0.0.1: the per-address and global sign-in limits
                # are tested on their own (test_panel_users.py), not by the other tests
                "CX_PANEL_LOGIN_PER_ADDR_PER_MIN": "100000", "CX_PANEL_LOGIN_PER_S": "10000",
                **panel_env}

    def extra_panel(self, panel_env):
        """A second panel on the same database with settings of its own; returns its base URL
        (stopped with the stack)."""
        port = cxtest.free_port()
        d = cxtest.Daemon(PANEL, self._panel_env(port, {**self.panel_env, **panel_env}),
                          name=f"panel-{port}").start()
        self.daemons.append(d)
        d.wait_ready(60)
        return f"http://127.0.0.1:{port}"

    def daemon(self, exe, env, name, without=()):
        full = {k: v for k, v in {**self.env, **env}.items() if k not in without}
        d = cxtest.Daemon(exe, full, name=name).start()
        self.daemons.append(d)
        return d

    def stop(self):
        """Stop everything; then fail unless the panel exited cleanly (0, no sanitizer report)."""
        rc = None
        for d in self.daemons:
            d.kill()
        if self.panel:
            rc = self.panel.stop()
        if self.fake:
            self.fake.stop()
        if self.panel:
            out = self.panel.output()
            for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                assert bad not in out, out[-4000:]
            assert rc == 0, f"panel exited with {rc}:\n{out[-3000:]}"


class Client:
    """A browser-like API client: the session cookie and the CSRF token of the page."""

    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, raw=None, csrf=True):
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if method not in ("GET", "HEAD") and csrf and self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        if self.cookie:
            h["Cookie"] = self.cookie
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            hdrs = r.getheaders()
        finally:
            c.close()
        try:
            obj = json.loads(text) if text else None
        except ValueError:
            obj = None
        return r.status, obj, text, hdrs

    def login(self, user, password=None):
        status, obj, text, hdrs = self.request(
            "POST", "/api/login", {"user": user, "password": password or PASSWORDS[user]})
        if status == 200:
            for k, v in hdrs:
                if k.lower() == "set-cookie":
                    self.cookie = v.split(";", 1)[0]
            self.csrf = obj["csrf"]
        return status, obj, hdrs
