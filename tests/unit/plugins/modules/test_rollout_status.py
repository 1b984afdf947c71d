# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollout_status against an emulated API server, and the readiness rules."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import readiness
from ansible_collections.sidecarless.mesh.plugins.modules import rollout_status
from module_runner import run_module


def daemonset(name, desired=3, updated=3, ready=3, generation=2, observed=2):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "kube-system", "generation": generation},
            "status": {"observedGeneration": observed, "desiredNumberScheduled": desired,
                       "updatedNumberScheduled": updated, "numberReady": ready, "numberAvailable": ready}}


def deployment(name, replicas=2, ready=2):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "kube-system", "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "updatedReplicas": replicas, "readyReplicas": ready,
                       "availableReplicas": ready}}


def run(api, **args):
    base = dict(kubeconfig=api.kubeconfig_path, namespace="kube-system", interval=1,
                workloads=["DaemonSet/cilium", "Deployment/cilium-operator"],
                pod_selector="app.kubernetes.io/part-of=cilium")
    base.update(args)
    return run_module(rollout_status.main, base)


def test_ready_workloads_pass_at_once(api):
    api.put(daemonset("cilium"))
    api.put(deployment("cilium-operator"))
    result = run(api, timeout=5)
    assert result.get("failed") is not True, result
    assert result["ready"] == ["DaemonSet/cilium", "Deployment/cilium-operator"] and result["pending"] == {}


def test_waits_until_a_rollout_finishes(api):
    api.put(daemonset("cilium", ready=1))
    api.put(deployment("cilium-operator"))

    def finish():
        time.sleep(1.5)
        api.put(daemonset("cilium"))

    threading.Thread(target=finish).start()
    result = run(api, timeout=20)
    assert result.get("failed") is not True, result
    assert result["waited"] >= 1


def test_timeout_names_what_is_pending(api):
    api.put(daemonset("cilium", updated=1))
    result = run(api, timeout=2)
    assert result["failed"] is True
    assert "DaemonSet/cilium: 1 of 3 pods run the current template" in result["msg"]
    assert "Deployment/cilium-operator: does not exist" in result["msg"]


def test_a_crash_looping_pod_fails_early_with_its_reason(api):
    api.put(daemonset("cilium", ready=2))
    api.put(deployment("cilium-operator"))
    api.put({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "cilium-x1", "namespace": "kube-system",
                          "labels": {"app.kubernetes.io/part-of": "cilium"}},
             "status": {"phase": "Running", "containerStatuses": [
                 {"name": "cilium-agent", "restartCount": 6,
                  "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]}})
    start = time.time()
    result = run(api, timeout=120)
    assert result["failed"] is True and time.time() - start < 30
    assert "pod cilium-x1 container cilium-agent: CrashLoopBackOff (back-off 5m0s)" in result["msg"]


@pytest.mark.parametrize("pod,fatal", [
    ({"status": {"phase": "Failed", "reason": "Evicted"}}, False),
    ({"status": {"phase": "Failed", "reason": "Error"}}, True),
    ({"status": {"containerStatuses": [{"name": "relay", "restartCount": 1,
                                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}, False),
    ({"status": {"containerStatuses": [{"name": "relay", "restartCount": 7,
                                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}, True),
    ({"status": {"containerStatuses": [{"name": "agent", "state": {"waiting": {"reason": "ErrImagePull"}}}]}}, False),
    ({"status": {"containerStatuses": [{"name": "agent", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}},
     True),
])
def test_only_lasting_pod_trouble_ends_the_wait_early(pod, fatal):
    pod = dict(pod, metadata={"name": "p"})
    assert (readiness.pod_problem(pod) is not None) is fatal


def test_bad_workload_spec_is_refused(api):
    result = run(api, workloads=["Pod/cilium"])
    assert result["failed"] and "must be Kind/name" in result["msg"]


@pytest.mark.parametrize("obj,expected", [
    (deployment("a", replicas=3, ready=3), None),
    (deployment("a", replicas=3, ready=1), "1 of 3 updated replicas are available"),
    (daemonset("a", generation=3, observed=2), "the controller has not seen generation 3 yet"),
    ({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 3},
      "status": {"observedGeneration": 1, "updatedReplicas": 3, "readyReplicas": 3}}, None),
])
def test_workload_rules(obj, expected):
    assert readiness.workload_problem(obj) == expected
