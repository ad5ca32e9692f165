"""Point 7: nobody can mute a customer's notifications with a forged
bounce. The attack: any delivery report that named a docket Message-ID
marked its Final-Recipient as bouncing, so a stranger could stop the
acknowledgements and notices of any customer or of the team. A bounce now
counts only when it comes back to the VERP address of a notification
docket sent to that address; delay reports never count; marks expire
([notify] bounce_expiry_days) and `docket bounces` lists and clears them."""

import json
import os
import sqlite3
import time
import unittest

from seclib import DOMAIN, SUPPORT, DocketCase, mail, sent_mail

DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>
To: %(to)s
Subject: Undelivered Mail Returned to Sender
Message-ID: <%(id)s@mx.customer.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.example

Final-Recipient: rfc822; %(victim)s
Action: %(action)s
Status: %(status)s

--B
Content-Type: text/rfc822-headers

From: %(support)s
To: %(victim)s
Message-ID: <%(original)s>

--B--
"""


class BouncesTest(DocketCase):
    config_text = "[threading]\ndomain = %s\n[notify]\nfrom = %s\n" % (DOMAIN, SUPPORT)

    def ack_for(self, sender, n):
        """A ticket from sender and its acknowledgement as sent: (Message-ID,
        envelope sender)."""
        self.assertEqual(self.deliver(mail(sender, "printer %d" % n, "p%d@customer" % n)).returncode, 0)
        self.docket("outbox", "run", "--once")
        name, ack = sent_mail(self.data)[-1]
        self.assertEqual(ack["To"], sender)
        return ack["Message-ID"].strip("<>"), ack["Return-Path"].strip("<>")

    def bounce(self, to, original, victim, n, action="failed", status="5.1.1", recipient=None):
        raw = DSN % {"to": to, "id": "b%d" % n, "victim": victim, "action": action,
                     "status": status, "support": SUPPORT, "original": original}
        args = ["--recipient", recipient] if recipient else []
        proc = self.deliver(raw.encode(), *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def marks(self):
        return json.loads(self.docket("bounces", "list", "--json").stdout)["bounces"]

    def test_a_forged_report_naming_our_message_id_marks_nobody(self):
        message_id, verp = self.ack_for("ann@customer.example", 1)
        # Mallory writes a report naming docket's Message-ID and ann.
        self.bounce(SUPPORT, message_id, "ann@customer.example", 1)
        self.assertEqual(self.marks(), [])
        # Ann still hears from docket.
        self.ack_for("ann@customer.example", 2)

    def test_a_bounce_to_the_notification_s_own_address_marks_it(self):
        message_id, verp = self.ack_for("ann@customer.example", 1)
        self.assertRegex(verp, r"\+\d+\.[0-9a-f]{12}@")
        # A report reaching the VERP address, whatever recipient it names,
        # marks the address that notification went to.
        self.bounce(verp, message_id, "someone-else@customer.example", 2, recipient=verp)
        marks = self.marks()
        self.assertEqual([(m["address"], m["active"]) for m in marks],
                         [("ann@customer.example", True)])
        self.assertEqual(self.docket("bounces", "clear", "ann@customer.example").returncode, 0)
        self.assertEqual(self.marks(), [])

    def test_a_delay_report_marks_nobody(self):
        message_id, verp = self.ack_for("ann@customer.example", 1)
        self.bounce(verp, message_id, "ann@customer.example", 3, action="delayed",
                    status="4.4.7", recipient=verp)
        self.assertEqual(self.marks(), [])

    def test_marks_expire(self):
        with open(self.config, "a") as f:
            f.write("bounce_expiry_days = 1\n")
        self.ack_for("ann@customer.example", 1)
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            old = int(time.time()) - 2 * 86400
            db.execute("INSERT INTO bouncing_addresses (address, since, last_at) VALUES (?, ?, ?)",
                       ("ann@customer.example", old, old))
        self.assertEqual([m["active"] for m in self.marks()], [False])
        self.ack_for("ann@customer.example", 2)


if __name__ == "__main__":
    unittest.main()
