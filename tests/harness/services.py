#!/usr/bin/env python3
"""Start the real services the integration tests need, run a command, stop them.

    services.py run -- COMMAND...      start Kafka (KRaft) and PostgreSQL, run COMMAND with
                                       TEST_KAFKA_BROKERS and TEST_PG_DSN set, stop both
    services.py start --env-file F     start them and leave them running (for the demo);
                                       F receives the variables; `services.py stop F` ends them

Both run on free loopback ports in a temporary directory. Besides its PLAINTEXT listener
(TEST_KAFKA_BROKERS) the broker has a SASL_PLAINTEXT listener with the PLAIN mechanism, as a
managed Kafka has: TEST_KAFKA_SASL_BROKERS, with the one user it knows in
TEST_KAFKA_SASL_USER and TEST_KAFKA_SASL_PASSWORD (new each start). PostgreSQL refuses to
run as root, so as root its cluster belongs to the `postgres` user. With CI=true a service that cannot
start is an error (exit 1), never a reason to skip tests.
"""
import base64
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout, what, logfile):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {logfile}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s; see {logfile}")


def pg_bin():
    root = "/usr/lib/postgresql"
    for v in sorted(os.listdir(root), key=lambda x: int(x) if x.isdigit() else 0, reverse=True):
        if os.path.exists(f"{root}/{v}/bin/initdb"):
            return f"{root}/{v}/bin"
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")


