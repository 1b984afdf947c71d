# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upstream facts the collection depends on, in one place.

Versions, chart references, ports, labels and removed Helm keys of the
upstream projects. Re-check every entry when bumping a pinned version;
``tests/conformance`` validates the rendered output against the real
schemas and chart values in ``../shared/upstream``.
"""

from __future__ import annotations

# -- Cilium ------------------------------------------------------------------------
CILIUM_DEFAULT_VERSION = "1.20.0"
#: Release lines the collection renders for, with the newest patch checked.
CILIUM_LINES = {
    (1, 18): "1.18.12",
    (1, 19): "1.19.6",
    (1, 20): "1.20.0",
}
CILIUM_CHART = "cilium/cilium"
CILIUM_CHART_REPO = "https://helm.cilium.io/"
CILIUM_IPSEC_SECRET = "cilium-ipsec-keys"
#: Cilium lines on which SPIRE mutual authentication is deprecated (removed in 1.21).
CILIUM_MUTUAL_AUTH_DEPRECATED = (1, 20)

#: Helm value paths that the chart no longer accepts, keyed by the first
#: Cilium line that dropped them. Rendering fails when one is set.
CILIUM_REMOVED_VALUES = (
    ((1, 17), "externalIPs", "kube-proxy replacement handles external IPs; remove the key"),
    ((1, 18), "hostPort", "kube-proxy replacement handles hostPort; remove the key"),
    ((1, 19), "nodePort.enabled", "NodePort is part of kube-proxy replacement since 1.19; remove the key"),
)
#: Values ``kubeProxyReplacement`` accepted by older charts that 1.18+ rejects.
CILIUM_KPR_LEGACY = ("strict", "partial", "probe", "disabled")

#: Gateway API release each Cilium line is documented with (its default here).
GATEWAY_API_FOR_CILIUM = {
    (1, 18): "v1.3.0",
    (1, 19): "v1.4.1",
    (1, 20): "v1.6.1",
}
GATEWAY_API_DEFAULT_VERSION = "v1.6.1"
#: Cilium 1.20 watches TLSRoute, ReferenceGrant and BackendTLSPolicy at v1,
#: which Gateway API serves from v1.5.0 on.
GATEWAY_API_MIN_FOR_CILIUM = {(1, 20): (1, 5, 0)}
#: Cilium 1.18/1.19 watch TLSRoute v1alpha2. Standard-channel CRDs from
#: v1.5.0 on list v1alpha2 as not served and the operator crash-loops
#: ("no matches for kind TLSRoute in version v1alpha2", cilium#44920).
GATEWAY_API_STANDARD_MAX_FOR_CILIUM = {(1, 18): (1, 5, 0), (1, 19): (1, 5, 0)}
#: Before v1.5.0 TLSRoute exists only in the experimental channel; Cilium's
#: docs install that one CRD on top of the standard channel.
GATEWAY_API_TLSROUTE_URL = ("https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/{version}/"
                            "config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml")
GATEWAY_API_TLSROUTE_STANDARD_FROM = (1, 5, 0)
GATEWAY_API_CHANNELS = ("standard", "experimental")
GATEWAY_API_RELEASE_URL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/{channel}-install.yaml"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_CLASS = "cilium"
#: Cilium names the LoadBalancer Service of Gateway ``<name>`` like this.
GATEWAY_SERVICE_PREFIX = "cilium-gateway-"

# -- Dapr --------------------------------------------------------------------------
DAPR_DEFAULT_VERSION = "1.18.3"
#: Oldest Dapr whose sentry listens on 443 only (the Dapr Shared chart's
#: default sentry port 80 does not exist any more).
DAPR_MIN_VERSION = (1, 14, 0)
DAPR_CHART = "dapr/dapr"
DAPR_CHART_REPO = "https://dapr.github.io/helm-charts/"
DAPR_SHARED_CHART = "oci://registry-1.docker.io/daprio/dapr-shared-chart"
DAPR_SHARED_CHART_VERSION = "1.16.0"
DAPR_TRUST_DOMAIN = "cluster.local"

#: Ports of the Services a Dapr Shared instance creates (``<appId>-dapr``)
#: and the port names the chart gives them.
DAPR_HTTP_PORT = 3500
DAPR_GRPC_PORT = 50001
DAPR_INTERNAL_PORT = 50002
DAPR_METRICS_PORT = 9090
DAPR_SERVICE_SUFFIX = "-dapr"
DAPR_HTTP_PORT_NAME = "dapr-http"
DAPR_APP_ID_LABEL = "dapr.io/app-id"

#: Control-plane Services (name, Service port) daprd dials, and the pod
#: ports behind them, which is what Cilium policies match on.
DAPR_OPERATOR = ("dapr-api", 443, 6500)
DAPR_SENTRY = ("dapr-sentry", 443, 50001)
DAPR_PLACEMENT = ("dapr-placement-server", 50005, 50005)
DAPR_SCHEDULER = ("dapr-scheduler-server", 50006, 50006)

#: Service-invocation path prefix of daprd's HTTP API.
DAPR_INVOKE_PREFIX = "/v1.0/invoke"

# -- Kubernetes ------------------------------------------------------------------
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CILIUM_NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace"

# -- Ownership labels on everything the collection renders -----------------------
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "sidecarless.mesh"
INSTANCE_LABEL = "sidecarless.mesh/instance"


def version_tuple(text):
    """``'1.20.0'`` -> ``(1, 20, 0)``; pre-release suffixes are ignored."""
    core = text.lstrip("v").split("-", 1)[0].split("+", 1)[0]
    return tuple(int(part) for part in core.split("."))
