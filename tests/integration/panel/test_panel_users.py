#!/usr/bin/env python3
"""Panel accounts a shop owner runs alone, against a real local SMTP server (aiosmtpd): the
operator invites a shop owner, who sets a password through the mailed link and signs in,
changes it, forgets it and resets it by mail; used, replaced and expired links and old
passwords are refused, links are stored only hashed. Sessions end at their absolute lifetime
however active they are; sign-ins are throttled per client address and globally before any
password is hashed."""
import hashlib
import os
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402
from smtpinbox import Inbox, smtp_server  # noqa: E402

S = None
SMTP = None
SENDER = "paneel@koppeling.test"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/#/(invite|reset)/([0-9a-f]{64})")


def setUpModule():
    global S, SMTP
    SMTP = smtp_server(Inbox())
    S = panellib.Stack("t_panel_users", panel_env={
        "CX_SMTP_URL": f"smtp://127.0.0.1:{SMTP.port}", "CX_SMTP_FROM": SENDER,
        "CX_SMTP_STARTTLS": "false",
        # only the mails of these tests (notifications: test_panel_notify.py)
        "CX_PANEL_NOTIFY": "false"})


def tearDownModule():
    if S:
        S.stop()
    if SMTP:
        SMTP.stop()


def signed_in(user, password=None, base=None):
    c = Client(base or S.base)
    status, obj, _ = c.login(user, password)
    assert status == 200, obj
    return c


def link_in(msg, purpose):
    m = LINK.search(msg["text"])
    assert m, msg["text"]
    assert m.group(1) == S.base and m.group(2) == purpose, m.group(0)
    return m.group(3)


