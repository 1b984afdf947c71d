#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until a set of workloads is rolled out; fail early with the reason when a pod cannot start."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rollout_status
short_description: Wait until DaemonSets, Deployments and StatefulSets are rolled out, or say why not
version_added: 1.0.0
description:
  - Polls the listed workloads until each is rolled out as C(kubectl rollout status) judges it, the workload part of
    what C(cilium status --wait) checks for Cilium (agent and Envoy DaemonSets, operator, Hubble relay and UI) and
    what fits the Dapr control plane. In every case the controller must have seen the latest spec
    (C(observedGeneration)).
  - A Deployment is rolled out when every replica runs the current template, no old replica is left (not even one
    pending termination) and every updated replica is available.
  - A DaemonSet is rolled out when the pod of every node that should run one runs the current template and is
    available.
  - A StatefulSet is rolled out when every replica is ready and runs the update revision. With
    C(updateStrategy.rollingUpdate.partition) only the replicas from that ordinal up are updated, and the rollout
    counts as done once they are, as kubectl counts it.
  - Fails at once, naming the workload, when it cannot finish rolling out by itself. A Deployment whose
    C(Progressing) condition has reason C(ProgressDeadlineExceeded) fails as C(kubectl rollout status) does. A paused
    Deployment (C(spec.paused)) that is not rolled out fails with the hint to run C(kubectl rollout resume); a paused
    Deployment that is rolled out passes.
  - C(kubectl rollout status) refuses to judge C(updateStrategy) C(OnDelete). Here a DaemonSet or StatefulSet with
    C(OnDelete) fails at once while any of its pods runs an old template or revision, since the controller only
    replaces a pod that someone deletes; without such pods it is judged like a rolling one, so pods still being
    created are waited for and a workload whose pods are all updated and ready (available for a DaemonSet) passes.
  - Stops early when a pod in a namespace of the workloads matching O(pod_selector) has failed or waits in C(CrashLoopBackOff) or an
    image pull error, and fails with that reason instead of running into the timeout.
  - After O(timeout) seconds it fails naming every workload that is not rolled out, each with its reason.
  - Never changes anything.
author:
  - sidecarless.mesh maintainers (@sidecarless)
requirements:
  - kubernetes >= 24.2.0
extends_documentation_fragment:
  - sidecarless.mesh.k8s_connection
options:
  namespace:
    description:
      - Namespace of the workloads given as C(Kind/name).
      - Needed unless every workload names its namespace.
    type: str
  workloads:
    description:
      - Workloads to wait for, each C(Kind/name) (in O(namespace)) or C(namespace/Kind/name), with Kind one of
        DaemonSet, Deployment, StatefulSet.
      - One call can wait for workloads in many namespaces. Each look at the cluster reads a workload with one
        request, or the workloads of one kind and namespace with one list when there are several of them.
    type: list
    elements: str
    required: true
  pod_selector:
    description: Label selector of the pods to watch for failures; empty disables the early failure.
    type: str
    default: ""
  workload_selector:
    description:
      - Label selector the workloads carry. With it, each look reads the workloads of one kind with one list
        across all namespaces (100 Dapr Shared instances in 25 namespaces take one request a look, not 25); a
        workload the list does not hold is then read by name.
      - Empty reads per namespace, as described under O(workloads).
    type: str
    default: ""
  timeout:
    description: Seconds to wait.
    type: int
    default: 600
  interval:
    description: Seconds between polls.
    type: int
    default: 5
  hint:
    description:
      - Text added to the failure message, saying what a rollout that does not finish usually means for these
        workloads (the roles pass what the rendered mesh knows, for example which Service a daprd waits for).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Only reads; in check mode it reports the current state without waiting.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: all
    description: Runs where the Kubernetes API is reachable, usually the controller (localhost).
"""

EXAMPLES = r"""
- name: Wait for Cilium like cilium status --wait
  sidecarless.mesh.rollout_status:
    namespace: kube-system
    workloads: [DaemonSet/cilium, DaemonSet/cilium-envoy, Deployment/cilium-operator, Deployment/hubble-relay]
    pod_selector: app.kubernetes.io/part-of=cilium
    timeout: 600

- name: Wait for daprd instances in several namespaces in one call
  sidecarless.mesh.rollout_status:
    workloads: [shop/Deployment/cart-shared-dapr-shared-chart, edge/DaemonSet/ingress-shared-dapr-shared-chart]
    pod_selector: app.kubernetes.io/name=dapr-shared-chart
    workload_selector: app.kubernetes.io/name=dapr-shared-chart
"""

RETURN = r"""
ready:
  description: Workloads that are rolled out.
  returned: always
  type: list
  elements: str
pending:
  description: Workloads that are not, each with the reason, including why one cannot roll out by itself.
  returned: always
  type: dict
  sample: {"DaemonSet/cilium": "2 of 3 pods are available"}
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import time

from ansible_collections.sidecarless.mesh.plugins.module_utils import readiness
from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s_client import (
    CoreException,
    DynamicApiError,
    NotFoundError,
    TransportError,
    api_client,
    module_with_auth,
    reason,
    require_k8s_core,
)

API_VERSIONS = {"DaemonSet": "apps/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1"}

