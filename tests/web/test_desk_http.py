"""The web desk over plain HTTP, without a browser: what a browser is
never shown. Pages need a session; the session cookie is HttpOnly and
SameSite=Strict; every page carries a strict Content-Security-Policy;
a form without the session's CSRF token, or sent from another site, is
refused and changes nothing; a read-only user sees no forms and may not
post them; attachments download as files; files over the limit, wrong
input and refused changes give 4xx and leave the store as it was; the
cookie is Secure behind a proxy that says HTTPS."""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdesk import PASSWORD, WebDeskCase, multipart  # noqa: E402 (puts tests/e2e on the path)
from dockettest import free_port  # noqa: E402
from test_desk import mail  # noqa: E402

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 2 + b"\n%%EOF\n"


class DeskHttpTest(WebDeskCase):
    def setUp(self):
        super().setUp()
        self.configure("[notify]\nattachment_max_size = 4K\n")
        self.deliver_ok(mail("alice@example.org", "VPN <b>down</b>", "a1@example.org",
                             "The handshake fails with error 809.\n"))
        self.start()
        self.ann = self.client()
        status, headers, _ = self.ann.login("ann")
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/desk/")
        self.cookie = headers["Set-Cookie"]

    def test_pages_need_a_session(self):
        stranger = self.client()
        status, headers, _ = stranger.request("/desk/tickets/1")
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/desk/login?next=/desk/tickets/1")
        status, headers, _ = stranger.request("/")
        self.assertEqual((status, headers["Location"]), (303, "/desk/"))
        status, _, body = stranger.request("/desk/attachments/1")
        self.assertEqual(status, 303)
        before = self.dump_store()
        status, _, body = stranger.request("/desk/tickets/1/note", {"csrf": "x", "text": "hi"})
        self.assertEqual(status, 401)
        self.assertEqual(self.dump_store(), before)
        status, _, body = stranger.login("ann", "wrong password")
        self.assertEqual(status, 401)
        self.assertIn(b"Wrong name or password.", body)

    def test_cookie_and_headers(self):
        self.assertIn("docket_session=", self.cookie)
        self.assertIn("HttpOnly", self.cookie)
        self.assertIn("SameSite=Strict", self.cookie)
        status, headers, body = self.ann.request("/desk/")
        self.assertEqual(status, 200)
        csp = headers["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        # No inline script or style anywhere: the policy would block it.
        self.assertNotRegex(body, rb"<script>|<script [^>]*>[^<]|<style|style=|\son[a-z]+=")
        # What mail wrote is text, never markup.
        self.assertIn(b"VPN &lt;b&gt;down&lt;/b&gt;", body)
        status, headers, css = self.ann.request("/desk/static/desk.css")
        self.assertEqual((status, headers["Content-Type"]), (200, "text/css; charset=utf-8"))

    def test_forms_need_the_csrf_token_and_this_site(self):
        csrf = self.ann.csrf("/desk/tickets/1")
        before = self.dump_store()
        for fields in ({"text": "no token"}, {"text": "bad token", "csrf": csrf + "x"}):
            status, _, body = self.ann.request("/desk/tickets/1/note", fields)
            self.assertEqual(status, 403, body)
        status, _, _ = self.ann.request("/desk/tickets/1/note", {"text": "x", "csrf": csrf},
                                        headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 403)
        status, _, _ = self.ann.request("/desk/tickets/1/set",
                                        {"status": "open", "priority": "none", "queue": "default",
                                         "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(status, 403)
        self.assertEqual(self.dump_store(), before)
        status, headers, _ = self.ann.request("/desk/tickets/1/note", {"text": "Seen.", "csrf": csrf},
                                              headers={"Origin": self.base})
        self.assertEqual(status, 303)
        self.assertTrue(headers["Location"].startswith("/desk/tickets/1?done=note#article-"))
        note = self.show(1)["articles"][-1]
        self.assertEqual((note["visibility"], note["new_text"].strip()), ("internal", "Seen."))

    def test_set_fields_and_refusals(self):
        csrf = self.ann.csrf("/desk/tickets/1")
        status, _, _ = self.ann.request("/desk/tickets/1/set", {
            "status": "in_progress", "priority": "high", "queue": "network",
            "assignee": "ann@help.example.com", "csrf": csrf})
        self.assertEqual(status, 303)
        t = self.show(1)["ticket"]
        self.assertEqual((t["status"], t["priority"], t["queue"], t["assignee"]),
                         ("in_progress", "high", "network", "ann@help.example.com"))
        changes = [e for e in self.show(1)["events"] if e["type"] == "status_change"]
        self.assertEqual(changes[-1]["detail"].get("by"), "ann")
        # The tags field lists the tags the ticket has after saving.
        fields = {"status": "in_progress", "priority": "high", "queue": "network",
                  "assignee": "ann@help.example.com", "csrf": csrf}
        self.assertEqual(self.ann.request("/desk/tickets/1/set",
                                          dict(fields, tags="vpn, urgent ,vpn"))[0], 303)
        self.assertEqual(sorted(self.show(1)["ticket"]["tags"]), ["urgent", "vpn"])
        self.assertIn(b'name="tags" value="urgent, vpn"', self.ann.request("/desk/tickets/1")[2])
        self.assertEqual(self.ann.request("/desk/tickets/1/set", dict(fields, tags="vpn"))[0], 303)
        self.assertEqual(self.show(1)["ticket"]["tags"], ["vpn"])
        before = self.dump_store()
        # closed only follows resolved: refused, nothing changed
        status, _, body = self.ann.request("/desk/tickets/1/set", {
            "status": "closed", "priority": "low", "queue": "network",
            "assignee": "ann@help.example.com", "csrf": csrf})
        self.assertEqual(status, 409, body)
        status, _, _ = self.ann.request("/desk/tickets/1/set", {
            "status": "bogus", "priority": "high", "queue": "network", "csrf": csrf})
        self.assertEqual(status, 400)
        status, _, _ = self.ann.request("/desk/tickets/99/set", {
            "status": "open", "priority": "high", "queue": "network", "csrf": csrf})
        self.assertEqual(status, 404)
        self.assertEqual(self.dump_store(), before)
        for path in ("/desk/?status=lost", "/desk/outbox?state=lost"):
            self.assertEqual(self.ann.request(path)[0], 400, path)
        self.assertEqual(self.ann.request("/desk/tickets/99")[0], 404)
        self.assertEqual(self.ann.request("/desk/tickets/x")[0], 404)

    def test_reply_with_file_and_download(self):
        csrf = self.ann.csrf("/desk/tickets/1")
        body, ctype = multipart({"csrf": csrf, "text": "Report attached."},
                                [("files", "report.pdf", PDF), ("files", "", b"")])
        status, headers, _ = self.ann.request("/desk/tickets/1/reply", body, content_type=ctype)
        self.assertEqual(status, 303)
        reply = self.show(1)["articles"][-1]
        self.assertEqual((reply["direction"], reply["visibility"]), ("outbound", "public"))
        files = reply["attachments"]
        self.assertEqual([(a["filename"], a["content_type"], a["size"]) for a in files],
                         [("report.pdf", "application/pdf", len(PDF))])
        status, headers, got = self.ann.request("/desk/attachments/%d" % files[0]["id"])
        self.assertEqual((status, got), (200, PDF))
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        self.assertTrue(headers["Content-Disposition"].startswith('attachment; filename="report.pdf"'))
        self.assertIn("sandbox", headers["Content-Security-Policy"])
        outbox = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
        self.assertIn("alice@example.org", [r["target"] for r in outbox if r["kind"] == "relay"])
        status, _, page = self.ann.request("/desk/tickets/1")
        self.assertIn(b">report.pdf</a>", page)

    def test_purged_attachment_says_when(self):
        """After retention purged a closed ticket's raw mail, the page says
        so and the attachment's download answers 410."""
        csrf = self.ann.csrf("/desk/tickets/1")
        body, ctype = multipart({"csrf": csrf, "text": "Report attached."},
                                [("files", "report.pdf", PDF)])
        self.assertEqual(self.ann.request("/desk/tickets/1/reply", body, content_type=ctype)[0], 303)
        [attachment] = self.show(1)["articles"][-1]["attachments"]
        waiting = None
        for _ in range(1200):  # the outbox sends the reply first (bounded wait)
            rows = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
            waiting = [r for r in rows if r["state"] in ("pending", "held")]
            if not waiting:
                break
            time.sleep(0.1)
        self.assertEqual(waiting, [], "a pending outbox row keeps the ticket's raw mail")
        self.configure("[queue:archive]\nkeep_raw_days = 30\n")
        long_ago = str(int(time.time()) - 40 * 86400)
        self.docket("ticket", "set", "1", "--queue", "archive")
        self.docket("ticket", "set", "1", "--status", "resolved", "--now", long_ago)
        self.docket("ticket", "set", "1", "--status", "closed", "--now", long_ago)
        done = json.loads(self.docket("store", "purge", "--json").stdout)
        self.assertEqual(done["attachments"], 1)
        status, _, page = self.ann.request("/desk/attachments/%d" % attachment["id"])
        self.assertEqual(status, 410)
        self.assertIn(b"Gone", page)
        self.assertIn(b"purged on", page)
        status, _, page = self.ann.request("/desk/tickets/1")
        self.assertEqual(status, 200)
        self.assertIn(b"content purged on", page)
        self.assertIn(b"Raw message", page)

    def test_files_over_the_limit_and_bad_forms_are_refused(self):
        csrf = self.ann.csrf("/desk/tickets/1")
        before = self.dump_store()
        body, ctype = multipart({"csrf": csrf, "text": "Too big."}, [("files", "big.bin", b"x" * 5000)])
        status, _, page = self.ann.request("/desk/tickets/1/reply", body, content_type=ctype)
        self.assertEqual(status, 413)
        self.assertIn(b"big.bin", page)
        self.assertEqual(self.dump_store(), before)
        status, _, _ = self.ann.request("/desk/tickets/1/reply", b"text=x&csrf=" + csrf.encode(),
                                        content_type="text/plain")
        self.assertEqual(status, 400)
        status, _, _ = self.ann.request("/desk/tickets/1/note", b"text=%FF%FE&csrf=" + csrf.encode(),
                                        content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 400)
        self.assertEqual(self.dump_store(), before)

    def test_cookie_is_secure_behind_a_proxy(self):
        status, headers, _ = self.client().request(
            "/desk/login", {"name": "ann", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(status, 303)
        self.assertIn("; Secure", headers["Set-Cookie"])
        self.assertNotIn("Secure", self.cookie)  # plain HTTP on loopback

    def test_new_ticket_for_a_customer(self):
        status, _, page = self.ann.request("/desk/")
        self.assertIn(b'href="/desk/new"', page)
        csrf = self.ann.csrf("/desk/new")
        page = self.ann.request("/desk/new")[2]
        self.assertIn(b'<input name="queue" value="default" required>', page)
        self.assertIn(b'<option value="none" selected>', page)
        before = self.dump_store()
        status, _, _ = self.ann.request("/desk/new", {
            "csrf": csrf, "requester": "not an address", "subject": "Phone call",
            "text": "x", "priority": "high", "queue": "default"})
        self.assertEqual(status, 400)
        self.assertEqual(self.dump_store(), before)
        status, headers, _ = self.ann.request("/desk/new", {
            "csrf": csrf, "requester": "dave@example.com", "subject": "Phone call: printer",
            "text": "Dave called: the printer is offline.", "priority": "high",
            "queue": "default", "assignee": ""})
        self.assertEqual((status, headers["Location"]), (303, "/desk/tickets/2?done=new"))
        doc = self.show(2)
        self.assertEqual((doc["ticket"]["requester"], doc["ticket"]["priority"]),
                         ("dave@example.com", "high"))
        self.assertEqual(doc["articles"][0]["direction"], "inbound")
        self.assertIn("printer is offline", doc["articles"][0]["text"])
        reader = self.client()
        reader.login("reader")
        self.assertEqual(reader.request("/desk/new")[0], 404)
        self.assertNotIn(b'href="/desk/new"', reader.request("/desk/")[2])

    def test_read_only_sees_no_forms_and_may_not_post(self):
        reader = self.client()
        self.assertEqual(reader.login("reader")[0], 303)
        status, _, page = reader.request("/desk/tickets/1")
        self.assertEqual(status, 200)
        self.assertNotIn(b'id="reply-form"', page)
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()  # log-out's
        before = self.dump_store()
        status, _, _ = reader.request("/desk/tickets/1/note", {"text": "x", "csrf": csrf})
        self.assertEqual(status, 403)
        self.assertEqual(self.dump_store(), before)

    def test_logout_ends_the_session(self):
        csrf = self.ann.csrf()
        status, headers, _ = self.ann.request("/desk/logout", {"csrf": csrf})
        self.assertEqual((status, headers["Location"]), (303, "/desk/login"))
        self.assertEqual(self.ann.request("/desk/")[0], 303)


class QueuesHttpTest(WebDeskCase):
    """The quarantine and the outbox pages and their buttons. The SMTP relay
    is a closed port, so the outbox's rows wait with their error."""

    def setUp(self):
        super().setUp()
        self.configure("[smtp]\nurl = smtp://127.0.0.1:%d\nstarttls = insecure-none\n"
                       % free_port())
        # An out-of-office reply naming no ticket: set aside.
        self.deliver_ok(mail("otto@example.org", "Out of office: back Monday", "o1@example.org",
                             "I am away until Monday.\n", "Auto-Submitted: auto-replied\n"))
        self.deliver_ok(mail("alice@example.org", "VPN down", "a1@example.org", "Error 809.\n"))
        self.start()

    def login(self, name):
        c = self.client()
        self.assertEqual(c.login(name)[0], 303)
        return c

    def quarantine(self):
        return json.loads(self.docket("quarantine", "list", "--json").stdout)["quarantine"]

    def test_quarantine_reprocess_and_release(self):
        entry, = self.quarantine()
        self.assertEqual(entry["kind"], "auto_reply")
        ann, root = self.login("ann"), self.login("root")
        status, _, page = ann.request("/desk/quarantine")
        self.assertEqual(status, 200)
        self.assertIn(b"otto@example.org", page)
        self.assertNotIn(b"/reprocess", page)  # agents see no button
        csrf = ann.csrf("/desk/quarantine")
        before = self.dump_store()
        status, _, _ = ann.request("/desk/quarantine/%d/reprocess" % entry["id"], {"csrf": csrf})
        self.assertEqual(status, 403)
        self.assertEqual(self.dump_store(), before)

        status, _, page = ann.request("/desk/quarantine/%d" % entry["id"])
        self.assertEqual(status, 200)
        self.assertIn(b"Auto-Submitted: auto-replied", page)  # the raw message, as text
        self.assertNotIn(b"/release", page)
        self.assertEqual(ann.request("/desk/quarantine/999")[0], 404)
        csrf = root.csrf("/desk/quarantine")
        status, _, page = root.request("/desk/quarantine")
        self.assertIn(b"/desk/quarantine/%d/reprocess" % entry["id"], page)
        # Still an auto-reply naming no ticket: set aside again.
        status, headers, _ = root.request("/desk/quarantine/%d/reprocess" % entry["id"],
                                          {"csrf": csrf})
        self.assertEqual((status, headers["Location"]), (303, "/desk/quarantine?done=reprocess"))
        self.assertEqual(len(self.quarantine()), 1)
        status, _, _ = root.request("/desk/quarantine/999/release", {"csrf": csrf})
        self.assertEqual(status, 404)
        # Released, it becomes an article whatever set it aside.
        status, headers, _ = root.request("/desk/quarantine/%d/release" % entry["id"],
                                          {"csrf": csrf})
        self.assertEqual(status, 303)
        self.assertRegex(headers["Location"], r"^/desk/tickets/\d+$")
        self.assertEqual(self.quarantine(), [])
        status, _, page = root.request(headers["Location"])
        self.assertIn(b"I am away until Monday.", page)

    def test_outbox_lists_and_retries(self):
        ann = self.login("ann")
        rows = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
        ack = [r for r in rows if r["target"] == "alice@example.org"][0]
        status, _, page = ann.request("/desk/outbox?state=pending")
        self.assertEqual(status, 200)
        self.assertIn(b"alice@example.org", page)
        self.assertIn(b"/desk/outbox/%d/retry" % ack["id"], page)
        csrf = ann.csrf("/desk/outbox")
        status, headers, _ = ann.request("/desk/outbox/%d/retry" % ack["id"], {"csrf": csrf})
        self.assertEqual((status, headers["Location"]), (303, "/desk/outbox?done=retry"))
        status, _, page = ann.request("/desk/outbox?done=retry")
        self.assertIn(b"The row is due again.", page)
        self.assertEqual(ann.request("/desk/outbox/999/retry", {"csrf": csrf})[0], 404)
        reader = self.login("reader")
        status, _, page = reader.request("/desk/outbox")
        self.assertEqual(status, 200)
        self.assertNotIn(b"/retry", page)
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        self.assertEqual(reader.request("/desk/outbox/%d/retry" % ack["id"], {"csrf": csrf})[0],
                         403)


if __name__ == "__main__":
    unittest.main(verbosity=2)
