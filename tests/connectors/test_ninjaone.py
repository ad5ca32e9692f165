"""NinjaOne: a whole conversation becomes the exact requests the mock
(written from the vendor's OpenAPI document)
expects, with the tenant's status ids and the priority/severity mapping;
the token is refreshed before it expires and once on a 401; after injected
faults (500, 429 with Retry-After, answers lost after a create and after a
comment, an expired token) every remote ticket and comment exists exactly
once; `docket connector check` reports misconfiguration and, with bad
credentials, creates nothing."""

import json
import os
import re
import signal
import subprocess
import sqlite3
import time
import unittest
import urllib.parse

from conntest import (AGENT, BINARY, CUSTOMER, ConnectorCase, RoundTrip, conversation, mail,
                      specschema, with_files)
from test_serve import free_port, wait_for_port
import ninjamock

CREDENTIALS = ("client_id = %s\nclient_secret = %s\n" %
               (ninjamock.CLIENT_ID, ninjamock.CLIENT_SECRET))
ALICE = ninjamock.PEOPLE[0]["uid"]
API = "/api/v2/ticketing"


class NinjaCase(ConnectorCase):
    credentials = CREDENTIALS
    maxDiff = None
    spec_path = specschema.NINJAONE
    spec_prefix = "/api"
    spec_elsewhere = (("POST", re.escape(ninjamock.TOKEN_PATH), None,
                       "the OAuth2 token endpoint: REFERENCE.md 1.2, third-party clients"),)

    def make_mock(self):
        return ninjamock.NinjaOne()

    def setUp(self):
        super().setUp()
        with open(self.dir + "/credentials", "a") as f:
            f.write("token_url = %s\n" % self.mock.token_url)

    def connector_text(self):
        return ("type = ninjaone\nbase_url = %s\nticket_form = 4\n"
                "organisation_map = customer.example=12, *=3\n" % self.mock.base_url)

    def comment(self, text, public):
        return {"public": public, "body": text}

    def expected_writes(self, tid, status="5000"):
        comments = "%s/ticket/%d/comment" % (API, tid)
        return [
            ("POST", API + "/ticket",
             {"clientId": 12, "ticketFormId": 4, "subject": "Printer offline on floor 2",
              "status": "1000", "priority": "NONE", "requesterUid": ALICE,
              "description": {"public": True, "body": "The printer shows error 50."},
              "tags": ["docket-1"]}),
            ("POST", comments, self.comment("Still broken after a restart.", True)),
            ("POST", comments, self.comment("Please replace the toner.", True)),
            ("POST", comments, self.comment("Toner replaced on site.", False)),
            ("PUT", "%s/ticket/%d" % (API, tid),
             {"version": 1, "clientId": 12, "ticketFormId": 4,
              "subject": "Printer offline on floor 2", "status": status,
              "priority": "NONE", "severity": "NONE", "requesterUid": ALICE,
              "tags": ["docket-1"], "cc": {"uids": [], "emails": []}, "attributes": []}),
        ]

    def normalised(self, reqs):
        out = []
        for r in reqs:
            if r.route.endswith("/comment"):
                body = json.loads(ninjamock.form_parts(r)["comment"][0])
            else:
                body = r.json()
            for holder in (body, body.get("description")):
                if isinstance(holder, dict) and isinstance(holder.get("body"), str):
                    holder["body"] = holder["body"].strip()
            out.append((r.method, r.path, body))
        return out

    def send_all(self, messages, limit=30):
        """Delivers the messages and runs the outbox until every row is done."""
        for m in messages:
            self.deliver_ok(m)
        rows = self.drain(limit)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        return rows

    def puts(self):
        return [r.json() for r in self.mock.changes() if r.method == "PUT"]

    def texts(self, tid):
        return [(e["body"].strip(), e["publicEntry"]) for e in self.mock.comments(tid)]


