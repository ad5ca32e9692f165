"""The IMAP intake against a real Dovecot on loopback: plain mail, move and
flag modes, the error folder, STARTTLS and AUTHENTICATE PLAIN, IDLE
latency, a silent server replaced by the watchdog, a server restart and a
SIGKILL mid-batch (every message exactly one article), UIDVALIDITY
changes, and clear errors for a wrong password, an untrusted certificate,
a wrong host name and a password file others can read."""

import json
import os
import signal
import sqlite3
import socket
import subprocess
import urllib.request
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import imaptest  # noqa: E402
from dockettest import BINARY, DocketCase, with_attachment  # noqa: E402
from imaptest import message  # noqa: E402

NOT_MAIL = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64



def wait_for(condition, seconds, step=0.02):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False

class ImapCase(DocketCase):
    dovecot = None
    users = iter(range(1, 1000))

    @classmethod
    def setUpClass(cls):
        imaptest.skip_unless_available()
        ImapCase.dovecot = ImapCase.dovecot or imaptest.Dovecot(users=40)

    def setUp(self):
        super().setUp()
        self.user = "user%d" % next(ImapCase.users)

    def account(self, **keys):
        """Appends an [imap:support] section for this test's user."""
        values = {"host": "127.0.0.1", "port": self.dovecot.tls_port, "tls": "imaps",
                  "ca_file": self.dovecot.cert, "user": self.user,
                  "password": imaptest.PASSWORD, "timeout_seconds": 5}
        values.update(keys)
        with open(self.config, "a") as f:
            f.write("[imap:support]\n")
            for k, v in values.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))

    def poll(self, *args, check=True):
        return self.docket("poll", "--once", *args, check=check)

    def add(self, data, folder="INBOX"):
        self.dovecot.add(self.user, data, folder)

    def files(self, folder="INBOX"):
        return self.dovecot.files(self.user, folder)

    def db_rows(self, sql):
        path = os.path.join(self.data, "docket.db")
        if not os.path.exists(path):
            return []
        with sqlite3.connect(path, timeout=10) as db:
            return db.execute(sql).fetchall()

    def article_count(self):
        """The articles of the mail fetched: not the acknowledgements, which
        the outbox records as outbound articles when it has sent them, at a
        moment of its own (counted, they made a test that waits for an
        exact count miss it)."""
        try:
            rows = self.db_rows("SELECT count(*) FROM articles WHERE direction = 'inbound'")
        except sqlite3.OperationalError:
            return 0
        return rows[0][0] if rows else 0

    def assert_each_once(self, n):
        rows = self.db_rows("SELECT message_id, count(*) FROM articles GROUP BY message_id")
        expected = {"msg%d@example.com" % i for i in range(n)}
        self.assertEqual([r for r in rows if r[0] not in expected], [])
        self.assertEqual(len(rows), n)
        self.assertEqual({c for _, c in rows}, {1})
        self.assertEqual(sorted(m for m, _ in rows), sorted("msg%d@example.com" % i for i in range(n)))

    def background(self, *args):
        """docket in the background; its log (a line per message: more than
        a pipe holds while nobody reads it) goes to a file, which
        communicate() returns as stderr."""
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([BINARY, "-c", self.config, *args], stdout=subprocess.PIPE,
                                stderr=log)
        wait = proc.communicate

        def communicate(timeout=None):
            out, _ = wait(timeout=timeout)
            log.seek(0)
            err = log.read()
            log.close()
            return out, err
        proc.communicate = communicate
        return proc

    def wait_for(self, condition, seconds, step=0.02):
        return wait_for(condition, seconds, step)


