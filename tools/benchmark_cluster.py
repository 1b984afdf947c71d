# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure cluster mode for meshes of 10 and 100 apps against the test control plane.

For each size this starts a fresh test control plane (tests/controlplane:
real kube-apiserver, controller-manager, scheduler and etcd, simulated
nodes, no CNI until Cilium runs, as kind without its default CNI), deploys
the apps' pods as a user would, and then measures, from the wall clock and
from the API server's audit log (only the requests made with the user's
kubeconfig, that is what ansible, helm and kubectl did):

1. first converge: ``site.yml -e mesh_apply=true`` on the empty cluster,
2. no-op rerun: the same command again (it must write nothing),
3. the object apply alone, steady state: ``site.yml --tags mesh`` (render,
   one k8s_apply task, the Gateway waits) beside ``kubectl apply
   --server-side --field-manager=bench-kubectl --force-conflicts -R -f
   <render dir>/manifests`` of the same objects, twice (the first kubectl run
   becomes a co-owner of every field, so it writes each object once; the
   second is kubectl's steady state). --force-conflicts because HTTPRoute
   ``spec.rules`` is an atomic list into which the server defaults
   ``backendRefs[].weight: 1``: a second manager applying the rendered
   north-south routes (no weight) conflicts with sidecarless.mesh on it,
4. the object apply alone, creating everything: the same mesh moved to fresh
   namespaces (prefix ``c-`` for the collection, ``k-`` for kubectl, own mesh
   name, no LB-IPAM pool or L2 policy of its own, the Gateway draws from the
   first mesh's pool), ``--tags mesh`` beside ``kubectl apply`` of its render
   directory, so both create the same number of objects on the same cluster.

"The object apply" compared with kubectl is the k8s_apply task alone (its
time from ansible.posix.profile_tasks: module start-up, API discovery, the
lists and applies), printed beside the wall time of the whole ``--tags mesh``
playbook; kubectl's figure is its whole process. kubectl gets a fresh
discovery cache (``--cache-dir``) for its first run on each cluster and
reuses it afterwards, as kubernetes.core reuses its own discovery cache file.

The generated mesh (``mesh_variables``): N apps ``app<i>`` spread over
min(N, 25) namespaces ``team<k>``, port 8080, each with a canary split
(versions stable 90 / canary 10, so three Services and a GAMMA HTTPRoute),
a north-south route ``/app<i>`` on Gateway ``edge`` (namespace ``edge``),
the previous app as allowed caller, its own Dapr Shared instance
(Deployment, one daprd); the ingress Dapr Shared DaemonSet with a Local
Redirect Policy; default deny on; Cilium 1.20 with kube-proxy replacement
(API server 172.18.0.2:6443), LB-IPAM pool 172.18.255.208/28 and L2
announcements on ``^eth0$`` as the demo inventory has them. That is N + 3
Helm releases (Cilium, Dapr, ingress, one per app). Before converging, each
app gets two Deployments of one pod (labels app=app<i>, version=stable and
canary) in its namespace, created with the control plane's own identity so
they are not counted: daprd becomes Ready only once its app channel (the
app's Service) has a ready endpoint. The cluster has --nodes nodes (default
5: one tainted control plane and four workers of 110 pods each, enough for
the 300 pods of 100 apps).

Every ansible-playbook output, with profile_tasks timings, and the requests
of each phase are kept in --log-dir for a closer look. This script only
prints figures; nothing asserts on time.

Targets (issue 6): the no-op rerun of 100 apps writes nothing and makes at
most a few requests per kind, not one per object; t(converge 100) <= 4 x
t(converge 10); the object apply is not slower than kubectl's.

Usage: .venv/bin/python tools/benchmark_cluster.py [--sizes 10 100] [--nodes 5] [--log-dir DIR]
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from controlplane import binaries, testing  # noqa: E402
from benchmark import write_inventory  # noqa: E402  (tools/benchmark.py, beside this file)
from ansible_collections.sidecarless.mesh.plugins.module_utils.output import render_files  # noqa: E402
from ansible_collections.sidecarless.mesh.plugins.module_utils.render import render  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared")
CHARTS = os.path.abspath(os.environ.get("MESH_CHARTS_DIR", os.path.join(SHARED, "charts")))
UPSTREAM = os.path.abspath(os.environ.get("MESH_UPSTREAM_DIR", os.path.join(SHARED, "upstream")))
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")
WRITE_VERBS = testing.WRITE_VERBS
#: Requests per kind a no-op rerun may make and still count as "a few" when only one size is measured.
A_FEW = 5
#: The k8s_apply task of the mesh role (its name in roles/mesh/tasks/main.yml starts so).
APPLY_TASK = "Apply gateways, routes, services and policies"
NAMESPACES = 25


# -- the inventory ----------------------------------------------------------------------------------------

def mesh_variables(size, prefix="", name=None, pool=True):
    """Inventory variables of a mesh of ``size`` apps that converges on the test control plane."""
    apps = []
    spread = min(size, NAMESPACES)
    for index in range(size):
        previous = index - 1
        apps.append({
            "name": "app%d" % index,
            "namespace": "%steam%d" % (prefix, index % spread),
            "port": 8080,
            "versions": [{"name": "stable", "weight": 90}, {"name": "canary", "weight": 10}],
            "routes": [{"gateway": "edge", "path": "/app%d" % index}],
            "allowed_callers": ["app%d.%steam%d" % (previous, prefix, previous % spread)] if index else [],
            "dapr": {"strategy": "deployment", "replicas": 1},
        })
    return {
        "mesh_cluster_name": name or "bench%d" % size,
        "cilium_version": "1.20.0",
        "cilium_kube_proxy_replacement": True,
        "cilium_k8s_service_host": "172.18.0.2",
        "cilium_k8s_service_port": 6443,
        "cilium_lb_ipam_pools": [{"name": "bench", "blocks": ["172.18.255.208/28"]}] if pool else [],
        "cilium_l2_announcements": {"enabled": pool, "interfaces": ["^eth0$"]},
        "dapr_version": "1.18.3",
        "mesh_gateways": [{"name": "edge", "namespace": prefix + "edge",
                           "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}],
        "mesh_ingress": {"app_id": "ingress", "namespace": prefix + "edge", "strategy": "daemonset",
                         "gateway": "edge", "local_redirect": True},
        "mesh_apps": apps,
        "mesh_default_deny": True,
    }


def write_render_dir(folder, variables):
    """The render directory of ``variables`` as render mode writes it (in this process); returns its manifests/."""
    rendering = render(variables)
    for rel, text in render_files(rendering).items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return os.path.join(folder, "manifests"), len(rendering.objects()), len(rendering.releases)


def app_workloads(variables):
    """What a user deploys before the mesh: the apps' namespaces and one Deployment of one pod per version."""
    objects = []
    for namespace in sorted({app["namespace"] for app in variables["mesh_apps"]}):
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for app in variables["mesh_apps"]:
        for version in app["versions"]:
            labels = {"app": app["name"], "version": version["name"]}
            objects.append({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "%s-%s" % (app["name"], version["name"]), "namespace": app["namespace"]},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{
                        "name": "whoami", "image": "docker.io/traefik/whoami:v1.10.3",
                        "ports": [{"containerPort": app["port"]}],
                        "env": [{"name": "WHOAMI_PORT_NUMBER", "value": str(app["port"])},
                                {"name": "WHOAMI_NAME", "value": version["name"]}]}]}}},
            })
    return objects


