"""Disk full: docket's data directory is a small tmpfs, filled to the last
byte while mail arrives. docket must answer 451 for everything it could
not store (never 250 for a message it does not hold, never 5xx, never a
crash), and once space is freed the same docket process stores the
retries, each message exactly once.

- DiskFullTest: a private Postfix delivers while the disk is full; short
  variant 40 messages in the fault, long (DOCKET_RELIABILITY_LONG=1) 400.
- FullMidBatchTest: many large messages at once, so that SQLite spills a
  batch to the full disk in the middle of the transaction and rolls all of
  it back by itself; every message of that batch must get 451 (docket once
  went on outside the transaction and answered 550 to some).

Skipped (exit 77) without Postfix or root, or where tmpfs cannot be
mounted."""

import errno
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reliabilitytest import report, scaled  # noqa: E402
from lmtptest import LmtpCase, message  # noqa: E402
from postfixtest import PostfixCase, skip_reason  # noqa: E402

IN_FAULT = scaled(40, 400)


def fill(directory):
    """Writes a file in directory until the file system is full; its path."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    return path


def mount_small(case, size):
    """Mounts a tmpfs of `size` (as mount -o size= takes it) on the case's data directory (skips the test
    when that is impossible); it is unmounted when the test ends."""
    os.makedirs(case.data)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0750" % size, "tmpfs", case.data],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if mount.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs for the data directory: %s"
                                % mount.stdout.decode(errors="replace").strip())
    # Runs before the removal of the test's directory.
    case.addCleanup(subprocess.run, ["umount", "-l", case.data])


def direct(docket, mid, body="Sent while the disk is full.\r\n"):
    """One message over LMTP straight to docket: its reply."""
    with docket.client(timeout=120) as c:
        c.greet()
        _, replies = c.transaction("bob@example.com", ["support@example.com"],
                                   message(mid, subject="Direct " + mid, body=body))
        c.cmd("QUIT")
    return replies[0]


class DiskFullTest(PostfixCase):
    def setUp(self):
        super().setUp()
        mount_small(self, "24m")

    def assert_held_or_451(self, reply, mid):
        """250 only for a message docket holds; otherwise 451 4.3.0."""
        if reply.code == 250:
            self.assertIn(mid, self.inbound_counts())
        else:
            self.assertEqual((reply.code, reply.status), (451, "4.3.0"), reply)

    def test_disk_full_then_freed(self):
        docket = self.start_docket()
        self.send(5)
        self.wait_delivered()

        filler = fill(self.data)
        self.send(IN_FAULT)
        # A small message (held in memory) and one over the spool's memory
        # limit (a file, whose writes fail first).
        small = direct(docket, "full-small@example.com")
        large = direct(docket, "full-large@example.com", body="y" * 76 + "\r\n" * 5000)
        self.wait_queue(lambda q: len(q) == IN_FAULT and all(
            r.get("delay_reason") for m in q for r in m["recipients"]), "deferred all", timeout=120)
        self.assertIsNone(docket.proc.poll(), "docket died:\n" + docket.log()[-4000:])
        self.assert_held_or_451(small, "full-small@example.com")
        self.assert_held_or_451(large, "full-large@example.com")
        sent_during = self.postfix.log().count("status=sent") - 5
        tempfails = docket.log().count("outcome=tempfail") + docket.log().count("event=spool error")
        self.assertGreater(tempfails, 0)
        self.assertIn("451 4.3.0", self.postfix.log())

        # Space comes back: the same process recovers by itself.
        os.unlink(filler)
        self.wait_delivered(timeout=scaled(120, 600))
        for mid in ("full-small@example.com", "full-large@example.com"):
            self.assertEqual(direct(docket, mid).code, 250)
            self.sent.append(mid)
        self.assertIsNone(docket.proc.poll())
        lost, duplicated = self.lost_and_duplicated()
        report("disk full", messages=len(self.sent), sent_while_full=sent_during, tempfailed=tempfails,
               lost=len(lost), duplicated=len(duplicated))
        self.assertEqual(lost, [])
        self.assertEqual(duplicated, [])
        self.assertEqual(self.postfix.log().count("status=sent"), self.submissions)


class FullMidBatchTest(LmtpCase):
    CLIENTS = 40

    def setUp(self):
        super().setUp()
        # Room for the second burst once the filler is gone: the batch
        # (7.6 MB) in the WAL and again in the database.
        mount_small(self, "64m")

    def burst(self, docket, prefix):
        """CLIENTS messages of about 190 KB at once (each kept inline in
        the database): Message-ID -> reply."""
        replies = {}

        def one(i):
            mid = "%s%d@example.com" % (prefix, i)
            body = ("line %d of a long message, text that does not compress\r\n" % i) * 3500
            try:
                replies[mid] = direct(docket, mid, body)
            except (OSError, AssertionError) as e:
                replies[mid] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return replies

    def test_rolled_back_batch_is_451(self):
        docket = self.serve()
        self.assertEqual(direct(docket, "warm@example.com").code, 250)
        filler = fill(self.data)
        replies = self.burst(docket, "spill")
        stored = self.inbound_counts()
        codes = {}
        for mid, r in replies.items():
            self.assertNotIsInstance(r, Exception, "%s: %s\n%s" % (mid, r, docket.log()[-4000:]))
            codes[r.code] = codes.get(r.code, 0) + 1
            if r.code == 250:
                self.assertIn(mid, stored)
            else:
                self.assertEqual((r.code, r.status), (451, "4.3.0"), r)
        # Where the full disk shows depends on what the batch holds in
        # memory: SQLite may roll the batch back by itself in the middle
        # (the page cache spilling), or the COMMIT fails. Either way every
        # message gets 451; the writer's handling of a rollback it did not
        # ask for is tested on its own in tests/gateway/test-store.c.
        log = docket.log()
        self.assertTrue("SQLite rolled back the transaction" in log or
                        "COMMIT: database or disk is full" in log, log[-2000:])

        os.unlink(filler)
        again = self.burst(docket, "spill")
        self.assertEqual({r.code for r in again.values()}, {250})
        counts = self.inbound_counts()
        self.assertEqual(sorted(counts), sorted(["warm@example.com"] + list(replies)))
        self.assertEqual(set(counts.values()), {1})
        report("disk full mid-batch", messages=len(replies), replies=codes, lost=0, duplicated=0)


if __name__ == "__main__":
    if skip_reason():
        print("skipped: " + skip_reason())
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    unittest.main(verbosity=2)
