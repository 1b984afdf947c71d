# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm releases and their values: Cilium, the Dapr control plane, Dapr Shared.

Each ``render_*`` function returns the values the collection needs, with the
user's extra values deep-merged last; ``render_releases`` lists every
release in install order. Consistency rules that span releases (Dapr mTLS on
both sides, the daprd image matching the control plane) are checked on the
merged values, so an override cannot silently break them.
"""

from __future__ import annotations

import os
import re
import tarfile

from . import facts
from .errors import Problems, ValidationError, processing
from .k8s import deep_merge
from .spec import describe


class Release(object):
    def __init__(self, name, namespace, chart, version, repository, values, purpose, workloads=(), hint=""):
        self.workloads = list(workloads)  # "namespace/Kind/name" of what the release runs, for the rollout wait
        self.hint = hint  # what a rollout that does not finish usually means
        self.name = name
        self.namespace = namespace
        self.chart = chart
        self.version = version
        self.repository = repository
        self.values = values
        self.purpose = purpose

    @property
    def values_file(self):
        return "%s.values.yaml" % self.name

    def as_entry(self):
        entry = {
            "name": self.name,
            "namespace": self.namespace,
            "chart": self.chart,
            "version": self.version,
        }
        if self.repository:
            entry["repository"] = self.repository
        # How Helm is told where the chart is: a chart of a repository is fetched with --repo <url> (no named
        # repository is added to the user's Helm configuration); a path or an oci:// reference as it is.
        remote = bool(self.repository) and not self.chart.startswith(("oci://", "/", "./", "../"))
        entry["chart_ref"] = self.chart.split("/")[-1] if remote else self.chart
        entry["chart_repo_url"] = self.repository if remote else ""
        entry["values_file"] = self.values_file
        return entry


# -- Cilium -----------------------------------------------------------------------


def cilium_values(mesh):
    s = mesh.settings
    kpr = s["cilium_kube_proxy_replacement"]
    values = {"kubeProxyReplacement": kpr}
    if kpr:
        values["k8sServiceHost"] = s["cilium_k8s_service_host"]
        values["k8sServicePort"] = s["cilium_k8s_service_port"]
    values["routingMode"] = s["cilium_routing_mode"]
    if s["cilium_routing_mode"] == "tunnel":
        values["tunnelProtocol"] = s["cilium_tunnel_protocol"]
    else:
        values["ipv4NativeRoutingCIDR"] = s["cilium_ipv4_native_routing_cidr"]
        values["autoDirectNodeRoutes"] = s["cilium_auto_direct_node_routes"]
    encryption = s["cilium_encryption"]
    if encryption == "none":
        values["encryption"] = {"enabled": False}
    elif encryption == "wireguard":
        values["encryption"] = {"enabled": True, "type": "wireguard",
                                "nodeEncryption": s["cilium_encryption_node_encryption"]}
    else:
        values["encryption"] = {"enabled": True, "type": "ipsec",
                                "ipsec": {"secretName": s["cilium_ipsec_secret_name"], "keyFile": "keys"}}
    hubble = s["cilium_hubble"]
    values["hubble"] = {
        "enabled": hubble["enabled"],
        "relay": {"enabled": hubble["relay"]},
        "ui": {"enabled": hubble["ui"]},
        "metrics": {"enabled": list(hubble["metrics"]) or None},
    }
    gateway_api = s["cilium_gateway_api"]
    values["gatewayAPI"] = {"enabled": gateway_api["enabled"]}
    if gateway_api["enabled"] and gateway_api["host_network"]:
        host_network = {"enabled": True}
        if gateway_api["host_network_node_labels"]:
            host_network["nodes"] = {"matchLabels": dict(gateway_api["host_network_node_labels"])}
        values["gatewayAPI"]["hostNetwork"] = host_network
    if gateway_api["enabled"] and not kpr and mesh.cilium_line < (1, 19):
        # Cilium 1.18 serves Gateways through NodePort without kube-proxy replacement.
        values["nodePort"] = {"enabled": True}
    values["localRedirectPolicies"] = {"enabled": s["cilium_local_redirect_policies"]}
    l2 = s["cilium_l2_announcements"]
    values["l2announcements"] = {"enabled": l2["enabled"]}
    if l2["enabled"]:
        values["k8sClientRateLimit"] = {"qps": l2["client_rate_limit"]["qps"],
                                        "burst": l2["client_rate_limit"]["burst"]}
    values["policyEnforcementMode"] = s["cilium_policy_enforcement_mode"]
    if s["cilium_host_firewall"]:
        values["hostFirewall"] = {"enabled": True}
    mutual = s["cilium_mutual_auth"]
    if mutual["enabled"]:
        spire = {"enabled": True, "install": {"enabled": mutual["install_spire"]}}
        if mutual["install_spire"]:
            spire["install"]["server"] = {"dataStorage": {"enabled": mutual["spire_data_storage"]}}
        values["authentication"] = {"enabled": True, "mutual": {"spire": spire}}
    else:
        # written, not left to the chart: Cilium 1.18's default is true (1.19 and 1.20 false)
        values["authentication"] = {"enabled": False}
    # Agents, operator, Envoy and Hubble read their ConfigMaps only at start-up: with these the chart puts
    # a checksum of the config into each pod template, so a config-only change (Gateway API, L2
    # announcements, LRP turned on) restarts what reads it, as Cilium's install guide does by hand.
    values["rollOutCiliumPods"] = True
    values["operator"] = {"rollOutPods": True}
    values["envoy"] = {"rollOutPods": True}
    values["hubble"]["relay"]["rollOutPods"] = True
    values["hubble"]["ui"]["rollOutPods"] = True
    if s["cilium_upgrade_compatibility"]:
        values["upgradeCompatibility"] = s["cilium_upgrade_compatibility"]
    if s["cilium_operator_replicas"]:
        values["operator"]["replicas"] = s["cilium_operator_replicas"]
    return deep_merge(values, s["cilium_helm_values"])


def check_cilium_values(mesh, values, problems):
    """Rules on the merged Cilium values (the user's extras included)."""
    gateway_api = values.get("gatewayAPI") or {}
    if gateway_api.get("enabled") and values.get("l7Proxy") is False:
        problems.add("cilium_helm_values.l7Proxy", "must stay true: Gateway API runs on Cilium's L7 proxy")
    hubble = values.get("hubble") or {}
    if (hubble.get("ui") or {}).get("enabled") and not (hubble.get("relay") or {}).get("enabled"):
        problems.add("cilium_helm_values.hubble", "enables the Hubble UI without Hubble Relay; the UI fails "
                     "without relay")


# -- Dapr control plane --------------------------------------------------------------


def dapr_values(mesh):
    s = mesh.settings
    values = {
        "global": {
            "ha": {"enabled": s["dapr_ha"]},
            "mtls": {"enabled": s["dapr_mtls"]},
            "dnsSuffix": "." + mesh.cluster_domain,
        },
    }
    return deep_merge(values, s["dapr_helm_values"])


def _trust_domain(dapr):
    return ((dapr.get("global") or {}).get("mtls") or {}).get("controlPlaneTrustDomain") or facts.DAPR_TRUST_DOMAIN


def _control_plane_mtls(dapr):
    return ((dapr.get("global") or {}).get("mtls") or {}).get("enabled", True)


# -- Dapr Shared ---------------------------------------------------------------------


def dapr_shared_values(mesh, instance, dapr):
    """Values of one Dapr Shared release, wired to the control plane in ``dapr``."""
    s = mesh.settings
    namespace = s["dapr_namespace"]
    trust_domain = _trust_domain(dapr)

    def host(service):
        return mesh.service_host(service, namespace)

    shared = {
        "appId": instance.app_id,
        "strategy": instance.strategy,
        "remoteURL": instance.remote_host,
        "remotePort": instance.remote_port,
    }
    if instance.strategy == "deployment":
        shared["deployment"] = {"replicas": instance.replicas}
    shared["controlPlane"] = {
        "namespace": namespace,
        "trustDomain": trust_domain,
        "operator": {"address": host(facts.DAPR_OPERATOR[0]), "port": facts.DAPR_OPERATOR[1]},
        "sentry": {"address": host(facts.DAPR_SENTRY[0]), "port": facts.DAPR_SENTRY[1]},
        "placementServer": {"address": host(facts.DAPR_PLACEMENT[0]), "port": facts.DAPR_PLACEMENT[1]},
    }
    shared["scheduler"] = {
        "address": "%s-0.%s:%d" % (facts.DAPR_SCHEDULER[0], host(facts.DAPR_SCHEDULER[0]), facts.DAPR_SCHEDULER[1]),
    }
    shared["daprd"] = {
        "image": {"tag": s["dapr_version"]},
        "mtls": {"enabled": _control_plane_mtls(dapr)},
        "serviceAccountIdentityToken": {
            "audience": "spiffe://%s/ns/%s/dapr-sentry" % (trust_domain, namespace),
        },
    }
    values = {"shared": shared}
    values = deep_merge(values, s["dapr_shared_helm_values"])
    return deep_merge(values, instance.helm_values)


def _set_at(values, dotted):
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _source(mesh, instance, dotted):
    """The variable path that set ``dotted`` in an instance's values: the instance's own helm_values, else the
    shared dapr_shared_helm_values (reported once for every instance, not once per instance)."""
    if _set_at(instance.helm_values, dotted):
        return "%s.helm_values.%s" % (instance.path, dotted)
    if _set_at(mesh.settings["dapr_shared_helm_values"], dotted):
        return "dapr_shared_helm_values.%s" % dotted
    return "%s.helm_values.%s" % (instance.path, dotted)


def check_dapr_shared_values(mesh, instance, values, dapr, problems):
    shared = values.get("shared") or {}
    daprd = shared.get("daprd") or {}
    mtls = (daprd.get("mtls") or {}).get("enabled")
    if mtls != _control_plane_mtls(dapr):
        problems.add(_source(mesh, instance, "shared.daprd.mtls.enabled"), "is %s but the Dapr control plane has "
                     "mTLS %s; both sides must agree (set dapr_mtls instead)" % (
                         describe(mtls), "on" if _control_plane_mtls(dapr) else "off"))
    tag = (daprd.get("image") or {}).get("tag")
    if tag != mesh.settings["dapr_version"]:
        problems.add(_source(mesh, instance, "shared.daprd.image.tag"), "is %r but dapr_version is %r; daprd must run "
                     "the control plane's version" % (tag, mesh.settings["dapr_version"]))
    if shared.get("appId") != instance.app_id:
        problems.add(_source(mesh, instance, "shared.appId"), "must not be overridden (policies and routes use the "
                     "app id of each instance)")
    sentry = (shared.get("controlPlane") or {}).get("sentry") or {}
    if sentry.get("port") != facts.DAPR_SENTRY[1]:
        problems.add(_source(mesh, instance, "shared.controlPlane.sentry.port"), "must be %d: Dapr sentry has no other "
                     "port since 1.14" % facts.DAPR_SENTRY[1])


# -- releases ------------------------------------------------------------------------


def dapr_shared_workload(release_name, values):
    """"Kind/name" of the daprd workload the Dapr Shared chart creates (its fullname template)."""
    shared = values.get("shared") or {}
    kind = "Deployment" if shared.get("strategy") == "deployment" else "DaemonSet"
    chart_name = values.get("nameOverride") or facts.DAPR_SHARED_CHART_NAME
    name = values.get("fullnameOverride") or "%s-%s" % (release_name, chart_name)
    return "%s/%s" % (kind, name[:63].rstrip("-"))


def render_releases(mesh):
    """Every Helm release in install order; raises ValidationError on inconsistent values."""
    s = mesh.settings
    problems = Problems()
    processing("cilium_helm_values")
    cilium = cilium_values(mesh)
    check_cilium_values(mesh, cilium, problems)
    processing("dapr_helm_values")
    dapr = dapr_values(mesh)
    releases = [
        Release(s["cilium_release_name"], s["cilium_namespace"], s["cilium_chart"], s["cilium_version"],
                s["cilium_chart_repo_url"], cilium, "Cilium CNI, Gateway API, Hubble"),
        Release(s["dapr_release_name"], s["dapr_namespace"], s["dapr_chart"], s["dapr_version"],
                s["dapr_chart_repo_url"], dapr, "Dapr control plane"),
    ]
    for instance in mesh.dapr_instances():
        processing(instance.path + ".helm_values")
        values = dapr_shared_values(mesh, instance, dapr)
        check_dapr_shared_values(mesh, instance, values, dapr, problems)
        purpose = ("ingress daprd for gateway %s" % instance.gateway.key if instance.role == "ingress"
                   else "daprd for app %s/%s" % (instance.namespace, instance.app_id))
        shared = values.get("shared") or {}
        hint = ("daprd reports Ready only once sentry answers and its app channel %s:%s has a ready endpoint "
                "(Dapr 1.18 blocks start-up on it): %s" % (
                    shared.get("remoteURL"), shared.get("remotePort"),
                    "the gateway's Service is created by Cilium once the Gateway is accepted"
                    if instance.role == "ingress" else
                    "deploy the app's pods (labels of its versions) and make them Ready"))
        releases.append(Release(instance.release, instance.namespace, s["dapr_shared_chart"],
                                s["dapr_shared_chart_version"], "", values, purpose,
                                workloads=["%s/%s" % (instance.namespace, dapr_shared_workload(instance.release, values))],
                                hint=hint))
    problems.raise_if_any()
    return releases


def local_chart_version(path):
    """The version in Chart.yaml of a local chart archive (.tgz) or directory, or None if it has none.

    Helm installs a local chart as it is and ignores --version for it, so the
    version pinned in the inventory says nothing about what runs unless the
    two are compared. Only the top-level ``version:`` line is read (Chart.yaml
    is YAML, but this module may not import PyYAML on every controller)."""
    text = None
    if os.path.isdir(path):
        try:
            with open(os.path.join(path, "Chart.yaml"), encoding="utf-8") as handle:
                text = handle.read()
        except (IOError, OSError):
            return None
    else:
        try:
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    parts = member.name.split("/")
                    if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                        text = archive.extractfile(member).read(65536).decode("utf-8", "replace")
                        break
        except (IOError, OSError, tarfile.TarError):
            return None
    if text is None:
        return None
    match = re.search(r"^version:[ \t]*['\"]?([^'\"\s#]+)", text, re.MULTILINE)
    return match.group(1) if match else None


def check_local_charts(mesh, releases):
    """Refuse a local chart whose own version is not the version the inventory pins for it."""
    s = mesh.settings
    problems = Problems()
    names = {s["cilium_release_name"]: ("cilium_chart", "cilium_version"),
             s["dapr_release_name"]: ("dapr_chart", "dapr_version")}
    for release in releases:
        variable, version_variable = names.get(release.name, ("dapr_shared_chart", "dapr_shared_chart_version"))
        chart = os.path.expanduser(release.chart or "")
        if release.repository or not chart or "://" in chart or not os.path.exists(chart):
            continue
        found = local_chart_version(chart)
        if found is None:
            problems.add(variable, "%s is a local path but holds no chart (no Chart.yaml with a version)" % chart)
        elif found.lstrip("v") != str(release.version).lstrip("v"):
            problems.add(variable, "is the local chart %s of version %s, but %s is %s: Helm installs a local "
                         "chart as it is, so point %s at the %s chart or set %s to %s" % (
                             chart, found, version_variable, release.version, variable, release.version,
                             version_variable, found))
    if problems:
        raise ValidationError(problems.items)


def check_kubeconfig(mesh):
    """In cluster mode, refuse a mesh_kubeconfig that is not a file before anything runs against the cluster."""
    path = mesh.settings.get("mesh_kubeconfig")
    if not mesh.settings.get("mesh_apply") or not path or os.path.isfile(os.path.expanduser(path)):
        return
    problems = Problems()
    problems.add("mesh_kubeconfig", "%s does not exist or is not a file (cluster mode reads the cluster's address "
                 "and credentials from it; leave it empty for $KUBECONFIG or ~/.kube/config)" % path)
    raise ValidationError(problems.items)
