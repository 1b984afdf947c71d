# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh model: validated inventory turned into objects the renderers use.

``build_mesh(variables)`` is the one entry point. It

1. checks every ``cilium_*``/``dapr_*``/``mesh_*`` variable against its
   declaration in ``variables.py`` (types, allowed values, unknown keys);
2. resolves references and derived names (routes to gateways, callers to
   Dapr instances, Service and Helm release names) and checks the rules
   that span several variables (weights, name clashes, feature pairs);
3. returns a ``Mesh`` or raises ``ValidationError`` listing every problem
   with its variable path.

Nothing here talks to a cluster or writes a file.
"""

from __future__ import annotations

from . import facts
from .chartvalues import check_extra_values
from .errors import Problems, ValidationError, guard, processing
from .netaddr import block_contains, blocks_overlap, parse_block, parse_ip
from .spec import Field, annotations, describe, dns_label, dns_subdomain, labels, plain, suggest, type_name
from .variables import PREFIXES, VARIABLES

# -- model objects --------------------------------------------------------------


class Listener(object):
    def __init__(self, raw, path):
        self.name = raw["name"]
        self.port = raw["port"]
        self.protocol = raw["protocol"]
        self.hostname = raw["hostname"]
        self.certificate_refs = raw["certificate_refs"]
        self.allowed_routes = raw["allowed_routes"]
        self.path = path


class Gateway(object):
    def __init__(self, raw, path):
        self.name = raw["name"]
        self.namespace = raw["namespace"]
        self.class_name = raw["class_name"]
        self.addresses = raw["addresses"]
        self.labels = raw["labels"]
        self.annotations = raw["annotations"]
        self.listeners = [Listener(item, "%s.listeners[%d]" % (path, i)) for i, item in enumerate(raw["listeners"])]
        self.path = path

    @property
    def key(self):
        return "%s/%s" % (self.namespace, self.name)

    @property
    def service_name(self):
        return facts.GATEWAY_SERVICE_PREFIX + self.name

    def service_labels(self):
        """The labels LB-IPAM matches pools against on this Gateway's Service."""
        labels = dict((key, self.name) for key in facts.GATEWAY_SERVICE_LABELS)
        labels.update(self.labels or {})
        labels.update({"io.kubernetes.service.namespace": self.namespace,
                       "io.kubernetes.service.name": self.service_name})
        return labels

    def http_port(self):
        """Port the ingress Dapr instance uses to reach the gateway (first HTTP listener)."""
        for listener in self.listeners:
            if listener.protocol == "HTTP":
                return listener.port
        return self.listeners[0].port


class DaprInstance(object):
    """One Dapr Shared Helm release: daprd as a DaemonSet or Deployment."""

    def __init__(self, app_id, namespace, strategy, replicas, release, remote_host, remote_port,
                 helm_values, path, role):
        self.app_id = app_id
        self.namespace = namespace
        self.strategy = strategy
        self.replicas = replicas
        self.release = release
        self.remote_host = remote_host
        self.remote_port = remote_port
        self.helm_values = helm_values
        self.path = path
        self.role = role  # "ingress" or "app"
        self.local_redirect = False
        self.callees = []  # DaprInstances this one may invoke

    @property
    def service_name(self):
        return self.app_id + facts.DAPR_SERVICE_SUFFIX

    @property
    def invoke_id(self):
        return "%s.%s" % (self.app_id, self.namespace)

    @property
    def pod_labels(self):
        return {facts.DAPR_APP_ID_LABEL: self.app_id}


class Version(object):
    def __init__(self, app, raw, path):
        self.name = raw["name"]
        self.weight = raw["weight"]
        self.labels = dict(raw["labels"]) or {"version": self.name}
        self.selector = dict(app.selector)
        self.selector.update(self.labels)
        self.service_name = "%s-%s" % (app.name, self.name)
        self.path = path


class Route(object):
    def __init__(self, app, raw, path):
        self.app = app
        self.gateway_name = raw["gateway"]
        self.gateway_namespace = raw["gateway_namespace"]
        self.listener = raw["listener"]
        self.hostnames = raw["hostnames"]
        self.prefix = normalise_prefix(raw["path"])
        self.explicit_name = raw["name"]
        self.name = raw["name"]
        self.namespace = None
        self.gateway = None
        self.path = path


class App(object):
    def __init__(self, raw, path):
        self.name = raw["name"]
        self.namespace = raw["namespace"]
        self.app_id = raw["app_id"] or raw["name"]
        self.port = raw["port"]
        self.target_port = raw["target_port"] or raw["port"]
        self.selector = dict(raw["selector"]) or {"app": self.name}
        self.create_service = raw["create_service"]
        self.path = path
        self.versions = [Version(self, item, "%s.versions[%d]" % (path, i)) for i, item in enumerate(raw["versions"])]
        self.routes = [Route(self, item, "%s.routes[%d]" % (path, i)) for i, item in enumerate(raw["routes"])]
        self.allowed_callers_raw = raw["allowed_callers"]
        self.callers = []  # DaprInstances allowed to invoke this app
        dapr = raw["dapr"]
        self.dapr = None
        if dapr["enabled"]:
            self.dapr = DaprInstance(
                app_id=self.app_id, namespace=self.namespace, strategy=dapr["strategy"],
                replicas=dapr["replicas"], release=dapr["release_name"] or "%s-shared" % self.name,
                remote_host=None, remote_port=self.port, helm_values=dapr["helm_values"],
                path="%s.dapr" % path, role="app")

    @property
    def key(self):
        return "%s/%s" % (self.namespace, self.name)

    @property
    def split_route_name(self):
        return "%s-split" % self.name


