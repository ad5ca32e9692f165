"""NinjaOne: a whole conversation becomes the exact requests the mock
(written from ../shared/specs/ninjaone and REFERENCE.md section 1)
expects, with the tenant's status ids and the priority/severity mapping;
the token is refreshed before it expires and once on a 401; after injected
faults (500, 429 with Retry-After, answers lost after a create and after a
comment, an expired token) every remote ticket and comment exists exactly
once; `docket connector check` reports misconfiguration and, with bad
credentials, creates nothing."""

import json
import os
import sqlite3
import time
import unittest
import urllib.parse

from conntest import AGENT, CUSTOMER, ConnectorCase, conversation, mail
import ninjamock

CREDENTIALS = ("client_id = %s\nclient_secret = %s\n" %
               (ninjamock.CLIENT_ID, ninjamock.CLIENT_SECRET))
ALICE = ninjamock.PEOPLE[0]["uid"]
API = "/api/v2/ticketing"


class NinjaCase(ConnectorCase):
    credentials = CREDENTIALS
    maxDiff = None

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
        # the spec requires requesterUid on a PUT: without one the change is refused
        self.deliver_ok(self.agent_note("r", "#status resolved").replace(
            b"p1@customer.example", b"v1@elsewhere.example"))
        self.assertEqual(self.run_once(), (1, 0, 1))  # the note is sent, the change fails
        [row] = [r for r in self.outbox() if r["state"] == "failed"]
        self.assertIn("requesterUid", row["last_error"])


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
        self.assertEqual(runs[0]["searchCriteria"], "docket-1")
        self.assertTrue(any(r.status == 401 for r in self.mock.api_requests()))

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
