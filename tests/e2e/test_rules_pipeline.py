"""The [rules] Sieve script in the pipeline: routing, tagging, ticket
actions, correlation, discard and reject, and a broken script refused."""

import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import BINARY, DocketCase  # noqa: E402
import lmtpclient  # noqa: E402

SCRIPT = r'''require ["fileinto", "imap4flags", "vnd.docket.ticket", "variables", "reject", "envelope"];
if header :contains "subject" "URGENT" {
    ticket_priority "high";
    addflag "urgent";
}
if address :domain "from" "spam.example" {
    discard;
    stop;
}
if address :is "from" "blocked@example.com" {
    reject "not welcome here";
    stop;
}
if header :matches "subject" "ALERT * is down" {
    ticket_correlate "${1}";
    ticket_field "device" "${1}";
    fileinto "monitoring";
}
if header :contains "subject" "invoice" {
    fileinto "billing";
    ticket_assign "anna@example.com";
}
'''


def mail(sender, subject, mid, body="Hello.\n"):
    return ("From: %s\nTo: support@example.com\nSubject: %s\nMessage-ID: <%s>\n\n%s"
            % (sender, subject, mid, body))


class RulesPipelineTest(DocketCase):
    def setUp(self):
        super().setUp()
        self.script = os.path.join(self.dir, "rules.sieve")
        with open(self.script, "w") as f:
            f.write(SCRIPT)
        with open(self.config, "a") as f:
            f.write("[rules]\nscript = %s\n" % self.script)

    def by_subject(self):
        return {t["subject"]: t for t in self.tickets()}

    def test_actions(self):
        for m in (mail("a@example.com", "URGENT: printer", "r1@x"),
                  mail("b@example.com", "Your invoice 42", "r2@x"),
                  mail("mon@example.com", "ALERT db01 is down", "r3@x"),
                  mail("mon@example.com", "ALERT db01 is down", "r4@x", "Still down.\n"),
                  mail("mon@example.com", "ALERT web02 is down", "r5@x"),
                  mail("x@spam.example", "cheap pills", "r6@x")):
            proc = self.deliver(m)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        tickets = self.by_subject()
        self.assertEqual(sorted(tickets), ["ALERT db01 is down", "ALERT web02 is down",
                                           "URGENT: printer", "Your invoice 42"])
        urgent = self.show(tickets["URGENT: printer"]["number"])
        self.assertEqual(urgent["ticket"]["priority"], "high")
        self.assertEqual(urgent["ticket"]["tags"], ["urgent"])
        fired = [e for e in urgent["events"] if e["type"] == "rule_fired"]
        self.assertEqual(len(fired), 1)
        self.assertEqual([a["type"] for a in fired[0]["detail"]["actions"]],
                         ["ticket_priority", "addflag"])
        invoice = self.show(tickets["Your invoice 42"]["number"])["ticket"]
        self.assertEqual((invoice["queue"], invoice["assignee"]), ("billing", "anna@example.com"))
        # Two alerts for one device: one ticket, two articles.
        db = self.show(tickets["ALERT db01 is down"]["number"])
        self.assertEqual(db["ticket"]["articles"], 2)
        self.assertEqual(db["articles"][1]["evidence"], "correlation")
        self.assertEqual(db["ticket"]["fields"], {"device": "db01"})
        self.assertEqual(db["ticket"]["queue"], "monitoring")

    def test_reject(self):
        proc = self.deliver(mail("blocked@example.com", "hi", "j1@x"))
        self.assertEqual(proc.returncode, 65)
        self.assertIn(b"not welcome here", proc.stderr)
        self.assertEqual(self.tickets(), [])

    def test_broken_script_keeps_mail_waiting(self):
        with open(self.script, "a") as f:
            f.write('if header :is "subject" {\n')
        proc = self.deliver(mail("a@example.com", "hello", "b1@x"))
        self.assertEqual(proc.returncode, 75, proc.stderr)
        self.assertIn(b"rules.sieve:", proc.stderr)
        check = self.docket("config", "check", check=False)
        self.assertEqual(check.returncode, 78)
        serve = self.docket("serve", "--listen", "127.0.0.1:0", check=False)
        self.assertEqual(serve.returncode, 78)
        self.assertIn(b"rules.sieve:", serve.stderr)


    def test_sighup_keeps_the_old_script_when_the_new_one_is_broken(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = open(os.path.join(self.dir, "serve.log"), "wb")
        proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen", "127.0.0.1:%d" % port],
                                stderr=log)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    self.assertLess(time.time(), deadline, "serve never listened")
                    time.sleep(0.05)
            with open(self.script) as f:
                good = f.read()
            with open(self.script, "a") as f:
                f.write('if header :is "subject" {\n')  # broken from here on
            proc.send_signal(signal.SIGHUP)
            time.sleep(1.0)
            reply, = lmtpclient.send(port, mail("a@example.com", "URGENT: after reload", "h1@x").encode(),
                                     ["support@example.com"], sender="a@example.com")
            self.assertTrue(reply.startswith("250"), reply)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()
        with open(os.path.join(self.dir, "serve.log"), "rb") as f:
            log = f.read()
        # The validator refuses the whole file, naming the script's line.
        self.assertIn(b"event=reload result=failed keeping=previous", log)
        self.assertIn(b"[rules] script: %s:24:1:" % self.script.encode(), log)
        # Every command validates the file: mend the script to read tickets.
        with open(self.script, "w") as f:
            f.write(good)
        ticket = self.by_subject()["URGENT: after reload"]
        self.assertEqual(ticket["priority"], "high")  # the old script still ran


if __name__ == "__main__":
    unittest.main(verbosity=2)
