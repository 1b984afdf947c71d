# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quality gates, run as tests: ansible-lint, ansible-test sanity, docs, changelog, build.

Each runs the real tool on the repository. A failure prints the tool's own
output, so it reads like running the tool by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SKIP_CLUSTER_MARKER

pytestmark = pytest.mark.slow
BIN = os.path.join(sys.prefix, "bin")
FILTERS = ("cilium_unmanaged_pods", "cilium_upgrade_plan", "collection_version", "dapr_invoke_path", "helm_stored_releases",
           "helm_release_problems", "render_mesh", "validate_mesh")
MODULES = ("http_probe", "ipsec_key", "k8s_apply", "render", "rollout_status")
ROLES = ("cilium", "dapr", "dapr_shared", "gateway_api", "mesh", "preflight", "render", "validate", "verify")


def run(command, cwd=ROOT, env=None, timeout=1800):
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                    NO_COLOR="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    full_env.update(env or {})
    result = subprocess.run(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=timeout, check=False)
    return result.returncode, result.stdout


def tracked_files():
    code, output = run(["git", "ls-files", "-z"])
    assert code == 0, output
    return [name for name in output.split("\0") if name and os.path.lexists(os.path.join(ROOT, name))]


def test_generated_docs_are_up_to_date():
    code, output = run([sys.executable, os.path.join("tools", "gendocs.py"), "--check"])
    assert code == 0, output


def test_ansible_lint_production_profile():
    code, output = run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--nocolor"])
    assert code == 0, output[-6000:]
    assert "Profile 'production' was required, and it passed" in output


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    """CHANGELOG.rst is what antsibull-changelog makes of changelogs/changelog.yaml (release notes cannot drift)."""
    for name in ("galaxy.yml", "CHANGELOG.rst", os.path.join("changelogs", "config.yaml"),
                 os.path.join("changelogs", "changelog.yaml")):
        os.makedirs(os.path.dirname(str(tmp_path / name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, name), str(tmp_path / name))
    code, output = run([os.path.join(BIN, "antsibull-changelog"), "generate"], cwd=str(tmp_path),
                       env={"ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".collections"),
                            "PATH": BIN + os.pathsep + os.environ["PATH"]})
    assert code == 0, output
    with open(os.path.join(ROOT, "CHANGELOG.rst"), encoding="utf-8") as handle:
        assert (tmp_path / "CHANGELOG.rst").read_text(encoding="utf-8") == handle.read()
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    assert "\nv%s\n" % version in (tmp_path / "CHANGELOG.rst").read_text(encoding="utf-8")


def test_the_first_release_lists_every_plugin_role_and_playbook():
    """changelog.yaml's 1.0.0 names each module, filter, role and playbook the collection ships, once."""
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml"), encoding="utf-8") as handle:
        release = yaml.safe_load(handle)["releases"]["1.0.0"]
    listed = {
        "module": [entry["name"] for entry in release.get("modules") or []],
        "filter": [entry["name"] for entry in (release.get("plugins") or {}).get("filter") or []],
        "role": [entry["name"] for entry in (release.get("objects") or {}).get("role") or []],
        "playbook": [entry["name"] for entry in (release.get("objects") or {}).get("playbook") or []],
    }
    shipped = {
        "module": sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                         if name.endswith(".py") and not name.startswith("_")),
        "filter": sorted(name[:-4] for name in os.listdir(os.path.join(ROOT, "plugins", "filter"))
                         if name.endswith(".yml")),
        "role": sorted(name for name in os.listdir(os.path.join(ROOT, "roles"))
                       if os.path.isdir(os.path.join(ROOT, "roles", name))),
        "playbook": sorted(name[:-4] for name in os.listdir(os.path.join(ROOT, "playbooks"))
                           if name.endswith(".yml")),
    }
    for kind, names in shipped.items():
        assert sorted(listed[kind]) == names, "%s: changelog lists %s, the collection ships %s" % (
            kind, sorted(listed[kind]), names)


def test_changelog_fragments_lint():
    code, output = run([os.path.join(BIN, "antsibull-changelog"), "lint"])
    assert code == 0 and not output.strip(), output


@pytest.mark.parametrize("name", FILTERS)
def test_filter_has_docs(name):
    code, output = run([os.path.join(BIN, "ansible-doc"), "-t", "filter", "sidecarless.mesh." + name])
    assert code == 0, output
    assert "EXAMPLES" in output, output
    assert "RETURN VALUES" in output or "RETURN:" in output, output


