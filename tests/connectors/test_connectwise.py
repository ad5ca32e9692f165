"""ConnectWise PSA: a whole conversation becomes the exact requests the
mock (written from the vendor's documents) expects; after injected faults
(500, 429 with Retry-After, an answer lost after a create) every remote
ticket and note exists exactly once; `docket connector check` reports a
wrong board and bad credentials and creates nothing."""

import base64
import unittest

from conntest import AGENT, CUSTOMER, ConnectorCase, RoundTrip, conversation, with_files
import cwmock

CREDENTIALS = ("company = %s\npublic_key = %s\nprivate_key = %s\nclient_id = %s\n" %
               (cwmock.COMPANY, cwmock.PUBLIC, cwmock.PRIVATE, cwmock.CLIENT_ID))


class ConnectWiseCase(ConnectorCase):
    credentials = CREDENTIALS
    board = "Help Desk"

    def make_mock(self):
        return cwmock.ConnectWise()

    def connector_text(self):
        return ("type = connectwise\nbase_url = %s\nboard = %s\ncompany = CUSTCO\n" %
                (self.mock.base_url, self.board))

    def note(self, text, public, inbound):
        return {"text": text, "detailDescriptionFlag": public,
                "internalAnalysisFlag": not public, "resolutionFlag": False,
                "customerUpdatedFlag": inbound, "processNotifications": False}

    def expected_writes(self, tid):
        notes = "/v4_6_release/apis/3.0/service/tickets/%d/notes" % tid
        return [
            ("POST", "/v4_6_release/apis/3.0/service/tickets",
             {"summary": "Printer offline on floor 2", "board": {"name": "Help Desk"},
              "company": {"identifier": "CUSTCO"}, "contactEmailAddress": CUSTOMER,
              "initialDescription": "The printer shows error 50.", "externalXRef": "docket-1",
              "integratorTags": ["docket"], "processNotifications": False}),
            ("POST", notes, self.note("Still broken after a restart.", True, True)),
            ("POST", notes, self.note("Please replace the toner.", True, False)),
            ("POST", notes, self.note("Toner replaced on site.", False, False)),
            ("PATCH", "/v4_6_release/apis/3.0/service/tickets/%d" % tid,
             [{"op": "replace", "path": "status", "value": {"name": "Resolved"}}]),
        ]

    def normalised(self, reqs):
        out = []
        for r in reqs:
            body = r.json()
            for k in ("text", "initialDescription"):
                if isinstance(body, dict) and k in body:
                    body[k] = body[k].strip()
            out.append((r.method, r.path, body))
        return out


