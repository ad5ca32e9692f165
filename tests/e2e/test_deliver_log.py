"""`docket deliver` writes one log line per message, like the other
intakes; its stderr belongs to the MTA, so the line goes to syslog
([log] syslog = true) and nowhere otherwise. The test runs docket in a
mount namespace of its own whose /dev/log is the test's socket, so that
nothing else on the machine logs to the test, nor the test to the
machine's syslog (root with unshare; skipped otherwise)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

from dockettest import BINARY, DocketCase

MAIL = (b"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Logged\n"
        b"Message-ID: <log1@example.org>\n\nHello.\n")

# Inside the namespace: a /dev of its own (a tmpfs) with the devices docket
# may open bound in from the real one, and /dev/log pointing at the socket.
PRIVATE_DEV = """
set -e
mount --bind /dev "$OLD"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero random urandom; do touch /dev/$n; mount --bind "$OLD/$n" /dev/$n; done
ln -s "$SOCK" /dev/log
exec "$@"
"""


def setUpModule():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("skipped: needs root and unshare")
        sys.exit(77)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print("skipped: no mount namespace here")
        sys.exit(77)


class DeliverLogTest(DocketCase):
    config_text = "[log]\nsyslog = true\n"

    def setUp(self):
        super().setUp()
        self.private = tempfile.mkdtemp(prefix="docket-syslog-")
        self.addCleanup(shutil.rmtree, self.private, True)
        self.path = os.path.join(self.private, "log")
        self.old = os.path.join(self.private, "dev")
        os.mkdir(self.old)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.addCleanup(self.sock.close)

    def deliver(self, message, *args):
        env = dict(os.environ, SOCK=self.path, OLD=self.old)
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               PRIVATE_DEV, "sh", BINARY, "-c", self.config, "deliver", *args],
                              input=message, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120)

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
