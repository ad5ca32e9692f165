"""Incident IQ: a whole conversation becomes the exact requests the mock
(written from the vendor's Swagger file and product notes)
expects; after injected faults (500, 429 with Retry-After, answers lost
after a create, an expired token) every remote ticket and comment exists
exactly once; `docket connector check` reports bad credentials and
misconfiguration and creates nothing."""

import time
import unittest
import uuid

from conntest import (AGENT, CUSTOMER, ConnectorCase, RoundTrip, conversation, mail, specschema,
                      with_files)
import iiqmock

API = "/api/v1.0"
CREDENTIALS = "token = %s\nsite_id = %s\nproduct_id = %s\n" % (
    iiqmock.TOKEN, iiqmock.SITE, iiqmock.PRODUCT)
ALICE = iiqmock.USERS[0]["UserId"]
RESOLVED = "C98AE44E-ADA0-4AE7-AE30-817785C00002"  # the close reason "Resolved"
# The $type of a comment item, as in Incident IQ's own Postman collection.
COMMENT_TYPE = "Spark.Shared.Models.TicketActivityComment, Spark.Shared"


class IncidentIQCase(ConnectorCase):
    credentials = CREDENTIALS
    spec_path = specschema.INCIDENTIQ
    spec_prefix = API
    # Documented outside the Tickets Swagger file (REFERENCE.md 3.3, 3.5):
    # the bodies of the two searches are its definitions.
    spec_elsewhere = (
        ("POST", API + "/users", "GetUsersRequestV1", "the Users controller"),
        ("GET", API + r"/users/[0-9a-f-]{36}", None, "the Users controller"),
        ("POST", API + "/tickets", "GetTicketsRequest", "POST /tickets/new's description"),
        ("POST", API + r"/tickets/[0-9a-f-]{36}/activities/new", None,
         "IIQ's Postman collection only"),
        ("GET", API + r"/tickets/[0-9a-f-]{36}/activities", None,
         "IIQ's Postman collection only"),
    )

    def make_mock(self):
        return iiqmock.IncidentIQ()

    def connector_text(self):
        return ("type = incidentiq\nbase_url = %s\nlocation_id = %s\nissue_type_id = %s\n" %
                (self.mock.base_url, iiqmock.LOCATION, iiqmock.ISSUE_TYPE))

    def user_search(self, page=0):
        return ("POST", API + "/users?$p=%d&$s=100" % page,
                {"OnlyShowDeleted": False, "ExcludeNoAccess": False})

    def create(self, for_id=ALICE):
        return ("POST", API + "/tickets/new",
                {"Subject": "Printer offline on floor 2",
                 "IssueDescription": "The printer shows error 50.\n\n[docket-1]",
                 "ForId": for_id, "LocationId": iiqmock.LOCATION,
                 "IssueTypeId": iiqmock.ISSUE_TYPE, "ProductId": iiqmock.PRODUCT,
                 "IsUrgent": False, "HasSensitiveInformation": False, "IsTraining": False,
                 "SendNotifications": False, "RunRules": True, "SendEmails": False})

    def comment(self, tid, public, text):
        return ("POST", API + "/tickets/%s/activities/new" % tid,
                {"TicketId": tid, "IsPublic": public, "WaitForResponse": False,
                 "TicketWasUpdated": False,
                 "ActivityItems": [{"$type": COMMENT_TYPE,
                                    "TicketActivityTypeId": 6, "Comments": text}]})

    def expected_changes(self, tid):
        return [
            self.create(),
            self.comment(tid, True, "%s (customer) wrote:\n\nStill broken after a restart." %
                         CUSTOMER),
            self.comment(tid, True, "%s (support) wrote:\n\nPlease replace the toner." % AGENT),
            self.comment(tid, False, "%s (support) wrote:\n\nToner replaced on site." % AGENT),
            ("POST", API + "/tickets/%s/close" % tid, {"CloseReasonTypeId": RESOLVED}),
        ]

    def changes(self, answered=None):
        """The requests that change something (searches left out)."""
        return [(r.method, r.path, r.json()) for r in self.mock.writes(answered)
                if r.route not in (API + "/users", API + "/tickets")]

    def only_ticket(self):
        self.assertEqual(len(self.mock.tickets), 1, self.mock.tickets)
        return next(iter(self.mock.tickets))


