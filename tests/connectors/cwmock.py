"""A ConnectWise PSA (Manage REST 3.0) mock written from the vendor's
documentation and the clients generated from its OpenAPI document (not
public itself): Basic company+public:private with
the clientId header, tickets (201 on create, summary/board/company
required), notes (one of the three type flags required), JSON Patch
arrays (paths "x", "/x", "x/id"), `conditions` for field="value" and
field=number joined by "and", ErrorResponseMessage bodies."""

import base64
import email.parser
import re

from mockhttp import MockServer

PREFIX = "/v4_6_release/apis/3.0"
COMPANY, PUBLIC, PRIVATE = "acme", "pubKEY", "privKEY"
CLIENT_ID = "5b3c0e3e-0000-4000-8000-000000000001"

BOARDS = [{"id": 1, "name": "Help Desk"}, {"id": 2, "name": "Projects"}]
STATUSES = {1: [{"id": 150 + i, "name": n, "closedStatus": n == "Closed"} for i, n in enumerate(
    ["New", "In Progress", "Waiting on Client", "On Hold", "Resolved", "Closed"])],
    2: [{"id": 200, "name": "New"}]}
PRIORITIES = [{"id": 4 + i, "name": n, "sort": i} for i, n in enumerate(
    ["Priority 1 - Emergency Response", "Priority 2 - Quick Response",
     "Priority 3 - Normal Response", "Priority 4 - Schedule Maintenance", "Do Not Respond"])]
COMPANIES = [{"id": 250, "identifier": "CUSTCO", "name": "Customer Co"}]
MEMBERS = [{"id": 17, "identifier": "agent", "name": "Alex Agent"}]


def error(status, code, message, field=None, errcode=None):
    body = {"code": code, "message": message}
    if field is not None:
        body["errors"] = [{"code": errcode or "MissingRequiredField", "message": message,
                           "resource": "ticket", "field": field}]
    return status, {}, body


def find(items, value, key):
    """A reference object {"id": n} or {key: value} resolved in items."""
    if not isinstance(value, dict):
        return None
    for it in items:
        if "id" in value and it["id"] == value["id"]:
            return it
        if key in value and it.get(key) == value[key]:
            return it
    return None


def matches(obj, conditions):
    for part in re.split(r"\s+and\s+", conditions.strip()):
        m = re.fullmatch(r'\s*([\w/]+)\s*(=|>)\s*(?:"((?:[^"\\]|\\.)*)"|(\d+))\s*', part)
        if m is None or (m.group(2) == ">" and m.group(4) is None):
            raise ValueError(part)
        value = obj
        for name in m.group(1).split("/"):
            value = value.get(name) if isinstance(value, dict) else None
        want = m.group(3) if m.group(3) is not None else int(m.group(4))
        if m.group(2) == ">" and not (isinstance(value, int) and value > want):
            return False
        if m.group(2) == "=" and value != want:
            return False
    return True


