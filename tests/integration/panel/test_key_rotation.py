#!/usr/bin/env python3
"""Rotating CX_SECRET_KEY while the panel runs (issue 16).

The panel reads its keys from CX_SECRET_KEY_FILE and is never restarted: with the old key it
seals Exact tokens under the old key id; once the new key is first in the file it seals under
the new one while values sealed with the old key (including a legacy value without any key id)
still open; `connector-admin rotate-key` re-seals the rest; then the old key is taken out of the
file and everything still opens: with the panel, and in this test with the new key alone,
by AES-GCM in Python, independent of our C code."""
import base64
import hashlib
import http.client
import os
import sys
import tempfile
import time
import unittest
import urllib.parse

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panellib  # noqa: E402
from panellib import Client, cxtest  # noqa: E402

OLD = bytes.fromhex(panellib.KEY)
NEW = bytes.fromhex("00112233445566778899aabbccddeeff" * 2)


def kid(key):
    return hashlib.sha256(b"cx-key-id|" + key).hexdigest()[:8]


def seal_v1(key, context, plain):
    """A value as the connector sealed it before key ids: v1: + base64(nonce|ct|tag)."""
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, plain.encode(), context.encode())
    return "v1:" + base64.b64encode(nonce + ct).decode()


def open_with(key, context, sealed):
    """Open a v1 or v2 value with @p key alone; raises when it does not open."""
    if sealed.startswith("v2:"):
        assert sealed[3:11] == kid(key), f"sealed under key {sealed[3:11]}"
        payload = sealed[12:]
    else:
        payload = sealed[3:]
    raw = base64.b64decode(payload)
    return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()


