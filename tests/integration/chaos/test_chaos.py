#!/usr/bin/env python3
"""Chaos: while 10 shops x 200 orders flow through the whole pipeline, kill -9 and restart
every daemon type (twice each), SIGKILL and restart the Kafka broker once and PostgreSQL once
(pg_ctl restart -m immediate), at seeded random moments. At the end every order must be in the
fake Exact exactly once with the shop's total, and no account or item may exist twice.

Runs on its OWN Kafka broker and PostgreSQL (restarting the shared ones would break the tests
running next to it). Knobs (environment):
  CHAOS_SEED       seed of the moments and of the order of events (default: random, printed)
  CHAOS_TENANTS    shops (default 10)
  CHAOS_ORDERS     orders per shop (default 200; the sanitizer build passes fewer)
  CHAOS_TIMEOUT_S  bound of the whole test (default 500)
  CHAOS_SAME_ID    1: a restarted daemon keeps its CX_INSTANCE_ID (as a StatefulSet pod
                   would); default: it gets a new one, as the default host name + pid gives
  CHAOS_SET        extra daemon settings, comma-separated KIND:CX_VAR=VALUE
                   (e.g. loader:CX_LOG_LEVEL=debug)
  CHAOS_FLOW_S     how long the orders should take to flow (default 60): every call to the
                   fake Exact gets a latency (as the real one has) chosen so that the loading
                   lasts about this long, and the events happen in its first 70 %
Last line: one JSON object with the seed, the events as they happened and the report totals."""
import collections
import json
import os
import random
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
from stack import Stack  # noqa: E402
import cxtest  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")


