#!/usr/bin/env python3
"""Benchmark: the transformer daemon alone, through the real broker.

N generated orders of one tenant wait on shop.orders before the daemon starts; measured is
the time from its start until a read_committed reader sees all N outputs (commands and dead
letters) on the output topics, so every Kafka transaction and PostgreSQL write of the daemon
is inside. It starts its own Kafka and PostgreSQL. Last line: one JSON object.

usage: transformer_daemon.py [--build build] [--orders 20000] [--batch 200]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "transformer"))
import cxtest  # noqa: E402
import services  # noqa: E402
from benchlib import machine, say  # noqa: E402
from test_fake_orders import full_rules  # noqa: E402


def count(brokers, topic):
    p = subprocess.run(["kcat", "-b", brokers, "-C", "-t", topic, "-e", "-o", "beginning", "-q",
                        "-X", "isolation.level=read_committed", "-f", "x\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120)
    return p.stdout.count("x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    svc = services.Services(tempfile.mkdtemp(prefix="cx-bench-tx-"))
    daemon = None
    try:
        svc.start()
        os.environ.update(svc.env)
        brokers = svc.env["TEST_KAFKA_BROKERS"]
        dsn = cxtest.new_database("bench_tx")
        subprocess.run([os.path.join(build, "admin", "connector-admin"), "migrate"],
                       env={**cxtest.clean_env(), "CX_PG_DSN": dsn}, check=True,
                       stdout=subprocess.DEVNULL)
        rules = full_rules(oss_registered=True)
        rules["tenant"] = "bench"
        cxtest.psql(dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                    " shop_secret_sealed) VALUES ('bench', 'http://127.0.0.1:1', 'pk', 'v1:x')")
        cxtest.psql(dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES ('bench', '" +
                    json.dumps(rules).replace("'", "''") + "'::jsonb)")
        dump = subprocess.run([os.path.join(build, "fakes", "ccvshop", "ccvshop-fake"),
                               "--dump-orders", "--seed", "5", "--shops", "1", "--orders",
                               str(args.orders)], stdout=subprocess.PIPE, text=True,
                              check=True).stdout.splitlines()
        lines = []
        for i, line in enumerate(dump):
            o = json.loads(line)
            o.pop("_fake_expect", None)
            env = {"v": 1, "tenant": "bench", "entity": "order", "event": "upsert",
                   "source_id": str(o["id"]), "trace_id": f"t{i}", "payload": o}
            lines.append("bench\t" + json.dumps(env) + "\n")
        prefix = cxtest.unique("b") + "."
        subprocess.run(["kcat", "-b", brokers, "-P", "-t", prefix + "shop.orders", "-K", "\t",
                        "-z", "lz4"], input="".join(lines), text=True, check=True)
        say(f"{len(lines)} orders waiting on {prefix}shop.orders")
        daemon = cxtest.Daemon(os.path.join(build, "transformer", "transformer"), {
            "CX_KAFKA_BROKERS": brokers, "CX_PG_DSN": dsn, "CX_TOPIC_PREFIX": prefix,
            "CX_TRANSFORMER_BATCH": str(args.batch), "CX_LOG_LEVEL": "warn"})
        t0 = time.time()
        daemon.start()
        while True:
            done = count(brokers, prefix + "exact.commands") + \
                count(brokers, prefix + "dead.letters")
            if done >= len(lines):
                break
            if time.time() - t0 > 900:
                raise SystemExit(f"only {done} of {len(lines)} outputs after 900 s")
            time.sleep(0.5)
        took = time.time() - t0
        with open(f"/proc/{daemon.proc.pid}/status") as f:
            rss = next(int(x.split()[1]) for x in f if x.startswith("VmHWM"))
        rate = len(lines) / took
        print(f"transformer daemon: {len(lines)} orders in {took:.1f}s = {rate:.0f} orders/s "
              f"through Kafka transactions of up to {args.batch}; peak RSS {rss} kB")
        print(json.dumps({"bench": "transformer-daemon", "orders": len(lines),
                          "seconds": round(took, 2), "orders_per_second": round(rate),
                          "batch": args.batch, "peak_rss_kb": rss, "machine": machine()}))
    finally:
        if daemon:
            daemon.stop()
        svc.stop()


if __name__ == "__main__":
    main()
