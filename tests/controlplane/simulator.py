# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated nodes and stand-ins for the operators cluster mode waits on.

No container runs on these machines, so a kubelet and the Cilium and Dapr
operators are replaced by this one process, which only ever talks to the
real kube-apiserver (every rule and its upstream source is listed in
tests/controlplane/README.md):

* **Nodes** (kubelet): Node objects with capacity and addresses, a Ready
  condition and a Lease renewed every 10 s (so the real node lifecycle
  controller keeps them untainted).
* **Pods** (kubelet): a pod bound to a node starts (init containers
  complete, containers run, pod IP assigned: the node's for hostNetwork
  pods, else one on 127.1.0.0/16 where nothing listens, so webhook calls
  fail fast); a container is Ready when its component's rule says so; a
  liveness failure restarts it with kubelet's back-off (CrashLoopBackOff);
  pods of Jobs and Helm hooks (restartPolicy Never/OnFailure) succeed;
  deleted pods go away (grace period honoured as 0).
* **Volumes**: StorageClass ``standard`` (default, WaitForFirstConsumer, as
  kind has) with a provisioner that creates a PV for each claim.
* **Cilium operator** (while a cilium-operator pod is Ready; config read
  from ``cilium-config`` when that pod starts, as the operator does):
  registers the Cilium CRDs, accepts GatewayClasses, creates the
  ``cilium-gateway-<gateway>`` Service and its dummy endpoints, assigns
  LoadBalancer addresses from CiliumLoadBalancerIPPools (LB-IPAM), and
  writes Gateway and HTTPRoute status.
* **Dapr operator** (when a dapr-operator pod becomes Ready): points the
  Subscription CRD's conversion webhook at its namespace and CA.

Rules for readiness:

* daprd (Dapr Shared): Ready only when sentry (``--sentry-address``)
  resolves to a Service with a ready endpoint, and the app channel
  (``--app-channel-address``:``--app-port``) resolves to a Service with a
  ready endpoint on that port; otherwise its liveness probe fails and it
  restarts.
* Every other container: Ready once running.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import glob
import ipaddress
import os
import sys
import time
import traceback

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from controlplane.rest import APIError, Client, path_of  # pylint: disable=import-error
else:
    from .rest import APIError, Client, path_of

KUBERNETES_VERSION = "v1.35.4"
STANDIN = "mesh-test-simulator"
PROVISIONER = "sidecarless.mesh/simulated-hostpath"
CILIUM_CONTROLLER = "io.cilium/gateway-controller"
GATEWAY_API = "gateway.networking.k8s.io"
LB_IPAM_ANNOTATIONS = ("lbipam.cilium.io/ips", "io.cilium/lb-ipam-ips")  # the second is the older alias
#: Liveness probe defaults (a probe without these fields uses them).
PROBE_PERIOD, PROBE_FAILURES = 10, 3
#: kubelet's crash-loop back-off: 10 s doubling to 5 minutes.
BACKOFF_START, BACKOFF_MAX = 10, 300


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def stamp(moment=None):
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_stamp(moment=None):
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    if not text:
        return None
    return datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)


def log(message):
    sys.stdout.write("%s %s\n" % (stamp(), message))
    sys.stdout.flush()


