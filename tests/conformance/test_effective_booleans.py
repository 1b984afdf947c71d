# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every feature switch means what the inventory says, rendered or left to the chart (issue 7, item 6).

A value the collection leaves out takes the chart's default, which differs
between release lines (Cilium 1.18.12 has ``authentication.enabled: true``,
1.19 and 1.20 false). For each switch the collection controls, the effective
value (the rendered one, else the pinned chart's ``values.yaml`` default) of
every inventory on every Cilium line must be what its variables ask for.
"""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s import deep_merge
from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render
from conftest import INVENTORIES, load_inventory_vars

CILIUM_VERSIONS = ("1.18.12", "1.19.6", "1.20.0")


def _get(values, dotted):
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def cilium_switches(s):
    """dotted Helm key -> what the inventory's settings ask for."""
    mutual = s["cilium_mutual_auth"]
    gateway_api = s["cilium_gateway_api"]
    return {
        "kubeProxyReplacement": s["cilium_kube_proxy_replacement"],
        "encryption.enabled": s["cilium_encryption"] != "none",
        "encryption.nodeEncryption": s["cilium_encryption"] == "wireguard" and s["cilium_encryption_node_encryption"],
        "hubble.enabled": s["cilium_hubble"]["enabled"],
        "hubble.relay.enabled": s["cilium_hubble"]["relay"],
        "hubble.ui.enabled": s["cilium_hubble"]["ui"],
        "gatewayAPI.enabled": gateway_api["enabled"],
        "gatewayAPI.hostNetwork.enabled": gateway_api["enabled"] and gateway_api["host_network"],
        "localRedirectPolicies.enabled": s["cilium_local_redirect_policies"],
        "l2announcements.enabled": s["cilium_l2_announcements"]["enabled"],
        "authentication.enabled": mutual["enabled"],
        "authentication.mutual.spire.enabled": mutual["enabled"],
        # (the chart installs SPIRE only with spire.enabled, so install.enabled matters only then)
        "authentication.mutual.spire.install.enabled": (mutual["install_spire"] if mutual["enabled"] else None),
        "hostFirewall.enabled": s["cilium_host_firewall"],
        "autoDirectNodeRoutes": s["cilium_routing_mode"] == "native" and s["cilium_auto_direct_node_routes"],
        "l7Proxy": True,
    }


CASES = [(name, version) for name in INVENTORIES for version in CILIUM_VERSIONS]


def _rendering(name, version):
    values = load_inventory_vars(name)
    values["cilium_version"] = version
    if values.get("cilium_gateway_api"):
        values["cilium_gateway_api"] = dict(values["cilium_gateway_api"], version="")
        if not version.startswith("1.20") and values["cilium_gateway_api"].get("channel") == "experimental":
            values["cilium_gateway_api"]["channel"] = "standard"
    picked, unknown = collect_variables(values)
    return render(picked, unknown)


@pytest.mark.parametrize("name,version", CASES, ids=["%s@%s" % case for case in CASES])
def test_every_cilium_switch_is_what_the_inventory_says(upstream, name, version):
    rendering = _rendering(name, version)
    with open(os.path.join(upstream, "cilium", version, "values.yaml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    effective = deep_merge(defaults, rendering.releases[0].values)
    wrong = {}
    for dotted, wanted in cilium_switches(rendering.mesh.settings).items():
        if wanted is None:
            continue
        found = _get(effective, dotted)
        if bool(found) != bool(wanted):
            wrong[dotted] = {"effective": found, "wanted": wanted,
                             "rendered": _get(rendering.releases[0].values, dotted)}
    assert not wrong, "%s on Cilium %s:\n%s" % (name, version, yaml.safe_dump(wrong))


@pytest.mark.parametrize("name", INVENTORIES)
def test_every_dapr_switch_is_what_the_inventory_says(upstream, name):
    rendering = _rendering(name, "1.20.0")
    s = rendering.mesh.settings
    with open(os.path.join(upstream, "dapr", "values.yaml"), encoding="utf-8") as handle:
        dapr = deep_merge(yaml.safe_load(handle), rendering.releases[1].values)
    assert bool(_get(dapr, "global.ha.enabled")) == s["dapr_ha"]
    assert bool(_get(dapr, "global.mtls.enabled")) == s["dapr_mtls"]
    with open(os.path.join(upstream, "dapr-shared", "values.yaml"), encoding="utf-8") as handle:
        shared_defaults = yaml.safe_load(handle)
    for release in rendering.releases[2:]:
        shared = deep_merge(shared_defaults, release.values)
        assert bool(_get(shared, "shared.daprd.mtls.enabled")) == s["dapr_mtls"], release.name


@pytest.mark.parametrize("name", INVENTORIES)
def test_every_rendered_pool_and_l2_policy_says_what_the_inventory_says(name):
    rendering = _rendering(name, "1.20.0")
    s = rendering.mesh.settings
    pools = {o["metadata"]["name"]: o for o in rendering.objects() if o["kind"] == "CiliumLoadBalancerIPPool"}
    for pool in s["cilium_lb_ipam_pools"]:
        # the CRD treats an absent allowFirstLastIPs as "Yes": it must always be written
        assert pools[pool["name"]]["spec"]["allowFirstLastIPs"] == ("Yes" if pool["allow_first_last_ips"] else "No")
        assert "disabled" not in pools[pool["name"]]["spec"] or pools[pool["name"]]["spec"]["disabled"] is False
    l2 = [o for o in rendering.objects() if o["kind"] == "CiliumL2AnnouncementPolicy"]
    if s["cilium_l2_announcements"]["enabled"]:
        assert l2[0]["spec"]["loadBalancerIPs"] is True
        assert l2[0]["spec"]["externalIPs"] is s["cilium_l2_announcements"]["external_ips"]
    else:
        assert l2 == []
