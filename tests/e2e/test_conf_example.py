"""contrib/docket.conf.example lists every key of the configuration schema
(gateway/config.c) with its default, the [kind:NAME] sections commented
out, and docket accepts the file as it is."""

import os
import re
import subprocess
import unittest

from dockettest import BINARY

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLE = os.path.join(ROOT, "contrib", "docket.conf.example")
SCHEMA_ENTRY = re.compile(r'\{"([a-z_]+(?::\*)?)", "([a-z_]+)", DK_CONF_\w+,\s*"([^"]*)"')


def schema():
    """(section, key) -> default, from the schema table of config.c."""
    with open(os.path.join(ROOT, "gateway", "config.c")) as f:
        text = f.read()
    table = text[text.index("schema[] = {"):]
    table = table[:table.index("};")]
    return {(s, k): v for s, k, v in SCHEMA_ENTRY.findall(table)}


def example():
    """(section, key) -> value in the example; a commented [kind:NAME]
    section counts as section kind:*, with its commented keys."""
    out = {}
    section = None
    with open(EXAMPLE) as f:
        for line in f:
            line = line.strip()
            m = re.fullmatch(r"#? ?\[([a-z_]+)(:NAME)?\]", line)
            if m:
                section = m.group(1) + (":*" if m.group(2) else "")
                continue
            m = re.fullmatch(r"(# )?([a-z_]+) =(?: (.*))?", line)
            if m and section is not None and bool(m.group(1)) == section.endswith(":*"):
                out[(section, m.group(2))] = m.group(3) or ""
    return out


class ConfExampleTest(unittest.TestCase):
    def test_every_key_with_its_default(self):
        keys = schema()
        self.assertGreater(len(keys), 50)
        self.assertEqual(example(), keys)

    def test_docket_accepts_it(self):
        proc = subprocess.run([BINARY, "-c", EXAMPLE, "config", "check"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
