"""docket import end to end: an mbox (with >From escapes, a From_ date and
a message that is not mail) and a Maildir (cur/ and new/), each imported
twice: the second run stores nothing and says so."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from dockettest import DocketCase, with_attachment  # noqa: E402
from imaptest import message  # noqa: E402


def mbox_text(n):
    out = []
    for i in range(n):
        body = "Hello %d\n>From the start, it failed.\n>>From here too.\nFrom inside a line is fine\n" % i
        out.append(b"From customer%d@example.com Tue Nov 24 09:%02d:00 2026\n" % (i, i % 60))
        out.append(message(i, body=body).replace(b"\r\n", b"\n"))
        out.append(b"\n")
    out.append(b"From garbage@example.com Tue Nov 24 10:00:00 2026\n\x7fELF\x00\x00\n\n")
    return b"".join(out)


class ImportTest(DocketCase):
    def import_(self, path, *args):
        return self.docket("import", path, *args)

    def maildir(self):
        """An empty Maildir (cur/, new/, tmp/) in the test's folder."""
        root = os.path.join(self.dir, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, sub))
        return root

    def test_mbox_twice(self):
        path = os.path.join(self.dir, "history.mbox")
        with open(path, "wb") as f:
            f.write(mbox_text(25))
        first = self.import_(path, "--batch", "7")
        self.assertIn(b"messages=26 imported=25 duplicates=0 refused=1", first.stdout)
        self.assertIn(b"refused: message 26 (byte ", first.stdout)
        self.assertIn(b"import: 100% 26 messages", first.stderr)
        tickets = self.tickets()
        self.assertEqual(len(tickets), 25)
        doc = self.show(1)
        text = doc["articles"][0]["text"]
        self.assertIn("\nFrom the start, it failed.\n>From here too.\n", text)
        self.assertTrue(text.startswith("Hello 0\n"), text)
        self.assertEqual(doc["ticket"]["created_at"], "2026-11-24T09:00:00Z")
        self.assertEqual(doc["events"][0]["detail"]["intake"], "import")
        second = self.import_(path)
        self.assertIn(b"messages=26 imported=0 duplicates=25 refused=1", second.stdout)
        self.assertEqual(len(self.tickets()), 25)

    def test_maildir_twice(self):
        root = self.maildir()
        for i in range(6):
            sub = "cur" if i % 2 else "new"
            suffix = ":2,S" if sub == "cur" else ""
            with open(os.path.join(root, sub, "1700000000.%d.host%s" % (i, suffix)), "wb") as f:
                f.write(message(i))
        with open(os.path.join(root, "tmp", "partial"), "wb") as f:
            f.write(message(99))  # still being delivered: not read
        first = self.import_(root, "--quiet")
        self.assertEqual(first.stdout.strip(), b"messages=6 imported=6 duplicates=0 refused=0 quarantined=0 dropped=0")
        self.assertEqual(first.stderr, b"")
        second = self.import_(root)
        self.assertIn(b"messages=6 imported=0 duplicates=6 refused=0", second.stdout)
        self.assertEqual(len(self.tickets()), 6)

    def test_large_messages_between_small_ones(self):
        # Messages over 1 MiB wait for their batch's commit in spool files,
        # the mbox's pages already read are let go: every byte still kept,
        # small ones beside them in the same batch.
        contents = [bytes((i * 131 + k) % 256 for i in range(1200 * 1024 + k)) for k in (1, 2)]
        mails = [with_attachment("large%d@example.com" % k, c, subject="large %d" % k)
                 .replace(b"\r\n", b"\n") for k, c in enumerate(contents)]
        path = os.path.join(self.dir, "large.mbox")
        with open(path, "wb") as f:
            for i, mail in enumerate((message(0), mails[0], message(1), mails[1], message(2))):
                f.write(b"From customer@example.com Tue Nov 24 09:0%d:00 2026\n" % i)
                f.write(mail.replace(b"\r\n", b"\n"))
                f.write(b"\n")
        out = self.import_(path, "--quiet", "--batch", "4")
        self.assertIn(b"messages=5 imported=5 duplicates=0 refused=0", out.stdout)
        by_subject = {t["subject"]: t["number"] for t in self.tickets()}
        for k, content in enumerate(contents):
            doc = self.show(by_subject["large %d" % k])
            attachment = doc["articles"][0]["attachments"][0]
            self.assertEqual(self.docket("attachment", "get", str(attachment["id"])).stdout,
                             content)
            export = os.path.join(self.dir, "export-%d" % k)
            self.docket("ticket", "export", str(by_subject["large %d" % k]), "--to", export)
            with open(os.path.join(export, "article-%d.eml" % doc["articles"][0]["id"]),
                      "rb") as f:
                self.assertEqual(f.read(), mails[k])
        self.assertEqual(os.listdir(os.path.join(self.data, "spool")), [])
        self.assertIn(b"messages=5 imported=0 duplicates=5", self.import_(path).stdout)

    def test_over_the_size_limit_then_on(self):
        # A message over max_message_size is read to its end, not kept,
        # refused with the reason; the messages after it are imported.
        with open(self.config, "a") as f:
            f.write("[intake]\nmax_message_size = 1M\n")
        content = bytes(range(256)) * 6000  # 1.5 MiB
        large = with_attachment("over@example.com", content).replace(b"\r\n", b"\n")
        path = os.path.join(self.dir, "over.mbox")
        with open(path, "wb") as f:
            for i, mail in enumerate((message(0), large, message(1))):
                f.write(b"From customer@example.com Tue Nov 24 09:0%d:00 2026\n" % i)
                f.write(mail.replace(b"\r\n", b"\n") + b"\n")
        out = self.import_(path, "--quiet")
        self.assertIn(b"messages=3 imported=2 duplicates=0 refused=1", out.stdout)
        self.assertIn(b"message 2 (byte ", out.stdout)
        self.assertIn(b"larger than [intake] max_message_size", out.stdout)
        self.assertEqual(len(self.tickets()), 2)

    def test_large_maildir_file(self):
        root = self.maildir()
        content = bytes((i * 7) % 256 for i in range(1300 * 1024))
        mail = with_attachment("maildir@example.com", content)
        with open(os.path.join(root, "new", "1700000000.1.host"), "wb") as f:
            f.write(mail)
        with open(os.path.join(root, "new", "1700000000.2.host"), "wb") as f:
            f.write(message(0))
        out = self.import_(root, "--quiet")
        self.assertIn(b"messages=2 imported=2 duplicates=0 refused=0", out.stdout)
        number = {t["subject"]: t["number"] for t in self.tickets()}["the core dump"]
        doc = self.show(number)
        attachment = doc["articles"][0]["attachments"][0]
        self.assertEqual(self.docket("attachment", "get", str(attachment["id"])).stdout, content)
        export = os.path.join(self.dir, "export")
        self.docket("ticket", "export", str(number), "--to", export)
        with open(os.path.join(export, "article-%d.eml" % doc["articles"][0]["id"]), "rb") as f:
            self.assertEqual(f.read(), mail)

    def test_unreadable_mail_is_quarantined_once(self):
        with open(self.config, "a") as f:
            f.write("[parse]\nmax_header_size = 1K\n")
        path = os.path.join(self.dir, "odd.mbox")
        big = b"From: a@example.com\nSubject: big\nX-Long: " + b"y" * 3000 + b"\n\nbody\n"
        with open(path, "wb") as f:
            f.write(b"From a Tue Nov 24 09:00:00 2026\n" + big + b"\n")
            f.write(b"From b Tue Nov 24 09:00:00 2026\n" + message(1).replace(b"\r\n", b"\n"))
        for _ in range(2):
            self.assertIn(b"messages=2 imported=", self.import_(path).stdout)
        out = self.docket("quarantine", "list", "--json").stdout
        entries = json.loads(out)["quarantine"]
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["intake"], "import")
        self.assertIn("header block larger than 1024 bytes", entries[0]["reason"])
        self.assertEqual(len(self.tickets()), 1)

    def test_reply_in_history_threads(self):
        path = os.path.join(self.dir, "thread.mbox")
        reply = (b"From: Support <support@example.com>\nTo: customer0@example.com\n"
                 b"Subject: Re: Problem number 0\nMessage-ID: <r@example.com>\n"
                 b"In-Reply-To: <msg0@example.com>\n\nOn it.\n")
        with open(path, "wb") as f:
            f.write(b"From a Tue Nov 24 09:00:00 2026\n" + message(0).replace(b"\r\n", b"\n") +
                    b"\nFrom b Tue Nov 24 09:05:00 2026\n" + reply + b"\n")
        self.assertIn(b"imported=2", self.import_(path).stdout)
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(self.show(1)["ticket"]["articles"], 2)

    def test_bad_paths(self):
        proc = self.docket("import", os.path.join(self.dir, "missing"), check=False)
        self.assertEqual(proc.returncode, 66)
        self.assertIn(b"no such file", proc.stderr)
        notmbox = os.path.join(self.dir, "notes.txt")
        with open(notmbox, "w") as f:
            f.write("just some notes\n")
        proc = self.docket("import", notmbox, check=False)
        self.assertEqual(proc.returncode, 66)
        self.assertIn(b"not an mbox file", proc.stderr)
        os.makedirs(os.path.join(self.dir, "plain-folder"))
        proc = self.docket("import", os.path.join(self.dir, "plain-folder"), check=False)
        self.assertEqual(proc.returncode, 66)
        self.assertIn(b"not a Maildir", proc.stderr)
        self.assertEqual(self.docket("import", check=False).returncode, 64)


if __name__ == "__main__":
    unittest.main(verbosity=2)
