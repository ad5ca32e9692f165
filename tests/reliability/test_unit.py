"""The systemd unit in contrib/ (issue 11, item 6): it verifies, runs
docket as its own user on a read-only system with a private /tmp and no new
privileges, and systemd's own security review rates it "OK" or better.
Skips where systemd-analyze is missing."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

UNIT = os.path.join(os.environ.get("DOCKET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                    "contrib", "systemd", "docket.service")
ANALYZE = shutil.which("systemd-analyze")


@unittest.skipIf(ANALYZE is None, "precondition: systemd-analyze is not installed")
class UnitTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="docket-unit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        with open(UNIT) as f:
            self.text = f.read()
        # The unit names the installed binary; verify needs one that exists.
        self.path = os.path.join(self.dir, "docket.service")
        with open(self.path, "w") as f:
            f.write(self.text.replace("/usr/local/bin/docket", os.environ.get("DOCKET_BINARY", "/bin/true")))

    def settings(self):
        out = {}
        for line in self.text.splitlines():
            m = re.match(r"^([A-Za-z]+)=(.*)$", line)
            if m:
                out.setdefault(m.group(1), []).append(m.group(2))
        return out

    def test_hardening_settings(self):
        s = self.settings()
        for key, value in (("User", "docket"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                           ("PrivateTmp", "yes"), ("ReadWritePaths", "/var/lib/docket"),
                           ("CapabilityBoundingSet", ""), ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6")):
            self.assertIn(value, s.get(key, []), key)
        self.assertEqual(s["SystemCallFilter"][0], "@system-service")

    def test_verify(self):
        proc = subprocess.run([ANALYZE, "verify", self.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))

    def test_security_review(self):
        proc = subprocess.run([ANALYZE, "security", "--offline=yes", self.path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.stdout.decode(errors="replace")
        m = re.search(r"Overall exposure level for docket.service: ([0-9.]+) (\w+)", out)
        if m is None:
            self.skipTest("precondition: this systemd-analyze has no offline security review")
        self.assertIn(m.group(2), ("OK", "SAFE"), out)


if __name__ == "__main__":
    unittest.main()
