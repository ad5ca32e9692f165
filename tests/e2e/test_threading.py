"""Threading, direction and trust end to end: whole conversations as
Outlook, Gmail, Apple Mail and Thunderbird write them, delivered with
`docket deliver`, and the tickets, articles and events they leave. The
adversarial cases: a stranger with a guessed token (each follow-up
policy), a forged reply address, a reply to a ticket closed 30 days ago,
an out-of-office answer, a bounce, one mail delivered twice, and agent
commands from a spoofed agent address."""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import lmtpclient  # noqa: E402
from dockettest import BINARY, DocketCase  # noqa: E402
from mailclients import (SECRET, apple_mail, docket_message_id, gmail, outlook,  # noqa: E402
                         reply_address, thunderbird)

T0 = 1795000000  # the conversation's first arrival (Unix seconds)
DAY = 86400
CUSTOMER = "Dana Kunde <dana@customer.example>"
SUPPORT = "Support <support@example.com>"
AGENT = "Alex Agent <agent@example.com>"
AUTH_PASS = ("Authentication-Results", "mx.example.com; dkim=pass (2048-bit key)"
             " header.d=example.com header.s=s1 header.b=abc; spf=pass smtp.mailfrom=agent@example.com")

BASE_CONFIG = """
[threading]
secret = %s
reply_addresses = true
reply_address = support@example.com
[agents]
addresses = agent@example.com
authserv_id = mx.example.com
[foreign:vendor]
pattern = \\[Case: ([0-9]+)\\]
""" % SECRET


class ThreadingCase(DocketCase):
    config_text = BASE_CONFIG

    def put(self, message, at=T0, recipients=("support@example.com",), expect=0):
        args = ["--received-at", str(at), "-v"]
        for r in recipients:
            args += ["-r", r]
        proc = self.deliver(message, *args)
        self.assertEqual(proc.returncode, expect, proc.stderr.decode(errors="replace"))
        if expect != 0:
            return proc
        out = dict(kv.split("=", 1) for kv in proc.stdout.decode().split())
        return out

    def open_ticket(self, at=T0):
        """Dana opens a ticket from Outlook; returns its number and Message-ID."""
        mid = "AM0PR07MB0001ORIGINAL@AM0PR07MB0001.eurprd07.prod.outlook.com"
        out = self.put(outlook(CUSTOMER, SUPPORT, "Drucker druckt nicht",
                               "Hallo,\n\nder Drucker im 2. Stock druckt nicht.\n\nGruss\nDana",
                               message_id=mid, cc="Bob Kollege <bob@customer.example>"), at=at)
        self.assertEqual(out["outcome"], "created")
        return int(out["ticket"]), mid

    def events(self, doc):
        return [e["type"] for e in doc["events"]]

    def db(self, sql, *args):
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            return db.execute(sql, args).fetchall()


