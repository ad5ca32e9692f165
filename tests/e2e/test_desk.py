"""The ticket desk driven like an agent does: whole ticket lives through
`docket deliver`, `docket ticket set|reply|note|time|merge|autoclose|sla-check`
and the outbox worker (its default Maildir transport), with a simulated
clock (the hidden --now of the ticket commands and --received-at of
deliver) for auto-closing and SLA clocks."""

import email
import email.policy
import glob
import json
import os
import signal
import subprocess
import time
import unittest
from datetime import datetime

from dockettest import BINARY, DocketCase
from test_serve import free_port, wait_for_port

DOMAIN = "help.example.com"
SUPPORT = "support@" + DOMAIN
AGENT = "bob@" + DOMAIN
DAY = 86400


def mail(frm, subject, message_id, body, headers=""):
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\n%s" %
            (frm, SUPPORT, subject, message_id, headers, body)).encode()


class DeskCase(DocketCase):
    config_text = ("[threading]\ndomain = %s\n[notify]\nfrom = %s\n[lmtp]\nrecipients = %s\n"
                   % (DOMAIN, SUPPORT, SUPPORT))

    def deliver_ok(self, message):
        proc = self.deliver(message)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def sent(self):
        """The messages the outbox wrote into its Maildir, oldest first."""
        files = sorted(glob.glob(os.path.join(self.data, "outbox-maildir", "new", "*")),
                       key=os.path.getmtime)
        out = []
        for path in files:
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def status(self, number):
        return self.show(number)["ticket"]["status"]

    def events(self, number, kind):
        return [e for e in self.show(number)["events"] if e["type"] == kind]


