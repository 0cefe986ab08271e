#!/usr/bin/env python3
"""The operator's rates file (CX_TRANSFORMER_VAT_RATES_FILE / --vat-rates): a changed rate
applies without a rebuild, and a bad file is refused at start naming the line; the same
order dated before and after a change gets the two rates and codes.

usage: test_vat_rates_file.py TRANSFORMER"""
import os
import subprocess
import sys
import tempfile

from orderlib import base_rules, make_order, run_dry

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, '..', '..', '..', 'vat', 'eu-vat-rates.csv')


def dry(transformer, rates, orders):
    with tempfile.TemporaryDirectory() as tmp:
        rp = os.path.join(tmp, 'rules.json')
        with open(rp, 'w') as f:
            import json
            json.dump(base_rules(), f)
        text = ''.join(__import__('json').dumps(o) + '\n' for o in orders)
        return subprocess.run([transformer, '--dry-run', '--rules', rp, '--vat-rates', rates],
                              input=text, capture_output=True, text=True, timeout=60)


def main():
    transformer = sys.argv[1]
    failures = []
    src = open(CSV, encoding='utf-8').read().splitlines()
    de = next(i for i, l in enumerate(src) if l.startswith('DE,'))
    with tempfile.TemporaryDirectory() as tmp:
        def write(lines):
            p = os.path.join(tmp, 'rates.csv')
            with open(p, 'w', encoding='utf-8') as f:
                f.write('\n'.join(lines) + '\n')
            return p
        # the same FI order before and after 2026-01-01 (compiled-in table)
        o1 = make_order(1, rows=[(1, 114, 14)], country='FI', zipcode='00100',
                        create_date='2025-12-31T10:00:00Z')
        o2 = make_order(2, rows=[(1, 114, 14)], country='FI', zipcode='00100',
                        create_date='2026-01-02T10:00:00Z')
        rules = base_rules()
        rules['vat_codes'].append({'code': 'F14', 'scenario': 'oss', 'country': 'FI',
                                   'percentage': 14})
        r = run_dry(transformer, rules, [o1, o2])
        if r[0].get('scenario') != 'oss' or 'rates of 2026-01-02' not in r[1].get('error', ''):
            failures.append('FI before/after: %s' % r)
        # DE becomes 20% from 2027-01-01 in the operator's file: no rebuild needed
        row = src[de].split(',')
        old = ','.join(row[:-2] + ['', '2026-12-31'])
        new = ','.join(row[:5] + ['20'] + row[6:-2] + ['2027-01-01', ''])
        p = write(src[:de] + [old, new] + src[de + 1:])
        orders = [make_order(3, rows=[(1, 119, 19)], country='DE', zipcode='10115',
                             create_date='2026-12-31T10:00:00Z'),
                  make_order(4, rows=[(1, 120, 20)], country='DE', zipcode='10115',
                             create_date='2027-01-01T10:00:00Z')]
        proc = dry(transformer, p, orders)
        out = proc.stdout.splitlines()
        if proc.returncode != 0 or '"scenario":"oss"' not in out[0] or \
                '20% is not a DE VAT rate' in out[1] or 'no VAT code mapped for OSS DE' \
                not in out[1]:
            failures.append('operator file DE 20%%: rc %d %s %s' % (proc.returncode, out,
                                                                   proc.stderr))
        bad = {
            'overlap': (src[:de] + [old, ','.join(row[:-2] + ['2026-06-01', ''])] +
                        src[de + 1:], 'overlaps line'),
            'unknown country': (src + ['ZZ' + src[de][2:]], 'unknown country "ZZ"'),
            'bad number': (src[:de] + [','.join(row[:5] + ['19,5'] + row[6:])] + src[de + 1:],
                           'line %d' % (de + 1)),
            'bad date': (src[:de] + [','.join(row[:-2] + ['2026-13-01', ''])] + src[de + 1:],
                         'bad valid_from'),
            'missing column': ([src[0].replace(',valid_to', '')] + src[1:], 'no column "valid_to"'),
            'missing country': (src[:de] + src[de + 1:], 'no rates for DE'),
        }
        for name, (lines, want) in bad.items():
            proc = dry(transformer, write(lines), orders[:1])
            if proc.returncode != 1 or want not in proc.stderr or proc.stdout:
                failures.append('%s: rc %d, stderr %r' % (name, proc.returncode, proc.stderr))
        # the shipped table itself passes the same check
        proc = dry(transformer, CSV, orders[:1])
        if proc.returncode != 0:
            failures.append('shipped CSV refused: %s' % proc.stderr)
    for f in failures:
        print('FAIL ' + f)
    print('%d rates-file checks failed' % len(failures) if failures else 'rates file checks ok')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
