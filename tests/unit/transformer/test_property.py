#!/usr/bin/env python3
"""Property test: thousands of generated orders through `transformer --dry-run`; for every
booking, totals.gross equals the shop's total_price to the cent, every line's VAT is
round2(round2(qty * NetPrice) * pct / 100) and the totals are the sums Exact will book.

usage: test_property.py TRANSFORMER [N] [SEED]"""
import random
import sys
from decimal import Decimal

from orderlib import base_rules, check_booking, make_order, run_dry

# destination -> (country, postcode, VAT number, rates the shop charges, scenario)
DESTS = [
    ('NL', '1234AB', '', [21, 9, 0], 'domestic'),
    ('DE', '10115', '', [19, 7], 'oss'),
    ('FR', '75001', '', [20, 10], 'oss'),
    ('BE', '1000', '', [21, 6], 'oss'),
    ('DE', '10115', 'DE136695976', [0], 'icp'),
    ('US', '10001', '', [0], 'export'),
    ('ES', '35001', '', [0], 'export'),
]


def rand_money(rng, lo, hi):
    return Decimal(rng.randint(int(lo * 100), int(hi * 100))) / 100


def gen(rng, oid):
    country, zipcode, vat, rates, scen = rng.choice(DESTS)
    rows = []
    for _ in range(rng.randint(1, 7)):
        qty = rng.choice([1, 1, 1, 2, 3, 5, 12, Decimal('0.5'), Decimal('2.25')])
        price = rand_money(rng, 0.01, rng.choice([5, 50, 500, 5000]))
        disc = rand_money(rng, 0, float(price) / 3) if rng.random() < 0.2 else 0
        rows.append((qty, price, rng.choice(rates), disc))
    kw = dict(rows=rows, country=country, zipcode=zipcode, vat_number=vat,
              incl=rng.random() < 0.7, icp_flag=scen == 'icp',
              shipping=rand_money(rng, 0, 15) if rng.random() < 0.6 else 0,
              payment=rand_money(rng, 0, 2) if rng.random() < 0.2 else 0,
              user_id=rng.randint(1, 10**8) if rng.random() < 0.7 else None,
              email='k%d@example.test' % rng.randint(1, 10**6))
    gross_goods = sum(Decimal(str(q)) * (p - d) for q, p, _, d in rows)
    if rng.random() < 0.3 and gross_goods > 2:
        kw['discount'] = rand_money(rng, 0, float(gross_goods) / 4)
    if scen in ('icp', 'export'):
        kw['shipping_pct'] = 0
    return make_order(oid, **kw), scen


def main():
    transformer = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20251127
    rng = random.Random(seed)
    orders = [gen(rng, 900000 + i) for i in range(n)]
    failures = 0
    rounding_lines = 0
    for rules_over in ({}, {'book_as': 'salesinvoice', 'journal': '70'}):
        results = run_dry(transformer, base_rules(**rules_over), [o for o, _ in orders],
                          timeout=120)
        for (order, scen), res in zip(orders, results):
            problems = []
            if 'error' in res:
                problems.append('rejected: %s' % res['error'])
            else:
                problems += check_booking(res, order['total_price'])
                if res['scenario'] != scen:
                    problems.append('scenario %s, want %s' % (res['scenario'], scen))
                lines = res['body'].get('SalesOrderLines') or res['body']['SalesInvoiceLines']
                rounding_lines += sum(1 for l in lines if l['Item'] == 'AFROND')
            if problems:
                failures += 1
                if failures <= 10:
                    print('FAIL order %s: %s' % (order['id'], '; '.join(problems)))
    print('%d/%d generated bookings exact to the cent (%d rounding lines), seed %d' %
          (2 * n - failures, 2 * n, rounding_lines, seed))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