def labels_match(selector, labels):
    """A metav1.LabelSelector against a label map (None or {} matches everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class World(object):
    """One consistent look at the objects the readiness rules depend on."""

    def __init__(self, client):
        self.client = client
        self._crds = None
        self.services = {}
        for svc in client.items("/api/v1/services"):
            meta = svc["metadata"]
            self.services[(meta["namespace"], meta["name"])] = svc
        self.ready_ports = {}
        for eps in client.items("/apis/discovery.k8s.io/v1/endpointslices"):
            meta = eps["metadata"]
            owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
            if not owner:
                continue
            ready = [e for e in eps.get("endpoints") or [] if (e.get("conditions") or {}).get("ready", True)]
            if ready:
                ports = self.ready_ports.setdefault((meta["namespace"], owner), set())
                for port in eps.get("ports") or []:
                    ports.add(port.get("port"))

    def crd_versions(self, name):
        """Versions a CRD serves (empty when it does not exist); read once per tick."""
        if self._crds is None:
            self._crds = {c["metadata"]["name"]: [v["name"] for v in c["spec"].get("versions") or [] if v.get("served")]
                          for c in self.client.items("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")}
        return self._crds.get(name, [])

    def service_for_host(self, host):
        """(namespace, name) of the Service a cluster DNS name points at, or None."""
        parts = host.split(".")
        if len(parts) >= 2 and (len(parts) == 2 or parts[2] == "svc"):
            return parts[1], parts[0]
        return None

    def reachable(self, host, port):
        """Would a connection to host:port reach a ready endpoint? (why not, or None)."""
        try:
            ipaddress.ip_address(host)
            return None
        except ValueError:
            pass
        key = self.service_for_host(host)
        if key is None:
            return "%s is not a cluster Service name" % host
        svc = self.services.get(key)
        if svc is None:
            return "Service %s/%s does not exist" % (key[0], key[1])
        service_ports = {p.get("port"): p for p in (svc.get("spec") or {}).get("ports") or []}
        if port not in service_ports:
            return "Service %s/%s has no port %s" % (key[0], key[1], port)
        ready = self.ready_ports.get(key) or set()
        target = service_ports[port].get("targetPort", port)
        if not ready or (isinstance(target, int) and target not in ready and port not in ready):
            if not ready:
                return "Service %s/%s has no ready endpoint" % key
        return None


def _arg(args, flag):
    for item in args:
        if item.startswith(flag + "="):
            return item.split("=", 1)[1]
    if flag in args:
        index = args.index(flag)
        if index + 1 < len(args):
            return args[index + 1]
    return None


def daprd_problem(container, world):
    """Why a Dapr Shared daprd would not report healthy (None when it would)."""
    args = list(container.get("command") or []) + list(container.get("args") or [])
    sentry = _arg(args, "--sentry-address")
    if sentry:
        host, port = sentry.rsplit(":", 1) if ":" in sentry else (sentry, "")
        problem = world.reachable(host, int(port or 443))
        if problem:
            return "sentry %s: %s" % (sentry, problem)
    channel = _arg(args, "--app-channel-address")
    port = _arg(args, "--app-port")
    if channel and port:
        problem = world.reachable(channel, int(port))
        if problem:
            return "app channel %s:%s: %s" % (channel, port, problem)
    return None


def image_problem(image):
    """Why kubelet could not pull an image (None when it can): registries under the reserved TLD .invalid."""
    registry = image.split("/")[0] if "/" in image else ""
    if registry.split(":")[0].endswith(".invalid"):
        return ("failed to pull and unpack image \"%s\": dial tcp: lookup %s: no such host"
                % (image, registry.split(":")[0]))
    return None


def crash_problem(pod, container, world):
    """Why a container exits right after it starts (None when it keeps running).

    A Cilium 1.19 operator exits at start-up when the Gateway API CRDs are
    v1.5 or later (TLSRoute served as v1, which 1.19 does not know) and
    Gateway API support is on.
    """
    labels = pod["metadata"].get("labels") or {}
    if labels.get("io.cilium/app") == "operator":
        version = _image_version(pod)
        if version and version[:2] <= (1, 19) and "v1" in world.crd_versions("tlsroutes.%s" % GATEWAY_API):
            return "unable to start the gateway API controller: TLSRoute v1 (Gateway API v1.5+) is not supported"
    return None


def container_problem(pod, container, world):
    """The readiness rule of a container: None when it is ready."""
    if container.get("name") == "daprd" and "--app-channel-address" in " ".join(
            (container.get("command") or []) + (container.get("args") or [])):
        return daprd_problem(container, world)
    return None


class EgressProxy(object):
    """The API server's only way out to nodes, pods and Services: an HTTP CONNECT proxy on a Unix socket that refuses.

    kube-apiserver is started with an egress selector sending all "cluster"
    traffic (admission and conversion webhooks, kubelet exec/logs, aggregated
    APIs) here, so it never opens a connection to a simulated address. Each
    attempt is logged and answered 503, which the API server treats as an
    unreachable backend (a webhook's failurePolicy then applies, as it would
    with its server down).
    """

    def __init__(self, socket_path):
        self.socket_path = socket_path
        self.attempts = []

    def serve(self):
        import socketserver  # pylint: disable=import-outside-toplevel

        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline(8192).decode("latin-1").strip()
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                proxy.attempts.append(line)
                log("egress refused: %s" % line)
                self.wfile.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True

        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        server = Server(self.socket_path, Handler)
        import threading  # pylint: disable=import-outside-toplevel
        threading.Thread(target=server.serve_forever, daemon=True).start()


class Simulator(object):
    def __init__(self, client, nodes=3, upstream=None, cni=False):
        self.client = client
        self.preinstalled_cni = cni
        self.node_ready = {}
        self.node_names = ["mesh-control-plane"] + ["mesh-worker%s" % ("" if i == 1 else i) for i in range(1, nodes)]
        self.upstream = upstream
        self.last_lease = 0
        self.pod_cidrs = {}
        self.used_ips = set()
        self.containers = {}  # (pod uid, container) -> state of the simulated container
        self.cilium_operator = None  # {"uid", "namespace", "config", "gateway_crds"} of the running operator
        self.dapr_operator_uid = None
        self.pool_allocations = {}
        self.cilium_nodes = set()  # nodes where a Ready Cilium agent runs
        self.managed = set()  # uids of pods whose network Cilium set up (they get a CiliumEndpoint)

    # -- nodes ----------------------------------------------------------------------------
    def node_ip(self, name):
        """Node addresses as kind gives them; nothing ever connects to them (see egress_proxy)."""
        return "172.18.0.%d" % (self.node_names.index(name) + 2)

    def ensure_nodes(self):
        existing = {n["metadata"]["name"] for n in self.client.items("/api/v1/nodes")}
        for name in self.node_names:
            if name not in existing:
                labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                          "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
                spec = {}
                if name == "mesh-control-plane":
                    labels["node-role.kubernetes.io/control-plane"] = ""
                    spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
                self.client.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                                     "metadata": {"name": name, "labels": labels}, "spec": spec})
                log("node %s created" % name)
            self.node_status(name, self.preinstalled_cni)
        self.client.create("/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete",
        }) if self.client.get_or_none("/apis/storage.k8s.io/v1/storageclasses/standard") is None else None

    def node_status(self, name, ready):
        """Post the node's status; Ready only once a CNI runs there (kubelet: NetworkPluginNotReady)."""
        self.node_ready[name] = ready
        moment = stamp()
        capacity = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}
        conditions = [{"type": kind, "status": "False", "reason": "Kubelet" + reason, "message": message,
                       "lastHeartbeatTime": moment, "lastTransitionTime": moment}
                      for kind, reason, message in (
                          ("MemoryPressure", "HasSufficientMemory", "kubelet has sufficient memory available"),
                          ("DiskPressure", "HasNoDiskPressure", "kubelet has no disk pressure"),
                          ("PIDPressure", "HasSufficientPID", "kubelet has sufficient PID available"))]
        if ready:
            conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                               "message": "simulated kubelet is posting ready status",
                               "lastHeartbeatTime": moment, "lastTransitionTime": moment})
        else:
            conditions.append({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                               "message": "container runtime network not ready: NetworkReady=false "
                                          "reason:NetworkPluginNotReady message:Network plugin returns error: "
                                          "cni plugin not initialized",
                               "lastHeartbeatTime": moment, "lastTransitionTime": moment})
        self.client.merge_patch("/api/v1/nodes/%s/status" % name, {"status": {
            "capacity": capacity, "allocatable": capacity, "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": self.node_ip(name)},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"kubeletVersion": KUBERNETES_VERSION, "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "simulated://1.0",
                         "kernelVersion": "6.1.0", "osImage": "simulated", "machineID": name, "systemUUID": name,
                         "bootID": name},
        }}, manager=STANDIN)

    def renew_leases(self):
        if time.time() - self.last_lease < 10:
            return
        self.last_lease = time.time()
        for name in self.node_names:
            path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s" % name
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_stamp()}}
            self.client.apply(path, body, STANDIN)

    # -- pods -----------------------------------------------------------------------------
    def pod_ip(self, pod):
        """The node's address for hostNetwork pods, else the next free one of the node's podCIDR."""
        node = pod["spec"]["nodeName"]
        if pod["spec"].get("hostNetwork"):
            return self.node_ip(node)
        if node in self.cilium_nodes:
            self.managed.add(pod["metadata"]["uid"])
        cidr = self.pod_cidrs.get(node)
        if not cidr:
            found = self.client.get("/api/v1/nodes/%s" % node).get("spec", {}).get("podCIDR")
            cidr = self.pod_cidrs[node] = found or "10.244.%d.0/24" % (100 + self.node_names.index(node))
        for address in list(ipaddress.ip_network(cidr).hosts())[1:]:
            if str(address) not in self.used_ips:
                self.used_ips.add(str(address))
                return str(address)
        raise RuntimeError("node %s has no free pod address in %s" % (node, cidr))

    def pods(self, world):
        pods = self.client.items("/api/v1/pods")
        live = set()
        for pod in pods:
            meta, spec = pod["metadata"], pod.get("spec") or {}
            live.add(meta["uid"])
            ip = (pod.get("status") or {}).get("podIP")
            if ip:
                self.used_ips.add(ip)
            if not spec.get("nodeName") or spec["nodeName"] not in self.node_names:
                continue
            if meta.get("deletionTimestamp"):
                self.client.delete(path_of("v1", "pods", meta["name"], meta["namespace"]), gracePeriodSeconds="0")
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            status = self.pod_status(pod, world)
            if status is not None:
                try:
                    self.client.merge_patch(path_of("v1", "pods", meta["name"], meta["namespace"], "status"),
                                            {"status": status}, manager=STANDIN)
                except APIError as exc:
                    if exc.status not in (404, 409):
                        raise
        for key in [k for k in self.containers if k[0] not in live]:
            del self.containers[key]
        return pods

    def pod_status(self, pod, world):
        """The status this pod should have now, or None when it has it already."""
        meta, spec, current = pod["metadata"], pod["spec"], pod.get("status") or {}
        moment = now()
        if not spec.get("hostNetwork") and not self.node_ready.get(spec["nodeName"]):
            waiting = {"phase": "Pending", "hostIP": self.node_ip(spec["nodeName"]),
                       "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                              "ready": False, "restartCount": 0, "started": False,
                                              "state": {"waiting": {"reason": "ContainerCreating"}}}
                                             for c in spec.get("containers") or []]}
            return None if _same_status(current, waiting) else waiting
        started = current.get("startTime") or stamp(moment)
        run_once = spec.get("restartPolicy") in ("Never", "OnFailure")
        init_statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True,
                          "restartCount": 0, "started": False,
                          "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                                   "finishedAt": started}}}
                         for c in spec.get("initContainers") or []]
        statuses, all_ready = [], True
        unpullable = next((image_problem(c.get("image", "")) for c in (spec.get("initContainers") or [])
                           + (spec.get("containers") or []) if image_problem(c.get("image", ""))), None)
        for container in spec.get("containers") or []:
            key = (meta["uid"], container["name"])
            state = self.containers.setdefault(key, {"restarts": 0, "started": moment, "waiting_until": None,
                                                     "last": None})
            if run_once and not unpullable:
                statuses.append({"name": container["name"], "image": container.get("image", ""), "imageID": "",
                                 "ready": False, "restartCount": 0, "started": False,
                                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                                          "finishedAt": stamp(moment)}}})
                continue
            problem = container_problem(pod, container, world)
            crash = crash_problem(pod, container, world)
            entry = {"name": container["name"], "image": container.get("image", ""), "imageID": "",
                     "containerID": "simulated://%s-%s" % (meta["uid"][:8], container["name"])}
            if unpullable:
                entry.update(ready=False, started=False, restartCount=0, state={"waiting": {
                    "reason": "ImagePullBackOff", "message": unpullable}})
                entry.pop("containerID")
                all_ready = False
                statuses.append(entry)
                continue
            if state["waiting_until"] and moment < state["waiting_until"]:
                entry.update(ready=False, started=False, state={"waiting": {
                    "reason": "CrashLoopBackOff", "message": "back-off restarting failed container %s: %s" % (
                        container["name"], state["why"])}})
                all_ready = False
            else:
                if state["waiting_until"]:
                    state["waiting_until"] = None
                    state["started"] = moment
                liveness = container.get("livenessProbe")
                if crash or (problem and liveness):
                    limit = 0 if crash else (
                        liveness.get("initialDelaySeconds", 0) + liveness.get("periodSeconds", PROBE_PERIOD)
                        * liveness.get("failureThreshold", PROBE_FAILURES))
                    if (moment - state["started"]).total_seconds() >= limit:
                        state["restarts"] += 1
                        state["last"] = {"terminated": {"exitCode": 1 if crash else 137, "reason": "Error",
                                                        "startedAt": stamp(state["started"]),
                                                        "finishedAt": stamp(moment)}}
                        state["why"] = crash or "liveness probe failed: %s" % problem
                        backoff = min(BACKOFF_START * 2 ** (state["restarts"] - 1), BACKOFF_MAX)
                        state["waiting_until"] = moment + datetime.timedelta(seconds=backoff)
                        log("pod %s/%s container %s restarted (%s)" % (
                            meta["namespace"], meta["name"], container["name"], state["why"]))
                        entry.update(ready=False, started=False, state={"waiting": {
                            "reason": "CrashLoopBackOff", "message": state["why"]}})
                        all_ready = False
                        entry["restartCount"] = state["restarts"]
                        if state["last"]:
                            entry["lastState"] = state["last"]
                        statuses.append(entry)
                        continue
                ready = problem is None
                entry.update(ready=ready, started=True, state={"running": {"startedAt": stamp(state["started"])}})
                all_ready = all_ready and ready
            entry["restartCount"] = state["restarts"]
            if state["last"]:
                entry["lastState"] = state["last"]
            statuses.append(entry)
        if unpullable:
            phase, ready_text = "Pending", "False"
        elif run_once:
            phase, ready_text = "Succeeded", "False"
        else:
            phase, ready_text = "Running", "True" if all_ready else "False"
        previous = {c.get("type"): c for c in current.get("conditions") or []}

        def condition(kind, value):
            old = previous.get(kind) or {}
            return {"type": kind, "status": value, "lastProbeTime": None,
                    "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == value else stamp(moment)}

        status = {
            "phase": phase, "startTime": started, "hostIP": self.node_ip(spec["nodeName"]),
            "hostIPs": [{"ip": self.node_ip(spec["nodeName"])}],
            "podIP": current.get("podIP") or self.pod_ip(pod),
            "conditions": [condition("PodReadyToStartContainers", "True"), condition("Initialized", "True"),
                           condition("Ready", ready_text), condition("ContainersReady", ready_text),
                           condition("PodScheduled", "True")],
            "containerStatuses": statuses, "qosClass": current.get("qosClass") or "BestEffort",
        }
        status["podIPs"] = [{"ip": status["podIP"]}]
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        if _same_status(current, status):
            return None
        return status

    # -- volumes --------------------------------------------------------------------------
    def volumes(self):
        for claim in self.client.items("/api/v1/persistentvolumeclaims"):
            meta, spec = claim["metadata"], claim.get("spec") or {}
            annotations = meta.get("annotations") or {}
            if spec.get("volumeName") or annotations.get("volume.kubernetes.io/storage-provisioner") != PROVISIONER:
                continue
            node = annotations.get("volume.kubernetes.io/selected-node")
            if not node:
                continue
            name = "pvc-%s" % meta["uid"]
            if self.client.get_or_none("/api/v1/persistentvolumes/%s" % name) is not None:
                continue
            self.client.create("/api/v1/persistentvolumes", {
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
                "spec": {"capacity": {"storage": (spec.get("resources") or {}).get("requests", {}).get("storage", "1Gi")},
                         "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Delete", "storageClassName": spec.get("storageClassName"),
                         "hostPath": {"path": "/var/simulated/%s" % name},
                         "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                      "name": meta["name"], "uid": meta["uid"]},
                         "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                             {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}})
            log("provisioned %s for %s/%s" % (name, meta["namespace"], meta["name"]))
        for volume in self.client.items("/api/v1/persistentvolumes"):
            if (volume.get("status") or {}).get("phase") == "Released" and \
                    (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER:
                self.client.delete("/api/v1/persistentvolumes/%s" % volume["metadata"]["name"])

    # -- Cilium operator -------------------------------------------------------------------
    def cilium(self, pods, world):
        operators = [p for p in pods if (p["metadata"].get("labels") or {}).get("io.cilium/app") == "operator"
                     and _pod_ready(p)]
        if not operators:
            self.cilium_operator = None
            return
        leader = sorted(operators, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))[0]
        if self.cilium_operator is None or self.cilium_operator["uid"] != leader["metadata"]["uid"]:
            self.cilium_operator = self.start_cilium_operator(leader)
        operator = self.cilium_operator
        if operator["config"].get("enable-lb-ipam", "true") == "true":
            self.lb_ipam(world, l2=operator["config"].get("enable-l2-announcements") == "true")
        if operator["gateway_api"]:
            self.gateways(operator, world)

    def start_cilium_operator(self, pod):
        namespace = pod["metadata"]["namespace"]
        config = (self.client.get_or_none("/api/v1/namespaces/%s/configmaps/cilium-config" % namespace)
                  or {}).get("data") or {}
        if self.upstream:
            for path in sorted(glob.glob(os.path.join(self.upstream, "cilium", "crds", "*.yaml"))):
                with open(path, encoding="utf-8") as handle:
                    crd = yaml.safe_load(handle)
                self.client.apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s" % crd["metadata"]["name"],
                                  crd, "cilium-operator-generic")
        # CiliumEndpoint is not among the upstream copies: a schema-less stand-in (only its existence is read).
        self.client.apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ciliumendpoints.cilium.io", {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "ciliumendpoints.cilium.io"},
            "spec": {"group": "cilium.io", "scope": "Namespaced",
                     "names": {"kind": "CiliumEndpoint", "listKind": "CiliumEndpointList", "plural": "ciliumendpoints",
                               "singular": "ciliumendpoint", "shortNames": ["cep"]},
                     "versions": [{"name": "v2", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}},
            "cilium-operator-generic")
        present = {c["metadata"]["name"] for c in
                   self.client.items("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")}
        needed = ["gatewayclasses", "gateways", "httproutes", "referencegrants", "grpcroutes"]
        missing = [n for n in needed if "%s.%s" % (n, GATEWAY_API) not in present]
        gateway_api = config.get("enable-gateway-api") == "true" and not missing
        if config.get("enable-gateway-api") == "true" and missing:
            log("cilium-operator %s: Gateway API CRDs missing at start-up (%s): gateway controller disabled until "
                "the operator restarts" % (pod["metadata"]["name"], ", ".join(missing)))
        log("cilium-operator %s started (gateway API %s)" % (pod["metadata"]["name"], "on" if gateway_api else "off"))
        version = _image_version(pod)
        return {"uid": pod["metadata"]["uid"], "namespace": namespace, "config": config, "gateway_api": gateway_api,
                "version": version,
                "host_network": config.get("gateway-api-hostnetwork-enabled") == "true"}

    def lb_ipam(self, world, l2=False):
        try:
            pools = self.client.items("/apis/cilium.io/v2/ciliumloadbalancerippools")
        except APIError as exc:
            if exc.status == 404:
                return
            raise
        taken = set()
        for svc in world.services.values():
            for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                taken.add(ingress.get("ip"))
        for (namespace, name), svc in sorted(world.services.items()):
            spec = svc.get("spec") or {}
            classes = [None] + (["io.cilium/l2-announcer"] if l2 else [])
            if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass") not in classes:
                continue
            if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            labels = dict(svc["metadata"].get("labels") or {})
            labels.update({"io.kubernetes.service.namespace": namespace, "io.kubernetes.service.name": name})
            annotations = svc["metadata"].get("annotations") or {}
            wanted = [ip.strip() for key in LB_IPAM_ANNOTATIONS for ip in (annotations.get(key) or "").split(",")
                      if ip.strip()]
            if spec.get("loadBalancerIP"):
                wanted.append(spec["loadBalancerIP"])
            address, reason = None, "no_pool"
            for pool in sorted(pools, key=lambda p: p["metadata"]["name"]):
                pool_spec = pool.get("spec") or {}
                if pool_spec.get("disabled") or not labels_match(pool_spec.get("serviceSelector"), labels):
                    continue
                candidates = list(_pool_addresses(pool_spec))
                if wanted:
                    usable = [ip for ip in wanted if ip in candidates and ip not in taken]
                    address = usable[0] if usable else None
                    reason = "already_allocated" if not usable else None
                else:
                    address = next((ip for ip in candidates if ip not in taken), None)
                    reason = "pool_exhausted" if address is None else None
                if address:
                    break
            path = path_of("v1", "services", name, namespace, "status")
            if address:
                taken.add(address)
                self.client.merge_patch(path, {"status": {"loadBalancer": {"ingress": [{"ip": address}]},
                                                          "conditions": [_condition(
                                                              "cilium.io/IPAMRequestSatisfied", "True", "satisfied",
                                                              "")]}}, manager=STANDIN)
                svc.setdefault("status", {})["loadBalancer"] = {"ingress": [{"ip": address}]}
                log("LB-IPAM: %s/%s gets %s" % (namespace, name, address))
            else:
                current = [c for c in (svc.get("status") or {}).get("conditions") or []
                           if c.get("type") == "cilium.io/IPAMRequestSatisfied"]
                if not current or current[0].get("reason") != reason:
                    self.client.merge_patch(path, {"status": {"conditions": [_condition(
                        "cilium.io/IPAMRequestSatisfied", "False", reason,
                        "There are no enabled CiliumLoadBalancerIPPools that match this service"
                        if reason == "no_pool" else reason)]}}, manager=STANDIN)

    def gateways(self, operator, world):
        classes = [c for c in self.client.items("/apis/%s/v1/gatewayclasses" % GATEWAY_API)
                   if (c.get("spec") or {}).get("controllerName") == CILIUM_CONTROLLER]
        for gwc in classes:
            conditions = (gwc.get("status") or {}).get("conditions") or []
            if not any(c.get("type") == "Accepted" and c.get("status") == "True" for c in conditions):
                gwc.setdefault("status", {})["conditions"] = [dict(
                    _condition("Accepted", "True", "Accepted", "Valid GatewayClass"),
                    observedGeneration=gwc["metadata"].get("generation", 1))]
                self.client.replace("/apis/%s/v1/gatewayclasses/%s/status" % (GATEWAY_API, gwc["metadata"]["name"]),
                                    gwc, manager=STANDIN)
        names = {c["metadata"]["name"] for c in classes}
        routes = self.client.items("/apis/%s/v1/httproutes" % GATEWAY_API)
        for gateway in self.client.items("/apis/%s/v1/gateways" % GATEWAY_API):
            if (gateway.get("spec") or {}).get("gatewayClassName") not in names:
                continue
            self.gateway(operator, gateway, routes, world)
        gateway_keys = {(g["metadata"]["namespace"], g["metadata"]["name"]) for g in
                        self.client.items("/apis/%s/v1/gateways" % GATEWAY_API)
                        if (g.get("spec") or {}).get("gatewayClassName") in names}
        for route in routes:
            self.route_status(route, gateway_keys, world)

    def gateway(self, operator, gateway, routes, world):
        meta, spec = gateway["metadata"], gateway["spec"]
        namespace, name = meta["namespace"], meta["name"]
        svc_name = "cilium-gateway-%s" % name
        infrastructure = spec.get("infrastructure") or {}
        labels = {"io.cilium.gateway/owning-gateway": name, "gateway.networking.k8s.io/gateway-name": name}
        labels.update(infrastructure.get("labels") or {})
        annotations = dict(infrastructure.get("annotations") or {})
        addresses = [a.get("value") for a in spec.get("addresses") or [] if a.get("type", "IPAddress") == "IPAddress"]
        if addresses and "io.cilium/lb-ipam-ips" not in annotations:
            annotations["io.cilium/lb-ipam-ips"] = ",".join(addresses)
        host_mode = _host_network_mode(operator) if operator["host_network"] else None
        owner = [{"apiVersion": "%s/v1" % GATEWAY_API, "kind": "Gateway", "name": name, "uid": meta["uid"],
                  "controller": True}]
        ports = sorted({l["port"] for l in spec.get("listeners") or []})
        service = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": svc_name, "namespace": namespace, "labels": labels,
                                "annotations": annotations, "ownerReferences": owner},
                   "spec": {"type": {"nodeport": "NodePort"}.get(host_mode, "ClusterIP") if host_mode else "LoadBalancer",
                            "ports": [{"name": "port-%d" % p, "port": p, "protocol": "TCP"} for p in ports]}}
        current = world.services.get((namespace, svc_name))
        if current is None or _differs(service, current):
            self.client.apply(path_of("v1", "services", svc_name, namespace), service, "cilium-operator-generic")
            slice_labels = dict(labels)
            slice_labels["kubernetes.io/service-name"] = svc_name
            self.client.apply(path_of("discovery.k8s.io/v1", "endpointslices", svc_name, namespace), {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                "metadata": {"name": svc_name, "namespace": namespace, "labels": slice_labels,
                             "ownerReferences": owner},
                "endpoints": [{"addresses": ["192.192.192.192"], "conditions": {"ready": True}}],
                "ports": [{"port": 9999}]}, "cilium-operator-generic")
            current = self.client.get(path_of("v1", "services", svc_name, namespace))
            world.services[(namespace, svc_name)] = current
        if host_mode == "nodeport":
            ips = sorted(self.node_ip(n) for n in self.node_names)[:16]
        elif host_mode:
            ips = []
        else:
            ips = [i.get("ip") for i in ((current.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                   if i.get("ip")]
        generation = meta.get("generation", 1)
        attached = {}
        for route in routes:
            for parent in (route.get("spec") or {}).get("parentRefs") or []:
                if parent.get("kind", "Gateway") == "Gateway" and parent.get("name") == name and \
                        parent.get("namespace", route["metadata"]["namespace"]) == namespace:
                    for listener in spec.get("listeners") or []:
                        if parent.get("sectionName") in (None, listener["name"]):
                            attached[listener["name"]] = attached.get(listener["name"], 0) + 1
        programmed = bool(ips) or host_mode == "always-programmed"
        status = {
            "conditions": [
                dict(_condition("Accepted", "True", "Accepted", "Gateway successfully scheduled"),
                     observedGeneration=generation),
                dict(_condition("Programmed", "True", "Programmed", "Gateway Programmed")
                     if programmed else
                     _condition("Programmed", "False", "AddressNotAssigned", "Gateway waiting for address"),
                     observedGeneration=generation)],
            "listeners": [{"name": l["name"], "attachedRoutes": attached.get(l["name"], 0),
                           "supportedKinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"},
                                              {"group": GATEWAY_API, "kind": "GRPCRoute"}],
                           "conditions": [
                               dict(_condition("ResolvedRefs", "True", "ResolvedRefs", "Resolved Refs"),
                                    observedGeneration=generation),
                               dict(_condition("Accepted", "True", "Accepted", "Listener Accepted"),
                                    observedGeneration=generation),
                               dict(_condition("Programmed", "True", "Programmed", "Listener Programmed") if programmed
                                    else _condition("Programmed", "False", "Pending", "Address not ready yet"),
                                    observedGeneration=generation)]}
                          for l in spec.get("listeners") or []],
        }
        if programmed:
            status["addresses"] = [{"type": "IPAddress", "value": ip} for ip in ips]
        if not _same_conditions(gateway.get("status") or {}, status):
            gateway["status"] = status
            try:
                self.client.replace("/apis/%s/v1/namespaces/%s/gateways/%s/status" % (GATEWAY_API, namespace, name),
                                    gateway, manager=STANDIN)
            except APIError as exc:
                if exc.status != 409:
                    raise

    def route_status(self, route, gateway_keys, world):
        meta, spec = route["metadata"], route.get("spec") or {}
        parents = []
        missing = []
        for rule in spec.get("rules") or []:
            for backend in rule.get("backendRefs") or []:
                if backend.get("kind", "Service") == "Service" and backend.get("group", "") == "":
                    key = (backend.get("namespace", meta["namespace"]), backend["name"])
                    if key not in world.services:
                        missing.append("%s/%s" % key)
        for parent in spec.get("parentRefs") or []:
            kind = parent.get("kind", "Gateway")
            key = (parent.get("namespace", meta["namespace"]), parent["name"])
            if kind == "Gateway" and key not in gateway_keys:
                continue
            if kind == "Service" and (parent.get("group", "") != "" or key not in world.services):
                continue
            if kind not in ("Gateway", "Service"):
                continue
            ref = {"group": parent.get("group", GATEWAY_API if kind == "Gateway" else ""), "kind": kind,
                   "name": parent["name"], "namespace": key[0]}
            for optional in ("sectionName", "port"):
                if optional in parent:
                    ref[optional] = parent[optional]
            generation = meta.get("generation", 1)
            parents.append({"parentRef": ref, "controllerName": CILIUM_CONTROLLER, "conditions": [
                dict(_condition("Accepted", "True", "Accepted", "Accepted HTTPRoute"), observedGeneration=generation),
                dict(_condition("ResolvedRefs", "False", "BackendNotFound",
                                "Service(s) %s not found" % ", ".join(sorted(set(missing)))) if missing else
                     _condition("ResolvedRefs", "True", "ResolvedRefs", "Service reference is valid"),
                     observedGeneration=generation)]})
        status = {"parents": parents}
        if not _same_conditions(route.get("status") or {}, status, key="parents"):
            route["status"] = status
            try:
                self.client.replace("/apis/%s/v1/namespaces/%s/httproutes/%s/status" % (
                    GATEWAY_API, meta["namespace"], meta["name"]), route, manager=STANDIN)
            except APIError as exc:
                if exc.status not in (404, 409):
                    raise

    # -- Dapr operator --------------------------------------------------------------------
    def dapr(self, pods):
        operators = [p for p in pods if (p["metadata"].get("labels") or {}).get("app") == "dapr-operator"
                     and _pod_ready(p)]
        if not operators:
            self.dapr_operator_uid = None
            return
        pod = sorted(operators, key=lambda p: p["metadata"]["creationTimestamp"])[0]
        if self.dapr_operator_uid == pod["metadata"]["uid"]:
            return
        namespace = pod["metadata"]["namespace"]
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/subscriptions.dapr.io"
        crd = self.client.get_or_none(path)
        if crd is None:
            return
        webhook = ((crd.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
        if not webhook:
            return
        # The real operator puts its own trust bundle there; the test cluster's CA stands in for it.
        with open(self.client.ca_file, "rb") as handle:
            bundle = base64.b64encode(handle.read()).decode()
        self.client.merge_patch(path, {"spec": {"conversion": {"webhook": {"clientConfig": {
            "caBundle": bundle, "service": {"namespace": namespace}}}}}}, manager="operator")
        self.dapr_operator_uid = pod["metadata"]["uid"]
        log("dapr-operator %s patched the Subscription CRD webhook to namespace %s" % (
            pod["metadata"]["name"], namespace))

    # -- loop ----------------------------------------------------------------------------
    def cni(self, pods):
        """Nodes are Ready while a Ready Cilium agent runs on them (or always, with a preinstalled CNI)."""
        agents = {p["spec"].get("nodeName") for p in pods
                  if (p["metadata"].get("labels") or {}).get("k8s-app") == "cilium" and _pod_ready(p)}
        self.cilium_nodes = agents
        for name in self.node_names:
            ready = self.preinstalled_cni or name in agents
            if self.node_ready.get(name) != ready:
                self.node_status(name, ready)
                log("node %s %s" % (name, "Ready" if ready else "NotReady (no CNI)"))

    def endpoints(self, pods):
        """A CiliumEndpoint for each pod whose network a Cilium agent set up; pods started before are unmanaged.

        Reconciled from one list per tick: a pod that reuses a name (a StatefulSet's) can meet its
        predecessor's endpoint before the garbage collector removed it; the agent takes that endpoint over
        (owner set to the new pod), so it is not collected once the old pod is gone.
        """
        live = {p["metadata"]["uid"] for p in pods}
        self.managed &= live
        wanted = [p for p in pods if p["metadata"]["uid"] in self.managed and not p["metadata"].get("deletionTimestamp")]
        if not wanted:
            return
        try:
            existing = {(e["metadata"]["namespace"], e["metadata"]["name"]): e
                        for e in self.client.items("/apis/cilium.io/v2/ciliumendpoints")}
        except APIError as exc:
            if exc.status == 404:  # the CRD is not registered yet
                return
            raise
        for pod in wanted:
            meta = pod["metadata"]
            owner = [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"],
                      "blockOwnerDeletion": True}]
            current = existing.get((meta["namespace"], meta["name"]))
            try:
                if current is None:
                    self.client.create(path_of("cilium.io/v2", "ciliumendpoints", namespace=meta["namespace"]), {
                        "apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
                        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "ownerReferences": owner}})
                elif [o.get("uid") for o in current["metadata"].get("ownerReferences") or []] != [meta["uid"]]:
                    current["metadata"]["ownerReferences"] = owner
                    self.client.replace(path_of("cilium.io/v2", "ciliumendpoints", meta["name"], meta["namespace"]),
                                        current, manager=STANDIN)
            except APIError as exc:
                if exc.status not in (404, 409):  # collected or changed meanwhile: the next tick sees it
                    raise

    def tick(self):
        self.renew_leases()
        world = World(self.client)
        pods = self.pods(world)
        self.cni(pods)
        self.endpoints(pods)
        self.volumes()
        self.cilium(pods, world)
        self.dapr(pods)

    def run(self, interval=0.4):
        self.ensure_nodes()
        log("simulating nodes %s" % ", ".join(self.node_names))
        while True:
            try:
                self.tick()
            except Exception:  # pylint: disable=broad-except
                log("tick failed:\n%s" % traceback.format_exc())
                time.sleep(1)
            time.sleep(interval)


def _condition(kind, status, reason, message):
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp()}


