"""`cmake --install` into a temporary prefix, then the installed programs
at work: docket and docket-net side by side, the example configuration,
the templates, the manual page made from the --help texts, and the
systemd unit naming the installed paths and ordered before Debian 12's
real Postfix service."""

import os
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("DOCKET_BUILD_DIR")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MAIL = (b"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Installed\n"
        b"Message-ID: <inst1@example.org>\n\nHello.\n")


@unittest.skipUnless(BUILD and shutil.which("cmake"), "needs DOCKET_BUILD_DIR and cmake")
class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="docket-install-")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        cls.bin = os.path.join(cls.prefix, "bin", "docket")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def run_docket(self, *args, stdin=b"", cwd=None):
        return subprocess.run([self.bin, *args], input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=cwd, timeout=60)

    def test_files(self):
        for name in ("bin/docket", "bin/docket-net"):
            self.assertTrue(os.access(self.path(name), os.X_OK), name)
        for name in ("ack.txt", "ack.html", "signature.txt", "team-new.txt", "sla-breach.txt"):
            self.assertTrue(os.path.isfile(self.path("share", "docket", "templates", name)), name)
        for name in ("docket.conf.example", "README.md", "postfix/master.cf", "openapi.yaml",
                     "nginx-docket.conf"):
            self.assertTrue(os.path.isfile(self.path("share", "doc", "docket", name)), name)

    def test_installed_programs_work(self):
        self.assertTrue(self.run_docket("--version").stdout.startswith(b"docket "))
        example = self.path("share", "doc", "docket", "docket.conf.example")
        check = self.run_docket("-c", example, "config", "check")
        self.assertEqual(check.returncode, 0, check.stderr)
        work = tempfile.mkdtemp(prefix="docket-installed-")
        self.addCleanup(shutil.rmtree, work)
        config = os.path.join(work, "docket.conf")
        with open(config, "w") as f:
            f.write("[store]\ndata_dir = %s/var\n" % work)
        proc = self.run_docket("-c", config, "deliver", stdin=MAIL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"Installed", self.run_docket("-c", config, "ticket", "list").stdout)
        # outbox runs in docket-net, found beside the installed docket
        proc = self.run_docket("-c", config, "outbox", "run", "--once")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"sent 1", proc.stdout)

    def test_manual_page(self):
        with open(self.path("share", "man", "man1", "docket.1")) as f:
            page = f.read()
        self.assertIn("\n.TH DOCKET 1 ", page)
        for command in ("serve", "deliver", "config", "outbox", "imap", "ticket set"):
            self.assertIn('.SH "DOCKET %s"' % command, page)
        # the texts are the binary's own
        self.assertIn(self.run_docket("deliver", "--help").stdout.decode().splitlines()[3], page)
        if shutil.which("groff"):
            out = subprocess.run(["groff", "-k", "-man", "-Tutf8", "-ww", self.path("share", "man",
                                                                              "man1", "docket.1")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(out.stderr, b"")

    def test_systemd_unit(self):
        with open(self.path("lib", "systemd", "system", "docket.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=%s -c %s serve\n"
                      % (self.bin, self.path("etc", "docket", "docket.conf")), unit)
        self.assertIn("\nBefore=postfix@-.service\n", unit)
        self.assertNotIn("/usr/local/bin", unit)
        with open(os.path.join(ROOT, "contrib", "systemd", "docket.service")) as f:
            source = f.read()
        # only the paths differ from contrib/systemd/docket.service
        self.assertEqual(len(unit.splitlines()), len(source.splitlines()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
