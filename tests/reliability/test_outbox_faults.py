"""Outbox faults: for a while the SMTP relay (tests/outbox/smtpsink.py) and
two help desks (the ConnectWise mock and the webhook receiver of
tests/connectors/) fail at random from a seeded generator, while tickets
and replies arrive over LMTP at a running `docket serve`; then the faults
stop and the worker drains. Afterwards every notification reached the
relay, every remote ticket and note exists exactly once, and every webhook
event was received.

What "exactly once" can mean for SMTP: when the connection drops after the
final dot (or the reply comes after the client's timeout), the relay has
the message and docket saw a failure, so docket sends it again, with the
same Message-ID (RFC 1047 describes the window; no SMTP extension closes
it). The sink keeps every copy, as a relay would, and the test counts them
honestly: a Message-ID arrives once plus once per reply the sink withheld
after keeping it, never more, never less. The duplicates are the
at-least-once window, reported apart; a receiving MDA that suppresses
duplicates by Message-ID (Sieve "duplicate", RFC 7352) folds them.

A relay's 5xx is permanent (RFC 5321 section 4.2.1): those rows fail with
a notification_failed event and the test recovers them as an operator
would, with `docket outbox retry`, once the relay is healthy.

DOCKET_RELIABILITY_LONG=1 runs five times the tickets for two minutes of
faults; DOCKET_FAULT_SEED picks another sequence of faults."""

import collections
import json
import os
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("e2e", "outbox", "connectors"):
    sys.path.insert(0, os.path.join(HERE, "..", d))

from dockettest import BINARY, DocketCase, write_secret  # noqa: E402
from lmtpclient import send  # noqa: E402
from mockhttp import RandomFaults  # noqa: E402
from smtpsink import Faults, Sink, free_port, message_id  # noqa: E402
from test_serve import wait_for_port  # noqa: E402
import cwmock  # noqa: E402
import hookmock  # noqa: E402

LONG = os.environ.get("DOCKET_RELIABILITY_LONG") == "1"
SEED = int(os.environ.get("DOCKET_FAULT_SEED", "11"))
TICKETS = 120 if LONG else 24
DELIVER_SECONDS = 100 if LONG else 12
FAULT_SECONDS = 120 if LONG else 24
DRAIN_SECONDS = 300 if LONG else 90

DOMAIN = "help.example.com"
SUPPORT = "support@" + DOMAIN
TEAM = "team@" + DOMAIN
AGENT = "agent@agents.example"
# What the receiving MTA adds to the agents' mail (docket trusts it only so).
AGENT_AUTH = "Authentication-Results: mx.test.example; dkim=pass header.d=agents.example\n"
MAIL_KINDS = ("ack", "notice", "relay")


def mail(frm, subject, mid, body, headers=""):
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\n%s" %
            (frm, SUPPORT, subject, mid, headers, body)).encode()


def conversation(i):
    """Ticket i's mail in order, each with the note text the help desk
    should get for it (None: the ticket's own description)."""
    customer = "c%d@customer.example" % i
    subject = "Fault test ticket %d" % i
    steps = [
        (customer, mail(customer, subject, "o%d@customer.example" % i,
                        "Printer %d shows error 50.\n" % i), None),
        (customer, mail(customer, "Re: " + subject, "r%d@customer.example" % i,
                        "Still broken after restart %d.\n" % i,
                        "In-Reply-To: <o%d@customer.example>\n" % i),
         "Still broken after restart %d." % i),
        (AGENT, mail(AGENT, "Re: " + subject, "a%d@agents.example" % i,
                     "Please replace toner cartridge %d.\n" % i,
                     AGENT_AUTH + "In-Reply-To: <r%d@customer.example>\n" % i),
         "Please replace toner cartridge %d." % i),
    ]
    if i % 3 == 0:
        steps.append((AGENT, mail(AGENT, "Re: " + subject, "n%d@agents.example" % i,
                                  "#internal\n#status resolved\nToner %d replaced.\n" % i,
                                  AGENT_AUTH + "In-Reply-To: <a%d@agents.example>\n" % i),
                      "Toner %d replaced." % i))
    return subject, steps