class Services:
    def __init__(self, workdir, kafka_proxied=None):
        """kafka_proxied: {listener name: port} of extra PLAINTEXT listeners whose advertised
        address is 127.0.0.1:port, where a proxy (toxiproxy) listens and forwards to the
        broker's own port for that listener (in self.kafka_upstreams after start). A client
        that bootstraps through the proxy is then told to reach the broker through it too,
        so every one of its connections passes the proxy."""
        self.dir = workdir
        self.kafka_proxied = dict(kafka_proxied or {})
        self.kafka_upstreams = {}
        self.kafka = None
        self.pg_data = None
        self.env = {}
        self.as_postgres = os.geteuid() == 0

    # -- PostgreSQL --------------------------------------------------------------
    def _pg(self, *args, **kw):
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, **kw)

    def start_postgres(self):
        bindir = pg_bin()
        pgdir = os.path.join(self.dir, "pg")
        os.makedirs(pgdir)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o755)
            os.chown(pgdir, pw.pw_uid, pw.pw_gid)
        self.pg_data = os.path.join(pgdir, "data")
        port = free_port()
        user = "postgres" if self.as_postgres else pwd.getpwuid(os.geteuid()).pw_name
        self._pg(f"{bindir}/initdb", "-D", self.pg_data, "-U", user, "-A", "trust",
                 "--no-sync", "-E", "UTF8")
        opts = (f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                f"-c shared_buffers=128MB")
        self.pg_opts = opts
        self._pg(f"{bindir}/pg_ctl", "-D", self.pg_data, "-o", opts, "-l",
                 os.path.join(pgdir, "log"), "-w", "-t", "60", "start")
        self.pg_bindir = bindir
        self.env["TEST_PG_DSN"] = f"host=127.0.0.1 port={port} user={user} dbname=postgres"
        ver = self._pg(f"{bindir}/postgres", "--version").stdout.strip()
        log(f"started {ver} on 127.0.0.1:{port} ({self.pg_data})")

    def stop_postgres(self):
        if self.pg_data and os.path.exists(self.pg_data):
            try:
                self._pg(f"{self.pg_bindir}/pg_ctl", "-D", self.pg_data, "-m", "immediate",
                         "-w", "stop")
            except subprocess.CalledProcessError as e:
                log(f"postgres stop: {e.stdout}")

    def kill_postgres(self):
        """An immediate shutdown, at once: SIGQUIT to the postmaster (what pg_ctl stop -m
        immediate sends), every session cut; returns once it has exited."""
        with open(os.path.join(self.pg_data, "postmaster.pid")) as f:
            pid = int(f.readline())
        os.kill(pid, signal.SIGQUIT)
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def start_postgres_again(self):
        """Start the stopped cluster on its own port and socket directory (crash recovery
        after kill_postgres); returns once it accepts connections."""
        self._pg(f"{self.pg_bindir}/pg_ctl", "-D", self.pg_data, "-o", self.pg_opts, "-l",
                 os.path.join(os.path.dirname(self.pg_data), "log"), "-w", "-t", "60", "start",
                 timeout=90)

    # -- Kafka -------------------------------------------------------------------
    def start_kafka(self):
        libs = subprocess.run([os.path.join(HERE, "fetch-kafka.sh")], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip()
        kdir = os.path.join(self.dir, "kafka")
        os.makedirs(kdir)
        port, ctl, sasl = free_port(), free_port(), free_port()
        user, password = "connector", secrets.token_urlsafe(18)
        props = os.path.join(kdir, "server.properties")
        # The SASL listener authenticates clients with PLAIN against the JAAS user list
        # (user_NAME="PASSWORD"); brokers among themselves stay on PLAINTEXT.
        jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{user}" password="{password}" user_{user}="{password}";')
        listeners = [f"PLAINTEXT://127.0.0.1:{port}", f"SASL_PLAINTEXT://127.0.0.1:{sasl}"]
        advertised = list(listeners)
        protocols = ["PLAINTEXT:PLAINTEXT", "SASL_PLAINTEXT:SASL_PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        for name, proxy_port in self.kafka_proxied.items():
            own = free_port()
            listeners.append(f"{name.upper()}://127.0.0.1:{own}")
            advertised.append(f"{name.upper()}://127.0.0.1:{proxy_port}")
            protocols.append(f"{name.upper()}:PLAINTEXT")
            self.kafka_upstreams[name] = f"127.0.0.1:{own}"
        listeners.append(f"CONTROLLER://127.0.0.1:{ctl}")
        with open(props, "w") as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{ctl}
listeners={",".join(listeners)}
advertised.listeners={",".join(advertised)}
controller.listener.names=CONTROLLER
listener.security.protocol.map={",".join(protocols)}
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config={jaas}
log.dirs={kdir}/data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=100000
""")
        with open(os.path.join(kdir, "log4j.properties"), "w") as f:
            f.write(f"""log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={kdir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
""")
        cluster_id = "-"
        while cluster_id.startswith("-"):  # StorageTool would read "-…" as an option (1 in 64)
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        java = shutil.which("java") or "java"
        cp = os.path.join(libs, "*")
        jvm = [java, "-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               f"-Dlog4j.configuration=file:{kdir}/log4j.properties", "-cp", cp]
        subprocess.run(jvm + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", props],
                       check=True, stdout=subprocess.DEVNULL)
        out = open(os.path.join(kdir, "stdout.log"), "w")
        self.kafka = subprocess.Popen(jvm + ["kafka.Kafka", props], stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.kafka_props = props
        self.kafka_jvm = jvm
        wait_port(port, self.kafka, 120, "Kafka", os.path.join(kdir, "server.log"))
        wait_port(sasl, self.kafka, 60, "Kafka's SASL listener", os.path.join(kdir, "server.log"))
        self.env["TEST_KAFKA_BROKERS"] = f"127.0.0.1:{port}"
        self.env["TEST_KAFKA_SASL_BROKERS"] = f"127.0.0.1:{sasl}"
        self.env["TEST_KAFKA_SASL_USER"] = user
        self.env["TEST_KAFKA_SASL_PASSWORD"] = password
        version = os.path.basename(os.path.dirname(libs))
        self.env["TEST_KAFKA_VERSION"] = version
        log(f"started Apache Kafka {version.replace('kafka-', '')} (KRaft) on 127.0.0.1:{port}"
            f" (SASL_PLAINTEXT/PLAIN on 127.0.0.1:{sasl})")

    def stop_kafka(self):
        if self.kafka and self.kafka.poll() is None:
            os.killpg(self.kafka.pid, signal.SIGKILL)
            self.kafka.wait()

    def start(self):
        self.start_postgres()
        self.start_kafka()
        self.env["TEST_SERVICES_DIR"] = self.dir
        if self.kafka:
            self.env["TEST_KAFKA_PID"] = str(self.kafka.pid)
            self.env["TEST_KAFKA_CMD"] = " ".join([*self.kafka_jvm, "kafka.Kafka",
                                                      self.kafka_props])
        self.env["TEST_PG_DATA"] = self.pg_data
        self.env["TEST_PG_BINDIR"] = self.pg_bindir

    def stop(self):
        self.stop_kafka()
        self.stop_postgres()


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "stop":
        env = {k: v.strip("'") for k, v in (line.strip().split("=", 1) for line in open(sys.argv[2]) if "=" in line)}
        if "TEST_KAFKA_PID" in env:
            try:
                os.killpg(int(env["TEST_KAFKA_PID"]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        s = Services(env["TEST_SERVICES_DIR"])
        s.pg_data, s.pg_bindir = env["TEST_PG_DATA"], env["TEST_PG_BINDIR"]
        s.stop_postgres()
        shutil.rmtree(env["TEST_SERVICES_DIR"], ignore_errors=True)
        return 0
    workdir = tempfile.mkdtemp(prefix="cx-services-")
    svc = Services(workdir)
    try:
        svc.start()
    except Exception as e:  # noqa: BLE001 - any failure to start is reported the same way
        log(f"cannot start services: {e}")
        svc.stop()
        if os.environ.get("CI") == "true":
            log("CI=true: a missing service is a failure, not a skip")
        return 1
    if sys.argv[1] == "start":
        path = sys.argv[sys.argv.index("--env-file") + 1]
        with open(path, "w") as f:
            for k, v in svc.env.items():
                f.write(f"{k}='{v}'\n")
        return 0
    cmd = sys.argv[sys.argv.index("--") + 1:]
    env = dict(os.environ, **svc.env)
    try:
        return subprocess.call(cmd, env=env)
    finally:
        svc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
