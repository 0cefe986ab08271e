#!/usr/bin/env python3
"""A private Docker engine and the images the compose stack runs, built here without any
image registry.

    images.py build            start the engine, build every image (cached), stop the engine
    images.py run -- CMD...    start the engine, build the images, run CMD with DOCKER_HOST and
                               CONNECTOR_IMAGE, FAKES_IMAGE, KAFKA_IMAGE and POSTGRES_IMAGE set,
                               then remove every container, network and volume and stop it

The engine is Debian's `dockerd`, started with its own data root under the cache folder
(~/.cache/ccv-exact-connector/docker: images stay cached between runs) and its exec root and
socket in a temporary folder. It changes no firewall rule and makes no default bridge
(--iptables=false, --bridge=none): builds use the host's network, compose networks are
private bridges, published ports go through docker-proxy. One engine at a time uses the data
root (a lock file next to it). Afterwards the machine is as it was, cached images aside.

Images:
  - debian:bookworm-slim: `docker import` of tests/harness/bookworm-base.sh's tarball, the
    name compose/Dockerfile's FROM uses;
  - the connector (compose/Dockerfile, default target: production programs only) and the
    fakes (its `fakes` target);
  - stand-ins for apache/kafka and postgres, from Debian's packages and the Kafka jars of
    tests/harness/fetch-kafka.sh (tests/harness/images/), honouring the variables compose
    passes those images.
"""
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("CX_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ccv-exact-connector")

IMAGES = {
    "CONNECTOR_IMAGE": "ccv-exact-connector:latest",
    "FAKES_IMAGE": "ccv-exact-connector-fakes:latest",
    "KAFKA_IMAGE": "cx-standin/kafka:3.9",
    "POSTGRES_IMAGE": "cx-standin/postgres:15",
}
BASE = "debian:bookworm-slim"


def log(msg):
    print(f"[images] {msg}", file=sys.stderr, flush=True)


class Engine:
    """dockerd on a private socket. start() then always stop()."""

    def __init__(self):
        self.data_root = os.path.join(CACHE, "docker")
        self.tmp = None
        self.proc = None
        self.lock = None
        self.env = {}

    @property
    def sock(self):
        return os.path.join(self.tmp, "docker.sock")

    def docker(self, *args, check=True, capture=True, timeout=1800, **kw):
        p = subprocess.run(["docker", *args], env={**os.environ, **self.env},
                           stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.STDOUT if capture else None, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: exit {p.returncode}\n"
                               f"{(p.stdout or '')[-4000:]}")
        return p

    def start(self, lock_timeout=1800):
        for tool in ("dockerd", "docker", "docker-compose"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is not installed: the compose test needs Debian's "
                                   "docker.io and docker-compose (apt-get install docker.io "
                                   "docker-compose); it never skips")
        os.makedirs(self.data_root, exist_ok=True)
        self.lock = open(os.path.join(CACHE, "docker.lock"), "w")
        deadline = time.time() + lock_timeout
        while True:
            try:
                fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise RuntimeError(f"another engine holds {self.data_root} "
                                       f"for more than {lock_timeout}s")
                time.sleep(2)
        self.tmp = tempfile.mkdtemp(prefix="cx-docker-")
        self.logfile = os.path.join(self.tmp, "dockerd.log")
        out = open(self.logfile, "w")
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", self.data_root, "--exec-root",
             os.path.join(self.tmp, "exec"), "--pidfile", os.path.join(self.tmp, "docker.pid"),
             "-H", f"unix://{self.sock}", "--bridge=none", "--iptables=false",
             "--ip-masq=false", "--default-address-pool", "base=10.213.0.0/16,size=24",
             "--log-level=warn"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.env = {"DOCKER_HOST": f"unix://{self.sock}"}
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n"
                                   + self.tail())
            if os.path.exists(self.sock) and \
                    self.docker("version", check=False, timeout=30).returncode == 0:
                break
            if time.time() > deadline:
                raise RuntimeError("dockerd did not answer within 60s:\n" + self.tail())
            time.sleep(0.5)
        # A run that died left containers behind: with restart policies they would come
        # back with the engine. Nothing but images survives between runs.
        self.clean()
        log(f"dockerd up on {self.sock} (data root {self.data_root})")
        return self

    def tail(self, n=30):
        try:
            with open(self.logfile) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def clean(self):
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", "-v", *ids, check=False, timeout=300)
        self.docker("network", "prune", "-f", check=False)
        self.docker("volume", "prune", "-f", check=False)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.clean()
            except Exception as e:  # noqa: BLE001 - the daemon goes in any case
                log(f"cleaning up: {e}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.tmp:
            # dockerd leaves its default network namespace mounted under the exec root
            with open("/proc/self/mounts") as f:
                mounts = [ln.split()[1] for ln in f if ln.split()[1].startswith(self.tmp + "/")]
            for m in reversed(mounts):
                subprocess.run(["umount", "-l", m], check=False)
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self.lock:
            self.lock.close()
            self.lock = None

    # -- images ------------------------------------------------------------------
    def has(self, image):
        return self.docker("image", "inspect", image, check=False).returncode == 0

    def build(self, tag, context, *args):
        t0 = time.time()
        self.docker("build", "--network", "host", "-t", tag, *args, context)
        log(f"{tag}: {time.time() - t0:.0f}s")

    def build_all(self):
        t0 = time.time()
        if not self.has(BASE):
            tarball = subprocess.run([os.path.join(HERE, "bookworm-base.sh")], check=True,
                                     stdout=subprocess.PIPE, text=True).stdout.strip()
            with open(tarball, "rb") as f:
                self.docker("import", "-", BASE, stdin=f)
            log(f"{BASE}: imported from {tarball}")
        dockerfile = os.path.join(SOURCE, "compose", "Dockerfile")
        # the build stage tagged too, so that pruning never drops its cached layers
        self.build("cx-cache/connector-build:latest", SOURCE, "-f", dockerfile,
                   "--target", "build")
        self.build(IMAGES["CONNECTOR_IMAGE"], SOURCE, "-f", dockerfile)
        self.build(IMAGES["FAKES_IMAGE"], SOURCE, "-f", dockerfile, "--target", "fakes")
        self.build(IMAGES["POSTGRES_IMAGE"], os.path.join(HERE, "images", "postgres"))
        libs = subprocess.run([os.path.join(HERE, "fetch-kafka.sh")], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip()
        ctx = tempfile.mkdtemp(prefix="cx-kafka-image-")
        try:
            for name in os.listdir(os.path.join(HERE, "images", "kafka")):
                shutil.copy2(os.path.join(HERE, "images", "kafka", name), ctx)
            shutil.copytree(libs, os.path.join(ctx, "libs"))
            self.build(IMAGES["KAFKA_IMAGE"], ctx)
        finally:
            shutil.rmtree(ctx, ignore_errors=True)
        # Superseded layers of earlier builds (only untagged, unreferenced images go).
        self.docker("image", "prune", "-f", check=False)
        log(f"images ready in {time.time() - t0:.0f}s")
        return dict(IMAGES)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("build", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    engine = Engine()
    try:
        engine.start()
        env = engine.build_all()
        if sys.argv[1] == "build":
            return 0
        cmd = sys.argv[sys.argv.index("--") + 1:]
        return subprocess.call(cmd, env={**os.environ, **engine.env, **env})
    except RuntimeError as e:
        log(str(e))
        return 1
    finally:
        engine.stop()


if __name__ == "__main__":
    sys.exit(main())
