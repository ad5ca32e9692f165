"""An Omnidesk (omnidesk.com, API v2) mock written from the vendor's API
documentation and product notes (there is no vendor OpenAPI document).

Documented [DOC]: the API key as the apiKey query parameter or the apiKey
header, with per-endpoint permissions (TICKET_READ, TICKET_CREATE,
TICKET_UPDATE, SET_STATUS, MESSAGE_CREATE); GET/POST /api/v2/ticket,
GET/PUT /api/v2/ticket/:ticketID (the ticket with its timeline of events,
messages and notes), POST /api/v2/ticket/setstatus (matched without regard
to case) with ticketIDs and a status among new, open, pending, holding,
solved, closed; POST /api/v2/ticket/setPriority; POST /api/v2/message with
ticketID, type and message (at least 5 characters) required and the ticket
existing; the create fields (assignedGroupID, to, from, direction,
channelID, brandID, title, formID); the envelopes {"type":"item","item":…}
and {"type":"result","message":…}; errors {"status":"error","message":…}
with HTTP 400; integer ticket ids, string timeline ids; notes in the
timeline with type "note", channel_id 0 and direction "".

Bodies are form data as the documents show them: /message
multipart/form-data, the others application/x-www-form-urlencoded (setstatus
names its field ticketIDs[]); a JSON body is refused, and so is any field
the documents do not list for the endpoint. /message with a channel type
needs toAddress (documented as optional only for contact forms and notes)
and mails the message to it: every such mail is kept in `mailed`.

Inferred [INF]: the list answer {"type":"list","items":[…],"total":n} and
`query` matching the title; 401 for an unknown key and 403 for a missing
permission (in the error format); 404 for an unknown ticket id in the path;
priorities low, medium, high, urgent and setPriority's fields shaped like
setstatus's; how the timeline shows a contactform message (type "message",
direction inbound, channel_id 0) and a calllog (type "calllog"); that
neither mails anyone; brands 2 and 3 and forms 7 as this tenant's; a tenant
that accepts the key only as a query parameter (query_only)."""

import email.parser
import re
import time
import urllib.parse

from mockhttp import MockServer

API_KEY = "0mn1-4f9e2d7c8b"
READ_ONLY_KEY = "0mn1-readonly"
PERMISSIONS = {API_KEY: {"TICKET_READ", "TICKET_CREATE", "TICKET_UPDATE", "SET_STATUS",
                         "MESSAGE_CREATE"},
               READ_ONLY_KEY: {"TICKET_READ"}}
STATUSES = ["new", "open", "pending", "holding", "solved", "closed"]
PRIORITIES = ["low", "medium", "high", "urgent"]
CHANNELS = {1: "e-mail", 3: "facebook", 5: "twitter", 7: "whatsapp", 8: "chat", 9: "sms",
            10: "telephone", 12: "instagram", 13: "contactform"}
BRANDS = {2: "MyBrand", 3: "Customer Brand"}
FORMS = {7: "Support request"}


# The fields each endpoint documents (REFERENCE.md 5.2, 5.3; product notes).
FIELDS = {
    "/ticket": {"assignedGroupID", "to", "from", "direction", "channelID", "brandID", "title",
                "formID"},
    "/ticket/setstatus": {"ticketIDs[]", "status"},
    "/ticket/setpriority": {"ticketIDs[]", "priority"},
    "/message": {"ticketID", "type", "message", "plaintext", "toAddress", "ccInput",
                 "bccInput", "respondMessageID", "forwardedFileIDs[]", "sendAt", "userID",
                 "submitStatus"},
    "/ticket/#": {"title", "status", "externalPrimaryID"},
}
INTEGERS = {"assignedGroupID", "channelID", "brandID", "formID", "ticketID", "userID",
            "respondMessageID"}