class Mesh(object):
    """Validated, resolved mesh. ``settings`` holds every variable, normalised."""

    def __init__(self, settings):
        self.settings = settings
        self.cluster_name = settings["mesh_cluster_name"]
        self.cluster_domain = settings["mesh_cluster_domain"]
        self.cilium_line = facts.version_tuple(settings["cilium_version"])[:2]
        self.gateway_api_version = (settings["cilium_gateway_api"]["version"]
                                    or facts.GATEWAY_API_FOR_CILIUM.get(self.cilium_line,
                                                                        facts.GATEWAY_API_DEFAULT_VERSION))
        self.gateways = []
        self.apps = []
        self.ingress = None
        self.extra_policies = []
        self.warnings = []
        self.pool_blocks = []

    # convenience views
    def dapr_instances(self):
        """Every Dapr Shared instance in install order: ingress first, then apps."""
        result = [self.ingress] if self.ingress else []
        result.extend(app.dapr for app in self.apps if app.dapr)
        return result

    def routes(self):
        for app in self.apps:
            yield from app.routes

    def pod_namespaces(self):
        """Namespaces the mesh runs pods in (apps and Dapr Shared instances; not a Gateway's own namespace,
        whose Envoy runs inside Cilium), sorted."""
        names = set(app.namespace for app in self.apps)
        names.update(instance.namespace for instance in self.dapr_instances())
        return sorted(names)

    def namespaces(self):
        """Namespaces the mesh renders objects into (sorted)."""
        names = set()
        for gateway in self.gateways:
            names.add(gateway.namespace)
        for app in self.apps:
            names.add(app.namespace)
        if self.ingress:
            names.add(self.ingress.namespace)
        return sorted(names)

    def service_host(self, name, namespace):
        return "%s.%s.svc.%s" % (name, namespace, self.cluster_domain)


def normalise_prefix(prefix):
    """'/shop/' and '/shop' match the same requests; keep the form without the slash."""
    if len(prefix) > 1 and prefix.endswith("/"):
        return prefix.rstrip("/") or "/"
    return prefix


# -- building ---------------------------------------------------------------------


def collect_variables(all_vars, ignore=()):
    """Pick the collection's variables out of a larger mapping (Ansible vars).

    Returns ``(variables, unknown)`` where ``unknown`` lists prefixed names
    that are not declared (probably typos).
    """
    listed = all_vars.get("mesh_ignore_vars")
    # read before validation (which reports a wrong type): only the strings of a list count here
    listed = [name for name in listed if isinstance(name, str)] if isinstance(listed, (list, tuple)) else []
    ignore = set(ignore or ()) | set(listed)
    picked = {}
    unknown = []
    for name in all_vars:
        if not isinstance(name, str) or not name.startswith(PREFIXES):
            continue
        if name in VARIABLES:
            picked[name] = all_vars[name]
        elif name not in ignore:
            unknown.append(name)
    return picked, sorted(unknown)


def normalise(variables, unknown=()):
    """Type-check and default every variable; raise ValidationError on problems."""
    problems = Problems()
    for name in unknown:
        problems.add(name, "unknown variable%s; declared variables with this prefix are documented in "
                     "docs/variables.md (list it in mesh_ignore_vars if it belongs to something else)"
                     % suggest(name, VARIABLES))
    for name in variables:
        if name not in VARIABLES:
            problems.add(name, "unknown variable%s" % suggest(name, VARIABLES))
    settings = {}
    for name, field in VARIABLES.items():
        if name in variables:
            settings[name] = field.check(variables[name], name, problems)
        else:
            settings[name] = field.default_value()
    problems.raise_if_any()
    return settings


def build_mesh(variables, unknown=()):
    """Validate ``variables`` (name -> value) and return the resolved ``Mesh``."""
    with guard():
        return _build_mesh(variables, unknown)


def _build_mesh(variables, unknown):
    settings = normalise(variables, unknown)
    mesh = Mesh(settings)
    problems = Problems()
    _check_cilium(mesh, problems)
    _check_dapr(mesh, problems)
    _build_gateways(mesh, problems)
    _build_apps(mesh, problems)
    _build_ingress(mesh, problems)
    _resolve_routes(mesh, problems)
    _resolve_callers(mesh, problems)
    _check_names(mesh, problems)
    for instance in mesh.dapr_instances():
        processing(instance.path + ".helm_values")
        check_extra_values("dapr-shared", settings["dapr_shared_chart_version"], instance.helm_values,
                           instance.path + ".helm_values", problems, mesh.warnings)
    _check_policies(mesh, problems)
    _check_extra_policies(mesh, problems)
    problems.raise_if_any()
    return mesh


# -- cilium -----------------------------------------------------------------------


