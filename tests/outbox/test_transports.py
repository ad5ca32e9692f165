"""The embedded default (a Maildir under the data directory, when no relay
is configured) and the sendmail transport (a stand-in program records its
arguments and input; its exit status decides retry or give up)."""

import glob
import json
import os
import signal
import stat
import subprocess
import unittest

from outboxtest import BINARY, DOMAIN, SUPPORT, DocketCase, customer_mail, parse


class MaildirTest(DocketCase):
    config_text = "[threading]\ndomain = %s\n[notify]\nfrom = %s\n" % (DOMAIN, SUPPORT)

    def test_default_writes_a_readable_maildir(self):
        self.docket("deliver", stdin=customer_mail("ann@example.org", "Screen flickers", "s1@example.org"))
        out = self.docket("outbox", "run", "--once").stdout.decode()
        self.assertIn("sent 1", out)
        root = os.path.join(self.data, "outbox-maildir")
        files = glob.glob(os.path.join(root, "new", "*"))
        self.assertEqual(len(files), 1)
        self.assertEqual(os.listdir(os.path.join(root, "tmp")), [])
        self.assertTrue(os.path.isdir(os.path.join(root, "cur")))
        with open(files[0], "rb") as f:
            data = f.read()
        self.assertNotIn(b"\r\n", data)  # local files use LF
        m = parse(data)
        self.assertEqual(m["To"], "ann@example.org")
        self.assertRegex(m["Return-Path"], r"^<bounces\+1\.[0-9a-f]{12}@help\.example\.com>$")
        self.assertEqual(m["Delivered-To"], "ann@example.org")
        self.assertEqual(str(m["Subject"]), "[docket #1] Screen flickers")
        self.assertEqual(m["In-Reply-To"], "<s1@example.org>")
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        shown = json.loads(self.docket("ticket", "show", "1", "--json").stdout)
        self.assertEqual(shown["articles"][1]["direction"], "outbound")

    def test_a_default_that_sends_nothing_says_so(self):
        note = "notifications are not sent: with no [smtp] url, they are written to the " \
               "Maildir %s" % os.path.join(self.data, "outbox-maildir")
        self.assertIn("note: " + note, self.docket("config", "check").stdout.decode())
        self.docket("deliver", stdin=customer_mail("ann@example.org", "Screen", "s2@example.org"))
        listed = self.docket("outbox", "list").stdout.decode()
        self.assertTrue(listed.startswith("transport: maildir %s (mail is written there, not "
                                          "sent: set [smtp] url)\n" % root_of(self)), listed)
        doc = json.loads(self.docket("outbox", "list", "--json").stdout)
        self.assertEqual(doc["transport"], {"name": "maildir", "target": root_of(self)})
        # serve says it once at start
        proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen", "127.0.0.1:0"],
                                stderr=subprocess.PIPE)
        try:
            line = b""
            while b"event=ready" not in line:
                line = proc.stderr.readline()
                self.assertNotEqual(line, b"", "serve ended")
                if b"event=note" in line:
                    self.assertIn(note.encode(), line)
                    self.assertIn(b"customers receive nothing by mail", line)
                    break
            else:
                self.fail("serve did not say where notifications go")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


def root_of(case):
    return os.path.join(case.data, "outbox-maildir")


class SendmailTest(DocketCase):
    def setUp(self):
        super().setUp()
        self.script = os.path.join(self.dir, "fake-sendmail")
        self.capture = os.path.join(self.dir, "capture")
        self.status = os.path.join(self.dir, "status")
        with open(self.script, "w") as f:
            f.write("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s.args\ncat > %s.mail\nexit $(cat %s)\n" %
                    (self.capture, self.capture, self.status))
        os.chmod(self.script, stat.S_IRWXU)
        with open(self.config, "a") as f:
            f.write("[threading]\ndomain = %s\n[notify]\nfrom = %s\ntransport = sendmail\nsendmail = %s\n" %
                    (DOMAIN, SUPPORT, self.script))

    def set_status(self, code):
        with open(self.status, "w") as f:
            f.write("%d\n" % code)

    def test_sendmail_exit_status_decides(self):
        self.docket("deliver", stdin=customer_mail("bob@example.org", "Keyboard", "k1@example.org"))
        self.set_status(75)  # EX_TEMPFAIL
        self.assertIn("deferred 1", self.docket("outbox", "run", "--once").stdout.decode())
        row = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"][0]
        self.assertEqual(row["state"], "pending")
        self.assertIn("status 75", row["last_error"])
        self.set_status(0)
        self.docket("outbox", "retry", str(row["id"]))
        self.assertIn("sent 1", self.docket("outbox", "run", "--once").stdout.decode())
        with open(self.capture + ".args") as f:
            args = f.read().split("\n")
        # the row's recipient alone, named on the command line (no -t)
        self.assertEqual(args[:2], ["-i", "-f"])
        self.assertRegex(args[2], r"^bounces\+%d\.[0-9a-f]{12}@%s$" % (row["id"], DOMAIN.replace(".", r"\.")))
        self.assertEqual(args[3:], ["--", "bob@example.org", ""])
        with open(self.capture + ".mail", "rb") as f:
            m = parse(f.read())
        self.assertEqual(m["To"], "bob@example.org")

    def test_sendmail_permanent_status(self):
        self.docket("deliver", stdin=customer_mail("carl@example.org", "Mouse", "mo1@example.org"))
        self.set_status(67)  # EX_NOUSER
        proc = self.docket("outbox", "run", "--once", check=False)
        self.assertEqual(proc.returncode, 1)  # a row failed for good
        self.assertIn("failed 1", proc.stdout.decode())


if __name__ == "__main__":
    unittest.main()
