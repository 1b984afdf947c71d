# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate plugins/module_utils/crdrules.py: the field rules of the CRDs the collection renders objects of.

Validation checks every rendered object against these rules before
anything is written or applied (``plugins/module_utils/crdcheck.py``), so a
render that passes validation is one the API server admits. The rules are
derived from the upstream CRDs, not written by hand: structure (types,
known fields, required fields), the OpenAPI limits (``pattern``,
``maxLength``, ``maxItems``, ``maxProperties``, ``enum``, ranges) and the
CEL rules that are a regular expression on a value or on map keys (the
HTTPRoute path characters, the infrastructure label and annotation keys).
CEL rules of other shapes (counts across rules, cross-field conditions) are
left to the conformance tests, which evaluate every rule with cel-python::

    python tools/gen_crd_rules.py [--upstream ../shared/upstream] [--check]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import sys

import yaml

from generated import write_or_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "plugins", "module_utils", "crdrules.py")

#: (file pattern under the upstream directory, apiVersion, kind) of every CRD object kind the collection renders.
#: The Gateway API rules come from the newest release the collection installs (v1.6.1, standard channel).
KINDS = (
    ("gateway-api/standard/gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway-api/standard/gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway-api/standard/gateway.networking.k8s.io_referencegrants.yaml", "gateway.networking.k8s.io/v1beta1",
     "ReferenceGrant"),
    ("cilium/crds/ciliumnetworkpolicies.yaml", "cilium.io/v2", "CiliumNetworkPolicy"),
    ("cilium/crds/ciliumclusterwidenetworkpolicies.yaml", "cilium.io/v2", "CiliumClusterwideNetworkPolicy"),
    ("cilium/crds/ciliumlocalredirectpolicies.yaml", "cilium.io/v2", "CiliumLocalRedirectPolicy"),
    ("cilium/crds/ciliumloadbalancerippools.yaml", "cilium.io/v2", "CiliumLoadBalancerIPPool"),
    ("cilium/crds/ciliuml2announcementpolicies.yaml", "cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy"),
)

_LIMITS = (("pattern", "pattern"), ("maxLength", "maxLength"), ("minLength", "minLength"), ("maxItems", "maxItems"),
           ("minItems", "minItems"), ("maxProperties", "maxProperties"), ("minProperties", "minProperties"),
           ("minimum", "minimum"), ("maximum", "maximum"), ("format", "format"), ("enum", "enum"))

# The CEL shapes carried over: a regular expression on the value itself, on a child value when a sibling has
# one of some values, or on every key of a map.
_RE = r'(?:r"""(.*?)"""|\'((?:[^\'\\]|\\.)*)\'|"((?:[^"\\]|\\.)*)")'
_SELF_MATCHES = re.compile(r"^self\.matches\(%s\)$" % _RE, re.DOTALL)
_KEYS_MATCH = re.compile(r"^self\.all\((\w+),\s*\1\.matches\(%s\)\)$" % _RE, re.DOTALL)
_WHEN_MATCHES = re.compile(
    r"^\(?self\.(\w+)\s*(?:==\s*'([^']*)'|in\s*\[([^\]]*)\])\)?\s*\?\s*\(?(?:!has\(self\.(\w+)\)\s*\|\|\s*)?"
    r"self\.(\w+)\.matches\(%s\)\)?\s*:\s*true$" % _RE, re.DOTALL)


def _regex(groups):
    for text in groups:
        if text is not None:
            return text
    return None


def _cel_rules(schema):
    """The regular-expression CEL rules of one schema node, as (kind, ...) tuples; others are skipped."""
    result = []
    for rule in schema.get("x-kubernetes-validations") or []:
        text = " ".join(rule.get("rule", "").split())
        match = _SELF_MATCHES.match(text)
        if match:
            result.append(["value", _regex(match.groups())])
            continue
        match = _KEYS_MATCH.match(text)
        if match:
            result.append(["keys", _regex(match.groups()[1:])])
            continue
        match = _WHEN_MATCHES.match(text)
        if match:
            field, equal, listed, _has, target = match.groups()[:5]
            values = [equal] if equal is not None else re.findall(r"'([^']*)'", listed or "")
            result.append(["when", field, values, target, _regex(match.groups()[5:])])
    usable = []
    for entry in result:
        pattern = entry[1] if entry[0] in ("value", "keys") else entry[4]
        try:
            re.compile(pattern)
        except re.error:
            continue  # not a pattern Python reads the same way: left to the conformance tests
        usable.append(entry)
    return usable


