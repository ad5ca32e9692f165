"""Point 11: connector secrets stay secret. The attacks and slips: a
NinjaOne token_url over plain http (the client secret crosses the network
in clear), a credentials file every local user can read, a help desk (or
a proxy in front of it) that echoes the request in its error reply so the
key lands in logs and outbox.last_error, `config dump` printing passwords
inside URLs, and a database every local user can read."""

import http.server
import os
import stat
import threading
import unittest

from seclib import DocketCase, free_port, mail, write_secret

SECRET = "Zq8-very-secret-client-value"


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request 401 with the request itself in the body, as
    some frameworks' debug pages and some proxies do."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        reply = (b'{"error": "invalid_client", "error_description": "bad request: ' +
                 body.replace(b'"', b"'") + b'", "echo": "' + body.replace(b'"', b"'") + b'"}')
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST

    def log_message(self, *args):
        pass


class ConnectorSecretsTest(DocketCase):
    def add_connector(self, base_url, creds_text, creds_mode=0o600):
        creds = os.path.join(self.dir, "ninja.creds")
        write_secret(creds, creds_text)
        os.chmod(creds, creds_mode)
        with open(self.config, "a") as f:
            f.write("[connector:ninja]\ntype = ninjaone\nbase_url = %s\n"
                    "credentials_file = %s\ntimeout_seconds = 5\nticket_form = 4\n"
                    "organisation_map = *=3\n" % (base_url, creds))

    def test_token_url_over_plain_http_is_refused(self):
        self.add_connector("https://app.ninjarmm.example",
                           "client_id = docket\nclient_secret = %s\n"
                           "token_url = http://login.ninja.invalid/ws/oauth/token\n" % SECRET)
        proc = self.docket("connector", "check", "ninja", check=False)
        self.assertNotEqual(proc.returncode, 0)
        err = proc.stderr.decode()
        self.assertIn("token_url", err)
        self.assertIn("https", err)

    def test_world_readable_credentials_are_refused(self):
        self.add_connector("https://app.ninjarmm.example",
                           "client_id = docket\nclient_secret = %s\n" % SECRET, 0o644)
        proc = self.docket("connector", "check", "ninja", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("lets other users read it", proc.stderr.decode())

    def test_an_echoing_server_does_not_leak_the_secret(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Echo)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.add_connector("http://127.0.0.1:%d" % server.server_port,
                           "client_id = docket\nclient_secret = %s\n" % SECRET)
        proc = self.docket("connector", "check", "ninja", check=False)
        self.assertNotEqual(proc.returncode, 0)
        out = (proc.stdout + proc.stderr).decode()
        self.assertIn("invalid_client", out)  # the reason still shows
        self.assertNotIn(SECRET, out)
        self.assertNotIn(SECRET.replace("-", "%2D"), out)
        # The same for a row of the outbox and its log line.
        self.deliver(mail("ann@example.org", "printer", "p1@example.org"))
        run = self.docket("outbox", "run", "--once", check=False)
        self.assertNotIn(SECRET, (run.stdout + run.stderr).decode())
        listed = self.docket("outbox", "list", "--json").stdout.decode()
        self.assertIn("invalid_client", listed)
        self.assertNotIn(SECRET, listed)

    def test_config_dump_masks_passwords_in_urls(self):
        with open(self.config, "a") as f:
            f.write("[smtp]\nurl = smtp://relay-user:Pa55w0rd-in-url@relay.example.com:587\n")
        out = self.docket("config", "dump").stdout.decode()
        self.assertIn("relay.example.com", out)
        self.assertNotIn("Pa55w0rd-in-url", out)

    def test_database_and_wal_are_private(self):
        old = os.umask(0o022)
        try:
            self.assertEqual(self.deliver(mail("ann@example.org", "x", "x@example.org")).returncode, 0)
        finally:
            os.umask(old)
        for name in ("docket.db", "docket.db-wal", "docket.db-shm"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                mode = stat.S_IMODE(os.stat(path).st_mode)
                self.assertEqual(mode & 0o007, 0, "%s is mode %o" % (name, mode))


if __name__ == "__main__":
    unittest.main()
