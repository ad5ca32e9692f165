"""Secrets never reach a log (issue 11, item 6): docket serve runs with an
IMAP account (password file), one whose password is wrong, an XOAUTH2
account whose token endpoint refuses, an SMTP relay with a password file,
and ConnectWise and webhook connectors with credential files, one pair of
them with wrong keys, at log level debug. Every secret is used (the peers
saw them), then the server's log, the output of the administration
commands (`config dump`, `config check`, `outbox list`, `connector check`,
`poll --once`) and the database are searched for each secret's value.
And the ways to turn TLS off are named "insecure"."""

import os
import sqlite3
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in ("lmtp", "e2e", "imap", "outbox", "connectors"):
    sys.path.insert(0, os.path.join(HERE, "..", folder))
import cwmock  # noqa: E402
import hookmock  # noqa: E402
import imaptest  # noqa: E402
from lmtptest import LmtpCase, message  # noqa: E402
from smtpsink import Sink  # noqa: E402

SECRETS = {
    "imap": imaptest.PASSWORD,
    "imap-wrong": "Wr0ng-imap-pass-7781",
    "oauth-client": "oauth-Client-Secr3t-2290",
    "oauth-refresh": "oauth-Refresh-T0ken-6617",
    "smtp": "smtp-Pa55-9134",
    "cw-private": cwmock.PRIVATE,
    "cw-wrong": "cw-Wrong-Priv-4410",
    "hook": hookmock.SECRET,
    "hook-wrong": "hook-Wrong-9931",
    "threading": "threading-Secr3t-0123456789abcdef",
}


