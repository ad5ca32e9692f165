#!/usr/bin/python3
"""Peak RSS (VmHWM) of `docket serve` while its outbox sends one large
message on that a rule redirected, through the SMTP transport to a sink
on loopback (tests/outbox/smtpsink.py). The message is stored first by
`docket deliver` (another process), so the figure is the outbox's alone.

Usage: tests/bench/bench-redirect.py   (from the source tree)
Environment: DOCKET (build/gateway/docket), BIG_MIB (100), ROUNDS (3),
  BENCH_DIR (/var/tmp), STORE (a file with a [store] section to use
  instead of a fresh SQLite data directory, e.g. a PostgreSQL one)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "outbox"))
from smtpsink import Sink  # noqa: E402

DOCKET = os.environ.get("DOCKET", os.path.join(ROOT, "build", "gateway", "docket"))
BIG_MIB = int(os.environ.get("BIG_MIB", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))

SCRIPT = 'if header :contains "subject" "redirect me" { redirect "far@partner.example"; }\n'


def message(round_no):
    """BIG_MIB MiB with CRLF line ends, a new Message-ID each round."""
    head = ("From: Carl <carl@customer.example>\r\nTo: support@example.com\r\n"
            "Subject: redirect me %d\r\nMessage-ID: <big%d.%d@customer.example>\r\n\r\n"
            % (round_no, round_no, time.time_ns())).encode()
    line = b"%-78s\r\n" % b"A line of the large message, long enough to fill it."
    return head + line * (BIG_MIB * 1048576 // len(line))


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def one_round(work, config, round_no):
    sink = Sink().start()
    try:
        with open(config, "a") as f:
            f.write("[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n" % sink.port)
        big = message(round_no)
        done = subprocess.run([DOCKET, "-c", config, "deliver"], input=big,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            sys.exit("deliver exited %d: %s" % (done.returncode, done.stderr.decode()))
        del big
        log = open(os.path.join(work, "serve.log"), "ab")
        t0 = time.monotonic()
        serve = subprocess.Popen([DOCKET, "-c", config, "serve", "--listen", "127.0.0.1:0"],
                                 stderr=log)
        try:
            got = sink.wait_for(1, 600)
            seconds = time.monotonic() - t0
            time.sleep(0.5)  # the reply to the final dot, the row recorded
            peak, anon = vm_kib(serve.pid, "VmHWM"), vm_kib(serve.pid, "RssAnon")
        finally:
            serve.terminate()
            serve.wait(60)
            log.close()
        size = len(sink.messages[0][2]) if got else 0
        return peak, anon, seconds, size
    finally:
        sink.stop()


def main():
    if not os.access(DOCKET, os.X_OK):
        sys.exit("no docket binary at %s (build first, or set DOCKET)" % DOCKET)
    base = tempfile.mkdtemp(prefix="docket-bench-redirect.",
                            dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    try:
        print("bench-redirect: %s, %d cores, one %d MiB message a round" %
              (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), BIG_MIB))
        with open("/proc/loadavg") as f:
            print("  load average at start: %s" % " ".join(f.read().split()[:3]))
        for round_no in range(1, ROUNDS + 1):
            work = os.path.join(base, "r%d" % round_no)
            os.mkdir(work)
            script = os.path.join(work, "rules.sieve")
            with open(script, "w") as f:
                f.write(SCRIPT)
            store = "[store]\ndata_dir = %s\n" % os.path.join(work, "var")
            if os.environ.get("STORE"):
                with open(os.environ["STORE"]) as f:
                    store = f.read()
            config = os.path.join(work, "docket.conf")
            with open(config, "w") as f:
                f.write("%s[intake]\nmax_message_size = %dM\n[parse]\nmax_decoded_size = %dM\n"
                        "[rules]\nscript = %s\n[lmtp]\nrecipients = support@example.com\n"
                        "[threading]\ndomain = help.example.com\n"
                        % (store, BIG_MIB * 2, BIG_MIB * 2, script))
            peak, anon, seconds, size = one_round(work, config, round_no)
            print("  round %d: VmHWM %.1f MiB, RssAnon %.1f MiB after; %d bytes arrived "
                  "in %.1f s from start" % (round_no, peak / 1024, anon / 1024, size, seconds))
        with open("/proc/loadavg") as f:
            print("  load average at end: %s" % " ".join(f.read().split()[:3]))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