class ConversationTest(ConnectWiseCase):
    def test_whole_conversation(self):
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain()
        self.assertEqual([r["kind"] for r in rows], ["connector"] * 5)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.normalised(self.mock.writes()), self.expected_writes(98231))
        for r in self.mock.requests:
            self.assertEqual(r.headers["clientId"], cwmock.CLIENT_ID)
            self.assertEqual(r.headers["Authorization"], "Basic " + base64.b64encode(
                b"acme+pubKEY:privKEY").decode())
        ticket = self.mock.tickets[98231]
        self.assertEqual(ticket["status"]["name"], "Resolved")
        self.assertEqual(len(self.events(1, "connector_sent")), 5)

    def test_agent_commands_change_priority_and_owner(self):
        msgs = conversation()[:1]
        for m in msgs:
            self.deliver_ok(m)
        from conntest import mail
        self.deliver_ok(mail(AGENT, "Re: Printer offline on floor 2", "a9@agents.example",
                             "#internal\n#priority critical\n#assign agent@agents.example\nOn it.\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        ticket = self.mock.tickets[98231]
        self.assertEqual(ticket["priority"]["name"], "Priority 1 - Emergency Response")
        self.assertEqual(ticket["owner"]["identifier"], "agent")
        patches = [r.json() for r in self.mock.writes() if r.method == "PATCH"]
        self.assertEqual(patches, [
            [{"op": "replace", "path": "priority",
              "value": {"name": "Priority 1 - Emergency Response"}}],
            [{"op": "replace", "path": "owner", "value": {"identifier": "agent"}}]])


class CommandLineTest(ConnectWiseCase):
    """Changes an agent makes with `docket ticket` reach the PSA as mail's
    do: in the same transaction, through the same outbox rows."""

    def test_set_reply_and_note_from_the_command_line(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        self.docket("ticket", "set", "1", "--priority", "critical", "--status", "in_progress")
        self.docket("ticket", "reply", "1", stdin=b"We are sending a technician.\n")
        self.docket("ticket", "note", "1", stdin=b"Spare toner is in room 4.\n")
        self.docket("ticket", "set", "1", "--status", "resolved")
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        base = "/v4_6_release/apis/3.0/service/tickets/98231"
        writes = [(r.method, r.path, r.json()) for r in self.mock.writes()][1:]
        self.assertEqual([(m, p) for m, p, _ in writes], [
            ("PATCH", base), ("PATCH", base), ("POST", base + "/notes"),
            ("POST", base + "/notes"), ("PATCH", base)])
        self.assertEqual(writes[0][2][0]["value"], {"name": "Priority 1 - Emergency Response"})
        self.assertEqual(writes[2][2]["text"].strip(), "We are sending a technician.")
        self.assertTrue(writes[2][2]["detailDescriptionFlag"])
        self.assertEqual(writes[3][2]["text"].strip(), "Spare toner is in room 4.")
        self.assertTrue(writes[3][2]["internalAnalysisFlag"])
        self.assertEqual(self.mock.tickets[98231]["status"]["name"], "Resolved")

    def test_a_ticket_older_than_the_connector_is_created_first(self):
        # Mail that arrived while no connector took its queue.
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("[connector:%s]" % self.name, "[connector:%s]\nqueues = none" %
                                 self.name, 1))
        self.deliver_ok(conversation()[0])
        with open(self.config, "w") as f:
            f.write(text)
        self.docket("ticket", "set", "1", "--priority", "high")
        self.drain()
        writes = [(r.method, r.path) for r in self.mock.writes()]
        self.assertEqual(writes, [("POST", "/v4_6_release/apis/3.0/service/tickets"),
                                  ("PATCH", "/v4_6_release/apis/3.0/service/tickets/98231")])
        self.assertEqual(self.mock.writes()[0].json()["initialDescription"].strip(),
                         "The printer shows error 50.")


class FaultTest(ConnectWiseCase):
    def test_every_ticket_and_note_exactly_once(self):
        base = "/v4_6_release/apis/3.0/service/tickets"
        self.mock.inject("POST", base, status=500, body=b'{"code":"InternalError"}')
        self.mock.inject("POST", base, pause=2)  # created, the answer comes too late
        self.mock.inject("POST", base + "/", status=429, body=b'{"code":"TooManyRequests"}',
                         headers={"Retry-After": "1"})
        self.mock.inject("POST", base + "/", pause=2)  # a note made, the answer lost
        self.mock.inject("PATCH", base + "/", status=503, body=b"")
        for m in conversation():
            self.deliver_ok(m)
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.tickets), 1)
        tid, ticket = next(iter(self.mock.tickets.items()))
        self.assertEqual(ticket["externalXRef"], "docket-1")
        self.assertEqual(ticket["status"]["name"], "Resolved")
        texts = [n["text"].strip() for n in self.mock.notes[tid]]
        self.assertEqual(texts, ["Still broken after a restart.", "Please replace the toner.",
                                 "Toner replaced on site."])
        # what the service accepted is exactly the conversation
        self.assertEqual(self.normalised(self.mock.writes({200, 201})),
                         self.expected_writes(tid))
        # the lost create was looked up by our reference before creating again
        lookups = [r for r in self.mock.requests if r.method == "GET" and r.route == base]
        self.assertTrue(lookups)
        self.assertEqual(lookups[0].query["conditions"], ['externalXRef="docket-1"'])
        self.assertGreaterEqual(self.show(1)["articles"].__len__(), 4)

    def test_the_same_text_twice_stays_twice(self):
        from conntest import mail
        base = "/v4_6_release/apis/3.0/service/tickets"
        self.deliver_ok(conversation()[0])
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n1@customer.example", "Any news?\n",
                             "In-Reply-To: <p1@customer.example>\n"))
        self.drain()
        self.mock.inject("POST", base + "/", pause=2)  # made, the answer lost
        self.deliver_ok(mail(CUSTOMER, "Re: Printer", "n2@customer.example", "Any news?\n",
                             "In-Reply-To: <n1@customer.example>\n"))
        rows = self.drain(30)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual([n["text"].strip() for n in self.mock.notes[98231]],
                         ["Any news?", "Any news?"])
        self.assertEqual(len(self.mock.writes({201})), 3)

    def test_retry_after_is_honoured(self):
        import time
        self.mock.inject("POST", "/v4_6_release/apis/3.0/service/tickets", status=429,
                         body=b'{"code":"TooManyRequests","message":"slow down"}',
                         headers={"Retry-After": "120"})
        self.deliver_ok(conversation()[0])
        self.deliver_ok(conversation()[1])
        before = int(time.time())
        self.assertEqual(self.run_once(), (0, 1, 0))  # the note waits behind the ticket
        rows = self.outbox()
        create = [r for r in rows if r["payload"]["event"] == "ticket.created"][0]
        self.assertEqual(create["state"], "pending")
        self.assertGreaterEqual(create["next_attempt_at"], before + 119)
        self.assertIn("HTTP 429", create["last_error"])
        self.assertEqual(len(self.mock.requests), 1)

    def test_permanent_error_is_recorded(self):
        self.mock.inject("POST", "/v4_6_release/apis/3.0/service/tickets", status=400,
                         body=b'{"code":"InvalidObject","message":"summary is required"}')
        self.deliver_ok(conversation()[0])
        self.assertEqual(self.run_once(), (0, 0, 1))
        row = self.outbox()[0]
        self.assertEqual(row["state"], "failed")
        self.assertIn("HTTP 400", row["last_error"])
        self.assertIn("InvalidObject", row["last_error"])
        self.assertEqual(len(self.events(1, "connector_failed")), 1)