def parse_form(req):
    """The form fields of a urlencoded or multipart body as {name: [str]},
    or None when the body is neither."""
    ctype = req.headers.get("Content-Type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)
    if ctype.startswith("multipart/form-data") and "boundary=" in ctype:
        msg = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        out = {}
        for part in msg.get_payload() if msg.is_multipart() else []:
            name = part.get_param("name", header="Content-Disposition")
            out.setdefault(name, []).append(part.get_payload(decode=True).decode())
        return out
    return None


def form_body(fields):
    """The fields as the endpoint's values: one string, a list for name[],
    integers where documented; None when a value is not."""
    body = {}
    for name, values in fields.items():
        if name.endswith("[]"):
            try:
                body[name[:-2]] = [int(v) for v in values]
            except ValueError:
                return None
            continue
        value = values[-1]
        if name in INTEGERS:
            try:
                value = int(value)
            except ValueError:
                return None
        body[name] = value
    return body


def error(status, message):
    return status, {}, {"status": "error", "message": message}


def result(message, **extra):
    return 200, {}, dict({"type": "result", "message": message}, **extra)


def stamp():
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


class Omnidesk(MockServer):
    def __init__(self, query_only=False):
        super().__init__()
        self.query_only = query_only
        self.tickets = {}   # id -> ticket (timeline inside)
        self.mailed = []    # (toAddress, message) Omnidesk sent out
        self.next_id = 858462
        self.next_item = 3143690

    @property
    def base_url(self):
        return self.url

    def key(self, req):
        if "apiKey" in req.query:
            return req.query["apiKey"][0]
        if not self.query_only:
            return req.headers.get("apiKey")
        return None

    def handle(self, req):
        if not req.route.startswith("/api/v2/"):
            return error(404, "Not found.")
        key = self.key(req)
        if key is None:
            return error(401, "No API key given.")
        if key not in PERMISSIONS:
            return error(401, "Invalid API key.")
        body = None
        route = req.route[len("/api/v2"):]
        if req.method in ("POST", "PUT"):
            fields = parse_form(req)
            if fields is None:
                return error(400, "Unsupported content type: form data expected.")
            documented = FIELDS.get(re.sub(r"/\d+$", "/#", route.lower()), set())
            unknown = sorted(set(fields) - documented)
            if unknown:
                return error(400, "Unknown field %s." % ", ".join(unknown))
            body = form_body(fields)
            if body is None:
                return error(400, "A number was expected.")
        for pattern, method, permission, fn in self.routes():
            m = re.fullmatch(pattern, route, re.IGNORECASE)
            if m and req.method == method:
                if permission not in PERMISSIONS[key]:
                    return error(403, "This API key lacks the permission %s." % permission)
                return fn(req, body, *m.groups())
        return error(404, "Not found.")

    def routes(self):
        return [
            (r"/ticket", "GET", "TICKET_READ", self.list_tickets),
            (r"/ticket", "POST", "TICKET_CREATE", self.create_ticket),
            (r"/ticket/setstatus", "POST", "SET_STATUS", self.set_status),
            (r"/ticket/setpriority", "POST", "TICKET_UPDATE", self.set_priority),
            (r"/ticket/(\d+)", "GET", "TICKET_READ", self.get_ticket),
            (r"/ticket/(\d+)", "PUT", "TICKET_UPDATE", self.update_ticket),
            (r"/message", "POST", "MESSAGE_CREATE", self.add_message),
        ]

    def list_tickets(self, req, body):
        q = req.query
        try:
            start = int(q.get("itemStart", ["0"])[0])
            limit = int(q.get("itemLimit", ["15"])[0])
        except ValueError:
            return error(400, "itemStart and itemLimit must be integers.")
        if start < 0 or not 1 <= limit <= 9999:
            return error(400, "itemLimit must be between 1 and 9999.")
        text = q.get("query", [""])[0].lower()
        status = q.get("status", [""])[0]
        items = [self.summary(t) for t in self.tickets.values()
                 if text in t["title"].lower() and (not status or t["status"] == status)]
        return 200, {}, {"type": "list", "items": items[start:start + limit],
                         "total": len(items)}

    @staticmethod
    def summary(t):
        return {k: v for k, v in t.items() if k != "timeline"}

    def create_ticket(self, req, body):
        direction = body.get("direction", "inbound")
        if direction not in ("inbound", "outbound"):
            return error(400, "direction must be inbound or outbound.")
        if body.get("channelID", 1) not in CHANNELS:
            return error(400, "This channel does not exist.")
        if "brandID" in body and body["brandID"] not in BRANDS:
            return error(400, "This brand does not exist.")
        if "formID" in body and body["formID"] not in FORMS:
            return error(400, "This form does not exist.")
        tid = self.next_id
        self.next_id += 1
        brand = body.get("brandID", 2)
        channel = body.get("channelID", 1)
        now = stamp()
        self.tickets[tid] = {
            "id": tid, "title": body.get("title", ""), "status": "new", "priority": "medium",
            "direction": direction, "channel_id": channel, "channel_name": CHANNELS[channel],
            "brand_id": brand, "brand_name": BRANDS[brand], "from": body.get("from"),
            "to": body.get("to"), "form_id": body.get("formID"),
            "assigned_group_id": body.get("assignedGroupID", 0), "assigned_user_id": 0,
            "created_at": now, "last_update": now, "closed_at": None, "external_id": None,
            "timeline": []}
        return 200, {}, {"type": "item", "item": self.summary(self.tickets[tid])}

    def get_ticket(self, req, body, tid):
        tid = int(tid)
        if tid not in self.tickets:
            return error(404, "This ticket does not exist.")
        return 200, {}, {"type": "item", "item": self.tickets[tid]}

    def update_ticket(self, req, body, tid):
        tid = int(tid)
        if tid not in self.tickets:
            return error(404, "This ticket does not exist.")
        if "status" in body and body["status"] not in STATUSES:
            return error(400, "This status does not exist.")
        for field in ("title", "status"):
            if field in body:
                self.tickets[tid][field] = body[field]
        return result("Ticket updated.")

    def ticket_ids(self, body):
        ids = body.get("ticketIDs")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            return None, error(400, "ticketIDs must be a list of ticket ids.")
        missing = [i for i in ids if i not in self.tickets]
        if missing:
            return None, error(400, "This ticket does not exist.")
        return ids, None

    def set_status(self, req, body):
        ids, refused = self.ticket_ids(body)
        if refused:
            return refused
        if body.get("status") not in STATUSES:
            return error(400, "Status must be one of %s." % ", ".join(STATUSES))
        for i in ids:
            self.tickets[i]["status"] = body["status"]
            self.tickets[i]["closed_at"] = stamp() if body["status"] == "closed" else None
        return result("Ticket status is updated.")

    def set_priority(self, req, body):
        ids, refused = self.ticket_ids(body)
        if refused:
            return refused
        if body.get("priority") not in PRIORITIES:
            return error(400, "Priority must be one of %s." % ", ".join(PRIORITIES))
        for i in ids:
            self.tickets[i]["priority"] = body["priority"]
        return result("Ticket priority is updated.")

    def add_message(self, req, body):
        for field in ("ticketID", "type", "message"):
            if body.get(field) in (None, ""):
                return error(400, "%s is required." % field)
        ticket = self.tickets.get(body["ticketID"]) if isinstance(body["ticketID"], int) \
            else None
        if ticket is None:
            return error(400, "This ticket does not exist.")
        kind = body["type"]
        channel = int(kind) if kind.isdigit() and int(kind) in CHANNELS else None
        if channel is None and kind not in ("calllog", "contactform"):
            return error(400, "This message type does not exist.")
        if len(body["message"]) < 5:
            return error(400, "The message must be at least 5 characters.")
        if channel is not None and not body.get("toAddress"):
            return error(400, "toAddress is required.")
        status = body.get("submitStatus")
        if status is not None and status not in STATUSES:
            return error(400, "This status does not exist.")
        shown = {"contactform": ("message", "inbound"), "calllog": ("calllog", "")}
        kind_shown, direction = shown.get(kind, ("message", "outbound"))
        item = {"id": str(self.next_item), "ticket_id": ticket["id"], "type": kind_shown,
                "channel_id": channel or 0, "channel_name": CHANNELS.get(channel, kind),
                "direction": direction, "content": body["message"],
                "to": body.get("toAddress"), "user_id": body.get("userID", 0),
                "created_at": stamp(), "files": []}
        self.next_item += 1
        ticket["timeline"].append(item)
        if channel is not None:
            self.mailed.append((body["toAddress"], body["message"]))
        if status is not None:
            ticket["status"] = status
        return result("Message has been sent and the ticket status was updated.")

    def messages(self, tid):
        return [i for i in self.tickets[tid]["timeline"]
                if i["type"] in ("message", "note", "calllog")]
