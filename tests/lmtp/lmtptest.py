"""Shared helpers for docket's LMTP tests: a running `docket serve` and a
small LMTP client that reads every reply, including the one-per-recipient
replies after DATA (RFC 2033 section 4.2), which smtplib.LMTP does not."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from dockettest import BINARY, DocketCase  # noqa: E402,F401

CRLF = b"\r\n"


def message(message_id, subject="Printer on fire", body="Please help.\r\n",
            sender="alice@example.com", to="support@example.test"):
    """A small RFC 5322 message with CRLF line ends, as bytes."""
    text = ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s>\r\n\r\n%s"
            % (sender, to, subject, message_id, body))
    return text.encode()


def dot_stuff(data, eol=CRLF):
    """DATA payload: a dot doubled at each line start, then the final dot
    (RFC 5321 section 4.5.2)."""
    lines = data.split(eol)
    if lines and lines[-1] == b"":
        lines.pop()
    out = [b"." + line if line.startswith(b".") else line for line in lines]
    return eol.join(out) + eol + b"." + eol


class Reply:
    """One (possibly multi-line) reply: code, enhanced status, lines."""

    def __init__(self, lines):
        self.lines = lines
        self.code = int(lines[-1][:3])
        self.text = lines[-1][4:]
        m = re.match(r"(\d\.\d{1,3}\.\d{1,3}) ", self.text)
        self.status = m.group(1) if m else None

    def __repr__(self):
        return "Reply(%r)" % self.lines


class Client:
    """An LMTP client over TCP ((host, port), IPv4 or IPv6) or a Unix socket (path)."""

    def __init__(self, address, timeout=10.0):
        if isinstance(address, str):
            family = socket.AF_UNIX
        else:
            family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(address)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One reply line without its end; ConnectionError at end of input."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by docket; pending %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return Reply(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, text):
        self.send(text.encode() + CRLF if isinstance(text, str) else text + CRLF)
        return self.reply()

    def at_eof(self, timeout=5.0):
        """True when docket has closed the connection (after any reply)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def greet(self, name="client.test"):
        """Reads the greeting and says LHLO; returns the LHLO reply."""
        greeting = self.reply()
        assert greeting.code == 220, greeting
        return self.cmd("LHLO " + name)

    def envelope(self, sender, recipients):
        """MAIL, then RCPT for each recipient: the RCPT replies."""
        r = self.cmd("MAIL FROM:<%s>" % sender)
        assert r.code == 250, r
        return [self.cmd("RCPT TO:<%s>" % a) for a in recipients]

    def start_data(self, sender, recipients):
        """MAIL, RCPT... (all accepted) and DATA, up to the 354."""
        for r in self.envelope(sender, recipients):
            assert r.code == 250, r
        r = self.cmd("DATA")
        assert r.code == 354, r

    def transaction(self, sender, recipients, data):
        """MAIL, RCPT..., DATA one step at a time: (rcpt replies, data
        replies), one data reply per accepted recipient."""
        rcpt = self.envelope(sender, recipients)
        r = self.cmd("DATA")
        if r.code != 354:
            return rcpt, [r]
        self.send(dot_stuff(data))
        return rcpt, self.replies(sum(1 for x in rcpt if x.code == 250))


def spool_fds(server):
    """docket's open file descriptors on spool files (named or not)."""
    fds = []
    base = "/proc/%d/fd" % server.proc.pid
    for fd in os.listdir(base):
        try:
            target = os.readlink(os.path.join(base, fd))
        except OSError:
            continue
        if "/spool/" in target:  # named lmtp-XXXXXX, or #NNN with O_TMPFILE
            fds.append(target)
    return fds


class Server:
    """`docket serve` in the background, its log in a file."""

    def __init__(self, case, listen=("127.0.0.1:0",), env=None):
        self.case = case
        self.log_path = os.path.join(case.dir, "serve-%d.log" % time.monotonic_ns())
        args = [BINARY, "-c", case.config, "serve"]
        for spec in listen:
            args += ["--listen", spec]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=env)
        self.wait_log("serve event=ready")
        self.ports = [int(p) for p in re.findall(r"event=listening address=\S+ port=(\d+)", self.log())]
        self.address = ("127.0.0.1", self.ports[0]) if self.ports else None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=10.0, count=1):
        """Waits until the log holds `text` `count` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.case.fail("docket serve log lacks %r (exit %s):\n%s" % (text, self.proc.poll(), self.log()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20.0):
        """SIGTERM, then the exit status (killed after `timeout`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung"

    def client(self, timeout=10.0):
        return Client(self.address, timeout)


class LmtpCase(DocketCase):
    """A DocketCase with `docket serve` helpers; each test configures it."""

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = %s\n[lmtp]\nhostname = docket.test\n%s" % (self.data, text))

    def serve(self, config="", listen=("127.0.0.1:0",), env=None):
        """Starts docket serve; the test fails unless it stops with exit 0."""
        self.write_config(config)
        server = Server(self, listen, env)
        self.servers.append(server)
        return server

    def setUp(self):
        super().setUp()
        self.servers = []

    def tearDown(self):
        """Stops the servers still running (before the directory goes)."""
        try:
            for server in self.servers:
                if server.proc.poll() is None:
                    rc = server.stop()
                    self.assertEqual(rc, 0, "docket serve exit status; log:\n" + server.log())
        finally:
            super().tearDown()

    def spool_files(self):
        spool = os.path.join(self.data, "spool")
        return sorted(os.listdir(spool)) if os.path.isdir(spool) else []

    def spool_in_use(self):
        """Spool files in the directory and held open by running servers."""
        held = [fd for s in self.servers if s.proc.poll() is None for fd in spool_fds(s)]
        return self.spool_files() + held

    def wait_spool_empty(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.spool_in_use() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.spool_in_use(), [])

    def raw(self, sha256):
        """The stored raw message with this digest (inline or in a file)."""
        with sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "docket.db"), uri=True) as db:
            data, path = db.execute("SELECT data, path FROM raw_messages WHERE sha256 = ?",
                                    (sha256,)).fetchone()
        if data is not None:
            return bytes(data)
        with open(path if os.path.isabs(path) else os.path.join(self.data, path), "rb") as f:
            return f.read()

    def articles_by_message_id(self):
        """message_id -> number of inbound articles holding it, over all
        tickets (the acknowledgements docket sends are outbound)."""
        counts = {}
        for t in self.tickets():
            for a in self.show(t["number"])["articles"]:
                if a["direction"] == "inbound":
                    counts[a["message_id"]] = counts.get(a["message_id"], 0) + 1
        return counts

    def inbound_counts(self):
        """message_id -> inbound articles holding it, read from the store
        directly (one query instead of a `ticket show` per ticket)."""
        path = os.path.join(self.data, "docket.db")
        with sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30) as db:
            rows = db.execute("SELECT message_id, count(*) FROM articles"
                              " WHERE direction = 'inbound' GROUP BY message_id").fetchall()
        return dict(rows)
