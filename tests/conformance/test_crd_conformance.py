# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every rendered object is one the real API server would accept.

Objects of every inventory (and of the demo on each supported Cilium line)
are checked against the upstream CRDs: structure, defaults and the CEL
rules. Negative controls prove the validator rejects what the API server
rejects, so a green run means something.
"""

from __future__ import annotations

import copy
import glob
import os

import pytest
import yaml

from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from conftest import INVENTORIES, load_inventory_vars
from validator import Catalogue, CelRule

VARIANTS = [(name, {}) for name in INVENTORIES] + [
    ("demo", {"cilium_version": "1.18.12"}),
    ("demo", {"cilium_version": "1.19.6"}),
    ("demo", {"mesh_default_deny": True, "mesh_mutual_auth": True, "cilium_mutual_auth": {"enabled": True},
              "cilium_policy_enforcement_mode": "always"}),
]


def rendering_of(name, overrides):
    values = load_inventory_vars(name)
    values.update(overrides)
    picked, unknown = collect_variables(values)
    return render(picked, unknown)


@pytest.fixture(scope="module")
def catalogues(upstream):
    return {channel: Catalogue(upstream, channel) for channel in ("standard", "experimental")}


def _id(variant):
    name, overrides = variant
    return name + ("+" + ",".join("%s=%s" % (k, v if not isinstance(v, dict) else "..") for k, v in overrides.items())
                   if overrides else "")


@pytest.mark.parametrize("variant", VARIANTS, ids=[_id(v) for v in VARIANTS])
def test_every_rendered_object_is_accepted(variant, catalogues):
    rendering = rendering_of(*variant)
    catalogue = catalogues[rendering.mesh.settings["cilium_gateway_api"]["channel"]]
    failures = {}
    for obj in rendering.objects():
        problems = catalogue.validate(obj)
        if problems:
            failures["%s %s/%s" % (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = problems
    assert not failures, yaml.safe_dump(failures)
    if rendering.mesh.apps or rendering.mesh.gateways:
        assert rendering.objects(), "nothing rendered"


def test_a_large_generated_mesh_is_accepted(catalogues):
    apps = []
    for index in range(40):
        apps.append({
            "name": "svc%d" % index, "namespace": "team%d" % (index % 5), "port": 8000 + index,
            "versions": [{"name": "stable", "weight": 9}, {"name": "canary", "weight": 1}] if index % 2 else [],
            "routes": [{"gateway": "edge", "path": "/svc%d" % index, "hostnames": ["svc%d.example.com" % index]}],
            "allowed_callers": ["svc%d.team%d" % (index - 1, (index - 1) % 5)] if index else [],
        })
    variables = {
        "cilium_k8s_service_host": "10.0.0.1",
        "mesh_gateways": [{"name": "edge", "listeners": [{"name": "http", "port": 80}]}],
        "mesh_apps": apps, "mesh_default_deny": True,
    }
    rendering = render(variables)
    problems = [(obj["kind"], obj["metadata"]["name"], catalogues["standard"].validate(obj))
                for obj in rendering.objects()]
    assert [p for p in problems if p[2]] == []
    assert len(rendering.objects()) > 200


# -- negative controls ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_objects():
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in rendering_of("demo", {}).objects()}


def test_control_prefix_rewrite_needs_a_pathprefix_match(catalogues, demo_objects):
    route = copy.deepcopy(demo_objects[("HTTPRoute", "whoami-default-gateway")])
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Exact"
    problems = catalogues["standard"].validate(route)
    assert any("exactly one PathPrefix match must be specified" in p for p in problems), problems


def test_control_service_backend_needs_a_port(catalogues, demo_objects):
    route = copy.deepcopy(demo_objects[("HTTPRoute", "whoami-split")])
    del route["spec"]["rules"][0]["backendRefs"][0]["port"]
    problems = catalogues["standard"].validate(route)
    assert any("Must have port for Service reference" in p for p in problems), problems


def test_control_unknown_fields_and_enums_are_rejected(catalogues, demo_objects):
    policy = copy.deepcopy(demo_objects[("CiliumNetworkPolicy", "ingress-dapr")])
    policy["spec"]["ingress"][0]["fromEntities"] = ["gateway"]
    policy["spec"]["ingres"] = []
    problems = catalogues["standard"].validate(policy)
    assert any("'gateway' is not one of" in p for p in problems), problems
    assert any("unknown field 'ingres'" in p for p in problems), problems


def test_control_local_redirect_needs_a_backend_and_a_single_frontend(catalogues, demo_objects):
    lrp = copy.deepcopy(demo_objects[("CiliumLocalRedirectPolicy", "ingress-dapr-local")])
    lrp["spec"]["redirectFrontend"]["addressMatcher"] = {"ip": "10.0.0.1", "toPorts": [{"port": "80", "protocol": "TCP"}]}
    del lrp["spec"]["redirectBackend"]["toPorts"]
    problems = catalogues["standard"].validate(lrp)
    assert any("exactly one of the oneOf" in p for p in problems), problems
    assert any("missing required field 'toPorts'" in p for p in problems), problems


def test_control_too_many_hostnames_and_bad_gateway_listener(catalogues, demo_objects):
    route = copy.deepcopy(demo_objects[("HTTPRoute", "whoami-default-gateway")])
    route["spec"]["hostnames"] = ["h%d.example.com" % i for i in range(17)]
    assert any("at most 16 items" in p for p in catalogues["standard"].validate(route))
    gateway = copy.deepcopy(demo_objects[("Gateway", "default-gateway")])
    gateway["spec"]["listeners"][0]["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": "x"}]}
    problems = catalogues["standard"].validate(gateway)
    assert any("tls must not be specified for protocols ['HTTP'" in p for p in problems), problems
    gateway["spec"]["infrastructure"] = {"labels": {"a/b/c": "x"}}
    problems = catalogues["standard"].validate(gateway)
    assert any("Label keys must be in the form" in p for p in problems), problems


def test_control_builtin_service_names_start_with_a_letter(catalogues, demo_objects):
    service = copy.deepcopy(demo_objects[("Service", "whoami")])
    service["metadata"]["name"] = "1whoami"
    assert any("DNS-1035" in p for p in catalogues["standard"].validate(service))


def test_experimental_only_kinds_are_not_served_by_the_standard_channel(catalogues):
    assert catalogues["standard"].served("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert not catalogues["standard"].served("gateway.networking.k8s.io/v1alpha2", "TLSRoute")
    assert catalogues["experimental"].served("gateway.networking.k8s.io/v1alpha2", "TLSRoute")


def test_every_cel_rule_of_the_crds_compiles(upstream):
    """cel-python must understand every rule, or validation would silently skip some."""
    count = 0
    for path in glob.glob(os.path.join(upstream, "gateway-api", "*", "*.yaml")) + \
            glob.glob(os.path.join(upstream, "cilium", "crds", "*.yaml")):
        text = open(path, encoding="utf-8").read()
        for doc in yaml.safe_load_all(text):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for rule in _rules(doc):
                CelRule(rule)
                count += 1
    assert count > 300


def _rules(node):
    if isinstance(node, dict):
        yield from node.get("x-kubernetes-validations") or []
        for value in node.values():
            yield from _rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rules(value)


def test_the_crd_rule_table_is_generated_from_the_upstream_crds(upstream):
    """plugins/module_utils/crdrules.py is what tools/gen_crd_rules.py makes of the upstream CRDs."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_crd_rules.py"), "--upstream", upstream,
                              "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                             check=False)
    assert process.returncode == 0, process.stdout
