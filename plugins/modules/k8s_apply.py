#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply of a set of objects, with pruning of owned objects that left the set."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_apply
short_description: Apply a set of Kubernetes objects in one call and prune the owned ones that left it
version_added: 1.0.0
description:
  - Applies every object of O(resources) with server-side apply under one field manager, so a second run with the
    same objects changes nothing and other managers' fields are left alone.
  - Deletes objects that carry the ownership labels of O(instance)
    (C(app.kubernetes.io/managed-by=sidecarless.mesh), C(sidecarless.mesh/instance=<instance>)) but are no longer
    in O(resources), for the kinds in O(prune_kinds). Namespaces are never pruned.
  - A rerun costs one list request per kind plus one apply per object that changed. Every applied object carries
    the annotation C(sidecarless.mesh/applied-hash), the hash of what was applied; an object whose live state has
    that hash and still holds every applied value is left alone without a request.
  - In check mode every write is a server-side dry run, so admission and schema errors show up without changes.
    Objects whose kind is not served yet (their CRDs would be installed by an earlier task of the same run) are
    reported as created, with a warning, instead of failing.
  - Uses the client and authentication options of C(kubernetes.core).
author:
  - sidecarless.mesh maintainers (@sidecarless)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML
extends_documentation_fragment:
  - sidecarless.mesh.k8s_connection