@pytest.mark.parametrize("name", MODULES)
def test_module_has_docs(name):
    code, output = run([os.path.join(BIN, "ansible-doc"), "-t", "module", "sidecarless.mesh." + name])
    assert code == 0, output
    assert "check_mode" in output and "EXAMPLES" in output and "RETURN VALUES" in output


@pytest.mark.parametrize("name", ROLES)
def test_role_has_argument_spec_docs(name):
    code, output = run([os.path.join(BIN, "ansible-doc"), "-t", "role", "sidecarless.mesh." + name])
    assert code == 0, output
    assert "ENTRY POINT:" in output, output
    if name == "validate":
        # Its own argument-spec check runs before its task: options there would be checked the way it exists to
        # avoid. It documents where the variables are described instead.
        assert "docs/variables.md" in output, output
    else:
        assert "Options" in output, output


def test_every_plugin_is_listed_in_the_tests():
    from ansible_collections.sidecarless.mesh.plugins.filter.mesh import FilterModule  # pylint: disable=import-outside-toplevel
    assert set(FilterModule().filters()) == set(FILTERS)
    docs = {name[:-4] for name in os.listdir(os.path.join(ROOT, "plugins", "filter")) if name.endswith(".yml")}
    assert docs == set(FILTERS), "every filter needs a <name>.yml doc file"
    modules = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py")}
    assert modules == set(MODULES)
    roles = set(os.listdir(os.path.join(ROOT, "roles")))
    assert roles == set(ROLES)


@pytest.fixture(scope="module")
def collection_tree(tmp_path_factory):
    """The tracked files, laid out as ansible_collections/sidecarless/mesh (what ansible-test needs)."""
    base = tmp_path_factory.mktemp("collection")
    tree = base / "ansible_collections" / "sidecarless" / "mesh"
    for name in tracked_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), str(target))
    return tree


def _install_pip_bootstrap_shim(home):
    """ansible-test downloads get-pip.py from a host CI cannot reach; serve it from ensurepip instead.

    The shim goes into the cache of ``home``, the temporary home ansible-test runs with, so nothing is
    written into the user's own ~/.ansible."""
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

    class _Python:
        version = "%d.%d" % sys.version_info[:2]

    version = get_venv_packages(_Python())["pip"]
    cache = os.path.join(str(home), ".ansible", "test", "cache")
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "tests", "quality", "get_pip_shim.py"),
                os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_")))


def _kubernetes_core_beside(collection_tree):
    """ansible-test resolves kubernetes.core (doc fragment, module_utils) from collections beside ours."""
    import ansible_collections.kubernetes.core as k8s_core  # pylint: disable=import-outside-toplevel
    dependency = collection_tree.parent.parent / "kubernetes" / "core"
    if not dependency.exists():
        dependency.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(list(k8s_core.__path__)[0], str(dependency))


