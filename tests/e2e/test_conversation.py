"""The conversation with the customer end to end: `docket serve` takes mail
over LMTP in the shapes real mail clients write (mailclients.py) and its
outbox sends to an SMTP sink on loopback. A customer writes with a PDF and
a colleague in Cc; an agent answers by mail with an image; the customer
and the colleague each get the answer, threaded on what they themselves
received, with the image; the colleague's answer lands on the ticket; the
stored files come back byte for byte."""

import email
import email.policy
import os
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "outbox"))
import lmtpclient  # noqa: E402
from dockettest import BINARY, DocketCase  # noqa: E402
from mailclients import (SECRET, apple_mail, gmail, outlook, reply_address,  # noqa: E402
                         thunderbird, with_files)
from smtpsink import Sink, free_port  # noqa: E402
from test_serve import wait_for_port  # noqa: E402

SUPPORT = "support@example.com"
CUSTOMER = "Dana Kunde <dana@customer.example>"
COLLEAGUE = "Bob Kollege <bob@customer.example>"
AGENT = "Alex Agent <agent@example.com>"
AUTH_PASS = ("Authentication-Results", "mx.example.com; dkim=pass (2048-bit key)"
             " header.d=example.com header.s=s1 header.b=abc; spf=pass smtp.mailfrom=agent@example.com")
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes((i * 7) % 256 for i in range(3000))


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def ids(value):
    return [v.strip("<>") for v in str(value or "").split()]


class ServeCase(DocketCase):
    """`docket serve` on a free LMTP port, its outbox sending to self.sink."""

    extra_config = ""
    notify_extra = ""

    def setUp(self):
        self.smtp_port, self.lmtp_port = free_port(), free_port()
        self.sink = Sink(self.smtp_port)
        self.sink.start()
        self.addCleanup(self.sink.stop)
        self.config_text = (
            "[lmtp]\nrecipients = %s\n"
            "[threading]\nsecret = %s\ndomain = help.example.com\nreply_addresses = true\n"
            "reply_address = %s\n"
            "[agents]\naddresses = agent@example.com\nauthserv_id = mx.example.com\n"
            "[notify]\nteam_addresses = team@example.com\npoll_seconds = 1\n"
            "retry_initial_seconds = 1\nretry_max_seconds = 2\n%s"
            "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n%s" %
            (SUPPORT, SECRET, SUPPORT, self.notify_extra, self.smtp_port, self.extra_config))
        super().setUp()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp_port], stderr=self.log)
        self.addCleanup(self.stop)
        wait_for_port(self.lmtp_port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.proc.wait(timeout=30), 0)
        self.log.close()

    def lmtp(self, message, rcpt=SUPPORT, sender="bounce@customer.example"):
        reply, = lmtpclient.send(self.lmtp_port, message, [rcpt], sender=sender)
        self.assertTrue(reply.startswith("250"), reply)

    def mail_to(self, count, timeout=60):
        """The first count messages the sink got, as (envelope recipients, message)."""
        self.assertGreaterEqual(self.sink.wait_for(count, timeout), count, self.sink.messages)
        return [(rcpts, parse(data)) for _, rcpts, data in self.sink.messages[:count]]

    def files(self, message):
        return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


