#!/usr/bin/env python3
"""The deployment files stay valid and true to the programs, checked offline:

* deploy/kubernetes/*.yaml against the Kubernetes JSON schemas that the PyPI package
  kubernetes-validate ships (strict: an unknown field is an error), and against the
  connector's own rules: the transformer is a StatefulSet and every daemon's CX_INSTANCE_ID
  is its pod name (docs/kubernetes.md), probes on /readyz and /healthz, resource limits on
  every container, and every CX_* variable a container gets is one its program reads (the
  programs refuse any other: their --config-reference is the list);
* deploy/prometheus/ with promtool (Debian's prometheus package): both scrape
  configurations, the alert rules, and the rules' unit tests (alerts-test.yml);
* every metric the alerts and the Grafana dashboard use is listed in docs/metrics.md, and the
  dashboard shows every metric listed there.

    test_deploy.py EXTRACTOR TRANSFORMER LOADER PANEL CONNECTOR-ADMIN

A missing tool is a failure that names the package to install, never a skip."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("TEST_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
K8S = os.path.join(SOURCE, "deploy", "kubernetes")
PROM = os.path.join(SOURCE, "deploy", "prometheus")
DASHBOARD = os.path.join(SOURCE, "deploy", "grafana", "ccv-exact-connector.json")
K8S_VERSION = "1.30.0"   # the oldest Kubernetes the manifests promise to work on
PROGRAMS = {}            # command -> executable, from argv
PROPERTY_PREFIX = "CX_KAFKA_PROPERTY_"
# Workloads that run no daemon: the operators' pod runs connector-admin under kubectl exec.
TOOL_PODS = {"admin": "connector-admin"}
# Prometheus' own series the rules may use besides ours.
PROMETHEUS_METRICS = {"up"}


def tool(name, package):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} not found: install {package} (tests never skip)")
    return path


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120, **kw)


def load_yaml(path):
    """Every document of a YAML file, parsed by PyYAML in a child process (PyYAML comes with
    kubernetes-validate; this test itself uses the standard library only)."""
    p = run([sys.executable, "-c", "import json, sys, yaml\n"
             "print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
             path])
    if p.returncode != 0:
        raise AssertionError(f"cannot parse {path} (PyYAML comes with kubernetes-validate: "
                             f"pip install kubernetes-validate):\n{p.stdout}")
    return json.loads(p.stdout)


def manifests():
    out = []
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        for doc in load_yaml(path):
            out.append((os.path.basename(path), doc))
    return out


def documented_metrics():
    with open(os.path.join(SOURCE, "docs", "metrics.md"), encoding="utf-8") as f:
        return set(re.findall(r"^\| `(cx_[a-z0-9_]+)` \|", f.read(), re.M))


def metric_names(expr):
    # a histogram's buckets are named after it (cx_x_seconds_bucket is cx_x_seconds)
    return {re.sub(r"_bucket$", "", n) for n in re.findall(r"\b(cx_[a-z0-9_]+)\b", expr)} | \
        {m for m in re.findall(r"\b([a-z_]+)\{", expr) if m in PROMETHEUS_METRICS} | \
        ({"up"} if re.search(r"\bup\b", expr) else set())


def config_reference(exe):
    p = run([exe, "--config-reference"])
    if p.returncode != 0:
        raise AssertionError(f"{exe} --config-reference: {p.stdout}")
    return set(re.findall(r"^\| `(CX_[A-Z0-9_]+)`", p.stdout, re.M)), \
        f"`{PROPERTY_PREFIX}<NAME>`" in p.stdout


class Kubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = manifests()
        cls.by_kind = {}
        for f, d in cls.docs:
            cls.by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
        cls.configmaps = cls.by_kind.get("ConfigMap", {})

    def test_schema_strict_offline(self):
        exe = tool("kubernetes-validate", "the PyPI package kubernetes-validate")
        files = sorted(glob.glob(os.path.join(K8S, "*.yaml")))
        self.assertGreater(len(files), 4)
        p = run([exe, "--strict", "--quiet", "-k", K8S_VERSION, *files])
        self.assertEqual(p.returncode, 0, p.stdout)
        # The validator does reject what the API server would: a misspelt field, a bad type.
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(K8S, "32-loader.yaml"), encoding="utf-8") as f:
                text = f.read()
            for bad in (text.replace("  replicas: 2", "  replica: 2", 1),
                        text.replace("terminationGracePeriodSeconds: 120",
                                     "terminationGracePeriodSeconds: two minutes", 1)):
                self.assertNotEqual(bad, text)
                path = os.path.join(tmp, "bad.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(bad)
                p = run([exe, "--strict", "--quiet", "-k", K8S_VERSION, path])
                self.assertNotEqual(p.returncode, 0, "the validator accepted a broken file")

    def workloads(self):
        for kind in ("Deployment", "StatefulSet", "Job"):
            for name, d in self.by_kind.get(kind, {}).items():
                yield kind, name, d, d["spec"]["template"]["spec"]

    def test_every_service_of_compose_is_there(self):
        names = {(k, n) for k, n, _, _ in self.workloads()}
        self.assertEqual(names, {("Job", "migrate"), ("Deployment", "extractor"),
                                 ("StatefulSet", "transformer"), ("Deployment", "loader"),
                                 ("Deployment", "panel"), ("Deployment", "admin")})
        self.assertEqual(self.by_kind["Job"]["migrate"]["spec"]["template"]["spec"]
                         ["containers"][0]["command"], ["connector-admin", "migrate"])

    def test_instance_identity(self):
        for kind, name, d, pod in self.workloads():
            if kind == "Job" or name in TOOL_PODS:
                continue
            c = pod["containers"][0]
            env = {e["name"]: e for e in c.get("env", [])}
            with self.subTest(workload=name):
                ref = env.get("CX_INSTANCE_ID", {}).get("valueFrom", {}).get("fieldRef", {})
                self.assertEqual(ref.get("fieldPath"), "metadata.name",
                                 "CX_INSTANCE_ID must be the pod's name")
        # The transactional id (cx-transformer-<prefix><instance>) must be stable across restarts
        # and unique: a StatefulSet's pod names; its headless Service exists.
        sts = self.by_kind["StatefulSet"]["transformer"]
        svc = self.by_kind["Service"][sts["spec"]["serviceName"]]
        self.assertEqual(svc["spec"].get("clusterIP"), "None")
        for name in ("extractor", "loader", "panel"):
            self.assertNotIn(name, self.by_kind.get("StatefulSet", {}))

    def test_probes_limits_and_security(self):
        for kind, name, d, pod in self.workloads():
            for c in pod["containers"]:
                with self.subTest(workload=name, container=c["name"]):
                    lim = c.get("resources", {}).get("limits", {})
                    self.assertIn("cpu", lim)
                    self.assertIn("memory", lim)
                    self.assertIn("memory", c.get("resources", {}).get("requests", {}))
                    self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
                    self.assertTrue(pod["securityContext"]["runAsNonRoot"])
                    if kind == "Job" or name in TOOL_PODS:
                        continue
                    self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
                    self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
                    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
                    env = {e["name"]: e.get("value") for e in c.get("env", [])}
                    self.assertEqual(env.get("CX_HTTP_PORT"), str(port))
        loader = self.by_kind["Deployment"]["loader"]["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in loader["containers"][0]["env"]}
        self.assertGreater(loader["terminationGracePeriodSeconds"],
                           int(env["CX_LOADER_TOKEN_TIMEOUT_MS"]) / 1000,
                           "a stop must not cut the loader's longest call (a token refresh)")

    def test_every_variable_is_read_by_its_program(self):
        for kind, name, d, pod in self.workloads():
            for c in pod["containers"]:
                program = TOOL_PODS.get(name, c["command"][0])
                self.assertIn(program, PROGRAMS, f"{name} runs {program}, not ours")
                known, takes_properties = config_reference(PROGRAMS[program])
                given = [e["name"] for e in c.get("env", [])]
                for src in c.get("envFrom", []):
                    cm = self.configmaps[src["configMapRef"]["name"]]
                    given += list(cm["data"])
                for var in given:
                    with self.subTest(workload=name, variable=var):
                        if var.startswith(PROPERTY_PREFIX):
                            self.assertTrue(takes_properties, f"{program} takes no {var}")
                        else:
                            self.assertIn(var, known, f"{program} refuses {var}")
                for var in ("CX_PG_DSN", "CX_SECRET_KEY", f"{PROPERTY_PREFIX}SASL_PASSWORD"):
                    for e in c.get("env", []):
                        if e["name"] == var:
                            self.assertIn("secretKeyRef", e.get("valueFrom", {}),
                                          f"{name}: {var} must come from a Secret")

    def test_kafka_properties_are_librdkafka_ones(self):
        # Start a program with the ConfigMap's properties: it refuses an unknown or invalid
        # one at once (exit 2, one line). With no PostgreSQL it then stops with exit 1.
        for cm in self.configmaps.values():
            props = {k: v for k, v in cm["data"].items() if k.startswith(PROPERTY_PREFIX)}
            if not props:
                continue
            env = {"PATH": os.environ.get("PATH", ""), **cm["data"],
                   "CX_PG_DSN": "host=127.0.0.1 port=1 connect_timeout=1",
                   "CX_STARTUP_TIMEOUT": "0", "CX_HTTP_PORT": "0", "CX_HTTP_ADDR": "127.0.0.1"}
            p = run([PROGRAMS["transformer"]], env=env)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertNotIn("configuration error", p.stdout)
            self.assertIn("PostgreSQL", p.stdout)

    def test_prometheus_finds_every_program(self):
        conf = load_yaml(os.path.join(PROM, "prometheus.yml"))[0]
        jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
        self.assertEqual(set(jobs), {"extractor", "transformer", "loader", "panel"})
        for job, j in jobs.items():
            name = j["dns_sd_configs"][0]["names"][0]
            svc = self.by_kind["Service"][name.split(".")[0]]
            with self.subTest(job=job):
                self.assertEqual(name, f"{svc['metadata']['name']}."
                                       f"{svc['metadata']['namespace']}.svc.cluster.local")
                self.assertEqual(svc["spec"]["clusterIP"], "None")
                self.assertTrue(svc["spec"]["publishNotReadyAddresses"],
                                "a pod that is not ready must still be scraped")
                self.assertEqual(svc["spec"]["selector"]["app.kubernetes.io/name"], job)


class Prometheus(unittest.TestCase):
    def promtool(self, *args):
        exe = tool("promtool", "Debian's prometheus package (apt-get install prometheus)")
        p = run([exe, *args], cwd=PROM)
        self.assertEqual(p.returncode, 0, p.stdout)
        return p.stdout

    def test_scrape_configurations(self):
        for f in ("prometheus.yml", "prometheus-compose.yml"):
            self.promtool("check", "config", f)

    def test_alert_rules(self):
        out = self.promtool("check", "rules", "alerts.yml")
        self.assertIn("SUCCESS", out)

    def test_alert_rules_unit_tests(self):
        self.promtool("test", "rules", "alerts-test.yml")

    def test_alerts_use_documented_metrics(self):
        rules = load_yaml(os.path.join(PROM, "alerts.yml"))[0]
        documented = documented_metrics() | PROMETHEUS_METRICS
        n = 0
        for g in rules["groups"]:
            for r in g["rules"]:
                n += 1
                used = metric_names(r["expr"])
                with self.subTest(alert=r["alert"]):
                    self.assertTrue(used, "uses no metric")
                    self.assertEqual(used - documented, set(), "not in docs/metrics.md")
                    self.assertIn(r["labels"]["severity"], ("warning", "critical"))
        self.assertGreater(n, 10)


class Grafana(unittest.TestCase):
    def test_dashboard_metrics_are_documented_and_complete(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            dash = json.load(f)
        documented = documented_metrics()
        used, ids = set(), set()
        for p in dash["panels"]:
            self.assertNotIn(p["id"], ids, "panel ids must be unique")
            ids.add(p["id"])
            for t in p.get("targets", []):
                names = metric_names(t["expr"])
                with self.subTest(panel=p["title"], expr=t["expr"]):
                    self.assertTrue(names)
                    self.assertEqual(names - documented - PROMETHEUS_METRICS, set())
                used |= names
        self.assertEqual(documented - used, set(), "documented metrics the dashboard lacks")
        self.assertEqual(dash["uid"], "ccv-exact-connector")


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    for exe in sys.argv[1:6]:
        PROGRAMS[os.path.basename(exe)] = os.path.abspath(exe)
    del sys.argv[1:6]
    unittest.main(verbosity=2)
