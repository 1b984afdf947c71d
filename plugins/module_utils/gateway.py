# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway API objects: Gateways, north-south and GAMMA HTTPRoutes, Services.

North-south routes send gateway traffic to the ingress Dapr Shared instance
(``<ingress-app-id>-dapr:3500``) and rewrite the path into Dapr service
invocation, ``/v1.0/invoke/<app-id>.<namespace>/method/<rest>``. How the
rewrite is spelt matters, because Cilium translates it into Envoy
differently per release line and daprd needs the literal ``/method/``
(see docs/rewrite.md for the table the unit tests check):

* prefix ``/``: one rule, ReplacePrefixMatch ``.../method//``. Cilium < 1.19
  trims one trailing ``/`` and uses a plain prefix rewrite; 1.19+ special-cases
  the ``/`` match with a regex rewrite. Only the double slash gives
  ``/`` -> ``.../method/`` and ``/a/b?q`` -> ``.../method/a/b?q`` on both.
* prefix ``/shop``: ReplacePrefixMatch ``.../method`` maps ``/shop/a`` to
  ``.../method/a`` and ``/shop/`` to ``.../method/`` (the spec's path-element
  semantics), but the bare ``/shop`` would become ``.../method``, which
  daprd rejects. A second rule, an Exact match on ``/shop`` with
  ReplaceFullPath ``.../method/``, catches it (Exact beats PathPrefix).
