#!/usr/bin/env python3
"""Chaos: while 10 shops x 200 orders flow through the whole pipeline, kill -9 and restart
every daemon type (twice each), SIGKILL and restart the Kafka broker once and PostgreSQL once
(pg_ctl restart -m immediate), and inject network faults with toxiproxy, which stands between
every daemon and what it talks to (loader->Exact, extractor->CCV, transformer->VIES, each
daemon->Kafka and ->PostgreSQL; tests/harness/stack.py): latency, answers that never come
(timeout), connections reset or cut mid-response, bandwidth limits, and partitions. Each event
comes at a seeded moment: the loader kills and the loader's network faults when a seeded share
of the documents has been created in the fake Exact (so they hit the loading, not its start),
the rest at a seeded time. Each event is printed with the documents created when it fell (and,
for a fault, when it ended). At the end every order must be in the fake Exact exactly once with
the shop's total, and no account or item may exist twice.

Runs on its OWN Kafka broker and PostgreSQL (restarting the shared ones would break the tests
running next to it). Knobs (environment):
  CHAOS_SEED       seed of the moments, the order and the parameters of events (default:
                   random, printed)
  CHAOS_TENANTS    shops (default 10)
  CHAOS_ORDERS     orders per shop (default 200; the sanitizer build passes fewer)
  CHAOS_TIMEOUT_S  bound of the whole test (default 500)
  CHAOS_SOAK_S     0 (default): the events above once each. N: a soak: the orders flow over N
                   seconds, and besides the events above a seeded random event (kill,
                   restart or network fault) comes every 5-25 s (meson test suite 'soak')
  CHAOS_SAME_ID    1: a restarted daemon keeps its CX_INSTANCE_ID (as a StatefulSet pod
                   would); default: it gets a new one, as the default host name + pid gives
  CHAOS_SET        extra daemon settings, comma-separated KIND:CX_VAR=VALUE
                   (e.g. loader:CX_LOG_LEVEL=debug)
  CHAOS_FLOW_S     how long the orders should take to flow (default 60): every call to the
                   fake Exact gets a latency (as the real one has) chosen so that the loading
                   lasts about this long, and the timed events happen in its first 70 %
Last line: one JSON object with the seed, the events as they happened and the report totals."""
import collections
import json
import os
import random
import re
import signal
import sys
import threading
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


DOUBT_RE = re.compile(r'"msg":"[^"]* in doubt: no answer from Exact: [A-Z]+ \S+: ([^"(]*)')


def loader_outcomes(log_dir):
    """From the loaders' logs: the writes whose answer was lost, by cause (each resolved by a
    look-up before anything was written again), and the entities adopted after Exact
    answered "Already exists: Code"."""
    doubt, adopted = collections.Counter(), 0
    for name in sorted(os.listdir(log_dir)):
        if not name.startswith("loader-"):
            continue
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                m = DOUBT_RE.search(line)
                if m:
                    doubt[re.sub(r"\d+", "N", m.group(1)).strip()] += 1
                if '"event":"entity.adopted"' in line or '"event":"relation.code_exists"' in line:
                    adopted += 1
    return {"writes_in_doubt": sum(doubt.values()), "in_doubt_by_cause": dict(doubt),
            "adopted_after_code_exists": adopted}


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


KILLS = ("extractor", "transformer", "loader", "kafka", "postgres")


class Fault:
    """A network fault through toxiproxy: on() injects it, off() takes exactly it away."""

    def __init__(self, name, proxies, toxic=None, stream="downstream", toxicity=1.0,
                 **attributes):
        self.name, self.proxies, self.toxic = name, proxies, toxic
        self.stream, self.toxicity, self.attributes = stream, toxicity, attributes
        self.added = []

    def on(self, tox):
        for p in self.proxies:
            if self.toxic:
                self.added.append((p, tox.add(p, self.toxic, stream=self.stream,
                                              toxicity=self.toxicity, **self.attributes)))
            else:
                tox.disable(p)  # a partition: connections cut, new ones refused

    def off(self, tox):
        for p in self.proxies:
            if self.toxic:
                continue
            tox.enable(p)
        for p, name in self.added:
            tox.remove(p, name)
        self.added = []