class ConversationTest(NinjaCase):
    def test_an_undocumented_field_fails_the_schema_check(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        self.assert_check_is_live()

    def test_whole_conversation(self):
        rows = self.send_all(conversation())
        self.assertEqual([r["kind"] for r in rows], ["connector"] * 5)
        self.assertEqual(self.normalised(self.mock.changes()), self.expected_writes(4711))
        for r in self.mock.changes():
            want = "application/json" if r.method == "PUT" or r.route.endswith("/ticket") \
                else "multipart/form-data; boundary="
            self.assertTrue(r.headers["Content-Type"].startswith(want), r.headers)
        for r in self.mock.api_requests():
            self.assertTrue(r.headers["Authorization"].startswith("Bearer tok-"))
            self.assertEqual(r.status, 200, r.path)
        for r in self.mock.token_requests():
            self.assertEqual(urllib.parse.parse_qs(r.body.decode()), {
                "grant_type": ["client_credentials"], "client_id": [ninjamock.CLIENT_ID],
                "client_secret": [ninjamock.CLIENT_SECRET],
                "scope": ["monitoring management"]})
        ticket = self.mock.tickets[4711]
        self.assertEqual(ticket["status"]["name"], "RESOLVED")
        self.assertEqual(ticket["version"], 2)
        self.assertEqual(self.texts(4711), [("Still broken after a restart.", True),
                                            ("Please replace the toner.", True),
                                            ("Toner replaced on site.", False)])
        self.assertEqual(len(self.events(1, "connector_sent")), 5)
        # the store keeps the ticket's id and each comment's log entry id
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            refs = db.execute("SELECT kind, remote_id FROM external_refs "
                              "ORDER BY kind DESC, local_id").fetchall()
        ids = [str(e["id"]) for e in self.mock.comments(4711)]
        self.assertEqual(refs, [("ticket", "4711")] + [("article", i) for i in ids])

    def agent_note(self, tag, commands):
        """The agent's internal note on ticket 1 with these #commands."""
        return mail(AGENT, "Re: Printer offline on floor 2", "%s@agents.example" % tag,
                    "#internal\n%s\nNoted.\n" % commands,
                    "In-Reply-To: <p1@customer.example>\n")

    def test_priority_and_severity(self):
        self.send_all([conversation()[0], self.agent_note("c", "#priority critical"),
                       self.agent_note("h", "#priority high"),
                       self.agent_note("l", "#priority low\n#assign %s" % AGENT)])
        changes = [{k: p.get(k) for k in ("priority", "severity", "assignedAppUserId")}
                   for p in self.puts()]
        self.assertEqual(changes, [
            {"priority": "HIGH", "severity": "CRITICAL", "assignedAppUserId": None},
            {"priority": "HIGH", "severity": "NONE", "assignedAppUserId": None},
            {"priority": "LOW", "severity": "NONE", "assignedAppUserId": None},
            {"priority": "LOW", "severity": "NONE", "assignedAppUserId": 37}])
        self.assertEqual([p["version"] for p in self.puts()], [1, 2, 3, 4])

    def test_tenant_status_by_display_name(self):
        self.configure("status_map = waiting=Waiting for parts\n")
        self.send_all([conversation()[0], self.agent_note("w", "#status waiting")])
        self.assertEqual([p["status"] for p in self.puts()], ["2101"])
        self.assertEqual(self.mock.tickets[4711]["status"]["displayName"], "Waiting for parts")

    def test_unknown_requester_goes_to_the_default_organisation(self):
        self.send_all([mail("bob@elsewhere.example", "VPN down", "v1@elsewhere.example",
                            "No VPN since this morning.\n")])
        create = self.mock.changes()[0].json()
        self.assertEqual(create["clientId"], 3)
        self.assertNotIn("requesterUid", create)
        self.assertEqual(create["cc"], {"uids": [], "emails": ["bob@elsewhere.example"]})
        # the spec requires requesterUid on a PUT: without one the change is
        # not sent (it would not be a documented request) and fails
        self.deliver_ok(self.agent_note("r", "#status resolved").replace(
            b"p1@customer.example", b"v1@elsewhere.example"))
        self.assertEqual(self.run_once(), (1, 0, 1))  # the note is sent, the change fails
        [row] = [r for r in self.outbox() if r["state"] == "failed"]
        self.assertIn("has no requesterUid, which UpdateTicket requires", row["last_error"])
        self.assertEqual([r.method for r in self.mock.changes()], ["POST", "POST"])


class TokenTest(NinjaCase):
    def test_refreshed_before_expiry(self):
        # A token living less than the refresh margin is never used: every
        # request comes after a new token, and none is refused.
        self.mock.token_lifetime = 30
        self.send_all(conversation())
        api = self.mock.api_requests()
        self.assertEqual(len(self.mock.token_requests()), len(api))
        self.assertTrue(all(r.status == 200 for r in api))
        issued = [r.headers["Authorization"] for r in api]
        self.assertEqual(len(set(issued)), len(issued))

    def test_refreshed_once_on_401(self):
        self.mock.token_uses = 2  # the server drops each token after two requests
        self.send_all(conversation())
        refused = [r for r in self.mock.api_requests() if r.status == 401]
        self.assertTrue(refused)
        for r in refused:  # each refused request came again, once, with a new token
            i = self.mock.requests.index(r)
            self.assertEqual(self.mock.requests[i + 1].route, ninjamock.TOKEN_PATH)
            again = self.mock.requests[i + 2]
            self.assertEqual((again.method, again.path, again.body), (r.method, r.path, r.body))
            self.assertNotEqual(again.headers["Authorization"], r.headers["Authorization"])
        self.assertEqual(len(self.mock.tickets), 1)
        self.assertEqual(len(self.mock.comments(4711)), 3)


class FaultTest(NinjaCase):
    def test_every_ticket_and_comment_exactly_once(self):
        self.mock.inject("POST", API + "/ticket", status=500,
                         body=b'{"resultCode":"FAILURE","errorMessage":"HTTP 500"}')
        self.mock.inject("POST", API + "/ticket", pause=2)  # created, the answer too late
        self.mock.inject("POST", API + "/ticket/", status=429, body=b'{"resultCode":"FAILURE"}',
                         headers={"Retry-After": "1"})
        self.mock.inject("POST", API + "/ticket/", pause=2)  # a comment made, answer lost
        self.mock.inject("PUT", API + "/ticket/", status=503, body=b"")
        self.mock.token_uses = 5
        self.send_all(conversation(), 60)
        self.assertEqual(len(self.mock.tickets), 1)
        tid, ticket = next(iter(self.mock.tickets.items()))
        self.assertEqual(ticket["tags"], ["docket-1"])
        self.assertEqual(ticket["status"]["name"], "RESOLVED")
        self.assertEqual(self.texts(tid), [("Still broken after a restart.", True),
                                           ("Please replace the toner.", True),
                                           ("Toner replaced on site.", False)])
        self.assertEqual(self.normalised(self.mock.changes({200})), self.expected_writes(tid))
        runs = [r.json() for r in self.mock.requests if r.route.endswith("/run")]
        self.assertTrue(runs)
        self.assertEqual(runs[0], {"pageSize": 50,
                                   "sortBy": [{"field": "id", "direction": "DESC"}]})
        self.assertTrue(any(r.status == 401 for r in self.mock.api_requests()))

    def test_lost_create_found_among_newer_tickets(self):
        # Older tickets of others, then ours made with its answer lost, then
        # 70 more of others: the lookup pages back past them to ours (found
        # by its tag, which the board's search does not match) and stops.
        for n in range(30):
            self.mock.add_ticket("Old %d" % n, age=86400)
        self.mock.inject("POST", API + "/ticket", pause=2)
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 1, 0))
        [ours] = [t for t in self.mock.tickets.values() if t["tags"] == ["docket-1"]]
        for n in range(70):
            self.mock.add_ticket("Newer %d" % n)
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual([t["id"] for t in self.mock.tickets.values()
                          if t["tags"] == ["docket-1"]], [ours["id"]])
        runs = [r.json() for r in self.mock.requests if r.route.endswith("/run")]
        self.assertEqual([r.get("lastCursorId") for r in runs], [None, ours["id"] + 21])
        self.assertEqual(len([r for r in self.mock.requests if r.method == "GET" and
                              re.fullmatch(API + r"/ticket/\d+", r.route)]), 71)

    def test_create_of_a_killed_worker_is_found(self):
        # The worker dies (SIGKILL) after NinjaOne made the ticket, before
        # it heard back: the row counts no attempt, and once its claim ran
        # out the next worker looks the ticket up instead of making another.
        self.configure("timeout_seconds = 30\n")  # the kill comes first
        self.mock.inject("POST", API + "/ticket", pause=60)  # made, the answer later
        self.deliver_ok(conversation()[0])
        proc = subprocess.Popen([BINARY, "-c", self.config, "outbox", "run", "--once"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.mock.tickets and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        self.assertEqual(len(self.mock.tickets), 1)
        [row] = self.outbox()
        self.assertEqual((row["state"], row["attempts"]), ("pending", 0))
        later = str(int(time.time()) + 3600)  # past the claim (4 x 30 + 60 s)
        proc = self.docket("outbox", "run", "--once", "--now", later)
        self.assertIn(b"event=lookup result=found remote=4711", proc.stderr)
        self.assertEqual([r["state"] for r in self.outbox()], ["done"])
        self.assertEqual(len(self.mock.tickets), 1)
        self.assertEqual(len([r for r in self.mock.requests if r.route == API + "/ticket"]), 1)

    def test_lost_create_that_never_arrived_is_made_once(self):
        # The create times out before NinjaOne made it: the lookup meets an
        # older ticket first and the create goes again, once.
        for n in range(3):
            self.mock.add_ticket("Old %d" % n, age=86400)
        self.mock.inject("POST", API + "/ticket", status=504, body=b"")
        self.send_all(conversation()[:1])
        self.assertEqual(len([t for t in self.mock.tickets.values()
                              if t["tags"] == ["docket-1"]]), 1)
        self.assertEqual(len([r for r in self.mock.requests if r.method == "GET" and
                              re.fullmatch(API + r"/ticket/\d+", r.route)]), 1)

    def test_stale_version_is_read_again(self):
        self.mock.inject("PUT", API + "/ticket/", status=409,
                         body=b'{"resultCode":"FAILURE","errorMessage":"version is stale"}')
        self.send_all(conversation())
        puts = [r for r in self.mock.requests if r.method == "PUT"]
        self.assertEqual([r.status for r in puts], [409, 200])
        reads = [r for r in self.mock.requests if r.method == "GET" and r.route == puts[0].route]
        self.assertEqual(len(reads), 2)  # read again before the second PUT
        self.assertEqual(self.mock.tickets[4711]["status"]["name"], "RESOLVED")

    def test_retry_after_is_honoured(self):
        self.mock.inject("POST", API + "/ticket", status=429,
                         body=b'{"resultCode":"FAILURE","errorMessage":"rate limited"}',
                         headers={"Retry-After": "120"})
        self.deliver_ok(conversation()[0])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "pending")
        self.assertGreaterEqual(row["next_attempt_at"], before + 119)
        self.assertIn("HTTP 429", row["last_error"])
        self.assertEqual(self.mock.tickets, {})

    def test_permanent_errors_are_recorded(self):
        # organisation_map, what the failed row says, writes the mock saw by then
        cases = [("customer.example=99", ["HTTP 404", "Organization not found"], 1),
                 ("other.example=12", ["no organisation for %s" % CUSTOMER], 1)]
        for n, (mapping, needles, tried) in enumerate(cases, 1):
            self.configure("organisation_map = %s\n" % mapping)
            self.deliver_ok(mail(CUSTOMER, "Toner %d" % n, "t%d@customer.example" % n, "Low.\n"))
            self.assertEqual(self.run_once(), (0, 0, 1))
            [row] = [r for r in self.outbox() if r["ticket"] == n]
            self.assertEqual(row["state"], "failed")
            for needle in needles:
                self.assertIn(needle, row["last_error"])
            self.assertEqual(len(self.events(n, "connector_failed")), 1)
            self.assertEqual(len(self.mock.changes()), tried)


class AttachmentTest(NinjaCase):
    LOG = b"disk error at sector 7\n" * 10
    BIG = bytes(range(256)) * 8  # 2,048 bytes, binary

    def connector_text(self):
        return super().connector_text() + "attachment_max_bytes = 1024\npoll_seconds = 60\n"

    def test_files_reach_ninjaone_once(self):
        # The first mail's files follow the new ticket as a comment (NewTicket
        # takes none); a reply's files ride on its comment; the one over the
        # limit is named, not sent; lost answers make nothing twice.
        self.mock.inject("POST", API + "/ticket/", pause=2)  # the files comment made, lost
        self.deliver_ok(with_files(CUSTOMER, "Printer offline", "f1@customer.example",
                                   "See the log.\n", [("log.txt", self.LOG),
                                                      ("dump.bin", self.BIG)]))
        self.mock.inject("POST", API + "/ticket/", pause=2)  # the reply's comment, lost
        self.deliver_ok(with_files(CUSTOMER, "Re: Printer offline", "f2@customer.example",
                                   "And the photo.\n", [("photo.jpg", self.BIG[:700])],
                                   "In-Reply-To: <f1@customer.example>\n"))
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.mock.faults, [])
        self.assertEqual(len(self.mock.tickets), 1)
        got = [(e["body"].strip(), e["files"]) for e in self.mock.comments(4711)]
        self.assertEqual(got, [
            ("The attachments of the first mail [docket-1]: log.txt dump.bin\n"
             "(not sent: dump.bin, 2048 bytes, over the limit of 1024 bytes)",
             [("log.txt", len(self.LOG))]),
            ("And the photo.", [("photo.jpg", 700)])])
        files = [r for r in self.mock.requests if r.route.endswith("/comment")]
        sent = [p for r in files for p in ninjamock.form_parts(r, True).get("files", [])]
        self.assertIn(("log.txt", self.LOG), sent)
        # the files comment is docket's own: the way back does not take it
        self.docket("connector", "poll", "desk")
        self.assertEqual([a for a in self.show(1)["articles"] if a["direction"] == "outbound"],
                         [])


