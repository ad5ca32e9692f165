"""Checks the requests docket sent to a mock against the vendor's own
machine-readable description (../shared/specs: NinjaOne's OpenAPI 3.0
YAML, Incident IQ's Swagger 2.0 JSON), not against the mock's
expectations: the operation must exist, its query parameters must be
documented, and its body must match the request schema.

The subset of OpenAPI/Swagger the two files use is checked: $ref, allOf,
type, format (int32, int64, uuid/guid), enum, required, properties,
additionalProperties, items, uniqueItems, minLength/maxLength, nullable
(x-nullable in Swagger). One choice is stricter than the specifications:
an object schema without additionalProperties takes no property it does
not name, so an undocumented field fails.

PyYAML (python3-yaml) reads the YAML file; everything else is the
standard library."""

import email.parser
import json
import os
import re
import urllib.parse

SPECS = os.path.join(os.environ.get("DOCKET_SHARED") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")),
    "specs")
NINJAONE = os.path.join(SPECS, "ninjaone", "ninjaOne-API-core-resources.yaml")
INCIDENTIQ = os.path.join(SPECS, "incidentiq", "Tickets.stoplight.swagger2.json")

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_loaded = {}


def load(path):
    """The specification at path (cached per process), or None when the
    file is absent (the test then skips)."""
    if not os.path.exists(path):
        return None
    if path not in _loaded:
        _loaded[path] = Spec(path)
    return _loaded[path]


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            if path.endswith((".yaml", ".yml")):
                import yaml  # python3-yaml
                self.doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            else:
                self.doc = json.load(f)
        self.swagger = "swagger" in self.doc
        self.templates = []
        for template, ops in self.doc["paths"].items():
            pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
            self.templates.append((re.compile("^" + pattern + "$"), template, ops))

    # -- finding what the document says --

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("external $ref %s" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def operation(self, method, route):
        """(template, operation) for a documented method and path, or None."""
        for pattern, template, ops in self.templates:
            if pattern.match(route) and method.lower() in ops:
                return template, ops[method.lower()]
        return None

    @staticmethod
    def parameters(op, where):
        return {p["name"]: p for p in op.get("parameters", []) if p.get("in") == where}

    # -- validation --

    def validate(self, schema, value, where="body"):
        """Problems (strings) of value against schema; [] when it fits."""
        problems = []
        self._check(schema, value, where, problems)
        return problems

    def _merged(self, schema):
        """schema with its allOf parts folded in (properties, required)."""
        schema = self.resolve(schema)
        if "allOf" not in schema:
            return schema
        out = {k: v for k, v in schema.items() if k != "allOf"}
        props, required = dict(out.get("properties", {})), list(out.get("required", []))
        for part in schema["allOf"]:
            part = self._merged(part)
            props.update(part.get("properties", {}))
            required += part.get("required", [])
            for k in ("type", "additionalProperties"):
                if k in part:
                    out.setdefault(k, part[k])
        out["properties"], out["required"] = props, required
        out.setdefault("type", "object")
        return out

    def _check(self, schema, value, where, problems):
        schema = self._merged(schema)
        if value is None:
            if not (schema.get("nullable") or schema.get("x-nullable")):
                problems.append("%s: null where the schema allows none" % where)
            return
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        if "enum" in schema and value not in schema["enum"]:
            problems.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
        check = {"object": self._object, "array": self._array, "string": self._string,
                 "integer": self._integer, "number": self._number,
                 "boolean": self._boolean}.get(kind)
        if check is not None:
            check(schema, value, where, problems)

    def _object(self, schema, value, where, problems):
        if not isinstance(value, dict):
            problems.append("%s: %r is not an object" % (where, value))
            return
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", False)
        for name in schema.get("required", []):
            if name not in value:
                problems.append("%s: required %s is missing" % (where, name))
        for name, v in value.items():
            if name in props:
                self._check(props[name], v, "%s.%s" % (where, name), problems)
            elif extra is False:
                problems.append("%s: %s is not in the schema" % (where, name))
            elif isinstance(extra, dict) and extra:
                self._check(extra, v, "%s.%s" % (where, name), problems)

    def _array(self, schema, value, where, problems):
        if not isinstance(value, list):
            problems.append("%s: %r is not an array" % (where, value))
            return
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) \
                != len(value):
            problems.append("%s: items are not unique" % where)
        for i, v in enumerate(value):
            self._check(schema.get("items", {}), v, "%s[%d]" % (where, i), problems)

    def _string(self, schema, value, where, problems):
        if not isinstance(value, str):
            problems.append("%s: %r is not a string" % (where, value))
            return
        if len(value) > schema.get("maxLength", len(value)) or \
                len(value) < schema.get("minLength", 0):
            problems.append("%s: length %d is outside the schema's" % (where, len(value)))
        if schema.get("format") in ("uuid", "guid") and not GUID.match(value):
            problems.append("%s: %r is not a %s" % (where, value, schema["format"]))

    def _integer(self, schema, value, where, problems):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append("%s: %r is not an integer" % (where, value))
        elif schema.get("format") == "int32" and not -2**31 <= value < 2**31:
            problems.append("%s: %d is not an int32" % (where, value))

    def _number(self, schema, value, where, problems):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append("%s: %r is not a number" % (where, value))

    def _boolean(self, schema, value, where, problems):
        if not isinstance(value, bool):
            problems.append("%s: %r is not a boolean" % (where, value))

    # -- whole requests --

    def body_schema(self, op, content_type):
        """The schema of the request body for this content type, or None
        when the operation documents no body."""
        if self.swagger:
            bodies = [p for p in op.get("parameters", []) if p.get("in") == "body"]
            return bodies[0]["schema"] if bodies else None
        content = (op.get("requestBody") or {}).get("content") or {}
        media = content_type.split(";")[0].strip().lower()
        if media in content:
            return content[media].get("schema", {})
        return {"x-undocumented-media": media, "x-documented": sorted(content)} \
            if content else None

    def check_query(self, op, query, where):
        documented = self.parameters(op, "query")
        problems = []
        for name, values in query.items():
            if name not in documented:
                problems.append("%s: query parameter %s is not documented" % (where, name))
                continue
            schema = documented[name].get("schema", documented[name])
            for v in values:
                kind = schema.get("type")
                if kind == "integer" and not re.fullmatch(r"-?\d+", v):
                    problems.append("%s: query %s=%r is not an integer" % (where, name, v))
                elif "enum" in schema and v not in schema["enum"]:
                    problems.append("%s: query %s=%r is not one of %s" %
                                    (where, name, v, schema["enum"]))
        return problems

    def check_body(self, schema, content_type, body, where):
        if schema is None:
            return ["%s: the operation documents no body" % where] if body.strip() else []
        if "x-undocumented-media" in schema:
            return ["%s: %s is not one of the documented bodies %s" %
                    (where, schema["x-undocumented-media"], schema["x-documented"])]
        media = content_type.split(";")[0].strip().lower()
        if media == "multipart/form-data":
            return self.check_multipart(schema, content_type, body, where)
        try:
            value = json.loads(body) if body.strip() else None
        except ValueError:
            return ["%s: the body is not JSON" % where]
        if value is None:
            return []
        return self.validate(schema, value, where)

    def check_multipart(self, schema, content_type, body, where):
        """multipart/form-data (RFC 7578): each part a documented property;
        a JSON part checked against its schema, a binary one left alone."""
        msg = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        if not msg.is_multipart():
            return ["%s: not multipart" % where]
        schema = self._merged(schema)
        props, problems, seen = schema.get("properties", {}), [], set()
        for part in msg.get_payload():
            name = part.get_param("name", header="Content-Disposition")
            seen.add(name)
            if name not in props:
                problems.append("%s: part %s is not in the schema" % (where, name))
                continue
            prop = self._merged(props[name])
            item = self._merged(prop.get("items", {})) if prop.get("type") == "array" else prop
            if item.get("format") == "binary":
                continue
            try:
                value = json.loads(part.get_payload(decode=True))
            except ValueError:
                problems.append("%s: part %s is not JSON" % (where, name))
                continue
            problems += self.validate(props[name], value, "%s.%s" % (where, name))
        for name in schema.get("required", []):
            if name not in seen:
                problems.append("%s: required part %s is missing" % (where, name))
        return problems

    def check_request(self, method, route, query, content_type, body, body_schema=None):
        """Problems of one request (route without the API prefix). With
        body_schema (a definition name) the operation is taken as
        documented elsewhere and only the body is checked against it."""
        where = "%s %s" % (method, route)
        if body_schema is not None:
            schema = self.doc["definitions"][body_schema] if self.swagger \
                else self.doc["components"]["schemas"][body_schema]
            return self.check_body(schema, content_type, body, where)
        found = self.operation(method, route)
        if found is None:
            return ["%s: no such operation in the document" % where]
        _, op = found
        schema = self.body_schema(op, content_type)
        sample = self.sample(op)
        if schema is not None and sample is not None:
            schema = self.with_sample(schema, sample)
        return self.check_query(op, query, where) + \
            self.check_body(schema, content_type, body, where)

    @staticmethod
    def sample(op):
        """The JSON object of the operation's "Sample request" (Incident
        IQ writes one into the description of POST /tickets/new), or None."""
        text = op.get("description") or ""
        m = re.search(r"Sample request:\s*```\s*(?:POST|PUT)[^\n]*\n(\{.*?\n\})\s*```",
                      text, re.S)
        if m is None:
            return None
        try:
            return json.loads(m.group(1))
        except ValueError:
            return None

    def with_sample(self, schema, sample):
        """The vendor's sample request is documentation too: where it and
        the schema differ (the create sample leaves out most fields the
        shared UpdateTicketRequest requires, such as TicketId, and adds
        IssueTypeId and IssueCategoryId), a field of either is allowed, and
        the schema's required list does not apply (the product notes give
        the create's own minimum, which the mock enforces)."""
        schema = dict(self._merged(schema))
        props = dict(schema.get("properties", {}))
        for name in sample:
            props.setdefault(name, {"x-from-sample": True})
        schema["properties"] = props
        schema["required"] = []
        return schema


def problems_of(spec, requests, prefix, elsewhere=()):
    """Problems of the mock's recorded requests. prefix is stripped from
    each route; elsewhere lists (method, full route regex, definition or
    None, why): operations that the vendor documents outside this file,
    whose body is checked against the definition named (None: nothing in
    the file describes it)."""
    out = []
    for r in requests:
        full = urllib.parse.urlsplit(r.path).path
        ctype = r.headers.get("Content-Type", "")
        known = [e for e in elsewhere if e[0] == r.method and re.fullmatch(e[1], full)]
        if known:
            if known[0][2] is not None:
                out += spec.check_request(r.method, full, {}, ctype, r.body, known[0][2])
            continue
        if not full.startswith(prefix):
            out.append("%s %s: outside %s" % (r.method, full, prefix))
            continue
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(r.path).query,
                                      keep_blank_values=True)
        out += spec.check_request(r.method, full[len(prefix):], query, ctype, r.body)
    return out
