# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipsec_key against an emulated API server, and the key format itself."""

from __future__ import annotations

import base64
import json
import re

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import ipsec
from ansible_collections.sidecarless.mesh.plugins.modules import ipsec_key
from module_runner import run_module


pytestmark = pytest.mark.cluster


@pytest.fixture
def api(namespaced_kube):
    """The real test control plane, one namespace per test (it stands for kube-system)."""
    return namespaced_kube


def run(api, **args):
    check_mode = args.pop("check_mode", False)
    args.setdefault("namespace", api.namespace)
    return run_module(ipsec_key.main, dict(kubeconfig=api.kubeconfig_path, **args), check_mode=check_mode)


def stored_line(api):
    secret = api.get("Secret", "cilium-ipsec-keys", "kube-system")
    return base64.b64decode(secret["data"]["keys"]).decode()


def put_line(api, line):
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cilium-ipsec-keys", "namespace": "kube-system"},
             "data": {"keys": base64.b64encode(line.encode()).decode()}})


def material_of(line):
    """The hex key fields of a stored line (without a 0x prefix)."""
    fields = [field[2:] if field.startswith("0x") else field for field in line.split(" ")]
    return [field for field in fields if re.fullmatch(r"[0-9a-fA-F]{6,}", field)]


def assert_no_material(result, *lines):
    text = json.dumps(result)
    for line in lines:
        for material in material_of(line):
            assert material not in text and material.upper() not in text, "key material in the module output"
        encoded = base64.b64encode(line.encode()).decode()
        assert encoded not in text


def test_creates_a_key_in_the_per_tunnel_form_and_never_returns_it(api):
    result = run(api)
    assert result["changed"] and result["created"] and result["key_id"] == 1
    assert result["algorithm"] == "rfc4106(gcm(aes))" and result["icv_bits"] == 128 and result["per_tunnel"]
    line = stored_line(api)
    key = ipsec.parse_keys(line)
    assert (key.key_id, key.per_tunnel, key.icv_bits, key.key_bytes) == (1, True, 128, (20,))
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
    put_line(api, "15+ rfc4106(gcm(aes)) %s 128" % ("ab" * 20))
    assert run(api, state="rotated")["key_id"] == 1


