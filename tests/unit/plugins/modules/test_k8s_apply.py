# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k8s_apply against a real kube-apiserver (tests/controlplane): create, no-op, update, prune, check mode.

Every request count below is read from the API server's audit log, so
"a rerun writes nothing" is what the server saw, not what the module says.
"""

from __future__ import annotations

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from ansible_collections.sidecarless.mesh.plugins.modules import k8s_apply
from helpers import variables
from module_runner import run_module

pytestmark = pytest.mark.cluster


def rendered(**overrides):
    return render(variables(**overrides)).objects()


def apply(kube, resources, instance="unit", **extra):
    args = dict(resources=resources, instance=instance, kubeconfig=kube.kubeconfig_path)
    check_mode = extra.pop("check_mode", False)
    diff = extra.pop("diff", False)
    args.update(extra)
    return run_module(k8s_apply.main, args, check_mode=check_mode, diff=diff)


def live_versions(kube, objects):
    result = {}
    for obj in objects:
        live = kube.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"), obj["apiVersion"])
        result[(obj["kind"], obj["metadata"]["name"])] = live and live["metadata"]["resourceVersion"]
    return result


def test_first_run_creates_everything_and_the_second_writes_nothing(kube):
    objects = rendered()
    before = len(kube.requests())
    result = apply(kube, objects)
    assert result["changed"] is True, result
    assert len(result["created"]) == len(objects) and not result["updated"] and not result["pruned"]
    first = kube.requests()[before:]
    groups = {}
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"))
        groups[key] = groups.get(key, 0) + 1
    object_gets = [r for r in first if r[0] == "get" and r[1]]  # discovery requests name no resource
    assert len(object_gets) <= sum(1 for count in groups.values() if count == 1), \
        "one GET per object that goes alone into its kind and namespace, one list for several: %s" % object_gets
    route = kube.get("HTTPRoute", "shop-web", "default")
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "ingress-dapr"
    versions = live_versions(kube, objects)
    assert all(versions.values())
    before = len(kube.requests())
    result = apply(kube, objects)
    assert result["changed"] is False, result
    assert len(result["unchanged"]) == len(objects)
    rerun = kube.requests()[before:]
    assert [r for r in rerun if r[0] != "get" and r[0] != "list"] == [], rerun
    kinds = {(o["apiVersion"], o["kind"]) for o in objects}
    lists = [r for r in rerun if r[0] == "list"]
    assert len(lists) <= len(kinds) + 8, "one list per applied and prune kind, not one request per object"
    assert len(rerun) < len(objects) + len(kinds) + 8, rerun
    assert live_versions(kube, objects) == versions


def test_a_changed_weight_is_an_update(kube):
    apply(kube, rendered())
    result = apply(kube, rendered(mesh_apps=[{
        "name": "shop", "versions": [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}],
        "routes": [{"gateway": "web", "path": "/shop"}]}]), diff=True)
    assert result["updated"] == ["HTTPRoute default/shop-split"], result
    split = kube.get("HTTPRoute", "shop-split", "default")
    assert [b["weight"] for b in split["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    (diff,) = result["diff"]
    assert diff["before"]["spec"]["rules"][0]["backendRefs"][0]["weight"] == 90


def test_a_field_changed_by_someone_else_is_set_back(kube):
    apply(kube, rendered())
    split = kube.get("HTTPRoute", "shop-split", "default")
    rules = split["spec"]["rules"]
    rules[0]["backendRefs"][0]["weight"] = 1
    kube.client.merge_patch(kube.path("HTTPRoute", "shop-split", "default"), {"spec": {"rules": rules}},
                            manager="kubectl-edit")
    result = apply(kube, rendered())
    assert result["updated"] == ["HTTPRoute default/shop-split"], result
    live = kube.get("HTTPRoute", "shop-split", "default")
    assert [b["weight"] for b in live["spec"]["rules"][0]["backendRefs"]] == [90, 10]


def test_a_field_the_rendering_dropped_is_removed(kube):
    objects = rendered()
    route = [o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "shop-web"][0]
    route["metadata"]["labels"]["extra"] = "yes"
    apply(kube, objects)
    assert kube.get("HTTPRoute", "shop-web", "default")["metadata"]["labels"]["extra"] == "yes"
    result = apply(kube, rendered())
    assert "HTTPRoute default/shop-web" in result["updated"], result
    assert "extra" not in kube.get("HTTPRoute", "shop-web", "default")["metadata"]["labels"]


def test_objects_that_left_the_inventory_are_pruned_and_foreign_ones_kept(kube):
    apply(kube, rendered())
    foreign = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "team-policy", "namespace": "default", "labels": {"team": "a"}},
               "spec": {"endpointSelector": {}, "ingress": [{}]}}
    other_mesh = {"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "other-mesh-object", "namespace": "default",
                               "labels": {"app.kubernetes.io/managed-by": "sidecarless.mesh",
                                          "sidecarless.mesh/instance": "other"}},
                  "spec": {"ports": [{"port": 80}]}}
    kube.put(foreign)
    kube.put(other_mesh)
    smaller = rendered(mesh_apps=[{"name": "shop", "routes": [{"gateway": "web", "path": "/shop"}]}])
    result = apply(kube, smaller)
    assert sorted(result["pruned"]) == ["HTTPRoute default/shop-split", "Service default/shop-v1",
                                        "Service default/shop-v2"], result
    assert kube.get("HTTPRoute", "shop-split", "default") is None
    assert kube.get("CiliumNetworkPolicy", "team-policy", "default") is not None
    assert kube.get("Service", "other-mesh-object", "default") is not None


def test_check_mode_changes_nothing_but_reports_what_would(kube):
    objects = rendered()
    result = apply(kube, objects, check_mode=True)
    assert result["changed"] is True and len(result["created"]) == len(objects)
    assert not any(live_versions(kube, objects).values())
    assert kube.writes() == [], "every write must be a server-side dry run"
    apply(kube, objects)
    versions = live_versions(kube, objects)
    writes = len(kube.writes())
    result = apply(kube, rendered(mesh_apps=[{"name": "shop"}]), check_mode=True)
    assert "HTTPRoute default/shop-split" in result["pruned"]
    assert live_versions(kube, objects) == versions and len(kube.writes()) == writes


def test_check_mode_on_a_cluster_without_the_crds_reports_instead_of_failing(bare_cluster):
    """Defect: check mode failed on a fresh cluster, where the CRDs are never installed (they are dry runs)."""
    objects = rendered()
    result = apply(bare_cluster, objects, check_mode=True)
    assert result.get("failed") is not True, result
    assert "Gateway default/web" in result["created"] and "HTTPRoute default/shop-split" in result["created"]
    warnings = [str(w) for w in result.get("warnings", [])]
    assert len(warnings) == 4 and any("HTTPRoute is not served yet" in w and "default/shop-split" in w
                                      for w in warnings), warnings
    assert bare_cluster.writes() == []


def test_prune_skips_a_kind_whose_crd_was_removed(kube):
    """Defect: prune aborted with "Kubernetes API error" when a CRD was removed but discovery still listed it."""
    apply(kube, rendered())
    kube.client.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                       "ciliumlocalredirectpolicies.cilium.io")
    kube.wait(lambda: kube.client.get_or_none("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                              "ciliumlocalredirectpolicies.cilium.io") is None, 30, "CRD gone")
    objects = [o for o in rendered() if o["kind"] != "CiliumLocalRedirectPolicy"]
    result = apply(kube, objects)
    assert result.get("failed") is not True, result
    assert "cilium.io/v2/CiliumLocalRedirectPolicy" in result["skipped_kinds"], result


def test_preserved_fields_keep_what_another_controller_set(kube):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    crd["metadata"]["annotations"] = {"note": "ours"}
    args = dict(instance="", prune=False, preserve_fields=["metadata.annotations.note"])
    assert apply(kube, [crd], **args)["created"] == ["CustomResourceDefinition widgets.example.com"]
    kube.client.merge_patch("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
                            {"metadata": {"annotations": {"note": "the operator's"}}}, manager="operator")
    result = apply(kube, [crd], **args)
    assert result["changed"] is False, result
    live = kube.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert live["metadata"]["annotations"]["note"] == "the operator's"
    result = apply(kube, [crd], instance="", prune=False)
    assert result["updated"] == ["CustomResourceDefinition widgets.example.com"], "without it, ours wins"
    live = kube.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert live["metadata"]["annotations"]["note"] == "ours"


def test_prune_can_be_turned_off(kube):
    apply(kube, rendered())
    result = apply(kube, rendered(mesh_apps=[{"name": "shop"}]), prune=False)
    assert result["pruned"] == []
    assert kube.get("HTTPRoute", "shop-split", "default") is not None


def test_objects_without_ownership_labels_are_refused_before_any_call(kube):
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": "default"}, "spec": {}}
    before = len(kube.requests())
    result = apply(kube, [obj])
    assert result["failed"] and "lacks the ownership labels" in result["msg"]
    assert kube.requests()[before:] == []


def test_missing_api_says_which_crd_to_install(bare_cluster):
    result = apply(bare_cluster, rendered())
    assert result["failed"] and "does not serve gateway.networking.k8s.io/v1 Gateway" in result["msg"]
    assert bare_cluster.writes() == []


def test_unreachable_cluster_fails_cleanly(kube):
    path = kube.kubeconfig_path
    kube.plane.stop_process("kube-apiserver")
    result = run_module(k8s_apply.main, dict(resources=rendered(), instance="unit", kubeconfig=path))
    assert result["failed"] is True
    assert "Traceback" not in result["msg"] and "Kubernetes API" in result["msg"], result["msg"]


def test_check_mode_counts_objects_in_a_namespace_the_run_would_create(kube):
    objects = rendered(mesh_apps=[{"name": "shop", "namespace": "store",
                                   "routes": [{"gateway": "web", "path": "/shop"}]}])
    assert objects[0]["kind"] == "Namespace"
    result = apply(kube, objects, check_mode=True)
    assert result.get("failed") is not True, result
    assert "Service store/shop" in result["created"] and kube.get("Namespace", "store") is None
    result = apply(kube, objects)
    assert result.get("failed") is not True, result
    assert kube.get("Service", "shop", "store") is not None


def test_writing_into_a_missing_namespace_fails_with_the_api_message(kube):
    objects = rendered(mesh_apps=[{"name": "shop", "namespace": "store"}])
    (obj,) = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "shop"]
    result = apply(kube, [obj])
    assert result["failed"] is True and 'namespaces "store" not found' in result["msg"]


def test_a_manifest_with_a_placeholder_status_is_applied_once(kube):
    """Gateway API v1.3/v1.4 CRD files carry ``creationTimestamp: null`` and ``status: {acceptedNames: ...}``;
    the server keeps its own, so comparing the file's with the live ones made every rerun a forced apply."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "creationTimestamp": None,
                     "labels": {"app.kubernetes.io/managed-by": "sidecarless.mesh", "sidecarless.mesh/instance": "unit"}},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
        "status": {"acceptedNames": {"kind": "", "plural": ""}, "conditions": None, "storedVersions": None},
    }
    result = apply(kube, [crd], prune=False)
    assert result["created"] == ["CustomResourceDefinition widgets.example.com"], result
    live = kube.get("CustomResourceDefinition", "widgets.example.com")
    assert live["status"]["acceptedNames"]["kind"] == "Widget", "the server's status is not overwritten"
    start = len(kube.writes())
    result = apply(kube, [crd], prune=False)
    assert result["changed"] is False and result["unchanged"] == ["CustomResourceDefinition widgets.example.com"]
    assert kube.writes()[start:] == []


def test_a_missing_kubeconfig_is_named(tmp_path):
    missing = str(tmp_path / "nowhere" / "kubeconfig")
    result = run_module(k8s_apply.main, dict(resources=rendered(), instance="unit", kubeconfig=missing))
    assert result["failed"] is True
    assert result["msg"].startswith("the kubeconfig file given does not exist"), result["msg"]


def test_without_kubernetes_core_the_missing_collection_is_named_and_nothing_leaks(monkeypatch):
    from ansible_collections.sidecarless.mesh.plugins.module_utils import k8s_client
    monkeypatch.setattr(k8s_client, "HAS_K8S_CORE", False)
    monkeypatch.setattr(k8s_client, "K8S_CORE_ERROR", "ImportError: No module named 'kubernetes'")
    result = run_module(k8s_apply.main, dict(resources=rendered(), instance="unit", api_key="s3cr3t-token-value"))
    assert result["failed"] is True
    assert "kubernetes.core collection" in result["msg"] and "Unsupported parameters" not in result["msg"], result["msg"]
    assert "s3cr3t-token-value" not in str(result), "a credential passed to the task is echoed"