class ConversationTest(ThreadingCase):
    def test_outlook_reply_to_notification_threads_by_mac_message_id(self):
        number, _ = self.open_ticket()
        # docket's notification (sent by the notifications worker, not stored
        # here: as after a restore from backup) and Dana's Outlook answer.
        notification = docket_message_id(number)
        out = self.put(outlook(CUSTOMER, SUPPORT, "AW: [docket #%d] Drucker druckt nicht" % number,
                               "Er zeigt Fehler 49.", in_reply_to=notification, references=[notification],
                               quoted=(SUPPORT, "[docket #%d] Drucker druckt nicht" % number, "Welcher Fehler?")),
                       at=T0 + 600)
        self.assertEqual((out["outcome"], out["ticket"], out["evidence"]), ("appended", str(number), "header"))
        # Outlook again, this time without In-Reply-To/References: the token alone,
        # from the requester herself.
        out = self.put(outlook(CUSTOMER, SUPPORT, "RE: AW: [docket #%d] Drucker druckt nicht" % number,
                               "Jetzt geht es wieder."), at=T0 + 1200)
        self.assertEqual((out["outcome"], out["ticket"], out["evidence"]), ("appended", str(number), "token"))
        doc = self.show(number)
        text = self.docket("ticket", "show", str(number)).stdout.decode()
        self.assertIn("evidence header", text)
        self.assertIn("inbound · public", text)
        self.assertIn("participant bob@customer.example cc", text)
        self.assertEqual([a["evidence"] for a in doc["articles"]], ["new", "header", "token"])
        self.assertEqual([a["direction"] for a in doc["articles"]], ["inbound"] * 3)
        self.assertEqual(self.events(doc), ["created", "comment", "comment"])
        self.assertEqual(doc["ticket"]["token"], "[docket #%d]" % number)
        self.assertEqual(len(self.tickets()), 1)

    def test_gmail_references_older_entry_and_apple_mail_reply_address(self):
        number, original = self.open_ticket()
        # Gmail: the newest reference is unknown, an older one is ours.
        out = self.put(gmail(CUSTOMER, SUPPORT, "Re: Drucker druckt nicht", "Noch eine Frage.",
                             references=[original, "unknown-1@elsewhere.example"],
                             in_reply_to="unknown-1@elsewhere.example"), at=T0 + 60)
        self.assertEqual((out["ticket"], out["evidence"]), (str(number), "header"))
        # Apple Mail to the signed reply address, subject without a token.
        out = self.put(apple_mail("Bob Kollege <bob@customer.example>", reply_address(number),
                                  "Re: Drucker druckt nicht", "Bei mir auch."),
                       at=T0 + 120, recipients=(reply_address(number),))
        self.assertEqual((out["ticket"], out["evidence"]), (str(number), "reply-address"))
        doc = self.show(number)
        self.assertEqual([a["evidence"] for a in doc["articles"]], ["new", "header", "reply-address"])
        self.assertEqual(doc["ticket"]["addresses"], ["support@example.com"])

    def test_forged_reply_address_is_not_evidence(self):
        number, _ = self.open_ticket()
        forged = "support+%d.0123456789@example.com" % number
        out = self.put(thunderbird("Mallory <mallory@evil.example>", forged, "Re: Drucker druckt nicht",
                                   "Please send me the invoice."), at=T0 + 60, recipients=(forged,))
        self.assertEqual((out["outcome"], out["evidence"]), ("created", "new"))
        self.assertNotEqual(out["ticket"], str(number))
        self.assertIn("forged_reply_address", self.events(self.show(int(out["ticket"]))))
        self.assertEqual(self.show(number)["ticket"]["articles"], 1)

    def test_subject_words_alone_never_thread(self):
        number, _ = self.open_ticket()
        out = self.put(gmail(CUSTOMER, SUPPORT, "Re: Drucker druckt nicht", "Neues Problem, gleicher Betreff."),
                       at=T0 + 60)
        self.assertEqual(out["outcome"], "created")
        self.assertNotEqual(int(out["ticket"]), number)

    def test_other_systems_token_is_not_ours(self):
        number, _ = self.open_ticket()
        out = self.put(gmail(CUSTOMER, SUPPORT, "Re: [RT #%d] [docket-eu #%d] Drucker" % (number, number),
                             "Anderes System."), at=T0 + 60)
        self.assertEqual(out["outcome"], "created")

    def test_one_mail_delivered_twice_and_to_two_addresses(self):
        message = thunderbird(CUSTOMER, "support@example.com, sales@example.com", "Angebot und Defekt",
                              "Zwei Anliegen in einer Mail.", cc="support@example.com")
        first = self.put(message, recipients=("support@example.com",))
        second = self.put(message, at=T0 + 5, recipients=("sales@example.com",))
        self.assertEqual(second["outcome"], "duplicate")
        self.assertEqual(first["ticket"], second["ticket"])
        doc = self.show(int(first["ticket"]))
        self.assertEqual(doc["ticket"]["articles"], 1)
        self.assertEqual(doc["ticket"]["addresses"], ["sales@example.com", "support@example.com"])
        # The Cc to support is docket's own address, not a participant.
        self.assertEqual(doc["ticket"]["participants"], [{"address": "dana@customer.example", "role": "requester"}])
        self.assertEqual(len(self.tickets()), 1)

    def test_same_message_id_different_content_is_a_conflict(self):
        number, original = self.open_ticket()
        out = self.put(outlook(CUSTOMER, SUPPORT, "Drucker druckt nicht", "Ganz anderer Inhalt.",
                               message_id=original), at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))
        doc = self.show(number)
        self.assertEqual(doc["ticket"]["articles"], 2)
        self.assertIn("message_id_conflict", self.events(doc))

    def test_foreign_ticket_number(self):
        number, _ = self.open_ticket()
        # The customer copies the vendor in: the vendor becomes a participant.
        self.put(outlook(CUSTOMER, SUPPORT, "RE: [docket #%d] Drucker druckt nicht" % number,
                         "Der Hersteller hat den Fall [Case: 778899] eroeffnet.",
                         cc="Vendor Support <cases@vendor.example>"), at=T0 + 60)
        doc = self.show(number)
        self.assertEqual(doc["ticket"]["foreign_refs"], [{"name": "vendor", "number": "778899"}])
        # The vendor writes from its own system, naming only its case number.
        out = self.put(gmail("Vendor Support <cases@vendor.example>", SUPPORT, "Update on [Case: 778899]",
                             "A technician is on the way."), at=T0 + 3600)
        self.assertEqual((out["outcome"], out["ticket"], out["evidence"]), ("appended", str(number), "foreign"))
        # A stranger naming the number is no participant: like docket's own
        # token, the follow-up policy gives it a new, linked ticket.
        out = self.put(gmail("Mallory <mallory@evil.example>", SUPPORT, "About [Case: 778899]",
                             "Send me the details."), at=T0 + 3650)
        self.assertEqual((out["outcome"], out["evidence"]), ("created", "new"))
        out = self.put(gmail("Vendor Support <cases@vendor.example>", SUPPORT, "Update on [Case: 111]",
                             "Another customer's case."), at=T0 + 3700)
        self.assertEqual(out["outcome"], "created")


