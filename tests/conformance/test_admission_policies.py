# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered objects pass the ValidatingAdmissionPolicies the pinned charts install.

Beside the CRDs' own rules, a chart can install admission policies that the
API server applies to the objects the collection writes (Cilium 1.20's
gateway.cilium.io, for one, admits a single certificate per Terminate
listener). The policies are read from the chart archives in
$MESH_CHARTS_DIR (../shared/charts): every ValidatingAdmissionPolicy in the
chart's templates, with its match rules and CEL validations, is evaluated
against every rendered object it matches, for the inventories rendered on
that chart's Cilium version. A negative control proves the evaluation can
fail.
"""

from __future__ import annotations

import copy
import os
import tarfile

import celpy
import pytest
import yaml
from celpy import celtypes
from celpy.adapter import json_to_cel

from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from conftest import INVENTORIES, ROOT, load_inventory_vars

CHARTS = os.path.abspath(os.environ.get("MESH_CHARTS_DIR", os.path.join(ROOT, "..", "shared", "charts")))
CILIUM_VERSIONS = ("1.18.12", "1.19.6", "1.20.0")


def chart_path(version):
    path = os.path.join(CHARTS, "cilium-%s.tgz" % version)
    if not os.path.isfile(path):
        message = "chart %s not found (set MESH_CHARTS_DIR): admission policies NOT checked" % path
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def admission_policies(archive_path):
    """Every ValidatingAdmissionPolicy in the chart's templates, with the template directives removed.

    The templates wrap the policy in conditions and add optional labels; what
    the API server evaluates (matchConstraints and validations) is plain YAML
    in them, so dropping the lines that hold a directive leaves the policy."""
    policies = []
    with tarfile.open(archive_path) as archive:
        for member in archive.getmembers():
            if not member.isfile() or "/templates/" not in member.name or not member.name.endswith(".yaml"):
                continue
            text = archive.extractfile(member).read().decode("utf-8")
            if "kind: ValidatingAdmissionPolicy\n" not in text:
                continue
            plain = "\n".join(line for line in text.splitlines() if "{{" not in line)
            for doc in yaml.safe_load_all(plain):
                if doc and doc.get("kind") == "ValidatingAdmissionPolicy":
                    policies.append((member.name, doc))
    return policies


class Policy(object):
    _env = celpy.Environment()

    def __init__(self, source, doc):
        self.source = source
        self.name = doc["metadata"]["name"]
        self.rules = doc["spec"]["matchConstraints"]["resourceRules"]
        self.validations = [(self._env.program(self._env.compile(v["expression"])), v.get("message", v["expression"]))
                            for v in doc["spec"]["validations"]]

    def matches(self, obj):
        group, _slash, version = obj["apiVersion"].rpartition("/")
        resource = obj["kind"].lower() + "s"
        return any(group in rule["apiGroups"] and version in rule["apiVersions"] and resource in rule["resources"]
                   and "CREATE" in rule["operations"] for rule in self.rules)

    def denials(self, obj):
        found = []
        for program, message in self.validations:
            result = program.evaluate({"object": json_to_cel(obj)})
            if result is not True and result != celtypes.BoolType(True):
                found.append("%s (%s): %s" % (self.name, self.source, message))
        return found


def policies_of(version):
    return [Policy(source, doc) for source, doc in admission_policies(chart_path(version))]


def renderings():
    for name in INVENTORIES:
        yield name, {}
    for version in CILIUM_VERSIONS:
        yield "demo", {"cilium_version": version}


CASES = list(renderings())


@pytest.mark.parametrize("name,overrides", CASES,
                         ids=["%s%s" % (n, "+" + o["cilium_version"] if o else "") for n, o in CASES])
def test_rendered_objects_pass_the_charts_admission_policies(name, overrides):
    values = load_inventory_vars(name)
    values.update(overrides)
    picked, unknown = collect_variables(values)
    rendering = render(picked, unknown)
    version = rendering.mesh.settings["cilium_version"]
    policies = policies_of(version)
    denied = {}
    for obj in rendering.objects():
        for policy in policies:
            if policy.matches(obj):
                problems = policy.denials(obj)
                if problems:
                    denied["%s %s/%s" % (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])] = \
                        problems
    assert not denied, yaml.safe_dump(denied)


def test_cilium_1_20_installs_the_gateway_policy_and_it_denies_two_certificates():
    """The negative control: the policy is found in the 1.20 chart, and a Terminate listener with two
    certificates (what validation refuses on 1.20) is denied by it."""
    policies = policies_of("1.20.0")
    assert [p.name for p in policies] == ["gateway.cilium.io"]
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "default"},
        "spec": {"gatewayClassName": "cilium", "listeners": [{
            "name": "https", "port": 443, "protocol": "HTTPS",
            "tls": {"mode": "Terminate", "certificateRefs": [{"name": "rsa"}]}}]},
    }
    assert policies[0].matches(gateway)
    assert policies[0].denials(gateway) == []
    two = copy.deepcopy(gateway)
    two["spec"]["listeners"][0]["tls"]["certificateRefs"].append({"name": "ecdsa"})
    assert policies[0].denials(two), "two certificates must be denied"
    other_class = copy.deepcopy(two)
    other_class["spec"]["gatewayClassName"] = "istio"
    assert policies[0].denials(other_class) == []
