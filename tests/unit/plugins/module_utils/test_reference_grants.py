# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A listener's certificate in another namespace gets the ReferenceGrant the Gateway API requires (issue 7, item 7)."""

from __future__ import annotations

from ansible_collections.sidecarless.mesh.plugins.module_utils import apply
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from helpers import objects, variables


def https_gateway(*refs):
    return [{"name": "web", "namespace": "edge", "listeners": [
        {"name": "http", "port": 80},
        {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "a.example.com",
         "certificate_refs": [dict(ref) for ref in refs[:1]]},
        {"name": "https-b", "port": 443, "protocol": "HTTPS", "hostname": "b.example.com",
         "certificate_refs": [dict(ref) for ref in refs[1:]] or [{"name": "own"}]}]}]


def test_a_cross_namespace_certificate_gets_a_grant_naming_exactly_its_secrets():
    rendering = render(variables(mesh_gateways=https_gateway({"name": "a-tls", "namespace": "certs"},
                                                             {"name": "b-tls", "namespace": "certs"})))
    grants = objects(rendering, "ReferenceGrant")
    assert len(grants) == 1
    grant = grants[0]
    assert grant["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert grant["metadata"]["namespace"] == "certs" and grant["metadata"]["name"] == "gateway-edge-web"
    assert grant["metadata"]["labels"]["sidecarless.mesh/instance"] == "unit", "owned, so pruned like the rest"
    assert grant["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "edge"}],
        "to": [{"group": "", "kind": "Secret", "name": "a-tls"}, {"group": "", "kind": "Secret", "name": "b-tls"}],
    }
    order = [(o["kind"], o["metadata"]["name"]) for o in rendering.files["20-gateways.yaml"]]
    assert order == [("ReferenceGrant", "gateway-edge-web"), ("Gateway", "web")], "the grant is applied first"
    assert ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant") in apply.PRUNE_KINDS


def test_a_certificate_in_the_gateways_own_namespace_needs_no_grant():
    rendering = render(variables(mesh_gateways=https_gateway({"name": "a-tls"}, {"name": "b-tls", "namespace": "edge"})))
    assert objects(rendering, "ReferenceGrant") == []
