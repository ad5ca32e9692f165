"""OpsPilot MSP portal: a whole conversation becomes the exact requests the
mock (written from the vendor's product notes) expects;
after injected faults (500, 429 with the X-RateLimit headers or
Retry-After, an answer lost after a create and after a comment) every
remote ticket and comment exists exactly once; `docket connector check`
reports bad keys and wrong vocabularies and creates nothing."""

import time
import unittest

from conntest import (AGENT, CUSTOMER, ConnectorCase, RoundTrip, conversation, mail, with_files)
from keyedcase import KeyChecks, normalised
import opspilotmock

TICKETS = opspilotmock.PREFIX


class OpsPilotCase(ConnectorCase):
    credentials = "api_key = %s\n" % opspilotmock.API_KEY

    def make_mock(self):
        return opspilotmock.OpsPilot()

    def connector_text(self):
        return ("type = opspilot\nbase_url = %s\ncompany = cus_default\n"
                "organisation_map = Customer.Example=cus_customer\n" % self.mock.base_url)

    def write_key(self, key):
        with open(self.dir + "/credentials", "w") as f:
            f.write("api_key = %s\n" % key)

    @staticmethod
    def comment(text, internal, direction):
        return {"body": text, "isInternal": internal, "direction": direction}

    def expected_writes(self, tid):
        comments = "%s/%s/comments" % (TICKETS, tid)
        return [
            ("POST", TICKETS,
             {"subject": "Printer offline on floor 2",
              "description": "The printer shows error 50.", "customerId": "cus_customer",
              "requesterEmail": CUSTOMER, "tags": ["docket", "docket-1"]}),
            ("POST", comments, self.comment("Still broken after a restart.", False, "inbound")),
            ("POST", comments, self.comment("Please replace the toner.", False, "outbound")),
            ("POST", comments, self.comment("Toner replaced on site.", True, "outbound")),
            ("PUT", "%s/%s" % (TICKETS, tid), {"status": "Resolved"}),
        ]

    @staticmethod
    def normalised(reqs):
        return normalised(reqs, ("body", "description"))


