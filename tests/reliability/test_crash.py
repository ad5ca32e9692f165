"""Kill storm: a private Postfix delivers a burst of mail to `docket serve`
over LMTP while docket is killed with SIGKILL at random moments and
started again; once Postfix's queue is empty, every message is exactly one
article: nothing lost, nothing stored twice.

Short variant (the default suite): 300 messages, 3 kills. Long variant
(DOCKET_RELIABILITY_LONG=1): 3,000 messages, 5 kills. Skipped (exit 77)
without Postfix or root."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reliabilitytest import report, rng, scaled  # noqa: E402
from postfixtest import PostfixCase, skip_reason  # noqa: E402

MESSAGES = scaled(300, 3000)
KILLS = scaled(3, 5)


class KillStormTest(PostfixCase):
    def wait_messages(self, docket, count, sender):
        """Until docket's log holds `count` messages, or nothing more can
        come (sending is over and Postfix's queue is empty)."""
        while docket.log().count("event=message") < count:
            self.assertIsNone(docket.proc.poll(), "docket serve died:\n" + docket.log()[-4000:])
            if not sender.is_alive() and self.postfix.queue() == []:
                return
            time.sleep(0.005)

    def test_kill_storm(self):
        random = rng("kill storm")
        docket = self.start_docket()
        failure = []

        def send():
            try:
                self.send(MESSAGES, parallel=4)
            except Exception as e:  # reported by the main thread
                failure.append(e)

        sender = threading.Thread(target=send)
        sender.start()
        kills = 0
        for _ in range(KILLS):
            # Somewhere in the next share of the burst, at a moment inside
            # a batch rather than between messages.
            self.wait_messages(docket, random.randint(1, MESSAGES // (KILLS + 1)), sender)
            time.sleep(random.uniform(0, 0.02))
            docket.proc.kill()
            docket.proc.wait()
            kills += 1
            docket = self.start_docket()
        sender.join()
        self.assertEqual(failure, [])
        self.wait_delivered(timeout=scaled(120, 900))

        lost, duplicated = self.lost_and_duplicated()
        retried = self.postfix.log().count("status=deferred")
        repeats = self.postfix.log().count(" duplicate")
        report("kill storm", messages=len(self.sent), kills=kills, deferred=retried,
               committed_before_kill=repeats, lost=len(lost), duplicated=len(duplicated))
        self.assertEqual(lost, [])
        self.assertEqual(duplicated, [])
        self.assertEqual(len(self.inbound_counts()), MESSAGES)
        self.assertEqual(self.postfix.log().count("status=sent"), self.submissions)
        self.assertEqual(self.spool_files(), [])


if __name__ == "__main__":
    if skip_reason():
        print("skipped: " + skip_reason())
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    unittest.main(verbosity=2)
