# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml in cluster mode, end to end, against the real test control plane.

Each test gets a fresh cluster as kind gives one without its default CNI
(nodes NotReady until a Cilium agent runs), installs the real charts from
../shared/charts with the real helm binary, and checks what the API server
holds afterwards: Helm releases, CRDs, every mesh object, the Gateway's
address, daprd readiness (which needs the app channel to answer), and, from
the API server's audit log, that a rerun writes nothing.

What these tests cannot show is the data plane (packets, Envoy, eBPF,
WireGuard): that is the molecule kind scenario's job.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT
from controlplane import binaries
from test_site_render import PLAYBOOK, inventory_path, recap, run

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

HERE = os.path.dirname(os.path.abspath(__file__))
CHARTS = os.path.abspath(os.environ.get("MESH_CHARTS_DIR", os.path.join(ROOT, "..", "shared", "charts")))


def kubernetes_core_version():
    spec = importlib.util.find_spec("ansible_collections.kubernetes.core")
    manifest = os.path.join(list(spec.submodule_search_locations)[0], "MANIFEST.json")
    with open(manifest, encoding="utf-8") as handle:
        return tuple(int(p) for p in yaml.safe_load(handle)["collection_info"]["version"].split(".")[:3])


def helm_major():
    """Helm 3 for kubernetes.core < 6.5 (it breaks on Helm 4), Helm 4 otherwise: what each lane supports."""
    try:
        return 4 if kubernetes_core_version() >= (6, 5, 0) else 3
    except (ImportError, AttributeError, OSError, ValueError, KeyError, TypeError):
        return 3


@pytest.fixture(scope="module")
def helm_path():
    path = binaries.helm(helm_major())
    return os.path.dirname(path)


def chart(name):
    path = os.path.join(CHARTS, name)
    if not os.path.isfile(path):
        message = "chart %s not found (set MESH_CHARTS_DIR): cluster end-to-end tests NOT run" % path
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


#: The Gateway API release each Cilium line runs with (facts.GATEWAY_API_FOR_CILIUM), as ../shared/upstream has it.
GATEWAY_API_DIRS = {"1.18": "v1.3.0/standard", "1.19": "v1.4.1/standard", "1.20": "standard"}


def gateway_api_crds(cilium):
    """The local Gateway API CRD directory for the Cilium version ``cilium``."""
    line = ".".join(cilium.split(".")[:2])
    return os.path.join(ROOT, "..", "shared", "upstream", "gateway-api", GATEWAY_API_DIRS[line])


def cluster_vars(kube, tmp_path, cilium="1.20.0", **extra):
    data = {
        "mesh_apply": True,
        "mesh_kubeconfig": kube.kubeconfig_path,
        "mesh_render_dir": str(tmp_path / "render"),
        "gateway_api_src": gateway_api_crds(cilium),
        "cilium_chart": chart("cilium-%s.tgz" % cilium),
        "cilium_chart_repo_url": "",
        "dapr_chart": chart("dapr-1.18.3.tgz"),
        "dapr_chart_repo_url": "",
        "dapr_shared_chart": chart("dapr-shared-chart-1.16.0.tgz"),
        "dapr_wait_timeout": 120,
        "cilium_wait_timeout": 120,
        "mesh_wait_timeout": 60,
        "mesh_wait_interval": 1,
        # Exec into pods needs a kubelet; the simulated nodes have none (see tests/controlplane/README.md).
        "cilium_agent_health_check": False,
    }
    data.update(extra)
    path = tmp_path / ("cluster-vars-%d.yml" % len(list(tmp_path.glob("cluster-vars-*.yml"))))
    path.write_text(yaml.safe_dump(data))
    return "@%s" % path


def converge(kube, tmp_path, helm_path, inventory="demo", *extra, **variables):
    args = ["-i", inventory_path(inventory), "-e", cluster_vars(kube, tmp_path, **variables)] + list(extra)
    return run(args, extra_env={"PATH": "%s:%s" % (helm_path, os.environ["PATH"]),
                                "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
                                "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
                                "HELM_DATA_HOME": str(tmp_path / "helm-data")})


