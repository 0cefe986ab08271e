#!/usr/bin/env python3
"""Scale benchmark: T shops x N orders through the whole pipeline against the Exact fake's
real limits (60 calls per minute and 5,000 per day per division) in a compressed minute.

The bound is physical: nobody can finish before the busiest division has spent the calls it
needed at 60 per minute, so   bound = max over divisions(calls) / 60 x minute.
makespan runs from the start of the extractors (tenants onboarded, transformer and loaders
already waiting) to the moment the last expected document is in the fake; calls are counted
from /_fake/stats per division (429 answers excluded: they are not counted by Exact either).

The write floor is what had to be created in Exact (documents, relations, contacts, items,
delivery addresses, from the fake's stats); calls_per_floor = calls / floor (target <= 1.10),
reported for the first sync and for a steady state: a second wave of --wave2 orders per shop
placed after the first is booked, for the shops' products (items that now exist).

    tests/bench/scale.py --build build [--tenants 200] [--orders 50] [--minute 20]
                         [--loaders 1] [--extractors 1] [--loader-workers N] [--wave2 N]

Starts its own Kafka and PostgreSQL. Last line: one JSON object."""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


WAVE2_CASES = ["nl_b2c", "nl_b2c", "nl_b2b"]


def quiet(stack, still_s=10.0, timeout=300):
    """The fake's stats once no call came in for @still_s seconds."""
    t0, last, since = time.time(), None, time.time()
    while time.time() - t0 < timeout:
        stats = stack.exact.stats()
        n = sum(d.get("requests", 0) for d in stats.get("divisions", {}).values())
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= still_s:
            return stats
        time.sleep(0.5)
    raise AssertionError(f"Exact still called after {timeout}s")


