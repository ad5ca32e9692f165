"""Point 5: a forged agent From runs nothing and mails nobody. The
attack: with the default configuration, mail with an agent's address in
From ran "#status"/"#assign" and made docket mail the attacker's text to
the customer as Support. Now agent mail is verified only by an
Authentication-Results header of our own authserv-id with DKIM or SPF
passing for a domain aligned with the From; the header is read by RFC
8601's grammar (a quoted local part cannot hide a pass); and a message
with two From, Sender or Authentication-Results of ours is never
verified. Unverified agent mail is an inbound article with an event."""

import json
import unittest

from seclib import SUPPORT, DocketCase, detail, events, mail

AGENT = "alex@corp.example"
CUSTOMER = "ann@customer.example"


class AgentForgeryCase(DocketCase):
    def open_ticket(self):
        self.assertEqual(self.deliver(mail(CUSTOMER, "VPN down", "v1@customer")).returncode, 0)

    def forged(self, n, headers=""):
        """Mallory's mail as the agent, to support only (a relay's shape),
        threading by the customer's Message-ID."""
        proc = self.deliver(mail(AGENT, "Re: [docket #1] VPN down", "f%d@evil" % n,
                                 body="#status resolved\n#assign mallory@evil.example\n\n"
                                      "Please send your password to mallory@evil.example.\n",
                                 headers="In-Reply-To: <v1@customer>\n" + headers))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def relays(self):
        rows = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
        return [r for r in rows if r["kind"] == "relay"]

    def assert_nothing_obeyed(self):
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "new")
        self.assertIsNone(shown["ticket"]["assignee"])
        self.assertEqual(self.relays(), [])
        last = shown["articles"][-1]
        self.assertEqual(last["direction"], "inbound")
        why = [detail(e)["why"] for e in events(shown)
               if e["type"] in ("agent_commands_ignored", "agent_unverified")]
        self.assertTrue(why, shown["events"])
        return why[-1]


class DefaultConfigurationTest(AgentForgeryCase):
    config_text = "[agents]\naddresses = %s\n" % AGENT

    def test_a_forged_from_is_not_obeyed_by_default(self):
        self.open_ticket()
        self.forged(1)
        self.assertIn("authserv_id", self.assert_nothing_obeyed())

    def test_config_check_warns(self):
        err = self.docket("config", "check").stderr.decode()
        self.assertIn("no agent mail can be verified", err)


class VerifiedTest(AgentForgeryCase):
    config_text = "[agents]\naddresses = %s\nauthserv_id = mx.corp.example\n" % AGENT

    def test_quoted_local_part_hides_no_pass(self):
        self.open_ticket()
        self.forged(1, 'Authentication-Results: mx.corp.example; spf=pass smtp.mailfrom='
                       '"a;spf=pass smtp.mailfrom=x@corp.example z"@evil.example\n')
        self.assertIn("aligned", self.assert_nothing_obeyed())

    def test_a_second_header_of_ours_is_never_trusted(self):
        self.open_ticket()
        self.forged(1, "Authentication-Results: mx.corp.example; dkim=pass header.d=corp.example\n"
                       "Authentication-Results: mx.corp.example; spf=fail smtp.mailfrom=corp.example\n")
        self.assertIn("more than one", self.assert_nothing_obeyed())

    def test_two_from_are_never_trusted(self):
        self.open_ticket()
        proc = self.deliver(("From: %s, mallory@evil.example\nTo: %s\nSubject: Re: [docket #1]\n"
                             "Message-ID: <f3@evil>\nIn-Reply-To: <v1@customer>\n"
                             "Authentication-Results: mx.corp.example; dkim=pass header.d=corp.example\n"
                             "\n#status resolved\n" % (AGENT, SUPPORT)).encode())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.show(1)["ticket"]["status"], "new")

    def test_the_real_agent_is_obeyed(self):
        self.open_ticket()
        proc = self.deliver(mail(AGENT, "Re: [docket #1] VPN down", "a1@corp",
                                 body="#status in_progress\n\nRestart the router, please.\n",
                                 headers="In-Reply-To: <v1@customer>\nAuthentication-Results: "
                                         "mx.corp.example; dkim=pass header.d=corp.example\n"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "in_progress")
        self.assertEqual(shown["articles"][-1]["direction"], "outbound")
        self.assertEqual(len(self.relays()), 1)


if __name__ == "__main__":
    unittest.main()
