"""Benchmark of the IMAP intake and of docket import. Starts a private
Dovecot (see tests/imap/imaptest.py), fills a folder with N distinct
messages, and times `docket poll --once` fetching and committing them all
(moved to Processed afterwards); then times `docket import` of an N-message
mbox, and its idempotent re-run. Prints messages/s and the peak RSS of the
docket process. Then, unless BIG_MIB is 0, the peak RSS of `docket poll
--once` and of `docket import` for one message carrying a BIG_MIB (60) MiB
attachment, which both read into a spool file rather than memory (GNU
time's figure), and whether the stored file is the attachment byte for
byte. Run by hand (root, Dovecot and GNU time installed):

    python3 tests/bench/bench-imap.py build/gateway/docket [N [SIZE [BATCH]]]
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "imap"))
import imaptest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_mail  # noqa: E402


def body(i, size):
    head = ("From: Customer %d <customer%d@example.com>\r\nTo: support@example.com\r\n"
            "Subject: Benchmark message %d\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <bench-%d@example.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" % (i % 97, i % 97, i, i))
    line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
    text = head + line * max(1, (size - len(head)) // len(line))
    return text.encode()


def run(docket, config, *args):
    start = time.monotonic()
    proc = subprocess.run([docket, "-c", config, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("docket %s failed: %s" % (" ".join(args), proc.stderr.decode()))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, proc.stdout.decode().strip(), rss


def run_alone(docket, config, *args):
    """run() of one process, with its own peak RSS (KiB) as GNU time
    reports it: a child of this process would count this process's peak
    too (its memory map is copied at fork, high-water mark and all)."""
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "peak-rss-kib %M", docket, "-c", config,
                           *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - start
    err = proc.stderr.decode()
    if proc.returncode != 0:
        sys.exit("docket %s failed: %s" % (" ".join(args), err))
    rss = int(err.rsplit("peak-rss-kib ", 1)[1].split()[0])
    return elapsed, proc.stdout.decode().strip(), rss


def big(docket, dovecot, mib):
    work = tempfile.mkdtemp(prefix="docket-bench-imap-big-")
    try:
        path = os.path.join(work, "big.eml")
        digest = bench_mail.write(mib, path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            dovecot.add("user2", f.read())
        config = os.path.join(work, "docket.conf")
        with open(config, "w") as f:
            f.write("[store]\ndata_dir = %s/var\n[intake]\nmax_message_size = %dM\n"
                    "[parse]\nmax_decoded_size = %dM\n[imap:big]\nhost = 127.0.0.1\n"
                    "port = %d\nca_file = %s\nuser = user2\npassword = %s\n"
                    % (work, 2 * mib, 2 * mib, dovecot.tls_port, dovecot.cert,
                       imaptest.PASSWORD))
        elapsed, out, rss = run_alone(docket, config, "poll", "--once")
        print("imap poll: one %d-byte message with a %d MiB attachment: %.2f s, peak RSS %d KiB"
              " (%s); stored byte for byte: %s"
              % (size, mib, elapsed, rss, out, bench_mail.stored_whole(os.path.join(work, "var"), digest)))
        shutil.rmtree(os.path.join(work, "var"))
        mbox = os.path.join(work, "big.mbox")
        with open(mbox, "wb") as f, open(path, "rb") as message:
            f.write(b"From customer@example.com Tue Nov 24 10:00:00 2026\n")
            f.write(message.read().replace(b"\r\n", b"\n"))
            f.write(b"\n")
        elapsed, out, rss = run_alone(docket, config, "import", "--quiet", mbox)
        print("import mbox: the same message: %.2f s, peak RSS %d KiB (%s);"
              " stored byte for byte: %s" % (elapsed, rss, out, bench_mail.stored_whole(os.path.join(work, "var"), digest)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    docket = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/gateway/docket")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 2048
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    imaptest.skip_unless_available()
    dovecot = imaptest.Dovecot(users=2)
    work = tempfile.mkdtemp(prefix="docket-bench-imap-")
    try:
        for i in range(n):
            dovecot.add("user1", body(i, size))
        config = os.path.join(work, "docket.conf")
        with open(config, "w") as f:
            f.write("[store]\ndata_dir = %s/var\n[imap:bench]\nhost = 127.0.0.1\nport = %d\n"
                    "ca_file = %s\nuser = user1\npassword = %s\nbatch_size = %d\n"
                    % (work, dovecot.tls_port, dovecot.cert, imaptest.PASSWORD, batch))
        elapsed, out, rss = run(docket, config, "poll", "--once")
        print("imap poll: %d messages of %d bytes, batch %d: %.2f s, %.0f messages/s, "
              "peak RSS %d KiB (%s)" % (n, size, batch, elapsed, n / elapsed, rss, out))
        left = len(dovecot.files("user1"))
        moved = len(dovecot.files("user1", "Processed"))
        print("imap poll: INBOX left %d, Processed %d" % (left, moved))

        mbox = os.path.join(work, "history.mbox")
        with open(mbox, "wb") as f:
            for i in range(n):
                f.write(b"From customer@example.com Tue Nov 24 10:00:00 2026\n")
                f.write(body(n + i, size).replace(b"\r\n", b"\n"))
                f.write(b"\n")
        elapsed, out, rss = run(docket, config, "import", "--quiet", mbox)
        print("import mbox: %d messages: %.2f s, %.0f messages/s, peak RSS %d KiB (%s)"
              % (n, elapsed, n / elapsed, rss, out))
        elapsed, out, rss = run(docket, config, "import", "--quiet", mbox)
        print("import mbox again (all duplicates): %.2f s, %.0f messages/s (%s)"
              % (elapsed, n / elapsed, out))
        mib = int(os.environ.get("BIG_MIB", "60"))
        if mib > 0:
            big(docket, dovecot, mib)
    finally:
        dovecot.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
