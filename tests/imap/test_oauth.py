"""XOAUTH2 end to end: docket trades its refresh token for an access token
at a token endpoint (a small HTTP server in this test, RFC 6749 section 6),
and Dovecot checks that token by introspection (RFC 7662) at the same
server. A revoked refresh token is a clear error with the endpoint's own
explanation, and docket sends no IMAP credential then."""

import json
import os
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
REFRESH = {"refresh-user1": "user1"}  # refresh token -> user
ISSUED = {}  # access token -> user
REQUESTS = []


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

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        REQUESTS.append((self.path, form))
        if self.path == "/token":
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return self.answer(401, {"error": "invalid_client"})
            user = REFRESH.get(form.get("refresh_token"))
            if form.get("grant_type") != "refresh_token" or user is None:
                return self.answer(400, {"error": "invalid_grant",
                                         "error_description": "Token has been expired or revoked."})
            token = "access-%d" % len(ISSUED)
            ISSUED[token] = user
            return self.answer(200, {"access_token": token, "token_type": "Bearer",
                                     "expires_in": 3599})
        if self.path == "/introspect":
            user = ISSUED.get(form.get("token"))
            return self.answer(200, {"active": True, "username": user} if user else {"active": False})
        self.answer(404, {})


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

    def account(self, refresh, secret_file=None):
        with open(self.config, "a") as f:
            f.write("[imap:o]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user1\n"
                    "auth = xoauth2\noauth_token_url = %s/token\noauth_client_id = %s\n"
                    "oauth_refresh_token = %s\n"
                    % (self.dovecot.tls_port, self.dovecot.cert, self.url, CLIENT_ID, refresh))
            if secret_file:
                f.write("oauth_client_secret_file = %s\n" % secret_file)
            else:
                f.write("oauth_client_secret = %s\n" % CLIENT_SECRET)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
