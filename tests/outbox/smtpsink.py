"""A small SMTP server (RFC 5321) for the outbox tests, standard library
only: it listens on loopback, keeps every message it accepts with its
envelope, and answers as the test tells it (a 4xx or 5xx for a recipient or
for the data, AUTH PLAIN and LOGIN recorded). With an ssl.SSLContext it
offers STARTTLS (RFC 3207), or speaks TLS from the start (implicit_tls, for
smtps://); without one it offers no TLS, so the tests can check that docket
refuses to send in clear unless told so. With faults (a Faults), it fails
at random like a real relay having a bad day; without, it never does."""

import base64
import collections
import email.parser
import random
import socket
import threading
import time


def message_id(data):
    """The Message-ID of a message as the sink received it, or None."""
    headers = email.parser.BytesHeaderParser().parsebytes(data)
    value = headers.get("Message-ID")
    return value.strip().strip("<>") if value else None


class Faults:
    """Random relay failures from a seeded generator, while active: each
    session (docket sends one message per session) has rate chances of
    one of

      greeting_421     421 4.3.2 instead of the greeting
      rcpt_450         450 4.2.1 to RCPT (mailbox busy)
      burst_5xx        554 5.3.0 to RCPT in this and the next burst-1
                       sessions (a relay misconfigured for a while)
      data_451         451 4.3.0 after the final dot, nothing kept
      drop_in_data     the connection closed at the end of DATA, nothing kept
      drop_after_dot   the message kept, the connection closed before
                       the reply (RFC 1047's duplicate window)
      timeout_after_dot  the message kept, no reply for timeout seconds
      slow             the reply to the final dot after 0.2-1 s (no failure)

    The kinds come in shuffled rounds (each once per round);
    timeout_after_dot happens at most max_timeouts times (each costs the
    client its whole timeout). counts holds the faults per kind, kept the
    Message-IDs whose acceptance the client never heard of."""

    KINDS = ("greeting_421", "rcpt_450", "burst_5xx", "data_451", "drop_in_data",
             "drop_after_dot", "timeout_after_dot", "slow")

    def __init__(self, seed, rate, timeout=6.0, max_timeouts=2, burst=3, kinds=KINDS):
        self.rng = random.Random(seed)
        self.rate = rate
        self.timeout = timeout
        self.max_timeouts = max_timeouts
        self.burst = burst
        self.kinds = kinds
        self.active = True
        self.counts = collections.Counter()
        self.kept = collections.Counter()  # Message-ID -> copies whose reply was lost
        self.burst_left = 0
        self.bag = []
        self.lock = threading.Lock()

    def stop(self):
        with self.lock:
            self.active = False
            self.burst_left = 0

    def pick(self):
        """The fault for a new session (applied where its kind says), or None."""
        with self.lock:
            if self.burst_left > 0:
                self.burst_left -= 1
                self.counts["burst_5xx"] += 1
                return "burst_5xx"
            if not self.active or self.rng.random() >= self.rate:
                return None
            kind = self._next_kind()
            self.counts[kind] += 1
            if kind == "burst_5xx":
                self.burst_left = self.burst - 1
            return kind

    def _next_kind(self):
        # in shuffled rounds, so that a short run meets every kind
        while True:
            if not self.bag:
                self.bag = list(self.kinds)
                self.rng.shuffle(self.bag)
            kind = self.bag.pop()
            if kind != "timeout_after_dot" or \
                    self.counts["timeout_after_dot"] < self.max_timeouts:
                return kind

    def slow_seconds(self):
        with self.lock:
            return 0.2 + 0.8 * self.rng.random()


