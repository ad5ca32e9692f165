"""Point 4: rules respect the ticket lifecycle, and an auto-reply's rules
change no ticket. The attacks: a rule closed a ticket that was still new
(a ticket closes only once resolved), which `docket ticket set` refuses;
and anyone who can make an
auto-responder answer (or forge its headers) could drive rules that set
the status or priority of the ticket the auto-reply joins."""

import unittest

from seclib import TrustCase, detail, events, mail


class RulesLifecycleTest(TrustCase):
    def test_a_rule_cannot_close_a_new_ticket(self):
        self.rules('require "vnd.docket.ticket";\nticket_status "closed";\n')
        self.assertEqual(self.deliver(mail("ann@customer.example", "printer",
                                           "p1@customer")).returncode, 0)
        shown = self.show(1)
        self.assertEqual(shown["ticket"]["status"], "new")
        refused = events(shown, "rule_action_refused")
        self.assertEqual(len(refused), 1)
        self.assertEqual(detail(refused[0])["line"], 2)
        # What ticket set refuses too.
        proc = self.docket("ticket", "set", "1", "--status", "closed", check=False)
        self.assertNotEqual(proc.returncode, 0)

    def test_an_auto_reply_changes_no_field(self):
        self.rules('require "vnd.docket.ticket";\n'
                   'if message_class "auto_reply" {\n'
                   '  ticket_priority "critical";\n  ticket_status "on_hold";\n}\n')
        self.deliver(mail("ann@customer.example", "printer", "p1@customer"))
        self.docket("ticket", "set", "1", "--status", "open")
        proc = self.deliver(mail("ann@customer.example", "Automatic reply: [docket #1] printer",
                                 "o1@customer", headers="Auto-Submitted: auto-replied\n"
                                 "In-Reply-To: <p1@customer>\n"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        shown = self.show(1)
        self.assertEqual(len(shown["articles"]), 2)
        self.assertEqual(shown["ticket"]["priority"], "none")
        self.assertEqual(shown["ticket"]["status"], "open")
        ignored = events(shown, "rule_actions_ignored")
        self.assertEqual(len(ignored), 1)
        self.assertEqual([a["line"] for a in detail(ignored[0])["actions"]], [3, 4])


if __name__ == "__main__":
    unittest.main()
