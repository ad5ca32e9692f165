"""A small recording HTTP server on loopback for the connector tests: every
request is kept (method, path, headers, body), and faults can be queued
for the next request that matches: an HTTP status with a body and headers,
or a pause after the request was handled (the answer arrives after the
client gave up). With random_faults (a RandomFaults) the mock also fails
at random while it is active; without, it only fails when told to."""

import collections
import http.server
import json
import random
import socket
import sys
import threading
import time
import urllib.parse


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path  # with the query
        self.headers = headers
        self.body = body
        self.status = None  # what the mock answered

    @property
    def route(self):
        return urllib.parse.urlsplit(self.path).path

    @property
    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    def json(self):
        return json.loads(self.body) if self.body else None


class RandomFaults:
    """Each request, while active, has rate chances of one of

      http_500   500 with an error body, nothing done
      http_429   429 with Retry-After: retry_after, nothing done
      late       (writes only) performed, the answer sent late seconds
                 after, when the client has given up: a create that
                 succeeded while the caller saw a timeout

    from a seeded generator, the kinds in shuffled rounds (each once per
    round, so that a short run meets every kind); counts holds the faults
    per kind."""

    KINDS = ("http_500", "http_429", "late")

    def __init__(self, seed, rate, late=2.0, retry_after=1, kinds=KINDS):
        self.rng = random.Random(seed)
        self.rate = rate
        self.late = late
        self.retry_after = retry_after
        self.kinds = kinds
        self.active = True
        self.counts = collections.Counter()
        self.bag = []
        self.lock = threading.Lock()

    def stop(self):
        with self.lock:
            self.active = False

    def _next_kind(self, writes):
        for _ in range(2 * len(self.kinds)):
            if not self.bag:
                self.bag = list(self.kinds)
                self.rng.shuffle(self.bag)
            if writes or self.bag[-1] != "late":
                return self.bag.pop()
            self.bag.insert(0, self.bag.pop())  # late waits for a write
        return None

    def __call__(self, req):
        """A fault tuple (method, route, status, body, headers, pause) or None."""
        with self.lock:
            if not self.active or self.rng.random() >= self.rate:
                return None
            kind = self._next_kind(req.method in ("POST", "PATCH", "PUT"))
            if kind is None:
                return None
            self.counts[kind] += 1
        if kind == "http_500":
            return (req.method, req.route, 500, b'{"code":"InternalError"}', {}, 0)
        if kind == "http_429":
            return (req.method, req.route, 429, b'{"code":"TooManyRequests"}',
                    {"Retry-After": str(self.retry_after)}, 0)
        return (req.method, req.route, None, b"", {}, self.late)


class MockServer:
    """Subclasses implement handle(request) -> (status, headers, body)."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.faults = []  # (method, route prefix, fault)
        self.random_faults = None  # a RandomFaults, or None
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def inject(self, method, route, status=None, body=b"", headers=None, pause=0):
        """The next request method+route (route: a prefix) gets status (with
        body and headers) instead of its answer, or, with pause, is handled
        and answered pause seconds later."""
        self.faults.append((method, route, status, body, headers or {}, pause))

    def take_fault(self, req):
        with self.lock:
            for i, f in enumerate(self.faults):
                if f[0] == req.method and req.route.startswith(f[1]):
                    return self.faults.pop(i)
        if self.random_faults is not None:
            return self.random_faults(req)
        return None

    def start(self):
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                with mock.lock:
                    mock.requests.append(req)
                fault = mock.take_fault(req)
                pause = 0
                if fault is not None and fault[2] is not None:
                    status, headers, out = fault[2], fault[4], fault[3]
                else:
                    with mock.lock:
                        status, headers, out = mock.handle(req)
                    pause = fault[5] if fault is not None else 0
                req.status = status
                if pause:
                    time.sleep(pause)
                if isinstance(out, (dict, list)):
                    out = json.dumps(out).encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if out:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the client gave up

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        default_handle_error = self.server.handle_error

        def handle_error(request, client_address):
            if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                return  # a client that went away (a process the test killed), not a fault
            default_handle_error(request, client_address)

        self.server.handle_error = handle_error
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, req):
        raise NotImplementedError

    def writes(self, answered=None):
        """The requests that change something, in order; with answered, only
        those the mock answered with a status in it."""
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")
                and (answered is None or r.status in answered)]