# -- tools ------------------------------------------------------------------------------------------------

def helm_major():
    """Helm 3 for kubernetes.core < 6.5 (it breaks on Helm 4), else Helm 4: what the end-to-end tests use."""
    try:
        spec = importlib.util.find_spec("ansible_collections.kubernetes.core")
        with open(os.path.join(list(spec.submodule_search_locations)[0], "MANIFEST.json"), encoding="utf-8") as handle:
            version = yaml.safe_load(handle)["collection_info"]["version"]
        return 4 if tuple(int(p) for p in version.split(".")[:2]) >= (6, 5) else 3
    except (ImportError, AttributeError, OSError, ValueError, KeyError, TypeError):
        return 3


def chart(name):
    path = os.path.join(CHARTS, name)
    if not os.path.isfile(path):
        raise SystemExit("chart %s not found (set MESH_CHARTS_DIR)" % path)
    return path


class Audit(object):
    """The user's requests from the API server's audit log, read on from where the last look stopped."""

    def __init__(self, plane):
        self.path = plane.audit_log
        self.offset = 0

    def read(self):
        """Every complete event written since the previous read: [(verb, resource, uri, agent), ...]."""
        time.sleep(1.0)  # the log backend writes an event just after the response
        events = []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return events
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            resource = ref.get("resource") or ""
            if resource and ref.get("subresource"):
                resource += "/" + ref["subresource"]
            agent = (event.get("userAgent") or "?").split("/")[0].split(" ")[0]
            events.append((event.get("verb"), resource or "(discovery)", event.get("requestURI", ""), agent))
        return events


