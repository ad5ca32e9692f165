"""The arrows between docket's folders point one way (README, Architecture):
the libraries use nothing of gateway/; inside gateway/, intake -> core ->
store, desk -> outbox, and nothing below calls back up. Reads the #include
lines of every source file and fails with each include that points the
wrong way."""

import os
import re
import sys
import unittest

SOURCE = os.environ.get("DOCKET_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# folder -> the folders of this repository it may include from. gateway/'s
# error.h (the error domain), json.h (jansson's cleanup) and config.h are
# the headers every layer of gateway/ shares.
SHARED = {"gateway/error.h", "gateway/json.h", "gateway/config.h"}
ALLOWED = {
    "parsers": {"parsers"},
    "rules": {"rules", "parsers"},
    "templates": {"templates"},
    # ops/ is standalone: the PostgreSQL store reads its password through
    # ops/secret-file.h as every other secret file is read.
    "gateway/store": {"gateway/store", "gateway/ops", "parsers"},
    "gateway/desk": {"gateway/desk", "gateway/store", "parsers"},
    "gateway/core": {"gateway/core", "gateway/store", "gateway/desk", "parsers", "rules",
                     "templates"},
    "gateway/outbox": {"gateway/outbox", "gateway/core", "gateway/store", "gateway/desk",
                       "gateway/ops", "parsers", "rules", "templates"},
    "gateway/ops": {"gateway/ops"},
    # The web server, the API and the web desk: on top, beside cli/.
    "gateway/web": {"gateway/web", "gateway/core", "gateway/store", "gateway/desk",
                    "gateway/outbox", "gateway/ops", "parsers", "rules", "templates"},
}


def folder_of(path):
    """The ALLOWED key a repository path belongs to, or None."""
    for folder in sorted(ALLOWED, key=len, reverse=True):
        if path == folder or path.startswith(folder + "/"):
            return folder
    return None


def violations():
    found = []
    for top in ("parsers", "rules", "templates", "gateway"):
        for root, _, files in os.walk(os.path.join(SOURCE, top)):
            for name in files:
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.relpath(os.path.join(root, name), SOURCE)
                mine = folder_of(path)
                if mine is None:
                    continue  # main.c, config.c, cli/ and intake/ may use anything
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    text = f.read()
                for target in INCLUDE.findall(text):
                    if "/" not in target or target in SHARED and mine.startswith("gateway/"):
                        continue  # a header beside it, or a shared one
                    theirs = folder_of(target) or os.path.dirname(target)
                    if theirs not in ALLOWED[mine]:
                        found.append("%s includes %s" % (path, target))
    return found


def outbox_writers():
    """The files of gateway/core/ that write an outbox row themselves:
    core/ hands its effects to the outbox (core/effects.h) instead."""
    found = []
    for root, _, files in os.walk(os.path.join(SOURCE, "gateway", "core")):
        for name in files:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                if "dk_store_outbox_add" in f.read():
                    found.append(os.path.relpath(os.path.join(root, name), SOURCE))
    return found


class LayersTest(unittest.TestCase):
    def test_core_writes_no_outbox_row(self):
        self.assertEqual(outbox_writers(), [])

    def test_arrows_point_one_way(self):
        self.assertTrue(os.path.isdir(os.path.join(SOURCE, "gateway")), SOURCE)
        wrong = violations()
        self.assertEqual(wrong, [], "\n" + "\n".join(wrong))


if __name__ == "__main__":
    unittest.main(verbosity=2)
