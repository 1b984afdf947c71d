# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness rules on workloads as the API server returns them (kubectl rollout status, cilium status --wait)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import readiness

#: What the API server returns for a rolled-out hubble-relay Deployment (defaults filled in, trimmed of the pod
#: template and managedFields, which the rules do not read).
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "hubble-relay", "namespace": "kube-system", "generation": 3,
                 "annotations": {"deployment.kubernetes.io/revision": "3"}},
    "spec": {"replicas": 3, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
             "selector": {"matchLabels": {"k8s-app": "hubble-relay"}},
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}},
    "status": {
        "observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability.",
             "lastUpdateTime": "2025-05-02T10:00:10Z", "lastTransitionTime": "2025-05-02T10:00:10Z"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": 'ReplicaSet "hubble-relay-6b9f7c8d4f" has successfully progressed.',
             "lastUpdateTime": "2025-05-02T10:04:31Z", "lastTransitionTime": "2025-05-02T10:00:02Z"},
        ],
    },
}

#: A rolled-out cilium agent DaemonSet on three nodes.
DAEMONSET = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "cilium", "namespace": "kube-system", "generation": 2},
    "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": {"k8s-app": "cilium"}},
             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}}},
    "status": {"observedGeneration": 2, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
               "numberMisscheduled": 0, "updatedNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3},
}

#: A rolled-out dapr-scheduler StatefulSet.
STATEFULSET = {
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "dapr-scheduler-server", "namespace": "dapr-system", "generation": 2},
    "spec": {"replicas": 3, "podManagementPolicy": "Parallel", "revisionHistoryLimit": 10,
             "serviceName": "dapr-scheduler-server",
             "selector": {"matchLabels": {"app": "dapr-scheduler-server"}},
             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
    "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3,
               "currentReplicas": 3, "updatedReplicas": 3, "collisionCount": 0,
               "currentRevision": "dapr-scheduler-server-5d8c9b7f6c",
               "updateRevision": "dapr-scheduler-server-5d8c9b7f6c"},
}


def workload(base, spec=None, status=None, **metadata):
    """A copy of ``base`` with fields of metadata, spec and status replaced (None removes a field)."""
    obj = copy.deepcopy(base)
    for part, changes in (("metadata", metadata), ("spec", spec or {}), ("status", status or {})):
        for key, value in changes.items():
            if value is None:
                obj[part].pop(key, None)
            else:
                obj[part][key] = value
    return obj


def waiting(obj, message):
    problem = readiness.workload_problem(obj)
    assert problem == message
    assert problem.fatal is False


def fatal(obj, *fragments):
    problem = readiness.workload_problem(obj)
    assert problem is not None and problem.fatal is True, problem
    for fragment in fragments:
        assert fragment in problem


@pytest.mark.parametrize("obj", [DEPLOYMENT, DAEMONSET, STATEFULSET], ids=lambda obj: obj["kind"])
def test_rolled_out_workloads_are_ready(obj):
    assert readiness.workload_problem(obj) is None


def test_a_missing_workload_is_waited_for():
    waiting(None, "does not exist")


def test_a_problem_is_its_message():
    problem = readiness.workload_problem(workload(DEPLOYMENT, status={"updatedReplicas": 1}))
    assert isinstance(problem, str) and str(problem) == "1 of 3 replicas run the current template"


# Deployment: kubectl's DeploymentStatusViewer


def test_deployment_waits_until_its_generation_is_observed():
    waiting(workload(DEPLOYMENT, generation=4), "the controller has not seen generation 4 yet")


def test_deployment_waits_for_replicas_on_the_new_template():
    # Mid-rollout: one new pod surged, the old ReplicaSet still holds three.
    obj = workload(DEPLOYMENT, generation=4, status={
        "observedGeneration": 4, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3,
        "unavailableReplicas": 1})
    waiting(obj, "1 of 3 replicas run the current template")


def test_deployment_waits_while_old_replicas_are_pending_termination():
    # Every new replica is up, the last old pod is still terminating: the old rules said rolled out.
    obj = workload(DEPLOYMENT, generation=4, status={
        "observedGeneration": 4, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 4})
    waiting(obj, "1 old replicas are pending termination")


def test_deployment_waits_until_updated_replicas_are_available():
    # minReadySeconds: the third new pod is ready but not available yet.
    obj = workload(DEPLOYMENT, status={"readyReplicas": 3, "availableReplicas": 2, "unavailableReplicas": 1})
    waiting(obj, "2 of 3 updated replicas are available")


def test_deployment_past_its_progress_deadline_fails_at_once():
    obj = workload(DEPLOYMENT, generation=4, status={
        "observedGeneration": 4, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3,
        "unavailableReplicas": 1,
        "conditions": [
            DEPLOYMENT["status"]["conditions"][0],
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "hubble-relay-7f5d9c6b8" has timed out progressing.',
             "lastUpdateTime": "2025-05-02T10:20:02Z", "lastTransitionTime": "2025-05-02T10:20:02Z"}]})
    fatal(obj, "exceeded its progress deadline", 'ReplicaSet "hubble-relay-7f5d9c6b8" has timed out progressing.')


