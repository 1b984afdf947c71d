# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cilium IPsec keys: parse, check, generate, rotate. Nothing here returns, logs or echoes key material.

Cilium reads Secret ``cilium-ipsec-keys`` (key ``keys``), mounted as a file in
every agent. :func:`parse_keys` accepts exactly what the agent's parser
accepts (``LoadIPSecKeys``, ``parseSPI`` and ``decodeIPSecKey`` in
``pkg/datapath/linux/ipsec/ipsec_linux.go``, the same in Cilium 1.18, 1.19
and 1.20, except that agents with the fix of cilium#44815 trim a line
instead of crashing on a leading space):

* the value is read line by line (``bufio.ScanLines``: ``\\n`` separated, one
  trailing ``\\r`` dropped, no empty last line for a final newline); every line
  is a key and the last one is the key in use;
* a line is split on single spaces (``strings.Split(line, " ")``, so two spaces
  make an empty field) and has either 4 fields, the AEAD form
  ``<spi>[+] <aead-algo> <aead-key> <icv-len>``, or 5 fields, the
  ``<spi>[+] <auth-algo> <auth-key> <enc-algo> <enc-key>`` form; fewer than 3
  or more than 5 fields are refused, and 3 fields crash the agent (index out
  of range), so they are refused here too;
* ``<spi>``: one trailing ``+`` is dropped (since Cilium 1.17 per-tunnel keys
  are always derived, with or without it), the rest is a decimal number
  (Go ``strconv.Atoi``: optional sign, leading zeros allowed) from 1 to 15
  (``IPsecMaxKeyVersion``). A negative id passes Cilium's checks and wraps
  modulo 256 into the 8-bit SPI; it is refused here;
* an AEAD algorithm name must start with ``rfc``; the ICV length is a decimal
  number equal to 96, 128 or 256; auth and encryption algorithm names are not
  checked by Cilium (the kernel checks them when the agent installs states);
* a key is hexadecimal (either case, even length, a leading ``0x`` is dropped)
  or the two characters ``""`` for an empty key;
