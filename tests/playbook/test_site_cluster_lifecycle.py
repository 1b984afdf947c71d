# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 operations against the real test control plane: upgrade, leaving kube-proxy, IPsec keys, outages.

Same setup as test_site_cluster.py (fresh cluster per test, the real charts,
the real helm); what these add is a cluster that already runs something
when the collection arrives.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT
from controlplane import binaries
from test_site_cluster import cluster_vars, converge, deploy_whoami, helm_major, helm_releases
from test_site_render import inventory_path, recap, run

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module", name="helm_path")
def helm_path_fixture():
    return os.path.dirname(binaries.helm(helm_major()))


@pytest.fixture(autouse=True)
def helm_home_cleanup(tmp_path):
    """Helm writes its repository cache and config under the test's directory, not the user's home."""
    yield
    shutil.rmtree(tmp_path / "helm-cache", ignore_errors=True)


GATEWAY_API = os.path.join(ROOT, "..", "shared", "upstream", "gateway-api")
ON_1_19 = dict(cilium="1.19.6", cilium_version="1.19.6", gateway_api_src=os.path.join(GATEWAY_API, "v1.4.1", "standard"),
               cilium_gateway_api={"channel": "standard", "version": "v1.4.1"})


def helm_env(tmp_path, helm_path):
    return {"PATH": "%s:%s" % (helm_path, os.environ["PATH"]), "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
            "HELM_CONFIG_HOME": str(tmp_path / "helm-config"), "HELM_DATA_HOME": str(tmp_path / "helm-data")}


def index_of(requests, predicate, what):
    for index, request in enumerate(requests):
        if predicate(request):
            return index
    raise AssertionError("no request %s in the audit log" % what)


def operator_images(kube):
    return sorted({c["image"].split("@")[0] for p in kube.items("Pod", "kube-system", labelSelector="io.cilium/app=operator")
                   for c in p["spec"]["containers"]})