class FetchTest(ImapCase):
    def test_plain_mail_is_moved_and_not_mail_goes_to_error_folder(self):
        for i in range(3):
            self.add(message(i))
        self.add(NOT_MAIL)
        self.account()
        proc = self.poll()
        self.assertIn(b"fetched=4 stored=3 duplicates=0 refused=1 deferred=0", proc.stdout)
        self.assertIn(b"event=refused", proc.stderr)
        self.assertIn(b"no header block", proc.stderr)
        # One log line per message, as over LMTP.
        lines = [l for l in proc.stderr.decode().splitlines() if "imap account=support" in l]
        for i in range(3):
            self.assertEqual(len([l for l in lines if "<msg%d@example.com>" % i in l]), 1, lines)
            self.assertIn("folder=INBOX uid=%d event=message from=<customer%d@example.com> size="
                          % (i + 1, i), proc.stderr.decode())
        self.assertEqual(len([l for l in lines if "event=refused" in l]), 1)
        self.assertIn("outcome=created evidence=new", proc.stderr.decode())
        tickets = self.tickets()
        self.assertEqual(sorted(t["subject"] for t in tickets),
                         ["Problem number 0", "Problem number 1", "Problem number 2"])
        doc = self.show(tickets[0]["number"])
        self.assertEqual(doc["events"][0]["detail"]["intake"], "imap")
        self.assertEqual(self.files(), [])
        self.assertEqual(len(self.files("Processed")), 3)
        self.assertEqual(len(self.files("Refused")), 1)
        again = self.poll()
        self.assertIn(b"fetched=0 stored=0", again.stdout)
        self.assertEqual(len(self.tickets()), 3)

    def test_flag_mode_marks_seen_and_tracks_uids(self):
        for i in range(3):
            self.add(message(i))
        self.account(after="flag")
        self.assertIn(b"fetched=3 stored=3", self.poll().stdout)
        names = self.files()
        self.assertEqual(len(names), 3)
        for name in names:
            self.assertRegex(name, r":2,[A-Z]*S")
        self.assertEqual(self.files("Processed"), [])
        self.assertIn(b"fetched=0", self.poll().stdout)
        self.add(message(3))
        self.assertIn(b"fetched=1 stored=1", self.poll().stdout)
        self.assertEqual(len(self.tickets()), 4)

    def test_fetch_does_not_mark_read_before_commit(self):
        # A locked store: the commit fails, the message stays unread.
        with open(self.config, "a") as f:
            f.write("busy_timeout_ms = 200\n")  # still in [store]
        self.add(message(0))
        self.account(after="flag")
        self.assertIn(b"fetched=1 stored=1", self.poll().stdout)
        self.add(message(1))
        db = sqlite3.connect(os.path.join(self.data, "docket.db"), timeout=0)
        db.execute("BEGIN EXCLUSIVE")
        proc = self.poll(check=False)
        db.rollback()
        db.close()
        self.assertEqual(proc.returncode, 75, proc.stderr)
        unseen = [n for n in self.files() if not n.endswith("S")]
        self.assertEqual(len(unseen), 1)
        self.assertIn(b"fetched=1 stored=1", self.poll().stdout)

    def test_uidvalidity_change_starts_over_without_duplicates(self):
        for i in range(3):
            self.add(message(i))
        self.account(after="flag")
        self.poll()
        with sqlite3.connect(os.path.join(self.data, "docket.db")) as db:
            db.execute("UPDATE imap_state SET uidvalidity = 1, last_uid = 99")
        proc = self.poll()
        self.assertIn(b"fetched=3 stored=0 duplicates=3", proc.stdout)
        self.assertIn(b"event=uidvalidity-changed", proc.stderr)
        self.assert_each_once(3)

    def test_oversized_message_is_refused_unread(self):
        with open(self.config, "a") as f:
            f.write("[intake]\nmax_message_size = 2K\n")
        self.add(message(0))
        self.add(message(1, body="x" * 5000))
        self.add(message(2))
        self.account(batch_size=10)
        proc = self.poll()
        self.assertIn(b"fetched=2 stored=2 duplicates=0 refused=1", proc.stdout)
        self.assertIn(b"uid=2 event=refused reason=\"larger than [intake] max_message_size (2048 bytes)",
                      proc.stderr)
        self.assertEqual(len(self.files("Refused")), 1)
        self.assertEqual(len(self.files("Processed")), 2)

    def test_large_messages_are_fetched_in_pieces(self):
        # Over 1 MiB a message is fetched a MiB at a time into a spool file
        # (BODY.PEEK[]<offset.length>) and read from there: every byte kept,
        # whether its size is a multiple of the piece or not, beside small
        # mail in the same batch.
        content = bytes((i * 7919 + i // 251) % 256 for i in range(1536 * 1024 + 5))
        with_file = with_attachment("dump@example.com", content, subject="the dump")
        head = (b"From: Bob <bob@example.com>\r\nTo: support@example.com\r\n"
                b"Subject: two MiB exactly\r\nMessage-ID: <exact@example.com>\r\n\r\n")
        line = b"a line of a long log, sixty-four bytes with its CRLF, no more.\r\n"
        exact = head + line * ((2 * 1048576 - len(head)) // len(line))
        exact += b"x" * (2 * 1048576 - len(exact) - 2) + b"\r\n"
        self.assertEqual(len(exact), 2 * 1048576)
        sent = [message(0), with_file, exact, message(1)]
        for m in sent:
            self.add(m)
        self.account(batch_size=10)
        proc = self.poll()
        self.assertIn(b"fetched=4 stored=4 duplicates=0 refused=0", proc.stdout, proc.stderr)
        self.assertEqual(len(self.files("Processed")), 4)
        tickets = json.loads(self.docket("ticket", "list", "--json").stdout)["tickets"]
        by_subject = {t["subject"]: t["number"] for t in tickets}
        doc = json.loads(self.docket("ticket", "show", str(by_subject["the dump"]),
                                     "--json").stdout)
        attachment = doc["articles"][0]["attachments"][0]
        self.assertEqual(attachment["size"], len(content))
        self.assertEqual(self.docket("attachment", "get", str(attachment["id"])).stdout, content)
        for subject, raw in (("the dump", with_file), ("two MiB exactly", exact)):
            export = os.path.join(self.dir, "export-%d" % by_subject[subject])
            self.docket("ticket", "export", str(by_subject[subject]), "--to", export)
            doc = json.loads(self.docket("ticket", "show", str(by_subject[subject]),
                                         "--json").stdout)
            name = "article-%d.eml" % doc["articles"][0]["id"]
            with open(os.path.join(export, name), "rb") as f:
                self.assertEqual(f.read(), raw, subject)
        self.assertEqual(os.listdir(os.path.join(self.data, "spool")), [])
        # a batch of a large message alone
        self.add(exact.replace(b"<exact@", b"<alone@"))
        self.assertIn(b"fetched=1 stored=1 duplicates=0 refused=0", self.poll().stdout)

    def test_unreadable_mail_is_quarantined_and_acknowledged(self):
        with open(self.config, "a") as f:
            f.write("[parse]\nmax_header_size = 1K\n")
        self.add(b"From: a@example.com\r\nSubject: big\r\nX-Long: " + b"y" * 3000 + b"\r\n\r\nbody\r\n")
        self.add(message(1))
        self.account()
        proc = self.poll()
        self.assertIn(b"fetched=2 stored=1 duplicates=0 refused=0 deferred=0 quarantined=1", proc.stdout)
        self.assertIn(b"event=quarantined entry=1 reason=\"header block larger than 1024 bytes", proc.stderr)
        entries = json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]
        self.assertEqual([e["intake"] for e in entries], ["imap"])
        self.assertEqual(len(self.files("Processed")), 2)
        self.assertEqual(self.files(), [])

    def test_auto_reply_naming_no_ticket_is_dropped_and_acknowledged(self):
        self.add(b"From: a@example.com\r\nTo: support@example.com\r\nSubject: Out of office\r\n"
                 b"Auto-Submitted: auto-replied\r\nMessage-ID: <ooo@example.com>\r\n\r\nAway.\r\n")
        self.account(after="flag")
        proc = self.poll()
        self.assertIn(b"fetched=1 stored=0 duplicates=0 refused=0 deferred=0 quarantined=0 dropped=1",
                      proc.stdout)
        self.assertEqual(self.tickets(), [])
        self.assertRegex(self.files()[0], r":2,[A-Z]*S")

    def test_starttls_with_authenticate_plain(self):
        self.add(message(0))
        self.account(tls="starttls", port=self.dovecot.plain_port, auth="plain")
        self.assertIn(b"stored=1", self.poll().stdout)
        self.assertIn("method=PLAIN", self.dovecot.log())

    def test_insecure_plain_when_asked(self):
        self.add(message(0))
        self.account(tls="insecure-plain", port=self.dovecot.plain_port, ca_file=None)
        self.assertIn(b"stored=1", self.poll().stdout)

    def test_several_folders_and_batches(self):
        for i in range(7):
            self.add(message(i), folder="INBOX" if i < 4 else "Support")
        self.account(folders="INBOX, Support", batch_size=2)
        self.assertIn(b"fetched=7 stored=7", self.poll().stdout)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.files("Support"), [])
        self.assertEqual(len(self.files("Processed")), 7)


class ErrorTest(ImapCase):
    def test_wrong_password(self):
        self.account(password="not-the-password")
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 78)
        err = proc.stderr.decode()
        self.assertIn("127.0.0.1:%d" % self.dovecot.tls_port, err)
        self.assertIn("authentication as %s" % self.user, err)
        self.assertIn("server said: Authentication failed", err)

    def test_untrusted_certificate_sends_no_credentials(self):
        self.account(ca_file=None)
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 78, proc.stderr)
        err = proc.stderr.decode()
        self.assertIn("TLS certificate of 127.0.0.1 not trusted", err)
        self.assertIn("not trusted", err)
        self.assertNotIn("user=<%s>" % self.user, self.dovecot.log())

    def test_summary_follows_the_error(self):
        """poll --once: the error first, then the summary, which says the
        round failed (a line of zeros alone reads like an empty mailbox)."""
        self.account(ca_file=None)
        proc = subprocess.run([BINARY, "-c", self.config, "poll", "--once"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(proc.returncode, 78)
        lines = proc.stdout.decode().splitlines()
        error = [i for i, l in enumerate(lines) if "not trusted" in l]
        summary = [i for i, l in enumerate(lines) if l.startswith("account=support ")]
        self.assertEqual(len(summary), 1, lines)
        self.assertTrue(error and error[-1] < summary[0], lines)
        self.assertTrue(lines[summary[0]].endswith(" result=failed"), lines)

    def test_untrusted_certificate_with_starttls(self):
        self.account(ca_file=None, tls="starttls", port=self.dovecot.plain_port)
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 78, proc.stderr)
        self.assertIn(b"TLS certificate of 127.0.0.1 not trusted", proc.stderr)
        self.assertNotIn("user=<%s>" % self.user, self.dovecot.log())

    def test_wrong_host_name(self):
        import socket
        if "127.0.0.1" not in {a[4][0] for a in socket.getaddrinfo("localhost", None)}:
            self.skipTest("localhost does not resolve to 127.0.0.1")
        self.account(host="localhost")
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 78, proc.stderr)
        self.assertIn(b"TLS certificate of localhost not trusted", proc.stderr)
        self.assertIn(b"another host name", proc.stderr)

    def test_password_file_readable_by_others_is_refused(self):
        path = os.path.join(self.dir, "password")
        with open(path, "w") as f:
            f.write(imaptest.PASSWORD + "\n")
        os.chmod(path, 0o644)
        self.account(password=None, password_file=path)
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"lets other users read it", proc.stderr)
        self.assertIn(path.encode(), proc.stderr)
        os.chmod(path, 0o600)
        self.add(message(0))
        self.assertIn(b"stored=1", self.poll().stdout)

    def test_no_server(self):
        self.account(port=imaptest.free_port())
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 75)
        self.assertIn(b"cannot connect", proc.stderr)

    def test_implicit_tls_on_a_plain_port(self):
        self.account(port=self.dovecot.plain_port)
        proc = self.poll(check=False)
        self.assertEqual(proc.returncode, 75, proc.stderr)
        self.assertIn(b"127.0.0.1:%d: connecting: TLS handshake failed" % self.dovecot.plain_port,
                      proc.stderr)

    def test_unknown_account(self):
        self.account()
        proc = self.docket("poll", "--once", "--account", "sales", check=False)
        self.assertEqual(proc.returncode, 78)
        self.assertIn(b"no [imap:sales] section", proc.stderr)
        empty = self.docket("-c", os.devnull, "poll", "--once", check=False)
        self.assertEqual(empty.returncode, 78)

    def test_config_dump_masks_password(self):
        self.account()
        dump = self.docket("config", "dump").stdout.decode()
        self.assertIn("[imap:support]", dump)
        self.assertNotIn(imaptest.PASSWORD, dump)
        self.assertIn("password = ********", dump)


