# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPsec key parser against what Cilium's agent accepts and refuses.

The key lines marked "Cilium test" are the fixtures of Cilium's own
pkg/datapath/linux/ipsec/ipsec_linux_test.go (1.18 to 1.20), with the
outcome that test expects from LoadIPSecKeys / parseSPI.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils import ipsec

HMAC_KEY = "0123456789abcdef0123456789abcdef"
AEAD_KEY = "44434241343332312423222114131211f4f3f2f1"
KEYS_DAT = "1 hmac(sha256) %s cbc(aes) %s\n2 hmac(sha256) %s cbc(aes) %s\n" % ((HMAC_KEY,) * 4)  # Cilium test
KEYS_NULL_DAT = '3 digest_null "" cipher_null ""\n'  # Cilium test
KEYS_AEAD_DAT = "4 rfc4106(gcm(aes)) %s 128\n" % AEAD_KEY  # Cilium test
KEYS_AEAD_DAT_256 = "5 rfc4106(gcm(aes)) %s 128\n" % (AEAD_KEY + "44434241343332312423222114131211")  # Cilium test
INVALID_KEYS_DAT = "6 test abcdefghijklmnopqrstuvwzyzABCDEF test abcdefghijklmnopqrstuvwzyzABCDEF\n"  # Cilium test
KEYS_SAME_SPI_DAT = "7 hmac(sha256) %s cbc(aes) %s\n7 digest_null \"\" cipher_null \"\"\n" % (HMAC_KEY, HMAC_KEY)
MATERIAL = re.compile(r"[0-9a-fA-F]{16,}")


# -- what Cilium accepts ----------------------------------------------------------------------------------------

def test_cilium_fixture_two_hmac_cbc_lines_loads_the_last():
    key = ipsec.parse_keys(KEYS_DAT)
    assert key.key_id == 2 and key.form == ipsec.AUTH_ENC and not key.per_tunnel
    assert key.algorithms == ("hmac(sha256)", "cbc(aes)") and key.icv_bits is None
    assert key.key_bytes == (16, 16) and key.key_len == 32 and key.problems == ()


def test_cilium_fixture_null_key_is_valid_but_advised_against():
    key = ipsec.parse_keys(KEYS_NULL_DAT)
    assert (key.key_id, key.algorithms, key.key_bytes, key.key_len) == (3, ("digest_null", "cipher_null"), (0, 0), 0)
    assert key.problems == () and len(key.advice) == 2 and "no protection" in key.advice[0]


@pytest.mark.parametrize("text,key_id,size", [(KEYS_AEAD_DAT, 4, 20), (KEYS_AEAD_DAT_256, 5, 36)])
def test_cilium_fixture_aead_keys(text, key_id, size):
    key = ipsec.parse_keys(text)
    assert (key.key_id, key.form, key.algorithms, key.icv_bits) == (key_id, ipsec.AEAD, ("rfc4106(gcm(aes))",), 128)
    assert key.key_bytes == (size,) and key.key_len == 16 and key.problems == () and key.advice == ()


