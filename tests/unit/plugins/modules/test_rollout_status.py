# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollout_status against the real test control plane (tests/controlplane), and the readiness rules."""

from __future__ import annotations

import time

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import readiness
from ansible_collections.sidecarless.mesh.plugins.modules import rollout_status
from module_runner import run_module


NS = "kube-system"


def daemonset(name, labels=None):
    labels = labels or {"app.kubernetes.io/part-of": "cilium", "k8s-app": name}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "tolerations": [{"operator": "Exists"}],
                         "containers": [{"name": "agent", "image": "quay.io/cilium/cilium:v1.20.0"}]}}}}


def deployment(name, replicas=2, **spec):
    labels = {"app.kubernetes.io/part-of": "cilium", "name": name}
    body = {"replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "operator", "image": "quay.io/cilium/operator-generic:v1.20.0"}]}}}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS}, "spec": body}


def run(kube, **args):
    base = dict(kubeconfig=kube.kubeconfig_path, namespace=NS, interval=1,
                workloads=["DaemonSet/cilium", "Deployment/cilium-operator"],
                pod_selector="app.kubernetes.io/part-of=cilium")
    base.update(args)
    return run_module(rollout_status.main, base)


@pytest.mark.cluster
def test_waits_until_the_rollout_finishes_and_then_passes(kube):
    kube.put(daemonset("cilium"))
    kube.put(deployment("cilium-operator"))
    result = run(kube, timeout=60)
    assert result.get("failed") is not True, result
    assert result["ready"] == ["DaemonSet/cilium", "Deployment/cilium-operator"] and result["pending"] == {}
    assert result["waited"] >= 1, "right after creation the controllers have not reported yet"
    live = kube.get("DaemonSet", "cilium", NS)
    assert live["status"]["numberAvailable"] == live["status"]["desiredNumberScheduled"] == 3


@pytest.mark.cluster
def test_workloads_in_several_namespaces_are_read_with_one_list_per_kind_and_namespace(kube):
    names = {"team-a": ["app0", "app1", "app2"], "team-b": ["app3"]}
    for namespace, apps in names.items():
        kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for app in apps:
            obj = deployment(app, replicas=1)
            obj["metadata"]["namespace"] = namespace
            kube.put(obj)
    workloads = ["%s/Deployment/%s" % (ns, app) for ns, apps in sorted(names.items()) for app in apps]
    kube.wait(lambda: all(((kube.get("Deployment", w.split("/")[2], w.split("/")[0]) or {}).get("status") or {})
                          .get("availableReplicas") for w in workloads), 60, "the deployments to be available")
    start = len(kube.requests())
    result = run(kube, namespace=None, workloads=workloads, timeout=30)
    assert result.get("failed") is not True, result
    assert result["ready"] == workloads and result["pending"] == {}
    reads = [r for r in kube.requests()[start:] if r[1] == "deployments"]
    assert sorted(r[0] for r in reads) == ["get", "list"], \
        "one list for team-a's three, one get for team-b's one: %s" % reads

    result = run(kube, namespace=None, workloads=workloads + ["team-b/Deployment/missing"], timeout=2)
    assert result["failed"] is True
    assert "not ready after 2 s in namespaces team-a, team-b: team-b/Deployment/missing: does not exist" \
        in result["msg"], result["msg"]


@pytest.mark.cluster
def test_with_a_workload_selector_each_look_reads_a_kind_with_one_list_across_namespaces(kube):
    placed = {"team-a": ["app0", "app1"], "team-b": ["app2"], "team-c": ["app3"]}
    for namespace, apps in placed.items():
        kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for app in apps:
            obj = deployment(app, replicas=1)
            obj["metadata"]["namespace"] = namespace
            if app != "app3":  # one the selector misses (a nameOverride, say): read by name instead
                obj["metadata"]["labels"] = {"app.kubernetes.io/name": "dapr-shared-chart"}
            kube.put(obj)
    workloads = ["%s/Deployment/%s" % (ns, app) for ns, apps in sorted(placed.items()) for app in apps]
    kube.wait(lambda: all(((kube.get("Deployment", w.split("/")[2], w.split("/")[0]) or {}).get("status") or {})
                          .get("availableReplicas") for w in workloads), 60, "the deployments to be available")
    start = len(kube.requests())
    result = run(kube, namespace=None, workloads=workloads, timeout=30,
                 workload_selector="app.kubernetes.io/name=dapr-shared-chart")
    assert result.get("failed") is not True, result
    assert result["ready"] == workloads and result["pending"] == {}
    reads = [r for r in kube.requests()[start:] if r[1] == "deployments"]
    assert sorted(r[0] for r in reads) == ["get", "list"], \
        "one list across three namespaces, one get for the workload without the label: %s" % reads
    assert "labelSelector=" in [r for r in reads if r[0] == "list"][0][2]


@pytest.mark.cluster
def test_timeout_names_what_is_pending(bare_cluster):
    bare_cluster.put(deployment("cilium-operator", replicas=1))  # nodes without a CNI: its pod cannot start
    result = run(bare_cluster, timeout=3)
    assert result["failed"] is True
    assert "Deployment/cilium-operator: 0 of 1 updated replicas are available" in result["msg"], result["msg"]
    assert "DaemonSet/cilium: does not exist" in result["msg"]


@pytest.mark.cluster
def test_a_crash_looping_pod_fails_early_with_its_reason(kube):
    kube.put(daemonset("cilium"))
    kube.put(deployment("cilium-operator", replicas=1, paused=False))
    kube.client.create("/api/v1/namespaces/%s/pods" % NS, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "cilium-x1", "labels": {"app.kubernetes.io/part-of": "cilium"}},
        "spec": {"nodeName": "a-node-nobody-simulates", "containers": [{"name": "cilium-agent", "image": "x"}]}})
    # What a kubelet reports for a container that keeps crashing.
    kube.client.merge_patch("/api/v1/namespaces/%s/pods/cilium-x1/status" % NS, {"status": {
        "phase": "Running", "containerStatuses": [{
            "name": "cilium-agent", "image": "x", "imageID": "", "ready": False, "restartCount": 6,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]}})
    kube.put(dict(daemonset("cilium"), spec=dict(daemonset("cilium")["spec"], minReadySeconds=600)))
    start = time.time()
    result = run(kube, timeout=120)
    assert result["failed"] is True and time.time() - start < 30, result
    assert "pod cilium-x1 container cilium-agent: CrashLoopBackOff (back-off 5m0s)" in result["msg"], result["msg"]


@pytest.mark.cluster
def test_a_deployment_past_its_progress_deadline_fails_at_once(bare_cluster):
    bare_cluster.put(deployment("cilium-operator", replicas=1, progressDeadlineSeconds=1))
    bare_cluster.wait(lambda: any(c.get("reason") == "ProgressDeadlineExceeded" for c in (
        (bare_cluster.get("Deployment", "cilium-operator", NS) or {}).get("status") or {}).get("conditions") or []),
        60, "the deployment controller to give up")
    start = time.time()
    result = run(bare_cluster, workloads=["Deployment/cilium-operator"], timeout=120)
    assert result["failed"] is True and time.time() - start < 20, result
    assert "progress deadline" in result["msg"], result["msg"]


@pytest.mark.cluster
def test_a_paused_deployment_fails_at_once_with_the_way_out(kube):
    kube.put(deployment("cilium-operator", replicas=1, paused=True))
    start = time.time()
    result = run(kube, workloads=["Deployment/cilium-operator"], timeout=120)
    assert result["failed"] is True and time.time() - start < 20, result
    assert "kubectl rollout resume" in result["msg"], result["msg"]


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


def test_bad_workload_spec_is_refused(tmp_path):
    result = run_module(rollout_status.main, dict(kubeconfig=str(tmp_path / "none"), namespace=NS,
                                                  workloads=["Pod/cilium"]))
    assert result["failed"] and "must be Kind/name or namespace/Kind/name" in result["msg"]
    result = run_module(rollout_status.main, dict(kubeconfig=str(tmp_path / "none"), workloads=["Deployment/a"]))
    assert result["failed"] and "names no namespace, and the namespace option is not set" in result["msg"]


def _deployment_status(replicas, ready):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": 1, "updatedReplicas": replicas, "readyReplicas": ready,
                       "availableReplicas": ready}}


@pytest.mark.parametrize("obj,expected", [
    (_deployment_status(3, 3), None),
    (_deployment_status(3, 1), "1 of 3 updated replicas are available"),
    ({"kind": "DaemonSet", "metadata": {"generation": 3}, "status": {"observedGeneration": 2}},
     "the controller has not seen generation 3 yet"),
    ({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 3},
      "status": {"observedGeneration": 1, "updatedReplicas": 3, "readyReplicas": 3}}, None),
])
def test_workload_rules(obj, expected):
    assert readiness.workload_problem(obj) == expected