class Sink:
    def __init__(self, port=0, auth=False, tls=None, implicit_tls=False, faults=None):
        self.port = port
        self.auth = auth
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.messages = []      # (mail_from, [rcpt], bytes)
        self.secure = []        # whether each message came over TLS
        self.credentials = []   # (user, password)
        self.rcpt_reply = None  # fn(rcpt) -> "4xx text" / "5xx text" / None
        self.data_reply = None  # fn(mail_from, rcpts, data) -> reply / None
        self.on_message = None  # fn(mail_from, rcpts, data) after acceptance
        self.faults = faults    # a Faults, or None: never fails by itself
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.listener = None
        self.sessions = []

    def start(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        for s in list(self.sessions):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait_for(self, count, timeout):
        """Waits until count messages arrived; returns how many did."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return len(self.messages)

    def _accept(self):
        listener = self.listener
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.sessions.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        state = {"conn": conn, "secure": self.implicit_tls}
        try:
            if self.implicit_tls:
                state["conn"] = self.tls.wrap_socket(conn, server_side=True)
            state["f"] = state["conn"].makefile("rb")
            self._dialogue(state)
        except (OSError, ValueError):
            pass
        finally:
            if "f" in state:
                state["f"].close()
            state["conn"].close()
            conn.close()
            if conn in self.sessions:
                self.sessions.remove(conn)

    def _dialogue(self, state):

        def say(text):
            state["conn"].sendall(text.encode() + b"\r\n")

        fault = self.faults.pick() if self.faults is not None else None
        if fault == "greeting_421":
            say("421 4.3.2 too busy, try later")
            return
        say("220 sink.test ESMTP")
        mail_from, rcpts = None, []
        while True:
            f = state["f"]
            line = f.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                starttls = self.tls is not None and not state["secure"]
                say("250-sink.test\r\n250-8BITMIME\r\n%s%s250 SIZE 10000000" %
                    ("250-AUTH PLAIN LOGIN\r\n" if self.auth else "",
                     "250-STARTTLS\r\n" if starttls else ""))
            elif verb == "STARTTLS" and self.tls is not None and not state["secure"]:
                say("220 go ahead")
                state["f"].close()
                state["conn"] = self.tls.wrap_socket(state["conn"], server_side=True)
                state["f"] = state["conn"].makefile("rb")
                state["secure"] = True
                mail_from, rcpts = None, []
            elif verb == "HELO":
                say("250 sink.test")
            elif verb == "AUTH":
                self._auth(cmd, f, say)
            elif verb == "MAIL":
                mail_from, rcpts = cmd[10:].strip().strip("<>").split(">")[0], []
                say("250 ok")
            elif verb == "RCPT":
                rcpt = cmd[8:].strip().strip("<>")
                reply = self.rcpt_reply(rcpt) if self.rcpt_reply else None
                if reply is None:
                    reply = {"rcpt_450": "450 4.2.1 mailbox busy",
                             "burst_5xx": "554 5.3.0 relay misconfigured"}.get(fault)
                if reply is None:
                    rcpts.append(rcpt)
                    reply = "250 ok"
                say(reply)
            elif verb == "DATA":
                if not rcpts:
                    say("503 no recipients")
                    continue
                say("354 go ahead")
                data = self._read_data(f)
                reply = self.data_reply(mail_from, rcpts, data) if self.data_reply else None
                if reply is not None:
                    say(reply)
                    continue
                if fault == "data_451":
                    say("451 4.3.0 local error, try later")
                    continue
                if fault == "drop_in_data":
                    return
                with self.arrived:
                    self.secure.append(state["secure"])
                    self.messages.append((mail_from, rcpts, data))
                    self.arrived.notify_all()
                if fault in ("drop_after_dot", "timeout_after_dot"):
                    with self.faults.lock:
                        self.faults.kept[message_id(data)] += 1
                    if fault == "timeout_after_dot":
                        time.sleep(self.faults.timeout)
                    return
                if fault == "slow":
                    time.sleep(self.faults.slow_seconds())
                say("250 queued")
                if self.on_message:
                    self.on_message(mail_from, rcpts, data)
            elif verb in ("RSET", "NOOP"):
                say("250 ok")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("500 unknown command")

    def _auth(self, cmd, f, say):
        parts = cmd.split()
        mech = parts[1].upper() if len(parts) > 1 else ""
        if mech == "PLAIN":
            if len(parts) > 2:
                blob = parts[2]
            else:
                say("334 ")
                blob = f.readline().decode().strip()
            _, user, password = base64.b64decode(blob).decode().split("\0")
        elif mech == "LOGIN":
            say("334 VXNlcm5hbWU6")
            user = base64.b64decode(f.readline().strip()).decode()
            say("334 UGFzc3dvcmQ6")
            password = base64.b64decode(f.readline().strip()).decode()
        else:
            say("504 unknown mechanism")
            return
        self.credentials.append((user, password))
        say("235 ok")

    @staticmethod
    def _read_data(f):
        out = []
        while True:
            line = f.readline()
            if not line or line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]  # RFC 5321 section 4.5.2: transparency
            out.append(line)
        return b"".join(out)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