class LifeTest(DeskCase):
    def test_whole_ticket_life(self):
        t0 = int(time.time())
        self.deliver_ok(mail("alice@example.org", "VPN tunnel down", "a1@example.org",
                             "The handshake fails with error 809.\n"))
        self.assertEqual(self.status(1), "new")
        self.assertIn("sent 1", self.docket("outbox", "run", "--once").stdout.decode())  # the ack

        # The agent answers from the command line: a relay row, sent threaded.
        self.docket("ticket", "set", "1", "--status", "in_progress", "--priority", "high",
                    "--assign", AGENT, "--tag", "vpn", "--as", AGENT)
        out = self.docket("ticket", "reply", "1", "--as", AGENT,
                          stdin=b"Please update the client to version 5.2.\n").stdout.decode()
        self.assertIn("queued for the requester", out)
        rows = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
        self.assertEqual([r["kind"] for r in rows if r["state"] == "pending"], ["relay"])
        self.assertIn("sent 1", self.docket("outbox", "run", "--once").stdout.decode())
        reply = self.sent()[-1]
        self.assertEqual(reply["To"], "alice@example.org")
        self.assertEqual(str(reply["Subject"]), "Re: [docket #1] VPN tunnel down")
        self.assertEqual(reply["In-Reply-To"], "<a1@example.org>")
        self.assertIsNone(reply["Auto-Submitted"])  # a person wrote it
        self.assertIn("version 5.2", reply.get_body(("plain",)).get_content())
        relayed_id = reply["Message-ID"].strip("<>")
        shown = self.show(1)
        self.assertIn(relayed_id, shown["message_ids"])
        public = [a for a in shown["articles"] if a["direction"] == "outbound" and a["evidence"] == "desk"]
        self.assertEqual(len(public), 1)
        self.assertEqual(public[0]["from"], AGENT)
        sla = shown["ticket"]["sla"]  # high: answered within the hour
        self.assertIsNotNone(sla["first_response_at"])
        self.assertLessEqual(sla["first_response_at"], sla["first_response_due"])
        self.assertFalse(sla["paused"])

        # Waiting on the customer; the customer's answer reopens it.
        self.docket("ticket", "set", "1", "--status", "waiting")
        self.assertTrue(self.show(1)["ticket"]["sla"]["paused"])
        self.assertRegex(self.tickets()[0]["sla"], r"^(8h|7h5\dm) paused$")  # frozen: resolution next
        self.docket("ticket", "note", "1", stdin=b"Asked for the client version.\n")
        self.docket("ticket", "time", "1", "1h15m", "diagnosis and reply", "--as", AGENT)
        self.deliver_ok(mail("alice@example.org", "Re: [docket #1] VPN tunnel down", "a2@example.org",
                             "Updated, still failing with error 812.\n",
                             "In-Reply-To: <%s>\n" % relayed_id))
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "open")
        self.assertEqual(len(shown["articles"]), 5)  # mail, ack, reply, note, mail
        changes = [(e["detail"]["old"], e["detail"]["new"], e["detail"]["by"])
                   for e in shown["events"] if e["type"] == "status_change"]
        self.assertEqual(changes, [("new", "in_progress", AGENT), ("in_progress", "waiting", "cli"),
                                   ("waiting", "open", "customer_reply")])
        self.assertEqual(shown["ticket"]["time_minutes"], 75)
        self.assertFalse(shown["ticket"]["sla"]["paused"])  # the customer's answer restarts the clock
        self.assertEqual(shown["ticket"]["tags"], ["vpn"])
        self.assertEqual(shown["ticket"]["assignee"], AGENT)

        # Closed only after resolved; resolved closes itself after 7 days.
        proc = self.docket("ticket", "set", "1", "--status", "closed", check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertIn(b"resolved before it is closed", proc.stderr)
        resolved = t0 + 3600
        self.docket("ticket", "set", "1", "--status", "resolved", "--now", str(resolved))
        out = self.docket("ticket", "autoclose", "--now", str(resolved + 7 * DAY - 60)).stdout
        self.assertEqual(out, b"closed 0 tickets\n")
        self.assertEqual(self.status(1), "resolved")
        out = self.docket("ticket", "autoclose", "--now", str(resolved + 7 * DAY)).stdout
        self.assertEqual(out, b"closed 1 ticket\n")
        self.assertEqual(self.status(1), "closed")
        last = self.events(1, "status_change")[-1]["detail"]
        self.assertEqual((last["old"], last["new"], last["by"]), ("resolved", "closed", "autoclose"))

    def test_set_refusals(self):
        self.deliver_ok(mail("alice@example.org", "Printer", "p1@example.org", "Jammed.\n"))
        for args, code in [(["--status", "bogus"], 65), (["--priority", "urgent"], 65),
                           (["--assign", "x@y", "--unassign"], 64), ([], 64)]:
            proc = self.docket("ticket", "set", "1", *args, check=False)
            self.assertEqual(proc.returncode, code, args)
        self.assertEqual(self.docket("ticket", "set", "9", "--status", "open", check=False).returncode, 66)
        self.assertEqual(self.docket("ticket", "time", "1", "5x", check=False).returncode, 64)
        self.assertEqual(self.docket("ticket", "reply", "1", stdin=b"  \n", check=False).returncode, 65)
        self.assertEqual(self.show(1)["events"][-1]["type"], "created")  # nothing half-done


class MergeTest(DeskCase):
    def test_merge_then_replies_thread_to_target(self):
        self.deliver_ok(mail("alice@example.org", "Mail server down", "m1@example.org",
                             "Nobody can send mail.\n"))
        self.deliver_ok(mail("carol@example.org", "Cannot send email", "m2@example.org",
                             "Outlook says the server refused the connection.\n"))
        self.docket("ticket", "set", "2", "--tag", "mail")
        out = self.docket("ticket", "merge", "1", "2").stdout.decode()
        self.assertIn("#2 merged into #1", out)
        target, merged = self.show(1), self.show(2)
        self.assertEqual(len([a for a in target["articles"] if a["direction"] == "inbound"]), 2)
        self.assertIn("m2@example.org", target["message_ids"])
        self.assertEqual(merged["ticket"]["merged_into"], 1)
        self.assertEqual(merged["ticket"]["status"], "closed")
        self.assertEqual(target["ticket"]["tags"], ["mail"])
        self.assertIn({"address": "carol@example.org", "role": "sender"}, target["ticket"]["participants"])
        self.assertEqual([t["number"] for t in self.tickets()], [1])  # merged ones hidden
        # A reply to the merged ticket's message, and one by its token.
        self.deliver_ok(mail("carol@example.org", "Re: Cannot send email", "m3@example.org",
                             "Still broken here.\n", "In-Reply-To: <m2@example.org>\n"))
        self.deliver_ok(mail("carol@example.org", "Re: [docket #2] Cannot send email", "m4@example.org",
                             "Any news?\n"))
        self.assertEqual(len(self.tickets()), 1)
        ids = self.show(1)["message_ids"]
        self.assertIn("m3@example.org", ids)
        self.assertIn("m4@example.org", ids)
        self.assertEqual(self.show(2)["articles"], [])
        self.assertEqual(self.docket("ticket", "merge", "1", "2", check=False).returncode, 65)
        self.assertEqual(self.docket("ticket", "merge", "1", "1", check=False).returncode, 65)


class ListSearchTest(DeskCase):
    def test_filters_urgency_and_search(self):
        self.deliver_ok(mail("alice@example.org", "Coffee machine", "c1@example.org",
                             "The espresso grinder makes a noise.\n"))
        self.deliver_ok(mail("dave@example.org", "Database outage", "d1@example.org",
                             "Replication lag on the primary keeps growing.\n"))
        self.deliver_ok(mail("erin@example.org", "Laptop", "l1@example.org", "Battery swollen.\n"))
        self.docket("ticket", "set", "1", "--priority", "low")
        self.docket("ticket", "set", "2", "--priority", "critical", "--assign", AGENT, "--queue", "ops")
        self.docket("ticket", "set", "3", "--status", "waiting", "--priority", "medium")
        # By SLA time left: 15 min, 4 h (paused), 24 h.
        self.assertEqual([t["number"] for t in self.tickets()], [2, 3, 1])
        sla = {t["number"]: t["sla"] for t in self.tickets()}
        self.assertRegex(sla[2], r"^1[0-5]m$")  # critical: 15 minutes to answer
        self.assertRegex(sla[3], r"^(4h|3h5\dm) paused$")  # waiting on the customer
        left = {t["number"]: t["sla_left_seconds"] for t in self.tickets()}
        self.assertTrue(0 < left[2] <= 900 < left[3] <= 4 * 3600 < left[1] <= DAY, left)
        self.assertRegex(sla[1], r"^(24h|23h5\dm)$")  # low: a day
        self.assertIn("paused", self.docket("ticket", "list").stdout.decode())
        listed = json.loads(self.docket("ticket", "list", "--json", "--status", "new", "--status",
                                        "waiting").stdout)["tickets"]
        self.assertEqual([t["number"] for t in listed], [2, 3, 1])
        for args, numbers in [(["--status", "waiting"], [3]), (["--queue", "ops"], [2]),
                              (["--assignee", AGENT.upper()], [2]), (["--priority", "low"], [1]),
                              (["--requester", "erin@example.org"], [3]),
                              (["--created-since", "2000-01-01"], [2, 3, 1]),
                              (["--updated-since", "2999-01-01"], [])]:
            got = json.loads(self.docket("ticket", "list", "--json", *args).stdout)["tickets"]
            self.assertEqual([t["number"] for t in got], numbers, args)
        self.assertEqual(self.docket("ticket", "list", "--status", "later", check=False).returncode, 64)
        self.assertEqual(self.docket("ticket", "list", "--created-since", "soon", check=False).returncode, 64)
        # Words in article text, in a note, and in a subject; ranked; punctuation harmless.
        self.docket("ticket", "note", "3", stdin=b"Ordered a replacement battery from the vendor.\n")
        hits = json.loads(self.docket("ticket", "search", "replication", "lag", "--json").stdout)["hits"]
        self.assertEqual([h["ticket"] for h in hits], [2])
        self.assertIn("[Replication]", hits[0]["snippet"])
        hits = json.loads(self.docket("ticket", "search", "battery", "--json").stdout)["hits"]
        self.assertEqual([h["ticket"] for h in hits], [3])  # the mail and the note: one hit
        hits = json.loads(self.docket("ticket", "search", "outage", "--json").stdout)["hits"]
        self.assertEqual([h["ticket"] for h in hits], [2])
        hits = json.loads(self.docket("ticket", "search", 'espresso"', "OR", "--json").stdout)["hits"]
        self.assertEqual(hits, [])  # "OR" is a word here, and no article has it
        self.assertIn("Coffee machine", self.docket("ticket", "search", "grinder").stdout.decode())


def unix(iso):
    return int(datetime.fromisoformat(iso).timestamp())


def iso(t):
    """The ISO 8601 form `ticket show --json` prints (UTC, seconds)."""
    return datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScenarioCase(DeskCase):
    def at(self, t, *args, stdin=b""):
        return self.docket(*args, "--now", str(t), stdin=stdin)

    def deliver_at(self, t, message):
        proc = self.deliver(message, "--received-at", str(t))
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def sla_check(self, t):
        out = self.at(t, "ticket", "sla-check").stdout.decode().strip()
        return int(out.split()[0])

    def sent_to(self, address):
        return [m for m in self.sent() if m["To"] == address]


class ScenarioTest(ScenarioCase):
    """A whole ticket life on the default SLA (around the clock, UTC)."""

    config_text = DeskCase.config_text + "[agents]\naddresses = %s\nauthserv_id = mx.test.example\n" % AGENT

    def test_life_by_mail(self):
        t0 = unix("2026-11-25T10:00:00+00:00")
        # Created by mail and acknowledged.
        self.deliver_at(t0, mail("alice@example.org", "Printer offline", "p1@example.org",
                                 "The printer on floor 2 shows error 50.\n"))
        self.assertEqual(self.status(1), "new")
        self.at(t0 + 60, "ticket", "set", "1", "--priority", "high")  # 1 h / 8 h
        sla = self.show(1)["ticket"]["sla"]
        self.assertEqual(sla["first_response_due"], iso(t0 + 3600))
        self.assertEqual(sla["resolution_due"], iso(t0 + 8 * 3600))
        self.assertIn("sent 1", self.at(t0 + 60, "outbox", "run", "--once").stdout.decode())
        self.assertEqual(len(self.sent_to("alice@example.org")), 1)  # the acknowledgement

        # The agent answers by mail, to support only: outbound, relayed to
        # the requester, and it meets the first-response target.
        self.deliver_at(t0 + 1200, mail(AGENT, "Re: Printer offline", "b1@help.example.com",
                                        "Please switch it off and on again.\n",
                                        "In-Reply-To: <p1@example.org>\n"
                                        "Authentication-Results: mx.test.example; dkim=pass header.d=%s\n"
                                        % DOMAIN))
        shown = self.show(1)
        agent = [a for a in shown["articles"] if a["from"] == AGENT]
        self.assertEqual([(a["direction"], a["visibility"]) for a in agent], [("outbound", "public")])
        self.assertEqual(shown["ticket"]["sla"]["first_response_at"], iso(t0 + 1200))
        self.assertEqual(self.sla_check(t0 + 3600), 0)  # answered in time: no breach
        self.assertIn("sent 1", self.at(t0 + 1200, "outbox", "run", "--once").stdout.decode())
        relayed = self.sent_to("alice@example.org")[-1]
        self.assertIn("switch it off", relayed.get_body(("plain",)).get_content())

        # The reply waits on the customer ([desk] reply_status): the clock
        # pauses (setting it again changes nothing); her answer reopens.
        self.assertEqual(self.status(1), "waiting")
        self.at(t0 + 1800, "ticket", "set", "1", "--status", "waiting", "--as", AGENT)
        self.assertTrue(self.show(1)["ticket"]["sla"]["paused"])
        self.deliver_at(t0 + 7200, mail("alice@example.org", "Re: [docket #1] Printer offline",
                                        "p2@example.org", "Still error 50 after the restart.\n",
                                        "In-Reply-To: <%s>\n" % relayed["Message-ID"].strip("<>")))
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "open")
        sla = shown["ticket"]["sla"]
        self.assertFalse(sla["paused"])
        # 1200 s to 7200 s paused: the resolution is due 6000 s later.
        self.assertEqual(sla["paused_seconds"], 6000)
        self.assertEqual(sla["resolution_due"], iso(t0 + 8 * 3600 + 6000))

        # Resolved in time, then closed by itself seven days on.
        resolved = t0 + 4 * 3600
        self.at(resolved, "ticket", "set", "1", "--status", "resolved", "--as", AGENT)
        self.assertEqual(self.tickets()[0]["sla"], "met")
        self.assertEqual(self.sla_check(t0 + 30 * DAY), 0)  # a resolved ticket never breaches
        self.assertEqual(self.at(resolved + 7 * DAY, "ticket", "autoclose").stdout, b"closed 1 ticket\n")
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "closed")
        changes = [(e["detail"].get("old"), e["detail"].get("new")) for e in shown["events"]
                   if e["type"] == "status_change"]
        self.assertEqual(changes, [("new", "waiting"), ("waiting", "open"), ("open", "resolved"),
                                   ("resolved", "closed")])
        self.assertEqual([e for e in shown["events"] if e["type"] == "sla_breach"], [])


