"""A minimal LMTP client (RFC 2033) for the threading scenarios: one
transaction with several recipients, and the per-recipient replies."""

import socket


def send(port, message, recipients, sender="bounces@customer.example"):
    """Delivers message to recipients; returns the reply line after DATA for
    each accepted recipient, in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline().decode()
                if line[3:4] != "-":
                    return line.strip()

        reply()
        s.sendall(b"LHLO test\r\n")
        reply()
        s.sendall(b"MAIL FROM:<%s>\r\n" % sender.encode())
        reply()
        for r in recipients:
            s.sendall(b"RCPT TO:<%s>\r\n" % r.encode())
            assert reply().startswith("250"), r
        s.sendall(b"DATA\r\n")
        reply()
        body = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in body.split(b"\r\n"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        s.sendall(body + b".\r\n")
        results = [reply() for _ in recipients]
        s.sendall(b"QUIT\r\n")
        reply()
        return results
