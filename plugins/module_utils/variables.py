# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory variables: the collection's public API.

Three groups, one per prefix: ``cilium_*`` (the CNI and its features),
``dapr_*`` (control plane and Dapr Shared chart) and ``mesh_*`` (gateways,
apps, routes and policies). ``VARIABLES`` maps every name to its ``Field``;
``ROLE_VARIABLES`` says which role documents which group.
"""

from __future__ import annotations

import re

from . import facts
from .spec import Field, dns_label, dns_subdomain, hostname, labels, optional

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def _semver(value):
    if not _VERSION_RE.fullmatch(value):
        return "must be a full release version like 1.20.0, got %r" % value
    return None


def _group_name(value):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return "must be an inventory group name (letters, digits, underscores; not starting with a digit), got %r" % value
    return None


def _minor_version(value):
    if value and not re.fullmatch(r"[0-9]+\.[0-9]+", value):
        return "must be a Cilium minor like 1.19 (or empty), got %r" % value
    return None


def _gateway_api_version(value):
    if value and not re.fullmatch(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$", value):
        return "must be a Gateway API release tag like v1.6.1 (or empty for the default of the Cilium line), got %r" % value
    return None


def _path_prefix(value):
    if not value.startswith("/"):
        return "must start with '/', got %r" % value
    if "//" in value or "/./" in value or "/../" in value or value.endswith(("/..", "/.")):
        return "must not contain '//', '/./' or '/../', got %r" % value
    if "%2f" in value.lower() or "#" in value or "?" in value:
        return "must be a plain path without '?', '#' or '%%2F', got %r" % value
    if len(value) > 900:
        return "must be at most 900 characters"
    return None


def _chart_ref(value):
    if not value.strip():
        return "must name a chart (repo/chart, an oci:// reference or a local path), got an empty string"
    if any(char.isspace() or not char.isprintable() for char in value):
        return "must not contain spaces or control characters (a chart reference is one word), got %r" % value
    return None


def _repo_url(value):
    if value and (any(char.isspace() or not char.isprintable() for char in value)
                  or not re.match(r"^(https?|oci|file)://[^/]", value)):
        return "must be empty or an http(s)://, oci:// or file:// URL without spaces, got %r" % value
    return None


def _ipv4_cidr(value):
    from .netaddr import parse_network
    network, problem = parse_network(value)
    if problem:
        return problem
    if network.version != 4:
        return "must be an IPv4 CIDR (Helm ipv4NativeRoutingCIDR), got the IPv6 network %r" % value
    return None


def _api_server_host(value):
    from .netaddr import parse_host
    if value in ("", "auto"):
        return None
    return parse_host(value)[1]


def _ip(value):
    from .netaddr import parse_ip
    return parse_ip(value)[1]


def _pool_block(value):
    from .netaddr import parse_block
    return parse_block(value)[1]


def _user_labels(value):
    """Labels of the user's, which must leave the ownership labels cluster mode prunes by to the collection."""
    problem = labels(value)
    if problem:
        return problem
    reserved = sorted(key for key in value if key in (facts.MANAGED_BY_LABEL, facts.INSTANCE_LABEL))
    if reserved:
        return ("must not set %s: the collection sets them on everything it renders and prunes by them"
                % ", ".join(reserved))
    return None


_user_labels.limit = labels.limit


def _interface_pattern(value):
    """Cilium compiles these with Go's regexp: checked as RE2, not as Python's re (see re2syntax)."""
    from .re2syntax import problem
    reason = problem(value)
    if reason:
        return "must be a regular expression Go's regexp (RE2) accepts, as Cilium compiles it: %s" % reason
    return None


def _python_pattern(value):
    """The verify role matches answers with Python's re; a pattern that does not compile, or has no group, fails
    there after the whole mesh converged."""
    if len(value) > 1000:
        return "must be at most 1000 characters, got %d" % len(value)
    try:
        compiled = re.compile(value)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        return "must be a valid Python regular expression (%s)" % exc
    if compiled.groups < 1:
        return "needs a group that captures the version name, e.g. 'Name: (\\S+)'; got %r" % value
    return None