* consecutive lines must change the SPI ("changing IPSec keys requires
  incrementing the key id") and keep the key length Cilium computes
  (``KeyLen``: ICV bits / 8 for AEAD keys, the number of hex digits of the
  auth key otherwise: "invalid key rotation: key length must not change").
  The running agent applies the same two checks between the key it has loaded
  and a new Secret, which is why :func:`rotate` keeps algorithms and sizes.

Beyond Cilium's parser, :class:`IPsecKey` reports in ``problems`` what the
Linux kernel will refuse when the agent installs its XFRM states (algorithm
names, AEAD ICV lengths and key sizes from ``net/xfrm/xfrm_algo.c``, for
example ``rfc4106(gcm(aes))`` with a 256-bit ICV: GCM tags are at most 128
bits), and in ``advice`` what works but protects little (null or broken
algorithms). Neither makes a key invalid.
"""

from __future__ import annotations

import binascii
import collections
import os
import re

ALGORITHM = "rfc4106(gcm(aes))"
#: ICV lengths Cilium's parser accepts for an AEAD key.
CILIUM_ICV_BITS = (96, 128, 256)
#: ICV lengths offered for a new rfc4106 key: accepted by Cilium and by the kernel (GCM tags are at most 128 bits).
ICV_BITS = (96, 128)
DEFAULT_ICV_BITS = 128
DEFAULT_KEY_BYTES = 20  # a 16-byte AES-128 key and a 4-byte salt
MAX_ID = 15  # linux_defaults.IPsecMaxKeyVersion

AEAD = "aead"
AUTH_ENC = "auth+enc"
UNRECOGNISED = "<unrecognised>"

# The kernel's xfrm algorithm tables (net/xfrm/xfrm_algo.c): name -> ICV lengths for AEAD, and the
# names (with their compat aliases) of authentication and encryption algorithms.
KERNEL_AEAD_ICV = {
    "rfc4106(gcm(aes))": (64, 96, 128),
    "rfc4309(ccm(aes))": (64, 96, 128),
    "rfc4543(gcm(aes))": (128,),
    "rfc7539esp(chacha20,poly1305)": (128,),
}
#: Key sizes in bytes the kernel's AEAD transforms accept (cipher key + salt).
KERNEL_AEAD_KEY_BYTES = {
    "rfc4106(gcm(aes))": (20, 28, 36),
    "rfc4309(ccm(aes))": (19, 27, 35),
    "rfc4543(gcm(aes))": (20, 28, 36),
    "rfc7539esp(chacha20,poly1305)": (36,),
}
KERNEL_AUTH = frozenset((
    "digest_null", "hmac(md5)", "md5", "hmac(sha1)", "sha1", "hmac(sha256)", "sha256", "hmac(sha384)",
    "hmac(sha512)", "xcbc(aes)", "cmac(aes)", "hmac(sm3)", "sm3",
))
KERNEL_ENC = frozenset((
    "ecb(cipher_null)", "cipher_null", "cbc(des)", "des", "cbc(des3_ede)", "des3_ede", "cbc(cast5)", "cast5",
    "cbc(blowfish)", "blowfish", "cbc(aes)", "aes", "cbc(serpent)", "serpent", "cbc(camellia)", "camellia",
    "cbc(aria)", "aria", "rfc3686(ctr(aria))", "cbc(twofish)", "twofish", "rfc3686(ctr(aes))", "cbc(sm4)", "sm4",
))
_AES_KEY_BYTES = (16, 24, 32)
_NULL = frozenset(("digest_null", "ecb(cipher_null)", "cipher_null"))
_BROKEN = frozenset(("hmac(md5)", "md5", "cbc(des)", "des"))
KNOWN_ALGORITHMS = frozenset(KERNEL_AEAD_ICV) | KERNEL_AUTH | KERNEL_ENC

_GO_ATOI = re.compile(r"[+-]?[0-9]+\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")


class KeyFormatError(ValueError):
    """A key Cilium would refuse, or a request that cannot be met (the message never contains key material)."""


#: A parsed key line, without its material. ``algorithms`` holds the names as written, (aead,) or
#: (auth, enc): show them only through :func:`key_algorithm`, since a misplaced field could be key
#: material. ``key_bytes`` holds the decoded key lengths in the same order, ``key_len`` Cilium's KeyLen.
IPsecKey = collections.namedtuple("IPsecKey", (
    "key_id", "per_tunnel", "form", "algorithms", "icv_bits", "key_bytes", "key_len", "problems", "advice",
))


def _display(name):
    return name if name in KNOWN_ALGORITHMS else UNRECOGNISED


def key_algorithm(key):
    """The algorithm names of ``key`` as they may be shown (unknown names are hidden)."""
    return " ".join(_display(name) for name in key.algorithms)


def _decode(field, what):
    """Cilium's decodeIPSecKey: ``""`` is an empty key, a leading 0x is dropped. Returns (hex digits, bytes)."""
    if field == '""':
        return 0, 0
    digits = field[2:] if field.startswith("0x") else field
    if not _HEX.match(digits):
        raise KeyFormatError("the %s is not hexadecimal (an even number of 0-9, a-f digits, optionally after 0x, "
                             "or \"\" for an empty key)" % what)
    return len(digits), len(digits) // 2


def _parse_spi(field):
    """Cilium's parseSPI, except that a negative id is refused instead of wrapping."""
    if not field:
        raise KeyFormatError("the line starts with a space: the first field must be the key id (1 to %d), "
                             "optionally followed by '+' (agents without the fix of cilium#44815 crash on such a line)" % MAX_ID)
    per_tunnel = field.endswith("+")
    number = field[:-1] if per_tunnel else field
    if not _GO_ATOI.match(number):
        raise KeyFormatError("the first field is not a key id: it must be a number from 1 to %d, optionally "
                             "followed by '+'" % MAX_ID)
    key_id = int(number)
    shown = str(key_id) if -1000 < key_id < 1000 else "of %d digits" % len(number.lstrip("+-"))
    if key_id > MAX_ID:
        raise KeyFormatError("key id %s is too large: Cilium accepts 1 to %d ('encryption key space exhausted')"
                             % (shown, MAX_ID))
    if key_id == 0:
        raise KeyFormatError("key id 0 is not valid: Cilium accepts 1 to %d" % MAX_ID)
    if key_id < 0:
        raise KeyFormatError("key id %s is negative: Cilium would wrap it modulo 256 into the SPI; use 1 to %d"
                             % (shown, MAX_ID))
    return key_id, per_tunnel


def _kernel_checks(form, algorithms, icv_bits, key_bytes):
    problems, advice = [], []
    if form == AEAD:
        name = algorithms[0]
        if name not in KERNEL_AEAD_ICV:
            problems.append("the kernel has no AEAD algorithm of that name (it knows %s)"
                            % ", ".join(sorted(KERNEL_AEAD_ICV)))
        else:
            if icv_bits not in KERNEL_AEAD_ICV[name]:
                problems.append("the kernel accepts %s only with an ICV of %s bits, not %d" % (
                    name, ", ".join(str(bits) for bits in KERNEL_AEAD_ICV[name]), icv_bits))
            if key_bytes[0] not in KERNEL_AEAD_KEY_BYTES[name]:
                problems.append("the kernel accepts %s keys of %s bytes, not %d" % (
                    name, ", ".join(str(size) for size in KERNEL_AEAD_KEY_BYTES[name]), key_bytes[0]))
        return problems, advice
    auth, enc = algorithms
    if auth not in KERNEL_AUTH:
        problems.append("the authentication algorithm is %s to the kernel" % (
            "empty" if not auth else "unknown"))
    if enc not in KERNEL_ENC:
        problems.append("the encryption algorithm is %s to the kernel" % ("empty" if not enc else "unknown"))
    if enc in ("cbc(aes)", "aes") and key_bytes[1] not in _AES_KEY_BYTES:
        problems.append("cbc(aes) takes a key of 16, 24 or 32 bytes, not %d" % key_bytes[1])
    for name in (auth, enc):
        if name in _NULL:
            advice.append("%s provides no protection" % name)
        elif name in _BROKEN:
            advice.append("%s is broken and should be replaced" % name)
    return problems, advice


def parse_key_line(line):
    """The :data:`IPsecKey` of one line, or :class:`KeyFormatError` where Cilium would refuse it."""
    fields = line.split(" ")
    if len(fields) < 3:
        raise KeyFormatError("missing key or invalid format: a key line has 4 fields "
                             "'<id>[+] <aead-algo> <hex key> <icv bits>' or 5 fields "
                             "'<id>[+] <auth-algo> <hex key> <enc-algo> <hex key>', separated by single spaces")
    key_id, per_tunnel = _parse_spi(fields[0])
    if len(fields) > 5:
        raise KeyFormatError("too many fields (%d): a key line has 4 or 5 fields separated by single spaces"
                             % len(fields))
    if len(fields) == 3:
        raise KeyFormatError("3 fields: a key line has 4 fields '<id>[+] <aead-algo> <hex key> <icv bits>' or 5 "
                             "fields '<id>[+] <auth-algo> <hex key> <enc-algo> <hex key>' (on 3, Cilium's parser "
                             "reads a fourth field that is not there and the agent crashes)")
    if len(fields) == 4:
        name = fields[1]
        if not name.startswith("rfc"):
            raise KeyFormatError("a 4-field line is an AEAD key and its algorithm %s is not one: Cilium accepts "
                                 "names starting with 'rfc', such as %s" % (
                                     "'%s'" % name if name in KNOWN_ALGORITHMS else "field", ALGORITHM))
        _digits, size = _decode(fields[2], "AEAD key")
        if not _GO_ATOI.match(fields[3]):
            raise KeyFormatError("the ICV length (last field) is not a number: Cilium accepts 96, 128 or 256")
        icv_bits = int(fields[3])
        if icv_bits not in CILIUM_ICV_BITS:
            raise KeyFormatError("ICV length %d is not accepted: Cilium accepts 96, 128 or 256 bits" % icv_bits)
        algorithms, key_bytes, key_len, form = (name,), (size,), icv_bits // 8, AEAD
    else:
        auth_digits, auth_size = _decode(fields[2], "authentication key")
        _digits, enc_size = _decode(fields[4], "encryption key")
        algorithms, key_bytes, key_len, form = (fields[1], fields[3]), (auth_size, enc_size), auth_digits, AUTH_ENC
        icv_bits = None
    problems, advice = _kernel_checks(form, algorithms, icv_bits, key_bytes)
    if "" in fields:
        problems.insert(0, "the line has an empty field (two spaces in a row, or a trailing space), which shifts "
                           "the fields Cilium reads")
    return IPsecKey(key_id, per_tunnel, form, algorithms, icv_bits, key_bytes, key_len, tuple(problems),
                    tuple(advice))


def _lines(text):
    """bufio.ScanLines: split on \\n, drop one trailing \\r per line, no empty token after a final \\n."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_keys(text):
    """The key in use (the last line) of a ``keys`` value, checked as Cilium's LoadIPSecKeys checks it.

    Raises :class:`KeyFormatError` (naming the line, never echoing material) for anything Cilium refuses,
    and for a value without any key line (Cilium loads no key from it).
    """
    lines = _lines(text or "")
    if not lines:
        raise KeyFormatError("the value holds no key line")
    previous = None
    for number, line in enumerate(lines, 1):
        where = "line %d: " % number if len(lines) > 1 else ""
        try:
            key = parse_key_line(line)
        except KeyFormatError as exc:
            raise KeyFormatError(where + str(exc))
        if previous is not None:
            if previous.key_id == key.key_id:
                raise KeyFormatError("%skey id %d repeats the previous line's: changing IPsec keys requires "
                                     "incrementing the key id" % (where, key.key_id))
            if previous.key_len != key.key_len:
                raise KeyFormatError("%sthe key length differs from the previous line's: Cilium refuses a key "
                                     "rotation that changes it" % where)
        previous = key
    return previous


def parse_key(text):
    """Alias of :func:`parse_keys`."""
    return parse_keys(text)


def sensitive_tokens(text):
    """Every field of a ``keys`` value that could be key material (for masking output), longest first."""
    tokens = set()
    for token in re.split(r"\s+", text or ""):
        if len(token) >= 6 and token not in KNOWN_ALGORITHMS:
            tokens.add(token)
            if token.startswith("0x"):
                tokens.add(token[2:])
    return sorted(tokens, key=len, reverse=True)


def generate_secret_material(size=DEFAULT_KEY_BYTES):
    """``size`` random bytes (20 by default) as lowercase hex characters."""
    return binascii.hexlify(os.urandom(size)).decode("ascii")


def _fresh(size):
    """Random material of ``size`` bytes as Cilium writes it (``""`` for an empty key)."""
    return generate_secret_material(size) if size else '""'


def _check_id(key_id):
    if not 1 <= key_id <= MAX_ID:
        raise KeyFormatError("the key id must be from 1 to %d" % MAX_ID)


def check_material(material):
    """User-supplied rfc4106 material: 40 hexadecimal characters."""
    if not re.match(r"[0-9a-fA-F]{40}\Z", material or ""):
        raise KeyFormatError("the key material must be 40 hexadecimal characters (20 bytes)")
    return material.lower()


def format_key(key_id, material, icv_bits=DEFAULT_ICV_BITS):
    """A new per-tunnel rfc4106(gcm(aes)) line: ``<id>+ rfc4106(gcm(aes)) <40 hex> <icv bits>``."""
    _check_id(key_id)
    if icv_bits not in ICV_BITS:
        raise KeyFormatError("the ICV length must be one of %s bits for %s (GCM tags are at most 128 bits)" % (
            ", ".join(str(bits) for bits in ICV_BITS), ALGORITHM))
    return "%d+ %s %s %d" % (key_id, ALGORITHM, check_material(material), icv_bits)


def rotate(current, material=None, icv_bits=None):
    """The line replacing ``current`` (an :data:`IPsecKey`): the next id, fresh random material.

    The algorithms, the key sizes and the ICV length stay as they are: Cilium (1.18+) refuses a rotation that
    changes its key length (ICV bits / 8 for AEAD keys, the auth key's hex length otherwise), and keeping the
    sizes keeps the strength. ``material`` (40 hex characters) replaces the random material of an rfc4106
    key; ``icv_bits`` must then equal the current ICV length. A key the kernel refuses (``problems``) is not
    rotated: its successor would be refused as well.
    """
    new_id = next_id(current.key_id)
    if current.problems:
        raise KeyFormatError("the current key cannot be rotated as it is: %s; rotation keeps the algorithms and "
                             "sizes, so replace the Secret with a new key (and restart the agents) instead"
                             % "; ".join(current.problems))
    if current.form == AEAD:
        if icv_bits is not None and icv_bits != current.icv_bits:
            raise KeyFormatError("icv_bits=%d differs from the current key's %d: Cilium refuses a rotation that "
                                 "changes the ICV length ('key length must not change')" % (
                                     icv_bits, current.icv_bits))
        name = current.algorithms[0]
        if material is not None:
            if name != ALGORITHM:
                raise KeyFormatError("key is %s material and the current key uses %s; rotation keeps the "
                                     "algorithm" % (ALGORITHM, key_algorithm(current)))
            fresh = check_material(material)
        else:
            fresh = generate_secret_material(current.key_bytes[0])
        return "%d+ %s %s %d" % (new_id, name, fresh, current.icv_bits)
    if icv_bits is not None or material is not None:
        raise KeyFormatError("icv_bits and key apply to %s keys; the current key uses %s, and rotation keeps its "
                             "algorithms and key sizes" % (ALGORITHM, key_algorithm(current)))
    auth, enc = current.algorithms
    auth_size, enc_size = current.key_bytes
    return "%d+ %s %s %s %s" % (new_id, auth, _fresh(auth_size), enc, _fresh(enc_size))


def next_id(key_id):
    """The id after ``key_id``: 1..15, wrapping to 1."""
    return 1 if key_id >= MAX_ID else key_id + 1
