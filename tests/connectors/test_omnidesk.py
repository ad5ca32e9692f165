"""Omnidesk: a whole conversation becomes the exact requests the mock
(written from the vendor's documentation and product notes) expects, with
the API key as a query parameter or a header; after injected faults (500,
429 with Retry-After, an answer lost after the ticket was made and after a
message) every remote ticket and message exists exactly once; `docket
connector check` reports bad keys and wrong vocabularies and creates
nothing."""

import time
import unittest

from conntest import (AGENT, CUSTOMER, SUPPORT, ConnectorCase, RoundTrip, conversation, mail,
                      with_files)
from keyedcase import KeyChecks
import omnideskmock

KEY = omnideskmock.API_KEY
TICKET = "/api/v2/ticket"
MESSAGE = "/api/v2/message"


class OmnideskCase(ConnectorCase):
    credentials = "api_key = %s\n" % KEY
    key_in = "query"
    query_only = False

    def make_mock(self):
        return omnideskmock.Omnidesk(query_only=self.query_only)

    def connector_text(self):
        return ("type = omnidesk\nbase_url = %s\napi_key_in = %s\nbrand = 2\n"
                "organisation_map = customer.example=3\n" % (self.mock.base_url, self.key_in))

    @staticmethod
    def message(tid, text, kind="contactform"):
        return {"ticketID": tid, "type": kind, "message": text}

    REPLY = "%s (support's reply, mailed by docket):\n\nPlease replace the toner." % AGENT
    NOTE = "%s (internal note):\n\nToner replaced on site." % AGENT

    def expected_writes(self, tid):
        return [
            ("POST", TICKET,
             {"title": "Printer offline on floor 2 [docket-1]", "direction": "inbound",
              "channelID": 1, "from": CUSTOMER, "to": SUPPORT, "brandID": 3}),
            ("POST", MESSAGE, self.message(tid, "The printer shows error 50.")),
            ("POST", MESSAGE, self.message(tid, "Still broken after a restart.")),
            ("POST", MESSAGE, self.message(tid, self.REPLY, "calllog")),
            ("POST", MESSAGE, self.message(tid, self.NOTE, "calllog")),
            ("POST", TICKET + "/setstatus", {"ticketIDs": [tid], "status": "solved"}),
        ]

    def normalised(self, reqs):
        """(method, route, form fields) with the message stripped; the body
        form data of the kind each endpoint documents; the key where
        api_key_in puts it and nowhere else."""
        out = []
        for r in reqs:
            if self.key_in == "query":
                self.assertEqual(r.query.get("apiKey"), [KEY], r.path)
                self.assertNotIn("apiKey", r.headers)
            else:
                self.assertEqual(r.headers.get("apiKey"), KEY)
                self.assertNotIn("apiKey", r.query)
            if r.method == "GET":
                out.append((r.method, r.route, None))
                continue
            ctype = r.headers.get("Content-Type", "")
            self.assertTrue(ctype.startswith("multipart/form-data; boundary=")
                            if r.route == MESSAGE else
                            ctype == "application/x-www-form-urlencoded", (r.route, ctype))
            body = omnideskmock.form_body(omnideskmock.parse_form(r))
            if "message" in body:
                body["message"] = body["message"].strip()
            out.append((r.method, r.route, body))
        return out

    def timeline(self, tid):
        return [(m["type"], m["direction"], m["content"].strip())
                for m in self.mock.messages(tid)]

    EXPECTED_TIMELINE = [("message", "inbound", "The printer shows error 50."),
                         ("message", "inbound", "Still broken after a restart."),
                         ("calllog", "", REPLY),
                         ("calllog", "", NOTE)]


