"""What the API tests share: a client for docket's /api/v1 that checks
every response against contrib/openapi.yaml (the operation must be there,
the status must be documented for it, and the JSON must match its schema)
and remembers which operations and statuses were seen, so that a test can
prove every endpoint and every documented error was exercised."""

import http.client
import json
import os
import re
import sys
import uuid

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SPEC_PATH = os.path.join(ROOT, "contrib", "openapi.yaml")


class SchemaError(AssertionError):
    pass


class Spec:
    """contrib/openapi.yaml and a validator for the subset of JSON Schema
    it uses (type, nullable, enum, required, properties,
    additionalProperties, items, allOf, minimum, maximum, $ref)."""

    def __init__(self, path=SPEC_PATH):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.base = self.doc["servers"][0]["url"]
        self.templates = []
        for template in self.doc["paths"]:
            pattern = "^" + re.sub(r"\{[a-z_]+\}", "[^/]+", re.escape(template).replace(
                r"\{", "{").replace(r"\}", "}")) + "$"
            self.templates.append((template, re.compile(pattern)))

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def template_of(self, path):
        """The spec's path template for a path below the server URL."""
        for template, pattern in self.templates:
            if pattern.match(path):
                return template
        return None

    def operations(self):
        """Every (template, METHOD) the spec documents."""
        return {(t, m.upper()) for t, item in self.doc["paths"].items()
                for m in item if m in ("get", "post", "patch", "put", "delete")}

    def statuses(self, template, method):
        op = self.doc["paths"][template][method.lower()]
        return set(op["responses"])

    def response(self, template, method, status):
        """The documented response, or None."""
        item = self.doc["paths"].get(template, {})
        op = item.get(method.lower())
        if op is None:
            return None
        return self.resolve(op["responses"].get(str(status)))

    def validate(self, value, schema, where="$"):
        schema = self.resolve(schema)
        for part in schema.get("allOf", []):
            self.validate(value, part, where)
        if value is None:
            if schema.get("nullable") or not schema.get("type"):
                return
            raise SchemaError("%s: null where %s is expected" % (where, schema.get("type")))
        kind = schema.get("type")
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if kind is not None and not checks[kind](value):
            raise SchemaError("%s: %r is not of type %s" % (where, value, kind))
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError("%s: %r is none of %s" % (where, value, schema["enum"]))
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError("%s: %r is below %s" % (where, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError("%s: %r is above %s" % (where, value, schema["maximum"]))
        if kind == "array" and "items" in schema:
            for i, item in enumerate(value):
                self.validate(item, schema["items"], "%s[%d]" % (where, i))
        if kind == "object":
            self.validate_object(value, schema, where)

    def validate_object(self, value, schema, where):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError("%s: %s is missing" % (where, key))
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                self.validate(item, props[key], "%s.%s" % (where, key))
            elif extra is False:
                raise SchemaError("%s: %s is not in the schema" % (where, key))
            elif isinstance(extra, dict):
                self.validate(item, extra, "%s.%s" % (where, key))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


class Client:
    """Calls docket's API on 127.0.0.1:port; each answer is checked
    against the spec and recorded in seen (template, METHOD, status)."""

    def __init__(self, port, spec, seen):
        self.port = port
        self.spec = spec
        self.seen = seen

    def raw(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def call(self, method, path, token=None, json_body=None, form=None, headers=None,
             body=None):
        """method on the API's path (below /api/v1); token for Bearer;
        json_body (sent as JSON) or form ([(name, value)] or
        [(name, (filename, bytes, type))] as multipart/form-data)."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body, headers["Content-Type"] = multipart(form)
        r = self.raw(method, self.spec.base + path, headers, body)
        self.check(method, path, r)
        return r

    def check(self, method, path, r):
        template = self.spec.template_of(path.split("?")[0])
        if r.status == 405 or template is None:
            # A method or path the API does not have: the error's shape.
            self.spec.validate(json.loads(r.body), {"$ref": "#/components/schemas/Error"})
            return
        documented = self.spec.response(template, method, r.status)
        if documented is None:
            raise SchemaError("%s %s answered %d, which the spec does not document"
                              % (method, template, r.status))
        self.seen.add((template, method, r.status))
        content = documented.get("content", {})
        if "application/json" in content:
            if not (r.header("content-type") or "").startswith("application/json"):
                raise SchemaError("%s %s: %s is not JSON" % (method, template,
                                                             r.header("content-type")))
            self.spec.validate(json.loads(r.body), content["application/json"]["schema"],
                               "%s %s %d" % (method, template, r.status))


def multipart(fields):
    """A multipart/form-data body (RFC 7578) and its Content-Type."""
    boundary = "docket-" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        if isinstance(value, tuple):
            filename, data, kind = value
            out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                        "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                        % (boundary, name, filename, kind)).encode() + data + b"\r\n")
        else:
            out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                        % (boundary, name, value)).encode())
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary
