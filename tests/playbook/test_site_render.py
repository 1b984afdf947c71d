# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml in render mode, as a user runs it: real ansible-playbook runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import INVENTORIES, ROOT, load_bad_cases

pytestmark = pytest.mark.slow
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")


def inventory_path(name):
    for base in ("inventories", os.path.join("tests", "inventories")):
        path = os.path.join(ROOT, base, name)
        if os.path.isdir(path):
            return path
    raise LookupError(name)


def run(args, cwd=None, extra_env=None, playbook="site.yml"):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    env.update(extra_env or {})
    result = subprocess.run([PLAYBOOK, os.path.join(ROOT, playbook)] + args, cwd=cwd or ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300,
                            check=False)
    keep = os.environ.get("MESH_TEST_KEEP_OUTPUT")
    if keep:  # for a closer look at runs that passed (with ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks)
        os.makedirs(keep, exist_ok=True)
        name = "%03d-%s.log" % (len(os.listdir(keep)), os.environ.get("PYTEST_CURRENT_TEST", "run").split(" ")[0]
                                .replace("/", "_").replace("::", "-"))
        with open(os.path.join(keep, name[:200]), "w", encoding="utf-8") as handle:
            handle.write(result.stdout)
    return result.returncode, result.stdout


def recap(output):
    match = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-2000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


@pytest.mark.parametrize("name", INVENTORIES)
def test_inventory_renders_and_a_second_run_changes_nothing(name, tmp_path):
    dest = tmp_path / "out"
    args = ["-i", inventory_path(name), "-e", "mesh_render_dir=%s" % dest, "-e", "mesh_apply=false"]
    code, output = run(args)
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 1
    releases = yaml.safe_load((dest / "helm" / "releases.yaml").read_text())["releases"]
    assert releases[0]["name"] == "cilium" and releases[1]["name"] == "dapr"
    for release in releases:
        assert (dest / "helm" / release["values_file"]).is_file()
    assert "Helm releases (install order):" in (dest / "summary.txt").read_text()
    assert "Traceback" not in output
    code, output = run(args)
    assert code == 0 and recap(output)["changed"] == 0, output[-3000:]


def test_demo_renders_to_build_demo_under_the_working_directory_and_prints_the_summary(tmp_path):
    code, output = run(["-i", inventory_path("demo")], cwd=str(tmp_path))
    assert code == 0, output[-3000:]
    out = tmp_path / "build" / "demo"
    manifests = sorted(p.name for p in (out / "manifests").iterdir())
    assert manifests == ["10-lb-ipam.yaml", "20-gateways.yaml", "30-services.yaml", "40-httproutes.yaml",
                         "50-network-policies.yaml", "60-local-redirect-policies.yaml"]
    for line in ("default/default-gateway (class cilium)", "whoami-v1 50%, whoami-v2 50%",
                 "/v1.0/invoke/whoami.default/method//", "Rendered to %s" % out):
        assert line in output, line
    kinds = [doc["kind"] for doc in yaml.safe_load_all((out / "manifests" / "50-network-policies.yaml").read_text())]
    assert kinds == ["CiliumNetworkPolicy"] * 3
    assert "warning" not in output.lower(), "a demo run prints no warning:\n" + output


@pytest.mark.parametrize("result_format", ["json", "yaml"])
def test_the_summary_prints_one_line_per_line_whatever_the_result_format(tmp_path, result_format):
    """Outside the clone ansible.cfg's yaml result format does not apply: the summary must not turn into one
    escaped line."""
    code, output = run(["-i", inventory_path("demo"), "-e", "mesh_render_dir=%s" % (tmp_path / "out")],
                       extra_env={"ANSIBLE_CALLBACK_RESULT_FORMAT": result_format})
    assert code == 0, output[-3000:]
    for heading in ("Gateways:", "Routes (north-south):", "Traffic splits (GAMMA):", "Allowed flows:"):
        lines = [line for line in output.splitlines() if heading in line]
        assert len(lines) == 1, (heading, lines)
        assert "\\n" not in lines[0] and lines[0].strip(" \"',-").endswith(heading), lines[0]


def test_check_mode_writes_nothing_and_diff_shows_the_change(tmp_path):
    dest = tmp_path / "out"
    code, output = run(["-i", inventory_path("demo"), "-e", "mesh_render_dir=%s" % dest, "--check", "--diff"])
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 1
    assert not dest.exists()
    assert "+kind: Gateway" in output


def test_changing_the_inventory_rewrites_only_what_changed(tmp_path):
    dest = tmp_path / "out"
    base = ["-i", inventory_path("demo"), "-e", "mesh_render_dir=%s" % dest]
    assert run(base)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in (dest / "manifests").iterdir()}
    code, output = run(base + ["-e", '{"mesh_apps": [{"name": "whoami", "versions": [{"name": "v1", "weight": 90}, '
                                     '{"name": "v2", "weight": 10}], "routes": [{"gateway": "default-gateway"}]}]}',
                               "--diff"])
    assert code == 0, output[-3000:]
    assert re.search(r"^-\s+weight: 50$", output, re.M) and re.search(r"^\+\s+weight: 90$", output, re.M), output
    after = {p.name: p.stat().st_mtime_ns for p in (dest / "manifests").iterdir()}
    assert after["20-gateways.yaml"] == before["20-gateways.yaml"]
    assert after["40-httproutes.yaml"] != before["40-httproutes.yaml"]


def test_render_dir_holding_foreign_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, output = run(["-i", inventory_path("demo"), "-e", "mesh_render_dir=%s" % tmp_path])
    assert code != 0
    assert "already holds other files (notes.txt)" in output
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / "manifests").exists()


BAD = load_bad_cases(playbook_only=True)


@pytest.mark.parametrize("name,overlay,expected", BAD, ids=[case[0] for case in BAD])
def test_bad_inventory_fails_in_validation_before_anything_is_written(name, overlay, expected, tmp_path):
    extra = tmp_path / "bad.yml"
    extra.write_text(yaml.safe_dump(overlay))
    dest = tmp_path / "out"
    code, output = run(["-i", inventory_path("demo"), "-e", "@%s" % extra, "-e", "mesh_render_dir=%s" % dest])
    assert code == 2, output[-3000:]
    assert "TASK [sidecarless.mesh.render : Validate the inventory and write the render directory]" in output
    assert "Traceback" not in output
    for fragment in expected:
        assert fragment in output, "%r not in output:\n%s" % (fragment, output[-3000:])
    assert not dest.exists()


def test_local_chart_of_another_version_fails_before_anything_is_written(tmp_path):
    chart = os.path.join(ROOT, "..", "shared", "charts", "cilium-1.19.6.tgz")
    if not os.path.isfile(chart):
        message = "chart %s not found: the local chart check is NOT tested end to end" % chart
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    dest = tmp_path / "out"
    code, output = run(["-i", inventory_path("demo"), "-e", "cilium_chart=%s" % chart, "-e",
                        "cilium_chart_repo_url=", "-e", "mesh_render_dir=%s" % dest])
    assert code == 2, output[-3000:]
    assert "cilium_chart: is the local chart" in output and "of version 1.19.6, but cilium_version is 1.20.0" \
        in output, output[-3000:]
    assert "Traceback" not in output
    assert not dest.exists()
