"""Every ```ini block of README.md is a configuration docket accepts as it
is written (the files it names stood in for by files of the right kind):
what the README shows an administrator to copy must pass `docket config
check`."""

import os
import re
import subprocess
import tempfile
import unittest

from dockettest import BINARY

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FILE_KEY = re.compile(r"^([a-z_]*_file|script|ca_file|credentials_file|templates_dir) = (/\S+)$",
                      re.M)


def blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"```ini\n(.*?)```", f.read(), re.S)


class ReadmeConfigTest(unittest.TestCase):
    def test_every_ini_block_is_valid(self):
        found = blocks()
        self.assertGreaterEqual(len(found), 4)
        work = tempfile.mkdtemp(prefix="docket-readme-")
        self.addCleanup(subprocess.run, ["rm", "-rf", work])

        def stand_in(m):
            path = os.path.join(work, m.group(1))
            if m.group(1) == "templates_dir":
                os.makedirs(path, exist_ok=True)
            else:
                with open(path, "w") as f:
                    f.write({"script": "keep;\n", "holidays_file": "2026-12-25\n"}
                            .get(m.group(1), "secret\n"))
                os.chmod(path, 0o600)
            return "%s = %s" % (m.group(1), path)

        for i, block in enumerate(found):
            block = FILE_KEY.sub(stand_in, block)
            # a PostgreSQL URL's CA certificate: a file of that name
            ca = os.path.join(work, "ca.crt")
            with open(ca, "w") as f:
                f.write("certificate\n")
            block = re.sub(r"sslrootcert=/\S+", "sslrootcert=" + ca, block)
            text = "[store]\ndata_dir = %s/var\n%s" % (work, block)
            path = os.path.join(work, "block%d.conf" % i)
            with open(path, "w") as f:
                f.write(text)
            proc = subprocess.run([BINARY, "-c", path, "config", "check"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(proc.returncode, 0, "block %d:\n%s\n%s" % (i, block,
                                                                        proc.stderr.decode()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
