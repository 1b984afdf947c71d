# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Cilium release change means, judged before anything changes.

``cilium_plan`` compares the deployed Cilium release (as kubernetes.core's
helm_info reports it) with the rendered one and applies the rules of
Cilium's upgrade guide:

* one minor at a time (1.18 -> 1.19 -> 1.20), never a minor downgrade;
* ``upgradeCompatibility`` set to the minor first installed, and kept in the
  release from then on (the chart keeps old defaults with it);
* the pre-flight check (the new images pulled on every node) before the new
  version (the kube-proxy migration asks for it too, see roles/cilium);
* no IPsec key rotation while the version changes;
* nothing on top of a release Helm left pending or failed.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text):
    """(major, minor, patch) of '1.19.6', 'v1.19.6' or a chart name 'cilium-1.19.6'; None otherwise."""
    text = str(text or "")
    match = _VERSION.match(text) or _VERSION.match(text.rpartition("-")[2])
    if match is None:
        # A chart name such as "cilium-1.20.0-pre.1": the version follows the last "-<digit>".
        found = re.search(r"-(\d+\.\d+\.\d+)", text)
        match = _VERSION.match(found.group(1)) if found else None
    return tuple(int(part) for part in match.groups()) if match else None


def _minor(version):
    return "%d.%d" % version[:2]


def deployed_release(info):
    """The deployed release from helm_info's result: {'status', 'version', 'values'} or None when none exists."""
    status = (info or {}).get("status") or {}
    if not status:
        return None
    return {
        "status": str(status.get("status") or ""),
        "version": parse_version(status.get("chart")),
        "values": status.get("values") or {},
        "chart": str(status.get("chart") or ""),
    }


def release_problem(info, release, allow_failed=True):
    """Why the collection must not install over the release ``info`` reports ('' when it may).

    ``info`` is helm_info's result read with ``pending`` among its ``release_state`` (without
    it Helm lists only deployed and failed releases, and a pending one looks
    absent until ``helm install`` fails on the name). A release Helm left
    pending (a run interrupted mid-operation, or one still running) needs a
    person: Helm holds no lock to tell the two apart. A failed release is
    upgraded over, as ``helm upgrade`` does, unless ``allow_failed`` is false.
    """
    deployed = deployed_release(info)
    if deployed is None or deployed["status"] in ("deployed", "superseded", "uninstalled"):
        return ""
    if deployed["status"] == "failed" and allow_failed:
        return ""
    name, namespace = release.get("name"), release.get("namespace")
    if deployed["status"].startswith("pending"):
        undo = ("helm uninstall %s -n %s" if deployed["status"] == "pending-install"
                else "helm rollback %s -n %s") % (name, namespace)
        return ("the Helm release %s/%s is '%s': a helm run on it was interrupted, or one is still running "
                "(helm history %s -n %s shows which). Once none is, run '%s' and rerun; nothing was changed." % (
                    namespace, name, deployed["status"], name, namespace, undo))
    return ("the Helm release %s/%s is '%s', not deployed: Helm left it half done (helm history %s -n %s shows "
            "why). Roll it back or finish it with helm before the collection changes it." % (
                namespace, name, deployed["status"], name, namespace))


