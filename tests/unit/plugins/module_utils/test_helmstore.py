# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm release Secrets decoded as helm_info reports them (the end-to-end tests read real ones Helm 3 and 4 wrote)."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.helmstore import StoredReleaseError, stored_releases


def secret(name, namespace, revision, status, values, chart_version="1.16.0", compress=True):
    release = {"name": name, "namespace": namespace, "version": revision, "info": {"status": status},
               "chart": {"metadata": {"name": "dapr-shared-chart", "version": chart_version, "appVersion": "1.15.7"}},
               "config": values}
    raw = json.dumps(release).encode()
    helm = base64.b64encode(gzip.compress(raw) if compress else raw)
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, revision), "namespace": namespace,
                         "labels": {"owner": "helm", "name": name, "version": str(revision), "status": status}},
            "data": {"release": base64.b64encode(helm).decode()}}


RELEASES = [{"name": "cart-shared", "namespace": "shop"}, {"name": "ingress-shared", "namespace": "edge"},
            {"name": "cart-shared", "namespace": "other"}]


def test_the_latest_revision_of_each_release_in_helm_info_shape():
    secrets = [secret("cart-shared", "shop", 1, "superseded", {"shared": {"appId": "old"}}),
               secret("cart-shared", "shop", 10, "deployed", {"shared": {"appId": "cart"}}, compress=False),
               secret("cart-shared", "shop", 2, "superseded", {"shared": {"appId": "older"}}),
               secret("ingress-shared", "edge", 3, "pending-upgrade", {}, chart_version="1.15.0")]
    first, second, third = stored_releases(secrets, RELEASES)
    assert first["status"] == {"name": "cart-shared", "namespace": "shop", "revision": "10", "status": "deployed",
                               "chart": "dapr-shared-chart-1.16.0", "app_version": "1.15.7",
                               "values": {"shared": {"appId": "cart"}}}, "revision 10 beats 2 (numbers, not text)"
    assert second["status"]["status"] == "pending-upgrade" and second["status"]["chart"] == "dapr-shared-chart-1.15.0"
    assert third == {"status": {}}, "same name in another namespace is another release"


def test_secrets_that_are_not_helm_releases_are_ignored():
    other = secret("cart-shared", "shop", 5, "deployed", {})
    other["type"] = "Opaque"
    assert stored_releases([other], RELEASES[:1]) == [{"status": {}}]


def test_a_secret_that_does_not_decode_is_an_error_naming_it():
    broken = secret("ingress-shared", "edge", 1, "deployed", {})
    broken["data"]["release"] = base64.b64encode(b"not base64 at all!").decode()
    with pytest.raises(StoredReleaseError, match="does not hold a Helm release"):
        stored_releases([broken], RELEASES[1:2])
