# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipsec_key against an emulated API server, and the key format itself."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import ipsec
from ansible_collections.sidecarless.mesh.plugins.modules import ipsec_key
from module_runner import run_module


def run(api, **args):
    check_mode = args.pop("check_mode", False)
    return run_module(ipsec_key.main, dict(kubeconfig=api.kubeconfig_path, **args), check_mode=check_mode)


def stored_line(api):
    secret = api.get("Secret", "cilium-ipsec-keys", "kube-system")
    return base64.b64decode(secret["data"]["keys"]).decode()


def test_creates_a_key_in_the_per_tunnel_form_and_never_returns_it(api):
    result = run(api)
    assert result["changed"] and result["created"] and result["key_id"] == 1
    line = stored_line(api)
    key_id, per_tunnel, icv = ipsec.parse_key(line)
    assert (key_id, per_tunnel, icv) == (1, True, 128)
    material = line.split()[2]
    assert len(material) == 40 and material not in json.dumps(result)


def test_present_leaves_an_existing_key_alone(api):
    run(api)
    line = stored_line(api)
    result = run(api)
    assert result["changed"] is False and result["key_id"] == 1
    assert stored_line(api) == line


def test_rotation_increments_the_id_and_wraps_after_15(api):
    run(api)
    first = stored_line(api)
    result = run(api, state="rotated")
    assert result["rotated"] and result["key_id"] == 2
    assert stored_line(api).split()[2] != first.split()[2]
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cilium-ipsec-keys", "namespace": "kube-system"},
             "data": {"keys": base64.b64encode(("15+ rfc4106(gcm(aes)) %s 128" % ("ab" * 20)).encode()).decode()}})
    assert run(api, state="rotated")["key_id"] == 1


def test_rotation_is_refused_while_the_agents_roll_out(api):
    run(api)
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet",
                 "metadata": {"name": "cilium", "namespace": "kube-system", "generation": 3},
                 "status": {"observedGeneration": 3, "desiredNumberScheduled": 3, "updatedNumberScheduled": 1,
                            "numberAvailable": 3}}
    api.put(daemonset)
    line = stored_line(api)
    result = run(api, state="rotated")
    assert result["failed"] and "rolling out" in result["msg"]
    assert stored_line(api) == line


def test_check_mode_writes_nothing(api):
    result = run(api, check_mode=True)
    assert result["changed"] and result["created"]
    assert api.get("Secret", "cilium-ipsec-keys", "kube-system") is None


def test_a_malformed_stored_key_is_reported_without_echoing_it(api):
    secret_text = "3 cbc(aes) deadbeef 128"
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cilium-ipsec-keys", "namespace": "kube-system"},
             "data": {"keys": base64.b64encode(secret_text.encode()).decode()}})
    result = run(api)
    assert result["failed"] and "uses 'cbc(aes)'" in result["msg"]
    assert "deadbeef" not in json.dumps(result)


def test_user_supplied_key_is_validated_and_not_logged(api):
    result = run(api, key="nothex")
    assert result["failed"] and "40 hexadecimal" in result["msg"]
    assert "nothex" not in json.dumps(result)
    result = run(api, key="0123456789abcdef0123456789abcdef01234567", icv_bits=96)
    assert result["key_id"] == 1 and stored_line(api).endswith(" 96")


@pytest.mark.parametrize("key_id,expected", [(1, 2), (14, 15), (15, 1)])
def test_next_id(key_id, expected):
    assert ipsec.next_id(key_id) == expected


def test_generated_material_is_random_hex():
    first, second = ipsec.generate_secret_material(), ipsec.generate_secret_material()
    assert len(first) == 40 and int(first, 16) >= 0 and first != second
