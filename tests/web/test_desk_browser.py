"""The web desk in a real browser: headless Chromium (Debian's chromium
and chromium-driver, through python3-selenium) logs in, finds a ticket
by search, replies with an attachment, and the customer's mail leaves
through the outbox with the file; an internal note with a file stays on
the ticket. The list also reads on a phone's
width. With DOCKET_SCREENSHOTS=DIR it saves the screenshots the README
shows (desk-list.png, desk-ticket.png, desk-phone.png). Skips (77) when
the browser or its driver is not installed."""

import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdesk import PASSWORD, WebDeskCase, multipart  # noqa: E402,F401 (tests/e2e on the path)
from test_desk import SUPPORT, mail  # noqa: E402

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

REPORT = b"Ticket export\n" + bytes(range(256)) * 4 + b"\nend\n"
# How long the browser may take to show a page: a deadline for a busy
# machine (ASan, two cores), never an assertion on speed.
PAGE_WAIT = float(os.environ.get("DOCKET_BROWSER_WAIT", "120"))


def setUpModule():
    if webdriver is None or CHROMIUM is None or not os.path.exists(DRIVER):
        print("skipped: chromium, chromium-driver or python3-selenium missing")
        sys.exit(77)


class BrowserTest(WebDeskCase):
    def setUp(self):
        super().setUp()
        self.deliver_ok(mail("Alice Doe <alice@example.org>", "Printer on floor 3 jams",
                             "a1@example.org", "The printer jams on every duplex job.\n"))
        self.deliver_ok(mail("bob@example.net", "Flux capacitor readings drift",
                             "b1@example.net", "Since Monday the flux capacitor reads 1.21 GW "
                             "at rest.\nCould you check the calibration?\n"))
        self.deliver_ok(mail("carol@example.com", "New laptop for Dana", "c1@example.com",
                             "Dana starts on Monday and needs a laptop.\n"))
        self.deliver_ok(mail("erin@example.org", "VPN drops every ten minutes", "e1@example.org",
                             "The tunnel drops with error 809.\n"))
        self.deliver_ok(mail("frank@example.com", "Invoice 4711 shows the wrong VAT",
                             "f1@example.com", "The invoice has 19 % instead of 7 %.\n"))
        # An hour old and critical: its first response (15 minutes) is overdue.
        hour_ago = str(int(time.time()) - 3600)
        proc = self.deliver(mail("gina@example.net", "Mail server rejects all mail", "g1@example.net",
                                 "Every message bounces with 550.\n"), "--received-at", hour_ago)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.docket("ticket", "set", "2", "--priority", "high")
        self.docket("ticket", "set", "3", "--priority", "low", "--status", "in_progress",
                    "--assign", "ann@help.example.com")
        self.docket("ticket", "set", "4", "--priority", "medium", "--status", "on_hold",
                    "--queue", "network")
        self.docket("ticket", "set", "5", "--priority", "low", "--queue", "billing")
        self.docket("ticket", "set", "6", "--priority", "critical", "--assign",
                    "ann@help.example.com")
        self.start()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--window-size=1280,900", "--lang=en-US"):
            options.add_argument(arg)
        self.browser = webdriver.Chrome(service=Service(executable_path=DRIVER),
                                        options=options)
        self.browser.set_page_load_timeout(PAGE_WAIT)
        self.shots = os.environ.get("DOCKET_SCREENSHOTS")

    def tearDown(self):
        if getattr(self, "browser", None) is not None:
            self.browser.quit()
        super().tearDown()

    def wait_for(self, css):
        return WebDriverWait(self.browser, PAGE_WAIT).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_for_url(self, part):
        """Waits for the page a form leads to (the one before may still be
        showing when the click returns), then for its message."""
        WebDriverWait(self.browser, PAGE_WAIT).until(EC.url_contains(part))
        return self.wait_for("p.flash")

    def shot(self, name):
        if self.shots:
            os.makedirs(self.shots, exist_ok=True)
            self.browser.save_screenshot(os.path.join(self.shots, name))

    def login(self):
        self.browser.get(self.base + "/desk/")
        self.wait_for("form.login")
        self.assertTrue(self.browser.current_url.startswith(self.base + "/desk/login"))
        self.browser.find_element(By.NAME, "name").send_keys("ann")
        self.browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.browser.find_element(By.CSS_SELECTOR, "form.login button").click()
        self.wait_for("table.tickets")

    def customer_mail(self, text):
        """The messages the outbox wrote to the customer with text in their
        body, waiting for the worker of docket serve to send them."""
        deadline = time.monotonic() + PAGE_WAIT
        while True:
            got = [m for m in self.sent() if m["To"].addresses[0].addr_spec == "bob@example.net"
                   and text in m.get_body(("plain",)).get_content()]
            if got or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    def test_search_reply_with_attachment_reaches_the_outbox(self):
        self.login()
        rows = self.browser.find_elements(By.CSS_SELECTOR, "table.tickets tr.ticket")
        self.assertEqual(len(rows), 6)
        # The most urgent first: the critical ticket past its target, then
        # the high one with its clock running.
        self.assertIn("Mail server rejects", rows[0].text)
        overdue = rows[0].find_element(By.CSS_SELECTOR, "td.sla")
        self.assertRegex(overdue.text, r"^-\d+m$")
        self.assertIn("sla-overdue", overdue.get_attribute("class"))
        self.assertIn("Flux capacitor", rows[1].text)
        self.assertRegex(rows[1].find_element(By.CSS_SELECTOR, "td.sla").text, r"^\d+[hm]")
        paused = [r for r in rows if "VPN drops" in r.text][0]
        self.assertIn("paused", paused.find_element(By.CSS_SELECTOR, "td.sla").text)
        self.shot("desk-list.png")

        search = self.browser.find_element(By.ID, "search")
        search.send_keys("capacitor\n")
        hit = self.wait_for("ol.hits li.hit a.ticket-link")
        self.assertEqual(self.browser.find_element(By.CSS_SELECTOR, "ol.hits mark").text,
                         "capacitor")
        self.assertEqual(len(self.browser.find_elements(By.CSS_SELECTOR, "li.hit")), 1)
        hit.click()
        self.wait_for("#reply-form")
        self.assertEqual(self.browser.current_url, self.base + "/desk/tickets/2")
        article = self.browser.find_element(By.CSS_SELECTOR, "article.article.inbound.public")
        self.assertIn("bob@example.net", article.text)
        self.assertIn("opened the ticket", article.text)

        path = os.path.join(self.dir, "calibration-report.bin")
        with open(path, "wb") as f:
            f.write(REPORT)
        self.browser.find_element(By.ID, "reply-text").send_keys(
            "We recalibrated it remotely; the report is attached.")
        self.browser.find_element(By.ID, "reply-files").send_keys(path)
        self.browser.find_element(By.CSS_SELECTOR, "#reply-form button[type=submit]").click()
        self.wait_for_url("/desk/tickets/2?done=reply")
        # the last article: after the acknowledgement docket sent
        reply = self.browser.find_elements(By.CSS_SELECTOR, "article.article")[-1]
        self.assertEqual(reply.get_attribute("class"), "article outbound public")
        self.assertIn("We recalibrated it remotely", reply.text)
        link = reply.find_element(By.CSS_SELECTOR, "ul.attachments a")
        self.assertEqual(link.text, "calibration-report.bin")
        status = self.browser.find_element(By.CSS_SELECTOR, "dl.facts .status").text
        self.assertEqual(status, "waiting")
        # An internal note with a file: kept on the ticket, mailed to no one.
        notes = os.path.join(self.dir, "call-notes.txt")
        with open(notes, "w") as f:
            f.write("Called Bob: readings normal after the recalibration.\n")
        self.browser.find_element(By.ID, "note-text").send_keys("Bob confirmed by phone.")
        self.browser.find_element(By.ID, "note-files").send_keys(notes)
        self.browser.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
        self.wait_for_url("/desk/tickets/2?done=note")
        note = self.browser.find_elements(By.CSS_SELECTOR, "article.article")[-1]
        self.assertEqual(note.get_attribute("class"), "article outbound internal")
        self.assertIn("Bob confirmed by phone.", note.text)
        self.assertEqual(note.find_element(By.CSS_SELECTOR, "ul.attachments a").text,
                         "call-notes.txt")
        if self.shots:  # the ticket from its top, tall enough for the forms
            self.browser.set_window_size(1280, 2150)
            self.browser.get(self.base + "/desk/tickets/2")
            self.wait_for("#reply-form")
            self.shot("desk-ticket.png")

        # The outbox page lists the customer's copy with its file ...
        self.browser.get(self.base + "/desk/outbox")
        row = self.wait_for("table.outbox")
        relay = [r for r in row.find_elements(By.CSS_SELECTOR, "tr.row")
                 if "relay" in r.text and "bob@example.net" in r.text]
        self.assertEqual(len(relay), 1, row.text)
        self.assertIn("calibration-report.bin", relay[0].text)
        # ... and the worker of docket serve mails it with the file.
        sent = self.customer_mail("We recalibrated it remotely")
        self.assertEqual(len(sent), 1)
        self.assertIn("[docket #2]", str(sent[0]["Subject"]))
        files = {p.get_filename(): p.get_content() for p in sent[0].iter_attachments()}
        self.assertEqual(files, {"calibration-report.bin": REPORT})
        outbox = json.loads(self.docket("outbox", "list", "--json").stdout)["outbox"]
        self.assertEqual([r["target"] for r in outbox if r["kind"] == "relay"],
                         ["bob@example.net"])  # the reply's; the note went nowhere
        self.assertEqual(sent[0]["From"].addresses[0].addr_spec, SUPPORT)
        # The ticket's history names the agent who wrote it.
        events = self.show(2)["events"]
        comments = [e for e in events if e["type"] == "comment"]
        self.assertTrue(comments, events)
        self.assertIn("ann", str(comments[-1]["detail"]))

    def too_wide(self):
        """The elements that reach past the right edge of the window (the
        page would scroll sideways), as tag.class."""
        return self.browser.execute_script("""
            var width = document.documentElement.clientWidth, out = [];
            document.querySelectorAll("body *").forEach(function (e) {
                if (e.getBoundingClientRect().right > width + 0.5)
                    out.push(e.tagName.toLowerCase() + "." + e.className);
            });
            return out;""")

    def test_phone_width_has_no_sideways_scroll(self):
        self.browser.set_window_size(390, 844)
        self.login()
        self.assertEqual(self.too_wide(), [])
        cell = self.browser.find_element(By.CSS_SELECTOR, "tr.ticket td.subject")
        self.assertGreater(cell.size["width"], 300)  # a card, not a squeezed column
        self.shot("desk-phone.png")
        self.browser.find_element(By.CSS_SELECTOR, "tr.ticket td.subject a").click()
        self.wait_for("#reply-form")
        self.assertEqual(self.too_wide(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