def _check_cilium(mesh, problems):
    processing("cilium_version")
    s = mesh.settings
    version = s["cilium_version"]
    if mesh.cilium_line not in facts.CILIUM_LINES:
        problems.add("cilium_version", "Cilium %s is not supported; supported release lines: %s" % (
            version, ", ".join("%d.%d" % line for line in sorted(facts.CILIUM_LINES))))
    if s["cilium_kube_proxy_replacement"] and not s["cilium_k8s_service_host"]:
        problems.add("cilium_k8s_service_host", "is required when cilium_kube_proxy_replacement is true: set the "
                     "address of the real API server (not the kubernetes Service VIP), or 'auto' to read it from "
                     "kube-public/cluster-info")
    if s["cilium_routing_mode"] == "native" and not s["cilium_ipv4_native_routing_cidr"]:
        problems.add("cilium_ipv4_native_routing_cidr", "is required when cilium_routing_mode is 'native' "
                     "(the CIDR pods can reach without masquerading, usually the pod CIDR)")
    if s["cilium_auto_direct_node_routes"] and s["cilium_routing_mode"] != "native":
        problems.add("cilium_auto_direct_node_routes", "only works with cilium_routing_mode 'native'")
    if s["cilium_encryption_node_encryption"] and s["cilium_encryption"] != "wireguard":
        problems.add("cilium_encryption_node_encryption", "is only supported with cilium_encryption 'wireguard' "
                     "(got %r)" % s["cilium_encryption"])
    hubble = s["cilium_hubble"]
    if hubble["ui"] and not hubble["relay"]:
        problems.add("cilium_hubble.ui", "needs cilium_hubble.relay: the UI reads flows from Hubble Relay")
    if (hubble["relay"] or hubble["metrics"]) and not hubble["enabled"]:
        problems.add("cilium_hubble.enabled", "must be true when relay or metrics are on")
    l2 = s["cilium_l2_announcements"]
    if l2["enabled"] and not s["cilium_kube_proxy_replacement"]:
        problems.add("cilium_l2_announcements.enabled", "needs cilium_kube_proxy_replacement: true")
    if l2["enabled"] and not l2["interfaces"]:
        problems.add("cilium_l2_announcements.interfaces", "needs at least one interface pattern")
    gateway_api = s["cilium_gateway_api"]
    if gateway_api["enabled"] and not s["cilium_kube_proxy_replacement"] and mesh.cilium_line >= (1, 19):
        problems.add("cilium_gateway_api.enabled", "needs cilium_kube_proxy_replacement: true on Cilium 1.19 and "
                     "later (NodePort support is part of kube-proxy replacement there)")
    if gateway_api["enabled"] and mesh.cilium_line in facts.CILIUM_LINES:
        _check_gateway_api_version(mesh, problems)
    mutual = s["cilium_mutual_auth"]
    if mutual["enabled"]:
        if mesh.cilium_line >= facts.CILIUM_MUTUAL_AUTH_DEPRECATED:
            mesh.warnings.append("cilium_mutual_auth: SPIRE mutual authentication is deprecated in Cilium 1.20 and "
                                 "removed in 1.21; plan to rely on WireGuard/IPsec encryption and Dapr mTLS instead")
        if s["cilium_encryption"] == "none":
            mesh.warnings.append("cilium_mutual_auth: without cilium_encryption the authenticated connections are "
                                 "not encrypted (Cilium mutual auth authenticates identities only)")
    _check_pools(mesh, problems)
    _check_helm_values(mesh, problems)


def _check_gateway_api_version(mesh, problems):
    gateway_api = mesh.settings["cilium_gateway_api"]
    version = facts.version_tuple(mesh.gateway_api_version)
    line = "%d.%d" % mesh.cilium_line
    path = "cilium_gateway_api.version"
    minimum = facts.GATEWAY_API_MIN_FOR_CILIUM.get(mesh.cilium_line)
    if minimum and version < minimum:
        problems.add(path, "Cilium %s needs Gateway API v%d.%d.%d or later (it watches TLSRoute, ReferenceGrant and "
                     "BackendTLSPolicy at v1); got %s" % ((line,) + minimum + (mesh.gateway_api_version,)))
    maximum = facts.GATEWAY_API_STANDARD_MAX_FOR_CILIUM.get(mesh.cilium_line)
    if maximum and gateway_api["channel"] == "standard" and version >= maximum:
        problems.add(path, "Gateway API %s standard CRDs stop serving TLSRoute v1alpha2, which Cilium %s watches: its "
                     "operator would crash-loop. Use %s (the default for Cilium %s), a release before v%d.%d.%d, or "
                     "cilium_gateway_api.channel 'experimental'" % (
                         mesh.gateway_api_version, line, facts.GATEWAY_API_FOR_CILIUM[mesh.cilium_line], line,
                         maximum[0], maximum[1], maximum[2]))


def _check_pools(mesh, problems):
    seen = {}
    parsed = []
    for index, pool in enumerate(mesh.settings["cilium_lb_ipam_pools"]):
        path = "cilium_lb_ipam_pools[%d]" % index
        if pool["name"] in seen:
            problems.add(path + ".name", "pool %r is already declared at %s" % (pool["name"], seen[pool["name"]]))
        seen[pool["name"]] = path
        for block_index, text in enumerate(pool["blocks"]):
            block, problem = parse_block(text)
            if problem:
                continue  # already reported by the field check
            block_path = "%s.blocks[%d]" % (path, block_index)
            for other_path, other_text, other in parsed:
                if blocks_overlap(block, other):
                    problems.add(block_path, "%s overlaps %s at %s; LB-IPAM disables conflicting pools" % (
                        text, other_text, other_path))
            parsed.append((block_path, text, block))
    mesh.pool_blocks = parsed