class ConversationTest(OmnideskCase):
    def test_whole_conversation(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertEqual([r["kind"] for r in rows], ["connector"] * 5)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.normalised(self.mock.writes()), self.expected_writes(858462))
        self.assertTrue(all(r.status == 200 for r in self.mock.requests))
        self.normalised(self.mock.requests)  # the key on every request
        ticket = self.mock.tickets[858462]
        self.assertEqual(ticket["status"], "solved")
        self.assertEqual(ticket["brand_name"], "Customer Brand")
        self.assertEqual(self.timeline(858462), self.EXPECTED_TIMELINE)
        # Omnidesk mailed no one: the customer has docket's mail only
        self.assertEqual(self.mock.mailed, [])
        # the new ticket was searched for by our reference first
        search = self.mock.requests[0]
        self.assertEqual((search.method, search.route), ("GET", TICKET))
        self.assertEqual(search.query["query"], ["docket-1"])

    def test_priority_default_brand_and_short_text(self):
        self.deliver_ok(mail("bob@elsewhere.example", "VPN down", "v1@elsewhere.example",
                             "No VPN since this morning.\n"))
        self.deliver_ok(mail(AGENT, "Re: VPN down", "v2@agents.example",
                             "#priority critical\n#status on_hold\nOK.\n",
                             "Cc: bob@elsewhere.example\nIn-Reply-To: <v1@elsewhere.example>\n"))
        self.deliver_ok(mail("bob@elsewhere.example", "Re: VPN down", "v3@elsewhere.example",
                             "Thx\n", "In-Reply-To: <v2@agents.example>\n"))
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        ticket = self.mock.tickets[858462]
        self.assertEqual(ticket["brand_id"], 2)
        self.assertEqual(ticket["priority"], "urgent")
        self.assertEqual(self.timeline(858462)[-1], ("message", "inbound", "Thx [docket-1]"))


class HeaderKeyTest(OmnideskCase):
    key_in = "header"

    def test_key_in_a_header(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.normalised(self.mock.writes()), self.expected_writes(858462))
        self.normalised(self.mock.requests)


class QueryOnlyTenantTest(OmnideskCase):
    key_in = "header"
    query_only = True

    def test_check_tells_the_key_was_refused(self):
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("the API key was refused (api_key_in = header)", proc.stdout.decode())
        self.assertEqual(self.mock.writes(), [])


class AttachmentTest(OmnideskCase):
    def test_files_are_named_not_sent(self):
        # Omnidesk forwards only files it already holds: the files are named.
        self.deliver_ok(with_files(CUSTOMER, "Printer", "f1@customer.example", "See the log.\n",
                                   [("log.txt", b"x" * 300)]))
        self.assertTrue(all(r["state"] == "done" for r in self.drain()))
        self.assertEqual(self.timeline(858462), [
            ("message", "inbound", "See the log.\n(not sent: log.txt, 300 bytes: the system "
             "takes no files from docket)")])


