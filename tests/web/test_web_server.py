"""docket serve's web server: HTTPS with [http] tls_certificate and
tls_key, and, secure by default, no API (no passwords or tokens) over plain
HTTP beyond loopback unless [http] insecure_plain says so; /healthz and
/metrics are served either way."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import unittest

from apiclient import Client, Spec  # noqa: F401 (puts tests/e2e on the path)
from dockettest import BINARY, DocketCase, free_port, wait_for_port


class ServeCase(DocketCase):
    def serve(self, listen_host="127.0.0.1"):
        self.port, lmtp = free_port(), free_port()
        self.configure("[http]\nlisten = %s:%d\n" % (listen_host, self.port))
        self.extra_http()
        self.docket("user", "add", "alice", "--role", "agent")
        self.token = self.docket("user", "token", "alice").stdout.decode().strip()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % lmtp], stderr=self.log)
        self.addCleanup(self.stop)
        wait_for_port(self.port, 60)

    def extra_http(self):
        pass

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()

    def get(self, path, conn):
        conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = conn.getresponse()
        return r.status, r.read()


class TlsTest(ServeCase):
    def extra_http(self):
        self.cert = os.path.join(self.dir, "web.pem")
        self.key = os.path.join(self.dir, "web.key")
        if shutil.which("openssl") is None:
            self.skipTest("openssl is not installed")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True, timeout=120)
        os.chmod(self.key, 0o600)
        self.configure("tls_certificate = %s\ntls_key = %s\n" % (self.cert, self.key))

    def test_https(self):
        self.serve()
        context = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=60)
        self.assertEqual(self.get("/healthz", conn), (200, b"ok\n"))
        status, body = self.get("/api/v1/me", conn)
        self.assertEqual((status, json.loads(body)["name"]), (200, "alice"))
        conn.close()
        # Plain HTTP to the TLS port gets no HTTP answer.
        plain = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.get("/healthz", plain)
        plain.close()

    def test_key_without_certificate_is_refused(self):
        self.configure("[http]\n")
        self.extra_http()
        self.configure("tls_certificate =\n")
        proc = self.docket("config", "check", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"tls_certificate and tls_key", proc.stderr + proc.stdout)


class PlainBeyondLoopbackTest(ServeCase):
    def test_no_api_without_tls(self):
        self.serve("0.0.0.0")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.assertEqual(self.get("/healthz", conn), (200, b"ok\n"))
        self.assertEqual(self.get("/api/v1/me", conn)[0], 404)
        conn.close()
        with open(os.path.join(self.dir, "serve.log"), "rb") as f:
            self.assertIn(b"event=web_off", f.read())


class InsecurePlainTest(ServeCase):
    def extra_http(self):
        self.configure("insecure_plain = true\n")

    def test_insecure_plain_serves_the_api_and_says_so(self):
        self.serve("0.0.0.0")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.assertEqual(self.get("/api/v1/me", conn)[0], 200)
        conn.close()
        check = self.docket("config", "check", check=False)
        self.assertIn(b"insecure: [http] insecure_plain", check.stdout + check.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
