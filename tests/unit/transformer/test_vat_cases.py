#!/usr/bin/env python3
"""Table-driven VAT cases through `transformer --dry-run`: every row of vat.md's decision
table (section 6) and the seed rows T1-T15 (6.1), every special territory, B2B with valid,
checksum-invalid and home-country VAT numbers, OSS registered / not registered / auto across
the threshold, mixed rates with shipping and discounts, and the rejections.

usage: test_vat_cases.py TRANSFORMER"""
import sys
from decimal import Decimal

from orderlib import base_rules, check_booking, make_order, run_dry

DE_OK, DE_BAD = 'DE136695976', 'DE136695978'
BE_OK, FR_OK, XI_OK = 'BE0428759497', 'FR17185119393', 'XI457298841'
NL_OK = 'NL000099998B57'
ES_OK = 'ESG92264159'

BASE_CODES = base_rules()['vat_codes']
RULES = {
    'oss': {},
    'origin': {'oss_registered': False},
    'auto': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 9950},
    'auto0': {'oss_registered': False, 'oss_mode': 'auto'},
    'auto_seq': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 9950},
    'auto_below': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 9900},
    'auto_over': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 20000},
    'auto_prev': {'oss_registered': False, 'oss_mode': 'auto', 'oss_prev_year_over': True},
    'invoice': {'book_as': 'salesinvoice', 'journal': '70'},
    'nopay': {'payment_cost_item': None},
    'noround': {'rounding_item': None},
    'auto_ytd25': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 9950,
                   'oss_ytd_year': 2025},
    'auto_over25': {'oss_registered': False, 'oss_mode': 'auto', 'oss_ytd_eur': 20000,
                    'oss_ytd_year': 2025},
    'dated': {'vat_codes': BASE_CODES + [
        {'code': 'FR1', 'scenario': 'oss', 'country': 'FI', 'class': 'reduced', 'percentage': 14},
        {'code': 'FR2', 'scenario': 'oss', 'country': 'FI', 'class': 'reduced',
         'percentage': 13.5},
        {'code': 'FI0', 'scenario': 'oss', 'country': 'FI', 'class': 'standard', 'percentage': 24},
        {'code': 'EE2', 'scenario': 'oss', 'country': 'EE', 'class': 'standard', 'percentage': 22},
        {'code': 'EE4', 'scenario': 'oss', 'country': 'EE', 'class': 'standard', 'percentage': 24},
        {'code': 'SK0', 'scenario': 'oss', 'country': 'SK', 'class': 'standard', 'percentage': 20},
        {'code': 'SK3', 'scenario': 'oss', 'country': 'SK', 'class': 'standard', 'percentage': 23},
        {'code': 'RO9', 'scenario': 'oss', 'country': 'RO', 'class': 'standard', 'percentage': 19},
        {'code': 'RO1', 'scenario': 'oss', 'country': 'RO', 'class': 'standard', 'percentage': 21},
        {'code': 'MA1', 'scenario': 'oss', 'country': 'PT', 'region': 'PT-30',
         'class': 'standard', 'percentage': 22},
        {'code': 'AZ1', 'scenario': 'oss', 'country': 'PT', 'region': 'PT-20',
         'class': 'standard', 'percentage': 16},
        {'code': 'JM1', 'scenario': 'oss', 'country': 'AT', 'region': 'AT-JM',
         'class': 'standard', 'percentage': 19},
        {'code': 'B12', 'scenario': 'oss', 'country': 'BE', 'class': 'reduced',
         'percentage': 12}]},
}

# VIES (docs/vat-engine.md "VIES"): the tenant's own number is the requester; the answers the
# dry run is given with --vies, as the daemon would have them from VIES or its cache.
OWN = 'NL001241643B01'
AT_DOWN, IT_SLOW = 'ATU14243102', 'IT01404480202'
for key, policy in (('vies', 'recheck'), ('vies_hold', 'hold'), ('vies_dom', 'domestic'),
                    ('vies_off', 'off')):
    RULES[key] = {'vat_number': OWN, 'vies_policy': policy}
RULES['vies_dom9'] = {'vat_number': OWN, 'vies_policy': 'domestic', 'vies_domestic_rate': 9}
RULES['vies_dom_auto'] = {'vat_number': OWN, 'vies_policy': 'domestic', 'oss_registered': False,
                          'oss_mode': 'auto', 'oss_ytd_eur': 9950}
DOM_WARN = 'VIES niet bereikbaar: binnenlands btw-tarief toegepast'
VIES_ANSWERS = {
    DE_OK: {'outcome': 'valid', 'consultation': 'WAPI00000001', 'date': '2026-03-02T09:00:00Z'},
    BE_OK: {'outcome': 'invalid', 'date': '2026-03-02T09:00:00Z'},
    XI_OK: {'outcome': 'invalid', 'date': '2026-03-02T09:00:00Z'},
    AT_DOWN: {'outcome': 'unavailable', 'error': 'MS_UNAVAILABLE'},
    IT_SLOW: {'outcome': 'unavailable', 'error': 'TIMEOUT'},
}

S = lambda q, p, t=21, d=0: (q, p, t, d)  # noqa: E731
D = lambda day, **kw: dict(create_date=day + 'T12:00:00Z', **kw)  # noqa: E731

