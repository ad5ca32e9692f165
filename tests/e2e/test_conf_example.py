"""contrib/docket.conf.example against the configuration schema
(gateway/config-schema.c) and the validator: it lists every key with its
default, the [kind:NAME] sections commented out; docket accepts it as it
is, and also with every example value ("# key = value" below a key) and
every commented section written in; and each "# one of:" line names
exactly the choices docket accepts for the key below it."""

import os
import re
import subprocess
import tempfile
import unittest

from dockettest import BINARY

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLE = os.path.join(ROOT, "contrib", "docket.conf.example")
SCHEMA_ENTRY = re.compile(r'\{"([a-z_]+(?::\*)?)", "([a-z_]+)", DK_CONF_(\w+),\s*"([^"]*)"([^}]*)\}',
                          re.S)
SECTION = re.compile(r"#? ?\[([a-z_]+)(:NAME)?\]")
KEY = re.compile(r"(# )?([a-z_]+) =(?: (.*))?")
# What a commented section needs to be valid once written in.
REQUIRED = {
    "imap:*": {"host": "imap.example.com", "user": "support@example.com",
               "password_file": "@SECRET@"},
    "connector:*": {"base_url": "https://desk.example.com/api"},
    "foreign:*": {"pattern": r"ACME-(\d+)"},
}


def schema():
    """(section, key) -> (type, default, choices, check), from the schema
    table."""
    with open(os.path.join(ROOT, "gateway", "config-schema.c")) as f:
        text = f.read()
    table = text[text.index("dk_conf_schema[] = {"):]
    table = table[:table.index("\n};")]
    out = {}
    for section, key, kind, default, rest in SCHEMA_ENTRY.findall(table):
        choices = re.search(r'"([^"]*)"', rest)
        check = re.search(r"\.check = DK_CHECK_(\w+)", rest)
        out[(section, key)] = (kind, default, choices.group(1).split("|") if choices else None,
                               check.group(1) if check else "NONE")
    return out


def parse():
    """Walks the example: yields (section, key, value, is_example, comments
    just above) for every key line; a commented [kind:NAME] section counts
    as section kind:*, its commented keys as its keys."""
    section = None
    comments = []
    with open(EXAMPLE) as f:
        for line in f:
            line = line.strip()
            m = SECTION.fullmatch(line)
            if m:
                section = m.group(1) + (":*" if m.group(2) else "")
                comments = []
                continue
            m = KEY.fullmatch(line)
            if m and section is not None:
                commented = bool(m.group(1))
                instance = section.endswith(":*")
                yield section, m.group(2), m.group(3) or "", commented and not instance, comments
                comments = []
            elif line.startswith("#"):
                comments.append(line)
            else:
                comments = []


class ConfExampleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="docket-example-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def check(self, text):
        path = os.path.join(self.dir, "docket.conf")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([BINARY, "-c", path, "config", "check"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def fixture(self, check, value):
        """A value that names a file made to stand for the example's."""
        path = os.path.join(self.dir, check.lower())
        if check == "DIR":
            os.makedirs(path, exist_ok=True)
        elif check in ("FILE", "SECRET_FILE", "SIEVE", "DATES_FILE"):
            with open(path, "w") as f:
                f.write({"SIEVE": "keep;\n", "DATES_FILE": "2026-12-25 Christmas\n"}
                        .get(check, "secret\n"))
            os.chmod(path, 0o600)
        else:
            return value
        return path

    def test_every_key_with_its_default(self):
        keys = schema()
        self.assertGreater(len(keys), 50)
        defaults = {(s, k): v for s, k, v, example, _ in parse() if not example}
        self.assertEqual(defaults, {key: entry[1] for key, entry in keys.items()})

    def test_docket_accepts_it(self):
        proc = subprocess.run([BINARY, "-c", EXAMPLE, "config", "check"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_every_value_and_section_written_in(self):
        """The example with each example value in place of its default and
        each commented section written in (with what it requires)."""
        keys = schema()
        examples = {}
        for section, key, value, example, _ in parse():
            if example:
                examples.setdefault((section, key), []).append(value)
        self.assertGreater(len(examples), 20)
        lines = []
        section = None
        secret = self.fixture("SECRET_FILE", None)
        for (s, k), values in examples.items():
            self.assertIn((s, k), keys, "example of an unknown key")
        for s, k, value, example, _ in parse():
            if example:
                continue
            if s != section:
                section = s
                lines.append("[%s]" % s.replace(":*", ":example"))
                for rk, rv in REQUIRED.get(s, {}).items():
                    lines.append("%s = %s" % (rk, rv.replace("@SECRET@", secret)))
            if k in REQUIRED.get(s, {}):
                continue
            value = examples.get((s, k), [value])[-1]
            lines.append("%s = %s" % (k, self.fixture(keys[(s, k)][3], value) if value else ""))
        proc = self.check("\n".join(lines) + "\n")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode() + "\n".join(lines))

    def test_one_of_lines_name_the_choices(self):
        keys = schema()
        seen = set()
        for section, key, _, example, comments in parse():
            kind, _, choices, _ = keys[(section, key)]
            said = [c for c in comments if c.startswith("# one of: ")]
            if kind != "ENUM" or example:
                self.assertEqual(said, [], "%s %s is no choice" % (section, key))
                continue
            self.assertEqual(len(said), 1, "[%s] %s: no “# one of:” line" % (section, key))
            self.assertEqual(said[0][len("# one of: "):].split(", "), choices,
                             "[%s] %s" % (section, key))
            seen.add((section, key))
        self.assertEqual(seen, {k for k, e in keys.items() if e[0] == "ENUM"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