def wave2(stack, args, divs, before):
    """A second wave of paid orders for the shops' existing products, once the first is
    booked: its calls and write floor alone (the difference of the fake's stats)."""
    import random
    rng = random.Random(args.seed + 1)
    docs0 = stack.created_documents(before)
    calls0, _ = B.exact_calls(before)
    floor0 = B.write_floor(before, divs)
    want = {}
    B.say(f"steady state: {args.wave2} more orders per shop")
    t0 = time.time()
    for t in stack.tenants:
        for _ in range(args.wave2):
            body = {"case": rng.choice(WAVE2_CASES), "paid": True, "is_completed": True,
                    "status": 5}
            status, _ = stack.ccv.call("POST", f"/_fake/shops/{t['shop']['n']}/orders", body)
            if status != 201:
                raise AssertionError(f"order POST answered {status}")
        want[t["division"]] = docs0.get(t["division"], 0) + args.wave2
    while time.time() - t0 < args.timeout:
        have = stack.created_documents()
        if all(have.get(d, 0) >= n for d, n in want.items()):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the second wave was not booked")
    stats = quiet(stack)
    calls1, _ = B.exact_calls(stats)
    floor1 = B.write_floor(stats, divs)
    calls = sum(calls1.get(d, 0) - calls0.get(d, 0) for d in divs)
    floor = {e: floor1[e] - floor0[e] for e in floor1}
    eps0, eps1 = B.endpoint_calls(before), B.endpoint_calls(stats)
    return {"documents": len(stack.tenants) * args.wave2, "calls": calls, "write_floor": sum(floor.values()),
            "write_floor_by_entity": floor,
            "calls_per_floor": round(calls / max(sum(floor.values()), 1), 3),
            "calls_by_endpoint": {ep: n - eps0.get(ep, 0) for ep, n in eps1.items()
                                  if n != eps0.get(ep, 0)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(B.ROOT, "build"))
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--orders", type=int, default=50, help="orders per shop")
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--minute", type=int, default=20,
                    help="seconds in a rate-limit minute of both fakes (default 20)")
    ap.add_argument("--loaders", type=int, default=1)
    ap.add_argument("--extractors", type=int, default=1)
    ap.add_argument("--transformers", type=int, default=1)
    ap.add_argument("--loader-workers", type=int, default=0, help="CX_LOADER_WORKERS (0: its "
                    "default)")
    ap.add_argument("--wave2", type=int, default=5, help="orders per shop of the steady-state "
                    "wave (0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--set", action="append", default=[], metavar="KIND:CX_VAR=VALUE",
                    help="extra daemon setting, e.g. transformer:CX_TRANSFORMER_BATCH_MS=20")
    args = ap.parse_args()

    S = args.minute
    extra = {"extractor:CX_EXTRACT_RATE_WINDOW_S": str(S)}
    if args.loader_workers:
        extra["loader:CX_LOADER_WORKERS"] = str(args.loader_workers)
    extra.update(B.settings(args.set))
    # Extractors are started by hand below: their start is time zero.
    stack = B.Stack(args.build, tenants=args.tenants, orders=args.orders,
                    products=args.products, seed=args.seed, loaders=args.loaders,
                    extractors=0, transformers=args.transformers,
                    exact_args=["--minute", str(S), "--minutely-limit", "60",
                                "--daily-limit", "5000"],
                    ccv_args=["--minute", str(S)], extra_env=extra, private_services=True)
    machine = B.machine()
    try:
        t_on = time.time()
        B.say(f"onboarding {args.tenants} shops (services, fakes, connector-admin)")
        stack.start()
        onboard_s = time.time() - t_on
        expected = stack.expected()
        want = B.want_documents(expected)
        total = sum(want.values())
        B.say(f"onboarded in {onboard_s:.0f}s; {total} documents expected; logs in "
              f"{stack.log_dir}")
        # Onboarding read the divisions' VAT codes: start the count from zero.
        stack.exact.call("POST", "/_fake/reset", {"counters": True, "limits": False})
        t0 = time.time()
        for i in range(args.extractors):
            stack.start_daemon("extractor", i)
        t_done = B.wait_documents(stack, want, t0, args.timeout)
        makespan = t_done - t0
        rss = stack.peak_rss_kb()
        cpu = B.daemon_cpu_s(stack)
        cpu["exact-fake"] = B.process_cpu_s(stack.exact.proc.pid)
        cpu["ccvshop-fake"] = B.process_cpu_s(stack.ccv.proc.pid)
        cpu.update(B.services_cpu_s(stack))
        stats = stack.exact.stats()
        calls, r429 = B.exact_calls(stats)
        endpoints = B.endpoint_calls(stats)
        divs = {t["division"] for t in stack.tenants}
        busiest = max((calls.get(d, 0), d) for d in divs)
        bound = busiest[0] / 60.0 * S
        all_calls = sum(calls.get(d, 0) for d in divs)
        stack.wait_synced(expected, timeout=600, settle=2)
        # the first sync is over when its last command is: products and customers that
        # were no order's may still be loading after the last document
        synced = quiet(stack)
        first_calls = sum(B.exact_calls(synced)[0].get(d, 0) for d in divs)
        floor = B.write_floor(synced, divs)
        per, totals = stack.report(expected)
        steady = wave2(stack, args, divs, synced) if args.wave2 else None
    finally:
        stack.stop()

    result = {
        "bench": "scale", "tenants": args.tenants, "orders_per_tenant": args.orders,
        "documents": total, "minute_s": S, "loaders": args.loaders,
        "extractors": args.extractors, "transformers": args.transformers,
        "loader_workers": args.loader_workers or None, "settings": args.set,
        "onboarding_s": round(onboard_s, 1), "makespan_s": round(makespan, 1),
        "bound_s": round(bound, 1), "makespan_ratio": round(makespan / bound, 3),
        "busiest_division_calls": busiest[0],
        "busiest_division_windows": math.ceil(busiest[0] / 60),
        "division_calls_min": min(calls.get(d, 0) for d in divs),
        "division_calls_median": sorted(calls.get(d, 0) for d in divs)[len(divs) // 2],
        "calls": all_calls, "calls_per_order": round(all_calls / max(total, 1), 3),
        "first_sync_calls": first_calls, "write_floor": sum(floor.values()),
        "write_floor_by_entity": floor,
        "calls_per_floor": round(first_calls / max(sum(floor.values()), 1), 3),
        "first_sync_calls_by_endpoint": B.endpoint_calls(synced),
        "steady_state": steady,
        "http_429": r429, "duplicates": totals.get("duplicates", 0),
        "missing": totals.get("missing", 0), "wrong_totals": totals.get("wrong_totals", 0),
        "duplicate_accounts": totals.get("duplicate_accounts", 0),
        "duplicate_items": totals.get("duplicate_items", 0),
        "peak_rss_kb": rss, "cpu_s": cpu, "calls_by_endpoint": endpoints,
        "machine": machine,
    }
    print(f"{args.tenants} shops x {args.orders} orders = {total} documents in "
          f"{makespan:.1f}s (minute = {S}s)")
    print(f"bound {bound:.1f}s (busiest division {busiest[1]}: {busiest[0]} calls = "
          f"{busiest[0] / 60:.2f} minutes); makespan/bound {makespan / bound:.3f} "
          f"(target <= 1.15)")
    print(f"calls {all_calls}, {result['calls_per_order']} per order; 429: {r429} "
          f"(target 0); duplicates {result['duplicates']}, missing {result['missing']}")
    print(f"first sync: {first_calls} calls, write floor {result['write_floor']} ({floor}); "
          f"calls per floor "
          f"{result['calls_per_floor']} (target <= 1.10)")
    if steady:
        print(f"steady state: {steady['documents']} documents, {steady['calls']} calls, floor "
              f"{steady['write_floor']}; calls per floor {steady['calls_per_floor']}")
    print("peak RSS (kB): " + ", ".join(f"{k} {v}" for k, v in sorted(rss.items())))
    print("CPU (s): " + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items())))
    print(json.dumps(result))
    bad = result["duplicates"] + result["missing"] + result["wrong_totals"] + \
        result["duplicate_accounts"] + result["duplicate_items"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