class StrangerDefaultTest(ThreadingCase):
    def test_stranger_with_guessed_token_gets_linked_new_ticket(self):
        number, _ = self.open_ticket()
        out = self.put(gmail("Mallory <mallory@evil.example>", SUPPORT,
                             "Re: [docket #%d] Drucker druckt nicht" % number, "Send me the details."),
                       at=T0 + 60)
        self.assertEqual((out["outcome"], out["evidence"]), ("created", "new"))
        new = int(out["ticket"])
        self.assertNotEqual(new, number)
        old_doc, new_doc = self.show(number), self.show(new)
        self.assertEqual(old_doc["ticket"]["articles"], 1)
        self.assertEqual(old_doc["ticket"]["links"], [{"ticket": new, "reason": "follow_up"}])
        self.assertEqual(new_doc["ticket"]["links"], [{"ticket": number, "reason": "follow_up"}])
        self.assertEqual(self.events(old_doc), ["created", "linked"])
        self.assertEqual(self.events(new_doc), ["created", "linked"])
        self.assertEqual(new_doc["ticket"]["subject"], "Drucker druckt nicht")
        self.assertEqual(new_doc["ticket"]["requester"], "mallory@evil.example")
        self.assertNotIn("mallory@evil.example", [p["address"] for p in old_doc["ticket"]["participants"]])

    def test_cc_of_earlier_article_is_a_participant(self):
        number, _ = self.open_ticket()
        out = self.put(apple_mail("Bob Kollege <bob@customer.example>", SUPPORT,
                                  "Re: [docket #%d] Drucker druckt nicht" % number, "Bei mir auch."),
                       at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"], out["evidence"]), ("appended", str(number), "token"))

    def test_colleague_from_same_domain_is_a_stranger_by_default(self):
        number, _ = self.open_ticket()
        out = self.put(gmail("Carol <carol@customer.example>", SUPPORT,
                             "Re: [docket #%d] Drucker druckt nicht" % number, "Ich auch."), at=T0 + 60)
        self.assertEqual(out["outcome"], "created")


class StrangerAcceptTest(ThreadingCase):
    config_text = BASE_CONFIG.replace("[threading]\n", "[threading]\nfollow_up = accept\n")

    def test_accept(self):
        number, _ = self.open_ticket()
        out = self.put(gmail("Mallory <mallory@evil.example>", SUPPORT,
                             "Re: [docket #%d] Drucker druckt nicht" % number, "Hi."), at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"], out["evidence"]), ("appended", str(number), "token"))
        self.assertIn({"address": "mallory@evil.example", "role": "sender"},
                      self.show(number)["ticket"]["participants"])


class StrangerRejectTest(ThreadingCase):
    config_text = BASE_CONFIG.replace("[threading]\n", "[threading]\nfollow_up = reject\n"
                                      "organisation_domain_participants = true\n")

    def test_reject_is_permanent_and_changes_nothing(self):
        number, _ = self.open_ticket()
        before = self.dump_store()
        proc = self.put(gmail("Mallory <mallory@evil.example>", SUPPORT,
                              "Re: [docket #%d] Drucker druckt nicht" % number, "Hi."), at=T0 + 60, expect=65)
        self.assertIn(b"follow_up = reject", proc.stderr)
        self.assertEqual(self.dump_store(), before)

    def test_organisation_domain_counts_when_configured(self):
        number, _ = self.open_ticket()
        out = self.put(gmail("Carol <carol@customer.example>", SUPPORT,
                             "Re: [docket #%d] Drucker druckt nicht" % number, "Ich auch."), at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))


class ClosedTicketTest(ThreadingCase):
    def close(self, number, at):
        # Closed only after resolved: the lifecycle holds for mail too.
        out = self.put(outlook(AGENT, CUSTOMER, "RE: [docket #%d] Drucker druckt nicht" % number,
                               "#status closed\n\nErledigt.", extra=[AUTH_PASS]), at=at - 2)
        # the command is refused; the reply itself waits on the customer
        self.assertEqual(self.show(number)["ticket"]["status"], "waiting")
        self.assertIn("agent_command_invalid", [e["type"] for e in self.show(number)["events"]])
        out = self.put(outlook(AGENT, CUSTOMER, "RE: [docket #%d] Drucker druckt nicht" % number,
                               "#status resolved\n\nDer Toner war leer.", extra=[AUTH_PASS]), at=at - 1)
        out = self.put(outlook(AGENT, CUSTOMER, "RE: [docket #%d] Drucker druckt nicht" % number,
                               "#status closed\n\nErledigt, der Toner war leer.", extra=[AUTH_PASS]),
                       at=at)
        self.assertEqual(out["ticket"], str(number))
        self.assertEqual(self.show(number)["ticket"]["status"], "closed")

    def test_reply_within_window_reopens(self):
        number, _ = self.open_ticket()
        self.close(number, T0 + DAY)
        out = self.put(outlook(CUSTOMER, SUPPORT, "AW: [docket #%d] Drucker druckt nicht" % number,
                               "Leider wieder kaputt."), at=T0 + 4 * DAY)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))
        doc = self.show(number)
        self.assertEqual(doc["ticket"]["status"], "open")
        self.assertIsNone(doc["ticket"]["closed_at"])
        changes = [e["detail"] for e in doc["events"] if e["type"] == "status_change"]
        self.assertEqual([(c["old"], c["new"], c["by"]) for c in changes],
                         [("new", "waiting", "agent@example.com"), ("waiting", "resolved", "command"),
                          ("resolved", "closed", "command"), ("closed", "open", "reply")])

    def test_reply_30_days_after_closing_opens_linked_ticket(self):
        number, _ = self.open_ticket()
        self.close(number, T0 + DAY)
        out = self.put(outlook(CUSTOMER, SUPPORT, "AW: [docket #%d] Drucker druckt nicht" % number,
                               "Jetzt ist es der andere Drucker."), at=T0 + 31 * DAY)
        self.assertEqual(out["outcome"], "created")
        new = int(out["ticket"])
        old_doc, new_doc = self.show(number), self.show(new)
        self.assertEqual(old_doc["ticket"]["status"], "closed")
        self.assertEqual(old_doc["ticket"]["articles"], 4)  # the mail and the agent's three
        self.assertEqual(new_doc["ticket"]["links"], [{"ticket": number, "reason": "closed"}])
        self.assertEqual(self.events(old_doc)[-1], "linked")
        self.assertEqual(new_doc["ticket"]["status"], "new")


