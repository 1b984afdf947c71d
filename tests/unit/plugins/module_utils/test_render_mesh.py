# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the core renders from a model: objects, policies, Helm values, summary."""

from __future__ import annotations

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import facts
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import build_mesh, collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from conftest import load_inventory_vars
from helpers import by_name, objects, problems, variables


def render_inventory(name, **overrides):
    values = load_inventory_vars(name)
    values.update(overrides)
    picked, unknown = collect_variables(values)
    return render(picked, unknown)


# -- the seed walkthrough (inventories/demo) ------------------------------------------


@pytest.fixture(scope="module")
def demo():
    return render_inventory("demo")


def test_demo_gateway_matches_the_walkthrough(demo):
    gateway = by_name(demo, "Gateway", "default-gateway")
    assert gateway["metadata"]["namespace"] == "default"
    assert gateway["spec"]["gatewayClassName"] == "cilium"
    assert gateway["spec"]["listeners"] == [{
        "name": "default-http", "port": 80, "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "All"}},
    }]


def test_demo_route_rewrites_into_dapr_invocation_through_the_ingress_instance(demo):
    route = by_name(demo, "HTTPRoute", "whoami-default-gateway")
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                            "name": "default-gateway"}]
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"group": "", "kind": "Service", "name": "ingress-dapr", "port": 3500}]
    assert rule["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1.0/invoke/whoami.default/method//"}


def test_demo_split_is_a_gamma_route_on_the_app_service(demo):
    route = by_name(demo, "HTTPRoute", "whoami-split")
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "whoami"}]
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["port"], b["weight"]) for b in backends] == [("whoami-v1", 80, 50), ("whoami-v2", 80, 50)]
    v2 = by_name(demo, "Service", "whoami-v2")
    assert v2["spec"]["selector"] == {"app": "whoami", "version": "v2"}


def test_demo_policies_are_the_walkthrough_access_policies(demo):
    ingress = by_name(demo, "CiliumNetworkPolicy", "ingress-dapr")
    assert ingress["spec"]["endpointSelector"] == {"matchLabels": {"dapr.io/app-id": "ingress"}}
    assert ingress["spec"]["ingress"] == [{"fromEntities": ["ingress"],
                                           "toPorts": [{"ports": [{"port": "3500", "protocol": "TCP"}]}]}]
    whoami = by_name(demo, "CiliumNetworkPolicy", "whoami-dapr")
    assert {"fromEndpoints": [{"matchLabels": {"dapr.io/app-id": "ingress"}}],
            "toPorts": [{"ports": [{"port": "50002", "protocol": "TCP"}]}]} in whoami["spec"]["ingress"]
    assert "egress" not in whoami["spec"], "without default deny no egress rules (and no egress default deny)"


def test_demo_local_redirect_only_touches_the_dapr_http_port(demo):
    lrp = by_name(demo, "CiliumLocalRedirectPolicy", "ingress-dapr-local")
    port = {"port": "3500", "protocol": "TCP", "name": "dapr-http"}
    assert lrp["spec"]["redirectFrontend"]["serviceMatcher"] == {
        "serviceName": "ingress-dapr", "namespace": "default", "toPorts": [port]}
    assert lrp["spec"]["redirectBackend"] == {
        "localEndpointSelector": {"matchLabels": {"dapr.io/app-id": "ingress"}}, "toPorts": [port]}


def test_demo_helm_releases_in_install_order(demo):
    entries = demo.releases_document()["releases"]
    assert [(e["name"], e["namespace"], e["chart"], e["version"]) for e in entries] == [
        ("cilium", "kube-system", "cilium/cilium", "1.20.0"),
        ("dapr", "dapr-system", "dapr/dapr", "1.18.3"),
        ("ingress-shared", "default", "oci://registry-1.docker.io/daprio/dapr-shared-chart", "1.16.0"),
        ("whoami-shared", "default", "oci://registry-1.docker.io/daprio/dapr-shared-chart", "1.16.0"),
    ]