def helm_releases(kube, helm_path):
    env = dict(os.environ, KUBECONFIG=kube.kubeconfig_path)
    out = subprocess.run([os.path.join(helm_path, "helm"), "list", "-A", "-o", "json"], env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return {(r["namespace"], r["name"]): r for r in yaml.safe_load(out) or []}


def deploy_whoami(kube):
    """The seed walkthrough's apps, as a user (or molecule's prepare step) deploys them."""
    kube.apply_file(os.path.join(HERE, "files", "whoami.yaml"))


def converge_demo_beside_a_foreign_service(kube, tmp_path, helm_path, **variables):
    """The demo converged, and a Service of someone else's (keep-me) in the same namespace."""
    deploy_whoami(kube)
    code, output = converge(kube, tmp_path, helm_path, **variables)
    assert code == 0, output[-6000:]
    kube.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "keep-me", "namespace": "default"},
              "spec": {"ports": [{"port": 80}]}})


def test_demo_converges_and_a_rerun_writes_nothing(bare_cluster, tmp_path, helm_path):
    kube = bare_cluster
    deploy_whoami(kube)
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    assert "Traceback" not in output
    releases = helm_releases(kube, helm_path)
    assert sorted(releases) == [("dapr-system", "dapr"), ("default", "ingress-shared"), ("default", "whoami-shared"),
                                ("kube-system", "cilium")], releases
    assert all(r["status"] == "deployed" for r in releases.values())
    gateway = kube.get("Gateway", "default-gateway", "default")
    programmed = [c for c in gateway["status"]["conditions"] if c["type"] == "Programmed"][0]
    assert programmed["status"] == "True", gateway["status"]
    address = gateway["status"]["addresses"][0]["value"]
    assert address.startswith("172.18.255."), gateway["status"]
    assert address != "172.18.255.192", "allow_first_last_ips defaults to false: the network address is kept"
    assert "default/default-gateway: %s" % address in output
    split = kube.get("HTTPRoute", "whoami-split", "default")
    assert [b["weight"] for b in split["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    assert kube.get("CiliumLocalRedirectPolicy", "ingress-dapr-local", "default") is not None
    daemonset = kube.get("DaemonSet", "ingress-shared-dapr-shared-chart", "default")
    assert daemonset["status"]["numberReady"] == daemonset["status"]["desiredNumberScheduled"] >= 2
    subscription = kube.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/subscriptions.dapr.io")
    webhook = subscription["spec"]["conversion"]["webhook"]["clientConfig"]
    assert webhook["service"]["namespace"] == "dapr-system" and webhook.get("caBundle")

    before = len(kube.requests())
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    assert recap(output)["changed"] == 0, output[-6000:]
    writes = [r for r in kube.requests()[before:] if r[0] in ("create", "update", "patch", "delete")
              and "dryRun=All" not in r[2]]
    assert writes == [], writes
    subscription = kube.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/subscriptions.dapr.io")
    assert subscription["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["namespace"] == "dapr-system", \
        "re-applying the Dapr CRDs must not undo the operator's webhook patch"


def test_dapr_shared_waits_for_the_app_and_says_what_is_missing(bare_cluster, tmp_path, helm_path):
    """Without the app's pods its daprd never becomes Ready; the run fails naming the Service it waits for."""
    code, output = converge(bare_cluster, tmp_path, helm_path, dapr_wait_timeout=30)
    assert code != 0
    assert "whoami.default.svc.cluster.local:80" in output, output[-4000:]
    assert "deploy the app's pods" in output
    assert "Traceback" not in output
    gateway = bare_cluster.get("Gateway", "default-gateway", "default")
    assert gateway is not None, "the mesh objects come before Dapr Shared"


def test_check_mode_on_a_fresh_cluster_succeeds_and_writes_nothing(bare_cluster, tmp_path, helm_path):
    code, output = converge(bare_cluster, tmp_path, helm_path, "demo", "--check", "--diff")
    assert code == 0, output[-6000:]
    assert "Traceback" not in output
    assert bare_cluster.writes() == [], bare_cluster.writes()
    assert helm_releases(bare_cluster, helm_path) == {}
    assert "HTTPRoute default/whoami-split" in output


def test_an_app_that_left_the_inventory_is_removed_with_its_release(bare_cluster, tmp_path, helm_path):
    kube = bare_cluster
    converge_demo_beside_a_foreign_service(kube, tmp_path, helm_path)
    smaller = tmp_path / "smaller.yml"
    smaller.write_text(yaml.safe_dump({"mesh_apps": [{
        "name": "whoami", "namespace": "default", "port": 80, "dapr": {"enabled": False},
        "routes": [{"gateway": "default-gateway", "path": "/"}]}]}))
    code, output = converge(kube, tmp_path, helm_path, "demo", "-e", "@%s" % smaller)
    assert code == 0, output[-6000:]
    assert ("default", "whoami-shared") not in helm_releases(kube, helm_path), output[-8000:]
    assert kube.get("HTTPRoute", "whoami-split", "default") is None
    assert kube.get("Service", "whoami-v1", "default") is None
    assert kube.get("Service", "keep-me", "default") is not None
    assert kube.get("Deployment", "whoami-v1", "default") is not None, "the user's workloads are not the mesh's"
    code, output = converge(kube, tmp_path, helm_path, "demo", "-e", "@%s" % smaller)
    assert code == 0 and recap(output)["changed"] == 0, output[-6000:]


@pytest.fixture(autouse=True)
def _no_helm_home(tmp_path):
    """Helm writes its repository cache and config under the test's directory, not the user's home."""
    yield
    shutil.rmtree(tmp_path / "helm-cache", ignore_errors=True)


def test_an_unreachable_api_server_fails_with_a_clear_message(bare_cluster, tmp_path, helm_path):
    bare_cluster.plane.stop_process("kube-apiserver")
    code, output = converge(bare_cluster, tmp_path, helm_path, "demo", "--tags", "gateway_api,mesh")
    assert code != 0
    assert "cannot reach the Kubernetes API" in output or "Connection refused" in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output


def test_the_api_server_stopping_mid_run_fails_clearly_and_a_rerun_recovers(bare_cluster, tmp_path, helm_path):
    """The API server goes away while the Dapr control plane rolls out (Cilium done, Dapr's release just made)."""
    kube = bare_cluster
    deploy_whoami(kube)
    args = [PLAYBOOK, os.path.join(ROOT, "site.yml"), "-i", inventory_path("demo"),
            "-e", cluster_vars(kube, tmp_path, dapr_wait_timeout=300)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH="%s:%s" % (helm_path, os.environ["PATH"]), HELM_CACHE_HOME=str(tmp_path / "helm-cache"),
               HELM_CONFIG_HOME=str(tmp_path / "helm-config"), HELM_DATA_HOME=str(tmp_path / "helm-data"))
    log = tmp_path / "first-run.log"
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            kube.wait(lambda: kube.items("Secret", "dapr-system", labelSelector="owner=helm,name=dapr,status=deployed")
                      or process.poll() is not None, 240, "the Dapr release")
            assert process.poll() is None, log.read_text()[-4000:]
            kube.plane.stop_process("kube-apiserver")
            code = process.wait(timeout=240)
        finally:
            if process.poll() is None:
                process.kill()
    output = log.read_text()
    assert code != 0, output[-4000:]
    clear = ("cannot reach the kubernetes api", "connection refused", "kubernetes cluster unreachable")
    assert any(words in output.lower() for words in clear), output[-4000:]
    assert "Traceback (most recent call last)" not in output
    kube.plane.restart_process("kube-apiserver")
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    releases = helm_releases(kube, helm_path)
    assert releases[("dapr-system", "dapr")]["revision"] == "1", "the rerun kept the release the first run made"
    assert all(r["status"] == "deployed" for r in releases.values()), releases
    gateway = kube.get("Gateway", "default-gateway", "default")
    assert [c["status"] for c in gateway["status"]["conditions"] if c["type"] == "Programmed"] == ["True"]

    # A helm run cut off mid-upgrade leaves the release pending-upgrade: Helm then lists it only with --all,
    # and installing over it fails on the name. The rerun names the release and the command that frees it.
    helm_env = dict(os.environ, KUBECONFIG=kube.kubeconfig_path, HELM_CACHE_HOME=str(tmp_path / "helm-cache"),
                    HELM_CONFIG_HOME=str(tmp_path / "helm-config"), HELM_DATA_HOME=str(tmp_path / "helm-data"))
    helm = os.path.join(helm_path, "helm")
    upgrade = subprocess.Popen([helm, "upgrade", "dapr", chart("dapr-1.18.3.tgz"), "-n", "dapr-system",
                                "--reuse-values", "--set", "global.registry=registry.invalid", "--wait",
                                "--timeout", "10m"], env=helm_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kube.wait(lambda: kube.items("Secret", "dapr-system", labelSelector="owner=helm,name=dapr,status=pending-upgrade"),
                  120, "the Dapr release pending-upgrade")
    finally:
        upgrade.kill()
        upgrade.wait()
    # Requests the killed helm had in flight still land (Helm 4 applies server-side): count from after them.
    settled = []
    kube.wait(lambda: settled.append(len(kube.writes())) or settled[-10:] == [settled[-1]] * 10, 30,
              "the killed helm's last requests")
    before = settled[-1]
    code, output = converge(kube, tmp_path, helm_path)
    assert code != 0
    assert "the Helm release dapr-system/dapr is 'pending-upgrade'" in output, output[-4000:]
    assert "run 'helm rollback dapr -n dapr-system' and rerun" in output, output[-4000:]
    assert kube.writes()[before:] == [], "nothing changes on top of a pending release"
    subprocess.run([helm, "rollback", "dapr", "-n", "dapr-system"], env=helm_env, check=True,
                   stdout=subprocess.DEVNULL)
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    assert recap(output)["changed"] == 0, "the rollback restored the release the collection installed"


def fake_helm_4(tmp_path):
    """A directory whose helm says it is Helm 4 (this lane's kubernetes.core 6.2 cannot drive it)."""
    if helm_major() == 4:
        pytest.skip("this lane's kubernetes.core drives Helm 4; the refusal is tested in the Helm 3 lane")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    helm = fake_bin / "helm"
    helm.write_text("#!/bin/sh\necho v4.0.1+g0123abc\n")
    helm.chmod(0o755)
    return fake_bin


def test_helm_4_with_an_old_kubernetes_core_is_refused_before_any_change(bare_cluster, tmp_path, helm_path):
    fake_bin = fake_helm_4(tmp_path)
    code, output = converge(bare_cluster, tmp_path, str(fake_bin), "demo", "--tags", "cilium")
    assert code != 0
    assert "kubernetes.core 6.2.0 cannot drive helm v4.0.1" in output, output[-3000:]
    assert bare_cluster.writes() == []


@pytest.mark.parametrize("role", ["cilium", "dapr", "dapr_shared"])
def test_a_helm_role_used_on_its_own_checks_helm_and_kubernetes_core_first(bare_cluster, tmp_path, role):
    """Defect: the Helm 4 / kubernetes.core check lived only in site.yml; a role embedded alone skipped it."""
    fake_bin = fake_helm_4(tmp_path)
    playbook = tmp_path / "own.yml"
    playbook.write_text(yaml.safe_dump([{"name": "A user's playbook with one role", "hosts": "localhost",
                                         "gather_facts": False, "roles": ["sidecarless.mesh.%s" % role]}]))
    code, output = run(["-i", inventory_path("demo"), "-e", cluster_vars(bare_cluster, tmp_path)],
                       playbook=str(playbook), extra_env={"PATH": "%s:%s" % (fake_bin, os.environ["PATH"])})
    assert code != 0
    assert "kubernetes.core 6.2.0 cannot drive helm v4.0.1" in output, output[-3000:]
    assert bare_cluster.writes() == []


def test_reset_needs_confirmation_and_removes_only_this_meshs_objects(bare_cluster, tmp_path, helm_path):
    """Defect: reset removed the pool and L2 policy that serve every LoadBalancer Service, and left the
    Subscription CRD converting through the removed Dapr operator's webhook."""
    kube = bare_cluster
    pools = [{"name": "demo-pool", "blocks": ["172.18.255.192/28"]},
             {"name": "edge-only", "blocks": ["172.18.255.224/28"], "service_selector": {"tier": "edge"}}]
    converge_demo_beside_a_foreign_service(kube, tmp_path, helm_path, cilium_lb_ipam_pools=pools)
    # A LoadBalancer Service of someone else's, addressed from the selector-less pool, and a user's Subscription.
    kube.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "their-lb", "namespace": "default"},
              "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}})
    kube.wait(lambda: ((kube.get("Service", "their-lb", "default").get("status") or {}).get("loadBalancer") or {})
              .get("ingress"), 60, "their-lb gets an address")
    kube.put({"apiVersion": "dapr.io/v2alpha1", "kind": "Subscription", "metadata": {"name": "orders", "namespace":
              "default"}, "spec": {"pubsubname": "pubsub", "topic": "orders", "routes": {"default": "/orders"}}})
    env = {"PATH": "%s:%s" % (helm_path, os.environ["PATH"]), "HELM_CACHE_HOME": str(tmp_path / "helm-cache")}
    base = ["-i", inventory_path("demo"), "-e", cluster_vars(kube, tmp_path, cilium_lb_ipam_pools=pools)]
    code, output = run(base, playbook="playbooks/reset.yml", extra_env=env)
    assert code != 0 and "-e reset_confirm=demo" in output
    assert kube.get("HTTPRoute", "whoami-split", "default") is not None
    code, output = run(base + ["-e", "reset_confirm=demo"], playbook="playbooks/reset.yml", extra_env=env)
    assert code == 0, output[-4000:]
    owned = "app.kubernetes.io/managed-by=sidecarless.mesh,sidecarless.mesh/instance=demo"
    for kind in ("Gateway", "HTTPRoute", "CiliumNetworkPolicy", "CiliumLocalRedirectPolicy",
                 "CiliumLoadBalancerIPPool", "CiliumL2AnnouncementPolicy"):
        assert kube.items(kind, labelSelector=owned) == [], kind
    assert kube.items("Service", "default", labelSelector=owned) == []
    assert kube.get("Service", "keep-me", "default") is not None
    assert sorted(helm_releases(kube, helm_path)) == [("kube-system", "cilium")], "Cilium stays: it is the CNI"
    assert kube.get("CustomResourceDefinition", "httproutes.gateway.networking.k8s.io") is not None
    # What serves every LoadBalancer Service stays, released; the pool with a selector went with the mesh.
    assert kube.get("CiliumLoadBalancerIPPool", "demo-pool") is not None
    assert kube.get("CiliumLoadBalancerIPPool", "edge-only") is None
    assert [p["metadata"]["name"] for p in kube.items("CiliumL2AnnouncementPolicy")] == ["demo-l2"]
    assert "demo-pool" in output and "no longer owned by the mesh" in output
    # The user's Subscription stays readable in the version it was not stored in (no webhook to convert it).
    crd = kube.get("CustomResourceDefinition", "subscriptions.dapr.io")
    assert crd["spec"]["conversion"] == {"strategy": "None"}, crd["spec"]["conversion"]
    old = kube.client.get("/apis/dapr.io/v1alpha1/namespaces/default/subscriptions/orders")
    assert old["spec"]["topic"] == "orders"
    # A rerun of reset finds nothing left to do.
    code, output = run(base + ["-e", "reset_confirm=demo"], playbook="playbooks/reset.yml", extra_env=env)
    assert code == 0 and recap(output)["changed"] == 0, output[-4000:]


def test_turning_on_gateway_api_on_a_running_cilium_restarts_what_reads_the_config(
        bare_cluster, tmp_path, helm_path):
    """Defect: a config-only upgrade restarted nothing, so the operator never served the new Gateways."""
    kube = bare_cluster
    deploy_whoami(kube)
    code, output = converge(kube, tmp_path, helm_path, "demo", "--tags", "gateway_api,cilium",
                            cilium_helm_values={"gatewayAPI": {"enabled": False}})
    assert code == 0, output[-6000:]
    operators = {p["metadata"]["uid"] for p in kube.items("Pod", "kube-system", labelSelector="io.cilium/app=operator")}
    assert operators
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    now = {p["metadata"]["uid"] for p in kube.items("Pod", "kube-system", labelSelector="io.cilium/app=operator")}
    assert not now & operators, "the operator must restart to read enable-gateway-api"
    gateway = kube.get("Gateway", "default-gateway", "default")
    assert [c["status"] for c in gateway["status"]["conditions"] if c["type"] == "Programmed"] == ["True"]


@pytest.mark.parametrize("cilium,gateway_api,programmed", [("1.18.12", "v1.3.0", False), ("1.19.6", "v1.4.1", True)])
def test_host_network_gateways_on_lines_with_and_without_the_status_bug(
        bare_cluster, tmp_path, helm_path, cilium, gateway_api, programmed):
    """Defect: the Programmed wait could not succeed where Cilium never reports it (cilium#42786)."""
    kube = bare_cluster
    crds = os.path.join(ROOT, "..", "shared", "upstream", "gateway-api", gateway_api, "standard")
    code, output = converge(kube, tmp_path, helm_path, "host-network", "--tags", "gateway_api,cilium,mesh",
                            cilium=cilium, cilium_version=cilium, gateway_api_src=crds,
                            cilium_gateway_api={"channel": "standard", "version": gateway_api, "host_network": True},
                            cilium_k8s_service_host="172.18.0.2")
    assert code == 0, output[-6000:]
    gateway = kube.get("Gateway", "lab", "default")
    status = {c["type"]: c["status"] for c in gateway["status"]["conditions"]}
    assert status["Accepted"] == "True"
    assert status["Programmed"] == ("True" if programmed else "False"), gateway["status"]
    assert ("cilium#42786" in output) is not programmed
    if programmed:
        assert "default/lab: 172.18.0." in output, output[-3000:]


def install_helm_diff(tmp_path):
    """The helm-diff stand-in (files/helm-diff) as a plugin of the test's helm data directory."""
    target = tmp_path / "helm-data" / "plugins" / "diff"
    shutil.copytree(os.path.join(HERE, "files", "helm-diff"), str(target))


def test_with_helm_diff_installed_a_rerun_upgrades_nothing(bare_cluster, tmp_path, helm_path):
    """Defect: with helm-diff, Cilium upgraded on every run (its chart makes new Hubble certificates per render)."""
    if helm_major() == 4:
        pytest.skip("the helm-diff stand-in is a Helm 3 plugin; the Helm 3 lane runs this test")
    kube = bare_cluster
    deploy_whoami(kube)
    install_helm_diff(tmp_path)
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0, output[-6000:]
    assert recap(output)["changed"] == 0, output[-6000:]
    assert {key: r["revision"] for key, r in helm_releases(kube, helm_path).items()} == {
        key: "1" for key in helm_releases(kube, helm_path)}, "no release was upgraded"