def test_a_stale_progress_deadline_is_not_judged_before_the_new_generation_is_observed():
    # kubectl reads the condition only once the controller saw the spec; a new spec restarts the progress clock.
    obj = workload(DEPLOYMENT, generation=5, status={"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": 'ReplicaSet "hubble-relay-7f5d9c6b8" has timed out progressing.'}]})
    waiting(obj, "the controller has not seen generation 5 yet")


def test_paused_deployment_that_is_not_rolled_out_fails_at_once():
    # Paused before the template change: the controller observes the spec but creates no new ReplicaSet.
    obj = workload(DEPLOYMENT, spec={"paused": True}, generation=5, status={
        "observedGeneration": 5, "replicas": 3, "updatedReplicas": 0, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [
            DEPLOYMENT["status"]["conditions"][0],
            {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
             "message": "Deployment is paused"}]})
    fatal(obj, "paused: resume it with kubectl rollout resume", "0 of 3 replicas run the current template")


def test_paused_deployment_that_is_rolled_out_is_ready():
    assert readiness.workload_problem(workload(DEPLOYMENT, spec={"paused": True})) is None


def test_deployment_without_replicas_takes_the_api_default_of_one():
    obj = workload(DEPLOYMENT, spec={"replicas": None}, status={
        "replicas": 0, "updatedReplicas": 0, "readyReplicas": 0, "availableReplicas": 0})
    waiting(obj, "0 of 1 replicas run the current template")


def test_deployment_scaled_to_zero_waits_for_its_pods_to_go():
    obj = workload(DEPLOYMENT, spec={"replicas": 0}, status={
        "replicas": 2, "updatedReplicas": 0, "readyReplicas": 2, "availableReplicas": 2})
    waiting(obj, "2 old replicas are pending termination")


# DaemonSet: kubectl's DaemonSetStatusViewer, and a decision for OnDelete


def test_daemonset_waits_until_its_generation_is_observed():
    waiting(workload(DAEMONSET, generation=3), "the controller has not seen generation 3 yet")


def test_daemonset_waits_for_pods_on_the_new_template():
    obj = workload(DAEMONSET, generation=3, status={
        "observedGeneration": 3, "updatedNumberScheduled": 1, "numberReady": 2, "numberAvailable": 2,
        "numberUnavailable": 1})
    waiting(obj, "1 of 3 pods run the current template")


def test_daemonset_waits_until_every_pod_is_available():
    obj = workload(DAEMONSET, status={"numberReady": 3, "numberAvailable": 2, "numberUnavailable": 1})
    waiting(obj, "2 of 3 pods are available")


def test_daemonset_on_delete_with_old_pods_fails_at_once():
    # The template changed; with OnDelete the controller waits for someone to delete the two old pods.
    obj = workload(DAEMONSET, spec={"updateStrategy": {"type": "OnDelete"}}, generation=3, status={
        "observedGeneration": 3, "updatedNumberScheduled": 1})
    fatal(obj, "updateStrategy OnDelete: 2 of 3 pods run an old template", "delete", "kubectl delete pod")


def test_daemonset_on_delete_with_every_pod_updated_and_available_is_ready():
    obj = workload(DAEMONSET, spec={"updateStrategy": {"type": "OnDelete"}})
    assert readiness.workload_problem(obj) is None


def test_fresh_on_delete_daemonset_is_waited_for_while_its_pods_start():
    # Right after creation: no old pod anywhere, the new ones are not counted yet.
    obj = workload(DAEMONSET, spec={"updateStrategy": {"type": "OnDelete"}}, generation=1, status={
        "observedGeneration": 1, "currentNumberScheduled": 0, "updatedNumberScheduled": 0, "numberReady": 0,
        "numberAvailable": 0, "numberUnavailable": 3})
    waiting(obj, "0 of 3 pods run the current template")


def test_daemonset_without_update_strategy_takes_the_api_default_rolling_update():
    obj = workload(DAEMONSET, spec={"updateStrategy": None}, status={"updatedNumberScheduled": 2})
    waiting(obj, "2 of 3 pods run the current template")


# StatefulSet: kubectl's StatefulSetStatusViewer, and a decision for OnDelete


@pytest.mark.parametrize("status", [{"observedGeneration": None}, {"observedGeneration": 1}])
def test_statefulset_waits_until_its_generation_is_observed(status):
    waiting(workload(STATEFULSET, status=status), "the controller has not seen generation 2 yet")


def test_statefulset_waits_until_every_replica_is_ready():
    obj = workload(STATEFULSET, status={"readyReplicas": 1, "availableReplicas": 1})
    waiting(obj, "1 of 3 pods are ready")


