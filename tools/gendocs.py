# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate role defaults, role argument specs and docs/variables.md.

The inventory variables are declared once, in
plugins/module_utils/variables.py. This script writes the files that
document them so they cannot drift:

* roles/<role>/meta/argument_specs.yml every variable as an Ansible argument spec
                                       (description, type, choices, default)
* docs/variables.md                    the reference for users
* docs/docsite/rst/guide_variables.rst the same for the docsite (antsibull-docs)

Usage: tools/gendocs.py [--check]   (--check fails if a file is out of date)
"""

from __future__ import annotations

import argparse
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.sidecarless.mesh.plugins.module_utils.variables import (  # noqa: E402
    CILIUM,
    DAPR,
    MESH,
)

GENERATED = "Generated from plugins/module_utils/variables.py by tools/gendocs.py; do not edit."

_RENDERS_ALL = ("The role renders the whole mesh from every cilium_*, dapr_* and mesh_* variable (see "
                "docs/variables.md); the options below are the ones that shape what it does.")

#: role -> (short description, description, variable groups)
ROLES = {
    "render": (
        "Validate the mesh inventory and render every manifest and Helm values file",
        [
            "Validates every cilium_*, dapr_* and mesh_* variable in one pass; errors name the variable path.",
            "Renders Gateways, HTTPRoutes, Services, Cilium policies, Local Redirect Policies, LB-IPAM objects and "
            "the Helm values of Cilium, Dapr and every Dapr Shared instance, writes them to the render directory "
            "(mesh_render_dir) and prints a summary. Contacts no cluster.",
        ],
        (("Cilium", CILIUM), ("Dapr", DAPR), ("Mesh", MESH)),
    ),
    "cilium": (
        "Install or upgrade Cilium and wait until it is ready",
        [
            "Installs the Cilium Helm release with the rendered values, creates (or rotates) the IPsec key Secret, "
            "optionally removes kube-proxy first, and waits for the agents, Envoy, operator and Hubble.",
            _RENDERS_ALL,
        ],
        (("Cilium", CILIUM), ("Nodes", {"mesh_node_group": MESH["mesh_node_group"]})),
    ),
    "dapr": (
        "Install or upgrade the Dapr control plane and wait until it is ready",
        ["Installs the Dapr Helm release with the rendered values and waits for operator, sentry, placement, "
         "scheduler and injector.", _RENDERS_ALL],
        (("Dapr", DAPR),),
    ),
    "dapr_shared": (
        "Install one Dapr Shared release per ingress and app instance",
        ["Installs the Dapr Shared chart once per instance (the ingress daprd and one per app with Dapr) with the "
         "rendered values.", _RENDERS_ALL],
        (("Dapr", DAPR),),
    ),
    "mesh": (
        "Apply the rendered mesh objects, prune what left the inventory, wait for gateways",
        ["Applies every rendered object with server-side apply in one call, prunes owned objects that left the "
         "inventory, waits for each Gateway to be Programmed and reports its address.", _RENDERS_ALL],
        (("Mesh", MESH),),
    ),
    "verify": (
        "Smoke-test a live mesh: traffic split, Dapr hop, policies that deny",
        ["Sends requests through each app's first route and checks that every version gets its share of the answers "
         "and that the answers went through Dapr (caller and callee app ids in whoami's echo); optionally starts a "
         "throw-away curl pod to prove that a direct request to an app's pods is denied.", _RENDERS_ALL],
        (("Verify", {"mesh_verify": MESH["mesh_verify"]}),),
    ),
}

_ARG_TYPES = {"str": "str", "int": "int", "bool": "bool", "list": "list", "dict": "dict", "map": "dict", "raw": "raw"}


class _Dumper(yaml.SafeDumper):
    """Indent lists under their key (yamllint/ansible-lint style)."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def dump(data):
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=110,
                     allow_unicode=True)


def argument_spec(field):
    spec = {"description": field.description, "type": _ARG_TYPES[field.type]}
    if field.required:
        spec["required"] = True
    elif field.has_default() and field.type not in ("dict",):
        default = field.doc_default_value()
        if default not in (None, "", [], {}) or field.type in ("bool", "int"):
            spec["default"] = default
    if field.choices:
        spec["choices"] = list(field.choices)
    if field.type == "list" and field.elements is not None:
        spec["elements"] = _ARG_TYPES[field.elements.type]
        if field.elements.type == "dict" and field.elements.options:
            spec["options"] = dict((name, argument_spec(option)) for name, option in field.elements.options.items())
        elif field.elements.type == "str" and field.elements.choices:
            spec["choices"] = list(field.elements.choices)
    if field.type == "dict" and field.options:
        spec["options"] = dict((name, argument_spec(option)) for name, option in field.options.items())
    return spec


def argument_specs_file(role):
    short, description, groups = ROLES[role]
    options = {}
    for group in groups:
        variables = group[1]
        for name, field in variables.items():
            options[name] = argument_spec(field)
    data = {"argument_specs": {"main": {
        "short_description": short,
        "description": description,
        "author": ["sidecarless.mesh contributors"],
        "options": options,
    }}}
    return "---\n# %s\n%s" % (GENERATED, dump(data))


