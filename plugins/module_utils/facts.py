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
#: From this line the chart installs the ValidatingAdmissionPolicy gateway.cilium.io (with Gateway API on),
#: which refuses a Gateway of class "cilium" whose Terminate listener has other than one certificateRef
#: (templates/cilium-gateway-api-validating-admission-policy.yaml).
CILIUM_ONE_CERTIFICATE_PER_LISTENER = (1, 20)

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
#: CRD files of the pinned Gateway API releases (config/crd/<channel>/ in the
#: repository at the tag) and their SHA-256, so installs from the release URL
#: are checked. Standard-channel sets of releases before v1.5.0 add the
#: experimental TLSRoute that Cilium 1.18/1.19 need.
GATEWAY_API_CRDS = {
    ("v1.3.0", "standard"): (
        ("standard/gateway.networking.k8s.io_gatewayclasses.yaml",
         "7c8ee2c1878d9dcc6ba106181e3d14d7eaa520ec070233d62f3aa0d674d19450"),
        ("standard/gateway.networking.k8s.io_gateways.yaml",
         "c949e7c3951227b92a582817a7a660558ce0fb94c081da264b4e2bbe4a1e5387"),
        ("standard/gateway.networking.k8s.io_grpcroutes.yaml",
         "5867279c3cfd77377fe7e9255b22751f17592242b9b5e7485c74b13b268d13c5"),
        ("standard/gateway.networking.k8s.io_httproutes.yaml",
         "a4ecf600c7e0bfd3cdb24e6411938d9b330117a26675f303cc6d9a407cb257d1"),
        ("standard/gateway.networking.k8s.io_referencegrants.yaml",
         "7587b2e7e5b1b9a26717b3ef8142f64e6600637eadf481a6bd0031740644b495"),
        ("experimental/gateway.networking.k8s.io_tlsroutes.yaml",
         "2bc865fedfc13c4f555e14b50cc27e703a54103e011daf653aae51f733ecae3a"),
    ),
    ("v1.3.0", "experimental"): (
        ("experimental/gateway.networking.k8s.io_backendtlspolicies.yaml",
         "01bfe97770174544be25650f622d48a72eb7741d3b9533ab5f74e4a3ddd9db42"),
        ("experimental/gateway.networking.k8s.io_gatewayclasses.yaml",
         "697c559a096b68282fad8e393a135af265bc4fde85409928ea43454e69056df3"),
        ("experimental/gateway.networking.k8s.io_gateways.yaml",
         "8a5c5a8a9b86b2e77b86092cf878def81067452095ee4678b0b135731f3aa6b0"),
        ("experimental/gateway.networking.k8s.io_grpcroutes.yaml",
         "6e7d8fbcab62365c384e96c82cdf6710c397c1328f4f78023eeca0f77fa79928"),
        ("experimental/gateway.networking.k8s.io_httproutes.yaml",
         "a51ad665756cc6c0ab49cfbda9f39f5a69e3c01ae758a09c2f728671403f1606"),
        ("experimental/gateway.networking.k8s.io_referencegrants.yaml",
         "a81dcc705567dcd5da24fcb43f3b5acc24a8591c9fad8a69b54762069c5e86c3"),
        ("experimental/gateway.networking.k8s.io_tcproutes.yaml",
         "395ccacf611027cd839f4193a5a1cb54f55455a5e88b3a599f5804cbe5b72b87"),
        ("experimental/gateway.networking.k8s.io_tlsroutes.yaml",
         "2bc865fedfc13c4f555e14b50cc27e703a54103e011daf653aae51f733ecae3a"),
        ("experimental/gateway.networking.k8s.io_udproutes.yaml",
         "65a9e4d00243d25db61cfc7c58c862af79b0f2ea8319b92f8232289ee08b4512"),
        ("experimental/gateway.networking.x-k8s.io_xbackendtrafficpolicies.yaml",
         "8e4389b330541cc8d9b5fdba058254a06ce8a349d65387086c66342475f2b429"),
        ("experimental/gateway.networking.x-k8s.io_xlistenersets.yaml",
         "bd90a9c51c7dc470c7d16df70ecacdccad53b19f98b6c7f61ee33357e45810b0"),
    ),
    ("v1.4.1", "standard"): (
        ("standard/gateway.networking.k8s.io_backendtlspolicies.yaml",
         "f94f34b0c19cab6c25b53a6e672d9a684116a4e52193531fe2abcea20b51574f"),
        ("standard/gateway.networking.k8s.io_gatewayclasses.yaml",
         "7d958ad3965ea4a4996616846d9ecaf1fededbf9351b9752b8b85973936ae8c8"),
        ("standard/gateway.networking.k8s.io_gateways.yaml",
         "a02ea425fc901f197b668c9ddd56375e1f6896994914c6e6b9b4fdb85cf3ba6e"),
        ("standard/gateway.networking.k8s.io_grpcroutes.yaml",
         "b72068b42cb32051ca609e5a8dfefb16904d164abe2e71d9f3c776fae41c4dab"),
        ("standard/gateway.networking.k8s.io_httproutes.yaml",
         "98c6777c22309d319292e9c288ee632006c9ffdd4272383d6f9dffa3fbccaf14"),
        ("standard/gateway.networking.k8s.io_referencegrants.yaml",
         "d74fc2f8e90094f4c4d6dc13a2d720011a40e30e5640b3e2a2051fac820f6584"),
        ("experimental/gateway.networking.k8s.io_tlsroutes.yaml",
         "1dee8d7e1a56dadf0e88466bfef8a8afc5664a94e95d6b2fb812f03d0b198748"),
    ),
    ("v1.4.1", "experimental"): (
        ("experimental/gateway.networking.k8s.io_backendtlspolicies.yaml",
         "8c910e7f16f508fa367bd333d985fe68949069f40792d8cea6e38dcc899fcc6a"),
        ("experimental/gateway.networking.k8s.io_gatewayclasses.yaml",
         "17626267c36f9f36ffcfe82f120211582dd4beec058fc56acf2559cac851b0d0"),
        ("experimental/gateway.networking.k8s.io_gateways.yaml",
         "9f7c7b883a4070dee86c65fc9e5be126b54c38514fe8be83e4ac2cbf78e86175"),
        ("experimental/gateway.networking.k8s.io_grpcroutes.yaml",
         "02bd77f395eae9e3251e1d2e03f1c3fdeb7973ba20419f143b2aaf41eb2e4879"),
        ("experimental/gateway.networking.k8s.io_httproutes.yaml",
         "578a5c4e48888757e13e4923b534d253073f43aadd88729f75da1aa95b15b258"),
        ("experimental/gateway.networking.k8s.io_referencegrants.yaml",
         "9f7d8d526e47c19e27c783211ef89995faa6d5dd0cb66fb773655a56e487337c"),
        ("experimental/gateway.networking.k8s.io_tcproutes.yaml",
         "d8dc687cdb177c7100ee5cdf3d8c07304c6d1373df10317928b4b98438215d61"),
        ("experimental/gateway.networking.k8s.io_tlsroutes.yaml",
         "1dee8d7e1a56dadf0e88466bfef8a8afc5664a94e95d6b2fb812f03d0b198748"),
        ("experimental/gateway.networking.k8s.io_udproutes.yaml",
         "0a69b7f9c5f432d21f090a67b15f3fffc1a7b7d93e472b15928d59f289b1fb0d"),
        ("experimental/gateway.networking.x-k8s.io_xbackendtrafficpolicies.yaml",
         "f0fcd597d2e3e1fb1128f9af59bad7a23dd45b984e70496a2fa974d1ee9c4f96"),
        ("experimental/gateway.networking.x-k8s.io_xlistenersets.yaml",
         "7401cb071ed1719124676ee68916606f66b7439622ef7c56b2be5a1869ad5c78"),
        ("experimental/gateway.networking.x-k8s.io_xmeshes.yaml",
         "591c7fbdd95500f0b85363f4867ac8fa13b735c5592d93b99f9d91a9d1d4981e"),
    ),
    ("v1.6.1", "standard"): (
        ("standard/gateway.networking.k8s.io_backendtlspolicies.yaml",
         "0d48c9e4b53dd9510cf615b9b1192d9d7afb07a1cc0498c9515627cb1c075419"),
        ("standard/gateway.networking.k8s.io_gatewayclasses.yaml",
         "53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5"),
        ("standard/gateway.networking.k8s.io_gateways.yaml",
         "25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a"),
        ("standard/gateway.networking.k8s.io_grpcroutes.yaml",
         "53a8d029da8f07e55d3fa58a5cf6de5950dab19fbb8d6a8082fb5e51ca5ef6fc"),
        ("standard/gateway.networking.k8s.io_httproutes.yaml",
         "a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852"),
        ("standard/gateway.networking.k8s.io_listenersets.yaml",
         "bf4d4b02564999b2558b96e31465129895db9b3a8adfb90adb9c80eac52a3a70"),
        ("standard/gateway.networking.k8s.io_referencegrants.yaml",
         "8c645e9333cfa67790cc2a53e0c00076f88b2bd4230d2b49688c78bc34f9b2c3"),
        ("standard/gateway.networking.k8s.io_tcproutes.yaml",
         "d5104d0cf30e924f5e3c9e2e76abd46876401c34ca33b9e79321523eee78c7f6"),
        ("standard/gateway.networking.k8s.io_tlsroutes.yaml",
         "bb8b67926e5d9652cbfd2e19063b7c1d9e78806c9dd671608f57baef2f2e3bbb"),
        ("standard/gateway.networking.k8s.io_udproutes.yaml",
         "4b80684c2bf8ef4b0a2a3ab45164ac9f96258fc69912645ff50ced595b0aa6de"),
    ),
    ("v1.6.1", "experimental"): (
        ("experimental/gateway.networking.k8s.io_backendtlspolicies.yaml",
         "7fa88a1a7d5f13f8a960e8bd48903835a0b833e0f6706f401101a27ff36aff3b"),
        ("experimental/gateway.networking.k8s.io_gatewayclasses.yaml",
         "ff653735d0477f97fb3cb2a21245f55ac6996dfe4f39969150f6989d0f1da826"),
        ("experimental/gateway.networking.k8s.io_gateways.yaml",
         "97092d53c4f61a9d1754f608ad1dc85566e197facb35d629132ff08954bd4422"),
        ("experimental/gateway.networking.k8s.io_grpcroutes.yaml",
         "edfefc338093cdef9e0e4832c8286792934d76724c41a80eee22a1be73c132c6"),
        ("experimental/gateway.networking.k8s.io_httproutes.yaml",
         "a3615d380381a768edbca2cfec067c037afa82e86bc9b1e29a0b84c8a28d76b3"),
        ("experimental/gateway.networking.k8s.io_listenersets.yaml",
         "e201afb91dc7c9a4e2b101243639a2b08fe6863f43a83921f97a5ca823ef6a2f"),
        ("experimental/gateway.networking.k8s.io_referencegrants.yaml",
         "e1d9a270f94895640db547421dfa708db2ae935a1a8c033a6cf6481274f5029e"),
        ("experimental/gateway.networking.k8s.io_tcproutes.yaml",
         "0db798d0997a254120de668fdfb1a536c296e7e99c0a20e1004bc5f6fc7d213f"),
        ("experimental/gateway.networking.k8s.io_tlsroutes.yaml",
         "c7fcddb73966fc83ad7001eff8bb910d8a640c7c1f280254e88b93541fc9a82b"),
        ("experimental/gateway.networking.k8s.io_udproutes.yaml",
         "5832d701ebe3330dc3b033dfe6aa54bff2d565939ad6e6dc2722dbe2ea1e35fb"),
        ("experimental/gateway.networking.x-k8s.io_xbackends.yaml",
         "d883115b918ae32d61ca6895f19f1617bf1176d4355f9a682bfb37f0dc8d6874"),
        ("experimental/gateway.networking.x-k8s.io_xbackendtrafficpolicies.yaml",
         "acdac07f15b3c46bfdfaded9cc2f2d654e353b340955ee559d58a86c6afebbee"),
        ("experimental/gateway.networking.x-k8s.io_xmeshes.yaml",
         "56be828232d98b59ded8bee49e1430623551c34cf4395a59fb97d502d9fc8b42"),
    ),
}
GATEWAY_API_RAW_URL = "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/{version}/config/crd/{path}"
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
DAPR_SHARED_CHART_NAME = "dapr-shared-chart"  # the chart's name, part of the names of what it creates
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


#: Cilium versions whose host-network Gateways never become Programmed although they serve traffic
#: (cilium#42786: a ClusterIP Service, so no address; fixed by #46350 in 1.20.0 and, by its sources,
#: in 1.19.6). From the first affected version up to, not including, the first fixed one.
CILIUM_HOST_NETWORK_PROGRAMMED_BUG = ((1, 18, 3), (1, 19, 6))

#: Labels Cilium's operator puts on a Gateway's Service (LB-IPAM pools select by them), besides the
#: infrastructure labels and LB-IPAM's own io.kubernetes.service.name/namespace.
GATEWAY_SERVICE_LABELS = ("io.cilium.gateway/owning-gateway", "gateway.networking.k8s.io/gateway-name")


def version_tuple(text):
    """``'1.20.0'`` -> ``(1, 20, 0)``; pre-release suffixes are ignored."""
    core = text.lstrip("v").split("-", 1)[0].split("+", 1)[0]
    return tuple(int(part) for part in core.split("."))