def cilium_plan(info, release, compatibility="", rotate=False):
    """The plan for the Cilium release: what to do, the values to install, and why not (problems).

    ``info`` is helm_info's result for the release (no release: empty
    status), ``release`` the rendered release entry (name, version, values),
    ``compatibility`` the user's cilium_upgrade_compatibility ('' = derive).
    """
    target = parse_version(release.get("version"))
    values = dict(release.get("values") or {})
    deployed = deployed_release(info)
    problems = []
    plan = {"action": "install", "from": None, "to": release.get("version"), "version_change": False,
            "minor_change": False, "preflight": False, "values": values, "problems": problems}
    if target is None:
        problems.append("cilium_version %r is not a version Helm can install" % (release.get("version"),))
        return plan
    compat = str(compatibility or "")
    if deployed is not None:
        plan["action"] = "upgrade"
        current = deployed["version"]
        plan["from"] = "%d.%d.%d" % current if current else deployed["chart"]
        problem = release_problem(info, release, allow_failed=False)
        if problem:
            problems.append(problem)
        if current is None:
            problems.append("the deployed Cilium release runs chart %r, whose version cannot be read"
                            % deployed["chart"])
        else:
            plan["version_change"] = current != target
            plan["minor_change"] = current[:2] != target[:2]
            if target[:2] < current[:2]:
                problems.append(
                    "cilium_version %s is a downgrade from the running %s: the collection upgrades only. Follow "
                    "Cilium's downgrade guide (rollback with helm) instead." % (release.get("version"), plan["from"]))
            elif target[0] != current[0] or target[1] > current[1] + 1:
                problems.append(
                    "cilium_version %s skips a minor: Cilium upgrades one minor at a time. Upgrade to the latest "
                    "%d.%d patch first (set cilium_version to it and run playbooks/upgrade.yml), then to %s." % (
                        release.get("version"), current[0], current[1] + 1, release.get("version")))
            if plan["version_change"]:
                plan["preflight"] = True
                if rotate:
                    problems.append(
                        "cilium_ipsec_rotate is set while Cilium changes from %s to %s: Cilium's upgrade guide "
                        "forbids rotating keys during an upgrade. Upgrade first; rotate in a later run, once every "
                        "agent runs %s." % (plan["from"], release.get("version"), release.get("version")))
            if not compat:
                compat = str((deployed["values"] or {}).get("upgradeCompatibility") or "")
            if not compat and plan["minor_change"]:
                compat = _minor(current)
    if compat:
        values["upgradeCompatibility"] = compat
    plan["upgrade_compatibility"] = compat
    if deployed is not None and not plan["version_change"] and deployed["values"] == values \
            and deployed["status"] == "deployed":
        plan["action"] = "keep"
    return plan


def preflight_values(values, cilium_running=True):
    """Values of the pre-flight release: the agent and Envoy images of the new version, nothing else running.

    The chart schedules the check only beside a running agent (pod affinity
    to k8s-app=cilium); before Cilium's first install (leaving kube-proxy)
    it runs on every node instead.
    """
    result = {"agent": False, "operator": {"enabled": False},
              "preflight": {"enabled": True}}
    if not cilium_running:
        result["preflight"]["affinity"] = None  # null deletes the chart default; {} would merge into it
    if isinstance(values.get("image"), dict):
        result["preflight"]["image"] = dict(values["image"])
    envoy = values.get("envoy")
    if isinstance(envoy, dict) and isinstance(envoy.get("image"), dict):
        result["preflight"]["envoy"] = {"image": dict(envoy["image"])}
    for key in ("k8sServiceHost", "k8sServicePort", "kubeProxyReplacement", "imagePullSecrets", "upgradeCompatibility"):
        if key in values:
            result[key] = values[key]
    return result


def unmanaged_pods(pods, endpoints):
    """Pods that run with a network Cilium did not set up: no CiliumEndpoint of the same name, not host network.

    Only running pods with an address count: a pending pod gets its network
    from Cilium once it starts. Each entry says whether a controller owns the
    pod (deleting it then makes the controller start a managed one).
    """
    managed = set()
    for endpoint in endpoints:
        meta = (endpoint or {}).get("metadata") or {}
        managed.add((meta.get("namespace"), meta.get("name")))
    result = []
    for pod in pods:
        meta, spec, status = (pod.get("metadata") or {}), (pod.get("spec") or {}), (pod.get("status") or {})
        if spec.get("hostNetwork") or status.get("phase") != "Running" or not status.get("podIP"):
            continue
        if meta.get("deletionTimestamp") or (meta.get("namespace"), meta.get("name")) in managed:
            continue
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        result.append({"namespace": meta.get("namespace"), "name": meta.get("name"),
                       "owner": "%s/%s" % (owners[0].get("kind"), owners[0].get("name")) if owners else ""})
    return sorted(result, key=lambda p: (p["namespace"], p["name"]))
