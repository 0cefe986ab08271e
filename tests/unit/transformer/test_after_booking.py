"""The after-booking members of the dry run (issue 13; docs/commands.md "After booking"):
line_keys, shop_revision, cancelled, refunds, payment, corrections, and the corrections the
loader would post for an order seen again in the same run ("after_booking").
usage: test_after_booking.py TRANSFORMER"""
import copy
import sys
import unittest
from decimal import Decimal

from orderlib import base_rules, make_order, run_dry

TRANSFORMER = None
HREF = 'https://shop.example/api/rest/v1/orders/%d/orderrows/%d/'


def credit(cid, rows=(), total=None, shipping=0, status=3, oid=7):
    """A CCV credit invoice (GET /orders/{id}/invoices/ item, its invoicerows embedded)."""
    inv = {"id": cid, "type": "credit", "status": status, "create_date": "2025-06-20T10:00:00Z",
           "total_shipping": -shipping, "total_discounts": 0, "paymethod_costs": 0,
           "total_price": -(total if total is not None else sum(q * p for _, q, p in rows)),
           "invoicerows": [{"id": cid * 10 + i, "invoice_id": cid, "count": -q, "price": p,
                            "orderrow": {"href": HREF % (oid, rid)}}
                           for i, (rid, q, p) in enumerate(rows)]}
    return inv


def order(**kw):
    # prices whose net and VAT split into whole cents per unit, so a row refunded in part and
    # cancelled later adds up exactly with Exact's per-line VAT
    o = make_order(7, [(2, 12.10, 21), (1, 5.45, 9)], shipping=4.95, **kw)
    o['paid'] = False
    o['paymethod'] = 'iDEAL'
    o['transaction_id'] = 'TX-77'
    return o


def lines_of(res):
    return res['body'].get('SalesInvoiceLines') or res['body']['SalesOrderLines']


def net_vat(lines):
    net = vat = Decimal(0)
    for l in lines:
        a = (Decimal(str(l['Quantity'])) * Decimal(str(l['NetPrice']))).quantize(Decimal('0.01'))
        net += a
        vat += (a * Decimal(str(l['VATPercentage']))).quantize(Decimal('0.01'))
    return net, vat


