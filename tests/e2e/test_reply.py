"""`docket ticket reply` and `docket ticket participants`: a reply with
files goes to the requester and to the participants copied on replies,
each copy its own message with the files; files over the limits are
refused before anything is written; a queue can keep replies to the
requester alone; the assignee hears of a customer's answer."""

import json
import os
import unittest

from test_desk import AGENT, DeskCase, mail

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


class ReplyCase(DeskCase):
    config_text = DeskCase.config_text + (
        "[agents]\naddresses = %s\n[notify]\nattachment_max_size = 4K\nattachment_max_total = 6K\n"
        "[queue:billing]\ncopy_participants = false\n" % AGENT)

    def setUp(self):
        super().setUp()
        self.deliver_ok(mail("Alice <alice@example.org>", "Invoice wrong", "a1@example.org",
                             "The invoice is wrong.\n", "Cc: Carol <carol@example.org>, %s\n" % AGENT))
        self.docket("outbox", "run", "--once")  # the acknowledgement
        self.acked = len(self.sent())

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def reply(self, *args, text=b"See the attached report.\n", check=True):
        return self.docket("ticket", "reply", "1", *args, stdin=text, check=check)

    def new_mail(self):
        self.docket("outbox", "run", "--once")
        return self.sent()[self.acked:]

    def participants(self):
        return {p["address"]: p["role"] for p in self.show(1)["ticket"]["participants"]}


class ReplyTest(ReplyCase):
    def test_files_to_the_requester_and_the_copied(self):
        # Carol was in Cc: a participant; the agent in Cc is not.
        self.assertEqual(self.participants(), {"alice@example.org": "requester", "carol@example.org": "cc"})
        self.reply("--as", "Bob Agent <%s>" % AGENT, "--attach", self.file("report.pdf", PDF),
                   "--attach", self.file("shot.png", PNG))
        sent = self.new_mail()
        self.assertEqual(sorted(m["To"].addresses[0].addr_spec for m in sent), ["alice@example.org"] * 2)
        for m in sent:
            self.assertEqual([a.addr_spec for a in m["Cc"].addresses], ["carol@example.org"])
            self.assertEqual(m["From"].addresses[0].display_name, "Bob Agent via Support")
            self.assertEqual(m["From"].addresses[0].addr_spec, "support@help.example.com")
            files = {p.get_filename(): (p.get_content_type(), p.get_content()) for p in m.iter_attachments()}
            self.assertEqual(files, {"report.pdf": ("application/pdf", PDF), "shot.png": ("image/png", PNG)})
        outbox = [r for r in json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
                  if r["kind"] == "relay"]
        self.assertEqual(sorted(r["target"] for r in outbox), ["alice@example.org", "carol@example.org"])
        doc = self.show(1)
        reply = doc["articles"][-1]
        self.assertEqual(reply["to"], "alice@example.org, carol@example.org")
        self.assertEqual([(a["filename"], a["size"]) for a in reply["attachments"]],
                         [("report.pdf", len(PDF)), ("shot.png", len(PNG))])
        self.assertEqual(doc["ticket"]["status"], "waiting")
        got = self.docket("attachment", "get", str(reply["attachments"][0]["id"])).stdout
        self.assertEqual(got, PDF)

    def test_files_over_the_limits_are_refused(self):
        before = self.show(1)
        big = self.file("big.bin", b"x" * 5000)
        proc = self.reply("--attach", big, check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertIn("big.bin is 5000 bytes, over [notify] attachment_max_size (4096 bytes)",
                      proc.stderr.decode())
        proc = self.reply("--attach", self.file("a.bin", b"a" * 4000), "--attach",
                          self.file("b.bin", b"b" * 4000), check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertIn("8000 bytes together, over [notify] attachment_max_total", proc.stderr.decode())
        proc = self.reply("--attach", os.path.join(self.dir, "missing.pdf"), check=False)
        self.assertEqual(proc.returncode, 66)
        self.assertEqual(self.show(1)["articles"], before["articles"])
        self.assertEqual(self.new_mail(), [])

    def test_participants_added_and_removed(self):
        self.docket("ticket", "participants", "1", "add", "Dave@Example.org", "--as", AGENT)
        self.docket("ticket", "participants", "1", "remove", "carol@example.org")
        self.assertEqual(self.participants(), {"alice@example.org": "requester", "dave@example.org": "cc"})
        listing = self.docket("ticket", "participants", "1").stdout.decode()
        self.assertIn("dave@example.org cc (gets public replies)", listing)
        for verb, address, why in [("add", "support@help.example.com", "one of docket's own"),
                                   ("add", AGENT, "an agent's"),
                                   ("add", "not an address", "not an address"),
                                   ("remove", "alice@example.org", "the requester stays"),
                                   ("remove", "zoe@example.org", "no participant")]:
            proc = self.docket("ticket", "participants", "1", verb, address, check=False)
            self.assertEqual(proc.returncode, 65, address)
            self.assertIn(why, proc.stderr.decode())
        events = [(e["type"], e["detail"]["address"]) for e in self.show(1)["events"]
                  if e["type"].startswith("participant_")]
        self.assertEqual(events, [("participant_added", "dave@example.org"),
                                  ("participant_removed", "carol@example.org")])
        self.reply()
        self.assertEqual(sorted(r for m in self.new_mail() for r in [m["Cc"]]), ["dave@example.org"] * 2)

    def test_queue_keeps_replies_to_the_requester(self):
        self.docket("ticket", "set", "1", "--queue", "billing")
        self.reply()
        sent = self.new_mail()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["To"], "alice@example.org")
        self.assertIsNone(sent[0]["Cc"])

    def test_assignee_hears_of_the_customers_answer(self):
        self.docket("ticket", "set", "1", "--assign", AGENT)
        self.reply()  # waiting now
        self.new_mail()
        self.deliver_ok(mail("Alice <alice@example.org>", "Re: [docket #1] Invoice wrong", "a2@example.org",
                             "Thanks, one more question.\n"))
        self.assertEqual(self.show(1)["ticket"]["status"], "open")
        told = [m for m in self.new_mail() if m["To"] == AGENT]
        self.assertEqual(len(told), 1)
        self.assertIn("alice@example.org replied to ticket [docket #1], which is assigned to you",
                      told[0].get_body(("plain",)).get_content())
        # an auto-reply tells nobody and changes nothing
        self.docket("ticket", "set", "1", "--status", "waiting")
        self.deliver_ok(mail("Alice <alice@example.org>", "Automatic reply: [docket #1] Invoice wrong",
                             "a3@example.org", "I am out of the office.\n", "Auto-Submitted: auto-replied\n"))
        self.assertEqual(self.show(1)["ticket"]["status"], "waiting")
        self.assertEqual(len([m for m in self.new_mail() if m["To"] == AGENT]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
