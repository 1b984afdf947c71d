# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate rendered objects the way a Kubernetes API server would.

For custom resources it reads the real CRDs (Gateway API, Cilium, Dapr) from
the upstream directory and checks an object against the served version's
``openAPIV3Schema``:

* structure: types, required fields, unknown fields (strict field
  validation), enums, patterns, lengths, item counts, formats, ``oneOf`` /
  ``anyOf`` / ``allOf`` / ``not``, list-type ``set`` and ``map`` uniqueness;
* defaulting: ``default`` values are applied first, as the API server does;
* ``x-kubernetes-validations``: every CEL rule, evaluated with cel-python
  (transition rules that need ``oldSelf`` are skipped: they only apply to
  updates).

Built-in kinds the collection renders (Service, Namespace) get the checks
of their Go validation that matter here.
"""

from __future__ import annotations

import copy
import datetime
import glob
import ipaddress
import os
import re

import celpy
import yaml
from celpy import celtypes
from celpy.adapter import json_to_cel

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


# -- CEL functions of the Kubernetes libraries that the CRDs use -----------------


def _cel_split(text, sep, limit=None):
    parts = str(text).split(str(sep)) if limit is None else str(text).split(str(sep), int(limit) - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _cel_substring(text, start, end=None):
    text = str(text)
    return celtypes.StringType(text[int(start):] if end is None else text[int(start):int(end)])


def _cel_is_ip(text):
    try:
        ipaddress.ip_address(str(text))
        return celtypes.BoolType(True)
    except ValueError:
        return celtypes.BoolType(False)


def _cel_lower_ascii(text):
    return celtypes.StringType(str(text).lower())


def _cel_index_of(text, sub):
    return celtypes.IntType(str(text).find(str(sub)))


CEL_FUNCTIONS = {
    "split": _cel_split,
    "substring": _cel_substring,
    "isIP": _cel_is_ip,
    "lowerAscii": _cel_lower_ascii,
    "indexOf": _cel_index_of,
}


class CelRule(object):
    _env = celpy.Environment()

    def __init__(self, rule):
        self.rule = rule["rule"]
        self.message = rule.get("message") or ("failed rule: %s" % self.rule)
        self.field_path = rule.get("fieldPath", "")
        self.transition = "oldSelf" in self.rule
        self.program = None if self.transition else self._env.program(self._env.compile(self.rule), CEL_FUNCTIONS)

    def check(self, value):
        """None if the rule holds, else the problem text."""
        if self.transition:
            return None
        try:
            result = self.program.evaluate({"self": json_to_cel(value)})
        except Exception as exc:  # cel-python raises several error types
            return "rule %r could not be evaluated: %s" % (self.rule, exc)
        if isinstance(result, celpy.CELEvalError):
            return "rule %r failed to evaluate: %s" % (self.rule, result)
        if result is not True and result != celtypes.BoolType(True):
            return self.message
        return None


# -- schema walker ------------------------------------------------------------------


class SchemaValidator(object):
    def __init__(self, schema):
        self.schema = schema
        self._rules = {}

    def _compiled(self, schema):
        key = id(schema)
        if key not in self._rules:
            self._rules[key] = [CelRule(rule) for rule in schema.get("x-kubernetes-validations") or []]
        return self._rules[key]

    def validate(self, value):
        """Default ``value`` in place and return a list of problems."""
        problems = []
        self._walk(value, self.schema, "", problems, top=True)
        return problems

    # defaulting happens on the parent so the defaulted child is visible to CEL
    def _apply_defaults(self, value, schema):
        if not isinstance(value, dict):
            return
        for name, sub in (schema.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])

    def _walk(self, value, schema, path, problems, top=False, strict=True):
        where = path or "<root>"
        if value is None:
            if not schema.get("nullable"):
                problems.append("%s: must not be null" % where)
            return
        if schema.get("x-kubernetes-int-or-string"):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                problems.append("%s: must be an integer or a string" % where)
                return
        else:
            kind = schema.get("type")
            if kind and not _type_ok(value, kind):
                problems.append("%s: must be of type %s, got %s" % (where, kind, type(value).__name__))
                return
        self._check_value(value, schema, where, problems)
        for sub in schema.get("allOf") or []:
            self._walk(value, sub, path, problems, strict=False)
        if schema.get("oneOf"):
            matches = sum(1 for sub in schema["oneOf"] if not self._probe(value, sub, path))
            if matches != 1:
                problems.append("%s: must match exactly one of the oneOf schemas (matched %d)" % (where, matches))
        if schema.get("anyOf"):
            if not any(not self._probe(value, sub, path) for sub in schema["anyOf"]):
                problems.append("%s: must match at least one of the anyOf schemas" % where)
        if schema.get("not") is not None and not self._probe(value, schema["not"], path):
            problems.append("%s: must not match the 'not' schema" % where)
        if isinstance(value, dict):
            self._apply_defaults(value, schema)
            props = schema.get("properties")
            additional = schema.get("additionalProperties")
            preserve = schema.get("x-kubernetes-preserve-unknown-fields")
            for name in schema.get("required") or []:
                if name not in value:
                    problems.append("%s: missing required field %r" % (where, name))
            for name, item in value.items():
                sub_path = "%s.%s" % (path, name) if path else name
                if props and name in props:
                    self._walk(item, props[name], sub_path, problems, strict=strict)
                elif isinstance(additional, dict):
                    self._walk(item, additional, sub_path, problems, strict=strict)
                elif top and name in ("apiVersion", "kind", "metadata"):
                    continue
                elif strict and not preserve and (props is not None or additional is False):
                    problems.append("%s: unknown field %r" % (where, name))
            if "minProperties" in schema and len(value) < schema["minProperties"]:
                problems.append("%s: needs at least %d properties" % (where, schema["minProperties"]))
            if "maxProperties" in schema and len(value) > schema["maxProperties"]:
                problems.append("%s: allows at most %d properties" % (where, schema["maxProperties"]))
        elif isinstance(value, list):
            items = schema.get("items")
            if items:
                for index, item in enumerate(value):
                    self._walk(item, items, "%s[%d]" % (path, index), problems, strict=strict)
            self._check_list(value, schema, where, problems)
        for rule in self._compiled(schema) if strict else ():
            message = rule.check(value)
            if message:
                problems.append("%s: %s" % (where + (rule.field_path or ""), message))

    def _probe(self, value, schema, path):
        """Problems of ``value`` against a value-validation subschema (oneOf/anyOf/not member).

        Such subschemas only constrain; their ``properties`` do not make other
        fields unknown, and they carry no CEL rules.
        """
        problems = []
        self._walk(copy.deepcopy(value), schema, path, problems, strict=False)
        return problems

    def _check_value(self, value, schema, where, problems):
        if "enum" in schema and value not in schema["enum"]:
            problems.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                problems.append("%s: longer than %d characters" % (where, schema["maxLength"]))
            if "minLength" in schema and len(value) < schema["minLength"]:
                problems.append("%s: shorter than %d characters" % (where, schema["minLength"]))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                problems.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
            fmt = schema.get("format")
            if fmt and not _format_ok(value, fmt):
                problems.append("%s: %r is not a valid %s" % (where, value, fmt))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema:
                low = schema["minimum"]
                if value < low or (schema.get("exclusiveMinimum") is True and value == low):
                    problems.append("%s: %r is below the minimum %r" % (where, value, low))
            if "maximum" in schema:
                high = schema["maximum"]
                if value > high or (schema.get("exclusiveMaximum") is True and value == high):
                    problems.append("%s: %r is above the maximum %r" % (where, value, high))
            fmt = schema.get("format")
            if fmt == "int32" and not -2 ** 31 <= value < 2 ** 31:
                problems.append("%s: %r does not fit int32" % (where, value))

    def _check_list(self, value, schema, where, problems):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append("%s: needs at least %d items" % (where, schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append("%s: allows at most %d items" % (where, schema["maxItems"]))
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set" or schema.get("uniqueItems"):
            seen = []
            for item in value:
                if item in seen:
                    problems.append("%s: duplicate item %r in a set" % (where, item))
                seen.append(item)
        elif list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen = set()
            for item in value:
                key = tuple(repr(item.get(k)) for k in keys) if isinstance(item, dict) else repr(item)
                if key in seen:
                    problems.append("%s: duplicate entry for keys %s = %s" % (where, keys, key))
                seen.add(key)


def _type_ok(value, kind):
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def _format_ok(value, fmt):
    try:
        if fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
        elif fmt == "ipv4":
            return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
        elif fmt == "ipv6":
            return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
        elif fmt == "date-time":
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "idn-hostname":
            return bool(value) and len(value) <= 253
    except ValueError:
        return False
    return True


# -- CRD catalogue --------------------------------------------------------------------


class Catalogue(object):
    """The CRDs under an upstream directory, by (group/version, kind)."""

    def __init__(self, upstream, gateway_api_channel="standard"):
        self.upstream = upstream
        self.crds = {}
        self.validators = {}
        patterns = [
            os.path.join(upstream, "gateway-api", gateway_api_channel, "*.yaml"),
            os.path.join(upstream, "cilium", "crds", "*.yaml"),
            os.path.join(upstream, "dapr", "crds", "*.yaml"),
        ]
        for pattern in patterns:
            for path in sorted(glob.glob(pattern)):
                with open(path, encoding="utf-8") as handle:
                    for doc in yaml.safe_load_all(handle):
                        if not doc or doc.get("kind") != "CustomResourceDefinition":
                            continue
                        spec = doc["spec"]
                        for version in spec["versions"]:
                            key = ("%s/%s" % (spec["group"], version["name"]), spec["names"]["kind"])
                            self.crds[key] = (spec, version, path)

    def served(self, api_version, kind):
        entry = self.crds.get((api_version, kind))
        return entry is not None and entry[1].get("served", False)

    def validate(self, obj):
        """Problems of one object (empty list when the API server would accept it)."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata") or {}
        problems = _metadata_problems(meta)
        if (api_version, kind) in BUILTIN:
            return problems + BUILTIN[(api_version, kind)](obj)
        entry = self.crds.get((api_version, kind))
        if entry is None:
            return problems + ["no CRD serves %s %s in %s" % (api_version, kind, self.upstream)]
        spec, version = entry[:2]
        if not version.get("served"):
            return problems + ["%s %s is not served by the CRD" % (api_version, kind)]
        if spec.get("scope") == "Namespaced" and not meta.get("namespace"):
            problems.append("metadata.namespace: required for namespaced kind %s" % kind)
        if spec.get("scope") == "Cluster" and meta.get("namespace"):
            problems.append("metadata.namespace: must not be set on cluster-scoped kind %s" % kind)
        if not DNS1123_SUBDOMAIN.match(meta.get("name", "")) or len(meta.get("name", "")) > 253:
            problems.append("metadata.name: %r is not a DNS subdomain" % meta.get("name"))
        key = (api_version, kind)
        if key not in self.validators:
            self.validators[key] = SchemaValidator(version["schema"]["openAPIV3Schema"])
        return problems + self.validators[key].validate(copy.deepcopy(obj))