def test_demo_dapr_shared_values_fix_the_chart_defaults(demo):
    ingress = demo.releases[2].values["shared"]
    assert ingress["appId"] == "ingress" and ingress["strategy"] == "daemonset"
    assert ingress["remoteURL"] == "cilium-gateway-default-gateway.default.svc.cluster.local"
    assert ingress["remotePort"] == 80
    assert ingress["daprd"]["image"]["tag"] == "1.18.3", "chart default 1.15.7 must be pinned to dapr_version"
    assert ingress["daprd"]["mtls"]["enabled"] is True, "chart default false must follow the control plane"
    assert ingress["controlPlane"]["sentry"] == {"address": "dapr-sentry.dapr-system.svc.cluster.local", "port": 443}
    whoami = demo.releases[3].values["shared"]
    assert whoami["strategy"] == "deployment" and whoami["deployment"] == {"replicas": 1}
    assert whoami["remoteURL"] == "whoami.default.svc.cluster.local"


def test_demo_cilium_values(demo):
    values = demo.releases[0].values
    assert values["kubeProxyReplacement"] is True
    assert (values["k8sServiceHost"], values["k8sServicePort"]) == ("172.18.0.2", 6443)
    assert values["encryption"] == {"enabled": True, "type": "wireguard", "nodeEncryption": False}
    assert values["hubble"]["relay"] == {"enabled": True, "rollOutPods": True}
    assert values["hubble"]["ui"] == {"enabled": True, "rollOutPods": True}
    # Config-only changes must restart what reads the config (pods read cilium-config at start-up).
    assert values["rollOutCiliumPods"] is True and values["operator"]["rollOutPods"] is True
    assert values["envoy"] == {"rollOutPods": True}
    assert values["gatewayAPI"] == {"enabled": True}
    assert values["localRedirectPolicies"] == {"enabled": True}
    assert values["l2announcements"] == {"enabled": True}
    assert "nodePort" not in values


def test_every_object_carries_the_ownership_labels(demo):
    for obj in demo.objects():
        labels = obj["metadata"]["labels"]
        assert labels[facts.MANAGED_BY_LABEL] == "sidecarless.mesh"
        assert labels[facts.INSTANCE_LABEL] == "demo"


# -- other shapes -------------------------------------------------------------------


def test_default_deny_adds_a_baseline_and_egress_for_every_hop():
    rendering = render(variables(mesh_default_deny=True))
    baseline = by_name(rendering, "CiliumNetworkPolicy", "mesh-baseline")
    assert baseline["spec"]["enableDefaultDeny"] == {"ingress": True, "egress": True}
    dns, api = baseline["spec"]["egress"]
    assert dns["toEndpoints"][0]["matchLabels"] == {"k8s:io.kubernetes.pod.namespace": "kube-system",
                                                    "k8s-app": "kube-dns"}
    assert dns["toPorts"][0]["rules"] == {"dns": [{"matchPattern": "*"}]}
    assert api == {"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": "6443", "protocol": "TCP"}]}]}
    ingress = by_name(rendering, "CiliumNetworkPolicy", "ingress-dapr")
    targets = [rule["toEndpoints"][0]["matchLabels"] for rule in ingress["spec"]["egress"]]
    assert {"dapr.io/app-id": "shop"} in targets, "ingress daprd may call the app's daprd"
    assert {"k8s:io.kubernetes.pod.namespace": "dapr-system"} in targets, "and reach the control plane"
    plane = [rule for rule in ingress["spec"]["egress"] if "k8s:io.kubernetes.pod.namespace" in
             rule["toEndpoints"][0]["matchLabels"]][0]
    assert sorted(int(p["port"]) for p in plane["toPorts"][0]["ports"]) == [6500, 50001, 50005, 50006]


def test_mutual_auth_goes_on_pod_rules_but_never_on_the_ingress_entity():
    rendering = render(variables(mesh_mutual_auth=True, cilium_mutual_auth={"enabled": True}))
    for policy in objects(rendering, "CiliumNetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            if "fromEntities" in rule:
                assert "authentication" not in rule, policy["metadata"]["name"]
            else:
                assert rule["authentication"] == {"mode": "required"}, policy["metadata"]["name"]
    assert any("deprecated" in warning for warning in rendering.warnings)


def test_cross_namespace_callers_carry_the_namespace_label():
    rendering = render(variables(mesh_apps=[
        {"name": "front", "namespace": "web"},
        {"name": "orders", "namespace": "backend", "allowed_callers": ["front.web"]},
    ], mesh_gateways=[]))
    orders = by_name(rendering, "CiliumNetworkPolicy", "orders-dapr")
    assert {"fromEndpoints": [{"matchLabels": {"dapr.io/app-id": "front", "k8s:io.kubernetes.pod.namespace": "web"}}],
            "toPorts": [{"ports": [{"port": "50002", "protocol": "TCP"}]}]} in orders["spec"]["ingress"]
    namespaces = [obj["metadata"]["name"] for obj in objects(rendering, "Namespace")]
    assert namespaces == ["backend", "web"]


def test_app_without_dapr_is_routed_directly_and_opened_to_the_gateway():
    rendering = render(variables(mesh_apps=[{"name": "plain", "port": 8080, "dapr": {"enabled": False},
                                             "routes": [{"gateway": "web", "path": "/p"}]}]))
    route = by_name(rendering, "HTTPRoute", "plain-web")
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/p"}}],
                                       "backendRefs": [{"group": "", "kind": "Service", "name": "plain",
                                                        "port": 8080}]}]
    policy = by_name(rendering, "CiliumNetworkPolicy", "plain-app")
    assert policy["spec"]["ingress"][0]["fromEntities"] == ["ingress"]
    assert [r.name for r in rendering.releases] == ["cilium", "dapr", "ingress-shared"]