def test_upgrade_from_1_19_to_1_20_follows_ciliums_upgrade_guide(bare_cluster, tmp_path, helm_path):
    kube = bare_cluster
    deploy_whoami(kube)
    code, output = converge(kube, tmp_path, helm_path, **ON_1_19)
    assert code == 0, output[-6000:]
    assert helm_releases(kube, helm_path)[("kube-system", "cilium")]["chart"] == "cilium-1.19.6"

    # Refused before anything changes: an IPsec key rotation while the version changes.
    before = len(kube.requests())
    code, output = converge(kube, tmp_path, helm_path, "demo", "-e", "cilium_ipsec_rotate=true")
    assert code != 0 and "forbids rotating keys during an upgrade" in output, output[-3000:]
    assert [r for r in kube.requests()[before:] if r[0] in ("create", "update", "patch", "delete")] == []

    before = len(kube.requests())
    args = ["-i", inventory_path("demo"), "-e", cluster_vars(kube, tmp_path)]
    code, output = run(args, playbook="playbooks/upgrade.yml", extra_env=helm_env(tmp_path, helm_path))
    assert code == 0, output[-8000:]
    assert "Traceback" not in output
    requests = kube.requests()[before:]
    # Helm 3 creates (POST); Helm 4 applies server-side (PATCH with the name).
    preflight = index_of(requests, lambda r: r[1] == "daemonsets" and (
        (r[0] == "create" and "kube-system" in r[2]) or (r[0] == "patch" and "cilium-pre-flight-check" in r[2])),
        "creating the pre-flight DaemonSet")
    crds = index_of(requests, lambda r: r[0] in ("patch", "update") and r[1] == "customresourcedefinitions"
                    and "tlsroutes" in r[2], "applying the new TLSRoute CRD")
    upgrade = index_of(requests, lambda r: r[0] in ("patch", "update") and r[1] == "daemonsets"
                       and r[2].rstrip("?").split("?")[0].endswith("/daemonsets/cilium"), "upgrading the agents")
    assert preflight < crds < upgrade, "pre-flight check, then the Gateway API CRDs, then Cilium"
    assert kube.get("DaemonSet", "cilium-pre-flight-check", "kube-system") is None, "the pre-flight check is removed"

    release = helm_releases(kube, helm_path)[("kube-system", "cilium")]
    assert release["chart"] == "cilium-1.20.0" and release["status"] == "deployed"
    values = subprocess.run([os.path.join(helm_path, "helm"), "get", "values", "cilium", "-n", "kube-system", "-o",
                             "json"], env=dict(os.environ, KUBECONFIG=kube.kubeconfig_path), check=True,
                            stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert yaml.safe_load(values)["upgradeCompatibility"] == "1.19", "upgradeCompatibility is the first minor"
    assert operator_images(kube) == ["quay.io/cilium/operator-generic:v1.20.0"], operator_images(kube)
    tlsroute = kube.get("CustomResourceDefinition", "tlsroutes.gateway.networking.k8s.io")
    assert "v1" in [v["name"] for v in tlsroute["spec"]["versions"] if v["served"]]
    gateway = kube.get("Gateway", "default-gateway", "default")
    assert [c["status"] for c in gateway["status"]["conditions"] if c["type"] == "Programmed"] == ["True"]

    # site.yml on the upgraded cluster keeps upgradeCompatibility: nothing changes.
    before = len(kube.requests())
    code, output = converge(kube, tmp_path, helm_path)
    assert code == 0 and recap(output)["changed"] == 0, output[-6000:]
    writes = [r for r in kube.requests()[before:] if r[0] in ("create", "update", "patch", "delete")
              and "dryRun=All" not in r[2]]
    assert writes == [], writes

    # A downgrade is refused, naming what to do instead.
    code, output = converge(kube, tmp_path, helm_path, **ON_1_19)
    assert code != 0 and "is a downgrade from the running 1.20.0" in output, output[-3000:]


KUBE_PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: %s
"""


def kube_proxy(kube, mode):
    """kube-proxy as kubeadm installs it: a DaemonSet and its ConfigMap in kube-system."""
    kube.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
              "data": {"config.conf": KUBE_PROXY_CONFIG % mode}})
    labels = {"k8s-app": "kube-proxy"}
    kube.put({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
              "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                  "hostNetwork": True, "tolerations": [{"operator": "Exists"}],
                  "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.35.4",
                                  "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"]}]}}}})


def fake_node_tools(tmp_path):
    """iptables/ip6tables/ipvsadm/ip of a node that kube-proxy ran on, as scripts over files in tmp_path/node."""
    node, tools = tmp_path / "node", tmp_path / "node-bin"
    node.mkdir()
    tools.mkdir()
    for family in ("iptables", "ip6tables"):
        (node / family).write_text("*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n"
                                   ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
        (tools / ("%s-save" % family)).write_text("#!/bin/sh\ncat %s\n" % (node / family))
        (tools / ("%s-restore" % family)).write_text("#!/bin/sh\ncat > %s.new && mv %s.new %s\n" % (
            node / family, node / family, node / family))
    (node / "ipvs").write_text("-A -t 10.96.0.1:443 -s rr\n")
    (tools / "ipvsadm").write_text('#!/bin/sh\ncase "$1" in -S) cat %s;; --clear) : > %s;; esac\n' % (
        node / "ipvs", node / "ipvs"))
    (node / "kube-ipvs0").write_text("up\n")
    (tools / "ip").write_text('#!/bin/sh\nif [ "$2" = show ]; then test -s %s; else : > %s; fi\n' % (
        node / "kube-ipvs0", node / "kube-ipvs0"))
    for script in tools.iterdir():
        script.chmod(0o755)
    return node, tools


def node_inventory(tmp_path):
    """The demo inventory plus one node reached locally (privilege escalation off: the tools above need none)."""
    path = tmp_path / "nodes.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"mesh_nodes": {"hosts": {"node1": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "ansible_become": False}}}}}}))
    return str(path)


def test_leaving_kube_proxy_in_ipvs_mode(kube, tmp_path, helm_path):
    """kube-proxy (DaemonSet, ConfigMap, IPVS rules) goes only after the pre-flight check, once; pods are restarted."""
    kube_proxy(kube, "ipvs")
    deploy_whoami(kube)
    kube.wait(lambda: all(p.get("status", {}).get("podIP") for p in kube.items("Pod", "default")) and kube.items(
        "Pod", "default"), 60, "whoami pods running on the old network")
    old_pods = {p["metadata"]["uid"] for p in kube.items("Pod", "default")}
    node, tools = fake_node_tools(tmp_path)
    env = helm_env(tmp_path, helm_path)
    env["PATH"] = "%s:%s" % (tools, env["PATH"])
    extra = cluster_vars(kube, tmp_path, cilium_migrate_from_kube_proxy=True)
    args = ["-i", inventory_path("demo"), "-i", node_inventory(tmp_path), "-e", extra, "--skip-tags", "preflight"]

    # Without nodes to flush the migration is refused before anything changes (the Gateway API CRDs included).
    start = len(kube.writes())
    code, output = run(["-i", inventory_path("demo"), "-e", extra], extra_env=env)
    assert code != 0 and "(mesh_node_group) has no hosts" in output, output[-3000:]
    assert kube.get("DaemonSet", "kube-proxy", "kube-system") is not None
    assert kube.writes()[start:] == [], "refused after writing"

    code, output = run(args, extra_env=env)
    assert code == 0, output[-8000:]
    assert kube.get("DaemonSet", "kube-proxy", "kube-system") is None
    assert kube.get("ConfigMap", "kube-proxy", "kube-system") is None
    for family in ("iptables", "ip6tables"):
        assert "KUBE" not in (node / family).read_text(), family
        assert "POSTROUTING" in (node / family).read_text(), "only kube-proxy's rules go"
    assert (node / "ipvs").read_text() == "" and (node / "kube-ipvs0").read_text() == ""
    now = {p["metadata"]["uid"] for p in kube.items("Pod", "default")}
    assert now and not now & old_pods, "the whoami pods started before Cilium were restarted under it"

    code, output = run(args, extra_env=env)
    assert code == 0 and recap(output)["changed"] == 0, output[-6000:]


def test_leaving_kube_proxy_waits_for_images_that_can_be_pulled(kube, tmp_path, helm_path):
    """An agent image no node can pull stops the migration while kube-proxy still runs."""
    kube_proxy(kube, "iptables")
    node, tools = fake_node_tools(tmp_path)
    env = helm_env(tmp_path, helm_path)
    env["PATH"] = "%s:%s" % (tools, env["PATH"])
    extra = cluster_vars(kube, tmp_path, cilium_migrate_from_kube_proxy=True, cilium_wait_timeout=60,
                         cilium_helm_values={"image": {"repository": "registry.invalid/cilium/cilium",
                                                       "tag": "v1.20.0", "useDigest": False}})
    code, output = run(["-i", inventory_path("demo"), "-i", node_inventory(tmp_path), "-e", extra,
                        "--tags", "cilium"], extra_env=env)
    assert code != 0
    assert "registry.invalid" in output and "kube-proxy are untouched" in output, output[-4000:]
    assert kube.get("DaemonSet", "kube-proxy", "kube-system") is not None
    assert "KUBE" in (node / "iptables").read_text()
    assert kube.get("DaemonSet", "cilium-pre-flight-check", "kube-system") is None
    assert ("kube-system", "cilium") not in helm_releases(kube, helm_path)
