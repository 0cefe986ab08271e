#!/usr/bin/env python3
"""Loader benchmark (not a test): API calls per order in steady state and the share of the
minutely budget used while a backlog lasts. Runs one loader against exact-fake with a
compressed minute; customers and items repeat, as in a real shop. Prints figures and a final
JSON line. Needs TEST_KAFKA_BROKERS and TEST_PG_DSN (run it through loader-bench.sh)."""
import json
import os
import random
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration", "loader"))
import loaderlib as L  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "600"))
TENANTS = int(os.environ.get("BENCH_TENANTS", "2"))
WINDOW_S = float(os.environ.get("BENCH_MINUTE_S", "2"))
LIMIT = int(os.environ.get("BENCH_MINUTELY_LIMIT", "20"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "200"))


def main():
    rng = random.Random(1)
    fake = L.Fake("--minute", str(WINDOW_S), "--minutely-limit", str(LIMIT),
                  "--daily-limit", "1000000")
    loaders = []
    try:
        env = L.new_env("b_loader")
        tenants = L.add_tenants(env, fake, TENANTS)
        names = sorted(tenants)
        records = []
        for i in range(ORDERS):
            t = names[i % len(names)]
            records.append((t, json.dumps(L.order_command(t, i, rng, customers=20, items=15))))
        L.produce(env, records)
        started = time.time()
        loaders = L.start_loaders(env, 1)
        L.wait_until(lambda: sum(len(L.booked(fake, d)) for d in tenants.values()) >= ORDERS,
                     3600, 1)
        elapsed = time.time() - started
        events = [e for e in loaders[0].log_events() if e.get("event") == "command.loaded"]
        per_tenant = {}
        for e in events:
            per_tenant.setdefault(e["tenant"], []).append(e)
        steady_calls = steady_orders = 0
        windows = {}
        for t, evs in per_tenant.items():
            for k, e in enumerate(evs):
                if k >= WARMUP // len(names):
                    steady_calls += e["calls"]
                    steady_orders += 1
                ts = datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
                key = (t, int(ts * 1000 // (WINDOW_S * 1000)))
                windows[key] = windows.get(key, 0) + e["calls"]
        full = []
        for t in per_tenant:
            ws = sorted(w for (tt, w) in windows if tt == t)
            full += [windows[(t, w)] for w in ws[1:-1]]
        stats = fake.stats()
        total_calls = sum(d.get("requests", 0) for d in stats["divisions"].values())
        r429 = sum(sum(d.get("rate_limited", {}).values()) for d in stats["divisions"].values())
        result = {
            "orders": ORDERS, "tenants": TENANTS, "elapsed_s": round(elapsed, 1),
            "api_calls_total": total_calls,
            "calls_per_order_overall": round(total_calls / ORDERS, 3),
            "calls_per_order_steady": round(steady_calls / max(steady_orders, 1), 3),
            "minutely_budget_used": round(sum(full) / (LIMIT * max(len(full), 1)), 3),
            "responses_429": r429,
        }
        print(f"orders {ORDERS} over {TENANTS} tenants in {result['elapsed_s']} s")
        print(f"API calls: {total_calls} in all, {result['calls_per_order_overall']} per order,"
              f" {result['calls_per_order_steady']} per order in steady state (target <= 1.05)")
        print(f"minutely budget used during the backlog: {result['minutely_budget_used']:.1%}"
              f" over {len(full)} full windows; 429 answers: {r429}")
        print(json.dumps(result))
        for d in loaders:
            d.stop(timeout=30)
    finally:
        for d in loaders:
            d.kill()
        fake.stop()


if __name__ == "__main__":
    main()
