#!/usr/bin/env python3
"""A PostgreSQL restart during a rebalance (issue 16).

Two transformers and two loaders (one consumer group each) and an extractor move orders of
several shops while the fake Exact is paced. Twice the groups rebalance and PostgreSQL goes
down in the middle of it, for a few seconds, with an immediate shutdown (SIGQUIT to the
postmaster: every session cut, crash recovery on start):

  1. a third transformer and a third loader join; the moment a member logs the revocation
     (kafka.rebalance, phase revoke) PostgreSQL is stopped, and started again 3 s later;
  2. PostgreSQL is stopped, then transformer-0 and loader-0 are stopped (SIGTERM): the
     groups rebalance while it is down; it starts again 20 s later (as long as a managed
     database's restart may take), once the remaining members have their new assignment.

Each restart is printed with where it fell against the members' rebalance events. At the
end, read back from the fake Exact and PostgreSQL: every order once, with the shop's amount
and the transformer's lines; no account or item twice; each order command once on
exact.commands (read_committed) per order message on shop.orders; the only dead letters are
the orders the dry run refuses, with its reason (none for an infrastructure error); no
order with two "ok" lines in the sync log; every daemon running and ready, and the stopped
ones exited 0.

Runs on its own Kafka and PostgreSQL (it restarts the database)."""
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
from stack import Stack  # noqa: E402
import cxtest  # noqa: E402
from test_chaos import sanitizer_reports  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
TENANTS = int(os.environ.get("REBAL_TENANTS", "6"))
ORDERS = int(os.environ.get("REBAL_ORDERS", "20"))
OUTAGE_2_S = 20
T0 = time.time()


def say(msg):
    print(f"[rebal {time.time() - T0:6.1f}s] {msg}", flush=True)


def on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # meson's timeout: unwind so that `finally` stops all


def parse_ts(ts):
    # "2026-12-02T16:02:25.123Z" -> epoch seconds
    base, ms = ts.rstrip("Z").split(".")
    return time.mktime(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) - time.timezone + int(ms) / 1e3


def rebalances(d, since):
    """(epoch, phase, partitions) of daemon @d's kafka.rebalance events after @since."""
    out = []
    for e in d.log_events():
        if e.get("event") == "kafka.rebalance":
            t = parse_ts(e["ts"])
            if t >= since:
                out.append((t, e.get("phase"), e.get("partitions", [])))
    return out