class _Table(object):
    def __init__(self):
        self.nodes = {}

    def add(self, schema):
        """Id of the compact node for ``schema`` (identical subtrees share one id)."""
        node = {}
        kind = schema.get("type")
        if kind:
            node["t"] = kind
        if schema.get("x-kubernetes-int-or-string"):
            node["ios"] = True
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            node["x"] = True
        if schema.get("nullable"):
            node["n"] = True
        for key, short in _LIMITS:
            if key in schema:
                node[short] = schema[key]
        if schema.get("required"):
            node["req"] = sorted(schema["required"])
        if "properties" in schema:
            node["p"] = {name: self.add(sub) for name, sub in sorted(schema["properties"].items())}
        if isinstance(schema.get("items"), dict):
            node["i"] = self.add(schema["items"])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            node["a"] = self.add(additional)
        elif additional is True:
            node["a"] = True
        cel = _cel_rules(schema)
        if cel:
            node["cel"] = cel
        key = hashlib.sha256(json.dumps(node, sort_keys=True).encode()).hexdigest()[:10]
        self.nodes.setdefault(key, node)
        return key


def generate(upstream):
    table = _Table()
    roots = {}
    sources = []
    for pattern, api_version, kind in KINDS:
        paths = sorted(glob.glob(os.path.join(upstream, pattern)))
        if not paths:
            raise SystemExit("missing %s under %s" % (pattern, upstream))
        with open(paths[0], encoding="utf-8") as handle:
            crd = [doc for doc in yaml.safe_load_all(handle) if doc and doc.get("kind") == "CustomResourceDefinition"][0]
        version = api_version.split("/")[1]
        entry = [v for v in crd["spec"]["versions"] if v["name"] == version][0]
        schema = dict(entry["schema"]["openAPIV3Schema"])
        properties = dict(schema.get("properties") or {})
        properties.pop("status", None)  # the collection never writes status
        properties.pop("metadata", None)  # checked by crdcheck itself (names, labels)
        schema["properties"] = properties
        schema["required"] = [name for name in schema.get("required") or () if name not in ("status", "metadata")]
        roots[(api_version, kind)] = table.add(schema)
        sources.append("%s (%s %s)" % (pattern, api_version, kind))
    lines = [
        "# -*- coding: utf-8 -*-",
        "# Copyright: sidecarless.mesh contributors",
        "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)",
        '"""Field rules of the CRDs the collection renders. GENERATED by tools/gen_crd_rules.py; do not edit.',
        "",
        "From:",
    ] + ["    %s" % source for source in sources] + [
        "",
        "``ROOTS[(apiVersion, kind)]`` is the id of the node of an object (status and metadata left out); ``NODES[id]``",
        "a node: ``t`` type, ``p`` properties (name -> id), ``i`` items, ``a`` additionalProperties (id or True),",
        "``req`` required, ``x`` x-kubernetes-preserve-unknown-fields, ``ios`` int-or-string, ``n`` nullable, the",
        "OpenAPI limits under their own names, and ``cel``: the CEL rules that are regular expressions, as",
        "``[value, regex]``, ``[keys, regex]`` or ``[when, field, values, target, regex]``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import json",
        "",
        "ROOTS = {",
    ]
    for key in sorted(roots):
        lines.append("    %r: %r," % (key, roots[key]))
    lines += ["}", "", "# One JSON object per node, read once at import.", "_NODES_JSON = ("]
    for key in sorted(table.nodes):
        text = json.dumps({key: table.nodes[key]}, sort_keys=True, separators=(",", ":"))[1:-1] + ","
        while text:
            lines.append("    %s" % json.dumps(text[:100]))
            text = text[100:]
    lines += [")", "", "NODES = json.loads(\"{\" + _NODES_JSON.rstrip(\",\") + \"}\")", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    default = os.environ.get("MESH_UPSTREAM_DIR") or os.path.join(ROOT, "..", "shared", "upstream")
    parser.add_argument("--upstream", default=default)
    parser.add_argument("--check", action="store_true", help="fail if the committed table is not current")
    args = parser.parse_args(argv)
    return write_or_check(TARGET, generate(args.upstream), args.check, "tools/gen_crd_rules.py")


if __name__ == "__main__":
    sys.exit(main())