def test_ansible_test_sanity(collection_tree, tmp_path):
    home = tmp_path / "home"
    _install_pip_bootstrap_shim(home)
    _kubernetes_core_beside(collection_tree)
    python = "%d.%d" % sys.version_info[:2]
    code, output = run([os.path.join(BIN, "ansible-test"), "sanity", "--python", python, "--color", "no"],
                       cwd=str(collection_tree), timeout=2400, env={"HOME": str(home)})
    errors = [line for line in output.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert code == 0, "\n".join(errors) or output[-6000:]


def test_ansible_test_units(collection_tree, tmp_path):
    """tests/unit as collections run them: ``ansible-test units --venv --requirements`` (tests/unit/requirements.txt).

    Everything but the cluster tests, which make test runs with pytest (they would start a control plane per
    forked child here); the test checks that only those were skipped.

    ansible-test passes only HOME and PATH to the tests, so what they find
    beside a checkout is laid out around the copy: ../shared next to it (the
    upstream schemas and charts), and under the temporary HOME a link to the
    test control plane's binary cache (built once, as for the rest of the
    suite). make test runs tests/unit only through this test."""
    from controlplane import binaries  # pylint: disable=import-outside-toplevel
    home = tmp_path / "home"
    _install_pip_bootstrap_shim(home)
    _kubernetes_core_beside(collection_tree)
    shared = os.path.abspath(os.path.join(ROOT, "..", "shared"))
    if os.path.isdir(shared) and not (collection_tree.parent / "shared").exists():
        os.symlink(shared, str(collection_tree.parent / "shared"))
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    os.symlink(binaries.cache_root(), str(home / ".cache" / "sidecarless-mesh"))
    # The cluster tests (modules against the real control plane) run with pytest in both lanes of make test;
    # under ansible-test every forked child would start a control plane of its own (minutes), so they skip here.
    (home / SKIP_CLUSTER_MARKER).write_text("make test runs the cluster tests with pytest\n")
    python = "%d.%d" % sys.version_info[:2]
    code, output = run([os.path.join(BIN, "ansible-test"), "units", "--venv", "--requirements", "--python", python,
                        "--num-workers", "2", "--color", "no"],
                       cwd=str(collection_tree), timeout=3000, env={"HOME": str(home)})
    assert code == 0, output[-8000:]
    summaries = re.findall(r"^=+ (.*(?:passed|failed).*) in [0-9.]+s", output, re.MULTILINE)
    assert summaries and not any("failed" in line or "error" in line for line in summaries), output[-8000:]
    assert "NOT checked" not in output and "NOT tested" not in output, \
        "a test skipped for want of what a checkout has beside it:\n" + output[-8000:]
    skipped = sum(int(n) for line in summaries for n in re.findall(r"(\d+) skipped", line))
    code, listing = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "cluster", "-p",
                         "no:cacheprovider", os.path.join(ROOT, "tests", "unit")])
    cluster_tests = len([line for line in listing.splitlines() if "::" in line])
    assert code == 0 and cluster_tests > 0, listing[-3000:]
    assert 0 < skipped <= cluster_tests, "ansible-test units skipped %d tests; only the %d cluster tests may:\n%s" % (
        skipped, cluster_tests, output[-8000:])
    reasons = re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", output, re.MULTILINE)
    assert reasons and all(r.startswith("cluster test skipped under ansible-test units") for r in reasons), reasons


def test_collection_builds_installs_and_runs_as_sidecarless_mesh_site(collection_tree, tmp_path):
    code, output = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                       cwd=str(collection_tree))
    assert code == 0, output
    (archive,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tar.gz")]
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    assert archive.name == "sidecarless-mesh-%s.tar.gz" % version
    installed = tmp_path / "collections"
    # --no-deps: kubernetes.core comes with the pinned ansible package here; Galaxy may be unreachable.
    code, output = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "--no-deps",
                        str(archive), "-p", str(installed)], cwd=str(tmp_path), env={"ANSIBLE_CONFIG": ""})
    assert code == 0, output
    assert not (installed / "ansible_collections" / "sidecarless" / "mesh" / "tests" / "output").exists()
    dest = tmp_path / "rendered"
    code, output = run([os.path.join(BIN, "ansible-playbook"), "sidecarless.mesh.site", "-i",
                        os.path.join(ROOT, "inventories", "demo"), "-e", "mesh_render_dir=%s" % dest],
                       cwd=str(tmp_path), env={"ANSIBLE_CONFIG": "", "ANSIBLE_COLLECTIONS_PATH": str(installed)})
    assert code == 0, output[-4000:]
    assert (dest / "helm" / "releases.yaml").is_file()
    # Outside the clone (no ansible.cfg, so JSON results): the summary still prints line by line, and no warning.
    assert [line for line in output.splitlines() if line.strip(' "\',').endswith("Traffic splits (GAMMA):")], \
        output[-4000:]
    assert "warning" not in output.lower(), output[-4000:]


def test_molecule_render_scenario():
    """The scenario that runs here: render mode, delegated driver, converge + idempotence + verify."""
    code, output = run([os.path.join(BIN, "molecule"), "test", "-s", "render"])
    assert code == 0, output[-6000:]
    assert re.search(r"render\s+: actions=4\s+successful=4 .*failed=0", output), output[-3000:]
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == [], "molecule or the playbooks it ran warned"


def test_molecule_kind_scenario_is_well_formed():
    """The kind scenario needs Docker; here its playbooks must at least pass the syntax check."""
    code, output = run([os.path.join(BIN, "molecule"), "syntax", "-s", "kind"])
    assert code == 0, output[-6000:]
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == [], "molecule or the kind scenario's playbooks warned: %s" % warnings
