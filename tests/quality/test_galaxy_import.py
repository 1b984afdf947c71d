# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built tarball as Galaxy sees it: its contents and galaxy-importer's verdict.

galaxy-importer runs from .venv-importer (requirements-importer.txt: the
importer, ansible-core and ansible-lint, and no collection), as Galaxy runs
it: ansible-doc and ansible-lint see the tarball alone, without
kubernetes.core. ansible-test is left to test_quality_gates.py (the importer
would run it in a container).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest
import yaml

from conftest import ROOT
from test_quality_gates import FILTERS, MODULES, run

pytestmark = pytest.mark.slow
IMPORTER = os.path.join(ROOT, ".venv-importer", "bin")
#: What a user's tarball holds at its top level (galaxy.yml build_ignore keeps the rest out).
TOP_LEVEL = {"CHANGELOG.rst", "FILES.json", "LICENSE", "MANIFEST.json", "README.md", "changelogs", "docs", "inventories", "meta",
             "playbooks", "plugins", "roles"}
#: Kept out of the tarball wherever they are (caches, test data, development tooling).
NEVER = (r"(^|/)\.hypothesis(/|$)", r"(^|/)__pycache__(/|$)", r"\.pyc$", r"^changelogs/\.plugin-cache\.yaml$",
         r"^changelogs/fragments(/|$)", r"^tests(/|$)", r"^molecule(/|$)", r"^extensions(/|$)", r"^tools(/|$)",
         r"(^|/)\.venv", r"^\.cluster(/|$)", r"(^|/)requirements[^/]*\.txt$")


