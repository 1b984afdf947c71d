# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tests use of the control plane: a started cluster plus a client of their own.

``Kube`` wraps a running ControlPlane with a few helpers that read the real
API (get by kind, list, create as another field manager) and the API
server's audit log (the requests the code under test made with the user's
kubeconfig). Nothing here shares code with the collection's modules.
"""

from __future__ import annotations

import glob
import os
import tempfile
import threading
import time

import yaml

from .cluster import ControlPlane
from .rest import APIError, Client, path_of

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


class Kube(object):
    def __init__(self, plane):
        self.plane = plane
        self.kubeconfig_path = plane.kubeconfig
        self.client = Client(os.path.join(plane.state_dir, "system.kubeconfig"), user_agent="mesh-test-checker")
        self._plurals = {}

    # -- discovery ----------------------------------------------------------------------
    def resource(self, kind, api_version=None):
        """(apiVersion, plural, namespaced) of a kind, from the server's discovery."""
        key = (kind, api_version)
        if key not in self._plurals:
            groups = [("v1", "/api/v1")]
            for group in self.client.get("/apis").get("groups") or []:
                for version in group.get("versions") or []:
                    groups.append((version["groupVersion"], "/apis/" + version["groupVersion"]))
            for group_version, path in groups:
                if api_version and group_version != api_version:
                    continue
                try:
                    listing = self.client.get(path)
                except APIError:
                    continue
                for item in listing.get("resources") or []:
                    if item.get("kind") == kind and "/" not in item["name"]:
                        self._plurals[key] = (group_version, item["name"], item.get("namespaced", False))
                        break
                if key in self._plurals:
                    break
            else:
                raise LookupError("the cluster does not serve kind %s %s" % (api_version or "", kind))
        return self._plurals[key]

    def path(self, kind, name=None, namespace=None, api_version=None, subresource=None):
        group_version, plural, namespaced = self.resource(kind, api_version)
        return path_of(group_version, plural, name, namespace if namespaced else None, subresource)

    # -- reads ----------------------------------------------------------------------------
    def get(self, kind, name, namespace=None, api_version=None):
        try:
            return self.client.get_or_none(self.path(kind, name, namespace, api_version))
        except LookupError:
            return None

    def items(self, kind, namespace=None, api_version=None, **query):
        try:
            return self.client.items(self.path(kind, namespace=namespace, api_version=api_version), **query)
        except LookupError:
            return []

    def put(self, obj, manager="someone-else"):
        """Create or update an object as another field manager (a user's or another tool's object)."""
        meta = obj["metadata"]
        return self.client.apply(self.path(obj["kind"], meta["name"], meta.get("namespace"), obj["apiVersion"]),
                                 obj, manager)

    def apply_file(self, path, manager="mesh-test-setup"):
        with open(path, encoding="utf-8") as handle:
            for obj in yaml.safe_load_all(handle):
                for item in (obj or {}).get("items", [obj]) if (obj or {}).get("kind") == "List" else [obj]:
                    if item:
                        self.put(item, manager)

    def install_crds(self, upstream, gateway_api="standard"):
        """The Gateway API CRDs of ``upstream``/gateway-api/<channel> and the Cilium CRDs, established."""
        files = sorted(glob.glob(os.path.join(upstream, "gateway-api", gateway_api, "*.yaml")))
        files += sorted(glob.glob(os.path.join(upstream, "cilium", "crds", "*.yaml")))
        names = []
        for path in files:
            with open(path, encoding="utf-8") as handle:
                for obj in yaml.safe_load_all(handle):
                    if obj and obj.get("kind") == "CustomResourceDefinition":
                        self.client.apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s"
                                          % obj["metadata"]["name"], obj, "mesh-test-setup")
                        names.append(obj["metadata"]["name"])
        self.wait(lambda: all(self.established(name) for name in names), 60, "CRDs established")
        self._plurals.clear()

    def established(self, name):
        crd = self.client.get_or_none("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s" % name)
        return crd is not None and any(c.get("type") == "Established" and c.get("status") == "True"
                                       for c in (crd.get("status") or {}).get("conditions") or [])

    @staticmethod
    def wait(predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))

    # -- what the code under test did ----------------------------------------------------
    def requests(self):
        """(verb, resource, requestURI) of every request made with the user's kubeconfig, in order."""
        return self.plane.requests()

    def writes(self):
        """Requests of the user's kubeconfig that changed something (server-side dry runs excluded)."""
        return [r for r in self.requests() if r[0] in WRITE_VERBS and "dryRun=All" not in r[2]]

    def logs(self, lines=60):
        return "\n".join("--- %s ---\n%s" % (name, self.plane.tail(name, lines))
                         for name in ("simulator", "kube-apiserver", "kube-controller-manager", "kube-scheduler"))


