# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared test setup: import path, upstream data, inventories.

Upstream schemas and chart values are read from $MESH_UPSTREAM_DIR (default
../shared/upstream beside the checkout). When they are missing the
conformance tests are skipped with a banner at the end of the run, or fail
when $MESH_REQUIRE_UPSTREAM or $CI is set (CI runs with CI=true).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "sidecarless", "mesh")
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", ".."), LINK)
for _path in (COLLECTIONS, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "unit"),
              os.path.join(ROOT, "tests", "conformance")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def _keep_out_of_home():
    """Point Ansible's home and the tools' caches at one temporary directory for the session.

    ansible-playbook keeps its local temp files and galaxy cache under
    ANSIBLE_HOME (~/.ansible), ansible-lint, molecule and ansible-compat
    theirs under XDG_CACHE_HOME (~/.cache): the suite sets both so that it
    writes only into the checkout and temporary directories. The one
    exception is deliberate: the test control plane's binaries stay cached
    where tests/controlplane/binaries.py keeps them (resolved here, before
    XDG_CACHE_HOME moves), so a second run does not rebuild them.
    """
    if os.environ.get("MESH_TEST_HOME_ISOLATED"):
        return  # a pytest started by the suite itself
    from controlplane import binaries  # pylint: disable=import-outside-toplevel
    os.environ.setdefault("MESH_TOOLS_CACHE", binaries.cache_root())
    base = tempfile.mkdtemp(prefix="mesh-test-home-")
    os.environ["ANSIBLE_HOME"] = os.path.join(base, "ansible")
    # remote_tmp does not follow ANSIBLE_HOME (it is ~/.ansible/tmp on the target, here localhost).
    os.environ["ANSIBLE_REMOTE_TEMP"] = os.path.join(base, "ansible", "remote-tmp")
    os.environ["XDG_CACHE_HOME"] = os.path.join(base, "cache")
    os.environ["MESH_TEST_HOME_ISOLATED"] = base
    _CREATED_HOME.append(base)


_CREATED_HOME = []
_keep_out_of_home()
UPSTREAM = os.path.abspath(os.environ.get("MESH_UPSTREAM_DIR", os.path.join(ROOT, "..", "shared", "upstream")))
_MISSING_UPSTREAM = []


