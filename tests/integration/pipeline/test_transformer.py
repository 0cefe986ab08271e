#!/usr/bin/env python3
"""The transformer daemon between real Kafka topics, with rules in the real PostgreSQL.

Generated orders of two tenants (the CCV fake's generator) plus bad records flow from
shop.orders into the daemon; it is killed with SIGKILL mid-stream and restarted. A
read_committed reader must then see, for every input message, exactly one output: the
command the dry run predicts, or a dead letter carrying the dry run's reason. A rules change
in PostgreSQL must apply to the next message without a restart."""
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import cxtest  # noqa: E402
from test_fake_orders import full_rules  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
CCV_FAKE = os.path.join(BUILD, "fakes", "ccvshop", "ccvshop-fake")
ORDERS_PER_SHOP = int(os.environ.get("TEST_TRANSFORMER_ORDERS", "250"))


def kcat_produce(brokers, topic, records):
    data = "".join(f"{k}\t{v}\n" for k, v in records)
    subprocess.run(["kcat", "-b", brokers, "-P", "-t", topic, "-K", "\t", "-z", "lz4"],
                   input=data, text=True, check=True, timeout=60)


def kcat_read(brokers, topic):
    """Every committed message of topic as (key, value dict)."""
    p = subprocess.run(["kcat", "-b", brokers, "-C", "-t", topic, "-e", "-o", "beginning",
                        "-q", "-X", "isolation.level=read_committed", "-f", "%k\t%s\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0 and "Unknown topic" in p.stderr:
        return []
    out = []
    for line in p.stdout.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out.append((k, json.loads(v)))
    return out


class TransformerDaemon(unittest.TestCase):
    def setUp(self):
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        self.dsn = cxtest.new_database("t_tx")
        subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": self.dsn},
                       check=True, stdout=subprocess.DEVNULL)
        self.prefix = cxtest.unique("tx") + "."
        self.tenants = ["shop-a", "shop-b"]
        self.rules = {}
        for t in self.tenants:
            rules = full_rules(oss_registered=True)
            rules["tenant"] = t
            # Leave France's reduced rate unmapped so some orders are rejected for it.
            rules["vat_codes"] = [c for c in rules["vat_codes"]
                                  if not (c.get("country") == "FR" and c.get("class") == "reduced")]
            self.rules[t] = rules
            cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                        f" shop_secret_sealed) VALUES ('{t}', 'http://127.0.0.1:1', 'pk', 'v1:x')")
            self.store_rules(t, rules)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.kill()

    def store_rules(self, tenant, rules):
        text = json.dumps(rules).replace("'", "''")
        cxtest.psql(self.dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                    f" ('{tenant}', '{text}'::jsonb) ON CONFLICT (tenant_id) DO UPDATE SET"
                    " rules = EXCLUDED.rules, version = mapping_rules.version + 1")

    def start(self, name="tx-1"):
        d = cxtest.Daemon(TRANSFORMER, {
            "CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
            "CX_TOPIC_PREFIX": self.prefix, "CX_INSTANCE_ID": name,
            "CX_TRANSFORMER_BATCH": "50", "CX_RULES_REFRESH_MS": "200"}, name=name).start()
        self.daemons.append(d)
        d.wait_ready(120)
        return d

    def dry_run(self, tenant, orders):
        path = os.path.join(cxtest.tempfile.mkdtemp(), "rules.json")
        with open(path, "w") as f:
            json.dump(self.rules[tenant], f)
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                             input="".join(json.dumps(o) + "\n" for o in orders),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def wait_outputs(self, want, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            cmds = kcat_read(self.brokers, self.prefix + "exact.commands")
            dls = kcat_read(self.brokers, self.prefix + "dead.letters")
            if len(cmds) + len(dls) >= want:
                return cmds, dls
            time.sleep(1)
        self.fail(f"only {len(cmds)} commands + {len(dls)} dead letters of {want} "
                  f"after {timeout}s")

    def test_exactly_once_across_kill_and_rules_change(self):
        dump = subprocess.run([CCV_FAKE, "--dump-orders", "--seed", "11", "--shops", "2",
                               "--orders", str(ORDERS_PER_SHOP)], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
        orders = [json.loads(line) for line in dump.splitlines()]
        records, expected = [], {}
        for i, o in enumerate(orders):
            tenant = self.tenants[i % 2]
            o.pop("_fake_expect", None)
            env = {"v": 1, "tenant": tenant, "entity": "order", "event": "upsert",
                   "source_id": str(o["id"]), "trace_id": f"trace-{i}", "payload": o}
            records.append((tenant, json.dumps(env)))
        for t in self.tenants:
            mine = [json.loads(v)["payload"] for k, v in records if k == t]
            for res in self.dry_run(t, mine):
                expected[(t, str(res["source_id"]))] = res
        # Bad records: malformed JSON, an unknown tenant, a key that disagrees with the body.
        records.append(("shop-a", "{not json"))
        records.append(("nobody", json.dumps({"v": 1, "tenant": "nobody", "entity": "order",
                                              "source_id": "1", "payload": orders[0]})))
        records.append(("shop-b", json.dumps({"v": 1, "tenant": "shop-a", "entity": "order",
                                              "source_id": "2", "payload": orders[1]})))
        kcat_produce(self.brokers, self.prefix + "shop.orders", records)

        first = self.start("tx-1")
        deadline = time.time() + 120
        while time.time() < deadline:
            if len(kcat_read(self.brokers, self.prefix + "exact.commands")) >= 40:
                break
            time.sleep(0.3)
        first.kill()  # SIGKILL mid-stream: the open transaction must never become visible
        self.start("tx-1")
        cmds, dls = self.wait_outputs(len(records))
        time.sleep(2)  # anything extra would show up now
        cmds = kcat_read(self.brokers, self.prefix + "exact.commands")
        dls = kcat_read(self.brokers, self.prefix + "dead.letters")
        self.assertEqual(len(cmds) + len(dls), len(records), "an input produced 0 or 2 outputs")

        seen = {}
        for key, cmd in cmds:
            ident = (cmd["tenant"], str(cmd["source_id"]))
            self.assertEqual(key, cmd["tenant"])
            self.assertNotIn(ident, seen, f"command for {ident} twice")
            seen[ident] = cmd
            exp = expected[ident]
            self.assertIn("body", exp, f"{ident}: the dry run rejected it: {exp.get('error')}")
            self.assertEqual(cmd["body"], exp["body"], ident)
        for key, dl in dls:
            if dl["tenant"] in self.tenants and dl["source_id"] and \
                    (dl["tenant"], dl["source_id"]) in expected:
                exp = expected[(dl["tenant"], dl["source_id"])]
                self.assertEqual(dl["reason"], exp.get("error"), dl)
                self.assertNotIn((dl["tenant"], dl["source_id"]), seen)
                seen[(dl["tenant"], dl["source_id"])] = dl
        self.assertEqual(len(seen), len(expected), "every order has exactly one outcome")
        reasons = " | ".join(dl["reason"] for _, dl in dls)
        self.assertIn("not a JSON object", reasons)
        self.assertIn('unknown tenant "nobody"', reasons)
        self.assertIn("does not match message key", reasons)
        rows = cxtest.psql(self.dsn, "SELECT count(*) FROM dead_letters WHERE state = 'open'")
        self.assertEqual(int(rows), len(dls), "each dead letter recorded once in PostgreSQL")

        # A mapping fixed in PostgreSQL applies to the next message, without a restart.
        fr = [o for (t, sid), o in expected.items()
              if t == "shop-a" and "FR reduced" in o.get("error", "")]
        self.assertTrue(fr, "the generator made no FR reduced-rate order for shop-a")
        rules = self.rules["shop-a"]
        rules["vat_codes"].append({"code": "F9", "scenario": "oss", "country": "FR",
                                   "class": "reduced", "percentage": 5.5})
        rules["vat_codes"].append({"code": "F8", "scenario": "oss", "country": "FR",
                                   "class": "reduced", "percentage": 10})
        self.store_rules("shop-a", rules)
        time.sleep(0.5)
        sid = fr[0]["source_id"]
        replay = [v for k, v in records if k == "shop-a" and
                  v.startswith('{"v"') and json.loads(v).get("source_id") == str(sid)]
        kcat_produce(self.brokers, self.prefix + "shop.orders", [("shop-a", replay[0])])
        cmds, _ = self.wait_outputs(len(records) + 1, timeout=60)
        fixed = [c for _, c in cmds if str(c["source_id"]) == str(sid) and c["tenant"] == "shop-a"]
        self.assertEqual(len(fixed), 1)
        codes = {line["VATCode"] for line in fixed[0]["body"]["SalesOrderLines"]}
        self.assertTrue(codes & {"F9", "F8"}, codes)


    def test_a_fenced_instance_stops_and_other_prefixes_are_not_fenced(self):
        """Two live instances under one CX_INSTANCE_ID: the older one is fenced by the newer
        one's transactional id and stops (exit 1, kafka.producer_fatal) instead of aborting
        every batch for ever. A stack with another topic prefix on the same cluster, same
        instance name, is not fenced (the prefix is part of the transactional id)."""
        order = json.loads(subprocess.run(
            [CCV_FAKE, "--dump-orders", "--seed", "11", "--shops", "1", "--orders", "1"],
            stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines()[0])
        order.pop("_fake_expect", None)

        def envelope(n):
            return ("shop-a", json.dumps({"v": 1, "tenant": "shop-a", "entity": "order",
                                          "event": "upsert", "source_id": str(order["id"]),
                                          "trace_id": f"fence-{n}", "payload": order}))
        other = self.prefix.rstrip(".") + "-other."
        old = self.start("tx-same")
        neighbour = cxtest.Daemon(TRANSFORMER, {
            "CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn, "CX_TOPIC_PREFIX": other,
            "CX_INSTANCE_ID": "tx-same", "CX_RULES_REFRESH_MS": "200"}, name="tx-other").start()
        self.daemons.append(neighbour)
        neighbour.wait_ready(120)
        kcat_produce(self.brokers, self.prefix + "shop.orders", [envelope(1)])
        self.wait_outputs(1, timeout=120)
        new = self.start("tx-same")  # fences the old one's transactional id
        kcat_produce(self.brokers, self.prefix + "shop.orders", [envelope(2)])
        kcat_produce(self.brokers, other + "shop.orders", [envelope(3)])
        deadline = time.time() + 120
        while time.time() < deadline and old.proc.poll() is None:
            time.sleep(0.3)
        self.assertEqual(old.proc.poll(), 1, "the fenced instance did not stop:\n"
                         + old.output()[-3000:])
        self.assertIn("kafka.producer_fatal", [e.get("event") for e in old.log_events()])
        # the newer instance books the second envelope; the neighbour its own, untouched
        self.wait_outputs(2, timeout=120)
        def neighbours():
            return [c.get("trace_id") for topic in ("exact.commands", "dead.letters")
                    for _, c in kcat_read(self.brokers, other + topic)]
        deadline = time.time() + 120
        while time.time() < deadline and not neighbours():
            time.sleep(0.5)
        self.assertEqual(neighbours(), ["fence-3"])
        for d in (new, neighbour):
            self.assertIsNone(d.proc.poll(), d.output()[-3000:])
            self.assertNotIn("kafka.producer_fatal", [e.get("event") for e in d.log_events()])

if __name__ == "__main__":
    unittest.main(verbosity=2)
