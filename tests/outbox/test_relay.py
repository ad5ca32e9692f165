"""The relay goes down and comes back while `docket outbox run` keeps
going: every notification arrives exactly once. And an autoresponder that
answers every notification: the exchange stops within the hourly limit."""

import queue
import signal
import subprocess
import threading
import time
import unittest

from outboxtest import BINARY, OutboxCase, customer_mail, parse

FAST = "poll_seconds = 1\nretry_initial_seconds = 1\nretry_max_seconds = 2\n"


class WorkerCase(OutboxCase):
    notify_text = FAST

    def start_worker(self):
        self.worker = subprocess.Popen([BINARY, "-c", self.config, "outbox", "run"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.stop_worker)

    def stop_worker(self):
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                return self.worker.wait(timeout=20)
            finally:
                self.worker.stdout.close()
                self.worker.stderr.close()
        return self.worker.returncode


class RelayOutageTest(WorkerCase):
    sink_started = False

    def test_every_notification_arrives_exactly_once(self):
        customers = ["c%d@example.org" % i for i in range(6)]
        for i, c in enumerate(customers):
            self.deliver_ok(customer_mail(c, "Problem %d" % i, "m%d@example.org" % i))
        self.start_worker()
        # down: the rows are tried, kept and rescheduled
        self.assertTrue(self.wait_until(
            lambda: all(r["attempts"] >= 2 for r in self.outbox()), 20))
        rows = self.outbox()
        self.assertTrue(all(r["state"] == "pending" and r["last_error"] for r in rows))
        # back: everything arrives
        self.sink.start()
        self.assertEqual(self.sink.wait_for(len(customers), 30), len(customers))
        self.assertTrue(self.wait_until(lambda: all(r["state"] == "done" for r in self.outbox()), 20))
        time.sleep(2)  # a few more polls: nothing is sent twice
        self.assertEqual(self.stop_worker(), 0)
        self.assertEqual(len(self.sink.messages), len(customers))
        self.assertEqual(sorted(r[0] for _, r, _ in self.sink.messages), sorted(customers))
        ids = {parse(d)["Message-ID"] for _, _, d in self.sink.messages}
        self.assertEqual(len(ids), len(customers))
        for n in range(1, len(customers) + 1):
            self.assertEqual(len(self.events(n, "notification_sent")), 1)

    def test_relay_fails_mid_conversation(self):
        # up but answering 421 to the data for a while, then healthy
        self.sink.start()
        refusals = {"left": 2}

        def data_reply(*_):
            if refusals["left"] > 0:
                refusals["left"] -= 1
                return "421 4.3.2 shutting down"
            return None

        self.sink.data_reply = data_reply
        self.deliver_ok(customer_mail("dora@example.org", "Mail", "d1@example.org"))
        self.start_worker()
        self.assertEqual(self.sink.wait_for(1, 30), 1)
        time.sleep(1.5)
        self.assertEqual(len(self.sink.messages), 1)
        row = self.outbox()[0]
        self.assertEqual((row["state"], row["attempts"]), ("done", 3))


class ConcurrentWorkersTest(OutboxCase):
    """`docket outbox run --once` from cron beside a running worker: each
    notification goes out once."""

    def test_two_workers_send_each_row_once(self):
        self.sink.data_reply = lambda *_: time.sleep(0.3)  # a slow relay
        for i in range(6):
            self.deliver_ok(customer_mail("w%d@example.org" % i, "Slow %d" % i, "w%d@example.org" % i))
        procs = [subprocess.Popen([BINARY, "-c", self.config, "outbox", "run", "--once"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        outs = [p.communicate(timeout=60)[0].decode() for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0])
        sent = sum(int(o.split()[1].rstrip(",")) for o in outs)
        self.assertEqual(sent, 6)
        self.assertEqual(len(self.sink.messages), 6)
        self.assertEqual(sorted(r[0] for _, r, _ in self.sink.messages),
                         sorted("w%d@example.org" % i for i in range(6)))


class AutoresponderTest(WorkerCase):
    """A mailbox that answers every message it gets, delivered back into
    docket as a test thread would (the MTA pipe)."""

    def setUp(self):
        super().setUp()
        self.replies = queue.Queue()
        self.sink.on_message = lambda f, r, d: self.replies.put(parse(d))
        self.stop = threading.Event()
        self.delivered = 0
        self.thread = threading.Thread(target=self.respond, daemon=True)
        self.thread.start()
        self.addCleanup(self.stop.set)

    def respond(self):
        while not self.stop.is_set():
            try:
                m = self.replies.get(timeout=0.2)
            except queue.Empty:
                continue
            self.delivered += 1
            self.deliver(self.answer(m, self.delivered))

    def wait_quiet(self, seconds=3, timeout=40):
        """Waits until no mail moved for seconds."""
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = (len(self.sink.messages), self.delivered)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return
            time.sleep(0.2)
        self.fail("the exchange did not stop")


class PoliteAutoresponderTest(AutoresponderTest):
    def answer(self, m, n):
        return customer_mail("away@example.org", "Out of Office: " + str(m["Subject"]), "ooo%d@example.org" % n,
                             headers="Auto-Submitted: auto-replied\nIn-Reply-To: %s\n" % m["Message-ID"])

    def test_one_ack_and_no_more(self):
        self.deliver_ok(customer_mail("away@example.org", "Help", "h1@example.org"))
        self.start_worker()
        self.wait_quiet()
        self.assertEqual(len(self.sink.messages), 1)
        self.assertEqual(self.delivered, 1)
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(len(self.show(1)["articles"]), 3)  # mail, ack, auto-reply


class RudeAutoresponderTest(AutoresponderTest):
    """No Auto-Submitted, no references, no token, its own subject: every
    answer opens a new ticket. Only the rate limit stops it."""

    def answer(self, m, n):
        return customer_mail("bot@example.org", "Thanks for your mail %d" % n, "bot%d@example.org" % n,
                             body="We got your message.\n")

    def test_stops_within_the_limit(self):
        self.deliver_ok(customer_mail("bot@example.org", "Help", "start@example.org"))
        self.start_worker()
        self.wait_quiet()
        self.assertEqual(len(self.sink.messages), 3)  # rate_per_hour
        self.assertEqual(self.delivered, 3)
        tickets = self.tickets()
        self.assertEqual(len(tickets), 4)
        last = max(t["number"] for t in tickets)
        reasons = [e["detail"]["reason"] for e in self.events(last, "ack_suppressed")]
        self.assertEqual(reasons, ["rate limit"])


if __name__ == "__main__":
    unittest.main()
