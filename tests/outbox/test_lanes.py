"""Each destination of the outbox on its own lane: a help desk that does
not answer holds up only its own rows. The slow desk (a webhook receiver)
keeps every request waiting at a gate; the test opens the gate only once
the other desk and the SMTP relay have everything (or after HOLD seconds,
which a worker that goes one row at a time would need before anything
else could move). The proof is the order the mocks recorded, not
how long anything took: every request of the fast desk and every message
of the relay arrived before the slow desk let its first answer go. The
same with the relay as the slow one. And with four runners per connector,
a ticket's events still reach its desk one after the other, in the order
they happened, while other tickets' events go in between.

The same holds for `docket outbox run --once` and for `docket serve`,
where a SIGHUP that adds a connector starts its lane while the slow desk
still holds its requests."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "connectors"))

from outboxtest import BINARY, DOMAIN, SUPPORT, customer_mail  # noqa: E402
from dockettest import DocketCase, write_secret  # noqa: E402
from lmtpclient import send  # noqa: E402
from smtpsink import Sink, free_port  # noqa: E402
from test_serve import wait_for_port  # noqa: E402
import hookmock  # noqa: E402

# How long a gate waits for the test at most: far longer than the other
# destinations need even on a loaded machine under the sanitizers (the
# test opens it as soon as they are done), short enough that a worker
# that goes one row at a time fails the test instead of hanging it.
HOLD = 45.0
PAIR_WAIT = 10.0  # how long the first request waits for a second one
TICKETS = 3


class Desk(hookmock.Receiver):
    """A webhook receiver that notes when each request arrived; with a
    gate, each request waits there until the gate opens (at most HOLD
    seconds) and released is when the first one went on."""

    def __init__(self, gated=False):
        super().__init__()
        self.gate = threading.Event() if gated else None
        self.arrivals = []
        self.released = None

    def take_fault(self, req):
        with self.lock:
            self.arrivals.append(time.monotonic())
        if self.gate is not None:
            self.gate.wait(HOLD)
            with self.lock:
                if self.released is None:
                    self.released = time.monotonic()
        return super().take_fault(req)


class PairedDesk(hookmock.Receiver):
    """Keeps the first request waiting until a second one arrives (at most
    PAIR_WAIT seconds); paired says whether one did while the first
    waited."""

    def __init__(self):
        super().__init__()
        self.second = threading.Event()
        self.paired = None

    def take_fault(self, req):
        with self.lock:
            first = len(self.requests) == 1
        if first:
            self.paired = self.second.wait(PAIR_WAIT)
        else:
            self.second.set()
        return super().take_fault(req)


class LanesCase(DocketCase):
    """Desks by name (started), an SMTP sink noting when each message
    arrived, and a configuration naming them."""

    def desks(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.desk = self.desks()
        for d in self.desk.values():
            d.start()
            self.addCleanup(d.stop)
        self.sink = Sink(free_port()).start()
        self.addCleanup(self.sink.stop)
        self.sink_times = []
        self.sink.on_message = lambda *args: self.sink_times.append(time.monotonic())
        self.creds = os.path.join(self.dir, "credentials")
        write_secret(self.creds, "secret = %s\n" % hookmock.SECRET)
        self.write_config(self.desk)

    def write_config(self, desks):
        text = ("[store]\ndata_dir = %s\n[threading]\ndomain = %s\n"
                "[notify]\nfrom = %s\npoll_seconds = 1\nretry_initial_seconds = 1\n"
                "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n"
                % (self.data, DOMAIN, SUPPORT, self.sink.port))
        for name, d in desks.items():
            text += ("[connector:%s]\ntype = webhook\nbase_url = %s/hook\n"
                     "credentials_file = %s\ntimeout_seconds = 90\n" % (name, d.url, self.creds))
        with open(self.config, "w") as f:
            f.write(text)

    def conversation(self, n):
        """Ticket n: the customer's mail and two replies."""
        frm = "c%d@customer.example" % n
        first = "t%d-0@customer.example" % n
        out = [customer_mail(frm, "Problem %d" % n, first)]
        for i in (1, 2):
            out.append(customer_mail(frm, "Re: Problem %d" % n, "t%d-%d@customer.example" % (n, i),
                                     "More about it (%d).\n" % i,
                                     "In-Reply-To: <t%d-%d@customer.example>\n" % (n, i - 1)))
        return frm, out

    def deliver_all(self, numbers):
        for n in numbers:
            for m in self.conversation(n)[1]:
                proc = self.deliver(m)
                self.assertEqual(proc.returncode, 0, proc.stderr)

    def rows(self):
        return json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]

    def count(self, target=None, mail=False):
        return len([r for r in self.rows() if (r["kind"] != "connector") == mail
                    and (target is None or r["target"] == target)])

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.1)
        return predicate()

    def assert_in_order(self, name):
        """Each ticket's events reached desk name once, oldest row first,
        all of them."""
        rows = {}
        for r in self.rows():
            if r["kind"] == "connector" and r["target"] == name:
                rows.setdefault("docket-%d" % r["ticket"], []).append(r["id"])
        got = {}
        for e in self.desk[name].events:
            got.setdefault(e["reference"], []).append(int(e["id"].rsplit("-", 1)[1]))
        self.assertEqual(got, {ref: sorted(ids) for ref, ids in rows.items()})

    def assert_all_done(self):
        rows = self.rows()
        self.assertTrue(rows)
        self.assertEqual([r for r in rows if r["state"] != "done"], [])