def network_fault(kind, rng):
    """The network fault @kind with seeded parameters (docs/reliability.md, "Network
    faults"). The daemons' own timeouts are short here (main), so that a stalled call ends
    within the fault."""
    kafka = [f"kafka-{k}" for k in ("extractor", "transformer", "loader")]
    pg = [f"pg-{k}" for k in ("extractor", "transformer", "loader")]
    table = {
        "latency loader->Exact": lambda: Fault(kind, ["exact"], "latency",
                                               latency=rng.randrange(300, 1500), jitter=200),
        # the request reaches Exact, the answer never comes: the loader's timeout ends it
        "timeout loader->Exact": lambda: Fault(kind, ["exact"], "timeout",
                                               toxicity=round(rng.uniform(0.3, 0.7), 2),
                                               timeout=0),
        # the answer's first bytes come back and the connection is reset (RST): lost answer
        "reset_peer loader->Exact": lambda: Fault(kind, ["exact"], "reset_peer",
                                                  toxicity=round(rng.uniform(0.2, 0.5), 2),
                                                  timeout=0),
        # the connection ends cleanly after a few hundred bytes of the answer
        "cut mid-response loader->Exact": lambda: Fault(
            kind, ["exact"], "limit_data", toxicity=round(rng.uniform(0.2, 0.5), 2),
            bytes=rng.randrange(40, 600)),
        "partition loader<->Exact": lambda: Fault(kind, ["exact"]),
        "bandwidth extractor->CCV": lambda: Fault(kind, ["ccv"], "bandwidth",
                                                  rate=rng.randrange(4, 32)),
        "reset_peer extractor->CCV": lambda: Fault(kind, ["ccv"], "reset_peer",
                                                   toxicity=0.3, timeout=0),
        "timeout transformer->VIES": lambda: Fault(kind, ["vies"], "timeout", timeout=0),
        "latency daemons->Kafka": lambda: Fault(kind, kafka, "latency",
                                                latency=rng.randrange(50, 400), jitter=50),
        "bandwidth transformer<-Kafka": lambda: Fault(kind, ["kafka-transformer"], "bandwidth",
                                                      rate=rng.randrange(16, 128)),
        "reset_peer daemons<->Kafka": lambda: Fault(kind, kafka, "reset_peer",
                                                    toxicity=0.5, timeout=0),
        "partition loader<->Kafka": lambda: Fault(kind, ["kafka-loader"]),
        "partition daemons<->Kafka": lambda: Fault(kind, kafka),
        "latency daemons->PostgreSQL": lambda: Fault(kind, pg, "latency",
                                                     latency=rng.randrange(20, 200)),
        "reset_peer daemons<->PostgreSQL": lambda: Fault(kind, pg, "reset_peer",
                                                         toxicity=0.3, timeout=0),
        "partition loader<->PostgreSQL": lambda: Fault(kind, ["pg-loader"]),
        "partition daemons<->PostgreSQL": lambda: Fault(kind, pg),
    }
    return table[kind]()


NETWORK = ("latency loader->Exact", "timeout loader->Exact", "reset_peer loader->Exact",
           "cut mid-response loader->Exact", "partition loader<->Exact",
           "bandwidth extractor->CCV", "reset_peer extractor->CCV", "timeout transformer->VIES",
           "latency daemons->Kafka", "bandwidth transformer<-Kafka", "reset_peer daemons<->Kafka",
           "partition loader<->Kafka", "partition daemons<->Kafka",
           "latency daemons->PostgreSQL", "reset_peer daemons<->PostgreSQL",
           "partition loader<->PostgreSQL", "partition daemons<->PostgreSQL")
# What hurts most while documents are being written: these wait for a share of them.
BY_PROGRESS = ("loader", "loader", "reset_peer loader->Exact", "timeout loader->Exact",
               "cut mid-response loader->Exact", "partition loader<->Exact",
               "partition loader<->PostgreSQL", "partition loader<->Kafka")


def plan(rng, flow_s, soak_s):
    """[(event, trigger, seed)]: trigger ("progress", share of the documents) or ("time", s after
    the loader started). The default run: each daemon killed twice, Kafka and PostgreSQL
    restarted once, each network fault once; the soak: that too, and besides a seeded random
    event every 5-25 s until 90 % of soak_s."""
    by_time = ["extractor", "extractor", "transformer", "transformer", "kafka", "postgres"] + \
        [n for n in NETWORK if n not in BY_PROGRESS]
    fractions = sorted(rng.uniform(0.05, 0.8) for _ in BY_PROGRESS)
    progress_events = list(BY_PROGRESS)
    rng.shuffle(progress_events)
    out = [(e, ("progress", round(f, 3))) for e, f in zip(progress_events, fractions)]
    out += [(e, ("time", round(rng.uniform(1, 0.7 * flow_s), 1))) for e in by_time]
    if soak_s:
        t = 0.0
        while t < 0.9 * soak_s:
            t += rng.uniform(5, 25)
            out.append((rng.choice(KILLS + NETWORK), ("time", round(t, 1))))
    # each event's own dice (its parameters), whatever order the run brings them in
    return [(e, trig, rng.randrange(1 << 30)) for e, trig in out]