def is_write(request):
    return request[0] in WRITE_VERBS and "dryRun=All" not in request[2]


AGENTS = (("helm", "Helm"), ("kubectl", "kubectl"), ("python", "OpenAPI-Generator"))


def agent_of(request):
    for label, prefix in AGENTS:
        if request[3].startswith(prefix):
            return label
    return request[3]


def recap(output):
    match = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()))) if match else {}


def task_times(output):
    """[(task, seconds)] from the profile_tasks summary at the end of a playbook output, slowest first."""
    result = []
    tail = output.rsplit("=" * 20, 1)[-1] if "=" * 20 in output else output
    for line in tail.splitlines():
        match = re.match(r"^(.*\S) -+ (\d+\.\d+)s\s*$", line)
        if match:
            result.append((match.group(1), float(match.group(2))))
    return sorted(result, key=lambda item: -item[1])


class Phase(object):
    def __init__(self, name, wall, requests, output="", code=0, releases=None):
        self.name = name
        self.wall = wall
        self.requests = requests
        self.output = output
        self.code = code
        self.releases = releases
        self.recap = recap(output) if output else {}
        self.tasks = task_times(output) if output else []

    @property
    def writes(self):
        return [r for r in self.requests if is_write(r)]

    def per_kind(self):
        return collections.Counter(r[1] for r in self.requests)

    def agent(self, kind):
        """The client that made most requests of ``kind``."""
        counts = collections.Counter(agent_of(r) for r in self.requests if r[1] == kind)
        return counts.most_common(1)[0][0] if counts else "-"

    def apply_task(self):
        times = [t for name, t in self.tasks if APPLY_TASK in name]
        return times[0] if times else None


