# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role embedded in a user's playbook answers bad input as site.yml does.

Ansible checks a role's argument spec before its first task and answers a
bad nested value with ``argument 'port' is of type str found in
'mesh_apps'`` plus the whole spec. Every role depends on
sidecarless.mesh.validate, which runs before that check; so the user sees
the variable path and what is allowed, and nothing is contacted (the
kubeconfig points nowhere).
"""

from __future__ import annotations

import pytest
import yaml

from test_site_render import run

pytestmark = pytest.mark.slow

ROLES = ["render", "gateway_api", "cilium", "dapr", "mesh", "dapr_shared", "verify", "preflight"]


def write_localhost_inventory(path):
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": local}}}))


@pytest.mark.parametrize("role", ROLES)
def test_a_role_used_alone_reports_bad_input_with_its_variable_path(tmp_path, role):
    play = [{"name": "Embed one role", "hosts": "localhost", "gather_facts": False,
             "vars": {"mesh_apply": True, "mesh_kubeconfig": str(tmp_path / "no-such-kubeconfig"),
                      "mesh_render_dir": str(tmp_path / "out"),
                      "mesh_apps": [{"name": "shop", "port": "eighty"}],
                      "mesh_gateways": [{"name": "web", "listeners": [{"name": "http", "port": 80}]}]},
             "roles": ["sidecarless.mesh.%s" % role]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    write_localhost_inventory(tmp_path / "hosts.yml")
    code, output = run(["-i", str(tmp_path / "hosts.yml")], playbook=str(tmp_path / "play.yml"))
    assert code == 2, output[-3000:]
    assert "sidecarless.mesh.validate : Validate the mesh inventory" in output, output[-3000:]
    assert "mesh_apps[0].port:" in output, output[-3000:]
    assert "argument_spec_data" not in output, output[-3000:]
    assert "TASK [sidecarless.mesh.%s : Validating arguments against arg spec" % role not in output, \
        "the role's own argument-spec check comes after the validation: " + output[-3000:]
    assert "Traceback" not in output
    assert len(output) < 6000, "the message stays short:\n" + output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("role", ["render", "mesh"])
def test_a_role_used_alone_with_good_input_runs_past_the_validation(tmp_path, role):
    """Good input passes the dependency (render goes on to write); in cluster mode (mesh) a kubeconfig that
    is not there is input too, named before the cluster is contacted."""
    play = [{"name": "Embed one role", "hosts": "localhost", "gather_facts": False,
             "vars": {"mesh_apply": role != "render", "mesh_kubeconfig": str(tmp_path / "no-such-kubeconfig"),
                      "mesh_render_dir": str(tmp_path / "out"),
                      "mesh_apps": [{"name": "shop", "port": 8080, "routes": [{"gateway": "web"}]}],
                      "mesh_gateways": [{"name": "web", "listeners": [{"name": "http", "port": 80}]}],
                      "cilium_k8s_service_host": "192.0.2.10"},
             "roles": ["sidecarless.mesh.%s" % role]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    write_localhost_inventory(tmp_path / "hosts.yml")
    code, output = run(["-i", str(tmp_path / "hosts.yml")], playbook=str(tmp_path / "play.yml"))
    assert "sidecarless.mesh.validate : Validate the mesh inventory" in output, output[-3000:]
    if role == "render":
        assert code == 0, output[-3000:]
        assert "TASK [sidecarless.mesh.render : Validating arguments against arg spec 'main'" in output, \
            "the role's own argument-spec check still runs"
        assert (tmp_path / "out" / "manifests").is_dir()
    else:
        assert code == 2, output[-3000:]
        assert "mesh_kubeconfig: %s does not exist" % (tmp_path / "no-such-kubeconfig") in output, output[-3000:]
        assert "Traceback" not in output
