"""Shared by the outbox tests: a docket data directory configured to send
through an SMTP sink on loopback, customer mail, and the outbox as JSON."""

import email
import email.policy
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

from dockettest import BINARY, DocketCase  # noqa: E402,F401
from smtpsink import Sink, free_port  # noqa: E402

DOMAIN = "help.example.com"
SUPPORT = "support@" + DOMAIN


def customer_mail(frm, subject, message_id, body="Hello, something is broken.\n", headers=""):
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\n%s" %
            (frm, SUPPORT, subject, message_id, headers, body)).encode()


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


class OutboxCase(DocketCase):
    """A docket that sends through self.sink (started unless sink_started
    is False) with STARTTLS off, as a loopback test must."""

    smtp_text = "starttls = insecure-none\n"
    notify_text = ""
    sink_started = True
    sink_auth = False

    def setUp(self):
        self.port = free_port()
        self.sink = Sink(self.port, auth=self.sink_auth)
        if self.sink_started:
            self.sink.start()
        self.config_text = ("[threading]\ndomain = %s\n[notify]\nfrom = %s\n%s"
                            "[smtp]\nurl = smtp://127.0.0.1:%d\n%s" %
                            (DOMAIN, SUPPORT, self.notify_text, self.port, self.smtp_text))
        super().setUp()

    def tearDown(self):
        self.sink.stop()
        super().tearDown()

    def outbox(self, *args):
        return json.loads(self.docket("outbox", "list", "--json", *args).stdout)["outbox"]

    def run_once(self):
        """`docket outbox run --once`; returns (sent, deferred, failed)."""
        proc = self.docket("outbox", "run", "--once", check=False)
        words = proc.stdout.decode().replace(",", "").split()
        counts = int(words[1]), int(words[3]), int(words[5])
        # exit 1 when a row failed for good
        self.assertEqual(proc.returncode, 1 if counts[2] else 0, proc.stderr)
        return counts

    def deliver_ok(self, message, *args):
        proc = self.deliver(message, *args)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def events(self, ticket, kind):
        return [e for e in self.show(ticket)["events"] if e["type"] == kind]

    def wait_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.2)
        return predicate()