def _metadata_problems(meta):
    problems = []
    for key, value in (meta.get("labels") or {}).items():
        prefix, name = key.rpartition("/")[::2]
        if prefix and not DNS1123_SUBDOMAIN.match(prefix):
            problems.append("metadata.labels: bad key prefix in %r" % key)
        if not LABEL_NAME.match(name) or len(name) > 63:
            problems.append("metadata.labels: bad key %r" % key)
        if not isinstance(value, str) or not LABEL_VALUE.match(value) or len(value) > 63:
            problems.append("metadata.labels: bad value %r for %r" % (value, key))
    return problems


def _service(obj):
    problems = []
    meta = obj["metadata"]
    if not DNS1035_LABEL.match(meta.get("name", "")) or len(meta["name"]) > 63:
        problems.append("metadata.name: %r is not a DNS-1035 label (Service names start with a letter)" % meta.get("name"))
    if not meta.get("namespace"):
        problems.append("metadata.namespace: required")
    spec = obj.get("spec") or {}
    allowed = {"selector", "ports", "type", "clusterIP", "sessionAffinity", "internalTrafficPolicy"}
    for name in spec:
        if name not in allowed:
            problems.append("spec: unexpected field %r" % name)
    ports = spec.get("ports") or []
    if not ports:
        problems.append("spec.ports: required")
    names = set()
    for index, port in enumerate(ports):
        where = "spec.ports[%d]" % index
        if len(ports) > 1 and not port.get("name"):
            problems.append("%s.name: required when there are several ports" % where)
        if port.get("name"):
            if not IANA_SVC_NAME.match(port["name"]) or len(port["name"]) > 15:
                problems.append("%s.name: %r is not a valid port name" % (where, port["name"]))
            if port["name"] in names:
                problems.append("%s.name: duplicate" % where)
            names.add(port["name"])
        if not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
            problems.append("%s.port: must be 1-65535" % where)
        target = port.get("targetPort")
        if isinstance(target, int) and not 1 <= target <= 65535:
            problems.append("%s.targetPort: must be 1-65535" % where)
        if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            problems.append("%s.protocol: invalid" % where)
    for key, value in (spec.get("selector") or {}).items():
        if not LABEL_VALUE.match(str(value)):
            problems.append("spec.selector: bad value for %r" % key)
    return problems


def _namespace(obj):
    name = obj["metadata"].get("name", "")
    if not DNS1123_LABEL.match(name) or len(name) > 63:
        return ["metadata.name: %r is not a DNS label" % name]
    if obj["metadata"].get("namespace"):
        return ["metadata.namespace: must not be set on a Namespace"]
    return []


BUILTIN = {
    ("v1", "Service"): _service,
    ("v1", "Namespace"): _namespace,
}
