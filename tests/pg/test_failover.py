"""Failover: two `docket serve` gateways on one PostgreSQL (the fixture's
cluster), behind a private Postfix that delivers over LMTP to both (each
address's transport lists both gateways, in opposite orders), an SMTP sink
for the acknowledgements, a Dovecot account that both gateways configure,
and one connector on both: NinjaOne's mock from tests/connectors, every
request it receives checked against NinjaOne's own description
(../shared/specs; the check is left out where that is absent). Under load,
one gateway at a time is killed with SIGKILL at random moments and started
again. After every REPLY_EVERY messages the customer of the oldest message
already stored replies to it (In-Reply-To), which docket threads onto that
ticket and the connector sends as a comment; every UPDATE_EVERY-th
message comes from a contact the vendor knows, and after it an agent sets
the newest such ticket to waiting with `docket ticket set` (a connector
update: NinjaOne's PUT of the whole ticket). Then:

  every message is stored exactly once (counted by Message-ID),
  every acknowledgement reached the sink; one sent twice (a gateway killed
    between the SMTP send and the commit that records it: the row's claim
    expires and the other gateway sends it again, with the same
    Message-ID) is counted and reported, not hidden,
  every ticket event reached the vendor once: each ticket was made there
    by exactly one create, and its remote id is the one recorded. A create
    in flight when its gateway died (the vendor made the ticket, the
    commit recording it did not happen) is not sent again: the gateway
    that runs the row after its claim ran out looks the ticket up by our
    reference (NinjaOne takes no idempotency key) and records the one it
    finds; these are counted (in_flight_at_kill), checked against the
    kills (the create's sender was killed after sending it), and reported,
  every reply is on its original's ticket and reached the vendor as one
    comment there, whose id is the one recorded for its article; a comment
    in flight when its gateway died is found among the ticket's comments
    by its text (comments_in_flight_at_kill): once at random, and once
    for certain at the end, where the vendor holds the answer to one more
    reply's comment while its sender is killed,
  every ticket set to waiting is waiting in docket and at the vendor; an
    update sent again after a kill is counted (updates_sent_again): at the
    end, for certain, where one of those tickets is set in progress and
    the vendor holds the answer to its PUT while the sender is killed,
  the gateway left holding the IMAP account's lease is killed, and the
    other takes the account over: a message put in the mailbox afterwards
    is stored; the seconds from the kill are reported,
  each gateway run ended by SIGTERM exits 0, and no run leaves a sanitizer
    report (the sanitizer build: AddressSanitizer's files under the test's
    directory and UndefinedBehaviorSanitizer's lines in the gateway's log,
    read after every run; a run ended by SIGKILL writes none).

The vendor answers each create and comment 0.25 s after making it, so
that most kills meet creates in flight. It prints: messages, kills, lost,
duplicated, notifications, notifications sent twice, takeover seconds,
connector events, creates, creates made twice, creates in flight at a
kill, answers lost, look-ups that found nothing, the same for replies'
comments, requests the vendor received.

Measured (3 runs, 300 messages by LMTP, 20 by IMAP and the takeover's
one; 4 random kills and the takeover's, on the shared 2-core machine,
load 2-7): lost 0, duplicated 0,
notifications 321 sent once each (sent twice 0), connector events 321,
creates 321 (made twice 0; in flight at a kill 12, 15 and 16, each found
by the look-up), takeover 1.1 s, the test 47-50 s (both tests). Under
AddressSanitizer and UBSan (2 runs): the same, but in one run one
acknowledgement sent twice (its gateway killed between the send and the
commit); 10 and 16 creates in flight at a kill, takeover 0.9 s, no
sanitizer report, 52 s. No run had a kill between a claim and the create
reaching the vendor (a look-up that finds nothing);
tests/connectors/test_ninjaone.py covers that path. With the replies (4
runs, 351-352 messages: 320-321 new, 30-31 replies, 6 kills with the held
comment's): lost 0, duplicated 0, comments 30-31 made once each, 2-3 in
flight at a kill and found by their text, creates in flight 9-14, the test
39-40 s. With the updates (3 runs): 19-20 tickets set to waiting, each
WAITING at the vendor, none sent again; comments in flight at a kill 1-4;
the two tests 62-64 s. With the held update (2 runs): it was sent again
once and the ticket is OPEN at the vendor, 7 kills, the two tests 72-80 s.

Nothing is timed: the waits are generous bounds. Needs root (Postfix,
Dovecot) and the pg fixture; runs with the ctest label "failover"
(README: Developers)."""

