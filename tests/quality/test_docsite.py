# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's docsite builds as antsibull-docs builds collection docsites.

``antsibull-docs sphinx-init`` sets up a Sphinx project for the collection;
its ``build.sh`` renders every plugin and role page plus the extra docs
(docs/docsite/extra-docs.yml) and runs Sphinx. Without network the only
warnings allowed are those of the unreachable intersphinx inventories: the
inventories themselves, and the references that resolve only through them
(the Ansible docs' labels and kubernetes.core's pages).
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import ROOT
from test_quality_gates import BIN, FILTERS, MODULES, ROLES, run

pytestmark = pytest.mark.slow

#: Labels that live in the Ansible docsite, reached through intersphinx only.
ANSIBLE_DOCS_LABELS = re.compile(r"^(ansible_collections\.kubernetes\.core\..*|common_return_values|action_plugins"
                                 r"|ansible_configuration_settings)$")


def env():
    """The collection (through .collections) and kubernetes.core (from the venv's ansible package) for ansible-doc."""
    import ansible_collections.kubernetes.core as k8s_core  # pylint: disable=import-outside-toplevel
    beside = os.path.dirname(os.path.dirname(os.path.dirname(list(k8s_core.__path__)[0])))
    return {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(ROOT, ".collections"), beside]),
            "PATH": BIN + os.pathsep + os.environ["PATH"]}


def test_collection_docs_lint():
    code, output = run([os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."],
                       env=env())
    assert code == 0 and not output.strip(), output


def test_docsite_builds_with_every_plugin_role_and_guide(tmp_path):
    site = tmp_path / "docsite"
    site.mkdir(mode=0o700)
    code, output = run([os.path.join(BIN, "antsibull-docs"), "sphinx-init", "--use-current", "--dest-dir", str(site),
                        "sidecarless.mesh"], env=env())
    assert code == 0, output
    rst = site / "rst"
    code, output = run([os.path.join(BIN, "antsibull-docs"), "--config-file", "antsibull-docs.cfg", "collection",
                        "--cleanup", "everything", "--use-current", "--dest-dir", str(rst), "sidecarless.mesh"],
                       cwd=str(site), env=env())
    assert code == 0, output
    # build.sh runs Sphinx with -W; here the warnings are read instead, so the offline ones can be told apart.
    code, output = run([os.path.join(BIN, "sphinx-build"), "-M", "html", str(rst), str(site / "build"), "-c",
                        str(site)], cwd=str(site), env=env(), timeout=1200)
    assert code == 0, output[-4000:]
    unexpected = []
    for line in output.splitlines():
        if "WARNING" not in line:
            continue
        if "failed to reach any of the inventories" in line:
            continue
        label = re.search(r"WARNING: undefined label: '([^']+)'", line)
        if label and ANSIBLE_DOCS_LABELS.match(label.group(1)):
            continue
        unexpected.append(line)
    assert not unexpected, "\n".join(unexpected)
    pages = site / "build" / "html" / "collections" / "sidecarless" / "mesh"
    expected = ["docsite/guide_variables.html"] + ["%s_module.html" % name for name in MODULES] + \
        ["%s_filter.html" % name for name in FILTERS] + ["%s_role.html" % name for name in ROLES]
    missing = [name for name in expected if not (pages / name).is_file()]
    assert not missing, missing
    assert "cilium_k8s_service_host" in (pages / "docsite" / "guide_variables.html").read_text(encoding="utf-8")
