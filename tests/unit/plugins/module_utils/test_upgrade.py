# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cilium upgrade plan: Cilium's upgrade guide as rules, and the unmanaged-pod count."""

from __future__ import annotations

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.upgrade import (
    cilium_plan,
    parse_version,
    preflight_values,
    release_problem,
    unmanaged_pods,
)

RELEASE = {"name": "cilium", "namespace": "kube-system", "version": "1.20.0", "values": {"kubeProxyReplacement": True}}


def deployed(chart, values=None, status="deployed"):
    return {"status": {"status": status, "chart": chart, "values": values or {"kubeProxyReplacement": True}}}


@pytest.mark.parametrize("text,expected", [("cilium-1.19.6", (1, 19, 6)), ("v1.20.0", (1, 20, 0)),
                                           ("cilium-1.20.0-pre.1", (1, 20, 0)), ("cilium", None), ("", None)])
def test_versions_are_read_from_chart_names(text, expected):
    assert parse_version(text) == expected


def test_first_install_has_no_upgrade_compatibility():
    plan = cilium_plan({"status": {}}, RELEASE)
    assert plan["action"] == "install" and not plan["problems"] and not plan["preflight"]
    assert "upgradeCompatibility" not in plan["values"]


def test_next_minor_sets_upgrade_compatibility_and_asks_for_the_preflight_check():
    plan = cilium_plan(deployed("cilium-1.19.6"), RELEASE)
    assert plan["problems"] == []
    assert plan["action"] == "upgrade" and plan["preflight"] and plan["minor_change"]
    assert plan["values"]["upgradeCompatibility"] == "1.19"


def test_upgrade_compatibility_stays_once_set():
    plan = cilium_plan(deployed("cilium-1.20.0", {"kubeProxyReplacement": True, "upgradeCompatibility": "1.19"}),
                       RELEASE)
    assert plan["action"] == "keep" and plan["values"]["upgradeCompatibility"] == "1.19"
    assert not plan["preflight"]


def test_the_users_compatibility_wins():
    plan = cilium_plan(deployed("cilium-1.19.6"), RELEASE, compatibility="1.18")
    assert plan["values"]["upgradeCompatibility"] == "1.18"


@pytest.mark.parametrize("chart,words", [
    ("cilium-1.18.12", "skips a minor"),
    ("cilium-1.21.0", "is a downgrade"),
])
def test_one_minor_at_a_time_and_no_downgrade(chart, words):
    problems = cilium_plan(deployed(chart), RELEASE)["problems"]
    assert len(problems) == 1 and words in problems[0], problems


def test_no_key_rotation_while_the_version_changes():
    problems = cilium_plan(deployed("cilium-1.19.6"), RELEASE, rotate=True)["problems"]
    assert len(problems) == 1 and "forbids rotating keys" in problems[0]
    assert cilium_plan(deployed("cilium-1.20.0"), RELEASE, rotate=True)["problems"] == []


def test_a_release_helm_left_half_done_is_not_touched():
    problems = cilium_plan(deployed("cilium-1.20.0", status="pending-upgrade"), RELEASE)["problems"]
    assert len(problems) == 1 and "is 'pending-upgrade'" in problems[0]
    assert "helm rollback cilium -n kube-system" in problems[0]
    problems = cilium_plan(deployed("cilium-1.20.0", status="failed"), RELEASE)["problems"]
    assert len(problems) == 1 and "'failed', not deployed" in problems[0]


@pytest.mark.parametrize("status,words", [
    ("pending-install", "run 'helm uninstall dapr -n dapr-system'"),
    ("pending-upgrade", "run 'helm rollback dapr -n dapr-system'"),
    ("pending-rollback", "run 'helm rollback dapr -n dapr-system'"),
    ("uninstalling", "'uninstalling', not deployed"),
])
def test_a_release_helm_left_pending_is_named_with_the_command_that_frees_it(status, words):
    problem = release_problem(deployed("dapr-1.18.3", status=status), {"name": "dapr", "namespace": "dapr-system"})
    assert words in problem and "dapr-system/dapr" in problem, problem


@pytest.mark.parametrize("info", [{"status": {}}, deployed("dapr-1.18.3"), deployed("dapr-1.18.3", status="failed"),
                                  deployed("dapr-1.18.3", status="uninstalled")])
def test_absent_deployed_failed_or_uninstalled_releases_may_be_installed_over(info):
    assert release_problem(info, {"name": "dapr", "namespace": "dapr-system"}) == ""


def test_preflight_values_use_the_new_images_and_drop_the_affinity_before_a_first_install():
    values = {"image": {"repository": "mirror.example/cilium", "tag": "v1.20.0"}, "k8sServiceHost": "10.0.0.1",
              "envoy": {"image": {"repository": "mirror.example/envoy"}}}
    first = preflight_values(values, cilium_running=False)
    assert first["preflight"]["image"] == values["image"] and first["preflight"]["affinity"] is None
    assert first["preflight"]["envoy"]["image"]["repository"] == "mirror.example/envoy"
    assert first["agent"] is False and first["operator"] == {"enabled": False}
    assert "affinity" not in preflight_values(values)["preflight"]


def pod(name, ip="10.0.0.5", phase="Running", host=False, owner=True):
    meta = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "controller": True}]
    return {"metadata": meta, "spec": {"hostNetwork": host}, "status": {"phase": phase, "podIP": ip}}


def test_unmanaged_pods_are_running_pods_without_an_endpoint():
    pods = [pod("managed"), pod("old"), pod("bare", owner=False), pod("pending", ip="", phase="Pending"),
            pod("host", host=True)]
    endpoints = [{"metadata": {"name": "managed", "namespace": "default"}}]
    assert unmanaged_pods(pods, endpoints) == [
        {"namespace": "default", "name": "bare", "owner": ""},
        {"namespace": "default", "name": "old", "owner": "ReplicaSet/rs"}]
