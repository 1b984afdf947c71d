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
version_added: 1.0.0
description:
  - Makes sure the Secret Cilium reads its IPsec key from exists. A new key is written in the per-tunnel form
    '<id>+ rfc4106(gcm(aes)) <40 hex chars> <icv bits>', with 20 bytes of key material from the operating system's
    random source (or O(key)).
  - An existing key is checked the way Cilium's agent parses it (C(LoadIPSecKeys) in
    C(pkg/datapath/linux/ipsec/ipsec_linux.go), the same in Cilium 1.18, 1.19 and 1.20) and the module fails only
    on what the agent would refuse. Cilium accepts, one key a line (the last line is the key in use), fields
    separated by single spaces, C(<id>[+] <aead-algo> <hex key> <icv bits>) with an AEAD name starting with C(rfc)
    and an ICV of 96, 128 or 256 bits, and C(<id>[+] <auth-algo> <hex key> <enc-algo> <hex key>) (for example
    'hmac(sha256)' with 'cbc(aes)'), with an id from 1 to 15, with or without the C(+) (Cilium 1.17 and later
    always derive per-tunnel keys), keys in hexadecimal (a leading C(0x) allowed) or C("") for an empty key.
  - With O(state=present), a valid existing key is left as it is, whatever its algorithm. A key the Linux kernel will
    refuse when the agents install their IPsec states (an algorithm the kernel's xfrm tables do not have, an AEAD ICV
    length or key size the algorithm does not take, such as 'rfc4106(gcm(aes))' with a 256-bit ICV) or a null or
    broken algorithm is reported as a warning, not changed.
  - With O(state=rotated), writes a new key with the next id (1 to 15, wrapping to 1), which Cilium's key watcher
    picks up. The new key keeps the current key's algorithms, ICV length and key sizes, with new random material;
    an 'rfc4106(gcm(aes))' key stays 'rfc4106(gcm(aes))' with the same ICV, a 'hmac(sha256)' plus 'cbc(aes)'
    key stays 'hmac(sha256)' plus 'cbc(aes)'. Cilium 1.18 and later refuse a rotation that changes the key length
    they compute (the ICV for AEAD keys, the authentication key's length otherwise; the agent logs
    C(invalid key rotation) and keeps the old key), so a change of algorithm is not a
    rotation. To move to another algorithm, replace the Secret and restart the agents, outside an upgrade.
  - Refuses to rotate while the Cilium DaemonSet is rolling out (an upgrade), because rotating then breaks traffic
    between nodes on different keys, and refuses to rotate a key the kernel refuses (its successor would be refused
    too).
  - Key material never appears in the module's result, warnings, error messages or logs; the module supports no
    diff.
author:
  - sidecarless.mesh maintainers (@sidecarless)
requirements:
  - kubernetes >= 24.2.0
extends_documentation_fragment:
  - sidecarless.mesh.k8s_connection
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
      - V(present) creates the Secret when it is missing and leaves an existing valid key alone, whatever its
        algorithm.
      - V(rotated) replaces the key with one under the next id, keeping its algorithms, ICV length and key sizes.
    type: str
    choices: [present, rotated]
    default: present
  icv_bits:
    description:
      - ICV length in bits of a new 'rfc4106(gcm(aes))' key; 128 when not set. 256, which Cilium's parser accepts,
        is not offered because GCM tags are at most 128 bits and the kernel refuses it.
      - With O(state=rotated) it must equal the current key's ICV length (or be left unset), and it only applies
        to an AEAD key.
      - Ignored when O(state=present) finds a key.
    type: int
    choices: [96, 128]
  key:
    description:
      - 40 hexadecimal characters to use as 'rfc4106(gcm(aes))' key material instead of random bytes (for example
        from a vault), for a new key or for the rotation of an 'rfc4106(gcm(aes))' key.
      - Ignored when O(state=present) finds a key.
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
notes:
  - Checked against the key parser of Cilium 1.18, 1.19 and 1.20 and the kernel's C(net/xfrm/xfrm_algo.c).
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
algorithm:
  description:
    - Algorithm of the key now in the Secret, the AEAD name or the authentication and encryption names separated
      by a space; a name the kernel does not know shows as C(<unrecognised>).
  returned: success
  type: str
  sample: rfc4106(gcm(aes))
icv_bits:
  description: ICV length in bits of an AEAD key, null for an authentication plus encryption key.
  returned: success
  type: int
  sample: 128
