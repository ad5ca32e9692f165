"""Abuse over LMTP against a real `docket serve` (issue 11, item 5): a flood
from one sender against [limits] sender_per_hour (tempfail and hold), a mail
loop with another help desk's autoresponder, a stranger writing into other
people's tickets, SQL and template injection, and LMTP clients that idle,
trickle one byte at a time or open hundreds of sessions. Short timeouts
come from the configuration, so the whole file runs in seconds."""

import email
import email.policy
import os
import socket
import sqlite3
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lmtp"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lmtptest import Client, LmtpCase, message  # noqa: E402
from mailclients import docket_message_id, gmail, thunderbird  # noqa: E402
from test_threading import BASE_CONFIG  # noqa: E402

SUPPORT = "support@example.com"
FLOOD = 500


def deliver_all(server, items, sessions=4):
    """Sends items (envelope sender, message id, bytes) over `sessions`
    parallel LMTP sessions; returns {message id: reply after DATA}."""
    replies = {}
    lock = threading.Lock()
    errors = []

    def work(part):
        try:
            with server.client(timeout=30) as c:
                c.greet()
                for sender, mid, data in part:
                    _, answer = c.transaction(sender, [SUPPORT], data)
                    with lock:
                        replies[mid] = answer[0]
                c.cmd("QUIT")
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(items[i::sessions],)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError("%r; docket serve exit %s, log ends:\n%s" % (
            errors[0], server.proc.poll(), server.log()[-3000:]))
    return replies


class AbuseCase(LmtpCase):
    def db(self, sql, *args):
        with sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "docket.db"), uri=True) as db:
            return db.execute(sql, args).fetchall()

    def count(self, sql, *args):
        return self.db(sql, *args)[0][0]

    def notifications(self, to=None):
        """The notifications docket wrote to its Maildir, parsed, oldest first."""
        folder = os.path.join(self.data, "outbox-maildir", "new")
        found = []
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name), "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            if to is None or to in m["To"]:
                found.append(m)
        return found


class FloodTest(AbuseCase):
    """500 messages from one sender over four sessions, with mail from ten
    other senders in between."""

    def flood(self, action):
        server = self.serve("[limits]\nsender_per_hour = 5\nsender_action = %s\n" % action)
        items = [("mallory@flood.example", "flood-%d@flood.example" % i,
                  message("flood-%d@flood.example" % i, subject="Buy now %d" % i,
                          sender="mallory@flood.example")) for i in range(FLOOD)]
        for i in range(10):
            other = "user%d@example.com" % i
            items.insert(i * 50, (other, "alice-%d@example.com" % i,
                                  message("alice-%d@example.com" % i, subject="Printer %d" % i, sender=other)))
        return server, deliver_all(server, items)

    def test_tempfail(self):
        server, replies = self.flood("tempfail")
        mallory = {k: v for k, v in replies.items() if k.startswith("flood-")}
        alice = {k: v for k, v in replies.items() if k.startswith("alice-")}
        self.assertEqual(len(mallory), FLOOD)
        accepted = [k for k, v in mallory.items() if v.code == 250]
        refused = [v for v in mallory.values() if v.code != 250]
        self.assertEqual(len(accepted), 5)
        self.assertEqual({(r.code, r.status) for r in refused}, {(451, "4.7.1")})
        self.assertIn("mallory@flood.example sent more than 5 messages within an hour", refused[0].text)
        self.assertEqual([v.code for v in alice.values()], [250] * 10)  # others unaffected
        # Every 250 is one article; nothing else was stored.
        stored = self.articles_by_message_id()
        self.assertEqual(sorted(k for k in stored if k.startswith("flood-")), sorted(accepted))
        self.assertEqual(self.count("SELECT count(*) FROM tickets WHERE requester = 'mallory@flood.example'"), 5)
        self.assertEqual(self.count("SELECT count(*) FROM quarantine"), 0)
        # The count is in the store: a restart does not reset it.
        self.assertEqual(server.stop(), 0)
        server = self.serve("[limits]\nsender_per_hour = 5\n")
        with server.client() as c:
            c.greet()
            _, answer = c.transaction("mallory@flood.example", [SUPPORT],
                                      message("after-restart@flood.example", sender="mallory@flood.example"))
        self.assertEqual(answer[0].status, "4.7.1")

    def test_hold_then_release(self):
        server, replies = self.flood("hold")
        self.assertEqual({v.code for v in replies.values()}, {250})
        held = self.db("SELECT id, reason FROM quarantine ORDER BY id")
        self.assertEqual(len(held), FLOOD - 5)
        self.assertTrue(all(r.startswith("held: mallory@flood.example sent more than 5") for _, r in held))
        self.assertEqual(self.count("SELECT count(*) FROM tickets WHERE requester = 'mallory@flood.example'"), 5)
        self.assertEqual(self.count("SELECT count(*) FROM tickets WHERE requester LIKE 'user%@example.com'"), 10)
        # Nothing accepted is lost: every message is an article or held.
        raw = self.count("SELECT count(DISTINCT raw_sha256) FROM articles WHERE direction = 'inbound'")
        self.assertEqual(raw + len(held), FLOOD + 10)
        self.assertLessEqual(len(self.notifications("mallory@flood.example")), 3)
        # An operator releases one: it becomes a ticket, the limit notwithstanding.
        self.assertEqual(server.stop(), 0)
        out = self.docket("quarantine", "reprocess", str(held[0][0])).stdout.decode()
        self.assertIn("created", out)
        self.assertEqual(self.count("SELECT count(*) FROM tickets WHERE requester = 'mallory@flood.example'"), 6)
        self.assertEqual(self.count("SELECT count(*) FROM quarantine"), len(held) - 1)