class AttachmentTest(ConnectWiseCase):
    def connector_text(self):
        return super().connector_text() + "attachment_max_bytes = 1024\n"

    def test_files_become_documents_once(self):
        log, big = b"fan failure\n" * 20, bytes(range(256)) * 8
        self.mock.inject("POST", "/v4_6_release/apis/3.0/system/documents", pause=2)  # lost
        self.mock.inject("POST", "/v4_6_release/apis/3.0/system/documents", status=500,
                         body=b'{"code":"InternalError"}')
        self.deliver_ok(with_files(CUSTOMER, "Server noise", "f1@customer.example",
                                   "Log attached.\n", [("log.txt", log), ("dump.bin", big)]))
        self.deliver_ok(with_files(CUSTOMER, "Re: Server noise", "f2@customer.example",
                                   "Another one.\n", [("log.txt", log)],
                                   "In-Reply-To: <f1@customer.example>\n"))
        rows = self.drain(60)
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(self.mock.faults, [])
        [tid] = self.mock.tickets
        self.assertEqual([(d["fileName"], d["data"]) for d in self.mock.docs],
                         [("log.txt", log), ("log.txt", log)])
        self.assertEqual([d["title"] for d in self.mock.docs],
                         ["docket-1 1.0 log.txt", "docket-1 2.0 log.txt"])
        created = [r.json() for r in self.mock.requests
                   if r.method == "POST" and r.route.endswith("/service/tickets")]
        self.assertTrue(created[0]["initialDescription"].endswith(
            "(not sent: dump.bin, 2048 bytes, over the limit of 1024 bytes)"))
        self.assertEqual(len(self.mock.notes[tid]), 1)


class RoundTripTest(RoundTrip, ConnectWiseCase):
    def connector_text(self):
        return super().connector_text() + "poll_seconds = 60\n"

    def remote_ticket(self):
        [tid] = self.mock.tickets
        return tid

    def agent_comment(self, tid, text, public):
        with self.mock.lock:
            self.mock.notes[tid].append({
                "id": self.mock.next_note, "ticketId": tid, "text": text,
                "detailDescriptionFlag": public, "internalAnalysisFlag": not public,
                "resolutionFlag": False, "member": {"id": 17, "identifier": "agent"}})
            self.mock.next_note += 1

    def agent_close(self, tid):
        with self.mock.lock:
            t = self.mock.tickets[tid]
            t["status"] = next(s for s in cwmock.STATUSES[t["board"]["id"]]
                               if s["name"] == "Resolved")

    def remote_texts(self, tid):
        return [n["text"] for n in self.mock.notes[tid]]

    def read_faults(self):
        route = "/v4_6_release/apis/3.0/service/tickets/"
        self.mock.inject("GET", route, status=500, body=b'{"code":"InternalError"}')
        self.mock.inject("GET", route, pause=2)  # the answer lost
        self.mock.inject("GET", route, status=429, headers={"Retry-After": "1"},
                         body=b'{"code":"TooManyRequests"}')


class CheckTest(ConnectWiseCase):
    def test_check_ok_creates_nothing(self):
        proc = self.docket("connector", "check", "desk")
        self.assertIn("desk: ok", proc.stdout.decode())
        self.assertEqual(self.mock.writes(), [])
        self.assertEqual(self.mock.tickets, {})

    def test_check_reports_a_missing_board(self):
        self.configure("board = Nowhere\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn('board "Nowhere" does not exist', proc.stdout.decode())

    def test_check_reports_bad_credentials_without_the_secret(self):
        with open(self.dir + "/credentials", "w") as f:
            f.write(CREDENTIALS.replace("privKEY", "wrongKEY"))
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        err = proc.stderr.decode()
        self.assertIn("HTTP 401", err)
        self.assertNotIn("wrongKEY", err + proc.stdout.decode())

    def test_check_reports_a_wrong_base_url(self):
        self.configure("base_url = %s/v2019/apis/3.0\n" % self.mock.url)
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("404 on /service/boards", proc.stdout.decode())

    def test_config_dump_has_no_secret(self):
        out = self.docket("config", "dump", check=False).stdout.decode()
        self.assertNotIn("privKEY", out)

    def test_status_map_to_a_missing_status(self):
        self.configure("status_map = waiting=Waiting Customer\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("status Waiting Customer (for waiting) does not exist",
                      proc.stdout.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