def _md_default(field):
    if field.required:
        return "required"
    if field.type == "dict" and field.options:
        return "see below"
    value = field.default_value()
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    if text.endswith("..."):
        text = text[:-3].strip()
    return "`%s`" % text.replace("|", "\\|")


def _limits(field):
    text = field.limits()
    return " Limits: %s." % text if text else ""


def _md_rows(prefix, field, rows):
    choices = " One of: %s." % ", ".join("`%s`" % c for c in field.choices) if field.choices else ""
    rows.append("| `%s` | %s | %s | %s%s%s |" % (
        prefix, field.type, _md_default(field), field.description.replace("|", "\\|"), choices,
        _limits(field).replace("|", "\\|")))
    options = None
    if field.type == "dict" and field.options:
        options = field.options
        base = prefix
    elif field.type == "list" and field.elements is not None and field.elements.type == "dict":
        options = field.elements.options
        base = prefix + "[]"
    if options:
        for name, option in options.items():
            _md_rows("%s.%s" % (base, name), option, rows)


def variables_md():
    lines = [
        "# Inventory variables",
        "",
        "<!-- %s -->" % GENERATED,
        "",
        "Every variable the collection reads, with its type and default. They are validated together before",
        "anything is rendered or changed; an error names the variable path (`mesh_apps[1].versions[0].weight`) and",
        "what is allowed. Variables with the `cilium_`, `dapr_` or `mesh_` prefix that are not listed here are",
        "reported as unknown (typos), unless listed in `mesh_ignore_vars`.",
        "",
        "Nested keys are shown with dots; `[]` marks the items of a list. Dict variables are merged key by key",
        "with their defaults, so setting `cilium_hubble: {ui: false}` keeps the other Hubble defaults.",
        "",
    ]
    for title, variables in ROLES["render"][2]:
        lines.extend(["## %s" % title, "", "| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"])
        rows = []
        for name, field in variables.items():
            _md_rows(name, field, rows)
        lines.extend(rows)
        lines.append("")
    return "\n".join(lines)


_RST_SPECIAL = str.maketrans({char: "\\" + char for char in "\\*`|_"})


def _rst_text(text):
    return str(text).translate(_RST_SPECIAL)


def _rst_default(field):
    text = _md_default(field)
    return text.replace("\\|", "|").replace("`", "``") if text.startswith("`") else text


def _rst_rows(prefix, field, rows):
    choices = " One of: %s." % ", ".join("``%s``" % c for c in field.choices) if field.choices else ""
    rows.extend(["   * - ``%s``" % prefix, "     - %s" % field.type, "     - %s" % _rst_default(field),
                 "     - %s%s%s" % (_rst_text(field.description), choices, _rst_text(_limits(field)))])
    options = None
    if field.type == "dict" and field.options:
        options, base = field.options, prefix
    elif field.type == "list" and field.elements is not None and field.elements.type == "dict":
        options, base = field.elements.options, prefix + "[]"
    for name, option in (options or {}).items():
        _rst_rows("%s.%s" % (base, name), option, rows)


def variables_rst():
    """The same reference for the docsite (docs/docsite/extra-docs.yml)."""
    title = "Inventory variables"
    lines = [
        ".. _ansible_collections.sidecarless.mesh.docsite.guide_variables:",
        "",
        ".. %s" % GENERATED,
        "",
        title,
        "=" * len(title),
        "",
        "Every variable the collection reads, with its type and default. They are validated together before",
        "anything is rendered or changed; an error names the variable path (``mesh_apps[1].versions[0].weight``) and",
        "what is allowed. Variables with the ``cilium_``, ``dapr_`` or ``mesh_`` prefix that are not listed here are",
        "reported as unknown (typos), unless listed in ``mesh_ignore_vars``.",
        "",
        "Nested keys are shown with dots; ``[]`` marks the items of a list. Dict variables are merged key by key",
        "with their defaults, so setting ``cilium_hubble: {ui: false}`` keeps the other Hubble defaults.",
        "",
    ]
    for heading, variables in ROLES["render"][2]:
        lines.extend([heading, "-" * len(heading), "", ".. list-table::", "   :header-rows: 1",
                      "   :widths: 30 8 17 45", "", "   * - Variable", "     - Type", "     - Default",
                      "     - Description"])
        rows = []
        for name, field in variables.items():
            _rst_rows(name, field, rows)
        lines.extend(rows)
        lines.append("")
    return "\n".join(lines)


def outputs():
    files = {os.path.join("docs", "variables.md"): variables_md(),
             os.path.join("docs", "docsite", "rst", "guide_variables.rst"): variables_rst()}
    for role in ROLES:
        files[os.path.join("roles", role, "meta", "argument_specs.yml")] = argument_specs_file(role)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = parser.parse_args()
    stale = []
    for rel, text in sorted(outputs().items()):
        path = os.path.join(ROOT, rel)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current == text:
            continue
        stale.append(rel)
        if not args.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
    if args.check and stale:
        print("out of date (run tools/gendocs.py): %s" % ", ".join(stale), file=sys.stderr)
        return 1
    for rel in stale:
        print("wrote %s" % rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
