# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-inventory corpus through the core: every case fails with its message."""

from __future__ import annotations

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.model import collect_variables
from conftest import load_bad_cases, load_inventory_vars
from helpers import error_text

CASES = load_bad_cases()


@pytest.mark.parametrize("name,overlay,expected", CASES, ids=[case[0] for case in CASES])
def test_bad_inventory_is_rejected_with_its_message(name, overlay, expected):
    variables = load_inventory_vars("demo")
    variables.update(overlay)
    picked, unknown = collect_variables(variables)
    text = error_text(picked, unknown)
    for fragment in expected:
        assert fragment in text, "%s: %r not in:\n%s" % (name, fragment, text)


def test_corpus_is_not_empty():
    assert len(CASES) >= 30
