# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the mesh core: render_mesh, validate_mesh, dapr_invoke_path, collection_version,
cilium_upgrade_plan, cilium_unmanaged_pods, helm_release_problems, helm_stored_releases.

Each is documented in the <name>.yml file beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

import importlib
import json
import os
from collections.abc import Mapping

from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import MeshError
from ansible_collections.sidecarless.mesh.plugins.module_utils.gateway import rewrite_rules
from ansible_collections.sidecarless.mesh.plugins.module_utils.helmstore import StoredReleaseError, stored_releases
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import (
    build_mesh,
    collect_variables,
    normalise_prefix,
)
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from ansible_collections.sidecarless.mesh.plugins.module_utils.spec import plain
from ansible_collections.sidecarless.mesh.plugins.module_utils.upgrade import (
    cilium_plan,
    preflight_values,
    release_problem,
    unmanaged_pods,
)
from ansible_collections.sidecarless.mesh.plugins.module_utils.variables import _path_prefix


def _variables(value, name):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("%s expects a mapping of variables (for example hostvars[inventory_hostname]), "
                                 "got %s" % (name, type(value).__name__))
    return collect_variables(value)


def render_mesh(value):
    """Render the mesh described by the cilium_/dapr_/mesh_ keys of ``value``."""
    variables, unknown = _variables(value, "render_mesh")
    try:
        return plain(render(variables, unknown).as_dict())
    except MeshError as exc:
        raise AnsibleFilterError(str(exc))


def validate_mesh(value):
    """Validate and return every collection variable with its defaults filled in."""
    variables, unknown = _variables(value, "validate_mesh")
    try:
        return plain(build_mesh(variables, unknown).settings)
    except MeshError as exc:
        raise AnsibleFilterError(str(exc))


def dapr_invoke_path(prefix, app_id, namespace="default"):
    """The HTTPRoute rules that rewrite ``prefix`` into Dapr service invocation of ``app_id``."""
    if not isinstance(prefix, str):
        raise AnsibleFilterError("dapr_invoke_path: the path prefix must be a string, got %s" % type(prefix).__name__)
    problem = _path_prefix(prefix)
    if problem:
        raise AnsibleFilterError("dapr_invoke_path: the path prefix %s" % problem)
    rules = []
    for match, rewrite in rewrite_rules(normalise_prefix(prefix), str(app_id), str(namespace)):
        path = rewrite["urlRewrite"]["path"]
        rules.append({
            "match_type": match["path"]["type"],
            "match": match["path"]["value"],
            "rewrite_type": path["type"],
            "rewrite": path.get("replacePrefixMatch") or path.get("replaceFullPath"),
        })
    return rules


def collection_version(name):
    """Version of an installed collection (from its MANIFEST.json or galaxy.yml), or None."""
    if not isinstance(name, str) or name.count(".") != 1:
        raise AnsibleFilterError("collection_version expects a collection name like 'kubernetes.core', got %r" % (name,))
    try:
        package = importlib.import_module("ansible_collections.%s" % name)
    except ImportError:
        return None
    for folder in list(getattr(package, "__path__", [])):
        manifest = os.path.join(folder, "MANIFEST.json")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as handle:
                return json.load(handle).get("collection_info", {}).get("version")
        galaxy = os.path.join(folder, "galaxy.yml")
        if os.path.exists(galaxy):
            import yaml  # pylint: disable=import-outside-toplevel
            with open(galaxy, encoding="utf-8") as handle:
                return (yaml.safe_load(handle) or {}).get("version")
    return None


def cilium_upgrade_plan(info, release, compatibility="", rotate=False):
    """What the cilium role does with the Cilium release, judged by Cilium's upgrade guide."""
    if not isinstance(info, Mapping) or not isinstance(release, Mapping):
        raise AnsibleFilterError("cilium_upgrade_plan expects helm_info's result and the rendered Cilium release, got "
                                 "%s and %s" % (type(info).__name__, type(release).__name__))
    plan = cilium_plan(plain(info), plain(release), str(compatibility or ""), bool(rotate))
    plan["preflight_values"] = preflight_values(plan["values"], cilium_running=plan["action"] != "install")
    return plain(plan)


def cilium_unmanaged_pods(pods, endpoints):
    """Running pods whose network Cilium did not set up (no CiliumEndpoint), as cilium-cli counts them."""
    if not isinstance(pods, list) or not isinstance(endpoints, list):
        raise AnsibleFilterError("cilium_unmanaged_pods expects the lists of Pods and CiliumEndpoints (k8s_info "
                                 "resources), got %s and %s" % (type(pods).__name__, type(endpoints).__name__))
    return unmanaged_pods(plain(pods), plain(endpoints))


def helm_release_problems(infos, releases):
    """Why the collection must not install over these releases (Helm left them pending): one message each."""
    if isinstance(infos, Mapping) and "results" in infos:
        infos = infos["results"]
    if isinstance(infos, Mapping):
        infos = [infos]
    if isinstance(releases, Mapping):
        releases = [releases]
    if not isinstance(infos, list) or not isinstance(releases, list) or len(infos) != len(releases) \
            or not all(isinstance(item, Mapping) for item in list(infos) + list(releases)):
        raise AnsibleFilterError("helm_release_problems expects helm_info's result (or a loop of them) and the "
                                 "rendered release (or a list of them, one per result), got %s and %s" % (
                                     type(infos).__name__, type(releases).__name__))
    problems = [release_problem(plain(info), plain(release)) for info, release in zip(infos, releases)]
    return [problem for problem in problems if problem]


def helm_stored_releases(secrets, releases):
    """helm_info's result for each rendered release, read from Helm's release Secrets (one list for all)."""
    if isinstance(secrets, Mapping) and "resources" in secrets:
        secrets = secrets["resources"]
    if isinstance(releases, Mapping):
        releases = [releases]
    if not isinstance(secrets, list) or not isinstance(releases, list) \
            or not all(isinstance(item, Mapping) for item in list(secrets) + list(releases)):
        raise AnsibleFilterError("helm_stored_releases expects the Secrets k8s_info listed (or its result) and the "
                                 "rendered releases, got %s and %s"
                                 % (type(secrets).__name__, type(releases).__name__))
    try:
        return stored_releases(plain(secrets), plain(releases))
    except StoredReleaseError as exc:
        raise AnsibleFilterError("helm_stored_releases: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "render_mesh": render_mesh,
            "validate_mesh": validate_mesh,
            "dapr_invoke_path": dapr_invoke_path,
            "collection_version": collection_version,
            "cilium_upgrade_plan": cilium_upgrade_plan,
            "cilium_unmanaged_pods": cilium_unmanaged_pods,
            "helm_release_problems": helm_release_problems,
            "helm_stored_releases": helm_stored_releases,
        }
