"""Shared by the connector tests: a docket data directory with one
connector, mail for a whole conversation, and the outbox driven by
`docket outbox run --once` until it is empty."""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

from dockettest import BINARY, DocketCase  # noqa: E402,F401

SUPPORT = "support@help.example.com"
CUSTOMER = "alice@customer.example"
AGENT = "agent@agents.example"


def mail(frm, subject, message_id, body, headers=""):
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\n%s" %
            (frm, SUPPORT, subject, message_id, headers, body)).encode()


def conversation():
    """New ticket by mail, the customer's reply, the agent's reply (Cc the
    customer: no relay), the agent's internal note that resolves it."""
    return [
        mail("Alice <%s>" % CUSTOMER, "Printer offline on floor 2", "p1@customer.example",
             "The printer shows error 50.\n"),
        mail(CUSTOMER, "Re: Printer offline on floor 2", "p2@customer.example",
             "Still broken after a restart.\n", "In-Reply-To: <p1@customer.example>\n"),
        mail("Alex Agent <%s>" % AGENT, "Re: Printer offline on floor 2", "a1@agents.example",
             "Please replace the toner.\n",
             "Cc: %s\nIn-Reply-To: <p2@customer.example>\n" % CUSTOMER),
        mail("Alex Agent <%s>" % AGENT, "Re: Printer offline on floor 2", "a2@agents.example",
             "#internal\n#status resolved\nToner replaced on site.\n",
             "In-Reply-To: <a1@agents.example>\n"),
    ]


class ConnectorCase(DocketCase):
    """A docket with [connector:NAME] from connector_text() and the given
    credentials file; acknowledgements off (no mail in these tests)."""

    name = "desk"
    credentials = ""

    def connector_text(self):
        raise NotImplementedError

    def setUp(self):
        self.mock = self.make_mock()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        super().setUp()
        creds = os.path.join(self.dir, "credentials")
        with open(creds, "w") as f:
            f.write(self.credentials)
        with open(self.config, "a") as f:
            f.write("[threading]\ndomain = help.example.com\n"
                    "[notify]\nack = false\nretry_initial_seconds = 1\nretry_max_seconds = 2\n"
                    "[agents]\naddresses = %s\n"
                    "[connector:%s]\ncredentials_file = %s\ntimeout_seconds = 1\n%s" %
                    (AGENT, self.name, creds, self.connector_text()))

    def deliver_ok(self, message):
        proc = self.deliver(message)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def outbox(self, *args):
        return json.loads(self.docket("outbox", "list", "--json", *args).stdout)["outbox"]

    def run_once(self):
        """`docket outbox run --once`: (sent, deferred, failed)."""
        proc = self.docket("outbox", "run", "--once", check=False)
        words = proc.stdout.decode().replace(",", "").split()
        counts = int(words[1]), int(words[3]), int(words[5])
        self.assertEqual(proc.returncode, 1 if counts[2] else 0, proc.stderr)  # 1: a row failed
        return counts

    def drain(self, limit=30):
        """Runs the outbox until no row is pending; returns the rows."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            self.run_once()
            rows = self.outbox()
            if all(r["state"] != "pending" for r in rows):
                return rows
            time.sleep(0.5)
        self.fail("the outbox did not drain: %s" % self.outbox())

    def events(self, ticket, kind):
        return [e for e in self.show(ticket)["events"] if e["type"] == kind]
