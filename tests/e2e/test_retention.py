"""Retention through the real binary: mail delivered, tickets closed with
an old clock (the hidden --now of the ticket commands), `docket ticket
export`, `docket store purge` (and its --dry-run), what `ticket show` and
`attachment get` say afterwards, and `docket serve` purging by itself."""

import base64
import glob
import json
import os
import signal
import subprocess
import time
import unittest

from dockettest import BINARY, DocketCase, free_port, wait_for_port

DAY = 86400
NOW = int(time.time())
OLD = NOW - 40 * DAY
PDF = b"%PDF-1.4 the same report, sent twice\n" * 20


def mail(message_id, subject, body, attachment=None):
    head = ("From: alice@example.org\nTo: support@example.com\nSubject: %s\n"
            "Message-ID: <%s>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
            % (subject, message_id))
    if attachment is None:
        return (head + "Content-Type: text/plain\n\n" + body).encode()
    return (head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
            "Content-Type: text/plain\n\n%s\n--b\nContent-Type: application/pdf\n"
            'Content-Disposition: attachment; filename="report.pdf"\n'
            "Content-Transfer-Encoding: base64\n\n%s\n--b--\n"
            % (body, base64.encodebytes(attachment).decode())).encode()


class RetentionCase(DocketCase):
    config_text = ("keep_raw_days = 30\ninline_max = 1K\n"
                   "[queue:legal]\nkeep_raw_days = 365\n")

    def deliver_ok(self, message):
        proc = self.deliver(message)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def close_at(self, number, when):
        self.docket("ticket", "set", str(number), "--status", "resolved", "--now", str(when))
        self.docket("ticket", "set", str(number), "--status", "closed", "--now", str(when))

    def raw_files(self):
        return sorted(glob.glob(os.path.join(self.data, "raw", "*", "*")))

    def attachment_files(self):
        return sorted(glob.glob(os.path.join(self.data, "attachments", "*", "*")))

    def purge(self, *args):
        out = self.docket("store", "purge", "--json", *args).stdout
        return json.loads(out)

    def setup_tickets(self):
        """#1 closed long ago with a large raw message and report.pdf; #2
        in the queue legal (a year) with the same report, closed as long
        ago; #3 open. The acknowledgements are sent first (a pending
        outbox row keeps its ticket's raw mail)."""
        self.deliver_ok(mail("r1@example.org", "Printer on fire", "x" * 4000, PDF))
        self.deliver_ok(mail("r2@example.org", "Report again", "the same report", PDF))
        self.deliver_ok(mail("r3@example.org", "Still open", "y" * 4000))
        self.docket("outbox", "run", "--once", check=False)
        self.docket("ticket", "set", "2", "--queue", "legal")
        self.close_at(1, OLD)
        self.close_at(2, OLD)


