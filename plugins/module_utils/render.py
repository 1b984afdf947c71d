# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a whole mesh: every Kubernetes object and Helm release, in one call.

``render(variables)`` validates the inventory variables and returns a
``Rendering``: the manifests grouped into the files of the render directory,
the Helm releases in install order, the allowed flows and a human summary.
Cost is linear in the number of apps and independent of Ansible: the
playbook calls this once, whatever the size of the mesh.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from . import facts, gateway, policy
from .helm import render_releases
from .k8s import metadata, resource
from .crdcheck import object_problems
from .errors import Problems, guard, processing
from .model import build_mesh

#: Name suffix of the ConfigMap that records the Dapr Shared releases of a mesh (see release_registry).
REGISTRY_SUFFIX = "dapr-shared-releases"
from .spec import DNS_LABEL_RE, dns_subdomain, labels
from .summary import summary_lines

#: Files under ``manifests/`` in apply order, and what goes in each.
MANIFEST_FILES = (
    ("00-namespaces.yaml", "Namespaces of the mesh (never pruned)"),
    ("10-lb-ipam.yaml", "LB-IPAM pools and the L2 announcement policy"),
    ("20-gateways.yaml", "Gateways (each after the ReferenceGrants its TLS Secrets in other namespaces need)"),
    ("30-services.yaml", "App and per-version Services"),
    ("40-httproutes.yaml", "North-south and GAMMA HTTPRoutes"),
    ("50-network-policies.yaml", "Cilium network policies"),
    ("60-local-redirect-policies.yaml", "Cilium Local Redirect Policies"),
)


class Rendering(object):
    def __init__(self, mesh):
        self.mesh = mesh
        self.files = OrderedDict((entry[0], []) for entry in MANIFEST_FILES)
        self.releases = []
        self.flows = []
        self.summary = []

    @property
    def warnings(self):
        return list(self.mesh.warnings)

    def objects(self):
        """Every rendered Kubernetes object, in apply order."""
        result = []
        for items in self.files.values():
            result.extend(items)
        return result

    def gateway_api(self):
        """The Gateway API CRDs to install before Cilium: files, URLs, pinned checksums."""
        mesh = self.mesh
        channel = mesh.settings["cilium_gateway_api"]["channel"]
        version = mesh.gateway_api_version
        pinned = facts.GATEWAY_API_CRDS.get((version, channel))
        crds = []
        for path, sha256 in pinned or ():
            crds.append({"file": path, "url": facts.GATEWAY_API_RAW_URL.format(version=version, path=path),
                         "sha256": sha256})
        return {
            "enabled": mesh.settings["cilium_gateway_api"]["enabled"],
            "version": version,
            "channel": channel,
            "release_url": facts.GATEWAY_API_RELEASE_URL.format(version=version, channel=channel),
            "crds": crds,
            "pinned": pinned is not None,
        }

    def releases_document(self):
        return {"releases": [release.as_entry() for release in self.releases]}

    def gateway_waits(self):
        """What cluster mode waits for per Gateway: Programmed, or Accepted where Cilium never reports Programmed."""
        mesh = self.mesh
        version = facts.version_tuple(mesh.settings["cilium_version"])
        first, fixed = facts.CILIUM_HOST_NETWORK_PROGRAMMED_BUG
        buggy = mesh.settings["cilium_gateway_api"]["host_network"] and first <= version < fixed
        result = []
        for gw in mesh.gateways:
            entry = {"name": gw.name, "namespace": gw.namespace, "condition": "Accepted" if buggy else "Programmed"}
            if buggy:
                entry["note"] = ("Cilium %s never reports a host-network Gateway Programmed (cilium#42786, fixed in "
                                 "1.19.6 and 1.20.0); waiting for Accepted instead" % mesh.settings["cilium_version"])
            result.append(entry)
        return result

    def release_registry(self):
        """The ConfigMap in which cluster mode records the Dapr Shared releases it installed.

        Helm releases carry no labels the collection could select them by, so
        this record is how the dapr_shared role finds the releases of apps that
        left the inventory (and uninstalls them). It is written only after
        every release of the run converged.
        """
        mesh = self.mesh
        entries = ["%s/%s" % (release.namespace, release.name) for release in self.releases[2:]]
        return resource("v1", "ConfigMap", metadata(mesh, "%s-%s" % (mesh.cluster_name, REGISTRY_SUFFIX),
                                                    mesh.settings["dapr_namespace"]),
                        data={"releases": "\n".join(entries) + ("\n" if entries else "")})

    def as_dict(self):
        """Plain data for Ansible: manifests per file, releases with values, summary."""
        return {
            "cluster": self.mesh.cluster_name,
            "manifests": OrderedDict((name, items) for name, items in self.files.items() if items),
            "releases": [dict(release.as_entry(), values=release.values, purpose=release.purpose,
                              workloads=release.workloads, hint=release.hint)
                         for release in self.releases],
            "gateway_api": self.gateway_api(),
            "summary": list(self.summary),
            "warnings": self.warnings,
            "flows": [{"from": flow.source.title, "to": flow.destination.title, "ports": flow.ports_text(),
                       "mutual_auth": flow.auth, "purpose": flow.purpose} for flow in self.flows],
            "counts": {"objects": len(self.objects()), "releases": len(self.releases),
                       "apps": len(self.mesh.apps), "gateways": len(self.mesh.gateways)},
            "kube_auth": self.kube_auth(),
            "release_registry": self.release_registry(),
            "gateway_waits": self.gateway_waits(),
            "verify_targets": self.verify_targets(),
            "verify": dict(self.mesh.settings["mesh_verify"]),
        }

    def verify_targets(self):
        """What the verify role checks per app: a route through its gateway, shares, Dapr markers."""
        mesh = self.mesh
        targets = []
        for app in mesh.apps:
            if not app.routes:
                continue
            route = app.routes[0]
            listener = next((item for item in route.gateway.listeners
                             if item.protocol == "HTTP" and (not route.listener or item.name == route.listener)), None)
            if listener is None:
                continue
            total = sum(version.weight for version in app.versions)
            markers = []
            if app.dapr and mesh.ingress:
                markers = ["Dapr-Caller-App-Id: %s" % mesh.ingress.app_id, "Dapr-Callee-App-Id: %s" % app.app_id]
            targets.append({
                "app": app.name,
                "namespace": app.namespace,
                "gateway": {"name": route.gateway.name, "namespace": route.gateway.namespace},
                "port": listener.port,
                "path": route.prefix if route.prefix.endswith("/") else route.prefix + "/",
                "host": (route.hostnames or [""])[0].replace("*.", "probe."),
                "shares": dict((v.name, round(float(v.weight) / total, 4)) for v in app.versions) if total else {},
                "markers": markers,
                "direct_service": app.versions[0].service_name if app.versions else app.name,
                "port_on_service": app.port,
            })
        return targets

    def kube_auth(self):
        """Connection options for kubernetes.core modules (module_defaults of cluster-mode roles)."""
        settings = self.mesh.settings
        auth = {}
        if settings["mesh_kubeconfig"]:
            auth["kubeconfig"] = settings["mesh_kubeconfig"]
        if settings["mesh_kube_context"]:
            auth["context"] = settings["mesh_kube_context"]
        return auth


