"""Database locked by another process: a Python sqlite3 connection holds
BEGIN EXCLUSIVE on docket's database while mail arrives. docket waits
[store] busy_timeout_ms (5 s by default) for the lock, then answers
451 4.3.0: never 250, never a silent stall; once the lock is released the
same docket process stores everything, Postfix's retries included, each
message exactly once.

Short variant: the lock held at least 8 s with 8 messages through Postfix;
long (DOCKET_RELIABILITY_LONG=1): at least 60 s with 200. Skipped (exit 77)
without Postfix or root."""

import os
import re
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reliabilitytest import report, scaled  # noqa: E402
from lmtptest import message  # noqa: E402
from postfixtest import PostfixCase, skip_reason  # noqa: E402

HOLD = scaled(8, 60)
IN_FAULT = scaled(8, 200)


class LockedTest(PostfixCase):
    def direct(self, docket, mid):
        """One message over LMTP straight to docket: (reply, seconds).
        The socket's timeout (60 s) fails a stall."""
        started = time.monotonic()
        with docket.client(timeout=60) as c:
            c.greet()
            _, replies = c.transaction("bob@example.com", ["support@example.com"],
                                       message(mid, subject="Locked " + mid))
            c.cmd("QUIT")
        return replies[0], time.monotonic() - started

    def deferred_451(self):
        """Postfix's queue ids that docket answered 451 4.3.0."""
        return set(re.findall(r"(\w+): to=<[^>]*>, .*status=deferred .*said: 451 4\.3\.0", self.postfix.log()))

    def test_locked_then_released(self):
        docket = self.start_docket()
        self.send(3)
        self.wait_delivered()

        lock = sqlite3.connect(os.path.join(self.data, "docket.db"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        self.send(IN_FAULT)
        reply, seconds = self.direct(docket, "locked@example.com")
        self.assertEqual((reply.code, reply.status), (451, "4.3.0"), reply)
        self.assertNotIn("locked@example.com", self.inbound_counts())
        # Every message sent in the fault was tried and answered 451 (the
        # queue itself is never still: the retries keep coming).
        deadline = time.monotonic() + HOLD + 60
        while len(self.deferred_451()) < IN_FAULT and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(len(self.deferred_451()), IN_FAULT, self.postfix.log()[-4000:])
        time.sleep(max(0.0, HOLD - (time.monotonic() - locked_at)))
        self.assertEqual(self.inbound_counts().keys() & set(self.sent[3:]), set(),
                         "stored while the database was locked")
        lock.execute("ROLLBACK")
        lock.close()
        held = time.monotonic() - locked_at

        self.wait_delivered(timeout=scaled(60, 300))
        reply, _ = self.direct(docket, "locked@example.com")
        self.assertEqual(reply.code, 250, reply)
        self.sent.append("locked@example.com")
        self.assertIsNone(docket.proc.poll())
        lost, duplicated = self.lost_and_duplicated()
        tempfails = docket.log().count("outcome=tempfail")
        report("database locked", held_seconds="%.0f" % held, messages=len(self.sent),
               tempfailed=tempfails, first_451_after_seconds="%.1f" % seconds,
               lost=len(lost), duplicated=len(duplicated))
        self.assertIn("database is locked", docket.log())
        self.assertEqual(lost, [])
        self.assertEqual(duplicated, [])
        self.assertEqual(self.postfix.log().count("status=sent"), self.submissions)


if __name__ == "__main__":
    if skip_reason():
        print("skipped: " + skip_reason())
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    unittest.main(verbosity=2)
