# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered objects are checked against rules derived from their CRDs (issue 7, item 1).

The mutation test goes through every rule of the generated table
(plugins/module_utils/crdrules.py, from the upstream CRDs) and feeds the
checker a value that breaks it: each must be refused, at its own path.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import crdrules
from ansible_collections.sidecarless.mesh.plugins.module_utils.crdcheck import _walk, object_problems
from helpers import problems, variables

_CANDIDATES = ["", " ", "\x00", "A B", "%zz", "\u03a9", "-", "a" * 300, "*", "1", "/", "::", "a..b", "UPPER"]


def _violating_string(pattern):
    compiled = re.compile(pattern) if pattern != r"^\PC*$" else None
    for candidate in _CANDIDATES:
        if compiled is None:
            if candidate == "\x00":
                return candidate
        elif not compiled.search(candidate):
            return candidate
    return None


def _refused(value, node):
    found = []
    _walk(value, node, (), found)
    return found


def mutations():
    """(node id, rule, violating value, where the problem must be reported)."""
    for key, node in sorted(crdrules.NODES.items()):
        kind = node.get("t")
        if "maxLength" in node:
            yield key, "maxLength", "a" * (node["maxLength"] + 1), ()
        if "minLength" in node and node["minLength"] > 0:
            yield key, "minLength", "", ()
        if "pattern" in node:
            bad = _violating_string(node["pattern"])
            if bad is not None:
                yield key, "pattern", bad, ()
        if "maxItems" in node:
            yield key, "maxItems", [None] * (node["maxItems"] + 1), ()
        if "minItems" in node and node["minItems"] > 0:
            yield key, "minItems", [], ()
        if "maxProperties" in node:
            yield key, "maxProperties", {"k%d" % i: None for i in range(node["maxProperties"] + 1)}, ()
        if "enum" in node and kind == "string":
            yield key, "enum", "zz-not-listed", ()
        if "minimum" in node:
            yield key, "minimum", node["minimum"] - 1, ()
        if "maximum" in node:
            yield key, "maximum", node["maximum"] + 1, ()
        for name in node.get("req") or ():
            yield key, "required " + name, {}, (name,)
        if kind == "object" and node.get("p") is not None and "a" not in node and not node.get("x"):
            yield key, "unknown field", {"zzUnknownField": 1}, ("zzUnknownField",)
        if kind in ("string", "integer", "boolean", "array", "object") and not node.get("ios"):
            yield key, "type", ({"a": 1} if kind != "object" else ["x"]), ()
        for rule in node.get("cel") or ():
            if rule[0] == "value":
                yield key, "cel value", _violating_string(rule[1]), ()
            elif rule[0] == "keys":
                yield key, "cel keys", {_violating_string(rule[1]): "x"}, (_violating_string(rule[1]),)
            elif rule[0] == "when":
                bad = _violating_string(rule[4])
                yield key, "cel when", {rule[1]: rule[2][0], rule[3]: bad}, (rule[3],)


MUTATIONS = list(mutations())


def test_the_table_has_the_rules_that_matter():
    rules = {rule for _key, rule, _value, _where in MUTATIONS}
    wanted = {"maxLength", "pattern", "maxItems", "maxProperties", "enum", "minimum", "maximum", "unknown field",
              "type", "cel keys", "cel when", "required"}
    assert wanted <= {r.split(" ")[0] if r.startswith("required") else r for r in rules}, rules
    assert len(MUTATIONS) > 400, len(MUTATIONS)


@pytest.mark.parametrize("index", range(0, len(MUTATIONS), 1))
def test_every_derived_rule_refuses_a_value_that_breaks_it(index):
    key, rule, value, where = MUTATIONS[index]
    found = _refused(value, crdrules.NODES[key])
    assert [path for path, _message in found if path == where], (key, rule, value, found)


def test_kinds_without_rules_are_not_checked_here():
    assert object_problems({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"bogus": 1}}) == []


@pytest.mark.parametrize("extra,expected", [
    ({"mesh_apps": [{"name": "shop", "routes": [{"gateway": "web", "path": "/a b"}]}]},
     "mesh_apps[0].routes[0].path: must match ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$ when type is "
     "Exact (a CEL rule of the CRD), got '/a b' (in the HTTPRoute default/shop-web the mesh renders"),
    ({"mesh_gateways": [{"name": "web", "labels": {"k%d" % i: "v" for i in range(9)},
                         "listeners": [{"name": "http", "port": 80}]}]},
     "mesh_gateways[0].labels: may have at most 8 entries, has 9 (in the Gateway default/web"),
    ({"mesh_gateways": [{"name": "web", "annotations": {"k": "v" * 5000}, "listeners": [{"name": "http", "port": 80}]}]},
     "mesh_gateways[0].annotations.k: may have at most 4096 characters, has 5000"),
    ({"mesh_extra_policies": [{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                               "metadata": {"name": "x", "namespace": "default"},
                               "spec": {"endpointSelector": {}, "ingress": [{"fromEntities": ["world"],
                                                                             "toPortz": []}]}}]},
     "mesh_extra_policies[0].spec.ingress[0].toPortz: is not a field here (known fields:"),
])
def test_a_value_the_crd_refuses_is_reported_at_its_inventory_path_once(extra, expected):
    found = problems(variables(**extra))
    assert [p for p in found if p.startswith(expected)], found
    assert len(found) == 1, found