def render(variables, unknown=()):
    """Validate ``variables`` and render the mesh (raises ValidationError)."""
    mesh = build_mesh(variables, unknown)
    with guard():
        return render_mesh(mesh)


def render_mesh(mesh):
    processing("mesh_gateways")
    result = Rendering(mesh)
    files = result.files
    files["00-namespaces.yaml"] = _namespaces(mesh)
    files["10-lb-ipam.yaml"] = _lb_ipam(mesh)
    gateways = []
    for item in mesh.gateways:
        processing(item.path)
        gateways.extend(gateway.render_reference_grants(mesh, item))
        gateways.append(gateway.render_gateway(mesh, item))
    files["20-gateways.yaml"] = gateways
    services = []
    routes = []
    for app in mesh.apps:
        processing(app.path)
        services.extend(gateway.render_services(mesh, app))
        for route in app.routes:
            routes.append(gateway.render_north_south_route(mesh, route))
        if app.versions:
            routes.append(gateway.render_split_route(mesh, app))
    files["30-services.yaml"] = services
    files["40-httproutes.yaml"] = routes
    processing("mesh_apps")
    result.flows = policy.mesh_flows(mesh)
    policies = policy.render_policies(mesh, result.flows)
    processing("mesh_extra_policies")
    policies.extend(policy.render_extra_policy(mesh, raw) for raw in mesh.extra_policies)
    files["50-network-policies.yaml"] = policies
    redirects = []
    if mesh.ingress and mesh.ingress.local_redirect:
        redirects.append(policy.render_local_redirect(mesh, mesh.ingress))
    files["60-local-redirect-policies.yaml"] = redirects
    processing("cilium_helm_values")
    result.releases = render_releases(mesh)
    _check_unique(mesh, result)
    processing("mesh_gateways")
    check_admission(mesh, result)
    result.summary = summary_lines(result)
    return result