class DeliverLimitTest(AbuseCase):
    """The MTA pipe: exit 75 with the reason over the limit; the window
    is the last hour, so the sender is let in again an hour later."""

    def test_exit_75_then_an_hour_later_accepted(self):
        with open(self.config, "a") as f:
            f.write("[limits]\nsender_per_hour = 2\n")
        t0 = 1795000000
        codes = []
        for i, at in enumerate((t0, t0 + 60, t0 + 120, t0 + 3599, t0 + 3600)):
            proc = self.deliver(message("pipe-%d@flood.example" % i, sender="mallory@flood.example"),
                                "--received-at", str(at), "-r", SUPPORT)
            codes.append(proc.returncode)
            if proc.returncode == 75:
                self.assertIn(b"mallory@flood.example sent more than 2 messages within an hour", proc.stderr)
        self.assertEqual(codes, [0, 0, 75, 75, 0])


class MailLoopTest(AbuseCase):
    """Another help desk answers every mail docket sends it with a new
    ticket of its own: a fresh subject, no In-Reply-To, no Auto-Submitted.
    The loop must stop by itself within the limits."""

    DESK = "helpdesk@otherdesk.example"

    def run_loop(self, config, quiet=3.0, rounds=50):
        server = self.serve("[notify]\npoll_seconds = 1\n" + config)
        answered, replies = 0, []
        mail = lambda n: message("loop-%d@otherdesk.example" % n, subject="New request %d received" % n,
                                 body="Thank you, your request %d is logged.\r\n" % n, sender=self.DESK)
        with server.client() as c:
            c.greet()
            replies.append(c.transaction(self.DESK, [SUPPORT], mail(0))[1][0])
            deadline = time.monotonic() + quiet
            while time.monotonic() < deadline and answered < rounds:
                if len(self.notifications(self.DESK)) > answered:
                    answered += 1
                    replies.append(c.transaction(self.DESK, [SUPPORT], mail(answered))[1][0])
                    deadline = time.monotonic() + quiet
                time.sleep(0.05)
        return replies

    def test_ack_rate_stops_the_loop(self):
        replies = self.run_loop("[limits]\nsender_per_hour = 30\n")
        self.assertEqual(len(self.notifications(self.DESK)), 3)  # [notify] rate_per_hour
        self.assertEqual([r.code for r in replies], [250] * 4)
        self.assertEqual(self.count("SELECT count(*) FROM tickets"), 4)
        self.assertEqual(self.db("SELECT json_extract(detail, '$.reason') FROM events WHERE type = 'ack_suppressed'"),
                         [("rate limit",)])

    def test_sender_limit_stops_the_loop(self):
        replies = self.run_loop("[notify]\nrate_per_hour = 1000\n[limits]\nsender_per_hour = 6\n")
        self.assertEqual(len(self.notifications(self.DESK)), 6)
        self.assertEqual([r.code for r in replies], [250] * 6 + [451])
        self.assertEqual(replies[-1].status, "4.7.1")
        self.assertEqual(self.count("SELECT count(*) FROM tickets"), 6)


