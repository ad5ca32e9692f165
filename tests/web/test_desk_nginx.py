"""contrib/nginx-docket.conf as written: a private nginx (its ports, the
certificate and docket's address put in, nothing else changed) in front
of docket serve terminates TLS; through it the web desk logs in with a
Secure session cookie, a form posted from the page (its Origin the
https:// address with the port) is accepted, one from another site is
refused, and plain HTTP is sent to HTTPS. Skips (77) without nginx."""

import http.client
import os
import re
import shutil
import ssl
import subprocess
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdesk import PASSWORD, WebDeskCase  # noqa: E402 (puts tests/e2e on the path)
from dockettest import free_port, wait_for_port  # noqa: E402
from test_desk import mail  # noqa: E402

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
SNIPPET = os.path.join(os.environ.get("DOCKET_SOURCE_DIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..")),
                       "contrib", "nginx-docket.conf")


def setUpModule():
    if NGINX is None or shutil.which("openssl") is None:
        print("skipped: nginx or openssl missing")
        sys.exit(77)


class NginxTest(WebDeskCase):
    def setUp(self):
        super().setUp()
        self.deliver_ok(mail("alice@example.org", "VPN down", "a1@example.org", "Error 809.\n"))
        self.start()
        self.https_port, self.http_port_front = free_port(), free_port()
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(SNIPPET) as f:
            site = f.read()
        # Only what a site changes: its ports, its certificate, docket's address.
        site = site.replace("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % self.https_port)
        site = site.replace("listen 80;", "listen 127.0.0.1:%d;" % self.http_port_front)
        site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
        site = re.sub(r"ssl_certificate /\S+;", "ssl_certificate %s;" % cert, site)
        site = re.sub(r"ssl_certificate_key /\S+;", "ssl_certificate_key %s;" % key, site)
        site = site.replace("127.0.0.1:9424", "127.0.0.1:%d" % self.http_port)
        prefix = os.path.join(self.dir, "nginx")
        os.makedirs(os.path.join(prefix, "logs"))
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\nmaster_process off;\npid %s/nginx.pid;\n"
                    "error_log %s/logs/error.log;\nevents {}\nhttp {\n"
                    "access_log off;\nclient_body_temp_path %s/body;\nproxy_temp_path %s/proxy;\n"
                    "%s\n}\n" % (prefix, prefix, prefix, prefix, site))
        self.nginx = subprocess.Popen([NGINX, "-p", prefix, "-c", conf],
                                      stderr=open(os.path.join(prefix, "logs", "stderr"), "wb"))
        wait_for_port(self.https_port)
        self.tls = ssl.create_default_context(cafile=cert)
        self.cookie = None

    def tearDown(self):
        if getattr(self, "nginx", None) is not None:
            self.nginx.terminate()
            self.nginx.wait(timeout=30)
        super().tearDown()

    def request(self, method, path, fields=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.tls,
                                           timeout=30)
        h = dict(headers or {})
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            h["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, r.headers, data

    def test_login_and_forms_through_nginx(self):
        origin = "https://127.0.0.1:%d" % self.https_port
        status, headers, _ = self.request("POST", "/desk/login",
                                          {"name": "ann", "password": PASSWORD},
                                          {"Origin": origin})
        self.assertEqual(status, 303)
        cookie = headers["Set-Cookie"]
        self.assertIn("; Secure", cookie)
        self.assertIn("HttpOnly", cookie)
        self.cookie = cookie.split(";")[0]
        status, headers, page = self.request("GET", "/desk/tickets/1")
        self.assertEqual(status, 200)
        self.assertIn("max-age", headers["Strict-Transport-Security"])
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        status, _, _ = self.request("POST", "/desk/tickets/1/note",
                                    {"text": "Through the proxy.", "csrf": csrf},
                                    {"Origin": origin})
        self.assertEqual(status, 303)
        self.assertEqual(self.show(1)["articles"][-1]["new_text"].strip(), "Through the proxy.")
        before = self.dump_store()
        status, _, _ = self.request("POST", "/desk/tickets/1/note", {"text": "x", "csrf": csrf},
                                    {"Origin": "https://evil.example"})
        self.assertEqual(status, 403)
        self.assertEqual(self.dump_store(), before)
        # A client cannot claim HTTPS on the plain side: nginx sends it to HTTPS.
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port_front, timeout=30)
        conn.request("GET", "/desk/", headers={"X-Forwarded-Proto": "https"})
        r = conn.getresponse()
        self.assertEqual(r.status, 301)
        self.assertTrue(r.headers["Location"].startswith("https://127.0.0.1/desk/"))
        conn.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
