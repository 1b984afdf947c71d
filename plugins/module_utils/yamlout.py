# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, fast YAML emitter for rendered objects.

Rendered data is plain JSON-like data (mappings with string keys, lists,
strings, integers, floats, booleans, None). PyYAML's representer spends most
of a 1000-app render walking that data; this emitter writes the same block
style directly and is several times faster. A string is written plain only
when it cannot be read back as anything but that string; everything else is
double-quoted with JSON escapes, which YAML reads identically.
Tests round-trip random data through ``yaml.safe_load``.
"""

from __future__ import annotations

import json
import math
import re

# Plain scalars we allow: a conservative subset that YAML 1.1 and 1.2 both
# read as the same string (no leading indicator, no ': ' or ' #').
_PLAIN = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./@+=-]*(?:[ :][A-Za-z0-9_./@+=()-]+)*$")
_RESERVED = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
    r"null|Null|NULL|~|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|[-+]?\.(?:inf|Inf|INF))$")
_NUMBER_LIKE = re.compile(r"^[-+]?(?:\.[0-9]|[0-9])")
# Characters to escape inside double quotes: what YAML 1.1 does not allow
# literally, plus the characters it reads as line breaks (NEL, LS, PS) and
# the byte-order mark.
_NON_PRINTABLE = re.compile(u"[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                            u"\U00010000-\U0010ffff]")
_KEY_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*(?::[A-Za-z0-9_./-]+)*$")


def _quoted(text):
    """Double-quoted scalar: JSON escapes plus YAML escapes for non-printables."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _NON_PRINTABLE.sub(lambda m: _escape(m.group()), quoted)


def _escape(char):
    code = ord(char)
    if code <= 0xFF:
        return "\\x%02x" % code
    if code <= 0xFFFF:
        return "\\u%04x" % code
    return "\\U%08x" % code


_SCALARS = {}
_KEYS = {}


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    text = str(value)
    cached = _SCALARS.get(text)
    if cached is None:
        if (_PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text) and not _NUMBER_LIKE.match(text)
                and not text.endswith(":") and ": " not in text and " #" not in text):
            cached = text
        else:
            cached = _quoted(text)
        if len(_SCALARS) < 100000:
            _SCALARS[text] = cached
    return cached


def _float(value):
    """A float as YAML 1.1 and 1.2 readers (PyYAML, Helm's Go YAML) both read it back: the mantissa always
    has a dot and the exponent a sign ('1e+20' without the dot is a string to YAML 1.1), and the special
    values are written .inf, -.inf and .nan rather than as strings."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, _e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if not exponent:
        return mantissa
    if exponent[0] not in "+-":
        exponent = "+" + exponent
    return "%se%s" % (mantissa, exponent)


def _key(key):
    key = str(key)
    cached = _KEYS.get(key)
    if cached is None:
        cached = key if _KEY_PLAIN.fullmatch(key) and not _RESERVED.fullmatch(key) else _quoted(key)
        if len(_KEYS) < 100000:
            _KEYS[key] = cached
    return cached


def _emit(value, indent, out, first=None):
    """Append lines for a non-empty mapping or list ``value`` at ``indent`` spaces.

    ``first`` replaces the indentation of the first line (the "- " of a
    mapping that is a list item).
    """
    pad = " " * indent
    lead = pad if first is None else first
    if isinstance(value, dict):
        for key, item in value.items():
            head = lead + _key(key) + ":"
            lead = pad
            if item and isinstance(item, (dict, list)):
                out.append(head)
                _emit(item, indent + 2, out)
            else:
                out.append(head + " " + _inline(item))
    else:
        for item in value:
            if item and isinstance(item, dict):
                _emit(item, indent + 2, out, first=lead + "- ")
            elif item and isinstance(item, list):
                out.append(lead + "-")
                _emit(item, indent + 2, out)
            else:
                out.append(lead + "- " + _inline(item))
            lead = pad


def _inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(value):
    """YAML text of one document (no ``---``), ending with a newline."""
    if value and isinstance(value, (dict, list)):
        out = []
        _emit(value, 0, out)
        return "\n".join(out) + "\n"
    return _inline(value) + "\n"


def dump_all(values):
    """Multi-document YAML, each document starting with ``---``."""
    return "".join("---\n" + dump(value) for value in values)