import collections
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
for sub in ("../e2e", "../lmtp", "../imap", "../outbox", "../connectors"):
    sys.path.insert(0, os.path.join(HERE, sub))

import dockettest  # noqa: E402
import imaptest  # noqa: E402
import ninjamock  # noqa: E402
import postfixtest  # noqa: E402
from smtpsink import Sink, message_id  # noqa: E402
import specschema  # noqa: E402
from test_docket_pg import ENV, psql  # noqa: E402
import test_ninjaone  # noqa: E402

MESSAGES = int(os.environ.get("DOCKET_FAILOVER_MESSAGES", "300"))
KILLS = int(os.environ.get("DOCKET_FAILOVER_KILLS", "4"))
IMAP_MESSAGES = 20
SEED = int(os.environ.get("DOCKET_FAILOVER_SEED", str(random.randrange(1 << 30))))
WAIT = 600  # the bound of every wait, in seconds: generous, never a measure
CREATE = "/api/v2/ticketing/ticket"  # NinjaOne's create, as the vendor sees it
COMMENT = re.compile(re.escape(CREATE) + r"/(\d+)/comment$")  # its comment on a ticket
CREATE_PAUSE = 0.25  # seconds the vendor takes to answer a create or a comment (not a bound)
HOLD_PAUSE = 120  # seconds it holds the answer to a comment whose sender is killed (not a bound)
REPLY_EVERY = 10  # a customer's reply to a stored message after every so many messages
UPDATE_EVERY = 15  # an agent's status change (`docket ticket set`) after every so many


def skip_reason():
    if ENV is None:
        return "no PostgreSQL test cluster"
    return postfixtest.skip_reason() or imaptest.available()


def compose(mid, sender, to):
    return ("From: <%s>\nTo: <%s>\nSubject: Failover %s\nMessage-ID: <%s>\n"
            "Date: Sun, 06 Dec 2026 10:00:00 +0000\n\nPlease help (%s).\n"
            % (sender, to, mid, mid, mid)).encode()


def reply_text(mid):
    return "Still broken (%s)." % mid


def compose_reply(mid, original, sender, to):
    return ("From: <%s>\nTo: <%s>\nSubject: Re: Failover %s\nMessage-ID: <%s>\n"
            "In-Reply-To: <%s>\nReferences: <%s>\n"
            "Date: Sun, 06 Dec 2026 10:05:00 +0000\n\n%s\n"
            % (sender, to, original, mid, original, original, reply_text(mid))).encode()


