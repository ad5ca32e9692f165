"""`docket import --history`: another help desk's past comes in as closed
history. An mbox of 1,000 messages (250 conversations of four, with an
agent's answers among them) becomes 250 closed tickets dated by their
mail, with no rule run, no SLA clock, no outbox row; live mail afterwards
is numbered apart and handled as usual; the other system's numbers are
kept when asked."""

import email.utils
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import DocketCase  # noqa: E402

T0 = 1546300800  # 2019-01-01T00:00:00Z
HOUR = 3600


def message(frm, to, subject, mid, date, body, reply_to_id=None):
    """A message; date None: without a Date (live mail is dated on arrival)."""
    head = ["From: %s" % frm, "To: %s" % to, "Subject: %s" % subject, "Message-ID: <%s>" % mid]
    if date is not None:
        head.append("Date: %s" % email.utils.formatdate(date))
    if reply_to_id:
        head += ["In-Reply-To: <%s>" % reply_to_id, "References: <%s>" % reply_to_id]
    return "\n".join(head) + "\n\n" + body + "\n"


def conversation(n, start, token=""):
    """Four messages: a customer's, the agent's answer, her reply, the agent's close."""
    customer, subject = "c%d@customer.example" % n, "%sProblem %d" % (token, n)
    mids = ["h%d.%d@example.org" % (n, i) for i in range(4)]
    return [
        (start, message(customer, "support@example.com", subject, mids[0], start, "Problem %d here." % n)),
        (start + HOUR, message("agent@example.com", customer, "Re: " + subject, mids[1], start + HOUR,
                               "Try this.", mids[0])),
        (start + 2 * HOUR, message(customer, "support@example.com", "Re: " + subject, mids[2],
                                   start + 2 * HOUR, "It works.", mids[1])),
        (start + 3 * HOUR, message("agent@example.com", customer, "Re: " + subject, mids[3],
                                   start + 3 * HOUR, "Closing.", mids[2])),
    ]


def mbox(messages):
    """The messages as an export writes them: the From_ lines carry the
    day of the export, not the mail's."""
    return "\n".join("From importer@example.org Mon Mar  4 12:00:00 2024\n%s" % text
                     for _, text in messages)


