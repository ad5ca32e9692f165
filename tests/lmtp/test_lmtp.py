"""docket serve over LMTP (RFC 2033), driven by a scripted client: mixed
recipient results with one reply per recipient after DATA, pipelining, size
limits, RSET, bad sequences and syntax, line-end and dot-stuffing handling,
dropped clients, duplicates, a Unix socket, the connection limit, signals
and the idle timeout. The store is checked with `docket ticket ... --json`."""

import os
import signal
import socket
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmtptest import CRLF, Client, LmtpCase, dot_stuff, message, spool_fds  # noqa: E402

RECIPIENTS = """\
recipients = support@example.test, *@help.example.test
max_recipients = 3
"""


class RecipientTest(LmtpCase):
    def test_mixed_results_one_reply_per_accepted_recipient(self):
        server = self.serve(RECIPIENTS)
        with server.client() as c:
            lhlo = c.greet()
            self.assertEqual(lhlo.code, 250)
            self.assertEqual(lhlo.lines[0], "250-docket.test")
            keywords = [line[4:].split(" ")[0] for line in lhlo.lines[1:]]
            for k in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"):
                self.assertIn(k, keywords)
            self.assertIn("250 SIZE 67108864", lhlo.lines)
            rcpt, data = c.transaction("alice@example.com", [
                "support@example.test",      # listed
                "nobody@example.test",        # unknown
                "Billing@HELP.example.test",  # *@domain, any case
                "ops@help.example.test",
                "more@help.example.test",     # over max_recipients
                "nobody@elsewhere.test",      # still over the limit: 452 first
            ], message("mixed@example.com"))
            self.assertEqual([(r.code, r.status) for r in rcpt], [
                (250, "2.1.5"), (550, "5.1.1"), (250, "2.1.5"), (250, "2.1.5"),
                (452, "4.5.3"), (452, "4.5.3")])
            self.assertIn("nobody@example.test", rcpt[1].text)
            self.assertEqual(len(data), 3)
            for r in data:
                self.assertEqual(r.code, 250)
                self.assertEqual(r.status, "2.0.0")
                self.assertIn("<mixed@example.com>", r.text)
                self.assertIn("ticket 1 created", r.text)
            # Nothing more is pending: the next reply is QUIT's.
            self.assertEqual(c.cmd("QUIT").code, 221)
            self.assertTrue(c.at_eof())
        tickets = self.tickets()
        self.assertEqual(len(tickets), 1)
        doc = self.show(tickets[0]["number"])
        self.assertEqual(doc["ticket"]["subject"], "Printer on fire")
        self.assertEqual(doc["articles"][0]["message_id"], "mixed@example.com")
        self.assertEqual(doc["events"][0]["detail"]["intake"], "lmtp")
        # One log line for the message, naming sender and recipients.
        server.wait_log("event=message")
        line = [x for x in server.log().splitlines() if "event=message" in x][0]
        self.assertIn("from=<alice@example.com>", line)
        self.assertIn("rcpts=support@example.test,Billing@HELP.example.test,ops@help.example.test", line)
        self.assertIn("outcome=created", line)
        # And a line for each refused recipient, with the reason.
        refused = [x for x in server.log().splitlines() if "event=rcpt result=refused" in x]
        self.assertEqual(len(refused), 3, refused)
        self.assertIn('to=<nobody@example.test> reason="not in [lmtp] recipients" '
                      'reply="550 5.1.1 <nobody@example.test> User unknown"', refused[0])
        self.assertIn('to=<more@help.example.test> reason="more than [lmtp] max_recipients" '
                      'reply="452 4.5.3 Too many recipients"', refused[1])
        self.assertIn("to=<nobody@elsewhere.test>", refused[2])

    def test_refused_rcpt_out_of_sequence_or_syntax_is_logged(self):
        server = self.serve(RECIPIENTS)
        with server.client() as c:
            c.greet()
            self.assertEqual(c.cmd("RCPT TO:<support@example.test>").code, 503)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:support@example.test junk").code // 100, 5)
            self.assertEqual(c.cmd("QUIT").code, 221)
        server.wait_log("event=disconnect")
        refused = [x for x in server.log().splitlines() if "event=rcpt result=refused" in x]
        self.assertEqual(len(refused), 2, refused)
        self.assertIn('to=<support@example.test> reason="out of sequence" reply="503 5.5.1', refused[0])
        self.assertIn('to=<> reason="syntax" reply="5', refused[1])

    def test_no_accepted_recipient(self):
        server = self.serve(RECIPIENTS)
        with server.client() as c:
            c.greet()
            self.assertEqual(c.cmd("MAIL FROM:<>").code, 250)  # null sender, a bounce
            self.assertEqual(c.cmd("RCPT TO:<x@nowhere.test>").code, 550)
            r = c.cmd("DATA")
            self.assertEqual(r.code // 100, 5)
            self.assertNotEqual(r.code, 354)
            # The transaction is still open; RSET closes it.
            self.assertEqual(c.cmd("RSET").code, 250)
        self.assertEqual(self.tickets(), [])


class PipeliningTest(LmtpCase):
    def test_two_transactions_in_one_send(self):
        server = self.serve()
        one = message("pipe1@example.com", subject="First")
        two = message("pipe2@example.com", subject="Second")
        with server.client() as c:
            c.send(b"LHLO client.test\r\n"
                   b"MAIL FROM:<alice@example.com> SIZE=%d BODY=8BITMIME\r\n"
                   b"RCPT TO:<support@example.test>\r\nRCPT TO:<sales@example.test>\r\n"
                   b"DATA\r\n%s"
                   b"MAIL FROM:<bob@example.com>\r\nRCPT TO:<support@example.test>\r\n"
                   b"DATA\r\n%s"
                   b"NOOP\r\nQUIT\r\n" % (len(one), dot_stuff(one), dot_stuff(two)))
            replies = c.replies(13)
            self.assertEqual([r.code for r in replies],
                             [220, 250, 250, 250, 250, 354, 250, 250, 250, 250, 354, 250, 250])
            self.assertIn("pipe1@example.com", replies[6].text)
            self.assertIn("pipe1@example.com", replies[7].text)
            self.assertIn("pipe2@example.com", replies[11].text)
            self.assertEqual(c.reply().code, 221)
            self.assertTrue(c.at_eof())
        subjects = sorted(t["subject"] for t in self.tickets())
        self.assertEqual(subjects, ["First", "Second"])

    def test_byte_at_a_time(self):
        """Commands split anywhere across reads still parse."""
        server = self.serve()
        with server.client() as c:
            payload = (b"LHLO slow.test\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<s@example.test>\r\nDATA\r\n"
                       + dot_stuff(message("slow@example.com", body=".x\r\ny\r\n")) + b"QUIT\r\n")
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(0, len(payload), 7):
                c.send(payload[i:i + 7])
                time.sleep(0.001)
            self.assertEqual([r.code for r in c.replies(7)], [220, 250, 250, 250, 354, 250, 221])
        doc = self.show(1)
        self.assertEqual(doc["articles"][0]["text"], ".x\ny\n")


class SizeTest(LmtpCase):
    CONFIG = "[intake]\nmax_message_size = 4K\n"

    def test_size_parameter_over_the_limit(self):
        server = self.serve(self.CONFIG)
        with server.client() as c:
            lhlo = c.greet()
            self.assertIn("250 SIZE 4096", lhlo.lines)
            r = c.cmd("MAIL FROM:<alice@example.com> SIZE=4097")
            self.assertEqual((r.code, r.status), (552, "5.3.4"))
            # No transaction was opened.
            self.assertEqual(c.cmd("RCPT TO:<s@example.test>").code, 503)
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.com> SIZE=4096").code, 250)
            self.assertEqual(c.cmd("RSET").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.com> SIZE=12x").code, 501)
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.com> SIZE=99999999999999999999999").code, 501)

    def test_data_at_the_limit_is_accepted(self):
        """The limit advertised in SIZE applies to what the client sends,
        not to it plus docket's own trace fields."""
        server = self.serve(self.CONFIG)
        head = message("limit@example.com", body="")
        msg = head + b"z" * (4096 - len(head) - 2) + b"\r\n"
        self.assertEqual(len(msg), 4096)
        with server.client() as c:
            c.greet()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com> SIZE=4096").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<s@example.test>").code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(dot_stuff(msg))
            self.assertEqual(c.reply().code, 250)
            # One octet more is over.
            _, data = c.transaction("a@example.com", ["s@example.test"], msg[:-2] + b"zz\r\n")
            self.assertEqual([r.code for r in data], [552])
        self.assertEqual(list(self.articles_by_message_id()), ["limit@example.com"])

    def test_data_over_the_limit_is_refused_and_not_stored(self):
        server = self.serve(self.CONFIG)
        big = message("big@example.com", body=("y" * 70 + "\r\n") * 200)
        with server.client() as c:
            c.greet()
            rcpt, data = c.transaction("alice@example.com", ["a@example.test", "b@example.test"], big)
            self.assertEqual([r.code for r in rcpt], [250, 250])
            self.assertEqual([(r.code, r.status) for r in data], [(552, "5.3.4")] * 2)
            # The session goes on: a small message is stored.
            self.assertEqual(c.cmd("NOOP").code, 250)
            _, data = c.transaction("alice@example.com", ["a@example.test"], message("small@example.com"))
            self.assertEqual([r.code for r in data], [250])
        self.assertEqual(list(self.articles_by_message_id()), ["small@example.com"])
        self.wait_spool_empty()


class SequenceAndSyntaxTest(LmtpCase):
    def test_bad_sequence(self):
        server = self.serve()
        with server.client() as c:
            self.assertEqual(c.reply().code, 220)
            for cmd in ("MAIL FROM:<a@example.com>", "RCPT TO:<s@example.test>", "DATA"):
                r = c.cmd(cmd)
                self.assertEqual((r.code, r.status), (503, "5.5.1"), cmd)
            self.assertEqual(c.cmd("LHLO client.test").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<s@example.test>").code, 503)
            self.assertEqual(c.cmd("DATA").code, 503)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 503)  # nested
            self.assertEqual(c.cmd("RCPT TO:<s@example.test>").code, 250)
            # A second LHLO resets the transaction.
            self.assertEqual(c.cmd("LHLO client.test").code, 250)
            self.assertEqual(c.cmd("DATA").code, 503)
            self.assertEqual(c.cmd("QUIT").code, 221)
        self.assertEqual(self.tickets(), [])

    def test_helo_ehlo_refused(self):
        server = self.serve()
        with server.client() as c:
            self.assertEqual(c.reply().code, 220)
            for cmd in ("HELO client.test", "EHLO client.test", "ehlo client.test"):
                r = c.cmd(cmd)
                self.assertEqual(r.code, 500, cmd)
                self.assertIn("LHLO", r.text)
            # Still not greeted.
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 503)
            self.assertEqual(c.cmd("LHLO client.test").code, 250)

    def test_unknown_and_syntax(self):
        server = self.serve()
        with server.client() as c:
            c.greet()
            cases = [
                ("FROB", 500, "5.5.2"),
                ("STARTTLS", 500, "5.5.2"),
                ("MAILX FROM:<a@example.com>", 500, "5.5.2"),
                ("LHLO", 501, "5.5.4"),
                ("MAIL", 501, "5.5.4"),
                ("MAIL TO:<a@example.com>", 501, "5.5.4"),
                ("MAIL FROM:<a@example.com", 501, "5.5.4"),
                ("MAIL FROM:<a@example.com> FOO=BAR", 555, "5.5.4"),
                ("MAIL FROM:<a@example.com> BODY=BINARYMIME", 501, "5.5.4"),
                ("DATA now", 501, "5.5.4"),
                ("RSET x", 501, "5.5.4"),
                ("QUIT please", 501, "5.5.4"),
                ("VRFY", 501, "5.5.4"),
                ("VRFY support@example.test", 252, "2.5.2"),
                ("NOOP anything", 250, "2.0.0"),
                ("noop", 250, "2.0.0"),
            ]
            for cmd, code, status in cases:
                r = c.cmd(cmd)
                self.assertEqual((r.code, r.status), (code, status), cmd)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 250)
            for cmd, code in (("RCPT TO:<>", 501), ("RCPT", 501), ("RCPT TO:<s@example.test> NOTIFY=NEVER", 555)):
                self.assertEqual(c.cmd(cmd).code, code, cmd)
            # Lenient where Postfix is: a space after the colon, no brackets.
            self.assertEqual(c.cmd("RCPT TO: s@example.test").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<@relay.test:t@example.test>").code, 250)
            self.assertEqual(c.cmd("QUIT").code, 221)

    def test_nul_bytes(self):
        server = self.serve()
        with server.client() as c:
            c.greet()
            r = c.cmd(b"NOOP \x00 hidden")
            self.assertEqual((r.code, r.status), (500, "5.5.2"))
            r = c.cmd(b"MAIL FROM:<a\x00b@example.com>")
            self.assertEqual(r.code, 500)
            self.assertEqual(c.cmd("RCPT TO:<s@example.test>").code, 503)
            # A NUL inside the message body: an answer, and the session lives on.
            _, data = c.transaction("a@example.com", ["s@example.test"],
                                    message("nul@example.com", body="before\x00after\r\n"))
            self.assertEqual(len(data), 1)
            self.assertIn(data[0].code, (250, 550, 554))
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_long_lines(self):
        server = self.serve()
        with server.client() as c:
            c.greet()
            r = c.cmd("NOOP " + "x" * 10000)
            self.assertEqual((r.code, r.status), (500, "5.5.2"))
            # Longer than docket's whole read buffer: still one reply.
            r = c.cmd("NOOP " + "y" * 300000)
            self.assertEqual((r.code, r.status), (500, "5.5.2"))
            self.assertEqual(c.cmd("NOOP").code, 250)
            # A line of 4,000 octets is fine, sent whole or in pieces.
            ok = "NOOP " + "z" * 3995
            self.assertEqual(c.cmd(ok).code, 250)
            # Long lines inside DATA are the message's business, not a 500.
            body = "w" * 200000 + "\r\n"
            _, data = c.transaction("a@example.com", ["s@example.test"], message("wide@example.com", body=body))
            self.assertEqual([r.code for r in data], [250])
            self.assertEqual(c.cmd("QUIT").code, 221)
        self.assertEqual(self.show(1)["articles"][0]["message_id"], "wide@example.com")

    def test_command_line_split_before_its_lf(self):
        """A line of 4,095 octets plus CR, its LF in a later read: the
        answer must not depend on how TCP cut the stream."""
        server = self.serve()
        with server.client() as c:
            c.greet()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            line = b"NOOP " + b"z" * 4090
            self.assertEqual(c.cmd(line).code, 250)  # whole
            c.send(line + b"\r")
            time.sleep(0.2)
            c.send(b"\n")
            self.assertEqual(c.reply().code, 250)  # cut before the LF


class LineEndTest(LmtpCase):
    def test_bare_lf(self):
        server = self.serve()
        msg = message("lf@example.com", body="line one\r\nline two\r\n").replace(CRLF, b"\n")
        with server.client() as c:
            self.assertEqual(c.reply().code, 220)
            c.send(b"LHLO lf.test\nMAIL FROM:<a@example.com>\nRCPT TO:<s@example.test>\nDATA\n")
            self.assertEqual([r.code for r in c.replies(4)], [250, 250, 250, 354])
            c.send(dot_stuff(msg, b"\n"))
            self.assertEqual(c.reply().code, 250)
            c.send(b"QUIT\n")
            self.assertEqual(c.reply().code, 221)
        doc = self.show(1)
        article = doc["articles"][0]
        self.assertEqual(article["message_id"], "lf@example.com")
        self.assertEqual(doc["ticket"]["subject"], "Printer on fire")
        self.assertIn("line one", article["text"])
        self.assertIn("line two", article["text"])

    def test_dot_stuffing_round_trip(self):
        server = self.serve()
        body = (".leading dot\r\n..two dots\r\n.\r\n..\r\n...\r\n .space first\r\n"
                "end.\r\n.\r\nlast line\r\n")
        msg = message("dots@example.com", body=body)
        with server.client() as c:
            c.greet()
            _, data = c.transaction("a@example.com", ["s@example.test"], msg)
            self.assertEqual([r.code for r in data], [250])
        article = self.show(1)["articles"][0]
        # The text reads with LF line ends; the raw message keeps CRLF.
        self.assertEqual(article["text"], body.replace("\r\n", "\n"))
        raw = self.raw(article["raw_sha256"])
        # The raw message is what the client sent, byte for byte.
        self.assertEqual(raw, msg)


class DropTest(LmtpCase):
    def test_client_drops_mid_data(self):
        server = self.serve()
        msg = message("dropped@example.com", body=("z" * 70 + "\r\n") * 6000)
        c = server.client()
        c.greet()
        c.start_data("a@example.com", ["s@example.test"])
        # Past the 256 KiB a message may be held in memory: it goes to a file.
        c.send(dot_stuff(msg)[:300000])
        time.sleep(0.2)
        self.assertEqual(len(spool_fds(server)), 1)  # the body is being spooled
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        server.wait_log("event=aborted")
        self.wait_spool_empty()
        self.assertEqual(spool_fds(server), [])
        self.assertEqual(self.tickets(), [])
        # Others are served as usual, and no session is left behind.
        with server.client() as other:
            other.greet()
            _, data = other.transaction("b@example.com", ["s@example.test"], message("after@example.com"))
            self.assertEqual([r.code for r in data], [250])
            self.assertEqual(other.cmd("QUIT").code, 221)
        self.assertEqual(list(self.articles_by_message_id()), ["after@example.com"])
        self.wait_spool_empty()
        self.assertEqual(server.stop(), 0)
        self.assertNotIn("sessions_left", server.log())

    def test_killed_mid_data_leaves_no_spool_file(self):
        """A crash mid-DATA leaves nothing behind in the spool directory:
        the message was never acknowledged, Postfix sends it again."""
        server = self.serve()
        c = server.client()
        c.greet()
        c.start_data("a@example.com", ["s@example.test"])
        c.send(b"Subject: half\r\n\r\n" + b"some text\r\n" * 30000)  # past 256 KiB: a file
        deadline = time.monotonic() + 5
        while not spool_fds(server) and time.monotonic() < deadline:
            time.sleep(0.01)
        server.proc.kill()
        server.proc.wait()
        c.close()
        self.assertEqual(self.spool_files(), [])
        # And a restarted docket starts clean and serves.
        server = self.serve()
        with server.client() as c:
            c.greet()
            _, data = c.transaction("b@example.com", ["s@example.test"], message("restart@example.com"))
            self.assertEqual([r.code for r in data], [250])
        self.assertEqual(self.spool_files(), [])

    def test_reset_connection_mid_data(self):
        server = self.serve()
        c = server.client()
        c.greet()
        c.start_data("a@example.com", ["s@example.test"])
        c.send(b"Subject: half\r\n\r\nsome")
        # SO_LINGER 0: the close sends a RST.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        server.wait_log("event=aborted")
        self.wait_spool_empty()
        self.assertEqual(self.tickets(), [])

    def test_rset_mid_transaction(self):
        server = self.serve()
        with server.client() as c:
            c.greet()
            self.assertEqual(c.cmd("MAIL FROM:<first@example.com>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<one@example.test>").code, 250)
            r = c.cmd("RSET")
            self.assertEqual((r.code, r.status), (250, "2.0.0"))
            self.assertEqual(c.cmd("DATA").code, 503)
            self.assertEqual(c.cmd("RCPT TO:<one@example.test>").code, 503)
            # A new transaction with one recipient: one reply after DATA.
            rcpt, data = c.transaction("second@example.com", ["two@example.test"], message("rset@example.com"))
            self.assertEqual(len(data), 1)
            self.assertEqual(data[0].code, 250)
            self.assertEqual(c.cmd("QUIT").code, 221)
        article = self.show(1)["articles"][0]
        # The stored message is the second transaction's, as the client sent it.
        self.assertEqual(self.raw(article["raw_sha256"]), message("rset@example.com"))


class OutcomeTest(LmtpCase):
    def test_store_failure_is_451_then_the_retry_is_stored(self):
        """A failure before the commit is temporary (451 4.3.0, one per
        recipient) so that the client retries; nothing is stored."""
        os.makedirs(self.data)
        blocker = os.path.join(self.data, "raw")
        with open(blocker, "w") as f:
            f.write("not a directory\n")
        server = self.serve("[store]\ninline_max = 1K\n")
        msg = message("retry@example.com", body="x" * 4000 + "\r\n")
        with server.client() as c:
            c.greet()
            _, data = c.transaction("a@example.com", ["s@example.test", "t@example.test"], msg)
            self.assertEqual([(r.code, r.status) for r in data], [(451, "4.3.0")] * 2)
            self.assertEqual(self.tickets(), [])
            os.unlink(blocker)
            _, data = c.transaction("a@example.com", ["s@example.test", "t@example.test"], msg)
            self.assertEqual([r.code for r in data], [250, 250])
        self.assertEqual(self.articles_by_message_id(), {"retry@example.com": 1})
        self.assertIn("outcome=tempfail", server.log())

    def test_binary_is_refused_for_good(self):
        server = self.serve()
        with server.client() as c:
            c.greet()
            junk = bytes(range(1, 256)).replace(b"\n", b"").replace(b"\r", b"") + b"\x00\r\n"
            _, data = c.transaction("a@example.com", ["s@example.test", "t@example.test"], junk * 4)
            self.assertEqual([(r.code, r.status) for r in data], [(554, "5.6.0")] * 2)
            self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertEqual(self.tickets(), [])
        self.assertIn("outcome=refused", server.log())

    def test_text_without_headers_is_refused_as_by_deliver(self):
        """`docket deliver` refuses text that has no header block (exit 65).
        Over LMTP the same text must not become a ticket just because
        docket put its own Return-Path: and Received: fields first."""
        text = b"Hello,\r\nplease fix my printer.\r\nThanks\r\n"
        self.assertEqual(self.deliver(text.replace(b"\r\n", b"\n")).returncode, 65)
        server = self.serve()
        with server.client() as c:
            c.greet()
            _, data = c.transaction("a@example.com", ["s@example.test"], text)
            self.assertEqual([r.code for r in data], [554], data)
        self.assertEqual(self.tickets(), [])

    def test_ipv6_loopback(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no ::1 here")
        server = self.serve(listen=("[::1]:0",))
        self.assertIn("address=::1", server.log())
        with Client(("::1", server.ports[0])) as c:
            c.greet()
            _, data = c.transaction("a@example.com", ["s@example.test"], message("v6@example.com"))
            self.assertEqual([r.code for r in data], [250])
        self.assertIn("peer=[::1]", server.log())


class DuplicateTest(LmtpCase):
    def test_same_message_twice(self):
        server = self.serve()
        msg = message("dup@example.com")
        for outcome in ("created", "duplicate"):
            with server.client() as c:
                c.greet()
                _, data = c.transaction("a@example.com", ["s@example.test"], msg)
                self.assertEqual([r.code for r in data], [250])
                self.assertTrue(data[0].text.endswith(outcome), data[0].text)
        # And once more, pipelined twice in one session.
        with server.client() as c:
            c.greet()
            c.send((b"MAIL FROM:<a@example.com>\r\nRCPT TO:<s@example.test>\r\nDATA\r\n" + dot_stuff(msg)) * 2)
            self.assertEqual([r.code for r in c.replies(8)], [250, 250, 354, 250] * 2)
        self.assertEqual(self.articles_by_message_id(), {"dup@example.com": 1})


class UnixSocketTest(LmtpCase):
    def test_unix_listener(self):
        path = os.path.join(self.dir, "lmtp.sock")
        self.assertTrue(path.startswith("/tmp/") or os.environ.get("TMPDIR"), path)
        server = self.serve("unix_mode = 0620\n", listen=("unix:" + path, "127.0.0.1:0"))
        mode = os.stat(path).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o620)
        with Client(path) as c:
            lhlo = c.greet()
            self.assertEqual(lhlo.code, 250)
            _, data = c.transaction("a@example.com", ["s@example.test", "t@example.test"],
                                    message("unix@example.com"))
            self.assertEqual([r.code for r in data], [250, 250])
            self.assertEqual(c.cmd("QUIT").code, 221)
        # The TCP listener given alongside works too.
        with server.client() as c:
            self.assertEqual(c.greet().code, 250)
        self.assertEqual(server.stop(), 0)
        self.assertFalse(os.path.exists(path), "socket file left behind")
        self.assertEqual(self.articles_by_message_id(), {"unix@example.com": 1})
        self.assertIn("peer=unix", server.log())

    def test_stale_socket_file_is_replaced(self):
        path = os.path.join(self.dir, "stale.sock")
        old = socket.socket(socket.AF_UNIX)
        old.bind(path)
        old.close()
        self.serve(listen=("unix:" + path,))
        with Client(path) as c:
            self.assertEqual(c.greet().code, 250)


class LimitsTest(LmtpCase):
    def test_connection_limit(self):
        server = self.serve("max_connections = 2\n")
        a, b = server.client(), server.client()
        self.assertEqual(a.greet().code, 250)
        self.assertEqual(b.greet().code, 250)
        with server.client() as c:
            r = c.reply()
            self.assertEqual((r.code, r.status), (421, "4.3.2"))
            self.assertTrue(c.at_eof())
        self.assertEqual(a.cmd("QUIT").code, 221)
        a.close()
        # The freed slot is taken by the next client.
        deadline = time.monotonic() + 5
        while True:
            with server.client() as d:
                r = d.reply()
                if r.code == 220 or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
        self.assertEqual(r.code, 220)
        self.assertEqual(b.cmd("NOOP").code, 250)
        b.close()
        self.assertIn("reason=connection-limit", server.log())

    def test_idle_timeout(self):
        server = self.serve("timeout_seconds = 1\n")
        with server.client() as c:
            c.greet()
            started = time.monotonic()
            r = c.reply()
            elapsed = time.monotonic() - started
            self.assertEqual((r.code, r.status), (421, "4.4.2"))
            self.assertGreater(elapsed, 0.8)
            self.assertLess(elapsed, 5)
            self.assertTrue(c.at_eof())

    def test_stalled_data_times_out_and_stores_nothing(self):
        server = self.serve("timeout_seconds = 1\n")
        with server.client() as c:
            c.greet()
            c.start_data("a@example.com", ["s@example.test"])
            c.send(b"Subject: stalled\r\n\r\nhalf a bo")
            self.assertTrue(c.at_eof(timeout=5))
        server.wait_log("event=aborted")
        self.wait_spool_empty()
        self.assertEqual(self.tickets(), [])


class SignalTest(LmtpCase):
    def test_sigterm_with_idle_session(self):
        server = self.serve()
        c = server.client()
        c.greet()
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        r = c.reply()
        self.assertEqual((r.code, r.status), (421, "4.3.2"))
        self.assertTrue(c.at_eof())
        c.close()
        self.assertEqual(server.proc.wait(10), 0, server.log())
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("serve event=stopped", server.log())

    def test_sigterm_finishes_the_transaction_in_flight(self):
        server = self.serve()
        msg = dot_stuff(message("inflight@example.com"))
        with server.client() as c:
            c.greet()
            c.start_data("a@example.com", ["s@example.test", "t@example.test"])
            c.send(msg[:40])
            server.signal(signal.SIGTERM)
            server.wait_log("serve event=stopping")
            time.sleep(0.2)
            # No new connections once stopping.
            with self.assertRaises(OSError):
                server.client(timeout=2).reply()
            c.send(msg[40:])
            self.assertEqual([r.code for r in c.replies(2)], [250, 250])
            self.assertEqual(c.reply().code, 421)
            self.assertTrue(c.at_eof())
        self.assertEqual(server.proc.wait(10), 0, server.log())
        self.assertEqual(self.articles_by_message_id(), {"inflight@example.com": 1})

    def test_sighup_reloads_recipients_for_new_sessions(self):
        server = self.serve("recipients = old@example.test\n")
        early = server.client()
        early.greet()
        with server.client() as c:
            c.greet()
            c.cmd("MAIL FROM:<a@example.com>")
            self.assertEqual(c.cmd("RCPT TO:<new@example.test>").code, 550)
            self.assertEqual(c.cmd("RCPT TO:<old@example.test>").code, 250)
        self.write_config("recipients = new@example.test\nmax_recipients = 1\n")
        server.signal(signal.SIGHUP)
        server.wait_log("serve event=reload result=ok")
        with server.client() as c:
            c.greet()
            c.cmd("MAIL FROM:<a@example.com>")
            self.assertEqual(c.cmd("RCPT TO:<old@example.test>").code, 550)
            self.assertEqual(c.cmd("RCPT TO:<new@example.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<new@example.test>").code, 452)  # max_recipients = 1
        # A session that began before the reload keeps the list it began with.
        early.cmd("MAIL FROM:<a@example.com>")
        self.assertEqual(early.cmd("RCPT TO:<old@example.test>").code, 250)
        early.close()
        # A broken configuration is refused; the running one stays.
        with open(self.config, "a") as f:
            f.write("[lmtp]\nmax_connections = lots\n")
        server.signal(signal.SIGHUP)
        server.wait_log("result=failed")
        with server.client() as c:
            c.greet()
            c.cmd("MAIL FROM:<a@example.com>")
            self.assertEqual(c.cmd("RCPT TO:<new@example.test>").code, 250)


if __name__ == "__main__":
    unittest.main(verbosity=2)