def wait_until(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("never %s within %d s" % (what, timeout))


class Gateway:
    """One `docket serve`, its log appended to across restarts."""

    def __init__(self, name, config, port, root):
        self.name = name
        self.config = config
        self.port = port
        self.log_path = os.path.join(root, name + ".log")
        self.sanitizer = os.path.join(root, name + ".sanitizer")  # its reports' prefix
        self.proc = None
        self.starts = 0
        self.kills = []  # when each SIGKILL was sent (time.monotonic())

    def start(self):
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(b"--- start %d\n" % self.starts)
            log.flush()
            self.proc = subprocess.Popen(
                [dockettest.BINARY, "-c", self.config, "serve", "--listen",
                 "127.0.0.1:%d" % self.port], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=dockettest.sanitizer_env(self.sanitizer))
        wait_until(lambda: "serve event=ready" in self.this_run() or self.proc.poll() is not None,
                   "%s ready" % self.name)
        if self.proc.poll() is not None:
            raise AssertionError("%s exited %s:\n%s" % (self.name, self.proc.returncode, self.log()))

    def kill(self):
        self.kills.append(time.monotonic())
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.check_sanitizers()

    def stop(self):
        """SIGTERM unless the run ended already; its exit status ("hung"
        when SIGTERM did not end it within 60 s; None: never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
                return "hung"
        self.check_sanitizers()
        return self.proc.returncode

    def check_sanitizers(self):
        """After each run: a sanitizer report of the run (the sanitizer
        build; a run ended by SIGKILL leaves none of its own) fails the test."""
        report = dockettest.sanitizer_reports(self.sanitizer, self.this_run())
        if report:
            raise AssertionError("gateway %s, run %d: a sanitizer report:\n%s"
                                 % (self.name, self.starts, report))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def this_run(self):
        return self.log().rsplit("--- start ", 1)[-1]

    def holds_lease(self):
        """Whether this run's last word on the account is that it took it."""
        run = self.this_run()
        taken = run.rfind("imap account=support event=lease-taken")
        return self.proc.poll() is None and taken > run.rfind("imap account=support event=standby")


class Vendor(ninjamock.NinjaOne):
    """NinjaOne's mock (tests/connectors/ninjamock.py), which each gateway
    reaches under its own path prefix (/a, /b: its base_url and token_url),
    so that every request is known by its sender (req.sender) and its time
    (req.at); it answers each create and each comment CREATE_PAUSE seconds
    after it made the ticket or the comment: a window in which a kill
    leaves the vendor with a ticket or a comment the gateway never
    recorded."""

    def __init__(self):
        super().__init__()
        self.random_faults = self.slow_writes  # mockhttp: a fault per request, or None
        # (kind, queue.Queue): the next request of that kind ("comment": a
        # comment's POST, "update": a ticket's PUT) goes there, held
        self.hold = None

    def slow_writes(self, req):
        """Before the request is handled (req.path still has its prefix)."""
        kind = ("comment" if req.method == "POST" and COMMENT.search(req.route) else
                "update" if req.method == "PUT" and re.search(r"/ticket/\d+$", req.route) else
                "create" if req.method == "POST" and req.route.endswith(CREATE) else None)
        with self.lock:
            held = self.hold[1] if self.hold is not None and self.hold[0] == kind else None
            if held is not None:
                self.hold = None
        if held is not None:
            held.put(req)
            return (req.method, req.route, None, b"", {}, HOLD_PAUSE)  # made, the answer later
        if kind in ("create", "comment"):
            return (req.method, req.route, None, b"", {}, CREATE_PAUSE)  # made, answered late
        return None

    def held(self, kind, start):
        """Holds the next request of kind (see hold) that start() causes:
        that request, once the vendor has acted on it."""
        held = queue.Queue()
        with self.lock:
            self.hold = (kind, held)
        start()
        req = held.get(timeout=WAIT)
        wait_until(lambda: req.status is not None, "the held %s made" % kind)
        return req

    def handle(self, req):
        req.sender, _, rest = req.path[1:].partition("/")
        req.at = time.monotonic()
        req.path = "/" + rest
        return super().handle(req)

    def creates(self):
        """Each create request the vendor took, as (reference tag, request)."""
        with self.lock:
            return [(r.json()["tags"][0], r) for r in self.requests
                    if r.method == "POST" and r.route == CREATE and r.status == 200]

    def comments_posted(self):
        """Each comment the vendor took, as ((ticket id, body), request)."""
        with self.lock:
            posted = [(COMMENT.search(r.route), r) for r in self.requests
                      if r.method == "POST" and r.status == 200]
        return [((int(m.group(1)), json.loads(ninjamock.form_parts(r)["comment"][0])["body"]), r)
                for m, r in posted if m]


@unittest.skipIf(skip_reason(), skip_reason())
class Failover(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="docket-failover-")
        if os.environ.get("DOCKET_FAILOVER_KEEP"):  # the logs, to look at
            print("failover: keeping %s" % self.dir)
        else:
            self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)  # Postfix's daemons run as postfix
        self.db = "failover_" + uuid.uuid4().hex[:12]
        psql("CREATE DATABASE %s OWNER docket" % self.db)
        self.addCleanup(psql, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)
        self.sink = Sink(dockettest.free_port())
        self.sink.start()
        self.addCleanup(self.sink.stop)
        self.dovecot = imaptest.Dovecot(users=1)
        self.addCleanup(self.dovecot.close)
        self.vendor = Vendor()
        self.vendor.start()
        self.addCleanup(self.vendor.stop)
        self.gateways = []
        for name in ("a", "b"):
            self.gateways.append(Gateway(name, self.write_config(name), dockettest.free_port(),
                                         self.dir))
        a, b = ("[127.0.0.1]:%d" % g.port for g in self.gateways)
        # Each address tries one gateway first and the other when the
        # first does not answer (Postfix 3.5 and later: a list of nexthops).
        transport = ("support@example.com docket:%s, %s\nhelp@example.com docket:%s, %s\n"
                     % (a, b, b, a))
        self.postfix = postfixtest.Postfix(os.path.join(self.dir, "postfix"), transport)
        self.addCleanup(self.postfix.stop)
        self.postfix.start()
        for g in self.gateways:
            self.addCleanup(g.stop)
            g.start()

    def write_config(self, name):
        url = ENV["DOCKET_TEST_PG_URL"].replace("/docket?", "/%s?" % self.db)
        path = os.path.join(self.dir, name + ".conf")
        credentials = os.path.join(self.dir, name + ".ninja")
        dockettest.write_secret(credentials, "%stoken_url = %s/%s%s\n" % (
            test_ninjaone.CREDENTIALS, self.vendor.url, name, ninjamock.TOKEN_PATH))
        with open(path, "w") as f:
            f.write("[store]\ndata_dir = %s\nbackend = postgresql\nurl = %s\npassword_file = %s\n"
                    "[threading]\ndomain = help.example.com\n"
                    "[notify]\nfrom = support@help.example.com\n"
                    "[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n"
                    "timeout_seconds = 5\nclaim_seconds = 10\n"
                    "[imap:support]\nhost = 127.0.0.1\nport = %d\ntls = imaps\nca_file = %s\n"
                    "user = user1\npassword = %s\npoll_seconds = 1\ntimeout_seconds = 5\n"
                    "[connector:ninja]\ntype = ninjaone\nbase_url = %s/%s\n"
                    "credentials_file = %s\nticket_form = 4\n"
                    "organisation_map = customer.example=12, *=3\n"
                    "timeout_seconds = 5\nclaim_seconds = 10\n"
                    % (os.path.join(self.dir, name), url, ENV["DOCKET_TEST_PG_PASSWORD_FILE"],
                       self.sink.port, self.dovecot.tls_port, self.dovecot.cert,
                       imaptest.PASSWORD, self.vendor.url, name, credentials))
        return path

    def query(self, sql):
        url = ENV["DOCKET_TEST_PG_ADMIN_URL"].replace("@/docket?", "@/%s?" % self.db)
        out = subprocess.run([os.path.join(ENV["DOCKET_TEST_PG_BINDIR"], "psql"), "-X", "-At",
                              "-d", url, "-c", sql], check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE).stdout.decode()
        return [line.split("|") for line in out.splitlines() if line]

    def outbox_settled(self):
        """Whether every outbox row is done; a row failed for good fails
        the test at once, with its error (it would never settle)."""
        failed = self.query("SELECT id, kind, last_error FROM outbox WHERE state = 'failed'")
        self.assertEqual(failed, [], "outbox rows failed for good")
        return self.query("SELECT count(*) FROM outbox WHERE state <> 'done'") == [["0"]]

    def stored(self):
        """Message-ID -> inbound articles holding it."""
        return {mid: int(n) for mid, n in self.query(
            "SELECT message_id, count(*) FROM articles WHERE direction = 'inbound'"
            " GROUP BY message_id")}

    def set_status(self, number, status):
        """`docket ticket set NUMBER --status STATUS` on the store, as an
        agent would, beside the gateways; it must succeed and leave no
        sanitizer report."""
        prefix = os.path.join(self.dir, "cli.sanitizer")
        proc = subprocess.run([dockettest.BINARY, "-c", self.gateways[0].config, "ticket", "set",
                               str(number), "--status", status],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=dockettest.sanitizer_env(prefix))
        err = proc.stderr.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(dockettest.sanitizer_reports(prefix, err), "")

    def submit_load(self, sent, replies, updated):
        """MESSAGES new messages by LMTP, IMAP_MESSAGES by IMAP, and after
        every REPLY_EVERY a customer's reply to the oldest LMTP message
        already stored and not replied to (stored: a reply to a message not
        there yet would open a ticket of its own); replies: the reply's
        Message-ID -> the original's. Every UPDATE_EVERY-th message comes
        from a contact the vendor knows (NinjaOne's UpdateTicket wants the
        ticket's requesterUid), and after it the newest stored ticket of
        such a message is set to waiting by an agent; updated: those
        tickets' numbers."""
        running = []
        waiting = []  # (Message-ID, sender, address) of LMTP messages not replied to
        known = []  # Message-IDs of the vendor's contacts' messages, to update
        for i in range(MESSAGES):
            mid = "fo%d.%d@customer.example" % (i, os.getpid())
            to = ("support@example.com", "help@example.com")[i % 2]
            sender = "c%d@customer.example" % i
            if i % UPDATE_EVERY == 0:
                with self.vendor.lock:
                    self.vendor.add_contact(sender)
                known.append(mid)
            else:
                waiting.append((mid, sender, to))
            if len(running) >= 8:
                self.postfix.wait_submitted(running.pop(0))
            running.append(self.postfix.submit(compose(mid, sender, to), sender, to))
            sent.append(mid)
            if i % REPLY_EVERY == REPLY_EVERY - 1:
                stored = self.stored()
                original = next((w for w in waiting if w[0] in stored), None)
                if original is not None:
                    waiting.remove(original)
                    omid, osender, oto = original
                    rmid = "re." + omid
                    running.append(self.postfix.submit(
                        compose_reply(rmid, omid, osender, oto), osender, oto))
                    sent.append(rmid)
                    replies[rmid] = omid
            if i % UPDATE_EVERY == UPDATE_EVERY - 1:
                stored = self.stored()
                newest = next((m for m in reversed(known) if m in stored), None)
                if newest is not None:
                    known.remove(newest)
                    [[number]] = self.query("SELECT ticket FROM articles WHERE message_id = '%s'"
                                            % newest)
                    self.set_status(int(number), "waiting")
                    updated[int(number)] = ["waiting"]
            if i % (MESSAGES // IMAP_MESSAGES) == 0:
                imid = "im%d.%d@customer.example" % (i, os.getpid())
                self.dovecot.add("user1", compose(imid, "i%d@customer.example" % i,
                                                  "support@example.com"))
                sent.append(imid)
        for proc in running:
            self.postfix.wait_submitted(proc)

    def comment_figures(self, replies, killed_after):
        """Each reply (Message-ID -> the original's) threaded onto its
        original's ticket and made a comment there once, on the ticket
        recorded as that ticket's, with the comment's id recorded for the
        reply's article; a comment made by a gateway killed before it
        recorded it is looked up by the gateway that runs the row again
        (event=lookup_comment result=found): counted as in flight at a kill
        (killed_after(request): its sender was killed after sending it),
        else as an answer lost."""
        articles = {mid: (aid, ticket) for aid, mid, ticket in self.query(
            "SELECT id, message_id, ticket FROM articles WHERE direction = 'inbound'")}
        self.assertEqual({r: articles[r][1] for r in replies},
                         {r: articles[o][1] for r, o in replies.items()},
                         "a reply not on its original's ticket")
        remote_ticket = {local: int(r) for local, r in self.query(
            "SELECT local_id, remote_id FROM external_refs"
            " WHERE connector = 'ninja' AND kind = 'ticket'")}
        remote_comment = dict(self.query(
            "SELECT local_id, remote_id FROM external_refs"
            " WHERE connector = 'ninja' AND kind = 'article'"))
        with self.vendor.lock:
            entries = {tid: [e for e in self.vendor.comments(tid)] for tid in self.vendor.tickets}
        made = {}
        for r in replies:
            aid, ticket = articles[r]
            made[r] = [e for e in entries.get(remote_ticket[ticket], [])
                       if reply_text(r) in (e["body"] or "")]
        twice = sorted(r for r, e in made.items() if len(e) > 1)
        self.assertEqual(twice, [], "comments made twice")
        self.assertEqual(sorted(r for r, e in made.items() if not e), [], "replies not sent")
        self.assertEqual({r: remote_comment.get(articles[r][0]) for r in replies},
                         {r: str(e[0]["id"]) for r, e in made.items()},
                         "the remote comment ids recorded")
        # The request that made each reply's comment, and the replies whose
        # comment a look-up found.
        request = {r: req for (_, body), req in self.vendor.comments_posted()
                   for r in replies if reply_text(r) in body}
        reply_of = {str(e[0]["id"]): r for r, e in made.items()}
        found = []
        for g in self.gateways:
            found += [reply_of[c] for c in
                      re.findall(r"event=lookup_comment result=found remote=(\S+)", g.log())]
        killed = [r for r in found if killed_after(request[r])]
        lookups = sum(g.log().count("event=lookup_comment") for g in self.gateways)
        return {"replies": len(replies), "comments": sum(len(e) for e in made.values()),
                "comments_twice": len(twice), "comments_in_flight_at_kill": len(killed),
                "comment_answer_lost": len(found) - len(killed),
                "comments_looked_up_not_made": lookups - len(found)}

    def update_figures(self, updated):
        """Each ticket an agent set to statuses (updated: number -> the
        statuses in turn, waiting then perhaps in_progress) has the last in
        docket and at the vendor (NinjaOne's WAITING or OPEN), each sent
        there by one PUT, or more where a gateway was killed after sending
        one (the next sends it again, a full PUT of the same fields with
        the version it reads first: the same ticket results), counted."""
        remote = {int(local): int(r) for local, r in self.query(
            "SELECT local_id, remote_id FROM external_refs"
            " WHERE connector = 'ninja' AND kind = 'ticket'")}
        ours = {int(n): s for n, s in self.query("SELECT number, status FROM tickets")}
        with self.vendor.lock:
            theirs = {n: self.vendor.tickets[remote[n]]["status"]["name"] for n in updated}
            puts = collections.Counter(
                int(r.route.rsplit("/", 1)[1]) for r in self.vendor.requests
                if r.method == "PUT" and r.status == 200 and re.search(r"/ticket/\d+$", r.route))
        self.assertEqual({n: ours[n] for n in updated}, {n: s[-1] for n, s in updated.items()})
        self.assertEqual(theirs, {n: {"waiting": "WAITING", "in_progress": "OPEN"}[s[-1]]
                                  for n, s in updated.items()}, "the status at the vendor")
        self.assertEqual(sorted(n for n, s in updated.items() if puts[remote[n]] < len(s)), [],
                         "not sent")
        return {"updated": sum(len(s) for s in updated.values()),
                "updates_sent_again": sum(puts[remote[n]] - len(s) for n, s in updated.items())}

    def connector_figures(self, replies=None):
        """What the vendor received per ticket event (each ticket's one
        event here is its create): the figures, after checking that every
        ticket was made there once, recorded with that ticket's id, and that
        every request is one NinjaOne's description documents. A create
        the vendor got from a gateway killed before it recorded it is looked
        up by the gateway that runs the row again (its log:
        event=lookup result=found): counted as in flight at a kill when its
        sender was killed after sending it, else as an answer lost (a
        timeout on a slow machine); a look-up that found nothing (the
        gateway died before its create reached the vendor) is counted too."""
        tickets = {"docket-%s" % t for [t] in self.query("SELECT number FROM tickets")}
        events = collections.Counter(e for [e] in self.query(
            "SELECT payload::json->>'event' FROM outbox WHERE kind = 'connector'"))
        creates = self.vendor.creates()
        made = collections.Counter(tag for tag, _ in creates)
        self.assertEqual(set(made), tickets, "a ticket not made there, or one not ours")
        twice = sorted(tag for tag, n in made.items() if n > 1)
        self.assertEqual(twice, [], "tickets made there twice")
        remote = {"docket-%s" % local: r for local, r in self.query(
            "SELECT local_id, remote_id FROM external_refs"
            " WHERE connector = 'ninja' AND kind = 'ticket'")}
        with self.vendor.lock:
            tags = {str(t["id"]): t["tags"][0] for t in self.vendor.tickets.values()}
        self.assertEqual({tag: tags.get(r) for tag, r in remote.items()},
                         {tag: tag for tag in tickets}, "the remote ids recorded")
        lookups = []
        for g in self.gateways:
            lookups += re.findall(r"event=lookup result=(found|none) remote=(\S+)", g.log())
        found = [tags[r] for result, r in lookups if result == "found"]
        sent_by = {tag: req for tag, req in creates}
        gateway = {g.name: g for g in self.gateways}
        def killed_after(req):
            return any(k > req.at for k in gateway[req.sender].kills)

        killed = [tag for tag in found if killed_after(sent_by[tag])]
        spec = specschema.load(specschema.NINJAONE)
        if spec is not None:
            self.assertEqual(specschema.problems_of(
                spec, self.vendor.requests, test_ninjaone.NinjaCase.spec_prefix,
                test_ninjaone.NinjaCase.spec_elsewhere), [])
        figures = {"connector_events": sum(events.values()), "creates": len(creates),
                   "creates_twice": len(twice), "in_flight_at_kill": len(killed),
                   "answer_lost": len(found) - len(killed),
                   "looked_up_not_made": len(lookups) - len(found)}
        if replies:
            figures.update(self.comment_figures(replies, killed_after))
        figures.update({"vendor_requests": len(self.vendor.requests),
                        "spec": "checked" if spec is not None else "absent"})
        return figures

    def stop_all(self):
        """Stops both gateways; each must exit 0 with no sanitizer report."""
        for g in self.gateways:
            self.assertEqual(g.stop(), 0, "gateway %s's exit status:\n%s"
                             % (g.name, g.this_run()[-4000:]))

    def kill_at_random(self, rng, loading):
        kills = 0
        while kills < KILLS:
            time.sleep(rng.uniform(0.5, 3.0))
            g = rng.choice(self.gateways)
            g.kill()
            kills += 1
            time.sleep(rng.uniform(0.2, 1.5))
            g.start()
            if not loading.is_set() and kills >= KILLS:
                break
        return kills

    def test_one_gateway_polls_and_sends(self):
        """Without kills: one gateway holds the account (the other never
        connects to the IMAP server), and every acknowledgement is sent
        once though both gateways' outbox workers look at every row."""
        sent = []
        for i in range(IMAP_MESSAGES):
            mid = "one%d.%d@customer.example" % (i, os.getpid())
            self.dovecot.add("user1", compose(mid, "o%d@customer.example" % i,
                                              "support@example.com"))
            sent.append(mid)
        for i in range(IMAP_MESSAGES):
            mid = "lm%d.%d@customer.example" % (i, os.getpid())
            to = ("support@example.com", "help@example.com")[i % 2]
            sender = "l%d@customer.example" % i
            self.postfix.sendmail(compose(mid, sender, to), sender, to)
            sent.append(mid)
        wait_until(lambda: set(self.stored()) >= set(sent), "every message stored")
        wait_until(self.outbox_settled, "the outbox settled")
        wait_until(lambda: len(self.sink.messages) >= len(sent), "every acknowledgement sent")
        connected = [g.name for g in self.gateways
                     if "imap account=support event=connected" in g.log()]
        standby = [g.name for g in self.gateways if "imap account=support event=standby" in g.log()]
        self.assertEqual(len(connected), 1, "gateways that polled: %r" % connected)
        self.assertEqual(standby, [g.name for g in self.gateways if g.name not in connected])
        acks = [message_id(data) for _, _, data in self.sink.messages]
        self.assertEqual(len(acks), len(set(acks)), "an acknowledgement sent twice")
        self.assertEqual(len(acks), len(sent))
        self.assertEqual(max(self.stored().values()), 1)
        figures = self.connector_figures()
        self.assertEqual((figures["creates"], figures["in_flight_at_kill"],
                          figures["looked_up_not_made"]), (len(sent), 0, 0))
        self.stop_all()

    def test_failover(self):
        rng = random.Random(SEED)
        sent = []
        replies = {}
        updated = {}
        loading = threading.Event()
        loading.set()
        loader = threading.Thread(target=lambda: (self.submit_load(sent, replies, updated),
                                                  loading.clear()))
        started = time.monotonic()
        loader.start()
        kills = self.kill_at_random(rng, loading)
        loader.join()
        self.postfix.flush()
        wait_until(lambda: self.postfix.queue() == [], "Postfix's queue empty")
        wait_until(lambda: set(self.stored()) >= set(sent), "every message stored")
        phases = {"stored": time.monotonic() - started}

        # Takeover: the holder of the account's lease dies; a new message
        # is then stored by the other.
        wait_until(lambda: any(g.holds_lease() for g in self.gateways), "a lease holder")
        holder = next(g for g in self.gateways if g.holds_lease())
        holder.kill()
        killed_at = time.monotonic()
        kills += 1
        last = "takeover.%d@customer.example" % os.getpid()
        self.dovecot.add("user1", compose(last, "t@customer.example", "support@example.com"))
        sent.append(last)
        wait_until(lambda: last in self.stored(), "the IMAP account taken over")
        takeover = time.monotonic() - killed_at
        holder.start()

        # Acknowledgements: every ticket's, sent; the outbox settled.
        wait_until(self.outbox_settled, "the outbox settled")
        phases["settled"] = time.monotonic() - started

        # A comment in flight at a kill, for certain: one more reply, whose
        # comment the vendor makes and holds the answer to while its sender
        # is killed; the gateway that runs the row once its claim ran out
        # must find the comment, not make a second.
        # (not to a ticket an agent set to waiting: the reply would reopen it)
        original, i = next((m, i) for m, i in ((m, int(m[2:].split(".")[0])) for m in sent
                                               if m.startswith("fo"))
                           if m not in replies.values() and i % UPDATE_EVERY != 0)
        to = ("support@example.com", "help@example.com")[i % 2]
        sender = "c%d@customer.example" % i
        rmid = "re.held." + original
        sent.append(rmid)
        replies[rmid] = original
        req = self.vendor.held("comment", lambda: self.postfix.sendmail(
            compose_reply(rmid, original, sender, to), sender, to))
        victim = next(g for g in self.gateways if g.name == req.sender)
        victim.kill()
        kills += 1
        victim.start()
        wait_until(self.outbox_settled, "the outbox settled after the held comment")

        # The same for an update: an agent sets a waiting ticket in progress,
        # the vendor holds the answer to its PUT while the sender is
        # killed, the next gateway sends it again.
        number = max(updated)
        updated[number].append("in_progress")
        req = self.vendor.held("update", lambda: self.set_status(number, "in_progress"))
        victim = next(g for g in self.gateways if g.name == req.sender)
        victim.kill()
        kills += 1
        victim.start()
        wait_until(self.outbox_settled, "the outbox settled after the held update")
        stored = self.stored()
        lost = [m for m in sent if m not in stored]
        duplicated = [m for m, n in stored.items() if n > 1]
        tickets = int(self.query("SELECT count(*) FROM tickets")[0][0])
        acks = [message_id(data) for _, _, data in self.sink.messages]
        twice = sorted({m for m in acks if acks.count(m) > 1})
        rows = int(self.query("SELECT count(*) FROM outbox WHERE state = 'done'"
                              " AND kind <> 'connector'")[0][0])
        figures = self.connector_figures(replies)
        figures.update(self.update_figures(updated))
        self.stop_all()
        print("failover: seed=%d messages=%d kills=%d lost=%d duplicated=%d tickets=%d "
              "notifications=%d sent=%d sent_twice=%d takeover_seconds=%.1f total_seconds=%.0f"
              " (stored at %.0f, outbox settled at %.0f) %s"
              % (SEED, len(sent), kills, len(lost), len(duplicated), tickets, rows, len(acks),
                 len(twice), takeover, time.monotonic() - started, phases["stored"],
                 phases["settled"], " ".join("%s=%s" % kv for kv in figures.items())))
        self.assertEqual(lost, [])
        self.assertEqual(duplicated, [])
        self.assertGreaterEqual(figures["comments_in_flight_at_kill"], 1, "the held comment")
        self.assertGreaterEqual(figures["updates_sent_again"], 1, "the held update")
        self.assertEqual(tickets, len(sent) - len(replies))
        self.assertEqual(rows, tickets, "one acknowledgement per ticket")
        recorded = {m[0].strip("<>") for m in self.query(
            "SELECT payload::json->>'sent_message_id' FROM outbox")}
        self.assertEqual(set(acks), recorded, "every one sent")
        self.assertNotIn("status=bounced", self.postfix.log())


if __name__ == "__main__":
    unittest.main()