class KeyRotation(unittest.TestCase):
    def setUp(self):
        self.dsn = cxtest.new_database("t_keys")
        self.port = cxtest.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.keyfile = tempfile.NamedTemporaryFile("w", prefix="keys-", delete=False)
        self.addCleanup(os.unlink, self.keyfile.name)
        self.write_keys(OLD)
        panellib.run(panellib.ADMIN, {"CX_PG_DSN": self.dsn}, "migrate")
        self.fake = panellib.ExactFake()
        self.addCleanup(self.fake.stop)
        # shop-a's client secret was sealed before key ids existed
        for t in ("shop-a", "shop-b"):
            sealed = seal_v1(OLD, t, panellib.CLIENT_SECRET)
            cxtest.psql(self.dsn, "INSERT INTO tenants (id, name, shop_base_url, shop_public_key,"
                        " shop_secret_sealed, exact_base_url, exact_division, exact_client_id,"
                        " exact_client_secret_sealed, exact_redirect_uri) VALUES"
                        f" ('{t}', 'Shop {t}', 'http://127.0.0.1:1', 'pk',"
                        f" '{seal_v1(OLD, t, 'shop-secret')}', '{self.fake.url}',"
                        f" {panellib.DIVISION}, '{panellib.CLIENT_ID}', '{sealed}',"
                        f" '{self.base}/oauth/callback')")
            cxtest.psql(self.dsn, f"INSERT INTO exact_tokens (tenant_id) VALUES ('{t}')")
        panellib.run(panellib.ADMIN, self.admin_env(OLD), "users", "add", "op", "--role",
                     "operator", stdin=panellib.PASSWORDS["op"] + "\n")
        env = {"CX_PG_DSN": self.dsn, "CX_KAFKA_BROKERS": cxtest.need_env("TEST_KAFKA_BROKERS"),
               "CX_SECRET_KEY_FILE": self.keyfile.name, "CX_HTTP_ADDR": "127.0.0.1",
               "CX_HTTP_PORT": str(self.port), "CX_PANEL_PUBLIC_URL": self.base,
               "CX_PANEL_COOKIE_SECURE": "false"}
        self.panel = cxtest.Daemon(panellib.PANEL, env, name="panel").start()
        self.addCleanup(self.panel.kill)
        self.panel.wait_ready(60)

    def write_keys(self, *keys):
        with open(self.keyfile.name, "w", encoding="ascii") as f:
            f.write("\n".join(k.hex() for k in keys) + "\n")
        time.sleep(1.2)  # the panel looks at the file at most once a second

    def admin_env(self, *keys):
        return {"CX_PG_DSN": self.dsn, "CX_SECRET_KEY": " ".join(k.hex() for k in keys)}

    def connect(self, tenant):
        """The Exact consent through the panel: it opens the client secret, seals tokens."""
        c = Client(self.base)
        status, obj, _ = c.login("op")
        self.assertEqual(status, 200, obj)
        status, obj, text, _ = c.request("POST", f"/api/tenants/{tenant}/exact/connect", {})
        self.assertEqual(status, 200, text)
        url = urllib.parse.urlparse(obj["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", url.path + "?" + url.query)
        location = conn.getresponse().getheader("Location")
        conn.close()
        status, _, text, _ = Client(self.base).request("GET", location[len(self.base):])
        self.assertEqual(status, 200, text)
        self.assertIn(f"Winkel {tenant} is gekoppeld aan Exact Online.", text)

    def token_kid(self, tenant):
        v = cxtest.psql(self.dsn, "SELECT access_token_sealed FROM exact_tokens WHERE"
                        f" tenant_id = '{tenant}'")
        self.assertTrue(v.startswith("v2:"), v[:12])
        return v[3:11]

    def sealed_values(self):
        rows = cxtest.psql(self.dsn, "SELECT id, shop_secret_sealed, exact_client_secret_sealed"
                           " FROM tenants UNION ALL SELECT tenant_id, access_token_sealed,"
                           " refresh_token_sealed FROM exact_tokens"
                           " WHERE access_token_sealed <> ''")
        out = []
        for line in rows.splitlines():
            tenant, *values = line.split("|")
            out += [(tenant, v) for v in values if v]
        return out

    def test_rotate_while_the_panel_runs(self):
        self.connect("shop-b")
        self.assertEqual(self.token_kid("shop-b"), kid(OLD))
        # the new key first, the old one after it: new seals use the new key, old values open
        self.write_keys(NEW, OLD)
        self.connect("shop-a")  # shop-a's client secret is the legacy value
        self.assertEqual(self.token_kid("shop-a"), kid(NEW), "the panel sealed with the old key")
        # the re-seal step
        p = panellib.run(panellib.ADMIN, self.admin_env(NEW, OLD), "--json", "rotate-key")
        self.assertIn('"resealed"', p.stdout)
        self.assertIn(kid(NEW), p.stdout)
        values = self.sealed_values()
        self.assertGreaterEqual(len(values), 6)
        for tenant, v in values:
            self.assertEqual(v[:12], f"v2:{kid(NEW)}:", f"{tenant}: not re-sealed")
            open_with(NEW, tenant, v)
        # only the new key from now on, still no restart
        self.write_keys(NEW)
        self.connect("shop-a")
        self.connect("shop-b")
        for tenant, v in self.sealed_values():
            open_with(NEW, tenant, v)
        again = panellib.run(panellib.ADMIN, self.admin_env(NEW), "--json", "rotate-key")
        self.assertIn('"resealed": 0', again.stdout.replace('"resealed":0', '"resealed": 0'))
        # a value under a key that is gone is refused, naming the key id
        cxtest.psql(self.dsn, "UPDATE tenants SET shop_secret_sealed ="
                    f" '{seal_v1(OLD, 'shop-b', 'x')}' WHERE id = 'shop-b'")
        bad = panellib.run(panellib.ADMIN, self.admin_env(NEW), "rotate-key", check=False)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("shop-b", bad.stderr)
        self.assertTrue(self.panel.proc.poll() is None, "the panel was restarted or died")
        self.assertEqual(self.panel.stop(), 0, self.panel.output()[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