def _check_unique(mesh, result):
    """No two rendered objects with one kind, namespace and name (a user's extra policy named like a generated
    one, say): the second would silently replace the first when applied."""
    sources = {}
    for index, raw in enumerate(mesh.extra_policies):
        meta = raw.get("metadata") or {}
        sources[(raw.get("kind"), meta.get("namespace") or "", meta.get("name"))] = "mesh_extra_policies[%d]" % index
    seen = set()
    problems = Problems()
    for obj in result.objects():
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace") or "", meta["name"])
        if key in seen:
            where = sources.get(key)
            text = "%s %s" % (key[0], "/".join(part for part in key[1:] if part))
            if where:
                problems.add(where + ".metadata.name", "%s is also a policy the collection renders itself; give "
                             "yours another name" % text)
            else:
                problems.add("mesh_apps", "two declarations render the same %s; rename one of them" % text)
        seen.add(key)
    problems.raise_if_any()


def _namespaces(mesh):
    helm_namespaces = {mesh.settings["cilium_namespace"], mesh.settings["dapr_namespace"]}
    result = []
    for name in mesh.namespaces():
        if name in facts.SYSTEM_NAMESPACES or name in helm_namespaces:
            continue
        result.append(resource("v1", "Namespace", metadata(mesh, name)))
    return result


def _lb_ipam(mesh):
    s = mesh.settings
    result = []
    for pool in s["cilium_lb_ipam_pools"]:
        blocks = []
        for text in pool["blocks"]:
            if "/" in text:
                blocks.append({"cidr": text.strip()})
            else:
                start, stop = text.partition("-")[::2]
                blocks.append({"start": start.strip(), "stop": stop.strip()})
        # Written either way: the CRD treats an absent allowFirstLastIPs as "Yes".
        spec = {"blocks": blocks, "allowFirstLastIPs": "Yes" if pool["allow_first_last_ips"] else "No"}
        if pool["service_selector"]:
            spec["serviceSelector"] = {"matchLabels": dict(pool["service_selector"])}
        result.append(resource("cilium.io/v2", "CiliumLoadBalancerIPPool", metadata(mesh, pool["name"]), spec))
    l2 = s["cilium_l2_announcements"]
    if l2["enabled"]:
        spec = {"loadBalancerIPs": True, "externalIPs": l2["external_ips"], "interfaces": list(l2["interfaces"])}
        if l2["node_selector"]:
            spec["nodeSelector"] = {"matchLabels": dict(l2["node_selector"])}
        if l2["service_selector"]:
            spec["serviceSelector"] = {"matchLabels": dict(l2["service_selector"])}
        result.append(resource("cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy",
                               metadata(mesh, "%s-l2" % mesh.cluster_name), spec))
    return result


# -- the rendered objects against their CRDs -------------------------------------------


def check_admission(mesh, result):
    """Every rendered object checked against the rules of its CRD (crdcheck) and the metadata rules of the API
    server; a problem is reported at the inventory path its value came from."""
    sources = _Sources(mesh)
    problems = Problems()
    reported = set()
    for obj in result.objects():
        base, translate = sources.of(obj)
        for path, message in object_problems(obj) + _metadata_problems(obj):
            where = translate(path) if translate else None
            if where in reported:
                continue  # one value, one message (a path prefix lands in two rules of the route)
            if where:
                reported.add(where)
            meta = obj["metadata"]
            text = "%s %s" % (obj["kind"], "/".join(part for part in (meta.get("namespace"), meta["name"]) if part))
            problems.add(where or base, "%s (in the %s the mesh renders, at %s, which %s)" % (
                message, text, _dotted(path), "its CRD refuses" if path[:1] != ("metadata",) else
                "the API server refuses"))
    problems.raise_if_any()


def _dotted(path):
    text = ""
    for part in path:
        text += "[%d]" % part if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "<root>"


_SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _metadata_problems(obj):
    meta = obj["metadata"]
    name = meta.get("name") or ""
    found = []
    if obj["kind"] in ("Service", "Namespace"):
        pattern = _SERVICE_NAME if obj["kind"] == "Service" else DNS_LABEL_RE
        if len(name) > 63 or not pattern.fullmatch(name):
            found.append((("metadata", "name"), "makes the name %r, which is not a DNS label of at most 63 "
                          "characters" % name))
    elif dns_subdomain(name):
        found.append((("metadata", "name"), "makes the name %r: %s" % (name, dns_subdomain(name))))
    message = labels(meta.get("labels") or {})
    if message:
        found.append((("metadata", "labels"), message))
    return found


