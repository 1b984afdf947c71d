# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal JSON client of the Kubernetes API for the simulator and the tests.

It speaks plain HTTPS with the kubeconfig's client certificate over one
kept-alive connection, and counts its requests. The collection itself uses
kubernetes.core's client; this one exists so that the test side does not
share code (or bugs) with the code under test.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.parse

import yaml


class APIError(Exception):
    def __init__(self, status, body, method, path):
        self.status = status
        self.body = body
        try:
            message = json.loads(body).get("message", body)
        except (ValueError, AttributeError):
            message = body
        super().__init__("%s %s: %s %s" % (method, path, status, message))


class Client(object):
    def __init__(self, kubeconfig, user_agent="sidecarless-mesh-test"):
        with open(kubeconfig, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        url = urllib.parse.urlparse(cluster["server"])
        self.host, self.port = url.hostname, url.port or 443
        self.ca_file = cluster["certificate-authority"]
        self.context = ssl.create_default_context(cafile=self.ca_file)
        self.context.load_cert_chain(user["client-certificate"], user["client-key"])
        self.user_agent = user_agent
        self._local = threading.local()
        self.requests = 0

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
            self._local.conn = conn
        return conn

    def request(self, method, path, body=None, content_type="application/json", query=None):
        if query:
            path = "%s?%s" % (path, urllib.parse.urlencode(query))
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                text = answer.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        self.requests += 1
        if answer.status >= 400:
            raise APIError(answer.status, text, method, path)
        return json.loads(text) if text else {}

    def get(self, path, **query):
        return self.request("GET", path, query=query or None)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except APIError as exc:
            if exc.status == 404:
                return None
            raise

    def items(self, path, **query):
        return self.get(path, **query).get("items") or []

    def create(self, path, body):
        return self.request("POST", path, body)

    def apply(self, path, body, manager, force=True):
        return self.request("PATCH", path, body, content_type="application/apply-patch+yaml",
                            query={"fieldManager": manager, "force": "true" if force else "false"})

    def merge_patch(self, path, body, manager=None):
        return self.request("PATCH", path, body, content_type="application/merge-patch+json",
                            query={"fieldManager": manager} if manager else None)

    def replace(self, path, body, manager=None):
        return self.request("PUT", path, body, query={"fieldManager": manager} if manager else None)

    def delete(self, path, **query):
        try:
            return self.request("DELETE", path, query=query or None)
        except APIError as exc:
            if exc.status == 404:
                return None
            raise


def path_of(api_version, plural, name=None, namespace=None, subresource=None):
    """The REST path of a resource: path_of("apps/v1", "deployments", "x", "ns")."""
    base = "/api/v1" if api_version == "v1" else "/apis/%s" % api_version
    if namespace:
        base += "/namespaces/%s" % namespace
    base += "/" + plural
    if name:
        base += "/" + name
    if subresource:
        base += "/" + subresource
    return base
