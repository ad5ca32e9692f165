"""XOAUTH2 end to end: docket trades its refresh token for an access token
at a token endpoint (a small HTTP server in this test, RFC 6749 section 6),
and Dovecot checks that token by introspection (RFC 7662) at the same
server. A revoked refresh token is a clear error with the endpoint's own
explanation, and docket sends no IMAP credential then. A refresh token the
provider rotates is kept (mode 0600) and used from then on; oauth_scope is
sent; the client-credentials grant (Microsoft 365 app-only) logs in
without a refresh token; `docket imap authorize NAME` obtains the first
token by the device authorization grant (RFC 8628)."""

import json
import os
import stat
import sys
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import imaptest  # noqa: E402
from dockettest import DocketCase  # noqa: E402
from imaptest import message  # noqa: E402

CLIENT_ID = "docket-client"
CLIENT_SECRET = "client-s3cret"
APP_SCOPE = "https://outlook.office365.com/.default"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH = {"refresh-user1": "user1"}  # refresh token -> user
ROTATING = set()  # refresh tokens the provider replaces (and revokes) when used
ISSUED = {}  # access token -> user
DEVICES = {}  # device code -> answers still to give before the outcome
REQUESTS = []
LOCK = threading.Lock()


class Provider(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def access(self, user, extra=None):
        token = "access-%d" % len(ISSUED)
        ISSUED[token] = user
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": 3599}
        doc.update(extra or {})
        return self.answer(200, doc)

    def refresh(self, form):
        token = form.get("refresh_token")
        user = REFRESH.get(token)
        if user is None:
            return self.answer(400, {"error": "invalid_grant",
                                     "error_description": "Token has been expired or revoked."})
        if token not in ROTATING:
            return self.access(user)
        fresh = "rotated-%d" % len(ISSUED)
        del REFRESH[token]
        REFRESH[fresh] = user
        ROTATING.add(fresh)
        return self.access(user, {"refresh_token": fresh})

    def device(self, form):
        code = form.get("device_code")
        if code not in DEVICES:
            return self.answer(400, {"error": "expired_token"})
        if DEVICES[code]:
            return self.answer(400, {"error": DEVICES[code].pop(0)})
        if code == "declined":
            return self.answer(400, {"error": "access_denied",
                                     "error_description": "The user declined."})
        REFRESH["device-refresh"] = "user1"
        return self.access("user1", {"refresh_token": "device-refresh"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        with LOCK:
            REQUESTS.append((self.path, form))
            if self.path == "/devicecode":
                code = "declined" if form.get("scope") == "decline" else "dev-1"
                DEVICES[code] = ["authorization_pending"]
                return self.answer(200, {"device_code": code, "user_code": "WDJB-MJHT",
                                         "verification_uri": "https://example.com/device",
                                         "expires_in": 60, "interval": 1})
            if self.path == "/introspect":
                user = ISSUED.get(form.get("token"))
                return self.answer(200, {"active": True, "username": user} if user
                                   else {"active": False})
            if self.path != "/token":
                return self.answer(404, {})
            if form.get("client_id") != CLIENT_ID:
                return self.answer(401, {"error": "invalid_client"})
            grant = form.get("grant_type")
            if grant == DEVICE_GRANT:
                return self.device(form)
            if form.get("client_secret") != CLIENT_SECRET:
                return self.answer(401, {"error": "invalid_client"})
            if grant == "refresh_token":
                return self.refresh(form)
            if grant == "client_credentials" and form.get("scope") == APP_SCOPE:
                return self.access("user1")
            return self.answer(400, {"error": "unsupported_grant_type"})


class OAuthTest(DocketCase):
    @classmethod
    def setUpClass(cls):
        imaptest.skip_unless_available()
        cls.http = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
        threading.Thread(target=cls.http.serve_forever, daemon=True).start()
        cls.url = "http://127.0.0.1:%d" % cls.http.server_address[1]
        cls.dovecot = imaptest.Dovecot(users=2, introspection_url=cls.url + "/introspect")

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.close()
        cls.http.shutdown()

    def setUp(self):
        super().setUp()
        del REQUESTS[:]

    def account(self, refresh=None, secret_file=None, more=""):
        with open(self.config, "a") as f:
            f.write("[imap:o]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user1\n"
                    "auth = xoauth2\noauth_token_url = %s/token\noauth_client_id = %s\n%s"
                    % (self.dovecot.tls_port, self.dovecot.cert, self.url, CLIENT_ID, more))
            if refresh is not None:
                f.write("oauth_refresh_token = %s\n" % refresh)
            if secret_file:
                f.write("oauth_client_secret_file = %s\n" % secret_file)
            else:
                f.write("oauth_client_secret = %s\n" % CLIENT_SECRET)

    def token_requests(self):
        return [form for path, form in REQUESTS if path == "/token"]

    def stored(self):
        path = os.path.join(self.data, "oauth", "o.refresh_token")
        with open(path) as f:
            return path, f.readline().strip()

    def test_refresh_then_xoauth2(self):
        self.dovecot.add("user1", message(1))
        secret = os.path.join(self.dir, "client-secret")
        with open(secret, "w") as f:
            f.write(CLIENT_SECRET + "\n")
        os.chmod(secret, 0o600)
        self.account("refresh-user1", secret_file=secret)
        proc = self.docket("poll", "--once")
        self.assertIn(b"stored=1", proc.stdout)
        self.assertIn(("/token", {"grant_type": "refresh_token", "refresh_token": "refresh-user1",
                                  "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
                      REQUESTS)
        self.assertTrue(any(path == "/introspect" for path, _ in REQUESTS))
        self.assertIn("method=XOAUTH2", self.dovecot.log())
        self.assertEqual(len(self.tickets()), 1)

    def test_revoked_refresh_token(self):
        self.account("revoked")
        proc = self.docket("poll", "--once", check=False)
        self.assertEqual(proc.returncode, 78, proc.stderr)
        err = proc.stderr.decode()
        self.assertIn("token endpoint %s/token answered HTTP 400: invalid_grant: "
                      "Token has been expired or revoked." % self.url, err)

    def test_rotated_refresh_token_is_kept(self):
        REFRESH["rotating-1"] = "user1"
        ROTATING.add("rotating-1")
        self.account("rotating-1", more="oauth_scope = https://mail.example/imap offline_access\n")
        self.docket("poll", "--once")
        path, kept = self.stored()
        self.assertTrue(kept.startswith("rotated-"), kept)
        self.assertNotIn("rotating-1", REFRESH)  # the first token is revoked now
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        # The next run (a restart) uses the kept token, and keeps the next one.
        self.dovecot.add("user1", message(2))
        proc = self.docket("poll", "--once")
        self.assertIn(b"stored=1", proc.stdout)
        forms = self.token_requests()
        self.assertEqual([f["refresh_token"] for f in forms], ["rotating-1", kept])
        self.assertEqual({f["scope"] for f in forms}, {"https://mail.example/imap offline_access"})
        self.assertNotEqual(self.stored()[1], kept)

    def test_client_credentials(self):
        self.dovecot.add("user1", message(3))
        self.account(more="oauth_grant = client_credentials\noauth_scope = %s\n" % APP_SCOPE)
        proc = self.docket("poll", "--once")
        self.assertIn(b"stored=1", proc.stdout)
        self.assertEqual(self.token_requests(), [{
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scope": APP_SCOPE}])

    def test_authorize_with_a_device_code(self):
        self.account(more="oauth_device_url = %s/devicecode\noauth_scope = imap offline_access\n"
                     % self.url)
        check = self.docket("config", "check").stdout.decode()
        self.assertIn("[imap:o] has no refresh token yet: `docket imap authorize o`", check)
        proc = self.docket("imap", "authorize", "o")
        out = proc.stdout.decode()
        self.assertIn("https://example.com/device", out)
        self.assertIn("WDJB-MJHT", out)
        self.assertIn(("/devicecode", {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "scope": "imap offline_access"}), REQUESTS)
        polls = [f for f in self.token_requests() if f["grant_type"] == DEVICE_GRANT]
        self.assertEqual(len(polls), 2)  # pending, then granted
        self.assertEqual(polls[0]["device_code"], "dev-1")
        path, kept = self.stored()
        self.assertEqual(kept, "device-refresh")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertNotIn("has no refresh token", self.docket("config", "check").stdout.decode())
        self.dovecot.add("user1", message(4))
        self.assertIn(b"stored=1", self.docket("poll", "--once").stdout)

    def test_authorize_declined(self):
        self.account(more="oauth_device_url = %s/devicecode\noauth_scope = decline\n" % self.url)
        proc = self.docket("imap", "authorize", "o", check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"access_denied: The user declined.", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.data, "oauth", "o.refresh_token")))
        # Without a refresh token the account says what to run.
        proc = self.docket("poll", "--once", check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"no refresh token yet: run `docket imap authorize o`", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