class RobustnessTest(ImapCase):
    def test_idle_picks_up_new_mail_within_a_second(self):
        self.account(idle="true", poll_seconds=300)
        proc = self.background("poll", "--for-seconds", "10")
        try:
            # Wait for the first (empty) round to finish and IDLE to begin.
            self.assertTrue(self.wait_for(lambda: "IDLE" in self.dovecot.log() or
                                          os.path.exists(os.path.join(self.data, "docket.db")), 5))
            time.sleep(1.0)
            start = time.time()
            self.add(message(0))
            self.assertTrue(self.wait_for(lambda: self.article_count() == 1, 5))
            latency = time.time() - start
            print("IDLE latency %.3f s" % latency, file=sys.stderr)
            self.assertLess(latency, 1.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"stored=1", out)

    def test_serve_polls_beside_lmtp(self):
        """docket serve runs the account's poller with the LMTP listener."""
        self.account(idle="true", poll_seconds=300)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            http_port = probe.getsockname()[1]
        with open(self.config, "a") as f:
            f.write("[http]\nlisten = 127.0.0.1:%d\n" % http_port)
        self.add(message(0))
        proc = self.background("serve", "--listen", "127.0.0.1:0")
        try:
            self.assertTrue(self.wait_for(lambda: self.article_count() == 1, 15))
            self.add(message(1))
            self.assertTrue(self.wait_for(lambda: self.article_count() == 2, 5))
            # The operations endpoint reports the account's last poll.
            url = "http://127.0.0.1:%d/metrics" % http_port
            metrics = urllib.request.urlopen(url, timeout=10).read().decode()
            self.assertRegex(metrics, r'docket_imap_last_poll_timestamp_seconds\{account="support"\} \d+')
            self.assertIn('docket_messages_accepted_total{intake="imap"} 2\n', metrics)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assert_each_once(2)

    def test_sighup_starts_an_added_account_and_stops_a_removed_one(self):
        other = "user%d" % next(ImapCase.users)
        self.account(idle="true", poll_seconds=300)
        with open(self.config) as f:
            without = f.read()
        self.add(message(0))
        log_path = os.path.join(self.dir, "serve.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen", "127.0.0.1:0"],
                                    stderr=log)

        def logged(text):
            with open(log_path, "rb") as f:
                return text in f.read()
        try:
            self.assertTrue(self.wait_for(lambda: self.article_count() == 1, 15))
            self.dovecot.add(other, message(1))
            with open(self.config, "a") as f:
                f.write("[imap:sales]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = %s\n"
                        "password = %s\nidle = true\npoll_seconds = 300\n"
                        % (self.dovecot.tls_port, self.dovecot.cert, other, imaptest.PASSWORD))
            proc.send_signal(signal.SIGHUP)
            self.assertTrue(self.wait_for(lambda: self.article_count() == 2, 15),
                            "the added account was not started")
            self.assertTrue(logged(b"imap account=sales event=started"))
            with open(self.config, "w") as f:
                f.write(without)
            proc.send_signal(signal.SIGHUP)
            self.assertTrue(self.wait_for(lambda: logged(b"imap account=sales event=stopped"), 15))
            self.dovecot.add(other, message(2))
            self.add(message(3))  # the account left in place still works
            if not self.wait_for(lambda: self.article_count() == 3, 15):
                with open(log_path, "rb") as f:
                    self.fail("the account left in place took no new mail; docket's log:\n"
                              + f.read().decode(errors="replace"))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        self.assertEqual(self.db_rows("SELECT count(*) FROM articles WHERE message_id = "
                                      "'msg2@example.com'"), [(0,)])
        self.assertFalse(logged(b"imap account=support event=restarting"))

    def test_two_accounts_share_the_writer(self):
        other = "user%d" % next(ImapCase.users)
        self.add(message(0))
        self.dovecot.add(other, message(1))
        self.account()
        with open(self.config, "a") as f:
            f.write("[imap:sales]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = %s\n"
                    "password = %s\nafter = flag\n"
                    % (self.dovecot.tls_port, self.dovecot.cert, other, imaptest.PASSWORD))
        proc = self.background("poll", "--for-seconds", "30")
        try:
            self.assertTrue(self.wait_for(lambda: self.article_count() == 2, 10))
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"account=support fetched=1 stored=1", out)
        self.assertIn(b"account=sales fetched=1 stored=1", out)
        self.assert_each_once(2)
        self.assertEqual(len(self.dovecot.files(other)), 1)

    def imap_processes(self):
        """Our Dovecot's imap processes serving this test's user."""
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("dovecot/imap ") and "[%s " % self.user in cmd:
                pids.append(int(pid))
        return pids

    def test_watchdog_replaces_a_silent_connection(self):
        self.account(idle="true", idle_renew_seconds=1, timeout_seconds=2)
        proc = self.background("poll", "--for-seconds", "15")
        stopped = []
        try:
            self.assertTrue(self.wait_for(lambda: self.imap_processes(), 5))
            time.sleep(0.5)
            stopped = self.imap_processes()
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            self.add(message(0))
            # IDLE's DONE goes unanswered: the connection is replaced.
            self.assertTrue(self.wait_for(lambda: self.article_count() == 1, 10))
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"ending IDLE", err)
        self.assertIn(b"stored=1", out)

    def test_server_restart_mid_batch(self):
        # Enough messages that the server is stopped while docket is still
        # at work, however fast the machine.
        n = 1000
        for i in range(n):
            self.add(message(i))
        self.account(batch_size=1, idle="true")
        proc = self.background("poll", "--for-seconds", "400")
        try:
            self.assertTrue(self.wait_for(lambda: self.article_count() >= 10, 60))
            self.dovecot.stop()
            stopped_at = self.article_count()
            time.sleep(1.5)
            self.dovecot.start()
            # Generous bounds: a sanitizer build on a busy machine is slow.
            self.assertTrue(self.wait_for(lambda: self.article_count() == n, 240, step=0.2))
            self.assertTrue(self.wait_for(lambda: len(self.files()) == 0, 60, step=0.2))
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertLess(stopped_at, n, "the restart came too late to test anything")
        self.assertIn(b"event=error", err)
        self.assert_each_once(n)
        # A MOVE cut short may leave its copy behind (RFC 6851 section 4.4
        # allows copy and expunge to be apart): the retry moves the
        # message again, the store keeps one article. One message a MOVE
        # (batch_size = 1), so at most one copy more for each session
        # docket gave up on (each an event=error): the kill's, and those
        # that timed out after the restart while the server let their
        # MOVE wait for a lock the killed server left (Dovecot's stale
        # lock timeout is two minutes; the MOVEs it held back all ran
        # when it expired, after docket had moved on).
        given_up = err.count(b"event=error")
        self.assertGreaterEqual(len(self.files("Processed")), n)
        self.assertLessEqual(len(self.files("Processed")), n + given_up,
                             "the server's log:\n" + self.dovecot.log()[-4000:])

    def test_sigkill_mid_batch_then_rerun(self):
        n = 300
        for i in range(n):
            self.add(message(i))
        self.account(batch_size=10)
        proc = self.background("poll", "--once")
        killed_at = None
        try:
            self.assertTrue(self.wait_for(lambda: self.article_count() >= 25, 20, step=0.005))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            killed_at = self.article_count()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        self.assertLess(killed_at, n, "the kill came too late to test anything")
        self.poll()
        self.assert_each_once(n)
        self.assertEqual(self.files(), [])
        self.assertEqual(len(self.files("Processed")), n)
        self.assertIn(b"fetched=0", self.poll().stdout)