class Accounts(unittest.TestCase):
    def test_invite_password_change_and_reset(self):
        inbox = SMTP.handler
        op = signed_in("op")
        owner = signed_in("owner-a")
        # Only operators invite.
        status, obj, _, _ = owner.request("POST", "/api/users/invite", {
            "name": "winkel1", "email": "eigenaar@winkel.test", "tenant": "shop-a"})
        self.assertEqual(status, 403, obj)
        # A user who has a password is not invited over.
        status, obj, _, _ = op.request("POST", "/api/users/invite", {
            "name": "owner-b", "email": "b@winkel.test", "tenant": "shop-b"})
        self.assertEqual(status, 409, obj)
        self.assertIn("has a password already", obj["error"])
        status, obj, _, _ = op.request("POST", "/api/users/invite", {
            "name": "winkel1", "email": "not-an-address", "tenant": "shop-a"})
        self.assertEqual(status, 400, obj)
        seen = inbox.count()
        status, obj, _, _ = op.request("POST", "/api/users/invite", {
            "name": "winkel1", "email": "eigenaar@winkel.test", "role": "owner",
            "tenant": "shop-a"})
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj, {"user": "winkel1", "email": "eigenaar@winkel.test",
                               "role": "owner", "invited": True})
        mail = inbox.next(seen)
        status, obj, _, _ = op.request("POST", "/api/users/invite", {
            "name": "winkel9", "email": "Eigenaar@Winkel.test", "tenant": "shop-a"})
        self.assertEqual(status, 409, obj)
        self.assertIn("another user has the e-mail address", obj["error"])
        self.assertEqual(inbox.count(), seen + 1)
        self.assertEqual(mail["from"], SENDER)
        self.assertEqual(mail["to"], ["eigenaar@winkel.test"])
        self.assertTrue(mail["subject"].startswith("Uitnodiging voor het controlepaneel"),
                        mail["subject"])
        self.assertIn("Uw gebruikersnaam is: winkel1", mail["text"])
        self.assertIn("op nodigt u uit", mail["text"])
        invite = link_in(mail, "invite")
        # Stored only as a hash.
        self.assertEqual(cxtest.psql(S.dsn, "SELECT purpose || ' ' || user_name FROM panel_links"
                                     f" WHERE token_hash = '{hashlib.sha256(invite.encode()).hexdigest()}'"),
                         "invite winkel1")
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM panel_links WHERE"
                                     f" token_hash = '{invite}'"), "0")
        users = {u["name"]: u for u in op.request("GET", "/api/users")[1]["users"]}
        self.assertEqual((users["winkel1"]["active"], users["winkel1"]["email"],
                          users["winkel1"]["tenant"], users["winkel1"]["invited_by"]),
                         (False, "eigenaar@winkel.test", "shop-a", "op"))
        self.assertEqual(owner.request("GET", "/api/users")[0], 403)
        # No password yet: nothing signs in.
        self.assertEqual(Client(S.base).login("winkel1", "any-password-1")[0], 401)

        anon = Client(S.base)
        status, obj, _, _ = anon.request("POST", "/api/invite/accept",
                                         {"token": invite, "password": "short"})
        self.assertEqual(status, 400, obj)
        status, obj, _, _ = anon.request("POST", "/api/password/reset",
                                         {"token": invite, "password": "winkel-pass-1"})
        self.assertEqual(status, 410, obj)  # an invite link is no reset link
        status, obj, _, _ = anon.request("POST", "/api/invite/accept",
                                         {"token": invite, "password": "winkel-pass-1"})
        self.assertEqual((status, obj), (200, {"user": "winkel1", "password_set": True}))
        status, obj, _, _ = anon.request("POST", "/api/invite/accept",
                                         {"token": invite, "password": "winkel-pass-9"})
        self.assertEqual(status, 410, obj)
        self.assertIn("used already", obj["error"])

        w = signed_in("winkel1", "winkel-pass-1")
        status, obj, _, _ = w.request("GET", "/api/session")
        self.assertEqual((obj["user"], obj["role"], obj["tenant"]), ("winkel1", "owner", "shop-a"))
        self.assertEqual(w.request("GET", "/api/tenants/shop-b")[0], 403)
        other = signed_in("winkel1", "winkel-pass-1")

        # Change: the current password is checked; other sessions end, this one stays.
        status, obj, _, _ = w.request("POST", "/api/password",
                                      {"current": "wrong-password", "new": "winkel-pass-2"})
        self.assertEqual(status, 403, obj)
        status, obj, _, _ = w.request("POST", "/api/password",
                                      {"current": "winkel-pass-1", "new": "winkel-pass-2"},
                                      csrf=False)
        self.assertEqual(status, 403, obj)  # a change needs the CSRF token like any other
        status, obj, _, _ = w.request("POST", "/api/password",
                                      {"current": "winkel-pass-1", "new": "winkel-pass-2"})
        self.assertEqual((status, obj), (200, {"changed": True}))
        self.assertEqual(w.request("GET", "/api/session")[0], 200)
        self.assertEqual(other.request("GET", "/api/session")[0], 401)
        again = signed_in("winkel1", "winkel-pass-2")
        # (the old one last: a wrong password makes the account wait a moment)
        self.assertEqual(Client(S.base).login("winkel1", "winkel-pass-1")[0], 401)

        # Forgotten: the same answer for an unknown user, and no mail for it.
        seen = inbox.count()
        status, unknown, _, _ = anon.request("POST", "/api/password/forgot", {"user": "nobody"})
        self.assertEqual(status, 200, unknown)
        self.assertEqual(inbox.count(), seen)  # the mail is sent before the answer
        status, known, _, _ = anon.request("POST", "/api/password/forgot",
                                           {"user": "Eigenaar@winkel.test"})
        self.assertEqual((status, known), (200, unknown))
        first = link_in(inbox.next(seen), "reset")
        status, _, _, _ = anon.request("POST", "/api/password/forgot", {"user": "winkel1"})
        self.assertEqual(status, 200)
        mail = inbox.next(seen + 1)
        self.assertEqual(mail["to"], ["eigenaar@winkel.test"])
        self.assertTrue(mail["subject"].startswith("Nieuw wachtwoord"), mail["subject"])
        second = link_in(mail, "reset")
        self.assertNotEqual(first, second)
        status, obj, _, _ = anon.request("POST", "/api/password/reset",
                                         {"token": first, "password": "winkel-pass-3"})
        self.assertEqual(status, 410, obj)  # replaced by the newer link
        status, obj, _, _ = anon.request("POST", "/api/password/reset",
                                         {"token": second, "password": "winkel-pass-3"})
        self.assertEqual((status, obj), (200, {"user": "winkel1", "password_set": True}))
        self.assertEqual(anon.request("POST", "/api/password/reset",
                                      {"token": second, "password": "winkel-pass-4"})[0], 410)
        # A reset ends every session and the old password.
        self.assertEqual(again.request("GET", "/api/session")[0], 401)
        self.assertEqual(w.request("GET", "/api/session")[0], 401)
        signed_in("winkel1", "winkel-pass-3")
        status, obj, _ = Client(S.base).login("winkel1", "winkel-pass-2")
        self.assertEqual(status, 401, obj)
        hashed = cxtest.psql(S.dsn, "SELECT password_hash FROM panel_users WHERE name = 'winkel1'")
        self.assertTrue(hashed.startswith("$argon2id$"), hashed)

        # An expired link is refused (its expiry moved into the past in the database).
        seen = inbox.count()
        anon.request("POST", "/api/password/forgot", {"user": "winkel1"})
        late = link_in(inbox.next(seen), "reset")
        cxtest.psql(S.dsn, "UPDATE panel_links SET expires_at = now() - interval '1 second'"
                    f" WHERE token_hash = '{hashlib.sha256(late.encode()).hexdigest()}'")
        status, obj, _, _ = anon.request("POST", "/api/password/reset",
                                         {"token": late, "password": "winkel-pass-5"})
        self.assertEqual(status, 410, obj)
        self.assertIn("expired", obj["error"])
        self.assertEqual(cxtest.psql(S.dsn, "SELECT password_hash FROM panel_users WHERE"
                                     " name = 'winkel1'"), hashed)

    def test_cli_email_and_reset(self):
        inbox = SMTP.handler
        p = panellib.run(panellib.ADMIN, S.env, "users", "add", "op2", "--role", "operator",
                         "--email", "no address", stdin="operator-two-pass\n", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("is not an e-mail address", p.stderr)
        panellib.run(panellib.ADMIN, S.env, "users", "add", "op2", "--role", "operator",
                     "--email", "beheer@koppeling.test", stdin="operator-two-pass\n")
        seen = inbox.count()
        status, _, _, _ = Client(S.base).request("POST", "/api/password/forgot",
                                                 {"user": "beheer@koppeling.test"})
        self.assertEqual(status, 200)
        mail = inbox.next(seen)
        self.assertEqual(mail["to"], ["beheer@koppeling.test"])
        self.assertIn("Hallo op2,", mail["text"])
        token = link_in(mail, "reset")
        status, obj, _, _ = Client(S.base).request("POST", "/api/password/reset",
                                                   {"token": token, "password": "operator-two-new"})
        self.assertEqual((status, obj), (200, {"user": "op2", "password_set": True}))
        signed_in("op2", "operator-two-new")

    def test_session_absolute_lifetime(self):
        base = S.extra_panel({"CX_PANEL_SESSION_MAX_S": "5", "CX_PANEL_SESSION_TTL_S": "600"})
        c = Client(base)
        t0 = time.monotonic()
        status, obj, hdrs = c.login("owner-b")
        self.assertEqual(status, 200, obj)
        cookie = [v for k, v in hdrs if k.lower() == "set-cookie"][0]
        self.assertIn("Max-Age=5", cookie)
        # Active all along (well inside the 600 s idle limit), it still ends after 5 s.
        while True:
            status, obj, _, _ = c.request("GET", "/api/session")
            if status != 200:
                break
            self.assertLess(time.monotonic() - t0, 60, "the session never ended")
            time.sleep(0.25)
        self.assertEqual(status, 401, obj)
        self.assertGreaterEqual(time.monotonic() - t0, 5.0)
        self.assertEqual(cxtest.psql(S.dsn, "SELECT count(*) FROM panel_sessions s WHERE"
                                     " s.user_name = 'owner-b' AND s.expires_at > s.ends_at"), "0")


class InTheBrowser(unittest.TestCase):
    """The same walk in the page (headless Chromium, Dutch), with screenshots."""

    def node(self, phase, **extra):
        here = os.path.dirname(os.path.abspath(__file__))
        shots = os.path.join(panellib.BUILD, "meson-logs", "panel-screenshots")
        os.makedirs(shots, exist_ok=True)
        p = subprocess.run(["node", os.path.join(here, "browser_accounts.js")], cwd=here,
                           env={**os.environ, "PANEL_URL": S.base, "PANEL_SHOTS": shots,
                                "PHASE": phase, "INVITE_NAME": "winkel2",
                                "INVITE_EMAIL": "baas@winkel2.test", "INVITE_TENANT": "shop-b",
                                **extra},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr + "\n" + S.panel.output()[-3000:])
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["errors"], [])
        return seen

    def test_invite_and_accounts_in_the_page(self):
        from test_panel_browser import ensure_playwright
        ensure_playwright()
        inbox = SMTP.handler
        seen_mail = inbox.count()
        seen = self.node("invite", PANEL_USER="op", PANEL_PASSWORD=panellib.PASSWORDS["op"])
        self.assertEqual(seen["users_link"], "Gebruikers")
        self.assertEqual(seen["flash"], "Uitnodiging verstuurd naar baas@winkel2.test")
        self.assertIn("Uitgenodigd", seen["row"])
        self.assertIn("shop-b", seen["row"])
        mail = inbox.next(seen_mail)
        self.assertEqual(mail["to"], ["baas@winkel2.test"])
        token = link_in(mail, "invite")
        seen = self.node("accept", PANEL_LINK=f"{S.base}/#/invite/{token}",
                         NEW_PASSWORD="winkel2-pass-1", CHANGED_PASSWORD="winkel2-pass-2")
        self.assertEqual(seen["set_title"], "Kies uw wachtwoord")
        self.assertEqual(seen["mismatch"], "De twee wachtwoorden zijn niet gelijk.")
        self.assertIn("Uw wachtwoord is ingesteld", seen["set_flash"])
        self.assertEqual(seen["hash_after"], "#/login")
        self.assertEqual(seen["landed"], "#/t/shop-b")
        self.assertTrue(seen["users_link_hidden"])
        self.assertIn("Uw wachtwoord is gewijzigd", seen["changed_flash"])
        self.assertEqual(seen["forgot_link"], "Wachtwoord vergeten?")
        self.assertIn("Als deze gebruiker bestaat", seen["forgot"])
        mail = inbox.next(seen_mail + 1)
        self.assertEqual(mail["to"], ["baas@winkel2.test"])
        link_in(mail, "reset")
        signed_in("winkel2", "winkel2-pass-2")