class RoundTripTest(RoundTrip, NinjaCase):
    def connector_text(self):
        return super().connector_text() + "poll_seconds = 60\n"

    def remote_ticket(self):
        [tid] = self.mock.tickets
        return tid

    def remote_writes(self):
        return self.mock.changes()

    def agent_comment(self, tid, text, public):
        with self.mock.lock:
            self.mock.add_entry(tid, "COMMENT", text, public)

    def agent_close(self, tid):
        with self.mock.lock:
            t = self.mock.tickets[tid]
            t["status"] = self.mock.status_object("5000")
            t["version"] += 1

    def remote_texts(self, tid):
        return [e["body"] for e in self.mock.comments(tid)]

    def read_faults(self):
        self.mock.inject("GET", API + "/ticket/", status=500, body=b'{"resultCode":"FAILURE"}')
        self.mock.inject("GET", API + "/ticket/", pause=2)  # the answer lost
        self.mock.inject("GET", API + "/ticket/", status=429, headers={"Retry-After": "1"},
                         body=b'{"resultCode":"FAILURE"}')


class ServeTest(RoundTripTest):
    test_round_trip = None  # RoundTripTest's; here only its helpers

    def connector_text(self):
        return NinjaCase.connector_text(self) + "poll_seconds = 1\n"

    def test_serve_reads_back(self):
        # `docket serve` sends the ticket, reads the agent's answer back on
        # its own and mails it to the customer once.
        port = free_port()
        with open(os.path.join(self.dir, "serve.log"), "wb") as log:
            proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                     "127.0.0.1:%d" % port], stderr=log)
            try:
                wait_for_port(port)
                self.deliver_ok(conversation()[0])
                deadline = time.time() + 60
                while time.time() < deadline and not self.mock.tickets:
                    time.sleep(0.2)
                self.agent_comment(self.remote_ticket(), self.ANSWER, True)
                sent = []
                while time.time() < deadline and not sent:
                    sent = [m for m in self.sent() if m["To"] == CUSTOMER]
                    time.sleep(0.2)
                time.sleep(3)  # a few more passes
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(len([m for m in self.sent() if m["To"] == CUSTOMER]), 1)
        # the agent's comment only: nothing went back
        self.assertEqual(self.texts(4711), [(self.ANSWER, True)])


