"""An OpsPilot MSP portal mock written from the vendor's product notes
(there is no vendor OpenAPI document).

Documented [DOC]: the endpoints under /api/msp-portal/tickets (list, create,
get with comments, PUT for status/assignee/priority, POST comments), the
Bearer API key with the op365_sk_live_/op365_sk_test_ prefixes, the
{success,data,meta} and {success:false,error:{code,message,details}}
envelopes, the error codes UNAUTHORIZED 401, FORBIDDEN 403, NOT_FOUND 404,
RATE_LIMITED 429, INTERNAL_ERROR 500 (INVALID_REQUEST as the example code),
the X-RateLimit-Limit/-Remaining/-Reset headers (Reset in epoch seconds),
page/limit paging (limit at most 100), and the exact priority and status
display names.

Inferred [INF] (a proposed contract, nothing the vendor documents): the ticket and comment
field names (subject, description, customerId, requesterEmail, priority,
status, assigneeId, tags; body, isInternal, direction), string ids, 201 on
create, customerId being required and checked against the known customers
(422 VALIDATION_ERROR), 400 INVALID_REQUEST for a missing field or a
malformed body, 422 VALIDATION_ERROR for a value outside the vocabulary,
the comments listed under data.comments of GET :ticketId (oldest first),
and a key without write permission answered 403."""

import json
import re
import time

from mockhttp import MockServer

PREFIX = "/api/msp-portal/tickets"
API_KEY = "op365_sk_test_7d1e4f0a9c2b"
READ_ONLY_KEY = "op365_sk_test_readonly00"
PRIORITIES = ["Critical", "High", "Medium", "Low"]
STATUSES = ["New", "In Progress", "Waiting on Customer", "Resolved", "Closed"]
CUSTOMERS = {"cus_customer": "Customer Example Ltd", "cus_default": "Walk-in customers"}
USERS = {"usr_9": "Alex Agent"}
RATE_LIMIT = 300


def failure(status, code, message, details=None):
    err = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return status, {}, {"success": False, "error": err}


def rate_limited(reset_in):
    """A fault: 429 RATE_LIMITED with the documented headers (no
    Retry-After, which the documentation does not mention)."""
    return dict(status=429,
                body=json.dumps({"success": False, "error": {
                    "code": "RATE_LIMITED", "message": "Rate limit exceeded"}}).encode(),
                headers={"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0",
                         "X-RateLimit-Reset": str(int(time.time()) + reset_in)})


def ok(data, status=200, meta=None):
    body = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return status, {}, body


