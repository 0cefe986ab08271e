"""Helpers for the Python integration tests: fresh databases, daemons as child processes,
HTTP on loopback. The services themselves come from services.py through the environment."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def need_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run through tests/harness/services.py (tests never skip)")
    return value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, timeout=10):
    """SIGTERM a child process, SIGKILL it if it has not gone after `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def psql(dsn, sql):
    return subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def new_database(prefix="t"):
    """Create an empty database on the test cluster; returns its DSN."""
    admin = need_env("TEST_PG_DSN")
    name = f"{prefix}_{secrets.token_hex(6)}"
    psql(admin, f"CREATE DATABASE {name}")
    return f"{admin.replace('dbname=postgres', '')} dbname={name}".strip()


def clean_env():
    """This process's environment without CX_* variables (daemons refuse unknown ones)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CX_")}


def unique(prefix):
    return f"{prefix}{secrets.token_hex(5)}"


def http(method, url, body=None, headers=None, timeout=10):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


class Daemon:
    """A daemon of ours as a child process, its JSON log in a temp file."""

    def __init__(self, exe, env, name=None, args=(), log_dir=None):
        self.exe, self.name = exe, name or os.path.basename(exe)
        self.port = free_port()
        self.env = dict(env)
        self.env.setdefault("CX_HTTP_PORT", str(self.port))
        self.env.setdefault("CX_HTTP_ADDR", "127.0.0.1")
        self.port = int(self.env["CX_HTTP_PORT"])
        # /metrics has a listener of its own (loopback), never the public one
        self.env.setdefault("CX_METRICS_LISTEN", f"127.0.0.1:{free_port()}")
        self.metrics_port = int(self.env["CX_METRICS_LISTEN"].rsplit(":", 1)[1])
        self.args = list(args)
        self.log = tempfile.NamedTemporaryFile(prefix=f"{self.name}-", suffix=".log",
                                               delete=False, dir=log_dir)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.exe, *self.args], env={**clean_env(), **self.env},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def wait_ready(self, timeout=60, path="/readyz"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n"
                                     + self.output())
            try:
                status, _, _ = http("GET", self.url(path), timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout}s:\n" + self.output())

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not exit within {timeout}s")
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_events(self):
        return [json.loads(line) for line in self.output().splitlines()
                if line.startswith("{")]
