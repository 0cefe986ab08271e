"""The whole connector on this machine: the real Kafka broker and PostgreSQL, both fakes, the
three daemons, and tenants onboarded through `connector-admin` exactly as an operator would.
The demo (`./run.sh demo`), the end-to-end and chaos tests and the benchmarks build on it.

Everything it measures about the result comes from the fakes' inspection endpoints and from
PostgreSQL, never from the daemons' own claims."""
import collections
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cxtest  # noqa: E402

CLIENT_ID = "connector-app"
CLIENT_SECRET = "app-secret-" + "x" * 16
# a second app registered with exact-fake: the accountant's own view (ExactFake.user_api)
ACCOUNTANT_ID = "accountant-app"
ACCOUNTANT_SECRET = "accountant-secret-" + "y" * 16
REDIRECT = "http://127.0.0.1/exact/callback"
SERVICE_ITEMS = {"shipping_item": "VERZEND", "discount_item": "KORTING",
                 "payment_cost_item": "BETAAL", "rounding_item": "AFROND"}


class Fake:
    """One of our fakes as a child process; it prints {"listen": URL} when it is up."""

    def __init__(self, exe, *args, log_dir=None):
        self.log = open(os.path.join(log_dir or tempfile.gettempdir(),
                                     os.path.basename(exe) + ".log"), "w")
        self.proc = subprocess.Popen([exe, "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{exe} did not start; see {self.log.name}")
        self.url = json.loads(line)["listen"].rstrip("/")

    def call(self, method, path, body=None):
        status, text, _ = cxtest.http(method, self.url + path,
                                      json.dumps(body) if body is not None else None,
                                      {"Content-Type": "application/json"})
        return status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class ExactFake(Fake):
    def consent(self, auth_url, division):
        """Follow the authorization URL as a browser would; returns (code, state)."""
        u = urllib.parse.urlparse(auth_url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", f"{u.path}?{u.query}&division={division}")
        r = c.getresponse()
        loc = r.getheader("Location")
        c.close()
        if not loc:
            raise RuntimeError(f"consent at {auth_url} gave {r.status}, no redirect")
        qs = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        return qs["code"][0], qs.get("state", [""])[0]

    def user_api(self, division, client=(ACCOUNTANT_ID, ACCOUNTANT_SECRET)):
        """A session of our own in @division, as an accountant looking at Exact (for reports
        such as read/financial/ReceivablesList that the inspection endpoints do not derive),
        through an app of its own, so that its calls do not count against the connector's
        rate limit (per app and division): returns call(method, path) -> (status, body)."""
        q = urllib.parse.urlencode({"client_id": client[0], "redirect_uri": REDIRECT,
                                    "response_type": "code"})
        code, _ = self.consent(f"{self.url}/api/oauth2/auth?{q}", division)
        form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": REDIRECT, "client_id": client[0],
                                       "client_secret": client[1]})
        status, body, _ = cxtest.http("POST", self.url + "/api/oauth2/token", form,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"token for division {division}: {status} {body}")
        token = json.loads(body)["access_token"]

        def call(method, path):
            st, text, _ = cxtest.http(method, f"{self.url}/api/v1/{division}/{path}", None,
                                      {"Authorization": "Bearer " + token,
                                       "Accept": "application/json"})
            return st, (json.loads(text) if text.strip().startswith("{") else text)
        return call

    def entities(self, division, etype):
        status, body = self.call("GET", f"/_fake/divisions/{division}/entities?type={etype}")
        return body["entities"] if status == 200 else []

    def stats(self):
        return self.call("GET", "/_fake/stats")[1]


