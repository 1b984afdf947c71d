# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's k8s_connection doc fragment against the kubernetes.core it runs with.

The modules take kubernetes.core's AUTH_ARG_SPEC as their connection
options but document them in their own fragment (so galaxy-importer can
render their docs without kubernetes.core). This keeps the two in step:
the same options, types, aliases, element types and suboptions as the
argument spec, and the same environment variables as kubernetes.core's
own fragment names.
"""

from __future__ import annotations

import re

import pytest
import yaml

from ansible_collections.sidecarless.mesh.plugins.doc_fragments.k8s_connection import ModuleDocFragment

args_common = pytest.importorskip("ansible_collections.kubernetes.core.plugins.module_utils.args_common",
                                  reason="kubernetes.core is not installed: the doc fragment is NOT checked")
upstream_fragment = pytest.importorskip("ansible_collections.kubernetes.core.plugins.doc_fragments.k8s_auth_options",
                                        reason="kubernetes.core is not installed: the doc fragment is NOT checked")

OURS = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
THEIRS = yaml.safe_load(upstream_fragment.ModuleDocFragment.DOCUMENTATION)["options"]


def shape(spec):
    """Name -> (type, aliases, elements, suboption shape) of an argument spec or of doc options."""
    result = {}
    for name, option in spec.items():
        result[name] = (option.get("type", "str"), tuple(sorted(option.get("aliases") or ())),
                        option.get("elements"),
                        shape(option.get("options") or option.get("suboptions") or {}) or None)
    return result


def environment(options):
    """Option path -> the K8S_AUTH_* variables its description names."""
    found = {}
    for name, option in options.items():
        text = option.get("description", "")
        text = " ".join(text) if isinstance(text, list) else text
        found[name] = sorted(set(re.findall(r"K8S_AUTH_[A-Z_]+", text)))
        for sub, value in environment(option.get("suboptions") or {}).items():
            found[name + "." + sub] = value
    return found


def test_fragment_documents_exactly_the_argument_spec_the_modules_take():
    assert shape(OURS) == shape(args_common.AUTH_ARG_SPEC)


def test_fragment_agrees_with_kubernetes_core_documentation():
    assert shape(OURS) == shape(THEIRS)
    assert environment(OURS) == environment(THEIRS)


def test_every_option_has_its_own_description():
    for name, option in OURS.items():
        assert option.get("description"), name
        for sub, suboption in (option.get("suboptions") or {}).items():
            assert suboption.get("description"), name + "." + sub
