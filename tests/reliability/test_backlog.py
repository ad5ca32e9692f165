"""A burst of connections that arrive while docket cannot accept them (its
main loop held up, here by SIGSTOP) waits in the listen queue and is
served once docket runs again: every client gets its greeting and can
deliver. With GIO's default queue of 10, the connections beyond it were
half-open (the kernel answers with SYN cookies, then drops them) and their
clients waited for a greeting that never came; a kill storm or a burst of
40 sessions on a busy machine ran into that."""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reliabilitytest import report  # noqa: E402
from lmtptest import Client, LmtpCase, message  # noqa: E402

CLIENTS = 60  # under [lmtp] max_connections (100)


class BacklogTest(LmtpCase):
    def test_burst_while_stopped(self):
        docket = self.serve()
        clients = []
        docket.signal(signal.SIGSTOP)
        try:
            for _ in range(CLIENTS):
                clients.append(Client(docket.address, timeout=20))
        finally:
            docket.signal(signal.SIGCONT)
        stored = 0
        for i, c in enumerate(clients):
            with c:
                c.greet()
                mid = "burst%d@example.com" % i
                _, replies = c.transaction("alice@example.com", ["support@example.com"], message(mid))
                self.assertEqual(replies[0].code, 250, replies[0])
                stored += 1
                c.cmd("QUIT")
        self.assertEqual(len(self.inbound_counts()), CLIENTS)
        report("connection burst", connections=CLIENTS, stored=stored)


if __name__ == "__main__":
    unittest.main(verbosity=2)
