"""A private Postfix for docket's tests: its own configuration, queue and
data directories under the test's temporary directory, built from docket's
contrib/postfix snippets, delivering to `docket serve` over LMTP.

It has no SMTP listener (mail enters through sendmail and pickup), no
local delivery, and relays nothing anywhere but to docket. Using it needs
root (the test is skipped otherwise, see skip_reason)."""

import grp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmtptest import LmtpCase, message  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"
POSTQUEUE = "/usr/sbin/postqueue"
POSTMAP = "/usr/sbin/postmap"
CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib", "postfix")

MASTER_CF = """\
# Only what sendmail -> pickup -> cleanup -> qmgr -> lmtp needs; no chroot.
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/lib
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
relay_domains =
local_recipient_maps =
# Anything but the support addresses bounces here: no mail leaves.
default_transport = error:outside mail is off in this test
relay_transport = error:outside mail is off in this test
maillog_file = {dir}/log/maillog
maillog_file_prefixes = {dir}
# Retry fast, so that the test is quick.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
lmtp_connect_timeout = 5s
"""


def skip_reason():
    if os.geteuid() != 0:
        return "needs root to run a private Postfix"
    for tool in (POSTFIX, SENDMAIL, POSTQUEUE, POSTMAP):
        if not os.access(tool, os.X_OK):
            return "%s is not installed (contrib/setup-debian.sh installs postfix)" % tool
    try:
        grp.getgrnam("postdrop")
    except KeyError:
        return "no postdrop group"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contrib(name):
    with open(os.path.join(CONTRIB, name)) as f:
        return f.read()


def contrib_transport(port, socket_path):
    """contrib/postfix/transport with docket's test addresses: support@
    over TCP, helpdesk@ over the Unix socket (its commented-out variant)."""
    text = contrib("transport").replace("127.0.0.1:2424", "127.0.0.1:%d" % port)
    text = text.replace("/run/docket/lmtp", socket_path)
    tcp = re.search(r"^(support@example\.com\s+docket:inet:\S+)$", text, re.M).group(1)
    unix = re.search(r"^#(helpdesk@example\.com\s+docket:unix:\S+)$", text, re.M).group(1)
    return tcp + "\n" + unix + "\n"


class Postfix:
    """A private Postfix instance under `root`, configured with docket's
    contrib/postfix snippets."""

    def __init__(self, root, transport):
        self.root = root
        self.pid = None
        self.etc = os.path.join(root, "etc")
        for d in ("etc", "spool", "lib", "log"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.chown(os.path.join(root, "lib"), user="postfix")
        table = os.path.join(self.etc, "docket-transport")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=root) + contrib("main.cf").replace("/etc/postfix/docket-transport", table))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF + contrib("master.cf"))
        with open(table, "w") as f:
            f.write(transport)
        self.run(POSTMAP, "-c", self.etc, table)

    def start(self):
        self.run(POSTFIX, "-c", self.etc, "start")
        self.pid = self.master_pid()

    def run(self, *args, stdin=None):
        proc = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if proc.returncode != 0:
            raise AssertionError("%s exited %d: %s\n%s" % (" ".join(args), proc.returncode,
                                                         proc.stderr.decode(errors="replace"), self.log()))
        return proc.stdout

    def sendmail(self, data, sender, *recipients):
        self.wait_submitted(self.submit(data, sender, *recipients))

    def submit(self, data, sender, *recipients):
        """Starts sendmail for one message; wait_submitted() checks it."""
        proc = subprocess.Popen([SENDMAIL, "-C", self.etc, "-i", "-f", sender, "--", *recipients],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(data)
        proc.stdin.close()
        return proc

    def wait_submitted(self, proc):
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        if proc.wait(60) != 0:
            raise AssertionError("sendmail exited %d: %s" % (proc.returncode, err.decode(errors="replace")))

    def queue(self):
        out = self.run(POSTQUEUE, "-c", self.etc, "-j").decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def flush(self):
        self.run(POSTQUEUE, "-c", self.etc, "-f")

    def log(self):
        try:
            with open(os.path.join(self.root, "log", "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def master_pid(self):
        try:
            with open(os.path.join(self.root, "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """Stops this instance, whatever state it is in (its master is
        killed by process id if `postfix stop` cannot do it)."""
        pid = self.master_pid() or self.pid
        if os.path.isdir(self.etc):
            subprocess.run([POSTFIX, "-c", self.etc, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        deadline = time.monotonic() + 10
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class PostfixCase(LmtpCase):
    """A test with a private Postfix that delivers support@example.com to
    docket over TCP and helpdesk@example.com over a Unix socket; skipped
    without root or Postfix."""

    def setUp(self):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        super().setUp()
        # Cleanups run (last added first) even when setUp fails half-way,
        # tearDown does not.
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)  # Postfix's daemons run as postfix
        self.port = free_port()
        self.sock = os.path.join(self.dir, "lmtp.sock")
        self.postfix = Postfix(os.path.join(self.dir, "postfix"), contrib_transport(self.port, self.sock))
        self.addCleanup(self.postfix.stop)
        self.postfix.start()
        self.sent = []  # Message-IDs
        self.submissions = 0

    def tearDown(self):
        # Postfix first: `postfix stop` needs the directory tearDown removes.
        self.postfix.stop()
        super().tearDown()

    def start_docket(self):
        # Postfix's lmtp client runs as postfix: the socket is for its group.
        return self.serve("unix_mode = 0660\nunix_group = postfix\n",
                          listen=("127.0.0.1:%d" % self.port, "unix:" + self.sock))

    @staticmethod
    def compose(n, recipient):
        """Message number n: (Message-ID, bytes with LF line ends)."""
        mid = "pf%d.%d@example.com" % (n, os.getpid())
        body = "Message %d.\n.a line with a leading dot\nUnicode: gr\u00fc\u00dfe\n" % n
        return mid, message(mid, subject="Postfix %d" % n, body=body, to=recipient).replace(b"\r\n", b"\n")

    def send(self, count, recipient="support@example.com", parallel=1):
        """Submits count new messages, up to `parallel` sendmail processes
        at a time."""
        running = []
        for _ in range(count):
            mid, data = self.compose(len(self.sent) + 1, recipient)
            if len(running) >= parallel:
                self.postfix.wait_submitted(running.pop(0))
            running.append(self.postfix.submit(data, "alice@example.com", recipient))
            self.sent.append(mid)
            self.submissions += 1
        for proc in running:
            self.postfix.wait_submitted(proc)

    def wait_queue(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queue = self.postfix.queue()
            if predicate(queue):
                return queue
            time.sleep(0.1)
        self.fail("Postfix queue never %s: %r\n%s" % (what, self.postfix.queue(), self.postfix.log()[-4000:]))

    def wait_delivered(self, timeout=30):
        self.postfix.flush()
        self.wait_queue(lambda q: q == [], "emptied", timeout)
        self.assertNotIn("status=bounced", self.postfix.log())

    def assert_each_once(self):
        counts = self.articles_by_message_id()
        self.assertEqual(sorted(counts), sorted(self.sent), "lost or extra messages")
        self.assertEqual(set(counts.values()), {1}, "a message stored twice")
        self.assertEqual(self.postfix.log().count("status=sent"), self.submissions)

    def lost_and_duplicated(self):
        """(Message-IDs sent but not stored, Message-IDs stored more than once)."""
        counts = self.inbound_counts()
        lost = [m for m in self.sent if m not in counts]
        duplicated = [m for m, n in counts.items() if n > 1]
        return lost, duplicated