_SPIRE_PATH = ("authentication", "mutual", "spire")


def _check_helm_values(mesh, problems):
    processing("cilium_helm_values")
    values = mesh.settings["cilium_helm_values"]
    reported = []
    for line, dotted, hint in facts.CILIUM_REMOVED_VALUES:
        if mesh.cilium_line >= line and _has_path(values, dotted.split(".")):
            problems.add("cilium_helm_values.%s" % dotted, "was removed in Cilium %d.%d (%s)" % (line + (hint,)))
            reported.append(dotted)
    if mesh.cilium_line in facts.CILIUM_LINES:
        check_extra_values("cilium", mesh.settings["cilium_version"], values, "cilium_helm_values", problems,
                           mesh.warnings, skip=reported)
    kpr = values.get("kubeProxyReplacement")
    if isinstance(kpr, str) and kpr.lower() in facts.CILIUM_KPR_LEGACY:
        problems.add("cilium_helm_values.kubeProxyReplacement", "must be true or false on Cilium 1.18+; %r is no "
                     "longer accepted (use cilium_kube_proxy_replacement instead)" % kpr)


def _has_path(values, parts):
    node = values
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# -- dapr -------------------------------------------------------------------------


def _check_dapr(mesh, problems):
    processing("dapr_helm_values")
    s = mesh.settings
    version = facts.version_tuple(s["dapr_version"])
    if version < facts.DAPR_MIN_VERSION:
        problems.add("dapr_version", "Dapr %s is too old; the collection needs %d.%d.%d or later (sentry on port 443)"
                     % ((s["dapr_version"],) + facts.DAPR_MIN_VERSION))
    check_extra_values("dapr", s["dapr_version"], s["dapr_helm_values"], "dapr_helm_values", problems, mesh.warnings)
    check_extra_values("dapr-shared", s["dapr_shared_chart_version"], s["dapr_shared_helm_values"],
                       "dapr_shared_helm_values", problems, mesh.warnings)


# -- gateways ---------------------------------------------------------------------


def _build_gateways(mesh, problems):
    s = mesh.settings
    seen = {}
    for index, raw in enumerate(s["mesh_gateways"]):
        path = "mesh_gateways[%d]" % index
        processing(path)
        gateway = Gateway(raw, path)
        if gateway.key in seen:
            problems.add(path + ".name", "gateway %s is already declared at %s" % (gateway.key, seen[gateway.key]))
            continue
        seen[gateway.key] = path
        mesh.gateways.append(gateway)
        _check_listeners(mesh, gateway, problems)
        _check_gateway_addresses(mesh, gateway, problems)
    if mesh.gateways and not s["cilium_gateway_api"]["enabled"]:
        problems.add("cilium_gateway_api.enabled", "must be true when mesh_gateways declares gateways")


def _check_listeners(mesh, gateway, problems):
    names = {}
    endpoints = {}
    host_network = mesh.settings["cilium_gateway_api"]["host_network"]
    keep_bind = _has_true(mesh.settings["cilium_helm_values"],
                          ("envoy", "securityContext", "capabilities", "keepCapNetBindService"))
    for listener in gateway.listeners:
        if listener.name in names:
            problems.add(listener.path + ".name", "listener %r is already declared at %s" % (
                listener.name, names[listener.name]))
        names[listener.name] = listener.path
        key = (listener.port, listener.hostname)
        if key in endpoints:
            problems.add(listener.path, "port %d with hostname %r is already used by %s" % (
                listener.port, listener.hostname or "*", endpoints[key]))
        endpoints[key] = listener.path
        if listener.protocol == "HTTPS" and not listener.certificate_refs:
            problems.add(listener.path + ".certificate_refs", "is required for an HTTPS listener (TLS Secrets "
                         "the gateway terminates with)")
        if listener.protocol == "HTTP" and listener.certificate_refs:
            problems.add(listener.path + ".certificate_refs", "is only allowed on HTTPS listeners")
        if (listener.protocol == "HTTPS" and len(listener.certificate_refs) > 1 and gateway.class_name == "cilium"
                and mesh.cilium_line >= facts.CILIUM_ONE_CERTIFICATE_PER_LISTENER):
            problems.add(listener.path + ".certificate_refs", "has %d entries, but Cilium %d.%d admits exactly one "
                         "certificate per HTTPS listener of class cilium (the chart's ValidatingAdmissionPolicy "
                         "gateway.cilium.io refuses the Gateway): keep one, or add a listener per certificate with "
                         "its own hostname" % ((len(listener.certificate_refs),) + mesh.cilium_line))
        if host_network and listener.port < 1024 and not keep_bind:
            problems.add(listener.path + ".port", "is %d, but with cilium_gateway_api.host_network Envoy binds it "
                         "on the node without NET_BIND_SERVICE: use a port above 1023, or set cilium_helm_values."
                         "envoy.securityContext.capabilities.keepCapNetBindService: true" % listener.port)