class Bench(object):
    """One fresh cluster, one mesh size: every phase in order."""

    def __init__(self, size, work, log_dir, nodes):
        self.size = size
        self.work = os.path.join(work, "size%d" % size)
        self.log_dir = log_dir
        self.nodes = nodes
        self.helm = binaries.helm(helm_major())
        self.kubectl = binaries.kubectl()
        os.makedirs(self.work)
        self.variables = mesh_variables(size)
        self.inventory = write_inventory(os.path.join(self.work, "inventory"), self.variables)
        self.render_dir = os.path.join(self.work, "render")
        self.kube = None
        self.audit = None
        self.phases = []
        self.counts = {}

    # -- helpers ------------------------------------------------------------------
    def extra_vars(self, tag, **extra):
        data = {
            "mesh_apply": True,
            "mesh_kubeconfig": self.kube.kubeconfig_path,
            "mesh_render_dir": self.render_dir,
            "gateway_api_src": os.path.join(UPSTREAM, "gateway-api", "standard"),
            "cilium_chart": chart("cilium-1.20.0.tgz"),
            "cilium_chart_repo_url": "",
            "dapr_chart": chart("dapr-1.18.3.tgz"),
            "dapr_chart_repo_url": "",
            "dapr_shared_chart": chart("dapr-shared-chart-1.16.0.tgz"),
            "dapr_wait_timeout": 900,
            "cilium_wait_timeout": 600,
            "mesh_wait_timeout": 300,
            "mesh_wait_interval": 1,
            # Exec into pods needs a kubelet; the simulated nodes have none (tests/controlplane/README.md).
            "cilium_agent_health_check": False,
        }
        data.update(extra)
        path = os.path.join(self.work, "vars-%s.yml" % tag)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle)
        return "@" + path

    def env(self):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", PY_COLORS="0",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
                   PATH="%s:%s:%s" % (os.path.dirname(self.helm), os.path.dirname(PLAYBOOK), os.environ["PATH"]),
                   HELM_CACHE_HOME=os.path.join(self.work, "helm-cache"),
                   HELM_CONFIG_HOME=os.path.join(self.work, "helm-config"),
                   HELM_DATA_HOME=os.path.join(self.work, "helm-data"),
                   # Ansible's own files (remote temp, caches) stay in the work directory, not in ~/.ansible
                   ANSIBLE_HOME=os.path.join(self.work, "ansible"),
                   ANSIBLE_REMOTE_TEMP=os.path.join(self.work, "ansible", "tmp"),
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.work, "ansible", "local"))
        env.pop("KUBECONFIG", None)  # the collection must use mesh_kubeconfig
        return env

    def save(self, phase):
        stem = os.path.join(self.log_dir, "%d-%02d-%s" % (self.size, len(self.phases), re.sub(r"\W+", "-", phase.name)))
        if phase.output:
            with open(stem + ".log", "w", encoding="utf-8") as handle:
                handle.write(phase.output)
        with open(stem + ".requests.json", "w", encoding="utf-8") as handle:
            json.dump(phase.requests, handle, indent=0)
        self.phases.append(phase)
        print("  %-34s %8.1f s  rc=%s  requests=%d writes=%d  (load average %.2f)" % (
            phase.name, phase.wall, phase.code, len(phase.requests), len(phase.writes), os.getloadavg()[0]),
            flush=True)
        return phase

    def releases(self):
        """Helm releases deployed (helm list -A), asked with the control plane's identity so it is not counted."""
        kubeconfig = os.path.join(self.kube.plane.state_dir, "system.kubeconfig")
        out = subprocess.run([self.helm, "list", "-A", "--all", "-o", "json", "--kubeconfig", kubeconfig],
                             env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, check=False).stdout
        try:
            items = json.loads(out) or []
        except ValueError:
            return None
        return sum(1 for item in items if item.get("status") == "deployed")

    def playbook(self, name, inventory, *args):
        self.audit.read()
        start = time.perf_counter()
        try:
            result = subprocess.run([PLAYBOOK, os.path.join(ROOT, "site.yml"), "-i", inventory] + list(args),
                                    cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True, timeout=3600, check=False)
            code, output = result.returncode, result.stdout
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout or ""
            code, output = "timeout", output.decode("utf-8", "replace") if isinstance(output, bytes) else output
        wall = time.perf_counter() - start
        requests = self.audit.read()
        return self.save(Phase(name, wall, requests, output, code, self.releases()))

    def kubectl_apply(self, name, manifests):
        self.audit.read()
        argv = [self.kubectl, "--kubeconfig", self.kube.kubeconfig_path, "--cache-dir",
                os.path.join(self.work, "kubectl-cache"), "apply", "--server-side", "--field-manager=bench-kubectl",
                "--force-conflicts", "-R", "-f", manifests]
        start = time.perf_counter()
        result = subprocess.run(argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=1800, check=False)
        wall = time.perf_counter() - start
        requests = self.audit.read()
        return self.save(Phase(name, wall, requests, "$ %s\n%s" % (" ".join(argv), result.stdout),
                               result.returncode))

    # -- the run ------------------------------------------------------------------
    def run(self):
        rendering = render(self.variables)
        self.counts = {"objects": len(rendering.objects()), "releases": len(rendering.releases),
                       "namespaces": len(rendering.files["00-namespaces.yaml"])}
        print("== %d apps: %d objects, %d Helm releases, %d namespaces; cluster of %d nodes ==" % (
            self.size, self.counts["objects"], self.counts["releases"], self.counts["namespaces"], self.nodes),
            flush=True)
        start = time.perf_counter()
        self.kube = testing.start(upstream=UPSTREAM, cni=False, nodes=self.nodes, crds=False)
        try:
            print("  control plane started in %.1f s (state %s)" % (time.perf_counter() - start,
                                                                    self.kube.plane.state_dir), flush=True)
            self.audit = Audit(self.kube.plane)
            for obj in app_workloads(self.variables):
                self.kube.put(obj, manager="bench-setup")
            self.phases_on_cluster()
        except BaseException:
            if self.kube is not None:
                with open(os.path.join(self.log_dir, "%d-cluster.log" % self.size), "w", encoding="utf-8") as handle:
                    handle.write(self.kube.logs(200))
            raise
        finally:
            self.kube.plane.stop()

    def phases_on_cluster(self):
        main = self.extra_vars("main")
        first = self.playbook("first converge", self.inventory, "-e", main)
        if first.code != 0:
            print(first.output[-6000:])
            with open(os.path.join(self.log_dir, "%d-cluster.log" % self.size), "w", encoding="utf-8") as handle:
                handle.write(self.kube.logs(200))
            return
        self.playbook("no-op rerun", self.inventory, "-e", main)
        self.playbook("collection --tags mesh (no-op)", self.inventory, "-e", main, "--tags", "mesh")
        manifests = os.path.join(self.render_dir, "manifests")
        self.kubectl_apply("kubectl apply (converged, 1st)", manifests)
        self.kubectl_apply("kubectl apply (converged, 2nd)", manifests)
        # The same objects created from nothing, in namespaces nobody used: c- for the collection, k- for kubectl.
        ours = mesh_variables(self.size, prefix="c-", name="bench%dc" % self.size, pool=False)
        inventory = write_inventory(os.path.join(self.work, "inventory-c"), ours)
        self.playbook("collection --tags mesh (fresh)", inventory, "-e",
                      self.extra_vars("fresh", mesh_render_dir=os.path.join(self.work, "render-c")), "--tags", "mesh")
        theirs = mesh_variables(self.size, prefix="k-", name="bench%dk" % self.size, pool=False)
        manifests, objects = write_render_dir(os.path.join(self.work, "render-k"), theirs)[:2]
        self.counts["fresh objects"] = objects
        self.kubectl_apply("kubectl apply (fresh)", manifests)