class HistoryTest(DocketCase):
    config_text = """
[agents]
addresses = agent@example.com
[notify]
team_addresses = team@example.com
[rules]
script = %s
[foreign:otrs]
pattern = \\[OTRS#([0-9]+)\\]
"""

    def setUp(self):
        super().setUp()
        script = os.path.join(self.dir, "rules.sieve")
        with open(script, "w") as f:
            f.write('require ["imap4flags", "vnd.docket.ticket"];\naddflag "seen-by-rules";\n'
                    'ticket_priority "high";\n')
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text % script)

    def write_mbox(self, name, messages):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(mbox(messages))
        return path

    def db(self, sql, *args):
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            return db.execute(sql, args).fetchall()

    def test_thousand_messages_become_closed_history(self):
        messages = []
        for n in range(250):  # conversations overlap: day n, a reply every hour
            messages += conversation(n, T0 + n * 2 * HOUR)
        messages.sort(key=lambda m: m[0])
        path = self.write_mbox("history.mbox", messages)
        out = self.docket("import", "--history", "--quiet", path).stdout.decode()
        self.assertIn("messages=1000 imported=1000 duplicates=0 refused=0", out)
        self.assertEqual(self.db("SELECT count(*) FROM outbox"), [(0,)])
        self.assertEqual(self.db("SELECT count(*), min(number), max(number) FROM tickets"), [(250, 1, 250)])
        self.assertEqual(self.db("SELECT DISTINCT status, history, priority FROM tickets"), [("closed", 1, "none")])
        self.assertEqual(self.db("SELECT count(*) FROM tags"), [(0,)])  # no rule ran
        self.assertEqual(self.db("SELECT count(*) FROM events WHERE type NOT IN ('created', 'comment')"), [(0,)])
        self.assertEqual(self.db("SELECT count(*) FROM tickets WHERE first_response_due IS NOT NULL"
                                 " OR resolution_due IS NOT NULL OR first_response_at IS NOT NULL"), [(0,)])
        # every article dated by its Date; the ticket spans them
        dates = dict(self.db("SELECT message_id, created_at FROM articles"))
        expected = {}
        for n in range(250):
            for i, (date, _) in enumerate(conversation(n, T0 + n * 2 * HOUR)):
                expected["h%d.%d@example.org" % (n, i)] = date
        self.assertEqual(dates, expected)
        for number, created, closed, articles in self.db(
                "SELECT number, created_at, closed_at, (SELECT count(*) FROM articles a WHERE"
                " a.ticket = t.number) FROM tickets t"):
            self.assertEqual(articles, 4)
            self.assertEqual(closed - created, 3 * HOUR)
        # the SLA check and autoclose leave history alone
        self.assertEqual(self.docket("ticket", "sla-check").stdout, b"0 breaches\n")
        self.assertEqual(self.db("SELECT count(*) FROM outbox"), [(0,)])

        # again: nothing new
        out = self.docket("import", "--history", "--quiet", path).stdout.decode()
        self.assertIn("imported=0 duplicates=1000", out)

        # live mail: numbered apart, after the history, and handled as live
        live = message("live@customer.example", "support@example.com", "Today", "live1@example.org", None, "Now.")
        self.assertEqual(self.deliver(live).returncode, 0)
        self.assertEqual(self.db("SELECT number, status, history, priority FROM tickets WHERE history = 0"),
                         [(251, "new", 0, "high")])
        self.assertEqual(sorted(k for k, in self.db("SELECT kind FROM outbox")), ["ack", "notice"])
        # a late answer to a conversation of history opens a new ticket linked to it
        late = message("c3@customer.example", "support@example.com", "Re: Problem 3", "late@example.org", None,
                       "Broken again.", "h3.3@example.org")
        self.assertEqual(self.deliver(late).returncode, 0)
        self.assertEqual(self.db("SELECT ticket, linked, reason FROM ticket_links WHERE ticket = 252"),
                         [(252, 4, "closed")])

    def test_numbers_kept_from_the_other_system_and_apart(self):
        # a live ticket first
        live = message("live@customer.example", "support@example.com", "Live", "l1@example.org", T0, "x")
        self.assertEqual(self.deliver(live).returncode, 0)
        kept = conversation(1, T0, token="[OTRS#4711] ") + conversation(2, T0 + 86400, token="[OTRS#1] ")
        untokened = conversation(3, T0 + 2 * 86400)
        path = self.write_mbox("otrs.mbox", kept + untokened)
        self.docket("import", "--history", "--keep-numbers", "otrs", "--number-from", "900000", "--quiet", path)
        rows = self.db("SELECT number, history, subject FROM tickets ORDER BY number")
        # 4711 kept; OTRS#1 is taken by the live ticket: from 900000 on; so is the one without a number
        self.assertEqual(rows, [(1, 0, "Live"), (4711, 1, "[OTRS#4711] Problem 1"),
                                (900000, 1, "[OTRS#1] Problem 2"), (900001, 1, "Problem 3")])
        # live tickets go on after the live ones
        self.assertEqual(self.deliver(live.replace("l1@", "l2@")).returncode, 0)
        self.assertEqual(self.db("SELECT max(number) FROM tickets WHERE history = 0"), [(2,)])
        # the other system's token still threads a late reply (to a new linked ticket: closed long ago)
        self.assertEqual(self.db("SELECT name, number, ticket FROM foreign_refs ORDER BY ticket"),
                         [("otrs", "4711", 4711), ("otrs", "1", 900000)])

    def test_history_options_need_history(self):
        proc = self.docket("import", "--keep-numbers", "otrs", "x.mbox", check=False)
        self.assertEqual(proc.returncode, 64)
        self.assertIn("go with --history", proc.stderr.decode())
        proc = self.docket("import", "--history", "--keep-numbers", "nope", "x.mbox", check=False)
        self.assertEqual(proc.returncode, 64)
        self.assertIn("no [foreign:nope] pattern", proc.stderr.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
