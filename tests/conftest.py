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
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "sidecarless", "mesh")
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", ".."), LINK)
for _path in (COLLECTIONS, os.path.join(ROOT, "tests", "unit"), os.path.join(ROOT, "tests", "conformance")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

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


def pytest_terminal_summary(terminalreporter):
    if _MISSING_UPSTREAM:
        terminalreporter.write_sep("!", "CONFORMANCE NOT CHECKED", red=True, bold=True)
        terminalreporter.write_line(_MISSING_UPSTREAM[0], red=True)


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


def load_bad_cases():
    """The bad-inventory corpus: (name, variables overlaying the demo, expected substrings)."""
    folder = os.path.join(ROOT, "tests", "bad_inventories")
    cases = []
    for file_name in sorted(os.listdir(folder)):
        if file_name.endswith(".yml"):
            with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            cases.append((file_name[:-4], data["vars"], data["expect"]))
    return cases


#: Inventories every render/conformance test runs over.
INVENTORIES = ("demo", "example-baremetal", "multi-namespace", "host-network", "minimal")


@pytest.fixture
def api(tmp_path):
    """A fresh emulated API server, with a kubeconfig pointing at it (module tests)."""
    from fake_apiserver import FakeAPIServer  # pylint: disable=import-outside-toplevel

    with FakeAPIServer() as server:
        server.kubeconfig_path = server.kubeconfig(str(tmp_path / "kubeconfig"))
        yield server