class OpsPilot(MockServer):
    def __init__(self):
        super().__init__()
        self.tickets = {}   # id -> ticket (without comments)
        self.comments = {}  # ticket id -> [comment]
        self.next_id = 1042
        self.next_comment = 1

    @property
    def base_url(self):
        return self.url

    def handle(self, req):
        status, headers, body = self.answer(req)
        headers = dict(headers, **{"X-RateLimit-Limit": str(RATE_LIMIT),
                                   "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
                                   "X-RateLimit-Reset": str(int(time.time()) + 60)})
        return status, headers, body

    def answer(self, req):
        auth = req.headers.get("Authorization", "")
        m = re.fullmatch(r"Bearer (op365_sk_(?:live|test)_\w+)", auth)
        if m is None:
            return failure(401, "UNAUTHORIZED", "Missing or malformed API key")
        if m.group(1) not in (API_KEY, READ_ONLY_KEY):
            return failure(401, "UNAUTHORIZED", "Invalid API key")
        if req.method != "GET" and m.group(1) == READ_ONLY_KEY:
            return failure(403, "FORBIDDEN", "This API key may not write tickets")
        body = None
        if req.method in ("POST", "PUT"):
            if not req.headers.get("Content-Type", "").startswith("application/json"):
                return failure(400, "INVALID_REQUEST", "Content-Type must be application/json")
            try:
                body = req.json()
            except ValueError:
                return failure(400, "INVALID_REQUEST", "The body is not valid JSON")
            if not isinstance(body, dict):
                return failure(400, "INVALID_REQUEST", "A JSON object is expected")
        for pattern, method, fn in self.routes():
            m = re.fullmatch(pattern, req.route)
            if m and req.method == method:
                return fn(req, body, *m.groups())
        return failure(404, "NOT_FOUND", "No route %s %s" % (req.method, req.route))

    def routes(self):
        return [
            (PREFIX, "GET", self.list_tickets),
            (PREFIX, "POST", self.create_ticket),
            (PREFIX + r"/([\w-]+)", "GET", self.get_ticket),
            (PREFIX + r"/([\w-]+)", "PUT", self.update_ticket),
            (PREFIX + r"/([\w-]+)/comments", "POST", self.add_comment),
        ]

    def list_tickets(self, req, body):
        try:
            page = int(req.query.get("page", ["1"])[0])
            limit = int(req.query.get("limit", ["25"])[0])
        except ValueError:
            return failure(400, "INVALID_REQUEST", "page and limit must be integers")
        if page < 1 or not 1 <= limit <= 100:
            return failure(400, "INVALID_REQUEST", "page must be >= 1 and limit 1..100",
                           {"limit": limit})
        items = list(self.tickets.values())
        start = (page - 1) * limit
        return ok(items[start:start + limit],
                  meta={"page": page, "limit": limit, "total": len(items)})

    def validate(self, body, required):
        for field in required:
            if not isinstance(body.get(field), str) or not body[field].strip():
                return failure(400, "INVALID_REQUEST", "%s is required" % field,
                               {"field": field})
        checks = (("priority", PRIORITIES), ("status", STATUSES))
        for field, allowed in checks:
            if field in body and body[field] not in allowed:
                return failure(422, "VALIDATION_ERROR", "%s must be one of %s" %
                               (field, ", ".join(allowed)), {"field": field})
        if "customerId" in body and body["customerId"] not in CUSTOMERS:
            return failure(422, "VALIDATION_ERROR", "Unknown customer %s" % body["customerId"],
                           {"field": "customerId"})
        if body.get("assigneeId") is not None and body["assigneeId"] not in USERS:
            return failure(422, "VALIDATION_ERROR", "Unknown user", {"field": "assigneeId"})
        if "tags" in body and not (isinstance(body["tags"], list) and
                                   all(isinstance(t, str) for t in body["tags"])):
            return failure(400, "INVALID_REQUEST", "tags must be a list of strings",
                           {"field": "tags"})
        return None

    def create_ticket(self, req, body):
        refused = self.validate(body, ("subject", "customerId"))
        if refused:
            return refused
        tid = "tkt_%d" % self.next_id
        ticket = {"id": tid, "ticketNumber": "T-%d" % self.next_id,
                  "subject": body["subject"], "description": body.get("description", ""),
                  "customerId": body["customerId"],
                  "customer": CUSTOMERS[body["customerId"]],
                  "requesterEmail": body.get("requesterEmail"),
                  "priority": body.get("priority", "Medium"),
                  "status": body.get("status", "New"),
                  "assigneeId": body.get("assigneeId"), "tags": body.get("tags", []),
                  "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.next_id += 1
        self.tickets[tid] = ticket
        self.comments[tid] = []
        return ok(ticket, 201)

    def get_ticket(self, req, body, tid):
        if tid not in self.tickets:
            return failure(404, "NOT_FOUND", "Ticket %s not found" % tid)
        return ok(dict(self.tickets[tid], comments=self.comments[tid]))

    def update_ticket(self, req, body, tid):
        if tid not in self.tickets:
            return failure(404, "NOT_FOUND", "Ticket %s not found" % tid)
        fields = ("status", "priority", "assigneeId")
        if not any(f in body for f in fields):
            return failure(400, "INVALID_REQUEST", "Nothing to update: give status, "
                           "priority or assigneeId")
        unknown = [k for k in body if k not in fields]
        if unknown:
            return failure(400, "INVALID_REQUEST", "Unknown fields", {"fields": unknown})
        refused = self.validate(body, ())
        if refused:
            return refused
        self.tickets[tid].update({f: body[f] for f in fields if f in body})
        return ok(self.tickets[tid])

    def add_comment(self, req, body, tid):
        if tid not in self.tickets:
            return failure(404, "NOT_FOUND", "Ticket %s not found" % tid)
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            return failure(400, "INVALID_REQUEST", "body is required", {"field": "body"})
        if not isinstance(body.get("isInternal", False), bool):
            return failure(400, "INVALID_REQUEST", "isInternal must be a boolean",
                           {"field": "isInternal"})
        if body.get("direction", "outbound") not in ("inbound", "outbound"):
            return failure(422, "VALIDATION_ERROR", "direction must be inbound or outbound",
                           {"field": "direction"})
        comment = {"id": "cmt_%d" % self.next_comment, "ticketId": tid, "body": body["body"],
                   "isInternal": body.get("isInternal", False),
                   "direction": body.get("direction", "outbound")}
        self.next_comment += 1
        self.comments[tid].append(comment)
        return ok(comment, 201)
