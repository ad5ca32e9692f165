"""A large message over LMTP (docket serve): it is parsed and stored from
the spool file without being held in memory, its raw is kept byte for byte
(the SHA-256 of the file in the store matches what was sent), and the
article's text is cut at [parse] max_text_size."""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmtptest import LmtpCase, dot_stuff  # noqa: E402

MIB = 1024 * 1024


def large_message(size):
    head = (b"From: Alice <alice@example.com>\r\nTo: support@example.test\r\n"
            b"Subject: A large log\r\nMessage-ID: <large@example.com>\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
    line = "log line \u00e9t\u00e9 with a leading dot below\r\n.dotted line\r\n".encode()
    body = line * ((size - len(head)) // len(line) + 1)
    return head + body


class LargeMessageTest(LmtpCase):
    CONFIG = "[intake]\nmax_message_size = 64M\n[parse]\nmax_text_size = 1M\n"

    def test_twenty_mib_message(self):
        server = self.serve(self.CONFIG)
        msg = large_message(20 * MIB)
        with server.client(timeout=120) as c:
            c.greet()
            _, data = c.transaction("alice@example.com", ["support@example.test"], msg)
            self.assertEqual([r.code for r in data], [250])
        sha = hashlib.sha256(msg).hexdigest()
        path = os.path.join(self.data, "raw", sha[:2], sha)
        with open(path, "rb") as f:
            stored = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(stored, sha)
        self.assertEqual(os.path.getsize(path), len(msg))
        article = self.show(1)["articles"][0]
        self.assertEqual(article["raw_sha256"], sha)
        text = article["text"]
        self.assertLessEqual(len(text.encode()), MIB)
        # Decoded up to the bound; CRLF read as LF makes it a little shorter.
        self.assertGreater(len(text.encode()), MIB * 9 // 10)
        body = msg.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n").decode()
        self.assertTrue(body.startswith(text))
        self.assertLessEqual(len(article["new_text"].encode()), MIB)
        self.wait_spool_empty()

    def test_large_message_twice_is_one_raw(self):
        """The same large message again is a duplicate; its raw file stays."""
        server = self.serve(self.CONFIG)
        msg = large_message(2 * MIB)
        for _ in range(2):
            with server.client(timeout=60) as c:
                c.greet()
                _, data = c.transaction("alice@example.com", ["support@example.test"], msg)
                self.assertEqual([r.code for r in data], [250])
        self.assertEqual(self.articles_by_message_id(), {"large@example.com": 1})
        sha = hashlib.sha256(msg).hexdigest()
        raw_dir = os.path.join(self.data, "raw", sha[:2])
        self.assertEqual(os.listdir(raw_dir), [sha])


if __name__ == "__main__":
    unittest.main(verbosity=2)
