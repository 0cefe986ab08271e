#!/usr/bin/env python3
"""Kafka as users run it: every program reaches the harness's broker on its SASL_PLAINTEXT
listener (PLAIN mechanism) through the documented CX_KAFKA_PROPERTY_* variables only.

Orders flow from ccvshop-fake through the extractor, transformer and loader into exact-fake
exactly once; connector-admin's replay talks to the same listener; the password never appears
in a log; a wrong password stops every daemon at start with a line that says authentication
failed (not "brokers not reachable"), and so does connector-admin's replay."""
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
import cxtest  # noqa: E402
from stack import Stack  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
DAEMONS = ("extractor", "transformer", "loader")


def sasl_properties(password=None):
    return {"CX_KAFKA_BROKERS": cxtest.need_env("TEST_KAFKA_SASL_BROKERS"),
            "CX_KAFKA_PROPERTY_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CX_KAFKA_PROPERTY_SASL_MECHANISM": "PLAIN",
            "CX_KAFKA_PROPERTY_SASL_USERNAME": cxtest.need_env("TEST_KAFKA_SASL_USER"),
            "CX_KAFKA_PROPERTY_SASL_PASSWORD":
                password or cxtest.need_env("TEST_KAFKA_SASL_PASSWORD")}


class Sasl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.password = cxtest.need_env("TEST_KAFKA_SASL_PASSWORD")
        extra = {f"{kind}:{k}": v for kind in DAEMONS for k, v in sasl_properties().items()}
        cls.stack = Stack(BUILD, tenants=2, orders=12, products=5, seed=19,
                          exact_args=("--minute", "6"), extra_env=extra)
        try:
            cls.stack.start()
            cls.expected = cls.stack.expected()
        except Exception:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def admin(self, *args, props):
        env = {**cxtest.clean_env(), **self.stack.env, **props}
        return subprocess.run([self.stack.exe("admin", "connector-admin"), *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)

    def test_1_orders_flow_end_to_end_over_sasl(self):
        self.stack.wait_synced(self.expected, timeout=240)
        per, totals = self.stack.report(self.expected)
        for key in ("duplicates", "missing", "wrong_totals"):
            self.assertEqual(totals[key], 0, (key, per))
        want = sum(len(e["ok"]) for e in self.expected.values())
        self.assertGreater(want, 0)
        self.assertEqual(totals["documents_created"], want)
        for kind in DAEMONS:
            d = self.stack.daemons[kind][0]
            self.assertEqual(d.env["CX_KAFKA_BROKERS"], os.environ["TEST_KAFKA_SASL_BROKERS"])
            events = [e for e in d.log_events() if e.get("event") == "kafka.properties"]
            self.assertTrue(events, f"{kind} logged no kafka.properties:\n{d.output()[-3000:]}")
            props = events[0]["properties"]
            self.assertEqual(props["security.protocol"], "SASL_PLAINTEXT")
            self.assertEqual(props["sasl.password"], "***")
            self.assertNotIn(self.password, d.output(), f"{kind} logged the SASL password")

    def test_2_replay_over_sasl(self):
        group = cxtest.unique("sasl-replay-")
        p = self.admin("--json", "replay", "offsets", "--group", group, "--topic",
                       "exact.commands", "--to", "2000-01-01", "--dry-run",
                       props=sasl_properties())
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertGreater(sum(x["new"] for x in out["partitions"]) +
                           len(out["partitions"]), 0, out)
        self.assertNotIn(self.password, p.stdout + p.stderr)
        bad = self.admin("--json", "replay", "offsets", "--group", group, "--topic",
                         "exact.commands", "--to", "2000-01-01", "--dry-run",
                         props=sasl_properties("wrong-" + self.password))
        self.assertNotEqual(bad.returncode, 0, bad.stdout)
        self.assertIn("Authentication failed", bad.stderr + bad.stdout)

    def test_3_wrong_password_fails_clearly(self):
        wrong = "wrong-" + self.password
        env = {"CX_PG_DSN": self.stack.env["CX_PG_DSN"],
               "CX_TOPIC_PREFIX": self.stack.env["CX_TOPIC_PREFIX"],
               "CX_SECRET_KEY": self.stack.env["CX_SECRET_KEY"],
               "CX_STARTUP_TIMEOUT": "6", **sasl_properties(wrong)}
        started = time.time()
        procs = {}
        for kind in DAEMONS:
            e = dict(env, CX_INSTANCE_ID=f"sasl-wrong-{kind}")
            if kind == "transformer":
                e.pop("CX_SECRET_KEY")
            procs[kind] = cxtest.Daemon(self.stack.exe(kind, kind), e,
                                        name=f"wrong-{kind}",
                                        log_dir=self.stack.log_dir).start()
        for kind, d in procs.items():
            try:
                rc = d.proc.wait(60)
            except subprocess.TimeoutExpired:
                d.kill()
                self.fail(f"{kind} still runs with a wrong Kafka password:\n{d.output()}")
            out = d.output()
            self.assertEqual(rc, 1, f"{kind}:\n{out}")
            events = {e.get("event"): e for e in d.log_events()}
            self.assertIn("kafka.auth_failed", events, f"{kind}:\n{out}")
            self.assertIn("startup.kafka_auth", events, f"{kind}:\n{out}")
            self.assertIn("Authentication failed", events["startup.kafka_auth"]["msg"])
            self.assertIn("startup.failed", events, f"{kind}:\n{out}")
            self.assertNotIn(wrong, out, f"{kind} logged the password")
        self.assertLess(time.time() - started, 60)


if __name__ == "__main__":
    unittest.main(verbosity=2)