_APP_ID_WHY = "its Service is '<app_id>-dapr', 5 characters more, and Service names have at most 63"
_LABELS = dict(type="map", value_type="str", check=labels)
_SELECTOR = Field(
    "dict",
    "A Kubernetes label selector.",
    options={
        "matchLabels": Field("map", "Labels that must all match.", default={}, value_type="str", check=labels),
        "matchExpressions": Field("list", "Set-based requirements (key, operator, values), passed through.", default=[]),
    },
    nullable=True,
    default=None,
)

# -- cilium_* ----------------------------------------------------------------------
CILIUM = {
    "cilium_version": Field(
        "str", "Cilium Helm chart version. Supported release lines: 1.18, 1.19 and 1.20.",
        default=facts.CILIUM_DEFAULT_VERSION, check=_semver, example=facts.CILIUM_DEFAULT_VERSION),
    "cilium_namespace": Field(
        "str", "Namespace of the Cilium release (agents, operator, Hubble, the IPsec key Secret).",
        default="kube-system", check=dns_label()),
    "cilium_release_name": Field(
        "str", "Helm release name of Cilium.", default="cilium", check=dns_label(53, why="Helm's limit on release names")),
    "cilium_chart": Field(
        "str", "Chart reference passed to helm: a repo/chart name, an oci:// reference or a local path.",
        default=facts.CILIUM_CHART, check=_chart_ref),
    "cilium_chart_repo_url": Field(
        "str", "Helm repository URL the chart name resolves against (empty for oci:// or local charts).",
        default=facts.CILIUM_CHART_REPO, check=_repo_url),
    "cilium_kube_proxy_replacement": Field(
        "bool", "Replace kube-proxy with Cilium's eBPF service handling (Helm kubeProxyReplacement). "
        "Needed for L2 announcements and Local Redirect Policies.", default=True),
    "cilium_k8s_service_host": Field(
        "str", "Address of the real API server (not the kubernetes Service VIP) the agents use when "
        "kube-proxy replacement is on. 'auto' reads it from kube-public/cluster-info (kubeadm clusters).",
        default="", example="192.0.2.10", check=_api_server_host),
    "cilium_k8s_service_port": Field(
        "int", "Port of the API server behind cilium_k8s_service_host; with mesh_default_deny also the port pods "
        "may reach the API server on.", default=6443, minimum=1, maximum=65535),
    "cilium_routing_mode": Field(
        "str", "Pod traffic between nodes: 'tunnel' (encapsulation) or 'native' (routed by the network).",
        default="tunnel", choices=("tunnel", "native")),
    "cilium_tunnel_protocol": Field(
        "str", "Encapsulation in tunnel mode.", default="vxlan", choices=("vxlan", "geneve")),
    "cilium_ipv4_native_routing_cidr": Field(
        "str", "CIDR routable without masquerading; required in native routing mode (for example the pod CIDR).",
        default="", check=lambda v: _ipv4_cidr(v) if v else None),
    "cilium_auto_direct_node_routes": Field(
        "bool", "Install routes to other nodes' pod CIDRs (native routing on one L2 segment).", default=False),
    "cilium_encryption": Field(
        "str", "Transparent encryption of pod traffic between nodes.", default="wireguard",
        choices=("none", "wireguard", "ipsec")),
    "cilium_encryption_node_encryption": Field(
        "bool", "Also encrypt node-to-node traffic (WireGuard only).", default=False),
    "cilium_ipsec_secret_name": Field(
        "str", "Secret (in cilium_namespace) holding the IPsec key under the key 'keys'. Created in cluster "
        "mode when missing; never rendered to disk.", default=facts.CILIUM_IPSEC_SECRET, check=dns_subdomain),
    "cilium_hubble": Field(
        "dict", "Hubble observability.",
        options={
            "enabled": Field("bool", "Run Hubble in the agents.", default=True),
            "relay": Field("bool", "Deploy Hubble Relay (cluster-wide flow API).", default=True),
            "ui": Field("bool", "Deploy the Hubble UI (needs relay).", default=True),
            "metrics": Field("list", "Hubble metrics to export; empty disables metrics.",
                             default=["dns", "drop", "tcp", "flow", "icmp", "http"],
                             elements=Field("str", "A metric name with options, e.g. 'dns:query;ignoreAAAA'.")),
        },
        default={}),
    "cilium_gateway_api": Field(
        "dict", "Gateway API support in Cilium and the Gateway API CRDs installed before it.",
        options={
            "enabled": Field("bool", "Enable Cilium's Gateway API controller (GatewayClass 'cilium').", default=True),
            "version": Field("str", "Gateway API CRD release; empty picks the release the Cilium line is "
                             "documented with (1.18: v1.3.0, 1.19: v1.4.1, 1.20: v1.6.1). Cilium 1.20 needs v1.5.0+; "
                             "1.18/1.19 need a standard-channel release before v1.5.0.", default="",
                             check=_gateway_api_version),
            "channel": Field("str", "CRD release channel.", default="standard", choices=facts.GATEWAY_API_CHANNELS),
            "host_network": Field("bool", "Expose Gateway listeners on the nodes' host network instead of "
                                  "LoadBalancer Services (no LB-IPAM needed; listener ports above 1023).",
                                  default=False),
            "host_network_node_labels": Field("map", "Only nodes with these labels expose host-network listeners.",
                                              default={}, value_type="str", check=labels),
        },
        default={}),
    "cilium_local_redirect_policies": Field(
        "bool", "Enable CiliumLocalRedirectPolicy support (needed when mesh_ingress.local_redirect is on).",
        default=True),
    "cilium_lb_ipam_pools": Field(
        "list", "LB-IPAM pools (CiliumLoadBalancerIPPool) that give LoadBalancer Services, and so Gateways, "
        "an address on bare metal.",
        default=[],
        elements=Field("dict", "One pool.", options={
            "name": Field("str", "Pool name.", required=True, check=dns_subdomain),
            "blocks": Field("list", "Address blocks: a CIDR ('192.0.2.0/28') or a 'start-stop' range "
                            "('192.0.2.10-192.0.2.20').", required=True, minimum=1,
                            elements=Field("str", "CIDR or start-stop range.", check=_pool_block)),
            "service_selector": Field("map", "Only Services with these labels draw from the pool (matchLabels).",
                                      default={}, value_type="str", check=labels),
            "allow_first_last_ips": Field("bool", "Hand out the network and broadcast address of a CIDR too.",
                                          default=False),
        })),
    "cilium_l2_announcements": Field(
        "dict", "Answer ARP for LoadBalancer addresses on the node network (CiliumL2AnnouncementPolicy). "
        "Needs kube-proxy replacement.",
        options={
            "enabled": Field("bool", "Enable L2 announcements.", default=False),
            "interfaces": Field("list", "Regular expressions of node interfaces to announce on.",
                                default=["^eth[0-9]+"],
                                elements=Field("str", "Interface regex.", check=_interface_pattern)),
            "node_selector": Field("map", "Only nodes with these labels announce (matchLabels).", default={},
                                   value_type="str", check=labels),
            "service_selector": Field("map", "Only Services with these labels are announced (matchLabels).",
                                      default={}, value_type="str", check=labels),
            "external_ips": Field("bool", "Also announce Service externalIPs.", default=False),
            "client_rate_limit": Field("dict", "Agent API client rate limit (k8sClientRateLimit); every "
                                       "announced Service renews a lease, so size it for the Service count.",
                                       options={
                                           "qps": Field("int", "Sustained requests per second.", default=20,
                                                        minimum=1),
                                           "burst": Field("int", "Burst requests per second.", default=40,
                                                          minimum=1),
                                       }, default={}),
        },
        default={}),
    "cilium_mutual_auth": Field(
        "dict", "Mutual authentication with SPIRE (Cilium 1.18-1.20; deprecated in 1.20, removed in 1.21). "
        "Required by mesh_mutual_auth.",
        options={
            "enabled": Field("bool", "Enable authentication and the SPIRE integration.", default=False),
            "install_spire": Field("bool", "Install the SPIRE server and agents with Cilium.", default=True),
            "spire_data_storage": Field("bool", "Give the SPIRE server a PersistentVolumeClaim (needs a "
                                        "default StorageClass); off keeps its data in memory.", default=True),
        },
        default={}),
    "cilium_policy_enforcement_mode": Field(
        "str", "Cilium policy enforcement: 'default' (deny only what a policy selects), 'always' or 'never'.",
        default="default", choices=("default", "always", "never")),
    "cilium_host_firewall": Field(
        "bool", "Enable the host firewall so CiliumClusterwideNetworkPolicies with nodeSelector apply to nodes.",
        default=False),
    "cilium_operator_replicas": Field(
        "int", "Replicas of cilium-operator; 0 keeps the chart default (2).", default=0, minimum=0, maximum=10),
    "cilium_wait_timeout": Field(
        "int", "Cluster mode: seconds to wait for agents, operator, Envoy and Hubble to be ready.", default=600,
        minimum=30, maximum=7200),
    "cilium_agent_health_check": Field(
        "bool", "Cluster mode: after the rollout, ask every agent for its own health (cilium-dbg status through "
        "kubectl exec), as cilium status --wait does. Needs exec into the agent pods.", default=True),
    "cilium_migrate_from_kube_proxy": Field(
        "bool", "Cluster mode: remove kube-proxy (DaemonSet, ConfigMap, its iptables rules on every mesh_nodes host) "
        "before installing Cilium with kube-proxy replacement. Service traffic is down in between.", default=False),
    "cilium_upgrade_compatibility": Field(
        "str", "Helm value upgradeCompatibility: the Cilium minor first installed on this cluster (for example "
        "'1.19'), so that the chart keeps that line's defaults. Empty: cluster mode sets it to the running minor "
        "when it upgrades to the next one, and keeps what the release has from then on.", default="",
        check=_minor_version),
    "cilium_kube_proxy_flush": Field(
        "bool", "Cluster mode, with cilium_migrate_from_kube_proxy: flush kube-proxy's rules (iptables, ip6tables, "
        "IPVS or nftables, by its configured mode) on every host of mesh_node_group over SSH. Off only when you "
        "flush them yourself.", default=True),
    "cilium_restart_unmanaged_pods": Field(
        "bool", "Cluster mode: once Cilium is ready, restart the pods that started before it and so have no "
        "CiliumEndpoint (not host network, owned by a controller), as cilium install does. Off: they are "
        "reported.", default=True),
    "cilium_ipsec_rotate": Field(
        "bool", "Cluster mode: rotate the IPsec key (next id) on this run; refused while Cilium rolls out.",
        default=False),
    "cilium_helm_values": Field(
        "map", "Extra Helm values, deep-merged over the rendered ones (lists replace). The escape hatch for "
        "any chart key the variables above do not cover. Every key is checked against the keys of the chart of "
        "cilium_version (renamed and removed keys are named; free-form maps such as annotations are not checked).",
        default={}),
}


