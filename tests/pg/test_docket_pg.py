"""The docket binary on a PostgreSQL store ([store] backend = postgresql),
against the fixture's cluster (tests/pg/pg-cluster.py): `docket deliver`,
which carries no libpq, runs itself again as docket-net and files the
message in the database; `docket ticket` reads it back; nothing of the
store is written under data_dir (no SQLite file, no raw file); `docket
serve` takes mail over LMTP into the database."""

import os
import shlex
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lmtp"))
import dockettest  # noqa: E402
import lmtptest  # noqa: E402
import test_quarantine  # noqa: E402


def cluster_env():
    """The fixture's variables, or None without a cluster."""
    path = os.environ.get("DOCKET_TEST_PG_ENV")
    if not path or not os.path.exists(path):
        return None
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                env[key] = shlex.split(value)[0] if value else ""
    return env


ENV = cluster_env()


def psql(sql):
    """Runs sql as the cluster's superuser over its socket."""
    subprocess.run([os.path.join(ENV["DOCKET_TEST_PG_BINDIR"], "psql"), "-X", "-q",
                    "-v", "ON_ERROR_STOP=1", "-d", ENV["DOCKET_TEST_PG_ADMIN_URL"],
                    "-c", sql], check=True, stdout=subprocess.DEVNULL)


MESSAGE = (b"From: Dana <dana@customer.example>\r\nTo: support@example.org\r\n"
           b"Subject: Printer on fire\r\nMessage-ID: <pg-1@customer.example>\r\n\r\n"
           b"The printer on floor 2 is on fire.\r\n")


def psql_value(db, sql):
    """The one value sql selects in database db, as text."""
    url = ENV["DOCKET_TEST_PG_ADMIN_URL"].replace("/docket?", "/%s?" % db)
    return subprocess.run([os.path.join(ENV["DOCKET_TEST_PG_BINDIR"], "psql"), "-X", "-q",
                           "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          check=True, stdout=subprocess.PIPE).stdout.decode().strip()


def new_store(db=None):
    """The [store] lines of a new database of the cluster (named db)."""
    db = db or "e2e_" + uuid.uuid4().hex[:12]
    psql("CREATE DATABASE %s OWNER docket" % db)
    url = ENV["DOCKET_TEST_PG_URL"].replace("/docket?", "/%s?" % db)
    return ("backend = postgresql\nurl = %s\npassword_file = %s\n"
            % (url, ENV["DOCKET_TEST_PG_PASSWORD_FILE"]))


def large_message(size):
    """A message of size bytes, every line numbered."""
    head = (b"From: Dana <dana@customer.example>\r\nTo: support@example.org\r\n"
            b"Subject: The logs\r\nMessage-ID: <pg-large@customer.example>\r\n\r\n")
    body = b"".join(b"log line %08d of a large message\r\n" % i for i in range(size // 30))
    return (head + body)[:size - 2] + b"\r\n"


@unittest.skipIf(ENV is None, "no PostgreSQL test cluster")
class DeliverOnPostgres(dockettest.DocketCase):
    def setUp(self):
        super().setUp()
        self.configure(new_store())

    def test_deliver_and_read(self):
        proc = self.deliver(MESSAGE)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        again = self.deliver(MESSAGE)  # the same message: stored once
        self.assertEqual(again.returncode, 0, again.stderr.decode(errors="replace"))
        tickets = self.tickets()
        self.assertEqual([t["subject"] for t in tickets], ["Printer on fire"])
        shown = self.show(tickets[0]["number"])
        self.assertEqual(len(shown["articles"]), 1)
        found = self.docket("ticket", "search", "fire", "--json").stdout.decode()
        self.assertIn("Printer on fire", found)
        stored = []
        for _, _, files in os.walk(self.data):
            stored += [f for f in files if f.startswith("docket.db") or len(f) == 64]
        self.assertEqual(stored, [])

    def test_large_message_in_pieces(self):
        """A message of several MiB is kept in pieces of a MiB
        (raw_chunks) and exported byte for byte."""
        db = "e2e_" + uuid.uuid4().hex[:12]
        self.configure(new_store(db))
        message = large_message(3 * 1048576 + 777)
        proc = self.deliver(message)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        self.assertEqual(psql_value(db, "SELECT count(*) || ' ' || max(length(data))"
                                        " FROM raw_chunks"), "4 1048576")
        number = self.tickets()[0]["number"]
        out = os.path.join(self.dir, "export")
        self.docket("ticket", "export", str(number), "--to", out)
        eml = [f for f in os.listdir(out) if f.endswith(".eml")]
        with open(os.path.join(out, eml[0]), "rb") as f:
            self.assertEqual(f.read(), message)

    def test_unreachable_is_temporary(self):
        self.configure("backend = postgresql\nurl = postgresql://docket@127.0.0.1:%d/x"
                       "?sslmode=verify-full&sslrootcert=%s\npassword_file = %s\n"
                       % (dockettest.free_port(), ENV["DOCKET_TEST_PG_CA"],
                          ENV["DOCKET_TEST_PG_PASSWORD_FILE"]))
        proc = self.deliver(MESSAGE)
        self.assertEqual(proc.returncode, 75, proc.stderr.decode(errors="replace"))


@unittest.skipIf(ENV is None, "no PostgreSQL test cluster")
class LargeQuarantineOnPostgres(test_quarantine.LargeQuarantineTest):
    """A large message quarantined, shown, released and exported on
    PostgreSQL, where it is kept in pieces."""

    def setUp(self):
        self.config_text = new_store() + test_quarantine.LargeQuarantineTest.config_text
        super().setUp()


@unittest.skipIf(ENV is None, "no PostgreSQL test cluster")
class ServeOnPostgres(lmtptest.LmtpCase):
    def test_lmtp_into_the_database(self):
        server = self.serve("[store]\n" + new_store())
        def send(client, n):
            _, done = client.transaction("c%d@customer.example" % n, ["support@example.org"],
                                         MESSAGE.replace(b"pg-1@", b"pg-%d@" % n))
            self.assertEqual([r.code for r in done], [250])

        for session in range(2):
            with server.client() as client:
                client.greet()
                for i in range(10):
                    send(client, session * 10 + i)
        with server.client() as client:  # again: stored once
            client.greet()
            send(client, 0)
        self.assertEqual(len(self.tickets()), 20)
        self.assertFalse(os.path.exists(os.path.join(self.data, "docket.db")))


if __name__ == "__main__":
    unittest.main()
