# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutated inventories, as a fuzzer makes them, get the collection's own error with a path (issue 7, item 9).

Every shipped inventory is taken apart and one or more of its values (at any
depth: a variable, a key of a mapping, an item of a list) is replaced by a
value of another type, an odd or huge one, or an unknown key is added. The
render must then either succeed or raise ValidationError whose problems each
name a variable path; the last guard (a raw exception turned into "could not
be processed") must never be what answers, since that means validation
missed the value.
"""

from __future__ import annotations

import copy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from ansible_collections.sidecarless.mesh.plugins.module_utils.variables import VARIABLES

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def _inventory(name):
    for base in ("inventories", os.path.join("tests", "inventories")):
        folder = os.path.join(ROOT, base, name, "group_vars", "all")
        if os.path.isdir(folder):
            result = {}
            for file_name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                    result.update(yaml.safe_load(handle) or {})
            return result
    raise LookupError(name)


INVENTORIES = {name: _inventory(name)
               for name in ("demo", "example-baremetal", "minimal", "multi-namespace", "host-network")}

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", " ", "\n", "a" * 5000, "{{ x }}", "../../etc", "*", "-1", "1.20", "0x10", "a{4294967296}",
                     "(" * 2000, "%", "\x00", "é", "192.0.2.1", "10.0.0.0/8", "::", "yes"]),
    st.lists(st.integers(), max_size=3), st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
    st.just([[1]]), st.just([{"a": 1}]), st.just({"": None}), st.just({1: 2}), st.just([None]),
)


def _paths(value, prefix=()):
    """Every place in ``value`` a mutation can hit: (path of keys and indexes)."""
    yield prefix
    if isinstance(value, dict):
        for key in value:
            yield from _paths(value[key], prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _set(root, path, value):
    node = root
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(INVENTORIES)))
    variables = copy.deepcopy(INVENTORIES[name])
    for _round in range(draw(st.integers(min_value=1, max_value=3))):
        places = [p for p in _paths(variables) if p]
        action = draw(st.sampled_from(["replace", "replace", "add-key", "add-variable"]))
        if action == "add-variable":
            variables[draw(st.sampled_from(sorted(VARIABLES)))] = copy.deepcopy(draw(ODD_VALUES))
            continue
        place = draw(st.sampled_from(places))
        if action == "add-key":
            node = variables
            for step in place:
                node = node[step]
            if isinstance(node, dict):
                node[draw(st.sampled_from(["zz_unknown", "name", "labels", "spec", "metadata", "enabled"]))] = \
                    copy.deepcopy(draw(ODD_VALUES))
                continue
        _set(variables, place, copy.deepcopy(draw(ODD_VALUES)))
    return name, variables


COUNT = {"examples": 0, "refused": 0}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_a_mutated_inventory_renders_or_gets_errors_with_paths_never_a_raw_exception(case):
    name, variables = case
    picked, unknown = collect_variables(variables)
    COUNT["examples"] += 1
    try:
        render(picked, unknown)
    except ValidationError as exc:
        COUNT["refused"] += 1
        for problem in exc.problems:
            assert problem.path, "a problem without a variable path: %s" % problem
            assert "could not be processed" not in problem.message, \
                "validation missed a value (%s inventory): %s" % (name, problem)
        assert len(exc.problems) <= 60, "one mutation gave %d problems" % len(exc.problems)


def test_zz_the_fuzzer_ran(capsys):
    with capsys.disabled():
        print("\nmutated inventories: %(examples)d tried, %(refused)d refused with their paths" % COUNT)


def test_the_last_guard_names_the_variable_being_processed(monkeypatch):
    """Where validation misses something, the user still gets a path and no traceback."""
    from ansible_collections.sidecarless.mesh.plugins.module_utils import gateway

    def broken(mesh, app):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(gateway, "render_services", broken)
    variables = copy.deepcopy(INVENTORIES["demo"])
    picked, unknown = collect_variables(variables)
    text = ""
    try:
        render(picked, unknown)
    except ValidationError as exc:
        text = str(exc)
    assert text, "the broken renderer went unnoticed"
    assert "mesh_apps[0]: could not be processed (TypeError: unhashable type: 'list')" in text, text
    assert "please report it" in text
