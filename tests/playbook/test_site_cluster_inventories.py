# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml in cluster mode on the example and test inventories, end to end on the test control plane.

The demo has its own tests (test_site_cluster.py). Here every other
inventory the project ships converges from a bare cluster with the real
charts, and a second run writes nothing; example-baremetal (IPsec) also
has its key created, rotated on request and left alone afterwards. The
apps' workloads are what a user deploys before the mesh: one Deployment
per distinct pod selector of the rendered Services. The nodes of these
inventories are not reachable, so the node checks are skipped
(``--skip-tags preflight``; the preflight role has its own tests).
"""

from __future__ import annotations

import base64
import glob
import os
import re

import pytest
import yaml

from conftest import load_inventory_vars
from controlplane import binaries
from test_site_cluster import converge, gateway_api_crds, helm_major, helm_releases
from test_site_render import recap, run, inventory_path

pytestmark = pytest.mark.cluster

#: The API server as Cilium's agents reach it on the test control plane's node network (kind's layout).
API_HOST = "172.18.0.2"


@pytest.fixture(name="helm_path")
def helm_path_fixture():
    return os.path.dirname(binaries.helm(helm_major()))


def rendered(tmp_path, inventory):
    """Every object render mode writes for ``inventory`` (rendered without a cluster)."""
    dest = tmp_path / "preview"
    code, output = run(["-i", inventory_path(inventory), "-e", "mesh_apply=false", "-e", "mesh_render_dir=%s" % dest])
    assert code == 0, output[-3000:]
    objects = []
    for path in sorted(glob.glob(str(dest / "manifests" / "*.yaml"))):
        with open(path, encoding="utf-8") as handle:
            objects.extend(obj for obj in yaml.safe_load_all(handle) if obj)
    return objects


def deploy_workloads(kube, objects):
    """The apps as a user deploys them: a one-pod Deployment per pod selector no other selector refines,
    listening on the Service's target port, and the TLS Secrets the Gateways' listeners refer to."""
    selectors = []
    for obj in objects:
        if obj["kind"] == "Service" and obj["spec"].get("selector"):
            port = obj["spec"]["ports"][0].get("targetPort", obj["spec"]["ports"][0]["port"])
            selectors.append((obj["metadata"]["namespace"], obj["spec"]["selector"], port))
    for namespace in sorted({entry[0] for entry in selectors}):
        kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for index, (namespace, selector, port) in enumerate(selectors):
        refined = any(other_ns == namespace and other != selector and set(selector.items()) <= set(other.items())
                      for other_ns, other, _port in selectors)
        if refined:
            continue
        kube.put({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "workload-%d" % index, "namespace": namespace},
                  "spec": {"replicas": 1, "selector": {"matchLabels": selector}, "template": {
                      "metadata": {"labels": selector},
                      "spec": {"containers": [{"name": "app", "image": "docker.io/traefik/whoami:v1.10.3",
                                               "ports": [{"containerPort": port}]}]}}}})
    for obj in objects:
        if obj["kind"] != "Gateway":
            continue
        for listener in obj["spec"]["listeners"]:
            for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                namespace = ref.get("namespace", obj["metadata"]["namespace"])
                kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
                kube.put({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                          "metadata": {"name": ref["name"], "namespace": namespace},
                          "data": {"tls.crt": base64.b64encode(b"test").decode(),
                                   "tls.key": base64.b64encode(b"test").decode()}})


def ipsec_key(kube):
    """(key id, whole stored line) of the IPsec key Secret."""
    secret = kube.get("Secret", "cilium-ipsec-keys", "kube-system")
    assert secret is not None, "no IPsec key Secret"
    line = base64.b64decode(secret["data"]["keys"]).decode()
    return int(re.match(r"\s*(\d+)", line).group(1)), line


def assert_not_printed(output, line):
    for field in line.split():
        material = field[2:] if field.startswith("0x") else field
        if re.fullmatch(r"[0-9a-fA-F]{16,}", material):
            assert material not in output and material.lower() not in output, "IPsec key material printed"


def local_crd_channel(inventory):
    """Variables that point ``inventory`` at a CRD channel ../shared/upstream holds.

    Only the standard channel of v1.3.0 and v1.4.1 is there (no download is
    possible here), so an inventory on the experimental channel of an older
    release converges with the standard one; render and conformance tests
    cover its experimental channel."""
    data = load_inventory_vars(inventory)
    gateway_api = dict(data.get("cilium_gateway_api") or {})
    if gateway_api.get("channel") == "experimental" and not data.get("cilium_version", "1.20").startswith("1.20"):
        gateway_api["channel"] = "standard"
        return {"cilium_gateway_api": gateway_api}
    return {}


def converged(kube, tmp_path, helm_path, inventory, *extra, **variables):
    """site.yml cluster mode on ``inventory`` (nodes not contacted) with the chart of the Cilium version it pins;
    returns the output of a run that passed."""
    cilium = load_inventory_vars(inventory).get("cilium_version", "1.20.0")
    variables = dict(local_crd_channel(inventory), **variables)
    code, output = converge(kube, tmp_path, helm_path, inventory, "--skip-tags", "preflight", *extra,
                            cilium=cilium, cilium_k8s_service_host=API_HOST, **variables)
    assert code == 0, output[-6000:]
    assert "Traceback" not in output
    return output


#: What a user may keep in Helm values (a Dapr API token, an annotation with a credential): never printed,
#: not even with -v.
SECRET_MARKERS = {
    "cilium_helm_values": {"operator": {"rollOutPods": True}, "rollOutCiliumPods": True,
                           "podAnnotations": {"example.com/token": "cilium-secret-4f1d"}},
    "dapr_helm_values": {"dapr_scheduler": {"cluster": {"storageSize": "16Gi"}},
                         "dapr_operator": {"deploymentAnnotations": {"example.com/token": "dapr-secret-9c2e"}}},
    "dapr_shared_helm_values": {"shared": {"daprd": {"token": "daprd-secret-7a3b"}}},
}


def test_example_baremetal_converges_and_its_ipsec_key_is_created_rotated_and_kept(bare_cluster, tmp_path,
                                                                                   helm_path):
    kube = bare_cluster
    deploy_workloads(kube, rendered(tmp_path, "example-baremetal"))
    output = converged(kube, tmp_path, helm_path, "example-baremetal", "-v", **SECRET_MARKERS)
    for marker in ("cilium-secret-4f1d", "dapr-secret-9c2e", "daprd-secret-7a3b"):
        assert marker not in output, "a Helm value (%s) was printed at -v" % marker
    operator = kube.get("Deployment", "dapr-operator", "dapr-system")
    assert operator["spec"]["template"]["metadata"]["annotations"].get("example.com/token") == "dapr-secret-9c2e", \
        "the marker values were not applied, so the check above proves nothing"
    assert sorted(helm_releases(kube, helm_path)) == [
        ("dapr-system", "dapr"), ("gateways", "ingress-shared"), ("kube-system", "cilium"),
        ("shop", "cart-shared"), ("shop", "storefront-shared")]
    gateway = kube.get("Gateway", "edge", "gateways")
    assert gateway["status"]["addresses"][0]["value"] == "192.0.2.200", gateway["status"]
    first, line = ipsec_key(kube)
    assert first == 1
    assert_not_printed(output, line)

    start = len(kube.writes())
    output = converged(kube, tmp_path, helm_path, "example-baremetal", cilium_ipsec_rotate=True, **SECRET_MARKERS)
    rotated, new_line = ipsec_key(kube)
    assert rotated == first + 1, "the rotation bumps the key id (SPI) so agents switch to the new key"
    assert new_line != line
    assert_not_printed(output, new_line)
    assert_not_printed(output, line)
    writes = kube.writes()[start:]
    assert [w for w in writes if w[1] == "secrets"], "the key Secret was written"
    assert not [w for w in writes if w[1] != "secrets" and "sh.helm.release" not in w[2]], \
        "a rotation changes the key, nothing else: %s" % writes

    start = len(kube.writes())
    output = converged(kube, tmp_path, helm_path, "example-baremetal", **SECRET_MARKERS)
    assert recap(output)["changed"] == 0, output[-6000:]
    assert kube.writes()[start:] == []
    assert ipsec_key(kube) == (rotated, new_line), "a rerun leaves the rotated key alone"


@pytest.mark.parametrize("inventory", ["minimal", "multi-namespace", "host-network"])
def test_test_inventory_converges_and_a_rerun_writes_nothing(bare_cluster, tmp_path, helm_path, inventory):
    kube = bare_cluster
    objects = rendered(tmp_path, inventory)
    deploy_workloads(kube, objects)
    converged(kube, tmp_path, helm_path, inventory)
    for obj in objects:
        if obj["kind"] == "Namespace":
            continue
        live = kube.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"),
                        api_version=obj["apiVersion"])
        assert live is not None, "%s %s was not applied" % (obj["kind"], obj["metadata"]["name"])
    for gateway in (o for o in objects if o["kind"] == "Gateway"):
        live = kube.get("Gateway", gateway["metadata"]["name"], gateway["metadata"]["namespace"])
        status = {c["type"]: c["status"] for c in live["status"]["conditions"]}
        assert status.get("Programmed") == "True", live["status"]
    start = len(kube.writes())
    output = converged(kube, tmp_path, helm_path, inventory)
    assert recap(output)["changed"] == 0, output[-6000:]
    assert kube.writes()[start:] == []


def test_gateway_api_crds_of_another_release_are_refused_before_anything_is_written(
        bare_cluster, tmp_path, helm_path):
    """host-network pins Cilium 1.19 (Gateway API v1.4.1); CRDs of v1.6.1 in gateway_api_src are refused."""
    kube = bare_cluster
    start = len(kube.writes())
    code, output = converge(kube, tmp_path, helm_path, "host-network", "--skip-tags", "preflight",
                            cilium="1.19.6", cilium_k8s_service_host=API_HOST,
                            gateway_api_src=gateway_api_crds("1.20.0"), **local_crd_channel("host-network"))
    assert code == 2, output[-4000:]
    assert "holds the CRDs of Gateway API v1.6.1 (standard channel), but this mesh needs v1.4.1" in output, \
        output[-4000:]
    assert "Traceback" not in output
    assert kube.writes()[start:] == []