class SlowDeskCase(LanesCase):
    def desks(self):
        return {"slow": Desk(gated=True), "fast": Desk()}

    def others_done(self, fast_rows, mail_rows):
        return lambda: (len(self.desk["fast"].events) >= fast_rows
                        and len(self.sink_times) >= mail_rows)

    def assert_slow_held_only_itself(self, others=("fast",)):
        slow = self.desk["slow"]
        self.assertIsNotNone(slow.released)
        for name in others:
            self.assertTrue(self.desk[name].arrivals)
            self.assertLess(max(self.desk[name].arrivals), slow.released, name)
        self.assertTrue(self.sink_times)
        self.assertLess(max(self.sink_times), slow.released)
        # the slow desk had its first request before it let it go
        self.assertLess(min(slow.arrivals), slow.released)


class RunOnceTest(SlowDeskCase):
    def test_slow_desk_holds_up_only_its_rows(self):
        self.deliver_all(range(1, TICKETS + 1))
        fast_rows, mail_rows = self.count("fast"), self.count(mail=True)
        self.assertEqual(fast_rows, 3 * TICKETS)
        self.assertEqual(self.count("slow"), 3 * TICKETS)
        self.assertGreaterEqual(mail_rows, TICKETS)
        run = subprocess.Popen([BINARY, "-c", self.config, "outbox", "run", "--once"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: run.poll() is None and run.kill())
        self.wait(self.others_done(fast_rows, mail_rows), 3 * HOLD)
        self.desk["slow"].gate.set()
        out, err = run.communicate(timeout=180)
        self.assertEqual(run.returncode, 0, err)
        self.assertTrue(out.startswith(b"sent %d," % (2 * fast_rows + mail_rows)), out)
        self.assert_slow_held_only_itself()
        self.assert_all_done()
        self.assert_in_order("fast")
        self.assert_in_order("slow")


class ServeTest(SlowDeskCase):
    def desks(self):
        return {"slow": Desk(gated=True), "fast": Desk(), "late": Desk()}

    def setUp(self):
        super().setUp()
        self.write_config({k: self.desk[k] for k in ("slow", "fast")})
        self.lmtp = free_port()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp], stderr=self.log)
        self.addCleanup(self.stop)
        wait_for_port(self.lmtp)

    def stop(self):
        self.desk["slow"].gate.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        return self.proc.returncode

    def deliver_all(self, numbers):
        for n in numbers:
            frm, mails = self.conversation(n)
            for m in mails:
                reply, = send(self.lmtp, m, [SUPPORT], sender=frm)
                self.assertTrue(reply.startswith("250"), reply)

    def reloads(self):
        with open(self.log.name, "rb") as f:
            return f.read().count(b"event=reload result=ok")

    def reload(self):
        before = self.reloads()
        self.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait(lambda: self.reloads() > before, HOLD))

    def test_slow_desk_holds_up_only_its_rows_across_a_reload(self):
        self.deliver_all(range(1, TICKETS + 1))
        self.wait(self.others_done(3 * TICKETS, self.count(mail=True)), 3 * HOLD)
        # a connector added while the slow desk holds its requests
        self.write_config(self.desk)
        self.reload()
        self.deliver_all([TICKETS + 1])
        others = self.others_done(3 * (TICKETS + 1), self.count(mail=True))
        self.wait(lambda: len(self.desk["late"].events) == 3 and others(), 3 * HOLD)
        self.desk["slow"].gate.set()
        self.assertTrue(self.wait(lambda: len(self.desk["slow"].events) == 3 * (TICKETS + 1),
                                  120))
        self.assertTrue(self.wait(lambda: all(r["state"] == "done" for r in self.rows()), 120))
        self.assert_slow_held_only_itself(others=("fast", "late"))
        self.assertEqual(self.count("late"), 3)
        for name in ("fast", "slow", "late"):
            self.assert_in_order(name)
        self.assertEqual(self.stop(), 0)


class SlowRelayTest(LanesCase):
    """The relay keeps every message's final dot waiting at a gate."""

    def desks(self):
        return {"fast": Desk()}

    def setUp(self):
        super().setUp()
        self.gate = threading.Event()
        self.released = None

        def held(mail_from, rcpts, data):
            self.gate.wait(HOLD)
            if self.released is None:
                self.released = time.monotonic()
            return None

        self.sink.data_reply = held

    def test_slow_relay_holds_up_only_mail(self):
        self.deliver_all(range(1, TICKETS + 1))
        mail_rows = self.count(mail=True)
        run = subprocess.Popen([BINARY, "-c", self.config, "outbox", "run", "--once"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: run.poll() is None and run.kill())
        self.wait(lambda: len(self.desk["fast"].events) == 3 * TICKETS, 3 * HOLD)
        self.gate.set()
        out, err = run.communicate(timeout=180)
        self.assertEqual(run.returncode, 0, err)
        self.assertEqual(len(self.sink_times), mail_rows)
        self.assertIsNotNone(self.released)
        self.assertLess(max(self.desk["fast"].arrivals), self.released)
        self.assert_all_done()
        self.assert_in_order("fast")


class OrderTest(LanesCase):
    """Four tickets on one desk with four runners: the first request
    waits until a second comes (which only another runner can send), and
    each ticket's events still arrive in order."""

    def desks(self):
        return {"desk": PairedDesk()}

    def test_ticket_order_kept_under_concurrency(self):
        self.deliver_all(range(1, 5))
        self.docket("outbox", "run", "--once")
        self.assertTrue(self.desk["desk"].paired)
        self.assert_all_done()
        self.assert_in_order("desk")

    def test_one_runner_sends_one_at_a_time(self):
        with open(self.config, "a") as f:
            f.write("max_parallel = 1\n")
        self.deliver_all(range(1, 3))
        self.docket("outbox", "run", "--once")
        self.assertFalse(self.desk["desk"].paired)
        self.assert_all_done()
        self.assert_in_order("desk")


if __name__ == "__main__":
    unittest.main(verbosity=2)