# -- dapr_* ------------------------------------------------------------------------
DAPR = {
    "dapr_version": Field(
        "str", "Dapr release: the dapr/dapr chart version and the daprd image tag of every Dapr Shared "
        "instance.", default=facts.DAPR_DEFAULT_VERSION, check=_semver, example=facts.DAPR_DEFAULT_VERSION),
    "dapr_namespace": Field(
        "str", "Namespace of the Dapr control plane.", default="dapr-system", check=dns_label()),
    "dapr_release_name": Field("str", "Helm release name of the control plane.", default="dapr",
                               check=dns_label(53, why="Helm's limit on release names")),
    "dapr_chart": Field("str", "Chart reference of the control plane.", default=facts.DAPR_CHART, check=_chart_ref),
    "dapr_chart_repo_url": Field("str", "Helm repository URL of the control-plane chart.",
                                 default=facts.DAPR_CHART_REPO, check=_repo_url),
    "dapr_ha": Field("bool", "Run the control plane highly available (3 replicas of operator, sentry, "
                     "placement and injector).", default=False),
    "dapr_mtls": Field("bool", "Dapr mTLS between daprd instances; applied to the control plane and to every "
                       "Dapr Shared instance alike.", default=True),
    "dapr_wait_timeout": Field(
        "int", "Cluster mode: seconds to wait for the control plane and every Dapr Shared instance.", default=600,
        minimum=30, maximum=7200),
    "dapr_helm_values": Field("map", "Extra control-plane Helm values, deep-merged over the rendered ones; keys are "
                              "checked against the dapr chart of dapr_version (its subcharts included).", default={}),
    "dapr_shared_chart": Field("str", "Chart reference of Dapr Shared.", default=facts.DAPR_SHARED_CHART,
                               check=_chart_ref),
    "dapr_shared_chart_version": Field("str", "Dapr Shared chart version.",
                                       default=facts.DAPR_SHARED_CHART_VERSION, check=_semver,
                                       example=facts.DAPR_SHARED_CHART_VERSION),
    "dapr_shared_helm_values": Field("map", "Extra Helm values deep-merged into every Dapr Shared instance "
                                     "(before the instance's own helm_values); keys are checked against the chart of "
                                     "dapr_shared_chart_version.", default={}),
}

