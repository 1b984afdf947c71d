# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a set of rendered objects and prune what left it: the decisions, without I/O.

The k8s_apply module does the API calls (server-side apply through
kubernetes.core's client); this file decides what counts as a change and
which live objects are ours to prune, so both are unit-testable.
"""

from __future__ import annotations

import copy
import hashlib
import json

from . import facts

FIELD_MANAGER = "sidecarless.mesh"
#: Annotation holding the hash of what the collection last applied to an object: with it a rerun
#: sees from one list per kind that nothing changed, and notices fields it stopped setting.
APPLIED_HASH_ANNOTATION = "sidecarless.mesh/applied-hash"

#: Kinds the collection renders and may prune (Namespaces are never pruned:
#: deleting one deletes everything in it).
PRUNE_KINDS = (
    ("v1", "Service"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
    ("cilium.io/v2", "CiliumNetworkPolicy"),
    ("cilium.io/v2", "CiliumClusterwideNetworkPolicy"),
    ("cilium.io/v2", "CiliumLocalRedirectPolicy"),
    ("cilium.io/v2", "CiliumLoadBalancerIPPool"),
    ("cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy"),
)

_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def ref(obj):
    """(apiVersion, kind, namespace, name) of an object."""
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def describe(obj_ref):
    api_version, kind, namespace, name = obj_ref
    return "%s %s" % (kind, "%s/%s" % (namespace, name) if namespace else name)


def comparable(obj):
    """The object without what the server maintains (status, resourceVersion, managedFields...)."""
    if obj is None:
        return None
    result = copy.deepcopy(obj)
    result.pop("status", None)
    meta = result.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if annotations:
        annotations.pop(_LAST_APPLIED, None)
        annotations.pop(APPLIED_HASH_ANNOTATION, None)
        if not annotations:
            meta.pop("annotations")
    return result


def is_change(before, after):
    """True when ``after`` (the server's answer to an apply) differs from ``before``."""
    if before is None:
        return True
    return comparable(before) != comparable(after)


def applied_part(obj):
    """What an apply sets of ``obj``: everything but ``status`` and a null ``metadata.creationTimestamp``.

    Status belongs to the object's controller and is written through its own
    subresource; server-side apply of the main resource ignores it (as
    kubectl apply does), and the server sets ``metadata.creationTimestamp``.
    Manifests that ship a placeholder for either, such as the Gateway API
    v1.3/v1.4 CRDs (``creationTimestamp: null``, ``status: {acceptedNames:
    ...}``), would otherwise never compare equal to the live object.
    """
    meta = obj.get("metadata")
    stamped = isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None
    if "status" not in obj and not stamped:
        return obj
    result = dict(obj)
    result.pop("status", None)
    if stamped:
        # Generated manifests (controller-gen, kubectl create --dry-run) carry "creationTimestamp: null".
        result["metadata"] = dict((key, value) for key, value in meta.items() if key != "creationTimestamp")
    return result


def desired_hash(obj):
    """Stable hash of an object as the collection renders it (before the hash annotation is added)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()[:32]


def with_hash(obj, rendered=None):
    """A copy of ``obj`` carrying APPLIED_HASH_ANNOTATION: the hash of ``rendered`` (default ``obj``).

    The hash is always the one of the object as rendered, even when some of
    its fields are left to another controller, so it does not change between
    the creating apply and the later ones.
    """
    digest = desired_hash(obj if rendered is None else rendered)
    result = copy.deepcopy(obj)
    result.setdefault("metadata", {}).setdefault("annotations", {})[APPLIED_HASH_ANNOTATION] = digest
    return result


def contains(desired, live):
    """True when every field of ``desired`` has the same value in ``live`` (server defaults may add more).

    Lists must have the same length and contain the desired items in order:
    a list the server kept is a list the apply set.
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(contains(value, live.get(key)) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(a, b) for a, b in zip(desired, live))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    return desired == live


def up_to_date(desired, live):
    """Would applying ``desired`` (already carrying its hash) leave ``live`` unchanged?

    True only when the live object carries the same hash (so no field was
    dropped from the rendering since) and still holds every rendered value
    (so nobody changed one of them).
    """
    if live is None:
        return False
    wanted = ((desired.get("metadata") or {}).get("annotations") or {}).get(APPLIED_HASH_ANNOTATION)
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(APPLIED_HASH_ANNOTATION)
    return bool(wanted) and wanted == have and contains(desired, live)


def without_fields(obj, paths):
    """A copy of ``obj`` without the dotted ``paths`` (fields another controller maintains)."""
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        node = result
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return result


def owner_selector(instance):
    """Label selector of the objects one mesh instance owns."""
    return "%s=%s,%s=%s" % (facts.MANAGED_BY_LABEL, facts.MANAGED_BY_VALUE, facts.INSTANCE_LABEL, instance)


def owned(obj, instance):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(facts.MANAGED_BY_LABEL) == facts.MANAGED_BY_VALUE and labels.get(facts.INSTANCE_LABEL) == instance


def prune_candidates(live_items, desired_refs, instance):
    """Live objects owned by ``instance`` that the desired set no longer holds.

    Ownership is checked again here even though the list was filtered by
    label selector: a server or proxy that ignores the selector must not make
    the module delete foreign objects.
    """
    result = []
    for item in live_items:
        if owned(item, instance) and ref(item) not in desired_refs:
            result.append(item)
    return sorted(result, key=ref)


def check_resources(resources, instance):
    """Problems with the objects to apply (before any API call); an empty ``instance`` checks no labels."""
    problems = []
    seen = set()
    for index, obj in enumerate(resources):
        where = "resources[%d]" % index
        if not isinstance(obj, dict):
            problems.append("%s: must be a mapping (a Kubernetes object)" % where)
            continue
        obj_ref = ref(obj)
        if not obj_ref[0] or not obj_ref[1] or not obj_ref[3]:
            problems.append("%s: needs apiVersion, kind and metadata.name" % where)
            continue
        if obj_ref in seen:
            problems.append("%s: %s appears twice" % (where, describe(obj_ref)))
        seen.add(obj_ref)
        if instance and obj_ref[1] != "Namespace" and not owned(obj, instance):
            problems.append("%s: %s lacks the ownership labels %s; prune could not find it again" % (
                where, describe(obj_ref), owner_selector(instance)))
    return problems
