"""Shared helpers for the web desk's end-to-end tests: a `docket serve`
with the web server on loopback, users made with `docket user`, and an
HTTP client that keeps the session cookie (for the tests that speak HTTP
without a browser)."""

import http.cookiejar
import os
import re
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from dockettest import BINARY, free_port, wait_for_port  # noqa: E402
from test_desk import DeskCase  # noqa: E402

PASSWORD = "correct horse battery"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at, not to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Client:
    """An HTTP client with a cookie jar, like one browser."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect())

    def request(self, path, data=None, headers=None, content_type=None):
        """(status, headers, body) of one request; data (bytes or a dict,
        sent urlencoded) makes it a POST."""
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, headers=dict(headers or {}))
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def login(self, name, password=PASSWORD):
        return self.request("/desk/login", {"name": name, "password": password,
                                            "next": "/desk/"})

    def csrf(self, path="/desk/"):
        """The CSRF token the page at path carries in its forms."""
        status, _, body = self.request(path)
        found = re.search(rb'name="csrf" value="([^"]+)"', body)
        assert status == 200 and found, (status, body[:300])
        return found.group(1).decode()


def multipart(fields, files):
    """A multipart/form-data body: fields {name: text}, files [(field,
    filename, bytes)]. Returns (body, content type)."""
    boundary = "docket-test-boundary-7d1f"
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                      % (boundary, name, value)).encode())
    for name, filename, data in files:
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                      'Content-Type: application/octet-stream\r\n\r\n'
                      % (boundary, name, filename)).encode() + data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


class WebDeskCase(DeskCase):
    """docket serve with the web desk on a free loopback port, users ann
    (agent), root (admin) and reader (read_only)."""

    def setUp(self):
        super().setUp()
        self.http_port, self.lmtp_port = free_port(), free_port()
        self.configure("[http]\nlisten = 127.0.0.1:%d\n" % self.http_port)
        self.add_user("ann", "agent", "ann@help.example.com")
        self.add_user("root", "admin", "root@help.example.com")
        self.add_user("reader", "read_only", "reader@help.example.com")
        self.base = "http://127.0.0.1:%d" % self.http_port
        self.serve = None

    def add_user(self, name, role, email):
        self.docket("user", "add", name, "--role", role, "--email", email)
        self.docket("user", "password", name, stdin=PASSWORD.encode() + b"\n")

    def start(self):
        """Starts docket serve (after the test delivered its mail)."""
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.serve = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                       "127.0.0.1:%d" % self.lmtp_port], stderr=self.log)
        wait_for_port(self.http_port)

    def tearDown(self):
        """Stops docket serve, which must exit cleanly (under the sanitizers
        a leak or an error in a handler makes its status other than 0)."""
        rc = 0
        if self.serve is not None:
            if self.serve.poll() is None:
                self.serve.send_signal(signal.SIGTERM)
            try:
                rc = self.serve.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                rc = self.serve.wait()
            self.log.close()
            with open(self.log.name, "rb") as f:
                log = f.read().decode(errors="replace")
        super().tearDown()
        self.assertEqual(rc, 0, "docket serve exited %d:\n%s" % (rc, log[-4000:] if rc else ""))

    def client(self):
        return Client(self.base)

    def dump_store(self):
        """Every row of the store but the sessions' (a look-up may touch
        its session): what a refused request must leave as it was."""
        return [row for row in super().dump_store() if not row.startswith('INSERT INTO "sessions"')]
