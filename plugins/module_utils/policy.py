# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Allowed flows and the Cilium policies that enforce them.

The renderer first lists the *flows* the mesh needs (who may talk to whom on
which ports), then turns them into policies: every flow becomes an ingress
rule on the receiving endpoints and, with ``mesh_default_deny``, an egress
rule on the sending ones. The same flow list feeds the human summary and the
``verify`` checks, so what the summary says is allowed is exactly what the
policies allow.

Hops of a north-south request through Dapr (the seed walkthrough):

1. gateway Envoy (identity ``reserved:ingress``) -> ingress daprd :3500
2. ingress daprd -> app daprd :50002 (daprd-to-daprd, Dapr mTLS)
3. app daprd -> app pods :<target port> (through the GAMMA split if any)

plus app pods -> their own daprd :3500/:50001 (to invoke others) and, with
default deny, DNS, the API server and the Dapr control plane.
"""

from __future__ import annotations

from . import facts
from .k8s import metadata, resource

API_VERSION = "cilium.io/v2"
BASELINE_NAME = "mesh-baseline"
GATEWAY_EGRESS_NAME = "mesh-gateway-egress"


class Peer(object):
    """One side of a flow: an entity (``ingress``) or pods selected by labels."""

    def __init__(self, title, namespace=None, labels=None, entity=None, subject=False, policy_name=None):
        self.title = title
        self.namespace = namespace
        self.labels = dict(labels or {})
        self.entity = entity
        self.subject = subject  # the collection renders a policy selecting these pods
        self.policy_name = policy_name
        self.key = (self.entity or "", self.namespace or "", tuple(sorted(self.labels.items())))

    def selector_from(self, namespace):
        """Endpoint selector for this peer in a policy living in ``namespace``."""
        labels = dict(self.labels)
        if self.namespace and self.namespace != namespace:
            labels[facts.CILIUM_NAMESPACE_LABEL] = self.namespace
        return {"matchLabels": labels}


class Flow(object):
    def __init__(self, source, destination, ports, auth=False, purpose=""):
        self.source = source
        self.destination = destination
        self.ports = list(ports)  # [(port, protocol)]
        self.auth = auth
        self.purpose = purpose

    def ports_text(self):
        return ", ".join("%s/%s" % port for port in self.ports)


def dapr_peer(instance):
    kind = "daprd (ingress)" if instance.role == "ingress" else "daprd"
    return Peer("%s/%s %s" % (instance.namespace, instance.app_id, kind), instance.namespace,
                instance.pod_labels, subject=True, policy_name="%s-dapr" % instance.app_id)


def app_peer(app):
    return Peer("%s/%s pods" % (app.namespace, app.name), app.namespace, app.selector, subject=True,
                policy_name="%s-app" % app.name)


GATEWAY = Peer("gateways (Cilium Envoy, reserved:ingress)", entity="ingress")


def mesh_flows(mesh):
    """Every flow the mesh allows, in a stable order."""
    flows = []
    auth = mesh.settings["mesh_mutual_auth"]
    tcp = "TCP"
    ingress = mesh.ingress
    if ingress:
        flows.append(Flow(GATEWAY, dapr_peer(ingress), [(facts.DAPR_HTTP_PORT, tcp)],
                          purpose="gateway routes enter Dapr"))
    for app in mesh.apps:
        pods = app_peer(app)
        if app.dapr:
            own = dapr_peer(app.dapr)
            for caller in app.callers:
                flows.append(Flow(dapr_peer(caller), own, [(facts.DAPR_INTERNAL_PORT, tcp)], auth=auth,
                                  purpose="service invocation of %s" % app.app_id))
            flows.append(Flow(own, pods, [(app.target_port, tcp)], auth=auth,
                              purpose="daprd forwards to the app"))
            flows.append(Flow(pods, own, [(facts.DAPR_HTTP_PORT, tcp), (facts.DAPR_GRPC_PORT, tcp)], auth=auth,
                              purpose="the app calls its Dapr API"))
        elif app.routes:
            flows.append(Flow(GATEWAY, pods, [(app.target_port, tcp)], purpose="gateway routes to the app"))
    return flows


def control_plane_flows(mesh):
    """daprd -> Dapr control plane (only needed as egress under default deny)."""
    namespace = mesh.settings["dapr_namespace"]
    plane = Peer("%s control plane" % namespace, namespace, {})
    ports = [(port[2], "TCP") for port in (facts.DAPR_OPERATOR, facts.DAPR_SENTRY, facts.DAPR_PLACEMENT,
                                           facts.DAPR_SCHEDULER)]
    return [Flow(dapr_peer(instance), plane, ports, purpose="daprd reaches the Dapr control plane")
            for instance in mesh.dapr_instances()]


def _port_list(ports):
    return [{"ports": [{"port": str(port), "protocol": protocol} for port, protocol in ports]}]


class _RuleSet(object):
    """Rules of one direction of one policy; flows with the same ports merge into one rule."""

    def __init__(self, direction):
        self.direction = direction
        self.rules = []
        self._index = {}

    def add(self, flow, namespace):
        peer = flow.source if self.direction == "ingress" else flow.destination
        auth = flow.auth and not peer.entity
        kind = ("from" if self.direction == "ingress" else "to") + ("Entities" if peer.entity else "Endpoints")
        key = (kind, tuple(flow.ports), auth)
        entry = self._index.get(key)
        if entry is None:
            rule = {kind: [], "toPorts": _port_list(flow.ports)}
            if auth:
                rule["authentication"] = {"mode": "required"}
            entry = self._index[key] = (rule, set())
            self.rules.append(rule)
        rule, seen = entry
        if peer.key not in seen:
            seen.add(peer.key)
            rule[kind].append(peer.entity if peer.entity else peer.selector_from(namespace))


def render_policies(mesh, flows=None):
    """CiliumNetworkPolicies (and the cluster-wide ones) for the mesh, in a stable order."""
    default_deny = mesh.settings["mesh_default_deny"]
    flows = mesh_flows(mesh) if flows is None else flows
    egress_flows = flows + control_plane_flows(mesh) if default_deny else []
    subjects = []
    by_key = {}
    for flow in flows + egress_flows:
        for peer in (flow.destination, flow.source):
            if peer.subject and peer.key not in by_key:
                by_key[peer.key] = {"peer": peer, "ingress": _RuleSet("ingress"), "egress": _RuleSet("egress")}
                subjects.append(peer.key)
    for flow in flows:
        if flow.destination.subject:
            by_key[flow.destination.key]["ingress"].add(flow, flow.destination.namespace)
    for flow in egress_flows:
        if flow.source.subject:
            by_key[flow.source.key]["egress"].add(flow, flow.source.namespace)
    policies = []
    if default_deny:
        # only where the mesh runs pods: a Gateway's namespace holds its Service, not the Envoy that serves it
        for namespace in mesh.pod_namespaces():
            policies.append(_baseline(mesh, namespace))
    for key in subjects:
        entry = by_key[key]
        peer = entry["peer"]
        ingress, egress = entry["ingress"].rules, entry["egress"].rules
        if not ingress and not egress:
            continue
        spec = {"endpointSelector": {"matchLabels": dict(peer.labels)}}
        if ingress:
            spec["ingress"] = ingress
        if egress:
            spec["egress"] = egress
        policies.append(resource(API_VERSION, "CiliumNetworkPolicy",
                                 metadata(mesh, peer.policy_name, peer.namespace), spec))
    if mesh.settings["cilium_policy_enforcement_mode"] == "always":
        gateway_egress = [flow for flow in flows if flow.source is GATEWAY]
        if gateway_egress:
            policies.append(_gateway_egress(mesh, gateway_egress))
    return policies


def _baseline(mesh, namespace):
    """Default deny for every pod of a mesh namespace, minus what every pod needs."""
    dns = {
        "toEndpoints": [{"matchLabels": dict({facts.CILIUM_NAMESPACE_LABEL: facts.DNS_NAMESPACE}, **facts.DNS_LABELS)}],
        "toPorts": [{
            "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
            "rules": {"dns": [{"matchPattern": "*"}]},
        }],
    }
    spec = {
        "endpointSelector": {},
        "enableDefaultDeny": {"ingress": True, "egress": True},
        # Kubelet probes come from the node; stated so the intent is visible
        # (Cilium's allow-localhost default lets them through anyway).
        "ingress": [{"fromEntities": ["host"]}],
        # Policies see the API server's own port (after Service translation).
        "egress": [dns, {"toEntities": ["kube-apiserver"],
                         "toPorts": _port_list([(mesh.settings["cilium_k8s_service_port"], "TCP")])}],
    }
    return resource(API_VERSION, "CiliumNetworkPolicy", metadata(mesh, BASELINE_NAME, namespace), spec)


def _gateway_egress(mesh, flows):
    """With policy enforcement 'always' the gateway Envoy needs explicit egress.

    Only a cluster-wide policy can select the reserved:ingress identity.
    """
    rules = _RuleSet("egress")
    for flow in flows:
        rules.add(flow, None)
    spec = {
        "endpointSelector": {"matchLabels": {"reserved:ingress": ""}},
        "egress": rules.rules,
    }
    return resource(API_VERSION, "CiliumClusterwideNetworkPolicy",
                    metadata(mesh, "%s-%s" % (GATEWAY_EGRESS_NAME, mesh.cluster_name)), spec)


def render_local_redirect(mesh, instance):
    """Keep gateway -> ingress daprd traffic on the node (port 3500 only).

    The Service ``<app-id>-dapr`` has four named ports and daprd's container
    ports carry other names; redirecting the whole Service would leave
    50002 (daprd-to-daprd) without a backend. So frontend and backend both
    name exactly the dapr-http port.
    """
    port = {"port": str(facts.DAPR_HTTP_PORT), "protocol": "TCP", "name": facts.DAPR_HTTP_PORT_NAME}
    spec = {
        "redirectFrontend": {
            "serviceMatcher": {
                "serviceName": instance.service_name,
                "namespace": instance.namespace,
                "toPorts": [dict(port)],
            },
        },
        "redirectBackend": {
            "localEndpointSelector": {"matchLabels": dict(instance.pod_labels)},
            "toPorts": [dict(port)],
        },
    }
    return resource(API_VERSION, "CiliumLocalRedirectPolicy",
                    metadata(mesh, "%s-local" % instance.service_name, instance.namespace), spec)


def render_extra_policy(mesh, policy):
    """A user's raw policy, with the ownership labels added."""
    result = dict(policy)
    meta = dict(result.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    labels.update(metadata(mesh, "x")["labels"])
    meta["labels"] = labels
    result["metadata"] = meta
    ordered = {"apiVersion": result.pop("apiVersion"), "kind": result.pop("kind"), "metadata": result.pop("metadata")}
    ordered.update(result)
    return ordered
