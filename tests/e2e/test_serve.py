"""docket serve end to end: the operations endpoint reports what the LMTP
listener did, and SIGTERM stops the server cleanly."""

import os
import signal
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import BINARY, DocketCase, free_port, wait_for_port  # noqa: E402
import lmtpclient  # noqa: E402


class ServeTest(DocketCase):
    def setUp(self):
        super().setUp()
        self.lmtp_port, self.http_port = free_port(), free_port()
        with open(self.config, "a") as f:
            f.write("[http]\nlisten = 127.0.0.1:%d\n" % self.http_port)
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp_port], stderr=self.log)
        wait_for_port(self.lmtp_port)
        wait_for_port(self.http_port)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        super().tearDown()

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http_port, path), timeout=10) as r:
            return r.status, r.read().decode()

    def test_health_metrics_and_stop(self):
        self.assertEqual(self.get("/healthz"), (200, "ok\n"))
        ok, = lmtpclient.send(self.lmtp_port, b"From: a@example.com\r\nSubject: m1\r\nMessage-ID: <m1@x>\r\n\r\nx\r\n",
                              ["support@example.com"], sender="a@example.com")
        self.assertTrue(ok.startswith("250 2.0.0"), ok)
        refused, = lmtpclient.send(self.lmtp_port, b"no headers at all\r\n", ["support@example.com"],
                                   sender="a@example.com")
        self.assertTrue(refused.startswith("554 5.6.0"), refused)
        status, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('docket_messages_accepted_total{intake="lmtp"} 1\n', body)
        self.assertIn('docket_messages_refused_total{intake="lmtp"} 1\n', body)
        self.assertIn("docket_commit_seconds_count 1\n", body)
        # The acknowledgement of the new ticket is queued, and the outbox
        # worker may already have written it to the Maildir.
        self.assertRegex(body, r"docket_outbox_depth [01]\n")
        with self.assertRaises(urllib.error.HTTPError) as missing:
            self.get("/nothing")
        self.assertEqual(missing.exception.code, 404)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=20), 0)
        self.assertEqual(len(self.tickets()), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