def _has_true(values, parts):
    node = values
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return node is True


def _check_gateway_addresses(mesh, gateway, problems):
    blocks = mesh.pool_blocks
    if mesh.settings["cilium_gateway_api"]["host_network"] and gateway.addresses:
        problems.add(gateway.path + ".addresses", "cannot be used with cilium_gateway_api.host_network (the "
                     "gateway listens on the node addresses)")
        return
    if mesh.settings["cilium_gateway_api"]["host_network"]:
        return
    pools = mesh.settings["cilium_lb_ipam_pools"]
    labels = gateway.service_labels()
    serving = [pool for pool in pools
               if all(labels.get(key) == value for key, value in (pool["service_selector"] or {}).items())]
    if pools and not serving:
        problems.add(gateway.path, "no entry of cilium_lb_ipam_pools selects the Gateway's Service %s/%s (its labels: "
                     "%s), so it would never get an address and never be Programmed: add a pool without "
                     "service_selector, or one these labels match (mesh_gateways[].labels are copied to the "
                     "Service)" % (gateway.namespace, gateway.service_name,
                                   ", ".join("%s=%s" % item for item in sorted(labels.items()))))
        return
    if not pools:
        mesh.warnings.append("%s: no cilium_lb_ipam_pools and no cilium_gateway_api.host_network: the Gateway gets an "
                             "address only from another LoadBalancer implementation; cluster mode waits "
                             "mesh_wait_timeout for it to be Programmed" % gateway.path)
    for index, text in enumerate(gateway.addresses):
        address, problem = parse_ip(text)
        if problem or not blocks:
            continue
        if not any(block_contains(entry[2], address) for entry in blocks):
            problems.add("%s.addresses[%d]" % (gateway.path, index), "%s is in none of cilium_lb_ipam_pools (%s)" % (
                text, ", ".join(entry[1] for entry in blocks)))


# -- apps and their Dapr instances ----------------------------------------------------


def _build_apps(mesh, problems):
    seen = {}
    for index, raw in enumerate(mesh.settings["mesh_apps"]):
        path = "mesh_apps[%d]" % index
        processing(path)
        app = App(raw, path)
        if app.key in seen:
            # one root problem, one message: the duplicate is not resolved further (its every derived name
            # would clash too)
            problems.add(path + ".name", "app %s is already declared at %s" % (app.key, seen[app.key]))
            continue
        seen[app.key] = path
        mesh.apps.append(app)
        if app.dapr:
            app.dapr.remote_host = mesh.service_host(app.name, app.namespace)
        elif app.allowed_callers_raw:
            problems.add(path + ".allowed_callers", "needs dapr.enabled: callers reach the app through its Dapr "
                         "Shared instance")
        _check_versions(mesh, app, problems)
    _check_selectors(mesh, problems)


def _check_selectors(mesh, problems):
    """No two apps whose selectors pick the same pods: policies and Services keyed by the selector would fold one
    app into the other."""
    apps = mesh.apps
    for index, app in enumerate(apps):
        mine = set(app.selector.items())
        for other in apps[:index]:
            if other.namespace != app.namespace:
                continue
            theirs = set(other.selector.items())
            if mine == theirs:
                problems.add(app.path + ".selector", "selects the same pods as %s (both %s): the policies and "
                             "Services of the two would fold into one; give each app labels of its own" % (
                                 other.path, _labels_text(mine)))
            elif mine <= theirs or theirs <= mine:
                wider, narrower = (app, other) if mine < theirs else (other, app)
                problems.add(app.path + ".selector", "%s (%s) also selects every pod of %s (%s): its policies and "
                             "Service would take in the other app's pods; give each app a label the other lacks" % (
                                 wider.path, _labels_text(set(wider.selector.items())), narrower.path,
                                 _labels_text(set(narrower.selector.items()))))


def _labels_text(items):
    return "{%s}" % ", ".join("%s: %s" % item for item in sorted(items))


def _check_versions(mesh, app, problems):
    if not app.versions:
        return
    if not mesh.settings["cilium_gateway_api"]["enabled"]:
        problems.add(app.path + ".versions", "traffic splits are GAMMA HTTPRoutes and need "
                     "cilium_gateway_api.enabled: true")
    names = {}
    selectors = {}
    for version in app.versions:
        if version.name in names:
            problems.add(version.path + ".name", "version %r is already declared at %s" % (
                version.name, names[version.name]))
        names[version.name] = version.path
        key = tuple(sorted(version.selector.items()))
        if key in selectors:
            problems.add(version.path + ".labels", "selects the same pods as %s; give each version its own "
                         "labels" % selectors[key])
        selectors[key] = version.path
        overlap = set(version.labels) & set(app.selector)
        for label in sorted(overlap):
            if version.labels[label] != app.selector[label]:
                problems.add(version.path + ".labels", "overrides the app selector label %r; version labels "
                             "must add to the selector, not change it" % label)
    total = sum(version.weight for version in app.versions)
    if total == 0:
        problems.add(app.path + ".versions", "weights add up to 0, so no request could be routed; give at "
                     "least one version a weight above 0")