def kcat_read(brokers, topic):
    p = subprocess.run(["kcat", "-b", brokers, "-C", "-t", topic, "-e", "-o", "beginning", "-q",
                        "-X", "isolation.level=read_committed", "-f", "%s\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"kcat {topic}: {p.stderr}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


class Postgres:
    """One outage of the stack's private cluster (services.py), timed."""

    def __init__(self, stack):
        self.svc = stack.services
        self.down_at = self.up_at = None

    def stop(self):
        self.down_at = time.time()
        self.svc.kill_postgres()

    def start(self):
        self.svc.start_postgres_again()
        self.up_at = time.time()


def place(pg, members, since, label):
    """Say where the outage fell against each group's rebalance; returns the events."""
    by_group = {}
    for kind, ds in members.items():
        evs = sorted((t, d.name, ph, parts) for d in ds for t, ph, parts in
                     rebalances(d, since))
        by_group[kind] = evs
        first_revoke = next((t for t, _, ph, _ in evs if ph == "revoke"), None)
        last_assign = max((t for t, _, ph, _ in evs if ph == "assign"), default=None)
        rel = lambda t: "—" if t is None else f"{t - pg.down_at:+.2f}s"  # noqa: E731
        say(f"{label}: {kind} group: first revoke {rel(first_revoke)}, last assign "
            f"{rel(last_assign)} from PostgreSQL down; PostgreSQL up "
            f"{pg.up_at - pg.down_at:+.2f}s")
        for t, name, ph, parts in evs:
            say(f"    {t - pg.down_at:+.2f}s {name} {ph} {len(parts)} partition(s)")
    return by_group


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def progress(stack, want):
    created = stack.created_documents()
    return sum(min(created.get(t["division"], 0), want[t["id"]]) for t in stack.tenants)


def line_key(line):
    return (line.get("Description"), round(float(line.get("Quantity") or 0), 4),
            round(float(line.get("NetPrice") or 0), 2), (line.get("VATCode") or "").strip())


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    seed = int(os.environ.get("REBAL_SEED", "1616"))
    stack = Stack(BUILD, tenants=TENANTS, orders=ORDERS, products=10, seed=seed, loaders=0,
                  transformers=2, extractors=0, private_services=True,
                  exact_args=["--minute", "6", "--seed", str(seed), "--threads", "16",
                              "--token-ttl", "3600"],
                  # pages of 2 orders, each answered 150 ms late: the orders reach the
                  # transformers over ~15 s, so that the rebalance finds batches open
                  ccv_args=["--latency-ms", "150"],
                  extra_env={"extractor:CX_EXTRACT_PAGE_SIZE": "2",
                             "transformer:CX_TRANSFORMER_BATCH_MS": "1000",
                             # 5 tries, back-off at most 3 s: ~6-12 s, less than outage 2
                             "loader:CX_LOADER_MAX_ATTEMPTS": "5",
                             "loader:CX_LOADER_BACKOFF_MAX_MS": "3000",
                             "loader:CX_LOADER_HTTP_TIMEOUT_MS": "5000"})
    ok = False
    stopped = {}
    try:
        stack.start()
        expected = stack.expected()
        want = {t["id"]: len(expected[t["id"]]["ok"]) for t in stack.tenants}
        total = sum(want.values())
        # Exact's latency paces the loading (~1 document a second here, outages included),
        # so that both rebalances fall while documents are still being written.
        latency = int(min(1500, 4 * 25000 / (3.4 * max(total, 1))))
        for t in stack.tenants:
            stack.exact.call("POST", "/_fake/faults", {"division": t["division"],
                                                       "latency_ms": latency})
        stack.counts.update(loader=2, extractor=1)
        for i in range(2):
            stack.start_daemon("loader", i)
        stack.start_daemon("extractor", 0)
        say(f"{total} documents expected over {TENANTS} shops; Exact latency {latency} ms; "
            f"logs in {stack.log_dir}")
        wait_for(lambda: progress(stack, want) >= 0.1 * total, 240, "10 % of the documents")

        # 1. Members join; PostgreSQL goes down at the first revocation.
        old = {"transformer": list(stack.daemons["transformer"][:2]),
               "loader": list(stack.daemons["loader"][:2])}
        since = time.time()
        starters = [threading.Thread(target=stack.start_daemon, args=(k, 2)) for k in old]
        for th in starters:
            th.start()
        pg = Postgres(stack)
        wait_for(lambda: any(ph == "revoke" for ds in old.values() for d in ds
                             for _, ph, _ in rebalances(d, since)), 120, "a revocation")
        pg.stop()
        at = progress(stack, want)
        transformed = sum(1 for c in kcat_read(os.environ["TEST_KAFKA_BROKERS"],
                                               stack.env["CX_TOPIC_PREFIX"] + "exact.commands")
                          if c.get("kind") in ("sales_order", "sales_invoice"))
        time.sleep(max(0.0, 3 - (time.time() - pg.down_at)))
        pg.start()
        for th in starters:
            th.join(150)
        say(f"restart 1 at {at}/{total} documents, {transformed} order commands committed")
        members = {k: old[k] + [stack.daemons[k][2]] for k in old}
        place(pg, members, since, "restart 1")

        # 2. PostgreSQL down, then members leave: the rebalance happens during the outage.
        wait_for(lambda: progress(stack, want) >= 0.5 * total, 240, "50 % of the documents")
        pg = Postgres(stack)
        since = time.time()
        pg.stop()
        at = progress(stack, want)
        leaving = [stack.daemons["transformer"][0], stack.daemons["loader"][0]]
        stoppers = []
        def stop_one(d):
            try:
                stopped[d.name] = d.stop(timeout=60)
            except AssertionError:
                stopped[d.name] = "did not exit within 60 s"

        for d in leaving:
            th = threading.Thread(target=stop_one, args=(d,))
            th.start()
            stoppers.append(th)
        remaining = {k: [d for d in stack.daemons[k] if d and d not in leaving]
                     for k in ("transformer", "loader")}
        wait_for(lambda: all(any(ph == "assign" for _, ph, _ in rebalances(d, since))
                             for ds in remaining.values() for d in ds), 60,
                 "the new assignment of the remaining members")
        # As long as a managed database's restart or failover may take: longer than the
        # loader's tries of a command last here (8, back-off at most 3 s: 8-16 s).
        time.sleep(max(0.0, OUTAGE_2_S - (time.time() - pg.down_at)))
        pg.start()
        for th in stoppers:
            th.join(90)
        say(f"restart 2 at {at}/{total} documents; stopped: {stopped}")
        place(pg, remaining, since, "restart 2")

        took = stack.wait_synced(expected, timeout=240)
        say(f"synced {took:.1f}s after the wait began")
        problems = []

        # Every order once, with the shop's amount (report) and the transformer's lines.
        per, totals = stack.report(expected)
        for k in ("duplicates", "missing", "wrong_totals", "duplicate_accounts",
                  "duplicate_items"):
            if totals.get(k):
                problems.append(f"{k}: {totals[k]} {[r for r in per if r[k]]}")
        for t in stack.tenants:
            docs = {d.get("YourRef"): d for d in stack.documents(t)}
            for r, o in expected[t["id"]]["ok"].values():
                body = r["body"]
                d = docs.get(body["YourRef"])
                if not d:
                    continue  # counted as missing above
                lines_key = "SalesInvoiceLines" if "SalesInvoiceLines" in body else \
                    "SalesOrderLines"
                want_lines = sorted(map(line_key, body[lines_key]))
                got_lines = sorted(map(line_key, d.get(lines_key) or []))
                if want_lines != got_lines:
                    problems.append(f"{t['id']} {body['YourRef']}: lines {got_lines} != "
                                    f"{want_lines}")

        # Dead letters: only the orders the dry run refuses, with its reason.
        for dl in stack.dead_letters():
            exp = expected.get(dl.get("tenant_id"), {}).get("failed", {})
            if str(dl.get("source_id")) not in exp or dl.get("reason") != \
                    exp[str(dl.get("source_id"))]:
                problems.append(f"unexpected dead letter: {dl.get('tenant_id')} "
                                f"{dl.get('source_id')} {dl.get('stage')}: {dl.get('reason')}")

        # The dead-letter topic too: a record published while the database refused its row
        # is on the topic all the same.
        for m in kcat_read(os.environ["TEST_KAFKA_BROKERS"],
                           stack.env["CX_TOPIC_PREFIX"] + "dead.letters"):
            exp = expected.get(m.get("tenant"), {}).get("failed", {})
            if exp.get(str(m.get("source_id"))) != m.get("reason"):
                problems.append(f"unexpected record on the dead-letter topic: {m.get('tenant')} "
                                f"{m.get('source_id')} {m.get('stage')}: {m.get('reason')}")

        # Each order command once per order message (a rebalance must not double one).
        prefix = stack.env["CX_TOPIC_PREFIX"]
        brokers = os.environ["TEST_KAFKA_BROKERS"]
        published = collections.Counter((m.get("tenant"), str(m.get("source_id"))) for m in
                                        kcat_read(brokers, prefix + "shop.orders")
                                        if m.get("entity") == "order")
        commands = collections.Counter((m.get("tenant"), str(m.get("source_id"))) for m in
                                       kcat_read(brokers, prefix + "exact.commands")
                                       if m.get("kind") in ("sales_order", "sales_invoice"))
        for key, n in sorted(commands.items()):
            if n > published.get(key, 0):
                problems.append(f"{key}: {n} order commands for {published.get(key, 0)} "
                                "order message(s)")

        # No order's decision written twice: one "ok" transform line per order record
        # (tenant, source id and trace id; an order the extractor published again is a new
        # record) and one "ok" load line per booked document whatever its records (a second
        # command is "skipped"). Other commands delivered again after a rebalance are run,
        # and logged, again.
        doubled = cxtest.psql(stack.env["CX_PG_DSN"],
                              "SELECT string_agg(format('%s %s %s %s %s: %s', tenant_id, stage, "
                              "entity, source_id, trace_id, n), '; ') FROM (SELECT tenant_id, "
                              "stage, entity, source_id, trace_id, count(*) AS n FROM sync_log "
                              "WHERE status = 'ok' AND stage = 'transform' AND entity = 'order' "
                              "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1 UNION ALL SELECT "
                              "tenant_id, stage, entity, source_id, '*', count(*) FROM sync_log "
                              "WHERE status = 'ok' AND stage = 'load' AND entity IN "
                              "('sales_order', 'sales_invoice') GROUP BY 1, 2, 3, 4 HAVING "
                              "count(*) > 1) x")
        if doubled:
            problems.append(f"sync log lines doubled: {doubled}")

        # Every daemon running and ready; the stopped ones exited 0.
        for name, rc in stopped.items():
            if rc != 0:
                problems.append(f"{name} exited {rc} when stopped")
        for d in stack.all_daemons():
            if d.name in stopped:
                continue
            if d.proc.poll() is not None:
                problems.append(f"{d.name} exited by itself with {d.proc.returncode}")
                continue
            try:
                d.wait_ready(30)
            except AssertionError:
                status, body, _ = cxtest.http("GET", d.url("/readyz"))
                problems.append(f"{d.name} not ready 30 s after the sync: {status} {body}")
        say(f"totals {json.dumps(totals)}; {sum(commands.values())} order commands for "
            f"{sum(published.values())} order messages")
        for p in problems:
            say(f"PROBLEM {p}")
        if problems:
            raise AssertionError(f"{len(problems)} problem(s); logs in {stack.log_dir}")
        ok = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not ok:
            os.environ["CX_STACK_KEEP"] = "1"
        stack.stop()
    reports = sanitizer_reports(stack.log_dir)
    for r in reports:
        say(f"sanitizer: {r}")
    if reports:
        raise AssertionError("sanitizer reports in the daemon logs")
    say("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