class Refusing(BaseHTTPRequestHandler):
    """An OAuth token endpoint that knows no client."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"error": "invalid_client"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SecretsTest(LmtpCase):
    @classmethod
    def setUpClass(cls):
        imaptest.skip_unless_available()
        cls.dovecot = imaptest.Dovecot(users=2)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.close()

    def secret_file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def start_peers(self):
        self.sink = Sink(auth=True).start()
        self.addCleanup(self.sink.stop)
        self.cw = cwmock.ConnectWise()
        self.hook = hookmock.Receiver()
        for mock in (self.cw, self.hook):
            mock.start()
            self.addCleanup(mock.stop)
        self.oauth = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
        threading.Thread(target=self.oauth.serve_forever, daemon=True).start()
        self.addCleanup(self.oauth.shutdown)

    def config_text(self):
        d = self.dovecot
        cw = "company = %s\npublic_key = %s\nprivate_key = %%s\nclient_id = %s\n" % (
            cwmock.COMPANY, cwmock.PUBLIC, cwmock.CLIENT_ID)
        return "".join([
            "[log]\nlevel = debug\n",
            "[threading]\ndomain = help.example.com\nsecret = %s\n" % SECRETS["threading"],
            "[notify]\ntransport = smtp\npoll_seconds = 1\nretry_initial_seconds = 1\n",
            "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\nuser = docket\n"
            "password_file = %s\n" % (self.sink.port, self.secret_file("smtp.pw", SECRETS["smtp"] + "\n")),
            "[imap:good]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user1\npassword_file = %s\n"
            "poll_seconds = 1\nidle = false\n"
            % (d.tls_port, d.cert, self.secret_file("imap.pw", SECRETS["imap"] + "\n")),
            "[imap:wrong]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user2\npassword_file = %s\n"
            "poll_seconds = 1\nidle = false\n"
            % (d.tls_port, d.cert, self.secret_file("imap-wrong.pw", SECRETS["imap-wrong"] + "\n")),
            "[imap:oauth]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user2\nauth = xoauth2\n"
            "oauth_token_url = http://127.0.0.1:%d/token\noauth_client_id = docket\n"
            "oauth_client_secret = %s\noauth_refresh_token = %s\npoll_seconds = 1\nidle = false\n"
            % (d.tls_port, d.cert, self.oauth.server_address[1], SECRETS["oauth-client"],
               SECRETS["oauth-refresh"]),
            "[connector:cw]\ntype = connectwise\nbase_url = %s\nboard = Help Desk\ncompany = CUSTCO\n"
            "credentials_file = %s\n" % (self.cw.base_url, self.secret_file("cw.key", cw % SECRETS["cw-private"])),
            "[connector:cwbad]\ntype = connectwise\nbase_url = %s\nboard = Help Desk\ncompany = CUSTCO\n"
            "credentials_file = %s\n" % (self.cw.base_url, self.secret_file("cwbad.key", cw % SECRETS["cw-wrong"])),
            "[connector:hook]\ntype = webhook\nbase_url = %s/hook\ncredentials_file = %s\n"
            % (self.hook.url, self.secret_file("hook.key", "secret = %s\n" % SECRETS["hook"])),
            "[connector:hookbad]\ntype = webhook\nbase_url = %s/hook\ncredentials_file = %s\n"
            % (self.hook.url, self.secret_file("hookbad.key", "secret = %s\n" % SECRETS["hook-wrong"])),
        ])

    def test_no_secret_in_logs_output_or_store(self):
        self.start_peers()
        self.dovecot.add("user1", imaptest.message(1))
        server = self.serve(self.config_text())
        with server.client() as c:
            c.greet()
            _, answer = c.transaction("alice@customer.example", ["support@help.example.com"],
                                      message("secret-test@customer.example", sender="alice@customer.example"))
            self.assertEqual(answer[0].code, 250)
        # Every secret was put to use: the peers saw the good ones, refused the bad.
        self.assertGreaterEqual(self.sink.wait_for(1, 20), 1)
        self.assertIn(("docket", SECRETS["smtp"]), self.sink.credentials)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                len(self.tickets()) >= 2 and self.hook.events and "account=wrong event=error" in server.log()
                and "account=oauth event=error" in server.log()
                and self.count_events("connector_failed") >= 2):
            time.sleep(0.2)
        self.assertEqual(len(self.tickets()), 2, server.log())  # the LMTP mail and the IMAP one
        self.assertTrue(self.hook.events)
        self.assertGreaterEqual(self.count_events("connector_failed"), 2, server.log())
        self.assertEqual(server.stop(), 0)

        texts = {"serve log": server.log()}
        for args in (("config", "dump"), ("config", "check"), ("outbox", "list", "--json"),
                     ("connector", "check", "cw"), ("connector", "check", "cwbad"),
                     ("connector", "check", "hookbad"), ("poll", "--once"), ("ticket", "show", "1", "--json")):
            proc = self.docket(*args, check=False)
            texts["docket " + " ".join(args)] = (proc.stdout + proc.stderr).decode(errors="replace")
        self.assertIn("********", texts["docket config dump"])
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            texts["database"] = "\n".join(db.iterdump())
        for name, secret in SECRETS.items():
            for where, text in texts.items():
                self.assertNotIn(secret, text, "the %s secret appears in %s" % (name, where))

    def count_events(self, kind):
        with sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "docket.db"), uri=True) as db:
            return db.execute("SELECT count(*) FROM events WHERE type = ?", (kind,)).fetchone()[0]


class InsecureNamesTest(LmtpCase):
    """TLS verification is on by default and every way to turn it off says
    "insecure" (the audit in README.md's "Security" part)."""

    def check(self, text, *args):
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = %s\n%s" % (self.data, text))
        proc = self.docket(*args, check=False)
        return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")

    def test_smtp_starttls_fallback_is_named_insecure(self):
        rc, out = self.check("[smtp]\nstarttls = optional\n", "config", "check")
        self.assertEqual(rc, 78, out)
        self.assertIn("required|insecure-optional|insecure-none", out)
        self.assertEqual(self.check("[smtp]\nstarttls = insecure-optional\n", "config", "check")[0], 0)

    def test_http_beyond_loopback_needs_insecure_http(self):
        keys = self.secret_key()
        hook = "[connector:h]\ntype = webhook\nbase_url = http://helpdesk.example.com/hook\ncredentials_file = %s\n"
        rc, out = self.check(hook % keys, "connector", "check", "h")
        self.assertNotEqual(rc, 0)
        self.assertIn("[connector:h] base_url: http://helpdesk.example.com/hook would send credentials without TLS",
                      out)
        self.assertIn("insecure_http = true", out)
        rc, out = self.check("[imap:o]\nhost = imap.example.com\nuser = u\nauth = xoauth2\n"
                             "oauth_token_url = http://login.example.com/token\noauth_client_id = c\n"
                             "oauth_refresh_token = r\n", "poll", "--once")
        self.assertNotEqual(rc, 0)
        self.assertIn("[imap:o] oauth_token_url: http://login.example.com/token would send credentials", out)

    def secret_key(self):
        path = os.path.join(self.dir, "hook.key")
        with open(path, "w") as f:
            f.write("secret = x\n")
        os.chmod(path, 0o600)
        return path


if __name__ == "__main__":
    unittest.main()