def test_policy_enforcement_always_adds_a_clusterwide_gateway_egress_policy():
    rendering = render(variables(cilium_policy_enforcement_mode="always"))
    (ccnp,) = objects(rendering, "CiliumClusterwideNetworkPolicy")
    assert ccnp["spec"]["endpointSelector"] == {"matchLabels": {"reserved:ingress": ""}}
    assert ccnp["spec"]["egress"][0]["toEndpoints"] == [{"matchLabels": {
        "dapr.io/app-id": "ingress", "k8s:io.kubernetes.pod.namespace": "default"}}]


def test_gateway_api_crds_for_cilium_1_18_add_the_experimental_tlsroute():
    info = render(variables(cilium_version="1.18.12")).gateway_api()
    assert info["version"] == "v1.3.0" and info["pinned"]
    files = [crd["file"] for crd in info["crds"]]
    assert "experimental/gateway.networking.k8s.io_tlsroutes.yaml" in files
    assert all(f.startswith("standard/") for f in files if "tlsroutes" not in f)
    assert info["crds"][0]["url"].startswith("https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.3.0/")
    latest = render(variables()).gateway_api()
    assert "standard/gateway.networking.k8s.io_tlsroutes.yaml" in [crd["file"] for crd in latest["crds"]]
    unpinned = render(variables(cilium_gateway_api={"version": "v1.5.1"})).gateway_api()
    assert unpinned["crds"] == [] and unpinned["pinned"] is False


def test_cilium_118_without_kube_proxy_replacement_uses_nodeport():
    rendering = render(variables(cilium_version="1.18.12", cilium_kube_proxy_replacement=False,
                                 mesh_ingress={"local_redirect": False}))
    values = rendering.releases[0].values
    assert values["kubeProxyReplacement"] is False and "k8sServiceHost" not in values
    assert values["nodePort"] == {"enabled": True}


def test_helm_value_overrides_merge_deeply_and_null_deletes():
    rendering = render(variables(cilium_helm_values={"hubble": {"ui": {"replicas": 2}}, "policyEnforcementMode": None},
                                 dapr_helm_values={"global": {"logAsJson": True}}))
    cilium = rendering.releases[0].values
    assert cilium["hubble"]["ui"] == {"enabled": True, "replicas": 2, "rollOutPods": True}
    assert "policyEnforcementMode" not in cilium
    assert rendering.releases[1].values["global"]["logAsJson"] is True
    assert rendering.releases[1].values["global"]["mtls"] == {"enabled": True}


def test_trust_domain_override_reaches_every_shared_instance():
    rendering = render(variables(dapr_helm_values={"global": {"mtls": {"controlPlaneTrustDomain": "corp.example"}}}))
    shared = rendering.releases[2].values["shared"]
    assert shared["controlPlane"]["trustDomain"] == "corp.example"
    assert shared["daprd"]["serviceAccountIdentityToken"]["audience"] == \
        "spiffe://corp.example/ns/dapr-system/dapr-sentry"


def test_non_root_prefix_renders_exact_and_prefix_rules():
    rendering = render(variables())
    rules = by_name(rendering, "HTTPRoute", "shop-web")["spec"]["rules"]
    assert [r["matches"][0]["path"] for r in rules] == [
        {"type": "Exact", "value": "/shop"}, {"type": "PathPrefix", "value": "/shop"}]