class ConversationTest(IncidentIQCase):
    def test_an_undocumented_field_fails_the_schema_check(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        self.assert_check_is_live()

    def test_whole_conversation(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertEqual([r["kind"] for r in rows], ["connector"] * 5)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        tid = self.only_ticket()
        got = [(r.method, r.path, r.json()) for r in self.mock.requests]
        self.assertEqual(got, [self.user_search()] + self.expected_changes(tid))
        for r in self.mock.requests:
            self.assertEqual(r.headers["Authorization"], "Bearer " + iiqmock.TOKEN)
            self.assertEqual(r.headers["SiteId"], iiqmock.SITE)
            self.assertEqual(r.headers["ProductId"], iiqmock.PRODUCT)
            self.assertEqual(r.headers["Client"], "ApiClient")
        ticket = self.mock.tickets[tid]
        self.assertTrue(ticket["IsClosed"])
        self.assertEqual(ticket["ForId"], ALICE)
        self.assertEqual(len(self.events(1, "connector_sent")), 5)

    def test_agent_commands_and_the_customer_reopening(self):
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(AGENT, "Re: Printer offline on floor 2", "a9@agents.example",
                             "#internal\n#priority critical\n#assign %s\n#status in_progress\n"
                             "On it.\n" % AGENT, "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        tid = self.only_ticket()
        ticket = self.mock.tickets[tid]
        self.assertTrue(ticket["IsUrgent"])
        self.assertEqual(ticket["AssignedToUserId"], iiqmock.USERS[1]["UserId"])
        self.assertEqual(ticket["WorkflowStepId"], iiqmock.STEP["In Progress"])
        self.assertIn(("POST", API + "/tickets/%s/mark-urgent" % tid, None), self.changes())
        updates = [b for m, p, b in self.changes() if p == API + "/tickets/" + tid]
        self.assertEqual(len(updates), 2)
        for b in updates:  # the whole ticket, with the flags the update requires
            self.assertEqual(b["TicketId"], tid)
            self.assertEqual(b["Subject"], "Printer offline on floor 2")
            for flag in iiqmock.UPDATE_FLAGS:
                self.assertIsInstance(b[flag], bool)
        self.deliver_ok(mail(AGENT, "Re: Printer offline on floor 2", "a10@agents.example",
                             "#internal\n#status waiting\n#priority low\nAsked for the model.\n",
                             "In-Reply-To: <a9@agents.example>\n"))
        self.drain()
        self.assertEqual(ticket["WorkflowStepId"], iiqmock.STEP["Waiting on Requestor"])
        self.assertFalse(ticket["IsUrgent"])
        self.deliver_ok(mail(CUSTOMER, "Re: Printer offline on floor 2", "p9@customer.example",
                             "It is an HP 4250.\n", "In-Reply-To: <a10@agents.example>\n"))
        self.drain()
        self.assertEqual(ticket["WorkflowStepId"], iiqmock.STEP["Open"])
        self.assertEqual(self.changes()[-2:], [
            self.comment(tid, True, "%s (customer) wrote:\n\nIt is an HP 4250." % CUSTOMER),
            ("POST", API + "/tickets/%s/status/requestor-responded" % tid, None)])

    def test_a_sender_who_is_no_user_gets_the_default_requester(self):
        intake = iiqmock.USERS[2]["UserId"]
        self.configure("default_requester_id = %s\n" % intake)
        self.deliver_ok(conversation()[0].replace(CUSTOMER.encode(), b"bob@elsewhere.example"))
        self.drain()
        self.assertEqual(self.changes(), [self.create(for_id=intake)])

    def test_a_sender_who_is_no_user_without_default_fails(self):
        self.deliver_ok(conversation()[0].replace(CUSTOMER.encode(), b"bob@elsewhere.example"))
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("bob@elsewhere.example is not an Incident IQ user", row["last_error"])
        self.assertEqual(self.mock.tickets, {})


class AttachmentTest(IncidentIQCase):
    def test_files_are_named_not_sent(self):
        # Incident IQ documents no upload: the files are named in the text.
        self.deliver_ok(with_files(CUSTOMER, "Printer offline on floor 2", "f1@customer.example",
                                   "See the log.\n", [("log.txt", b"x" * 300)]))
        self.assertTrue(all(r["state"] == "done" for r in self.drain()))
        [t] = self.mock.tickets.values()
        self.assertEqual(t["IssueDescription"],
                         "See the log.\n(not sent: log.txt, 300 bytes: the system takes no "
                         "files from docket)\n\n[docket-1]")


class FaultTest(IncidentIQCase):
    def test_every_ticket_and_comment_exactly_once(self):
        self.mock.inject("POST", API + "/tickets/new", status=500,
                         body=b'{"StatusCode":"InternalServerError","Message":"boom"}')
        self.mock.inject("POST", API + "/tickets/new", pause=2)  # made, the answer too late
        self.deliver_ok(conversation()[0])
        self.drain(60)
        tid = self.only_ticket()
        # the lost create was looked for among the newest tickets first
        searches = [r for r in self.mock.requests if r.route == API + "/tickets"]
        self.assertTrue(searches)
        self.assertEqual(searches[0].query, {"$p": ["0"], "$s": ["50"], "$o": ["CreatedDate"],
                                             "$d": ["Descending"]})
        self.assertEqual(searches[0].json(), {
            "Schema": "All", "FilterByProduct": True, "OnlyShowDeleted": False,
            "OnlyShowSupportTickets": False, "ShowTicketsForAllSites": False,
            "isGlobalAdmin": False, "ProductId": iiqmock.PRODUCT})
        notes = API + "/tickets/%s/activities/new" % tid
        self.mock.inject("POST", notes, status=429, headers={"Retry-After": "1"},
                         body=b'{"StatusCode":"TooManyRequests"}')
        self.mock.inject("POST", notes, pause=2)  # a comment made, the answer lost
        self.mock.inject("POST", API + "/tickets/%s/close" % tid, status=503, body=b"")
        for m in conversation()[1:]:
            self.deliver_ok(m)
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.only_ticket(), tid)
        self.assertEqual([t for p, t in self.mock.comments(tid)],
                         [c[2]["ActivityItems"][0]["Comments"]
                          for c in self.expected_changes(tid)[1:4]])
        # what the service accepted is exactly the conversation
        self.assertEqual(self.changes({200}), self.expected_changes(tid))
        self.assertTrue(self.mock.tickets[tid]["IsClosed"])
        self.assertEqual(self.mock.faults, [])  # every fault was met

    def test_lost_create_found_among_newer_tickets(self):
        # Others' older tickets, ours made with the answer lost, then 60
        # newer ones: the lookup pages back to ours and nothing is made twice.
        for n in range(5):
            self.mock.add_ticket("Old %d" % n, age=86400)
        self.mock.inject("POST", API + "/tickets/new", pause=2)
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 1, 0))
        for n in range(60):
            self.mock.add_ticket("Newer %d" % n)
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        ours = [t for t in self.mock.tickets.values()
                if t["IssueDescription"].endswith("[docket-1]")]
        self.assertEqual(len(ours), 1)
        self.assertEqual([r.query["$p"] for r in self.mock.requests
                          if r.route == API + "/tickets"], [["0"], ["1"]])

    def test_requester_found_past_the_first_page(self):
        # 250 users listed before Alice: docket reads the pages until the
        # last (each runner of `outbox run --once` keeps its own reading).
        self.mock.add_users(250)
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Toner", "t1@customer.example", "Low toner.\n"))
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual({t["ForId"] for t in self.mock.tickets.values()}, {ALICE})
        searches = sorted((r.path, r.json()["ExcludeNoAccess"]) for r in self.mock.requests
                          if r.route == API + "/users")
        walks = len(searches) // 3  # one per runner that looked (each its own reading)
        self.assertIn(walks, (1, 2))
        self.assertEqual(searches, sorted([(self.user_search(p)[1], False)
                                           for p in range(3)] * walks))

    def test_an_expired_token_waits_for_the_new_one(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        tid = self.only_ticket()
        self.mock.expire_token("eyJhbGciOiJIUzI1NiJ9.bmV3.dG9rZW4")
        self.deliver_ok(conversation()[1])
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = [r for r in self.outbox() if r["state"] == "pending"][0]
        self.assertIn("HTTP 401", row["last_error"])
        self.assertIn("replace it in credentials_file", row["last_error"])
        self.assertNotIn(iiqmock.TOKEN, row["last_error"])
        with open(self.dir + "/credentials", "w") as f:
            f.write(CREDENTIALS.replace(iiqmock.TOKEN, "eyJhbGciOiJIUzI1NiJ9.bmV3.dG9rZW4"))
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.comments(tid)), 1)
        self.assertEqual(self.events(1, "connector_failed"), [])

    def test_a_new_token_is_read_without_a_restart(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        tid = self.only_ticket()
        new = "eyJhbGciOiJIUzI1NiJ9.bmV3ZXI.dG9rZW4"

        def replace_token():  # the administrator, while docket runs
            with open(self.dir + "/credentials", "w") as f:
                f.write(CREDENTIALS.replace(iiqmock.TOKEN, new))
        self.mock.expire_token(new, replace_token)
        self.deliver_ok(conversation()[1])
        self.assertEqual(self.run_once(), (1, 0, 0))
        self.assertEqual([r.status for r in self.mock.requests[-2:]], [401, 200])
        self.assertEqual(self.mock.requests[-1].headers["Authorization"], "Bearer " + new)
        self.assertEqual(len(self.mock.comments(tid)), 1)

    def test_the_same_text_twice_stays_twice(self):
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n1@customer.example", "Any news?\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        tid = self.only_ticket()
        self.mock.inject("POST", API + "/tickets/%s/activities/new" % tid, pause=2)
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n2@customer.example", "Any news?\n",
                             "In-Reply-To: <n1@customer.example>\n"))
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        text = "%s (customer) wrote:\n\nAny news?" % CUSTOMER
        self.assertEqual(self.mock.comments(tid), [(True, text), (True, text)])
        self.assertEqual(self.mock.faults, [])

    def test_retry_after_is_honoured(self):
        self.mock.inject("POST", API + "/tickets/new", status=429,
                         body=b'{"StatusCode":"TooManyRequests"}', headers={"Retry-After": "120"})
        self.deliver_ok(conversation()[0])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "pending")
        self.assertGreaterEqual(row["next_attempt_at"], before + 119)
        self.assertIn("HTTP 429", row["last_error"])

    def test_a_refused_ticket_is_recorded_with_the_answer(self):
        self.configure("location_id = 00000000-0000-4000-8000-000000000000\n")
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("HTTP 400", row["last_error"])
        self.assertIn("InvalidLocation", row["last_error"])
        self.assertEqual(len(self.events(1, "connector_failed")), 1)


