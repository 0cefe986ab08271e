"""Helpers shared by the exact-fake tests: start the fake on a free port, do the OAuth
dance and make plain HTTP calls (standard library only)."""

import http.client
import json
import os
import select
import subprocess
import tempfile
import time
import urllib.parse

EXE = os.environ.get("EXACT_FAKE", "exact-fake")
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
REDIRECT = "http://127.0.0.1/callback"


class Fake:
    """Runs exact-fake as a child process; always stopped by close()."""

    def __init__(self, *args):
        # stderr goes to a file: a full pipe would stall the fake
        self.errfile = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [EXE, "--listen", "127.0.0.1:0", "--client", CLIENT_ID + ":" + CLIENT_SECRET]
            + list(args),
            stdout=subprocess.PIPE, stderr=self.errfile)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        if not ready:
            self.close()
            raise RuntimeError("exact-fake did not start")
        line = self.proc.stdout.readline().decode()
        url = json.loads(line)["listen"]
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.base = url

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not self.errfile.closed:
            self.errfile.seek(0)
            err = self.errfile.read().decode(errors="replace")
            self.errfile.close()
            # under -Db_sanitize the fake reports here; any report fails the test
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if marker in err:
                    raise AssertionError("exact-fake sanitizer report:\n" + err[-4000:])
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, timeout=10):
        """Returns (status, headers dict lower-cased, body bytes)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def consent(self, division, user=None, client_id=CLIENT_ID):
        q = {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
             "state": "st8", "division": str(division)}
        if user:
            q["user"] = user
        st, h, _ = self.request("GET", "/api/oauth2/auth?" + urllib.parse.urlencode(q))
        assert st == 302, st
        loc = urllib.parse.urlparse(h["location"])
        qs = urllib.parse.parse_qs(loc.query)
        assert qs["state"] == ["st8"]
        return qs["code"][0]

    def token(self, form):
        body = urllib.parse.urlencode(form)
        st, h, data = self.request(
            "POST", "/api/oauth2/token", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return st, h, (json.loads(data) if data and data[:1] == b"{" else data)

    def exchange(self, code):
        return self.token({"grant_type": "authorization_code", "code": code,
                           "redirect_uri": REDIRECT, "client_id": CLIENT_ID,
                           "client_secret": CLIENT_SECRET})

    def refresh(self, rt):
        return self.token({"grant_type": "refresh_token", "refresh_token": rt,
                           "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})

    def login(self, division, user=None):
        st, _, tok = self.exchange(self.consent(division, user))
        assert st == 200, (st, tok)
        return tok

    def api(self, token, method, path, body=None, prefer=True, headers=None):
        hdrs = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        if prefer and method == "POST":
            hdrs["Prefer"] = "return=representation"
        hdrs.update(headers or {})
        st, h, data = self.request(method, "/api/v1/" + path, body=body, headers=hdrs)
        parsed = None
        if data[:1] in (b"{", b"["):
            parsed = json.loads(data)
        return st, h, parsed if parsed is not None else data

    def admin(self, method, path, body=None):
        st, _, data = self.request(method, "/_fake/" + path, body=body)
        return st, json.loads(data)


def q(s):
    """Percent-encodes an OData query value."""
    return urllib.parse.quote(s, safe="$,'()")


def wait_until(ms):
    delay = ms / 1000.0 - time.time()
    if delay > 0:
        time.sleep(delay + 0.02)
