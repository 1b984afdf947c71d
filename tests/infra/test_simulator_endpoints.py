# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's CiliumEndpoints follow their pods, as the Cilium agent's do.

The cilium role restarts running pods that have no CiliumEndpoint (Cilium
did not set up their network). A StatefulSet's replacement pod reuses its
predecessor's name, and so meets that pod's endpoint before the garbage
collector removes it; the agent takes the endpoint over. Once the simulator
lost that race, the endpoint was collected after the old pod and the
replacement counted as unmanaged for ever: the rerun of a mesh with SPIRE
restarted spire-server-0 again (CI, lane 2).
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.cluster


def _agents_and_operator(kube):
    """A Ready Cilium agent on every node and a Ready operator: the simulator then manages new pods."""
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cilium-test"}})
    for node in ("mesh-control-plane", "mesh-worker", "mesh-worker2"):
        kube.put({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "cilium-%s" % node, "namespace": "cilium-test", "labels": {"k8s-app": "cilium"}},
                  "spec": {"nodeName": node, "hostNetwork": True,
                           "tolerations": [{"operator": "Exists"}],
                           "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.20.0"}]}})
    kube.put({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "cilium-operator", "namespace": "cilium-test",
                           "labels": {"io.cilium/app": "operator"}},
              "spec": {"nodeName": "mesh-worker", "hostNetwork": True,
                       "containers": [{"name": "cilium-operator",
                                       "image": "quay.io/cilium/operator-generic:v1.20.0"}]}})
    kube.wait(lambda: kube.established("ciliumendpoints.cilium.io"), 60, "the CiliumEndpoint CRD")
    kube.wait(lambda: all(any(c["type"] == "Ready" and c["status"] == "True"
                              for c in (n.get("status") or {}).get("conditions") or [])
                          for n in kube.items("Node")), 60, "every node Ready under its agent")


def _endpoint_owner(kube, name, namespace):
    endpoint = kube.get("CiliumEndpoint", name, namespace, api_version="cilium.io/v2")
    if endpoint is None:
        return None
    return [o["uid"] for o in endpoint["metadata"].get("ownerReferences") or []]


def test_a_statefulset_pod_that_replaces_its_predecessor_keeps_a_ciliumendpoint(bare_cluster):
    kube = bare_cluster
    _agents_and_operator(kube)
    kube.put({"apiVersion": "apps/v1", "kind": "StatefulSet",
              "metadata": {"name": "store", "namespace": "default"},
              "spec": {"replicas": 1, "serviceName": "store", "selector": {"matchLabels": {"app": "store"}},
                       "template": {"metadata": {"labels": {"app": "store"}},
                                    "spec": {"terminationGracePeriodSeconds": 0,
                                             "containers": [{"name": "store", "image": "docker.io/library/redis:7"}]}}}})

    def pod():
        return kube.get("Pod", "store-0", "default")

    kube.wait(lambda: pod() is not None and _endpoint_owner(kube, "store-0", "default") == [pod()["metadata"]["uid"]],
              60, "store-0's CiliumEndpoint")
    for _round in range(3):  # the race is timing-dependent: replace the pod several times
        old = pod()["metadata"]["uid"]
        kube.client.delete(kube.path("Pod", "store-0", "default"), gracePeriodSeconds="0")
        kube.wait(lambda: pod() is not None and pod()["metadata"]["uid"] != old
                  and (pod().get("status") or {}).get("podIP"), 60, "the replacement store-0 running")
        new = pod()["metadata"]["uid"]
        kube.wait(lambda: _endpoint_owner(kube, "store-0", "default") == [new], 30,
                  "the CiliumEndpoint to belong to the replacement pod")
        time.sleep(3)  # long enough for the garbage collector to act on the old owner
        assert _endpoint_owner(kube, "store-0", "default") == [new], \
            "the replacement pod lost its CiliumEndpoint:\n%s" % kube.logs()