class RoundTripTest(RoundTrip, IncidentIQCase):
    def connector_text(self):
        return super().connector_text() + "poll_seconds = 60\n"

    def remote_ticket(self):
        return self.only_ticket()

    def agent_comment(self, tid, text, public):
        with self.mock.lock:
            aid = str(uuid.uuid4())
            self.mock.activities[tid].append({
                "TicketActivityId": aid, "TicketId": tid, "IsPublic": public,
                "OwnerId": iiqmock.USERS[1]["UserId"], "CreatedDate": iiqmock.now(),
                "ActivityItems": [{"TicketActivityTypeId": 6, "Comments": text,
                                   "TicketActivityId": aid, "IsPublic": public}]})

    def agent_close(self, tid):
        with self.mock.lock:
            t = self.mock.tickets[tid]
            t["WorkflowStepId"], t["IsClosed"] = iiqmock.STEP["Closed"], True

    def remote_texts(self, tid):
        return [text for public, text in self.mock.comments(tid)]

    def read_faults(self):
        self.mock.inject("GET", API + "/tickets/", status=500,
                         body=b'{"StatusCode":"InternalServerError"}')
        self.mock.inject("GET", API + "/tickets/", pause=2)  # the answer lost


class CheckTest(IncidentIQCase):
    def check(self):
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual([r.method for r in self.mock.requests if r.method != "GET"], [])
        self.assertEqual(self.mock.tickets, {})
        return proc, proc.stdout.decode(), proc.stderr.decode()

    def test_check_ok_creates_nothing(self):
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("desk: authenticated; 5 statuses", out)
        self.assertIn("desk: ok", out)

    def test_product_id_defaults_to_ticketing(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write("token = %s\nsite_id = %s\n" % (iiqmock.TOKEN, iiqmock.SITE))
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(self.mock.requests[0].headers["ProductId"], iiqmock.PRODUCT)

    def test_check_reports_a_bad_token_without_it(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write(CREDENTIALS.replace(iiqmock.TOKEN, "wrongTOKEN"))
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("HTTP 401", err)
        self.assertIn("the token was refused", out)
        self.assertNotIn("wrongTOKEN", out + err)

    def test_check_reports_a_wrong_site(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write(CREDENTIALS.replace(iiqmock.SITE, "aaaaaaaa-e4f4-e511-a789-005056bb000e"))
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("HTTP 403", err)

    def test_check_reports_missing_credentials(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write("token = %s\n" % iiqmock.TOKEN)
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("needs token and site_id", err)
        self.assertEqual(self.mock.requests, [])

    def test_check_reports_a_missing_step_and_keys(self):
        self.configure("status_map = on_hold=Paused\npriority_map = high=very\nlocation_id =\n"
                    "default_requester_id = 0c0ffee0-0000-4000-8000-0000000000ff\n")
        proc, out, err = self.check()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("status Paused (for on_hold) is not a status or step", out)
        self.assertIn("priority very (for high) is not urgent", out)
        self.assertIn("location_id is not set", out)
        self.assertIn("default_requester_id 0c0ffee0-0000-4000-8000-0000000000ff", out)
        self.assertIn("HTTP 404", out)
        self.assertNotIn("desk: ok", out)

    def test_config_dump_has_no_secret(self):
        out = self.docket("config", "dump", check=False).stdout.decode()
        self.assertNotIn(iiqmock.TOKEN, out)
        self.assertIn("location_id = %s" % iiqmock.LOCATION, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
