# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The human summary of a rendered mesh: what a reviewer wants to see first."""

from __future__ import annotations

from .gateway import rewrite_rules


def _onoff(flag):
    return "on" if flag else "off"


def _cilium_line(mesh):
    s = mesh.settings
    parts = []
    if s["cilium_kube_proxy_replacement"]:
        parts.append("kube-proxy replacement (API server %s:%s)" % (s["cilium_k8s_service_host"],
                                                                    s["cilium_k8s_service_port"]))
    else:
        parts.append("kube-proxy kept")
    if s["cilium_routing_mode"] == "tunnel":
        parts.append("tunnel/%s" % s["cilium_tunnel_protocol"])
    else:
        parts.append("native routing %s" % s["cilium_ipv4_native_routing_cidr"])
    parts.append("encryption %s" % s["cilium_encryption"])
    hubble = s["cilium_hubble"]
    if hubble["enabled"]:
        extras = [name for name, flag in (("relay", hubble["relay"]), ("UI", hubble["ui"])) if flag]
        parts.append("Hubble" + (" " + "+".join(extras) if extras else ""))
    if s["cilium_local_redirect_policies"]:
        parts.append("local redirect policies")
    if s["cilium_l2_announcements"]["enabled"]:
        parts.append("L2 announcements")
    if s["cilium_mutual_auth"]["enabled"]:
        parts.append("SPIRE mutual auth")
    parts.append("policy enforcement %s" % s["cilium_policy_enforcement_mode"])
    return "Cilium: " + ", ".join(parts)


def _gateway_address(mesh, gateway):
    s = mesh.settings
    if s["cilium_gateway_api"]["host_network"]:
        return "node addresses (host network)"
    if gateway.addresses:
        return "requested %s" % ", ".join(gateway.addresses)
    pools = []
    for pool in s["cilium_lb_ipam_pools"]:
        selector = pool["service_selector"]
        if all(gateway.labels.get(key) == value for key, value in selector.items()):
            pools.append("%s (%s)" % (pool["name"], ", ".join(pool["blocks"])))
    if pools:
        return "from LB-IPAM pool %s" % " or ".join(pools)
    return "from the cluster's LoadBalancer (no matching LB-IPAM pool declared)"


def summary_lines(rendering):
    mesh = rendering.mesh
    s = mesh.settings
    api = rendering.gateway_api()
    lines = [
        "sidecarless.mesh %r: Cilium %s, Gateway API %s (%s), Dapr %s, Dapr Shared chart %s" % (
            mesh.cluster_name, s["cilium_version"], api["version"], api["channel"], s["dapr_version"],
            s["dapr_shared_chart_version"]),
        _cilium_line(mesh),
        "Dapr: mTLS %s, HA %s, control plane in %s" % (
            _onoff(s["dapr_mtls"]), _onoff(s["dapr_ha"]), s["dapr_namespace"]),
    ]
    if api["enabled"]:
        if api["pinned"]:
            lines.append("Gateway API CRDs (installed before Cilium): %s %s, %d files with pinned SHA-256" % (
                api["version"], api["channel"], len(api["crds"])))
        else:
            lines.append("Gateway API CRDs (installed before Cilium): %s %s, no pinned checksums: cluster mode needs "
                         "gateway_api_src or gateway_api_checksums" % (api["version"], api["channel"]))
    lines.append("Gateways:")
    if not mesh.gateways:
        lines.append("  (none)")
    for gateway in mesh.gateways:
        listeners = ", ".join("%s %s:%d host %s" % (item.name, item.protocol, item.port, item.hostname or "*")
                              for item in gateway.listeners)
        lines.append("  %s (class %s): %s; address %s" % (
            gateway.key, gateway.class_name, listeners, _gateway_address(mesh, gateway)))
    lines.append("Routes (north-south):")
    routes = list(mesh.routes())
    if not routes:
        lines.append("  (none)")
    for route in routes:
        app = route.app
        hosts = ",".join(route.hostnames) or "*"
        if app.dapr and mesh.ingress:
            rewrites = "; ".join(
                "%s %s -> %s" % (match["path"]["type"], match["path"]["value"], _rewrite_target(rewrite))
                for match, rewrite in rewrite_rules(route.prefix, app.app_id, app.namespace))
            lines.append("  %s/%s: http://%s%s via %s -> %s/%s:3500 -> app %s/%s [%s]" % (
                route.namespace, route.name, hosts, route.prefix, route.gateway.key, mesh.ingress.namespace,
                mesh.ingress.service_name, app.namespace, app.app_id, rewrites))
        else:
            lines.append("  %s/%s: http://%s%s via %s -> Service %s/%s:%d (no Dapr, path unchanged)" % (
                route.namespace, route.name, hosts, route.prefix, route.gateway.key, app.namespace, app.name,
                app.port))
    lines.append("Traffic splits (GAMMA):")
    split_apps = [app for app in mesh.apps if app.versions]
    if not split_apps:
        lines.append("  (none)")
    for app in split_apps:
        total = sum(v.weight for v in app.versions) or 1
        shares = ", ".join("%s %s%%" % (v.service_name, _percent(v.weight, total)) for v in app.versions)
        lines.append("  %s/%s: %s" % (app.namespace, app.name, shares))
    lines.append("Allowed flows%s:" % (" (mutual auth required on pod-to-pod rules)"
                                       if s["mesh_mutual_auth"] else ""))
    if not rendering.flows:
        lines.append("  (none)")
    for flow in rendering.flows:
        lines.append("  %s -> %s: %s" % (flow.source.title, flow.destination.title, flow.ports_text()))
    if s["mesh_default_deny"]:
        lines.append("Default deny: on in %s (each pod may still use DNS and the API server; daprd may reach the "
                     "Dapr control plane)" % ", ".join(mesh.namespaces()))
    else:
        lines.append("Default deny: off (the policies above restrict ingress of the selected pods only)")
    if s["mesh_extra_policies"]:
        lines.append("Extra policies: %s" % ", ".join(
            "%s %s" % (p["kind"], p["metadata"]["name"]) for p in mesh.extra_policies))
    if mesh.ingress and mesh.ingress.local_redirect:
        lines.append("Local redirect: %s/%s:3500 -> the ingress daprd on the same node" % (
            mesh.ingress.namespace, mesh.ingress.service_name))
    lines.append("Helm releases (install order):")
    for index, release in enumerate(rendering.releases, 1):
        lines.append("  %d. %s in %s: %s %s (%s)" % (
            index, release.name, release.namespace, release.chart, release.version, release.purpose))
    if s["cilium_encryption"] == "ipsec":
        lines.append("IPsec key: Secret %s/%s, created in cluster mode, never rendered" % (
            s["cilium_namespace"], s["cilium_ipsec_secret_name"]))
    for warning in mesh.warnings:
        lines.append("WARNING: %s" % warning)
    return lines


def _rewrite_target(rewrite):
    path = rewrite["urlRewrite"]["path"]
    return path.get("replacePrefixMatch") or path.get("replaceFullPath")


def _percent(weight, total):
    value = 100.0 * weight / total
    return ("%.1f" % value).rstrip("0").rstrip(".")
