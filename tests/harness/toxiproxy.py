"""A driver for Shopify's toxiproxy (built by fetch-toxiproxy.sh): the TCP proxy that the
chaos tests put between each daemon and what it talks to, and whose HTTP API injects the
network faults ("toxics") on those connections.

    tp = Toxiproxy(log_dir)                      # starts toxiproxy-server on a free port
    url = tp.proxy("exact", "127.0.0.1:41234")   # listens on a free port: "127.0.0.1:N"
    tp.add("exact", "latency", latency=500, jitter=100)
    tp.add("exact", "reset_peer", stream="downstream", toxicity=0.3, timeout=0)
    tp.disable("exact")   # a partition: connections cut, new ones refused
    tp.enable("exact"); tp.clear("exact")
    tp.stop()

Toxics (API of toxiproxy 2.x): `latency` (latency, jitter ms), `bandwidth` (rate KB/s),
`timeout` (data stops; closed after timeout ms, 0 = never), `reset_peer` (TCP RST timeout ms
after the first data), `slow_close`, `limit_data` (bytes), `slicer`. `stream` "upstream" is
what the client sends, "downstream" what it receives; `toxicity` the share of connections
the toxic applies to. A toxic added or removed applies to open connections too."""
import http.client
import json
import os
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ToxiproxyError(RuntimeError):
    pass


class Toxiproxy:
    def __init__(self, log_dir, seed=None):
        server = subprocess.run([os.path.join(HERE, "fetch-toxiproxy.sh")], check=True,
                                stdout=subprocess.PIPE, text=True).stdout.strip()
        self.port = _free_port()
        self.log = open(os.path.join(log_dir, "toxiproxy.log"), "w")
        args = [server, "-host", "127.0.0.1", "-port", str(self.port)]
        if seed is not None:
            args += ["-seed", str(seed)]  # the dice of `toxicity`
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.proxies = {}  # name -> {"listen", "upstream"}
        self.toxics = {}   # name -> set of toxic names
        deadline = time.time() + 30
        while True:
            try:
                if self.call("GET", "/version")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise ToxiproxyError(f"toxiproxy-server did not start; see {self.log.name}")
            time.sleep(0.1)

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, json.dumps(body) if body is not None else None,
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            text = r.read().decode()
        finally:
            c.close()
        return r.status, (json.loads(text) if text.strip()[:1] in ("{", "[") else text)

    def _ok(self, method, path, body=None):
        status, out = self.call(method, path, body)
        if status >= 300:
            raise ToxiproxyError(f"toxiproxy {method} {path}: {status} {out}")
        return out

    def proxy(self, name, upstream, listen_port=None):
        """A proxy from 127.0.0.1:listen_port (default: a free port) to @upstream
        ("host:port"); returns its "127.0.0.1:port"."""
        listen = f"127.0.0.1:{listen_port or _free_port()}"
        self._ok("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream,
                                      "enabled": True})
        self.proxies[name] = {"listen": listen, "upstream": upstream}
        self.toxics[name] = set()
        return listen

    def add(self, proxy, kind, stream="downstream", toxicity=1.0, name=None, **attributes):
        """Add toxic @kind with @attributes; returns its name (for remove)."""
        name = name or f"{kind}-{stream}-{len(self.toxics[proxy])}"
        self._ok("POST", f"/proxies/{proxy}/toxics",
                 {"name": name, "type": kind, "stream": stream, "toxicity": toxicity,
                  "attributes": attributes})
        self.toxics[proxy].add(name)
        return name

    def remove(self, proxy, name):
        self._ok("DELETE", f"/proxies/{proxy}/toxics/{name}")
        self.toxics[proxy].discard(name)

    def clear(self, proxy):
        for name in list(self.toxics[proxy]):
            self.remove(proxy, name)

    def disable(self, proxy):
        """A partition: open connections are closed and the port refuses new ones."""
        self._ok("POST", f"/proxies/{proxy}", {"enabled": False})

    def enable(self, proxy):
        self._ok("POST", f"/proxies/{proxy}", {"enabled": True})

    def reset(self):
        """Every proxy enabled again and every toxic gone."""
        self._ok("POST", "/reset")
        for name in self.toxics:
            self.toxics[name] = set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