def test_second_route_to_the_same_gateway_gets_a_numbered_name():
    rendering = render(variables(mesh_apps=[{"name": "shop", "routes": [
        {"gateway": "web", "path": "/a"}, {"gateway": "web", "path": "/b"}]}]))
    names = sorted(obj["metadata"]["name"] for obj in objects(rendering, "HTTPRoute"))
    assert names == ["shop-web", "shop-web-2"]


def test_route_name_clash_is_reported():
    found = problems(variables(mesh_apps=[
        {"name": "shop", "routes": [{"gateway": "web", "path": "/a", "name": "same"}]},
        {"name": "cart", "routes": [{"gateway": "web", "path": "/b", "name": "same"}]},
    ]))
    assert any("HTTPRoute default/same clashes" in p for p in found), found


def test_service_name_clash_between_version_and_app_is_reported():
    found = problems(variables(mesh_apps=[
        {"name": "shop", "versions": [{"name": "v1", "weight": 1}]},
        {"name": "shop-v1"},
    ]))
    assert any("Service default/shop-v1 clashes" in p for p in found), found


def test_hostnames_must_fit_the_listener():
    found = problems(variables(
        mesh_gateways=[{"name": "web", "listeners": [{"name": "http", "port": 80, "hostname": "*.example.com"}]}],
        mesh_apps=[{"name": "shop", "routes": [{"gateway": "web", "hostnames": ["shop.example.org"]}]}]))
    assert any("none of ['shop.example.org'] matches the hostname" in p for p in found), found
    render(variables(
        mesh_gateways=[{"name": "web", "listeners": [{"name": "http", "port": 80, "hostname": "*.example.com"}]}],
        mesh_apps=[{"name": "shop", "routes": [{"gateway": "web", "hostnames": ["a.b.example.com"]}]}]))


def test_listener_allowing_same_namespace_rejects_foreign_routes():
    found = problems(variables(
        mesh_gateways=[{"name": "web", "namespace": "edge",
                        "listeners": [{"name": "http", "port": 80, "allowed_routes": "Same"}]}]))
    assert any("only takes routes from its own namespace" in p for p in found), found


def test_summary_mentions_gateways_routes_splits_and_flows():
    text = "\n".join(render(variables()).summary)
    assert "default/web (class cilium): http HTTP:80" in text
    assert "Exact /shop -> /v1.0/invoke/shop.default/method/" in text
    assert "default/shop: shop-v1 90%, shop-v2 10%" in text
    assert "default/ingress daprd (ingress) -> default/shop daprd: 50002/TCP" in text


def test_model_resolves_callers_in_both_directions():
    mesh = build_mesh(variables(mesh_apps=[{"name": "a"}, {"name": "b", "allowed_callers": ["a"]}], mesh_gateways=[]))
    a, b = mesh.apps
    assert b.callers == [a.dapr] and a.dapr.callees == [b.dapr]
    assert mesh.ingress is None


def test_a_pool_selecting_the_gateway_by_its_labels_serves_it():
    pools = [{"name": "edge", "blocks": ["192.0.2.0/28"], "service_selector": {"tier": "edge"}}]
    gateways = [{"name": "web", "labels": {"tier": "edge"}, "listeners": [{"name": "http", "port": 80}]}]
    rendering = render(variables(cilium_lb_ipam_pools=pools, mesh_gateways=gateways))
    assert [w["condition"] for w in rendering.as_dict()["gateway_waits"]] == ["Programmed"]
    by_service_name = [{"name": "edge", "blocks": ["192.0.2.0/28"],
                        "service_selector": {"io.kubernetes.service.name": "cilium-gateway-web"}}]
    assert render(variables(cilium_lb_ipam_pools=by_service_name)).as_dict()["gateway_waits"]


def test_no_pool_at_all_warns_that_the_address_must_come_from_elsewhere():
    warnings = render(variables()).warnings
    assert any("mesh_gateways[0]: no cilium_lb_ipam_pools" in w for w in warnings), warnings


@pytest.mark.parametrize("version,condition", [("1.18.2", "Programmed"), ("1.18.3", "Accepted"),
                                               ("1.18.12", "Accepted"), ("1.19.5", "Accepted"),
                                               ("1.19.6", "Programmed"), ("1.20.0", "Programmed")])