class ConnectWise(MockServer):
    def __init__(self):
        super().__init__()
        self.tickets = {}
        self.notes = {}  # ticket id -> [note]
        self.next_id = 98231
        self.next_note = 5000
        self.docs = []  # {"id", "recordType", "recordId", "title", "fileName", "data"}

    @property
    def base_url(self):
        return self.url + PREFIX

    def authorised(self, req):
        auth = req.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(
            ("%s+%s:%s" % (COMPANY, PUBLIC, PRIVATE)).encode()).decode()
        return auth == want and req.headers.get("clientId") == CLIENT_ID

    def handle(self, req):
        if not req.route.startswith(PREFIX):
            return error(404, "NotFound", "no such path")
        if not self.authorised(req):
            return error(401, "Unauthorized", "Invalid credentials or clientId")
        route = req.route[len(PREFIX):]
        if route == "/system/documents":
            return self.documents(req)
        if req.method in ("POST", "PATCH", "PUT") and \
                not req.headers.get("Content-Type", "").startswith("application/json"):
            return error(400, "InvalidObject", "Content-Type must be application/json")
        try:
            body = req.json()
        except ValueError:
            return error(400, "InvalidObject", "the body is not JSON")
        for pattern, method, fn in self.routes():
            m = re.fullmatch(pattern, route)
            if m and req.method == method:
                return fn(req, body, *[int(g) for g in m.groups()])
        return error(404, "NotFound", "no such resource %s %s" % (req.method, route))

    def routes(self):
        return [
            (r"/service/tickets", "GET", self.list_tickets),
            (r"/service/tickets", "POST", self.create_ticket),
            (r"/service/tickets/(\d+)", "GET", self.get_ticket),
            (r"/service/tickets/(\d+)", "PATCH", self.patch_ticket),
            (r"/service/tickets/(\d+)/notes", "GET", self.list_notes),
            (r"/service/tickets/(\d+)/notes", "POST", self.add_note),
            (r"/service/boards", "GET", lambda r, b: self.listing(r, BOARDS)),
            (r"/service/boards/(\d+)/statuses", "GET", self.statuses),
            (r"/service/priorities", "GET", lambda r, b: self.listing(r, PRIORITIES)),
            (r"/company/companies", "GET", lambda r, b: self.listing(r, COMPANIES)),
            (r"/system/members", "GET", lambda r, b: self.listing(r, MEMBERS)),
        ]

    def listing(self, req, items):
        cond = req.query.get("conditions", [""])[0]
        try:
            out = [i for i in items if not cond or matches(i, cond)]
        except ValueError as e:
            return error(400, "InvalidObject", "cannot parse conditions: %s" % e)
        return 200, {}, out

    def list_tickets(self, req, body):
        return self.listing(req, list(self.tickets.values()))

    def get_ticket(self, req, body, tid):
        if tid not in self.tickets:
            return error(404, "NotFound", "Ticket %d not found" % tid)
        return 200, {}, self.tickets[tid]

    def create_ticket(self, req, body):
        if not isinstance(body, dict):
            return error(400, "InvalidObject", "ticket object expected")
        summary = body.get("summary")
        if not summary:
            return error(400, "InvalidObject", "summary is required", "summary")
        if len(summary) > 100:
            return error(400, "InvalidObject", "summary is too long", "summary", "InvalidField")
        if len(body.get("externalXRef", "")) > 100:
            return error(400, "InvalidObject", "externalXRef is too long", "externalXRef",
                         "InvalidField")
        board = find(BOARDS, body.get("board"), "name")
        if board is None:
            return error(400, "InvalidObject", "board is required", "board")
        company = find(COMPANIES, body.get("company"), "identifier")
        if company is None:
            return error(400, "InvalidObject", "company is required", "company")
        priority = PRIORITIES[2]
        if "priority" in body:
            priority = find(PRIORITIES, body["priority"], "name")
            if priority is None:
                return error(400, "InvalidObject", "priority not found", "priority",
                             "InvalidField")
        tid = self.next_id
        self.next_id += 1
        ticket = {"id": tid, "summary": summary, "recordType": "ServiceTicket",
                  "board": board, "status": STATUSES[board["id"]][0], "company": company,
                  "priority": priority, "contactEmailAddress": body.get("contactEmailAddress"),
                  "externalXRef": body.get("externalXRef"), "closedFlag": False,
                  "owner": None}
        self.tickets[tid] = ticket
        self.notes[tid] = []
        return 201, {}, ticket

    def patch_ticket(self, req, body, tid):
        if tid not in self.tickets:
            return error(404, "NotFound", "Ticket %d not found" % tid)
        if not isinstance(body, list) or not body:
            return error(400, "InvalidObject", "a list of patch operations is expected")
        ticket = dict(self.tickets[tid])
        for op in body:
            path = str(op.get("path", "")).strip("/")
            field, _, sub = path.partition("/")
            value = op.get("value")
            if sub == "id":
                value = {"id": value}
            if op.get("op") not in ("add", "replace", "remove"):
                return error(400, "InvalidObject", "unknown op %r" % op.get("op"))
            if op["op"] == "remove":
                ticket[field] = None
                continue
            table = {"status": (STATUSES[ticket["board"]["id"]], "name"),
                     "priority": (PRIORITIES, "name"), "owner": (MEMBERS, "identifier")}
            if field in table:
                found = find(table[field][0], value, table[field][1])
                if found is None:
                    return error(400, "InvalidObject", "%s not found" % field, field,
                                 "InvalidField")
                ticket[field] = found
            elif field == "summary":
                ticket[field] = value
            else:
                return error(400, "InvalidObject", "cannot patch %s" % field, field,
                             "InvalidField")
        self.tickets[tid] = ticket
        return 200, {}, ticket

    def list_notes(self, req, body, tid):
        if tid not in self.tickets:
            return error(404, "NotFound", "Ticket %d not found" % tid)
        order = req.query.get("orderBy", ["id asc"])[0]
        if order not in ("id asc", "id desc"):
            return error(400, "InvalidObject", "cannot order by %s" % order)
        status, headers, out = self.listing(req, self.notes[tid])
        if status == 200:
            out = sorted(out, key=lambda n: n["id"], reverse=order == "id desc")
        return status, headers, out

    def add_note(self, req, body, tid):
        if tid not in self.tickets:
            return error(404, "NotFound", "Ticket %d not found" % tid)
        if not isinstance(body, dict) or not body.get("text"):
            return error(400, "InvalidObject", "text is required", "text")
        flags = ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
        if not any(body.get(f) is True for f in flags):
            return error(400, "InvalidObject",
                         "one of detailDescriptionFlag, internalAnalysisFlag, resolutionFlag"
                         " must be true", "detailDescriptionFlag")
        note = dict(body, id=self.next_note, ticketId=tid)
        self.next_note += 1
        self.notes[tid].append(note)
        return 201, {}, note

    def documents(self, req):
        """/system/documents [INF]: POST multipart/form-data with recordType,
        recordId, title and file; GET by recordType and recordId."""
        if req.method == "GET":
            q = req.query
            out = [{k: v for k, v in d.items() if k != "data"} for d in self.docs
                   if [d["recordType"]] == q.get("recordType") and
                   [str(d["recordId"])] == q.get("recordId")]
            return 200, {}, out
        ctype = req.headers.get("Content-Type", "")
        if req.method != "POST" or not ctype.startswith("multipart/form-data"):
            return error(400, "InvalidObject", "multipart/form-data expected")
        msg = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        parts = {p.get_param("name", header="Content-Disposition"): p
                 for p in (msg.get_payload() if msg.is_multipart() else [])}
        if set(parts) != {"recordType", "recordId", "title", "file"}:
            return error(400, "InvalidObject", "recordType, recordId, title and file expected")
        text = lambda n: parts[n].get_payload(decode=True).decode()
        if text("recordType") != "Ticket" or int(text("recordId")) not in self.tickets:
            return error(400, "InvalidObject", "no such record")
        doc = {"id": 700 + len(self.docs), "recordType": "Ticket",
               "recordId": int(text("recordId")), "title": text("title"),
               "fileName": parts["file"].get_filename(),
               "data": parts["file"].get_payload(decode=True)}
        self.docs.append(doc)
        return 201, {}, {k: v for k, v in doc.items() if k != "data"}

    def statuses(self, req, body, bid):
        if bid not in STATUSES:
            return error(404, "NotFound", "Board %d not found" % bid)
        return 200, {}, STATUSES[bid]
