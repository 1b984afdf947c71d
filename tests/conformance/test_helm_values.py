# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every rendered Helm value is a key the pinned chart version knows.

Cilium values are checked against values.yaml and values.schema.json of the
chart version they are rendered for (1.18.12, 1.19.6, 1.20.0), so a key a
release removed fails here; Dapr and Dapr Shared values against their
charts' values.yaml.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml

from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s import deep_merge
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from conftest import INVENTORIES, ROOT, load_inventory_vars

CILIUM_VERSIONS = ("1.18.12", "1.19.6", "1.20.0")
#: Keys the dapr-shared templates read although values.yaml does not list
#: them (see upstream/dapr-shared/templates-list.txt).
DAPR_SHARED_TEMPLATE_KEYS = {("shared", "appId"), ("shared", "remoteURL")}
#: Top-level keys of the dapr chart that belong to its subcharts, whose
#: values files are not part of the upstream data: not checked here.
DAPR_SUBCHARTS = {"dapr_scheduler", "dapr_operator", "dapr_placement", "dapr_sentry", "dapr_sidecar_injector",
                  "dapr_rbac"}


def unknown_paths(ours, chart, path=()):
    """Paths in ``ours`` that ``chart`` (a values.yaml tree) does not declare."""
    result = []
    for key, value in ours.items():
        here = path + (key,)
        if not isinstance(chart, dict) or key not in chart:
            result.append(here)
            continue
        known = chart[key]
        if isinstance(value, dict) and isinstance(known, dict) and known:
            result.extend(unknown_paths(value, known, here))
        elif isinstance(value, dict) and known not in ({}, None):
            result.append(here + ("<a mapping where the chart has %s>" % type(known).__name__,))
    return result


def rendered(name, **overrides):
    values = load_inventory_vars(name)
    values.update(overrides)
    picked, unknown = collect_variables(values)
    return render(picked, unknown)