# -- mesh_* ------------------------------------------------------------------------
_ROUTE = Field("dict", "A north-south route from a Gateway to the app.", options={
    "gateway": Field("str", "Name of a gateway in mesh_gateways.", required=True, check=dns_subdomain),
    "gateway_namespace": Field("str", "Namespace of that gateway (when two gateways share a name).",
                               default="", check=optional(dns_label())),
    "listener": Field("str", "Attach to this listener only (parentRef sectionName); empty attaches to all.",
                      default="", check=optional(dns_label())),
    "hostnames": Field("list", "Host names the route answers; empty means every host the listener takes.",
                       default=[], maximum=16, elements=Field("str", "Host name.", check=hostname)),
    "path": Field("str", "Path prefix matched at the gateway. Through Dapr the app sees the path below it "
                  "('/shop/cart' with prefix '/shop' arrives as '/cart'); without Dapr it sees the full path.",
                  default="/", check=_path_prefix),
    "name": Field("str", "HTTPRoute name; defaults to '<app>-<gateway>', or '<app>-<app namespace>-<gateway>' when the "
                  "route lives in the ingress instance's namespace and that is not the app's; a second or third route "
                  "of the app to the same gateway gets '-2', '-3'.", default="",
                  check=optional(dns_subdomain)),
})