options:
  resources:
    description:
      - Kubernetes objects to apply, in order (for example the manifests returned by M(sidecarless.mesh.render)).
      - Every object except Namespaces must carry the ownership labels of O(instance).
    type: list
    elements: dict
    required: true
  instance:
    description:
      - Value of the C(sidecarless.mesh/instance) label that marks the objects this set owns (the mesh name).
      - Empty applies O(resources) without ownership labels and never prunes (for CRDs and other shared objects).
    type: str
    default: ""
  prune:
    description:
      - Delete owned objects of the O(prune_kinds) that are not in O(resources).
    type: bool
    default: true
  prune_kinds:
    description:
      - Kinds to look for stale objects, as C(apiVersion/Kind) strings. Kinds whose API is not served (or no longer
        served, although discovery still lists them) are skipped and returned in RV(skipped_kinds).
      - Defaults to every kind the collection renders except Namespace.
    type: list
    elements: str
  field_manager:
    description:
      - Field manager name of the server-side apply.
    type: str
    default: sidecarless.mesh
  preserve_fields:
    description:
      - Dotted paths (for example C(spec.conversion.webhook.clientConfig.caBundle)) left out of the apply when the
        object already exists, so the values another controller maintains there stay (the Dapr operator patches
        its CRDs' conversion webhook at start-up).
      - On create the fields are applied as given.
    type: list
    elements: str
    default: []
  force_conflicts:
    description:
      - Take over fields another manager set (server-side apply C(force)). The objects are the collection's own, so
        this is on by default; turn it off to see conflicts as errors instead.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Writes are sent as server-side dry runs; nothing changes.
  diff_mode:
    support: full
    description: Returns the before and after state of every object that changes.
  platform:
    support: full
    platforms: all
    description: Runs where the Kubernetes API is reachable, usually the controller (localhost).
notes:
  - The module needs the APIs of the objects it applies to be served; install the Gateway API CRDs and Cilium first.
"""

EXAMPLES = r"""
- name: Render the mesh without writing files
  sidecarless.mesh.render:
    write: false
  register: __mesh

- name: Apply every rendered object and prune what left the inventory
  sidecarless.mesh.k8s_apply:
    resources: "{{ __mesh.manifests.values() | flatten }}"
    instance: "{{ __mesh.cluster }}"
    kubeconfig: ~/.kube/prod.yaml
"""

RETURN = r"""
created:
  description: Objects created, as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [HTTPRoute default/whoami-default-gateway]
updated:
  description: Objects whose applied state changed.
  returned: always
  type: list
  elements: str
unchanged:
  description: Objects already as desired.
  returned: always
  type: list
  elements: str
pruned:
  description: Owned objects deleted because they left O(resources).
  returned: always
  type: list
  elements: str
skipped_kinds:
  description: Prune kinds whose API the cluster does not serve.
  returned: always
  type: list
  elements: str
"""

import concurrent.futures

from ansible_collections.sidecarless.mesh.plugins.module_utils import apply as plan
from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s_client import (
    CoreException,
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
    TransportError,
    api_client,
    module_with_auth,
    reason,
    require_k8s_core,
)


OPTIONS = dict(
    resources=dict(type="list", elements="dict", required=True),
    instance=dict(type="str", default=""),
    prune=dict(type="bool", default=True),
    prune_kinds=dict(type="list", elements="str"),
    field_manager=dict(type="str", default=plan.FIELD_MANAGER),
    force_conflicts=dict(type="bool", default=True),
    preserve_fields=dict(type="list", elements="str", default=[]),
)


class Applier(object):
    """Apply and prune with as few requests as possible: one list per kind, one apply per changed object."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.dry_run = "All" if module.check_mode else None
        self.result = dict(changed=False, created=[], updated=[], unchanged=[], pruned=[], skipped_kinds=[])
        self.not_served = {}  # "apiVersion Kind" -> objects a check-mode run would create once the CRD exists
        self.diffs = []
        self.namespaces_created = set()
        self.live = {}  # (apiVersion, kind) -> {ref: object} of the owned objects, or None when not listable
        self.unowned = {}  # (apiVersion, kind, namespace) -> how many objects to apply there are not owned yet
        self.listed = {}  # (apiVersion, kind, namespace) -> {name: object}, listed once for several unowned objects

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def warnings(self):
        result = []
        for kind, names in sorted(self.not_served.items()):
            if kind.startswith("namespace "):
                result.append("check mode: %s; objects in it are reported as created" % kind)
            else:
                result.append("%s is not served yet (its CRD comes from an earlier step of the run); once it is, "
                              "%d object(s) would be created: %s" % (kind, len(names), ", ".join(names)))
        return result

    def resource(self, api_version, kind):
        return self.client.resource(kind, api_version)

    def owned(self, api_version, kind, resource, instance):
        """The owned live objects of one kind, listed once; None when the kind cannot be listed."""
        key = (api_version, kind)
        if key not in self.live:
            try:
                items = resource.get(label_selector=plan.owner_selector(instance)).to_dict().get("items") or []
            except NotFoundError:
                # Discovery still lists a kind whose CRD was just removed.
                self.live[key] = None
                return None
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            self.live[key] = dict((plan.ref(item), item) for item in items)
        return self.live[key]

    def count_unowned(self, resources, instance):
        """How many objects of each kind and namespace are not among the owned ones (no extra request)."""
        for obj in resources:
            obj_ref = plan.ref(plan.applied_part(obj))
            try:
                resource = self.resource(obj_ref[0], obj_ref[1])
            except ResourceNotFoundError:
                continue
            owned = self.owned(obj_ref[0], obj_ref[1], resource, instance) if instance else None
            if owned is None or obj_ref not in owned:
                key = obj_ref[:3]
                self.unowned[key] = self.unowned.get(key, 0) + 1

    def before(self, obj_ref, resource):
        """The live object that is not owned yet (new, or someone else's): one GET, or one list of its kind and
        namespace when several such objects go there (a first apply of 100 apps needs 26 lists, not 757 GETs)."""
        namespace = obj_ref[2] or None
        if self.unowned.get(obj_ref[:3], 0) < 2:
            return self.get(resource, obj_ref[3], namespace)
        key = obj_ref[:3]
        if key not in self.listed:
            try:
                items = resource.get(namespace=namespace).to_dict().get("items") or []
            except NotFoundError:
                items = []
            for item in items:
                item.setdefault("apiVersion", obj_ref[0])
                item.setdefault("kind", obj_ref[1])
            self.listed[key] = dict((item["metadata"]["name"], item) for item in items)
        return self.listed[key].get(obj_ref[3])

    #: Server-side applies of one kind run this many at a time: the API server's work on one overlaps the
    #: client's on the next (a first apply of 100 apps took 1.6 times kubectl's time one by one).
    PARALLEL = 4

    def apply_all(self, resources, instance):
        """Apply ``resources`` in order, kind after kind; the applies within a run of one kind run concurrently
        (they do not depend on each other), decisions and results stay in the given order."""
        self.count_unowned(resources, instance)
        batch = []
        for obj in resources:
            obj = plan.applied_part(obj)
            if batch and plan.ref(batch[-1])[:2] != plan.ref(obj)[:2]:
                self.apply_batch(batch, instance)
                batch = []
            batch.append(obj)
        if batch:
            self.apply_batch(batch, instance)

    def apply_batch(self, objects, instance):
        pending = []  # (obj, obj_ref, text, resource, body, before)
        for obj in objects:
            step = self.prepare(obj, instance)
            if step is not None:
                pending.append(step)
        if not pending:
            return
        if len(pending) == 1 or self.PARALLEL < 2:
            answers = [self.send(step) for step in pending]
        else:
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.PARALLEL) as pool:
                answers = list(pool.map(self.send, pending))
        for step, (answer, error) in zip(pending, answers):
            self.record(step, answer, error)

    def prepare(self, obj, instance):
        """What to send for ``obj``, or None when nothing is to be sent (up to date, or accounted for)."""
        params = self.module.params
        obj_ref = plan.ref(obj)
        text = plan.describe(obj_ref)
        try:
            resource = self.resource(obj_ref[0], obj_ref[1])
        except ResourceNotFoundError:
            if self.dry_run:
                # Check mode on a fresh cluster: the CRDs an earlier task would install are not there.
                self.result["created"].append(text)
                self.not_served.setdefault("%s %s" % (obj_ref[0], obj_ref[1]), []).append(
                    "%s/%s" % (obj_ref[2], obj_ref[3]) if obj_ref[2] else obj_ref[3])
                self.diffs.append(dict(before_header=text, after_header=text, before={},
                                       after=plan.comparable(obj)))
                return None
            self.fail("the cluster does not serve %s %s (needed for %s): install its CRDs first "
                      "(Gateway API CRDs, then Cilium)" % (obj_ref[0], obj_ref[1], text))
        owned = self.owned(obj_ref[0], obj_ref[1], resource, instance) if instance else None
        before = owned.get(obj_ref) if owned is not None else None
        if before is None:
            before = self.before(obj_ref, resource)
        body = obj
        if before is not None and params["preserve_fields"]:
            body = plan.without_fields(obj, params["preserve_fields"])
        body = plan.with_hash(body, rendered=obj)
        if plan.up_to_date(body, before):
            self.result["unchanged"].append(text)
            return None
        return (obj, obj_ref, text, resource, body, before)

    def send(self, step):
        """One server-side apply: (the answer as a dict, None) or (None, the API error)."""
        _obj, obj_ref, _text, resource, body, _before = step
        params = self.module.params
        try:
            answer = self.client.client.server_side_apply(
                resource, body=body, name=obj_ref[3], namespace=obj_ref[2] or None,
                field_manager=params["field_manager"], force_conflicts=params["force_conflicts"],
                dry_run=self.dry_run)
        except DynamicApiError as exc:  # NotFoundError included
            return None, exc
        return answer.to_dict(), None

    def record(self, step, after, error):
        obj, obj_ref, text, _resource, _body, before = step
        namespace = obj_ref[2] or None
        if isinstance(error, NotFoundError):
            if self.dry_run and (namespace in self.namespaces_created or self.missing_namespace(namespace)):
                # The dry run cannot see a namespace this run (or an earlier step of it) would create.
                self.result["created"].append(text)
                self.diffs.append(dict(before_header=text, after_header=text, before={},
                                       after=plan.comparable(obj)))
                return
            self.fail("applying %s failed: %s" % (text, reason(error)))
        if error is not None:
            self.fail("applying %s failed: %s" % (text, reason(error)))
        if obj_ref[1] == "Namespace" and before is None:
            self.namespaces_created.add(obj_ref[3])
        if before is None:
            self.result["created"].append(text)
        elif plan.is_change(before, after):
            self.result["updated"].append(text)
        else:
            self.result["unchanged"].append(text)
            return
        self.diffs.append(dict(before_header=text, after_header=text, before=plan.comparable(before) or {},
                               after=plan.comparable(after)))

    def missing_namespace(self, namespace):
        if not namespace:
            return False
        try:
            self.resource("v1", "Namespace").get(name=namespace)
        except NotFoundError:
            self.not_served.setdefault("namespace %s (does not exist yet)" % namespace, [])
            return True
        return False

    def get(self, resource, name, namespace):
        try:
            return resource.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def prune(self, resources, instance, kinds):
        desired = set(plan.ref(obj) for obj in resources)
        for text in kinds:
            api_version, kind = text.rpartition("/")[::2]
            try:
                resource = self.resource(api_version, kind)
            except ResourceNotFoundError:
                self.result["skipped_kinds"].append(text)
                continue
            live = self.owned(api_version, kind, resource, instance)
            if live is None:
                self.result["skipped_kinds"].append(text)
                continue
            for item in plan.prune_candidates(list(live.values()), desired, instance):
                obj_ref = plan.ref(item)
                try:
                    resource.delete(name=obj_ref[3], namespace=obj_ref[2] or None, dry_run=self.dry_run)
                except NotFoundError:
                    continue
                except DynamicApiError as exc:
                    self.fail("pruning %s failed: %s" % (plan.describe(obj_ref), reason(exc)))
                self.result["pruned"].append(plan.describe(obj_ref))
                self.diffs.append(dict(before_header=plan.describe(obj_ref), after_header="(deleted)",
                                       before=plan.comparable(item), after={}))


def main():
    require_k8s_core()
    module = module_with_auth(OPTIONS)
    params = module.params
    instance = params["instance"]
    problems = plan.check_resources(params["resources"], instance)
    if params["prune"] and not instance and params["prune_kinds"]:
        problems.append("prune_kinds needs instance: without it nothing is known to be owned")
    if problems:
        module.fail_json(msg="cannot apply: " + "; ".join(problems))
    try:
        client = api_client(module)
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    applier = Applier(module, client)
    try:
        applier.apply_all(params["resources"], instance)
        if params["prune"] and instance:
            kinds = params["prune_kinds"] or ["%s/%s" % pair for pair in plan.PRUNE_KINDS]
            applier.prune(params["resources"], instance, kinds)
    except DynamicApiError as exc:
        applier.fail("Kubernetes API error: %s" % reason(exc))
    except TransportError as exc:
        applier.fail("lost the Kubernetes API: %s" % reason(exc))
    result = applier.result
    for warning in applier.warnings():
        module.warn(warning)
    result["changed"] = bool(result["created"] or result["updated"] or result["pruned"])
    if module._diff and applier.diffs:
        result["diff"] = applier.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
