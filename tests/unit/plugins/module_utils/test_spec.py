# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The schema engine: types, coercion from -e strings, defaults, unknown keys."""

from __future__ import annotations

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.errors import Problems, ValidationError
from ansible_collections.sidecarless.mesh.plugins.module_utils.spec import Field, dns_label, plain
from ansible_collections.sidecarless.mesh.plugins.module_utils.variables import VARIABLES


def check(field, value):
    """Problems found for ``value`` (strings)."""
    return check_value(field, value)[1]


def check_value(field, value):
    problems = Problems()
    result = field.check(value, "x", problems)
    return result, [str(p) for p in problems.items]


def test_int_accepts_digit_strings_from_extra_vars():
    assert check_value(Field("int", "", minimum=1), "8080") == (8080, [])


def test_int_rejects_booleans_even_though_python_calls_them_ints():
    problems = check(Field("int", ""), True)
    assert problems == ["x: must be an integer, got true"]


@pytest.mark.parametrize("text,expected", [("true", True), ("No", False), ("yes", True), ("0", False)])
def test_bool_accepts_ansible_style_strings(text, expected):
    assert check_value(Field("bool", ""), text) == (expected, [])


def test_str_rejects_numbers_with_a_quoting_hint():
    problems = check(Field("str", ""), 1.2)
    assert problems and "quote the full value" in problems[0]


def test_nested_defaults_are_filled_and_unknown_keys_reported_with_all_allowed_keys():
    field = Field("dict", "", options={
        "port": Field("int", "", default=1),
        "name": Field("str", "", required=True),
    })
    result, problems = check_value(field, {"name": "x"})
    assert result == {"port": 1, "name": "x"} and problems == []
    problems = check(field, {"name": "x", "prot": 2})
    assert problems == ["x.prot: unknown key (did you mean 'port'?); allowed keys: name, port"]
    problems = check(field, {})
    assert problems == ["x.name: is required"]


def test_list_items_are_checked_with_their_index():
    field = Field("list", "", elements=Field("int", "", maximum=3))
    problems = check(field, [1, 5, 2, 9])
    assert problems == ["x[1]: must be an integer <= 3, got 5", "x[3]: must be an integer <= 3, got 9"]


def test_null_falls_back_to_the_default():
    assert check_value(Field("str", "", default="d"), None) == ("d", [])
    assert check_value(Field("list", "", default=[]), None) == ([], [])


def test_string_map_rejects_nested_values():
    problems = check(Field("map", "", value_type="str"), {"app": {"x": 1}})
    assert problems == ["x.app: must be a string, got mapping"]


def test_dns_label_rfc1035_rejects_leading_digit_but_rfc1123_accepts_it():
    assert dns_label()("1abc") is None
    assert "starting with a letter" in dns_label(rfc1035=True)("1abc")
    assert dns_label(5)("abcdef") is not None


def test_a_trailing_newline_does_not_sneak_through_name_checks():
    assert dns_label()("whoami\n") is not None
    assert check(Field("str", "", check=dns_label()), "whoami\n")


def test_plain_unwraps_subclasses_into_builtin_types():
    class Tagged(str):
        pass

    value = plain({Tagged("k"): [Tagged("v"), (1, 2)]})
    assert value == {"k": ["v", [1, 2]]}
    assert list(value)[0].__class__ is str and value["k"][0].__class__ is str


def test_every_variable_has_a_description_and_a_valid_default():
    problems = Problems()
    for name, field in VARIABLES.items():
        assert field.description, name
        assert name.startswith(("cilium_", "dapr_", "mesh_")), name
        if field.has_default():
            field.check(field.default_value(), name, problems)
    assert not problems.items, problems.items


def test_validation_error_lists_every_problem():
    error = ValidationError([])
    assert "0 problems" in str(error)


def test_every_enforced_limit_is_in_the_variable_reference():
    """docs/variables.md names every limit validation enforces (items per list, lengths, ranges)."""
    import os

    from ansible_collections.sidecarless.mesh.plugins.module_utils.variables import VARIABLES

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "docs", "variables.md"),
              encoding="utf-8") as handle:
        rows = {line.split("|")[1].strip().strip("`"): line for line in handle if line.startswith("| `")}
    missing = []

    def walk(prefix, field):
        limits = field.limits()
        enforced = (field.minimum is not None or field.maximum is not None
                    or getattr(field.check_fn, "limit", ""))
        if enforced and (not limits or "Limits: %s." % limits not in rows.get(prefix, "")):
            missing.append(prefix)
        options = field.options if field.type == "dict" else (
            field.elements.options if field.type == "list" and field.elements is not None
            and field.elements.type == "dict" else None)
        for name, option in (options or {}).items():
            walk("%s%s.%s" % (prefix, "[]" if field.type == "list" else "", name), option)

    for name, field in VARIABLES.items():
        walk(name, field)
    assert not missing, missing
    assert "at most 46 characters (its Dapr Shared release is '<name>-shared'" in rows["mesh_apps[].name"]
    assert "at most 16 items" in rows["mesh_apps[].routes[].hostnames"]
