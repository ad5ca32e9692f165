"""Point 1: machine-generated mail becomes tickets. The lost mail: a
monitoring alert (Nagios, Zabbix, PRTG, an RMM) carries
"Auto-Submitted: auto-generated" and was dropped with exit 0 before the
rules ran: no ticket, no event. Only auto-replies (out-of-office,
vacation, RFC 3834 auto-replied) stay out of new tickets; alerts become
tickets and are never acknowledged; the rules see every message,
auto-replies included, and may file or discard one explicitly."""

import json
import unittest

from seclib import TrustCase, events, mail

NAGIOS = ("** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
          "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n"
          "X-Mailer: Nagios\n",
          "***** Nagios *****\n\nHost: web01\nState: CRITICAL\n")


class MachineMailTest(TrustCase):
    def outbox(self):
        return json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]

    def test_a_monitoring_alert_becomes_a_ticket_without_an_ack(self):
        subject, headers, body = NAGIOS
        proc = self.deliver(mail("nagios@monitor.customer.example", subject, "n1@monitor",
                                 body=body, headers=headers))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tickets = self.tickets()
        self.assertEqual(len(tickets), 1)
        self.assertEqual(tickets[0]["requester"], "nagios@monitor.customer.example")
        # Machine mail is never answered automatically.
        self.assertEqual([r for r in self.outbox() if r["kind"] == "ack"], [])

    def test_suppress_all_alone_is_no_auto_reply(self):
        proc = self.deliver(mail("alerts@saas.example", "Your invoice is ready", "s1@saas",
                                 headers="X-Auto-Response-Suppress: All\n"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.tickets()), 1)

    def test_an_out_of_office_stays_out_of_new_tickets(self):
        self.deliver(mail("ann@customer.example", "Automatic reply: hello", "o1@customer",
                          headers="Auto-Submitted: auto-replied\n"))
        self.assertEqual(self.tickets(), [])

    def test_rules_see_auto_replies(self):
        self.rules('require ["fileinto", "vnd.docket.ticket"];\n'
                   'if message_class "auto_reply" { fileinto "absences"; }\n')
        self.deliver(mail("ann@customer.example", "Automatiskt svar: hej", "o2@customer",
                          headers="Auto-Submitted: auto-replied\n"))
        tickets = self.tickets()
        self.assertEqual(len(tickets), 1)
        self.assertEqual(tickets[0]["queue"], "absences")
        shown = self.show(tickets[0]["number"])
        fired = events(shown, "rule_fired")
        self.assertEqual(len(fired), 1)


if __name__ == "__main__":
    unittest.main()