_VERSION = Field("dict", "A version of the app that gets a share of the traffic (GAMMA canary).", options={
    "name": Field("str", "Version name; also the Service suffix '<app>-<name>'.", required=True,
                  check=dns_label(40, why="it is also the suffix of the version's Service '<app>-<name>'")),
    "weight": Field("int", "Relative share of requests (0 drains the version).", required=True,
                    minimum=0, maximum=1000000),
    "labels": Field("map", "Pod labels of this version on top of the app selector; defaults to "
                    "{version: <name>}.", default={}, value_type="str", check=labels),
})

_APP_DAPR = Field("dict", "The app's Dapr Shared instance (daprd outside the app's pods).", options={
    "enabled": Field("bool", "Front the app with a Dapr Shared instance. Off: routes go straight to the "
                     "app's Service and policies allow the gateway to reach the pods.", default=True),
    "strategy": Field("str", "'deployment' (replicas per app) or 'daemonset' (one daprd per node).",
                      default="deployment", choices=("deployment", "daemonset")),
    "replicas": Field("int", "daprd replicas with the deployment strategy.", default=1, minimum=1, maximum=100),
    "release_name": Field("str", "Helm release name; defaults to '<app>-shared'.", default="",
                          check=optional(dns_label(53, why="Helm's limit on release names"))),
    "helm_values": Field("map", "Extra Helm values for this instance only.", default={}),
})

