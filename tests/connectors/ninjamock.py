"""A NinjaOne ticketing mock written from the vendor's OpenAPI document of
its Public API 2.0 and the third-party clients of it: the OAuth2
token endpoint (form-encoded client credentials, RFC 6749 errors), Bearer
tokens that expire (or are expired on command), scopes (writes need
`management`), NewTicket/UpdateTicket/NewTicketLogEntry required fields,
full PUT with the current `version` (409 when stale), multipart comments
whose `comment` part is JSON, log entries, statuses with tenant ids,
ticket forms, organisations, boards and their run, users and contacts.
API errors are {"resultCode": "FAILURE", "errorMessage": ...}.

Inferred (no vendor document says so): both /api/v2 and /v2 are served; a board
run's searchCriteria matches the subject and the id, never tags or
descriptions (the spec does not say what it matches); sortBy takes the
field id ASC or DESC, and lastCursorId continues after that id in the
order asked for; the comment answer has no body (the spec gives it no
schema); CLOSED cannot be set."""

import email.parser
import json
import time
import urllib.parse

from mockhttp import MockServer

CLIENT_ID, CLIENT_SECRET = "ninja-client", "s3cret-NINJA"
TOKEN_PATH = "/ws/oauth/token"

# The tenant's statuses: system ones and a custom child of OPEN.
STATUSES = [{"name": n, "displayName": d, "parentId": p, "statusId": i} for n, d, p, i in [
    ("NEW", "New", 1000, 1000), ("OPEN", "Open", 2000, 2000),
    ("WAITING", "Waiting", 3000, 3000), ("PAUSED", "Paused", 4000, 4000),
    ("RESOLVED", "Resolved", 5000, 5000), ("CLOSED", "Closed", 6000, 6000),
    ("WAITING_PARTS", "Waiting for parts", 2000, 2101)]]
FORMS = [{"id": 1, "name": "Default", "default": True, "active": True},
         {"id": 4, "name": "E-mail", "default": False, "active": True}]
ORGANISATIONS = [{"id": 12, "name": "Customer Co"}, {"id": 3, "name": "Walk-ins"}]
BOARDS = [{"id": 7, "uid": "a7e0c7a2-1d0e-4b8e-9a57-000000000007", "name": "All tickets",
           "system": True},
          {"id": 9, "uid": "a7e0c7a2-1d0e-4b8e-9a57-000000000009", "name": "Mine",
           "system": False}]
PEOPLE = [
    {"uid": "0b7c2a6e-4f1e-4a4e-9f3b-2a1d9c3e5f10", "id": 501, "clientId": 12,
     "firstName": "Alice", "lastName": "Customer", "email": "alice@customer.example",
     "userType": "CONTACT", "naturalId": "501"},
    {"uid": "5d0f3c1e-8a0b-4d67-b2a4-3c9d1e2f4a37", "id": 37, "clientId": None,
     "firstName": "Alex", "lastName": "Agent", "email": "agent@agents.example",
     "userType": "TECHNICIAN", "naturalId": "37"},
]
TYPES = {"PROBLEM", "QUESTION", "INCIDENT", "TASK", "CHANGE_REQUEST", "SERVICE_REQUEST",
         "PROJECT", "APPOINTMENT", "MISCELLANEOUS"}
PRIORITIES = {"NONE", "LOW", "MEDIUM", "HIGH"}
SEVERITIES = {"NONE", "MINOR", "MODERATE", "MAJOR", "CRITICAL"}
UPDATE_FIELDS = {"version", "clientId", "ticketFormId", "locationId", "nodeId", "subject",
                 "status", "type", "cc", "assignedAppUserId", "requesterUid", "severity",
                 "priority", "parentTicketId", "tags", "attributes",
                 "additionalAssignedTechnicianIds", "followupTime"}


def failure(status, message, errors=None):
    body = {"resultCode": "FAILURE", "errorMessage": message}
    if errors:
        body["errors"] = errors
    return status, {}, body


def missing(fields):
    return failure(400, "HTTP 400 Bad Request",
                   [{"field": f, "message": "must not be null"} for f in fields])


def form_parts(req, with_names=False):
    """multipart/form-data (RFC 7578) as {name: [bytes]} (with_names:
    [(filename, bytes)])."""
    msg = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + req.headers.get("Content-Type", "").encode() + b"\r\n\r\n" +
        req.body)
    parts = {}
    for part in msg.get_payload() if msg.is_multipart() else []:
        name = part.get_param("name", header="Content-Disposition")
        data = part.get_payload(decode=True)
        parts.setdefault(name, []).append((part.get_filename(), data) if with_names else data)
    return parts