def _strip_times(value):
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items()
                if k not in ("lastTransitionTime", "lastHeartbeatTime", "lastProbeTime", "startTime", "startedAt",
                             "finishedAt")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _same_status(current, desired):
    keys = set(desired)
    return _strip_times({k: current.get(k) for k in keys}) == _strip_times(desired)


def _same_conditions(current, desired, key=None):
    del key
    return _strip_times(current) == _strip_times(desired)


def _differs(desired, live):
    """True when a field of ``desired`` (recursively) is missing or different in ``live``."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return True
        return any(_differs(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return True
        return any(_differs(a, b) for a, b in zip(desired, live))
    return desired != live


def _image_version(pod):
    """(major, minor, patch) of the image tag of a pod's first container, or None."""
    image = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", "")
    tag = image.split("@")[0].rpartition(":")[2].lstrip("v")
    try:
        return tuple(int(part) for part in tag.split("-")[0].split(".")[:3])
    except ValueError:
        return None


def _host_network_mode(operator):
    """How the Cilium operator of this version reports a host-network Gateway (cilium#42786).

    1.18.0-1.18.2: a ClusterIP Service and Programmed True without an address;
    1.18.3 up to 1.19.5: ClusterIP, never an address, Programmed stays False
    (the bug); 1.19.6 and 1.20: a NodePort Service and the node addresses.
    """
    version = operator.get("version") or (1, 20, 0)
    if version < (1, 18, 3):
        return "always-programmed"
    if version < (1, 19, 6):
        return "stuck"
    return "nodeport"


