# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Kubernetes control plane on 127.0.0.1 for tests: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, plus the node simulator and the
operator stand-ins of ``simulator.py``.

One object owns the processes, their logs and a state directory
(certificates, kubeconfig, etcd data); nothing listens beyond 127.0.0.1.
``start()`` returns once ``/readyz`` answers and the simulated nodes are
Ready; ``stop()`` ends every process and removes the state directory.
``detach=True`` (``make cluster-up``) leaves the processes running after
this Python process exits; ``ControlPlane.attach(state_dir)`` finds them
again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

from . import binaries
from .pki import PKI

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_kubeconfig(path, server, ca_file, cert_file, key_file, user="admin"):
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "mesh-test",
        "clusters": [{"name": "mesh-test", "cluster": {"server": server, "certificate-authority": ca_file}}],
        "users": [{"name": user, "user": {"client-certificate": cert_file, "client-key": key_file}}],
        "contexts": [{"name": "mesh-test", "context": {"cluster": "mesh-test", "user": user}}],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    return path


class ControlPlaneError(RuntimeError):
    pass


class ControlPlane(object):
    """The processes of one test cluster."""

    def __init__(self, state_dir=None, nodes=3, detach=False, upstream=None, cni=False, owner=None):
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="mesh-controlplane-")
        #: Process whose end stops the cluster (controlplane/watchdog.py); None for a cluster that outlives its
        #: starter (make cluster-up).
        self.owner = owner
        self.nodes = nodes
        self.detach = detach
        self.upstream = upstream
        self.cni = cni
        self.processes = {}
        self.commands = {}
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        self.audit_log = os.path.join(self.state_dir, "logs", "audit.log")
        self.server = None
        self.etcd_url = None

    # -- paths --------------------------------------------------------------------------
    def log_path(self, name):
        return os.path.join(self.state_dir, "logs", name + ".log")

    def _pid_path(self, name):
        return os.path.join(self.state_dir, "pids", name)

    # -- start ----------------------------------------------------------------------------
    def start(self, timeout=180):
        bindir = binaries.control_plane()
        os.makedirs(os.path.join(self.state_dir, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.state_dir, "pids"), exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        pki = PKI(os.path.join(self.state_dir, "pki"))
        api_port, etcd_port, peer_port = free_port(), free_port(), free_port()
        egress_socket = os.path.join(self.state_dir, "egress.sock")
        self.server = "https://127.0.0.1:%d" % api_port
        self.etcd_url = "http://127.0.0.1:%d" % etcd_port
        serving_cert, serving_key = pki.serving("apiserver", [
            "127.0.0.1", "localhost", "10.96.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"])
        admin_cert, admin_key = pki.client("admin", "mesh-test-admin", "system:masters")
        # The control plane's own components (and the simulator) use another identity, so
        # the audit log counts only the requests made with the user's kubeconfig.
        system_cert, system_key = pki.client("system", "mesh-test-system", "system:masters")
        sa_pub, sa_key = pki.service_account_keys()
        write_kubeconfig(self.kubeconfig, self.server, pki.ca_file, admin_cert, admin_key)
        system_kubeconfig = write_kubeconfig(os.path.join(self.state_dir, "system.kubeconfig"), self.server,
                                             pki.ca_file, system_cert, system_key, user="mesh-test-system")
        # Every connection the API server would open towards the (simulated) cluster network goes
        # to the simulator's refusing proxy on a Unix socket instead: nothing leaves the machine.
        egress = os.path.join(self.state_dir, "egress-selector.yaml")
        with open(egress, "w", encoding="utf-8") as handle:
            json.dump({"apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
                       "egressSelections": [{"name": "cluster", "connection": {
                           "proxyProtocol": "HTTPConnect",
                           "transport": {"uds": {"udsName": egress_socket}}}}]}, handle)
        audit_policy = os.path.join(self.state_dir, "audit-policy.yaml")
        with open(audit_policy, "w", encoding="utf-8") as handle:
            json.dump({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                       "rules": [{"level": "Metadata", "users": ["mesh-test-admin"]}, {"level": "None"}]}, handle)
        if self.owner:
            self._spawn("watchdog", [sys.executable, "-m", "controlplane.watchdog", "--owner", str(self.owner),
                                     "--state-dir", self.state_dir], env={"PYTHONPATH": os.path.dirname(HERE)})
        try:
            self._spawn("etcd", [
                os.path.join(bindir, "etcd"), "--data-dir", os.path.join(self.state_dir, "etcd"),
                "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
                "--listen-peer-urls", "http://127.0.0.1:%d" % peer_port,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port,
                "--initial-cluster", "default=http://127.0.0.1:%d" % peer_port,
                "--unsafe-no-fsync", "--quota-backend-bytes", str(2 << 30), "--log-level", "warn"])
            self._wait_http(self.etcd_url + "/health", timeout, "etcd")
            self._spawn("kube-apiserver", [
                os.path.join(bindir, "kube-apiserver"),
                "--etcd-servers", self.etcd_url,
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
                "--tls-cert-file", serving_cert, "--tls-private-key-file", serving_key,
                "--client-ca-file", pki.ca_file,
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", sa_pub, "--service-account-signing-key-file", sa_key,
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--authorization-mode", "Node,RBAC", "--allow-privileged=true",
                "--egress-selector-config-file", egress, "--enable-aggregator-routing=true",
                "--audit-policy-file", audit_policy, "--audit-log-path", self.audit_log,
                "--audit-log-format", "json", "--audit-log-maxsize", "0",
                "--profiling=false", "--v=1"])
            self._wait_ready(timeout)
            self._spawn("kube-controller-manager", [
                os.path.join(bindir, "kube-controller-manager"),
                "--kubeconfig", system_kubeconfig, "--leader-elect=false", "--secure-port=0",
                "--service-account-private-key-file", sa_key, "--root-ca-file", pki.ca_file,
                "--use-service-account-credentials=false",
                "--cluster-cidr", POD_CIDR, "--allocate-node-cidrs=true", "--node-cidr-mask-size=24",
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
                "--v=1"])
            self._spawn("kube-scheduler", [
                os.path.join(bindir, "kube-scheduler"),
                "--kubeconfig", system_kubeconfig, "--leader-elect=false", "--secure-port=0", "--v=1"])
            simulator_args = [sys.executable, "-m", "controlplane.simulator", "--kubeconfig", system_kubeconfig,
                              "--nodes", str(self.nodes), "--egress-socket", egress_socket]
            if self.upstream:
                simulator_args += ["--upstream", self.upstream]
            if self.cni:
                simulator_args.append("--preinstalled-cni")
            self._spawn("simulator", simulator_args, env={"PYTHONPATH": os.path.dirname(HERE)})
            self._wait_nodes(timeout)
        except BaseException:
            self.stop()
            raise
        with open(os.path.join(self.state_dir, "cluster.json"), "w", encoding="utf-8") as handle:
            json.dump({"server": self.server, "etcd": self.etcd_url, "kubeconfig": self.kubeconfig}, handle)
        return self

    def _spawn(self, name, argv, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        log = open(self.log_path(name), "ab")  # pylint: disable=consider-using-with
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=full_env, start_new_session=True)
        log.close()
        self.processes[name] = process
        self.commands[name] = (argv, env)
        with open(self._pid_path(name), "w", encoding="utf-8") as handle:
            handle.write(str(process.pid))

    def _check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ControlPlaneError("%s exited with %s; its log:\n%s" % (name, process.returncode,
                                                                             self.tail(name)))

    def tail(self, name, lines=40):
        try:
            with open(self.log_path(name), encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_http(self, url, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise ControlPlaneError("%s did not become healthy in %d s:\n%s" % (what, timeout, self.tail(what)))

    def ssl_context(self):
        context = ssl.create_default_context(cafile=os.path.join(self.state_dir, "pki", "ca.crt"))
        context.load_cert_chain(os.path.join(self.state_dir, "pki", "admin.crt"),
                                os.path.join(self.state_dir, "pki", "admin.key"))
        return context

    def get_json(self, path, timeout=5):
        with urllib.request.urlopen(self.server + path, context=self.ssl_context(), timeout=timeout) as answer:
            return json.loads(answer.read())

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        context = self.ssl_context()
        while time.time() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(self.server + "/readyz", context=context, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise ControlPlaneError("kube-apiserver not ready in %d s:\n%s" % (timeout, self.tail("kube-apiserver")))

    def _wait_nodes(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._check_alive()
            try:
                nodes = self.get_json("/api/v1/nodes").get("items") or []
                posted = [n for n in nodes if any(c.get("type") == "Ready" and (c.get("status") == "True" or not self.cni)
                                                  for c in (n.get("status") or {}).get("conditions") or [])]
                accounts = self.get_json("/api/v1/namespaces/default/serviceaccounts").get("items") or []
                if len(posted) >= self.nodes and accounts:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise ControlPlaneError("the simulated nodes did not report in %d s:\n%s" % (
            timeout, self.tail("simulator")))

    def requests(self):
        """Requests made with the user's kubeconfig so far, from the audit log: [(verb, resource, uri), ...]."""
        result = []
        try:
            with open(self.audit_log, encoding="utf-8") as handle:
                for line in handle:
                    event = json.loads(line)
                    ref = event.get("objectRef") or {}
                    result.append((event.get("verb"), ref.get("resource") or "", event.get("requestURI", "")))
        except OSError:
            pass
        return result

    # -- stop ---------------------------------------------------------------------------
    @classmethod
    def attach(cls, state_dir):
        plane = cls(state_dir=state_dir, detach=True)
        try:
            with open(os.path.join(state_dir, "cluster.json"), encoding="utf-8") as handle:
                data = json.load(handle)
            plane.server, plane.etcd_url = data["server"], data["etcd"]
        except (OSError, ValueError, KeyError):
            pass
        return plane

    def pids(self):
        result = {}
        folder = os.path.join(self.state_dir, "pids")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    result[name] = int(handle.read().strip())
            except (OSError, ValueError):
                continue
        return result

    def stop_process(self, name, sig=signal.SIGTERM, timeout=20):
        """Stop one component (tests stop the API server mid-run); returns once it is gone."""
        pid = self.pids().get(name)
        if pid is None:
            return
        _signal_group(pid, sig)
        deadline = time.time() + timeout
        while time.time() < deadline and _alive(pid):
            time.sleep(0.1)
            process = self.processes.get(name)
            if process is not None:
                process.poll()
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
        process = self.processes.pop(name, None)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.unlink(self._pid_path(name))
        except OSError:
            pass

    def restart_process(self, name, timeout=120):
        """Start a component stopped by stop_process again, as it was (same ports, certificates, state)."""
        argv, env = self.commands[name]
        self._spawn(name, argv, env)
        if name == "kube-apiserver":
            self._wait_ready(timeout)

    def stop(self, keep_state=False):
        """End every process at once (SIGKILL: the state is thrown away, nothing needs a clean shutdown)."""
        for name in ("simulator", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "watchdog"):
            self.stop_process(name, sig=signal.SIGKILL if not keep_state else signal.SIGTERM)
        if not keep_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