def upstream_dir():
    """The upstream data directory, or skip/fail loudly when it is absent."""
    if os.path.isdir(os.path.join(UPSTREAM, "cilium")):
        return UPSTREAM
    message = ("upstream schemas not found at %s: set MESH_UPSTREAM_DIR to the directory holding cilium/, "
               "gateway-api/, dapr/ and dapr-shared/ (conformance NOT checked)" % UPSTREAM)
    if os.environ.get("MESH_REQUIRE_UPSTREAM") or os.environ.get("CI"):
        pytest.fail(message)
    _MISSING_UPSTREAM.append(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def upstream():
    return upstream_dir()


#: What the suite must leave alone in the user's home: Ansible's home, the caches, and where Go and npm
#: keep theirs by default; the control plane's tool cache (which holds Go's and npm's caches while it
#: builds, see tests/controlplane/binaries.py) excepted.
_HOME_WATCHED = tuple(os.path.expanduser(p) for p in ("~/.ansible", "~/.cache", "~/go", "~/.npm"))
_HOME_EXCEPTED = ("sidecarless-mesh",)
_HOME_BEFORE = {}
_HOME_WRITTEN = []


def _home_files():
    found = {}
    for top in _HOME_WATCHED:
        for folder, dirs, files in os.walk(top):
            if folder == top:
                dirs[:] = [d for d in dirs if d not in _HOME_EXCEPTED]
            for name in files + dirs:
                path = os.path.join(folder, name)
                try:
                    found[path] = os.lstat(path).st_mtime_ns
                except OSError:
                    pass
    return found


def pytest_configure(config):
    """The suite's markers, registered here too: ansible-test units runs pytest with its own ini file."""
    for line in ("slow: runs an external tool (ansible-playbook, ansible-lint, ansible-test); part of the full suite",
                 "cluster: runs against the real test control plane (tests/controlplane); part of the full suite"):
        config.addinivalue_line("markers", line)


def pytest_sessionstart(session):
    del session
    _HOME_BEFORE.update(_home_files())


def pytest_sessionfinish(session, exitstatus):
    del exitstatus
    after = _home_files()
    _HOME_WRITTEN.extend(sorted(path for path, mtime in after.items() if _HOME_BEFORE.get(path) != mtime))
    if _HOME_WRITTEN:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    for base in _CREATED_HOME:
        shutil.rmtree(base, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if _HOME_WRITTEN:
        terminalreporter.write_sep("!", "THE SUITE WROTE INTO YOUR HOME (it must not)", red=True, bold=True)
        for path in _HOME_WRITTEN[:20]:
            terminalreporter.write_line(path, red=True)
    if _MISSING_UPSTREAM:
        terminalreporter.write_sep("!", "CONFORMANCE NOT CHECKED", red=True, bold=True)
        terminalreporter.write_line(_MISSING_UPSTREAM[0], red=True)
    if _NO_CONTROL_PLANE:
        terminalreporter.write_sep("!", "CLUSTER MODE NOT TESTED AGAINST A REAL API SERVER", red=True, bold=True)
        terminalreporter.write_line(_NO_CONTROL_PLANE[0], red=True)


# -- the real control plane (tests/controlplane) -----------------------------------------
_NO_CONTROL_PLANE = []


@pytest.fixture(scope="session")
def control_plane_binaries():
    """Build (once, cached outside the checkout) or find the control plane; skip loudly without Go."""
    from controlplane import binaries  # pylint: disable=import-outside-toplevel

    try:
        return binaries.control_plane()
    except (OSError, binaries.BuildError) as exc:
        message = "the test control plane could not be built (%s): cluster tests NOT run" % str(exc)[:2000]
        if os.environ.get("CI") or os.environ.get("MESH_REQUIRE_CLUSTER"):
            pytest.fail(message)
        _NO_CONTROL_PLANE.append(message)
        pytest.skip(message)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


#: Written into ansible-test's temporary HOME by tests/quality (test_ansible_test_units): there the cluster tests
#: are skipped, since make test runs them with pytest in both lanes (see that test).
SKIP_CLUSTER_MARKER = ".sidecarless-mesh-skip-cluster-tests"


@pytest.fixture(scope="session")
def cluster_pool(control_plane_binaries, upstream):
    if os.path.exists(os.path.join(os.path.expanduser("~"), SKIP_CLUSTER_MARKER)):
        pytest.skip("cluster test skipped under ansible-test units: each forked child would start a control plane "
                    "of its own; make test runs these tests with pytest, in both lanes, against the real control "
                    "plane")
    del control_plane_binaries
    from controlplane import testing  # pylint: disable=import-outside-toplevel

    pool = testing.Pool(upstream)
    yield pool
    pool.close()


def _cluster(request, pool, kind):
    kube_ = pool.take(kind)
    yield kube_
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        sys.stderr.write("\n==== control plane logs of %s ====\n%s\n" % (request.node.nodeid, kube_.logs(25)))
    kube_.plane.stop()


@pytest.fixture
def kube(request, cluster_pool):
    """A fresh real control plane whose nodes are Ready (a CNI is assumed), Gateway API and Cilium CRDs installed."""
    yield from _cluster(request, cluster_pool, "kube")


@pytest.fixture(scope="module")
def shared_kube(request, cluster_pool):
    """One real control plane for the tests of a module that each work in a namespace of their own."""
    yield from _cluster(request, cluster_pool, "kube")


@pytest.fixture
def namespaced_kube(shared_kube, request):
    """A fresh namespace of the module's shared cluster (names in kube-system map to it)."""
    from controlplane import testing  # pylint: disable=import-outside-toplevel

    name = "t%d-%s" % (len(getattr(shared_kube, "_views", [])), request.node.name.lower())
    name = "".join(c if c.isalnum() else "-" for c in name)[:50].strip("-")
    view = testing.NamespaceView(shared_kube, name)
    shared_kube._views = getattr(shared_kube, "_views", []) + [name]  # pylint: disable=protected-access
    return view


@pytest.fixture
def bare_cluster(request, cluster_pool):
    """A fresh real control plane as kind gives it without a default CNI: nodes NotReady until Cilium runs."""
    yield from _cluster(request, cluster_pool, "bare")


def load_inventory_vars(name):
    """Variables of inventories/<name> (or tests/inventories/<name>), group_vars/all merged."""
    for base in (os.path.join(ROOT, "inventories", name), os.path.join(ROOT, "tests", "inventories", name)):
        folder = os.path.join(base, "group_vars", "all")
        if os.path.isdir(folder):
            result = {}
            for file_name in sorted(os.listdir(folder)):
                if file_name.endswith((".yml", ".yaml")):
                    with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                        result.update(yaml.safe_load(handle) or {})
            return result
    raise LookupError("no inventory %r" % name)


def load_bad_cases(playbook_only=False):
    """The bad-inventory corpus: (name, variables overlaying the demo, expected substrings).

    Every case runs through the core (tests/unit); the ones marked ``playbook: true``, one or more per stage of
    validation, also through ansible-playbook (tests/playbook), at about three seconds each."""
    folder = os.path.join(ROOT, "tests", "bad_inventories")
    cases = []
    for file_name in sorted(os.listdir(folder)):
        if file_name.endswith(".yml"):
            with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            if playbook_only and not data.get("playbook"):
                continue
            cases.append((file_name[:-4], data["vars"], data["expect"]))
    return cases


#: Inventories every render/conformance test runs over.
INVENTORIES = ("demo", "example-baremetal", "multi-namespace", "host-network", "minimal")
