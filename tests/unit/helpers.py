# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the unit tests: a small valid mesh and error capture."""

from __future__ import annotations

import copy

from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render

BASE = {
    "mesh_cluster_name": "unit",
    "cilium_k8s_service_host": "192.0.2.10",
    "mesh_gateways": [{"name": "web", "listeners": [{"name": "http", "port": 80}]}],
    "mesh_apps": [{
        "name": "shop",
        "versions": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}],
        "routes": [{"gateway": "web", "path": "/shop"}],
    }],
}


def variables(**overrides):
    """BASE with top-level variables replaced (deep copies, so tests can mutate)."""
    result = copy.deepcopy(BASE)
    result.update(copy.deepcopy(overrides))
    return result


def problems(variables_, unknown=()):
    """Problem strings of an invalid inventory; fails the test if it renders."""
    try:
        render(variables_, unknown)
    except ValidationError as exc:
        return [str(p) for p in exc.problems]
    raise AssertionError("expected a validation error, but the inventory rendered")


def error_text(variables_, unknown=()):
    """The whole error message of an invalid inventory, as a user sees it."""
    try:
        render(variables_, unknown)
    except ValidationError as exc:
        return str(exc)
    raise AssertionError("expected a validation error, but the inventory rendered")


def objects(rendering, kind):
    return [obj for obj in rendering.objects() if obj["kind"] == kind]


def by_name(rendering, kind, name):
    matches = [obj for obj in objects(rendering, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, "expected one %s %s, found %d" % (kind, name, len(matches))
    return matches[0]