class AgentTest(ThreadingCase):
    def test_verified_agent_reply_with_commands(self):
        number, _ = self.open_ticket()
        out = self.put(outlook(AGENT, CUSTOMER, "RE: [docket #%d] Drucker druckt nicht" % number,
                               "#status resolved\n#priority high\n#assign bob@example.com\n#tag vip\n\n"
                               "Hallo Dana, der Toner ist getauscht.", extra=[AUTH_PASS]), at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))
        doc = self.show(number)
        t = doc["ticket"]
        self.assertEqual((t["status"], t["priority"], t["assignee"], t["tags"]),
                         ("resolved", "high", "bob@example.com", ["vip"]))
        article = doc["articles"][-1]
        self.assertEqual((article["direction"], article["visibility"]), ("outbound", "public"))
        self.assertTrue(article["new_text"].startswith("Hallo Dana"), article["new_text"])
        self.assertNotIn("#status", article["new_text"])
        # Dana had it by herself; Bob, whom she copied, gets a copy through the outbox.
        self.assertEqual(self.events(doc), ["created", "comment", "status_change", "priority_change",
                                            "assignment", "tag", "outbound_delivered",
                                            "outbound_relay_queued"])
        self.assertIn({"address": "agent@example.com", "role": "agent"}, t["participants"])

    def test_spoofed_agent_without_authentication_results(self):
        number, _ = self.open_ticket()
        # The forger saw a notification (its Message-ID threads by header).
        notification = docket_message_id(number)
        out = self.put(gmail(AGENT, SUPPORT, "Re: [docket #%d] Drucker druckt nicht" % number,
                             "#status closed\n#assign mallory@evil.example\n\nClosing this.",
                             in_reply_to=notification), at=T0 + 60)
        self.assertEqual((out["ticket"], out["evidence"]), (str(number), "header"))
        doc = self.show(number)
        self.assertEqual((doc["ticket"]["status"], doc["ticket"]["assignee"]), ("new", None))
        article = doc["articles"][-1]
        self.assertEqual((article["direction"], article["visibility"]), ("inbound", "public"))
        self.assertIn("#status closed", article["new_text"])
        ignored = [e["detail"] for e in doc["events"] if e["type"] == "agent_commands_ignored"]
        self.assertEqual(len(ignored), 1)
        self.assertIn("no Authentication-Results", ignored[0]["why"])
        self.assertEqual(ignored[0]["commands"], ["#status closed", "#assign mallory@evil.example"])
        self.assertEqual(self.db("SELECT count(*) FROM outbox WHERE kind = 'relay'"), [(0,)])
        self.assertNotIn({"address": "agent@example.com", "role": "agent"}, doc["ticket"]["participants"])

    def test_spoofed_agent_with_token_only_is_a_stranger(self):
        number, _ = self.open_ticket()
        out = self.put(gmail(AGENT, SUPPORT, "Re: [docket #%d] Drucker druckt nicht" % number,
                             "#status closed\n\nClosing this."), at=T0 + 60)
        self.assertEqual(out["outcome"], "created")
        new_doc = self.show(int(out["ticket"]))
        self.assertIn("agent_commands_ignored", self.events(new_doc))
        self.assertEqual(new_doc["ticket"]["status"], "new")
        self.assertEqual(self.show(number)["ticket"]["status"], "new")

    def test_spoofed_agent_with_failing_or_foreign_authentication_results(self):
        number, _ = self.open_ticket()
        notification = docket_message_id(number)
        for i, ar in enumerate([
                "mx.example.com; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=agent@example.com",
                "mx.evil.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=agent@example.com",
                "mx.example.com; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example"]):
            out = self.put(gmail(AGENT, SUPPORT, "Re: [docket #%d] Drucker druckt nicht" % number,
                                 "#priority critical\n\nUrgent!", in_reply_to=notification,
                                 extra=[("Authentication-Results", ar)]), at=T0 + 60 + i)
            self.assertEqual(out["ticket"], str(number))
        doc = self.show(number)
        self.assertEqual(doc["ticket"]["priority"], "none")
        whys = [e["detail"]["why"] for e in doc["events"] if e["type"] == "agent_commands_ignored"]
        self.assertEqual(len(whys), 3)
        self.assertIn("no DKIM or SPF pass", whys[0])
        self.assertIn("no Authentication-Results", whys[1])
        self.assertIn("no DKIM or SPF pass", whys[2])

    def test_agent_reply_only_to_support_is_relayed_through_the_outbox(self):
        number, _ = self.open_ticket()
        out = self.put(thunderbird(AGENT, SUPPORT, "Re: [docket #%d] Drucker druckt nicht" % number,
                                   "Dana, bitte den Drucker neu starten.", extra=[AUTH_PASS]), at=T0 + 60)
        doc = self.show(number)
        article = doc["articles"][-1]
        self.assertEqual((article["direction"], article["visibility"]), ("outbound", "public"))
        self.assertIn("outbound_relay_queued", self.events(doc))
        rows = self.db("SELECT kind, target, ticket, state, payload FROM outbox WHERE kind = 'relay'"
                       " ORDER BY id")
        # to Dana, and a copy to Bob, whom she copied
        self.assertEqual([r[:4] for r in rows], [("relay", "dana@customer.example", number, "pending"),
                                                 ("relay", "bob@customer.example", number, "pending")])
        for row in rows:
            payload = json.loads(row[4])
            self.assertEqual(payload["article"], int(out["article"]))
            self.assertEqual((payload["to"], payload["cc"]), ("dana@customer.example", ["bob@customer.example"]))

    def test_internal_note(self):
        number, _ = self.open_ticket()
        self.put(thunderbird(AGENT, SUPPORT, "Re: [docket #%d] Drucker druckt nicht" % number,
                             "#internal\nKunde ist VIP, bitte bevorzugt.", extra=[AUTH_PASS]), at=T0 + 60)
        doc = self.show(number)
        article = doc["articles"][-1]
        self.assertEqual((article["direction"], article["visibility"]), ("outbound", "internal"))
        self.assertEqual(article["new_text"].strip(), "Kunde ist VIP, bitte bevorzugt.")
        self.assertEqual(self.db("SELECT count(*) FROM outbox WHERE kind = 'relay'"), [(0,)])
        self.assertNotIn("outbound_delivered", self.events(doc))