class BusinessHoursBreachTest(ScenarioCase):
    """Berlin office hours: a ticket opened late on Friday breaches on
    Monday morning, not over the weekend; the team is told once."""

    config_text = (DeskCase.config_text + "[notify]\nteam_addresses = team@%s\n" % DOMAIN +
                   "[sla]\nbusiness_hours = mon-fri 09:00-17:00\ntimezone = Europe/Berlin\n"
                   "holidays = 2026-12-25, 2026-12-26\n")

    def setUp(self):
        super().setUp()
        script = os.path.join(self.dir, "rules.sieve")
        with open(script, "w") as f:
            f.write('require ["vnd.docket.ticket", "imap4flags"];\n'
                    'if ticket_sla "first_response_breached" { addflag "escalated"; }\n')
        with open(self.config, "a") as f:
            f.write("[rules]\nscript = %s\n" % script)

    def tags(self):
        return self.show(1)["ticket"]["tags"]

    def test_breach_on_monday_once(self):
        # Fri 27 Nov 16:30 CET; high: 1 h to answer = 30 min on Friday,
        # 30 min from Monday 09:00 CET: due Mon 09:30 CET = 08:30Z.
        t0 = unix("2026-11-27T16:30:00+01:00")
        self.deliver_at(t0, mail("carol@example.org", "Invoices missing", "i1@example.org",
                                 "The November invoices are not in the portal.\n"))
        self.at(t0, "ticket", "set", "1", "--priority", "high")
        sla = self.show(1)["ticket"]["sla"]
        self.assertEqual(sla["first_response_due"], "2026-11-30T08:30:00Z")
        # 8 business hours to resolve: 30 min Friday, 7 h 30 Monday: 16:30 CET.
        self.assertEqual(sla["resolution_due"], "2026-11-30T15:30:00Z")
        self.assertEqual(self.sla_check(unix("2026-11-28T12:00:00+01:00")), 0)  # Saturday
        # The rules read the SLA state: not breached yet on Saturday.
        self.deliver_at(unix("2026-11-28T12:05:00+01:00"),
                        mail("carol@example.org", "Re: [docket #1] Invoices missing", "i2@example.org",
                             "Any news?\n", "In-Reply-To: <i1@example.org>\n"))
        self.assertEqual(self.tags(), [])
        self.assertEqual(self.sla_check(unix("2026-11-30T09:29:00+01:00")), 0)
        self.assertEqual(self.sla_check(unix("2026-11-30T09:30:00+01:00")), 1)
        self.assertEqual(self.sla_check(unix("2026-11-30T09:45:00+01:00")), 0)  # once
        self.deliver_at(unix("2026-11-30T09:50:00+01:00"),
                        mail("carol@example.org", "Re: [docket #1] Invoices missing", "i3@example.org",
                             "Hello?\n", "In-Reply-To: <i1@example.org>\n"))
        self.assertEqual(self.tags(), ["escalated"])
        breaches = self.events(1, "sla_breach")
        self.assertEqual([e["detail"]["target"] for e in breaches], ["first_response"])
        self.at(unix("2026-11-30T09:31:00+01:00"), "outbox", "run", "--once")
        notices = self.sent_to("team@" + DOMAIN)
        breach_notices = [m for m in notices if "SLA breached" in str(m["Subject"])]
        self.assertEqual(len(breach_notices), 1)
        self.assertIn("[docket #1]", str(breach_notices[0]["Subject"]))
        text = breach_notices[0].get_body(("plain",)).get_content()
        self.assertIn("first response, due 2026-11-30T08:30:00Z", text)
        self.assertEqual(self.sla_check(unix("2026-11-30T12:00:00+01:00")), 0)
        self.at(unix("2026-11-30T12:01:00+01:00"), "outbox", "run", "--once")
        self.assertEqual(len([m for m in self.sent_to("team@" + DOMAIN)
                              if "SLA breached" in str(m["Subject"])]), 1)  # sent once
        # An hour on hold on Monday moves the resolution an hour on, past
        # Monday's 17:00: 30 min on Monday, 30 min from Tuesday 09:00 CET.
        self.at(unix("2026-11-30T13:00:00+01:00"), "ticket", "set", "1", "--status", "on_hold")
        self.at(unix("2026-11-30T14:00:00+01:00"), "ticket", "set", "1", "--status", "open")
        self.assertEqual(self.show(1)["ticket"]["sla"]["resolution_due"], "2026-12-01T08:30:00Z")
        self.assertEqual(self.sla_check(unix("2026-11-30T17:30:00+01:00")), 0)
        self.assertEqual(self.sla_check(unix("2026-12-01T09:29:00+01:00")), 0)
        self.assertEqual(self.sla_check(unix("2026-12-01T09:30:00+01:00")), 1)
        self.assertEqual([e["detail"]["target"] for e in self.events(1, "sla_breach")],
                         ["first_response", "resolution"])
        listed = json.loads(self.docket("ticket", "list", "--json", "--breached").stdout)["tickets"]
        self.assertEqual([t["number"] for t in listed], [1])

    def test_wrong_calendar_is_refused(self):
        with open(self.config, "a") as f:
            f.write("[queue:billing]\nbusiness_hours = weekdays\n")
        proc = self.docket("config", "check", check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"[queue:billing]", proc.stderr)
        proc = self.deliver(mail("carol@example.org", "x", "x1@example.org", "x\n"))
        self.assertEqual(proc.returncode, 75)  # the MTA keeps it until the file is fixed


