# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate plugins/module_utils/chartkeys.py: the value keys of the pinned Helm charts.

Validation checks every key of ``cilium_helm_values``, ``dapr_helm_values``,
``dapr_shared_helm_values`` and the per-instance ``helm_values`` against the
keys the chart of the chosen version declares (its ``values.yaml``, and for
Dapr the values of each subchart). The table is derived from the real chart
packages, so a version bump regenerates it instead of needing hand-written
rules::

    python tools/gen_chart_keys.py [--charts ../shared/charts] [--check]

``--check`` exits 1 when the committed file differs from what the charts
give (a test runs it). What counts as a free-form mapping, whose keys are
not checked, is decided here (``_free_form``) and documented in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile

import yaml

from generated import write_or_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "plugins", "module_utils", "chartkeys.py")

#: chart name -> (package file pattern, versions in the order of their release lines)
CHARTS = {
    "cilium": ("cilium-{version}.tgz", ["1.18.12", "1.19.6", "1.20.0"]),
    "dapr": ("dapr-{version}.tgz", ["1.18.3"]),
    "dapr-shared": ("dapr-shared-chart-{version}.tgz", ["1.16.0"]),
}

#: Keys whose value the chart hands to Kubernetes (or to a program) as it is: their content is not the chart's
#: to declare, so it is not checked.
_PASS_THROUGH = {
    "affinity", "annotations", "labels", "nodeSelector", "tolerations", "resources", "securityContext",
    "podSecurityContext", "containerSecurityContext", "livenessProbe", "readinessProbe", "startupProbe",
    "updateStrategy", "topologySpreadConstraints", "extraEnv", "extraArgs", "extraConfig", "extraVolumes",
    "extraVolumeMounts", "extraInitContainers", "extraContainers", "env", "envFrom", "podAnnotations", "podLabels",
    "deploymentAnnotations", "serviceAnnotations", "serviceLabels", "initResources", "priorityClassName",
    "imagePullSecrets", "dnsConfig", "hostAliases", "volumes", "volumeMounts", "lifecycle", "sysctlfix",
}
_PASS_THROUGH_SUFFIXES = ("Annotations", "Labels", "NodeSelector", "SecurityContext", "Affinity", "Tolerations",
                          "Resources")


def _free_form(name, default, schema):
    """A mapping whose keys the chart does not declare (so any key is allowed below it)."""
    if name in _PASS_THROUGH or name.endswith(_PASS_THROUGH_SUFFIXES):
        return True
    if isinstance(default, dict):
        if not default:
            return True
        if any("/" in str(key) for key in default):  # label-like keys: kubernetes.io/os
            return True
    if default is None and isinstance(schema, dict):
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        return "object" in kinds and not schema.get("properties")
    return False


def _kind(name, default, schema):
    """m: a mapping of declared keys, f: free-form mapping, l: list, s: single value, a: anything (null default)."""
    if isinstance(default, dict):
        return "f" if _free_form(name, default, schema) else "m"
    if isinstance(default, list):
        return "l"
    if default is None:
        if _free_form(name, default, schema):
            return "f"
        kinds = (schema or {}).get("type") if isinstance(schema, dict) else None
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if kinds and all(k in _SCALARS for k in kinds) and kinds != ["null"]:
            return _typed("s", kinds)
        if "array" in kinds and "object" not in kinds:
            return "l"
        return "a"
    kinds = (schema or {}).get("type") if isinstance(schema, dict) else None
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    return _typed("s", kinds) if kinds and all(k in _SCALARS for k in kinds) else "s"


_SCALARS = ("string", "integer", "number", "boolean", "null")


def _typed(kind, types):
    """'s:boolean', 's:integer,null': a single value of the JSON schema types the chart's values.schema.json
    gives (Helm refuses others at install)."""
    return "%s:%s" % (kind, ",".join(sorted(set(types)))) if types else kind


def _walk(values, schema, prefix, out):
    for key, default in values.items():
        key = str(key)
        sub_schema = ((schema or {}).get("properties") or {}).get(key) if isinstance(schema, dict) else None
        path = prefix + (key,)
        kind = _kind(key, default, sub_schema)
        out[path] = kind
        if kind == "m":
            _walk(default, sub_schema, path, out)


def _read(archive, name):
    member = archive.extractfile(name)
    return member.read().decode("utf-8") if member else None


