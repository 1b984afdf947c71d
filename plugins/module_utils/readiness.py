# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a workload rolled out? The rules cilium-cli's ``status --wait`` applies, without I/O.

A DaemonSet, Deployment or StatefulSet is ready when the controller has seen
its latest spec (observedGeneration) and every replica runs the current
template and is ready. A pod that will not recover by itself ends the wait
early with its reason: a failed pod (not an evicted one, those linger until
garbage-collected), a container that keeps crash-looping (several restarts:
hubble-relay often restarts once or twice while its peers start) or an
image that cannot be pulled or configured.
"""

from __future__ import annotations

#: Waiting reasons that do not go away by waiting (ErrImagePull may be
#: transient; it turns into ImagePullBackOff when it repeats).
BAD_WAITING_REASONS = ("ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName")
#: Restarts after which a CrashLoopBackOff counts as persistent.
CRASH_LOOP_RESTARTS = 5


def workload_problem(obj):
    """Why a workload is not rolled out yet, or None when it is."""
    if obj is None:
        return "does not exist"
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    generation = meta.get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return "the controller has not seen generation %s yet" % generation
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        updated = status.get("updatedNumberScheduled", 0)
        ready = status.get("numberReady", 0)
        available = status.get("numberAvailable", 0)
        if updated < desired:
            return "%d of %d pods run the current template" % (updated, desired)
        if ready < desired or available < desired:
            return "%d of %d pods are ready" % (min(ready, available), desired)
        return None
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    ready = status.get("readyReplicas", 0)
    if updated < replicas:
        return "%d of %d replicas run the current template" % (updated, replicas)
    if ready < replicas:
        return "%d of %d replicas are ready" % (ready, replicas)
    if kind == "Deployment" and status.get("availableReplicas", 0) < replicas:
        return "%d of %d replicas are available" % (status.get("availableReplicas", 0), replicas)
    return None


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