def chart_values(upstream, *parts):
    with open(os.path.join(upstream, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


CILIUM_CASES = [(name, version) for name in INVENTORIES for version in CILIUM_VERSIONS]


@pytest.mark.parametrize("name,version", CILIUM_CASES, ids=["%s@%s" % c for c in CILIUM_CASES])
def test_cilium_values_exist_in_the_chart_and_pass_its_schema(upstream, name, version):
    overrides = {"cilium_version": version}
    values = load_inventory_vars(name)
    if values.get("cilium_version", "1.20.0")[:4] != version[:4]:
        # keep each inventory's Gateway API release compatible with the line under test
        overrides["cilium_gateway_api"] = dict(values.get("cilium_gateway_api") or {}, version="")
        if version.startswith("1.20") and (values.get("cilium_gateway_api") or {}).get("channel") == "experimental":
            overrides["cilium_gateway_api"]["channel"] = "experimental"
    rendering = rendered(name, **overrides)
    ours = rendering.releases[0].values
    chart = chart_values(upstream, "cilium", version, "values.yaml")
    assert unknown_paths(ours, chart) == []
    with open(os.path.join(upstream, "cilium", version, "values.schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    merged = deep_merge(copy.deepcopy(chart), ours)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(merged), key=lambda e: list(e.path))
    assert [(list(e.path), e.message) for e in errors] == []


def test_removed_keys_are_detected_by_the_path_check(upstream):
    """Control: nodePort.enabled (rendered for 1.18 without kube-proxy replacement) is unknown to 1.20."""
    rendering = rendered("demo", cilium_version="1.18.12", cilium_kube_proxy_replacement=False,
                         cilium_l2_announcements={"enabled": False}, mesh_ingress={"local_redirect": False})
    ours = rendering.releases[0].values
    assert ours["nodePort"] == {"enabled": True}
    assert unknown_paths(ours, chart_values(upstream, "cilium", "1.18.12", "values.yaml")) == []
    assert ("nodePort", "enabled") in unknown_paths(ours, chart_values(upstream, "cilium", "1.20.0", "values.yaml"))


def test_schema_control_rejects_a_legacy_kube_proxy_replacement_value(upstream):
    """Control: the chart schema itself rejects what the core also refuses."""
    with open(os.path.join(upstream, "cilium", "1.20.0", "values.schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    merged = deep_merge(chart_values(upstream, "cilium", "1.20.0", "values.yaml"), {"hubble": {"relay": {"enabled": "yes"}}})
    assert list(jsonschema.Draft7Validator(schema).iter_errors(merged))


@pytest.mark.parametrize("name", INVENTORIES)
def test_dapr_values_exist_in_the_chart(upstream, name):
    rendering = rendered(name)
    ours = dict(rendering.releases[1].values)
    for key in DAPR_SUBCHARTS:
        ours.pop(key, None)
    assert unknown_paths(ours, chart_values(upstream, "dapr", "values.yaml")) == []


@pytest.mark.parametrize("name", INVENTORIES)
def test_dapr_shared_values_exist_in_the_chart_and_fix_its_defaults(upstream, name):
    rendering = rendered(name)
    chart = chart_values(upstream, "dapr-shared", "values.yaml")
    dapr_version = rendering.mesh.settings["dapr_version"]
    mtls = rendering.mesh.settings["dapr_mtls"]
    for release in rendering.releases[2:]:
        paths = [p for p in unknown_paths(release.values, chart) if p not in DAPR_SHARED_TEMPLATE_KEYS]
        assert paths == [], release.name
        shared = release.values["shared"]
        assert shared["appId"] and shared["remoteURL"].endswith(".svc.cluster.local")
        assert shared["daprd"]["image"]["tag"] == dapr_version != chart["shared"]["daprd"]["image"]["tag"]
        assert shared["daprd"]["mtls"]["enabled"] is mtls
        assert shared["controlPlane"]["sentry"]["port"] == 443 != chart["shared"]["controlPlane"]["sentry"]["port"]
        assert shared["strategy"] in ("daemonset", "deployment")


def test_dapr_shared_service_naming_matches_the_chart_templates(upstream):
    """The collection assumes Service '<appId>-dapr' with port dapr-http 3500 (templates-list.txt)."""
    with open(os.path.join(upstream, "dapr-shared", "templates-list.txt"), encoding="utf-8") as handle:
        text = handle.read()
    assert "Service <shared.appId>-dapr" in text
    assert "dapr-http 3500" in text and "dapr-internal 50002" in text
    assert "dapr.io/app-id=<shared.appId>" in text


def test_pinned_gateway_api_checksums_match_the_upstream_crds(upstream):
    """The v1.6.1 standard CRDs in the upstream data are the release's files: their hashes must match ours."""
    import hashlib

    from ansible_collections.sidecarless.mesh.plugins.module_utils import facts

    pinned = dict(facts.GATEWAY_API_CRDS[("v1.6.1", "standard")])
    checked = 0
    for name in sorted(os.listdir(os.path.join(upstream, "gateway-api", "standard"))):
        key = "standard/" + name
        if key in pinned:
            with open(os.path.join(upstream, "gateway-api", "standard", name), "rb") as handle:
                assert hashlib.sha256(handle.read()).hexdigest() == pinned[key], name
            checked += 1
    assert checked >= 7


def test_the_chart_key_table_is_generated_from_the_pinned_chart_packages():
    """plugins/module_utils/chartkeys.py is what tools/gen_chart_keys.py makes of ../shared/charts (a chart bump
    regenerates it; nobody edits it by hand)."""
    charts = os.path.abspath(os.environ.get("MESH_CHARTS_DIR", os.path.join(ROOT, "..", "shared", "charts")))
    if not os.path.isfile(os.path.join(charts, "cilium-1.20.0.tgz")):
        message = "chart packages not found at %s (set MESH_CHARTS_DIR): chart key table NOT checked" % charts
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    process = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_chart_keys.py"), "--charts", charts,
                              "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                             check=False)
    assert process.returncode == 0, process.stdout
