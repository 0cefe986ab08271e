#!/usr/bin/env python3
"""The transformer daemon asks VIES before it books an order at 0% ICP (issue 18, item 1),
against real Kafka, real PostgreSQL and vies-fake (a real HTTP server).

* valid: booked as ICP; the consultation number VIES returned (requester = the tenant's own
  VAT number) is in the command, in the sync log and in vies_consultations;
* cache: a second order with the same number is decided from the PostgreSQL cache, VIES is
  not asked again (the fake's request counter);
* invalid (a number that passes the offline check): dead letter with the reason;
* unavailable (MS_UNAVAILABLE) and a member state slower than CX_VIES_TIMEOUT_MS (TIMEOUT):
  vies_policy recheck books and queues a re-check, hold books nothing until VIES answers,
  domestic books the 0% order as a Dutch sale at 21% out of the gross the customer paid, with
  a review warning (in English and Dutch) in the command and the sync log and the consultation
  (unavailable, policy domestic) kept;
* once VIES answers again the held order is booked with its consultation and the re-checks
  are written to the sync log (valid: the booking stands; invalid: it needs a correction);
* the dry run, given the answers the daemon got (--vies FILE), decides exactly the same;
* limits (second test): with one call per minute and member state, a second German number is
  not sent to VIES but is "unavailable" (RATE_LIMITED) and the policy applies; with valid
  answers kept one second, the same Belgian number asked again two seconds later is not
  answered from the cache (it needs VIES again, and the limit stops it)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "unit", "transformer"))
import cxtest  # noqa: E402
from orderlib import base_rules, make_order  # noqa: E402
from test_transformer import kcat_produce, kcat_read  # noqa: E402

BUILD = os.environ["TEST_BUILD_DIR"]
TRANSFORMER = os.path.join(BUILD, "transformer", "transformer")
ADMIN = os.path.join(BUILD, "admin", "connector-admin")
VIES_FAKE = os.path.join(BUILD, "fakes", "vies", "vies-fake")
OWN = "NL001241643B01"
VALID, INVALID = "DE136695976", "FR04409414364"
AT1, AT2, AT3, SLOW = "ATU14243102", "ATU15159209", "ATU28560205", "IT01404480202"
POLICIES = {"vies-r": "recheck", "vies-h": "hold", "vies-d": "domestic"}


def icp(oid, number, country, zipcode):
    return make_order(oid, rows=[(2, 50, 0)], country=country, zipcode=zipcode,
                      vat_number=number, icp_flag=True, company="Kunde GmbH")


def service(oid, number, country, zipcode):
    """An ICP order whose row is a service (CCV product_type other than product/deposit)."""
    o = icp(oid, number, country, zipcode)
    o["orderrows"][0]["product_type"] = "service"
    return o


ORDERS = {
    "vies-r": [icp(71001, VALID, "DE", "10115"), icp(71002, VALID, "DE", "80331"),
               icp(71003, INVALID, "FR", "75001"), icp(71004, AT1, "AT", "1010"),
               icp(71005, SLOW, "IT", "00100"), service(71006, VALID, "DE", "10115")],
    "vies-h": [icp(72001, AT2, "AT", "1010")],
    "vies-d": [icp(73001, AT3, "AT", "1010")],
}


class ViesFake:
    def __init__(self):
        self.proc = subprocess.Popen([VIES_FAKE, "--listen", "127.0.0.1:0", "--slow-ms", "4000",
                                      "--number", INVALID + "=invalid", "--state",
                                      "AT=unavailable", "--state", "IT=slow"],
                                     stdout=subprocess.PIPE, text=True)
        self.url = json.loads(self.proc.stdout.readline())["listen"]

    def call(self, method, path, body=None):
        status, text, _ = cxtest.http(method, self.url + path,
                                      json.dumps(body) if body is not None else None,
                                      {"Content-Type": "application/json"})
        assert status == 200, text
        return json.loads(text)

    def stop(self):
        cxtest.terminate(self.proc)
        self.proc.stdout.close()


class TransformerVies(unittest.TestCase):
    def setUp(self):
        self.brokers = cxtest.need_env("TEST_KAFKA_BROKERS")
        self.dsn = cxtest.new_database("t_txvies")
        subprocess.run([ADMIN, "migrate"], env={**cxtest.clean_env(), "CX_PG_DSN": self.dsn},
                       check=True, stdout=subprocess.DEVNULL)
        self.prefix = cxtest.unique("txvies") + "."
        self.rules = {}
        for tenant, policy in POLICIES.items():
            self.rules[tenant] = base_rules(tenant=tenant, vat_number=OWN, vies_policy=policy)
            cxtest.psql(self.dsn, "INSERT INTO tenants (id, shop_base_url, shop_public_key,"
                        f" shop_secret_sealed) VALUES ('{tenant}', 'http://127.0.0.1:1', 'pk',"
                        " 'v1:x')")
            text = json.dumps(self.rules[tenant]).replace("'", "''")
            cxtest.psql(self.dsn, "INSERT INTO mapping_rules (tenant_id, rules) VALUES"
                        f" ('{tenant}', '{text}'::jsonb)")
        self.vies = ViesFake()
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.kill()
        self.vies.stop()

    def sql(self, query):
        return cxtest.psql(self.dsn, query)

    def wait_for(self, what, check, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.5)
        self.fail(f"timed out waiting for {what}")

    def commands(self):
        return {c["source_id"]: c for _, c in kcat_read(self.brokers,
                                                         self.prefix + "exact.commands")}

    def dead_letters(self):
        return {d["source_id"]: d for _, d in kcat_read(self.brokers,
                                                         self.prefix + "dead.letters")}

    def sync_log(self, sid):
        return self.sql("SELECT string_agg(status || '|' || message, E'\\n' ORDER BY id) FROM"
                        f" sync_log WHERE stage = 'transform' AND source_id = '{sid}'")

    def consultation(self, sid):
        row = self.sql("SELECT outcome || '|' || request_identifier || '|' || request_date ||"
                       " '|' || error || '|' || policy || '|' || from_cache FROM"
                       f" vies_consultations WHERE source_id = '{sid}'")
        return dict(zip(["outcome", "consultation", "date", "error", "policy", "cached"],
                        row.split("|"))) if row else None

    def produce(self, orders):
        records = [(t, json.dumps({"v": 1, "tenant": t, "entity": "order", "event": "upsert",
                                   "source_id": str(o["id"]), "trace_id": f"tv-{o['id']}",
                                   "payload": o}))
                   for t, os_ in orders.items() for o in os_]
        kcat_produce(self.brokers, self.prefix + "shop.orders", records)

    def start(self, orders=None, env=None):
        self.produce(orders or ORDERS)
        self.daemon = cxtest.Daemon(TRANSFORMER, {
            "CX_KAFKA_BROKERS": self.brokers, "CX_PG_DSN": self.dsn,
            "CX_TOPIC_PREFIX": self.prefix, "CX_INSTANCE_ID": "txvies-1",
            "CX_RULES_REFRESH_MS": "200", "CX_VIES_URL": self.vies.url,
            "CX_VIES_TIMEOUT_MS": "1000", "CX_VIES_RETRY_S": "1", **(env or {})},
            name="txvies-1").start()
        self.daemon.wait_ready(120)

    def dry_run(self, tenant, answers):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "rules.json"), "w") as f:
            json.dump(self.rules[tenant], f)
        with open(os.path.join(d, "vies.json"), "w") as f:
            json.dump(answers, f)
        out = subprocess.run([TRANSFORMER, "--dry-run", "--rules", os.path.join(d, "rules.json"),
                              "--vies", os.path.join(d, "vies.json")],
                             input="".join(json.dumps(o) + "\n" for o in ORDERS[tenant]),
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        return {r["source_id"]: r for r in map(json.loads, out.splitlines())}

    def test_vies_valid_invalid_unavailable_cache_and_policies(self):
        self.start()
        cmds = self.wait_for("five commands", lambda: (lambda c: c if len(c) >= 5 else None)(
            self.commands()))
        dls = self.wait_for("two dead letters", lambda: (lambda d: d if len(d) >= 2 else None)(
            self.dead_letters()))
        self.assertEqual(sorted(cmds), ["71001", "71002", "71004", "71005", "73001"], dls)
        self.assertEqual(sorted(dls), ["71003", "71006"])
        stats = self.vies.call("GET", "/_fake/stats")

        # valid: ICP at 0% with the consultation number VIES returned for this requester
        valid = cmds["71001"]
        self.assertEqual(valid["scenario"], "icp")
        self.assertEqual({ln["VATCode"] for ln in valid["body"]["SalesOrderLines"]}, {"ICP"})
        self.assertEqual(valid["vies"]["outcome"], "valid")
        number = valid["vies"]["consultation"]
        self.assertRegex(number, r"^WAPIFAKE\d{8}$")
        self.assertRegex(valid["vies"]["date"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(self.consultation("71001")["consultation"], number)
        log = self.sync_log("71001")
        self.assertTrue(log.startswith("ok|"), log)
        self.assertIn(f"VIES {VALID} valid, consultation {number}, "
                      f"{valid['vies']['date'][:10]}", log)
        # cache hit: the same answer, VIES asked once for the number
        self.assertEqual(stats["by_number"][VALID], 1, stats)
        self.assertEqual(cmds["71002"]["vies"]["consultation"], number)
        self.assertIs(cmds["71002"]["vies"]["cached"], True)
        self.assertEqual(self.consultation("71002")["cached"], "true")

        # invalid for VIES although the checksum passes: refused, nothing booked
        reason = dls["71003"]["reason"]
        self.assertIn(f"VIES {INVALID} invalid", reason)
        self.assertIn("no 0% ICP", reason)
        self.assertEqual(self.consultation("71003")["outcome"], "invalid")

        # a service (issue 18 item 6): refused naming row and type, VIES not consulted for it
        self.assertEqual(dls["71006"]["reason"],
                         'order row 1 has product_type "service": only goods (product) and'
                         ' deposits are booked; services and digital goods are not supported'
                         ' (their VAT follows other rules)')
        self.assertIsNone(self.consultation("71006"))

        # unavailable, policy recheck: booked on the offline check, queued for a re-check
        self.assertEqual(cmds["71004"]["scenario"], "icp")
        self.assertEqual(cmds["71004"]["vies"],
                         {"vat_number": AT1, "outcome": "unavailable", "error": "MS_UNAVAILABLE",
                          "policy": "recheck", "cached": False})
        self.assertIn("vies_policy recheck", self.sync_log("71004"))
        # slower than CX_VIES_TIMEOUT_MS: the same, as TIMEOUT
        self.assertEqual(cmds["71005"]["vies"]["error"], "TIMEOUT")
        # hold: not booked, kept
        self.assertNotIn("72001", cmds)
        self.assertIn("info|VIES " + AT2 + " unavailable (MS_UNAVAILABLE); vies_policy hold",
                      self.sync_log("72001"))
        # domestic: no 0% without confirmation; booked at the Dutch 21% out of the 100.00 paid
        dom = cmds["73001"]
        self.assertEqual(dom["scenario"], "domestic")
        lines = dom["body"]["SalesOrderLines"]
        self.assertEqual([(ln["Item"], ln["Quantity"], ln["NetPrice"], ln["VATCode"],
                           ln["VATPercentage"]) for ln in lines],
                         [("SKU-1", 2, 41.32, "2", 0.21),
                          ("AFROND", 1, 0.01, "2", 0.21)])
        self.assertEqual(dom["totals"], {"net": 82.65, "vat": 17.35, "gross": 100.0})
        warning = (f"review: VIES could not confirm {AT3}, vies_policy domestic: booked at the"
                   " NL rate 21% out of the amount paid, not as 0% ICP (VIES niet bereikbaar:"
                   " binnenlands btw-tarief toegepast)")
        self.assertEqual(dom["warnings"], [warning])
        self.assertEqual(dom["vies"], {"vat_number": AT3, "outcome": "unavailable",
                                       "error": "MS_UNAVAILABLE", "policy": "domestic",
                                       "cached": False})
        self.assertEqual(self.sync_log("73001"),
                         "ok|salesorder/SalesOrders: domestic, gross 100.00, 2 line(s);"
                         f" warning: {warning}; VIES {AT3} unavailable (MS_UNAVAILABLE);"
                         " vies_policy domestic: no 0% ICP without a VIES confirmation")
        c = self.consultation("73001")
        self.assertEqual((c["outcome"], c["error"], c["policy"], c["consultation"]),
                         ("unavailable", "MS_UNAVAILABLE", "domestic", ""))
        self.assertEqual(self.sql("SELECT string_agg(source_id || ':' || action, ',' ORDER BY"
                                  " source_id) FROM vies_pending"),
                         "71004:recheck,71005:recheck,72001:hold")

        # the dry run with the answers the daemon got decides the same
        answers = {}
        for sid, num in (("71001", VALID), ("71003", INVALID), ("71004", AT1), ("71005", SLOW)):
            c = self.consultation(sid)
            answers[num] = {"outcome": c["outcome"], "consultation": c["consultation"],
                            "date": c["date"], "error": c["error"]}
        dry = self.dry_run("vies-r", answers)
        for sid in ("71001", "71002", "71004", "71005"):
            self.assertEqual(dry[sid]["scenario"], cmds[sid]["scenario"], sid)
            self.assertEqual(dry[sid]["body"], cmds[sid]["body"], sid)
            for k in ("outcome", "consultation", "error", "policy"):
                self.assertEqual(dry[sid]["vies"].get(k), cmds[sid]["vies"].get(k), (sid, k))
        self.assertEqual(dry["71003"]["error"], dls["71003"]["reason"])
        self.assertEqual(dry["71006"]["error"], dls["71006"]["reason"])
        held = self.dry_run("vies-h", {AT2: {"outcome": "unavailable",
                                             "error": "MS_UNAVAILABLE"}})
        self.assertIn("vies_policy hold", held["72001"]["held"])
        c = self.consultation("73001")
        dry = self.dry_run("vies-d", {AT3: {"outcome": c["outcome"], "error": c["error"]}})
        for k in ("scenario", "body", "totals", "warnings", "vies"):
            self.assertEqual(dry["73001"][k], cmds["73001"][k], k)

        # VIES answers again (and now calls the Italian number invalid): the held order is
        # booked, the re-checks are logged
        self.vies.call("POST", "/_fake/numbers", {SLOW: "invalid"})
        self.vies.call("POST", "/_fake/states", {"AT": None, "IT": None})
        cmds = self.wait_for("the held order", lambda: (lambda c: c if "72001" in c else None)(
            self.commands()))
        self.assertEqual(cmds["72001"]["scenario"], "icp")
        self.assertEqual(cmds["72001"]["vies"]["outcome"], "valid")
        self.assertEqual(self.consultation("72001")["consultation"],
                         cmds["72001"]["vies"]["consultation"])
        self.wait_for("the re-checks", lambda: self.sql(
            "SELECT count(*) FROM vies_pending") == "0")
        self.assertIn(f"info|VIES re-check: {AT1} valid, consultation WAPIFAKE",
                      self.sync_log("71004"))
        self.assertEqual(self.consultation("71004")["outcome"], "valid")
        self.assertIn(f"failed|VIES re-check: {SLOW} is not a valid VAT number", self.sync_log("71005"))
        self.assertIn("needs a correction", self.sync_log("71005"))
        self.assertEqual(self.consultation("71005")["outcome"], "invalid")
        self.assertIn("the held order is taken up again", self.sync_log("72001"))

    def test_rate_limit_and_cache_expiry(self):
        de2, be = "DE136695909", "BE0428759497"
        self.start({"vies-r": [icp(74001, VALID, "DE", "10115"), icp(74002, be, "BE", "1000"),
                               icp(74003, de2, "DE", "10115")]},
                   {"CX_VIES_RATE_PER_MIN": "1", "CX_VIES_CACHE_VALID_S": "1",
                    "CX_VIES_TIMEOUT_MS": "300", "CX_VIES_RETRY_S": "3600"})
        cmds = self.wait_for("three commands", lambda: (lambda c: c if len(c) >= 3 else None)(
            self.commands()))
        self.assertEqual(cmds["74001"]["vies"]["outcome"], "valid")
        self.assertEqual(cmds["74002"]["vies"]["outcome"], "valid")
        # DE's one call a minute is used: the second German number never reaches VIES
        self.assertEqual(cmds["74003"]["scenario"], "icp")
        self.assertEqual(cmds["74003"]["vies"],
                         {"vat_number": de2, "outcome": "unavailable", "error": "RATE_LIMITED",
                          "policy": "recheck", "cached": False})
        self.assertIn(f"VIES {de2} unavailable (RATE_LIMITED); vies_policy recheck",
                      self.sync_log("74003"))
        self.assertEqual(self.consultation("74003")["error"], "RATE_LIMITED")
        # the valid Belgian answer is kept one second; asked again after two it is not reused
        time.sleep(2)
        self.produce({"vies-r": [icp(74004, be, "BE", "1000")]})
        cmds = self.wait_for("the fourth command", lambda: (lambda c: c if "74004" in c else
                                                            None)(self.commands()))
        self.assertEqual(cmds["74004"]["vies"],
                         {"vat_number": be, "outcome": "unavailable", "error": "RATE_LIMITED",
                          "policy": "recheck", "cached": False})
        stats = self.vies.call("GET", "/_fake/stats")
        self.assertEqual((stats["by_number"].get(VALID), stats["by_number"].get(be),
                          stats["by_number"].get(de2)), (1, 1, None), stats)
        self.assertEqual(self.sql("SELECT string_agg(source_id || ':' || action, ',' ORDER BY"
                                  " source_id) FROM vies_pending"), "74003:recheck,74004:recheck")


if __name__ == "__main__":
    unittest.main(verbosity=2)
