#!/usr/bin/env python3
"""Each daemon against the real services: starts, answers /healthz and /readyz, logs JSON,
exits 0 on SIGTERM within 10 seconds; refuses bad configuration with one clear line; gives up
on an unreachable database within its startup timeout instead of hanging."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import cxtest  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
DAEMONS = {
    "extractor": os.path.join(BUILD, "extractor", "extractor"),
    "transformer": os.path.join(BUILD, "transformer", "transformer"),
    "loader": os.path.join(BUILD, "loader", "loader"),
}
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
EXTRA_ENV = {"transformer": {}, "extractor": {}, "loader": {}}


class DaemonSkeletons(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dsn = cxtest.new_database("t_daemons")
        out = subprocess.run([ADMIN, "migrate"], env={**os.environ, "CX_PG_DSN": cls.dsn},
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        assert json.loads(out)["applied"] >= 1
        cls.base = {"CX_KAFKA_BROKERS": cxtest.need_env("TEST_KAFKA_BROKERS"),
                    "CX_PG_DSN": cls.dsn, "CX_TOPIC_PREFIX": cxtest.unique("d")}

    def env_for(self, name):
        env = dict(self.base)
        env.update(EXTRA_ENV.get(name, {}))
        return env

    def test_each_daemon_starts_serves_health_and_drains(self):
        for name, exe in DAEMONS.items():
            with self.subTest(daemon=name):
                d = cxtest.Daemon(exe, self.env_for(name)).start()
                try:
                    d.wait_ready(90)
                    status, body, _ = cxtest.http("GET", d.url("/healthz"))
                    self.assertEqual(status, 200)
                    status, body, headers = cxtest.http("GET", d.metrics_url())
                    self.assertEqual(status, 200)
                    self.assertIn("cx_ready 1", body)
                    # the public listener (the extractor's webhooks) has no /metrics
                    status, _, _ = cxtest.http("GET", d.url("/metrics"))
                    self.assertEqual(status, 404)
                    started = time.time()
                    rc = d.stop()
                    self.assertEqual(rc, 0, d.output())
                    self.assertLess(time.time() - started, 10)
                    events = d.log_events()  # every line must parse as JSON
                    self.assertTrue(any(e["event"] == "startup" for e in events))
                    for line in d.output().splitlines():
                        self.assertTrue(line.startswith("{"), f"not a JSON line: {line}")
                        json.loads(line)
                finally:
                    d.kill()

    def test_bad_configuration_is_one_clear_line(self):
        cases = [
            ({"CX_HTTP_PORT": "http"}, "CX_HTTP_PORT"),
            ({"CX_LOG_LEVEL": "loud"}, "CX_LOG_LEVEL"),
            ({"CX_KAFKA_BRKERS": "x"}, "CX_KAFKA_BRKERS: unknown variable"),
        ]
        for name, exe in DAEMONS.items():
            for extra, needle in cases:
                with self.subTest(daemon=name, var=needle):
                    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
                    env.update(self.env_for(name), **extra)
                    p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, timeout=20)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertIn(needle, p.stderr)
                    self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            with self.subTest(daemon=name, var="missing CX_PG_DSN"):
                env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
                env["CX_KAFKA_BROKERS"] = "127.0.0.1:1"
                p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=20)
                self.assertEqual(p.returncode, 2)
                self.assertIn("CX_PG_DSN: required", p.stderr)

    def test_unreachable_database_gives_up_within_timeout(self):
        for name, exe in DAEMONS.items():
            with self.subTest(daemon=name):
                env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
                env.update(self.env_for(name), CX_PG_DSN="host=127.0.0.1 port=1 dbname=x",
                           CX_STARTUP_TIMEOUT="2", CX_HTTP_PORT="0")
                started = time.time()
                p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertLess(time.time() - started, 15)
                last = json.loads(p.stderr.strip().splitlines()[-1])
                self.assertEqual(last["event"], "startup.failed")
                self.assertIn("PostgreSQL", last["msg"])

    def test_unreachable_kafka_gives_up_within_timeout(self):
        for name, exe in DAEMONS.items():
            with self.subTest(daemon=name):
                env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
                env.update(self.env_for(name), CX_KAFKA_BROKERS="127.0.0.1:1",
                           CX_STARTUP_TIMEOUT="3", CX_HTTP_PORT="0")
                p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
                self.assertEqual(p.returncode, 1, p.stderr[-2000:])
                self.assertIn("startup.failed", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
