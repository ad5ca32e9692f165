"""Every command's --help prints that command's own help (exit 0, on
stdout), a subcommand's included; `rules check` says OK."""

import os
import subprocess
import tempfile
import unittest

from dockettest import BINARY

COMMANDS = {
    "serve": [], "poll": [], "deliver": [], "import": [], "parse": [],
    "template": ["render"], "connector": ["check", "poll"], "config": ["check", "dump"],
    "outbox": ["list", "run", "retry", "drop"], "bounces": ["list", "clear"],
    "quarantine": ["list", "show", "reprocess", "release"],
    "imap": ["authorize"], "rules": ["check", "test"],
    "user": ["list", "add", "password", "role", "disable", "enable", "token", "tokens", "revoke"],
    "ticket": ["list", "show", "export", "search", "set", "note", "reply", "time", "merge",
               "autoclose", "sla-check"],
    "store": ["purge"],
}
# What only that ticket subcommand's help says.
TICKET_WORDS = {
    "list": "most urgent first", "show": "its articles, time entries", "search": "every word",
    "export": "each article's raw message",
    "set": "Changes status", "note": "An internal note", "reply": "mailed to the requester",
    "time": "Records work", "merge": "Moves B's articles", "autoclose": "Closes the tickets",
    "sla-check": "Records the SLA targets missed",
}


def run(*args):
    return subprocess.run([BINARY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


class HelpTest(unittest.TestCase):
    def test_every_command_and_subcommand(self):
        for command, subs in COMMANDS.items():
            for args in [[command]] + [[command, sub] for sub in subs]:
                proc = run(*args, "--help")
                out = proc.stdout.decode()
                self.assertEqual(proc.returncode, 0, (args, proc.stderr))
                self.assertIn("Usage", out, args)
                usage = out.split("\n\n")[0]
                self.assertIn(args[-1], usage, (args, usage))
                self.assertEqual(proc.stderr, b"", args)

    def test_a_ticket_subcommand_has_its_own_help(self):
        for sub, words in TICKET_WORDS.items():
            out = run("ticket", sub, "--help").stdout.decode()
            self.assertIn(words, out, sub)
            for other, theirs in TICKET_WORDS.items():
                if other != sub:
                    self.assertNotIn(theirs, out, (sub, other))
        self.assertNotIn("--assign", run("ticket", "show", "--help").stdout.decode())
        self.assertIn("--assign", run("ticket", "set", "--help").stdout.decode())
        self.assertIn("--limit", run("ticket", "search", "--help").stdout.decode())

    def test_rules_check_says_ok(self):
        with tempfile.NamedTemporaryFile("w", suffix=".sieve", delete=False) as f:
            f.write('require "fileinto";\nfileinto "it";\n')
        self.addCleanup(os.unlink, f.name)
        proc = run("rules", "check", f.name)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode(), "%s: OK\n" % f.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