def main():
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))
    soak_s = float(os.environ.get("CHAOS_SOAK_S", "0"))
    tenants = int(os.environ.get("CHAOS_TENANTS", "10"))
    orders = int(os.environ.get("CHAOS_ORDERS", "200"))
    deadline = time.time() + int(os.environ.get("CHAOS_TIMEOUT_S", "500"))
    say(f"seed {seed} (rerun with CHAOS_SEED={seed}); {tenants} shops x {orders} orders"
        + (f"; soak of {soak_s:.0f}s" if soak_s else ""))
    rng = random.Random(seed)
    signal.signal(signal.SIGTERM, on_sigterm)

    # Compressed minutes on both fakes keep their real limits in play (429s, parking)
    # without making the run long; short back-offs keep outages from stretching it. Short
    # timeouts end a call stalled by a network fault within the fault; the access tokens
    # outlive the run (a token refresh is not under network faults: docs/reliability.md).
    stack = Stack(BUILD, tenants=tenants, orders=orders, products=20, seed=seed % 1000 + 1,
                  loaders=0, private_services=True, toxiproxy=True,
                  exact_args=["--minute", "1", "--seed", str(seed), "--threads", "16",
                              "--token-ttl", str(int(max(600, 3 * (soak_s or 0))))],
                  ccv_args=["--minute", "1"],
                  extra_env={"extractor:CX_EXTRACT_RATE_WINDOW_S": "1",
                             "extractor:CX_EXTRACT_BACKOFF_MAX_S": "3",
                             "extractor:CX_EXTRACT_HTTP_TIMEOUT_MS": "4000",
                             "transformer:CX_VIES_TIMEOUT_MS": "2000",
                             "loader:CX_LOADER_BACKOFF_MAX_MS": "3000",
                             "loader:CX_LOADER_HTTP_TIMEOUT_MS": "4000",
                             # The soak's faults come one after another for 30 minutes: a
                             # command's retries must outlast a run of them (default: ~15 s
                             # with the 3 s back-off above, then a dead letter).
                             **({"loader:CX_LOADER_MAX_ATTEMPTS": "40"} if soak_s else {}),
                             **dict(kv.split("=", 1) for kv in
                                    os.environ.get("CHAOS_SET", "").split(",") if "=" in kv)})
    same_id = os.environ.get("CHAOS_SAME_ID") == "1"
    flow_s = soak_s or float(os.environ.get("CHAOS_FLOW_S", "60"))
    pending = plan(rng, flow_s, soak_s)
    done_events, unexpected_exits, active, timers = [], [], [], []  # active: fault names
    ok, latency_ms = False, None
    try:
        stack.start()  # without a loader: it starts once the latency is set
        expected = stack.expected()
        want = {t["id"]: len(expected[t["id"]]["ok"]) for t in stack.tenants}
        total = sum(want.values())
        # Calls per document (accounts, items, look-ups included) are about 3.4 here; with
        # CX_LOADER_WORKERS (4) calls in flight the latency sets the pace of the loading.
        latency_ms = int(min(2000, 4 * flow_s * 1000 / (3.4 * max(total, 1))))
        if soak_s:
            latency_ms //= 4  # faults all along slow the soak's loading ~4 times (measured)

        def set_latency(ms):
            for t in stack.tenants:
                stack.exact.call("POST", "/_fake/faults", {"division": t["division"],
                                                           "latency_ms": ms})

        set_latency(latency_ms)
        paced_at, base_latency_ms = time.time(), latency_ms
        stack.counts["loader"] = 1
        stack.start_daemon("loader", 0)
        t_start = time.time()
        say(f"services and daemons up in {t_start - stack.started_at:.1f}s; {total} documents "
            f"expected; Exact latency {latency_ms} ms; {len(pending)} events; logs in "
            f"{stack.log_dir}")

        def due(trigger, at, now):
            what, v = trigger
            return at >= v * total if what == "progress" else now - t_start >= v

        lock = threading.Lock()

        def end_fault(fault, rec):
            # On a timer of its own: the main loop may be blocked meanwhile (a daemon
            # restarted during a partition is not ready before the partition ends).
            with lock:
                fault.off(stack.tox)
                at = progress(stack, want)
                rec["ended_at_documents"] = at
                active.remove(fault.name)
                say(f"{fault.name}: over at {at}/{total} documents")

        while pending:
            if time.time() > deadline:
                raise AssertionError("deadline passed before the events were done: "
                                     f"{[p[0] for p in pending]}")
            for name, rc in stack.exited_daemons():
                # A daemon that gives up on its own is restarted (as a supervisor would)
                # and reported; a crash by signal is a failure.
                kind, i = name.rsplit("-", 1)
                unexpected_exits.append({"daemon": name, "status": rc})
                say(f"{name} exited by itself with status {rc}; restarting it")
                if rc < 0 and rc != -signal.SIGKILL:
                    raise AssertionError(f"{name} crashed with signal {-rc}")
                stack.start_daemon(kind, int(i))
            now, at = time.time(), progress(stack, want)
            if soak_s and now - paced_at >= 20:
                # The soak keeps the documents coming for its whole length: the latency
                # follows how far the loading is from an even pace over 90 % of it (faults
                # slow it by an amount no formula knows).
                planned = total * min(1.0, (now - t_start) / (0.9 * soak_s))
                ratio = min(2.0, max(0.5, (at + 1) / (planned + 1)))
                latency_ms = int(min(2000, max(20, latency_ms * ratio)))
                set_latency(latency_ms)
                paced_at = now
            ready = [p for p in pending if due(p[1], at, now)]
            if not ready:
                time.sleep(0.2)
                continue
            event, trigger, ev_seed = ready[0]
            pending.remove(ready[0])
            ev_rng = random.Random(ev_seed)
            t0 = time.time()
            rec = {"event": event, "trigger": list(trigger), "at_documents": at,
                   "t": round(t0 - t_start, 1)}
            if event == "kafka":
                stack.restart_kafka(down_s=ev_rng.uniform(0.5, 3))
            elif event == "postgres":
                stack.restart_postgres()
            elif event in KILLS:
                stack.restart_daemon(event, 0, hard=True, new_identity=not same_id)
            else:
                with lock:
                    if event in active:
                        pending.append((event, ("time", round(t0 - t_start + 5, 1)), ev_seed))
                        continue  # the same fault still on: it comes again later
                    fault = network_fault(event, ev_rng)
                    fault.on(stack.tox)
                    active.append(event)
                rec["fault"] = {"proxies": fault.proxies, "toxic": fault.toxic or "partition",
                                "toxicity": fault.toxicity, **fault.attributes}
                # a timeout outlasts the daemons' own (4 s), so that they give up on calls
                low = 6 if fault.toxic == "timeout" else 2
                rec["lasts_s"] = round(ev_rng.uniform(low, low + 4) * (2.5 if soak_s else 1),
                                       1)
                timer = threading.Timer(rec["lasts_s"], end_fault, (fault, rec))
                timer.daemon = True
                timer.start()
                timers.append(timer)
            rec["took_s"] = round(time.time() - t0, 1)
            done_events.append(rec)
            how = (f"for {rec['lasts_s']}s {json.dumps(rec['fault'])}" if "fault" in rec else
                   f"killed/restarted, back in {rec['took_s']}s")
            say(f"{event} ({trigger[0]} {trigger[1]}): at {at}/{total} documents, "
                f"t={rec['t']}s, {how}")
        for timer in timers:
            timer.join()
        stack.tox.reset()  # nothing left over
        if soak_s:
            set_latency(base_latency_ms)  # the rest at the starting pace, not a held-back one
        took = stack.wait_synced(expected, timeout=max(30, deadline - time.time()))
        per, totals = stack.report(expected)
        exited = stack.exited_daemons()
        say(f"synced {time.time() - t_start:.1f}s after start ({took:.1f}s after the last "
            f"event); totals {json.dumps(totals)}")
        outcomes = loader_outcomes(stack.log_dir)
        say(f"loader: {json.dumps(outcomes)}")
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
        for timer in timers:
            timer.cancel()
        if not ok and stack.exact:
            diagnose(stack)
        stack.stop()
        reports = sanitizer_reports(stack.log_dir)
        for r in reports:
            say(f"sanitizer: {r}")
        print(json.dumps({"seed": seed, "tenants": tenants, "orders": orders, "ok": ok,
                          "latency_ms": latency_ms if ok else None, "events": done_events,
                          "unexpected_exits": unexpected_exits,
                          **({"totals": totals, "loader": outcomes} if ok else {})}),
              flush=True)
    if reports:
        raise AssertionError("sanitizer reports in the daemon logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
