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
version_added: 0.1.0
description:
  - Applies every object of O(resources) with server-side apply under one field manager, so a second run with the
    same objects changes nothing and other managers' fields are left alone.
  - Deletes objects that carry the ownership labels of O(instance)
    (C(app.kubernetes.io/managed-by=sidecarless.mesh), C(sidecarless.mesh/instance=<instance>)) but are no longer
    in O(resources), for the kinds in O(prune_kinds). Namespaces are never pruned.
  - In check mode every write is a server-side dry run, so admission and schema errors show up without changes.
  - Uses the client and authentication options of C(kubernetes.core).
author:
  - sidecarless.mesh maintainers (@sidecarless)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
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
    type: str
    required: true
  prune:
    description:
      - Delete owned objects of the O(prune_kinds) that are not in O(resources).
    type: bool
    default: true
  prune_kinds:
    description:
      - Kinds to look for stale objects, as C(apiVersion/Kind) strings. Kinds whose API is not served are skipped.
      - Defaults to every kind the collection renders except Namespace.
    type: list
    elements: str
  field_manager:
    description:
      - Field manager name of the server-side apply.
    type: str
    default: sidecarless.mesh
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

from ansible_collections.sidecarless.mesh.plugins.module_utils import apply as plan
from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s_client import (
    CoreException,
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
    TransportError,
    get_api_client,
    module_with_auth,
    reason,
    require_k8s_core,
)


OPTIONS = dict(
    resources=dict(type="list", elements="dict", required=True),
    instance=dict(type="str", required=True),
    prune=dict(type="bool", default=True),
    prune_kinds=dict(type="list", elements="str"),
    field_manager=dict(type="str", default=plan.FIELD_MANAGER),
    force_conflicts=dict(type="bool", default=True),
)


class Applier(object):
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.dry_run = "All" if module.check_mode else None
        self.result = dict(changed=False, created=[], updated=[], unchanged=[], pruned=[], skipped_kinds=[])
        self.diffs = []
        self.namespaces_created = set()

    def resource(self, api_version, kind):
        return self.client.resource(kind, api_version)

    def apply_all(self, resources):
        params = self.module.params
        for obj in resources:
            obj_ref = plan.ref(obj)
            try:
                resource = self.resource(obj_ref[0], obj_ref[1])
            except ResourceNotFoundError:
                self.module.fail_json(msg="the cluster does not serve %s %s (needed for %s): install its CRDs first "
                                          "(Gateway API CRDs, then Cilium)" % (obj_ref[0], obj_ref[1],
                                                                               plan.describe(obj_ref)),
                                      **self.result)
            namespace = obj_ref[2] or None
            before = self.get(resource, obj_ref[3], namespace)
            try:
                answer = self.client.client.server_side_apply(
                    resource, body=obj, name=obj_ref[3], namespace=namespace,
                    field_manager=params["field_manager"], force_conflicts=params["force_conflicts"],
                    dry_run=self.dry_run)
            except NotFoundError as exc:
                if self.dry_run and namespace in self.namespaces_created:
                    # The dry run cannot see a namespace this same run would create.
                    self.result["created"].append(plan.describe(obj_ref))
                    self.diffs.append(dict(before_header=plan.describe(obj_ref), after_header=plan.describe(obj_ref),
                                           before={}, after=plan.comparable(obj)))
                    continue
                self.module.fail_json(msg="applying %s failed: %s" % (plan.describe(obj_ref), reason(exc)),
                                      **self.result)
            except DynamicApiError as exc:
                self.module.fail_json(msg="applying %s failed: %s" % (plan.describe(obj_ref), reason(exc)),
                                      **self.result)
            after = answer.to_dict()
            text = plan.describe(obj_ref)
            if obj_ref[1] == "Namespace" and before is None:
                self.namespaces_created.add(obj_ref[3])
            if before is None:
                self.result["created"].append(text)
            elif plan.is_change(before, after):
                self.result["updated"].append(text)
            else:
                self.result["unchanged"].append(text)
                continue
            self.diffs.append(dict(before_header=text, after_header=text, before=plan.comparable(before) or {},
                                   after=plan.comparable(after)))

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
            live = resource.get(label_selector=plan.owner_selector(instance)).to_dict().get("items") or []
            for item in live:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            for item in plan.prune_candidates(live, desired, instance):
                obj_ref = plan.ref(item)
                try:
                    resource.delete(name=obj_ref[3], namespace=obj_ref[2] or None, dry_run=self.dry_run)
                except NotFoundError:
                    continue
                except DynamicApiError as exc:
                    self.module.fail_json(msg="pruning %s failed: %s" % (plan.describe(obj_ref), reason(exc)),
                                          **self.result)
                self.result["pruned"].append(plan.describe(obj_ref))
                self.diffs.append(dict(before_header=plan.describe(obj_ref), after_header="(deleted)",
                                       before=plan.comparable(item), after={}))


def main():
    require_k8s_core()
    module = module_with_auth(OPTIONS)
    params = module.params
    problems = plan.check_resources(params["resources"], params["instance"])
    if problems:
        module.fail_json(msg="cannot apply: " + "; ".join(problems))
    try:
        client = get_api_client(module=module)
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    applier = Applier(module, client)
    try:
        applier.apply_all(params["resources"])
        if params["prune"]:
            kinds = params["prune_kinds"] or ["%s/%s" % pair for pair in plan.PRUNE_KINDS]
            applier.prune(params["resources"], params["instance"], kinds)
    except DynamicApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % reason(exc), **applier.result)
    except TransportError as exc:
        module.fail_json(msg="lost the Kubernetes API: %s" % reason(exc), **applier.result)
    result = applier.result
    result["changed"] = bool(result["created"] or result["updated"] or result["pruned"])
    if module._diff and applier.diffs:
        result["diff"] = applier.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
