"""What `docket deliver`, one process per message, loads as it starts.
Built with DOCKET_STATIC_DEPS (the default), docket needs only the C
library and libm, and a delivery loads no other shared object: not
libmount or libselinux (loaded on first call by gateway/lazy-libs.c, and
GIO's code that calls them never runs), nor a gconv module (no default of
the configuration is checked at each start). Skipped for a build linked with shared
libraries (the sanitizer builds)."""

import os
import shutil
import subprocess
import sys
import unittest

from dockettest import BINARY, DocketCase

MAIL = (b"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Started\n"
        b"Message-ID: <start1@example.org>\n\nHello.\n")
ALLOWED = {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2"}


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, check=True,
                         timeout=60).stdout.decode()
    return {line.split("[", 1)[1].split("]", 1)[0]
            for line in out.splitlines() if "(NEEDED)" in line}


class DeliverStartTest(DocketCase):
    def test_needs_only_the_c_library(self):
        self.assertLessEqual(needed(shutil.which(BINARY) or BINARY), ALLOWED)

    def test_delivery_loads_nothing_more(self):
        trace = os.path.join(self.dir, "ld")
        env = dict(os.environ, LD_DEBUG="files", LD_DEBUG_OUTPUT=trace, LANG="C.UTF-8")
        env.pop("LC_ALL", None)
        proc = subprocess.run([BINARY, "-c", self.config, "deliver"], input=MAIL, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        names = set()
        for name in os.listdir(self.dir):
            if name.startswith("ld."):
                with open(os.path.join(self.dir, name)) as f:
                    for line in f:
                        if "calling init:" in line:
                            names.add(os.path.basename(line.split("calling init:")[1].strip()))
                        elif "file=" in line:
                            names.add(os.path.basename(line.split("file=", 1)[1].split()[0]))
        self.assertIn("libc.so.6", names, "LD_DEBUG wrote no file names")
        self.assertLessEqual(names, ALLOWED)
        self.assertEqual(len(self.tickets()), 1)


if __name__ == "__main__":
    if shutil.which("readelf") is None:
        print("skipped: needs readelf (binutils)")
        sys.exit(77)
    if any(name.startswith("libglib-2.0") for name in needed(shutil.which(BINARY) or BINARY)):
        print("skipped: docket is linked with shared libraries (DOCKET_STATIC_DEPS off)")
        sys.exit(77)
    unittest.main()