class ConversationTest(ServeCase):
    def test_pdf_cc_and_image_reply_reach_everyone_threaded(self):
        original = "AM0PR07MB0001DANA@AM0PR07MB0001.eurprd07.prod.outlook.com"
        # The customer writes from Outlook, her colleague in Cc, a PDF attached.
        self.lmtp(with_files(outlook(CUSTOMER, "Support <%s>" % SUPPORT, "Drucker druckt nicht",
                                     "Hallo,\n\nder Drucker druckt nicht, Protokoll anbei.\n\nGruss\nDana",
                                     message_id=original, cc=COLLEAGUE),
                             [("druckerprotokoll.pdf", "application/pdf", PDF, None)]))
        first = dict((m["To"].addresses[0].addr_spec, (r, m)) for r, m in self.mail_to(2))
        ack_rcpts, ack = first["dana@customer.example"]
        _, notice = first["team@example.com"]
        self.assertEqual(ack_rcpts, ["dana@customer.example"])
        self.assertEqual(ack["From"].addresses[0].addr_spec, SUPPORT)  # where she wrote
        self.assertEqual(ack["Reply-To"].addresses[0].addr_spec, reply_address(1))
        self.assertEqual(ids(ack["In-Reply-To"]), [original])

        # The agent answers the team's notice from Thunderbird, quoting it,
        # with a screenshot shown inline.
        agent_reply = with_files(
            thunderbird(AGENT, SUPPORT, "Re: " + str(notice["Subject"]),
                        "Hallo Dana,\n\nbitte die Einstellung wie im Bild setzen.\n\nAlex",
                        in_reply_to=ids(notice["Message-ID"])[0], references=ids(notice["Message-ID"]),
                        quoted=("docket <docket@help.example.com>", str(notice["Subject"]),
                                "der Drucker druckt nicht, Protokoll anbei."),
                        extra=[AUTH_PASS]),
            [("einstellung.png", "image/png", PNG, "einstellung.png@agent.example")])
        self.lmtp(agent_reply, sender="agent@example.com")
        copies = {r[0]: (r, m) for r, m in self.mail_to(4)[2:]}
        self.assertEqual(sorted(copies), ["bob@customer.example", "dana@customer.example"])
        for address, (rcpts, m) in copies.items():
            # one copy each, the envelope to that one recipient alone
            self.assertEqual(rcpts, [address])
            self.assertEqual(m["To"].addresses[0].addr_spec, "dana@customer.example")
            self.assertEqual([a.addr_spec for a in m["Cc"].addresses], ["bob@customer.example"])
            self.assertEqual(m["From"].addresses[0].display_name, "Alex Agent via Support")
            self.assertEqual(m["From"].addresses[0].addr_spec, SUPPORT)
            self.assertEqual(m["Reply-To"].addresses[0].addr_spec, reply_address(1))
            self.assertIn("[docket #1]", str(m["Subject"]))
            self.assertIsNone(m["Auto-Submitted"])  # a person wrote it
            text = m.get_body(("plain",)).get_content()
            self.assertIn("bitte die Einstellung wie im Bild setzen", text)
            self.assertNotIn("Protokoll anbei", text)  # not the history docket sent
            self.assertNotIn("wrote:", text)
            self.assertEqual(self.files(m), {"einstellung.png": PNG})
            # threaded on what this recipient received: the customer's mail
            self.assertEqual(ids(m["In-Reply-To"]), [original])
            refs = ids(m["References"])
            self.assertNotIn(ids(notice["Message-ID"])[0], refs)  # the team's, not theirs
            self.assertNotIn(ids(agent_reply_id(agent_reply))[0], refs)  # the agent's own mail
        self.assertIn(ids(ack["Message-ID"])[0], ids(copies["dana@customer.example"][1]["References"]))
        self.assertNotIn(ids(ack["Message-ID"])[0], ids(copies["bob@customer.example"][1]["References"]))
        self.assertEqual(self.show(1)["ticket"]["status"], "waiting")

        # The colleague answers his copy from Apple Mail, to the reply
        # address and to Dana: it lands on the ticket, which opens again,
        # and the team (nobody is assigned) hears of it.
        bob_copy = copies["bob@customer.example"][1]
        self.lmtp(apple_mail(COLLEAGUE, "%s, %s" % (reply_address(1), CUSTOMER), "Re: " + str(bob_copy["Subject"]),
                             "Bei mir druckt er jetzt wieder.",
                             in_reply_to=ids(bob_copy["Message-ID"])[0],
                             references=ids(bob_copy["References"]) + ids(bob_copy["Message-ID"]),
                             quoted=(str(bob_copy["From"]), str(bob_copy["Subject"]), "bitte die Einstellung")),
                  rcpt=reply_address(1), sender="bob@customer.example")
        doc = self.show(1)
        self.assertEqual(len(self.tickets()), 1)
        bob = doc["articles"][-1]
        self.assertEqual((bob["from"], bob["direction"], bob["evidence"]),
                         ("bob@customer.example", "inbound", "header"))
        self.assertEqual(doc["ticket"]["status"], "open")
        self.assertIn({"address": "bob@customer.example", "role": "cc"}, doc["ticket"]["participants"])
        rcpts, told = self.mail_to(5)[4]
        self.assertEqual(rcpts, ["team@example.com"])
        self.assertIn("bob@customer.example replied", told.get_body(("plain",)).get_content())

        # Every stored file comes back exactly as it was received.
        stored = {a["filename"]: a for art in doc["articles"] for a in art["attachments"]}
        self.assertEqual(sorted(stored), ["druckerprotokoll.pdf", "einstellung.png"])
        self.assertTrue(stored["einstellung.png"]["inline"])
        self.assertEqual(stored["einstellung.png"]["content_id"], "einstellung.png@agent.example")
        for name, data in (("druckerprotokoll.pdf", PDF), ("einstellung.png", PNG)):
            out = os.path.join(self.dir, name)
            self.docket("attachment", "get", str(stored[name]["id"]), "-o", out)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), data)
            # written beside it and renamed over it: nothing else is left
            self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(name)], [name])
            self.docket("attachment", "get", str(stored[name]["id"]), "-o", out)  # over it
            with open(out, "rb") as f:
                self.assertEqual(f.read(), data)
            self.assertEqual(self.docket("attachment", "get", str(stored[name]["id"])).stdout, data)
        self.assertEqual(len(self.sink.messages), 5)  # nothing else went out