class NinjaOne(MockServer):
    def __init__(self):
        super().__init__()
        self.tickets = {}
        self.entries = {}  # ticket id -> [log entry]
        self.tokens = {}  # token -> (expires at, monotonic; scopes)
        self.token_lifetime = 3600
        self.token_uses = None  # each token is refused after this many uses
        self.next_id = 4711
        self.next_entry = 90001
        self.issued = 0
        self.known = [dict(p) for p in PEOPLE]  # users and contacts: PEOPLE, and add_contact()'s

    def add_contact(self, email):
        """A contact of organisation 12 with that address (under the lock)."""
        n = len(self.known) + 1000
        self.known.append({"uid": "00000000-0000-4000-8000-%012d" % n, "id": n, "clientId": 12,
                           "firstName": "Contact", "lastName": str(n), "email": email,
                           "userType": "CONTACT", "naturalId": str(n)})

    @property
    def base_url(self):
        return self.url

    @property
    def token_url(self):
        return self.url + TOKEN_PATH

    def expire_tokens(self):
        """Every token issued so far is refused from now on (401)."""
        with self.lock:
            for t, (_, scopes, uses) in self.tokens.items():
                self.tokens[t] = (0, scopes, uses)

    def token_requests(self):
        return [r for r in self.requests if r.route == TOKEN_PATH]

    def changes(self, answered=None):
        """The requests that change tickets (not tokens, not board runs)."""
        return [r for r in self.writes(answered)
                if r.route != TOKEN_PATH and not r.route.endswith("/run")]

    def api_requests(self):
        return [r for r in self.requests if r.route != TOKEN_PATH]

    # -- dispatch --

    def handle(self, req):
        if req.route == TOKEN_PATH:
            return self.token(req) if req.method == "POST" else failure(405, "POST only")
        for prefix in ("/api/v2", "/v2"):
            if req.route.startswith(prefix + "/"):
                route = req.route[len(prefix):]
                break
        else:
            return failure(404, "HTTP 404 Not Found")
        scopes = self.bearer(req)
        if scopes is None:
            return failure(401, "HTTP 401 Unauthorized")
        if req.method != "GET" and "management" not in scopes:
            return failure(403, "HTTP 403 Forbidden: management scope needed")
        if req.method == "GET" and "monitoring" not in scopes and "management" not in scopes:
            return failure(403, "HTTP 403 Forbidden: monitoring scope needed")
        for pattern, method, fn in self.routes():
            parts = pattern.split("/")
            got = route.split("/")
            if req.method != method or len(parts) != len(got):
                continue
            args = []
            for p, g in zip(parts, got):
                if p == "#" and g.isdigit():
                    args.append(int(g))
                elif p != g:
                    break
            else:
                return fn(req, *args)
        return failure(404, "HTTP 404 Not Found")

    def routes(self):
        return [
            ("/ticketing/ticket", "POST", self.create_ticket),
            ("/ticketing/ticket/#", "GET", self.get_ticket),
            ("/ticketing/ticket/#", "PUT", self.put_ticket),
            ("/ticketing/ticket/#/comment", "POST", self.add_comment),
            ("/ticketing/ticket/#/log-entry", "GET", self.log_entries),
            ("/ticketing/statuses", "GET", lambda r: (200, {}, STATUSES)),
            ("/ticketing/ticket-form", "GET", lambda r: (200, {}, FORMS)),
            ("/ticketing/ticket-form/#", "GET", self.form),
            ("/ticketing/trigger/boards", "GET", lambda r: (200, {}, BOARDS)),
            ("/ticketing/trigger/board/#/run", "POST", self.run_board),
            ("/ticketing/app-user-contact", "GET", self.people),
            ("/ticketing/contact/contacts", "GET",
             lambda r: (200, {}, [p for p in self.known if p["userType"] == "CONTACT"])),
            ("/organizations", "GET", lambda r: (200, {}, ORGANISATIONS)),
        ]

    # -- OAuth2 (RFC 6749 sections 4.4 and 5.2) --

    def token(self, req):
        if not req.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"):
            return 400, {}, {"error": "invalid_request",
                             "error_description": "form-encoded body expected"}
        form = urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)
        value = lambda k: form.get(k, [None])[0]
        if value("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        if value("client_id") != CLIENT_ID or value("client_secret") != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client",
                             "error_description": "Client authentication failed"}
        scopes = set((value("scope") or "").split())
        if not scopes or not scopes <= {"monitoring", "management", "control",
                                        "offline_access"}:
            return 400, {}, {"error": "invalid_scope"}
        self.issued += 1
        token = "tok-%d" % self.issued
        self.tokens[token] = (time.monotonic() + self.token_lifetime, scopes, self.token_uses)
        return 200, {}, {"access_token": token, "token_type": "Bearer",
                         "expires_in": self.token_lifetime, "scope": " ".join(sorted(scopes))}

    def bearer(self, req):
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        known = self.tokens.get(auth[7:])
        if known is None or known[0] <= time.monotonic() or known[2] == 0:
            return None
        if known[2] is not None:
            self.tokens[auth[7:]] = (known[0], known[1], known[2] - 1)
        return known[1]

    # -- tickets --

    def body_json(self, req):
        if not req.headers.get("Content-Type", "").startswith("application/json"):
            return None, failure(415, "HTTP 415 Unsupported Media Type")
        try:
            return json.loads(req.body or b"null"), None
        except ValueError:
            return None, failure(400, "HTTP 400 Bad Request: malformed JSON")

    def validate(self, body, required):
        if not isinstance(body, dict):
            return failure(400, "HTTP 400 Bad Request: object expected")
        absent = [f for f in required if body.get(f) is None]
        if absent:
            return missing(absent)
        if not isinstance(body["clientId"], int) or \
                body["clientId"] not in [o["id"] for o in ORGANISATIONS]:
            return failure(404, "Organization not found")
        if body["ticketFormId"] not in [f["id"] for f in FORMS]:
            return failure(404, "Ticket form not found")
        subject = body["subject"]
        if not isinstance(subject, str) or len(subject) > 200:
            return missing(["subject"])
        if not isinstance(body["status"], str) or \
                body["status"] not in [str(s["statusId"]) for s in STATUSES]:
            return failure(400, "HTTP 400 Bad Request: unknown status %r" % body["status"])
        for field, allowed in (("priority", PRIORITIES), ("severity", SEVERITIES),
                               ("type", TYPES)):
            if body.get(field) is not None and body[field] not in allowed:
                return failure(400, "HTTP 400 Bad Request: %s %r" % (field, body[field]))
        uid = body.get("requesterUid")
        if uid is not None and uid not in [p["uid"] for p in self.known]:
            return failure(404, "Requester not found")
        tech = body.get("assignedAppUserId")
        if tech is not None and tech not in [p["id"] for p in self.known
                                             if p["userType"] == "TECHNICIAN"]:
            return failure(404, "Technician not found")
        return None

    def status_object(self, sid):
        return dict(next(s for s in STATUSES if str(s["statusId"]) == sid))

    def add_entry(self, tid, kind, body, public):
        entry = {"id": self.next_entry, "type": kind, "body": body, "publicEntry": public,
                 "appUserContactType": "TECHNICIAN", "system": kind == "SAVE",
                 "createTime": time.time()}
        self.next_entry += 1
        self.entries[tid].append(entry)
        return entry

    def create_ticket(self, req):
        body, err = self.body_json(req)
        err = err or self.validate(body, ("clientId", "ticketFormId", "subject", "status"))
        if err:
            return err
        desc = body.get("description")
        if desc is not None and (not isinstance(desc, dict) or
                                 not isinstance(desc.get("public"), bool)):
            return missing(["description.public"])
        tid = self.next_id
        self.next_id += 1
        ticket = {"id": tid, "version": 1, "clientId": body["clientId"],
                  "ticketFormId": body["ticketFormId"], "subject": body["subject"],
                  "status": self.status_object(body["status"]),
                  "type": body.get("type"), "priority": body.get("priority") or "NONE",
                  "severity": body.get("severity") or "NONE", "source": "TECHNICIAN",
                  "requesterUid": body.get("requesterUid"),
                  "assignedAppUserId": body.get("assignedAppUserId"),
                  "tags": body.get("tags") or [],
                  "ccList": {"uids": (body.get("cc") or {}).get("uids") or [],
                             "emails": (body.get("cc") or {}).get("emails") or []},
                  "attributeValues": [], "createTime": time.time(), "deleted": False}
        self.tickets[tid] = ticket
        self.entries[tid] = []
        if desc is not None:
            self.add_entry(tid, "DESCRIPTION", desc.get("body"), desc["public"])
        return 200, {}, ticket

    def add_ticket(self, subject, age=0):
        """A ticket someone else made age seconds ago, as NinjaOne keeps it."""
        with self.lock:
            tid = self.next_id
            self.next_id += 1
            self.tickets[tid] = {"id": tid, "version": 1, "clientId": 3, "ticketFormId": 1,
                                 "subject": subject, "status": self.status_object("1000"),
                                 "priority": "NONE", "severity": "NONE", "source": "EMAIL",
                                 "tags": [], "ccList": {"uids": [], "emails": []},
                                 "attributeValues": [], "createTime": time.time() - age,
                                 "deleted": False}
            self.entries[tid] = []
            return tid

    def get_ticket(self, req, tid):
        if tid not in self.tickets:
            return failure(404, "Ticket not found")
        return 200, {}, self.tickets[tid]

    def put_ticket(self, req, tid):
        if tid not in self.tickets:
            return failure(404, "Ticket not found")
        body, err = self.body_json(req)
        err = err or self.validate(body, ("version", "clientId", "ticketFormId", "subject",
                                          "status", "requesterUid"))
        if err:
            return err
        unknown = set(body) - UPDATE_FIELDS
        if unknown:
            return failure(400, "HTTP 400 Bad Request: does not accept %s" %
                           ", ".join(sorted(unknown)))
        current = self.tickets[tid]
        if body["version"] != current["version"]:
            return failure(409, "Ticket was modified: version %d is stale" % body["version"])
        if self.status_object(body["status"])["name"] == "CLOSED":
            return failure(400, "HTTP 400 Bad Request: CLOSED cannot be set, resolve instead")
        ticket = dict(current)
        for k in UPDATE_FIELDS - {"version", "status", "cc", "attributes"}:
            ticket[k] = body.get(k)
        ticket["status"] = self.status_object(body["status"])
        ticket["ccList"] = body.get("cc") or {"uids": [], "emails": []}
        ticket["attributeValues"] = body.get("attributes") or []
        ticket["version"] = current["version"] + 1
        self.tickets[tid] = ticket
        self.add_entry(tid, "SAVE", None, False)
        return 200, {}, ticket

    def add_comment(self, req, tid):
        if tid not in self.tickets:
            return failure(404, "Ticket not found")
        ctype = req.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
            return failure(415, "HTTP 415 Unsupported Media Type: multipart/form-data")
        parts = form_parts(req)
        if set(parts) - {"comment", "files"} or len(parts.get("comment", [])) != 1:
            return missing(["comment"])
        try:
            comment = json.loads(parts["comment"][0])
        except ValueError:
            return failure(400, "HTTP 400 Bad Request: comment is not JSON")
        if not isinstance(comment, dict) or not isinstance(comment.get("public"), bool):
            return missing(["public"])
        if not comment.get("body") and not comment.get("htmlBody"):
            return missing(["body"])
        entry = self.add_entry(tid, "COMMENT", comment.get("body"), comment["public"])
        entry["files"] = [(name, len(data)) for name, data in
                          form_parts(req, True).get("files", [])]
        return 200, {}, b""

    def comments(self, tid):
        return [e for e in self.entries.get(tid, []) if e["type"] == "COMMENT"]

    def log_entries(self, req, tid):
        if tid not in self.tickets:
            return failure(404, "Ticket not found")
        kind = req.query.get("type", [None])[0]
        size = int(req.query.get("pageSize", ["500"])[0])
        out = [e for e in self.entries[tid] if kind is None or e["type"] == kind]
        return 200, {}, out[:size]

    def form(self, req, fid):
        for f in FORMS:
            if f["id"] == fid:
                return 200, {}, f
        return failure(404, "Ticket form not found")

    def run_board(self, req, bid):
        if bid not in [b["id"] for b in BOARDS]:
            return failure(404, "Board not found")
        body, err = self.body_json(req)
        if err:
            return err
        body = body or {}
        needle = (body.get("searchCriteria") or "").lower()
        rows = [{"id": t["id"], "subject": t["subject"], "status": t["status"]["name"],
                 "createTime": t["createTime"]}
                for t in self.tickets.values()
                if not needle or needle in t["subject"].lower() or needle == str(t["id"])]
        order = body.get("sortBy") or [{"field": "id", "direction": "ASC"}]
        if [o.get("field") for o in order] != ["id"] or \
                order[0].get("direction") not in ("ASC", "DESC"):
            return failure(400, "HTTP 400 Bad Request: sortBy %r" % order)
        descending = order[0]["direction"] == "DESC"
        rows.sort(key=lambda r: r["id"], reverse=descending)
        after = body.get("lastCursorId")
        if after is not None:
            rows = [r for r in rows if (r["id"] < after if descending else r["id"] > after)]
        rows = rows[:body.get("pageSize") or 50]
        return 200, {}, {"data": rows,
                         "metadata": {"lastCursorId": rows[-1]["id"] if rows else None}}

    def people(self, req):
        q = (req.query.get("searchCriteria", [""])[0]).lower()
        kind = req.query.get("userType", [None])[0]
        out = [p for p in self.known if (kind is None or p["userType"] == kind) and
               (not q or q in p["email"].lower() or q in p["firstName"].lower() or
                q in p["lastName"].lower())]
        return 200, {}, out
