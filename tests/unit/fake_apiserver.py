# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated Kubernetes API server for module tests.

A real HTTP server on 127.0.0.1 that keeps objects in memory and answers
the requests the collection's modules make through the kubernetes Python
client: discovery (/api, /apis), get, list with label selectors, create,
server-side apply (PATCH application/apply-patch+yaml, which creates a
missing object and merges fields into an existing one), delete, and
``dryRun=All`` on every write. resourceVersion changes only when an object
really changes, as on a real server, so a module's no-op detection is
tested against server behaviour, not against a mock of its own calls.

It is deliberately small: no managedFields, no field ownership conflicts,
no admission. Tests that need those run on the molecule kind scenario.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import yaml

#: (group, version, plural, kind, namespaced)
RESOURCES = [
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding",
     False),
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "services", "Service", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "pods", "Pod", True),
    ("apps", "v1", "daemonsets", "DaemonSet", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("gateway.networking.k8s.io", "v1", "gateways", "Gateway", True),
    ("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", True),
    ("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", True),
    ("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", False),
    ("cilium.io", "v2", "ciliumlocalredirectpolicies", "CiliumLocalRedirectPolicy", True),
    ("cilium.io", "v2", "ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", False),
    ("cilium.io", "v2alpha1", "ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", False),
]
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation")


