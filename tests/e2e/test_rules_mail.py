"""The mail a Sieve rule asks for: `redirect` (with and without :copy)
leaves through the outbox as the message received, under docket's loop
protection, and `ticket_template` picks the template of the ticket's
acknowledgement. The outbox sends to an SMTP sink on loopback."""

import email
import email.policy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "outbox"))
from dockettest import DocketCase  # noqa: E402
from smtpsink import Sink, free_port  # noqa: E402

SCRIPT = r'''require ["vnd.docket.ticket", "copy"];
if header :contains "subject" "invoice" {
    redirect :copy "billing@partner.example";
}
if header :contains "subject" "wrong desk" {
    redirect "other-desk@partner.example";
}
if header :contains "subject" "echo" {
    redirect :copy "support@example.com";
}
if address :domain "from" "vip.example" {
    ticket_template "vip-ack";
}
'''

VIP_ACK = """Subject: {{ticket.token}} Priority service: {{ticket.subject}}

Dear {{requester.name}}, your personal team has your request {{ticket.token}}.
"""


PIECE = 1024 * 1024  # how the store reads a large raw message back


def large_mail(size):
    """A message of about size bytes, CRLF line ends but for a few bare
    LF ones, with the CRLF at the end of the store's first piece cut
    between it and the next (its CR the piece's last byte)."""
    m = mail("Carl <carl@customer.example>", "Big invoice 9", "inv9@customer.example").replace(
        b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    line = 0
    while len(m) + 80 < PIECE - 1:
        m += b"%-64d%s\r\n" % (line, b"-" * 14 if line % 1000 else b"bare LF line\n")
        line += 1
    m += b"p" * (PIECE - 1 - len(m)) + b"\r\n"
    assert m[PIECE - 1:PIECE + 1] == b"\r\n"
    while len(m) < size:
        m += b"%-78d\r\n" % line
        line += 1
    return m


def mail(sender, subject, mid, headers=""):
    return ("From: %s\nTo: support@example.com\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\nThe text, with a line\r\nending in CRLF.\n"
            % (sender, subject, mid, headers)).encode()


class RulesMailTest(DocketCase):
    def setUp(self):
        self.port = free_port()
        self.sink = Sink(self.port)
        self.sink.start()
        self.addCleanup(self.sink.stop)
        super().setUp()
        script = os.path.join(self.dir, "rules.sieve")
        with open(script, "w") as f:
            f.write(SCRIPT)
        templates = os.path.join(self.dir, "templates")
        os.mkdir(templates)
        with open(os.path.join(templates, "vip-ack.txt"), "w") as f:
            f.write(VIP_ACK)
        with open(self.config, "a") as f:
            f.write("[rules]\nscript = %s\n[lmtp]\nrecipients = support@example.com\n"
                    "[threading]\ndomain = help.example.com\n"
                    "[notify]\ntemplates_dir = %s\nticket_link = https://desk.example.com/t/{{ticket.number}}\n"
                    "[smtp]\nurl = smtp://127.0.0.1:%d\n"
                    "starttls = insecure-none\n" % (script, templates, self.port))

    def outbox(self):
        return json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]

    def run_outbox(self, check=True):
        return self.docket("outbox", "run", "--once", check=check).stdout.decode()

    def sent_to(self, address):
        return [(frm, data) for frm, rcpts, data in self.sink.messages if rcpts == [address]]

    def test_redirects_leave_as_received(self):
        copy = mail("Carl <carl@customer.example>", "Your invoice 7", "inv7@customer.example")
        moved = mail("dora@customer.example", "Sorry, wrong desk", "wd1@customer.example")
        for m in (copy, moved):
            self.assertEqual(self.deliver(m).returncode, 0)
        # :copy keeps the ticket; a plain redirect cancels the keep: no ticket
        self.assertEqual([t["subject"] for t in self.tickets()], ["Your invoice 7"])
        kinds = sorted((r["kind"], r["target"]) for r in self.outbox())
        self.assertEqual(kinds, [("ack", "carl@customer.example"), ("redirect", "billing@partner.example"),
                                 ("redirect", "other-desk@partner.example")])
        self.assertIn("sent 3, deferred 0, failed 0", self.run_outbox())
        self.assertEqual({r["state"] for r in self.outbox()}, {"done"})  # none stays pending
        for address, original in (("billing@partner.example", copy), ("other-desk@partner.example", moved)):
            (envelope_from, data), = self.sent_to(address)
            self.assertRegex(envelope_from, r"^bounces\+\d+\.[0-9a-f]+@help\.example\.com$")
            head, _, rest = data.partition(b"\r\n")
            # docket's loop mark on top, then the message as received
            self.assertEqual(head, b"X-Loop: docket@help.example.com")
            self.assertEqual(rest.replace(b"\r\n", b"\n"), original.replace(b"\r\n", b"\n"))
        self.assertEqual(len(self.sink.messages), 3)
        # the moved message made no ticket, yet it is kept: set aside as discarded
        kept = json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]
        self.assertEqual([e["kind"] for e in kept], ["discarded"])

    def test_large_redirect_leaves_as_received(self):
        big = large_mail(PIECE + PIECE // 2)
        self.assertEqual(self.deliver(big).returncode, 0)
        self.assertIn("sent 2, deferred 0, failed 0", self.run_outbox())
        (_, data), = self.sent_to("billing@partner.example")
        # X-Loop on top, then every byte as received; on the wire every
        # line ends in CRLF (RFC 5321), the bare LF ones too
        wire = big.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.assertEqual(data, b"X-Loop: docket@help.example.com\r\n" + wire)

    def test_redirect_loops_are_refused(self):
        # mail that came round through docket's redirect once already
        looped = mail("carl@customer.example", "invoice again", "inv8@customer.example",
                      "X-Loop: docket@help.example.com\n")
        self.assertEqual(self.deliver(looped).returncode, 0)
        # and a redirect back to docket's own address
        self.assertEqual(self.deliver(mail("carl@customer.example", "echo", "e1@customer.example")).returncode, 0)
        self.run_outbox(check=False)  # exit 1: rows failed
        failed = {r["target"]: r["last_error"] for r in self.outbox() if r["kind"] == "redirect"}
        self.assertIn("redirected by docket before", failed["billing@partner.example"])
        self.assertIn("one of docket's own addresses", failed["support@example.com"])
        self.assertEqual({r["state"] for r in self.outbox() if r["kind"] == "redirect"}, {"failed"})
        self.assertEqual(self.sent_to("billing@partner.example"), [])
        self.assertEqual(self.sent_to("support@example.com"), [])

    def test_ticket_template_picks_the_acknowledgement(self):
        self.assertEqual(self.deliver(mail("Vera Vip <vera@vip.example>", "Help", "v1@vip.example")).returncode, 0)
        self.assertEqual(self.deliver(mail("Norm <norm@plain.example>", "Help", "n1@plain.example")).returncode, 0)
        self.assertIn("sent 2", self.run_outbox())
        (_, vip), = self.sent_to("vera@vip.example")
        (_, plain), = self.sent_to("norm@plain.example")
        vip = email.message_from_bytes(vip, policy=email.policy.default)
        plain = email.message_from_bytes(plain, policy=email.policy.default)
        self.assertEqual(str(vip["Subject"]), "[docket #1] Priority service: Help")
        self.assertIn("Dear Vera Vip, your personal team", vip.get_body(("plain",)).get_content())
        self.assertIn("Thank you for contacting", plain.get_body(("plain",)).get_content())
        # [notify] ticket_link is the templates' ticket.link
        self.assertIn("You can follow your request here:\nhttps://desk.example.com/t/2\n",
                      plain.get_body(("plain",)).get_content().replace("\r\n", "\n"))
        self.assertIn('<a href="https://desk.example.com/t/2">', plain.get_body(("html",)).get_content())


if __name__ == "__main__":
    unittest.main(verbosity=2)
