"""An Incident IQ (API v1.0) mock written from the vendor's Swagger file of
its Tickets API, its product notes and its Postman collection (comments):
Bearer token with the SiteId, ProductId and Client headers; GUID ids;
every answer in the envelope {Item | Items, Paging, Id, Uid, UserToken,
RequestDate, ExecutionTime, StatusCode, ProcessId, Message, ErrorKey,
Errors:[{ErrorKey, Field, Message}]}; POST /tickets/new (Subject,
IssueDescription, ForId, LocationId, IssueTypeId required, as the product
notes say), POST /tickets/{id} as the update (the UpdateTicketRequest's
required flags checked), the action endpoints (close and cancel with a
CloseReasonTypeId from the documented table), GET /tickets/statuses,
POST /tickets as the search ($p/$s paging, $o/$d order, Filters with
facets), ticket activities with IsPublic, and POST /users (paged; the
only facet it knows is keyword: nothing documents one that matches an
address), GET /users/{id}. The token can be expired on command: the old
one is refused with 401, a new one taken."""

import datetime
import re
import uuid

from mockhttp import MockServer

PREFIX = "/api/v1.0"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2l0ZQ.dG9rZW4"
SITE = "bb6cece8-e4f4-e511-a789-005056bb000e"
PRODUCT = "88df910c-91aa-e711-80c2-0004ffa00010"
LOCATION = "1fd1574a-2243-e611-a93b-a45e60e682da"
ISSUE_TYPE = "c8add287-0ca2-4fcc-b027-8d0980a84519"
CLOSE_REASONS = {"C98AE44E-ADA0-4AE7-AE30-817785C0000%d" % i for i in range(1, 7)}
WORKFLOW = "9a0c1f00-0000-4000-8000-00000000f100"

USERS = [
    {"UserId": "4dd6574a-2243-e611-a93b-a45e60e682da", "Name": "Alice Example",
     "Email": "Alice@Customer.example", "IsAgent": False},
    {"UserId": "7e0b2c11-5a1d-4b8e-9d2f-0a1b2c3d4e5f", "Name": "Alex Agent",
     "Email": "agent@agents.example", "IsAgent": True},
    {"UserId": "0c0ffee0-0000-4000-8000-00000000e1a1", "Name": "Email intake",
     "Email": "intake@district.example", "IsAgent": False},
]


def status(step_id, name, step, closed=False, requestor=False, order=0):
    return {"TicketStatusTypeId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "WorkflowId": WORKFLOW, "WorkflowStepId": step_id, "StatusName": name,
            "StepName": step, "IsClosed": closed, "IsReadonly": False,
            "IsRequestorInputNeeded": requestor, "DisplayOrder": order}


