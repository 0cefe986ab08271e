"""Builds CCV Shop order documents (GET /orders/{id} + "orderrows") for the transformer tests,
priced the way a shop that follows the law would price them, and checks dry-run results the
way Exact books them. Standard library only."""
import copy
import json
import os
import subprocess
import tempfile
from decimal import Decimal, ROUND_HALF_UP

CENT = Decimal('0.01')


def r2(x):
    """Round half away from zero to cents (Decimal)."""
    x = Decimal(x)
    q = abs(x).quantize(CENT, rounding=ROUND_HALF_UP)
    return q if x >= 0 else -q


def num(d):
    """Decimal -> JSON number (int when whole)."""
    d = Decimal(d)
    return int(d) if d == d.to_integral_value() else float(d)


def split_pro_rata(amount, weights):
    """Largest-remainder split of Decimal cents amount over integer-cent weights."""
    cents = int(r2(amount) * 100)
    sign = -1 if cents < 0 else 1
    a = abs(cents)
    w = [max(0, int(x * 100)) for x in weights]
    total = sum(w)
    if total == 0:
        return [Decimal(cents) / 100] + [Decimal(0)] * (len(w) - 1)
    parts = [a * x // total for x in w]
    rem = [a * x % total for x in w]
    left = a - sum(parts)
    while left > 0:
        i = max(range(len(w)), key=lambda k: rem[k])
        parts[i] += 1
        rem[i] = -1
        left -= 1
    return [Decimal(sign * p) / 100 for p in parts]


ADDR_EMPTY = {"gender": None, "full_name": "", "initials": "", "company": "", "address_line_1": "",
              "address_line_2": "", "street": "", "housenumber": None, "housenumber_suffix": "",
              "zipcode": "", "city": "", "province": "", "telephone": "", "mobile": "",
              "comment": "", "country": "", "country_code": None}


def make_order(oid, rows, country='NL', zipcode='1234AB', ship_country=None, ship_zip='',
               vat_number='', incl=True, shipping=0, shipping_pct=None, payment=0, discount=0,
               deliver_method='shipping', icp_flag=False, completed=True, user_id=None,
               email='klant@example.test', company='', currency='EUR', total_adjust=0,
               status=7, create_date='2025-06-01T12:00:00Z'):
    """rows: list of (qty, unit_price, tax_pct[, unit_discount]) in the order's price mode."""
    orderrows = []
    groups = {}
    gross_total = Decimal(0)
    tax_total = Decimal(0)
    for i, row in enumerate(rows):
        qty, price, tax = Decimal(str(row[0])), Decimal(str(row[1])), Decimal(str(row[2]))
        disc = Decimal(str(row[3])) if len(row) > 3 else Decimal(0)
        total = r2(qty * (price - disc))
        if incl:
            net = r2(total * 100 / (100 + tax))
            gross = total
        else:
            net = total
            gross = total + r2(total * tax / 100)
        groups[tax] = groups.get(tax, Decimal(0)) + net
        gross_total += gross
        tax_total += gross - net
        orderrows.append({
            "id": oid * 100 + i, "order_id": oid, "product_type": "product",
            "product_name": "Artikel %d" % (i + 1), "product_number": "SKU-%d" % (i + 1),
            "sub_product_number": "", "sub_sku_number": "", "product_id": 5000 + i,
            "count": num(qty), "price": num(price), "discount": num(disc), "tax": num(tax),
            "selling_price": num(price - disc), "total_price": num(total),
            "unit": "stuk", "attributes": []})
    pcts = sorted(groups)
    weights = [groups[p] for p in pcts]

    def charge(amount, sign=1):
        nonlocal gross_total, tax_total
        amount = Decimal(str(amount))
        if amount == 0:
            return
        if incl:
            gross_total += sign * amount
            # VAT inside the charge, per rate part (informational: total_tax)
            for part, p in zip(split_pro_rata(amount, weights), pcts):
                tax_total += sign * (part - r2(part * 100 / (100 + p)))
        else:
            for part, p in zip(split_pro_rata(amount, weights), pcts):
                gross_total += sign * (part + r2(part * p / 100))
                tax_total += sign * r2(part * p / 100)

    charge(shipping)
    charge(payment)
    charge(discount, -1)
    if shipping_pct is None:
        shipping_pct = pcts[-1] if pcts else 21
    bill = dict(ADDR_EMPTY)
    bill.update({"first_name": "Kim", "last_name": "Klant", "full_name": "Kim Klant",
                 "company": company, "address_line_1": "Straat 1", "zipcode": zipcode,
                 "city": "Stad", "country": country, "country_code": country,
                 "telephone": "0612345678", "fax": ""})
    deliv = dict(ADDR_EMPTY)
    if ship_country is not None:
        deliv.update({"full_name": "Kim Klant", "address_line_1": "Laan 2", "zipcode": ship_zip,
                      "city": "Elders", "country": ship_country, "country_code": ship_country})
    order = {
        "id": oid, "ordernumber_prefix": None, "ordernumber": oid % 100000,
        "ordernumber_full": "WEB-%d" % oid, "create_date": create_date,
        "deliver_method": deliver_method, "status": status if completed else None,
        "is_completed": completed, "paid": True, "paymethod_id": 3, "paymethod": "iDEAL",
        "taxes_included": incl, "order_row_taxes_included": incl,
        "shipping_taxes_included": incl, "shipping_tax_percentage": num(shipping_pct),
        "is_intra_community_order": icp_flag, "is_platform_sale": False,
        "total_orderrow_price": num(sum(Decimal(str(r["total_price"])) for r in orderrows)),
        "total_shipping": num(Decimal(str(shipping))), "total_discounts": num(Decimal(str(discount))),
        "paymethod_costs": num(Decimal(str(payment))), "credit_point_discount": 0,
        "extra_costs": 0, "extra_costs_description": "",
        "total_price": num(gross_total + Decimal(str(total_adjust))), "currency": currency,
        "total_tax": num(tax_total),
        "user": {"id": str(user_id), "discount_percentage": 0} if user_id else None,
        "customer": {"billingaddress": bill, "deliveryaddress": deliv, "email": email,
                     "customertype": "b2b" if vat_number else "b2c", "btw": vat_number,
                     "kvk": ""},
        "pickup_address": None,
        "orderrows": orderrows,
    }
    return order


def run_dry(transformer, rules, lines, timeout=60, vies=None):
    """Runs `transformer --dry-run --rules` over the given lines (dicts or raw strings);
    vies: VIES answers for `--vies FILE` (docs/vat-engine.md "VIES"), or None."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'rules.json')
        with open(path, 'w') as f:
            json.dump(rules, f)
        args = [transformer, '--dry-run', '--rules', path]
        if vies is not None:
            with open(os.path.join(tmp, 'vies.json'), 'w') as f:
                json.dump(vies, f)
            args += ['--vies', os.path.join(tmp, 'vies.json')]
        text = ''.join((l if isinstance(l, str) else json.dumps(l)) + '\n' for l in lines)
        proc = subprocess.run(args, input=text, capture_output=True, text=True,
                              timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError('transformer exited %d: %s' % (proc.returncode, proc.stderr))
    out = [json.loads(l) for l in proc.stdout.splitlines()]
    if len(out) != len(lines):
        raise AssertionError('%d outputs for %d inputs' % (len(out), len(lines)))
    return out


def check_booking(res, total_price):
    """Recomputes a success result the way Exact books it; returns a list of problems."""
    problems = []
    body = res['body']
    lines = body.get('SalesOrderLines') or body.get('SalesInvoiceLines') or []
    net = vat = Decimal(0)
    for i, l in enumerate(lines):
        amount = r2(Decimal(str(l['Quantity'])) * Decimal(str(l['NetPrice'])))
        pct = Decimal(str(l['VATPercentage'])) * 100
        v = r2(amount * pct / 100)
        net += amount
        vat += v
        for key in ('Item', 'VATCode', 'Description'):
            if not l.get(key):
                problems.append('line %d has no %s' % (i, key))
        if len(str(Decimal(str(l['NetPrice'])).normalize()).split('.')[-1]) > 6 and '.' in str(l['NetPrice']):
            problems.append('line %d NetPrice has more than 6 decimals' % i)
    t = res['totals']
    if r2(Decimal(str(t['net']))) != net:
        problems.append('totals.net %s != %s' % (t['net'], net))
    if r2(Decimal(str(t['vat']))) != vat:
        problems.append('totals.vat %s != %s' % (t['vat'], vat))
    if r2(Decimal(str(t['gross']))) != net + vat:
        problems.append('totals.gross %s != net+vat %s' % (t['gross'], net + vat))
    if r2(Decimal(str(t['gross']))) != r2(Decimal(str(total_price))):
        problems.append('totals.gross %s != total_price %s' % (t['gross'], total_price))
    return problems


def base_rules(path=None, **over):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(path or os.path.join(here, 'rules-nl.json')) as f:
        rules = json.load(f)
    rules = copy.deepcopy(rules)
    rules.update(over)
    return rules