class Stack:
    """Set up with Stack(build_dir, ...).start(); always stop() it (also on failure)."""

    def __init__(self, build, tenants=3, orders=40, products=12, seed=42, loaders=1,
                 extractors=1, transformers=1, exact_args=(), ccv_args=(), log_dir=None,
                 extra_env=None, private_services=False, rules_extra=None,
                 toxiproxy=False):
        self.build = os.path.abspath(build)
        self.n_tenants, self.n_orders, self.n_products = tenants, orders, products
        self.seed = seed
        self.counts = {"loader": loaders, "extractor": extractors, "transformer": transformers}
        self.exact_args, self.ccv_args = list(exact_args), list(ccv_args)
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="cx-stack-")
        self.extra_env = dict(extra_env or {})
        # merged into every tenant's proposed rules before they are imported
        self.rules_extra = dict(rules_extra or {})
        self.services = None
        # private_services: start our own Kafka and PostgreSQL even when shared ones are
        # announced in the environment (tests that restart them must not disturb others).
        self.private_services = private_services
        # toxiproxy: every daemon reaches Kafka, PostgreSQL, Exact, the shops and VIES through
        # a proxy of toxiproxy (self.tox) that the test injects network faults into: proxies
        # "exact" (loader), "ccv" (extractor), "vies" (transformer), and per daemon kind
        # "kafka-KIND" and "pg-KIND". Needs private_services (Kafka advertises the proxies).
        self.use_toxiproxy = toxiproxy
        self.tox = None
        self.kafka_proxy_ports = {}
        self.saved_environ = {}
        self.incarnations = collections.Counter()
        self.daemons = collections.defaultdict(list)
        self.tenants = []        # [{"id", "division", "shop"}]
        self.exact = self.ccv = self.vies = None
        self.started_at = None

    # -- paths and commands ----------------------------------------------------------
    def exe(self, *parts):
        return os.path.join(self.build, *parts)

    def admin(self, *args, stdin=None, check=True):
        p = subprocess.run([self.exe("admin", "connector-admin"), *args], input=stdin,
                           env={**cxtest.clean_env(), **self.env}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError(f"connector-admin {' '.join(args)}: {p.returncode}\n{p.stderr}")
        return p

    def admin_json(self, *args, stdin=None):
        return json.loads(self.admin("--json", *args, stdin=stdin).stdout)

    # -- life cycle ------------------------------------------------------------------
    def start_services(self):
        if os.environ.get("TEST_KAFKA_BROKERS") and os.environ.get("TEST_PG_DSN") and \
                not self.private_services:
            return
        import services  # noqa: E402 - only needed when nothing runs yet
        proxied = {f"tox_{k}": port for k, port in self.kafka_proxy_ports.items()}
        self.services = services.Services(tempfile.mkdtemp(prefix="cx-services-"),
                                          kafka_proxied=proxied)
        try:
            self.services.start()
        except BaseException:
            self.services.stop()
            raise
        # Put back on stop(): the shared services' variables, if there were any.
        self.saved_environ = {k: os.environ.get(k) for k in self.services.env}
        os.environ.update(self.services.env)

    def start(self):
        self.started_at = time.time()
        if self.use_toxiproxy:
            if not self.private_services:
                raise RuntimeError("Stack(toxiproxy=True) needs private_services=True")
            import toxiproxy  # noqa: E402
            self.tox = toxiproxy.Toxiproxy(self.log_dir, seed=self.seed)
            self.kafka_proxy_ports = {k: cxtest.free_port() for k in self.counts}
        self.start_services()
        if self.tox:
            for k, port in self.kafka_proxy_ports.items():
                self.tox.proxy(f"kafka-{k}", self.services.kafka_upstreams[f"tox_{k}"],
                               listen_port=port)
            pg = dict(kv.split("=", 1) for kv in os.environ["TEST_PG_DSN"].split())
            for k in self.counts:
                self.tox.proxy(f"pg-{k}", f"{pg['host']}:{pg['port']}")
        self.env = {"CX_PG_DSN": cxtest.new_database("stack"),
                    "CX_KAFKA_BROKERS": os.environ["TEST_KAFKA_BROKERS"],
                    "CX_TOPIC_PREFIX": cxtest.unique("s") + ".",
                    "CX_SECRET_KEY": secrets.token_hex(32)}
        if self.private_services:
            # services.py trades durability for speed (-c synchronous_commit=off). Private
            # services exist to be restarted, and an immediate restart would then lose
            # transactions already reported committed (the loader's intent rows): commits stay
            # durable here, as in production. A database setting beats the command line;
            # fsync stays off (the OS itself never crashes here).
            db = self.env["CX_PG_DSN"].rsplit("dbname=", 1)[1].split()[0]
            cxtest.psql(os.environ["TEST_PG_DSN"],
                        f"ALTER DATABASE {db} SET synchronous_commit = on")
            if cxtest.psql(self.env["CX_PG_DSN"], "SHOW synchronous_commit") != "on":
                raise RuntimeError("synchronous_commit did not take effect")
        self.admin("migrate")
        self.exact = ExactFake(self.exe("fakes", "exact", "exact-fake"),
                               "--client", f"{CLIENT_ID}:{CLIENT_SECRET}",
                               "--client", f"{ACCOUNTANT_ID}:{ACCOUNTANT_SECRET}",
                               *self.exact_args,
                               log_dir=self.log_dir)
        self.ccv = Fake(self.exe("fakes", "ccvshop", "ccvshop-fake"),
                        "--seed", str(self.seed), "--shops", str(self.n_tenants), "--orders",
                        str(self.n_orders), "--products", str(self.n_products), *self.ccv_args,
                        log_dir=self.log_dir)
        # VIES answers "valid" for every number it is not told otherwise about
        self.vies = Fake(self.exe("fakes", "vies", "vies-fake"), log_dir=self.log_dir)
        if self.tox:
            for name, fake in (("exact", self.exact), ("ccv", self.ccv), ("vies", self.vies)):
                self.tox.proxy(name, urllib.parse.urlparse(fake.url).netloc)
        for shop in self.ccv.call("GET", "/_fake/shops")[1]["shops"]:
            self.onboard(shop)
        for kind in ("transformer", "loader", "extractor"):
            for i in range(self.counts[kind]):
                self.start_daemon(kind, i)
        return self

    def proxied(self, name, url):
        """@url with its host and port replaced by those of toxiproxy's proxy @name (as is
        without toxiproxy)."""
        if not self.tox:
            return url
        u = urllib.parse.urlparse(url)
        return u._replace(netloc=self.tox.proxies[name]["listen"]).geturl()

    def daemon_env(self, kind, i):
        env = dict(self.env)
        env["CX_INSTANCE_ID"] = f"{kind}-{i}"
        if self.tox:
            env["CX_KAFKA_BROKERS"] = self.tox.proxies[f"kafka-{kind}"]["listen"]
            port = self.tox.proxies[f"pg-{kind}"]["listen"].rsplit(":", 1)[1]
            env["CX_PG_DSN"] = re.sub(r"\bport=\d+", f"port={port}", env["CX_PG_DSN"])
        if kind == "extractor":
            # Its own listener receives the shop's webhooks (registered at onboarding).
            port = cxtest.free_port()
            env.update({"CX_HTTP_PORT": str(port),
                        "CX_WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}"})
            env.update({"CX_EXTRACT_ORDERS_INTERVAL_S": "2", "CX_EXTRACT_PRODUCTS_INTERVAL_S": "5",
                        "CX_EXTRACT_USERS_INTERVAL_S": "10", "CX_EXTRACT_TENANT_REFRESH_S": "2",
                        "CX_EXTRACT_LEASE_S": "10"})
        if kind == "transformer":
            env.pop("CX_SECRET_KEY")  # it never sees a secret
            env.update({"CX_RULES_REFRESH_MS": "500",
                        "CX_VIES_URL": self.proxied("vies", self.vies.url)})
        env.update({k[len(kind) + 1:]: v for k, v in self.extra_env.items()
                    if k.startswith(kind + ":")})
        return env

    def start_daemon(self, kind, i=0, instance_id=None):
        path = self.exe(kind, kind)
        env = self.daemon_env(kind, i)
        if instance_id:
            env["CX_INSTANCE_ID"] = instance_id
        d = cxtest.Daemon(path, env, name=f"{kind}-{i}", log_dir=self.log_dir).start()
        d.wait_ready(120)
        while len(self.daemons[kind]) <= i:
            self.daemons[kind].append(None)
        self.daemons[kind][i] = d
        return d

    def restart_daemon(self, kind, i=0, hard=True, new_identity=False):
        """new_identity: the new process gets a CX_INSTANCE_ID of its own (as the default,
        host name + pid, would give it) instead of taking over its predecessor's."""
        d = self.daemons[kind][i]
        if hard:
            d.kill()
        else:
            d.stop()
        self.incarnations[(kind, i)] += 1
        ident = f"{kind}-{i}.{self.incarnations[(kind, i)]}" if new_identity else None
        return self.start_daemon(kind, i, instance_id=ident)

    def stop(self):
        """Every process started here is gone afterwards, whatever state it was left in."""
        for kind in ("extractor", "transformer", "loader"):
            for d in self.daemons.get(kind, []):
                if d:
                    try:
                        d.stop(timeout=15)
                    except AssertionError:
                        d.kill()
                    except Exception:  # noqa: BLE001 - never leave a child behind
                        d.kill()
        for f in (self.ccv, self.exact, self.vies):
            if f:
                try:
                    f.stop()
                except Exception:  # noqa: BLE001
                    f.proc.kill()
        if self.tox:
            self.tox.stop()
            self.tox = None
        if self.services:
            self.services.stop()
            if not os.environ.get("CX_STACK_KEEP"):
                shutil.rmtree(self.services.dir, ignore_errors=True)
            for k, v in self.saved_environ.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self.services = None

    # -- onboarding, as docs/runbook.md describes it ---------------------------------
    def onboard(self, shop):
        n = shop["n"]
        tenant, division = f"shop-{n}", 100000 + n
        base = self.proxied("ccv", shop["base_url"].split("/api/rest/v1")[0])
        self.admin("tenants", "add", tenant, "--name", shop.get("name", tenant),
                   "--shop-url", base, "--shop-public-key", shop["public_key"],
                   "--exact-url", self.proxied("exact", self.exact.url),
                   "--division", str(division),
                   "--exact-client-id", CLIENT_ID, "--redirect-uri", REDIRECT,
                   # the stack's tests count paid orders (new tenants book unpaid ones too)
                   "--require-paid", "true",
                   "--shop-secret-file", "-", stdin=shop["secret"] + "\n")
        self.admin("tenants", "set-credentials", tenant, "--exact-secret-file", "-",
                   stdin=CLIENT_SECRET + "\n")
        start = self.admin_json("tenants", "consent-url", tenant)
        code, state = self.exact.consent(start["url"], division)
        self.admin("tenants", "consent-complete", tenant, code, "--state", state)
        # The proposal from the division's own VAT codes and the service items, as the
        # runbook has the operator import it (it must book a normal shop's orders).
        rules = json.loads(self.admin("mappings", "propose", tenant).stdout)
        assert all(rules.get(k) == v for k, v in SERVICE_ITEMS.items()), rules
        rules["oss_registered"] = bool(shop.get("oss_registered", True))
        if rules.get("home_country") == "NL":
            # the requester of the VIES checks, so that each ICP order gets a consultation number
            rules["vat_number"] = "NL001241643B01"
        rules.update(self.rules_extra)
        self.admin("mappings", "import", tenant, "-", stdin=json.dumps(rules))
        self.tenants.append({"id": tenant, "division": division, "shop": shop, "rules": rules})

    # -- what should happen, and what did ------------------------------------------------
    def generator_args(self):
        """The ccv_args that change what the generator makes (so a dump matches the shop)."""
        out, args = [], list(self.ccv_args)
        for i, a in enumerate(args):
            if a in ("--epoch", "--oss") and i + 1 < len(args):
                out += [a, args[i + 1]]
        return out

    def dump_orders(self):
        """Shop number -> the generator's orders (as the shop serves them)."""
        dump = subprocess.run([self.exe("fakes", "ccvshop", "ccvshop-fake"),
                               "--dump-orders", "--seed", str(self.seed), "--shops",
                               str(self.n_tenants), "--orders", str(self.n_orders),
                               "--products", str(self.n_products),
                               *self.generator_args()],
                              stdout=subprocess.PIPE, text=True, check=True).stdout
        by_shop = collections.defaultdict(list)
        for line in dump.splitlines():
            o = json.loads(line)
            o.pop("_fake_expect", None)
            by_shop[o.pop("shop")].append(o)
        return by_shop

    def dry_run(self, tenant, orders):
        """The transformer's dry run of orders with the tenant's imported rules: one result
        object per order."""
        rules_path = os.path.join(self.log_dir, f"rules-{tenant['id']}.json")
        with open(rules_path, "w") as f:
            json.dump(tenant["rules"], f)
        res = subprocess.run([self.exe("transformer", "transformer"), "--dry-run",
                              "--rules", rules_path],
                             input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        return [json.loads(line) for line in res.splitlines()]

    def expected(self):
        """Per tenant: the source ids that must become documents and those that must fail,
        from the generator's dump and the transformer's dry run with the imported rules
        (only paid, completed orders are extracted: the extractor's default)."""
        by_shop = self.dump_orders()
        out = {}
        for t in self.tenants:
            orders = [o for o in by_shop[t["shop"]["n"]] if o.get("is_completed") and
                      o.get("paid") and o.get("status") != 8]
            ok, bad = {}, {}
            for o, r in zip(orders, self.dry_run(t, orders)):
                if "body" in r:
                    ok[str(o["id"])] = (r, o)
                else:
                    bad[str(o["id"])] = r["error"]
            out[t["id"]] = {"ok": ok, "failed": bad}
        return out

    def documents(self, tenant):
        etype = "SalesInvoices" if tenant["rules"].get("book_as") == "salesinvoice" \
            else "SalesOrders"
        return self.exact.entities(tenant["division"], etype)

    def dead_letters(self):
        return self.admin_json("deadletters", "list", "--all", "--limit", "10000")

    def wait_synced(self, expected, timeout=600, settle=3):
        """Until every expected document and every expected failure is there, and nothing
        changed for `settle` seconds. Returns the seconds it took."""
        t0 = time.time()
        last, stable_since = None, None
        while time.time() - t0 < timeout:
            snap = self.snapshot()
            done = all(snap[t["id"]]["documents"] >= len(expected[t["id"]]["ok"]) and
                       snap[t["id"]]["failed_ids"] >= set(expected[t["id"]]["failed"])
                       for t in self.tenants)
            key = json.dumps({k: (v["documents"], sorted(v["failed_ids"]))
                              for k, v in snap.items()})
            if key != last:
                last, stable_since = key, time.time()
            if done and time.time() - stable_since >= settle:
                return time.time() - t0
            time.sleep(1)
        raise AssertionError(f"not synced after {timeout}s: {last}")

    def snapshot(self):
        dls = self.dead_letters()
        snap = {}
        for t in self.tenants:
            mine = [d for d in dls if d.get("tenant_id") == t["id"]]
            snap[t["id"]] = {"documents": len(self.documents(t)),
                             "failed_ids": {str(d.get("source_id")) for d in mine}}
        return snap

    def report(self, expected):
        """Measured from the fake Exact and PostgreSQL: per tenant and in total."""
        per, totals = [], collections.Counter()
        dls = self.dead_letters()
        for t in self.tenants:
            docs = self.documents(t)
            refs = collections.Counter(d.get("YourRef") for d in docs)
            exp = expected[t["id"]]
            want_refs = {r["body"]["YourRef"]: (r, o) for r, o in exp["ok"].values()}
            missing = sorted(set(want_refs) - set(refs))
            wrong_total = []
            for d in docs:
                r_o = want_refs.get(d.get("YourRef"))
                # The fake books a header AmountDC = lines excl. VAT + their VAT, as Exact.
                if r_o and abs(float(d.get("AmountDC") or 0) -
                               float(r_o[1]["total_price"])) > 0.005:
                    wrong_total.append(d.get("YourRef"))
            accounts = self.exact.entities(t["division"], "Accounts")
            items = self.exact.entities(t["division"], "Items")
            mine = [d for d in dls if d.get("tenant_id") == t["id"]]
            scen = collections.Counter(r["scenario"] for r, _ in exp["ok"].values())
            row = {"tenant": t["id"], "division": t["division"],
                   "orders": len(exp["ok"]) + len(exp["failed"]),
                   "documents_created": len(docs),
                   "duplicates": sum(c - 1 for c in refs.values() if c > 1),
                   "missing": len(missing), "wrong_totals": len(wrong_total),
                   "accounts": len(accounts),
                   "duplicate_accounts": len(accounts) - len({a.get("Code") for a in accounts}),
                   "items": len(items),
                   "duplicate_items": len(items) - len({i.get("Code") for i in items}),
                   "scenarios": dict(scen),
                   "failures": [{"source_id": d.get("source_id"), "stage": d.get("stage"),
                                 "reason": d.get("reason")} for d in mine]}
            per.append(row)
            for k in ("orders", "documents_created", "duplicates", "missing", "wrong_totals",
                      "accounts", "items", "duplicate_accounts", "duplicate_items"):
                totals[k] += row[k]
            totals["failures"] += len(mine)
        stats = self.exact.stats()
        totals["http_429"] = sum(v for k, v in flatten(stats) if "429" in k)
        return per, dict(totals)

    # -- chaos and measurement (private services only for the restarts) ------------------
    def restart_kafka(self, down_s=0.0, timeout=120):
        """SIGKILL the broker (its whole process group) and start it again with the same
        command line and data directory; returns once it listens again."""
        svc = self.services
        if svc is None or svc.kafka is None:
            raise RuntimeError("restart_kafka needs Stack(private_services=True)")
        try:
            os.killpg(svc.kafka.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        svc.kafka.wait()
        time.sleep(down_s)
        kdir = os.path.dirname(svc.kafka_props)
        out = open(os.path.join(kdir, "stdout.log"), "a")
        svc.kafka = subprocess.Popen(svc.kafka_jvm + ["kafka.Kafka", svc.kafka_props],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        port = int(svc.env["TEST_KAFKA_BROKERS"].rsplit(":", 1)[1])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if svc.kafka.poll() is not None:
                raise RuntimeError(f"Kafka exited with {svc.kafka.returncode} on restart; "
                                   f"see {kdir}/server.log")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"Kafka did not listen again within {timeout}s")

    def restart_postgres(self):
        """pg_ctl restart -m immediate: every connection is cut, crash recovery runs."""
        svc = self.services
        if svc is None or svc.pg_data is None:
            raise RuntimeError("restart_postgres needs Stack(private_services=True)")
        # -l again: without it the new server would write to (and hold open) our pipe.
        svc._pg(f"{svc.pg_bindir}/pg_ctl", "-D", svc.pg_data, "-m", "immediate", "-w",
                "-t", "60", "-l", os.path.join(os.path.dirname(svc.pg_data), "log"),
                "restart", timeout=120)

    def all_daemons(self):
        return [d for ds in self.daemons.values() for d in ds if d]

    def exited_daemons(self):
        """(name, exit status) of every daemon that is no longer running."""
        return [(d.name, d.proc.returncode) for d in self.all_daemons()
                if d.proc and d.proc.poll() is not None]

    def peak_rss_kb(self):
        """VmHWM of every running daemon (read it before stopping them)."""
        out = {}
        for d in self.all_daemons():
            try:
                with open(f"/proc/{d.proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            out[d.name] = int(line.split()[1])
            except OSError:
                pass
        return out

    def created_documents(self, stats=None):
        """Division -> documents (orders + invoices) committed, from /_fake/stats (cheap)."""
        stats = stats or self.exact.stats()
        out = {}
        for div, d in stats.get("divisions", {}).items():
            c = d.get("created", {})
            out[int(div)] = c.get("SalesOrders", 0) + c.get("SalesInvoices", 0)
        return out


def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, obj