@pytest.fixture(name="tarball", scope="module")
def tarball_fixture(tmp_path_factory):
    """The collection built from its tracked files, with a stray .hypothesis/ and plugin cache beside them."""
    from test_quality_gates import tracked_files  # pylint: disable=import-outside-toplevel
    tree = tmp_path_factory.mktemp("tree") / "mesh"
    for name in tracked_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), str(target))
    # What a developer's checkout also holds after a test run: these must stay out of the tarball.
    (tree / ".hypothesis" / "examples").mkdir(parents=True)
    (tree / ".hypothesis" / "examples" / "x").write_text("cache")
    (tree / "changelogs" / ".plugin-cache.yaml").write_text("{}\n")
    (tree / "plugins" / "module_utils" / "__pycache__").mkdir(exist_ok=True)
    (tree / "plugins" / "module_utils" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    out = tmp_path_factory.mktemp("dist")
    code, output = run(["ansible-galaxy", "collection", "build", "--output-path", str(out)], cwd=str(tree))
    assert code == 0, output
    (archive,) = out.glob("*.tar.gz")
    return archive


def members(archive):
    with tarfile.open(str(archive)) as handle:
        return [m.name for m in handle.getmembers()]


def test_tarball_holds_what_a_user_runs_and_nothing_else(tarball):
    names = members(tarball)
    assert {name.split("/")[0] for name in names} == TOP_LEVEL
    stray = [name for name in names if any(re.search(pattern, name) for pattern in NEVER)]
    assert not stray, stray
    for needed in ("playbooks/site.yml", "playbooks/upgrade.yml", "playbooks/reset.yml", "meta/runtime.yml",
                   "plugins/doc_fragments/k8s_connection.py", "changelogs/changelog.yaml",
                   "inventories/demo/hosts.yml", "roles/cilium/meta/argument_specs.yml"):
        assert needed in names, needed


def importer_env(home):
    if not os.path.isfile(os.path.join(IMPORTER, "galaxy-importer")) and \
            not os.path.isfile(os.path.join(IMPORTER, "python")):
        message = "galaxy-importer is not installed (make setup-importer): the Galaxy import is NOT checked"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    config = home / "galaxy-importer.cfg"
    config.write_text("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\n"
                      "OFFLINE_ANSIBLE_LINT = True\nLOG_LEVEL_MAIN = INFO\n")
    return {"GALAXY_IMPORTER_CONFIG": str(config), "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
            "PATH": IMPORTER + os.pathsep + os.environ.get("PATH", ""), "ANSIBLE_CONFIG": "",
            "ANSIBLE_COLLECTIONS_PATH": "", "PYTHONPATH": ""}


def test_galaxy_importer_accepts_the_tarball_with_docs_for_every_module_and_filter(tarball, tmp_path):
    env = dict(os.environ, **importer_env(tmp_path))
    result = subprocess.run([os.path.join(IMPORTER, "python"), "-m", "galaxy_importer.main", str(tarball)],
                            cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=900, check=False)
    output = result.stdout
    assert result.returncode == 0, output[-6000:]
    assert "Importer processing completed successfully" in output, output[-6000:]
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert not errors, "\n".join(errors)
    with open(str(tmp_path / "importer_result.json"), encoding="utf-8") as handle:
        result = json.load(handle)
    docs = {(c["content_type"], c["content_name"]): c.get("doc_strings") for c in result["docs_blob"]["contents"]}
    missing = [key for key in [("module", m) for m in MODULES] + [("filter", f) for f in FILTERS]
               if not (docs.get(key) or {}).get("doc")]
    assert not missing, "no documentation on Galaxy for %s" % missing
    for name in MODULES:
        options = [option["name"] for option in docs[("module", name)]["doc"].get("options") or []]
        if name in ("k8s_apply", "ipsec_key", "rollout_status"):
            assert "kubeconfig" in options, "%s: the connection options are not documented" % name
    assert_warnings_come_only_from_the_missing_dependency(output, tarball, tmp_path)


def assert_warnings_come_only_from_the_missing_dependency(output, tarball, tmp_path):
    """Every importer warning is ansible-lint's syntax check failing on a file that uses kubernetes.core,
    and that file's syntax check passes once kubernetes.core is beside the collection."""
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    allowed = re.compile(r"^WARNING: (\S+?):\d+: internal-error: Unexpected error code 4 from execution of: "
                         r"ansible-playbook --syntax-check")
    others = [line for line in warnings if not allowed.match(line)]
    assert not others, "galaxy-importer warns:\n" + "\n".join(others)
    if not warnings:
        return
    import ansible_collections.kubernetes.core as k8s_core  # pylint: disable=import-outside-toplevel
    base = tmp_path / "collections" / "ansible_collections"
    tree = base / "sidecarless" / "mesh"
    tree.mkdir(parents=True)
    with tarfile.open(str(tarball)) as handle:
        handle.extractall(str(tree), filter="data")
    for line in warnings:
        path = allowed.match(line).group(1)
        playbook = str(tree / path)
        if os.path.isdir(playbook):  # a role: lint wraps it in a one-task play
            playbook = str(tmp_path / ("play-%s.yml" % os.path.basename(path)))
            with open(playbook, "w", encoding="utf-8") as handle:
                yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                                 "roles": ["sidecarless.mesh.%s" % os.path.basename(path)]}], handle)
        text = "".join(open(p, encoding="utf-8").read() for p in _yaml_files(tree / path))
        assert "kubernetes.core." in text, "%s: the syntax check fails for another reason" % line
        (base / "kubernetes").mkdir(exist_ok=True)
        if not (base / "kubernetes" / "core").exists():
            shutil.copytree(list(k8s_core.__path__)[0], str(base / "kubernetes" / "core"))
        code, checked = run(["ansible-playbook", "--syntax-check", playbook], cwd=str(tree),
                            env={"ANSIBLE_CONFIG": "", "ANSIBLE_COLLECTIONS_PATH": str(base.parent)})
        assert code == 0, "%s still fails with kubernetes.core installed:\n%s" % (path, checked[-3000:])


def _yaml_files(path):
    if os.path.isfile(str(path)):
        return [str(path)]
    found = []
    for folder, _dirs, files in os.walk(str(path)):
        found.extend(os.path.join(folder, name) for name in files if name.endswith((".yml", ".yaml")))
    return found


def test_execution_environment_requirements_reach_ansible_builder(tarball, tmp_path):
    """ansible-builder, which builds execution environments, reads meta/execution-environment.yml of the
    installed collection and lists the Python and system packages cluster mode needs."""
    importer_env(tmp_path)
    installed = tmp_path / "collections"
    code, output = run(["ansible-galaxy", "collection", "install", "--no-deps", str(tarball), "-p", str(installed)],
                       cwd=str(tmp_path), env={"ANSIBLE_CONFIG": ""})
    assert code == 0, output
    code, output = run([os.path.join(IMPORTER, "ansible-builder"), "introspect", str(installed)], cwd=str(tmp_path))
    assert code == 0, output
    data = yaml.safe_load(output.split("\n", 1)[1])
    python = [line.split()[0] for line in data["python"] if "sidecarless.mesh" in line]
    system = [line.split()[0] for line in data["system"] if "sidecarless.mesh" in line]
    assert "kubernetes>=24.2.0" in python and "jsonpatch" in python, output
    assert system == ["ca-certificates"], output