def say(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def on_sigterm(signum, frame):
    # meson's timeout sends SIGTERM: unwind so that `finally` stops every process.
    raise SystemExit(128 + signum)


def progress(stack, want):
    created = stack.created_documents()
    return sum(min(created.get(t["division"], 0), want[t["id"]]) for t in stack.tenants)


def sanitizer_reports(log_dir):
    found = []
    for name in sorted(os.listdir(log_dir)):
        path = os.path.join(log_dir, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if SANITIZER_RE.search(line):
                    found.append(f"{name}: {line.strip()}")
                    break
    return found


def diagnose(stack):
    """On failure, before anything stops: every daemon's /metrics next to its log (which
    daemon stalled, with what queued, is the first question)."""
    for d in stack.all_daemons():
        try:
            _, text, _ = cxtest.http("GET", d.metrics_url(), timeout=5)
            with open(os.path.join(stack.log_dir, f"metrics-{d.name}.txt"), "w") as f:
                f.write(text)
        except OSError:
            pass
    say(f"diagnostics in {stack.log_dir}")


def main():
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))
    tenants = int(os.environ.get("CHAOS_TENANTS", "10"))
    orders = int(os.environ.get("CHAOS_ORDERS", "200"))
    deadline = time.time() + int(os.environ.get("CHAOS_TIMEOUT_S", "500"))
    say(f"seed {seed} (rerun with CHAOS_SEED={seed}); {tenants} shops x {orders} orders")
    rng = random.Random(seed)
    signal.signal(signal.SIGTERM, on_sigterm)

    # Compressed minutes on both fakes keep their real limits in play (429s, parking)
    # without making the run long; short back-offs keep outages from stretching it.
    stack = Stack(BUILD, tenants=tenants, orders=orders, products=20, seed=seed % 1000 + 1,
                  loaders=0, private_services=True,
                  exact_args=["--minute", "1", "--seed", str(seed), "--threads", "16"],
                  ccv_args=["--minute", "1"],
                  extra_env={"extractor:CX_EXTRACT_RATE_WINDOW_S": "1",
                             "extractor:CX_EXTRACT_BACKOFF_MAX_S": "3",
                             "loader:CX_LOADER_BACKOFF_MAX_MS": "3000",
                             **dict(kv.split("=", 1) for kv in
                                    os.environ.get("CHAOS_SET", "").split(",") if "=" in kv)})
    events = ["extractor", "extractor", "transformer", "transformer", "loader", "loader",
              "kafka", "postgres"]
    rng.shuffle(events)
    # Each event comes at a random moment of the first 70 % of the planned flow, so that
    # they hit the pipeline while orders are on their way.
    same_id = os.environ.get("CHAOS_SAME_ID") == "1"
    flow_s = float(os.environ.get("CHAOS_FLOW_S", "60"))
    at_s = sorted(rng.uniform(1, 0.7 * flow_s) for _ in events)
    done_events, unexpected_exits = [], []
    ok, latency_ms = False, None
    try:
        stack.start()  # without a loader: it starts once the latency is set
        expected = stack.expected()
        want = {t["id"]: len(expected[t["id"]]["ok"]) for t in stack.tenants}
        total = sum(want.values())
        # Calls per document (accounts, items, look-ups included) are about 3.4 here; with
        # CX_LOADER_WORKERS (4) calls in flight the latency sets the pace of the loading.
        latency_ms = int(min(2000, 4 * flow_s * 1000 / (3.4 * max(total, 1))))
        for t in stack.tenants:
            stack.exact.call("POST", "/_fake/faults", {"division": t["division"],
                                                       "latency_ms": latency_ms})
        stack.counts["loader"] = 1
        stack.start_daemon("loader", 0)
        t_start = time.time()
        say(f"services and daemons up in {t_start - stack.started_at:.1f}s; {total} documents "
            f"expected; Exact latency {latency_ms} ms; logs in {stack.log_dir}")
        for event, when in zip(events, at_s):
            while time.time() - t_start < when:
                if time.time() > deadline:
                    raise AssertionError("deadline passed before the events were done")
                for name, rc in stack.exited_daemons():
                    # A daemon that gives up on its own is restarted (as a supervisor would)
                    # and reported; a crash by signal is a failure.
                    kind, i = name.rsplit("-", 1)
                    unexpected_exits.append({"daemon": name, "status": rc})
                    say(f"{name} exited by itself with status {rc}; restarting it")
                    if rc < 0 and rc != -signal.SIGKILL:
                        raise AssertionError(f"{name} crashed with signal {-rc}")
                    stack.start_daemon(kind, int(i))
                time.sleep(0.2)
            # Events that fell behind (a slow Kafka restart) still come a moment apart.
            time.sleep(rng.uniform(0.2, 1.0))
            at = progress(stack, want)
            t0 = time.time()
            if event == "kafka":
                stack.restart_kafka(down_s=rng.uniform(0.5, 3))
            elif event == "postgres":
                stack.restart_postgres()
            else:
                stack.restart_daemon(event, 0, hard=True, new_identity=not same_id)
            done_events.append({"event": event, "at_documents": at,
                                "t": round(t0 - t_start, 1),
                                "took_s": round(time.time() - t0, 1)})
            say(f"{event}: killed/restarted at {at}/{total} documents "
                f"(t={t0 - t_start:.1f}s, back in {time.time() - t0:.1f}s)")
        took = stack.wait_synced(expected, timeout=max(30, deadline - time.time()))
        per, totals = stack.report(expected)
        exited = stack.exited_daemons()
        say(f"synced {time.time() - t_start:.1f}s after start ({took:.1f}s after the last "
            f"event); totals {json.dumps(totals)}")
        mid_flow = sum(1 for e in done_events if e["at_documents"] < total)
        say(f"{mid_flow} of {len(done_events)} events hit while documents were still missing")
        problems = {k: totals.get(k, 0) for k in ("duplicates", "missing", "wrong_totals",
                                                    "duplicate_accounts", "duplicate_items")}
        for row in per:
            bad = {k: row[k] for k in problems if row[k]}
            if bad:
                say(f"  {row['tenant']}: {bad}")
            if row["duplicates"]:
                t = next(t for t in stack.tenants if t["id"] == row["tenant"])
                docs = stack.documents(t)
                refs = collections.Counter(d.get("YourRef") for d in docs)
                for ref in sorted(r for r, n in refs.items() if n > 1):
                    for d in docs:
                        if d.get("YourRef") == ref:
                            say(f"    doubled: YourRef {ref} OrderNumber {d.get('OrderNumber')}"
                                f" Created {d.get('Created')}")
                    # What the loader's ledger says about it (the exactly-once record).
                    say("    ledger: " + cxtest.psql(
                        stack.env["CX_PG_DSN"], "SELECT row_to_json(l) FROM ledger l WHERE "
                        f"tenant_id = '{t['id']}' AND lookup_ref = '{ref}'"))
        if any(problems.values()):
            raise AssertionError(f"orders lost or doubled: {problems}")
        if exited:
            raise AssertionError(f"daemons not running at the end: {exited}")
        ok = True
    finally:
        # A second SIGTERM must not cut the clean-up short (the broker has its own session).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not ok and stack.exact:
            diagnose(stack)
        stack.stop()
        reports = sanitizer_reports(stack.log_dir)
        for r in reports:
            say(f"sanitizer: {r}")
        print(json.dumps({"seed": seed, "tenants": tenants, "orders": orders, "ok": ok,
                          "latency_ms": latency_ms if ok else None, "events": done_events,
                          "unexpected_exits": unexpected_exits,
                          **({"totals": totals} if ok else {})}), flush=True)
    if reports:
        raise AssertionError("sanitizer reports in the daemon logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
