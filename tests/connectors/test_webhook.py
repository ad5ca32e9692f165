"""The generic webhook: a whole conversation becomes four signed, versioned
events plus the status change, in order; faults (500, 429 with
Retry-After, an answer lost) are retried with the same delivery id, so a
receiver that deduplicates sees each event once; a wrong secret fails."""

import unittest

from conntest import AGENT, CUSTOMER, ConnectorCase, conversation
import hookmock


class WebhookCase(ConnectorCase):
    name = "hook"
    credentials = "secret = %s\n" % hookmock.SECRET

    def make_mock(self):
        return hookmock.Receiver()

    def connector_text(self):
        return "type = webhook\nbase_url = %s/hook\n" % self.mock.url

    def summary(self, events):
        out = []
        for e in events:
            a = e.get("article")
            out.append((e["event"], e["reference"], e["ticket"]["number"],
                        a and (a["direction"], a["visibility"], a["sender"], a["text"].strip()),
                        e.get("change")))
        return out

    def expected(self):
        return [
            ("ticket.created", "docket-1", 1,
             ("inbound", "public", CUSTOMER, "The printer shows error 50."), None),
            ("article.created", "docket-1", 1,
             ("inbound", "public", CUSTOMER, "Still broken after a restart."), None),
            ("article.created", "docket-1", 1,
             ("outbound", "public", AGENT, "Please replace the toner."), None),
            ("article.created", "docket-1", 1,
             ("outbound", "internal", AGENT, "Toner replaced on site."), None),
            ("ticket.updated", "docket-1", 1,
             ("outbound", "internal", AGENT, "Toner replaced on site."),
             {"field": "status", "old": "new", "new": "resolved"}),
        ]


class ConversationTest(WebhookCase):
    def test_whole_conversation(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.requests), 5)
        self.assertEqual(self.summary(self.mock.events), self.expected())
        first = self.mock.events[0]
        self.assertEqual(first["version"], 1)
        self.assertEqual(first["ticket"]["subject"], "Printer offline on floor 2")
        self.assertEqual(first["ticket"]["requester"], CUSTOMER)
        self.assertEqual(first["article"]["message_id"], "p1@customer.example")
        self.assertEqual(self.mock.events[-1]["ticket"]["status"], "resolved")
        for r in self.mock.requests:
            self.assertEqual(r.headers["Content-Type"], "application/json")


class FaultTest(WebhookCase):
    def test_each_event_once_after_faults(self):
        self.mock.inject("POST", "/hook", status=500, body=b"oops")
        self.mock.inject("POST", "/hook", status=429, headers={"Retry-After": "1"})
        self.mock.inject("POST", "/hook", pause=2)  # accepted, the answer lost
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.summary(self.mock.events), self.expected())
        ids = [r.headers["X-Docket-Delivery"] for r in self.mock.requests]
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(len(ids), 8)  # three faulted attempts, retried under the same delivery id

    def test_wrong_secret_fails_permanently(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write("secret = not-the-secret\n")
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("HTTP 401", row["last_error"])
        self.assertNotIn("not-the-secret", row["last_error"])
        self.assertEqual(self.mock.events, [])

    def test_check_pings(self):
        proc = self.docket("connector", "check", "hook")
        self.assertIn("hook: ok", proc.stdout.decode())
        self.assertEqual([e["event"] for e in self.mock.events], ["ping"])


class QueueTest(WebhookCase):
    def connector_text(self):
        return super().connector_text() + "queues = billing\n"

    def test_other_queues_send_nothing(self):
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.outbox(), [])

    def test_a_ticket_moved_into_the_queue_is_created(self):
        script = self.dir + "/rules.sieve"
        with open(script, "w") as f:
            f.write('require "fileinto";\n'
                    'if header :contains "subject" "invoice" { fileinto "billing"; }\n')
        self.configure("[rules]\nscript = %s\n" % script)
        from conntest import mail
        self.deliver_ok(conversation()[0])
        self.deliver_ok(conversation()[1])
        self.assertEqual(self.outbox(), [])
        self.deliver_ok(mail(CUSTOMER, "Re: the invoice too", "p4@customer.example",
                             "And the invoice is wrong.\n", "In-Reply-To: <p2@customer.example>\n"))
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "p5@customer.example",
                             "Any news?\n", "In-Reply-To: <p4@customer.example>\n"))
        self.drain()
        self.assertEqual([(e["event"], e["ticket"]["queue"], e["article"]["text"].strip())
                          for e in self.mock.events],
                         [("ticket.created", "billing", "And the invoice is wrong."),
                          ("article.created", "billing", "Any news?")])


class RulesTest(WebhookCase):
    """A field the rules change on a reply is an event too."""

    def setUp(self):
        super().setUp()
        script = self.dir + "/rules.sieve"
        with open(script, "w") as f:
            f.write('require "vnd.docket.ticket";\n'
                    'if header :contains "subject" "URGENT" { ticket_priority "critical"; }\n')
        self.configure("[rules]\nscript = %s\n" % script)

    def test_rule_priority_change(self):
        from conntest import mail
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Re: URGENT printer", "p3@customer.example",
                             "Now the whole floor is down.\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        self.assertEqual([(e["event"], e.get("change")) for e in self.mock.events], [
            ("ticket.created", None), ("article.created", None),
            ("ticket.updated", {"field": "priority", "old": None, "new": "critical"})])
        self.assertEqual(self.mock.events[-1]["ticket"]["priority"], "critical")


if __name__ == "__main__":
    unittest.main(verbosity=2)
