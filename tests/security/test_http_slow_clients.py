"""Point 10: slow clients cannot silence /healthz. The attack: four
clients each sending a byte every few seconds held every thread of the
operations endpoint, and the health check timed out, so a supervisor would
restart a healthy gateway. Each connection now has a total deadline
([http] timeout_seconds) and the endpoint a connection limit
([http] max_connections) at which the oldest connection makes room."""

import os
import socket
import subprocess
import threading
import unittest
import urllib.request

from seclib import BINARY, DocketCase, free_port, wait_for_port


class Trickle:
    """Clients that send a request one byte at a time and never finish it."""

    def __init__(self, port, count):
        self.socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /hea")
            self.socks.append(s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        # Bounded: at most 240 rounds of half a second.
        for _ in range(240):
            if self.stop.wait(0.5):
                return
            for s in self.socks:
                try:
                    s.send(b"l")
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def closed_by_server(sock, bound=60):
    """Whether the server closes sock within bound seconds (a generous
    bound, not a measurement: the deadline under test is far shorter)."""
    sock.settimeout(bound)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class HttpCase(DocketCase):
    """docket serve with [http] listen; limits left at their defaults
    unless a subclass sets them."""
    limits = {}

    def setUp(self):
        super().setUp()
        self.lmtp_port, self.http_port = free_port(), free_port()
        with open(self.config, "a") as f:
            f.write("[http]\nlisten = 127.0.0.1:%d\n" % self.http_port)
            for key, value in self.limits.items():
                f.write("%s = %s\n" % (key, value))
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen([BINARY, "-c", self.config, "serve", "--listen",
                                      "127.0.0.1:%d" % self.lmtp_port], stderr=self.log)
        wait_for_port(self.http_port, 60)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        super().tearDown()

    def healthz(self):
        url = "http://127.0.0.1:%d/healthz" % self.http_port
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()


class HttpSlowClientsTest(HttpCase):
    """The attack as reported, against the default configuration."""

    def test_trickling_clients_do_not_silence_healthz(self):
        slow = Trickle(self.http_port, 8)
        try:
            self.assertEqual(self.healthz(), (200, b"ok\n"))
        finally:
            slow.close()


class HttpLimitTest(HttpCase):
    limits = {"max_connections": 4, "timeout_seconds": 600}

    def test_the_oldest_connection_makes_room(self):
        slow = Trickle(self.http_port, 8)
        try:
            self.assertEqual(self.healthz(), (200, b"ok\n"))
            self.assertTrue(closed_by_server(slow.socks[0]))
        finally:
            slow.close()


class HttpDeadlineTest(HttpCase):
    limits = {"timeout_seconds": 2}

    def test_a_trickling_client_meets_its_deadline(self):
        slow = Trickle(self.http_port, 1)
        try:
            self.assertTrue(closed_by_server(slow.socks[0]))
        finally:
            slow.close()
        self.assertEqual(self.healthz(), (200, b"ok\n"))


if __name__ == "__main__":
    unittest.main()
