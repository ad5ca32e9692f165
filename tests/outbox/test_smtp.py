"""Acknowledgements sent over SMTP to a sink on loopback: what docket sends
(envelope, headers, body), replies threading back, STARTTLS required by
default, AUTH, permanent and temporary failures, docket outbox retry/drop."""

import os
import re
import time
import unittest

from outboxtest import DOMAIN, SUPPORT, OutboxCase, customer_mail, parse

BOUNCE = re.compile(r"^bounces\+(\d+)\.[0-9a-f]{12}@" + re.escape(DOMAIN) + "$")
MSGID = re.compile(r"^<docket\.1\.[0-9a-f]+\.[0-9a-f]+@" + re.escape(DOMAIN) + ">$")


class SendTest(OutboxCase):
    def test_ack_headers_and_body(self):
        self.deliver_ok(customer_mail("=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>",
                                      "=?utf-8?q?Drucker_kaputt_=E2=80=93_bitte?=", "c1@example.org",
                                      headers="References: <c0@example.org>\n"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual(len(self.sink.messages), 1)
        mail_from, rcpts, data = self.sink.messages[0]
        self.assertRegex(mail_from, BOUNCE)
        self.assertEqual(rcpts, ["jm@example.org"])
        m = parse(data)
        self.assertEqual(m["From"].addresses[0].addr_spec, SUPPORT)
        self.assertEqual(m["To"].addresses[0].display_name, "Jürgen Müller")
        self.assertEqual(str(m["Subject"]), "[docket #1] Drucker kaputt – bitte")
        self.assertRegex(m["Message-ID"], MSGID)
        self.assertEqual(m["In-Reply-To"], "<c1@example.org>")
        self.assertEqual(m["References"].split(), ["<c0@example.org>", "<c1@example.org>"])
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        self.assertEqual(m["X-Loop"], SUPPORT)
        self.assertIsNotNone(m["Date"])
        # RFC 5322: raw headers are ASCII (RFC 2047 for the rest), CRLF on the wire
        head = data.split(b"\r\n\r\n", 1)[0]
        self.assertTrue(all(b < 0x80 for b in head))
        self.assertNotIn(b"\n", head.replace(b"\r\n", b""))
        body = m.get_body(("plain",)).get_content()
        self.assertIn("Hello Jürgen Müller", body)
        self.assertIn("[docket #1]", body)
        # the row, the outbound article, the Message-ID index, the event
        row = self.outbox()[0]
        self.assertEqual((row["state"], row["attempts"], row["kind"]), ("done", 1, "ack"))
        self.assertEqual(int(BOUNCE.match(mail_from).group(1)), row["id"])
        shown = self.show(1)
        sent = shown["articles"][1]
        self.assertEqual((sent["direction"], sent["evidence"], sent["to"]), ("outbound", "notification", "jm@example.org"))
        self.assertEqual("<%s>" % sent["message_id"], m["Message-ID"])
        self.assertIn(sent["message_id"], shown["message_ids"])
        self.assertEqual(len(self.events(1, "notification_sent")), 1)
        # nothing more is due
        self.assertEqual(self.run_once(), (0, 0, 0))

    def test_reply_to_notification_threads_back(self):
        self.deliver_ok(customer_mail("ann@example.org", "VPN down", "v1@example.org"))
        self.run_once()
        ack = parse(self.sink.messages[0][2])
        # A reply naming only the notification's Message-ID, no token.
        reply = customer_mail("ann@example.org", "Re: your automatic answer", "v2@example.org",
                              headers="In-Reply-To: %s\n" % ack["Message-ID"])
        self.deliver_ok(reply)
        self.assertEqual(len(self.tickets()), 1)
        articles = self.show(1)["articles"]
        self.assertEqual(len(articles), 3)
        self.assertEqual((articles[2]["message_id"], articles[2]["evidence"]), ("v2@example.org", "header"))
        # a reply on an existing ticket is not acknowledged again
        self.assertEqual(self.run_once(), (0, 0, 0))

    def test_no_header_injection(self):
        evil_name = "=?utf-8?q?Eve=0D=0ABcc:_victim@example.net?="
        evil_subject = "=?utf-8?q?Hi=0D=0ABcc:_victim@example.net=0D=0A=0D=0Abody?="
        self.deliver_ok(customer_mail("%s <eve@example.org>" % evil_name, evil_subject, "e1@example.org"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        data = self.sink.messages[0][2]
        m = parse(data)
        self.assertIsNone(m["Bcc"])
        self.assertNotRegex(data.decode("ascii", "replace"), r"(?mi)^bcc:")
        self.assertEqual(self.sink.messages[0][1], ["eve@example.org"])
        self.assertIn("victim@example.net", str(m["Subject"]))  # kept as text, on one line

    def test_permanent_failure_then_retry_and_drop(self):
        self.sink.rcpt_reply = lambda rcpt: "550 5.1.1 no such user"
        self.deliver_ok(customer_mail("gone@example.org", "Printer", "p1@example.org"))
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("550 5.1.1 no such user", row["last_error"])  # the relay's own words
        failed = self.events(1, "notification_failed")
        self.assertEqual(len(failed), 1)
        listed = self.docket("outbox", "list").stdout.decode().splitlines()
        self.assertRegex(listed[0], r"^transport: smtp smtp://127\.0\.0\.1:\d+$")
        row_line = [l for l in listed if l.split()[:1] == [str(row["id"])]][0]
        self.assertEqual(row_line.split()[5], "-")  # no next attempt for a failed row
        self.assertEqual(self.run_once(), (0, 0, 0))  # no more tries
        self.sink.rcpt_reply = None
        self.docket("outbox", "retry", str(row["id"]))
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual(len(self.sink.messages), 1)
        # a sent row cannot be retried; rows can be dropped; unknown ids are 66
        self.assertEqual(self.docket("outbox", "retry", str(row["id"]), check=False).returncode, 65)
        self.docket("outbox", "drop", str(row["id"]))
        self.assertEqual(self.outbox(), [])
        self.assertEqual(self.docket("outbox", "drop", "99", check=False).returncode, 66)

    def test_temporary_failure_backs_off(self):
        self.sink.data_reply = lambda f, r, d: "451 4.3.0 try again later"
        self.deliver_ok(customer_mail("bob@example.org", "Laptop", "l1@example.org"))
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertEqual((row["state"], row["attempts"]), ("pending", 1))
        self.assertIn("451", row["last_error"])
        self.assertGreaterEqual(row["next_attempt_at"], before + 60)  # retry_initial_seconds
        self.assertEqual(self.run_once(), (0, 0, 0))  # not due yet
        self.docket("outbox", "retry", str(row["id"]))
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertGreaterEqual(row["next_attempt_at"], before + 120)  # doubled
        self.sink.data_reply = None
        self.docket("outbox", "retry", str(row["id"]))
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual(len(self.sink.messages), 1)
        # every attempt carried the same Message-ID, fixed before the first
        self.assertEqual(parse(self.sink.messages[0][2])["Message-ID"].strip("<>"),
                         self.outbox()[0]["payload"]["sent_message_id"])


class RelayTest(OutboxCase):
    """An agent's reply to support only is relayed to the customer by the
    worker: a person's mail (no Auto-Submitted), threaded on the customer's
    message, and the customer's answer to it threads back."""

    def setUp(self):
        super().setUp()
        with open(self.config, "a") as f:
            f.write("[agents]\naddresses = agent@agents.example\nauthserv_id = mx.test.example\n")

    def test_agent_reply_relayed(self):
        self.deliver_ok(customer_mail("Ann <ann@example.org>", "VPN down", "v1@example.org"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        ack = parse(self.sink.messages[0][2])
        agent = customer_mail("Alex Agent <agent@agents.example>", "Re: [docket #1] VPN down", "ag1@agents.example",
                              body="Please restart the router.\n",
                              headers="In-Reply-To: %s\nAuthentication-Results: mx.test.example;"
                                      " dkim=pass header.d=agents.example\n" % ack["Message-ID"])
        self.deliver_ok(agent)
        self.assertEqual([r["kind"] for r in self.outbox("--state", "pending")], ["relay"])
        self.assertEqual(self.run_once(), (1, 0, 0))
        mail_from, rcpts, data = self.sink.messages[1]
        self.assertEqual(rcpts, ["ann@example.org"])
        self.assertRegex(mail_from, BOUNCE)
        m = parse(data)
        self.assertIsNone(m["Auto-Submitted"])
        self.assertEqual(m["In-Reply-To"], "<v1@example.org>")
        self.assertIn("[docket #1]", str(m["Subject"]))
        self.assertIn("Please restart the router.", m.get_body(("plain",)).get_content())
        self.assertEqual(len(self.show(1)["articles"]), 3)  # the agent's article is the relay
        # the customer answers the relayed mail: back on ticket 1
        self.deliver_ok(customer_mail("ann@example.org", "Re: VPN", "v2@example.org",
                                      headers="In-Reply-To: %s\n" % m["Message-ID"]))
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(self.show(1)["articles"][-1]["message_id"], "v2@example.org")


DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: %(bounce)s
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn1@mx.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; %(rcpt)s
Action: failed
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

Message-ID: %(mid)s
To: %(rcpt)s

--B--
"""


class BounceTest(OutboxCase):
    def test_bounce_comes_home_and_stops_acks(self):
        self.deliver_ok(customer_mail("gone@example.org", "Hello", "g1@example.org"))
        self.assertEqual(self.run_once(), (1, 0, 0))
        mail_from, _, data = self.sink.messages[0]
        dsn = DSN % {"bounce": mail_from, "rcpt": "gone@example.org", "mid": parse(data)["Message-ID"]}
        self.deliver_ok(dsn.encode(), "-f", "", "-r", mail_from)
        # the bounce threads onto the ticket and marks the address
        self.assertEqual(len(self.tickets()), 1)
        self.deliver_ok(customer_mail("gone@example.org", "Hello again", "g2@example.org"))
        self.assertEqual(self.events(2, "ack_suppressed")[0]["detail"]["reason"], "bouncing")
        self.assertEqual(self.run_once(), (0, 0, 0))


class TeamNoticeTest(OutboxCase):
    notify_text = "team_addresses = agents@example.net, support@help.example.com\n"

    def test_team_hears_of_every_new_ticket(self):
        for i in range(5):
            self.deliver_ok(customer_mail("Zoë <zoe@example.org>", "Issue %d" % i, "t%d@example.org" % i))
        # five acks would pass the limit of three; the team has no limit;
        # docket's own address in the team list gets nothing
        self.assertEqual(self.run_once(), (8, 0, 0))
        notices = [parse(d) for _, r, d in self.sink.messages if r == ["agents@example.net"]]
        self.assertEqual(len(notices), 5)
        self.assertEqual(notices[0]["Auto-Submitted"], "auto-generated")
        self.assertIn("New ticket in default", str(notices[0]["Subject"]))
        self.assertIn("Zoë <zoe@example.org>", notices[0].get_body(("plain",)).get_content())
        acks = [r for _, r, _ in self.sink.messages if r == ["zoe@example.org"]]
        self.assertEqual(len(acks), 3)
        self.assertEqual(self.events(5, "ack_suppressed")[0]["detail"]["reason"], "rate limit")


class StartTlsRequiredTest(OutboxCase):
    smtp_text = ""  # the default: STARTTLS required

    def test_refuses_to_send_in_clear(self):
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "s1@example.org"))
        self.assertEqual(self.run_once(), (0, 1, 0))
        self.assertEqual(self.sink.messages, [])
        self.assertEqual(self.outbox()[0]["state"], "pending")
        self.assertIn("does not offer STARTTLS", self.outbox()[0]["last_error"])
        self.assertIn("starttls = insecure-optional", self.outbox()[0]["last_error"])


class AuthTest(OutboxCase):
    sink_auth = True

    def setUp(self):
        super().setUp()
        secret = self.dir + "/smtp-password"
        with open(secret, "w") as f:
            f.write("s3cret\n")
        os.chmod(secret, 0o644)
        with open(self.config, "a") as f:
            f.write("user = docket\npassword_file = %s\n" % secret)
        self.secret = secret

    def test_auth_with_password_file(self):
        # A password others can read is refused when the configuration is
        # read, naming its line: the MTA keeps the mail meanwhile.
        check = self.docket("config", "check", check=False)
        self.assertEqual(check.returncode, 78)
        self.assertIn(b"[smtp] password_file: refusing secret file", check.stderr)
        self.assertIn(b"lets other users read it (chmod 600", check.stderr)
        proc = self.deliver(customer_mail("ann@example.org", "VPN", "a0@example.org"))
        self.assertEqual(proc.returncode, 75, proc.stderr)
        os.chmod(self.secret, 0o600)
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "a0@example.org"))
        self.deliver_ok(customer_mail("ann@example.org", "VPN", "a1@example.org"))
        self.assertEqual(self.run_once(), (2, 0, 0))
        self.assertEqual(self.sink.credentials, [("docket", "s3cret")] * 2)

    def test_inline_password_is_masked(self):
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("password_file = %s\n" % self.secret, "password = inline-s3cret\n"))
        dump = self.docket("config", "dump").stdout.decode()
        self.assertIn("password = ****", dump)
        self.assertNotIn("inline-s3cret", dump)


class NoAckTest(OutboxCase):
    """Mail that must never be answered: the reasons land on the ticket."""

    def suppressed(self, message, *args):
        self.deliver_ok(message, *args)
        number = self.tickets()[0]["number"]
        events = self.events(number, "ack_suppressed")
        self.assertEqual(len(events), 1)
        self.assertEqual(self.outbox(), [])
        self.docket("ticket", "list")
        return events[0]["detail"]["reason"] if isinstance(events[0]["detail"], dict) else events[0]["detail"]

    def test_auto_reply(self):
        # The writer drops an auto-reply that threads nowhere; either way
        # nothing answers it.
        self.deliver_ok(customer_mail("ooo@example.org", "Out of office", "o1@example.org",
                                      headers="Auto-Submitted: auto-replied\n"))
        self.assertEqual(self.outbox(), [])
        for t in self.tickets():
            self.assertEqual([e["detail"]["reason"] for e in self.events(t["number"], "ack_suppressed")],
                             ["auto-reply"])

    def test_bulk(self):
        reason = self.suppressed(customer_mail("news@example.org", "Newsletter", "n1@example.org",
                                               headers="Precedence: bulk\nList-Id: <news.example.org>\n"))
        self.assertIn("bulk", str(reason))

    def test_own_address(self):
        reason = self.suppressed(customer_mail(SUPPORT, "Loop?", "own1@example.org"))
        self.assertIn("own address", str(reason))

    def test_system_address(self):
        reason = self.suppressed(customer_mail("no-reply@example.org", "Your invoice", "nr1@example.org"))
        self.assertIn("system address", str(reason))

    def test_null_envelope_sender(self):
        reason = self.suppressed(customer_mail("someone@example.org", "Hello", "ns1@example.org"), "-f", "")
        self.assertIn("null envelope sender", str(reason))

    def test_imported_mail_is_history(self):
        mbox = self.dir + "/old.mbox"
        with open(mbox, "wb") as f:
            for i in range(2):
                f.write(b"From old@example.org Mon Jan  1 00:00:00 2024\n")
                f.write(customer_mail("old%d@example.org" % i, "Old %d" % i, "old%d@example.org" % i) + b"\n")
        self.docket("import", mbox)
        self.assertEqual(len(self.tickets()), 2)
        self.assertEqual(self.outbox(), [])
        self.assertEqual(self.events(1, "ack_suppressed"), [])

    def test_bouncing_address(self):
        import sqlite3
        self.docket("ticket", "list")  # creates the store
        with sqlite3.connect(self.data + "/docket.db") as db:
            db.execute("INSERT INTO bouncing_addresses (address, since, last_at)"
                       " VALUES ('dead@example.org', 0, strftime('%s', 'now'))")
        reason = self.suppressed(customer_mail("Dead@Example.org", "Hello", "b1@example.org"))
        self.assertIn("bouncing", str(reason))


if __name__ == "__main__":
    unittest.main()
