"""What the trust suite's cases share: the e2e DocketCase (a scratch data
directory and the docket binary) and small mail builders. Each case is
written as the attack or the lost mail it prevents."""

import email
import email.policy
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

from dockettest import BINARY, DocketCase, free_port, wait_for_port, write_secret  # noqa: E402,F401

SUPPORT = "support@help.example.com"
DOMAIN = "help.example.com"


class TrustCase(DocketCase):
    """A DocketCase that can install a Sieve script."""

    def rules(self, text, more=""):
        """Writes text as [rules] script, with more lines for [rules]."""
        script = os.path.join(self.dir, "rules.sieve")
        with open(script, "w") as f:
            f.write(text)
        with open(self.config, "a") as f:
            f.write("[rules]\nscript = %s\n%s" % (script, more))


def mail(sender, subject, message_id, body="Hello,\n\nplease help.\n", to=SUPPORT, headers=""):
    """One RFC 5322 message as bytes; headers is extra header text."""
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n"
            "Date: Tue, 24 Nov 2026 09:15:00 +0100\n%s\n%s" %
            (sender, to, subject, message_id, headers, body)).encode()


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def sent_mail(data_dir):
    """The messages the outbox wrote to its Maildir, oldest first."""
    files = sorted(glob.glob(os.path.join(data_dir, "outbox-maildir", "new", "*")),
                   key=os.path.getmtime)
    out = []
    for path in files:
        with open(path, "rb") as f:
            out.append((os.path.basename(path), parse(f.read())))
    return out


def events(shown, kind=None):
    return [e for e in shown["events"] if kind is None or e["type"] == kind]


def detail(event):
    d = event.get("detail")
    return json.loads(d) if isinstance(d, str) else d