def agent_reply_id(message):
    return email.message_from_bytes(message)["Message-ID"]


class AgentClientsTest(ServeCase):
    """Each client's quoting: the relayed text is the agent's own."""

    extra_config = "[desk]\nreply_status = none\n"

    def test_quoted_history_is_never_relayed(self):
        original = "CADana0001@mail.gmail.com"
        self.lmtp(gmail(CUSTOMER, SUPPORT, "VPN geht nicht", "Der VPN-Tunnel bricht ab, Fehler 809.",
                        message_id=original))
        self.mail_to(2)  # the acknowledgement and the team's notice
        shapes = [("outlook", outlook, "RE: [docket #1] VPN geht nicht"),
                  ("gmail", gmail, "Re: [docket #1] VPN geht nicht"),
                  ("apple", apple_mail, "Re: [docket #1] VPN geht nicht")]
        for n, (name, client, subject) in enumerate(shapes):
            self.lmtp(client(AGENT, SUPPORT, subject, "Antwort aus %s: bitte neu verbinden." % name,
                             in_reply_to=original, quoted=(CUSTOMER, "VPN geht nicht",
                                                           "Der VPN-Tunnel bricht ab, Fehler 809."),
                             extra=[AUTH_PASS]), sender="agent@example.com")
            rcpts, relayed = self.mail_to(3 + n)[2 + n]
            self.assertEqual(rcpts, ["dana@customer.example"])
            text = relayed.get_body(("plain",)).get_content()
            self.assertIn("Antwort aus %s" % name, text, name)
            self.assertNotIn("Fehler 809", text, name)
            self.assertEqual(ids(relayed["In-Reply-To"]), [original], name)


class LimitTest(ServeCase):
    """An agent's mailed reply whose files are over the limit is refused at
    the door: the agent's mail server bounces it with the reason."""

    notify_extra = "attachment_max_size = 2K\n"

    def test_oversized_reply_is_refused(self):
        self.lmtp(gmail(CUSTOMER, SUPPORT, "Log", "Here.", message_id="CADana0002@mail.gmail.com"))
        self.mail_to(2)
        # The notifications' own articles are written by the outbox just
        # after it sends them: left out, they cannot race the comparison.
        def mail_articles(doc):
            return [a for a in doc["articles"] if a["evidence"] != "notification"]
        before = mail_articles(self.show(1))
        reply = with_files(gmail(AGENT, SUPPORT, "Re: [docket #1] Log", "The whole dump.",
                                 in_reply_to="CADana0002@mail.gmail.com", extra=[AUTH_PASS]),
                           [("dump.bin", "application/octet-stream", PDF, None)])
        refused, = lmtpclient.send(self.lmtp_port, reply, [SUPPORT], sender="agent@example.com")
        self.assertTrue(refused.startswith("550"), refused)
        self.assertIn("dump.bin is %d bytes, over [notify] attachment_max_size (2048 bytes)" % len(PDF),
                      refused)
        doc = self.show(1)
        self.assertEqual(mail_articles(doc), before)  # nothing stored
        self.assertEqual(doc["ticket"]["status"], "new")
        # without the file it goes through
        self.lmtp(gmail(AGENT, SUPPORT, "Re: [docket #1] Log", "The dump is too large to send.",
                        in_reply_to="CADana0002@mail.gmail.com", extra=[AUTH_PASS]), sender="agent@example.com")
        rcpts, relayed = self.mail_to(3)[2]
        self.assertEqual(rcpts, ["dana@customer.example"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
