"""`docket deliver` writes one log line per message, like the other
intakes; its stderr belongs to the MTA, so the line goes to syslog
([log] syslog = true) and nowhere otherwise. The test listens on /dev/log
itself (root, and only where no syslog daemon owns /dev/log)."""

import os
import socket
import sys
import unittest

from dockettest import DocketCase

MAIL = (b"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Logged\n"
        b"Message-ID: <log1@example.org>\n\nHello.\n")


def setUpModule():
    if os.geteuid() != 0 or os.path.exists("/dev/log"):
        print("skipped: needs root and a free /dev/log")
        sys.exit(77)


class DeliverLogTest(DocketCase):
    config_text = "[log]\nsyslog = true\n"

    def setUp(self):
        super().setUp()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        self.addCleanup(os.unlink, "/dev/log")
        self.addCleanup(self.sock.close)
        self.sock.settimeout(10)

    def lines(self):
        out = []
        self.sock.setblocking(False)
        while True:
            try:
                out.append(self.sock.recv(65536).decode(errors="replace"))
            except BlockingIOError:
                return out

    def test_one_line_per_message(self):
        proc = self.deliver(MAIL, "--sender", "ann@example.org", "--recipient", "support@example.com")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        mine = [l for l in self.lines() if "stdin event=message" in l]
        self.assertEqual(len(mine), 1, mine)
        self.assertIn("docket[", mine[0])
        self.assertIn("from=<ann@example.org> rcpts=support@example.com size=%d ticket=1 "
                      "outcome=created" % len(MAIL), mine[0])
        self.deliver(MAIL)
        self.assertIn("outcome=duplicate", [l for l in self.lines() if "event=message" in l][-1])
        proc = self.deliver(b"\x00\x01 not mail")
        self.assertEqual(proc.returncode, 65)
        refused = [l for l in self.lines() if "event=message" in l]
        self.assertEqual(len(refused), 1)
        self.assertIn("outcome=refused ms=", refused[0])
        self.assertIn("error=NUL byte in the header block", refused[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
