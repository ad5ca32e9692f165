"""The quarantine: mail docket cannot read is kept and acknowledged, and an
administrator can reprocess it after changing a limit."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import DocketCase  # noqa: E402

BIG_HEADER = ("From: a@example.com\nSubject: huge header\nMessage-ID: <q1@example.com>\n"
              + "".join("X-Filler-%d: %s\n" % (i, "y" * 60) for i in range(40))
              + "\nbody of the quarantined message\n")


class QuarantineTest(DocketCase):
    config_text = "[parse]\nmax_header_size = 1K\n"

    def quarantine(self):
        return json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]

    def test_keep_list_show_reprocess(self):
        proc = self.deliver(BIG_HEADER)
        self.assertEqual(proc.returncode, 0, "kept safely, so acknowledged")
        self.assertIn(b"quarantine", proc.stderr)
        self.assertEqual(self.tickets(), [])
        # The same message again is the same entry.
        self.assertEqual(self.deliver(BIG_HEADER).returncode, 0)
        entries = self.quarantine()
        self.assertEqual(len(entries), 1)
        entry = entries[0]
        self.assertIn("header block larger than", entry["reason"])
        self.assertEqual(entry["intake"], "stdin")
        self.assertEqual(entry["size"], len(BIG_HEADER))
        raw = self.docket("quarantine", "show", str(entry["id"]), "--raw").stdout
        self.assertEqual(raw, BIG_HEADER.encode())
        # With the limit unchanged it still fails, and stays.
        proc = self.docket("quarantine", "reprocess", str(entry["id"]), check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"still unreadable", proc.stdout)
        self.assertEqual(len(self.quarantine()), 1)
        # After the administrator raises the limit it becomes a ticket.
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("max_header_size = 1K", "max_header_size = 1M"))
        out = self.docket("quarantine", "reprocess", "--all").stdout.decode()
        self.assertIn("ticket 1 created", out)
        self.assertEqual(self.quarantine(), [])
        doc = self.show(1)
        self.assertEqual(doc["ticket"]["subject"], "huge header")
        self.assertIn("body of the quarantined message", doc["articles"][0]["text"])

    def test_errors(self):
        self.assertEqual(self.docket("quarantine", "show", "9", check=False).returncode, 66)
        self.assertEqual(self.docket("quarantine", "reprocess", "9", check=False).returncode, 66)
        self.assertEqual(self.docket("quarantine", "frobnicate", check=False).returncode, 64)
        self.assertIn(b"ID", self.docket("quarantine", "list").stdout)


# Past a MiB a quarantined message is parsed again from a file, read a
# piece at a time from the store (gateway/core/reprocess.c).
LARGE = (BIG_HEADER.replace("<q1@", "<q-large@").replace("body of", "large body of")
         + "".join("line %07d of the large message's body\n" % i for i in range(80000)))


class LargeQuarantineTest(DocketCase):
    config_text = "[parse]\nmax_header_size = 1K\n"

    def test_large_shown_and_reprocessed_whole(self):
        self.assertGreater(len(LARGE), 2 * 1048576)
        self.assertEqual(self.deliver(LARGE).returncode, 0)
        entries = json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]
        self.assertEqual([e["size"] for e in entries], [len(LARGE)])
        raw = self.docket("quarantine", "show", str(entries[0]["id"]), "--raw").stdout
        self.assertEqual(raw, LARGE.encode())
        self.configure("max_header_size = 1M\n")  # the last section is [parse]
        out = self.docket("quarantine", "release", str(entries[0]["id"])).stdout.decode()
        self.assertIn("ticket 1 created", out)
        doc = self.show(1)
        self.assertEqual(doc["ticket"]["subject"], "huge header")
        # (the article's text is cut at [parse]'s text limit; the raw mail is whole)
        self.assertTrue(doc["articles"][0]["text"].startswith("large body of the quarantined"))
        export = os.path.join(self.dir, "export")
        self.docket("ticket", "export", "1", "--to", export)
        eml = [f for f in os.listdir(export) if f.endswith(".eml")]
        with open(os.path.join(export, eml[0]), "rb") as f:
            self.assertEqual(f.read(), LARGE.encode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
