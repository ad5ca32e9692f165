"""A real Postfix delivers to docket over LMTP: mail sent with Postfix's
sendmail becomes tickets, over TCP and over a Unix socket; while docket is
down the mail waits in Postfix's queue, and once docket is back Postfix's
retries deliver all of it, nothing lost and nothing twice, even when docket
is killed in the middle of a burst.

The Postfix instance is private to the test: its own configuration, queue
and data directories under a temporary directory, no SMTP listener (mail
enters through sendmail and pickup), no local delivery, nothing relayed
anywhere but to docket. Skipped (exit 77) without Postfix or without root."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postfixtest import PostfixCase, skip_reason  # noqa: E402


class PostfixTest(PostfixCase):
    def test_delivery_retries_and_no_duplicates(self):
        docket = self.start_docket()
        self.send(5)
        self.send(2, "helpdesk@example.com")  # over the Unix socket
        self.wait_delivered()
        self.assert_each_once()
        first = [t for t in self.tickets() if t["subject"] == "Postfix 1"]
        self.assertEqual(len(first), 1)
        doc = self.show(first[0]["number"])
        self.assertEqual(doc["articles"][0]["message_id"], self.sent[0])
        self.assertEqual(doc["articles"][0]["text"], "Message 1.\n.a line with a leading dot\nUnicode: gr\u00fc\u00dfe\n")
        self.assertIn(self.sock, self.postfix.log())
        # The same message sent again (Postfix's own Received: field is new):
        # delivered (250), not stored again.
        self.postfix.sendmail(self.compose(1, "support@example.com")[1], "alice@example.com",
                              "support@example.com")
        self.submissions += 1
        self.wait_delivered()
        self.assert_each_once()
        self.assertIn("<%s> ticket %d duplicate" % (self.sent[0], doc["ticket"]["number"]), self.postfix.log())

        # docket is down: mail waits, deferred, in Postfix's queue.
        self.assertEqual(docket.stop(), 0)
        self.send(6)
        self.send(2, "helpdesk@example.com")
        self.wait_queue(lambda q: len(q) == 8 and all(
            r.get("delay_reason") for m in q for r in m["recipients"]), "deferred all 8")
        self.assertEqual(len(self.articles_by_message_id()), 7)
        # docket is back: the retries deliver everything.
        self.start_docket()
        self.wait_delivered()
        self.assert_each_once()

        # Killed in the middle of a burst: whatever was committed is not
        # delivered again (a retry of it gets 250, stores nothing new).
        docket = self.servers[-1]
        self.send(30)
        deadline = time.monotonic() + 20
        while docket.log().count("event=message") < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        docket.proc.kill()
        docket.proc.wait()
        self.start_docket()
        self.wait_delivered()
        self.assert_each_once()
        self.assertEqual(self.spool_files(), [])


if __name__ == "__main__":
    if skip_reason():
        print("skipped: " + skip_reason())
        sys.exit(77)  # ctest: SKIP_RETURN_CODE
    unittest.main(verbosity=2)
