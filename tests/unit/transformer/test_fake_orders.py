#!/usr/bin/env python3
"""Property test over the CCV Shop fake's generator: every order of
`ccvshop-fake --dump-orders` goes through `transformer --dry-run` with rules that map every EU
destination rate; the result must match the fake's "_fake_expect" (scenario, or a rejection)
and every booking must be exact to the cent (see orderlib.check_booking).

usage: test_fake_orders.py TRANSFORMER CCVSHOP_FAKE [SEED] [SHOPS] [ORDERS]"""
import csv
import json
import os
import re
import subprocess
import sys

from orderlib import base_rules, check_booking, run_dry

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, '..', '..', '..', 'vat', 'eu-vat-rates.csv')


def full_rules(oss_registered):
    """The demo rules plus an OSS code for every rate of every EU destination and XI."""
    rules = base_rules(oss_registered=oss_registered)
    codes = [c for c in rules['vat_codes'] if c['scenario'] != 'oss']
    with open(CSV, newline='', encoding='utf-8') as f:
        for row in csv.DictReader(f):
            cc = row['iso_code']
            # today's mainland rates only (the generator prices orders at them)
            if cc == 'NL' or row['region'] or row['valid_to']:
                continue
            rates = [('standard', row['standard_rate'])]
            rates += [('reduced', r) for r in row['reduced_rates'].split(';') if r]
            if row['super_reduced_rate']:
                rates.append(('super_reduced', row['super_reduced_rate']))
            rates.append(('zero', '0'))
            seen = set()
            for i, (cls, pct) in enumerate(rates):
                if float(pct) in seen:
                    continue
                seen.add(float(pct))
                codes.append({'code': '%s%d' % (cc, i), 'scenario': 'oss', 'country': cc,
                              'class': cls, 'percentage': float(pct)})
    rules['vat_codes'] = codes
    return rules


def main():
    transformer, fake = sys.argv[1], sys.argv[2]
    seed = sys.argv[3] if len(sys.argv) > 3 else '1'
    shops = sys.argv[4] if len(sys.argv) > 4 else '3'
    orders = sys.argv[5] if len(sys.argv) > 5 else '400'
    common = ['--seed', seed, '--shops', shops]
    shop_list = [json.loads(l) for l in subprocess.run(
        [fake, '--dump-shops'] + common, capture_output=True, text=True, check=True,
        timeout=60).stdout.splitlines() if l.strip()]
    oss = {s['n']: s.get('oss_registered', True) for s in shop_list}
    dumped = [l for l in subprocess.run(
        [fake, '--dump-orders'] + common + ['--orders', orders], capture_output=True, text=True,
        check=True, timeout=120).stdout.splitlines() if l.strip()]
    by_shop = {}
    for line in dumped:
        o = json.loads(line)
        m = re.search(r'/shop/(\d+)/', o.get('href', ''))
        by_shop.setdefault(int(m.group(1)) if m else 1, []).append(o)
    total = failures = 0
    for shop, olist in sorted(by_shop.items()):
        results = run_dry(transformer, full_rules(oss.get(shop, True)), olist, timeout=120)
        for o, res in zip(olist, results):
            total += 1
            exp = o['_fake_expect']
            problems = []
            if exp.get('reject'):
                if 'error' not in res:
                    problems.append('booked as %s, the fake expects a rejection (%s)' %
                                    (res.get('scenario'), exp.get('reason', exp.get('case'))))
            elif 'error' in res:
                problems.append('rejected: %s (case %s)' % (res['error'], exp.get('case')))
            else:
                if res['scenario'] != exp['scenario']:
                    problems.append('scenario %s, fake says %s (case %s)' %
                                    (res['scenario'], exp['scenario'], exp.get('case')))
                problems += check_booking(res, o['total_price'])
            if problems:
                failures += 1
                if failures <= 15:
                    print('FAIL shop %d order %s: %s' % (shop, o['id'], '; '.join(problems)))
    print('%d/%d fake orders agree with _fake_expect and are exact to the cent' %
          (total - failures, total))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