# -- the report -------------------------------------------------------------------------------------------

def phase_table(bench):
    print()
    print("-- %d apps: phases --" % bench.size)
    header = ("phase", "wall s", "apply s", "rc", "changed", "requests", "reads", "writes", "helm", "python",
              "kubectl", "releases")
    print("%-34s %8s %8s %4s %7s %8s %6s %6s %6s %6s %7s %8s" % header)
    for phase in bench.phases:
        agents = collections.Counter(agent_of(r) for r in phase.requests)
        apply_task = phase.apply_task()
        print("%-34s %8.1f %8s %4s %7s %8d %6d %6d %6d %6d %7d %8s" % (
            phase.name, phase.wall, "%.1f" % apply_task if apply_task is not None else "-", phase.code,
            phase.recap.get("changed", "-"), len(phase.requests), len(phase.requests) - len(phase.writes),
            len(phase.writes), agents["helm"], agents["python"], agents["kubectl"],
            "-" if phase.releases is None else phase.releases))


def kind_table(bench):
    phases = [p for p in bench.phases if p.name in ("first converge", "no-op rerun")]
    if len(phases) < 2:
        return
    first, rerun = phases
    print()
    print("-- %d apps: requests per resource (first converge | no-op rerun) --" % bench.size)
    print("%-44s %7s %7s | %7s %7s  %s" % ("resource", "total", "writes", "total", "writes", "rerun verbs"))
    kinds = sorted(set(first.per_kind()) | set(rerun.per_kind()),
                   key=lambda k: (-rerun.per_kind().get(k, 0), -first.per_kind().get(k, 0), k))
    for kind in kinds:
        verbs = collections.Counter(r[0] for r in rerun.requests if r[1] == kind)
        print("%-44s %7d %7d | %7d %7d  %s" % (
            kind, first.per_kind().get(kind, 0), sum(1 for r in first.writes if r[1] == kind),
            rerun.per_kind().get(kind, 0), sum(1 for r in rerun.writes if r[1] == kind),
            " ".join("%s=%d" % item for item in sorted(verbs.items()))))
    print()
    print("-- %d apps: slowest tasks (profile_tasks) --" % bench.size)
    for phase in (first, rerun):
        print("%s:" % phase.name)
        for name, seconds in phase.tasks[:10]:
            print("  %7.2f s  %s" % (seconds, name[:130]))