MESH = {
    "mesh_cluster_name": Field(
        "str", "Name of this mesh/cluster: the render directory build/<name> and the value of the "
        "sidecarless.mesh/instance label on every rendered object.", default="mesh", check=dns_label()),
    "mesh_apply": Field(
        "bool", "false: render only, contact no cluster. true: render, then install and converge the cluster.",
        default=False),
    "mesh_kubeconfig": Field(
        "str", "Kubeconfig file cluster mode uses on the controller; empty means $KUBECONFIG or ~/.kube/config. "
        "Render mode never reads it.", default=""),
    "mesh_kube_context": Field(
        "str", "Context in mesh_kubeconfig to use; empty means the current context.", default=""),
    "mesh_render_dir": Field(
        "str", "Where rendered manifests and Helm values go; empty means build/<mesh_cluster_name> under the "
        "directory ansible-playbook runs in.", default=""),
    "mesh_cluster_domain": Field(
        "str", "Cluster DNS domain used in Service addresses.", default="cluster.local", check=dns_subdomain),
    "mesh_gateways": Field(
        "list", "Gateways (north-south entry points) served by Cilium.", default=[],
        elements=Field("dict", "One Gateway.", options={
            "name": Field("str", "Gateway name.", required=True, check=dns_label(48, why=(
                "Cilium names the Gateway's Service 'cilium-gateway-<name>', 15 characters more, and Service names "
                "have at most 63"))),
            "namespace": Field("str", "Gateway namespace.", default="default", check=dns_label()),
            "class_name": Field("str", "GatewayClass.", default=facts.GATEWAY_CLASS, check=dns_subdomain),
            "addresses": Field("list", "Fixed addresses to request from LB-IPAM (spec.addresses).", default=[],
                               maximum=16, elements=Field("str", "IP address.", check=_ip)),
            "labels": Field("map", "Labels for the Gateway and, through spec.infrastructure, its Service "
                            "(e.g. to pick an LB-IPAM pool); not the collection's own ownership labels.", default={},
                            value_type="str", check=_user_labels),
            "annotations": Field("map", "Annotations for the Gateway's Service (spec.infrastructure).",
                                 default={}, value_type="str"),
            "listeners": Field("list", "Listeners; at least one.", required=True, minimum=1, maximum=64,
                               elements=Field("dict", "One listener.", options={
                                   "name": Field("str", "Listener name (unique in the gateway).", required=True,
                                                 check=dns_label()),
                                   "port": Field("int", "Port.", required=True, minimum=1, maximum=65535),
                                   "protocol": Field("str", "Protocol.", default="HTTP", choices=("HTTP", "HTTPS")),
                                   "hostname": Field("str", "Only requests for this host name (may start with "
                                                     "'*.').", default="",
                                                     check=optional(hostname)),
                                   "certificate_refs": Field(
                                       "list", "TLS Secrets for HTTPS (Terminate).", default=[], maximum=64,
                                       elements=Field("dict", "Secret reference.", options={
                                           "name": Field("str", "Secret name.", required=True,
                                                         check=dns_subdomain),
                                           "namespace": Field("str", "Secret namespace; when not the "
                                                              "gateway's, the mesh renders the ReferenceGrant there.",
                                                              default="",
                                                              check=optional(dns_label())),
                                       })),
                                   "allowed_routes": Field("str", "Which namespaces may attach routes.",
                                                           default="All", choices=("All", "Same")),
                               })),
        })),
    "mesh_ingress": Field(
        "dict", "The Dapr Shared instance the gateways send every request to; it forwards them to the "
        "apps by Dapr service invocation.",
        options={
            "app_id": Field("str", "Dapr app id of the instance (its Service is '<app_id>-dapr').",
                            default="ingress", check=dns_label(58, rfc1035=True, why=_APP_ID_WHY)),
            "namespace": Field("str", "Namespace of the instance; north-south HTTPRoutes live here too.",
                               default="default", check=dns_label()),
            "strategy": Field("str", "'daemonset' (one per node, needed for local redirect) or 'deployment'.",
                              default="daemonset", choices=("daemonset", "deployment")),
            "replicas": Field("int", "Replicas with the deployment strategy.", default=2, minimum=1, maximum=100),
            "gateway": Field("str", "Gateway the instance answers for (its remote app); defaults to the first "
                             "gateway.", default="", check=optional(dns_label())),
            "local_redirect": Field("bool", "Keep gateway-to-daprd traffic on the node with a "
                                    "CiliumLocalRedirectPolicy on port 3500 (needs the daemonset strategy).",
                                    default=True),
            "release_name": Field("str", "Helm release name; defaults to '<app_id>-shared'.", default="",
                                  check=optional(dns_label(53, why="Helm's limit on release names"))),
            "helm_values": Field("map", "Extra Helm values for this instance only.", default={}),
        },
        default={}),
    "mesh_apps": Field(
        "list", "Applications in the mesh.", default=[],
        elements=Field("dict", "One app.", options={
            "name": Field("str", "App name: its Service and the base of every derived name.", required=True,
                          check=dns_label(46, rfc1035=True, why=(
                              "its Dapr Shared release is '<name>-shared', 7 characters more, and Helm allows 53"))),
            "namespace": Field("str", "Namespace of the app.", default="default", check=dns_label()),
            "app_id": Field("str", "Dapr app id; defaults to the name.", default="",
                            check=optional(dns_label(58, rfc1035=True, why=_APP_ID_WHY))),
            "port": Field("int", "Service port of the app.", default=80, minimum=1, maximum=65535),
            "target_port": Field("int", "Container port behind it; defaults to port.", default=0,
                                 minimum=0, maximum=65535),
            "selector": Field("map", "Pod labels of the app (all versions); defaults to {app: <name>}.",
                              default={}, value_type="str", check=labels),
            "create_service": Field("bool", "Render the app's Service '<name>'; off when the app's own "
                                    "manifests create it.", default=True),
            "versions": Field("list", "Versions with traffic weights; two or more give a GAMMA canary split.",
                              default=[], maximum=16, elements=_VERSION),
            "routes": Field("list", "North-south routes from gateways.", default=[], maximum=64,
                            elements=_ROUTE),
            "allowed_callers": Field("list", "Dapr app ids allowed to invoke this app ('id' in the app's "
                                     "namespace or 'id.namespace'); the ingress instance is added for apps with "
                                     "routes.", default=[], elements=Field("str", "Caller app id.")),
            "dapr": _APP_DAPR,
        })),
    "mesh_wait_timeout": Field(
        "int", "Cluster mode: seconds to wait for each Gateway to be Programmed (have an address).", default=300,
        minimum=10, maximum=7200),
    "mesh_node_group": Field(
        "str", "Cluster mode: the inventory group of the cluster's nodes (reached over SSH by the preflight checks "
        "and the kube-proxy rule flush). site.yml's node play reads it from the command line "
        "(-e mesh_node_group=...), as play hosts are resolved before group_vars.", default="mesh_nodes",
        check=_group_name),
    "mesh_wait_interval": Field(
        "int", "Cluster mode: seconds between two looks at what a wait waits for (rollouts, Gateways).", default=5,
        minimum=1, maximum=60),
    "mesh_verify": Field(
        "dict", "Cluster mode: the verify role's smoke test of the live mesh.",
        options={
            "enabled": Field("bool", "Run the smoke test at the end of site.yml.", default=False),
            "requests": Field("int", "Requests sent through the gateway per app route.", default=200, minimum=1,
                              maximum=10000),
            "tolerance_percent": Field("int", "Allowed difference between a version's share and its weight, in "
                                       "percentage points.", default=15, minimum=1, maximum=100),
            "address": Field("str", "Gateway address to send requests to; empty reads it from the Gateway status.",
                             default=""),
            "version_regex": Field("str", "Regular expression whose first group names the version in an answer "
                                   "(traefik/whoami prints 'Name: <WHOAMI_NAME>').", default="Name: (\\S+)",
                                   check=_python_pattern),
            "denied_probe": Field("bool", "Start a throw-away curl pod next to each app and prove that a direct "
                                  "request to the app's pods is denied by the policies.", default=False),
            "probe_image": Field("str", "Image of that pod.", default="docker.io/curlimages/curl:8.11.1"),
        },
        default={}),
    "mesh_default_deny": Field(
        "bool", "Deny all traffic in the namespaces the mesh runs pods in (apps, Dapr Shared instances) except the "
        "declared flows, DNS, the Dapr control plane and the API server (kubelet probes stay allowed). Refused when "
        "an app or the ingress instance lives in kube-system, cilium_namespace or dapr_namespace.", default=False),
    "mesh_mutual_auth": Field(
        "bool", "Require Cilium mutual authentication (authentication.mode: required) on every pod-to-pod "
        "allow rule the collection renders; needs cilium_mutual_auth.enabled.", default=False),
    "mesh_extra_policies": Field(
        "list", "Raw CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy objects to apply as they are "
        "(apiVersion, kind, metadata, spec or specs).", default=[],
        elements=Field("map", "A policy object.")),
    "mesh_ignore_vars": Field(
        "list", "Variables with a cilium_/dapr_/mesh_ prefix that belong to something else and must not be "
        "reported as unknown.", default=[], elements=Field("str", "Variable name.")),
}

VARIABLES = {}
VARIABLES.update(CILIUM)
VARIABLES.update(DAPR)
VARIABLES.update(MESH)

#: Which role documents (and holds the defaults of) which variables.
ROLE_VARIABLES = {
    "cilium": CILIUM,
    "dapr": DAPR,
    "mesh": MESH,
}
PREFIXES = ("cilium_", "dapr_", "mesh_")
