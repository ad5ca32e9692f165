"""Who owns what docket makes. Run by root against a data directory that
belongs to the service's user, commands act as that user, so nothing root
makes there (the database, the outbox Maildir) locks the service out, and
the configuration is validated as that user reads it. Without a
configuration, commands that read tickets make no ./var where they run:
they say where they looked. The test makes a throwaway system user (root
only; skipped otherwise) and removes it."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

from dockettest import BINARY, DocketCase

USER = "docket-test-%d" % os.getpid()
MAIL = (b"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: Printer\n"
        b"Message-ID: <own1@example.org>\n\nIt is offline.\n")


def setUpModule():
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        print("skipped: the ownership tests run as root with useradd")
        sys.exit(77)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                    "--shell", "/usr/sbin/nologin", USER], check=True)


def tearDownModule():
    subprocess.run(["userdel", USER], check=False)


def owner(path):
    return pwd.getpwuid(os.stat(path).st_uid).pw_name


class OwnershipTest(DocketCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.dir, 0o755)  # the service's user must reach its data directory
        os.makedirs(self.data)
        entry = pwd.getpwnam(USER)
        os.chown(self.data, entry.pw_uid, entry.pw_gid)

    def test_root_acts_as_the_owner(self):
        self.assertEqual(self.deliver(MAIL).returncode, 0)
        proc = self.docket("outbox", "run", "--once")
        self.assertIn(b"sent 1,", proc.stdout)
        for name in ("docket.db", "outbox-maildir", os.path.join("outbox-maildir", "new")):
            self.assertEqual(owner(os.path.join(self.data, name)), USER, name)
        maildir = os.path.join(self.data, "outbox-maildir", "new")
        for name in os.listdir(maildir):
            self.assertEqual(owner(os.path.join(maildir, name)), USER)
        self.assertEqual(len(self.tickets()), 1)

    def test_the_configuration_is_validated_as_the_owner(self):
        secret = os.path.join(self.dir, "smtp.secret")
        with open(secret, "w") as f:
            f.write("pw\n")
        os.chmod(secret, 0o600)  # root's: the service could not read it
        self.configure("[smtp]\nurl = smtp://127.0.0.1:1\nuser = u\npassword_file = %s\n" % secret)
        proc = self.docket("config", "check", check=False)
        self.assertEqual(proc.returncode, 78)
        err = proc.stderr.decode()
        self.assertIn("as user %s, the owner of the data directory" % USER, err)
        self.assertIn("[smtp] password_file: cannot open secret file %s: Permission denied"
                      % secret, err)
        os.chown(secret, pwd.getpwnam(USER).pw_uid, -1)
        self.assertEqual(self.docket("config", "check").returncode, 0)


class NoDataDirectoryTest(unittest.TestCase):
    def test_reading_commands_make_no_var(self):
        cwd = tempfile.mkdtemp(prefix="docket-cwd-")
        self.addCleanup(shutil.rmtree, cwd)
        env = dict(os.environ)
        env.pop("DOCKET_CONFIG", None)
        for args in (["ticket", "list"], ["ticket", "show", "1"], ["quarantine", "list"],
                     ["outbox", "list"]):
            proc = subprocess.run([BINARY, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(proc.returncode, 66, args)
            err = proc.stderr.decode()
            self.assertIn("no data directory ./var", err)
            self.assertIn(os.path.join(cwd, "var"), err)
            self.assertIn("-c FILE", err)
            self.assertEqual(os.listdir(cwd), [], args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
