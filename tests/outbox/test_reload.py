"""SIGHUP applies the outbox settings in `docket serve`: a relay configured
while it runs takes the next notification, with the new [notify] sender
name and team addresses; a configuration the outbox cannot use is refused
and the running settings kept."""

import os
import signal
import subprocess
import time
import unittest

from outboxtest import BINARY, DOMAIN, SUPPORT, customer_mail, parse
from dockettest import DocketCase
from lmtpclient import send
from smtpsink import Sink, free_port
from test_serve import wait_for_port

TEAM = "team@" + DOMAIN


class ReloadTest(DocketCase):
    def setUp(self):
        super().setUp()
        self.sink = Sink(free_port()).start()
        self.addCleanup(self.sink.stop)
        self.lmtp = free_port()
        self.write_config("")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp], stderr=self.log)
        self.addCleanup(self.stop)
        wait_for_port(self.lmtp)

    def stop(self):
        """SIGTERM; returns the exit status (0, also under the sanitizers)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode

    def write_config(self, extra):
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = %s\n[threading]\ndomain = %s\n"
                    "[notify]\nfrom = %s\npoll_seconds = 1\n%s" %
                    (self.data, DOMAIN, SUPPORT, extra))

    def reloads(self):
        with open(self.log_path, "rb") as f:
            return [line for line in f.read().splitlines() if b"event=reload" in line]

    def reload(self, expect):
        """Sends SIGHUP and waits for the serve log line that contains expect."""
        before = len(self.reloads())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = self.reloads()
            if len(lines) > before:
                self.assertIn(expect.encode(), lines[-1])
                return
            time.sleep(0.1)
        self.fail("no reload in the log")

    def deliver(self, n):
        reply, = send(self.lmtp, customer_mail("c%d@example.org" % n, "Problem %d" % n,
                                               "m%d@example.org" % n), [SUPPORT],
                      sender="c%d@example.org" % n)
        self.assertTrue(reply.startswith("250"), reply)

    def maildir(self):
        path = os.path.join(self.data, "outbox-maildir", "new")
        return os.listdir(path) if os.path.isdir(path) else []

    def wait(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.1)
        self.assertTrue(predicate())

    def test_sighup_applies_relay_and_notify_settings(self):
        self.deliver(1)  # the embedded default: the Maildir
        self.wait(lambda: len(self.maildir()) == 1)
        self.write_config("from_name = Help Desk\nteam_addresses = %s\n"
                          "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n"
                          % (TEAM, self.sink.port))
        self.reload("result=ok")
        self.deliver(2)
        self.assertEqual(self.sink.wait_for(2, 15), 2)
        got = {tuple(r): parse(d) for _, r, d in self.sink.messages}
        self.assertEqual(set(got), {("c2@example.org",), (TEAM,)})
        self.assertEqual(str(got[("c2@example.org",)]["From"]), "Help Desk <%s>" % SUPPORT)
        self.assertEqual(len(self.maildir()), 1)
        # [notify] from that is no address: refused, the running settings stay
        with open(self.config, "a") as f:
            f.write("[notify]\nfrom = not an address\n")
        self.reload("result=failed keeping=previous")
        self.deliver(3)
        self.assertEqual(self.sink.wait_for(4, 15), 4)
        froms = [str(parse(d)["From"]) for _, r, d in self.sink.messages if r == ["c3@example.org"]]
        self.assertEqual(froms, ["Help Desk <%s>" % SUPPORT])
        self.assertEqual(len(self.maildir()), 1)
        self.assertEqual(self.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