def test_rotation_is_refused_while_the_agents_roll_out(api):
    run(api)
    labels = {"k8s-app": "cilium"}
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "cilium", "namespace": "kube-system"},
                 "spec": {"selector": {"matchLabels": labels}, "updateStrategy": {"type": "OnDelete"},
                          "template": {"metadata": {"labels": labels}, "spec": {
                              "tolerations": [{"operator": "Exists"}],
                              "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.19.6"}]}}}}
    api.put(daemonset)
    api.wait(lambda: (api.get("DaemonSet", "cilium").get("status") or {}).get("numberAvailable") == 3, 60, "agents")
    # An upgrade under way: the new template is out, the agents still run the old one (OnDelete).
    daemonset["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/cilium/cilium:v1.20.0"
    api.put(daemonset)
    api.wait(lambda: (api.get("DaemonSet", "cilium").get("status") or {}).get("observedGeneration") == 2, 60,
             "the new generation observed")
    line = stored_line(api)
    result = run(api, state="rotated")
    assert result["failed"] and "rolling out" in result["msg"]
    assert stored_line(api) == line


def test_check_mode_writes_nothing(api):
    result = run(api, check_mode=True)
    assert result["changed"] and result["created"]
    assert api.get("Secret", "cilium-ipsec-keys", "kube-system") is None


def test_a_malformed_stored_key_is_reported_without_echoing_it(api):
    put_line(api, "3 cbc(aes) deadbeefdeadbeef 128")
    result = run(api)
    assert result["failed"] and "Cilium would refuse" in result["msg"] and "'cbc(aes)' is not one" in result["msg"]
    assert "deadbeef" not in json.dumps(result)
    assert stored_line(api) == "3 cbc(aes) deadbeefdeadbeef 128"


def test_user_supplied_key_is_validated_and_not_logged(api):
    result = run(api, key="nothex")
    assert result["failed"] and "40 hexadecimal" in result["msg"]
    assert "nothex" not in json.dumps(result)
    result = run(api, key="0123456789abcdef0123456789abcdef01234567", icv_bits=96)
    assert result["key_id"] == 1 and stored_line(api).endswith(" 96")


HMAC_CBC = "2+ hmac(sha256) %s cbc(aes) %s" % ("0123456789abcdef" * 4, "fedcba9876543210" * 2)
AEAD_96 = "7 rfc4106(gcm(aes)) %s 96" % "44434241343332312423222114131211f4f3f2f1"


@pytest.mark.parametrize("line,algorithm,icv", [
    (HMAC_CBC, "hmac(sha256) cbc(aes)", None),
    (AEAD_96, "rfc4106(gcm(aes))", 96),
    ('3 digest_null "" cipher_null ""', "digest_null cipher_null", None),
    ("4 rfc4106(gcm(aes)) 0x%s 128" % ("AB" * 36), "rfc4106(gcm(aes))", 128),
])
def test_present_leaves_every_valid_key_alone(api, line, algorithm, icv):
    put_line(api, line)
    before = api.get("Secret", "cilium-ipsec-keys", "kube-system")["metadata"]["resourceVersion"]
    writes = len(api.writes())
    result = run(api)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and not result["created"] and not result["rotated"]
    assert (result["key_id"], result["algorithm"], result["icv_bits"]) == (int(line[0]), algorithm, icv)
    assert result["per_tunnel"] is (line.split(" ")[0].endswith("+"))
    assert stored_line(api) == line and len(api.writes()) == writes
    assert api.get("Secret", "cilium-ipsec-keys", "kube-system")["metadata"]["resourceVersion"] == before
    assert_no_material(result, line)


def test_a_key_the_kernel_refuses_is_left_alone_with_a_warning(api):
    line = "5+ rfc4106(gcm(aes)) %s 256" % ("5a" * 20)
    put_line(api, line)
    result = run(api)
    assert result["changed"] is False and result["icv_bits"] == 256
    assert any("ICV of 64, 96, 128 bits, not 256" in warning for warning in map(str, result.get("warnings", [])))
    assert stored_line(api) == line
    assert_no_material(result, line)
    refused = run(api, state="rotated")
    assert refused["failed"] and "cannot be rotated as it is" in refused["msg"]
    assert stored_line(api) == line
    assert_no_material(refused, line)


def test_rotating_an_hmac_cbc_key_keeps_its_algorithms_and_sizes(api):
    put_line(api, HMAC_CBC)
    result = run(api, state="rotated")
    assert result["changed"] and result["rotated"] and not result["created"]
    assert (result["key_id"], result["algorithm"], result["icv_bits"]) == (3, "hmac(sha256) cbc(aes)", None)
    new = stored_line(api)
    fields = new.split(" ")
    assert fields[0] == "3+" and fields[1] == "hmac(sha256)" and fields[3] == "cbc(aes)"
    assert len(fields[2]) == 64 and len(fields[4]) == 32
    assert set(material_of(new)).isdisjoint(material_of(HMAC_CBC))
    # The agent checks the new key against the loaded one as consecutive lines: new id, same key length.
    assert ipsec.parse_keys(HMAC_CBC + "\n" + new).key_id == 3
    assert_no_material(result, HMAC_CBC, new)


def test_rotating_an_rfc4106_key_with_icv_96_keeps_the_icv(api):
    put_line(api, AEAD_96)
    result = run(api, state="rotated")
    assert result["rotated"] and (result["key_id"], result["icv_bits"]) == (8, 96)
    new = stored_line(api)
    fields = new.split(" ")
    assert fields[0] == "8+" and fields[1] == "rfc4106(gcm(aes))" and fields[3] == "96"
    assert len(fields[2]) == 40 and fields[2] != AEAD_96.split(" ")[2]
    assert ipsec.parse_keys(AEAD_96 + "\n" + new).key_id == 8
    assert_no_material(result, AEAD_96, new)


def test_rotation_in_check_mode_reports_and_writes_nothing(api):
    put_line(api, HMAC_CBC)
    result = run(api, state="rotated", check_mode=True)
    assert result["changed"] and result["rotated"] and result["key_id"] == 3
    assert stored_line(api) == HMAC_CBC
    assert_no_material(result, HMAC_CBC)


@pytest.mark.parametrize("line,args,expected", [
    (HMAC_CBC, {"icv_bits": 128}, "apply to rfc4106(gcm(aes)) keys"),
    (HMAC_CBC, {"key": "ab" * 20}, "apply to rfc4106(gcm(aes)) keys"),
    (AEAD_96, {"icv_bits": 128}, "differs from the current key's 96"),
])
def test_a_rotation_cilium_would_refuse_is_not_written(api, line, args, expected):
    put_line(api, line)
    result = run(api, state="rotated", **args)
    assert result["failed"] and expected in result["msg"]
    assert stored_line(api) == line
    assert_no_material(result, line)
    assert "ab" * 20 not in json.dumps(result)


@pytest.mark.parametrize("line,expected", [
    ("0+ rfc4106(gcm(aes)) %s 128" % ("cd" * 20), "key id 0 is not valid"),
    ("16+ rfc4106(gcm(aes)) %s 128" % ("cd" * 20), "key id 16 is too large"),
    ("3+ rfc4106(gcm(aes)) %s 64" % ("cd" * 20), "ICV length 64"),
    ("3+ rfc4106(gcm(aes)) %sz 128" % ("cd" * 20), "not hexadecimal"),
    ("3+ hmac(sha256) %s cbc(aes) %s\n3+ hmac(sha256) %s cbc(aes) %s" % (("cd" * 16,) * 4), "incrementing the key id"),
])
def test_invalid_stored_keys_fail_without_echoing_them(api, line, expected):
    put_line(api, line)
    for state in ("present", "rotated"):
        result = run(api, state=state)
        assert result["failed"] and expected in result["msg"]
        assert_no_material(result, *line.split("\n"))
    assert stored_line(api) == line


def test_values_the_module_hides_are_masked_in_any_result():
    material = "9f" * 20

    def leaky_main():
        module = ipsec_key.module_with_auth(ipsec_key.OPTIONS)
        ipsec_key.hide(module, material, "short")
        module.fail_json(msg="something went wrong with %s (short)" % material)

    result = run_module(leaky_main, {})
    assert material not in json.dumps(result) and "********" in result["msg"]
    assert "(short)" in result["msg"]  # values under 6 characters are not masked: they would mangle messages