class IntrusionTest(AbuseCase):
    """A stranger trying to write into Dana's ticket over LMTP: every way
    ends on a ticket of his own (default follow_up = new_ticket), or as an
    inbound article whose agent commands are ignored; Dana's ticket keeps
    its one article and its state. tests/e2e/test_threading.py covers the
    same through `docket deliver` and each follow-up policy."""

    def setUp(self):
        super().setUp()
        self.server = self.serve(BASE_CONFIG)
        self.client = self.server.client()
        self.client.greet()
        self.assertEqual(self.put(gmail("Dana <dana@customer.example>", SUPPORT, "Drucker druckt nicht",
                                        "Der Drucker druckt nicht.")), (250, 1))

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def put(self, data, rcpt=SUPPORT):
        _, answer = self.client.transaction("x@evil.example", [rcpt], data)
        r = answer[0]
        ticket = int(r.text.split(" ticket ")[1].split()[0]) if r.code == 250 and " ticket " in r.text else None
        return r.code, ticket

    def assert_untouched(self):
        doc = self.show(1)
        self.assertEqual(doc["ticket"]["articles"], 1)
        self.assertEqual((doc["ticket"]["status"], doc["ticket"]["priority"], doc["ticket"]["assignee"]),
                         ("new", "none", None))
        self.assertNotIn("mallory@evil.example", [p["address"] for p in doc["ticket"]["participants"]])

    def test_guessed_tokens_forged_addresses_and_ids(self):
        mallory = "Mallory <mallory@evil.example>"
        tickets = set()
        for token in ("[docket #1]", "[docket#1]", "[DOCKET #1]", "[docket #0001]", "[docket #999]"):
            code, ticket = self.put(gmail(mallory, SUPPORT, "Re: %s Drucker druckt nicht" % token, "Details?"))
            self.assertEqual(code, 250)
            self.assertNotEqual(ticket, 1, token)
            tickets.add(ticket)
        forged = "support+1.0123456789@example.com"
        code, ticket = self.put(thunderbird(mallory, forged, "Re: Drucker", "Invoice?"), rcpt=forged)
        self.assertNotEqual(ticket, 1)
        self.assertIn("forged_reply_address", [e["type"] for e in self.show(ticket)["events"]])
        guessed_id = "docket.1.%s.0000000000000000@example.com" % os.urandom(8).hex()
        code, ticket = self.put(gmail(mallory, SUPPORT, "Re: Drucker", "Hi.", in_reply_to=guessed_id,
                                      references=[guessed_id]))
        self.assertNotEqual(ticket, 1)
        self.assert_untouched()
        self.assertEqual(self.count("SELECT count(*) FROM articles WHERE ticket = 1"), 1)

    def test_forged_agent_mail(self):
        agent = "Alex Agent <agent@example.com>"
        notification = docket_message_id(1)  # as if Mallory had seen a notification
        for extra in ([], [("Authentication-Results", "mx.evil.example; dkim=pass header.d=example.com")],
                      [("Authentication-Results", "mx.example.com; dkim=fail header.d=example.com")]):
            code, ticket = self.put(gmail(agent, SUPPORT, "Re: [docket #1] Drucker druckt nicht",
                                          "#status closed\n#assign mallory@evil.example\n#priority low\n\nDone.",
                                          in_reply_to=notification, extra=extra))
            self.assertEqual((code, ticket), (250, 1))
        doc = self.show(1)
        self.assertEqual((doc["ticket"]["status"], doc["ticket"]["priority"], doc["ticket"]["assignee"]),
                         ("new", "none", None))
        self.assertEqual({a["direction"] for a in doc["articles"]}, {"inbound"})
        self.assertEqual([e["type"] for e in doc["events"]].count("agent_commands_ignored"), 3)
        self.assertEqual(self.count("SELECT count(*) FROM outbox WHERE kind = 'relay'"), 0)

    def test_sql_and_template_injection_stay_text(self):
        name = "Robert'); DROP TABLE articles;-- {{#x}}"
        subject = "'; DROP TABLE tickets; -- {{#x}}{{/x}} {{{ticket.token}}} {{> signature}} {{=<% %>=}}"
        body = "{{#ticket}}{{subject}}{{/ticket}} '; DELETE FROM outbox; -- {{{requester.name}}}"
        code, ticket = self.put(gmail('"%s" <bobby@tables.example>' % name, SUPPORT, subject, body))
        self.assertEqual(code, 250)
        doc = self.show(ticket)
        self.assertEqual(doc["ticket"]["subject"], subject)
        self.assertEqual(doc["articles"][0]["new_text"].strip(), body)
        self.assertEqual(self.count("SELECT count(*) FROM articles"), 2)  # both tables still there
        deadline = time.monotonic() + 10
        while not self.notifications("bobby@tables.example") and time.monotonic() < deadline:
            time.sleep(0.05)
        ack = self.notifications("bobby@tables.example")[0]
        self.assertEqual(str(ack["Subject"]), "[docket #%d] %s" % (ticket, subject))
        text = ack.get_body(("plain",)).get_content()
        self.assertIn("Hello %s," % name, text)
        html = ack.get_body(("html",)).get_content()
        self.assertIn("Hello Robert&#39;); DROP TABLE articles;-- {{#x}},", html)


