"""The hostile catalogue of test-hostile.c, sent over live LMTP sessions to
`docket serve`: each case gets an answer (250 with a ticket or the
quarantine, or a 5xx refusal that says why; 552 when it is over [intake]
max_message_size), the server stays up, and a normal message sent after
each case is stored. The cases come from `reliability-test-hostile
--write` (one generator for both tests).

Moderate sizes in the default suite (DOCKET_HOSTILE_SCALE=0.2: a 1 MiB
header, a 10 MiB line); the catalogue's full sizes with
DOCKET_RELIABILITY_LONG=1 (scale 10: a 50 MiB header, a 500 MiB line,
which is over max_message_size). The catalogue's per-case configuration
(a 1M decoded-size limit for one case) does not apply here: docket serve
runs on its defaults."""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reliabilitytest import LONG, report  # noqa: E402
from lmtptest import LmtpCase, message  # noqa: E402

GENERATOR = os.environ.get("DOCKET_HOSTILE")
SCALE = os.environ.get("DOCKET_HOSTILE_SCALE", "10" if LONG else "0.2")
MAX_MESSAGE_SIZE = 64 * 1024 * 1024  # [intake] max_message_size, the default


def send_stuffed(client, path):
    """The file as DATA, read and dot-stuffed a MiB at a time. docket ends
    a line at any LF, so a dot after any LF is doubled."""
    at_line_start = True
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            out = chunk.replace(b"\n.", b"\n..")
            if at_line_start and chunk.startswith(b"."):
                out = b"." + out
            at_line_start = chunk.endswith(b"\n")
            client.send(out)
    client.send((b"" if at_line_start else b"\r\n") + b".\r\n")


class HostileLmtpTest(LmtpCase):
    def setUp(self):
        if not GENERATOR or not os.access(GENERATOR, os.X_OK):
            raise unittest.SkipTest("DOCKET_HOSTILE does not name reliability-test-hostile (run under ctest)")
        super().setUp()
        self.cases = tempfile.mkdtemp(prefix="docket-hostile-", dir=self.dir)
        subprocess.run([GENERATOR, "--write", self.cases], check=True, timeout=600,
                       env=dict(os.environ, DOCKET_HOSTILE_SCALE=SCALE))
        with open(os.path.join(self.cases, "index.tsv")) as f:
            self.index = [line.rstrip("\n").split("\t") for line in f if line.strip()]

    def send_case(self, docket, path):
        """One case in its own session: the reply after the final dot. The
        socket's timeout (10 minutes) fails a stall."""
        with docket.client(timeout=600) as c:
            c.greet()
            for r in c.envelope("mallory@example.com", ["support@example.com"]):
                self.assertEqual(r.code, 250, r)
            self.assertEqual(c.cmd("DATA").code, 354)
            send_stuffed(c, path)
            reply = c.reply()
            c.cmd("QUIT")
        return reply

    def assert_alive(self, docket, n):
        """docket runs and stores a normal message."""
        self.assertIsNone(docket.proc.poll(), "docket serve died:\n" + docket.log()[-4000:])
        mid = "after-%d@example.com" % n
        with docket.client() as c:
            c.greet()
            _, replies = c.transaction("alice@example.com", ["support@example.com"],
                                       message(mid, subject="After case %d" % n))
            c.cmd("QUIT")
        self.assertEqual(replies[0].code, 250, replies[0])
        self.assertIn("<%s> ticket" % mid, replies[0].text)

    def outcome(self, name, expect, size, reply):
        """What the reply says, checked against the case's expectation."""
        if size > MAX_MESSAGE_SIZE:
            self.assertEqual((reply.code, reply.status), (552, "5.3.4"), "%s: %r" % (name, reply))
            return "refused: over max_message_size"
        if expect == "refusal":
            self.assertEqual(reply.code // 100, 5, "%s: %r" % (name, reply))
            self.assertRegex(reply.text, r"refused: \S", name)  # says why
            return "refused (%d %s)" % (reply.code, reply.status)
        self.assertEqual(reply.code, 250, "%s: %r" % (name, reply))
        if expect == "quarantine":
            self.assertIn("Kept in quarantine", reply.text, name)
            return "250, quarantine"
        ticket = re.search(r"> ticket (\d+) ", reply.text)
        self.assertIsNotNone(ticket, "%s: %r" % (name, reply))
        self.tickets_seen.add(int(ticket.group(1)))
        return "250, ticket"

    def test_catalogue_over_lmtp(self):
        docket = self.serve()
        self.tickets_seen = set()
        alive = 0
        print("scale %s" % SCALE)
        print("%-20s %-34s %8s %9s" % ("case", "outcome", "seconds", "input MiB"), flush=True)
        for n, (file, expect, name) in enumerate(self.index):
            path = os.path.join(self.cases, file)
            size = os.path.getsize(path)
            started = time.monotonic()
            reply = self.send_case(docket, path)
            seconds = time.monotonic() - started
            got = self.outcome(name, expect, size, reply)
            print("%-20s %-34s %8.2f %9.1f" % (name, got, seconds, size / (1 << 20)), flush=True)
            os.unlink(path)
            self.assert_alive(docket, n)
            alive += 1
        numbers = {t["number"] for t in self.tickets()}
        self.assertLessEqual(self.tickets_seen, numbers)
        report("hostile over LMTP", cases=len(self.index), scale=SCALE, normal_message_stored_after=alive)


if __name__ == "__main__":
    unittest.main(verbosity=2)