def _merge(live, patch):
    """Apply-style merge: mappings merge, everything else replaces."""
    result = copy.deepcopy(live)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class FakeAPIServer(object):
    def __init__(self, resources=None, program_gateways=False):
        self.resources = list(resources or RESOURCES)
        self.program_gateways = program_gateways  # act like Cilium: give each Gateway an address
        self.objects = {}  # (group, version, plural, namespace, name) -> object
        self.requests = []  # (method, path, query) of every request, for tests that count writes
        self._version = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def kubeconfig(self, path):
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        }
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
        return path

    # -- state helpers for tests -----------------------------------------------------------
    def put(self, obj):
        """Store ``obj`` as if created earlier by someone."""
        group, version = _split_api_version(obj["apiVersion"])
        plural = self._plural(group, version, obj["kind"])
        with self._lock:
            self._store((group, version, plural, obj["metadata"].get("namespace"), obj["metadata"]["name"]),
                        copy.deepcopy(obj), bump=False)

    def get(self, kind, name, namespace=None):
        for (group, version, plural, ns, obj_name), obj in self.objects.items():
            if obj["kind"] == kind and obj_name == name and ns == namespace:
                return obj
        return None

    def writes(self):
        return [r for r in self.requests if r[0] in ("POST", "PATCH", "PUT", "DELETE") and "dryRun" not in r[2]]

    def _plural(self, group, version, kind):
        for res in self.resources:
            if res[0] == group and res[1] == version and res[3] == kind:
                return res[2]
        raise KeyError(kind)

    def _store(self, key, obj, bump=True):
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-11-27T00:00:00Z")
        meta["resourceVersion"] = str(self._version)
        if bump or "generation" not in meta:
            meta["generation"] = int(meta.get("generation", 0)) + 1
        if self.program_gateways and obj.get("kind") == "Gateway":
            obj["status"] = {
                "addresses": [{"type": "IPAddress", "value": "172.18.255.%d" % (200 + len(self.objects) % 50)}],
                "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                               {"type": "Programmed", "status": "True", "reason": "Programmed"}],
            }
        self.objects[key] = obj

    # -- HTTP -------------------------------------------------------------------------------
    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not raw:
                    return {}
                return yaml.safe_load(raw.decode())

            def _dispatch(self, method):
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query)
                server.requests.append((method, parsed.path, query))
                try:
                    code, body = server._route(method, parsed.path, query, self._body() if method != "GET" else None,
                                               self.headers.get("Content-Type", ""))
                except Exception as exc:  # a bug in a test should show, not hang
                    code, body = 500, _status(500, "InternalError", repr(exc))
                self._send(code, body)

            def do_GET(self):
                self._dispatch("GET")

            def do_POST(self):
                self._dispatch("POST")

            def do_PATCH(self):
                self._dispatch("PATCH")

            def do_PUT(self):
                self._dispatch("PUT")

            def do_DELETE(self):
                self._dispatch("DELETE")

        return Handler

    def _route(self, method, path, query, body, content_type):
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            return 200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0"}
        if not parts or parts[0] not in ("api", "apis"):
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        discovery = parts in (["api"], ["apis"]) or (parts[:1] == ["api"] and len(parts) == 2) or \
            (parts[:1] == ["apis"] and len(parts) in (2, 3))
        if discovery:
            return self._discovery(parts)
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        res = [r for r in self.resources if r[0] == group and r[1] == version and r[2] == plural]
        if not res:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        dry_run = "dryRun" in query
        with self._lock:
            if method in ("POST", "PATCH") and namespace and not self._namespace_exists(namespace):
                return 404, _status(404, "NotFound", 'namespaces "%s" not found' % namespace)
            if method == "GET" and name is None:
                return 200, self._list(group, version, plural, namespace, query)
            key = (group, version, plural, namespace, name)
            if method == "GET":
                if key not in self.objects:
                    return 404, _status(404, "NotFound", '%s "%s" not found' % (plural, name))
                return 200, self.objects[key]
            if method == "POST":
                name = body["metadata"]["name"]
                key = (group, version, plural, namespace or body["metadata"].get("namespace"), name)
                if key in self.objects:
                    return 409, _status(409, "AlreadyExists", '%s "%s" already exists' % (plural, name))
                obj = copy.deepcopy(body)
                if not dry_run:
                    self._store(key, obj)
                return 201, obj
            if method == "PATCH":
                if "apply-patch" not in content_type:
                    return 415, _status(415, "UnsupportedMediaType", "only server-side apply is emulated")
                if "fieldManager" not in query:
                    return 400, _status(400, "BadRequest", "PATCH is not supported without a field manager")
                live = self.objects.get(key)
                if live is None:
                    obj = copy.deepcopy(body)
                    obj.setdefault("metadata", {})["namespace"] = namespace
                    if namespace is None:
                        obj["metadata"].pop("namespace")
                    if not dry_run:
                        self._store(key, obj)
                    return 201, obj
                merged = _merge(live, body)
                if _strip(merged) != _strip(live) and not dry_run:
                    self._store(key, merged)
                    return 200, merged
                return 200, merged
            if method == "DELETE":
                if key not in self.objects:
                    return 404, _status(404, "NotFound", '%s "%s" not found' % (plural, name))
                obj = self.objects[key]
                if not dry_run:
                    del self.objects[key]
                return 200, obj
        return 405, _status(405, "MethodNotAllowed", method)

    def _namespace_exists(self, namespace):
        """Like the API server: writes into a namespace need the namespace (default ones always exist)."""
        if namespace in ("default", "kube-system", "kube-public", "kube-node-lease"):
            return True
        return ("", "v1", "namespaces", None, namespace) in self.objects

    def _list(self, group, version, plural, namespace, query):
        selector = {}
        for term in (query.get("labelSelector") or [""])[0].split(","):
            if "=" in term:
                key, value = term.split("=", 1)
                selector[key.strip()] = value.strip()
        kind = [r[3] for r in self.resources if r[0] == group and r[1] == version and r[2] == plural][0]
        items = []
        for (g, v, p, ns, name), obj in sorted(self.objects.items(), key=lambda item: str(item[0])):
            if (g, v, p) != (group, version, plural) or (namespace and ns != namespace):
                continue
            labels = obj.get("metadata", {}).get("labels") or {}
            if all(labels.get(k) == val for k, val in selector.items()):
                items.append(obj)
        api_version = "%s/%s" % (group, version) if group else version
        return {"apiVersion": api_version, "kind": kind + "List", "metadata": {"resourceVersion": str(self._version)},
                "items": items}

    def _discovery(self, parts):
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if parts == ["apis"]:
            groups = {}
            for group, version, _plural, _kind, _ns in self.resources:
                if group:
                    groups.setdefault(group, [])
                    if version not in groups[group]:
                        groups[group].append(version)
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": name, "versions": [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions],
                 "preferredVersion": {"groupVersion": "%s/%s" % (name, versions[0]), "version": versions[0]}}
                for name, versions in groups.items()]}
        if parts[0] == "api":
            group, version = "", parts[1]
        elif len(parts) == 2:
            versions = sorted({r[1] for r in self.resources if r[0] == parts[1]})
            return 200, {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1], "versions": [
                {"groupVersion": "%s/%s" % (parts[1], v), "version": v} for v in versions]}
        else:
            group, version = parts[1], parts[2]
        resources = [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                      "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                     for g, v, plural, kind, namespaced in self.resources if g == group and v == version]
        return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                     "groupVersion": "%s/%s" % (group, version) if group else version, "resources": resources}


def _strip(obj):
    result = copy.deepcopy(obj)
    for field in _SERVER_FIELDS:
        result.get("metadata", {}).pop(field, None)
    return result


def _split_api_version(api_version):
    if "/" in api_version:
        return tuple(api_version.split("/", 1))
    return "", api_version


def _status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