OPTIONS = dict(
    namespace=dict(type="str"),
    workloads=dict(type="list", elements="str", required=True),
    pod_selector=dict(type="str", default=""),
    workload_selector=dict(type="str", default=""),
    timeout=dict(type="int", default=600),
    interval=dict(type="int", default=5),
    hint=dict(type="str", default=""),
)


def parse_workloads(module):
    """[(namespace, kind, name, key)]: ``key`` is how results and messages name the workload."""
    result = []
    for text in module.params["workloads"]:
        parts = text.split("/")
        if len(parts) == 2:
            namespace, (kind, name), key = module.params["namespace"], parts, text
        elif len(parts) == 3:
            (namespace, kind, name), key = parts, text
        else:
            namespace = kind = name = key = None
        if kind not in API_VERSIONS or not name or (len(parts) == 3 and not namespace):
            module.fail_json(msg="workloads: %r must be Kind/name or namespace/Kind/name with Kind one of %s" % (
                text, ", ".join(sorted(API_VERSIONS))))
        if not namespace:
            module.fail_json(msg="workloads: %r names no namespace, and the namespace option is not set" % text)
        result.append((namespace, kind, name, key))
    return result


def _read(client, workloads, selector=""):
    """{(namespace, kind, name): object or None}: one GET per workload alone in its kind and namespace, one list
    for several (100 Dapr Shared instances in 25 namespaces take 25 requests a look, not 100); with ``selector``,
    one list per kind across namespaces, and a GET for each workload it does not hold."""
    groups = {}
    found = {}
    if selector:
        for kind in sorted(set(w[1] for w in workloads)):
            items = client.resource(kind, API_VERSIONS[kind]).get(label_selector=selector).to_dict().get("items") or []
            listed = dict(((item["metadata"]["namespace"], item["metadata"]["name"]), item) for item in items)
            for namespace, wanted_kind, name, _key in workloads:
                if wanted_kind == kind and (namespace, name) in listed:
                    found[(namespace, kind, name)] = listed[(namespace, name)]
        workloads = [w for w in workloads if (w[0], w[1], w[2]) not in found]
    for namespace, kind, name, _key in workloads:
        groups.setdefault((namespace, kind), []).append(name)
    for (namespace, kind), names in groups.items():
        resource = client.resource(kind, API_VERSIONS[kind])
        if len(names) == 1:
            try:
                found[(namespace, kind, names[0])] = resource.get(name=names[0], namespace=namespace).to_dict()
            except NotFoundError:
                found[(namespace, kind, names[0])] = None
            continue
        items = resource.get(namespace=namespace).to_dict().get("items") or []
        by_name = dict((item["metadata"]["name"], item) for item in items)
        for name in names:
            found[(namespace, kind, name)] = by_name.get(name)
    return found


def poll(client, workloads, pod_selector, workload_selector=""):
    """(ready, pending, fatal) for one look at the cluster.

    ``fatal`` lists the reasons waiting will not help: workloads that cannot roll out by themselves, each named,
    then the first pod that will not recover.
    """
    ready, pending, fatal = [], {}, []
    found = _read(client, workloads, workload_selector)
    for namespace, kind, name, key in workloads:
        problem = readiness.workload_problem(found[(namespace, kind, name)])
        if problem:
            pending[key] = str(problem)
            if problem.fatal:
                fatal.append("%s: %s" % (key, problem))
        else:
            ready.append(key)
    if pending and pod_selector:
        namespaces = sorted(set(w[0] for w in workloads))
        pods = client.resource("Pod", "v1").get(namespace=namespaces[0] if len(namespaces) == 1 else None,
                                                label_selector=pod_selector).to_dict()
        for pod in pods.get("items") or []:
            if pod["metadata"].get("namespace") not in namespaces:
                continue
            trouble = readiness.pod_problem(pod)
            if trouble:
                fatal.append(trouble)
                break
    return ready, pending, fatal


def main():
    require_k8s_core()
    module = module_with_auth(OPTIONS)
    params = module.params
    workloads = parse_workloads(module)
    namespaces = sorted(set(w[0] for w in workloads))
    where = namespaces[0] if len(namespaces) == 1 else "namespaces " + ", ".join(namespaces)
    start = time.time()
    try:
        client = api_client(module)
        while True:
            ready, pending, fatal = poll(client, workloads, params["pod_selector"], params["workload_selector"])
            waited = round(time.time() - start, 1)
            result = dict(changed=False, ready=ready, pending=pending, waited=waited)
            if not pending or module.check_mode:
                module.exit_json(**result)
            hint = (" (%s)" % params["hint"]) if params["hint"] else ""
            if fatal:
                module.fail_json(msg="not ready in %s: %s%s" % (where, "; ".join(fatal), hint), **result)
            if waited >= params["timeout"]:
                module.fail_json(msg="not ready after %d s in %s: %s%s" % (
                    params["timeout"], where,
                    "; ".join("%s: %s" % item for item in sorted(pending.items())), hint), **result)
            time.sleep(max(0.1, min(params["interval"], params["timeout"] - waited)))
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    except DynamicApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % reason(exc))


if __name__ == "__main__":
    main()