# (name, rules, order kwargs, expectation)
# expectation: scenario, codes (set of line VAT codes), vat (total VAT), error (substring),
# warn (substring of a warning), lines (count), endpoint
CASES = [
    # --- domestic (rows 1-4, T1-T3) ---
    ('T1 NL consumer standard 100 net', 'oss', dict(rows=[S(1, 100)], incl=False),
     dict(scenario='domestic', codes={'2'}, vat='21.00')),
    ('T2 NL book 20 net at 9%', 'oss', dict(rows=[S(1, 20, 9)], incl=False),
     dict(scenario='domestic', codes={'1'}, vat='1.80')),
    ('row 3 NL zero-rated item', 'oss', dict(rows=[S(1, 50, 0)], incl=False),
     dict(scenario='domestic', codes={'0'}, vat='0.00')),
    ('row 1 NL business with NL VAT number', 'oss',
     dict(rows=[S(2, 30)], vat_number=NL_OK, company='Acme BV'),
     dict(scenario='domestic', codes={'2'})),
    ('row 1 NL delivery for foreign-VAT business', 'oss',
     dict(rows=[S(1, 121)], vat_number=DE_OK, country='DE', zipcode='10115',
          ship_country='NL', ship_zip='1011AB'),
     dict(scenario='domestic', codes={'2'}, vat='21.00')),
    ('row 1 pickup in NL by a German consumer', 'oss',
     dict(rows=[S(1, 121)], country='DE', zipcode='10115', deliver_method='pickup'),
     dict(scenario='domestic', codes={'2'})),
    ('T13 per-line rounding 37.50 + 12.50 at 21%', 'oss',
     dict(rows=[S(1, 37.5), S(1, 12.5)], incl=False),
     dict(scenario='domestic', vat='10.51')),
    ('T13b incl 29.95 at 21% -> VAT 5.20', 'oss', dict(rows=[S(1, 29.95)]),
     dict(scenario='domestic', vat='5.20')),
    ('T12 mixed 21/9 excl with shipping 6 split 4/2', 'oss',
     dict(rows=[S(1, 100), S(1, 50, 9)], shipping=6, incl=False),
     dict(scenario='domestic', codes={'1', '2'}, vat='26.52', lines=4)),
    ('T12b mixed incl with shipping and coupon', 'oss',
     dict(rows=[S(2, 24.95), S(3, 7.5, 9)], shipping=4.95, discount=5),
     dict(scenario='domestic', codes={'1', '2'}, lines=6)),
    ('domestic payment costs', 'oss', dict(rows=[S(1, 10)], payment=0.35),
     dict(scenario='domestic', codes={'2'}, lines=2)),
    ('domestic row discount and fractional quantity', 'oss',
     dict(rows=[S(2.5, 3.99, 21, 0.5), S(1, 9.99, 9, 1)]),
     dict(scenario='domestic', codes={'1', '2'})),
    ('domestic shop excl, shipping taxed at 21% over mixed goods', 'oss',
     dict(rows=[S(1, 100), S(1, 50, 9)], shipping=6, incl=False, total_adjust='0.24'),
     dict(scenario='domestic', codes={'1', '2'})),
    # --- intra-community supply (rows 5, 6, T3, T11) ---
    ('T3 DE business valid VAT number 500 net', 'oss',
     dict(rows=[S(1, 500, 0)], country='DE', zipcode='10115', vat_number=DE_OK,
          icp_flag=True, incl=False),
     dict(scenario='icp', codes={'ICP'}, vat='0.00')),
    ('row 5 BE business', 'oss',
     dict(rows=[S(3, 40, 0)], country='BE', zipcode='1000', vat_number=BE_OK, icp_flag=True,
          shipping=10),
     dict(scenario='icp', codes={'ICP'}, lines=2)),
    ('row 5 FR business', 'oss',
     dict(rows=[S(1, 80, 0)], country='FR', zipcode='75001', vat_number=FR_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'})),
    ('row 5 XI business (BT postcode, XI number)', 'oss',
     dict(rows=[S(1, 80, 0)], country='GB', zipcode='BT1 1AA', vat_number=XI_OK,
          icp_flag=True),
     dict(scenario='icp', codes={'ICP'})),
    ('T11 ship AT with DE VAT number: ICP with review', 'oss',
     dict(rows=[S(1, 100, 0)], country='AT', zipcode='1010', vat_number=DE_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, warn='not from the ship-to country')),
    ('ICP with VAT number in lower case and spaces', 'oss',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', vat_number='de 136 695 976'),
     dict(scenario='icp', codes={'ICP'})),
    ('ICP but the shop charged VAT', 'oss',
     dict(rows=[S(1, 119, 19)], country='DE', zipcode='10115', vat_number=DE_OK),
     dict(error='VAT charged')),
    ('ICP mixed goods and shipping all 0%', 'oss',
     dict(rows=[S(1, 100, 0), S(2, 5, 0)], country='DE', zipcode='10115', vat_number=DE_OK,
          shipping=7.5, shipping_pct=0, discount=2, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vat='0.00')),
    # --- home-country or invalid VAT numbers (rows 7, 8, T4, T10) ---
    ('T4 DE checksum-invalid number, not OSS registered', 'origin',
     dict(rows=[S(1, 121)], country='DE', zipcode='10115', vat_number=DE_BAD),
     dict(scenario='distance_origin', codes={'2'}, vat='21.00')),
    ('T5 same with OSS, DE 19%', 'oss',
     dict(rows=[S(1, 100, 19)], country='DE', zipcode='10115', vat_number=DE_BAD, incl=False),
     dict(scenario='oss', codes={'D1'}, vat='19.00')),
    ('checksum-invalid number with 0% ICP charged', 'oss',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', vat_number=DE_BAD,
          icp_flag=True),
     dict(error='fails validation')),
    ('malformed VAT number with 0% charged', 'oss',
     dict(rows=[S(1, 100, 0)], country='FR', zipcode='75001', vat_number='FR123'),
     dict(error='fails validation')),
    ('0% ICP flag without any VAT number', 'oss',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', icp_flag=True),
     dict(error='without a customer VAT number')),
    ('T10 ship BE with NL VAT number: NL VAT, review', 'oss',
     dict(rows=[S(1, 121)], country='BE', zipcode='1000', vat_number=NL_OK),
     dict(scenario='domestic', codes={'2'}, warn='not an intra-community supply')),
    ('T10b NL VAT number but the shop applied 0% ICP', 'oss',
     dict(rows=[S(1, 100, 0)], country='BE', zipcode='1000', vat_number=NL_OK, icp_flag=True),
     dict(error='cannot be used')),
    ('ICP 0% on a domestic delivery', 'oss',
     dict(rows=[S(1, 100, 0)], vat_number=DE_OK, country='NL', icp_flag=True),
     dict(error='within NL')),
    # --- distance sales: OSS registered / not registered / auto (rows 8, 9, 11, T5-T8, T15) ---
    ('row 8 FR consumer, not registered: NL 21%', 'origin',
     dict(rows=[S(1, 60.5)], country='FR', zipcode='75001'),
     dict(scenario='distance_origin', codes={'2'})),
    ('row 8 FR consumer at 9%, not registered', 'origin',
     dict(rows=[S(1, 10.9, 9)], country='FR', zipcode='75001'),
     dict(scenario='distance_origin', codes={'1'})),
    ('not registered but FR rate charged', 'origin',
     dict(rows=[S(1, 60, 20)], country='FR', zipcode='75001'),
     dict(error='20% is not a NL VAT rate')),
    ('row 9 DE consumer, OSS: 19%', 'oss',
     dict(rows=[S(1, 119, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'}, vat='19.00')),
    ('row 9 DE mixed 19/7 with shipping and discount', 'oss',
     dict(rows=[S(1, 59.5, 19), S(2, 10.7, 7)], country='DE', zipcode='80331', shipping=4.9,
          discount=3),
     dict(scenario='oss', codes={'D1', 'D2'}, lines=6)),
    ('OSS registered but NL rate charged', 'oss',
     dict(rows=[S(1, 121)], country='DE', zipcode='10115'),
     dict(error='wrong destination rate: 21% is not a DE VAT rate')),
    ('T6 FR reduced 5.5% with no code mapped', 'oss',
     dict(rows=[S(1, 10, 5.5)], country='FR', zipcode='75001', incl=False),
     dict(error='no VAT code mapped for OSS FR reduced 5.5%')),
    ('FR reduced 10% mapped', 'oss',
     dict(rows=[S(1, 11, 10)], country='FR', zipcode='69001'),
     dict(scenario='oss', codes={'F2'})),
    ('OSS IT reduced 10% not mapped', 'oss',
     dict(rows=[S(1, 11, 10)], country='IT', zipcode='00100'),
     dict(error='no VAT code mapped for OSS IT reduced 10%')),
    ('OSS FI 25.5%', 'oss',
     dict(rows=[S(1, 125.5, 25.5)], country='FI', zipcode='00100'),
     dict(scenario='oss', codes={'FI1'})),
    ('OSS GR (EL prefix country) 24%', 'oss',
     dict(rows=[S(1, 124, 24)], country='GR', zipcode='10431'),
     dict(scenario='oss', codes={'G1'})),
    ('OSS PT mainland 23%', 'oss',
     dict(rows=[S(1, 123, 23)], country='PT', zipcode='1000-001'),
     dict(scenario='oss', codes={'P1'})),
    ('T8 XI consumer (BT postcode), OSS UK 20%', 'oss',
     dict(rows=[S(1, 120, 20)], country='GB', zipcode='BT1 1AA'),
     dict(scenario='oss', codes={'X1'})),
    ('row 11 XI consumer, not registered: NL 21%', 'origin',
     dict(rows=[S(1, 121)], country='GB', zipcode='BT7 1NN'),
     dict(scenario='distance_origin', codes={'2'})),
    ('T15 Monaco consumer, OSS: FR 20%', 'oss',
     dict(rows=[S(1, 120, 20)], country='MC', zipcode='98000'),
     dict(scenario='oss', codes={'F1'})),
    ('Monaco postcode under FR country code', 'oss',
     dict(rows=[S(1, 120, 20)], country='FR', zipcode='98000'),
     dict(scenario='oss', codes={'F1'})),
    ('auto mode, below threshold', 'auto0',
     dict(rows=[S(1, 121)], country='DE', zipcode='10115'),
     dict(scenario='distance_origin', codes={'2'})),
    ('auto mode, this order crosses EUR 10,000', 'auto',
     dict(rows=[S(1, 119, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    ('auto mode, already above', 'auto_over',
     dict(rows=[S(1, 11.9, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    ('auto mode, over in the previous year', 'auto_prev',
     dict(rows=[S(1, 11.9, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    ('auto mode, just below with NL rate', 'auto_below',
     dict(rows=[S(1, 48.4)], country='DE', zipcode='10115'),
     dict(scenario='distance_origin', codes={'2'})),
    ('auto sequence 1: 40 net at NL rate stays below', 'auto_seq',
     dict(rows=[S(1, 48.4)], country='BE', zipcode='1000'),
     dict(scenario='distance_origin', codes={'2'})),
    ('auto sequence 2: the running total crosses', 'auto_seq',
     dict(rows=[S(1, 23.8, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    # --- OSS auto mode from the onboarding year-to-date (oss_ytd_eur of oss_ytd_year) ---
    ('auto ytd 2025: 9,950 + 100 crosses in 2025', 'auto_ytd25',
     D('2025-06-01', rows=[S(1, 119, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    ('auto ytd 2025: a 2026 order starts the year from 0', 'auto_ytd25',
     D('2026-02-01', rows=[S(1, 121)], country='DE', zipcode='10115'),
     dict(scenario='distance_origin', codes={'2'})),
    ('auto ytd 2025 over: 2026 is destination VAT (previous year over)', 'auto_over25',
     D('2026-03-01', rows=[S(1, 11.9, 19)], country='DE', zipcode='10115'),
     dict(scenario='oss', codes={'D1'})),
    # --- rates at the tax point: both sides of each change ---
    ('FI reduced 14% on 2025-12-31', 'dated',
     D('2025-12-31', rows=[S(1, 114, 14)], country='FI', zipcode='00100'),
     dict(scenario='oss', codes={'FR1'})),
    ('FI reduced 14% refused on 2026-01-01', 'dated',
     D('2026-01-01', rows=[S(1, 114, 14)], country='FI', zipcode='00100'),
     dict(error='14% is not a FI VAT rate (OSS sale to FI, rates of 2026-01-01)')),
    ('FI reduced 13.5% on 2026-01-01', 'dated',
     D('2026-01-01', rows=[S(1, 113.5, 13.5)], country='FI', zipcode='00100'),
     dict(scenario='oss', codes={'FR2'})),
    ('FI 13.5% refused on 2025-12-31', 'dated',
     D('2025-12-31', rows=[S(1, 113.5, 13.5)], country='FI', zipcode='00100'),
     dict(error='13.5% is not a FI VAT rate')),
    ('FI standard 24% on 2024-08-31', 'dated',
     D('2024-08-31', rows=[S(1, 124, 24)], country='FI', zipcode='00100'),
     dict(scenario='oss', codes={'FI0'})),
    ('FI standard 25.5% on 2024-09-01', 'dated',
     D('2024-09-01', rows=[S(1, 125.5, 25.5)], country='FI', zipcode='00100'),
     dict(scenario='oss', codes={'FI1'})),
    ('FI 25.5% refused on 2024-08-31', 'dated',
     D('2024-08-31', rows=[S(1, 125.5, 25.5)], country='FI', zipcode='00100'),
     dict(error='25.5% is not a FI VAT rate')),
    ('EE 22% on 2025-06-30', 'dated',
     D('2025-06-30', rows=[S(1, 122, 22)], country='EE', zipcode='10111'),
     dict(scenario='oss', codes={'EE2'})),
    ('EE 24% on 2025-07-01', 'dated',
     D('2025-07-01', rows=[S(1, 124, 24)], country='EE', zipcode='10111'),
     dict(scenario='oss', codes={'EE4'})),
    ('EE 22% refused on 2025-07-01', 'dated',
     D('2025-07-01', rows=[S(1, 122, 22)], country='EE', zipcode='10111'),
     dict(error='22% is not a EE VAT rate')),
    ('SK 20% on 2024-12-31', 'dated',
     D('2024-12-31', rows=[S(1, 120, 20)], country='SK', zipcode='81101'),
     dict(scenario='oss', codes={'SK0'})),
    ('SK 23% on 2025-01-01', 'dated',
     D('2025-01-01', rows=[S(1, 123, 23)], country='SK', zipcode='81101'),
     dict(scenario='oss', codes={'SK3'})),
    ('SK 20% refused on 2025-01-01', 'dated',
     D('2025-01-01', rows=[S(1, 120, 20)], country='SK', zipcode='81101'),
     dict(error='20% is not a SK VAT rate')),
    ('RO 19% on 2025-07-31', 'dated',
     D('2025-07-31', rows=[S(1, 119, 19)], country='RO', zipcode='010011'),
     dict(scenario='oss', codes={'RO9'})),
    ('RO 21% on 2025-08-01', 'dated',
     D('2025-08-01', rows=[S(1, 121, 21)], country='RO', zipcode='010011'),
     dict(scenario='oss', codes={'RO1'})),
    ('RO 19% refused on 2025-08-01', 'dated',
     D('2025-08-01', rows=[S(1, 119, 19)], country='RO', zipcode='010011'),
     dict(error='19% is not a RO VAT rate')),
    # Belgium 2026-03-01: supplies move between classes, the rates 6/12/21 stay; the shop's
    # rate is checked against BE's rates of the tax point and each has its own code
    ('BE 6% on 2026-02-28 (before the class move)', 'dated',
     D('2026-02-28', rows=[S(1, 10.6, 6)], country='BE', zipcode='1000'),
     dict(scenario='oss', codes={'B2'})),
    ('BE 12% on 2026-03-01 (the same supply moved to 12%)', 'dated',
     D('2026-03-01', rows=[S(1, 11.2, 12)], country='BE', zipcode='1000'),
     dict(scenario='oss', codes={'B12'})),
    ('BE 9% refused on 2026-03-01 (no BE rate)', 'dated',
     D('2026-03-01', rows=[S(1, 10.9, 9)], country='BE', zipcode='1000'),
     dict(error='9% is not a BE VAT rate (OSS sale to BE, rates of 2026-03-01)')),
    # --- regions with rates of their own ---
    ('Madeira 22% booked with its regional code', 'dated',
     dict(rows=[S(1, 122, 22)], country='PT', zipcode='9000-018'),
     dict(scenario='oss', codes={'MA1'})),
    ('Madeira charged the mainland 23%: refused naming Madeira', 'dated',
     dict(rows=[S(1, 123, 23)], country='PT', zipcode='9000-018'),
     dict(error='23% is not a PT VAT rate in Madeira (PT-30)')),
    ('Azores 16% booked with its regional code', 'dated',
     dict(rows=[S(1, 116, 16)], country='PT', zipcode='9500-150'),
     dict(scenario='oss', codes={'AZ1'})),
    ('Azores charged 23%: refused naming the Azores', 'dated',
     dict(rows=[S(1, 123, 23)], country='PT', zipcode='9500-150'),
     dict(error='in Azores (PT-20)')),
    ('Jungholz 19% (AT VAT at the German standard rate)', 'dated',
     dict(rows=[S(1, 119, 19)], country='AT', zipcode='6691'),
     dict(scenario='oss', codes={'JM1'})),
    ('Mittelberg (Riezlern 6991) 19%', 'dated',
     dict(rows=[S(1, 119, 19)], country='AT', zipcode='6991'),
     dict(scenario='oss', codes={'JM1'})),
    ('Mittelberg charged the Austrian 20%: refused', 'dated',
     dict(rows=[S(1, 120, 20)], country='AT', zipcode='6992'),
     dict(error='in Mittelberg (AT-JM)')),
    ('Vienna stays mainland AT 20%', 'dated',
     dict(rows=[S(1, 120, 20)], country='AT', zipcode='1010'),
     dict(scenario='oss', codes={'A1'})),
    ('Madeira without a regional code mapped', 'oss',
     dict(rows=[S(1, 122, 22)], country='PT', zipcode='9000-018'),
     dict(error='no VAT code mapped for OSS PT region PT-30 standard 22%')),
    # --- exports and special territories (rows 12, 13, T7, T9) ---
    ('T7 Canary Islands (Las Palmas)', 'oss',
     dict(rows=[S(1, 100, 0)], country='ES', zipcode='35001'),
     dict(scenario='export', codes={'EXP'})),
    ('Canary Islands (Tenerife 38xxx)', 'oss',
     dict(rows=[S(1, 100, 0)], country='ES', zipcode='38001'),
     dict(scenario='export', codes={'EXP'})),
    ('Canary Islands with Spanish VAT number', 'oss',
     dict(rows=[S(1, 100, 0)], country='ES', zipcode='35001', vat_number=ES_OK),
     dict(scenario='export', codes={'EXP'})),
    ('Ceuta', 'oss', dict(rows=[S(1, 100, 0)], country='ES', zipcode='51001'),
     dict(scenario='export', codes={'EXP'})),
    ('Melilla', 'oss', dict(rows=[S(1, 100, 0)], country='ES', zipcode='52001'),
     dict(scenario='export', codes={'EXP'})),
    ('Ceuta/Melilla code EA', 'oss', dict(rows=[S(1, 100, 0)], country='EA', zipcode='51001'),
     dict(scenario='export', codes={'EXP'})),
    ('mainland Spain is not export', 'oss',
     dict(rows=[S(1, 121, 21)], country='ES', zipcode='28001'),
     dict(scenario='oss', codes={'E1'})),
    ('Heligoland', 'oss', dict(rows=[S(1, 100, 0)], country='DE', zipcode='27498'),
     dict(scenario='export', codes={'EXP'})),
    ('Busingen', 'oss', dict(rows=[S(1, 100, 0)], country='DE', zipcode='78266'),
     dict(scenario='export', codes={'EXP'})),
    ('Livigno', 'oss', dict(rows=[S(1, 100, 0)], country='IT', zipcode='23041'),
     dict(scenario='export', codes={'EXP'})),
    ("Campione d'Italia", 'oss', dict(rows=[S(1, 100, 0)], country='IT', zipcode='22061'),
     dict(scenario='export', codes={'EXP'})),
    ('Mount Athos', 'oss', dict(rows=[S(1, 100, 0)], country='GR', zipcode='63086'),
     dict(scenario='export', codes={'EXP'})),
    ('Aland by FI postcode', 'oss', dict(rows=[S(1, 100, 0)], country='FI', zipcode='22100'),
     dict(scenario='export', codes={'EXP'})),
    ('Aland by code AX', 'oss', dict(rows=[S(1, 100, 0)], country='AX', zipcode='22100'),
     dict(scenario='export', codes={'EXP'})),
    ('Guadeloupe by FR postcode', 'oss',
     dict(rows=[S(1, 100, 0)], country='FR', zipcode='97100'),
     dict(scenario='export', codes={'EXP'})),
    ('Reunion by FR postcode', 'oss',
     dict(rows=[S(1, 100, 0)], country='FR', zipcode='97400'),
     dict(scenario='export', codes={'EXP'})),
    ('New Caledonia by FR postcode', 'oss',
     dict(rows=[S(1, 100, 0)], country='FR', zipcode='98800'),
     dict(scenario='export', codes={'EXP'})),
    ('Martinique by code MQ', 'oss', dict(rows=[S(1, 100, 0)], country='MQ', zipcode='97200'),
     dict(scenario='export', codes={'EXP'})),
    ('Jersey', 'oss', dict(rows=[S(1, 100, 0)], country='JE', zipcode='JE2 3AB'),
     dict(scenario='export', codes={'EXP'})),
    ('T9 Great Britain (London)', 'oss',
     dict(rows=[S(1, 100, 0)], country='GB', zipcode='SW1A 1AA'),
     dict(scenario='export', codes={'EXP'})),
    ('Switzerland with shipping', 'oss',
     dict(rows=[S(1, 100, 0)], country='CH', zipcode='8001', shipping=15, shipping_pct=0),
     dict(scenario='export', codes={'EXP'}, lines=2)),
    ('United States B2B', 'oss',
     dict(rows=[S(4, 25, 0)], country='US', zipcode='10001', company='Acme Inc'),
     dict(scenario='export', codes={'EXP'})),
    ('Norway', 'origin', dict(rows=[S(1, 100, 0)], country='NO', zipcode='0150'),
     dict(scenario='export', codes={'EXP'})),
    ('T9b VAT charged on an export', 'oss',
     dict(rows=[S(1, 121)], country='US', zipcode='10001'),
     dict(error='VAT charged')),
    ('VAT charged on Canary Islands', 'oss',
     dict(rows=[S(1, 121)], country='ES', zipcode='35001'),
     dict(error='Canary Islands')),
    # --- VIES before 0% ICP (issue 18) ---
    ('VIES valid: ICP with the consultation number', 'vies',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', vat_number=DE_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies='valid', consultation='WAPI00000001')),
    ('VIES invalid for a checksum-valid number: 0% refused', 'vies',
     dict(rows=[S(1, 100, 0)], country='BE', zipcode='1000', vat_number=BE_OK, icp_flag=True),
     dict(error='VIES BE0428759497 invalid, 2026-03-02: not a valid VAT number')),
    ('VIES invalid, VAT charged: a consumer sale at destination VAT', 'vies',
     dict(rows=[S(1, 121, 21)], country='BE', zipcode='1000', vat_number=BE_OK),
     dict(scenario='oss', codes={'B1'}, vies='invalid')),
    ('VIES invalid XI number, UK VAT charged: OSS to XI', 'vies',
     dict(rows=[S(1, 120, 20)], country='GB', zipcode='BT1 1AA', vat_number=XI_OK),
     dict(scenario='oss', codes={'X1'}, vies='invalid')),
    ('VIES valid but VAT charged: still refused', 'vies',
     dict(rows=[S(1, 121, 21)], country='DE', zipcode='10115', vat_number=DE_OK),
     dict(error='on an intra-community supply to DE (VAT number DE136695976): 0% is due')),
    ('VIES unavailable, policy recheck: ICP on the offline check', 'vies',
     dict(rows=[S(1, 100, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies='unavailable')),
    ('VIES timeout, policy recheck: ICP on the offline check', 'vies',
     dict(rows=[S(1, 100, 0)], country='IT', zipcode='00100', vat_number=IT_SLOW, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies='unavailable')),
    ('VIES unavailable, policy hold: not booked', 'vies_hold',
     dict(rows=[S(1, 100, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN, icp_flag=True),
     dict(held='vies_policy hold')),
    # vies_policy domestic: the shop's 0% order becomes a home sale; the gross the customer
    # paid is kept and the home rate's VAT taken out of it (121.00 = 100.00 + 21.00)
    ('VIES unavailable, policy domestic: NL 21% out of the gross paid', 'vies_dom',
     dict(rows=[S(1, 121, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN, icp_flag=True),
     dict(scenario='domestic', codes={'2'}, vat='21.00', net='100.00', lines=1,
          warn='VIES could not confirm ATU14243102, vies_policy domestic: booked at the NL rate'
               ' 21%', vies='unavailable', policy='domestic')),
    ('VIES timeout, policy domestic: excl. VAT shop, shipping and coupon read as gross',
     'vies_dom',
     dict(rows=[S(2, 60.5, 0)], country='IT', zipcode='00100', vat_number=IT_SLOW,
          icp_flag=True, incl=False, shipping=12.10, discount=6.05),
     dict(scenario='domestic', codes={'2'}, vat='22.05', net='105.00', lines=3, warn=DOM_WARN,
          vies='unavailable')),
    ('VIES unavailable, policy domestic: a deposit row stays 0%', 'vies_dom',
     dict(rows=[S(1, 121, 0), S(1, 0.25, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN,
          icp_flag=True, product_types=['product', 'deposit']),
     dict(scenario='domestic', codes={'2', '0'}, vat='21.00', warn=DOM_WARN)),
    ('VIES unavailable, policy domestic with vies_domestic_rate 9', 'vies_dom9',
     dict(rows=[S(1, 109, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN, icp_flag=True),
     dict(scenario='domestic', codes={'1'}, vat='9.00', warn='NL rate 9%')),
    ('VIES unavailable, policy domestic: not counted as an OSS distance sale', 'vies_dom_auto',
     dict(rows=[S(1, 121, 0)], country='AT', zipcode='1010', vat_number=AT_DOWN, icp_flag=True),
     dict(scenario='domestic', codes={'2'}, vat='21.00', warn=DOM_WARN)),
    ('after it, a consumer sale below the threshold stays Dutch', 'vies_dom_auto',
     dict(rows=[S(1, 48.40, 21)], country='DE', zipcode='10115'),
     dict(scenario='distance_origin', codes={'2'})),
    ('VIES valid, policy domestic: ICP as usual', 'vies_dom',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', vat_number=DE_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies='valid', consultation='WAPI00000001')),
    ('VIES invalid, policy domestic: refused (invalid is an answer, not an outage)', 'vies_dom',
     dict(rows=[S(1, 100, 0)], country='BE', zipcode='1000', vat_number=BE_OK, icp_flag=True),
     dict(error='VIES BE0428759497 invalid, 2026-03-02: not a valid VAT number')),
    ('VIES unavailable, policy domestic, VAT charged: destination VAT', 'vies_dom',
     dict(rows=[S(1, 120, 20)], country='AT', zipcode='1010', vat_number=AT_DOWN),
     dict(scenario='oss', codes={'A1'}, vies='unavailable')),
    ('VIES not asked yet (no answer): offline check', 'vies',
     dict(rows=[S(1, 100, 0)], country='FR', zipcode='75001', vat_number=FR_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies='not_checked')),
    ('vies_policy off: never asked', 'vies_off',
     dict(rows=[S(1, 100, 0)], country='BE', zipcode='1000', vat_number=BE_OK, icp_flag=True),
     dict(scenario='icp', codes={'ICP'}, vies=None)),
    ('VIES is not asked for a domestic sale', 'vies',
     dict(rows=[S(1, 121)], vat_number=NL_OK, company='Acme BV'),
     dict(scenario='domestic', codes={'2'}, vies=None)),
    # --- CCV product types: goods and deposits are booked, anything else refused ---
    ('deposit row at 0% beside goods', 'oss',
     dict(rows=[S(1, 121), S(1, 0.25, 0)], product_types=['product', 'deposit']),
     dict(scenario='domestic', codes={'2', '0'})),
    ('service row refused', 'oss', dict(rows=[S(1, 121)], product_types=['service']),
     dict(error='order row 1 has product_type "service": only goods (product) and deposits')),
    ('digital download to an EU consumer refused', 'oss',
     dict(rows=[S(1, 119, 19)], country='DE', zipcode='10115', product_types=['download']),
     dict(error='services and digital goods are not supported')),
    ('digital service to an EU business refused before VIES is asked', 'vies',
     dict(rows=[S(1, 100, 0)], country='DE', zipcode='10115', vat_number=DE_OK, icp_flag=True,
          product_types=['digital']),
     dict(error='order row 1 has product_type "digital": only goods (product) and deposits')),
    ('second row a service beside goods refused', 'oss',
     dict(rows=[S(1, 121), S(1, 60.5)], product_types=['product', 'service']),
     dict(error='order row 2 has product_type "service"')),
    ('product_type that is not a string refused', 'oss',
     dict(rows=[S(1, 121)], product_types=[7]),
     dict(error='order row 1 has product_type "(not a string)"')),
    ('empty product_type is goods', 'oss', dict(rows=[S(1, 121)], product_types=['']),
     dict(scenario='domestic', codes={'2'})),
    # --- document shape and other rejections ---
    ('sales invoice endpoint with journal', 'invoice', dict(rows=[S(1, 121)]),
     dict(scenario='domestic', endpoint='salesinvoice/SalesInvoices')),
    ('payment costs without payment_cost_item', 'nopay', dict(rows=[S(1, 10)], payment=1),
     dict(error='payment_cost_item')),
    ('order not completed', 'oss', dict(rows=[S(1, 10)], completed=False),
     dict(error='not completed')),
    ('cancelled order', 'oss', dict(rows=[S(1, 10)], status=8), dict(error='cancelled')),
    ('negative quantity', 'oss', dict(rows=[S(-1, 10)]), dict(error='negative quantity')),
    ('unknown country', 'oss', dict(rows=[S(1, 10)], country='ZZ'),
     dict(error='unknown ship-to country')),
    ('missing address', 'oss', dict(rows=[S(1, 10)], country=''),
     dict(error='missing address')),
    ('totals that do not add up', 'oss', dict(rows=[S(1, 10)], total_adjust=5),
     dict(error='do not add up')),
    ('non-EUR order', 'oss', dict(rows=[S(1, 10)], currency='USD'), dict(error='USD')),
    ('guest without e-mail', 'oss', dict(rows=[S(1, 10)], email=''), dict(error='e-mail')),
]


def main():
    transformer = sys.argv[1]
    failures = 0
    total = 0
    by_rules = {}
    for i, (name, rkey, kw, exp) in enumerate(CASES):
        kw = dict(kw)
        types = kw.pop('product_types', None)
        order = make_order(700000 + i, **kw)
        for row, t in zip(order['orderrows'], types or []):
            row['product_type'] = t
        by_rules.setdefault(rkey, []).append((name, order, exp))
    for rkey, cases in by_rules.items():
        rules = base_rules(**RULES[rkey])
        rules = {k: v for k, v in rules.items() if v is not None}
        results = run_dry(transformer, rules, [c[1] for c in cases],
                          vies=VIES_ANSWERS if rkey.startswith('vies') else None)
        for (name, order, exp), res in zip(cases, results):
            total += 1
            problems = []
            if res.get('source_id') != str(order['id']):
                problems.append('source_id %r' % res.get('source_id'))
            if 'held' in exp:
                if exp['held'] not in res.get('held', ''):
                    problems.append('expected held (%r), got %s' % (exp['held'], res))
            elif 'error' in exp:
                if 'error' not in res:
                    problems.append('expected rejection containing %r, got scenario %s' %
                                    (exp['error'], res.get('scenario')))
                elif exp['error'] not in res['error']:
                    problems.append('rejection %r lacks %r' % (res['error'], exp['error']))
            elif 'error' in res:
                problems.append('unexpected rejection: %s' % res['error'])
            else:
                problems += check_booking(res, order['total_price'])
                lines = res['body'].get('SalesOrderLines') or res['body'].get('SalesInvoiceLines')
                codes = {l['VATCode'] for l in lines}
                if res['scenario'] != exp['scenario']:
                    problems.append('scenario %s, want %s' % (res['scenario'], exp['scenario']))
                if 'codes' in exp and codes != exp['codes']:
                    problems.append('codes %s, want %s' % (sorted(codes), sorted(exp['codes'])))
                if 'vat' in exp and Decimal(str(res['totals']['vat'])) != Decimal(exp['vat']):
                    problems.append('vat %s, want %s' % (res['totals']['vat'], exp['vat']))
                if 'net' in exp and Decimal(str(res['totals']['net'])) != Decimal(exp['net']):
                    problems.append('net %s, want %s' % (res['totals']['net'], exp['net']))
                if 'policy' in exp and (res.get('vies') or {}).get('policy') != exp['policy']:
                    problems.append('VIES policy %s' % res.get('vies'))
                if 'lines' in exp and len(lines) != exp['lines']:
                    problems.append('%d lines, want %d' % (len(lines), exp['lines']))
                if 'warn' in exp and not any(exp['warn'] in w for w in res.get('warnings', [])):
                    problems.append('no warning containing %r' % exp['warn'])
                vies = (res.get('vies') or {}).get('outcome')
                if 'vies' in exp and vies != exp['vies']:
                    problems.append('VIES outcome %s, want %s' % (vies, exp['vies']))
                if 'consultation' in exp and \
                        res.get('vies', {}).get('consultation') != exp['consultation']:
                    problems.append('consultation %s' % res.get('vies'))
                if 'endpoint' in exp and res['endpoint'] != exp['endpoint']:
                    problems.append('endpoint %s' % res['endpoint'])
                if res['body'].get('YourRef') != order['ordernumber_full']:
                    problems.append('YourRef %r' % res['body'].get('YourRef'))
            if problems:
                failures += 1
                print('FAIL %s: %s' % (name, '; '.join(problems)))
                print('     result: %s' % str(res)[:600])
    # a malformed line keeps its place and gets a null source_id
    total += 1
    res = run_dry(transformer, base_rules(), ['{"id": 1, "orderrows": [', '{}'])
    if res[0].get('source_id') is not None or 'malformed JSON' not in res[0].get('error', ''):
        failures += 1
        print('FAIL malformed JSON line: %s' % res[0])
    # vies_domestic_rate must be a home rate above 0: refused at start, naming the member
    for bad in (7, 0, 'high'):
        total += 1
        try:
            run_dry(transformer, base_rules(**RULES['vies_dom'], vies_domestic_rate=bad), [])
            failures += 1
            print('FAIL vies_domestic_rate %r accepted' % (bad,))
        except AssertionError as e:
            if 'vies_domestic_rate' not in str(e) or 'NL VAT rate above 0' not in str(e):
                failures += 1
                print('FAIL vies_domestic_rate %r: %s' % (bad, e))
    print('%d/%d VAT cases passed' % (total - failures, total))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
