# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind sidecarless.mesh.render (documented in plugins/modules/render.py).

Runs on the controller: gathers the cilium_/dapr_/mesh_ variables, validates
and renders them with the core in module_utils, and writes the render
directory. One task, whatever the number of apps.
"""

from __future__ import annotations

import difflib
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.sidecarless.mesh.plugins.module_utils import output
from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import MeshError
from ansible_collections.sidecarless.mesh.plugins.module_utils.helm import check_kubeconfig, check_local_charts
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render

ARGUMENT_SPEC = {
    "dest": {"type": "str"},
    "write": {"type": "bool", "default": True},
    "content": {"type": "bool", "default": True},
    "values": {"type": "bool", "default": True},
    "variables": {"type": "dict"},
}
#: Result keys that carry the rendered objects (left out with content=false).
_CONTENT_KEYS = ("manifests", "releases", "flows")
_DIFF_LIMIT = 200000


_MARKERS = ("{{", "{%", "{#")


def _has_template(value):
    """True if any string in ``value`` (keys included) could be a Jinja template."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(marker in item for marker in _MARKERS):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif not isinstance(item, (int, float, bool, type(None))):
            return True  # something lazy or unknown: let the templar decide
    return False


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)

        if args["variables"] is not None:
            variables, unknown = collect_variables(args["variables"])
        else:
            variables, unknown = self._collect(task_vars)
        try:
            rendering = render(variables, unknown)
            # A local chart (a path on the controller) is compared with the version pinned for it.
            check_local_charts(rendering.mesh, rendering.releases)
            check_kubeconfig(rendering.mesh)
        except MeshError as exc:
            raise AnsibleActionFail(str(exc))

        data = rendering.as_dict()
        if not args["content"]:
            for key in _CONTENT_KEYS:
                data.pop(key)
        elif not args["values"]:
            for release in data["releases"]:
                release.pop("values", None)
        dest = args["dest"] or rendering.mesh.settings["mesh_render_dir"] or os.path.join(
            "build", rendering.mesh.cluster_name)
        dest = os.path.abspath(os.path.expanduser(dest))
        if "kubeconfig" in data["kube_auth"]:
            data["kube_auth"]["kubeconfig"] = os.path.expanduser(data["kube_auth"]["kubeconfig"])
        result.update(data)
        result["dest"] = dest
        result["changed"] = False
        if rendering.warnings:
            result["warnings"] = list(rendering.warnings)
        if not args["write"]:
            return result

        problem = output.check_destination(dest)
        if problem:
            raise AnsibleActionFail(problem)
        files = output.render_files(rendering)
        changed, removed, before = output.plan(dest, files)
        result["files"] = sorted(files)
        result["changed_files"] = changed
        result["removed_files"] = removed
        result["changed"] = bool(changed or removed)
        if self._task.diff and result["changed"]:
            result["diff"] = self._diff(dest, files, changed, removed, before)
        if result["changed"] and not self._task.check_mode:
            try:
                output.write(dest, files, changed, removed)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("cannot write the render directory %s: %s" % (dest, exc))
        return result

    def _collect(self, task_vars):
        """The collection's variables, templated, plus unknown prefixed names."""
        raw = dict((name, value) for name, value in task_vars.items()
                   if isinstance(name, str) and name.startswith(("cilium_", "dapr_", "mesh_")))
        templated = {}
        for name, value in raw.items():
            # Templating walks the whole value; a 1000-app mesh_apps without a
            # single template would pay for nothing.
            templated[name] = self._templar.template(value) if _has_template(value) else value
        return collect_variables(templated)

    @staticmethod
    def _diff(dest, files, changed, removed, before):
        diffs = []
        size = 0
        for rel in changed:
            if size > _DIFF_LIMIT:
                diffs.append({"prepared": "(further diffs omitted)"})
                break
            old = before.get(rel) or ""
            path = os.path.join(dest, rel)
            text = "".join(difflib.unified_diff(old.splitlines(True), files[rel].splitlines(True),
                                                path + " (before)", path + " (after)"))
            size += len(text)
            diffs.append({"prepared": text or "mode of %s changes to 0640\n" % rel})
        for rel in removed:
            diffs.append({"prepared": "removed %s\n" % os.path.join(dest, rel)})
        return diffs