"""

from __future__ import annotations

from . import facts
from .k8s import metadata, resource

API_VERSION = "%s/v1" % facts.GATEWAY_API_GROUP


def invoke_base(app_id, namespace):
    """``/v1.0/invoke/<app-id>.<namespace>/method``."""
    return "%s/%s.%s/method" % (facts.DAPR_INVOKE_PREFIX, app_id, namespace)


def rewrite_rules(prefix, app_id, namespace):
    """(match, filter) pairs that turn ``prefix`` into Dapr service invocation.

    Returned in the order they appear in the HTTPRoute.
    """
    base = invoke_base(app_id, namespace)
    if prefix == "/":
        return [(_match("PathPrefix", "/"), _rewrite_prefix(base + "//"))]
    return [
        (_match("Exact", prefix), _rewrite_full(base + "/")),
        (_match("PathPrefix", prefix), _rewrite_prefix(base)),
    ]


def _match(kind, value):
    return {"path": {"type": kind, "value": value}}


def _rewrite_prefix(value):
    return {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": value}}}


def _rewrite_full(value):
    return {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": value}}}


def _service_ref(name, port, namespace=None, weight=None):
    ref = {"group": "", "kind": "Service", "name": name, "port": port}
    if namespace is not None:
        ref["namespace"] = namespace
    if weight is not None:
        ref["weight"] = weight
    return ref


def render_gateway(mesh, gateway):
    listeners = []
    for listener in gateway.listeners:
        item = {"name": listener.name}
        if listener.hostname:
            item["hostname"] = listener.hostname
        item["port"] = listener.port
        item["protocol"] = listener.protocol
        if listener.protocol == "HTTPS":
            refs = []
            for ref in listener.certificate_refs:
                secret = {"group": "", "kind": "Secret", "name": ref["name"]}
                if ref["namespace"]:
                    secret["namespace"] = ref["namespace"]
                refs.append(secret)
            item["tls"] = {"mode": "Terminate", "certificateRefs": refs}
        item["allowedRoutes"] = {"namespaces": {"from": listener.allowed_routes}}
        listeners.append(item)
    spec = {"gatewayClassName": gateway.class_name}
    if gateway.addresses:
        spec["addresses"] = [{"type": "IPAddress", "value": address} for address in gateway.addresses]
    if gateway.labels or gateway.annotations:
        infrastructure = {}
        if gateway.labels:
            infrastructure["labels"] = dict(gateway.labels)
        if gateway.annotations:
            infrastructure["annotations"] = dict(gateway.annotations)
        spec["infrastructure"] = infrastructure
    spec["listeners"] = listeners
    return resource(API_VERSION, "Gateway", metadata(mesh, gateway.name, gateway.namespace, gateway.labels), spec)


#: ReferenceGrant is served as v1beta1 by every Gateway API release the collection installs (v1.3.0 to v1.6.1;
#: v1.5+ adds v1, with v1beta1 still the storage version).
REFERENCE_GRANT_API_VERSION = "%s/v1beta1" % facts.GATEWAY_API_GROUP


def render_reference_grants(mesh, gateway):
    """The ReferenceGrants a Gateway needs: one per namespace its listeners take TLS Secrets from, other than its
    own, naming exactly those Secrets (the Gateway API refuses a cross-namespace certificateRef without one)."""
    wanted = {}
    for listener in gateway.listeners:
        if listener.protocol != "HTTPS":
            continue
        for ref in listener.certificate_refs:
            if ref["namespace"] and ref["namespace"] != gateway.namespace:
                names = wanted.setdefault(ref["namespace"], [])
                if ref["name"] not in names:
                    names.append(ref["name"])
    grants = []
    for namespace in sorted(wanted):
        spec = {
            "from": [{"group": facts.GATEWAY_API_GROUP, "kind": "Gateway", "namespace": gateway.namespace}],
            "to": [{"group": "", "kind": "Secret", "name": name} for name in sorted(wanted[namespace])],
        }
        grants.append(resource(REFERENCE_GRANT_API_VERSION, "ReferenceGrant",
                               metadata(mesh, reference_grant_name(gateway), namespace), spec))
    return grants


def reference_grant_name(gateway):
    """``gateway-<namespace>-<name>``: one grant per Gateway in each namespace it reads Secrets from."""
    return "gateway-%s-%s" % (gateway.namespace, gateway.name)


def render_north_south_route(mesh, route):
    """HTTPRoute attaching ``route.app`` to its gateway."""
    app = route.app
    gateway = route.gateway
    parent = {"group": facts.GATEWAY_API_GROUP, "kind": "Gateway", "name": gateway.name}
    if gateway.namespace != route.namespace:
        parent["namespace"] = gateway.namespace
    if route.listener:
        parent["sectionName"] = route.listener
    spec = {"parentRefs": [parent]}
    if route.hostnames:
        spec["hostnames"] = list(route.hostnames)
    rules = []
    if app.dapr and mesh.ingress:
        backend = _service_ref(mesh.ingress.service_name, facts.DAPR_HTTP_PORT)
        for match, rewrite in rewrite_rules(route.prefix, app.app_id, app.namespace):
            rules.append({"matches": [match], "filters": [rewrite], "backendRefs": [backend]})
    else:
        # No Dapr in front of the app: the gateway talks to its Service and
        # the app sees the full request path (no rewrite to get wrong).
        backend = _service_ref(app.name, app.port)
        rules.append({"matches": [_match("PathPrefix", route.prefix)], "backendRefs": [backend]})
    spec["rules"] = rules
    labels = {"sidecarless.mesh/app": app.name}
    return resource(API_VERSION, "HTTPRoute", metadata(mesh, route.name, route.namespace, labels), spec)


def render_split_route(mesh, app):
    """GAMMA HTTPRoute: requests to the app's Service are split over its versions."""
    spec = {
        "parentRefs": [{"group": "", "kind": "Service", "name": app.name}],
        "rules": [{
            "matches": [_match("PathPrefix", "/")],
            "backendRefs": [_service_ref(v.service_name, app.port, weight=v.weight) for v in app.versions],
        }],
    }
    labels = {"sidecarless.mesh/app": app.name}
    return resource(API_VERSION, "HTTPRoute", metadata(mesh, app.split_route_name, app.namespace, labels), spec)


def render_service(mesh, app, name, selector, labels):
    spec = {
        "selector": dict(selector),
        "ports": [{"name": "http", "protocol": "TCP", "port": app.port, "targetPort": app.target_port}],
    }
    return resource("v1", "Service", metadata(mesh, name, app.namespace, labels), spec)


def render_services(mesh, app):
    """The app's Service (GAMMA parent) and one Service per version."""
    result = []
    if app.create_service:
        result.append(render_service(mesh, app, app.name, app.selector, dict(app.selector)))
    for version in app.versions:
        result.append(render_service(mesh, app, version.service_name, version.selector, dict(version.selector)))
    return result
