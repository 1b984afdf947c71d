# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cilium IPsec keys: format, parse, generate, rotate. Nothing here logs a key.

Cilium reads Secret ``cilium-ipsec-keys`` (key ``keys``) in its namespace.
The per-tunnel form is ``<id>+ rfc4106(gcm(aes)) <40 hex chars> <icv bits>``:
20 random bytes (a 16-byte AES key and a 4-byte salt), an SPI id from 1 to
15 and the ICV length in bits (96, 128 or 256). Rotation writes the same
Secret with id + 1 (15 wraps to 1); never during an upgrade.
"""

from __future__ import annotations

import binascii
import os
import re

ALGORITHM = "rfc4106(gcm(aes))"
ICV_BITS = (96, 128, 256)
MAX_ID = 15
_LINE = re.compile(r"^(?P<id>[0-9]+)(?P<plus>\+?) (?P<alg>\S+) (?P<key>[0-9a-fA-F]+) (?P<icv>[0-9]+)$")


class KeyFormatError(ValueError):
    """The stored key is not in the expected form (the message never contains the key)."""


def generate_secret_material():
    """20 random bytes as 40 lowercase hex characters."""
    return binascii.hexlify(os.urandom(20)).decode("ascii")


def format_key(key_id, material, icv_bits=128):
    if not 1 <= key_id <= MAX_ID:
        raise KeyFormatError("the key id must be from 1 to %d" % MAX_ID)
    if icv_bits not in ICV_BITS:
        raise KeyFormatError("the ICV length must be one of %s bits" % ", ".join(str(b) for b in ICV_BITS))
    if not re.fullmatch(r"[0-9a-fA-F]{40}", material or ""):
        raise KeyFormatError("the key material must be 40 hexadecimal characters (20 bytes)")
    return "%d+ %s %s %d" % (key_id, ALGORITHM, material.lower(), icv_bits)


def parse_key(text):
    """(id, per_tunnel, icv_bits) of a stored key line; the material is checked, not returned."""
    match = _LINE.match((text or "").strip())
    if not match:
        raise KeyFormatError("the stored IPsec key is not of the form '<id>+ %s <hex> <icv bits>'" % ALGORITHM)
    key_id = int(match.group("id"))
    if not 1 <= key_id <= MAX_ID:
        raise KeyFormatError("the stored IPsec key id %d is outside 1-%d" % (key_id, MAX_ID))
    if match.group("alg") != ALGORITHM:
        raise KeyFormatError("the stored IPsec key uses %r; the collection manages %s keys only" % (
            match.group("alg"), ALGORITHM))
    if len(match.group("key")) != 40:
        raise KeyFormatError("the stored IPsec key material is not 40 hexadecimal characters")
    return key_id, bool(match.group("plus")), int(match.group("icv"))


def next_id(key_id):
    """The id after ``key_id``: 1..15, wrapping to 1."""
    return 1 if key_id >= MAX_ID else key_id + 1
