"""TLS to the relay: STARTTLS (RFC 3207) is used when required (the
default), the relay's certificate is verified unless the configuration
says insecure_skip_verify, and smtps:// speaks TLS from the start. The
sink's certificate is made for the test with openssl."""

import os
import shutil
import ssl
import subprocess
import unittest

from outboxtest import OutboxCase, customer_mail, parse


def make_context(folder):
    key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class TlsCase(OutboxCase):
    sink_started = False
    implicit = False

    def setUp(self):
        super().setUp()
        self.sink.tls = make_context(self.dir)
        self.sink.implicit_tls = self.implicit
        self.sink.start()

    def configure(self, text):
        with open(self.config, "a") as f:
            f.write(text)


class StartTlsTest(TlsCase):
    smtp_text = ""  # starttls = required, the default

    def test_starttls_with_verification_skipped(self):
        self.configure("insecure_skip_verify = true\n")
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "t1@example.org"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual(self.sink.secure, [True])
        self.assertEqual(parse(self.sink.messages[0][2])["To"], "ann@example.org")

    def test_unknown_certificate_is_refused(self):
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "t2@example.org"))
        self.assertEqual(self.run_once(), (0, 1, 0))
        self.assertEqual(self.sink.messages, [])
        self.assertEqual(self.outbox()[0]["state"], "pending")


class ImplicitTlsTest(TlsCase):
    smtp_text = "insecure_skip_verify = true\n"
    implicit = True

    def setUp(self):
        super().setUp()
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("url = smtp://", "url = smtps://"))

    def test_smtps(self):
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "t3@example.org"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual(self.sink.secure, [True])


if __name__ == "__main__":
    if shutil.which("openssl") is None:
        raise SystemExit(77)
    unittest.main()