def test_statefulset_waits_for_pods_on_the_update_revision():
    obj = workload(STATEFULSET, generation=3, status={
        "observedGeneration": 3, "currentReplicas": 1, "updatedReplicas": 2,
        "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    waiting(obj, "2 of 3 pods run the update revision dapr-scheduler-server-7c4f8d9b5")


def test_partitioned_statefulset_is_done_when_the_pods_from_the_partition_up_are_updated():
    # partition 2: only ordinal 2 gets the new revision; kubectl calls that done. The old rules waited forever.
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}},
                   generation=3, status={"observedGeneration": 3, "currentReplicas": 2, "updatedReplicas": 1,
                                         "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    assert readiness.workload_problem(obj) is None


def test_partitioned_statefulset_says_what_it_waits_for():
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
                   generation=3, status={"observedGeneration": 3, "currentReplicas": 2, "updatedReplicas": 1,
                                         "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    waiting(obj, "1 of 2 pods run the update revision dapr-scheduler-server-7c4f8d9b5 (rollingUpdate.partition 1: "
                 "the rollout is done when the pods from ordinal 1 up are updated)")


def test_statefulset_without_rolling_update_parameters_compares_revisions():
    # type RollingUpdate given without rollingUpdate: the API server leaves rollingUpdate unset, and kubectl
    # compares the revisions; every pod is updated and ready but the controller has not moved currentRevision yet.
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "RollingUpdate"}}, generation=3, status={
        "observedGeneration": 3, "currentReplicas": 0, "updatedReplicas": 3,
        "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    waiting(obj, "rolling update to revision dapr-scheduler-server-7c4f8d9b5 not complete: 3 of 3 pods updated, "
                 "current revision dapr-scheduler-server-5d8c9b7f6c")
    done = workload(obj, status={"currentReplicas": 3, "currentRevision": "dapr-scheduler-server-7c4f8d9b5"})
    assert readiness.workload_problem(done) is None


def test_statefulset_on_delete_with_old_pods_fails_at_once():
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "OnDelete"}}, generation=3, status={
        "observedGeneration": 3, "currentReplicas": 3, "updatedReplicas": 0,
        "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    fatal(obj, "updateStrategy OnDelete: 3 of 3 pods run an old revision", "kubectl delete pod")


def test_statefulset_on_delete_with_every_pod_updated_and_ready_is_ready():
    # With OnDelete the controller never moves currentRevision: only the updated count tells.
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "OnDelete"}}, generation=3, status={
        "observedGeneration": 3, "currentReplicas": 0, "updatedReplicas": 3,
        "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    assert readiness.workload_problem(obj) is None


def test_statefulset_on_delete_waits_for_a_recreated_pod_to_get_ready():
    obj = workload(STATEFULSET, spec={"updateStrategy": {"type": "OnDelete"}}, generation=3, status={
        "observedGeneration": 3, "readyReplicas": 2, "currentReplicas": 0, "updatedReplicas": 3,
        "updateRevision": "dapr-scheduler-server-7c4f8d9b5"})
    waiting(obj, "2 of 3 pods are ready")


def test_statefulset_without_update_strategy_takes_the_api_default_partition():
    # The API server turns a missing updateStrategy into RollingUpdate with partition 0.
    obj = workload(STATEFULSET, spec={"updateStrategy": None}, status={"updatedReplicas": 2})
    waiting(obj, "2 of 3 pods run the update revision dapr-scheduler-server-5d8c9b7f6c")


def test_an_unknown_kind_is_fatal():
    fatal({"kind": "ReplicaSet", "metadata": {}, "spec": {}, "status": {}}, "ReplicaSet")


# Pods: what cilium status --wait counts as errors, kept from before


def test_a_pod_whose_init_container_cannot_pull_its_image_ends_the_wait():
    pod = {"metadata": {"name": "cilium-7xk2p"}, "status": {
        "phase": "Pending",
        "initContainerStatuses": [{"name": "config", "ready": False, "restartCount": 0, "state": {"waiting": {
            "reason": "ImagePullBackOff",
            "message": 'Back-off pulling image "quay.io/cilium/cilium:v1.99.0"'}}}],
        "containerStatuses": [{"name": "cilium-agent", "ready": False, "restartCount": 0,
                               "state": {"waiting": {"reason": "PodInitializing"}}}]}}
    assert readiness.pod_problem(pod) == ('pod cilium-7xk2p container config: ImagePullBackOff '
                                          '(Back-off pulling image "quay.io/cilium/cilium:v1.99.0")')


def test_a_running_pod_does_not_end_the_wait():
    pod = {"metadata": {"name": "cilium-7xk2p"}, "status": {
        "phase": "Running",
        "containerStatuses": [{"name": "cilium-agent", "ready": True, "restartCount": 1,
                               "state": {"running": {"startedAt": "2025-05-02T10:01:00Z"}}}]}}
    assert readiness.pod_problem(pod) is None
