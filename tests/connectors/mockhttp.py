"""A small recording HTTP server on loopback for the connector tests: every
request is kept (method, path, headers, body), and faults can be queued
for the next request that matches: an HTTP status with a body and headers,
or a pause after the request was handled (the answer arrives after the
client gave up)."""

import http.server
import json
import socket
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


class MockServer:
    """Subclasses implement handle(request) -> (status, headers, body)."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.faults = []  # (method, route prefix, fault)
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
