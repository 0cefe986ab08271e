"""Shared pieces of the pipeline benchmarks (scale, latency, throughput): the machine they ran
on, progress measured from the fake Exact, and what each daemon cost (CPU, peak memory).
Benchmarks are not tests: they run on demand and print one JSON object as their last line."""
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
from stack import Stack  # noqa: E402,F401 - re-exported for the benchmarks

CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 1048576, 1),
            "kernel": platform.release(), "load_1m": round(os.getloadavg()[0], 2)}


def daemon_cpu_s(stack):
    """CPU seconds (user + system) each running daemon has used so far."""
    out = {}
    for d in stack.all_daemons():
        try:
            with open(f"/proc/{d.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[d.name] = round((int(fields[11]) + int(fields[12])) / CLK_TCK, 2)
        except (OSError, IndexError, ValueError):
            pass
    return out


def process_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / CLK_TCK, 2)
    except (OSError, IndexError, ValueError):
        return None


def services_cpu_s(stack):
    """CPU seconds of the private Kafka broker and of every PostgreSQL process so far
    (postmaster and its children; the children that already exited are not counted)."""
    out = {}
    svc = stack.services
    if svc is None:
        return out
    if svc.kafka:
        out["kafka"] = process_cpu_s(svc.kafka.pid)
    try:
        with open(os.path.join(svc.pg_data, "postmaster.pid")) as f:
            pm = int(f.readline())
        total = process_cpu_s(pm) or 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pm:
                total += process_cpu_s(int(pid)) or 0
        out["postgres"] = round(total, 2)
    except (OSError, ValueError):
        pass
    return out


def endpoint_calls(stats):
    """Calls per "METHOD service/Entity" over all divisions, most used first."""
    out = {}
    for d in stats.get("divisions", {}).values():
        for ep, by in d.get("by_endpoint", {}).items():
            out[ep] = out.get(ep, 0) + sum(v for k, v in by.items() if k != "429")
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


FLOOR_ENTITIES = ("SalesOrders", "SalesInvoices", "Accounts", "Contacts", "Items", "Addresses")


def write_floor(stats, divisions):
    """The writes that had to happen: documents, relations, contacts, items and delivery
    addresses created in @divisions (from /_fake/stats), per entity."""
    out = {e: 0 for e in FLOOR_ENTITIES}
    for div, d in stats.get("divisions", {}).items():
        if int(div) in divisions:
            for e in FLOOR_ENTITIES:
                out[e] += d.get("created", {}).get(e, 0)
    return out


def settings(items):
    """["kind:CX_VAR=value", ...] -> Stack extra_env entries {"kind:CX_VAR": "value"}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or ":" not in key:
            raise SystemExit(f"--set wants KIND:CX_VAR=VALUE, not {item!r}")
        out[key] = value
    return out


def want_documents(expected):
    return {tid: len(e["ok"]) for tid, e in expected.items()}


def wait_documents(stack, want, t0, timeout, poll=0.25, every=10.0):
    """Poll /_fake/stats until every division has committed the documents it should;
    returns the moment that was first seen. Progress is printed every `every` seconds."""
    div = {t["id"]: t["division"] for t in stack.tenants}
    total = sum(want.values())
    last_print = time.time()
    while time.time() - t0 < timeout:
        created = stack.created_documents()
        have = sum(min(created.get(div[tid], 0), n) for tid, n in want.items())
        now = time.time()
        if have >= total:
            return now
        if now - last_print >= every:
            say(f"{have}/{total} documents after {now - t0:.0f}s")
            last_print = now
        time.sleep(poll)
    raise AssertionError(f"documents not all there after {timeout}s")


def exact_calls(stats):
    """Per division: calls counted against its limits (everything but the 429s)."""
    out, r429 = {}, 0
    for div, d in stats.get("divisions", {}).items():
        by = d.get("by_status", {})
        r429 += by.get("429", 0)
        out[int(div)] = sum(v for k, v in by.items() if k != "429")
    return out, r429


def bench_core(build, iterations=None):
    """The transformer core alone (tests/bench-core); its last line is JSON."""
    import json
    args = [os.path.join(build, "tests", "bench-core")]
    if iterations:
        args.append(str(iterations))
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True,
                         timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_metrics(build, tenants=1000, scrapes=30):
    """GET /metrics of an instance holding @tenants tenants (tests/bench-metrics); its last
    line is JSON with the median scrape's ratio against the 50 ms bound."""
    import json
    args = [os.path.join(build, "tests", "bench-metrics"), str(tenants), str(scrapes)]
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True,
                         timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])
