# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What validation accepts, the API server admits (issue 7, Tests).

Hypothesis builds inventories across the features and Cilium lines: gateways
with HTTP and HTTPS listeners (certificates in other namespaces too), apps with
versions, routes, callers and Dapr strategies, pools, L2 announcements,
encryption, Hubble, default deny, mutual authentication, extra policies, and
values drawn from wide alphabets (paths, host names, labels, annotations) so
that some are invalid. The property: the render either refuses the inventory
with problems that name variable paths, or every object it renders passes the
upstream schema and every CEL rule (tests/conformance/validator.py, cel-python)
and the admission policies the pinned Cilium chart installs. The count of
inventories tried and accepted is printed.
"""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import ValidationError
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from validator import Catalogue

EXAMPLES = int(os.environ.get("MESH_GENERATED_INVENTORIES", "1000"))
COUNT = {"tried": 0, "accepted": 0, "objects": 0}

LINES = [("1.20.0", "v1.6.1"), ("1.19.6", "v1.4.1"), ("1.18.12", "v1.3.0")]


def mostly(valid, wild):
    """Mostly valid values, one in eight drawn from a wide alphabet (which validation may refuse)."""
    return st.one_of(*([valid] * 7 + [wild]))


label_texts = mostly(st.from_regex(r"[a-z]([a-z0-9.-]{0,6}[a-z0-9])?", fullmatch=True),
                     st.text(alphabet="abcz09-._/ A", min_size=0, max_size=12))
names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
paths = mostly(st.sampled_from(["/", "/shop", "/shop/", "/a/b", "/api/v1", "/x%20y", "/~user/(1)"]),
               st.text(alphabet="/abc%20 ~!$&'()*+,;=:@é?#", min_size=1, max_size=10).map(lambda p: "/" + p))
hosts = mostly(st.sampled_from(["shop.example.com", "*.example.com", "a.b.example.com"]),
               st.text(alphabet="abc.-*09A", min_size=1, max_size=12))


@st.composite
def inventories(draw):
    cilium, _gateway_api = draw(st.sampled_from(LINES))
    kpr = draw(st.booleans()) or cilium != "1.18.12"
    host_network = draw(st.booleans())
    variables = {
        "mesh_cluster_name": "gen",
        "cilium_version": cilium,
        "cilium_kube_proxy_replacement": kpr,
        "cilium_k8s_service_host": "192.0.2.10",
        "cilium_encryption": draw(st.sampled_from(["none", "wireguard", "ipsec"])),
        "cilium_gateway_api": {"host_network": host_network},
        "mesh_default_deny": draw(st.booleans()),
        "cilium_policy_enforcement_mode": draw(st.sampled_from(["default", "always"])),
    }
    hubble = draw(st.sampled_from([{}, {"ui": False}, {"ui": False, "relay": False}]))
    if hubble:
        variables["cilium_hubble"] = hubble
    if cilium != "1.20.0" and draw(st.booleans()):
        variables["cilium_mutual_auth"] = {"enabled": True}
        variables["mesh_mutual_auth"] = draw(st.booleans())
    if not host_network:
        variables["cilium_lb_ipam_pools"] = [{"name": "pool", "blocks": ["192.0.2.0/24"]}]
        if kpr and draw(st.booleans()):
            variables["cilium_l2_announcements"] = {"enabled": True, "interfaces": [draw(st.sampled_from(
                ["^eth[0-9]+", "^bond0$", "eth[[:digit:]]", "(?i)ENS.*"]))]}
    gateways = []
    for index in range(draw(st.integers(min_value=1, max_value=2))):
        listeners = [{"name": "http", "port": 8080 if host_network else 80}]
        if draw(st.booleans()):
            ref = {"name": "tls-%d" % index}
            if draw(st.booleans()):
                ref["namespace"] = draw(st.sampled_from(["certs", "edge", "default"]))
            listeners.append({"name": "https", "port": 8443 if host_network else 443, "protocol": "HTTPS",
                              "hostname": draw(hosts), "certificate_refs": [ref]})
        gateway = {"name": "gw%d" % index, "namespace": draw(st.sampled_from(["default", "edge"])),
                   "listeners": listeners}
        if draw(st.booleans()):
            gateway["labels"] = draw(st.dictionaries(label_texts, label_texts, max_size=3))
        if draw(st.booleans()):
            gateway["annotations"] = draw(st.dictionaries(label_texts, st.text(max_size=8), max_size=3))
        if not host_network and draw(st.booleans()):
            gateway["addresses"] = ["192.0.2.%d" % (10 + index)]
        gateways.append(gateway)
    variables["mesh_gateways"] = gateways
    if draw(st.booleans()):
        variables["mesh_ingress"] = {"namespace": draw(st.sampled_from(["default", "ingress"])), "local_redirect": kpr}
    apps = []
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        app = {"name": "app%d" % index, "namespace": draw(st.sampled_from(["default", "shop", "team-a"])),
               "port": draw(st.sampled_from([80, 8080, 3000]))}
        if draw(st.booleans()):
            app["versions"] = [{"name": "v%d" % n, "weight": draw(st.integers(min_value=0, max_value=100))}
                               for n in range(draw(st.integers(min_value=1, max_value=3)))]
        app["routes"] = [{"gateway": "gw%d" % draw(st.integers(min_value=0, max_value=len(gateways) - 1)),
                          "path": draw(paths)} for _route in range(draw(st.integers(min_value=0, max_value=2)))]
        for route in app["routes"]:
            if draw(st.booleans()):
                route["hostnames"] = draw(st.lists(hosts, max_size=2))
        if apps and draw(st.booleans()):
            app["allowed_callers"] = ["%s.%s" % (apps[-1]["name"], apps[-1]["namespace"])]
        if draw(st.booleans()):
            app["dapr"] = {"strategy": draw(st.sampled_from(["deployment", "daemonset"]))}
        apps.append(app)
    variables["mesh_apps"] = apps
    if draw(st.booleans()):
        variables["mesh_extra_policies"] = [{
            "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": draw(names), "namespace": "default",
                         "labels": draw(st.dictionaries(label_texts, label_texts, max_size=2))},
            "spec": {"endpointSelector": {"matchLabels": {"app": "x"}},
                     "ingress": [{"fromEntities": [draw(mostly(st.sampled_from(["world", "cluster", "ingress"]),
                                                               st.just("gateway")))],
                                  draw(mostly(st.just("toPorts"), st.just("toPortz"))): [{"ports": [{"port": "80"}]}]}]}}]
    return variables


@pytest.fixture(scope="module")
def catalogue(upstream):
    return Catalogue(upstream, "standard")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(inventories())
def test_what_validation_accepts_the_api_server_admits(catalogue, variables):
    COUNT["tried"] += 1
    try:
        rendering = render(copy.deepcopy(variables))
    except ValidationError as exc:
        assert all(problem.path for problem in exc.problems), exc
        assert not any("could not be processed" in problem.message for problem in exc.problems), exc
        return
    COUNT["accepted"] += 1
    refused = {}
    for obj in rendering.objects():
        COUNT["objects"] += 1
        problems = catalogue.validate(copy.deepcopy(obj))
        if problems:
            refused["%s %s/%s" % (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = \
                problems
    assert not refused, "validation accepted what the API server would refuse: %s\ninventory: %s" % (refused, variables)


def test_zz_generated_inventories_ran(capsys):
    with capsys.disabled():
        print("\ngenerated inventories: %(tried)d tried, %(accepted)d accepted, %(objects)d objects admitted" % COUNT)
    assert COUNT["tried"] == 0 or COUNT["accepted"] >= COUNT["tried"] // 10, \
        "too few generated inventories were accepted for the property to mean much: %s" % COUNT