class ConversationTest(OpsPilotCase):
    def test_whole_conversation(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertEqual([r["kind"] for r in rows], ["connector"] * 5)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.normalised(self.mock.writes()), self.expected_writes("tkt_1042"))
        for r in self.mock.requests:
            self.assertEqual(r.headers["Authorization"], "Bearer " + opspilotmock.API_KEY)
            self.assertEqual(r.status // 100, 2)
        ticket = self.mock.tickets["tkt_1042"]
        self.assertEqual(ticket["status"], "Resolved")
        self.assertEqual(ticket["customer"], "Customer Example Ltd")
        self.assertEqual(len(self.events(1, "connector_sent")), 5)

    def test_priority_and_default_customer(self):
        self.deliver_ok(mail("bob@elsewhere.example", "VPN down", "v1@elsewhere.example",
                             "No VPN since this morning.\n"))
        self.deliver_ok(mail(AGENT, "Re: VPN down", "v2@agents.example",
                             "#internal\n#priority critical\n#status waiting\n"
                             "#assign agent@agents.example\nAsked for logs.\n",
                             "In-Reply-To: <v1@elsewhere.example>\n"))
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        ticket = self.mock.tickets["tkt_1042"]
        self.assertEqual(ticket["customerId"], "cus_default")
        self.assertEqual(ticket["priority"], "Critical")
        self.assertEqual(ticket["status"], "Waiting on Customer")
        puts = [r.json() for r in self.mock.writes() if r.method == "PUT"]
        # the assignee has no documented mapping and is not sent
        self.assertEqual(sorted(puts, key=str),
                         sorted([{"priority": "Critical"}, {"status": "Waiting on Customer"}],
                                key=str))


class AttachmentTest(OpsPilotCase):
    def test_files_are_named_not_sent(self):
        # OpsPilot documents no attachment format: the files are named.
        self.deliver_ok(with_files(CUSTOMER, "Printer", "f1@customer.example", "See the log.\n",
                                   [("log.txt", b"x" * 300)]))
        self.assertTrue(all(r["state"] == "done" for r in self.drain()))
        [t] = self.mock.tickets.values()
        self.assertEqual(t["description"].strip(),
                         "See the log.\n(not sent: log.txt, 300 bytes: the system takes no "
                         "files from docket)")


class FaultTest(OpsPilotCase):
    def test_every_ticket_and_comment_exactly_once(self):
        self.mock.inject("POST", TICKETS, status=500,
                         body=b'{"success":false,"error":{"code":"INTERNAL_ERROR",'
                              b'"message":"boom"}}')
        self.mock.inject("POST", TICKETS, pause=2)  # created, the answer comes too late
        self.mock.inject("POST", TICKETS + "/", **opspilotmock.rate_limited(1))
        self.mock.inject("POST", TICKETS + "/", pause=2)  # a comment made, the answer lost
        self.mock.inject("PUT", TICKETS + "/", status=503, body=b"")
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.tickets), 1)
        tid, ticket = next(iter(self.mock.tickets.items()))
        self.assertEqual(ticket["status"], "Resolved")
        self.assertEqual([(c["body"].strip(), c["isInternal"]) for c in self.mock.comments[tid]],
                         [("Still broken after a restart.", False),
                          ("Please replace the toner.", False),
                          ("Toner replaced on site.", True)])
        # what the portal accepted is exactly the conversation
        self.assertEqual(self.normalised(self.mock.writes({200, 201})),
                         self.expected_writes(tid))
        # the lost create was looked up (by our reference's tag) before creating again
        lookups = [r for r in self.mock.requests if r.method == "GET" and r.route == TICKETS]
        self.assertTrue(lookups)
        self.assertEqual(lookups[0].query, {"page": ["1"], "limit": ["100"]})

    def test_the_same_text_twice_stays_twice(self):
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n1@customer.example", "Any news?\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        self.mock.inject("POST", TICKETS + "/", pause=2)  # made, the answer lost
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n2@customer.example", "Any news?\n",
                             "In-Reply-To: <n1@customer.example>\n"))
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual([c["body"].strip() for c in self.mock.comments["tkt_1042"]],
                         ["Any news?", "Any news?"])
        self.assertEqual(len(self.mock.writes({201})), 3)

    def test_rate_limit_reset_is_honoured(self):
        self.mock.inject("POST", TICKETS, **opspilotmock.rate_limited(120))
        self.deliver_ok(conversation()[0])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "pending")
        self.assertGreaterEqual(row["next_attempt_at"], before + 115)
        self.assertIn("RATE_LIMITED", row["last_error"])

    def test_retry_after_is_honoured(self):
        self.mock.inject("POST", TICKETS, status=429, headers={"Retry-After": "300"},
                         body=b'{"success":false,"error":{"code":"RATE_LIMITED",'
                              b'"message":"slow down"}}')
        self.deliver_ok(conversation()[0])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        self.assertGreaterEqual(self.outbox()[0]["next_attempt_at"], before + 299)

    def test_unknown_customer_is_a_permanent_failure(self):
        self.configure("organisation_map = customer.example=cus_gone\n")
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("HTTP 422", row["last_error"])
        self.assertIn("VALIDATION_ERROR", row["last_error"])
        self.assertEqual(len(self.events(1, "connector_failed")), 1)
        self.assertEqual(self.mock.tickets, {})

    def test_read_only_key_is_a_permanent_failure(self):
        self.write_key(opspilotmock.READ_ONLY_KEY)
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertIn("HTTP 403", row["last_error"])
        self.assertIn("FORBIDDEN", row["last_error"])
        self.assertNotIn(opspilotmock.READ_ONLY_KEY, row["last_error"])

    def test_comment_on_a_deleted_ticket_fails_with_the_answer(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        del self.mock.tickets["tkt_1042"]
        self.deliver_ok(conversation()[1])
        states = {r["payload"]["event"]: r for r in self.drain()}
        self.assertEqual(states["ticket.created"]["state"], "done")
        self.assertEqual(states["article.created"]["state"], "failed")
        self.assertIn("HTTP 404", states["article.created"]["last_error"])
        self.assertIn("NOT_FOUND", states["article.created"]["last_error"])

    def test_no_customer_at_all_is_refused_before_sending(self):
        self.configure("company =\norganisation_map =\n")
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        self.assertIn("no customer for %s" % CUSTOMER, self.outbox()[0]["last_error"])
        self.assertEqual(self.mock.requests, [])


class RoundTripTest(RoundTrip, OpsPilotCase):
    def connector_text(self):
        return super().connector_text() + "poll_seconds = 60\n"

    def remote_ticket(self):
        [tid] = self.mock.tickets
        return tid

    def agent_comment(self, tid, text, public):
        with self.mock.lock:
            self.mock.comments[tid].append({
                "id": "cmt_%d" % self.mock.next_comment, "ticketId": tid, "body": text,
                "isInternal": not public, "direction": "outbound"})
            self.mock.next_comment += 1

    def agent_close(self, tid):
        with self.mock.lock:
            self.mock.tickets[tid]["status"] = "Resolved"

    def remote_texts(self, tid):
        return [m["body"] for m in self.mock.comments[tid]]

    def read_faults(self):
        self.mock.inject("GET", "/api/msp-portal/tickets/", status=500,
                         body=b'{"success":false,"error":{"code":"INTERNAL_ERROR"}}')
        self.mock.inject("GET", "/api/msp-portal/tickets/", pause=2)  # the answer lost


class CheckTest(KeyChecks, OpsPilotCase):
    key = opspilotmock.API_KEY
    bad_key = "op365_sk_test_wrongKEY"

    def test_check_says_why_the_key_was_refused(self):
        self.write_credentials("api_key = op365_sk_test_wrongKEY\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertIn("UNAUTHORIZED", proc.stderr.decode())

    def test_check_reports_words_outside_the_vocabulary(self):
        self.configure("status_map = waiting=Waiting on Client\npriority_map = none=Urgent\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        out = proc.stdout.decode()
        self.assertIn('status "Waiting on Client" (for waiting) is not one of the system\'s', out)
        self.assertIn('priority "Urgent" (for none) is not one of the system\'s', out)

    def test_check_without_any_customer(self):
        self.configure("company =\norganisation_map =\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no default customer (company, or \"*\" in organisation_map)",
                      proc.stdout.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
