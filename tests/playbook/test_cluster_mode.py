# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml in cluster mode against an emulated API server.

Helm releases need charts and a real cluster (the molecule kind scenario);
what runs here is every step that talks to the API only: the gateway_api
role (CRDs from a local directory, the air-gapped path) and the mesh role
(apply, prune, wait for Programmed gateways), through site.yml with
--tags, as a user would run a partial converge.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from conftest import upstream_dir
from fake_apiserver import FakeAPIServer
from test_site_render import inventory_path, recap, run

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    with FakeAPIServer(program_gateways=True) as server:
        server.kubeconfig_path = server.kubeconfig(str(tmp_path / "kubeconfig"))
        yield server


def converge(cluster, tmp_path, *extra):
    args = ["-i", inventory_path("demo"), "-e", "mesh_apply=true", "-e", "mesh_kubeconfig=%s" % cluster.kubeconfig_path,
            "-e", "gateway_api_src=%s" % os.path.join(upstream_dir(), "gateway-api", "standard"),
            "-e", "mesh_render_dir=%s" % (tmp_path / "render"), "--tags", "gateway_api,mesh"] + list(extra)
    return run(args)


def test_converge_applies_crds_and_mesh_objects_and_is_idempotent(cluster, tmp_path):
    code, output = converge(cluster, tmp_path)
    assert code == 0, output[-4000:]
    crds = [k for k in cluster.objects if k[2] == "customresourcedefinitions"]
    assert len(crds) >= 7
    route = cluster.get("HTTPRoute", "whoami-split", "default")
    assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    assert cluster.get("CiliumLocalRedirectPolicy", "ingress-dapr-local", "default") is not None
    assert re.search(r"default/default-gateway: 172\.18\.255\.\d+", output), output[-3000:]
    code, output = converge(cluster, tmp_path)
    assert code == 0 and recap(output)["changed"] == 0, output[-4000:]


def test_check_mode_changes_nothing_in_the_cluster(cluster, tmp_path):
    code, output = converge(cluster, tmp_path, "--check")
    assert code == 0, output[-4000:]
    assert [k for k in cluster.objects if k[2] != "customresourcedefinitions"] == []


def test_objects_that_left_the_inventory_are_pruned(cluster, tmp_path):
    assert converge(cluster, tmp_path)[0] == 0
    smaller = tmp_path / "smaller.yml"
    smaller.write_text(yaml.safe_dump({"mesh_apps": [{"name": "whoami", "routes": [{"gateway": "default-gateway"}]}]}))
    code, output = converge(cluster, tmp_path, "-e", "@%s" % smaller)
    assert code == 0, output[-4000:]
    assert cluster.get("HTTPRoute", "whoami-split", "default") is None
    assert cluster.get("Service", "whoami-v1", "default") is None
    assert cluster.get("HTTPRoute", "whoami-default-gateway", "default") is not None


def test_unreachable_cluster_fails_with_a_clear_message(tmp_path):
    with FakeAPIServer() as server:
        kubeconfig = server.kubeconfig(str(tmp_path / "kubeconfig"))
    code, output = run(["-i", inventory_path("demo"), "-e", "mesh_apply=true", "-e", "mesh_kubeconfig=%s" % kubeconfig,
                        "-e", "mesh_render_dir=%s" % (tmp_path / "render"), "--tags", "mesh"])
    assert code != 0
    assert "cannot reach the Kubernetes API" in output or "Connection refused" in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output


def test_helm_4_with_an_old_kubernetes_core_is_refused_before_any_change(cluster, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    helm = fake_bin / "helm"
    helm.write_text("#!/bin/sh\necho v4.0.1+g0123abc\n")
    helm.chmod(0o755)
    code, output = run(["-i", inventory_path("demo"), "-e", "mesh_apply=true",
                        "-e", "mesh_kubeconfig=%s" % cluster.kubeconfig_path,
                        "-e", "mesh_render_dir=%s" % (tmp_path / "render"), "--tags", "cilium"],
                       extra_env={"PATH": "%s:%s" % (fake_bin, os.environ["PATH"])})
    assert code != 0
    assert "kubernetes.core 6.2.0 cannot drive helm v4.0.1" in output, output[-3000:]
    assert cluster.writes() == []


def test_reset_needs_confirmation_and_removes_only_this_meshs_objects(cluster, tmp_path):
    assert converge(cluster, tmp_path)[0] == 0
    foreign = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "keep-me", "namespace": "default"},
               "spec": {"ports": [{"port": 80}]}}
    cluster.put(foreign)
    base = ["-i", inventory_path("demo"), "-e", "mesh_kubeconfig=%s" % cluster.kubeconfig_path, "--skip-tags", "helm"]
    code, output = run(base, playbook="playbooks/reset.yml")
    assert code != 0 and "-e reset_confirm=demo" in output
    assert cluster.get("HTTPRoute", "whoami-split", "default") is not None
    code, output = run(base + ["-e", "reset_confirm=demo"], playbook="playbooks/reset.yml")
    assert code == 0, output[-3000:]
    left = [k for k in cluster.objects if k[0] not in ("apiextensions.k8s.io", "admissionregistration.k8s.io")]
    assert left == [("", "v1", "services", "default", "keep-me")], left
    assert [k for k in cluster.objects if k[2] == "customresourcedefinitions"], "the Gateway API CRDs stay"