class NamespaceView(object):
    """One test's share of a cluster several tests use: its own namespace, its own request count.

    Objects the test names in ``kube-system`` live in the test's namespace
    instead, so tests written for a cluster of their own need no other change.
    """

    def __init__(self, kube, namespace):
        self.kube = kube
        self.namespace = namespace
        self.kubeconfig_path = kube.kubeconfig_path
        self.client = kube.client
        kube.client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": namespace}})
        self._start = len(kube.requests())

    def _ns(self, namespace):
        return self.namespace if namespace in (None, "kube-system") else namespace

    def get(self, kind, name, namespace=None, api_version=None):
        return self.kube.get(kind, name, self._ns(namespace), api_version)

    def put(self, obj, manager="someone-else"):
        obj = dict(obj, metadata=dict(obj["metadata"], namespace=self._ns(obj["metadata"].get("namespace"))))
        return self.kube.put(obj, manager)

    def path(self, kind, name=None, namespace=None, api_version=None, subresource=None):
        return self.kube.path(kind, name, self._ns(namespace), api_version, subresource)

    def requests(self):
        return [r for r in self.kube.requests()[self._start:] if "/namespaces/%s/" % self.namespace in r[2]]

    def writes(self):
        return [r for r in self.requests() if r[0] in WRITE_VERBS and "dryRun=All" not in r[2]]

    def wait(self, predicate, timeout, what):
        self.kube.wait(predicate, timeout, what)


def start(upstream=None, cni=False, nodes=3, crds=False):
    """A fresh control plane in a short temporary directory (Unix socket paths are limited to 107 bytes)."""
    plane = ControlPlane(state_dir=tempfile.mkdtemp(prefix="mesh-cp-"), nodes=nodes, upstream=upstream, cni=cni,
                         owner=os.getpid())
    plane.start()
    kube = Kube(plane)
    if crds:
        try:
            kube.install_crds(upstream)
        except BaseException:
            plane.stop()
            raise
    return kube


class Pool(object):
    """Fresh clusters without the wait: while a test uses one, the next of its kind starts in the background.

    Every test still gets a cluster nobody used before; only the start-up
    cost overlaps with the previous test.
    """

    def __init__(self, upstream):
        self.upstream = upstream
        self.spares = {}  # kind -> (thread, holder)
        # ansible-test units runs each test in a forked child that ends right after it: a spare started there
        # would only be killed by its watchdog, so clusters start when taken.
        self.prestart = "ansible_forked" not in os.environ.get("PYTEST_PLUGINS", "")

    def _start(self, kind):
        holder = {}

        def run():
            try:
                holder["kube"] = start(self.upstream, cni=kind == "kube", crds=kind == "kube")
            except BaseException as exc:  # pylint: disable=broad-except
                holder["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.spares[kind] = (thread, holder)

    def take(self, kind):
        if kind not in self.spares:
            self._start(kind)
        thread, holder = self.spares.pop(kind)
        thread.join()
        if self.prestart:
            self._start(kind)
        if "error" in holder:
            raise holder["error"]
        return holder["kube"]

    def close(self):
        for thread, holder in self.spares.values():
            thread.join()
            if "kube" in holder:
                holder["kube"].plane.stop()
        self.spares.clear()