per_tunnel:
  description:
    - Whether the key id carries the C(+) of the per-tunnel form (keys the module writes always do). Cilium 1.17 and
      later derive per-tunnel keys either way.
  returned: success
  type: bool
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
    api_client,
    module_with_auth,
    reason,
    require_k8s_core,
)

FIELD_MANAGER = "sidecarless.mesh"

OPTIONS = dict(
    namespace=dict(type="str", default="kube-system"),
    secret_name=dict(type="str", default="cilium-ipsec-keys"),
    state=dict(type="str", choices=["present", "rotated"], default="present"),
    icv_bits=dict(type="int", choices=list(ipsec.ICV_BITS)),
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


def hide(module, *values):
    """Have Ansible mask these strings wherever they would appear in the result (a second line of defence)."""
    no_log_values = getattr(getattr(module, "_module", module), "no_log_values", None)
    if no_log_values is not None:
        no_log_values.update(value for value in values if value and len(value) >= 6)


def describe(key):
    return dict(key_id=key.key_id, algorithm=ipsec.key_algorithm(key), icv_bits=key.icv_bits,
                per_tunnel=key.per_tunnel)


def stored_key(module, live):
    """The parsed key in use in the live Secret (fails, without echoing it, where Cilium would refuse it)."""
    params = module.params
    where = "Secret %s/%s" % (params["namespace"], params["secret_name"])
    encoded = (live.get("data") or {}).get("keys")
    if not encoded:
        module.fail_json(msg="%s has no 'keys' entry; fix or delete it" % where)
    hide(module, encoded)
    try:
        text = base64.b64decode(encoded).decode("latin-1")
        hide(module, text, text.strip(), *ipsec.sensitive_tokens(text))
        key = ipsec.parse_keys(text)
    except ipsec.KeyFormatError as exc:
        module.fail_json(msg="%s: Cilium would refuse the IPsec key: %s" % (where, exc))
    except (TypeError, ValueError):
        module.fail_json(msg="%s: the 'keys' entry is not valid base64" % where)
    for problem in key.problems:
        module.warn("%s, key %d: %s; the agents will fail to install IPsec states with it" % (
            where, key.key_id, problem))
    for advice in key.advice:
        module.warn("%s, key %d: %s" % (where, key.key_id, advice))
    return key


def run(module, client):
    params = module.params
    secrets = client.resource("Secret", "v1")
    try:
        live = secrets.get(name=params["secret_name"], namespace=params["namespace"]).to_dict()
    except NotFoundError:
        live = None
    result = dict(changed=False, created=False, rotated=False)
    current = stored_key(module, live) if live is not None else None
    if current is not None and params["state"] == "present":
        result.update(describe(current))
        return result
    if current is not None:
        daemonsets = client.resource("DaemonSet", "apps/v1")
        try:
            agent = daemonsets.get(name=params["daemonset"], namespace=params["namespace"]).to_dict()
        except NotFoundError:
            agent = None
        if agent is not None and rollout_in_progress(agent):
            module.fail_json(msg="DaemonSet %s/%s is rolling out (an upgrade?); rotate the IPsec key once every agent "
                                 "runs the new version" % (params["namespace"], params["daemonset"]))
    try:
        if current is None:
            line = ipsec.format_key(1, params["key"] or ipsec.generate_secret_material(),
                                    params["icv_bits"] or ipsec.DEFAULT_ICV_BITS)
        else:
            line = ipsec.rotate(current, material=params["key"], icv_bits=params["icv_bits"])
    except ipsec.KeyFormatError as exc:
        module.fail_json(msg="Secret %s/%s: %s" % (params["namespace"], params["secret_name"], exc))
    body = secret_object(params, line)
    hide(module, line, body["data"]["keys"], *ipsec.sensitive_tokens(line))
    new = ipsec.parse_keys(line)
    client.client.server_side_apply(secrets, body=body, name=params["secret_name"],
                                    namespace=params["namespace"], field_manager=FIELD_MANAGER, force_conflicts=True,
                                    dry_run="All" if module.check_mode else None)
    result.update(changed=True, created=current is None, rotated=current is not None, **describe(new))
    return result


def main():
    require_k8s_core()
    module = module_with_auth(OPTIONS)
    try:
        client = api_client(module)
        result = run(module, client)
    except (CoreException, TransportError) as exc:
        module.fail_json(msg="cannot reach the Kubernetes API: %s" % reason(exc))
    except DynamicApiError as exc:
        module.fail_json(msg="Kubernetes API error on Secret %s/%s: %s" % (
            module.params["namespace"], module.params["secret_name"], reason(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