class SlowClientTest(AbuseCase):
    """Clients that idle or trickle: the session ends with 421 4.4.2 after
    [lmtp] timeout_seconds (a command) or data_timeout_seconds (DATA);
    nothing of an unfinished message is stored, and other sessions go on."""

    CONFIG = "[lmtp]\ntimeout_seconds = 1\ndata_timeout_seconds = 2\n"

    def trickle(self, c, data, interval=0.3):
        """Sends data a byte at a time until docket closes; the bytes sent."""
        for i in range(len(data)):
            try:
                c.send(data[i:i + 1])
            except OSError:
                return i
            time.sleep(interval)
        return len(data)

    def test_idle_client_is_closed(self):
        server = self.serve(self.CONFIG)
        with server.client() as c:
            c.greet()
            r = c.reply()
            self.assertEqual((r.code, r.status), (421, "4.4.2"))
            self.assertTrue(c.at_eof())
        self.assertEqual(server.proc.poll(), None)

    def test_one_byte_a_second_command(self):
        server = self.serve(self.CONFIG)
        with server.client() as c:
            c.greet()
            sent = self.trickle(c, b"MAIL FROM:<slow@example.com>\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.status), (421, "4.4.2"))
            self.assertLess(sent, 20)

    def test_one_byte_a_second_data_while_others_deliver(self):
        server = self.serve(self.CONFIG)
        slow = server.client()
        slow.greet()
        slow.start_data("slow@example.com", [SUPPORT])
        result = {}

        def trickle():
            result["sent"] = self.trickle(slow, message("slow@example.com", subject="never"))
        t = threading.Thread(target=trickle)
        t.start()
        with server.client() as fast:  # meanwhile, another session is served
            fast.greet()
            for i in range(5):
                _, answer = fast.transaction("alice@example.com", [SUPPORT],
                                             message("fast-%d@example.com" % i))
                self.assertEqual(answer[0].code, 250)
        t.join()
        r = slow.reply()
        self.assertEqual((r.code, r.status), (421, "4.4.2"))
        self.assertIn("DATA took too long", r.text)
        slow.close()
        self.assertEqual(sorted(self.articles_by_message_id()), ["fast-%d@example.com" % i for i in range(5)])
        self.wait_spool_empty()


class ManySessionsTest(AbuseCase):
    """Hundreds of sessions against [lmtp] max_connections: the ones over
    the limit get 421 4.3.2 at once, a session already open keeps being
    served, and the slots come back when the idle ones end."""

    LIMIT = 150
    OPENED = 300

    def test_connection_limit(self):
        server = self.serve("[lmtp]\nmax_connections = %d\ntimeout_seconds = 30\n" % self.LIMIT)
        legit = server.client()
        legit.greet()
        greetings, socks = [], []
        for _ in range(self.OPENED):
            s = socket.create_connection(server.address, timeout=10)
            socks.append(s)
            greetings.append(s.recv(200)[:9])
        try:
            self.assertEqual(greetings.count(b"220 docke"), self.LIMIT - 1)
            self.assertEqual(greetings.count(b"421 4.3.2"), self.OPENED - self.LIMIT + 1)
            latencies = []
            for i in range(10):
                started = time.monotonic()
                _, answer = legit.transaction("alice@example.com", [SUPPORT], message("busy-%d@example.com" % i))
                latencies.append(time.monotonic() - started)
                self.assertEqual(answer[0].code, 250)
            print("delivery while %d sessions are open: median %.1f ms" %
                  (self.LIMIT, sorted(latencies)[5] * 1000), file=sys.stderr)
        finally:
            for s in socks:
                s.close()
        # The closed sessions free their slots: a new client is greeted.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with Client(server.address) as c:
                if c.reply().code == 220:
                    break
            time.sleep(0.05)
        with server.client() as c:
            self.assertEqual(c.greet().code, 250)
        legit.close()


if __name__ == "__main__":
    unittest.main()
