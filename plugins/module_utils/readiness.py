# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a workload rolled out? The rules of ``kubectl rollout status`` and ``cilium status --wait``, without I/O.

Workloads are judged as kubectl's status viewers judge them
(k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go):

- Deployment (DeploymentStatusViewer): the controller has seen the latest
  generation; the Progressing condition does not say ProgressDeadlineExceeded
  (that fails at once); every replica runs the current template, no old
  replica is left and every updated replica is available.
- DaemonSet (DaemonSetStatusViewer): the latest generation is seen and the
  pod of every node that should run one is updated and available.
- StatefulSet (StatefulSetStatusViewer): the latest generation is seen and
  every replica is ready; with ``rollingUpdate`` the replicas from ordinal
  ``partition`` up are updated (kubectl's rule: a partitioned rollout is done
  when they are), without it the current revision is the update revision.

Where kubectl cannot judge or would wait forever this module says why at
once, with a fatal :class:`Problem`: a paused Deployment that is not rolled
out, and an ``OnDelete`` DaemonSet or StatefulSet that still runs pods of an
old template (the controller only replaces a pod someone deleted). An
``OnDelete`` workload without such pods is judged like a rolling one, so a
fresh one is waited for while its pods start.

Fields the API server defaults are read with its defaults
(k8s.io/kubernetes/pkg/apis/apps/v1/defaults.go): ``spec.replicas`` 1,
``updateStrategy.type`` RollingUpdate, and a StatefulSet without an
``updateStrategy`` gets ``rollingUpdate.partition`` 0.

