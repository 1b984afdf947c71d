# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small schema language for the collection's inventory variables.

A ``Field`` says what one variable (or one key of a nested mapping) may hold:
its type, default, allowed values, nested options and a description. The
same declarations drive three things, so they cannot drift apart:

* ``check()`` validates and normalises user input, reporting every problem
  with its variable path (``mesh_apps[0].routes[1].path``);
* the role ``defaults/main.yml`` and ``meta/argument_specs.yml`` files and
  ``docs/variables.md`` are generated from them (``tools/gendocs.py``);
* the unit tests compare the generated files with the committed ones.

Normalised values are plain Python types (``dict``, ``list``, ``str``,
``int``, ``bool``, ``None``) so they can be dumped as YAML or JSON as-is,
whatever wrapper types Ansible's templating handed in.
"""

from __future__ import annotations

import difflib
import re

from collections.abc import Mapping, Sequence

from .errors import Problems, processing

_MISSING = object()
_TRUE = ("true", "yes", "on", "1", "y")
_FALSE = ("false", "no", "off", "0", "n")


def plain(value):
    """Deep-copy ``value`` into plain built-in types (drops Ansible tagging)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return dict((plain(k) if not isinstance(k, str) else str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def describe(value):
    """Short, safe rendering of a bad value for an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def suggest(name, candidates):
    """A ' (did you mean X?)' hint for a misspelt key, or ''."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return " (did you mean %r?)" % close[0] if close else ""


def join_path(path, key):
    if not path:
        return key
    return "%s.%s" % (path, key)


class Field(object):
    """Declaration of one variable or one option of a nested mapping.

    ``type`` is one of ``str``, ``int``, ``bool``, ``list``, ``dict``
    (a mapping with declared ``options``), ``map`` (free-form mapping, for
    labels and Helm values) and ``raw`` (anything).
    """

    TYPES = ("str", "int", "bool", "list", "dict", "map", "raw")

    def __init__(self, type, description, default=_MISSING, required=False,
                 choices=None, elements=None, options=None, minimum=None,
                 maximum=None, check=None, nullable=False, example=None,
                 doc_default=None, no_log=False, value_type=None):
        if type not in self.TYPES:
            raise ValueError("unknown field type %r" % type)
        self.type = type
        self.description = description
        self.default = default
        self.required = required
        self.choices = list(choices) if choices is not None else None
        self.elements = elements
        self.options = options
        self.minimum = minimum
        self.maximum = maximum
        self.check_fn = check
        self.nullable = nullable
        self.example = example
        self.doc_default = doc_default
        self.no_log = no_log
        self.value_type = value_type  # for ``map``: "str" forces string values

    # -- defaults -----------------------------------------------------------
    def has_default(self):
        return self.default is not _MISSING

    def default_value(self):
        """The normalised default (nested option defaults filled in)."""
        if self.type == "dict" and self.options is not None:
            base = {} if self.default is _MISSING or self.default is None else self.default
            if self.default is None and self.nullable:
                return None
            problems = Problems()
            return self.check(base, "", problems)
        if self.default is _MISSING:
            return None
        return plain(self.default)

    # -- validation ---------------------------------------------------------
    def check(self, value, path, problems):
        """Validate ``value`` at ``path``; return the normalised value.

        Problems are added to ``problems``; the return value is then
        best-effort (callers must not use it once problems were found).
        """
        processing(path)
        if value is None:
            if self.nullable:
                return None
            if self.type in ("list",):
                value = []
            elif self.type in ("dict", "map"):
                value = {}
            elif self.has_default() and self.default is not None:
                return self.default_value()
            else:
                problems.add(path, "must be %s, got null" % self.expected())
                return None
        checker = getattr(self, "_check_" + self.type)
        result = checker(value, path, problems)
        if result is _MISSING:
            return None
        if self.choices is not None and result not in self.choices:
            problems.add(path, "must be one of %s, got %s" % (
                ", ".join(str(c) for c in self.choices), describe(value)))
            return result
        if self.check_fn is not None:
            message = self.check_fn(result)
            if message:
                problems.add(path, message)
        return result

    def expected(self):
        return {
            "str": "a string",
            "int": "an integer",
            "bool": "a boolean (true or false)",
            "list": "a list",
            "dict": "a mapping",
            "map": "a mapping",
            "raw": "a value",
        }[self.type]

    def _check_str(self, value, path, problems):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems.add(path, "must be %s, got %s" % (self.expected(), type_name(value)))
            return _MISSING
        if isinstance(value, float):
            example = ' (for example "%s")' % self.example if isinstance(self.example, str) else ""
            problems.add(path, "must be a string, got the number %r: YAML reads an unquoted value such as 1.20 as a "
                         "number (and drops the trailing zero); quote the full value%s" % (value, example))
            return _MISSING
        if isinstance(value, int):
            problems.add(path, "must be a string, got the number %d (quote it in YAML)" % value)
            return _MISSING
        return str(value)

    def _check_int(self, value, path, problems):
        result = None
        if isinstance(value, bool):
            result = None
        elif isinstance(value, int):
            result = int(value)
        elif isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
            result = int(value)
        if result is None:
            problems.add(path, "must be %s, got %s" % (self.expected(), describe(value)))
            return _MISSING
        low, high = self.minimum, self.maximum
        if (low is not None and result < low) or (high is not None and result > high):
            if low is not None and high is not None:
                problems.add(path, "must be an integer from %d to %d, got %d" % (low, high, result))
            elif low is not None:
                problems.add(path, "must be an integer >= %d, got %d" % (low, result))
            else:
                problems.add(path, "must be an integer <= %d, got %d" % (high, result))
        return result

    def _check_bool(self, value, path, problems):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        problems.add(path, "must be %s, got %s" % (self.expected(), describe(value)))
        return _MISSING

    def _check_list(self, value, path, problems):
        if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or not isinstance(value, Sequence):
            problems.add(path, "must be a list, got %s" % type_name(value))
            return _MISSING
        result = []
        for index, item in enumerate(value):
            item_path = "%s[%d]" % (path, index)
            if self.elements is None:
                result.append(plain(item))
            else:
                if item is None and not self.elements.nullable:
                    problems.add(item_path, "must be %s, got null" % self.elements.expected())
                    continue
                result.append(self.elements.check(item, item_path, problems))
        if self.minimum is not None and len(result) < self.minimum:
            problems.add(path, "needs at least %d item%s" % (self.minimum, "" if self.minimum == 1 else "s"))
        if self.maximum is not None and len(result) > self.maximum:
            problems.add(path, "allows at most %d items, got %d" % (self.maximum, len(result)))
        return result

    def _check_map(self, value, path, problems):
        if not isinstance(value, Mapping):
            problems.add(path, "must be a mapping, got %s" % type_name(value))
            return _MISSING
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                problems.add(path, "keys must be strings, got %s" % describe(key))
                continue
            if self.value_type == "str":
                if isinstance(item, bool) or item is None or isinstance(item, (Mapping, list, tuple)):
                    problems.add(join_path(path, str(key)), "must be a string, got %s" % type_name(item))
                    continue
                result[str(key)] = str(plain(item))
            else:
                result[str(key)] = plain(item)
        return result

    def _check_dict(self, value, path, problems):
        if not isinstance(value, Mapping):
            problems.add(path, "must be a mapping, got %s" % type_name(value))
            return _MISSING
        options = self.options or {}
        result = {}
        for key in value:
            if not isinstance(key, str) or key not in options:
                problems.add(join_path(path, str(key)), "unknown key%s; allowed keys: %s" % (
                    suggest(str(key), options), ", ".join(sorted(options))))
        for name, option in options.items():
            sub_path = join_path(path, name)
            if name in value:
                result[name] = option.check(value[name], sub_path, problems)
            elif option.required:
                problems.add(sub_path, "is required")
                result[name] = None
            else:
                result[name] = option.default_value()
        return result

    def _check_raw(self, value, path, problems):
        return plain(value)

    # -- documentation ---------------------------------------------------------
    def limits(self):
        """The limits validation enforces here, as text for the docs ('' when there are none)."""
        parts = []
        if self.type == "int" and (self.minimum is not None or self.maximum is not None):
            if self.minimum is not None and self.maximum is not None:
                parts.append("from %d to %d" % (self.minimum, self.maximum))
            elif self.minimum is not None:
                parts.append("at least %d" % self.minimum)
            else:
                parts.append("at most %d" % self.maximum)
        if self.type == "list":
            if self.minimum:
                parts.append("at least %d item%s" % (self.minimum, "" if self.minimum == 1 else "s"))
            if self.maximum is not None:
                parts.append("at most %d items" % self.maximum)
        limit = getattr(self.check_fn, "limit", "")
        if limit:
            parts.append(limit)
        if self.type == "list" and self.elements is not None and self.elements.type != "dict":
            inner = self.elements.limits()
            if inner:
                parts.append("each item: " + inner)
        return "; ".join(parts)

    def doc_default_value(self):
        if self.doc_default is not None:
            return self.doc_default
        if not self.has_default():
            return None
        return self.default_value()


# -- reusable checks ------------------------------------------------------------
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
HOSTNAME_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


DNS1035_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def dns_label(max_length=63, rfc1035=False, why=""):
    """Check: a DNS label (RFC 1123; RFC 1035 for names that become Service names).

    ``why`` says where a limit below 63 comes from (the longest derived name), for messages and docs."""
    pattern = DNS1035_LABEL_RE if rfc1035 else DNS_LABEL_RE
    start = "a letter" if rfc1035 else "a letter or digit"
    reason = " (%s)" % why if why else ""

    def _check(value):
        if not pattern.fullmatch(value):
            return ("must be a DNS label: lowercase letters, digits and '-', starting with %s and ending "
                    "with a letter or digit, at most %d characters%s; got %s" % (start, max_length, reason,
                                                                                 describe(value)))
        if len(value) > max_length:
            return "is %d characters, but at most %d are allowed%s; got %s" % (
                len(value), max_length, reason, describe(value))
        return None
    _check.limit = "a DNS label (RFC %s), at most %d characters%s" % (
        "1035" if rfc1035 else "1123", max_length, reason)
    return _check


def dns_subdomain(value):
    if not DNS_SUBDOMAIN_RE.fullmatch(value) or len(value) > 253:
        return ("must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 "
                "characters; got %s (%d characters)" % (describe(value), len(value)))
    for part in value.split("."):
        if len(part) > 63:
            return "has the part %s of %d characters; each part of a DNS name may have at most 63" % (
                describe(part), len(part))
    return None


dns_subdomain.limit = "a DNS subdomain, at most 253 characters (each dot-separated part at most 63)"


def hostname(value):
    if len(value) > 253 or not HOSTNAME_RE.fullmatch(value):
        return ("must be a lowercase DNS hostname, optionally starting with '*.' (e.g. shop.example.com, "
                "*.example.com); got %s" % describe(value))
    for part in value.split("."):
        if len(part) > 63:
            return "has the label %s of %d characters; each label of a host name may have at most 63" % (
                describe(part), len(part))
    if IP_LIKE_RE.fullmatch(value):
        return "must be a host name, not an IP address (the Gateway API matches hosts by name); got %s" % (
            describe(value))
    return None


hostname.limit = "a host name (optionally '*.' first), at most 253 characters, each label at most 63, not an IP"
IP_LIKE_RE = re.compile(r"^[0-9.]+$")


def label_key(key):
    """Problem text for a Kubernetes label key, or None."""
    prefix, name = key.rpartition("/")[::2]
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        return "label key %r has an invalid prefix (must be a DNS subdomain)" % key
    if not name or len(name) > 63 or not LABEL_NAME_RE.fullmatch(name):
        return "label key %r is invalid (name part: alphanumerics, '-', '_', '.', at most 63 characters)" % key
    return None


def labels(value):
    """Check for a mapping of Kubernetes labels: every bad key and value is named."""
    found = []
    for key, item in value.items():
        message = label_key(key)
        if message:
            found.append(message)
        elif len(item) > 63 or not LABEL_VALUE_RE.fullmatch(item):
            found.append("label %s=%r has an invalid value (alphanumerics, '-', '_', '.', at most 63 characters; "
                         "got %d)" % (key, item, len(item)))
    return "; ".join(found) or None


labels.limit = "label keys as Kubernetes has them ([prefix/]name, name at most 63 characters), values at most 63"


#: Kubernetes limits on metadata (apimachinery ValidateAnnotations): 256 KiB for all annotations together.
ANNOTATIONS_TOTAL_BYTES = 256 * 1024


def annotations(value):
    """Check for a mapping of Kubernetes annotations: keys as label keys, values free, 256 KiB in all."""
    found = [label_key(key).replace("label key", "annotation key") for key in value if label_key(key)]
    if found:
        return "; ".join(found)
    total = sum(len(key.encode("utf-8")) + len(str(item).encode("utf-8")) for key, item in value.items())
    if total > ANNOTATIONS_TOTAL_BYTES:
        return "annotations are %d bytes in all; Kubernetes allows at most %d (256 KiB)" % (
            total, ANNOTATIONS_TOTAL_BYTES)
    return None


annotations.limit = "annotation keys as label keys, all annotations together at most 256 KiB"


def optional(check):
    """``check`` for a value that may also be empty (empty means: use the default)."""
    def _check(value):
        return check(value) if value else None
    _check.limit = getattr(check, "limit", "")
    return _check
