#!/usr/bin/env python3
"""Throughput benchmark: orders per second end to end with every limit off (exact-fake
--no-limits, ccvshop-fake with no request limits and the extractor's own limiter off), from
the start of the extractors to the last document in the fake Exact; then the transformer
core alone (tests/bench-core, single thread, no Kafka).

    tests/bench/throughput.py --build build [--tenants 20] [--orders 250]
                              [--loaders 1] [--extractors 1] [--loader-workers N]

Starts its own Kafka and PostgreSQL. CPU seconds per process show where the time went.
Last line: one JSON object."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(B.ROOT, "build"))
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--orders", type=int, default=250, help="orders per shop")
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--loaders", type=int, default=1)
    ap.add_argument("--extractors", type=int, default=1)
    ap.add_argument("--transformers", type=int, default=1)
    ap.add_argument("--loader-workers", type=int, default=0)
    ap.add_argument("--page-size", type=int, default=250, help="CX_EXTRACT_PAGE_SIZE")
    ap.add_argument("--core-iterations", type=int, default=0, help="bench-core's (0: its own)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--set", action="append", default=[], metavar="KIND:CX_VAR=VALUE",
                    help="extra daemon setting, e.g. transformer:CX_TRANSFORMER_BATCH_MS=20")
    args = ap.parse_args()

    extra = {"extractor:CX_EXTRACT_GET_LIMIT": "0", "extractor:CX_EXTRACT_WRITE_LIMIT": "0",
             "extractor:CX_EXTRACT_PAGE_SIZE": str(args.page_size)}
    if args.loader_workers:
        extra["loader:CX_LOADER_WORKERS"] = str(args.loader_workers)
    extra.update(B.settings(args.set))
    stack = B.Stack(args.build, tenants=args.tenants, orders=args.orders,
                    products=args.products, seed=args.seed, loaders=args.loaders,
                    extractors=0, transformers=args.transformers,
                    exact_args=["--no-limits", "--threads", "4"],
                    ccv_args=["--rate-limit", "0", "--write-rate-limit", "0", "--threads", "4"],
                    extra_env=extra, private_services=True)
    machine = B.machine()
    try:
        stack.start()
        expected = stack.expected()
        want = B.want_documents(expected)
        total = sum(want.values())
        B.say(f"{total} documents expected; logs in {stack.log_dir}")
        stack.exact.call("POST", "/_fake/reset", {"counters": True, "limits": True})
        cpu0 = B.daemon_cpu_s(stack)
        t0 = time.time()
        for i in range(args.extractors):
            stack.start_daemon("extractor", i)
        t_done = B.wait_documents(stack, want, t0, args.timeout, poll=0.1)
        seconds = t_done - t0
        cpu = B.daemon_cpu_s(stack)
        cpu = {k: round(v - cpu0.get(k, 0), 2) for k, v in cpu.items()}
        cpu["exact-fake"] = B.process_cpu_s(stack.exact.proc.pid)
        cpu["ccvshop-fake"] = B.process_cpu_s(stack.ccv.proc.pid)
        cpu.update(B.services_cpu_s(stack))
        rss = stack.peak_rss_kb()
        stats = stack.exact.stats()
        calls, _ = B.exact_calls(stats)
        endpoints = B.endpoint_calls(stats)
        stack.wait_synced(expected, timeout=600, settle=2)
        per, totals = stack.report(expected)
    finally:
        stack.stop()
    B.say("transformer core alone (bench-core)")
    core = B.bench_core(args.build, args.core_iterations or None)

    orders_in = sum(len(e["ok"]) + len(e["failed"]) for e in expected.values())
    result = {"bench": "throughput", "tenants": args.tenants, "orders_per_tenant": args.orders,
              "settings": args.set,
              "orders_extracted": orders_in, "documents": total, "seconds": round(seconds, 2),
              "documents_per_second": round(total / seconds, 1),
              "orders_per_second": round(orders_in / seconds, 1),
              "exact_calls": sum(calls.values()),
              "calls_per_second": round(sum(calls.values()) / seconds, 1),
              "core_orders_per_second": core.get("orders_per_second"),
              "core": core, "duplicates": totals.get("duplicates", 0),
              "missing": totals.get("missing", 0), "cpu_s": cpu,
              "calls_by_endpoint": endpoints,
              "cpu_share": {k: round(v / seconds, 2) for k, v in cpu.items() if v is not None},
              "peak_rss_kb": rss, "machine": machine}
    print(f"end to end: {orders_in} orders ({total} documents) in {seconds:.1f}s = "
          f"{result['orders_per_second']} orders/s, {result['documents_per_second']} "
          f"documents/s, {result['calls_per_second']} Exact calls/s")
    print("CPU share of the run (1.0 = one core busy): " +
          ", ".join(f"{k} {v}" for k, v in sorted(result["cpu_share"].items())))
    print(f"transformer core alone: {core.get('orders_per_second')} orders/s (one thread)")
    print(json.dumps(result))
    return 1 if result["duplicates"] or result["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