A pod that will not recover by itself ends the wait early with its reason
(``cilium status --wait`` counts such pods as errors): a failed pod (not an
evicted one, those linger until garbage-collected), a container that keeps
crash-looping (several restarts: hubble-relay often restarts once or twice
while its peers start) or an image that cannot be pulled or configured.
"""

from __future__ import annotations

#: Waiting reasons that do not go away by waiting (ErrImagePull may be
#: transient; it turns into ImagePullBackOff when it repeats).
BAD_WAITING_REASONS = ("ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName")
#: Restarts after which a CrashLoopBackOff counts as persistent.
CRASH_LOOP_RESTARTS = 5
#: Reason of a Deployment's Progressing condition once progressDeadlineSeconds passed without progress
#: (deploymentutil.TimedOutReason in kubectl).
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"


class Problem(str):
    """Why a workload is not rolled out: the reason (a ``str``) and whether waiting can end it.

    ``fatal`` is True when the workload cannot finish rolling out by itself
    (progress deadline exceeded, paused, ``OnDelete`` pods to delete): a
    caller should fail at once instead of waiting for its timeout.
    """

    fatal = False

    def __new__(cls, message, fatal=False):
        problem = super().__new__(cls, message)
        problem.fatal = fatal
        return problem


def _fatal(message):
    return Problem(message, fatal=True)


def _unobserved(generation):
    return Problem("the controller has not seen generation %s yet" % generation)


def _replicas(spec):
    replicas = spec.get("replicas")
    return 1 if replicas is None else replicas


def _strategy(spec):
    """updateStrategy.type, or the fatal problem of a type kubectl does not know."""
    kind = (spec.get("updateStrategy") or {}).get("type") or ROLLING_UPDATE
    if kind not in (ROLLING_UPDATE, ON_DELETE):
        return kind, _fatal("updateStrategy %s is neither %s nor %s" % (kind, ROLLING_UPDATE, ON_DELETE))
    return kind, None


def _on_delete(old, what):
    return _fatal("updateStrategy OnDelete: %d %s and are only replaced once deleted: delete them "
                  "(kubectl delete pod) to roll out" % (old, what))


def _deployment(meta, spec, status):
    generation = meta.get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return _unobserved(generation)
    progressing = [c for c in status.get("conditions") or [] if c.get("type") == "Progressing"]
    if progressing and progressing[0].get("reason") == TIMED_OUT_REASON:
        message = progressing[0].get("message")
        return _fatal("exceeded its progress deadline%s" % ((" (%s)" % message) if message else ""))
    replicas = _replicas(spec)
    updated = status.get("updatedReplicas", 0)
    waiting = None
    if updated < replicas:
        waiting = "%d of %d replicas run the current template" % (updated, replicas)
    elif status.get("replicas", 0) > updated:
        waiting = "%d old replicas are pending termination" % (status["replicas"] - updated)
    elif status.get("availableReplicas", 0) < updated:
        waiting = "%d of %d updated replicas are available" % (status.get("availableReplicas", 0), updated)
    if waiting and spec.get("paused"):
        return _fatal("paused: resume it with kubectl rollout resume; %s" % waiting)
    return Problem(waiting) if waiting else None


def _daemonset(meta, spec, status):
    generation = meta.get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return _unobserved(generation)
    strategy, problem = _strategy(spec)
    if problem:
        return problem
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    old = status.get("currentNumberScheduled", 0) - updated
    if strategy == ON_DELETE and old > 0:
        return _on_delete(old, "of %d pods run an old template" % desired)
    if updated < desired:
        return Problem("%d of %d pods run the current template" % (updated, desired))
    if available < desired:
        return Problem("%d of %d pods are available" % (available, desired))
    return None


def _statefulset(meta, spec, status):
    generation = meta.get("generation", 0)
    observed = status.get("observedGeneration", 0)
    if not observed or generation > observed:
        return _unobserved(generation)
    strategy, problem = _strategy(spec)
    if problem:
        return problem
    replicas = _replicas(spec)
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    revision = status.get("updateRevision")
    at_revision = (" %s" % revision) if revision else ""
    old = status.get("replicas", 0) - updated
    if strategy == ON_DELETE and old > 0:
        return _on_delete(old, "of %d pods run an old revision" % replicas)
    if ready < replicas:
        return Problem("%d of %d pods are ready" % (ready, replicas))
    if strategy == ON_DELETE:
        if updated < replicas:
            return Problem("%d of %d pods run the update revision%s" % (updated, replicas, at_revision))
        return None
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate")
    if rolling is None and not (spec.get("updateStrategy") or {}).get("type"):
        rolling = {}
    if rolling is not None:
        partition = rolling.get("partition") or 0
        if updated < replicas - partition:
            if partition:
                return Problem("%d of %d pods run the update revision%s (rollingUpdate.partition %d: the rollout is "
                               "done when the pods from ordinal %d up are updated)"
                               % (updated, replicas - partition, at_revision, partition, partition))
            return Problem("%d of %d pods run the update revision%s" % (updated, replicas, at_revision))
        return None
    if revision != status.get("currentRevision"):
        return Problem("rolling update to revision %s not complete: %d of %d pods updated, current revision %s"
                       % (revision, updated, replicas, status.get("currentRevision")))
    return None


_JUDGES = {"Deployment": _deployment, "DaemonSet": _daemonset, "StatefulSet": _statefulset}


def workload_problem(obj):
    """Why a workload is not rolled out yet, as a :class:`Problem`, or None when it is.

    A missing workload (``obj`` None) is waited for: it may be created soon.
    """
    if obj is None:
        return Problem("does not exist")
    judge = _JUDGES.get(obj.get("kind"))
    if judge is None:
        return _fatal("kind %s has no rollout status" % obj.get("kind"))
    return judge(obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {})


def pod_problem(pod):
    """A reason to stop waiting for a pod (it will not get better by itself), or None."""
    status = pod.get("status") or {}
    name = (pod.get("metadata") or {}).get("name")
    if status.get("phase") == "Failed" and status.get("reason") != "Evicted":
        return "pod %s failed: %s" % (name, status.get("reason") or status.get("message") or "phase Failed")
    if status.get("phase") == "Failed":
        return None
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = ((container.get("state") or {}).get("waiting") or {})
        reason = waiting.get("reason")
        persistent = reason == "CrashLoopBackOff" and container.get("restartCount", 0) >= CRASH_LOOP_RESTARTS
        if reason in BAD_WAITING_REASONS or persistent:
            return "pod %s container %s: %s%s" % (name, container.get("name"), waiting["reason"],
                                                  (" (%s)" % waiting["message"]) if waiting.get("message") else "")
    return None
