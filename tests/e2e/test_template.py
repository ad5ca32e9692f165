"""docket template render: a notification preview, and errors with their
position."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from dockettest import DocketCase  # noqa: E402


class TemplateTest(DocketCase):
    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_render_notification(self):
        tpl = self.write("ack.txt", "Subject: {{ticket.token}} {{ticket.subject}}\n\n"
                                    "Hello {{requester.name}},\nwe got: {{article.new_text}}\n")
        data = self.write("data.json", json.dumps({
            "ticket": {"token": "[docket #7]", "subject": "Printer\r\nBcc: evil@example.com"},
            "requester": {"name": "Alice & Bob"},
            "article": {"new_text": "a < b"}}))
        out = self.docket("template", "render", tpl, data).stdout.decode()
        # The header cannot be split, and a text body is not HTML-escaped.
        self.assertIn("Subject: [docket #7] Printer  Bcc: evil@example.com\n", out)
        self.assertNotIn("\nBcc:", out)
        self.assertIn("Hello Alice & Bob,", out)
        self.assertIn("we got: a < b", out)

    def test_errors(self):
        bad = self.write("bad.txt", "Subject: x\n\n{{#open}}\nnever closed\n")
        data = self.write("data.json", "{}")
        proc = self.docket("template", "render", bad, data, check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertRegex(proc.stderr.decode(), r"bad\.txt:\d+:\d+:")
        proc = self.docket("template", "render", bad, self.write("x.json", "{nope"), check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertEqual(self.docket("template", "render", check=False).returncode, 64)


if __name__ == "__main__":
    unittest.main(verbosity=2)