class _Sources(object):
    """Where the values of a rendered object came from in the inventory."""

    def __init__(self, mesh):
        self.mesh = mesh
        self.gateways = dict(((g.namespace, g.name), g) for g in mesh.gateways)
        self.grants = dict((gateway.reference_grant_name(g), g) for g in mesh.gateways)
        self.routes = dict(((r.namespace, r.name), r) for r in mesh.routes())
        self.splits = dict(((a.namespace, a.split_route_name), a) for a in mesh.apps)
        self.extras = {}
        for index, raw in enumerate(mesh.extra_policies):
            meta = raw.get("metadata") or {}
            self.extras[(raw.get("kind"), meta.get("namespace") or "", meta.get("name"))] = (
                "mesh_extra_policies[%d]" % index)
        self.pools = dict((pool["name"], "cilium_lb_ipam_pools[%d]" % index)
                          for index, pool in enumerate(mesh.settings["cilium_lb_ipam_pools"]))
        self.services = {}
        for app in mesh.apps:
            self.services[(app.namespace, app.name)] = app.path
            for version in app.versions:
                self.services[(app.namespace, version.service_name)] = version.path

    def of(self, obj):
        """(inventory path of the declaration, a function from object path to inventory path or None)."""
        kind, meta = obj["kind"], obj["metadata"]
        key = (meta.get("namespace") or "", meta["name"])
        if kind == "Gateway" and key in self.gateways:
            return self.gateways[key].path, _gateway_paths(self.gateways[key].path)
        if kind == "ReferenceGrant" and meta["name"] in self.grants:
            return self.grants[meta["name"]].path + ".listeners", None
        if kind == "HTTPRoute" and key in self.routes:
            return self.routes[key].path, _route_paths(self.routes[key].path)
        if kind == "HTTPRoute" and key in self.splits:
            return self.splits[key].path + ".versions", None
        extra = self.extras.get((kind,) + key)
        if extra:
            return extra, lambda path: extra + ("." + _dotted(path) if path else "")
        if kind == "CiliumLoadBalancerIPPool" and meta["name"] in self.pools:
            base = self.pools[meta["name"]]
            return base, _prefixed(base, {("spec", "blocks"): "blocks", ("spec", "serviceSelector"): "service_selector"})
        if kind == "CiliumL2AnnouncementPolicy":
            base = "cilium_l2_announcements"
            return base, _prefixed(base, {("spec", "interfaces"): "interfaces", ("spec", "nodeSelector"): "node_selector",
                                          ("spec", "serviceSelector"): "service_selector"})
        if kind == "Service" and key in self.services:
            return self.services[key], None
        if kind == "CiliumLocalRedirectPolicy":
            return "mesh_ingress", None
        if kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
            return "mesh_default_deny" if meta["name"] == policy.BASELINE_NAME else "mesh_apps", None
        return "mesh_apps", None


def _prefixed(base, table):
    def translate(path):
        for prefix, name in table.items():
            if tuple(path[:len(prefix)]) == prefix:
                rest = path[len(prefix):]
                if rest and isinstance(rest[0], int):
                    return "%s.%s[%d]" % (base, name, rest[0])
                return "%s.%s" % (base, name)
        return None
    return translate


def _gateway_paths(base):
    fields = {"hostname": "hostname", "name": "name", "port": "port", "protocol": "protocol"}

    def translate(path):
        path = tuple(path)
        if path[:2] == ("spec", "listeners") and len(path) > 2:
            listener = "%s.listeners[%d]" % (base, path[2])
            rest = path[3:]
            if rest[:2] == ("tls", "certificateRefs") and len(rest) > 2:
                ref = "%s.certificate_refs[%d]" % (listener, rest[2])
                return ref + ("." + rest[3] if len(rest) > 3 and rest[3] in ("name", "namespace") else "")
            return listener + ("." + fields[rest[0]] if rest and rest[0] in fields else "")
        if path[:2] == ("spec", "addresses") and len(path) > 2:
            return "%s.addresses[%d]" % (base, path[2])
        if path[:3] in (("spec", "infrastructure", "labels"), ("spec", "infrastructure", "annotations")):
            return "%s.%s" % (base, path[2]) + ("." + str(path[3]) if len(path) > 3 else "")
        if path[:2] == ("spec", "gatewayClassName"):
            return base + ".class_name"
        if path[:1] == ("metadata",):
            return base + (".labels" if path[1:2] == ("labels",) else ".name")
        return None
    return translate


def _route_paths(base):
    def translate(path):
        path = tuple(path)
        if path[:2] == ("spec", "hostnames") and len(path) > 2:
            return "%s.hostnames[%d]" % (base, path[2])
        if path[:2] == ("spec", "rules") and "matches" in path and path[-2:] == ("path", "value"):
            return base + ".path"
        if path[:2] == ("spec", "parentRefs") and path[-1:] == ("sectionName",):
            return base + ".listener"
        if path[:1] == ("metadata",):
            return base + ".name"
        return None
    return translate
