#!/usr/bin/env python3
"""The README's main command: the whole stack on this machine, three generated shops synced
into the fake Exact Online, and a report of what happened measured from the fake's books.

Last line: one JSON object {"tenants", "orders", "documents_created", "duplicates",
"failures", ...}. Exit status 0 unless an order was lost or doubled (or booked with a total
that differs from the shop's)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import Stack  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--tenants", type=int, default=3)
    ap.add_argument("--orders", type=int, default=40, help="orders per shop")
    ap.add_argument("--products", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()

    print(f"==> starting Kafka, PostgreSQL, both fakes and the daemons; onboarding "
          f"{args.tenants} shops", file=sys.stderr, flush=True)
    stack = Stack(args.build, tenants=args.tenants, orders=args.orders,
                  products=args.products, seed=args.seed)
    try:
        stack.start()
        expected = stack.expected()
        print(f"==> syncing (logs in {stack.log_dir})", file=sys.stderr, flush=True)
        took = stack.wait_synced(expected, timeout=args.timeout)
        per, totals = stack.report(expected)
    finally:
        stack.stop()

    for row in per:
        print(f"\n{row['tenant']} → Exact division {row['division']}")
        print(f"  orders booked or refused: {row['orders']:4}   documents created: "
              f"{row['documents_created']:4}   duplicates: {row['duplicates']}   "
              f"missing: {row['missing']}")
        print(f"  accounts: {row['accounts']:4}   items: {row['items']:4}   scenarios: " +
              ", ".join(f"{k} {v}" for k, v in sorted(row["scenarios"].items())))
        if row["failures"]:
            print(f"  failures ({len(row['failures'])}), each in the dead letters, ready to "
                  "redrive once fixed:")
            for f in row["failures"][:12]:
                print(f"    order {f['source_id']:>10}  [{f['stage']}] {f['reason']}")
            if len(row["failures"]) > 12:
                print(f"    … and {len(row['failures']) - 12} more")
    bad = totals.get("duplicates", 0) + totals.get("missing", 0) + \
        totals.get("wrong_totals", 0) + totals.get("duplicate_accounts", 0) + \
        totals.get("duplicate_items", 0)
    print(f"\nsynced in {took:.1f}s; {'NOTHING LOST, NOTHING DOUBLED' if not bad else 'PROBLEMS'}")
    summary = {"tenants": len(per), **totals, "seconds": round(took, 1)}
    print(json.dumps(summary))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
