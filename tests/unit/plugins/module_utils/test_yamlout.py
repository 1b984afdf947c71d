# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast YAML emitter reads back as exactly the data it was given."""

from __future__ import annotations

import math

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.sidecarless.mesh.plugins.module_utils.yamlout import dump, dump_all

TRICKY = ["", "yes", "No", "null", "~", "1.20.0", "0640", "1e3", "-", "- x", "a: b", "a #b", "#x", "*", "&a",
          "!tag", "@x", "`x", "%x", "key:", ":x", " lead", "trail ", "multi\nline", "tab\tin", "quote\"s",
          "back\\slash", "^eth0$", "k8s:io.kubernetes.pod.namespace", "spiffe://cluster.local/ns/x",
          "/v1.0/invoke/a.b/method//", "0x1F", "0o17", "+1", ".5", ".inf", "-.inf", ".nan", "<<", "=", "ünï",
          "[a]", "{a}", "a,b", "'single'", "on", "OFF", "y", "2001:db8::1", "12:30", "2026-11-27", "key\n", "x\n\n",
          "del\x7f", "nul\x00", "bell\x07", "nel\x85", "bom\ufeff", "emoji\U0001f600"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)
keys = st.one_of(st.sampled_from(TRICKY),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12))
data = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)), max_leaves=25)


def _same(left, right):
    """Equality that counts nan as equal to nan and tells 1 from 1.0 and True (the types must survive too)."""
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (left == right and math.copysign(1, left) == math.copysign(1, right))
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    return left == right


@settings(max_examples=400, deadline=None)
@given(data)
def test_round_trip_through_pyyaml(value):
    assert _same(yaml.safe_load(dump(value)), value)


def test_floats_read_back_as_the_same_floats():
    """'1e+20' (no dot) and '1e-05' read back as strings in YAML 1.1; inf and nan must stay floats."""
    for number in (1e20, 1e-5, 5e-324, 1.7976931348623157e308, -0.0, 0.1, 3.0, float("inf"), float("-inf"),
                   float("nan")):
        loaded = yaml.safe_load(dump({"n": number}))["n"]
        assert isinstance(loaded, float), (number, dump({"n": number}))
        assert _same(loaded, number), (number, loaded)


@given(st.lists(st.dictionaries(keys, scalars, min_size=1, max_size=3), min_size=1, max_size=4))
def test_multi_document_round_trip(values):
    assert _same(list(yaml.safe_load_all(dump_all(values))), values)


def test_every_tricky_string_survives_as_a_string():
    for text in TRICKY:
        loaded = yaml.safe_load(dump({"k": text, text or "empty": [text]}))
        assert loaded == {"k": text, text or "empty": [text]}, text


def test_block_style_with_indented_lists():
    assert dump({"a": [{"b": 1, "c": [2]}], "d": {}}) == "a:\n  - b: 1\n    c:\n      - 2\nd: {}\n"
