"""The REST API /api/v1 against contrib/openapi.yaml, over HTTP to the real
`docket serve`: every endpoint, every documented error, the roles
enforced. Every response is checked against the spec (apiclient.py); a
refused request (4xx) must leave the store as it was; and the last test
proves that every operation and every status the spec documents was
answered at least once."""

import base64
import email
import email.policy
import glob
import hashlib
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from apiclient import Client, Spec
from dockettest import BINARY, free_port, wait_for_port

SEEN = set()
SPEC = Spec()

AUTO_REPLY = ("From: away@example.org\nTo: support@example.com\nSubject: Out of office\n"
              "Message-ID: <away1@example.org>\nAuto-Submitted: auto-replied\n\nI am away.\n")
BIG_HEADER = ("From: a@example.com\nSubject: huge header\nMessage-ID: <q1@example.com>\n"
              + "".join("X-Filler-%d: %s\n" % (i, "y" * 60) for i in range(40))
              + "\nbody of the quarantined message\n")
NO_FROM = "To: support@example.com\nSubject: nobody wrote this\nMessage-ID: <nofrom@x>\n\nhi\n"


class Server:
    """docket serve on loopback ports with a store of its own."""

    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(prefix="docket-api-")
        self.data = os.path.join(self.dir, "var")
        self.config = os.path.join(self.dir, "docket.conf")
        self.port, self.lmtp = free_port(), free_port()
        with open(self.config, "w") as f:
            f.write("[store]\ndata_dir = %s\n[http]\nlisten = 127.0.0.1:%d\n"
                    "max_body_size = 64K\n[notify]\nattachment_max_size = 2K\n"
                    "[parse]\nmax_header_size = 1K\n[sla]\ncheck_seconds = 86400\n"
                    "[queue:archive]\nkeep_raw_days = 30\n%s"
                    % (self.data, self.port, extra))

    def docket(self, *args, stdin=b""):
        proc = subprocess.run([BINARY, "-c", self.config, *args], input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("docket %s: %s" % (args, proc.stderr.decode()))
        return proc.stdout.decode()

    def user(self, name, role):
        self.docket("user", "add", name, "--role", role, "--email", "%s@example.com" % name)
        self.docket("user", "password", name, stdin=b"a long password\n")
        return self.docket("user", "token", name).strip()

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp], stderr=self.log)
        wait_for_port(self.port, 60)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "docket.db"), timeout=60)

    def quiet(self):
        """Waits (bounded) until the outbox worker has nothing due and no
        first attempt in flight (a claimed row's next attempt lies ahead),
        so that the store holds still between two dumps."""
        for _ in range(600):
            with self.db() as db:
                due = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                                 "kind != 'x-test' AND (attempts = 0 OR "
                                 "next_attempt_at <= strftime('%s'))").fetchone()[0]
            if due == 0:
                return
            time.sleep(0.1)

    def dump(self):
        with self.db() as db:
            return list(db.iterdump())


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.admin = cls.server.user("ada", "admin")
        cls.agent = cls.server.user("alice", "agent")
        cls.reader = cls.server.user("rita", "read_only")
        cls.server.start()
        cls.api = Client(cls.server.port, SPEC, SEEN)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def call(self, method, path, token="agent", status=None, **kw):
        token = {"agent": self.agent, "admin": self.admin, "reader": self.reader,
                 None: None}.get(token, token)
        r = self.api.call(method, path, token=token, **kw)
        if status is not None:
            self.assertEqual(r.status, status, r.body)
        return r

    def refused(self, status, method, path, token="agent", **kw):
        """A request the API must refuse with status, the store unchanged."""
        self.server.quiet()
        before = self.server.dump()
        r = self.call(method, path, token=token, status=status, **kw)
        self.assertEqual(self.server.dump(), before, "%s %s changed the store" % (method, path))
        return r

    def ticket(self, subject="Printer on fire", requester="bob@example.com"):
        r = self.call("POST", "/tickets", status=201,
                      json_body={"subject": subject, "requester": requester,
                                 "text": "The printer on floor 3 is on fire."})
        number = r.json()["ticket"]["number"]
        self.assertEqual(r.header("location"), "/api/v1/tickets/%d" % number)
        return number

    def test_authentication(self):
        self.assertEqual(self.call("GET", "/me", status=200).json()["role"], "agent")
        self.assertEqual(self.call("GET", "/me", token="admin", status=200).json()["name"], "ada")
        self.call("GET", "/me", token=None, status=401)
        r = self.call("GET", "/me", token="dkt_not-a-token", status=401)
        self.assertEqual(r.json()["code"], "unauthorized")
        self.call("GET", "/me", token=None, headers={"Authorization": "Basic YTpi"}, status=401)
        self.call("GET", "/tickets", token=None, status=401)

    def test_revoked_and_disabled(self):
        token = self.server.user("tess", "agent")
        self.call("GET", "/me", token=token, status=200)
        self.server.docket("user", "disable", "tess")
        self.call("GET", "/me", token=token, status=401)
        self.server.docket("user", "enable", "tess")
        self.call("GET", "/me", token=token, status=200)
        listed = json.loads(self.server.docket("user", "list", "--json"))["users"]
        self.assertIn({"name": "tess", "role": "agent", "email": "tess@example.com",
                       "display_name": None, "disabled": False}, listed)
        with self.server.db() as db:
            (token_id,) = db.execute("SELECT max(id) FROM api_tokens").fetchone()
            hashes = [h for (h,) in db.execute("SELECT sha256 FROM api_tokens")]
        self.assertIn(hashlib.sha256(token.encode()).hexdigest(), hashes)
        self.assertNotIn(token, hashes, "the store keeps the hash only")
        listed = self.server.docket("user", "tokens", "tess")
        self.assertRegex(listed, r"^ +%d  \S+  -\n$" % token_id)
        self.server.docket("user", "revoke", str(token_id))
        self.call("GET", "/me", token=token, status=401)
        self.assertIn("(revoked)", self.server.docket("user", "tokens", "tess"))

    def test_create_and_show(self):
        number = self.ticket()
        doc = self.call("GET", "/tickets/%d" % number, status=200).json()
        self.assertEqual(doc["ticket"]["requester"], "bob@example.com")
        self.assertEqual(doc["articles"][0]["direction"], "inbound")
        created = [e for e in doc["events"] if e["type"] == "created"][0]
        self.assertEqual(created["detail"]["by"], "alice")
        self.call("GET", "/tickets/99999", status=404)
        self.refused(400, "POST", "/tickets", json_body={"subject": "no requester", "text": "x"})
        self.refused(400, "POST", "/tickets", json_body={"subject": "x", "requester": "not-mail",
                                                         "text": "x"})
        self.refused(400, "POST", "/tickets", json_body={"subject": "x", "requester": "a@b.c",
                                                         "text": "x", "priority": "urgent"})
        self.refused(400, "POST", "/tickets", body=b"subject=x",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.refused(400, "POST", "/tickets", body=b"[1, 2",
                     headers={"Content-Type": "application/json"})
        self.refused(403, "POST", "/tickets", token="reader",
                     json_body={"subject": "x", "requester": "a@b.c", "text": "x"})
        self.refused(401, "POST", "/tickets", token=None,
                     json_body={"subject": "x", "requester": "a@b.c", "text": "x"})

    def test_list_filters_and_cursor(self):
        numbers = {self.ticket("list %d" % i, "list%d@example.com" % i) for i in range(5)}
        self.call("PATCH", "/tickets/%d" % min(numbers), json_body={"priority": "critical"},
                  status=200)
        first = self.call("GET", "/tickets?limit=2", status=200).json()
        self.assertEqual(len(first["tickets"]), 2)
        # The most urgent first: the critical ticket leads.
        self.assertEqual(first["tickets"][0]["number"], min(numbers))
        pages, cursor = [first["tickets"]], first["next_cursor"]
        while cursor:
            page = self.call("GET", "/tickets?limit=2&cursor=" + cursor, status=200).json()
            pages.append(page["tickets"])
            cursor = page["next_cursor"]
        listed = [t["number"] for page in pages for t in page]
        self.assertEqual(len(listed), len(set(listed)), "no ticket on two pages")
        self.assertTrue(numbers <= set(listed))
        one = self.call("GET", "/tickets?requester=list3@example.com", status=200).json()
        self.assertEqual([t["requester"] for t in one["tickets"]], ["list3@example.com"])
        crit = self.call("GET", "/tickets?priority=critical&status=new,open", status=200).json()
        self.assertEqual([t["number"] for t in crit["tickets"]], [min(numbers)])
        self.call("GET", "/tickets?created_since=2020-01-01&breached=false", status=200)
        for bad in ("status=bogus", "limit=0", "limit=x", "cursor=junk", "breached=maybe",
                    "created_since=yesterday"):
            self.assertEqual(self.call("GET", "/tickets?" + bad, status=400).json()["code"],
                             "invalid")

    def test_update_lifecycle_and_events(self):
        number = self.ticket()
        path = "/tickets/%d" % number
        doc = self.call("PATCH", path, status=200, json_body={
            "status": "in_progress", "priority": "high", "queue": "hardware",
            "assignee": "alice", "tags_add": ["fire", "floor3"]}).json()
        t = doc["ticket"]
        self.assertEqual((t["status"], t["priority"], t["queue"], t["assignee"]),
                         ("in_progress", "high", "hardware", "alice"))
        self.assertEqual(sorted(t["tags"]), ["fire", "floor3"])
        changes = [e for e in doc["events"] if e["type"] in
                   ("status_change", "priority_change", "queue_change", "assignment", "tag")]
        self.assertEqual(len(changes), 6)
        self.assertEqual({e["detail"]["by"] for e in changes}, {"alice"})
        # The lifecycle of `ticket set`: closed only follows resolved.
        r = self.refused(409, "PATCH", path, json_body={"status": "closed"})
        self.assertEqual(r.json()["code"], "conflict")
        self.refused(400, "PATCH", path, json_body={"status": "bogus"})
        self.refused(400, "PATCH", path, json_body={"priority": "urgent"})
        self.refused(400, "PATCH", path, json_body={})
        self.refused(400, "PATCH", path, json_body={"colour": "red"})
        self.refused(400, "PATCH", path, json_body={"tags_add": "fire"})
        self.refused(403, "PATCH", path, token="reader", json_body={"status": "resolved"})
        self.refused(404, "PATCH", "/tickets/99999", json_body={"status": "open"})
        doc = self.call("PATCH", path, status=200, json_body={
            "status": "resolved", "assignee": None, "tags_remove": ["fire"]}).json()
        self.assertIsNone(doc["ticket"]["assignee"])
        self.assertEqual(doc["ticket"]["tags"], ["floor3"])
        self.call("PATCH", path, status=200, json_body={"status": "closed"})

    def maildir_files(self):
        return glob.glob(os.path.join(self.server.data, "outbox-maildir", "*", "*"))

    def test_reply_with_attachment_is_mailed(self):
        number = self.ticket(requester="carol@example.com")
        r = self.call("POST", "/tickets/%d/replies" % number, status=201, form=[
            ("text", "We sent someone with an extinguisher."),
            ("file", ("report.txt", b"fire is out\n", "text/plain"))])
        article = r.json()["article"]
        self.assertEqual((article["direction"], article["visibility"], article["to"]),
                         ("outbound", "public", "carol@example.com"))
        self.assertEqual(article["from"], "alice@example.com")
        [attachment] = article["attachments"]
        got = self.call("GET", "/attachments/%d" % attachment["id"], status=200)
        self.assertEqual(got.body, b"fire is out\n")
        self.assertEqual(got.header("content-type"), "text/plain")
        self.assertEqual(got.header("content-length"), "12")
        self.assertTrue(got.header("content-disposition").startswith("attachment;"))
        self.assertIn("sandbox", got.header("content-security-policy"))
        self.call("GET", "/attachments/99999", status=404)
        # The outbox mails it to the customer, with the file.
        self.server.quiet()
        mails = []
        for name in self.maildir_files():
            with open(name, "rb") as f:
                mails.append(email.message_from_binary_file(f, policy=email.policy.default))
        mine = [m for m in mails if m["To"] and "carol@example.com" in m["To"]
                and "extinguisher" in m.get_body(("plain",)).get_content()]
        self.assertEqual(len(mine), 1, [m["Subject"] for m in mails])
        self.assertEqual([a.get_filename() for a in mine[0].iter_attachments()], ["report.txt"])
        rows = self.call("GET", "/outbox?state=done", status=200).json()["outbox"]
        self.assertTrue(any(row["ticket"] == number for row in rows))
        # JSON replies, and what is refused.
        self.call("POST", "/tickets/%d/replies" % number, json_body={"text": "And again."},
                  status=201)
        path = "/tickets/%d/replies" % number
        self.refused(400, "POST", path, json_body={"text": "   "})
        self.refused(400, "POST", path, json_body={"text": 7})
        self.refused(400, "POST", path, form=[("comment", "not a field")])
        self.refused(403, "POST", path, token="reader", json_body={"text": "hi"})
        self.refused(404, "POST", "/tickets/99999/replies", json_body={"text": "hi"})
        r = self.refused(413, "POST", path, form=[
            ("text", "too big"), ("file", ("big.bin", b"x" * 3000, "application/octet-stream"))])
        self.assertEqual(r.json()["code"], "too_large")
        r = self.refused(413, "POST", path, form=[("text", "y" * 70000)])
        self.assertEqual(r.json()["code"], "too_large")

    def test_large_attachment_comes_whole(self):
        """A file of several pieces (the server sends 64 KiB at a time, as
        the client takes them), delivered by mail: byte for byte, with its
        length announced, twice over one connection."""
        big = bytes(random.Random(7).getrandbits(8) for _ in range(200001))
        mail = ("From: dora@example.com\r\nTo: support@example.com\r\n"
                "Subject: the full log\r\nMessage-ID: <log1@example.com>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\nthe log attached\r\n"
                "--b\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: attachment; filename=log.bin\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
                + base64.encodebytes(big).decode().replace("\n", "\r\n")
                + "--b--\r\n")
        proc = subprocess.run([BINARY, "-c", self.server.config, "deliver"],
                              input=mail.encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        [hit] = self.call("GET", "/search?q=log", status=200).json()["hits"]
        articles = self.call("GET", "/tickets/%d/articles" % hit["ticket"],
                             status=200).json()["articles"]
        [log] = [x for a in articles for x in a["attachments"] if x["filename"] == "log.bin"]
        got = self.call("GET", "/attachments/%d" % log["id"], status=200)
        self.assertEqual(got.header("content-length"), "200001")
        self.assertEqual(got.header("content-type"), "application/octet-stream")
        self.assertEqual(got.body, big)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            for _ in range(2):
                conn.request("GET", SPEC.base + "/attachments/%d" % log["id"],
                             headers={"Authorization": "Bearer " + self.agent})
                r = conn.getresponse()
                self.assertEqual((r.status, r.read()), (200, big))
        finally:
            conn.close()

    def test_reply_without_requester_conflicts(self):
        proc = subprocess.run([BINARY, "-c", self.server.config, "deliver"],
                              input=NO_FROM.encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        listed = self.call("GET", "/search?q=nobody", status=200).json()["hits"]
        number = listed[0]["ticket"]
        self.refused(409, "POST", "/tickets/%d/replies" % number, json_body={"text": "to whom?"})

    def test_notes_and_articles(self):
        number = self.ticket()
        r = self.call("POST", "/tickets/%d/notes" % number, status=201, form=[
            ("text", "Internal: check the smoke detector."),
            ("file", ("photo.png", b"\x89PNG fake", "image/png"))])
        note = r.json()["article"]
        self.assertEqual((note["visibility"], note["internal"]), ("internal", True))
        self.assertEqual(note["attachments"][0]["filename"], "photo.png")
        self.call("POST", "/tickets/%d/notes" % number, json_body={"text": "plain note"},
                  status=201)
        articles = self.call("GET", "/tickets/%d/articles" % number, status=200).json()
        self.assertEqual([a["visibility"] for a in articles["articles"]],
                         ["public", "internal", "internal"])
        self.call("GET", "/tickets/99999/articles", status=404)
        path = "/tickets/%d/notes" % number
        self.refused(400, "POST", path, json_body={})
        self.refused(403, "POST", path, token="reader", json_body={"text": "hi"})
        self.refused(404, "POST", "/tickets/99999/notes", json_body={"text": "hi"})
        self.refused(413, "POST", path, form=[
            ("text", "too big"), ("file", ("big.bin", b"x" * 3000, "application/octet-stream"))])
        # A note mails no one.
        self.server.quiet()
        rows = self.call("GET", "/outbox", status=200).json()["outbox"]
        self.assertFalse(any(row["payload"].get("article") == note["id"] for row in rows))

    def test_purged_attachment_is_gone(self):
        """An attachment whose content retention purged answers 410 with
        the day it went; the article still lists its name and size."""
        number = self.ticket(subject="Old news")
        r = self.call("POST", "/tickets/%d/notes" % number, status=201, form=[
            ("text", "The old report."), ("file", ("old.txt", b"kept a while\n", "text/plain"))])
        [attachment] = r.json()["article"]["attachments"]
        self.server.quiet()
        long_ago = str(int(time.time()) - 40 * 86400)
        for args in (["--queue", "archive"], ["--status", "resolved", "--now", long_ago],
                     ["--status", "closed", "--now", long_ago]):
            self.server.docket("ticket", "set", str(number), *args)
        out = self.server.docket("store", "purge", "--json")
        self.assertEqual(json.loads(out)["attachments"], 1)
        r = self.call("GET", "/attachments/%d" % attachment["id"], status=410)
        self.assertEqual(r.json()["code"], "gone")
        self.assertIn("purged on", r.json()["message"])
        articles = self.call("GET", "/tickets/%d/articles" % number, status=200).json()["articles"]
        listed = [a for a in articles if a["attachments"]][0]["attachments"][0]
        self.assertEqual((listed["filename"], listed["size"], listed["stored"]),
                         ("old.txt", 13, False))
        self.assertIsNotNone(listed["purged_at"])

    def test_time_entries(self):
        number = self.ticket()
        path = "/tickets/%d/time" % number
        r = self.call("POST", path, json_body={"duration": "1h15m", "note": "on site"}, status=201)
        self.assertEqual(r.json()["time_entry"]["minutes"], 75)
        self.assertEqual(r.json()["time_entry"]["author"], "alice")
        self.call("POST", path, json_body={"minutes": 5}, status=201)
        self.assertEqual(self.call("GET", path, status=200).json()["time_minutes"], 80)
        self.call("GET", "/tickets/99999/time", status=404)
        self.refused(400, "POST", path, json_body={"minutes": 0})
        self.refused(400, "POST", path, json_body={"minutes": 5, "duration": "5m"})
        self.refused(400, "POST", path, json_body={"duration": "soon"})
        self.refused(403, "POST", path, token="reader", json_body={"minutes": 5})
        self.refused(404, "POST", "/tickets/99999/time", json_body={"minutes": 5})

    def test_merge(self):
        target, source = self.ticket("merge target"), self.ticket("merge source")
        doc = self.call("POST", "/tickets/%d/merge" % target, json_body={"source": source},
                        status=200).json()
        self.assertEqual(doc["ticket"]["articles"], 2)
        merged = self.call("GET", "/tickets/%d" % source, status=200).json()
        self.assertEqual(merged["ticket"]["merged_into"], target)
        path = "/tickets/%d/merge" % target
        self.refused(409, "POST", path, json_body={"source": source})
        self.refused(409, "POST", path, json_body={"source": target})
        self.refused(400, "POST", path, json_body={"source": "two"})
        self.refused(403, "POST", path, token="reader", json_body={"source": source})
        self.refused(404, "POST", "/tickets/99999/merge", json_body={"source": source})
        self.refused(404, "POST", path, json_body={"source": 99999})

    def test_search(self):
        number = self.ticket("Coffee machine leaks")
        hits = self.call("GET", "/search?q=coffee", status=200).json()["hits"]
        self.assertIn(number, [h["ticket"] for h in hits])
        self.call("GET", "/search?q=coffee&limit=1", status=200)
        self.call("GET", "/search", status=400)
        self.call("GET", "/search?q=%20", status=400)
        self.call("GET", "/search?q=x&limit=9999", status=400)

    def test_quarantine(self):
        for message in (AUTO_REPLY, BIG_HEADER):
            proc = subprocess.run([BINARY, "-c", self.server.config, "deliver"],
                                  input=message.encode(), capture_output=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        entries = self.call("GET", "/quarantine", token="reader", status=200).json()["quarantine"]
        kinds = {e["kind"]: e["id"] for e in entries}
        self.assertEqual(set(kinds), {"auto_reply", "unreadable"})
        self.call("GET", "/quarantine/%d" % kinds["unreadable"], status=200)
        self.call("GET", "/quarantine/99999", status=404)
        path = "/quarantine/%d/reprocess"
        self.refused(403, "POST", path % kinds["auto_reply"])
        self.refused(403, "POST", path % kinds["auto_reply"], token="reader")
        r = self.refused(409, "POST", path % kinds["unreadable"], token="admin")
        self.assertIn("still unreadable", r.json()["message"])
        self.refused(404, "POST", path % 99999, token="admin")
        self.refused(400, "POST", path % kinds["auto_reply"], token="admin",
                     json_body={"release": "yes"})
        again = self.call("POST", path % kinds["auto_reply"], token="admin", status=200).json()
        self.assertIsNone(again["ticket"], "set aside again")
        released = self.call("POST", path % kinds["auto_reply"], token="admin",
                             json_body={"release": True}, status=200).json()
        self.assertIsInstance(released["ticket"], int)
        events = self.call("GET", "/tickets/%d" % released["ticket"], status=200).json()["events"]
        self.assertIn({"by": "ada", "quarantine": kinds["auto_reply"]},
                      [e["detail"] for e in events if e["type"] == "quarantine_reprocess"])
        left = self.call("GET", "/quarantine", status=200).json()["quarantine"]
        self.assertEqual([e["kind"] for e in left], ["unreadable"])

    def test_outbox(self):
        owner = self.ticket(requester="erin@example.com")
        with self.server.db() as db:
            db.execute("INSERT INTO outbox (kind, target, ticket, payload, state, attempts,"
                       " next_attempt_at, last_error, created_at) VALUES ('x-test',"
                       " 'nobody@example.com', ?, '{}', 'failed', 3, 0, 'gave up', 1)", (owner,))
            (failed,) = db.execute("SELECT max(id) FROM outbox").fetchone()
        rows = self.call("GET", "/outbox?state=failed", token="reader", status=200).json()
        self.assertIn(failed, [row["id"] for row in rows["outbox"]])
        self.call("GET", "/outbox?limit=1", status=200)
        self.call("GET", "/outbox?state=lost", status=400)
        self.refused(403, "POST", "/outbox/%d/retry" % failed, token="reader")
        self.refused(404, "POST", "/outbox/99999/retry")
        row = self.call("POST", "/outbox/%d/retry" % failed, status=200).json()
        self.assertEqual(row["state"], "pending")
        events = self.call("GET", "/tickets/%d" % owner, status=200).json()["events"]
        self.assertIn({"by": "alice", "outbox": failed},
                      [e["detail"] for e in events if e["type"] == "outbox_retry"])
        # A row that was sent cannot be retried.
        number = self.ticket(requester="dave@example.com")
        self.call("POST", "/tickets/%d/replies" % number, json_body={"text": "done"},
                  status=201)
        self.server.quiet()
        rows = self.call("GET", "/outbox", status=200).json()["outbox"]
        done = [row["id"] for row in rows if row["ticket"] == number and row["state"] == "done"]
        self.assertTrue(done, rows)
        self.refused(409, "POST", "/outbox/%d/retry" % done[0])

    def test_every_operation_needs_a_user(self):
        for template, method in sorted(SPEC.operations()):
            path = template.replace("{number}", "1").replace("{id}", "1")
            body = {"text": "x"} if method != "GET" else None
            r = self.refused(401, method, path, token=None, json_body=body)
            self.assertEqual(r.header("www-authenticate"), 'Bearer realm="docket"')

    def test_methods_and_paths(self):
        r = self.call("DELETE", "/tickets/1", status=405)
        self.assertIn("PATCH", r.header("allow"))
        self.call("GET", "/nothing/here", status=404)
        self.call("GET", "/tickets/abc", status=404)

    def test_session_cookie_needs_csrf_for_writes(self):
        """The web desk's session: reads with the cookie alone, writes only
        with the session's CSRF token (the desk makes sessions; here one
        is written into the store as dk_session_start would)."""
        cookie, csrf = "test-session-cookie-value", "test-csrf-token"
        with self.server.db() as db:
            (user,) = db.execute("SELECT id FROM users WHERE name = 'alice'").fetchone()
            db.execute("INSERT INTO sessions (sha256, user, csrf, created_at, expires_at)"
                       " VALUES (?, ?, ?, 0, strftime('%s') + 3600)",
                       (hashlib.sha256(cookie.encode()).hexdigest(), user, csrf))
        jar = {"Cookie": "docket_session=" + cookie}
        self.assertEqual(self.call("GET", "/me", token=None, headers=jar, status=200)
                         .json()["name"], "alice")
        body = {"subject": "by cookie", "requester": "e@example.com", "text": "x"}
        r = self.refused(403, "POST", "/tickets", token=None, headers=jar, json_body=body)
        self.assertEqual(r.json()["code"], "csrf")
        self.refused(403, "POST", "/tickets", token=None, json_body=body,
                     headers=dict(jar, **{"X-CSRF-Token": "wrong"}))
        self.call("POST", "/tickets", token=None, json_body=body, status=201,
                  headers=dict(jar, **{"X-CSRF-Token": csrf}))
        self.call("GET", "/me", token=None, headers={"Cookie": "docket_session=other"},
                  status=401)

    def test_security_headers(self):
        r = self.call("GET", "/me", status=200)
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("cache-control"), "no-store")
        r = self.api.raw("GET", "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def test_spec_is_whole(self):
        """Every $ref of the spec resolves, and every operation documents
        its answers, 401 included (every path needs a user)."""
        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    SPEC.resolve(node)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(SPEC.doc)
        self.assertTrue(SPEC.doc["openapi"].startswith("3."))
        for template, method in SPEC.operations():
            self.assertIn("401", SPEC.statuses(template, method), (method, template))

    def test_zz_every_operation_and_status(self):
        """Runs last: every operation of the spec and every status it
        documents was answered (and checked) by the tests above."""
        missing = []
        for template, method in sorted(SPEC.operations()):
            for status in sorted(SPEC.statuses(template, method)):
                if (template, method, int(status)) not in SEEN:
                    missing.append("%s %s %s" % (method, template, status))
        self.assertEqual(missing, [], "never answered:\n" + "\n".join(missing))


if __name__ == "__main__":
    unittest.main(verbosity=2)
