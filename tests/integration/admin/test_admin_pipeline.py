#!/usr/bin/env python3
"""Replay and redrive through the real transformer and loader into exact-fake.

Replay: N orders are booked; with both daemons stopped, `connector-admin replay offsets`
moves both consumer groups back to before the orders; after a restart everything is read and
loaded again, and the fake still holds N documents (one per order).
Redrive: orders whose VAT code is not mapped become dead letters; the missing mapping is
imported; `deadletters redrive` sends them again; each order is booked exactly once, and a
second redrive is refused.
Poison: on each topic, a body that is not UTF-8, one that is not JSON, an empty key and a key
naming another tenant each become a dead letter with their exact bytes (base64), and a valid
message produced after them is loaded.
Full replay: both consumer groups rewound and the orders extracted again (new trace ids):
each failing order is still one open dead letter per stage and reason."""
import base64
import collections
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import adminlib as al  # noqa: E402
from adminlib import Admin, cxtest  # noqa: E402

TRANSFORMER = os.path.join(al.BUILD, "transformer", "transformer")
LOADER = os.path.join(al.BUILD, "loader", "loader")
CCV_FAKE = os.path.join(al.BUILD, "fakes", "ccvshop", "ccvshop-fake")
SERVICE_ITEMS = {"VERZEND": "Verzendkosten", "KORTING": "Korting",
                 "BETAALKOSTEN": "Betaalkosten"}


def full_rules(tenant, division, drop_code=None):
    r = al.rules(tenant, division)
    r["payment_cost_item"] = "BETAALKOSTEN"
    if drop_code:
        r["vat_codes"] = [c for c in r["vat_codes"] if c["code"] != drop_code]
    return r


def dry_run(rules, orders):
    path = os.path.join(cxtest.tempfile.mkdtemp(), "rules.json")
    with open(path, "w") as f:
        json.dump(rules, f)
    out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", path],
                         input="".join(json.dumps(o) + "\n" for o in orders),
                         stdout=subprocess.PIPE, text=True, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines()]


def generated_orders(seed, n=60):
    dump = subprocess.run([CCV_FAKE, "--dump-orders", "--seed", str(seed), "--shops", "1",
                           "--orders", str(n)], stdout=subprocess.PIPE, text=True, check=True,
                          timeout=60).stdout
    orders = [json.loads(line) for line in dump.splitlines()]
    for o in orders:
        o.pop("_fake_expect", None)
    return orders


