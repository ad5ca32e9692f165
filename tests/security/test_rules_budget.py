"""Point 9: one message cannot hold the writer with a slow rule. The
attack: a backtracking regular expression over many headers (73 s for one
message on main while every other session waited). Each message's rule run
has a budget in steps ([rules] max_steps, deterministic: the same script
and message cost the same on any machine); past it the run stops with an
event and the message is stored as if no rule had matched."""

import unittest

from seclib import TrustCase, detail, events, mail

SCRIPT = """require ["regex", "fileinto"];
fileinto "slow";
if header :regex "received" "^(a|aa)+$" { discard; }
"""


class RulesBudgetTest(TrustCase):
    def setUp(self):
        super().setUp()
        self.rules(SCRIPT, "max_steps = 20000\n")

    def test_backtracking_regex_over_many_headers_stops(self):
        received = "".join("Received: %sb\n" % ("a" * 28) for _ in range(400))
        proc = self.deliver(mail("mallory@example.net", "slow", "slow@example.net",
                                 headers=received))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        ticket = self.tickets()[0]
        # As if no rule had matched: the fileinto before the regex is undone.
        self.assertEqual(ticket["queue"], "default")
        shown = self.show(ticket["number"])
        stopped = events(shown, "rules_budget_exceeded")
        self.assertEqual(len(stopped), 1, shown["events"])
        d = detail(stopped[0])
        self.assertIn("budget of 20000 steps", d["error"])
        self.assertGreater(d["steps"], 20000)
        self.assertEqual(events(shown, "rule_fired"), [])

    def test_ordinary_mail_runs_the_rules(self):
        proc = self.deliver(mail("ann@example.org", "printer", "p@example.org",
                                 headers="Received: from a by b\n"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.tickets()[0]["queue"], "slow")


if __name__ == "__main__":
    unittest.main()