_REFERENCE = re.compile(r"\.Values\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


#: Templates that only check values (Cilium's validate.yaml fails the install on removed options): what they
#: read is not declared by being read.
_CHECKS_ONLY = ("validate.yaml",)
_REFUSAL = re.compile(r"\{\{-?\s*if\s+((?:(?!\{\{).)*?)\}\}\s*\{\{-?\s*fail\s+\"([^\"]*)\"", re.DOTALL)
_DIG = re.compile(r"dig((?:\s+\"[^\"]*\")+)\s+\$?\.Values\.AsMap")


def _template_references(archive, names, top):
    """Value paths the templates read (``.Values.a.b``), per chart scope: (subchart or None, path)."""
    found = set()
    for name in names:
        match = re.fullmatch(r"%s/(?:charts/([^/]+)/)?templates/.+" % re.escape(top), name)
        if not match or not name.endswith((".yaml", ".yml", ".tpl", ".txt", ".json")):
            continue
        if name.endswith(_CHECKS_ONLY):
            continue
        text = _read(archive, name) or ""
        for reference in _REFERENCE.findall(text):
            if reference.split(".")[0] != "AsMap":
                found.add((match.group(1), tuple(reference.split("."))))
    return found


def refused(archive, names, top, declared):
    """Paths the chart's checks fail the install on and values.yaml does not declare (removed options), with
    the release they were removed in when the check says so: {path: "1.16" or ""}."""
    result = {}
    for name in names:
        if not (name.startswith(top + "/templates/") and name.endswith(_CHECKS_ONLY)):
            continue
        for condition, message in _REFUSAL.findall(_read(archive, name) or ""):
            paths = [tuple(r.split(".")) for r in _REFERENCE.findall(condition) if not r.startswith("AsMap")]
            for dig in _DIG.findall(condition):
                parts = re.findall(r"\"([^\"]*)\"", dig)
                paths.append(tuple(parts[:-1]))  # the last string is dig's default
            removed_in = re.search(r"removed in v?([0-9]+\.[0-9]+)", message)
            for path in paths:
                if path and path not in declared:
                    result[".".join(path)] = removed_in.group(1) if removed_in else ""
    return result


def _declare(out, path):
    """Add a path the templates read but values.yaml does not declare (kind 'a'), under declared mappings only."""
    for depth in range(1, len(path)):
        kind = out.get(path[:depth])
        if kind is None:
            out[path[:depth]] = "m"
        elif kind != "m":
            return  # below a free-form mapping or a single value: nothing to declare
    out.setdefault(path, "a")


def chart_keys(package):
    """{path tuple: kind} of one chart package (subcharts' values under their name, as Helm merges them), plus
    what its templates read that values.yaml leaves out (a commented-out default, say)."""
    with tarfile.open(package) as archive:
        names = archive.getnames()
        top = names[0].split("/")[0]
        values = yaml.safe_load(_read(archive, "%s/values.yaml" % top)) or {}
        schema_name = "%s/values.schema.json" % top
        schema = json.loads(_read(archive, schema_name)) if schema_name in names else None
        out = {}
        _walk(values, schema, (), out)
        for name in sorted(names):
            match = re.fullmatch(r"%s/charts/([^/]+)/values\.yaml" % re.escape(top), name)
            if not match:
                continue
            sub = yaml.safe_load(_read(archive, name)) or {}
            sub_global = sub.pop("global", None) or {}
            out.setdefault((match.group(1),), "m")
            _walk(sub, None, (match.group(1),), out)
            if sub_global:
                out.setdefault(("global",), "m")
                _walk(dict((k, v) for k, v in sub_global.items() if ("global", k) not in out), None, ("global",),
                      out)
        declared = dict(out)
        for scope, path in sorted(_template_references(archive, names, top), key=lambda e: (e[0] or "", e[1])):
            if scope and path[0] != "global":
                path = (scope,) + path
            _declare(out, path)
        removed = refused(archive, names, top, declared)
    for path in removed:
        out.pop(tuple(path.split(".")), None)
    return out, removed


def renames(older, newer):
    """Paths of ``older`` gone in ``newer`` -> the paths ``newer`` has with the same last key below the same parent
    (encryption.strictMode.enabled -> encryption.strictMode.egress.enabled, encryption.strictMode.ingress.enabled)."""
    result = {}
    for path in older:
        if path in newer or len(path) < 2:
            continue
        parent = path[:-1]
        candidates = sorted(".".join(c) for c in newer
                            if c[-1] == path[-1] and len(c) > len(path) and c[:len(parent)] == parent)
        if candidates:
            result[".".join(path)] = tuple(candidates)
    return result


def generate(charts_dir):
    tables = {}
    refusals = {chart: {} for chart in CHARTS}
    for chart, (pattern, versions) in CHARTS.items():
        keys = {}
        for version in versions:
            package = os.path.join(charts_dir, pattern.format(version=version))
            keys[version], refusals[chart][version] = chart_keys(package)
        tables[chart] = (versions, keys)
    lines = [
        "# -*- coding: utf-8 -*-",
        "# Copyright: sidecarless.mesh contributors",
        "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)",
        '"""The value keys of the pinned Helm charts. GENERATED by tools/gen_chart_keys.py from the chart packages',
        "(%s); do not edit." % ", ".join("%s %s" % (c, "/".join(v)) for c, (v, _k) in tables.items()),
        "",
        "``KEYS[chart][path]`` is ``(kind, versions)``: the kind of the value at that dotted path and the chart",
        "versions (indexes into ``VERSIONS[chart]``) that declare it. Kinds: ``m`` a mapping of declared keys,",
        "``f`` a free-form mapping (default ``{}``, label-like keys, or a Kubernetes pass-through such as",
        "``nodeSelector``, ``resources``, ``podAnnotations``: keys below it are not checked), ``l`` a list, ``s`` a",
        "single value (``s:boolean``, ``s:integer,null``: of the JSON schema types the chart's values.schema.json",
        "gives, which Helm enforces), ``a`` anything (a null default the chart's schema does not type). ``RENAMED[chart][version]``",
        "maps a key the previous line had and this version lacks to the keys of the same name this version has",
        "deeper below the same parent (where it moved). ``REFUSED[chart][path]`` is ``(removed in, versions)``: an",
        "option the chart's own checks fail the install on (a removed one), the release that removed it where the",
        "check names it, and the chart versions that refuse it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "VERSIONS = {",
    ]
    for chart, (versions, _keys) in tables.items():
        lines.append("    %r: %r," % (chart, tuple(versions)))
    lines += ["}", "", "KEYS = {"]
    for chart, (versions, keys) in tables.items():
        lines.append("    %r: {" % chart)
        merged = {}
        for index, version in enumerate(versions):
            for path, kind in keys[version].items():
                entry = merged.setdefault(".".join(path), {})
                entry.setdefault(kind, []).append(index)
        for path in sorted(merged):
            kinds = merged[path]
            # one kind in (nearly) every case; where a key changed kind between versions the later one wins
            kind = sorted(kinds.items(), key=lambda item: max(item[1]))[-1][0]
            present = tuple(sorted(i for indexes in kinds.values() for i in indexes))
            lines.append("        %r: (%r, %r)," % (path, kind, present))
        lines.append("    },")
    lines += ["}", "", "RENAMED = {"]
    for chart, (versions, keys) in tables.items():
        entries = []
        for older, newer in zip(versions, versions[1:]):
            mapping = renames(keys[older], keys[newer])
            if mapping:
                entries.append((newer, mapping))
        if not entries:
            continue
        lines.append("    %r: {" % chart)
        for version, mapping in entries:
            lines.append("        %r: {" % version)
            for old in sorted(mapping):
                lines.append("            %r: %r," % (old, mapping[old]))
            lines.append("        },")
        lines.append("    },")
    lines += ["}", "", "REFUSED = {"]
    for chart, per_version in refusals.items():
        versions = tables[chart][0]
        merged = {}
        for index, version in enumerate(versions):
            for path, removed_in in (per_version.get(version) or {}).items():
                merged.setdefault(path, (removed_in, []))[1].append(index)
        if not merged:
            continue
        lines.append("    %r: {" % chart)
        for path in sorted(merged):
            lines.append("        %r: (%r, %r)," % (path, merged[path][0], tuple(merged[path][1])))
        lines.append("    },")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    default_charts = os.environ.get("MESH_CHARTS_DIR") or os.path.join(ROOT, "..", "shared", "charts")
    parser.add_argument("--charts", default=default_charts)
    parser.add_argument("--check", action="store_true", help="fail if the committed table is not current")
    args = parser.parse_args(argv)
    return write_or_check(TARGET, generate(args.charts), args.check, "tools/gen_chart_keys.py")


if __name__ == "__main__":
    sys.exit(main())
