"""Shared by the connector tests: a docket data directory with one
connector, mail for a whole conversation, and the outbox driven by
`docket outbox run --once` until it is empty."""

import base64
import copy
import email
import email.policy
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

from dockettest import BINARY, DocketCase, write_secret  # noqa: E402,F401
import specschema  # noqa: E402

SUPPORT = "support@help.example.com"
CUSTOMER = "alice@customer.example"
AGENT = "agent@agents.example"
# What the receiving MTA (authserv-id mx.test.example) adds to the agents'
# mail: docket trusts agent mail only with it.
AGENT_AUTH = "Authentication-Results: mx.test.example; dkim=pass header.d=agents.example\n"


def mail(frm, subject, message_id, body, headers=""):
    """One message; the agent's carries what the receiving MTA adds."""
    if AGENT in frm and AGENT_AUTH not in headers:
        headers = AGENT_AUTH + headers
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\n%s\n%s" %
            (frm, SUPPORT, subject, message_id, headers, body)).encode()


def with_files(frm, subject, message_id, text, files, headers=""):
    """A multipart/mixed mail with text and files [(name, bytes)]."""
    parts = ["--b1\nContent-Type: text/plain; charset=utf-8\n\n%s" % text]
    for name, data in files:
        parts.append("--b1\nContent-Type: application/octet-stream\n"
                     "Content-Disposition: attachment; filename=\"%s\"\n"
                     "Content-Transfer-Encoding: base64\n\n%s" %
                     (name, base64.encodebytes(data).decode()))
    body = "\n".join(parts) + "\n--b1--\n"
    return mail(frm, subject, message_id, body,
                headers + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n")


def conversation():
    """New ticket by mail, the customer's reply, the agent's reply (Cc the
    customer: no relay), the agent's internal note that resolves it."""
    return [
        mail("Alice <%s>" % CUSTOMER, "Printer offline on floor 2", "p1@customer.example",
             "The printer shows error 50.\n"),
        mail(CUSTOMER, "Re: Printer offline on floor 2", "p2@customer.example",
             "Still broken after a restart.\n", "In-Reply-To: <p1@customer.example>\n"),
        mail("Alex Agent <%s>" % AGENT, "Re: Printer offline on floor 2", "a1@agents.example",
             "Please replace the toner.\n",
             "Cc: %s\nIn-Reply-To: <p2@customer.example>\n" % CUSTOMER),
        mail("Alex Agent <%s>" % AGENT, "Re: Printer offline on floor 2", "a2@agents.example",
             "#internal\n#status resolved\nToner replaced on site.\n",
             "In-Reply-To: <a1@agents.example>\n"),
    ]


class ConnectorCase(DocketCase):
    """A docket with [connector:NAME] from connector_text() and the given
    credentials file; acknowledgements off (no mail in these tests), and
    an agent's reply leaves the status alone ([desk] reply_status = none:
    each status change these scenarios send is one the agent made)."""

    name = "desk"
    credentials = ""
    # The vendor's machine-readable description (specschema), the route
    # prefix in front of its paths, and the operations documented outside
    # it: (method, route regex, definition or None, why).
    spec_path = None
    spec_prefix = ""
    spec_elsewhere = ()

    def connector_text(self):
        raise NotImplementedError

    def setUp(self):
        self.mock = self.make_mock()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        if self.spec_path is not None:
            self.addCleanup(self.assert_documented)
        super().setUp()
        creds = os.path.join(self.dir, "credentials")
        write_secret(creds, self.credentials)
        with open(self.config, "a") as f:
            f.write("[threading]\ndomain = help.example.com\n[desk]\nreply_status = none\n"
                    "[notify]\nack = false\nretry_initial_seconds = 1\nretry_max_seconds = 2\n"
                    "[agents]\naddresses = %s\nauthserv_id = mx.test.example\n"
                    "[connector:%s]\ncredentials_file = %s\ntimeout_seconds = 1\n%s" %
                    (AGENT, self.name, creds, self.connector_text()))

    def spec(self):
        """The vendor's description, or None where ../shared/specs lacks it."""
        return specschema.load(self.spec_path) if self.spec_path else None

    def require_spec(self):
        if self.spec() is None:
            self.skipTest("%s is absent" % self.spec_path)
        return self.spec()

    def assert_documented(self, requests=None):
        """Every request the mock saw (or those given) is an operation of
        the vendor's description with a body its schema takes. Run after
        every test of a suite with a spec_path; nothing where it is absent."""
        spec = self.spec()
        if spec is None:
            return
        reqs = self.mock.requests if requests is None else requests
        self.assertEqual(specschema.problems_of(spec, reqs, self.spec_prefix,
                                                self.spec_elsewhere), [])

    def assert_check_is_live(self):
        """The schema check can fail: the first JSON write the mock saw,
        with one field the vendor does not document added, is reported.
        Skipped (and reported as skipped) where the description is absent."""
        spec = self.require_spec()
        writes = [r for r in self.mock.requests if r.method in ("POST", "PUT", "PATCH")
                  and r.headers.get("Content-Type", "").startswith("application/json")
                  and r.body.strip().startswith(b"{")]
        self.assertTrue(writes, "no JSON write was sent")
        r = copy.copy(writes[0])
        body = json.loads(r.body)
        body["docketUndocumentedField"] = 1
        r.body = json.dumps(body).encode()
        problems = specschema.problems_of(spec, [r], self.spec_prefix, self.spec_elsewhere)
        self.assertTrue(any("docketUndocumentedField" in p for p in problems), problems)

    def deliver_ok(self, message):
        proc = self.deliver(message)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def outbox(self, *args):
        return json.loads(self.docket("outbox", "list", "--json", *args).stdout)["outbox"]

    def run_once(self):
        """`docket outbox run --once`: (sent, deferred, failed)."""
        proc = self.docket("outbox", "run", "--once", check=False)
        words = proc.stdout.decode().replace(",", "").split()
        counts = int(words[1]), int(words[3]), int(words[5])
        self.assertEqual(proc.returncode, 1 if counts[2] else 0, proc.stderr)  # 1: a row failed
        return counts

    def drain(self, limit=30):
        """Runs the outbox until no row is pending; returns the rows."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            self.run_once()
            rows = self.outbox()
            if all(r["state"] != "pending" for r in rows):
                return rows
            time.sleep(0.5)
        self.fail("the outbox did not drain: %s" % self.outbox())

    def events(self, ticket, kind):
        return [e for e in self.show(ticket)["events"] if e["type"] == kind]


class RoundTrip:
    """Mixed into a ConnectorCase with poll_seconds set: a whole
    conversation in both directions under faults. The customer mails; an
    agent answers publicly in the help desk and adds an internal note;
    `docket connector poll` (reads failing first, then run again as after
    a restart) makes one reply mailed to the customer through the outbox,
    threaded and tokened, and nothing goes back; the customer answers that
    mail and the answer reaches the remote ticket once; the agent closes the
    ticket there and docket's ticket follows, sending nothing back.

    The suite gives: remote_ticket() the one remote ticket; agent_comment(
    remote, text, public) and agent_close(remote) as an agent in the help
    desk; remote_texts(remote) every comment text there; read_faults()
    queues faults on the reads (and answers lost)."""

    ANSWER = "Please hold the reset button for ten seconds."
    NOTE = "Internal: the customer has the old firmware."
    CLOSED_AS = "resolved"

    def poll(self, passes=6):
        """Polls until a pass reads every ticket without failure."""
        for _ in range(passes):
            proc = self.docket("connector", "poll", self.name, check=False)
            if proc.returncode == 0:
                return proc.stdout.decode()
            self.assertEqual(proc.returncode, 75, proc.stderr.decode(errors="replace"))
            time.sleep(0.2)
        self.fail("the way back kept failing")

    def sent(self):
        """The mail the outbox wrote into its Maildir, oldest first."""
        files = sorted(glob.glob(os.path.join(self.data, "outbox-maildir", "new", "*")),
                       key=os.path.getmtime)
        out = []
        for path in files:
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def remote_writes(self):
        """The requests that changed something there (tokens left out)."""
        return self.mock.writes()

    def count(self, texts, needle):
        return sum(1 for t in texts if needle in t)

    def test_round_trip(self):
        self.deliver_ok(conversation()[0])
        self.assertTrue(all(r["state"] == "done" for r in self.drain()))
        remote = self.remote_ticket()
        self.agent_comment(remote, self.ANSWER, True)
        self.agent_comment(remote, self.NOTE, False)
        writes = len(self.remote_writes())
        self.read_faults()
        self.poll()
        self.assertEqual(self.mock.faults, [])  # every fault was met
        self.poll()  # again, as after a restart: nothing new
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.remote_writes()), writes)  # nothing echoed back

        [reply] = [m for m in self.sent() if m["To"] == CUSTOMER]
        self.assertEqual(str(reply["Subject"]), "Re: [docket #1] Printer offline on floor 2")
        self.assertEqual(reply["In-Reply-To"], "<p1@customer.example>")
        self.assertIn(self.ANSWER, reply.get_body(("plain",)).get_content())
        self.assertNotIn(self.NOTE, reply.get_body(("plain",)).get_content())
        shown = self.show(1)
        outbound = [a for a in shown["articles"] if a["direction"] == "outbound"]
        self.assertEqual([a["text"].strip() for a in outbound], [self.ANSWER])
        self.assertFalse(any(self.NOTE in a["text"] for a in shown["articles"]))

        # the customer answers the relayed mail: it threads and goes there once
        relayed = reply["Message-ID"].strip("<>")
        self.deliver_ok(mail(CUSTOMER, "Re: [docket #1] Printer offline on floor 2",
                             "p3@customer.example", "That fixed it, thank you.\n",
                             "In-Reply-To: <%s>\n" % relayed))
        self.assertEqual(len(self.tickets()), 1)
        self.assertTrue(all(r["state"] == "done" for r in self.drain(60)))
        texts = self.remote_texts(remote)
        self.assertEqual(self.count(texts, "That fixed it"), 1)
        self.assertEqual(self.count(texts, self.ANSWER), 1)

        # the agent closes it there; docket's ticket follows, nothing goes back
        self.agent_close(remote)
        writes = len(self.remote_writes())
        self.poll()
        self.poll()
        self.assertTrue(all(r["state"] == "done" for r in self.drain()))
        self.assertEqual(self.show(1)["ticket"]["status"], self.CLOSED_AS)
        self.assertEqual(len(self.remote_writes()), writes)
        changes = [e["detail"] for e in self.show(1)["events"] if e["type"] == "status_change"]
        self.assertEqual(changes[-1]["by"], "connector:" + self.name)
        self.assertEqual(len([m for m in self.sent() if m["To"] == CUSTOMER]), 1)