class CheckTest(NinjaCase):
    def check(self, settings="", credentials=None):
        """`docket connector check desk` after appending settings to the
        section (and replacing the credentials): (exit code, stdout, stderr)."""
        self.configure(settings)
        if credentials is not None:
            with open(self.dir + "/credentials", "w") as f:
                f.write(credentials + "token_url = %s\n" % self.mock.token_url)
        proc = self.docket("connector", "check", "desk", check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_check_ok_creates_nothing(self):
        code, out, _ = self.check()
        self.assertEqual(code, 0)
        self.assertIn("desk: authenticated, 7 statuses", out)
        self.assertIn("desk: ok", out)
        self.assertEqual(self.mock.changes(), [])

    def test_bad_credentials_create_nothing(self):
        self.deliver_ok(conversation()[0])
        code, out, err = self.check(credentials=CREDENTIALS.replace("s3cret-NINJA", "wrong-X"))
        self.assertEqual(code, 1)
        self.assertIn("HTTP 401", err)
        self.assertIn("invalid_client", err)
        self.assertNotIn("wrong-X", err + out)
        self.assertEqual(self.mock.api_requests(), [])
        self.assertEqual(self.mock.tickets, {})

    def test_check_reports_form_status_and_organisation(self):
        code, out, _ = self.check("ticket_form = 99\nstatus_map = waiting=Parked\n"
                                  "organisation_map = customer.example=44\nboard = 8\n"
                                  "priority_map = critical=CRITICAL, high=HIGH+SEVERE\n")
        self.assertEqual(code, 1)
        for line in ["status Parked (for waiting) is not among the tenant's statuses",
                     "priority CRITICAL (for critical) is not NONE, LOW, MEDIUM or HIGH",
                     "priority HIGH+SEVERE (for high) is not NONE",
                     "ticket form 99 does not exist",
                     "organisation 44 (for customer.example) does not exist",
                     "no default organisation", "board 8 does not exist"]:
            self.assertIn("desk: " + line, out)
        self.assertEqual(self.mock.changes(), [])

    def test_bad_ticket_form_is_a_configuration_error(self):
        code, _, err = self.check("ticket_form = Email\n")
        self.assertNotEqual(code, 0)
        self.assertIn("ticket_form must be a NinjaOne ticket form id", err)
        self.assertEqual(self.mock.requests, [])

    def test_config_dump_has_no_secret(self):
        out = self.docket("config", "dump", check=False).stdout.decode()
        self.assertNotIn(ninjamock.CLIENT_SECRET, out)
        self.assertIn("ninjaone", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