def test_host_network_gateways_wait_for_accepted_where_cilium_never_says_programmed(version, condition):
    gateway_api = {"host_network": True}
    if version.startswith("1.18"):
        gateway_api["version"] = "v1.3.0"
    elif version.startswith("1.19"):
        gateway_api["version"] = "v1.4.1"
    rendering = render(variables(cilium_version=version, cilium_gateway_api=gateway_api,
                                 mesh_gateways=[{"name": "web", "listeners": [{"name": "http", "port": 8080}]}]))
    (wait,) = rendering.as_dict()["gateway_waits"]
    assert wait["condition"] == condition
    assert ("cilium#42786" in wait.get("note", "")) is (condition == "Accepted")


@pytest.mark.parametrize("allow,rendered", [(False, "No"), (True, "Yes")])
def test_allow_first_last_ips_is_written_either_way_because_the_crd_reads_absent_as_yes(allow, rendered):
    """Defect: false left the field out, and the CRD treats an absent allowFirstLastIPs as allocatable."""
    pools = [{"name": "edge", "blocks": ["192.0.2.0/28"], "allow_first_last_ips": allow}]
    objects = render(variables(cilium_lb_ipam_pools=pools)).objects()
    pool = [o for o in objects if o["kind"] == "CiliumLoadBalancerIPPool"][0]
    assert pool["spec"]["allowFirstLastIPs"] == rendered


# -- local charts --------------------------------------------------------------------------


def _chart_archive(folder, name, version):
    import io  # pylint: disable=import-outside-toplevel
    import tarfile  # pylint: disable=import-outside-toplevel
    path = folder / ("%s-%s.tgz" % (name, version))
    data = ("apiVersion: v2\nname: %s\nversion: '%s'\nappVersion: 9.9.9\n" % (name, version)).encode()
    with tarfile.open(str(path), "w:gz") as archive:
        info = tarfile.TarInfo("%s/Chart.yaml" % name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return str(path)


def test_a_local_chart_of_another_version_than_pinned_is_refused(tmp_path):
    from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
    from ansible_collections.sidecarless.mesh.plugins.module_utils.helm import check_local_charts
    rendering = render_inventory("demo", cilium_chart=_chart_archive(tmp_path, "cilium", "1.19.6"),
                                 cilium_chart_repo_url="",
                                 dapr_chart=_chart_archive(tmp_path, "dapr", "1.18.3"), dapr_chart_repo_url="",
                                 dapr_shared_chart=str(tmp_path / "missing.tgz"))
    with pytest.raises(ValidationError) as caught:
        check_local_charts(rendering.mesh, rendering.releases)
    assert [p.path for p in caught.value.problems] == ["cilium_chart"]
    message = str(caught.value)
    assert "local chart %s of version 1.19.6, but cilium_version is 1.20.0" % (tmp_path / "cilium-1.19.6.tgz") \
        in message


def test_local_charts_of_the_pinned_versions_and_remote_charts_pass(tmp_path):
    from ansible_collections.sidecarless.mesh.plugins.module_utils.helm import check_local_charts
    rendering = render_inventory("demo", cilium_chart=_chart_archive(tmp_path, "cilium", "1.20.0"),
                                 cilium_chart_repo_url="")
    check_local_charts(rendering.mesh, rendering.releases)
    check_local_charts(render_inventory("demo").mesh, render_inventory("demo").releases)


def test_a_local_path_without_a_chart_is_refused(tmp_path):
    from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
    from ansible_collections.sidecarless.mesh.plugins.module_utils.helm import check_local_charts
    (tmp_path / "empty").mkdir()
    rendering = render_inventory("demo", dapr_shared_chart=str(tmp_path / "empty"))
    with pytest.raises(ValidationError) as caught:
        check_local_charts(rendering.mesh, rendering.releases)
    assert {p.path for p in caught.value.problems} == {"dapr_shared_chart"}
    assert "holds no chart" in str(caught.value)


def test_cluster_mode_refuses_a_kubeconfig_that_is_not_there(tmp_path):
    from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
    from ansible_collections.sidecarless.mesh.plugins.module_utils.helm import check_kubeconfig
    missing = str(tmp_path / "kubeconfig")
    with pytest.raises(ValidationError) as caught:
        check_kubeconfig(render_inventory("demo", mesh_apply=True, mesh_kubeconfig=missing).mesh)
    assert [p.path for p in caught.value.problems] == ["mesh_kubeconfig"]
    assert "%s does not exist" % missing in str(caught.value)
    # Render mode never reads it; an existing file passes.
    check_kubeconfig(render_inventory("demo", mesh_apply=False, mesh_kubeconfig=missing).mesh)
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    check_kubeconfig(render_inventory("demo", mesh_apply=True, mesh_kubeconfig=missing).mesh)
