#!/usr/bin/env python3
"""connector-admin against the real PostgreSQL and Kafka broker (and exact-fake for the
consent and the mapping proposal): every subcommand, its refusals and exit codes, and that no
secret ever shows in any output."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import adminlib as al  # noqa: E402
from adminlib import Admin, cxtest  # noqa: E402

SUBCOMMANDS = [
    ["migrate"], ["schema-version"], ["config-reference"], ["status"], ["rotate-key"],
    ["tenants", "add"], ["tenants", "update"], ["tenants", "list"], ["tenants", "show"],
    ["tenants", "enable"], ["tenants", "disable"], ["tenants", "set-credentials"],
    ["tenants", "consent-url"], ["tenants", "consent-complete"], ["tenants", "delete"],
    ["prune"],
    ["mappings", "import"], ["mappings", "export"], ["mappings", "propose"],
    ["replay", "offsets"], ["replay", "extract"],
    ["deadletters", "list"], ["deadletters", "show"], ["deadletters", "redrive"],
    ["deadletters", "drop"],
]


class AdminCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = al.new_env()
        cls.dsn = cls.env["CX_PG_DSN"]
        cls.adm = Admin(cls.env)
        cls.fake = al.Fake()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        for out in cls.adm.outputs:
            for secret in (al.SHOP_SECRET, al.CLIENT_SECRET, al.KEY, al.KEY2):
                assert secret not in out, f"a secret was printed: {out}"

    def add(self, tenant, *extra, stdin=None):
        return self.adm("tenants", "add", tenant, "--shop-url", "https://shop.example",
                        "--shop-public-key", "pk", *extra, stdin=stdin)

    # -- help and usage ---------------------------------------------------------
    def test_help_everywhere(self):
        r = self.adm("--help")
        self.assertEqual(r.rc, 0)
        for words in SUBCOMMANDS:
            with self.subTest(cmd=words):
                r = self.adm(*words, "--help")
                self.assertEqual(r.rc, 0, repr(r))
                self.assertIn("Usage: connector-admin " + " ".join(words), r.out)
                self.assertIn("Exit codes", r.out)
        for group in ("tenants", "mappings", "replay", "deadletters"):
            self.assertEqual(self.adm(group, "--help").rc, 0)
            self.assertEqual(self.adm(group).rc, 2)
        self.assertEqual(self.adm().rc, 2)
        r = self.adm("frobnicate")
        self.assertEqual(r.rc, 2)
        self.assertIn("unknown command", r.err)
        r = self.adm("tenants", "add", "x", "--bogus", "1")
        self.assertEqual(r.rc, 2)
        self.assertIn("unknown option --bogus", r.err)
        r = self.adm("tenants", "show")
        self.assertEqual(r.rc, 2)
        self.assertIn("usage: connector-admin tenants show TENANT", r.err)
        r = self.adm("tenants", "show", "a", "b")
        self.assertEqual(r.rc, 2)
        self.assertIn("unexpected argument", r.err)

    def test_configuration_errors(self):
        r = self.adm("tenants", "list", env={"CX_PG_DSNN": "x"})
        self.assertEqual(r.rc, 2)
        self.assertIn("CX_PG_DSNN: unknown variable", r.err)
        r = self.adm("tenants", "list", env={"CX_SECRET_KEY": "short"})
        self.assertEqual(r.rc, 2)
        self.assertIn("CX_SECRET_KEY", r.err)
        self.assertNotIn("short", r.err)
        r = self.adm("--config-reference")
        self.assertEqual(r.rc, 0)
        self.assertIn("`CX_SECRET_KEY`", r.out)

    # -- tenants ------------------------------------------------------------------
    def test_tenant_urls_need_https_except_to_this_machine(self):
        """Secrets and tokens travel to these URLs: plain http:// only to a loopback address."""
        refused = ["http://shop.example", "http://127.0.0.1.evil.example", "http://10.0.0.1",
                   "http://user@127.0.0.1/", "http://127.0.0.1@evil.example/",
                   "http://localhost.evil.example", "http://[::2]:8080", "https://"]
        for i, url in enumerate(refused):
            for opt in ("--shop-url", "--exact-url", "--redirect-uri"):
                r = self.adm("tenants", "add", f"plain{i}", "--shop-url",
                             url if opt == "--shop-url" else "https://shop.example",
                             "--shop-public-key", "pk", *(() if opt == "--shop-url"
                                                          else (opt, url)))
                self.assertEqual(r.rc, 2, f"{opt} {url}: {r!r}")
                self.assertIn(opt, r.err)
                self.assertIn("https://", r.err)
            self.assertEqual(self.adm("tenants", "show", f"plain{i}").rc, 4)
        allowed = ["https://shop.example", "http://127.0.0.1:8080/shop/1",
                   "http://localhost:9000", "http://[::1]:9000/x", "http://127.1.2.3"]
        for i, url in enumerate(allowed):
            r = self.add(f"loop{i}", "--exact-url", url)
            self.assertEqual(r.rc, 0, f"{url}: {r!r}")
            self.assertEqual(self.adm.js("tenants", "show", f"loop{i}")["exact_base_url"], url)
        r = self.adm("tenants", "update", "loop0", "--exact-url", "http://start.exactonline.nl")
        self.assertEqual(r.rc, 2, repr(r))
        self.assertEqual(self.adm.js("tenants", "show", "loop0")["exact_base_url"],
                         "https://shop.example")
        self.adm.ok("tenants", "update", "loop0", "--shop-url", "http://127.0.0.1:1/x")
        # the demo's fakes on a compose network: only the hosts the operator listed
        listed = {"CX_ADMIN_HTTP_HOSTS": "ccvshop-fake,exact-fake"}
        r = self.adm("tenants", "update", "loop0", "--shop-url", "http://ccvshop-fake:8081/shop/1",
                     env=listed)
        self.assertEqual(r.rc, 0, repr(r))
        for url in ("http://ccvshop-fake.evil.example", "http://exact-fak", "http://shop.example"):
            r = self.adm("tenants", "update", "loop0", "--exact-url", url, env=listed)
            self.assertEqual(r.rc, 2, f"{url}: {r!r}")
        r = self.adm("tenants", "update", "loop0", "--exact-url", "http://exact-fake:8080")
        self.assertEqual(r.rc, 2, "without the list: " + repr(r))

    def test_tenants_lifecycle_and_refusals(self):
        r = self.add("acme", "--name", "Acme BV", "--division", "4242", "--extract-from",
                     "2024-01-01", "--entities", "orders,products", "--shop-secret-file", "-",
                     stdin=al.SHOP_SECRET + "\n")
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(self.add("acme").rc, 3)                     # exists
        self.assertEqual(self.add("Bad Id").rc, 2)
        r = self.adm("tenants", "add", "nourl", "--shop-public-key", "pk")
        self.assertEqual(r.rc, 2)
        self.assertIn("--shop-url", r.err)
        r = self.add("badurl", "--exact-url", "ftp://x")
        self.assertEqual(r.rc, 2)
        self.assertIn("--exact-url", r.err)
        self.assertEqual(self.add("baddiv", "--division", "-3").rc, 2)
        self.assertEqual(self.add("baddate", "--extract-from", "2024-02-31").rc, 2)
        self.assertEqual(self.add("badent", "--entities", "orders,invoices").rc, 2)
        self.assertEqual(self.adm("tenants", "show", "badurl").rc, 4)  # nothing half-made
        # one Exact administration per shop: a second tenant on division 4242 is refused
        r = self.add("acme2", "--division", "4242")
        self.assertEqual(r.rc, 3, repr(r))
        self.assertIn('Exact division 4242 (https://start.exactonline.nl) is already the '
                      'administration of tenant "acme"', r.err)
        self.assertIn("give this shop an administration (division) of its own", r.err)
        self.assertEqual(self.adm("tenants", "show", "acme2").rc, 4)
        self.assertEqual(self.add("acme3", "--division", "4243").rc, 0)
        r = self.adm("tenants", "update", "acme3", "--division", "4242")
        self.assertEqual(r.rc, 3, repr(r))
        self.assertEqual(self.adm.js("tenants", "show", "acme3")["exact_division"], 4243)
        # the same number in another country's Exact is another administration
        self.assertEqual(self.add("acme-be", "--division", "4242", "--exact-url",
                                  "https://start.exactonline.be").rc, 0)
        r = self.adm("tenants", "update", "acme-be", "--exact-url", "https://start.exactonline.nl")
        self.assertEqual(r.rc, 3, repr(r))

        t = self.adm.js("tenants", "show", "acme")
        self.assertEqual(t["name"], "Acme BV")
        self.assertEqual(t["exact_division"], 4242)
        self.assertEqual(t["extract_from"], "2024-01-01T00:00:00Z")
        self.assertEqual(t["sync_entities"], "{orders,products}")
        self.assertTrue(t["shop_secret_set"])
        self.assertFalse(t["exact_client_secret_set"])
        self.assertEqual(t["token_state"], "needs_consent")
        sealed = al.psql(self.dsn, "SELECT shop_secret_sealed FROM tenants WHERE id = 'acme'")
        self.assertTrue(sealed.startswith("v2:"), sealed[:12])  # with the key's id
        self.assertNotIn(al.SHOP_SECRET, sealed)

        self.assertIn("acme", [x["id"] for x in self.adm.js("tenants", "list")])
        self.assertIn("acme", self.adm.ok("tenants", "list").out)
        self.adm.ok("tenants", "disable", "acme")
        self.assertFalse(self.adm.js("tenants", "show", "acme")["enabled"])
        self.adm.ok("tenants", "enable", "acme")
        self.assertTrue(self.adm.js("tenants", "show", "acme")["enabled"])
        self.assertEqual(self.adm("tenants", "enable", "ghost").rc, 4)
        self.adm.ok("tenants", "update", "acme", "--require-paid", "false", "--name", "Acme")
        self.assertFalse(self.adm.js("tenants", "show", "acme")["bookable_require_paid"])
        self.assertEqual(self.adm("tenants", "update", "acme").rc, 2)
        self.assertEqual(self.adm("tenants", "update", "ghost", "--name", "x").rc, 4)

        # credentials: never from argv, both not from stdin, need the key
        r = self.adm("tenants", "set-credentials", "acme")
        self.assertEqual(r.rc, 2)
        r = self.adm("tenants", "set-credentials", "acme", "--shop-secret-file", "-",
                     "--exact-secret-file", "-", stdin="a\n")
        self.assertEqual(r.rc, 2)
        r = self.adm("tenants", "set-credentials", "acme", "--exact-secret-file", "-",
                     stdin="\n")
        self.assertEqual(r.rc, 2)
        self.assertIn("non-empty", r.err)
        r = self.adm("tenants", "set-credentials", "acme", "--exact-secret-file", "-",
                     stdin=al.CLIENT_SECRET, env={"CX_SECRET_KEY": ""})
        self.assertEqual(r.rc, 2)
        self.assertIn("CX_SECRET_KEY", r.err)
        with tempfile.NamedTemporaryFile("w", suffix=".secret") as f:
            f.write(al.CLIENT_SECRET + "\n")
            f.flush()
            self.adm.ok("tenants", "set-credentials", "acme", "--exact-secret-file", f.name)
        self.assertTrue(self.adm.js("tenants", "show", "acme")["exact_client_secret_set"])
        self.assertEqual(self.adm("tenants", "set-credentials", "ghost", "--shop-secret-file",
                                  "-", stdin="x\n").rc, 4)
        log = al.psql(self.dsn, "SELECT string_agg(message, '|') FROM sync_log WHERE"
                      " tenant_id = 'acme' AND stage = 'admin'")
        self.assertIn("tenant added", log)
        self.assertIn("Exact client secret replaced", log)

    def test_consent(self):
        self.assertEqual(self.add("nocl").rc, 0)
        r = self.adm("tenants", "consent-url", "nocl")
        self.assertEqual(r.rc, 2)
        self.assertIn("client id", r.err)
        self.assertEqual(self.adm("tenants", "consent-url", "ghost").rc, 4)
        self.adm.ok("tenants", "add", "cons", "--shop-url", "https://s.example",
                    "--shop-public-key", "pk", "--exact-url", self.fake.url, "--division", "777",
                    "--exact-client-id", al.CLIENT_ID, "--redirect-uri", al.REDIRECT,
                    "--exact-secret-file", "-", stdin=al.CLIENT_SECRET)
        start = self.adm.js("tenants", "consent-url", "cons")
        self.assertTrue(start["url"].startswith(self.fake.url + "/api/oauth2/auth?client_id="))
        self.assertIn("state=" + start["state"], start["url"])
        self.assertIn("redirect_uri=https%3A%2F%2Fconnector.invalid", start["url"])
        code, state = self.fake.consent(start["url"], 777)
        self.assertEqual(state, start["state"])
        r = self.adm("tenants", "consent-complete", "cons", code, "--state", "wrong")
        self.assertEqual(r.rc, 3)
        r = self.adm("tenants", "consent-complete", "cons", "not-a-code", "--state", state)
        self.assertEqual(r.rc, 3, repr(r))
        code, state = self.fake.consent(start["url"], 777)
        r = self.adm("tenants", "consent-complete", "cons", code, "--state", state)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(self.adm.js("tenants", "show", "cons")["token_state"], "ok")
        tok = al.psql(self.dsn, "SELECT access_token_sealed FROM exact_tokens WHERE"
                      " tenant_id = 'cons'")
        self.assertTrue(tok.startswith("v2:"), tok[:12])
        status = self.adm.js("status", "cons")
        self.assertEqual(status["token"]["state"], "ok")

        # the proposal from the fake's seeded VAT codes is a valid rules file
        r = self.adm("mappings", "propose", "cons")
        self.assertEqual(r.rc, 0, repr(r))
        prop = json.loads(r.out)
        self.assertIn("review", prop)
        codes = {(c["scenario"], c.get("country", ""), c.get("class", "")): c["code"]
                 for c in prop["vat_codes"]}
        self.assertEqual(codes[("domestic", "", "standard")], "2")
        self.assertEqual(codes[("domestic", "", "reduced")], "1")
        self.assertEqual(codes[("icp", "", "")], "ICP")
        self.assertEqual(codes[("export", "", "")], "EXP")
        self.assertEqual(codes[("oss", "DE", "standard")], "D1")
        self.assertEqual(codes[("oss", "DE", "reduced")], "D2")
        self.assertNotIn("5", prop["vat_codes"])   # purchase only
        self.assertEqual(self.adm("mappings", "export", "cons").rc, 4)   # nothing stored
        self.adm.ok("mappings", "import", "cons", "--check", "-", stdin=r.out)
        # a tenant without a consent cannot be asked about
        self.assertEqual(self.adm("mappings", "propose", "nocl").rc, 2)

    # -- mappings -----------------------------------------------------------------
    def test_mappings(self):
        self.assertEqual(self.add("map", "--division", "123456").rc, 0)
        text = json.dumps(al.rules("map", 123456))
        r = self.adm.js("mappings", "import", "map", "-", stdin=text)
        self.assertEqual(r["version"], 1)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(text)
            f.flush()
            self.assertEqual(self.adm.js("mappings", "import", "map", f.name)["version"], 2)
        exported = self.adm.ok("mappings", "export", "map").out
        back = json.loads(exported)
        self.assertEqual(back["tenant"], "map")
        self.assertEqual(len(back["vat_codes"]), 7)
        self.assertEqual(self.adm.js("mappings", "import", "map", "-",
                                     stdin=exported)["version"], 3)
        # refusals leave the stored version alone
        bad = [("{not json", "rules"),
               (json.dumps(al.rules("other", 123456)), "tenant"),
               (json.dumps(al.rules("map", 999)), "division"),
               (json.dumps(al.rules("map", 123456, codes=[
                   {"code": "X", "scenario": "oss", "country": "DE", "class": "standard",
                    "percentage": 25}])), "")]
        for body, needle in bad:
            with self.subTest(needle=needle):
                r = self.adm("mappings", "import", "map", "-", stdin=body)
                self.assertEqual(r.rc, 2, repr(r))
                self.assertIn(needle, r.err)
        self.assertEqual(self.adm("mappings", "import", "map", "/nonexistent.json").rc, 2)
        self.assertEqual(al.psql(self.dsn, "SELECT version FROM mapping_rules WHERE"
                                 " tenant_id = 'map'"), "3")
        self.assertEqual(self.adm("mappings", "import", "ghost", "-", stdin=text).rc, 4)
        self.assertEqual(self.adm("mappings", "export", "ghost").rc, 4)
        self.assertEqual(self.adm.js("tenants", "show", "map")["mapping_version"], 3)

    # -- status -------------------------------------------------------------------
    def test_status(self):
        self.assertEqual(self.add("stat").rc, 0)
        al.psql(self.dsn, """
            INSERT INTO extract_cursors (tenant_id, entity, cursor)
              VALUES ('stat', 'orders', '2024-05-01T00:00:00Z');
            INSERT INTO extract_hashes (tenant_id, entity, source_id, content_hash)
              VALUES ('stat', 'order', '1', 'h1'), ('stat', 'order', '2', 'h2');
            INSERT INTO sync_log (tenant_id, stage, status, source_id, message) VALUES
              ('stat', 'transform', 'ok', '1', ''), ('stat', 'transform', 'failed', '2',
               'no VAT code for oss DE 19%');
            INSERT INTO ledger (tenant_id, kind, source_key, state) VALUES
              ('stat', 'sales_order', '1', 'done'), ('stat', 'account', '77', 'done');
            INSERT INTO dead_letters (tenant_id, stage, source_topic, source_id, reason, payload)
              VALUES ('stat', 'transform', 'shop.orders', '2', 'no VAT code', '{}');
            INSERT INTO exact_budget (tenant_id, daily_limit, daily_remaining, daily_reset_at)
              VALUES ('stat', 5000, 4900, now() + interval '1 hour');
        """)
        s = self.adm.js("status", "stat")
        self.assertEqual(s["counts"]["extracted"], 2)
        self.assertEqual(s["counts"]["transformed"], 1)
        self.assertEqual(s["counts"]["loaded"], 1)
        self.assertEqual(s["counts"]["failed"], 1)
        self.assertEqual(s["budget"]["used_today"], 100)
        self.assertEqual(s["failures"][0]["message"], "no VAT code for oss DE 19%")
        self.assertEqual(s["token"]["state"], "needs_consent")
        self.assertIsNotNone(s["extraction"]["last_extraction"])
        self.assertGreaterEqual(s["extraction"]["lag_seconds"], 0)
        self.assertIn("stat", [x["tenant"] for x in self.adm.js("status")])
        self.assertIn("no VAT code for oss DE 19%", self.adm.ok("status", "stat").out)
        self.assertEqual(self.adm("status", "ghost").rc, 4)
        self.assertEqual(self.adm("status", "stat", "--failures", "x").rc, 2)

    # -- dead letters ---------------------------------------------------------------
    def test_deadletters(self):
        self.assertEqual(self.add("dl").rc, 0)
        topic = self.env["CX_TOPIC_PREFIX"] + "shop.orders"
        payload = json.dumps({"tenant": "dl", "id": 99, "note": "redrive me"})
        ids = al.psql(self.dsn, f"""
            INSERT INTO dead_letters (tenant_id, stage, source_topic, source_id, reason, payload)
            VALUES ('dl', 'transform', '{topic}', '99', 'no VAT code', '{payload}'),
                   ('dl', 'transform', '{topic}', '98', 'bad order', '{{}}'),
                   ('dl', 'load', '', '97', 'no topic', '{{}}')
            RETURNING id""").split()
        lst = self.adm.js("deadletters", "list", "--tenant", "dl")
        self.assertEqual(sorted(str(x["id"]) for x in lst), sorted(ids))
        self.assertNotIn("payload", lst[0])
        shown = self.adm.js("deadletters", "show", ids[0])
        self.assertEqual(shown["payload"], payload)
        self.assertEqual(self.adm("deadletters", "show", "999999").rc, 4)
        self.assertEqual(self.adm("deadletters", "show", "abc").rc, 2)
        self.assertEqual(self.adm("deadletters", "list", "--state", "weird").rc, 2)

        r = self.adm("deadletters", "drop", ids[1])
        self.assertEqual(r.rc, 2)
        self.assertIn("--reason", r.err)
        self.adm.ok("deadletters", "drop", ids[1], "--reason", "test order, ignore")
        self.assertEqual(self.adm("deadletters", "drop", ids[1], "--reason", "again").rc, 3)
        self.assertEqual(self.adm("deadletters", "redrive", ids[1]).rc, 3)
        self.assertEqual(self.adm("deadletters", "redrive", ids[2]).rc, 3)   # no topic
        self.assertEqual(self.adm("deadletters", "redrive").rc, 2)
        r = self.adm("deadletters", "redrive", ids[0], env={"CX_KAFKA_BROKERS": ""})
        self.assertEqual(r.rc, 2)
        self.assertEqual(self.adm.js("deadletters", "show", ids[0])["state"], "open")

        r = self.adm.js("deadletters", "redrive", ids[0])
        self.assertEqual(r["redriven"], [int(ids[0])])
        self.assertEqual(self.adm.js("deadletters", "show", ids[0])["state"], "redriven")
        self.assertEqual(self.adm("deadletters", "redrive", ids[0]).rc, 3)
        out = subprocess.run(["kcat", "-b", self.env["CX_KAFKA_BROKERS"], "-C", "-t", topic,
                              "-e", "-J", "-q"], stdout=subprocess.PIPE, text=True,
                             timeout=60, check=True).stdout
        msgs = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual([(m["key"], m["payload"]) for m in msgs], [("dl", payload)])
        states = self.adm.js("deadletters", "list", "--tenant", "dl", "--all")
        self.assertEqual(sorted(x["state"] for x in states), ["dropped", "open", "redriven"])
        self.assertEqual(self.adm.js("deadletters", "list", "--tenant", "dl", "--state",
                                     "dropped")[0]["resolution"], "test order, ignore")

    # -- replay -------------------------------------------------------------------
    def test_replay_offsets(self):
        brokers = self.env["CX_KAFKA_BROKERS"]
        base = "orders" + cxtest.unique("r")
        topic = self.env["CX_TOPIC_PREFIX"] + base
        group = cxtest.unique("grp")

        def total(plan, member):
            return sum(max(p[member], 0) for p in plan["partitions"])

        def produce(n, start):
            subprocess.run(["kcat", "-b", brokers, "-P", "-t", topic, "-K", ":"],
                           input="".join(f"k:{start + i}\n" for i in range(n)), text=True,
                           check=True, timeout=60)

        produce(5, 0)
        time.sleep(1.2)
        cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time()))
        time.sleep(1.2)
        produce(3, 5)
        # a group that has read everything: its offsets at the end (a time after the last)
        end = self.adm.js("replay", "offsets", "--group", group, "--topic", base, "--to",
                          "2100-01-01")
        self.assertEqual({p["committed"] for p in end["partitions"]}, {-1001})  # none yet
        self.assertEqual(total(end, "new"), 8)
        before = self.adm.js("replay", "offsets", "--group", group, "--topic", base, "--to",
                             cut, "--dry-run")
        self.assertEqual(total(before, "committed"), 8)
        self.assertEqual(total(before, "new"), 5)
        again = self.adm.js("replay", "offsets", "--group", group, "--topic", base, "--to",
                            cut)
        self.assertEqual(total(again, "committed"), 8)   # the dry run moved nothing
        after = self.adm.js("replay", "offsets", "--group", group, "--topic", base, "--to",
                            "2000-01-01", "--dry-run")
        self.assertEqual(total(after, "committed"), 5)
        self.assertEqual(total(after, "new"), 0)
        self.assertEqual(self.adm("replay", "offsets", "--group", group, "--topic",
                                  "missing" + cxtest.unique("t"), "--to", cut).rc, 4)
        self.assertEqual(self.adm("replay", "offsets", "--group", group, "--topic", base).rc, 2)
        self.assertEqual(self.adm("replay", "offsets", "--group", group, "--topic", base,
                                  "--to", "yesterday").rc, 2)

        # while a member of the group runs, the reset is refused
        member = subprocess.Popen(["kcat", "-b", brokers, "-G", group, "-q", topic],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            rc = None
            while time.time() < deadline:
                r = self.adm("replay", "offsets", "--group", group, "--topic", base, "--to",
                             "2000-01-01")
                rc = r.rc
                if rc == 3:
                    break
                time.sleep(1)
            self.assertEqual(rc, 3, repr(r))
            # refused by our check, or by the broker when the member joined in between
            self.assertRegex(r.err, "active member|commit refused")
        finally:
            member.terminate()
            member.wait(10)

    def test_replay_extract(self):
        self.assertEqual(self.add("rex", "--extract-from", "2024-03-01").rc, 0)
        al.psql(self.dsn, """
            INSERT INTO extract_cursors (tenant_id, entity, cursor)
              VALUES ('rex', 'orders', '2024-06-01T00:00:00Z');
            INSERT INTO extract_hashes (tenant_id, entity, source_id, content_hash)
              VALUES ('rex', 'order', '1', 'h'), ('rex', 'product', '2', 'h'),
                     ('rex', 'customer', '3', 'h');
            INSERT INTO extract_leases (tenant_id, owner, expires_at)
              VALUES ('rex', 'extractor-1', now() + interval '1 hour');
        """)
        r = self.adm.js("replay", "extract", "rex", "--from", "2024-05-01")
        self.assertEqual(r["from"], "2024-05-01T00:00:00Z")
        self.assertEqual(r["hashes_cleared"], 2)
        self.assertNotIn("note", r)
        self.assertEqual(al.psql(self.dsn, "SELECT string_agg(entity || '=' || cursor, ',' ORDER"
                                 " BY entity) FROM extract_cursors WHERE tenant_id = 'rex'"),
                         "orders=2024-05-01T00:00:00Z,products=2024-05-01T00:00:00Z")
        self.assertEqual(al.psql(self.dsn, "SELECT count(*) FROM extract_hashes WHERE"
                                 " tenant_id = 'rex'"), "1")
        self.assertEqual(al.psql(self.dsn, "SELECT coalesce(owner, 'free') FROM extract_leases"
                                 " WHERE tenant_id = 'rex'"), "free")
        self.assertIn("note", self.adm.js("replay", "extract", "rex", "--from", "2024-01-01"))
        self.assertEqual(self.adm("replay", "extract", "rex").rc, 2)
        self.assertEqual(self.adm("replay", "extract", "rex", "--from", "01-05-2024").rc, 2)
        self.assertEqual(self.adm("replay", "extract", "ghost", "--from", "2024-05-01").rc, 4)

    # -- key rotation --------------------------------------------------------------
    def test_rotate_key(self):
        env = al.new_env("t_adm_key")
        adm = Admin(env)
        try:
            for t in ("k1", "k2"):
                adm.ok("tenants", "add", t, "--shop-url", "https://s.example",
                       "--shop-public-key", "pk", "--shop-secret-file", "-",
                       stdin=al.SHOP_SECRET)
            adm.ok("tenants", "set-credentials", "k1", "--exact-secret-file", "-",
                   stdin=al.CLIENT_SECRET)
            before = al.psql(env["CX_PG_DSN"], "SELECT string_agg(shop_secret_sealed ||"
                             " coalesce(exact_client_secret_sealed, ''), ',' ORDER BY id)"
                             " FROM tenants")
            # wrong current key: refused, nothing changed
            r = adm("rotate-key", "--new-key-file", "-", stdin=al.KEY2,
                    env={"CX_SECRET_KEY": al.KEY2})
            self.assertEqual(r.rc, 1, repr(r))
            self.assertIn("does not open", r.err)
            self.assertEqual(before, al.psql(env["CX_PG_DSN"], "SELECT string_agg("
                             "shop_secret_sealed || coalesce(exact_client_secret_sealed, ''),"
                             " ',' ORDER BY id) FROM tenants"))
            # everything is sealed with the first key already: nothing to do
            self.assertEqual(adm.js("rotate-key")["resealed"], 0)
            self.assertEqual(adm("rotate-key", "--new-key-file", "-", stdin="nokey").rc, 2)
            r = adm.js("rotate-key", "--new-key-file", "-", stdin=al.KEY2 + "\n")
            self.assertEqual(r["resealed"], 3)
            # the new key opens everything (rotating back works), the old one alone no longer
            self.assertEqual(adm("rotate-key", "--new-key-file", "-", stdin=al.KEY).rc, 1)
            r = adm.js("rotate-key", "--new-key-file", "-", stdin=al.KEY,
                       env={"CX_SECRET_KEY": al.KEY2})
            self.assertEqual(r["resealed"], 3)
            # both keys in CX_SECRET_KEY, the new one first: the plain rotate-key moves the rest
            r = adm.js("rotate-key", env={"CX_SECRET_KEY": f"{al.KEY2} {al.KEY}"})
            self.assertEqual((r["resealed"], r["current"]), (3, 0))
        finally:
            self.adm.outputs.extend(adm.outputs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
