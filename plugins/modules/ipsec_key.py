#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create or rotate Cilium's IPsec key Secret without ever showing the key."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipsec_key
short_description: Create or rotate the Cilium IPsec key Secret
version_added: 0.1.0
description:
  - Makes sure the Secret Cilium reads its IPsec key from exists, in the per-tunnel form
    C(<id>+ rfc4106(gcm(aes)) <40 hex chars> <icv bits>), with key material from the operating system's random
    source.
  - With O(state=rotated), writes a new key with the next id (1 to 15, wrapping to 1), which Cilium's key watcher
    picks up; refuses while the Cilium DaemonSet is rolling out (an upgrade), because rotating then breaks traffic
    between nodes on different keys.
  - The key never appears in the module's result, logs or diff.
author:
  - sidecarless.mesh maintainers (@sidecarless)
requirements:
  - kubernetes >= 24.2.0
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of Cilium (and of the Secret).
    type: str
    default: kube-system
  secret_name:
    description: Name of the Secret (Helm value C(encryption.ipsec.secretName)).
    type: str
    default: cilium-ipsec-keys
  state:
    description:
      - V(present) creates the Secret when it is missing and leaves an existing valid key alone.
      - V(rotated) replaces the key with a new one under the next id.
    type: str
    choices: [present, rotated]
    default: present
  icv_bits:
    description: ICV length in bits for a new key.
    type: int
    choices: [96, 128, 256]
    default: 128
  key:
    description:
      - 40 hexadecimal characters to use as key material instead of a random one (for example from a vault).
    type: str
  daemonset:
    description: Name of the Cilium agent DaemonSet, checked for a rollout in progress before a rotation.
    type: str
    default: cilium
attributes:
  check_mode:
    support: full
    description: Reports whether the Secret would be created or rotated; nothing is written.
  diff_mode:
    support: none
    description: A diff would show the key.
  platform:
    support: full
    platforms: all
    description: Runs where the Kubernetes API is reachable, usually the controller (localhost).
"""

EXAMPLES = r"""
- name: Make sure Cilium has an IPsec key
  sidecarless.mesh.ipsec_key:
    kubeconfig: ~/.kube/prod.yaml

- name: Rotate the key (not during an upgrade)
  sidecarless.mesh.ipsec_key:
    state: rotated
"""

RETURN = r"""
key_id:
  description: Id of the key now in the Secret (1 to 15).
  returned: success
  type: int
  sample: 2
created:
  description: Whether the Secret was (or in check mode would be) created.
  returned: success
  type: bool
rotated:
  description: Whether the key was (or would be) rotated.
  returned: success
  type: bool
"""

import base64

from ansible_collections.sidecarless.mesh.plugins.module_utils import ipsec
from ansible_collections.sidecarless.mesh.plugins.module_utils.k8s_client import (
    CoreException,
    DynamicApiError,
    NotFoundError,
    TransportError,
    get_api_client,
    module_with_auth,
    reason,
    require_k8s_core,
)

FIELD_MANAGER = "sidecarless.mesh"

OPTIONS = dict(
    namespace=dict(type="str", default="kube-system"),
    secret_name=dict(type="str", default="cilium-ipsec-keys"),
    state=dict(type="str", choices=["present", "rotated"], default="present"),
    icv_bits=dict(type="int", choices=[96, 128, 256], default=128),
    key=dict(type="str", no_log=True),
    daemonset=dict(type="str", default="cilium"),
)


def rollout_in_progress(daemonset):
    """A DaemonSet whose pods are not all on the current template."""
    status = daemonset.get("status") or {}
    generation = (daemonset.get("metadata") or {}).get("generation", 0)
    desired = status.get("desiredNumberScheduled", 0)
    return (status.get("observedGeneration", 0) < generation or status.get("updatedNumberScheduled", 0) < desired
            or status.get("numberAvailable", 0) < desired)


def secret_object(params, line):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": params["secret_name"],
            "namespace": params["namespace"],
            "labels": {"app.kubernetes.io/managed-by": "sidecarless.mesh"},
        },
        "data": {"keys": base64.b64encode(line.encode("ascii")).decode("ascii")},
    }


def run(module, client):
    params = module.params
    secrets = client.resource("Secret", "v1")
    try:
        live = secrets.get(name=params["secret_name"], namespace=params["namespace"]).to_dict()
    except NotFoundError:
        live = None
    result = dict(changed=False, created=False, rotated=False)
    current_id = None
    if live is not None:
        encoded = (live.get("data") or {}).get("keys")
        if not encoded:
            module.fail_json(msg="Secret %s/%s has no 'keys' entry; fix or delete it" % (
                params["namespace"], params["secret_name"]))
        try:
            current_id = ipsec.parse_key(base64.b64decode(encoded).decode("ascii", "replace"))[0]
        except (ipsec.KeyFormatError, ValueError) as exc:
            module.fail_json(msg="Secret %s/%s: %s" % (params["namespace"], params["secret_name"], exc))
    if live is not None and params["state"] == "present":
        result["key_id"] = current_id
        return result
    if live is not None:
        daemonsets = client.resource("DaemonSet", "apps/v1")
        try:
            agent = daemonsets.get(name=params["daemonset"], namespace=params["namespace"]).to_dict()
        except NotFoundError:
            agent = None
        if agent is not None and rollout_in_progress(agent):
            module.fail_json(msg="DaemonSet %s/%s is rolling out (an upgrade?); rotate the IPsec key once every agent "
                                 "runs the new version" % (params["namespace"], params["daemonset"]))
    new_id = 1 if current_id is None else ipsec.next_id(current_id)
    try:
        line = ipsec.format_key(new_id, params["key"] or ipsec.generate_secret_material(), params["icv_bits"])
    except ipsec.KeyFormatError as exc:
        module.fail_json(msg="key: %s" % exc)
    client.client.server_side_apply(secrets, body=secret_object(params, line), name=params["secret_name"],
                                    namespace=params["namespace"], field_manager=FIELD_MANAGER, force_conflicts=True,
                                    dry_run="All" if module.check_mode else None)
    result.update(changed=True, key_id=new_id, created=live is None, rotated=live is not None)
    return result


def main():
    require_k8s_core()
    module = module_with_auth(OPTIONS)
    try:
        client = get_api_client(module=module)
        result = run(module, client)
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    except DynamicApiError as exc:
        module.fail_json(msg="Kubernetes API error on Secret %s/%s: %s" % (
            module.params["namespace"], module.params["secret_name"], reason(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