class LmtpRoutesTest(ThreadingCase):
    """The same mail by LMTP (two recipients in one transaction) and again by
    the MTA pipe is one article; a refusal by the follow-up policy is a
    permanent LMTP failure (5xx)."""

    config_text = BASE_CONFIG.replace("[threading]\n", "[threading]\nfollow_up = reject\n")

    def setUp(self):
        super().setUp()
        from test_serve import free_port, wait_for_port
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.port], stderr=self.log)
        wait_for_port(self.port)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.log.close()
        super().tearDown()

    def test_two_routes_one_article_and_refusal(self):
        message = outlook(CUSTOMER, "support@example.com, sales@example.com", "Angebot und Defekt",
                          "Bitte beides pruefen.")
        replies = lmtpclient.send(self.port, message, ["support@example.com", "sales@example.com"])
        self.assertEqual([r[:3] for r in replies], ["250", "250"])
        again = self.put(message, at=T0 + 60, recipients=("billing@example.com",))
        self.assertEqual(again["outcome"], "duplicate")
        tickets = self.tickets()
        self.assertEqual(len(tickets), 1)
        doc = self.show(tickets[0]["number"])
        self.assertEqual(doc["ticket"]["articles"], 1)
        self.assertEqual(doc["ticket"]["addresses"],
                         ["billing@example.com", "sales@example.com", "support@example.com"])
        stranger = gmail("Mallory <mallory@evil.example>", SUPPORT,
                         "Re: [docket #%d] Angebot und Defekt" % tickets[0]["number"], "Hi.")
        replies = lmtpclient.send(self.port, stranger, ["support@example.com"])
        self.assertTrue(replies[0].startswith("550 5.7.1"), replies)  # refused by policy
        self.assertIn("follow_up = reject", replies[0])
        self.assertEqual(len(self.tickets()), 1)


