# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by the renderers: object metadata and deep merge."""

from __future__ import annotations

import copy

from . import facts


def owner_labels(mesh):
    """Labels on every object the collection renders; cluster mode prunes by them."""
    return {
        facts.MANAGED_BY_LABEL: facts.MANAGED_BY_VALUE,
        facts.INSTANCE_LABEL: mesh.cluster_name,
    }


def metadata(mesh, name, namespace=None, labels=None):
    result = {"name": name}
    if namespace is not None:
        result["namespace"] = namespace
    merged = dict(labels or {})
    merged.update(owner_labels(mesh))
    result["labels"] = merged
    return result


def resource(api_version, kind, meta, spec=None, **extra):
    obj = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = spec
    obj.update(extra)
    return obj


def deep_merge(base, override):
    """Merge ``override`` into ``base``: mappings merge, the rest replaces.

    ``base`` is copied unless ``override`` is empty (then it is returned as is).

    This is how Helm combines values files, so a user's extra values behave
    as they would with ``helm install -f``. A ``None`` in ``override``
    deletes the key, as ``--set key=null`` does.
    """
    if not override:
        return base
    result = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def object_key(obj):
    """(kind, namespace, name) of a rendered object, for sorting and lookups."""
    meta = obj.get("metadata", {})
    return (obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
