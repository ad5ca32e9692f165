"""A `docket serve` that cannot start logs a failure with its reason and
its exit status, never `event=stopped`; one that starts says once where
notifications go when they go nowhere."""

import os
import subprocess
import unittest

from dockettest import BINARY, DocketCase


class ServeStartTest(DocketCase):
    def serve(self, *args):
        return subprocess.run([BINARY, "-c", self.config, "serve", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def assert_failed(self, proc, status, reason):
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, status, err)
        self.assertIn("serve event=failed exit=%d error=\"" % status, err)
        self.assertIn(reason, err)
        self.assertNotIn("event=stopped", err)
        self.assertNotIn("event=ready", err)

    def test_a_listener_that_cannot_bind(self):
        # 192.0.2.1 (TEST-NET-1) is no address of this machine.
        self.assert_failed(self.serve("--listen", "192.0.2.1:2424"), 78,
                           "lmtp: listening on 192.0.2.1:2424")

    def test_a_store_that_cannot_open(self):
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = /proc/version/var\n")
        self.assert_failed(self.serve("--listen", "127.0.0.1:0"), 75, "/proc/version/var")

    def test_a_configuration_error_is_said_before_anything_starts(self):
        self.configure("[lmtp]\nlisten = 127.0.0.1\n")
        proc = self.serve()
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"docket.conf:4: [lmtp] listen: \xe2\x80\x9c127.0.0.1\xe2\x80\x9d has no port",
                      proc.stderr)
        self.assertNotIn(b"event=stopped", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