class PurgeTest(RetentionCase):
    def test_export_then_purge(self):
        self.setup_tickets()
        raws = self.raw_files()
        self.assertEqual(len(raws), 6)  # each ticket's mail and acknowledgement
        self.assertEqual(len(self.attachment_files()), 1)
        # Export first: the ticket, its raw mail, its attachment.
        keep = os.path.join(self.dir, "keep-1")
        self.docket("ticket", "export", "1", "--to", keep)
        names = sorted(os.listdir(keep))
        self.assertIn("ticket.json", names)
        emls = [n for n in names if n.endswith(".eml")]
        self.assertGreaterEqual(len(emls), 1)
        with open(os.path.join(keep, "ticket.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["ticket"]["number"], 1)
        first = doc["articles"][0]
        with open(os.path.join(keep, "article-%d.eml" % first["id"]), "rb") as f:
            self.assertIn(b"Printer on fire", f.read())
        pdfs = [n for n in names if n.endswith("report.pdf")]
        with open(os.path.join(keep, pdfs[0]), "rb") as f:
            self.assertEqual(f.read(), PDF)
        # Not into a folder that holds something.
        proc = self.docket("ticket", "export", "1", "--to", keep, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"not empty", proc.stderr)

        # A dry run says what would go and changes nothing.
        before = self.dump_store()
        dry = self.purge("--dry-run")
        self.assertTrue(dry["dry_run"])
        self.assertEqual(dry["tickets"], 1)
        self.assertEqual(self.dump_store(), before)
        self.assertEqual(self.raw_files(), raws)

        # The purge: #1's raw mail goes; the report stays (#2 keeps it a
        # year); #2's and #3's raw messages stay.
        done = self.purge()
        self.assertEqual((done["tickets"], done["raw_messages"], done["attachments"]),
                         (dry["tickets"], dry["raw_messages"], 0))
        self.assertEqual(done["kept"], 1)
        self.assertGreater(done["bytes"], 4000)
        self.assertEqual(len(self.raw_files()), 4)
        self.assertEqual(len(self.attachment_files()), 1)
        shown = self.show(1)
        inbound = shown["articles"][0]
        self.assertIsNotNone(inbound["raw_purged_at"])
        self.assertIn("x" * 100, inbound["text"])  # the text stays
        self.assertEqual(inbound["attachments"][0]["filename"], "report.pdf")
        self.assertTrue(inbound["attachments"][0]["stored"])
        self.assertEqual([e["type"] for e in shown["events"]][-1], "raw_purged")
        text = self.docket("ticket", "show", "1").stdout.decode()
        self.assertIn("raw message purged on " + time.strftime("%Y-%m-%d", time.gmtime()), text)
        self.assertIsNone(self.show(2)["articles"][0]["raw_purged_at"])
        self.assertIsNone(self.show(3)["articles"][0]["raw_purged_at"])

        # An export now says what is gone.
        late = os.path.join(self.dir, "late-1")
        out = self.docket("ticket", "export", "1", "--to", late).stdout.decode()
        self.assertIn("not exported:", out)
        self.assertIn("purged on", out)
        self.assertFalse([n for n in os.listdir(late) if n.endswith(".eml")])

        # Idempotent.
        again = self.purge()
        self.assertEqual((again["tickets"], again["raw_messages"], again["files"]), (0, 0, 0))

        # A year on, #2 is due too: the report goes, and says so.
        later = self.purge("--now", str(OLD + 366 * DAY))
        self.assertEqual(later["attachments"], 1)
        self.assertEqual(self.attachment_files(), [])
        attachment = self.show(2)["articles"][0]["attachments"][0]
        self.assertFalse(attachment["stored"])
        self.assertIsNotNone(attachment["purged_at"])
        proc = self.docket("attachment", "get", str(attachment["id"]), check=False)
        self.assertEqual(proc.returncode, 66)
        self.assertIn(b"purged on", proc.stderr)
        self.assertEqual(len(self.raw_files()), 2)  # #3's, open

    def test_batches(self):
        for i in range(5):
            self.deliver_ok(mail("b%d@example.org" % i, "batch %d" % i, "z" * 2000))
        self.docket("outbox", "run", "--once", check=False)
        for i in range(5):
            self.close_at(i + 1, OLD + i)
        first = self.purge("--batch", "2", "--max-batches", "1")
        self.assertEqual(first["tickets"], 2)
        rest = self.purge("--batch", "2")
        self.assertEqual(rest["tickets"], 3)
        self.assertEqual(self.raw_files(), [])


class ServeTest(RetentionCase):
    """docket serve purges by itself, at start and hourly."""

    def test_serve_purges(self):
        self.setup_tickets()
        port = free_port()
        with open(os.path.join(self.dir, "serve.log"), "wb") as log:
            proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                     "127.0.0.1:%d" % port], stderr=log)
            try:
                wait_for_port(port)
                deadline = time.time() + 60
                while time.time() < deadline and len(self.raw_files()) > 4:
                    time.sleep(0.2)
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(len(self.raw_files()), 4)
        with open(os.path.join(self.dir, "serve.log")) as f:
            self.assertIn("desk event=retention tickets=1", f.read())
        self.assertIsNotNone(self.show(1)["articles"][0]["raw_purged_at"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
