#!/usr/bin/env python3
"""vies-fake answers as docs/research/vies.md describes VIES: both shapes, errorWrappers,
consultation numbers only for a valid requester, unavailable and slow member states, the test
service's numbers, and a request counter. usage: test_contract.py VIES_FAKE"""
import json
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

EXE = sys.argv.pop(1)


def call(base, method, path, body=None, timeout=10):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Contract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = subprocess.Popen([EXE, "--listen", "127.0.0.1:0", "--slow-ms", "1500",
                                  "--number", "NL004495445B01=invalid"],
                                 stdout=subprocess.PIPE, text=True)
        cls.base = json.loads(cls.p.stdout.readline())["listen"]

    @classmethod
    def tearDownClass(cls):
        cls.p.terminate()
        cls.p.wait(10)
        cls.p.stdout.close()

    def setUp(self):
        call(self.base, "POST", "/_fake/reset", {})

    def post(self, cc, num, requester=True):
        body = {"countryCode": cc, "vatNumber": num}
        if requester:
            body.update({"requesterMemberStateCode": "NL", "requesterNumber": "004495445B01"})
        return call(self.base, "POST", "/check-vat-number", body)

    def test_valid_with_requester_has_a_unique_consultation_number(self):
        s1, a = self.post("BE", "0403019261")
        s2, b = self.post("BE", "0403019261")
        self.assertEqual((s1, s2), (200, 200))
        self.assertIs(a["valid"], True)
        self.assertTrue(a["requestIdentifier"])
        self.assertNotEqual(a["requestIdentifier"], b["requestIdentifier"])
        self.assertRegex(a["requestDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(call(self.base, "GET", "/_fake/stats")[1]["by_number"]["BE0403019261"], 2)

    def test_without_requester_no_consultation_number_and_de_gives_placeholders(self):
        _, a = self.post("DE", "136695976", requester=False)
        self.assertEqual(a["requestIdentifier"], "")
        self.assertEqual(a["name"], "---")

    def test_invalid_requester_and_input(self):
        call(self.base, "POST", "/_fake/numbers", {"NL004495445B01": "invalid"})
        s, a = self.post("DE", "136695976")
        self.assertEqual(s, 400)
        self.assertEqual(a["errorWrappers"][0]["error"], "INVALID_REQUESTER_INFO")
        s, a = call(self.base, "POST", "/check-vat-number", {"countryCode": "de", "vatNumber": "1"})
        self.assertEqual(a["errorWrappers"][0]["error"], "INVALID_INPUT")

    def test_scripted_invalid_unavailable_and_timeout(self):
        call(self.base, "POST", "/_fake/numbers", {"FR40303265045": "invalid"})
        call(self.base, "POST", "/_fake/states", {"AT": "unavailable", "IT": "timeout"})
        self.assertIs(self.post("FR", "40303265045")[1]["valid"], False)
        s, a = self.post("AT", "U13585627")
        self.assertEqual(a["errorWrappers"][0]["error"], "MS_UNAVAILABLE")
        self.assertNotIn("valid", a)
        self.assertEqual(self.post("IT", "00743110157")[1]["errorWrappers"][0]["error"], "TIMEOUT")
        status = call(self.base, "GET", "/check-status")[1]
        at = [c for c in status["countries"] if c["countryCode"] == "AT"][0]
        self.assertEqual(at["availability"], "Unavailable")
        # the GET form: HTTP 200, the error in userError, isValid false
        s, g = call(self.base, "GET", "/ms/AT/vat/U13585627")
        self.assertEqual((s, g["isValid"], g["userError"]), (200, False, "MS_UNAVAILABLE"))

    def test_slow_state_outlasts_a_short_client_timeout(self):
        call(self.base, "POST", "/_fake/states", {"DK": "slow"})
        t0 = time.time()
        with self.assertRaises(Exception):
            call(self.base, "POST", "/check-vat-number",
                 {"countryCode": "DK", "vatNumber": "13585628"}, timeout=0.5)
        self.assertLess(time.time() - t0, 1.4)

    def test_test_service_numbers(self):
        for num, want in (("100", True), ("200", False)):
            self.assertIs(call(self.base, "POST", "/check-vat-test-service",
                               {"countryCode": "DE", "vatNumber": num})[1]["valid"], want)
        for num, code in (("301", "MS_UNAVAILABLE"), ("302", "TIMEOUT"), ("600", "MS_MAX_CONCURRENT_REQ")):
            a = call(self.base, "POST", "/check-vat-test-service",
                     {"countryCode": "DE", "vatNumber": num})[1]
            self.assertEqual(a["errorWrappers"][0]["error"], code)


if __name__ == "__main__":
    unittest.main(verbosity=2)
