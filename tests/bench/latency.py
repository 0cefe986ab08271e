#!/usr/bin/env python3
"""Latency benchmark: from a new order in the shop (POST /_fake/shops/{n}/orders, which fires
the orders.created webhook at the extractor's own listener) to its document in the fake
Exact, measured one order at a time with no rate pressure (exact-fake --no-limits, polling
of the shops slowed to once an hour so only the webhook path can find the orders).

    tests/bench/latency.py --build build [--orders 100] [--tenants 2]

Starts its own Kafka and PostgreSQL. Last line: one JSON object with p50/p99 (target p99
under 2 s)."""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import cxtest  # noqa: E402 - on the path through benchlib

# Cases that book cleanly whatever the shop's OSS registration (no rejects, no XI).
CASES = ["nl_b2c", "nl_b2c", "nl_b2b", "eu_b2c", "eu_b2b_valid_vat", "export_b2c"]


def percentile(values, p):
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(B.ROOT, "build"))
    ap.add_argument("--orders", type=int, default=100, help="webhook orders measured")
    ap.add_argument("--tenants", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--timeout", type=float, default=30, help="per order")
    ap.add_argument("--set", action="append", default=[], metavar="KIND:CX_VAR=VALUE",
                    help="extra daemon setting, e.g. transformer:CX_TRANSFORMER_BATCH_MS=20")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    port = cxtest.free_port()
    stack = B.Stack(args.build, tenants=args.tenants, orders=5, products=10, seed=args.seed,
                    exact_args=["--no-limits"], private_services=True,
                    extra_env={"extractor:CX_HTTP_PORT": str(port),
                               "extractor:CX_WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
                               "extractor:CX_EXTRACT_ORDERS_INTERVAL_S": "3600",
                               "extractor:CX_EXTRACT_REREAD_INTERVAL_S": "3600",
                               **B.settings(args.set)})
    lat, lost = [], 0
    try:
        stack.start()
        expected = stack.expected()
        stack.wait_synced(expected, timeout=300, settle=1)
        ext = stack.daemons["extractor"][0]
        deadline = time.time() + 60
        while time.time() < deadline:
            n = sum(1 for e in ext.log_events() if e.get("event") == "webhooks.registered")
            if n >= args.tenants:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the extractor did not register its webhooks")
        B.say(f"initial orders synced, webhooks registered; measuring {args.orders} orders")
        for i in range(args.orders):
            t = stack.tenants[i % len(stack.tenants)]
            before = stack.created_documents().get(t["division"], 0)
            body = {"case": rng.choice(CASES), "paid": True, "is_completed": True,
                    "status": 5}
            t0 = time.time()
            status, _ = stack.ccv.call("POST", f"/_fake/shops/{t['shop']['n']}/orders", body)
            if status != 201:
                raise AssertionError(f"order POST answered {status}")
            while time.time() - t0 < args.timeout:
                if stack.created_documents().get(t["division"], 0) > before:
                    lat.append(time.time() - t0)
                    break
                time.sleep(0.005)
            else:
                lost += 1
                B.say(f"order {i} of {t['id']} not booked within {args.timeout}s")
            time.sleep(rng.uniform(0.05, 0.3))
        rss = stack.peak_rss_kb()
        per, totals = stack.report(stack.expected())
    finally:
        stack.stop()

    result = {"bench": "latency", "orders": args.orders, "booked": len(lat), "lost": lost,
              "p50_s": round(percentile(lat, 50), 3) if lat else None,
              "p90_s": round(percentile(lat, 90), 3) if lat else None,
              "p99_s": round(percentile(lat, 99), 3) if lat else None,
              "max_s": round(max(lat), 3) if lat else None,
              "mean_s": round(sum(lat) / len(lat), 3) if lat else None,
              "duplicates": totals.get("duplicates", 0), "peak_rss_kb": rss,
              "settings": args.set,
              "machine": B.machine()}
    print(f"{len(lat)} of {args.orders} webhook orders booked; latency p50 {result['p50_s']} s,"
          f" p90 {result['p90_s']} s, p99 {result['p99_s']} s, max {result['max_s']} s "
          f"(target p99 < 2 s); duplicates {result['duplicates']}")
    print(json.dumps(result))
    return 1 if lost or result["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
