# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Default deny reaches only the namespaces the mesh runs pods in (issue 7, item 3)."""

from __future__ import annotations

from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from helpers import objects, variables


def baselines(rendering):
    return sorted(p["metadata"]["namespace"] for p in objects(rendering, "CiliumNetworkPolicy")
                  if p["metadata"]["name"] == "mesh-baseline")


def test_a_gateway_namespace_without_mesh_pods_gets_no_baseline():
    rendering = render(variables(
        mesh_default_deny=True,
        mesh_gateways=[{"name": "web", "namespace": "edge", "listeners": [{"name": "http", "port": 80}]}],
        mesh_ingress={"namespace": "ingress"},
        mesh_apps=[{"name": "shop", "namespace": "shop", "routes": [{"gateway": "web"}]}]))
    assert baselines(rendering) == ["ingress", "shop"]
    assert "edge" in [o["metadata"]["name"] for o in objects(rendering, "Namespace")], "the gateway still gets its namespace"


def test_without_default_deny_nothing_is_refused_or_rendered():
    rendering = render(variables(mesh_apps=[{"name": "shop", "namespace": "kube-system"}]))
    assert baselines(rendering) == []