def classification_wired():
    """Auto-replies and bounces are recognised by parsers/classify.c, which
    the message parser must call; until it does, those scenarios skip."""
    binary = os.environ.get("DOCKET_BINARY", "docket")
    with tempfile.NamedTemporaryFile(suffix=".eml") as f:
        f.write(b"From: a@customer.example\nTo: support@example.com\nSubject: Out of Office\n"
                b"Auto-Submitted: auto-replied\nMessage-ID: <probe@customer.example>\n\nAway.\n")
        f.flush()
        proc = subprocess.run([binary, "parse", "--json", f.name], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:
        return json.loads(proc.stdout)["classification"]["auto_reply"] is True
    except (ValueError, KeyError, TypeError):
        return False


@unittest.skipUnless(classification_wired(), "precondition: parsers/message.c does not call dk_classify yet")
class AutomaticMailTest(ThreadingCase):
    def test_out_of_office_answer_to_notification(self):
        number, _ = self.open_ticket()
        notification = docket_message_id(number)
        out = self.put(outlook(CUSTOMER, SUPPORT, "Automatische Antwort: [docket #%d] Drucker druckt nicht" % number,
                               "Ich bin bis 1. Dezember nicht im Buero.", in_reply_to=notification,
                               extra=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]),
                       at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))
        doc = self.show(number)
        self.assertEqual(doc["articles"][-1]["visibility"], "internal")
        self.assertEqual(self.events(doc), ["created", "auto_reply"])
        self.assertEqual(doc["ticket"]["status"], "new")

    def test_out_of_office_naming_no_ticket_opens_none(self):
        out = self.put(outlook(CUSTOMER, SUPPORT, "Automatische Antwort: Newsletter", "Nicht im Buero.",
                               extra=[("Auto-Submitted", "auto-replied")]))
        self.assertEqual(out["outcome"], "dropped")
        self.assertEqual(self.tickets(), [])

    def test_bounce_of_notification(self):
        number, _ = self.open_ticket()
        notification = docket_message_id(number)
        bounce = ("From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\n"
                  "To: support@example.com\nSubject: Undelivered Mail Returned to Sender\n"
                  "Date: Tue, 24 Nov 2026 08:20:00 +0000\nMessage-ID: <bounce1@mx.customer.example>\n"
                  "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
                  "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
                  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.example\n\n"
                  "Final-Recipient: rfc822; dana@customer.example\nAction: failed\nStatus: 5.1.1\n\n"
                  "--B\nContent-Type: text/rfc822-headers\n\nFrom: support@example.com\n"
                  "To: dana@customer.example\nSubject: [docket #%d] Drucker druckt nicht\n"
                  "Message-ID: <%s>\n\n--B--\n" % (number, notification))
        out = self.put(bounce.encode(), at=T0 + 60)
        self.assertEqual((out["outcome"], out["ticket"]), ("appended", str(number)))
        doc = self.show(number)
        bounces = [e["detail"] for e in doc["events"] if e["type"] == "bounce"]
        self.assertEqual([(b["recipient"], b["status"]) for b in bounces], [("dana@customer.example", "5.1.1")])
        # It came to the support address, not to the notification's own
        # bounce address: it proves nothing about dana, who stays unmarked.
        self.assertIsNone(bounces[0]["marked"])
        self.assertIn("bounce address", bounces[0]["why"])
        self.assertEqual(self.db("SELECT address, last_status FROM bouncing_addresses"), [])
        self.assertEqual(len(self.tickets()), 1)


if __name__ == "__main__":
    unittest.main()
