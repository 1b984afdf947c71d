# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-inventory corpus through the core: every case fails with its message."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from conftest import load_bad_cases, load_inventory_vars
from helpers import error_text

CASES = load_bad_cases()


def _extra(name):
    """The optional keys of a case: forbid (fragments that must not appear), problems (exact count)."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "bad_inventories", name + ".yml"),
              encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return data.get("forbid") or [], data.get("problems")


@pytest.mark.parametrize("name,overlay,expected", CASES, ids=[case[0] for case in CASES])
def test_bad_inventory_is_rejected_with_its_message(name, overlay, expected):
    variables = load_inventory_vars("demo")
    variables.update(overlay)
    picked, unknown = collect_variables(variables)
    text = error_text(picked, unknown)
    for fragment in expected:
        assert fragment in text, "%s: %r not in:\n%s" % (name, fragment, text)
    forbidden, count = _extra(name)
    for fragment in forbidden:
        assert fragment not in text, "%s: %r should not be reported:\n%s" % (name, fragment, text)
    if count is not None:
        assert text.startswith("invalid mesh inventory (%d problem" % count), "%s: expected %d problems:\n%s" % (
            name, count, text)


def test_corpus_is_not_empty_and_a_sample_of_every_stage_runs_through_ansible_playbook():
    assert len(CASES) >= 60
    sampled = {case[0] for case in load_bad_cases(playbook_only=True)}
    assert {"unknown-variable", "wrong-type-port", "duplicate-app", "helm-key-misspelt", "route-path-characters",
            "extra-policy-unknown-field", "l2-interface-not-re2"} <= sampled, sampled
