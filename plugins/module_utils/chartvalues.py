# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extra Helm values checked against the keys of the chart version they go to.

``check_extra_values`` walks what a user passes through ``cilium_helm_values``,
``dapr_helm_values``, ``dapr_shared_helm_values`` or an instance's
``helm_values`` along the key table of the pinned charts (``chartkeys``,
generated from the chart packages by ``tools/gen_chart_keys.py``):

* a key the chart does not have is a problem naming it, with the key it moved
  to when the chart renamed it, the release that removed it when the chart's
  own checks refuse it, or a close spelling;
* a value of the wrong shape where the chart has a mapping, a list or a single
  value is a problem too (the collection reads some of these keys itself);
* below a free-form mapping (annotations, node selectors, resources, extra
  environment, ...) nothing is checked.

Keys are judged by the table of the chosen version's release line. When the
chosen version is not the one the table was generated from (another patch
release of the line), an unknown key is a warning, not a problem: a patch
release may add keys. A value of the wrong shape is a problem either way.
"""

from __future__ import annotations

import difflib

from collections.abc import Mapping

from . import chartkeys
from .spec import describe, type_name

#: Display names of the charts, for messages.
TITLES = {"cilium": "Cilium", "dapr": "Dapr", "dapr-shared": "Dapr Shared"}
_SHAPES = {"m": "a mapping", "l": "a list", "s": "a single value"}


def table_version(chart, version):
    """(index into chartkeys.VERSIONS[chart], exact) of the table that judges ``version``.

    The table of the same minor line; failing that, the closest earlier one (or the first)."""
    versions = chartkeys.VERSIONS[chart]
    wanted = _line(version)
    for index, known in enumerate(versions):
        if known == version:
            return index, True
    same_line = [i for i, known in enumerate(versions) if _line(known) == wanted]
    if same_line:
        return same_line[-1], False
    earlier = [i for i, known in enumerate(versions) if _line(known) < wanted]
    return (earlier[-1] if earlier else 0), False


_JSON_NAMES = {"boolean": "true or false", "integer": "an integer", "number": "a number", "string": "a string",
               "null": "null"}


def _is_json_type(value, name):
    """Whether ``value`` is of JSON schema type ``name`` (as Helm's schema validation judges it)."""
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    return True


def _line(version):
    parts = []
    for part in str(version).lstrip("v").split("-", maxsplit=1)[0].split(".")[:2]:
        parts.append(int(part) if part.isdigit() else 0)
    return tuple(parts)


def check_extra_values(chart, version, values, variable, problems, warnings, skip=()):
    """Check ``values`` (the mapping at inventory path ``variable``) against ``chart`` at ``version``.

    Problems go to ``problems`` (an errors.Problems), warnings to the list ``warnings``; dotted paths in
    ``skip`` are reported elsewhere and left alone here."""
    if not isinstance(values, Mapping):
        return
    index, exact = table_version(chart, version)
    context = _Context(chart, version, index, exact, variable, problems, warnings, set(skip))
    context.walk(values, ())


class _Context(object):
    def __init__(self, chart, version, index, exact, variable, problems, warnings, skip):
        self.chart = chart
        self.version = version
        self.index = index
        self.exact = exact
        self.variable = variable
        self.problems = problems
        self.warnings = warnings
        self.skip = skip
        self.keys = chartkeys.KEYS[chart]
        self.table = chartkeys.VERSIONS[chart][index]
        self.title = "%s %s" % (TITLES[chart], self.table)

    def walk(self, node, prefix):
        for key, value in node.items():
            path = prefix + (str(key),)
            dotted = ".".join(path)
            if dotted in self.skip:
                continue
            entry = self.keys.get(dotted)
            if entry is None or self.index not in entry[1]:
                self.unknown(path, dotted)
                continue
            kind = entry[0]
            if kind in ("f", "a") or value is None:
                continue
            if kind == "m":
                if isinstance(value, Mapping):
                    self.walk(value, path)
                else:
                    self.problem(dotted, "must be a mapping: the %s chart's %s holds %s; got %s" % (
                        self.title, dotted, self.children(dotted), type_name(value)))
            elif kind == "l" and not isinstance(value, (list, tuple)):
                self.problem(dotted, "must be a list in the %s chart, got %s" % (self.title, type_name(value)))
            elif kind.startswith("s") and isinstance(value, Mapping):
                self.problem(dotted, "must be a single value in the %s chart (not a mapping), got a mapping with %s"
                             % (self.title, ", ".join(sorted(str(k) for k in value)[:5]) or "no keys"))
            elif kind.startswith("s:") and not isinstance(value, (list, tuple)):
                allowed = kind[2:].split(",")
                if not any(_is_json_type(value, name) for name in allowed):
                    self.problem(dotted, "must be %s: the %s chart's values.schema.json says so and Helm refuses "
                                 "anything else; got %s" % (" or ".join(_JSON_NAMES.get(n, n) for n in allowed),
                                                            self.title, describe(value)))

    def children(self, dotted):
        prefix = dotted + "."
        names = sorted({path[len(prefix):].split(".")[0] for path in self.keys
                        if path.startswith(prefix) and self.index in self.keys[path][1]})
        text = ", ".join(names[:8])
        return text + (", ..." if len(names) > 8 else "")

    def unknown(self, path, dotted):
        version_text = "the %s chart" % self.title
        refused = dict((path, entry[0]) for path, entry in (chartkeys.REFUSED.get(self.chart) or {}).items()
                       if self.index in entry[1])
        renamed = (getattr(chartkeys, "RENAMED", {}).get(self.chart) or {}).get(self.table) or {}
        if dotted in refused:
            message = "was removed from %s%s: the chart refuses to install with it" % (
                TITLES[self.chart], " in %s" % refused[dotted] if refused[dotted] else "")
            self.problem(dotted, message)  # the chart itself fails, whatever the patch release
            return
        if dotted in renamed:
            message = "is not a value of %s any more: it moved to %s" % (version_text, " or ".join(renamed[dotted]))
        else:
            others = [chartkeys.VERSIONS[self.chart][i] for i in (self.keys.get(dotted) or ("", ()))[1]]
            if others:
                message = "is not a value of %s (the %s chart%s it)" % (
                    version_text, " and ".join(others), "s have" if len(others) > 1 else " has")
            else:
                parent = ".".join(path[:-1])
                siblings = [p.split(".")[-1] for p in self.keys
                            if p.count(".") == len(path) - 1 and (not parent or p.startswith(parent + "."))
                            and self.index in self.keys[p][1]]
                close = difflib.get_close_matches(path[-1], siblings, n=1, cutoff=0.75)
                message = "is not a value of %s%s" % (version_text, " (did you mean %r?)" % close[0] if close else "")
        if self.exact:
            self.problem(dotted, message + "; remove it, or use a key the chart declares")
        else:
            self.warnings.append("%s.%s: %s, the release the collection's key table was made from; %s %s may "
                                 "have added it (not checked)" % (self.variable, dotted, message, TITLES[self.chart],
                                                                  self.version))

    def problem(self, dotted, message):
        self.problems.add("%s.%s" % (self.variable, dotted), message)