class PauseAndLateResolutionTest(ScenarioCase):
    """A paused ticket's time left stands still; a ticket resolved after
    its targets passed, with no check in between, records both breaches
    and tells the team, once."""

    config_text = DeskCase.config_text + "[notify]\nteam_addresses = team@%s\n" % DOMAIN

    def listed(self, t, *args):
        return json.loads(self.at(t, "ticket", "list", "--json", *args).stdout)["tickets"]

    def test_frozen_then_resolved_late(self):
        t0 = unix("2026-11-25T10:00:00+00:00")
        self.deliver_at(t0, mail("alice@example.org", "Site down", "s1@example.org", "All 500s.\n"))
        self.deliver_at(t0, mail("dave@example.org", "Password", "w1@example.org", "Reset please.\n"))
        self.at(t0, "ticket", "set", "1", "--priority", "critical")  # 15 min / 4 h
        self.at(t0, "ticket", "set", "2", "--priority", "high")  # 1 h / 8 h
        self.at(t0 + 600, "ticket", "set", "1", "--status", "waiting")  # 5 min were left
        for t in (t0 + 600, t0 + 3000, t0 + 7000):
            one = [x for x in self.listed(t) if x["number"] == 1][0]
            self.assertEqual((one["sla"], one["sla_left_seconds"], one["sla_paused"]), ("5m paused", 300, True))
            shown = json.loads(self.at(t, "ticket", "show", "1", "--json").stdout)["ticket"]["sla"]
            self.assertEqual((shown["left"], shown["left_seconds"]), ("5m paused", 300))
        self.assertIn("5m paused", self.at(t0 + 3000, "ticket", "list").stdout.decode())
        # #2 has 10 min left at 3000 (after #1's frozen 5) and is overdue at 4000.
        self.assertEqual([x["number"] for x in self.listed(t0 + 3000)], [1, 2])
        two = [x for x in self.listed(t0 + 4000) if x["number"] == 2][0]
        self.assertEqual((two["sla"], two["sla_left_seconds"]), ("-7m", -400))
        self.assertEqual([x["number"] for x in self.listed(t0 + 4000)], [2, 1])  # overdue first
        # Resumed at 7200: the 5 minutes run from there.
        self.at(t0 + 7200, "ticket", "set", "1", "--status", "open")
        one = [x for x in self.listed(t0 + 7260) if x["number"] == 1][0]
        self.assertEqual((one["sla"], one["sla_left_seconds"], one["sla_paused"]), ("4m", 240, False))
        # Resolved at 30000, past the first response (7500) and the
        # resolution (4 h + 6600 s) due times, no check having run.
        self.at(t0 + 30000, "ticket", "set", "1", "--status", "resolved")
        breaches = self.events(1, "sla_breach")
        self.assertEqual([(e["detail"]["target"], e["detail"]["due"]) for e in breaches],
                         [("first_response", t0 + 7500), ("resolution", t0 + 4 * 3600 + 6600)])
        self.assertEqual(self.sla_check(t0 + 30060), 2)  # #2's two: #1's are recorded
        self.at(t0 + 31000, "ticket", "set", "1", "--status", "closed")
        self.assertEqual(len(self.events(1, "sla_breach")), 2)
        self.at(t0 + 31000, "outbox", "run", "--once")
        notices = [m for m in self.sent_to("team@" + DOMAIN) if "SLA breached" in str(m["Subject"])]
        self.assertEqual(sorted(str(m["Subject"]).split("]")[0] for m in notices),
                         ["[docket #1", "[docket #1", "[docket #2", "[docket #2"])
        one = [x for x in self.listed(t0 + 31000, "--all") if x["number"] == 1][0]
        self.assertEqual((one["sla"], one["sla_left_seconds"]), ("late", None))


