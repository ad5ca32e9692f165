"""A webhook receiver written from README.md's "Connectors" section: it
takes POSTs of JSON events, checks X-Docket-Signature (HMAC-SHA256 of the
body with the shared secret, hex, "sha256=" prefix), answers 401 to a bad
signature and 400 to a body that is not a version 1 event, and keeps the
events it accepted, deduplicated by their id as a receiver should."""

import hashlib
import hmac
import json

from mockhttp import MockServer

SECRET = "s3cret-hook-key"


class Receiver(MockServer):
    def __init__(self):
        super().__init__()
        self.events = []  # accepted, first delivery of each id
        self.seen = set()

    def handle(self, req):
        if req.method != "POST" or req.route != "/hook":
            return 404, {}, {"error": "not found"}
        mac = hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
        if req.headers.get("X-Docket-Signature") != "sha256=" + mac:
            return 401, {}, {"error": "bad signature"}
        try:
            event = json.loads(req.body)
        except ValueError:
            return 400, {}, {"error": "not JSON"}
        if not isinstance(event, dict) or event.get("version") != 1 or "event" not in event \
                or req.headers.get("X-Docket-Event") != event["event"] \
                or req.headers.get("X-Docket-Delivery") != event.get("id"):
            return 400, {}, {"error": "not a docket event"}
        if event["id"] not in self.seen:
            self.seen.add(event["id"])
            self.events.append(event)
        return 204, {}, b""
