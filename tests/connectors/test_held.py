"""A ticket whose create a help desk refused for good (a 4xx): its later
events are held, visibly (state held, the cause as their last error, a
connector_held event, `outbox list`, /metrics), not retried in silence;
`docket outbox retry` of the create sends it and then the held rows, in
order, each once."""

import os
import signal
import subprocess
import sys
import unittest
import urllib.request

from conntest import BINARY, CUSTOMER, conversation, mail
from test_connectwise import ConnectWiseCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from test_serve import free_port, wait_for_port  # noqa: E402

BASE = "/v4_6_release/apis/3.0/service/tickets"
REFUSAL = b'{"code":"InvalidObject","message":"company is required"}'


class HeldTest(ConnectWiseCase):
    def refuse_the_create(self):
        self.mock.inject("POST", BASE, status=400, body=REFUSAL)
        for m in conversation():
            self.deliver_ok(m)
        sent, deferred, failed = self.run_once()
        self.assertEqual((sent, deferred, failed), (0, 0, 1))
        return {r["id"]: r for r in self.outbox()}

    def test_later_rows_are_held_with_the_cause(self):
        rows = self.refuse_the_create()
        create = min(rows)
        self.assertEqual(rows[create]["state"], "failed")
        self.assertIn("HTTP 400", rows[create]["last_error"])
        held = sorted(i for i in rows if i != create)
        self.assertEqual(len(held), 4)  # three notes and the status change
        for i in held:
            self.assertEqual(rows[i]["state"], "held")
            self.assertIn("outbox row %d" % create, rows[i]["last_error"])
            self.assertIn("company is required", rows[i]["last_error"])
        self.assertEqual([r["id"] for r in self.outbox("--state", "held")], held[::-1])
        events = self.events(1, "connector_held")
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["detail"]["outbox"], create)
        self.assertEqual(events[0]["detail"]["held"], 4)
        self.assertIn("HTTP 400", events[0]["detail"]["error"])
        # nothing is tried while they are held, and the service saw one request
        self.assertEqual(self.run_once(), (0, 0, 0))
        self.assertEqual(len(self.mock.requests), 1)
        text = self.docket("outbox", "list").stdout.decode()
        self.assertEqual(text.count(" held "), 4)

    def test_a_row_written_later_is_held_too(self):
        rows = self.refuse_the_create()
        create = min(rows)
        self.deliver_ok(mail(CUSTOMER, "Re: Printer offline on floor 2", "p3@customer.example",
                             "Any news?\n", "In-Reply-To: <p2@customer.example>\n"))
        # the reply reopens the resolved ticket: a note and a status change
        out = self.docket("outbox", "run", "--once").stdout.decode()
        self.assertEqual(out.strip(), "sent 0, deferred 0, failed 0, held 2")
        for newest in self.outbox()[:2]:
            self.assertNotIn(newest["id"], rows)
            self.assertEqual(newest["state"], "held")
            self.assertIn("outbox row %d" % create, newest["last_error"])
        self.assertEqual(len(self.events(1, "connector_held")), 2)

    def test_retry_of_the_create_releases_them_in_order(self):
        rows = self.refuse_the_create()
        create = min(rows)
        held = max(rows)
        proc = self.docket("outbox", "retry", str(held), check=False)
        self.assertEqual(proc.returncode, 65)
        self.assertIn("held behind failed row %d: retry that one" % create,
                      proc.stderr.decode())
        self.docket("outbox", "retry", str(create))
        self.assertTrue(all(r["state"] == "pending" for r in self.outbox()))
        rows = self.drain()
        self.assertTrue(all(r["state"] == "done" for r in rows), rows)
        self.assertEqual(len(self.mock.tickets), 1)
        self.assertEqual(self.normalised(self.mock.writes({200, 201})),
                         self.expected_writes(98231))
        self.assertEqual(len(self.events(1, "connector_sent")), 5)

    def test_metrics_show_failed_and_held_rows(self):
        self.refuse_the_create()
        port, lmtp = free_port(), free_port()
        self.configure("[http]\nlisten = 127.0.0.1:%d\n" % port)
        with open(os.path.join(self.dir, "serve.log"), "wb") as log:
            proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                     "127.0.0.1:%d" % lmtp], stderr=log)
            try:
                wait_for_port(port)
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=10) as r:
                    body = r.read().decode()
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
        self.assertEqual(proc.returncode, 0)
        self.assertIn('docket_outbox_rows{state="failed"} 1\n', body)
        self.assertIn('docket_outbox_rows{state="held"} 4\n', body)

    def test_a_failed_note_holds_nothing(self):
        self.deliver_ok(conversation()[0])
        self.drain()
        self.mock.inject("POST", BASE + "/", status=400, body=REFUSAL)
        for m in conversation()[1:3]:
            self.deliver_ok(m)
        rows = self.drain()
        self.assertEqual(sorted(r["state"] for r in rows), ["done", "done", "failed"])
        self.assertEqual(self.events(1, "connector_held"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