class ChainTest(DocketCase):
    """A server certificate issued by an intermediate CA: the chain the
    server sends is checked up to the root in ca_file."""

    def test_chain_to_root(self):
        imaptest.skip_unless_available()
        dovecot = imaptest.Dovecot(users=1, chain=True)
        try:
            dovecot.add("user1", message(0))
            with open(self.config, "a") as f:
                f.write("[imap:a]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user1\n"
                        "password = %s\n" % (dovecot.tls_port, dovecot.cert, imaptest.PASSWORD))
            self.assertIn(b"stored=1", self.docket("poll", "--once").stdout)
        finally:
            dovecot.close()


class FallbackTest(DocketCase):
    """Servers without MOVE (RFC 6851): COPY, \\Deleted and UID EXPUNGE
    with UIDPLUS (RFC 4315), plain EXPUNGE without."""

    def check(self, capability):
        imaptest.skip_unless_available()
        dovecot = imaptest.Dovecot(users=1, capability=capability)
        try:
            for i in range(3):
                dovecot.add("user1", message(i))
            with open(self.config, "a") as f:
                f.write("[imap:a]\nhost = 127.0.0.1\nport = %d\nca_file = %s\nuser = user1\n"
                        "password = %s\n" % (dovecot.tls_port, dovecot.cert, imaptest.PASSWORD))
            self.assertIn(b"fetched=3 stored=3", self.docket("poll", "--once").stdout)
            self.assertEqual(dovecot.files("user1"), [])
            self.assertEqual(len(dovecot.files("user1", "Processed")), 3)
            # Dovecot logs the session's summary when it ends, which may
            # come a moment after docket has finished.
            wait_for(lambda: "deleted=3 expunged=3" in dovecot.log(), 10)
            self.assertIn("deleted=3 expunged=3", dovecot.log())  # not MOVE: STORE \\Deleted
        finally:
            dovecot.close()

    def test_uidplus_without_move(self):
        self.check("IMAP4rev1 LITERAL+ IDLE UIDPLUS")

    def test_neither_move_nor_uidplus(self):
        self.check("IMAP4rev1 LITERAL+ IDLE")


def tearDownModule():
    if ImapCase.dovecot is not None:
        ImapCase.dovecot.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
