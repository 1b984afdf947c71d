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
  - Stops early when a pod in O(namespace) matching O(pod_selector) has failed or waits in C(CrashLoopBackOff) or an
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
    description: Namespace of the workloads.
    type: str
    required: true
  workloads:
    description: Workloads to wait for, each C(Kind/name) with Kind one of DaemonSet, Deployment, StatefulSet.
    type: list
    elements: str
    required: true
  pod_selector:
    description: Label selector of the pods to watch for failures; empty disables the early failure.
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
    namespace=dict(type="str", required=True),
    workloads=dict(type="list", elements="str", required=True),
    pod_selector=dict(type="str", default=""),
    timeout=dict(type="int", default=600),
    interval=dict(type="int", default=5),
    hint=dict(type="str", default=""),
)


def parse_workloads(module):
    result = []
    for text in module.params["workloads"]:
        kind, name = text.partition("/")[::2]
        if kind not in API_VERSIONS or not name:
            module.fail_json(msg="workloads: %r must be Kind/name with Kind one of %s" % (
                text, ", ".join(sorted(API_VERSIONS))))
        result.append((kind, name))
    return result


def poll(client, namespace, workloads, pod_selector):
    """(ready, pending, fatal) for one look at the cluster.

    ``fatal`` lists the reasons waiting will not help: workloads that cannot roll out by themselves, each named,
    then the first pod that will not recover.
    """
    ready, pending, fatal = [], {}, []
    for kind, name in workloads:
        resource = client.resource(kind, API_VERSIONS[kind])
        try:
            obj = resource.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            obj = None
        problem = readiness.workload_problem(obj)
        key = "%s/%s" % (kind, name)
        if problem:
            pending[key] = str(problem)
            if problem.fatal:
                fatal.append("%s: %s" % (key, problem))
        else:
            ready.append(key)
    if pending and pod_selector:
        pods = client.resource("Pod", "v1").get(namespace=namespace, label_selector=pod_selector).to_dict()
        for pod in pods.get("items") or []:
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
    start = time.time()
    try:
        client = api_client(module)
        while True:
            ready, pending, fatal = poll(client, params["namespace"], workloads, params["pod_selector"])
            waited = round(time.time() - start, 1)
            result = dict(changed=False, ready=ready, pending=pending, waited=waited)
            if not pending or module.check_mode:
                module.exit_json(**result)
            hint = (" (%s)" % params["hint"]) if params["hint"] else ""
            if fatal:
                module.fail_json(msg="not ready in %s: %s%s" % (params["namespace"], "; ".join(fatal), hint),
                                 **result)
            if waited >= params["timeout"]:
                module.fail_json(msg="not ready after %d s in %s: %s%s" % (
                    params["timeout"], params["namespace"],
                    "; ".join("%s: %s" % item for item in sorted(pending.items())), hint), **result)
            time.sleep(max(0.1, min(params["interval"], params["timeout"] - waited)))
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    except DynamicApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % reason(exc))


if __name__ == "__main__":
    main()
