"""docket deliver end to end: a conversation threads onto one ticket, a
duplicate is stored once, and input that is not mail is refused with exit
65, a reason, and the store unchanged."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import BINARY, DocketCase, with_attachment  # noqa: E402

ORIGINAL = """\
From: Alice Example <alice@Example.COM>
To: Support <support@example.com>
Subject: VPN does not connect
Date: Tue, 24 Nov 2026 09:15:00 +0100
Message-ID: <CAold123@mail.example.com>

The VPN client says "handshake failed" since this morning.
"""

REPLY_IRT = """\
From: Support <support@example.com>
To: alice@example.com
Subject: Re: VPN does not connect
Date: Tue, 24 Nov 2026 09:40:00 +0100
Message-ID: <reply1@support.example.com>
In-Reply-To: <CAold123@mail.example.com>
References: <CAold123@mail.example.com>

Could you send the log file?
"""

REPLY_REFS_ONLY = """\
From: Alice Example <alice@example.com>
To: support@example.com
Cc: Bob <bob@example.com>
Subject: RE: Re: VPN does not connect
Date: Tue, 24 Nov 2026 10:02:00 +0100
Message-ID: <CAnew456@mail.example.com>
References: <CAold123@mail.example.com> <reply1@support.example.com>

Here it is.
"""

NOT_MAIL = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "text without headers": b"Hello,\nplease fix my printer.\nThanks\n",
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64,
}


class DeliverTest(DocketCase):
    def test_conversation(self):
        for message in (ORIGINAL, REPLY_IRT, REPLY_REFS_ONLY, ORIGINAL):
            proc = self.deliver(message)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        tickets = self.tickets()
        self.assertEqual(len(tickets), 1)
        doc = self.show(tickets[0]["number"])
        ticket = doc["ticket"]
        self.assertEqual(ticket["subject"], "VPN does not connect")
        self.assertEqual(ticket["requester"], "alice@example.com")
        self.assertEqual(ticket["status"], "new")
        self.assertEqual(ticket["token"], "[docket #%d]" % ticket["number"])
        self.assertEqual(ticket["articles"], 3)
        articles = doc["articles"]
        self.assertEqual([a["message_id"] for a in articles],
                         ["CAold123@mail.example.com", "reply1@support.example.com",
                          "CAnew456@mail.example.com"])
        self.assertEqual([a["evidence"] for a in articles], ["new", "header", "header"])
        for a in articles:
            self.assertIn(a["direction"], ("inbound", "outbound"))
            self.assertEqual(a["visibility"], "public")
        self.assertIn("handshake failed", articles[0]["text"])
        self.assertEqual(sorted(doc["message_ids"]),
                         sorted(a["message_id"] for a in articles))
        self.assertEqual([e["type"] for e in doc["events"]], ["created", "comment", "comment"])
        self.assertIn({"address": "bob@example.com", "role": "cc"}, ticket["participants"])
        self.assertEqual(ticket["tags"], [])

    def test_duplicate_delivery_succeeds_twice(self):
        first = self.deliver(ORIGINAL, "-v")
        second = self.deliver(ORIGINAL, "-v")
        self.assertEqual(first.returncode, 0)
        self.assertEqual(second.returncode, 0)
        self.assertIn(b"outcome=created", first.stdout)
        self.assertIn(b"outcome=duplicate", second.stdout)
        self.assertEqual(self.show(1)["ticket"]["articles"], 1)

    def test_many_processes_create_the_store_together(self):
        # An MTA starts a deliver process per message, many at once: the
        # first ones find no store and all create it together. Each
        # migration must run once, the switch to WAL must wait its turn,
        # and every message must be stored (before, some exited 75 with
        # "table tickets already exists" or "database is locked").
        for attempt in range(3):
            self.tearDown()
            self.setUp()
            procs = []
            for i in range(12):
                msg = ORIGINAL.replace("CAold123", "burst%d-%d" % (attempt, i)).replace(
                    "VPN does not connect", "Burst %d" % i)
                p = subprocess.Popen([BINARY, "-c", self.config, "deliver"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                procs.append((p, msg.encode()))
            for p, msg in procs:
                p.stdin.write(msg)
                p.stdin.close()
            for p, _ in procs:
                p.wait(timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr.read().decode(errors="replace"))
                p.stdout.close()
                p.stderr.close()
            self.assertEqual(len(self.tickets()), 12)

    def test_large_message_read_from_its_spool(self):
        # Over 1 MiB the message goes through a spool file, parsed and
        # stored from there in pieces, its attachment decoded into a file:
        # every byte kept, and the size limit still holds.
        content = bytes((i * 7919 + i // 251) % 256 for i in range(1536 * 1024 + 5))
        message = with_attachment("dump@example.com", content)
        self.assertGreater(len(message), 2 * 1024 * 1024)
        proc = self.deliver(message, "-v")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"outcome=created", proc.stdout)
        doc = self.show(1)
        self.assertIn("It crashed again.", doc["articles"][0]["text"])
        attachments = doc["articles"][0]["attachments"]
        self.assertEqual([(a["filename"], a["size"]) for a in attachments],
                         [("core.bin", len(content))])
        got = self.docket("attachment", "get", str(attachments[0]["id"])).stdout
        self.assertEqual(got, content)
        export = os.path.join(self.dir, "export")
        self.docket("ticket", "export", "1", "--to", export)
        article = doc["articles"][0]["id"]
        with open(os.path.join(export, "article-%d.eml" % article), "rb") as f:
            self.assertEqual(f.read(), message)
        self.assertEqual(os.listdir(os.path.join(self.data, "spool")), [])
        self.assertEqual(self.deliver(message, "-v").stdout.count(b"outcome=duplicate"), 1)
        self.configure("[intake]\nmax_message_size = 2M")
        proc = self.deliver(message.replace(b"<dump@", b"<dump2@"))
        self.assertEqual(proc.returncode, 65)
        self.assertIn(b"larger than [intake] max_message_size", proc.stderr)
        self.assertEqual(len(self.tickets()), 1)

    def test_not_mail_is_refused_and_store_unchanged(self):
        self.assertEqual(self.deliver(ORIGINAL).returncode, 0)
        before = self.dump_store()
        for name, data in NOT_MAIL.items():
            with self.subTest(name):
                proc = self.deliver(data)
                self.assertEqual(proc.returncode, 65, proc.stderr)
                err = proc.stderr.decode()
                self.assertTrue(err.startswith("docket: deliver: "), err)
                self.assertEqual(err.count("\n"), 1, "one line of reason")
        self.assertEqual(self.dump_store(), before)

    def test_odd_but_real_mail_is_accepted(self):
        odd = [
            b"From: a@example.com\nSubject: headers and nothing else\n",
            b"From: a@example.com\r\nSubject: no date, no id, CRLF\r\n\r\nbody\r\n",
            b"Subject: bare LF and no From\n\nbody\n",
        ]
        for message in odd:
            proc = self.deliver(message)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.tickets()), 3)
        # A message without a Message-ID gets a stable synthetic one: the same
        # bytes again are a duplicate.
        self.assertEqual(self.deliver(odd[1]).returncode, 0)
        self.assertEqual(len(self.tickets()), 3)

    def test_unusable_store_is_temporary(self):
        os.makedirs(os.path.dirname(self.data), exist_ok=True)
        with open(self.data, "w") as f:  # a file where the data folder should be
            f.write("in the way")
        proc = self.deliver(ORIGINAL)
        self.assertEqual(proc.returncode, 75, proc.stderr)

    def test_bad_config_is_temporary_for_deliver(self):
        with open(self.config, "a") as f:
            f.write("[store]\nbogus = 1\n")
        proc = self.deliver(ORIGINAL)
        self.assertEqual(proc.returncode, 75)
        self.assertIn(b"bogus", proc.stderr)


class CommandLineTest(DocketCase):
    def test_version_and_help(self):
        self.assertRegex(self.docket("--version").stdout.decode(), r"^docket \d+\.\d+\.\d+")
        for cmd in ("deliver", "ticket", "config", "parse", "rules", "template", "quarantine",
                    "import", "serve", "poll", "outbox", "connector"):
            proc = self.docket(cmd, "--help")
            self.assertIn(b"Usage:", proc.stdout, cmd)

    def test_config_check_and_dump(self):
        self.assertIn(b"OK", self.docket("config", "check").stdout)
        dump = self.docket("config", "dump").stdout.decode()
        self.assertIn("data_dir = %s" % self.data, dump)
        self.assertIn("token_prefix = docket", dump)
        with open(self.config, "a") as f:
            f.write("[threading]\ntoken_prefx = x\n")
        proc = self.docket("config", "check", check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"docket.conf:4: unknown key", proc.stderr)

    def test_ticket_errors(self):
        self.assertEqual(self.docket("ticket", "show", "7", check=False).returncode, 66)
        self.assertEqual(self.docket("ticket", "show", "x", check=False).returncode, 64)
        self.assertEqual(self.docket("nonsense", check=False).returncode, 64)

    def test_ticket_list_table(self):
        self.assertEqual(self.deliver(ORIGINAL).returncode, 0)
        out = self.docket("ticket", "list").stdout.decode()
        self.assertIn("VPN does not connect", out)
        self.assertIn("alice@example.com", out)
        text = self.docket("ticket", "show", "1").stdout.decode()
        self.assertIn("[docket #1] VPN does not connect", text)
        self.assertIn("handshake failed", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
