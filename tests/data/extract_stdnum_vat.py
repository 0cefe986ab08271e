#!/usr/bin/env python3
"""Extracts python-stdnum's published VAT test numbers into stdnum-vat-numbers.tsv.

Usage: extract_stdnum_vat.py SDIST_DIR OUT.tsv

SDIST_DIR is an unpacked python-stdnum source distribution (the wheel has no tests/):
    pip download --no-binary :all: --no-deps python-stdnum==2.2
The numbers come from the doctest files in tests/ that cover EU VAT numbers and from the
examples in the docstrings of the VAT modules that stdnum.eu.vat dispatches to. A number of
a per-country file or module gets its country's prefix (GB rules serve XI). Each row records
stdnum's own verdict, so a later stdnum that judges differently shows up in the test.
Standard library + stdnum only.
"""
import ast
import os
import re
import sys

import stdnum
from stdnum.eu import vat

# doctest file (tests/test_NAME.doctest) -> prefix to give its numbers ('' = already prefixed)
DOCTESTS = {
    'eu_vat': '', 'vatin': '', 'eu_oss': '',
    'be_vat': 'BE', 'bg_vat': 'BG', 'bg_egn': 'BG', 'cz_rc': 'CZ', 'es_nif': 'ES',
    'fr_tva': 'FR', 'ie_vat': 'IE', 'gb_vat': 'XI',
}

# module (stdnum/PATH.py) -> prefix; the VAT module of each state and the numbers it accepts
MODULES = {
    'eu/vat': '', 'eu/oss': '',
    'at/uid': 'AT', 'be/vat': 'BE', 'bg/vat': 'BG', 'bg/egn': 'BG', 'bg/pnf': 'BG',
    'cy/vat': 'CY', 'cz/dic': 'CZ', 'cz/rc': 'CZ', 'de/vat': 'DE', 'dk/cvr': 'DK',
    'ee/kmkr': 'EE', 'gr/vat': 'EL', 'es/nif': 'ES', 'es/dni': 'ES', 'es/nie': 'ES',
    'es/cif': 'ES', 'fi/alv': 'FI', 'fr/tva': 'FR', 'hr/oib': 'HR', 'hu/anum': 'HU',
    'ie/vat': 'IE', 'it/iva': 'IT', 'lt/pvm': 'LT', 'lu/tva': 'LU', 'lv/pvn': 'LV',
    'mt/vat': 'MT', 'nl/btw': 'NL', 'pl/nip': 'PL', 'pt/nif': 'PT', 'ro/cf': 'RO',
    'ro/cnp': 'RO', 'ro/cui': 'RO', 'se/vat': 'SE', 'si/ddv': 'SI', 'sk/dph': 'SK',
    'sk/rc': 'SK', 'gb/vat': 'XI',
}

# Czech birth numbers are Slovak ones too (stdnum.sk.rc is stdnum.cz.rc)
ALSO = {'cz_rc': ['SK'], 'cz/rc': ['SK']}

CALL = re.compile(r"\b[a-z_.]*\(\s*('(?:[^'\\]|\\.)*')")


def with_prefix(number, prefix):
    if not prefix:
        return number
    head = re.sub(r'[\s.\-/]', '', number).upper()[:2]
    if prefix == 'XI' and head in ('GB', 'XI'):
        return 'XI' + number.strip()[2:]
    if prefix == 'EL' and head in ('EL', 'GR'):
        return number
    if head == prefix:
        return number
    return prefix + number


def from_text(text):
    """Numbers in ''' blocks of ... lines and string arguments of >>> calls."""
    found = []
    in_block = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith('>>>') and "'''" in s:
            in_block = True
            continue
        if in_block:
            if s.startswith("... '''") or s == "'''":
                in_block = False
                continue
            if s.startswith('...'):
                n = s[3:].strip()
                if n:
                    found.append(n)
            continue
        if s.startswith('>>>') and 'import' not in s and 'def ' not in s:
            for lit in CALL.findall(s):
                n = ast.literal_eval(lit)
                if n.strip():
                    found.append(n)
    return found


def main():
    sdist, out = sys.argv[1], sys.argv[2]
    rows = []
    seen = set()

    def add(source, number):
        if '\t' in number or '\n' in number or (source, number) in seen:
            return
        seen.add((source, number))
        try:
            verdict = 'valid\t' + vat.validate(number)
        except Exception:  # noqa: B902 (any refusal is "invalid")
            verdict = 'invalid\t'
        rows.append('%s\t%s\t%s' % (source, verdict, number))

    for name, prefix in DOCTESTS.items():
        with open(os.path.join(sdist, 'tests', 'test_%s.doctest' % name)) as f:
            text = f.read()
        for n in from_text(text):
            for p in [prefix] + ALSO.get(name, []):
                add('tests/test_%s.doctest' % name, with_prefix(n, p))
    for name, prefix in MODULES.items():
        with open(os.path.join(sdist, 'stdnum', name + '.py')) as f:
            doc = ast.get_docstring(ast.parse(f.read())) or ''
        for n in from_text(doc):
            for p in [prefix] + ALSO.get(name, []):
                add('stdnum/%s.py' % name, with_prefix(n, p))
    with open(out, 'w') as f:
        f.write('# python-stdnum %s published VAT test numbers, extracted by\n'
                '# extract_stdnum_vat.py from its sdist (tests/*.doctest and the docstrings\n'
                '# of the VAT modules). Columns: source file, stdnum verdict, stdnum\n'
                '# normalised form, number as written.\n' % stdnum.__version__)
        for r in rows:
            f.write(r + '\n')
    print('%d numbers' % len(rows))


if __name__ == '__main__':
    main()