def _pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or []) and not pod["metadata"].get(
                   "deletionTimestamp")


def _pool_addresses(spec):
    """Allocatable addresses of a pool, in order (LB-IPAM semantics of allowFirstLastIPs)."""
    keep_ends = spec.get("allowFirstLastIPs") == "No"
    for block in spec.get("blocks") or []:
        if block.get("cidr"):
            network = ipaddress.ip_network(block["cidr"], strict=False)
            hosts = list(network)
            if keep_ends and network.num_addresses > 2:
                hosts = hosts[1:-1]
            for address in hosts:
                yield str(address)
        elif block.get("start"):
            start = ipaddress.ip_address(block["start"])
            stop = ipaddress.ip_address(block.get("stop") or block["start"])
            while start <= stop:
                yield str(start)
                start += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--upstream", help="directory with cilium/crds/*.yaml (the CRDs the operator registers)")
    parser.add_argument("--egress-socket", help="Unix socket of the refusing egress proxy")
    parser.add_argument("--preinstalled-cni", action="store_true",
                        help="nodes are Ready from the start (as if a CNI were installed); default: like kind "
                             "without its default CNI, NotReady until a Cilium agent runs on them")
    args = parser.parse_args(argv)
    if args.egress_socket:
        EgressProxy(args.egress_socket).serve()
    Simulator(Client(args.kubeconfig, user_agent=STANDIN), args.nodes, args.upstream, args.preinstalled_cni).run()


if __name__ == "__main__":
    main()
