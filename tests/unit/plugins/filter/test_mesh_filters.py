# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter plugins are thin: same results as the core, Ansible errors for bad input."""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sidecarless.mesh.plugins.filter.mesh import FilterModule
from conftest import ROOT
from helpers import variables

FILTERS = FilterModule().filters()


def test_all_filters_are_exported():
    assert sorted(FILTERS) == ["cilium_unmanaged_pods", "cilium_upgrade_plan", "collection_version", "dapr_invoke_path",
                               "helm_release_problems", "helm_stored_releases", "render_mesh", "validate_mesh"]


def test_the_upgrade_filters_refuse_the_wrong_types_and_read_helm_info():
    with pytest.raises(AnsibleFilterError):
        FILTERS["cilium_upgrade_plan"]([], {})
    with pytest.raises(AnsibleFilterError):
        FILTERS["cilium_unmanaged_pods"]({}, [])
    plan = FILTERS["cilium_upgrade_plan"]({"status": {"status": "deployed", "chart": "cilium-1.19.6", "values": {}}},
                                          {"name": "cilium", "version": "1.20.0", "values": {}})
    assert plan["preflight"] and plan["values"] == {"upgradeCompatibility": "1.19"}
    assert "affinity" not in plan["preflight_values"]["preflight"]


def test_helm_release_problems_reads_one_result_or_a_loop_of_them():
    dapr = {"name": "dapr", "namespace": "dapr-system"}
    pending = {"status": {"status": "pending-install", "chart": "dapr-1.18.3", "values": {}}}
    assert FILTERS["helm_release_problems"]({"status": {}}, dapr) == []
    found = FILTERS["helm_release_problems"]({"results": [{"status": {}}, pending]}, [dapr, dapr])
    assert len(found) == 1 and "helm uninstall dapr -n dapr-system" in found[0]
    with pytest.raises(AnsibleFilterError):
        FILTERS["helm_release_problems"]({"results": [pending]}, [dapr, dapr])
    with pytest.raises(AnsibleFilterError):
        FILTERS["helm_release_problems"]("deployed", dapr)


def test_collection_version_reads_installed_collections():
    assert FILTERS["collection_version"]("kubernetes.core") == "6.2.0"
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        assert FILTERS["collection_version"]("sidecarless.mesh") == yaml.safe_load(handle)["version"]
    assert FILTERS["collection_version"]("nobody.nothing") is None
    with pytest.raises(AnsibleFilterError):
        FILTERS["collection_version"]("kubernetes")


def test_render_mesh_ignores_unrelated_variables_and_returns_plain_data():
    values = dict(variables(), inventory_hostname="localhost", ansible_connection="local")
    result = FILTERS["render_mesh"](values)
    assert result["cluster"] == "unit"
    assert [r["name"] for r in result["releases"]] == ["cilium", "dapr", "ingress-shared", "shop-shared"]
    assert "40-httproutes.yaml" in result["manifests"]
    assert result["counts"]["apps"] == 1


def test_render_mesh_reports_problems_as_a_filter_error():
    with pytest.raises(AnsibleFilterError) as error:
        FILTERS["render_mesh"](variables(cilium_encryption="tls", mesh_typo=1))
    assert "cilium_encryption: must be one of" in str(error.value)
    assert "mesh_typo: unknown variable" in str(error.value)


def test_render_mesh_rejects_non_mappings():
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        FILTERS["render_mesh"](["not", "vars"])


def test_validate_mesh_fills_defaults():
    settings = FILTERS["validate_mesh"]({"cilium_k8s_service_host": "x", "cilium_hubble": {"ui": False}})
    assert settings["cilium_hubble"] == {"enabled": True, "relay": True, "ui": False,
                                         "metrics": ["dns", "drop", "tcp", "flow", "icmp", "http"]}
    assert settings["cilium_version"] == "1.20.0"


def test_dapr_invoke_path():
    assert FILTERS["dapr_invoke_path"]("/", "whoami") == [{
        "match_type": "PathPrefix", "match": "/", "rewrite_type": "ReplacePrefixMatch",
        "rewrite": "/v1.0/invoke/whoami.default/method//"}]
    rules = FILTERS["dapr_invoke_path"]("/shop/", "cart", "shop")
    assert [(r["match_type"], r["match"], r["rewrite"]) for r in rules] == [
        ("Exact", "/shop", "/v1.0/invoke/cart.shop/method/"),
        ("PathPrefix", "/shop", "/v1.0/invoke/cart.shop/method")]
    with pytest.raises(AnsibleFilterError, match="must start with '/'"):
        FILTERS["dapr_invoke_path"]("shop", "cart")


def _release_secret(name, namespace, values, release_text=None):
    release = json.dumps({"name": name, "namespace": namespace, "version": 1, "info": {"status": "deployed"},
                          "chart": {"metadata": {"name": "dapr-shared-chart", "version": "1.16.0"}},
                          "config": values}).encode()
    helm = release_text if release_text is not None else base64.b64encode(release)
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v1" % name, "namespace": namespace,
                         "labels": {"owner": "helm", "name": name, "version": "1"}},
            "data": {"release": base64.b64encode(helm).decode()}}


def test_helm_stored_releases_takes_a_k8s_info_result_and_refuses_what_it_cannot_read():
    wanted = {"name": "ingress-shared", "namespace": "edge"}
    result = {"resources": [_release_secret("ingress-shared", "edge", {"a": 1})]}
    assert FILTERS["helm_stored_releases"](result, wanted)[0]["status"]["values"] == {"a": 1}
    with pytest.raises(AnsibleFilterError, match="expects the Secrets"):
        FILTERS["helm_stored_releases"]("text", [wanted])
    broken = _release_secret("ingress-shared", "edge", {}, release_text=b"not base64 at all!")
    with pytest.raises(AnsibleFilterError, match="does not hold a Helm release"):
        FILTERS["helm_stored_releases"]([broken], [wanted])
