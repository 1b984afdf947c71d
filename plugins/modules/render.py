#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the sidecarless.mesh.render action (the work happens in plugins/action/render.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: render
short_description: Validate the mesh inventory and render every manifest and Helm values file
version_added: 1.0.0
description:
  - Gathers every C(cilium_*), C(dapr_*) and C(mesh_*) variable of the host, validates them in one pass
    and renders the whole mesh with the collection's core, C(plugins/module_utils).
  - Writes the render directory (O(dest)) on the controller; contacts no cluster.
  - "Bad input fails before anything is written, with every problem listed by variable path, for example
    C(mesh_apps[1].versions[0].weight: must be an integer from 0 to 1000000, got -5)."
  - Runs as one task whatever the number of apps; files whose content is unchanged are not touched, so a
    second run reports no change.
  - The returned data holds every rendered object and Helm release, so cluster-mode roles apply exactly
    what render mode writes.
author:
  - sidecarless.mesh maintainers (@sidecarless)
options:
  dest:
    description:
      - The render directory.
      - Defaults to C(mesh_render_dir), or C(build/<mesh_cluster_name>) under the directory
        C(ansible-playbook) runs in.
      - Only files under C(manifests/) and C(helm/) that the render no longer produces are removed, and only in
        a directory marked as written by this collection.
    type: str
  write:
    description:
      - Write the render directory. V(false) only validates and returns the rendered data.
    type: bool
    default: true
  content:
    description:
      - Return the rendered objects and Helm values (RV(manifests), RV(releases), RV(flows)).
      - V(false) keeps the result small when only validation or the files matter.
    type: bool
    default: true
  values:
    description:
      - With O(content=true), include each release's Helm values in RV(releases).
      - V(false) when a task needs the releases but not their values, so that what users pass through
        C(*_helm_values) (which may hold secrets) is not in the result, and so not printed with C(-v).
      - Tasks that do need the values should set C(no_log).
    type: bool
    default: true
  variables:
    description:
      - Render these variables instead of the host's C(cilium_*), C(dapr_*) and C(mesh_*) variables.
      - Keys without those prefixes are ignored.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports which files would change without writing them.
  diff_mode:
    support: full
    description: Shows a unified diff of every file that changes.
  platform:
    support: full
    platforms: all
    description: Runs on the controller only; the target host is not contacted.
notes:
  - The variables are documented in the collection's C(docs/variables.md) and in the C(render) role's
    argument specification.
  - Secrets are never rendered; the IPsec key Secret is created in cluster mode.
seealso:
  - ref: sidecarless.mesh.render_mesh filter <ansible_collections.sidecarless.mesh.render_mesh_filter>
    description: The same rendering as a filter.
"""

EXAMPLES = r"""
- name: Render the mesh of this inventory into build/<mesh_cluster_name>
  sidecarless.mesh.render:

- name: Validate and render into a review directory, showing what changes
  sidecarless.mesh.render:
    dest: /srv/gitops/cluster-a
  diff: true

- name: Only validate and keep the rendered objects for later tasks
  sidecarless.mesh.render:
    write: false
  register: __mesh_rendered

- name: Validate the inventory, nothing else
  sidecarless.mesh.render:
    write: false
    content: false
"""

RETURN = r"""
dest:
  description: Absolute path of the render directory.
  returned: always
  type: str
  sample: /home/ops/mesh/build/demo
files:
  description: Every file of the render directory, relative to O(dest).
  returned: when O(write=true)
  type: list
  elements: str
  sample: [helm/cilium.values.yaml, helm/releases.yaml, manifests/20-gateways.yaml, summary.txt]
changed_files:
  description: Files that were (or in check mode would be) written.
  returned: when O(write=true)
  type: list
  elements: str
removed_files:
  description: Stale files under C(manifests/) and C(helm/) that were (or would be) removed.
  returned: when O(write=true)
  type: list
  elements: str
summary:
  description: The human summary, one line per item; also written to C(summary.txt).
  returned: always
  type: list
  elements: str
manifests:
  description: Rendered Kubernetes objects by manifest file name, in apply order.
  returned: when O(content=true)
  type: dict
releases:
  description: Helm releases in install order with name, namespace, chart, version, repository, values_file and
    values (values only with O(values=true)).
  returned: when O(content=true)
  type: list
  elements: dict
gateway_api:
  description: Gateway API CRDs to install before Cilium (enabled, version, channel, urls of the manifests).
  returned: always
  type: dict
flows:
  description: Allowed flows (from, to, ports, mutual_auth, purpose) the network policies enforce.
  returned: when O(content=true)
  type: list
  elements: dict
counts:
  description: Number of objects, releases, apps and gateways rendered.
  returned: always
  type: dict
verify_targets:
  description: Per app with a route, what the verify role checks (gateway, port, path, host, expected shares, Dapr
    markers, the Service a direct request is tried on).
  returned: always
  type: list
  elements: dict
verify:
  description: The normalised C(mesh_verify) settings.
  returned: always
  type: dict
kube_auth:
  description: Connection options (kubeconfig, context) from C(mesh_kubeconfig) and C(mesh_kube_context), for
    C(module_defaults) of kubernetes.core and sidecarless.mesh modules.
  returned: always
  type: dict
cluster:
  description: The mesh name (C(mesh_cluster_name)).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="str"),
            write=dict(type="bool", default=True),
            content=dict(type="bool", default=True),
            values=dict(type="bool", default=True),
            variables=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="sidecarless.mesh.render runs as an action plugin on the controller; "
                         "make sure the collection's action plugins are installed")


if __name__ == "__main__":
    main()