class FaultTest(OmnideskCase):
    def test_every_ticket_and_message_exactly_once(self):
        self.mock.inject("POST", TICKET, status=500,
                         body=b'{"status":"error","message":"Internal error."}')
        self.mock.inject("POST", TICKET, pause=2)  # created, the answer comes too late
        self.mock.inject("POST", MESSAGE, status=429, headers={"Retry-After": "1"},
                         body=b'{"status":"error","message":"Too many requests."}')
        self.mock.inject("POST", MESSAGE, pause=2)  # a message made, the answer lost
        self.mock.inject("POST", MESSAGE, status=502, body=b"")
        self.mock.inject("POST", TICKET + "/setstatus", status=500, body=b"")
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.tickets), 1)
        tid, ticket = next(iter(self.mock.tickets.items()))
        self.assertEqual(ticket["status"], "solved")
        self.assertEqual(self.timeline(tid), self.EXPECTED_TIMELINE)
        self.assertEqual(self.normalised(self.mock.writes({200})), self.expected_writes(tid))
        self.assertEqual(self.mock.mailed, [])

    def test_lost_first_message_is_not_sent_twice(self):
        self.mock.inject("POST", MESSAGE, pause=2)  # the opening message made, answer lost
        self.deliver_ok(conversation()[0])
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.tickets), 1)
        self.assertEqual(self.timeline(858462), self.EXPECTED_TIMELINE[:1])

    def test_the_same_text_twice_stays_twice(self):
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n1@customer.example", "Any news?\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        self.mock.inject("POST", MESSAGE, pause=2)  # made, the answer lost
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n2@customer.example", "Any news?\n",
                             "In-Reply-To: <n1@customer.example>\n"))
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual([t[2] for t in self.timeline(858462)][1:], ["Any news?", "Any news?"])

    def test_retry_after_is_honoured(self):
        self.mock.inject("POST", TICKET, status=429, headers={"Retry-After": "120"},
                         body=b'{"status":"error","message":"Too many requests."}')
        self.deliver_ok(conversation()[0])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))
        row = self.outbox()[0]
        self.assertGreaterEqual(row["next_attempt_at"], before + 119)
        self.assertIn("HTTP 429", row["last_error"])

    def test_unknown_brand_is_a_permanent_failure(self):
        self.configure("organisation_map = customer.example=99\n")
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertIn("HTTP 400", row["last_error"])
        self.assertIn("This brand does not exist.", row["last_error"])
        self.assertNotIn(KEY, row["last_error"])
        self.assertEqual(len(self.events(1, "connector_failed")), 1)
        self.assertEqual(self.mock.tickets, {})

    def test_message_on_a_deleted_ticket_fails_with_the_answer(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        del self.mock.tickets[858462]
        self.deliver_ok(conversation()[1])
        states = {r["payload"]["event"]: r for r in self.drain()}
        self.assertEqual(states["ticket.created"]["state"], "done")
        self.assertEqual(states["article.created"]["state"], "failed")
        self.assertIn("HTTP 400", states["article.created"]["last_error"])
        self.assertIn("This ticket does not exist.", states["article.created"]["last_error"])

    def test_missing_permission_is_a_permanent_failure(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write("api_key = %s\n" % omnideskmock.READ_ONLY_KEY)
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertIn("HTTP 403", row["last_error"])
        self.assertIn("TICKET_CREATE", row["last_error"])
        self.assertNotIn(omnideskmock.READ_ONLY_KEY, row["last_error"])


class RoundTripTest(RoundTrip, OmnideskCase):
    def connector_text(self):
        return super().connector_text() + "poll_seconds = 60\n"

    def remote_ticket(self):
        [tid] = self.mock.tickets
        return tid

    def agent_comment(self, tid, text, public):
        # an agent's e-mail reply, or an internal note, made in Omnidesk
        with self.mock.lock:
            self.mock.tickets[tid]["timeline"].append({
                "id": str(self.mock.next_item), "ticket_id": tid,
                "type": "message" if public else "note", "channel_id": 1 if public else 0,
                "direction": "outbound" if public else "",
                "content": "<html><body><p>%s</p><blockquote type=\"cite\">The printer "
                           "shows error 50.</blockquote></body></html>" % text if public
                           else text,
                "user_id": 2, "user_name": "marleen", "files": []})
            self.mock.next_item += 1

    def agent_close(self, tid):
        with self.mock.lock:
            self.mock.tickets[tid]["status"] = "solved"

    def remote_texts(self, tid):
        return [m["content"] for m in self.mock.messages(tid)]

    def read_faults(self):
        self.mock.inject("GET", TICKET + "/", status=500,
                         body=b'{"status":"error","message":"Internal error."}')
        self.mock.inject("GET", TICKET + "/", pause=2)  # the answer lost


class CheckTest(KeyChecks, OmnideskCase):
    key = KEY
    bad_key = "wrongKEY"

    def test_check_reports_words_and_brands(self):
        self.configure("status_map = resolved=Solved\npriority_map = critical=critical\n"
                    "organisation_map = customer.example=Customer Brand\nbrand = MyBrand\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        out = proc.stdout.decode()
        self.assertIn('status "Solved" (for resolved) is not one of the system\'s', out)
        self.assertIn('priority "critical" (for critical) is not one of the system\'s', out)
        self.assertIn('desk: organisation_map customer.example: brand "Customer Brand" is not a '
                      'number', out)
        self.assertIn('desk: brand "MyBrand" is not a number', out)

    def test_config_dump_shows_where_the_key_goes(self):
        self.assertIn("api_key_in = query", self.docket("config", "dump").stdout.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