def test_the_documented_per_tunnel_form():
    key = ipsec.parse_keys("3+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY)
    assert key.key_id == 3 and key.per_tunnel


@pytest.mark.parametrize("icv", [96, 128, 256])
def test_every_icv_length_cilium_accepts(icv):
    assert ipsec.parse_keys("1+ rfc4106(gcm(aes)) %s %d" % (AEAD_KEY, icv)).icv_bits == icv


@pytest.mark.parametrize("spi,key_id", [("15", 15), ("3+", 3), ("1", 1), ("03", 3), ("+3", 3), ("15+", 15)])
def test_key_ids_as_go_atoi_reads_them(spi, key_id):
    assert ipsec.parse_keys("%s rfc4106(gcm(aes)) %s 128" % (spi, AEAD_KEY)).key_id == key_id


@pytest.mark.parametrize("text", [
    "2 rfc4106(gcm(aes)) 0x%s 128" % AEAD_KEY,  # the 0x of Cilium 1.4's docs
    "2 rfc4106(gcm(aes)) %s 128" % AEAD_KEY.upper(),
    "2 rfc4106(gcm(aes)) %s 128\r\n" % AEAD_KEY,
    "2 hmac(sha256) 0x%s cbc(aes) 0x%s" % (HMAC_KEY, HMAC_KEY),
    "2+ hmac(sha512) %s cbc(aes) %s" % ("ab" * 64, "cd" * 32),
    "2 rfc4543(gcm(aes)) %s 128" % AEAD_KEY,
])
def test_other_accepted_spellings(text):
    key = ipsec.parse_keys(text)
    assert key.key_id == 2 and key.problems == ()


def test_the_0x_prefix_does_not_count_in_cilium_key_length():
    plain = ipsec.parse_keys("1 hmac(sha256) %s cbc(aes) %s" % (HMAC_KEY, HMAC_KEY))
    prefixed = ipsec.parse_keys("1 hmac(sha256) 0x%s cbc(aes) 0x%s" % (HMAC_KEY, HMAC_KEY))
    assert plain.key_len == prefixed.key_len == 32 and prefixed.key_bytes == (16, 16)


# -- what Cilium refuses ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    (INVALID_KEYS_DAT, "authentication key is not hexadecimal"),  # Cilium test
    (KEYS_SAME_SPI_DAT, "requires incrementing the key id"),  # Cilium test
    (KEYS_DAT + KEYS_NULL_DAT, "key length differs"),  # Cilium test: "key length must not change"
    (" \n", "missing key or invalid format"),  # Cilium test: empty line
    (KEYS_AEAD_DAT + "   \n", "line 2: the line starts with a space"),  # Cilium test: blank second line
    (" rfc4106(gcm(aes)) %s 128\n" % AEAD_KEY, "starts with a space"),  # Cilium test: leading space
    ("+ rfc4106(gcm(aes)) %s 128\n" % AEAD_KEY, "not a key id"),  # Cilium test: spi plus only
    ("254 rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "key id 254 is too large"),  # Cilium test
    ("abc rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "not a key id"),  # Cilium test
    ("0 rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "key id 0 is not valid"),  # Cilium test
    ("16+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "key id 16 is too large"),
    ("0+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "key id 0 is not valid"),
    ("-3 rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "negative"),
    ("3++ rfc4106(gcm(aes)) %s 128" % AEAD_KEY, "not a key id"),
    ("3+ gcm(aes) %s 128" % AEAD_KEY, "Cilium accepts names starting with 'rfc'"),
    ("3+ cbc(aes) %s 128" % AEAD_KEY, "AEAD key and its algorithm 'cbc(aes)' is not one"),
    ("3+ rfc4106(gcm(aes)) %s 64" % AEAD_KEY, "ICV length 64 is not accepted"),
    ("3+ rfc4106(gcm(aes)) %s 127" % AEAD_KEY, "ICV length 127 is not accepted"),
    ("3+ rfc4106(gcm(aes)) %s abc" % AEAD_KEY, "ICV length (last field) is not a number"),
    ("3+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY[:-1], "AEAD key is not hexadecimal"),  # odd length
    ("3+ rfc4106(gcm(aes)) %sxy 128" % AEAD_KEY, "AEAD key is not hexadecimal"),
    ("3+ rfc4106(gcm(aes)) 0X%s 128" % AEAD_KEY, "AEAD key is not hexadecimal"),  # only a lower-case 0x is dropped
    ("3+ hmac(sha256) %s cbc(aes) %sz" % (HMAC_KEY, HMAC_KEY), "encryption key is not hexadecimal"),
    ("3+ rfc4106(gcm(aes)) %s" % AEAD_KEY, "3 fields"),
    ("3+ rfc4106(gcm(aes))", "missing key"),
    ("3+ hmac(sha256) %s cbc(aes) %s 10.0.0.1" % (HMAC_KEY, HMAC_KEY), "too many fields (6)"),
    ("", "no key line"),
    ("\n", "missing key"),
])
def test_what_cilium_refuses_is_refused_without_echoing_material(text, expected):
    with pytest.raises(ipsec.KeyFormatError) as error:
        ipsec.parse_keys(text)
    message = str(error.value)
    assert expected in message
    assert not MATERIAL.search(message), message
    assert AEAD_KEY[:12] not in message and HMAC_KEY[:12] not in message


def test_a_huge_key_id_is_not_echoed():
    with pytest.raises(ipsec.KeyFormatError) as error:
        ipsec.parse_keys("%s rfc4106(gcm(aes)) %s 128" % ("9" * 40, AEAD_KEY))
    assert "of 40 digits" in str(error.value) and "9999" not in str(error.value)


def test_an_unknown_algorithm_name_is_never_echoed():
    # A 4-field line whose "algorithm" is really material in the wrong place.
    with pytest.raises(ipsec.KeyFormatError) as error:
        ipsec.parse_keys("3+ %s rfc4106(gcm(aes)) 128" % AEAD_KEY)
    assert AEAD_KEY not in str(error.value) and "algorithm field" in str(error.value)


# -- what the kernel refuses (valid for Cilium: reported, not refused) ------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("3+ rfc4106(gcm(aes)) %s 256" % AEAD_KEY, "only with an ICV of 64, 96, 128 bits, not 256"),
    ("3+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY[:32], "keys of 20, 28, 36 bytes, not 16"),
    ("3+ rfc4106(gcm(aes)) \"\" 128", "not 0"),
    ("3+ rfc9999(foo) %s 128" % AEAD_KEY, "no AEAD algorithm of that name"),
    ("3+ test %s test %s" % (HMAC_KEY, HMAC_KEY), "authentication algorithm is unknown"),
    ("3+ hmac(sha256) %s cbc(aes) %s" % (HMAC_KEY, HMAC_KEY[:10]), "cbc(aes) takes a key of 16, 24 or 32 bytes"),
    ("3+ rfc4106(gcm(aes)) %s 128 " % AEAD_KEY, "empty field"),  # a trailing space makes it a 5-field line
])
def test_kernel_problems_are_reported_on_a_valid_key(text, expected):
    key = ipsec.parse_keys(text)
    assert any(expected in problem for problem in key.problems), key.problems
    assert not any(MATERIAL.search(problem) for problem in key.problems)


def test_broken_algorithms_are_advised_against():
    key = ipsec.parse_keys("3+ hmac(md5) %s cbc(des) %s" % (HMAC_KEY, HMAC_KEY[:16]))
    assert key.problems == () and len(key.advice) == 2


def test_unknown_names_are_hidden_from_display():
    key = ipsec.parse_keys("3+ %s %s %s %s" % (AEAD_KEY, HMAC_KEY, AEAD_KEY[:8], HMAC_KEY))
    assert ipsec.key_algorithm(key) == "<unrecognised> <unrecognised>"
    assert ipsec.key_algorithm(ipsec.parse_keys(KEYS_DAT)) == "hmac(sha256) cbc(aes)"


# -- rotation ---------------------------------------------------------------------------------------------------

def cilium_accepts_rotation(old, new):
    """Cilium's agent checks a new Secret against the loaded key as it checks consecutive lines."""
    return ipsec.parse_keys(old.rstrip("\n") + "\n" + new)


@pytest.mark.parametrize("icv", [96, 128])
def test_rotating_an_rfc4106_key_keeps_its_icv_and_size(icv):
    old = "4+ rfc4106(gcm(aes)) %s %d" % (AEAD_KEY, icv)
    new = ipsec.rotate(ipsec.parse_keys(old))
    fields = new.split(" ")
    assert fields[0] == "5+" and fields[1] == "rfc4106(gcm(aes))" and fields[3] == str(icv)
    assert re.fullmatch(r"[0-9a-f]{40}", fields[2]) and fields[2] != AEAD_KEY
    assert cilium_accepts_rotation(old, new).key_id == 5


def test_rotating_an_aes256_gcm_key_keeps_36_bytes():
    new = ipsec.rotate(ipsec.parse_keys(KEYS_AEAD_DAT_256))
    assert len(new.split(" ")[2]) == 72


def test_rotating_an_hmac_cbc_key_keeps_algorithms_and_sizes():
    old = "2 hmac(sha256) %s cbc(aes) %s" % ("ab" * 32, HMAC_KEY)
    new = ipsec.rotate(ipsec.parse_keys(old))
    fields = new.split(" ")
    assert fields[0] == "3+" and (fields[1], fields[3]) == ("hmac(sha256)", "cbc(aes)")
    assert len(fields[2]) == 64 and len(fields[4]) == 32 and fields[4] != HMAC_KEY
    assert cilium_accepts_rotation(old, new).key_len == 64


def test_rotating_a_null_key_keeps_it_null():
    assert ipsec.rotate(ipsec.parse_keys(KEYS_NULL_DAT)) == '4+ digest_null "" cipher_null ""'


def test_rotation_wraps_after_15():
    assert ipsec.rotate(ipsec.parse_keys("15+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY)).startswith("1+ ")


def test_rotation_with_user_material():
    new = ipsec.rotate(ipsec.parse_keys(KEYS_AEAD_DAT), material="AB" * 20)
    assert new == "5+ rfc4106(gcm(aes)) %s 128" % ("ab" * 20)


@pytest.mark.parametrize("text,kwargs,expected", [
    ("4+ rfc4106(gcm(aes)) %s 256" % AEAD_KEY, {}, "cannot be rotated as it is"),
    ("4+ rfc4106(gcm(aes)) %s 128" % AEAD_KEY, {"icv_bits": 96}, "differs from the current key's 128"),
    (KEYS_DAT, {"icv_bits": 128}, "apply to rfc4106(gcm(aes)) keys"),
    (KEYS_DAT, {"material": "ab" * 20}, "apply to rfc4106(gcm(aes)) keys"),
    ("4+ rfc4543(gcm(aes)) %s 128" % AEAD_KEY, {"material": "ab" * 20}, "rotation keeps the algorithm"),
    (KEYS_AEAD_DAT, {"material": "abc"}, "40 hexadecimal characters"),
])
def test_rotations_that_cannot_be_made(text, kwargs, expected):
    with pytest.raises(ipsec.KeyFormatError) as error:
        ipsec.rotate(ipsec.parse_keys(text), **kwargs)
    assert expected in str(error.value) and not MATERIAL.search(str(error.value))


# -- new keys, helpers ------------------------------------------------------------------------------------------

def test_new_keys_are_per_tunnel_rfc4106():
    line = ipsec.format_key(1, "AB" * 20, 96)
    assert line == "1+ rfc4106(gcm(aes)) %s 96" % ("ab" * 20)
    key = ipsec.parse_keys(line)
    assert key.per_tunnel and key.problems == ()


@pytest.mark.parametrize("key_id,material,icv,expected", [
    (0, "ab" * 20, 128, "key id"),
    (16, "ab" * 20, 128, "key id"),
    (1, "ab" * 20, 256, "GCM tags are at most 128 bits"),
    (1, "ab" * 19, 128, "40 hexadecimal"),
    (1, None, 128, "40 hexadecimal"),
])
def test_format_key_refuses(key_id, material, icv, expected):
    with pytest.raises(ipsec.KeyFormatError) as error:
        ipsec.format_key(key_id, material, icv)
    assert expected in str(error.value)


def test_sensitive_tokens_cover_every_key_field():
    tokens = ipsec.sensitive_tokens("1 hmac(sha256) 0x%s cbc(aes) %s\n2+ rfc4106(gcm(aes)) %s 128" % (
        HMAC_KEY, "ab" * 16, AEAD_KEY))
    assert {"0x" + HMAC_KEY, HMAC_KEY, "ab" * 16, AEAD_KEY} <= set(tokens)
    assert not {"hmac(sha256)", "cbc(aes)", "rfc4106(gcm(aes))", "128", "2+"} & set(tokens)


@pytest.mark.parametrize("key_id,expected", [(1, 2), (14, 15), (15, 1)])
def test_next_id(key_id, expected):
    assert ipsec.next_id(key_id) == expected


def test_generated_material_is_random_hex_of_the_requested_size():
    first, second = ipsec.generate_secret_material(), ipsec.generate_secret_material()
    assert re.fullmatch(r"[0-9a-f]{40}", first) and first != second
    assert len(ipsec.generate_secret_material(36)) == 72