class OutboxFaultTest(DocketCase):
    def setUp(self):
        super().setUp()
        self.smtp_faults = Faults(SEED, rate=0.3, timeout=6.0, max_timeouts=6 if LONG else 1)
        self.sink = Sink(free_port(), faults=self.smtp_faults).start()
        self.addCleanup(self.sink.stop)
        self.psa = cwmock.ConnectWise()
        self.psa.random_faults = RandomFaults(SEED + 1, rate=0.2, late=1.5)
        self.hook = hookmock.Receiver()
        self.hook.random_faults = RandomFaults(SEED + 2, rate=0.2, late=1.5)
        for mock in (self.psa, self.hook):
            mock.start()
            self.addCleanup(mock.stop)
        self.write_config()
        self.lmtp = free_port()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp], stderr=self.log)
        self.addCleanup(self.stop_serve)
        wait_for_port(self.lmtp)

    def write_config(self):
        psa_key = os.path.join(self.dir, "psa.key")
        write_secret(psa_key, "company = %s\npublic_key = %s\nprivate_key = %s\nclient_id = %s\n" %
                     (cwmock.COMPANY, cwmock.PUBLIC, cwmock.PRIVATE, cwmock.CLIENT_ID))
        hook_key = os.path.join(self.dir, "hook.key")
        write_secret(hook_key, "secret = %s\n" % hookmock.SECRET)
        with open(self.config, "a") as f:
            f.write("[threading]\ndomain = %s\n"
                    "[notify]\nfrom = %s\nteam_addresses = %s\nrate_per_hour = 100000\n"
                    "poll_seconds = 1\nretry_initial_seconds = 1\nretry_max_seconds = 2\n"
                    "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n"
                    "timeout_seconds = 1\n"
                    "[agents]\naddresses = %s\nauthserv_id = mx.test.example\n"
                    "[connector:psa]\ntype = connectwise\nbase_url = %s\n"
                    "credentials_file = %s\ntimeout_seconds = 1\nboard = Help Desk\n"
                    "company = CUSTCO\n"
                    "[connector:hook]\ntype = webhook\nbase_url = %s/hook\n"
                    "credentials_file = %s\ntimeout_seconds = 1\n" %
                    (DOMAIN, SUPPORT, TEAM, self.sink.port, AGENT, self.psa.base_url,
                     psa_key, self.hook.url, hook_key))

    def stop_serve(self):
        """SIGTERM; returns the exit status (0, also under the sanitizers)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode

    def outbox(self):
        out = self.docket("outbox", "list", "--json").stdout
        return json.loads(out)["outbox"]

    def deliver_all(self):
        """Every ticket's mail, step by step across the tickets, spread over
        DELIVER_SECONDS; returns {subject: [note texts]}."""
        convs = [conversation(i) for i in range(1, TICKETS + 1)]
        total = sum(len(steps) for _, steps in convs)
        pause = DELIVER_SECONDS / total
        for step in range(4):
            for _, steps in convs:
                if step < len(steps):
                    sender, message, _ = steps[step]
                    reply, = send(self.lmtp, message, [SUPPORT], sender=sender)
                    self.assertTrue(reply.startswith("250"), reply)
                    time.sleep(pause)
        return {subject: [t for _, _, t in steps if t is not None] for subject, steps in convs}

    def wait_settled(self):
        """Waits until no row is pending; returns the rows."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            rows = self.outbox()
            if all(r["state"] != "pending" for r in rows):
                return rows
            time.sleep(1)
        self.fail("the outbox did not drain: %s" %
                  [(r["id"], r["kind"], r["last_error"]) for r in rows if r["state"] == "pending"])

    def test_faults_then_drain_every_side_effect_exactly_once(self):
        started = time.monotonic()
        notes = self.deliver_all()
        while time.monotonic() - started < FAULT_SECONDS:
            time.sleep(0.5)
        for faults in (self.smtp_faults, self.psa.random_faults, self.hook.random_faults):
            faults.stop()
        faults_over = time.monotonic()
        rows = self.wait_settled()
        failed = [r for r in rows if r["state"] == "failed"]
        # only the relay's 5xx fail for good; an operator retries them
        self.assertTrue(all(r["kind"] in MAIL_KINDS and "reply 554" in r["last_error"]
                            for r in failed), failed)
        for r in failed:
            self.docket("outbox", "retry", str(r["id"]))
        rows = self.wait_settled()
        drained = time.monotonic() - faults_over
        self.assertEqual(sorted({r["state"] for r in rows}), ["done"])
        numbers = {t["subject"]: t["number"] for t in self.tickets()}
        self.assertEqual(len(numbers), TICKETS)

        mail = self.check_mail(rows)
        psa = self.check_connectwise(numbers, notes)
        hook = self.check_webhook(rows)
        retries = sum(r["attempts"] for r in rows) - len(rows)
        self.report(rows, failed, mail, psa, hook, retries, drained)
        self.assertEqual(self.stop_serve(), 0)

    def check_mail(self, rows):
        """Every notification at the relay: once, plus once per reply the
        relay withheld after keeping the message; nothing else."""
        mail_rows = [r for r in rows if r["kind"] in MAIL_KINDS]
        kinds = collections.Counter(r["kind"] for r in mail_rows)
        self.assertEqual(kinds, {"ack": TICKETS, "notice": TICKETS, "relay": TICKETS})
        wanted = {r["payload"]["sent_message_id"]: r["target"] for r in mail_rows}
        self.assertEqual(len(wanted), len(mail_rows))
        copies = collections.Counter()
        for _, rcpts, data in self.sink.messages:
            mid = message_id(data)
            copies[mid] += 1
            self.assertEqual(rcpts, [wanted.get(mid)], mid)
        lost = set(wanted) - set(copies)
        stray = set(copies) - set(wanted)
        self.assertEqual((lost, stray), (set(), set()))
        kept = self.smtp_faults.kept
        beyond = {m: n for m, n in copies.items() if n != 1 + kept.get(m, 0)}
        self.assertEqual(beyond, {})
        return {"notifications": len(wanted), "copies": sum(copies.values()),
                "window": sum(n - 1 for n in copies.values())}

    def check_connectwise(self, numbers, notes):
        """One remote ticket per ticket, its notes exactly the replies, in order."""
        by_ref = collections.defaultdict(list)
        for tid, t in self.psa.tickets.items():
            by_ref[t["externalXRef"]].append(tid)
        self.assertEqual(sorted(by_ref), sorted("docket-%d" % n for n in numbers.values()))
        self.assertEqual([r for r, ids in by_ref.items() if len(ids) != 1], [])
        note_count = 0
        for subject, number in numbers.items():
            tid = by_ref["docket-%d" % number][0]
            texts = [n["text"].strip() for n in self.psa.notes[tid]]
            self.assertEqual(texts, notes[subject], subject)
            note_count += len(texts)
            resolved = notes[subject][-1].startswith("Toner ")
            self.assertEqual(self.psa.tickets[tid]["status"]["name"] == "Resolved", resolved,
                             subject)
        return {"tickets": len(self.psa.tickets), "notes": note_count,
                "late": self.psa.random_faults.counts["late"]}

    def check_webhook(self, rows):
        """Every hook row's event received (the receiver keeps the first of
        each id); no two rows for one ticket event."""
        hook_rows = [r for r in rows if r["kind"] == "connector" and r["target"] == "hook"]
        ids = sorted(e["id"] for e in self.hook.events)
        self.assertEqual(ids, sorted("hook-%d" % r["id"] for r in hook_rows))
        keys = collections.Counter(
            (e["event"], e["reference"], (e.get("article") or {}).get("id"),
             json.dumps(e.get("change"), sort_keys=True)) for e in self.hook.events)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])
        created = collections.Counter(e["reference"] for e in self.hook.events
                                      if e["event"] == "ticket.created")
        self.assertEqual(sorted(created.values()), [1] * TICKETS)
        accepted = [r for r in self.hook.requests if r.status == 204]
        return {"events": len(self.hook.events), "redelivered": len(accepted) - len(ids)}

    def report(self, rows, failed, mail, psa, hook, retries, drained):
        injected = collections.Counter()
        for prefix, faults in (("smtp", self.smtp_faults), ("connectwise", self.psa.random_faults),
                               ("webhook", self.hook.random_faults)):
            for kind, n in faults.counts.items():
                injected["%s %s" % (prefix, kind)] = n
        print("\noutbox faults (seed %d, %s: %d tickets over %d s, %d s of faults, drained in %.1f s)" %
              (SEED, "long" if LONG else "short", TICKETS, DELIVER_SECONDS, FAULT_SECONDS,
               drained))
        # every kind of fault was met (the kinds come in shuffled rounds)
        self.assertEqual(sorted(k for k in injected if injected[k] > 0), sorted(
            ["smtp " + k for k in Faults.KINDS] +
            ["%s %s" % (p, k) for p in ("connectwise", "webhook") for k in RandomFaults.KINDS]))
        for kind in sorted(injected):
            print("  injected %-32s %5d" % (kind, injected[kind]))
        print("  injected %-32s %5d" % ("total", sum(injected.values())))
        print("  outbox rows %d, retries %d, relay 5xx failures retried by operator %d" %
              (len(rows), retries, len(failed)))
        print("  mail: %d notifications, %d copies at the relay, %d in the at-least-once "
              "window, duplicates beyond it 0, lost 0" %
              (mail["notifications"], mail["copies"], mail["window"]))
        print("  connectwise: %d tickets, %d notes, each exactly once (%d answers lost "
              "after success); duplicates 0, lost 0" % (psa["tickets"], psa["notes"], psa["late"]))
        print("  webhook: %d events, each once by id (%d redeliveries folded by id); "
              "duplicates 0, lost 0" % (hook["events"], hook["redelivered"]))
        sys.stdout.flush()


if __name__ == "__main__":
    unittest.main(verbosity=2)