class Pipeline(unittest.TestCase):
    def setUp(self):
        self.env = al.new_env("t_adm_pipe")
        self.env["CX_TOPIC_PREFIX"] += "."
        self.adm = Admin(self.env)
        self.fake = al.Fake("--no-limits")
        self.daemons = []
        self.division = 5100 + int(time.time()) % 800
        self.tenant = "shop-" + cxtest.unique("")[:6]
        al.add_consented_tenant(self.adm, self.fake, self.tenant, self.division)
        self.create_service_items()
        self.tx_group = cxtest.unique("cx-tx-")
        self.ld_group = cxtest.unique("cx-ld-")

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        self.fake.stop()
        for out in self.adm.outputs:
            self.assertNotIn(al.CLIENT_SECRET, out)
            self.assertNotIn(al.SHOP_SECRET, out)

    # -- helpers ------------------------------------------------------------------
    def create_service_items(self):
        """Shipping, discount and payment-cost items must exist in Exact (commands.md)."""
        start = "{}/api/oauth2/auth?{}".format(self.fake.url, urllib.parse.urlencode({
            "client_id": al.CLIENT_ID, "redirect_uri": al.REDIRECT, "response_type": "code"}))
        code, _ = self.fake.consent(start, self.division)
        status, body, _ = cxtest.http("POST", self.fake.url + "/api/oauth2/token",
                                      urllib.parse.urlencode({
                                          "grant_type": "authorization_code", "code": code,
                                          "redirect_uri": al.REDIRECT,
                                          "client_id": al.CLIENT_ID,
                                          "client_secret": al.CLIENT_SECRET}),
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        token = json.loads(body)["access_token"]
        for code, desc in SERVICE_ITEMS.items():
            status, body, _ = cxtest.http(
                "POST", f"{self.fake.url}/api/v1/{self.division}/logistics/Items",
                json.dumps({"Code": code, "Description": desc}),
                {"Authorization": "Bearer " + token, "Accept": "application/json",
                 "Content-Type": "application/json"})
            self.assertEqual(status, 201, body)

    def import_rules(self, rules):
        self.adm.ok("mappings", "import", self.tenant, "-", stdin=json.dumps(rules))

    def start_daemons(self):
        common = {k: self.env[k] for k in ("CX_KAFKA_BROKERS", "CX_PG_DSN", "CX_TOPIC_PREFIX")}
        tx = cxtest.Daemon(TRANSFORMER, {**common, "CX_TRANSFORMER_GROUP": self.tx_group,
                                         "CX_RULES_REFRESH_MS": "200",
                                         "CX_TRANSFORMER_BATCH_MS": "50"}, name="tx").start()
        ld = cxtest.Daemon(LOADER, {**common, "CX_SECRET_KEY": al.KEY,
                                    "CX_LOADER_GROUP": self.ld_group,
                                    "CX_LOADER_BACKOFF_BASE_MS": "100",
                                    "CX_LOADER_BACKOFF_MAX_MS": "2000",
                                    "CX_LOADER_DOUBT_GRACE_MS": "300"}, name="ld").start()
        self.daemons += [tx, ld]
        tx.wait_ready(120)
        ld.wait_ready(120)
        return tx, ld

    def stop_daemons(self):
        for d in self.daemons:
            self.assertEqual(d.stop(timeout=30), 0, d.output()[-3000:])
        self.daemons = []

    def publish(self, orders):
        records = []
        for i, o in enumerate(orders):
            env = {"v": 1, "tenant": self.tenant, "entity": "order", "event": "upsert",
                   "source_id": str(o["id"]), "trace_id": f"trace-{o['id']}", "payload": o}
            records.append(f"{self.tenant}\t{json.dumps(env)}\n")
        subprocess.run(["kcat", "-b", self.env["CX_KAFKA_BROKERS"], "-P", "-t",
                        self.env["CX_TOPIC_PREFIX"] + "shop.orders", "-K", "\t"],
                       input="".join(records), text=True, check=True, timeout=60)

    def produce_raw(self, topic, records):
        """Produce (key, bytes) records as they are, bytes that are not UTF-8 included."""
        data = b"".join(k.encode() + b"\t" + v + b"\n" for k, v in records)
        for _, v in records:
            self.assertNotIn(b"\n", v)
        subprocess.run(["kcat", "-b", self.env["CX_KAFKA_BROKERS"], "-P", "-t",
                        self.env["CX_TOPIC_PREFIX"] + topic, "-K", "\t"],
                       input=data, check=True, timeout=60)

    def open_dead_letters(self):
        return al.psql(self.env["CX_PG_DSN"], "SELECT stage || '|' || source_id || '|' ||"
                       " md5(reason) FROM dead_letters WHERE state = 'open'").split()

    def documents(self):
        return self.fake.entities(self.division, "SalesOrders")

    def wait_for(self, what, pred, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.5)
        logs = "\n".join(d.output()[-4000:] for d in self.daemons)
        self.fail(f"timed out waiting for {what}\n{logs}")

    def load_rows(self):
        return int(al.psql(self.env["CX_PG_DSN"], "SELECT count(*) FROM sync_log WHERE"
                           f" tenant_id = '{self.tenant}' AND stage = 'load' AND entity IN"
                           " ('sales_order', 'salesorder/SalesOrders') AND status IN ('ok',"
                           " 'skipped')"))

    def pick(self, orders, n, rules, failing_rules=None):
        good = {str(r["source_id"]) for r in dry_run(rules, orders) if "body" in r}
        if failing_rules:
            good &= {str(r["source_id"]) for r in dry_run(failing_rules, orders)
                     if "error" in r and "no VAT code" in r["error"]}
        chosen = [o for o in orders if str(o["id"]) in good][:n]
        self.assertEqual(len(chosen), n, "the generator gave too few usable orders")
        return chosen

    # -- the tests ------------------------------------------------------------------
    def test_replay_offsets_books_nothing_twice(self):
        rules = full_rules(self.tenant, self.division)
        self.import_rules(rules)
        orders = self.pick(generated_orders(21), 5, rules)
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        time.sleep(2.5)
        self.publish(orders)
        self.start_daemons()
        self.wait_for("5 documents", lambda: len(self.documents()) == 5)
        self.wait_for("5 load rows", lambda: self.load_rows() >= 5)
        self.stop_daemons()

        for group, topic in ((self.tx_group, "shop.orders"), (self.ld_group, "exact.commands")):
            plan = self.adm.js("replay", "offsets", "--group", group, "--topic", topic, "--to",
                               before)
            self.assertEqual(sum(max(p["new"], 0) for p in plan["partitions"]), 0, plan)
            self.assertGreaterEqual(sum(p["committed"] for p in plan["partitions"]
                                        if p["committed"] > 0), 5)
        self.start_daemons()
        # the transformer writes every command again and the loader reads them all again
        self.wait_for("the replay to be loaded", lambda: self.load_rows() >= 10, timeout=180)
        time.sleep(1)
        docs = self.documents()
        refs = [d["YourRef"] for d in docs]
        self.assertEqual(len(refs), 5, refs)
        self.assertEqual(len(set(refs)), 5, refs)
        self.assertEqual(sorted(refs), sorted(o["ordernumber_full"] for o in orders))
        status = self.adm.js("status", self.tenant)
        self.assertEqual(status["counts"]["loaded"], 5)
        self.stop_daemons()

    def test_redrive_after_mapping_fix(self):
        full = full_rules(self.tenant, self.division)
        missing = full_rules(self.tenant, self.division, drop_code="2")
        orders = self.pick(generated_orders(33), 2, full, failing_rules=missing)
        self.import_rules(missing)
        self.publish(orders)
        self.start_daemons()
        self.wait_for("2 dead letters", lambda: len(self.adm.js(
            "deadletters", "list", "--tenant", self.tenant)) == 2)
        self.assertEqual(self.documents(), [])
        dls = self.adm.js("deadletters", "list", "--tenant", self.tenant)
        self.assertTrue(all("no VAT code mapped for domestic NL standard" in d["reason"]
                            for d in dls), dls)
        status = self.adm.js("status", self.tenant)
        self.assertEqual(status["counts"]["dead_letters_open"], 2)

        self.import_rules(full)
        time.sleep(1)   # the transformer re-reads rules every 200 ms
        r = self.adm.js("deadletters", "redrive", "--tenant", self.tenant)
        self.assertEqual(len(r["redriven"]), 2)
        self.wait_for("2 documents", lambda: len(self.documents()) == 2)
        self.assertEqual(self.adm("deadletters", "redrive", str(dls[0]["id"])).rc, 3)
        self.assertEqual(self.adm.js("deadletters", "list", "--tenant", self.tenant), [])
        time.sleep(2)
        refs = sorted(d["YourRef"] for d in self.documents())
        self.assertEqual(refs, sorted(o["ordernumber_full"] for o in orders))
        self.stop_daemons()

    def poison_records(self, topic, mark, envelope):
        """The four poison messages of @topic, each carrying @mark, and what they must give."""
        other = "shop-" + cxtest.unique("")[:6]
        env = json.dumps({**envelope, "mark": mark + "-nokey"}).encode()
        wrong = json.dumps({**envelope, "mark": mark + "-wrongkey"}).encode()
        bad_utf8 = json.dumps({**envelope, "mark": mark + "-utf8"}).encode().replace(
            b'"mark"', b'"bad \xff\xfe \xc3(", "mark"')
        return [
            (self.tenant, bad_utf8, self.tenant, ""),
            (self.tenant, b"this is not JSON " + mark.encode() + b"-json", self.tenant, ""),
            ("", env, self.tenant, "message has no tenant key"),
            (other, wrong, other, ""),
        ]

    def test_poison_messages_are_dead_lettered_and_nothing_sticks(self):
        rules = full_rules(self.tenant, self.division)
        self.import_rules(rules)
        order = self.pick(generated_orders(45), 1, rules)[0]
        mark = cxtest.unique("poison-")
        product = {"id": 880001, "name": "Poison test product", "productnumber": "PSN-1"}
        customer = {"id": 770001, "userinfo": {"email": "psn@example.nl", "billingaddress": {
            "company": "Poison Test BV", "city": "Utrecht", "country_code": "NL"}}}
        command = {"v": 1, "tenant": self.tenant, "kind": "account_upsert",
                   "source_id": "770002", "trace_id": "t-psn",
                   "account": {"Code": "770002", "Name": "Poison Direct BV"}}
        sent = {}
        for topic, entity, payload in (("shop.orders", "order", order),
                                       ("shop.products", "product", product),
                                       ("shop.customers", "customer", customer),
                                       ("exact.commands", None, None)):
            envelope = command if entity is None else {
                "v": 1, "tenant": self.tenant, "entity": entity, "event": "upsert",
                "source_id": str(payload["id"]), "trace_id": "t-" + entity, "payload": payload}
            recs = self.poison_records(topic, f"{mark}-{topic}", envelope)
            self.produce_raw(topic, [(k, v) for k, v, _, _ in recs])
            for _, v, tenant, reason in recs:
                sent[v] = (topic, tenant, reason)
        # valid messages after the poison, on the same partitions (same key)
        self.publish([order])
        for topic, entity, payload in (("shop.products", "product", product),
                                       ("shop.customers", "customer", customer)):
            self.produce_raw(topic, [(self.tenant, json.dumps({
                "v": 1, "tenant": self.tenant, "entity": entity, "event": "upsert",
                "source_id": str(payload["id"]), "trace_id": "t-ok-" + entity,
                "payload": payload}).encode())])
        self.produce_raw("exact.commands", [(self.tenant, json.dumps(command).encode())])
        self.start_daemons()

        def names(etype, field):
            return [e.get(field) for e in self.fake.entities(self.division, etype)]
        self.wait_for("the order booked", lambda: len(self.documents()) == 1, timeout=180)
        self.assertEqual(self.documents()[0]["YourRef"], order["ordernumber_full"])
        self.wait_for("the item", lambda: "PSN-1" in names("Items", "Code"))
        self.wait_for("both accounts", lambda: {"Poison Test BV", "Poison Direct BV"} <= set(
            names("Accounts", "Name")))
        rows = {}
        self.wait_for("16 dead letters", lambda: len(rows.update(self.poison_rows(mark)) or
                                                     rows) == 16)
        listed = {d["id"] for d in self.adm.js("deadletters", "list", "--limit", "1000")}
        for raw, (topic, tenant, reason) in sent.items():
            self.assertIn(raw, rows, f"no dead letter holds the bytes of {raw!r}")
            row = rows[raw]
            self.assertEqual(row["source_topic"], self.env["CX_TOPIC_PREFIX"] + topic, row)
            self.assertEqual(row["stage"], "load" if topic == "exact.commands" else "transform")
            self.assertEqual(row["tenant_id"], tenant, row)
            if reason:
                self.assertEqual(row["reason"], reason, row)
            self.assertIn(row["id"], listed)
            shown = self.adm.js("deadletters", "show", str(row["id"]))
            self.assertEqual(base64.b64decode(shown["payload_base64"]), raw)
            if b"\xff" in raw:
                self.assertIn("bad \\xff\\xfe \\xc3(", shown["payload"])
        for row in rows.values():
            if b"not JSON" in base64.b64decode(row["payload_base64"]):
                self.assertRegex(row["reason"], "not a JSON object|malformed command")
            if row["tenant_id"] not in (self.tenant, ""):
                self.assertRegex(row["reason"], "does not match")
        self.stop_daemons()

    def poison_rows(self, mark):
        out = al.psql(self.env["CX_PG_DSN"], "SELECT row_to_json(d) FROM (SELECT id, tenant_id,"
                      " stage, source_topic, reason, payload_base64 FROM dead_letters"
                      f" WHERE payload LIKE '%{mark}%') d")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {base64.b64decode(r["payload_base64"]): r for r in rows}

    def test_full_replay_lists_each_failure_once(self):
        # No code for DE standard OSS (transform fails), an NL standard code that the division
        # does not know (load fails), the rest books.
        rules = full_rules(self.tenant, self.division, drop_code="D1")
        for c in rules["vat_codes"]:
            if c["code"] == "2":
                c["code"] = "77"
        orders = generated_orders(33)[:30]
        outcome = {}
        for r in dry_run(rules, orders):
            sid = str(r["source_id"])
            outcome[sid] = ("transform" if "error" in r else
                            "load" if '"77"' in json.dumps(r["body"]) else "booked")
        kinds = collections.Counter(outcome.values())
        self.assertTrue(all(kinds[k] >= 2 for k in ("transform", "load", "booked")), kinds)
        failures = kinds["transform"] + kinds["load"]
        self.import_rules(rules)
        before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        time.sleep(2.5)
        self.publish(orders)
        self.start_daemons()
        self.wait_for("a dead letter per failing order",
                      lambda: len(self.open_dead_letters()) >= failures)
        self.wait_for("the good orders booked",
                      lambda: len(self.documents()) == kinds["booked"])
        time.sleep(1)
        first = collections.Counter(self.open_dead_letters())
        self.assertEqual(len(first), failures, first)
        self.assertEqual(collections.Counter(k.split("|")[0] for k in first),
                         {"transform": kinds["transform"], "load": kinds["load"]})
        self.stop_daemons()

        for group, topic in ((self.tx_group, "shop.orders"), (self.ld_group, "exact.commands")):
            self.adm.js("replay", "offsets", "--group", group, "--topic", topic, "--to", before)
        # what `replay extract` publishes: the same orders in new envelopes (new trace ids)
        records = []
        for o in orders:
            env = {"v": 1, "tenant": self.tenant, "entity": "order", "event": "upsert",
                   "source_id": str(o["id"]), "trace_id": cxtest.unique("re-"), "payload": o}
            records.append((self.tenant, json.dumps(env).encode()))
        self.produce_raw("shop.orders", records)
        self.start_daemons()
        # each failure is met again: twice more in the transformer, three times in the loader
        want = 3 * kinds["transform"] + 4 * kinds["load"]
        self.wait_for("the replay to fail again", lambda: int(al.psql(
            self.env["CX_PG_DSN"], "SELECT count(*) FROM sync_log WHERE status = 'failed'"))
            >= want, timeout=180)
        time.sleep(2)
        after = collections.Counter(self.open_dead_letters())
        self.assertEqual(after, first, "the replay opened a failure again")
        self.assertTrue(all(n == 1 for n in after.values()), after)
        self.assertEqual(self.adm.js("status", self.tenant)["counts"]["dead_letters_open"],
                         failures)
        refs = [d["YourRef"] for d in self.documents()]
        self.assertEqual(len(refs), kinds["booked"], refs)
        self.assertEqual(len(set(refs)), len(refs), refs)
        self.stop_daemons()

if __name__ == "__main__":
    unittest.main(verbosity=2)
