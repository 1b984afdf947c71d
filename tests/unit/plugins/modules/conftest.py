# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fresh emulated API server per test, with a kubeconfig pointing at it."""

from __future__ import annotations

import pytest

from fake_apiserver import FakeAPIServer


@pytest.fixture
def api(tmp_path):
    with FakeAPIServer() as server:
        server.kubeconfig_path = server.kubeconfig(str(tmp_path / "kubeconfig"))
        yield server