class Throttle(unittest.TestCase):
    def test_per_address_before_any_hash(self):
        base = S.extra_panel({"CX_PANEL_LOGIN_PER_ADDR_PER_MIN": "3",
                              "CX_PANEL_TRUST_FORWARDED": "true"})

        def attempt(addr, user, password):
            c = Client(base)
            return c.request("POST", "/api/login", {"user": user, "password": password},
                             headers={"X-Forwarded-For": f"198.51.100.7, {addr}"})

        for i in range(3):
            status, obj, _, _ = attempt("203.0.113.1", f"nobody-{i}", "not-the-password")
            self.assertEqual((status, obj["error"]), (401, "wrong user name or password"))
        # The fourth is refused before the password is looked at: even the right one.
        status, obj, _, hdrs = attempt("203.0.113.1", "op", panellib.PASSWORDS["op"])
        self.assertEqual(status, 429, obj)
        self.assertIn("too many attempts", obj["error"])
        self.assertGreaterEqual(int(dict((k.lower(), v) for k, v in hdrs)["retry-after"]), 1)
        # A reset request from there too; another address has its own allowance.
        status, obj, _, _ = Client(base).request(
            "POST", "/api/password/forgot", {"user": "op"},
            headers={"X-Forwarded-For": "203.0.113.1"})
        self.assertEqual(status, 429, obj)
        status, obj, _, _ = attempt("203.0.113.2", "op", panellib.PASSWORDS["op"])
        self.assertEqual(status, 200, obj)

    def test_global_limit_across_addresses(self):
        base = S.extra_panel({"CX_PANEL_LOGIN_PER_S": "1", "CX_PANEL_TRUST_FORWARDED": "true"})
        n = 10
        go = threading.Barrier(n)
        results = []

        def attempt(i):
            c = Client(base)
            go.wait()
            status, obj, _, _ = c.request("POST", "/api/login",
                                          {"user": f"nobody-{i}", "password": "not-it-at-all"},
                                          headers={"X-Forwarded-For": f"192.0.2.{i + 1}"})
            results.append((status, obj["error"]))

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        refused = [e for s, e in results if s == 429]
        self.assertEqual(len(results), n)
        # Ten addresses, each within its own allowance, at once: the process-wide bucket (one
        # a second) lets through only what refilled while they arrived.
        self.assertGreaterEqual(len(refused), n // 2, results)
        self.assertTrue(all("too many attempts" in e for e in refused), refused)
        self.assertTrue(all(e == "wrong user name or password" for s, e in results if s != 429),
                        results)


if __name__ == "__main__":
    unittest.main(verbosity=2)