class AfterBooking(unittest.TestCase):
    def setUp(self):
        self.rules = base_rules(book_as='salesinvoice', journal='VK',
                                payment_journals={"iDEAL": {"journal": "IDL",
                                                            "clearing_gl": "1105"}})

    def test_members(self):
        o = order()
        o['paid'] = True
        [res] = run_dry(TRANSFORMER, self.rules, [o])
        self.assertEqual(res['line_keys'], ['row:700', 'row:701', 'shipping', 'shipping:2'])
        self.assertEqual(len(res['line_keys']), len(lines_of(res)))
        self.assertTrue(res['shop_revision'].startswith('sha256:'))
        self.assertEqual(res['refunds'], [])
        self.assertEqual(res['corrections'], 'auto')
        self.assertNotIn('cancelled', res)
        self.assertNotIn('after_booking', res)
        self.assertEqual(res['payment'], {"paid": True, "method": "iDEAL", "date": "2025-06-01",
                                          "amount": 34.6, "reference": "TX-77",
                                          "journal": "IDL", "clearing_gl": "1105"})

    def test_revision_ignores_rules_status_and_paid_but_sees_rows_and_address(self):
        o = order()
        paid = copy.deepcopy(o)
        paid['paid'] = True
        paid['status'] = 5
        moved = copy.deepcopy(o)
        moved['customer']['billingaddress']['city'] = 'Elders'
        more = copy.deepcopy(o)
        more['orderrows'][0]['count'] = 3
        more['orderrows'][0]['total_price'] = 36.3
        more['total_price'] = round(more['total_price'] + 12.1, 2)
        a = run_dry(TRANSFORMER, self.rules, [o, paid, moved, more])
        b = run_dry(TRANSFORMER, base_rules(), [o])
        self.assertEqual(a[0]['shop_revision'], a[1]['shop_revision'])
        self.assertEqual(a[0]['shop_revision'], b[0]['shop_revision'])
        self.assertNotEqual(a[0]['shop_revision'], a[2]['shop_revision'])
        self.assertNotEqual(a[0]['shop_revision'], a[3]['shop_revision'])

    def test_unmapped_payment(self):
        o = order()
        o['paid'] = True
        o['paymethod'] = 'BankTransfer'
        [res] = run_dry(TRANSFORMER, self.rules, [o])
        self.assertEqual(res['payment']['unmapped'], True)
        self.assertNotIn('journal', res['payment'])

    def test_default_payment_journal(self):
        rules = copy.deepcopy(self.rules)
        rules['payment_journals']['default'] = {"journal": "MEM", "clearing_gl": "1190"}
        o = order()
        o['paid'] = True
        o['paymethod'] = 'BankTransfer'
        [res] = run_dry(TRANSFORMER, rules, [o])
        self.assertEqual(res['payment']['journal'], 'MEM')
        self.assertEqual(res['payment']['clearing_gl'], '1190')

    def test_cancelled_never_booked_is_still_refused(self):
        o = order()
        o['status'] = 8
        [res] = run_dry(TRANSFORMER, self.rules, [o])
        self.assertIn('cancelled', res['error'])

    def test_cancel_after_partial_refund_credits_the_rest(self):
        o = order()
        o['paid'] = True
        refunded = copy.deepcopy(o)
        refunded['invoices'] = [credit(900, rows=[(700, 1, 12.1)])]
        gone = copy.deepcopy(refunded)
        gone['status'] = 8
        first, second, third = run_dry(TRANSFORMER, self.rules, [o, refunded, gone])
        self.assertEqual(second['refunds'], [{"id": "900", "date": "2025-06-20",
                                              "lines": [{"key": "row:700", "quantity": 1}],
                                              "gross": 12.1, "paid": True, "method": "iDEAL"}])
        cn, pay = second['after_booking']
        self.assertEqual(cn['kind'], 'credit_note')
        self.assertEqual(cn['source_id'], '7/R900')
        self.assertEqual([(l['Item'], l['Quantity'], l['VATCode']) for l in cn['lines']],
                         [('SKU-1', -1, '2')])
        self.assertEqual(pay, {"kind": "payment", "source_id": "7/R900", "amount": -12.1})
        self.assertTrue(third['cancelled'])
        [c] = third['after_booking']
        self.assertEqual(c['source_id'], '7/C')
        # the invoice, the refund and the cancellation add up to nothing, to the cent
        net, vat = net_vat(lines_of(first) + cn['lines'] + c['lines'])
        self.assertEqual((net, vat), (0, 0))

    def test_shipping_and_amount_refunds(self):
        o = order()
        ship = copy.deepcopy(o)
        ship['invoices'] = [credit(901, shipping=4.95, total=4.95, status=2)]
        amount = copy.deepcopy(ship)
        amount['invoices'].append(credit(902, total=3.00))
        _, s, a = run_dry(TRANSFORMER, self.rules, [o, ship, amount])
        [cn] = s['after_booking']  # not paid back yet: no payment
        self.assertEqual(s['refunds'][0]['lines'], [{"key": "shipping", "quantity": 1},
                                                    {"key": "shipping:2", "quantity": 1}])
        self.assertFalse(s['refunds'][0]['paid'])
        self.assertEqual(sum(net_vat(cn['lines'])), Decimal('-4.95'))
        [cn2, pay2] = a['after_booking']  # 901 is not booked twice
        self.assertEqual(cn2['source_id'], '7/R902')
        self.assertEqual(cn2['amount'], -3.0)
        self.assertEqual(a['refunds'][1]['amount'], 3.0)

    def test_full_refund_names_every_line(self):
        o = order()
        full = copy.deepcopy(o)
        full['invoices'] = [credit(903, total=o['total_price'])]
        first, second = run_dry(TRANSFORMER, self.rules, [o, full])
        self.assertEqual(second['refunds'][0]['lines'],
                         [{"key": k, "quantity": l['Quantity']}
                          for k, l in zip(first['line_keys'], lines_of(first))])
        cn = second['after_booking'][0]
        self.assertEqual(net_vat(lines_of(first) + cn['lines']), (0, 0))

    def test_edit_after_invoicing_is_credit_note_and_new_invoice(self):
        o = order()
        edited = copy.deepcopy(o)
        edited['orderrows'][0]['count'] = 3
        edited['orderrows'][0]['total_price'] = 36.3
        edited['total_orderrow_price'] = round(edited['total_orderrow_price'] + 12.1, 2)
        edited['total_price'] = round(edited['total_price'] + 12.1, 2)
        first, second, again = run_dry(TRANSFORMER, self.rules, [o, edited, edited])
        cn, inv = second['after_booking']
        self.assertEqual((cn['kind'], cn['source_id']), ('credit_note', '7/E1'))
        self.assertEqual((inv['kind'], inv['source_id']), ('invoice', '7/V1'))
        net, vat = net_vat(lines_of(first) + cn['lines'] + inv['lines'])
        self.assertEqual(net + vat, Decimal(str(edited['total_price'])))
        self.assertEqual(again['after_booking'], [])

    def test_edit_of_sales_order_is_update_and_log_policy(self):
        o = order()
        edited = copy.deepcopy(o)
        edited['customer']['billingaddress']['street'] = 'Nieuwstraat'
        _, upd = run_dry(TRANSFORMER, base_rules(), [o, edited])
        self.assertEqual([e['kind'] for e in upd['after_booking']], ['update'])
        _, logged = run_dry(TRANSFORMER, base_rules(corrections='log'), [o, edited])
        self.assertEqual(logged['corrections'], 'log')
        self.assertEqual(logged['after_booking'][0]['kind'], 'sync_log')
        self.assertIn('left for a person', logged['after_booking'][0]['text'])

    def test_late_payment(self):
        o = order()
        paid = copy.deepcopy(o)
        paid['paid'] = True
        _, p, again = run_dry(TRANSFORMER, self.rules, [o, paid, paid])
        self.assertEqual(p['after_booking'], [{"kind": "payment", "source_id": "7",
                                               "journal": "IDL", "amount": 34.6}])
        self.assertEqual(again['after_booking'], [])


if __name__ == '__main__':
    TRANSFORMER = sys.argv.pop(1)
    unittest.main(verbosity=1)
