# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k8s_apply against an emulated API server: create, no-op, update, prune, check mode."""

from __future__ import annotations

import copy


from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from ansible_collections.sidecarless.mesh.plugins.modules import k8s_apply
from fake_apiserver import FakeAPIServer
from helpers import variables
from module_runner import run_module


def rendered(**overrides):
    return render(variables(**overrides)).objects()


def apply(api, resources, instance="unit", **extra):
    args = dict(resources=resources, instance=instance, kubeconfig=api.kubeconfig_path)
    check_mode = extra.pop("check_mode", False)
    diff = extra.pop("diff", False)
    args.update(extra)
    return run_module(k8s_apply.main, args, check_mode=check_mode, diff=diff)


def test_first_run_creates_everything_and_the_second_changes_nothing(api):
    objects = rendered()
    result = apply(api, objects)
    assert result["changed"] is True, result
    assert len(result["created"]) == len(objects) and not result["updated"] and not result["pruned"]
    assert api.get("HTTPRoute", "shop-web", "default")["spec"]["rules"][0]["backendRefs"][0]["name"] == "ingress-dapr"
    assert api.get("CiliumLoadBalancerIPPool", "x") is None
    writes = len(api.writes())
    result = apply(api, objects)
    assert result["changed"] is False, result
    assert len(result["unchanged"]) == len(objects)
    versions = {k: v["metadata"]["resourceVersion"] for k, v in api.objects.items()}
    assert len(api.writes()) == writes + len(objects), "one apply request per object, each a server no-op"
    assert {k: v["metadata"]["resourceVersion"] for k, v in api.objects.items()} == versions


def test_a_changed_weight_is_an_update(api):
    apply(api, rendered())
    result = apply(api, rendered(mesh_apps=[{
        "name": "shop", "versions": [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}],
        "routes": [{"gateway": "web", "path": "/shop"}]}]), diff=True)
    assert result["updated"] == ["HTTPRoute default/shop-split"], result
    split = api.get("HTTPRoute", "shop-split", "default")
    assert [b["weight"] for b in split["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    (diff,) = result["diff"]
    assert diff["before"]["spec"]["rules"][0]["backendRefs"][0]["weight"] == 90


def test_objects_that_left_the_inventory_are_pruned_and_foreign_ones_kept(api):
    apply(api, rendered())
    foreign = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "team-policy", "namespace": "default", "labels": {"team": "a"}},
               "spec": {"endpointSelector": {}}}
    other_mesh = copy.deepcopy(rendered()[0])
    other_mesh["metadata"]["labels"]["sidecarless.mesh/instance"] = "other"
    other_mesh["metadata"]["name"] = "other-mesh-object"
    api.put(foreign)
    api.put(other_mesh)
    smaller = rendered(mesh_apps=[{"name": "shop", "routes": [{"gateway": "web", "path": "/shop"}]}])
    result = apply(api, smaller)
    assert sorted(result["pruned"]) == ["HTTPRoute default/shop-split", "Service default/shop-v1",
                                        "Service default/shop-v2"], result
    assert api.get("HTTPRoute", "shop-split", "default") is None
    assert api.get("CiliumNetworkPolicy", "team-policy", "default") is not None
    assert api.get(other_mesh["kind"], "other-mesh-object", other_mesh["metadata"].get("namespace")) is not None


def test_check_mode_changes_nothing_but_reports_what_would(api):
    result = apply(api, rendered(), check_mode=True)
    assert result["changed"] is True and result["created"]
    assert api.objects == {}
    assert api.writes() == [], "every write must be a server-side dry run"
    apply(api, rendered())
    before = copy.deepcopy(api.objects)
    result = apply(api, rendered(mesh_apps=[{"name": "shop"}]), check_mode=True)
    assert "HTTPRoute default/shop-split" in result["pruned"]
    assert api.objects == before


def test_prune_can_be_turned_off(api):
    apply(api, rendered())
    result = apply(api, rendered(mesh_apps=[{"name": "shop"}]), prune=False)
    assert result["pruned"] == []
    assert api.get("HTTPRoute", "shop-split", "default") is not None


def test_objects_without_ownership_labels_are_refused_before_any_call(api):
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": "default"}, "spec": {}}
    result = apply(api, [obj])
    assert result["failed"] and "lacks the ownership labels" in result["msg"]
    assert api.requests == []


def test_missing_api_says_which_crd_to_install(api):
    api.resources = [r for r in api.resources if r[0] != "gateway.networking.k8s.io"]
    result = apply(api, rendered())
    assert result["failed"] and "does not serve gateway.networking.k8s.io/v1 Gateway" in result["msg"]


def test_unreachable_cluster_fails_cleanly(tmp_path):
    with FakeAPIServer() as server:
        path = server.kubeconfig(str(tmp_path / "kubeconfig"))
    result = run_module(k8s_apply.main, dict(resources=rendered(), instance="unit", kubeconfig=path))
    assert result["failed"] is True
    assert "Traceback" not in result["msg"]


def test_check_mode_counts_objects_in_a_namespace_the_run_would_create(api):
    objects = rendered(mesh_apps=[{"name": "shop", "namespace": "store",
                                   "routes": [{"gateway": "web", "path": "/shop"}]}])
    assert objects[0]["kind"] == "Namespace"
    result = apply(api, objects, check_mode=True)
    assert result.get("failed") is not True, result
    assert "Service store/shop" in result["created"] and api.objects == {}
    result = apply(api, objects)
    assert result.get("failed") is not True, result
    assert api.get("Service", "shop", "store") is not None


def test_writing_into_a_missing_namespace_fails_with_the_api_message(api):
    objects = rendered(mesh_apps=[{"name": "shop", "namespace": "store"}])
    (obj,) = [o for o in objects if o["kind"] == "Service"]
    result = apply(api, [obj])
    assert result["failed"] is True and 'namespaces "store" not found' in result["msg"]
