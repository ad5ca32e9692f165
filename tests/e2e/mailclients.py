"""Messages as real mail clients write them (header order and names,
subject prefixes, quoting), after the shapes in the shared corpus
(DOCKET_SHARED): Outlook (Thread-Topic, Thread-Index, "-----Original
Message-----"), Gmail (CA...@mail.gmail.com, "On ... wrote:"), Apple Mail
(X-Mailer, "> On ... wrote:" quoted too), Thunderbird (User-Agent, format=flowed). Plus the
identifiers docket puts into the mail it sends, made with the same secret
as the configuration of the test (see gateway/core/ids.h)."""

import base64
import hashlib
import hmac
import os
import uuid

SECRET = "e2e-threading-secret-0123456789"


def _mac(purpose, data, length):
    digest = hmac.new(SECRET.encode(), ("%s:%s" % (purpose, data)).encode(), hashlib.sha256)
    return digest.hexdigest()[:length]


def docket_message_id(ticket, domain="example.com"):
    """A Message-ID as docket's notifications carry it (MAC'd ticket)."""
    data = "%d.%s" % (ticket, os.urandom(8).hex())
    return "docket.%s.%s@%s" % (data, _mac("message-id", data, 16), domain)


def reply_address(ticket, base="support@example.com"):
    local, domain = base.split("@")
    return "%s+%d.%s@%s" % (local, ticket, _mac("reply", str(ticket), 10), domain)


def _render(headers, body):
    lines = ["%s: %s" % (name, value) for name, value in headers if value is not None]
    return ("\n".join(lines) + "\n\n" + body).encode()


def _threading(in_reply_to, references):
    refs = " ".join("<%s>" % r for r in references) if references else None
    return [("In-Reply-To", "<%s>" % in_reply_to if in_reply_to else None), ("References", refs)]


def outlook(sender, to, subject, body, message_id=None, in_reply_to=None, references=(), cc=None,
            date="Tue, 24 Nov 2026 08:15:00 +0000", quoted=None, extra=()):
    """Outlook / Exchange: "RE:"/"AW:" chosen by the caller, the quote below
    an "-----Original Message-----" block."""
    message_id = message_id or "%s@AM0PR07MB%04d.eurprd07.prod.outlook.com" % (
        uuid.uuid4().hex.upper()[:20], os.getpid() % 10000)
    if quoted:
        body += "\n\n-----Original Message-----\nFrom: %s\nSent: Monday, November 23, 2026 4:02 PM\n" \
                "To: %s\nSubject: %s\n\n%s" % (quoted[0], sender, quoted[1], quoted[2])
    headers = [("From", sender), ("To", to), ("CC", cc), ("Subject", subject),
               ("Thread-Topic", subject.split(": ")[-1]),
               ("Thread-Index", base64.b64encode(os.urandom(22)).decode()),
               ("Date", date), ("Message-ID", "<%s>" % message_id)]
    headers += _threading(in_reply_to, references)
    headers += [("Accept-Language", "de-DE, en-US"), ("Content-Language", "de-DE"),
                ("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", ""), *extra,
                ("Content-Type", 'text/plain; charset="us-ascii"'),
                ("Content-Transfer-Encoding", "quoted-printable"), ("MIME-Version", "1.0")]
    return _render(headers, body)


def gmail(sender, to, subject, body, message_id=None, in_reply_to=None, references=(), cc=None,
          date="Tue, 24 Nov 2026 09:40:12 +0100", quoted=None, extra=()):
    message_id = message_id or "CA+%s@mail.gmail.com" % base64.b32encode(os.urandom(20)).decode().rstrip("=")
    if quoted:
        body += "\n\nOn Tue, Nov 24, 2026 at 9:15 AM %s wrote:\n%s" % (
            quoted[0], "".join("> %s\n" % line for line in quoted[2].splitlines()))
    headers = [("MIME-Version", "1.0"), *extra, ("From", sender),
               ("Date", date), ("Message-ID", "<%s>" % message_id)]
    headers += _threading(in_reply_to, references)
    headers += [("Subject", subject), ("To", to), ("Cc", cc),
                ("Content-Type", 'text/plain; charset="UTF-8"')]
    return _render(headers, body)


def apple_mail(sender, to, subject, body, message_id=None, in_reply_to=None, references=(), cc=None,
               date="Tue, 24 Nov 2026 10:02:31 +0100", quoted=None, extra=()):
    message_id = message_id or "%s@customer.example" % str(uuid.uuid4()).upper()
    if quoted:
        body += "\n\n> On 24. Nov 2026, at 09:40, %s wrote:\n> \n%s" % (
            quoted[0], "".join("> %s\n" % line for line in quoted[2].splitlines()))
    headers = [("From", sender), ("Content-Type", "text/plain; charset=us-ascii"),
               ("Content-Transfer-Encoding", "7bit"),
               ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3731.500.231\\))"), ("Subject", subject),
               ("Message-Id", "<%s>" % message_id), *extra]
    headers += _threading(in_reply_to, references)
    headers += [("Cc", cc), ("Date", date), ("To", to), ("X-Mailer", "Apple Mail (2.3731.500.231)")]
    return _render(headers, body)


def thunderbird(sender, to, subject, body, message_id=None, in_reply_to=None, references=(), cc=None,
                date="Tue, 24 Nov 2026 11:20:00 +0100", quoted=None, extra=()):
    message_id = message_id or "%s@customer.example" % uuid.uuid4()
    if quoted:
        body = "On 24.11.26 09:40, %s wrote:\n%s\n%s" % (
            quoted[0], "".join("> %s\n" % line for line in quoted[2].splitlines()), body)
    headers = [("Message-ID", "<%s>" % message_id), ("Date", date), ("MIME-Version", "1.0"),
               ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"),
               ("Subject", subject)]
    headers += _threading(in_reply_to, references)
    headers += [("Content-Language", "en-US"), ("To", to), ("Cc", cc), ("From", sender), *extra,
                ("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
                ("Content-Transfer-Encoding", "7bit")]
    return _render(headers, body)


def with_files(message, files, boundary="----=_Part_docket_e2e"):
    """message (as a client above renders it) with files attached, as
    mail clients send them: a multipart/mixed of the text and the files,
    base64. files: (filename, content_type, bytes, content_id or None);
    a file with a Content-ID is inline (an image the text shows)."""
    head, body = message.split(b"\n\n", 1)
    lines = head.decode().split("\n")
    kept = [h for h in lines if not h.lower().startswith(("content-type:", "content-transfer-encoding:"))]
    text_type = [h for h in lines if h.lower().startswith("content-type:")]
    text_encoding = [h for h in lines if h.lower().startswith("content-transfer-encoding:")]
    kept.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
    if not any(h.lower().startswith("mime-version:") for h in kept):
        kept.append("MIME-Version: 1.0")
    parts = ["--%s\n%s\n\n%s" % (boundary, "\n".join(text_type + text_encoding), body.decode())]
    for name, ctype, data, cid in files:
        encoded = base64.encodebytes(data).decode()
        disposition = "inline" if cid else "attachment"
        extra = "Content-ID: <%s>\n" % cid if cid else ""
        parts.append('--%s\nContent-Type: %s; name="%s"\nContent-Disposition: %s; filename="%s"\n'
                     "%sContent-Transfer-Encoding: base64\n\n%s" % (boundary, ctype, name, disposition,
                                                                    name, extra, encoded))
    return ("\n".join(kept) + "\n\n" + "\n".join(parts) + "--%s--\n" % boundary).encode()