def _build_ingress(mesh, problems):
    raw = mesh.settings["mesh_ingress"]
    has_routes = any(app.routes for app in mesh.apps)
    if not mesh.gateways:
        if has_routes:
            # reported per route in _resolve_routes
            pass
        return
    gateway = None
    if raw["gateway"]:
        matches = [g for g in mesh.gateways if g.name == raw["gateway"]]
        if not matches:
            problems.add("mesh_ingress.gateway", "no gateway named %r in mesh_gateways (declared: %s)" % (
                raw["gateway"], ", ".join(g.name for g in mesh.gateways)))
            return
        gateway = matches[0]
    else:
        gateway = mesh.gateways[0]
    instance = DaprInstance(
        app_id=raw["app_id"], namespace=raw["namespace"], strategy=raw["strategy"], replicas=raw["replicas"],
        release=raw["release_name"] or "%s-shared" % raw["app_id"],
        remote_host=mesh.service_host(gateway.service_name, gateway.namespace),
        remote_port=gateway.http_port(), helm_values=raw["helm_values"], path="mesh_ingress", role="ingress")
    instance.gateway = gateway
    instance.local_redirect = raw["local_redirect"]
    if instance.local_redirect:
        s = mesh.settings
        if instance.strategy != "daemonset":
            problems.add("mesh_ingress.local_redirect", "needs mesh_ingress.strategy 'daemonset': the redirect only "
                         "works to a daprd on the same node")
        if not s["cilium_local_redirect_policies"]:
            problems.add("mesh_ingress.local_redirect", "needs cilium_local_redirect_policies: true")
        if not s["cilium_kube_proxy_replacement"]:
            problems.add("mesh_ingress.local_redirect", "needs cilium_kube_proxy_replacement: true (Local "
                         "Redirect Policies work on the socket-level load balancer)")
    mesh.ingress = instance


# -- routes -----------------------------------------------------------------------


def _resolve_routes(mesh, problems):
    by_name = {}
    for gateway in mesh.gateways:
        by_name.setdefault(gateway.name, []).append(gateway)
    claimed = {}
    for app in mesh.apps:
        per_gateway = {}
        for route in app.routes:
            candidates = by_name.get(route.gateway_name, [])
            if route.gateway_namespace:
                candidates = [g for g in candidates if g.namespace == route.gateway_namespace]
            if not candidates:
                declared = ", ".join(g.key for g in mesh.gateways) or "none"
                problems.add(route.path + ".gateway", "no gateway %r%s in mesh_gateways (declared: %s)" % (
                    route.gateway_name,
                    " in namespace %r" % route.gateway_namespace if route.gateway_namespace else "", declared))
                continue
            if len(candidates) > 1:
                problems.add(route.path + ".gateway_namespace", "gateway %r exists in several namespaces (%s); "
                             "set gateway_namespace" % (route.gateway_name,
                                                        ", ".join(g.namespace for g in candidates)))
                continue
            route.gateway = gateway = candidates[0]
            route.namespace = mesh.ingress.namespace if app.dapr and mesh.ingress else app.namespace
            count = per_gateway.get(gateway.key, 0) + 1
            per_gateway[gateway.key] = count
            if not route.name:
                base = app.name if route.namespace == app.namespace else "%s-%s" % (app.name, app.namespace)
                route.name = "%s-%s" % (base, gateway.name) + ("" if count == 1 else "-%d" % count)
            listeners = gateway.listeners
            if route.listener:
                listeners = [l for l in gateway.listeners if l.name == route.listener]
                if not listeners:
                    problems.add(route.path + ".listener", "gateway %s has no listener %r (listeners: %s)" % (
                        gateway.key, route.listener, ", ".join(l.name for l in gateway.listeners)))
                    continue
            attachable = [l for l in listeners if l.allowed_routes == "All" or route.namespace == gateway.namespace]
            if not attachable:
                problems.add(route.path, "gateway %s only takes routes from its own namespace (allowed_routes: "
                             "Same) but this route lives in %r" % (gateway.key, route.namespace))
                continue
            matching = [l for l in attachable if _hostnames_intersect(l.hostname, route.hostnames)]
            if not matching:
                problems.add(route.path + ".hostnames", "none of %s matches the hostname of any listener of %s "
                             "(%s)" % (route.hostnames, gateway.key,
                                       ", ".join(l.hostname or "*" for l in attachable)))
                continue
            reported = False
            for listener in matching:
                for hostname in _effective_hosts(listener.hostname, route.hostnames):
                    key = (gateway.key, listener.name, hostname, route.prefix)
                    owner = claimed.get(key)
                    if owner is not None and owner[1] != route.path and not reported:
                        reported = True
                        if owner[0] is app:
                            problems.add(route.path, "routes %s on %s (host %s) like %s does: the second rule "
                                         "would never match; remove one" % (
                                             route.prefix, gateway.key, hostname, owner[1]))
                        else:
                            problems.add(route.path + ".path", "%s on %s (host %s) is already routed to app %s by "
                                         "%s; the Gateway API would send it to only one of them" % (
                                             route.prefix, gateway.key, hostname, owner[0].key, owner[1]))
                    claimed.setdefault(key, (app, route.path))
    if any(app.routes for app in mesh.apps) and not mesh.gateways:
        problems.add("mesh_gateways", "is empty, but mesh_apps declare routes; declare the gateways they use")


