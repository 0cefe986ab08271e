#!/usr/bin/env python3
"""The compose stack started for real, on a private Docker engine (tests/harness/images.py)
with images built here: the connector and fakes images from compose/Dockerfile, stand-ins
for the Kafka and PostgreSQL images.

As docs/runbook.md has an operator do it (its own commands, taken from the page): the
secret files, `up -d` with the demo profile, the /readyz checks with `exec -T`, three shops
onboarded with connector-admin in the `admin` service. Then, while orders flow in the shop
fake: the loaders scaled to three with --scale, one loader container killed, the Kafka
container removed and created again (its volume kept), the transformer group's offsets
replayed over a time range and one tenant extracted again. Every bookable order (the
transformer's dry run of the shop's orders with the imported rules) is in exact-fake exactly
once, read back from its /_fake inspection; the panel answers on its published port.
A missing Docker engine is a failure, never a skip."""
import collections
import datetime
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

BUILD = os.path.abspath(os.environ.get("TEST_BUILD_DIR", "build"))
SOURCE = os.path.abspath(os.environ.get("TEST_SOURCE_DIR", "."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
import cxtest  # noqa: E402
import images  # noqa: E402

COMPOSE = os.path.join(SOURCE, "compose", "docker-compose.yml")
RUNBOOK = os.path.join(SOURCE, "docs", "runbook.md")
CCV_FAKE = os.path.join(BUILD, "fakes", "ccvshop", "ccvshop-fake")
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
SHOPS, ORDERS = 3, 12
EXACT_CLIENT, EXACT_SECRET = "demo-client", "demo-secret"


def log(msg):
    print(f"[compose-stack {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def runbook_commands(section):
    """The shell commands of the ```sh blocks of one section of docs/runbook.md, in order,
    with continuation lines joined."""
    with open(RUNBOOK) as f:
        text = f.read()
    m = re.search(r"^## " + re.escape(section) + r"\n(.*?)(?=^## )", text, re.M | re.S)
    out = []
    for block in re.findall(r"```sh\n(.*?)```", m.group(1), re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        out += [ln.strip() for ln in joined.splitlines() if ln.strip()]
    return out


class Stack(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.t0 = time.time()
        cls.engine = images.Engine()
        cls.dir = tempfile.mkdtemp(prefix="cx-compose-test-")
        cls.project = "cx" + secrets.token_hex(4)
        try:
            cls.engine.start()
            cls.images = cls.engine.build_all()
            cls.t_images = time.time() - cls.t0
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        """compose/ as the runbook has it: the env file from the example, the secret files."""
        os.makedirs(os.path.join(cls.dir, "compose", "secrets"))
        os.symlink(COMPOSE, os.path.join(cls.dir, "compose", "docker-compose.yml"))
        sdir = os.path.join(cls.dir, "compose", "secrets")
        password = secrets.token_hex(12)
        files = {"pg_password": password,
                 "pg_dsn": f"host=postgres port=5432 user=connector password={password} "
                           "dbname=connector",
                 "secret_key": secrets.token_hex(32)}
        for name, value in files.items():
            with open(os.path.join(sdir, name), "w") as f:
                f.write(value + "\n")
            os.chmod(os.path.join(sdir, name), 0o644)
        cls.ports = {k: cxtest.free_port() for k in ("PANEL_PORT", "EXACT_FAKE_PORT",
                                                     "CCVSHOP_FAKE_PORT", "VIES_FAKE_PORT")}
        over = {**cls.images, **{k: str(v) for k, v in cls.ports.items()},
                "SECRETS_DIR": sdir,
                "CX_PANEL_PUBLIC_URL": f"http://127.0.0.1:{cls.ports['PANEL_PORT']}",
                "KAFKA_HEAP_OPTS": "-Xms256m -Xmx512m",
                "CX_EXTRACT_ORDERS_INTERVAL_S": "3", "CX_EXTRACT_TENANT_REFRESH_S": "2",
                "DEMO_SHOPS": str(SHOPS), "DEMO_ORDERS": str(ORDERS), "LOADER_REPLICAS": "2",
                "CX_ADMIN_HTTP_HOSTS": "ccvshop-fake,exact-fake",
                "CX_VIES_URL": "http://vies-fake:8082"}
        lines = []
        with open(os.path.join(SOURCE, "compose", "connector.env.example")) as f:
            for ln in f:
                k = ln.split("=", 1)[0]
                lines.append(f"{k}={over.pop(k)}\n" if k in over else ln)
        lines += [f"{k}={v}\n" for k, v in over.items()]
        with open(os.path.join(cls.dir, "compose", ".env"), "w") as f:
            f.writelines(lines)
        cls.env = {**os.environ, **cls.engine.env, "COMPOSE_PROJECT_NAME": cls.project}
        cls.env = {k: v for k, v in cls.env.items() if not k.startswith("CX_")}

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "env", None):
                logs = cls.compose("logs", "--no-color", "--tail", "200", check=False).stdout
                art = os.path.join(SOURCE, "tests", "artifacts")
                os.makedirs(art, exist_ok=True)
                with open(os.path.join(art, "compose-stack.log"), "w") as f:
                    f.write(logs)
                cls.compose("down", "-v", "--remove-orphans", "-t", "20", check=False)
        finally:
            cls.engine.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)
            log(f"total {time.time() - cls.t0:.0f}s")

    # -- commands as the operator types them ---------------------------------------------
    @classmethod
    def compose(cls, *args, check=True, stdin=None, timeout=600):
        p = subprocess.run(["docker-compose", "--env-file", "compose/.env", "-f",
                            "compose/docker-compose.yml", "--profile", "demo", *args],
                           cwd=cls.dir, env=cls.env, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}: {p.returncode}\n{p.stdout}")
        return p

    def sh(self, command, check=True):
        """One runbook command, in a shell that has the runbook's connector-admin alias."""
        p = subprocess.run(["sh", "-c", self.prelude + "\n" + command], cwd=self.dir, env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"{command}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p.stdout

    def admin(self, *args):
        return self.sh("connector-admin " + " ".join(shlex.quote(a) for a in args))

    # -- the fakes, from the host ---------------------------------------------------------
    def fake(self, which, method, path, body=None):
        port = self.ports["EXACT_FAKE_PORT" if which == "exact" else "CCVSHOP_FAKE_PORT"]
        status, text, _ = cxtest.http(method, f"http://127.0.0.1:{port}{path}",
                                      json.dumps(body) if body is not None else None,
                                      {"Content-Type": "application/json"})
        self.assertLess(status, 300, f"{method} {path}: {status} {text}")
        return json.loads(text)

    def documents(self, division):
        body = self.fake("exact", "GET",
                         f"/_fake/divisions/{division}/entities?type=SalesOrders")
        return collections.Counter(d.get("YourRef") for d in body.get("entities", []))

    # -- the scenario ----------------------------------------------------------------------
    def test_stack(self):
        t = {"images": self.t_images}
        with open(RUNBOOK) as f:
            text = f.read()
        self.prelude = re.search(r"^alias connector-admin=.*$", text, re.M).group(0)
        self.assertIn("run --rm -T admin", self.prelude)

        t0 = time.time()
        self.compose("up", "-d")
        for svc in ("extractor", "transformer", "loader", "panel"):
            self.wait(lambda: self.compose("exec", "-T", svc, "curl", "-fsS",
                                           "http://127.0.0.1:9100/readyz",
                                           check=False).returncode == 0, 180, f"{svc} ready")
        t["up"] = time.time() - t0
        log(f"stack up and ready in {t['up']:.0f}s")
        self.check_panel()

        t0 = time.time()
        self.since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            seconds=5)
        shops = self.fake("ccv", "GET", "/_fake/shops")["shops"]
        self.assertEqual(len(shops), SHOPS)
        self.tenants = {}
        errors = []
        threads = [threading.Thread(target=self.onboard_safely, args=(s, errors))
                   for s in shops]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        t["onboard"] = time.time() - t0
        log(f"three shops onboarded by the runbook in {t['onboard']:.0f}s")
        self.expect = {n: self.bookable(n) for n in self.tenants}

        t0 = time.time()
        self.add_orders(2)
        self.compose("up", "-d", "--no-recreate", "--scale", "loader=3", "loader")
        self.assertEqual(len(self.containers("loader")), 3)
        self.add_orders(2)
        victim = self.containers("loader")[1]
        self.engine.docker("kill", "-s", "KILL", victim)
        log(f"killed {victim}")
        self.add_orders(1)
        self.wait_synced(300, "after scaling and the kill")
        t["scale+kill"] = time.time() - t0

        t0 = time.time()
        self.compose("rm", "-s", "-f", "kafka")
        self.add_orders(1)
        self.compose("up", "-d", "--no-recreate", "kafka")
        self.add_orders(1)
        self.wait_synced(300, "after Kafka was recreated")
        t["kafka"] = time.time() - t0

        t0 = time.time()
        self.replay()
        t["replay"] = time.time() - t0
        self.check_panel()
        log("times: " + ", ".join(f"{k} {v:.0f}s" for k, v in t.items()))

    def wait(self, cond, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(2)
        self.fail(f"{what}: not within {timeout}s")

    def check_panel(self):
        base = f"http://127.0.0.1:{self.ports['PANEL_PORT']}"
        status, body, _ = cxtest.http("GET", base + "/readyz")
        self.assertEqual(status, 200, body)
        status, body, _ = cxtest.http("GET", base + "/")
        self.assertLess(status, 500, body)
        self.assertTrue(body)

    def containers(self, svc):
        out = self.compose("ps", "-q", svc).stdout.split()
        running = []
        for cid in out:
            state = self.engine.docker("inspect", "-f", "{{.State.Running}}", cid).stdout
            if state.strip() == "true":
                running.append(cid)
        return running

    def onboard_safely(self, shop, errors):
        try:
            self.onboard(shop)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(f"shop {shop['n']}: {e}")

    def onboard(self, shop):
        """docs/runbook.md's "Onboard a tenant", command by command, with this shop's values
        in place of the page's placeholders."""
        n = shop["n"]
        tenant, division = f"shop-{n}", 100000 + n
        with open(os.path.join(self.dir, f"{tenant}-shop.secret"), "w") as f:
            f.write(shop["secret"] + "\n")
        with open(os.path.join(self.dir, f"{tenant}-exact.secret"), "w") as f:
            f.write(EXACT_SECRET + "\n")
        values = {"Acme BV": shlex.quote(shop["name"]),
                  "https://www.acme.nl": f"http://ccvshop-fake:8081{shop['path_prefix']}",
                  "PUBLIC_KEY": shlex.quote(shop["public_key"]),
                  "https://start.exactonline.nl": "http://exact-fake:8080",
                  "1234567": str(division), "CLIENT_ID": EXACT_CLIENT,
                  "https://connector.example/consent": "http://127.0.0.1/exact/callback"}
        commands = runbook_commands("Onboard a tenant")
        self.assertGreaterEqual(len(commands), 8, commands)
        for cmd in commands:
            for k, v in values.items():
                cmd = cmd.replace(k, v)
            cmd = re.sub(r"\bacme\b", tenant, cmd)
            if " consent-complete " in cmd:
                code, state = self.consent(values["url"], division)
                cmd = cmd.replace("CODE", code).replace("STATE", shlex.quote(state))
            out = self.sh(cmd)
            if " consent-url " in cmd:
                values["url"] = re.search(r"^url: (\S+)", out, re.M).group(1)
            if " tenants show " in cmd:
                self.assertRegex(out, r"token_state: ok")
        with open(os.path.join(self.dir, f"{tenant}-rules.json")) as f:
            rules = json.load(f)
        for item in ("shipping_item", "discount_item", "payment_cost_item"):
            self.assertTrue(rules.get(item), f"the proposal has no {item}")
        self.tenants[n] = {"id": tenant, "division": division, "rules": rules}

    def consent(self, auth_url, division):
        """The customer's browser: the authorization URL on exact-fake's published port."""
        u = urllib.parse.urlparse(auth_url)
        c = http.client.HTTPConnection("127.0.0.1", self.ports["EXACT_FAKE_PORT"], timeout=10)
        c.request("GET", f"{u.path}?{u.query}&division={division}")
        r = c.getresponse()
        loc = r.getheader("Location")
        c.close()
        self.assertTrue(loc, f"consent gave {r.status}")
        qs = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        return qs["code"][0], qs.get("state", [""])[0]

    def bookable(self, n):
        """YourRef of every order of shop n that must become a document: extracted (completed,
        not cancelled, paid or not: the runbook's tenants book orders paid on account too) and
        accepted by the transformer's dry run with the rules the runbook imported."""
        dump = subprocess.run([CCV_FAKE, "--dump-orders", "--shops", str(SHOPS), "--orders",
                               str(ORDERS)], stdout=subprocess.PIPE, text=True,
                              check=True).stdout
        orders = [o for o in map(json.loads, dump.splitlines()) if o.get("shop") == n]
        return self.dry_run(n, orders)

    def dry_run(self, n, orders):
        orders = [dict(o) for o in orders if o.get("is_completed") and o.get("status") != 8]
        deliberate = set()  # the generator's contradictory orders, meant to be refused
        for o in orders:
            o.pop("shop", None)
            if (o.pop("_fake_expect", None) or {}).get("reject"):
                deliberate.add(str(o.get("id")))
        path = os.path.join(self.dir, f"expect-{n}.json")
        with open(path, "w") as f:
            json.dump(self.tenants[n]["rules"], f)
        res = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                             input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        ok, failed = set(), []
        for line in res.splitlines():
            r = json.loads(line)
            if "body" in r:
                ok.add(r["body"]["YourRef"])
            elif str(r.get("source_id")) not in deliberate:
                failed.append(r["error"])
        # the runbook's path books a normal shop's orders (only a missing OSS code may fail)
        self.assertLessEqual(len(failed), max(1, len(orders) // 5), failed)
        return ok

    def add_orders(self, per_shop):
        """New orders in every shop while the stack runs, completed and paid."""
        for n in self.tenants:
            for _ in range(per_shop):
                o = self.fake("ccv", "POST", f"/_fake/shops/{n}/orders",
                              {"case": "nl_b2c", "paid": True, "is_completed": True})
                self.expect[n] |= self.dry_run_one(n, o)

    def dry_run_one(self, n, created):
        # the dry run takes the order as the extractor publishes it: the dump-mode shape
        order = dict(created["order"])
        order["orderrows"] = created.get("orderrows", [])
        order.setdefault("paid", True)
        order.setdefault("is_completed", True)
        return self.dry_run(n, [order])

    def wait_synced(self, timeout, what):
        """Every bookable order in its division exactly once (and nothing else)."""
        t0 = time.time()
        last = None
        while time.time() - t0 < timeout:
            docs = {n: self.documents(t["division"]) for n, t in self.tenants.items()}
            last = {n: (len(self.expect[n] - set(d)), sorted(r for r, c in d.items() if c > 1),
                        sorted(set(d) - self.expect[n])) for n, d in docs.items()}
            if all(not dup and not extra for _, dup, extra in last.values()) and \
                    all(m == 0 for m, _, _ in last.values()):
                log(f"synced {what} in {time.time() - t0:.0f}s: "
                    f"{sum(len(e) for e in self.expect.values())} documents")
                return
            for n, (missing, dup, extra) in last.items():
                self.assertEqual(dup, [], f"shop {n}: booked twice {what}")
            time.sleep(2)
        self.fail(f"not synced {what} within {timeout}s: (missing, duplicates, unexpected) "
                  f"per shop {last}")

    def replay(self):
        """The runbook's replays: the transformer group's offsets back to before onboarding
        (every order transformed and sent to the loader again), and one tenant extracted
        again from the shop. Nothing is booked twice."""
        self.compose("stop", "transformer")
        to = self.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        plan = json.loads(self.admin("--json", "replay", "offsets", "--group", "cx-transformer",
                                     "--topic", "shop.orders", "--to", to, "--dry-run"))
        # (a partition no order went to has no committed offset: -1001)
        again = sum(p["committed"] - p["new"] for p in plan["partitions"]
                    if p["committed"] >= 0)
        # Kafka kept every record over the recreation: all of them are replayed
        self.assertGreaterEqual(again, sum(len(e) for e in self.expect.values()), plan)
        self.admin("replay", "offsets", "--group", "cx-transformer", "--topic", "shop.orders",
                   "--to", to)
        self.compose("start", "transformer")
        first = min(self.tenants)
        self.admin("replay", "extract", self.tenants[first]["id"], "--from", "2025-01-01")
        before = self.fake("ccv", "GET", "/_fake/stats")["shops"][first - 1]["requests"]
        self.wait(lambda: self.fake("ccv", "GET", "/_fake/stats")["shops"][first - 1]
                  ["requests"] > before, 120, "the extractor reads the shop again")
        # the replayed commands reach the loaders; wait until Exact sees no more requests
        stable, last = 0, None
        deadline = time.time() + 240
        while stable < 5 and time.time() < deadline:
            now = self.fake("exact", "GET", "/_fake/stats")
            key = json.dumps(now.get("divisions", now), sort_keys=True)
            stable = stable + 1 if key == last else 0
            last = key
            time.sleep(3)
        self.wait_synced(60, "after the replays")


if __name__ == "__main__":
    unittest.main(verbosity=2)
