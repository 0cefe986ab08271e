#!/usr/bin/env python3
"""The panel's e-mail notifications to shop owners, against a real local SMTP server: a new
Exact consent is needed, failures wait for a fix (each dead letter named once), and the daily
summary (once a day). Only the tenant's shop owners with an address and a password get them."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panellib  # noqa: E402
from panellib import cxtest  # noqa: E402
from smtpinbox import Inbox, smtp_server  # noqa: E402

S = None
SMTP = None


def setUpModule():
    global S, SMTP
    SMTP = smtp_server(Inbox())
    S = panellib.Stack("t_panel_notify", panel_env={
        "CX_SMTP_URL": f"smtp://127.0.0.1:{SMTP.port}", "CX_SMTP_FROM": "paneel@koppeling.test",
        "CX_SMTP_STARTTLS": "false", "CX_PANEL_NOTIFY_INTERVAL_S": "1",
        "CX_PANEL_NOTIFY_FAILURES_S": "0", "CX_PANEL_SUMMARY_HOUR": "0"})


def tearDownModule():
    if S:
        S.stop()
    if SMTP:
        SMTP.stop()


def dead_letter(source_id, reason):
    return cxtest.psql(S.dsn, "INSERT INTO dead_letters (tenant_id, stage, source_topic, source_id,"
                       f" reason, payload) VALUES ('shop-a', 'transform', 'shop.orders',"
                       f" '{source_id}', '{reason}', '{{}}') RETURNING id")


class Notify(unittest.TestCase):
    def test_consent_failures_and_summary(self):
        inbox = SMTP.handler
        # No recipient yet (nobody has an address): nothing is sent or claimed.
        self.assertEqual(inbox.count(), 0)
        # owner-a gets an address; victim (shop-a too) and owner-b (shop-b) have none.
        panellib.run(panellib.ADMIN, S.env, "users", "add", "owner-a", "--role", "owner",
                     "--tenant", "shop-a", "--email", "eigenaar@shop-a.test",
                     stdin=panellib.PASSWORDS["owner-a"] + "\n")
        consent = inbox.next(0)
        summary = inbox.next(1)
        for m in (consent, summary):
            self.assertEqual(m["to"], ["eigenaar@shop-a.test"])
            self.assertEqual(m["from"], "paneel@koppeling.test")
        self.assertEqual(consent["subject"], "Shop shop-a: Exact Online heeft opnieuw uw "
                         "toestemming nodig / needs your consent again")
        self.assertIn(f"{S.base}/#/t/shop-a/exact", consent["text"])
        self.assertTrue(summary["subject"].startswith("Shop shop-a: overzicht van "),
                        summary["subject"])
        self.assertIn("- wacht op een oplossing: 0", summary["text"])
        self.assertIn("- verbinding met Exact Online: nieuwe toestemming nodig", summary["text"])

        first = dead_letter("5001", "no VAT code for domestic standard 21%")
        failures = inbox.next(2)
        self.assertEqual(failures["subject"], "Shop shop-a: 1 boeking wacht op een oplossing /"
                         " waiting for a fix")
        self.assertIn("- shop.orders 5001: no VAT code for domestic standard 21%",
                      failures["text"])
        dead_letter("5002", "unknown item group")
        failures = inbox.next(3)
        self.assertIn("2 boekingen wachten", failures["subject"])
        self.assertIn("- shop.orders 5002: unknown item group", failures["text"])
        self.assertNotIn("5001", failures["text"])  # named once only
        self.assertEqual(cxtest.psql(S.dsn, "SELECT max(last_id) FROM panel_notices WHERE"
                                     " tenant_id = 'shop-a' AND kind = 'failures'"),
                         str(int(first) + 1))

        # A consent given and lost again: one new mail for the new loss.
        cxtest.psql(S.dsn, "UPDATE exact_tokens SET state = 'ok', updated_at = now() - interval"
                    " '1 minute' WHERE tenant_id = 'shop-a'")
        cxtest.psql(S.dsn, "UPDATE exact_tokens SET state = 'needs_consent', state_reason ="
                    " 'refresh token revoked', updated_at = now() WHERE tenant_id = 'shop-a'")
        again = inbox.next(4)
        self.assertIn("toestemming nodig", again["subject"])
        self.assertIn("(refresh token revoked)", again["text"])
        # Each notice was claimed once: one summary today, two consents, two failure mails.
        kinds = cxtest.psql(S.dsn, "SELECT string_agg(kind, ',' ORDER BY kind) FROM panel_notices"
                            " WHERE tenant_id = 'shop-a'")
        self.assertEqual(kinds, "consent,consent,failures,failures,summary")
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM panel_notices WHERE"
                                     " tenant_id = 'shop-b'"), "0")
        self.assertTrue(all(m["to"] == ["eigenaar@shop-a.test"] for m in inbox.messages))


if __name__ == "__main__":
    unittest.main(verbosity=2)
