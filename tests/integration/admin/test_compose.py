#!/usr/bin/env python3
"""compose/ checked without a Docker engine: `docker-compose config` accepts the file with the
example env file (with and without the demo profile); every service that runs one of our
programs uses a command that program accepts and only CX_* variables it reads (from its
--config-reference), sets every variable it requires (a secret as NAME_FILE), and has a
/readyz healthcheck on its
CX_HTTP_PORT; the fakes start with the arguments compose gives them; the Dockerfile is
multi-stage on debian:bookworm-slim and runs as a non-root user."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("TEST_BUILD_DIR", "build")
SOURCE = os.environ.get("TEST_SOURCE_DIR", ".")
COMPOSE = os.path.join(SOURCE, "compose", "docker-compose.yml")
EXAMPLE = os.path.join(SOURCE, "compose", "connector.env.example")
PROGRAMS = {
    "extractor": os.path.join(BUILD, "extractor", "extractor"),
    "transformer": os.path.join(BUILD, "transformer", "transformer"),
    "loader": os.path.join(BUILD, "loader", "loader"),
    "connector-admin": os.path.join(BUILD, "admin", "connector-admin"),
    "panel": os.path.join(BUILD, "panel", "panel"),
    "exact-fake": os.path.join(BUILD, "fakes", "exact", "exact-fake"),
    "ccvshop-fake": os.path.join(BUILD, "fakes", "ccvshop", "ccvshop-fake"),
    "vies-fake": os.path.join(BUILD, "fakes", "vies", "vies-fake"),
}


def scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else json.loads(text)
    return text


def parse_yaml(text):
    """The block-style subset `docker-compose config` prints: mappings, lists, scalars."""
    def indent(ln):
        return len(ln) - len(ln.lstrip(" "))

    def complete(ln):
        item = ln.strip()[2:] if ln.strip().startswith("- ") else ln.strip()
        return not re.match(r"^[A-Za-z0-9_.-]+:$", item)

    lines = []
    for ln in text.splitlines():
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        if lines and indent(ln) > indent(lines[-1]) and complete(lines[-1]):
            nxt = ln.strip()
            if lines[-1].endswith("\\"):
                # a double-quoted scalar broken with an escaped line break ("\" then "\ ")
                lines[-1] = lines[-1][:-1] + (nxt[1:] if nxt.startswith("\\") else nxt)
            else:
                lines[-1] += " " + nxt          # a long scalar folded onto the next line
        else:
            lines.append(ln)
    pos = 0

    def block(level):
        nonlocal pos
        if lines[pos].lstrip().startswith("- ") or lines[pos].strip() == "-":
            out = []
            while pos < len(lines) and indent(lines[pos]) == level and \
                    lines[pos].lstrip().startswith("-"):
                item = lines[pos].lstrip()[1:].strip()
                if re.match(r"^[A-Za-z0-9_.-]+:( |$)", item):
                    # a mapping inside a list: re-read it at the deeper indentation
                    lines[pos] = " " * (level + 2) + item
                    out.append(block(level + 2))
                else:
                    pos += 1
                    out.append(scalar(item))
            return out
        out = {}
        while pos < len(lines) and indent(lines[pos]) == level:
            key, _, rest = lines[pos].strip().partition(": ")
            if not rest and key.endswith(":"):
                key = key[:-1]
            pos += 1
            key = scalar(key)
            if rest.strip():
                out[key] = scalar(rest)
            elif pos < len(lines) and (indent(lines[pos]) > level or
                                       (indent(lines[pos]) == level and
                                        lines[pos].lstrip().startswith("- "))):
                out[key] = block(indent(lines[pos]))
            else:
                out[key] = None
        return out

    return block(0)


def config_reference(exe):
    """The variables a program reads (a secret NAME also as NAME_FILE), and the required ones
    (each as the set of names that satisfy it)."""
    out = subprocess.run([exe, "--config-reference"], stdout=subprocess.PIPE, text=True,
                         check=True, timeout=30).stdout
    names, required = set(), []
    for m in re.finditer(r"^\| `(CX_[A-Z0-9_]+)` \| \w+ \| ([^|]*)\|[^|]*\| (\w+) \|",
                         out, re.M):
        forms = {m.group(1)} | ({m.group(1) + "_FILE"} if m.group(3) == "yes" else set())
        names |= forms
        if "**required**" in m.group(2):
            required.append(forms)
    return names, required


class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.envfile = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False)
        with open(EXAMPLE) as f:
            text = f.read()
        cls.envfile.write(text.replace("CX_SECRET_KEY=\n", "CX_SECRET_KEY=" + "ab" * 32 + "\n"))
        cls.envfile.close()

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.envfile.name)

    def config(self, *extra):
        p = subprocess.run(["docker-compose", "--env-file", self.envfile.name, "-f", COMPOSE,
                            *extra, "config"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return parse_yaml(p.stdout)

    def test_file_is_valid_and_has_the_stack(self):
        base = self.config("--profile", "demo")["services"]
        # docker-compose 1.29 prints every service; the profile is in each service's entry
        demo = {n for n, s in base.items() if "demo" in (s.get("profiles") or [])}
        self.assertEqual(demo, {"exact-fake", "ccvshop-fake", "vies-fake"})
        self.assertEqual(set(base) - demo, {"kafka", "kafka-topics", "postgres", "migrate",
                                            "admin", "extractor", "panel", "transformer",
                                            "loader"})
        self.assertEqual(base["admin"]["profiles"], ["admin"])
        # Kafka keeps its data on the volume, under a fixed cluster id
        kenv = base["kafka"]["environment"]
        self.assertIn("kafka-data:/var/lib/kafka/data",
                      [f"{v['source']}:{v['target']}" if isinstance(v, dict) else v
                       for v in base["kafka"]["volumes"]][0])
        self.assertEqual(kenv["KAFKA_LOG_DIRS"], "/var/lib/kafka/data")
        self.assertTrue(kenv["CLUSTER_ID"])
        self.assertEqual(base["kafka-topics"]["depends_on"]["kafka"]["condition"],
                         "service_healthy")
        self.assertTrue(base["kafka"]["image"].startswith("apache/kafka:"))
        self.assertEqual(base["kafka"]["environment"]["KAFKA_PROCESS_ROLES"],
                         "broker,controller")
        self.assertEqual(base["migrate"]["command"], ["connector-admin", "migrate"])
        self.assertEqual(str(base["loader"]["deploy"]["replicas"]), "2")
        for name in ("extractor", "transformer", "loader", "panel"):
            svc = base[name]
            dep = svc["depends_on"]
            self.assertEqual(dep["migrate"]["condition"], "service_completed_successfully")
            self.assertEqual(dep["kafka-topics"]["condition"], "service_completed_successfully")
            self.assertTrue(svc["init"])
            self.assertEqual(svc["logging"]["driver"], "json-file")
            self.assertIn("max-size", svc["logging"]["options"])
            self.assertIn("memory", svc["deploy"]["resources"]["limits"])
            # secrets come as files, never as values in the environment
            env = svc["environment"]
            self.assertNotIn("CX_PG_DSN", env)
            self.assertNotIn("CX_SECRET_KEY", env)
            self.assertEqual(env["CX_PG_DSN_FILE"], "/run/secrets/pg_dsn")
        # longer than the loader's longest call (its token request, 90 s by default)
        grace = base["loader"]["stop_grace_period"]
        self.assertGreater(int(re.match(r"(\d+)s$", grace).group(1)), 90, grace)

    def test_replicas_come_from_variables(self):
        with open(COMPOSE) as f:
            text = f.read()
        for var in ("LOADER_REPLICAS", "EXTRACTOR_REPLICAS", "TRANSFORMER_REPLICAS"):
            self.assertIn("${" + var, text)
        # the shell's value wins over the env file's, as in `LOADER_REPLICAS=5 docker-compose`
        p = subprocess.run(["docker-compose", "--env-file", self.envfile.name, "-f", COMPOSE,
                            "config"], env={**os.environ, "LOADER_REPLICAS": "5"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(str(parse_yaml(p.stdout)["services"]["loader"]["deploy"]["replicas"]),
                         "5")

    def test_every_variable_is_in_the_example(self):
        with open(COMPOSE) as f:
            used = set(re.findall(r"\$\{([A-Z0-9_]+)", f.read()))
        with open(EXAMPLE) as f:
            defined = set(re.findall(r"^([A-Z0-9_]+)=", f.read(), re.M))
        self.assertEqual(used - defined, set())

    def test_commands_and_environment_match_the_programs(self):
        services = self.config("--profile", "demo")["services"]
        checked = 0
        for name, svc in services.items():
            cmd = (svc.get("entrypoint") or []) + (svc.get("command") or [])
            if not cmd or cmd[0] not in PROGRAMS:
                continue
            exe = PROGRAMS[cmd[0]]
            env = svc.get("environment") or {}
            with self.subTest(service=name):
                checked += 1
                if cmd[0].endswith("-fake"):
                    self.check_fake(exe, cmd)
                    continue
                names, required = config_reference(exe)
                cx = {k for k in env if k.startswith("CX_")}
                self.assertEqual(cx - names, set(), f"{name}: variables {cmd[0]} does not read")
                self.assertEqual([r for r in required if not r & cx], [],
                                 f"{name}: required variables missing")
                if cmd[0] == "connector-admin":
                    r = subprocess.run([exe, *cmd[1:], "--help"], stdout=subprocess.PIPE,
                                       text=True, timeout=30)
                    self.assertEqual(r.returncode, 0, f"{name}: {cmd} is not a command")
                    continue
                self.assertEqual(len(cmd), 1, f"{name}: the daemons take no arguments")
                port = env.get("CX_HTTP_PORT", "9100")
                test = " ".join(svc["healthcheck"]["test"])
                self.assertIn(f"http://127.0.0.1:{port}/readyz", test)
                # the daemon really starts its configuration with exactly these variables
                r = subprocess.run([exe, "--help"], stdout=subprocess.PIPE, text=True,
                                   timeout=30)
                self.assertEqual(r.returncode, 0)
        self.assertEqual(checked, 9)

    def check_fake(self, exe, cmd):
        args = [a if not re.match(r"^0\.0\.0\.0:\d+$", a) else "127.0.0.1:0" for a in cmd[1:]]
        p = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        try:
            line = p.stdout.readline()
            self.assertIn("listen", json.loads(line), f"{cmd}: {line}")
        finally:
            p.terminate()
            p.wait(10)
            p.stdout.close()

    def test_dockerfile(self):
        with open(os.path.join(SOURCE, "compose", "Dockerfile")) as f:
            text = f.read()
        froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.M)
        self.assertGreaterEqual(len(froms), 2)
        stages = set()
        for base, name in froms:
            # every base is Debian's image or a stage built before it
            self.assertTrue(base == "debian:bookworm-slim" or base in stages, froms)
            stages.add(name)
        # the fakes are a target of their own; the default (last) target holds no fake
        self.assertIn("fakes", stages)
        last = text[text.rindex("\nFROM "):]
        self.assertNotIn("fake", re.sub(r"#.*", "", last))
        self.assertIn("meson setup", text)
        user = re.findall(r"^USER (\S+)", text, re.M)
        self.assertTrue(user and user[-1] not in ("root", "0"), user)


if __name__ == "__main__":
    unittest.main(verbosity=2)
