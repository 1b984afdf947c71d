# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered objects checked against the rules of their CRDs, before anything is written or applied.

``object_problems(obj)`` walks one rendered object along ``crdrules`` (generated
from the upstream CRDs by tools/gen_crd_rules.py) and returns
``(path, message)`` pairs, the path as a tuple of keys and indexes inside
the object: unknown fields, wrong types, missing required fields, the
OpenAPI limits and the CEL rules that are regular expressions. The render
turns these into problems at the inventory path the value came from
(``render.check_admission``). Kinds without rules (core objects) get the
metadata checks only.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from . import crdrules

_COMPILED = {}
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
          "number": "a number", "boolean": "true or false"}


def _matches(pattern, value, anchored=False):
    """Whether ``value`` matches an OpenAPI (ECMA-262) or CEL (RE2) pattern; None when Python cannot read it."""
    if pattern == r"^\PC*$":  # no control, format or unassigned characters (Unicode category C)
        return not any(unicodedata.category(char).startswith("C") for char in value)
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = False
        _COMPILED[pattern] = compiled
    if compiled is False:
        return None
    return bool(compiled.fullmatch(value) if anchored else compiled.search(value))


def _type_ok(kind, value):
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


def _format_ok(name, value):
    if not isinstance(value, str):
        return True
    if name == "cidr":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        return True
    return True  # int32 and idn-hostname: the ranges and patterns beside them say more


def object_problems(obj):
    """(path, message) of everything in ``obj`` its CRD refuses (empty for kinds without rules)."""
    root = crdrules.ROOTS.get((obj.get("apiVersion"), obj.get("kind")))
    if root is None:
        return []
    body = dict((key, value) for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata"))
    found = []
    _walk(body, crdrules.NODES[root], (), found)
    return found


def _walk(value, node, path, found):
    if value is None:
        if not node.get("n"):
            found.append((path, "must not be null"))
        return
    if node.get("ios"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            found.append((path, "must be an integer or a string"))
            return
    elif node.get("t") and not _type_ok(node["t"], value):
        found.append((path, "must be %s" % _TYPES.get(node["t"], node["t"])))
        return
    if isinstance(value, str):
        _check_string(value, node, path, found)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            found.append((path, "must be at least %s" % node["minimum"]))
        if "maximum" in node and value > node["maximum"]:
            found.append((path, "must be at most %s" % node["maximum"]))
    if "enum" in node and value not in node["enum"]:
        found.append((path, "must be one of %s" % ", ".join(str(item) for item in node["enum"])))
    if isinstance(value, list):
        if "maxItems" in node and len(value) > node["maxItems"]:
            found.append((path, "may have at most %d items, has %d" % (node["maxItems"], len(value))))
        if "minItems" in node and len(value) < node["minItems"]:
            found.append((path, "needs at least %d item%s" % (node["minItems"], "" if node["minItems"] == 1 else "s")))
        if "i" in node:
            items = crdrules.NODES[node["i"]]
            for index, item in enumerate(value):
                _walk(item, items, path + (index,), found)
    if isinstance(value, dict):
        _check_mapping(value, node, path, found)
    for rule in node.get("cel") or ():
        _check_cel(rule, value, path, found)


def _check_string(value, node, path, found):
    if "maxLength" in node and len(value) > node["maxLength"]:
        found.append((path, "may have at most %d characters, has %d" % (node["maxLength"], len(value))))
    if "minLength" in node and len(value) < node["minLength"]:
        plural = "" if node["minLength"] == 1 else "s"
        found.append((path, "needs at least %d character%s" % (node["minLength"], plural)))
    if "pattern" in node and _matches(node["pattern"], value) is False:
        found.append((path, "must match %s, got %r" % (node["pattern"], value)))
    if "format" in node and not _format_ok(node["format"], value):
        found.append((path, "must be a %s, got %r" % (node["format"], value)))


def _check_mapping(value, node, path, found):
    for name in node.get("req") or ():
        if name not in value:
            found.append((path + (name,), "is required"))
    if "maxProperties" in node and len(value) > node["maxProperties"]:
        found.append((path, "may have at most %d entries, has %d" % (node["maxProperties"], len(value))))
    if "minProperties" in node and len(value) < node["minProperties"]:
        found.append((path, "needs at least %d entr%s" % (node["minProperties"], "y" if node["minProperties"] == 1
                                                          else "ies")))
    properties = node.get("p")
    additional = node.get("a")
    for key, item in value.items():
        if properties is not None and key in properties:
            _walk(item, crdrules.NODES[properties[key]], path + (key,), found)
        elif isinstance(additional, str):
            _walk(item, crdrules.NODES[additional], path + (key,), found)
        elif additional is True or node.get("x") or properties is None:
            continue
        else:
            found.append((path + (key,), "is not a field here (known fields: %s)" % ", ".join(sorted(properties))))


def _check_cel(rule, value, path, found):
    if rule[0] == "value" and isinstance(value, str):
        if _matches(rule[1], value) is False:
            found.append((path, "must match %s (a CEL rule of the CRD), got %r" % (rule[1], value)))
    elif rule[0] == "keys" and isinstance(value, dict):
        for key in value:
            if _matches(rule[1], str(key)) is False:
                found.append((path + (key,), "this key must match %s (a CEL rule of the CRD)" % rule[1]))
    elif rule[0] == "when" and isinstance(value, dict):
        field, values, target, pattern = rule[1], rule[2], rule[3], rule[4]
        if value.get(field) in values and isinstance(value.get(target), str):
            if _matches(pattern, value[target]) is False:
                found.append((path + (target,), "must match %s when %s is %s (a CEL rule of the CRD), got %r" % (
                    pattern, field, value[field], value[target])))