def _effective_hosts(listener_host, route_hosts):
    """The host names a route really answers on a listener (the Gateway API intersects the two): a route without
    host names takes the listener's; a listener host more specific than a route's wildcard narrows it."""
    if not route_hosts:
        return [listener_host or "*"]
    result = []
    for host in route_hosts:
        if not listener_host or _host_matches(listener_host, host):
            result.append(host)
        elif _host_matches(host, listener_host):
            result.append(listener_host)
    return result


def _host_matches(pattern, host):
    if pattern == host:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") >= pattern.count(".")
    return False


def _hostnames_intersect(listener_host, route_hosts):
    """Gateway API rule: a route attaches if one hostname matches the listener's."""
    if not listener_host or not route_hosts:
        return True
    for host in route_hosts:
        if _host_matches(listener_host, host) or _host_matches(host, listener_host):
            return True
    return False


# -- callers ----------------------------------------------------------------------


def _resolve_callers(mesh, problems):
    instances = {}
    for instance in mesh.dapr_instances():
        instances[instance.invoke_id] = instance
    for app in mesh.apps:
        if not app.dapr:
            continue
        callers = []
        if app.routes and mesh.ingress:
            callers.append(mesh.ingress)
        for index, text in enumerate(app.allowed_callers_raw):
            invoke_id = text if "." in text else "%s.%s" % (text, app.namespace)
            caller = instances.get(invoke_id)
            if caller is None:
                problems.add("%s.allowed_callers[%d]" % (app.path, index), "no Dapr instance %r in the mesh "
                             "(known: %s)" % (invoke_id, ", ".join(sorted(instances)) or "none"))
                continue
            if caller not in callers:
                callers.append(caller)
        app.callers = callers
        for caller in callers:
            caller.callees.append(app.dapr)


# -- names that must not clash ------------------------------------------------------


def _check_names(mesh, problems):
    services = {}
    routes = {}
    releases = {}
    dapr_ids = {}

    reported = set()

    def root(path):
        return path.split(".")[0]

    def claim(table, key, path, what):
        if key in table and table[key] != path:
            pair = (root(table[key]), root(path))
            if pair not in reported:  # one message per pair of clashing declarations
                reported.add(pair)
                problems.add(path, "%s %s clashes with the one from %s" % (what, "/".join(key), table[key]))
        else:
            table[key] = path

    for instance in mesh.dapr_instances():
        claim(dapr_ids, (instance.namespace, instance.app_id), instance.path, "Dapr app id")
        claim(services, (instance.namespace, instance.service_name), instance.path, "Service")
        claim(releases, (instance.release,), instance.path + ".release_name", "Helm release")
        _check_release_name(instance, problems)
    for app in mesh.apps:
        if app.create_service:
            claim(services, (app.namespace, app.name), app.path + ".name", "Service")
        for version in app.versions:
            if len(version.service_name) > 63:
                problems.add(version.path + ".name", "the Service name %r is longer than 63 characters" %
                             version.service_name)
            claim(services, (app.namespace, version.service_name), version.path + ".name", "Service")
        if app.versions:
            claim(routes, (app.namespace, app.split_route_name), app.path + ".versions", "HTTPRoute")
        for route in app.routes:
            if route.name and route.namespace:
                claim(routes, (route.namespace, route.name), route.path + ".name", "HTTPRoute")
    for fixed in (mesh.settings["cilium_release_name"], mesh.settings["dapr_release_name"]):
        if (fixed,) in releases:
            problems.add(releases[(fixed,)], "Helm release %r clashes with the Cilium/Dapr release name" % fixed)
    if mesh.settings["cilium_release_name"] == mesh.settings["dapr_release_name"]:
        problems.add("dapr_release_name", "is %r, the name of the Cilium release too (cilium_release_name): each "
                     "release needs its own name (and its own helm/<release>.values.yaml)" % (
                         mesh.settings["dapr_release_name"],))
    _check_addresses(mesh, problems)


#: Helm refuses release names longer than this (its release Secret name sh.helm.release.v1.<name>.v<n> must stay
#: a DNS subdomain, and Helm keeps room for labels).
HELM_RELEASE_NAME_MAX = 53


def _check_release_name(instance, problems):
    if len(instance.release) <= HELM_RELEASE_NAME_MAX:
        return
    if instance.role == "ingress":
        source, setting = "mesh_ingress.app_id", "mesh_ingress.release_name"
    else:
        source, setting = instance.path[:-len(".dapr")] + ".name", instance.path + ".release_name"
    problems.add(source, "makes the Dapr Shared release name %r, %d characters; Helm allows at most %d: shorten it, or "
                 "set %s" % (instance.release, len(instance.release), HELM_RELEASE_NAME_MAX, setting))


def _check_addresses(mesh, problems):
    """Each requested Gateway address once: LB-IPAM gives an address to one Service only."""
    taken = {}
    for gateway in mesh.gateways:
        seen = set()
        for index, text in enumerate(gateway.addresses):
            address, problem = parse_ip(text)
            if problem:
                continue
            path = "%s.addresses[%d]" % (gateway.path, index)
            if address in seen:
                problems.add(path, "%s is listed twice (the Gateway API refuses duplicate addresses)" % text)
                continue
            seen.add(address)
            if address in taken:
                problems.add(path, "%s is already requested by %s: LB-IPAM gives an address to one Service only, so "
                             "one of the Gateways would never get it" % (text, taken[address]))
            else:
                taken[address] = path