class ServeBreachTest(ScenarioCase):
    """docket serve checks by itself, every [sla] check_seconds, and tells
    the team of each missed target once."""

    config_text = (DeskCase.config_text + "[notify]\nteam_addresses = team@%s\npoll_seconds = 1\n" % DOMAIN +
                   "[sla]\ncheck_seconds = 1\n")

    def test_serve_checks_and_notices_once(self):
        # Opened two hours ago as critical: the first response (15 min)
        # is late, the resolution (4 h) not yet.
        then = int(time.time()) - 7200
        self.deliver_at(then, mail("dave@example.org", "Site down", "s1@example.org", "503 everywhere.\n"))
        self.at(then, "ticket", "set", "1", "--priority", "critical")
        port = free_port()
        with open(os.path.join(self.dir, "serve.log"), "wb") as log:
            proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen", "127.0.0.1:%d" % port],
                                    stderr=log)
            try:
                wait_for_port(port)
                notices = []
                deadline = time.time() + 20
                while time.time() < deadline and not notices:
                    notices = [m for m in self.sent_to("team@" + DOMAIN) if "SLA breached" in str(m["Subject"])]
                    time.sleep(0.2)
                self.assertEqual(len(notices), 1)
                time.sleep(3)  # a few more checks and outbox rounds
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=20), 0)
        self.assertEqual([e["detail"]["target"] for e in self.events(1, "sla_breach")], ["first_response"])
        self.assertEqual(len([m for m in self.sent_to("team@" + DOMAIN) if "SLA breached" in str(m["Subject"])]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