def summary(benches):
    done = [b for b in benches if len(b.phases) >= 2]
    print()
    print("== summary ==")
    print("%6s %8s %12s %10s %10s %10s %16s %11s %11s %11s %11s" % (
        "apps", "objects", "converge s", "rerun s", "rerun req", "rerun wr", "rerun max/kind", "mesh no-op",
        "kubectl 2nd", "mesh fresh", "kubectl new"))
    for bench in done:
        phases = dict((p.name, p) for p in bench.phases)
        rerun = phases["no-op rerun"]
        kind, most = (rerun.per_kind().most_common(1) or [("-", 0)])[0]

        def apply_figure(name, task=True):
            phase = phases.get(name)
            if phase is None:
                return "-"
            value = phase.apply_task() if task else phase.wall
            return "%.1f" % value if value is not None else "-"
        print("%6d %8d %12.1f %10.1f %10d %10d %16s %11s %11s %11s %11s" % (
            bench.size, bench.counts["objects"], phases["first converge"].wall, rerun.wall, len(rerun.requests),
            len(rerun.writes), "%d %s" % (most, kind), apply_figure("collection --tags mesh (no-op)"),
            apply_figure("kubectl apply (converged, 2nd)", False), apply_figure("collection --tags mesh (fresh)"),
            apply_figure("kubectl apply (fresh)", False)))
    print("(mesh no-op / mesh fresh: the k8s_apply task of site.yml --tags mesh; kubectl: its whole process)")
    if not done:
        return
    print()
    small, large = done[0], done[-1]
    if len(done) > 1:
        ratio = large.phases[0].wall / small.phases[0].wall
        print("t(converge %d) / t(converge %d) = %.2f (target <= 4): %s" % (
            large.size, small.size, ratio, "holds" if ratio <= 4 else "NOT met"))
    rerun = dict((p.name, p) for p in large.phases)["no-op rerun"]
    print("no-op rerun of %d apps: %d writes (target 0): %s; changed=%s" % (
        large.size, len(rerun.writes), "holds" if not rerun.writes else "NOT met", rerun.recap.get("changed")))
    if len(done) > 1:
        before = dict((p.name, p) for p in small.phases)["no-op rerun"].per_kind()
        growing = [(k, before.get(k, 0), n, rerun.agent(k)) for k, n in rerun.per_kind().items()
                   if n > before.get(k, 0)]
        growing.sort(key=lambda item: -item[2])
        print("no-op rerun requests per kind that grow with the apps (%d -> %d apps): %s" % (
            small.size, large.size, ", ".join("%s %d->%d (%s)" % g for g in growing) or "none"))
        print("  target (a few per kind, not one per object): %s" % ("holds" if not growing else "NOT met"))
    else:
        many = [(k, n) for k, n in rerun.per_kind().items() if n > A_FEW]
        text = ", ".join("%s %d" % m for m in many) or "none"
        print("no-op rerun kinds with more than %d requests: %s" % (A_FEW, text))
    if len(done) > 1:
        for name in ("first converge", "no-op rerun"):
            low = dict(dict((p.name, p) for p in small.phases)[name].tasks)
            high = dict(dict((p.name, p) for p in large.phases)[name].tasks)
            grown = sorted(set(low) | set(high), key=lambda k: low.get(k, 0) - high.get(k, 0))[:6]
            print("%s: tasks that grow most (s at %d apps -> %d apps):" % (name, small.size, large.size))
            for task in grown:
                print("  %7.2f -> %7.2f  %s" % (low.get(task, 0), high.get(task, 0), task[:120]))
    for bench in done:
        phases = dict((p.name, p) for p in bench.phases)
        for ours, theirs in (("collection --tags mesh (no-op)", "kubectl apply (converged, 2nd)"),
                             ("collection --tags mesh (fresh)", "kubectl apply (fresh)")):
            if ours not in phases or theirs not in phases or phases[ours].apply_task() is None:
                continue
            task, wall, kubectl = phases[ours].apply_task(), phases[ours].wall, phases[theirs].wall
            print("%d apps, %s: k8s_apply %.1f s (playbook %.1f s, %d requests) vs kubectl %.1f s (%d requests): "
                  "%s" % (bench.size, "steady state" if "no-op" in ours else "creating", task, wall,
                          len(phases[ours].requests), kubectl, len(phases[theirs].requests),
                          "not slower" if task <= kubectl else "SLOWER (%.1fx)" % (task / kubectl)))


def main():
    parser = argparse.ArgumentParser(description="Measure cluster mode for growing meshes on the test control plane.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--nodes", type=int, default=5, help="nodes of each cluster (the first is the control plane)")
    parser.add_argument("--log-dir", help="where playbook outputs and requests go (default build/bench-cluster-<time>)")
    args = parser.parse_args()
    log_dir = os.path.abspath(args.log_dir or os.path.join(ROOT, "build", "bench-cluster-%s" % time.strftime(
        "%Y%m%d-%H%M%S")))
    os.makedirs(log_dir, exist_ok=True)
    print("logs in %s" % log_dir, flush=True)
    benches = []
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench-cluster-", dir=os.path.join(ROOT, "build"))
    try:
        for size in args.sizes:
            bench = Bench(size, work, log_dir, args.nodes)
            benches.append(bench)
            bench.run()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for bench in benches:
            phase_table(bench)
            kind_table(bench)
        summary(benches)


if __name__ == "__main__":
    main()
