"""docket template render: a notification preview, and errors with their
position; --strict and `config check` report names docket's data does
not have; an ack.txt overridden alone says that the HTML part goes."""

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

    def test_strict_finds_unknown_names(self):
        typo = self.write("typo.txt", "Subject: {{ticket.token}} {{ticket.subjct}}\n\n"
                                      "{{#requester}}Hello {{name}} {{adress}}{{/requester}}\n")
        data = self.write("data.json", "{}")
        # without --strict a typo renders as nothing
        self.assertEqual(self.docket("template", "render", typo, data).returncode, 0)
        proc = self.docket("template", "render", "--strict", typo, data, check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertEqual(proc.stderr.decode().splitlines(),
                         ["%s:1:27: unknown variable “ticket.subjct”" % typo,
                          "%s:3:30: unknown variable “adress”" % typo])
        self.assertEqual(proc.stdout, b"")
        good = self.write("good.txt", "Subject: {{ticket.token}}\n\n{{ticket.link}} {{sla.due}}\n")
        self.assertEqual(self.docket("template", "render", "--strict", good, data).returncode, 0)

    def test_config_check_reads_the_templates(self):
        folder = os.path.join(self.dir, "templates")
        os.makedirs(os.path.join(folder, "billing"))
        self.write("templates/ack.txt", "Subject: {{ticket.token}} Got it\n\nWe got {{ticket.subject}}.\n")
        self.write("templates/billing/team-new.txt", "Subject: {{ticket.token}}\n\n{{article.text}}\n")
        with open(self.config, "a") as f:
            f.write("[notify]\ntemplates_dir = %s\nticket_link = https://desk.example.com/t/{{ticket.id}}\n"
                    % folder)
        proc = self.docket("config", "check", check=False)
        self.assertEqual(proc.returncode, 78)
        errors = proc.stderr.decode()
        self.assertIn("billing/team-new.txt:3:1: unknown variable “article.text”", errors)
        self.assertIn("[notify] ticket_link: unknown variable “ticket.id”", errors)
        self.assertIn("note: ack.txt is overridden without ack.html beside it: that mail goes as plain"
                      " text alone (the default ack.html is dropped", proc.stdout.decode())
        # fixed: the note stays, the check passes
        self.write("templates/billing/team-new.txt", "Subject: {{ticket.token}}\n\n{{article.full_text}}\n")
        with open(self.config) as f:
            text = f.read().replace("{{ticket.id}}", "{{ticket.number}}")
        with open(self.config, "w") as f:
            f.write(text)
        proc = self.docket("config", "check")
        self.assertIn("note: ack.txt", proc.stdout.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
