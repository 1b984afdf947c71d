# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight role on this machine as a node: it reports, and changes nothing."""

from __future__ import annotations

import os

import pytest

from conftest import ROOT
from test_site_render import run as run_playbook

pytestmark = pytest.mark.slow


def test_failed_checks_are_reported_together_and_nothing_changes(tmp_path):
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: sidecarless.mesh.preflight\n"
        "      vars:\n"
        "        preflight_min_kernel: '999.0'\n"
        "        cilium_encryption: ipsec\n")
    code, output = run_playbook(["-i", os.path.join(ROOT, "inventories", "demo")], playbook=str(playbook))
    assert code != 0
    assert "localhost is not ready for the mesh:" in output
    assert "is older than 999.0" in output
    assert "changed=0" in output
