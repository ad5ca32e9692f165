"""Point 8: another system's ticket number is a token anyone can write.
The attack: a stranger mentions "SUP-4711" and joins that ticket (and so
reads the agents' answers sent to its participants). Foreign numbers now
follow the participant policy of docket's own token: a stranger's mail
opens a new ticket linked to the old (default follow_up = new_ticket)."""

import unittest

from seclib import DocketCase, mail


class ForeignNumbersTest(DocketCase):
    config_text = "[foreign:psa]\npattern = SUP-([0-9]+)\n"

    def test_a_stranger_naming_a_foreign_number_does_not_join(self):
        self.assertEqual(self.deliver(mail("ann@customer.example", "Printer SUP-4711 broken",
                                           "a1@customer.example")).returncode, 0)
        self.assertEqual(self.deliver(mail("mallory@evil.example", "About SUP-4711",
                                           "m1@evil.example")).returncode, 0)
        first = self.show(1)
        self.assertEqual([a["from"] for a in first["articles"]], ["ann@customer.example"])
        tickets = {t["number"]: t for t in self.tickets()}
        self.assertEqual(len(tickets), 2)
        second = self.show(2)
        self.assertEqual(second["articles"][0]["from"], "mallory@evil.example")

    def test_a_participant_naming_it_still_threads(self):
        self.deliver(mail("ann@customer.example", "Printer SUP-4711 broken", "a1@customer.example"))
        self.deliver(mail("ann@customer.example", "Re: SUP-4711", "a2@customer.example"))
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(len(self.show(1)["articles"]), 2)


if __name__ == "__main__":
    unittest.main()
