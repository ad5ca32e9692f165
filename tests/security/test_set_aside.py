"""Point 2: nothing accepted disappears. The lost mail: an auto-reply, a
message the rules discarded, a bounce naming no ticket and held mail were
acknowledged and then could not be found by any command. Every message
that becomes no article is kept in the quarantine with its kind, reason
and raw size; `docket quarantine` lists, shows, reprocesses and releases
it, and /metrics counts it per reason."""

import json
import os
import re
import subprocess
import unittest
import urllib.request

from seclib import BINARY, TrustCase, free_port, mail, wait_for_port

BOUNCE = """From: MAILER-DAEMON@mx.example.net
To: support@help.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <b1@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Delivery failed.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; gone@customer.example
Action: failed
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

Message-ID: <never-ours@elsewhere.example>
From: someone@elsewhere.example

--B--
"""


class SetAsideTest(TrustCase):
    def setUp(self):
        super().setUp()
        self.rules('if header :contains "subject" "lottery" {\n  discard;\n}\n',
                   "[limits]\nsender_per_hour = 1\nsender_action = hold\n")

    def entries(self):
        return json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]

    def deliver_all(self):
        raws = {
            "auto_reply": mail("ann@customer.example", "Out of Office: away", "o1@customer",
                               headers="Auto-Submitted: auto-replied\n"),
            "discarded": mail("spam@lottery.example", "You won the lottery", "l1@lottery"),
            "bounce": BOUNCE.encode(),
            "held": mail("flood@customer.example", "second", "f2@customer"),
        }
        self.assertEqual(self.deliver(mail("flood@customer.example", "first",
                                           "f1@customer")).returncode, 0)
        for kind, raw in raws.items():
            proc = self.deliver(raw)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        return raws

    def test_set_aside_is_logged_in_docket_format(self):
        # deliver's stderr is the MTA's (its line goes to syslog only), so
        # the line is read from a reprocess, which runs the same pipeline.
        self.deliver_all()
        for entry in self.entries():
            if entry["kind"] == "held":
                continue
            proc = self.docket("quarantine", "reprocess", str(entry["id"]))
            self.assertRegex(proc.stderr.decode(),
                             r"docket\[\d+\]: info writer message_id=\S+ event=set_aside "
                             r"reason=%s quarantine=\d+ size=%d" % (entry["kind"], entry["size"]))

    def test_every_message_without_an_article_is_listed(self):
        raws = self.deliver_all()
        entries = {e["kind"]: e for e in self.entries()}
        self.assertEqual(sorted(entries), sorted(raws))
        for kind, raw in raws.items():
            self.assertEqual(entries[kind]["size"], len(raw))
            self.assertTrue(entries[kind]["reason"])
        self.assertIn("line 2", entries["discarded"]["reason"])
        shown = self.docket("quarantine", "show", str(entries["discarded"]["id"]), "--raw").stdout
        self.assertEqual(shown, raws["discarded"])

    def test_release_makes_an_article(self):
        self.deliver_all()
        entry = next(e for e in self.entries() if e["kind"] == "auto_reply")
        before = len(self.tickets())
        self.docket("quarantine", "release", str(entry["id"]))
        self.assertEqual(len(self.tickets()), before + 1)
        self.assertNotIn(entry["id"], [e["id"] for e in self.entries()])
        # reprocess without release keeps the entry: it is set aside again.
        entry = next(e for e in self.entries() if e["kind"] == "discarded")
        self.docket("quarantine", "reprocess", str(entry["id"]))
        self.assertIn(entry["id"], [e["id"] for e in self.entries()])

    def test_metrics_count_per_reason(self):
        self.deliver_all()
        lmtp, http = free_port(), free_port()
        with open(self.config, "a") as f:
            f.write("[http]\nlisten = 127.0.0.1:%d\n" % http)
        log = open(os.path.join(self.dir, "serve.log"), "wb")
        proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                 "127.0.0.1:%d" % lmtp], stderr=log)
        try:
            wait_for_port(http, 60)
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=60) as r:
                body = r.read().decode()
        finally:
            proc.kill()
            proc.wait()
            log.close()
        for kind in ("auto_reply", "discarded", "bounce", "held"):
            self.assertRegex(body, r'docket_set_aside_messages\{reason="%s"\} 1\n' % re.escape(kind))


if __name__ == "__main__":
    unittest.main()