def _check_policies(mesh, problems):
    s = mesh.settings
    if s["mesh_mutual_auth"] and not s["cilium_mutual_auth"]["enabled"]:
        problems.add("mesh_mutual_auth", "needs cilium_mutual_auth.enabled: true (SPIRE must run for "
                     "authentication: required to let traffic through)")
    if not s["mesh_default_deny"]:
        return
    # The baseline denies everything else to every pod of a namespace the mesh runs pods in: never in one the
    # cluster's own components live in.
    foreign = {name: "a Kubernetes system namespace" for name in facts.SYSTEM_NAMESPACES if name != "default"}
    foreign.setdefault(s["cilium_namespace"], "Cilium's namespace (cilium_namespace)")
    foreign.setdefault(s["dapr_namespace"], "the Dapr control plane's namespace (dapr_namespace)")
    places = [(app.path + ".namespace", app.namespace) for app in mesh.apps]
    if mesh.ingress:
        places.append(("mesh_ingress.namespace", mesh.ingress.namespace))
    for path, namespace in places:
        if namespace in foreign:
            problems.add(path, "is %s, %s: with mesh_default_deny the mesh would put a default-deny baseline over "
                         "every pod there, and the mesh does not own them; run it in a namespace of its own, or turn "
                         "mesh_default_deny off" % (namespace, foreign[namespace]))


_POLICY_KINDS = {
    "CiliumNetworkPolicy": True,
    "CiliumClusterwideNetworkPolicy": False,
}


_POLICY_META_KEYS = ("name", "namespace", "labels", "annotations")


def _check_extra_policies(mesh, problems):
    seen = {}
    for index, raw in enumerate(mesh.settings["mesh_extra_policies"]):
        path = "mesh_extra_policies[%d]" % index
        processing(path)
        policy = plain(raw)
        kind = policy.get("kind")
        if not isinstance(kind, str) or kind not in _POLICY_KINDS:
            problems.add(path + ".kind", "must be CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy, got %s" % (
                describe(kind),))
            continue
        if policy.get("apiVersion") != "cilium.io/v2":
            problems.add(path + ".apiVersion", "must be 'cilium.io/v2', got %s" % describe(policy.get("apiVersion")))
        metadata = policy.get("metadata")
        if not isinstance(metadata, dict):
            problems.add(path + ".metadata", "must be a mapping with name (and namespace for a "
                         "CiliumNetworkPolicy), got %s" % type_name(metadata))
            continue
        for key in sorted(set(metadata) - set(_POLICY_META_KEYS)):
            problems.add("%s.metadata.%s" % (path, key), "unknown key; a policy's metadata here has %s (the "
                         "collection adds its ownership labels)" % ", ".join(_POLICY_META_KEYS))
        name = metadata.get("name")
        name_problem = None
        if not isinstance(name, str) or not name:
            name_problem = "is required: a string naming the policy, got %s" % describe(name)
        else:
            name_problem = dns_subdomain(name)
        if name_problem:
            problems.add(path + ".metadata.name", name_problem)
        namespaced = _POLICY_KINDS[kind]
        namespace = metadata.get("namespace")
        if namespace is not None and (not isinstance(namespace, str) or dns_label()(namespace)):
            problems.add(path + ".metadata.namespace", "must be a namespace name (a DNS label), got %s" % (
                describe(namespace),))
            namespace = None
        elif namespaced and not namespace:
            problems.add(path + ".metadata.namespace", "is required for a CiliumNetworkPolicy")
        if not namespaced and namespace:
            problems.add(path + ".metadata.namespace", "must not be set on a CiliumClusterwideNetworkPolicy")
        for key in ("labels", "annotations"):
            if key not in metadata:
                continue
            Field("map", "", value_type="str", check=labels if key == "labels" else annotations).check(
                metadata[key], "%s.metadata.%s" % (path, key), problems)
        unknown = sorted(str(k) for k in set(policy) - {"apiVersion", "kind", "metadata", "spec", "specs"})
        for key in unknown:
            problems.add("%s.%s" % (path, key), "unknown key; a policy has apiVersion, kind, metadata and spec or specs")
        if "spec" not in policy and "specs" not in policy:
            problems.add(path, "needs spec or specs")
        elif "spec" in policy and not isinstance(policy["spec"], dict):
            problems.add(path + ".spec", "must be a mapping, got %s" % type_name(policy["spec"]))
        elif "specs" in policy and (not isinstance(policy["specs"], list)
                                    or not all(isinstance(item, dict) for item in policy["specs"])):
            problems.add(path + ".specs", "must be a list of mappings")
        if name_problem:
            continue
        key = (kind, namespace or "", name)
        if key in seen:
            problems.add(path + ".metadata.name", "%s %s is already declared at %s" % (
                kind, "/".join(k for k in key[1:] if k), seen[key]))
        seen[key] = path
        mesh.extra_policies.append(policy)


__all__ = ["Mesh", "build_mesh", "collect_variables", "normalise", "ValidationError", "normalise_prefix"]