STATUSES = [
    status("5e1f0001-0000-4000-8000-000000000001", "Open", "Submitted", order=1),
    status("5e1f0002-0000-4000-8000-000000000002", "In Progress", "Agent Working", order=2),
    status("5e1f0003-0000-4000-8000-000000000003", "Waiting on Requestor",
           "Waiting on Requestor", requestor=True, order=3),
    status("5e1f0004-0000-4000-8000-000000000004", "On Hold", "Parts Ordered", order=4),
    status("5e1f0005-0000-4000-8000-000000000005", "Closed", "Resolved", closed=True, order=5),
]
STEP = {s["StatusName"]: s["WorkflowStepId"] for s in STATUSES}
UPDATE_FLAGS = ("UpdateAssets", "UpdateTags", "UpdateTicketFollowers", "UpdateCustomFields",
                "UpdateAttachments", "SendNotifications", "RunRules", "SendEmails")
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
STATUS_NAMES = {200: "OK", 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
                404: "NotFound", 500: "InternalServerError"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(code=200, **fields):
    out = {"UserToken": str(uuid.uuid4()), "RequestDate": now(), "ExecutionTime": 3.2,
           "StatusCode": STATUS_NAMES.get(code, code), "ProcessId": 1, "Errors": [],
           "Logs": []}
    out.update(fields)
    return out


def error(code, message, key, field=None):
    errors = [{"ErrorKey": key, "Field": field, "Message": message}] if field else []
    return code, {}, envelope(code, Message=message, ErrorKey=key, Errors=errors)


class IncidentIQ(MockServer):
    def __init__(self):
        super().__init__()
        self.token = TOKEN
        self.tickets = {}     # TicketId -> ticket
        self.activities = {}  # TicketId -> [activity]
        self.next_number = 10452
        self.on_refused = None
        self.users = list(USERS)  # as the directory lists them

    def add_users(self, n):
        """n more users listed before the others (a district's directory)."""
        filler = [{"UserId": str(uuid.uuid5(uuid.NAMESPACE_DNS, "user%d" % i)),
                   "Name": "Student %d" % i, "Email": "student%d@district.example" % i,
                   "IsAgent": False} for i in range(n)]
        with self.lock:
            self.users = filler + self.users

    def add_ticket(self, subject, age=0):
        """A ticket someone else made age seconds ago."""
        made = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age)
        with self.lock:
            tid = str(uuid.uuid4())
            self.next_number += 1
            self.tickets[tid] = {
                "TicketId": tid, "TicketNumber": str(self.next_number), "SiteId": SITE,
                "ProductId": PRODUCT, "Subject": subject, "IssueDescription": subject,
                "ForId": USERS[2]["UserId"], "OwnerId": USERS[2]["UserId"],
                "LocationId": LOCATION, "IssueTypeId": ISSUE_TYPE, "Priority": 0,
                "IsUrgent": False, "IsClosed": False, "IsDeleted": False,
                "AssignedToUserId": None, "WorkflowStepId": STEP["Open"],
                "CreatedDate": made.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "ModifiedDate": made.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            self.activities[tid] = []
            return tid

    @property
    def base_url(self):
        return self.url + PREFIX

    def expire_token(self, new_token, on_refused=None):
        """The token in use is refused from now on; new_token works.
        on_refused() is called at the first refusal (under the lock)."""
        with self.lock:
            self.token = new_token
            self.on_refused = on_refused

    def comments(self, tid):
        """(IsPublic, text) of the ticket's comment activities, in order."""
        return [(a["IsPublic"], it["Comments"]) for a in self.activities[tid]
                for it in a["ActivityItems"] if it["TicketActivityTypeId"] == 6]

    def handle(self, req):
        if not req.route.startswith(PREFIX):
            return error(404, "No HTTP resource was found that matches the request URI.",
                         "NotFound")
        if req.headers.get("Authorization") != "Bearer " + self.token:
            if self.on_refused is not None:
                self.on_refused()
                self.on_refused = None
            return error(401, "Authorization has been denied for this request.",
                         "Unauthorized")
        if req.headers.get("SiteId", "").lower() != SITE:
            return error(403, "The token is not valid for this site.", "InvalidSite")
        if req.headers.get("Client") != "ApiClient":
            return error(400, "Unknown client.", "InvalidClient", "Client")
        if req.headers.get("ProductId", "").lower() != PRODUCT:
            return error(400, "Unknown product.", "InvalidProduct", "ProductId")
        if req.method == "POST" and \
                not req.headers.get("Content-Type", "").startswith("application/json"):
            return error(400, "The request entity's media type is not supported.",
                         "UnsupportedMediaType")
        try:
            body = req.json()
        except ValueError:
            return error(400, "The request body is not valid JSON.", "InvalidJson")
        route = req.route[len(PREFIX):]
        for pattern, method, fn in self.routes():
            m = re.fullmatch(pattern, route)
            if m and req.method == method:
                return fn(req, body, *m.groups())
        return error(404, "No HTTP resource was found that matches the request URI.",
                     "NotFound")

    def routes(self):
        t = r"/tickets/([0-9a-fA-F-]{36})"
        return [
            (r"/tickets/statuses", "GET", self.list_statuses),
            (r"/tickets/new", "POST", self.create_ticket),
            (r"/tickets", "POST", self.search_tickets),
            (t, "GET", self.get_ticket),
            (t, "POST", self.update_ticket),
            (t + r"/close", "POST", lambda r, b, i: self.close(b, i, "Closed")),
            (t + r"/cancel", "POST", lambda r, b, i: self.close(b, i, "Closed")),
            (t + r"/status/waiting-on-requestor", "POST",
             lambda r, b, i: self.set_step(i, "Waiting on Requestor")),
            (t + r"/status/requestor-responded", "POST",
             lambda r, b, i: self.set_step(i, "Open")),
            (t + r"/mark-urgent", "POST", lambda r, b, i: self.set_field(i, "IsUrgent", True)),
            (t + r"/mark-not-urgent", "POST",
             lambda r, b, i: self.set_field(i, "IsUrgent", False)),
            (t + r"/unassign/user", "POST",
             lambda r, b, i: self.set_field(i, "AssignedToUserId", None)),
            (t + r"/activities/new", "POST", self.add_activity),
            (t + r"/activities", "GET", self.list_activities),
            (r"/users", "POST", self.search_users),
            (r"/users/([0-9a-fA-F-]{36})", "GET", self.get_user),
        ]

    def page(self, req, items):
        """$p (0-based page index) and $s (size) over items."""
        try:
            index = int(req.query.get("$p", ["0"])[0])
            size = int(req.query.get("$s", ["20"])[0])
        except ValueError:
            return error(400, "$p and $s must be numbers.", "InvalidPaging")
        chunk = items[index * size:(index + 1) * size]
        paging = {"TotalRows": len(items), "PageCount": -(-len(items) // size),
                  "PageSize": size, "PageIndex": index}
        return 200, {}, envelope(Items=chunk, Paging=paging)

    def list_statuses(self, req, body):
        return 200, {}, envelope(Items=STATUSES)

    def ticket_or_404(self, tid):
        t = self.tickets.get(tid.lower())
        return t, (None if t else error(404, "Ticket %s was not found." % tid, "NotFound"))

    def create_ticket(self, req, body):
        if not isinstance(body, dict):
            return error(400, "A ticket is required.", "Required", "Ticket")
        for field in ("Subject", "IssueDescription", "ForId", "LocationId", "IssueTypeId"):
            if not body.get(field):
                return error(400, "%s is required." % field, "Required", field)
        for field in ("ForId", "LocationId", "IssueTypeId", "IssueCategoryId", "IssueId"):
            if field in body and not GUID.fullmatch(str(body[field])):
                return error(400, "%s is not a valid id." % field, "InvalidGuid", field)
        if body["ForId"] not in [u["UserId"] for u in USERS]:
            return error(400, "The user the ticket is for does not exist.", "InvalidUser",
                         "ForId")
        if body["LocationId"] != LOCATION:
            return error(400, "The location does not exist.", "InvalidLocation", "LocationId")
        if body["IssueTypeId"] != ISSUE_TYPE:
            return error(400, "The issue type does not exist.", "InvalidIssueType",
                         "IssueTypeId")
        if body.get("ProductId", PRODUCT).lower() != PRODUCT:
            return error(400, "Unknown product.", "InvalidProduct", "ProductId")
        tid = str(uuid.uuid4())
        self.next_number += 1
        ticket = {"TicketId": tid, "TicketNumber": str(self.next_number), "SiteId": SITE,
                  "ProductId": PRODUCT, "Subject": body["Subject"],
                  "IssueDescription": body["IssueDescription"], "ForId": body["ForId"],
                  "OwnerId": body["ForId"], "LocationId": body["LocationId"],
                  "IssueTypeId": body["IssueTypeId"],
                  "IssueCategoryId": body.get("IssueCategoryId"),
                  "IssueId": body.get("IssueId"), "Priority": 0,
                  "IsUrgent": bool(body.get("IsUrgent")), "IsClosed": False,
                  "IsDeleted": False, "AssignedToUserId": None,
                  "WorkflowStepId": STEP["Open"], "CreatedDate": now(),
                  "ModifiedDate": now()}
        self.tickets[tid] = ticket
        self.activities[tid] = []
        return 200, {}, envelope(Item=ticket, Id=int(ticket["TicketNumber"]), Uid=tid)

    def get_ticket(self, req, body, tid):
        t, missing = self.ticket_or_404(tid)
        return missing or (200, {}, envelope(Item=t))

    def update_ticket(self, req, body, tid):
        t, missing = self.ticket_or_404(tid)
        if missing:
            return missing
        if not isinstance(body, dict):
            return error(400, "A ticket is required.", "Required", "Ticket")
        for flag in UPDATE_FLAGS:
            if not isinstance(body.get(flag), bool):
                return error(400, "%s is required." % flag, "Required", flag)
        if str(body.get("TicketId", "")).lower() != tid.lower():
            return error(400, "TicketId does not match the path.", "InvalidTicket", "TicketId")
        if body.get("WorkflowStepId") not in STEP.values():
            return error(400, "The workflow step does not exist.", "InvalidStep",
                         "WorkflowStepId")
        user = body.get("AssignedToUserId")
        if user is not None and user not in [u["UserId"] for u in USERS if u["IsAgent"]]:
            return error(400, "The agent does not exist.", "InvalidUser", "AssignedToUserId")
        if not isinstance(body.get("Priority"), int):
            return error(400, "Priority is required.", "Required", "Priority")
        for field in ("Subject", "IssueDescription", "WorkflowStepId", "Priority",
                      "AssignedToUserId", "IsUrgent"):
            if field in body:
                t[field] = body[field]
        t["IsClosed"] = t["WorkflowStepId"] == STEP["Closed"]
        t["ModifiedDate"] = now()
        return 200, {}, envelope(Item=t, Id=int(t["TicketNumber"]), Uid=t["TicketId"])

    def close(self, body, tid, name):
        t, missing = self.ticket_or_404(tid)
        if missing:
            return missing
        reason = (body or {}).get("CloseReasonTypeId", "")
        if reason.upper() not in CLOSE_REASONS:
            return error(400, "CloseReasonTypeId is not a close reason.", "InvalidReason",
                         "CloseReasonTypeId")
        t["WorkflowStepId"], t["IsClosed"] = STEP[name], True
        t["CloseReasonTypeId"] = reason
        return 200, {}, envelope()

    def set_step(self, tid, name):
        t, missing = self.ticket_or_404(tid)
        if missing:
            return missing
        t["WorkflowStepId"], t["IsClosed"] = STEP[name], False
        return 200, {}, envelope(Item=t)

    def set_field(self, tid, field, value):
        t, missing = self.ticket_or_404(tid)
        if missing:
            return missing
        t[field] = value
        return 200, {}, envelope()

    def search_tickets(self, req, body):
        if not isinstance(body, dict):
            return error(400, "Search options are required.", "Required", "Filters")
        found = list(self.tickets.values())
        order = req.query.get("$o", [None])[0]
        if order not in (None, "CreatedDate", "TicketNumber"):
            return error(400, "Unknown order %s." % order, "InvalidOrder", "$o")
        if order is not None:
            found.sort(key=lambda t: (t[order] if order == "CreatedDate"
                                      else int(t[order])),
                       reverse=req.query.get("$d", ["Ascending"])[0] == "Descending")
        for f in body.get("Filters") or []:
            facet, value = str(f.get("Facet", "")).lower(), str(f.get("Value", ""))
            if facet == "keyword":
                found = [t for t in found if value.lower() in
                         (t["Subject"] + " " + t["IssueDescription"] + " " +
                          t["TicketNumber"]).lower()]
            elif facet == "for":
                found = [t for t in found if t["ForId"] == value]
            else:
                return error(400, "Unknown facet %s." % facet, "InvalidFacet", "Facet")
        return self.page(req, found)

    def add_activity(self, req, body, tid):
        t, missing = self.ticket_or_404(tid)
        if missing:
            return missing
        if not isinstance(body, dict):
            return error(400, "An activity is required.", "Required", "Activity")
        if str(body.get("TicketId", "")).lower() != tid.lower():
            return error(400, "TicketId does not match the path.", "InvalidTicket", "TicketId")
        if not isinstance(body.get("IsPublic"), bool):
            return error(400, "IsPublic is required.", "Required", "IsPublic")
        items = body.get("ActivityItems")
        if not isinstance(items, list) or not items:
            return error(400, "ActivityItems is required.", "Required", "ActivityItems")
        aid = str(uuid.uuid4())
        kept = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("TicketActivityTypeId"), int):
                return error(400, "TicketActivityTypeId is required.", "Required",
                             "TicketActivityTypeId")
            if it["TicketActivityTypeId"] == 6 and not it.get("Comments"):
                return error(400, "Comments is required.", "Required", "Comments")
            kept.append(dict(it, TicketActivityId=aid, IsPublic=body["IsPublic"],
                             CreatedDate=now(), ModifiedDate=now()))
        activity = {"TicketActivityId": aid, "TicketId": tid, "SiteId": SITE,
                    "ProductId": PRODUCT, "IsPublic": body["IsPublic"],
                    "OwnerId": USERS[1]["UserId"], "TicketSubject": t["Subject"],
                    "CreatedDate": now(), "ModifiedDate": now(),
                    "SortOrder": len(self.activities[tid]), "ExecutionContextId": 0,
                    "ExecutionContextIndex": 0, "ActivityItems": kept}
        self.activities[tid].append(activity)
        return 200, {}, envelope(Item=activity, Id=len(self.activities[tid]), Uid=aid)

    def list_activities(self, req, body, tid):
        t, missing = self.ticket_or_404(tid)
        return missing or self.page(req, self.activities[tid])

    def search_users(self, req, body):
        found = list(self.users)
        for f in (body or {}).get("Filters") or []:
            facet, value = str(f.get("Facet", "")).lower(), str(f.get("Value", "")).lower()
            if facet == "keyword":
                found = [u for u in found if value in (u["Name"] + u["Email"]).lower()]
            else:
                return error(400, "Unknown facet %s." % facet, "InvalidFacet", "Facet")
        return self.page(req, found)

    def get_user(self, req, body, uid):
        for u in USERS:
            if u["UserId"] == uid.lower():
                return 200, {}, envelope(Item=u)
        return error(404, "User %s was not found." % uid, "NotFound")
