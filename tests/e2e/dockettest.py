"""Shared helpers for docket's end-to-end tests: a scratch data directory
and a way to run the docket binary against it."""

import base64
import glob
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

BINARY = os.environ.get("DOCKET_BINARY", "docket")


def write_secret(path, text):
    """Writes a credentials file only its owner may read, as docket
    requires of every secret file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10):
    """Waits until something accepts on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("port %d never opened" % port)


# The sanitizer options of tests/run.sh, for a run of the sanitizer build
# outside it (ctest in build-asan by hand).
ASAN_DEFAULTS = "detect_leaks=1:abort_on_error=0:exitcode=86"
UBSAN_DEFAULTS = "print_stacktrace=1:halt_on_error=1"


# What a sanitizer's report starts with.
SANITIZER_REPORT = re.compile(r"^(==\d+==ERROR: \w+Sanitizer|.*: runtime error: )", re.M)


def sanitizer_env(prefix, env=None):
    """The environment (os.environ's, or env) for a docket whose
    AddressSanitizer and LeakSanitizer reports go to files prefix.PID (one
    a process: docket and the docket-net it runs) instead of its stderr,
    for sanitizer_reports() to read: a report cannot then be lost with a
    process the test kills later. UndefinedBehaviorSanitizer takes the same
    option, but beside AddressSanitizer (GCC's two runtimes) it still
    writes to stderr: sanitizer_reports() reads the program's log for it.
    Without the sanitizer build the variables do nothing."""
    env = dict(os.environ if env is None else env)
    for name, defaults in (("ASAN_OPTIONS", ASAN_DEFAULTS), ("UBSAN_OPTIONS", UBSAN_DEFAULTS)):
        env[name] = "%s:log_path=%s" % (env.get(name) or defaults, prefix)
    return env


def sanitizer_reports(prefix, log=""):
    """The sanitizer reports of sanitizer_env's processes, as one text (""
    when none): the files written under prefix since the last call (each
    read once and removed, so a test may call this after every run of the
    program) and, in log (the program's stderr for that run), whatever
    follows the first line that starts a report. A process killed with
    SIGKILL writes none."""
    texts = []
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        with open(path, "rb") as f:
            texts.append("%s:\n%s" % (path, f.read().decode("utf-8", "replace")))
        os.unlink(path)
    found = SANITIZER_REPORT.search(log)
    if found:
        texts.append("in the log:\n" + log[found.start():][:8000])
    return "\n".join(texts)


def with_attachment(message_id, content, subject="the core dump"):
    """A CRLF message from alice@example.com with a line of text and
    content attached (core.bin, base64)."""
    encoded = base64.encodebytes(content).decode().replace("\n", "\r\n")
    return ("From: Alice <alice@example.com>\r\nTo: support@example.com\r\n"
            "Subject: %s\r\nMessage-ID: <%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nIt crashed again.\r\n"
            "--b\r\nContent-Type: application/octet-stream; name=core.bin\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--b--\r\n"
            % (subject, message_id, encoded)).encode()


class DocketCase(unittest.TestCase):
    """A test with its own data directory and configuration file."""

    config_text = ""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="docket-e2e-")
        self.data = os.path.join(self.dir, "var")
        self.config = os.path.join(self.dir, "docket.conf")
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = %s\n%s" % (self.data, self.config_text))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def configure(self, text):
        """Adds text's lines to the configuration file; a key that the last
        section of the file already sets is set again in place of the
        earlier line (docket refuses a key written twice)."""
        with open(self.config) as f:
            lines = f.read().splitlines()
        start = max([i for i, line in enumerate(lines) if line.lstrip().startswith("[")] + [0])
        for line in text.splitlines():
            if line.lstrip().startswith("["):
                lines.append(line)
                start = len(lines) - 1
                continue
            if "=" in line and not line.lstrip().startswith("#"):
                key = line.split("=", 1)[0].strip()
                lines = [old for i, old in enumerate(lines)
                         if i <= start or old.split("=", 1)[0].strip() != key]
            lines.append(line)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def docket(self, *args, stdin=b"", check=True):
        """Runs docket with our configuration; returns the CompletedProcess."""
        proc = subprocess.run([BINARY, "-c", self.config, *args], input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if check and proc.returncode != 0:
            self.fail("docket %s exited %d: %s" % (" ".join(args), proc.returncode,
                                                  proc.stderr.decode(errors="replace")))
        return proc

    def deliver(self, message, *args):
        if isinstance(message, str):
            message = message.encode()
        return self.docket("deliver", *args, stdin=message, check=False)

    def show(self, number):
        return json.loads(self.docket("ticket", "show", str(number), "--json").stdout)

    def tickets(self):
        return json.loads(self.docket("ticket", "list", "--json").stdout)["tickets"]

    def dump_store(self):
        """Every row of the database, to compare the store before and after."""
        path = os.path.join(self.data, "docket.db")
        if not os.path.exists(path):
            return []
        with sqlite3.connect(path) as db:
            return list(db.iterdump())
