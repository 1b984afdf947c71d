# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address parsing for LB-IPAM pools, gateway addresses and routing CIDRs.

Each function returns ``(value, problem)``: the parsed value and ``None``,
or ``None`` and the text of what is wrong.
"""

from __future__ import annotations

import ipaddress
import re

# What Go's net/netip (Cilium, the Gateway API's CEL isIP/isCIDR) accepts, which is narrower than Python's
# ipaddress: no surrounding space, no IPv6 zone ("fe80::1%eth0"), a prefix length in decimal digits (no
# netmask such as /255.0.0.0, no leading zero).
_ADDRESS_TEXT = re.compile(r"^[0-9A-Fa-f.:]+$")
_PREFIX_TEXT = re.compile(r"^[0-9A-Fa-f.:]+/(0|[1-9][0-9]{0,2})$")


def parse_ip(text):
    text = str(text)
    if not _ADDRESS_TEXT.match(text):
        return None, "must be an IPv4 or IPv6 address (no spaces, no zone such as %%eth0), got %r" % text
    try:
        return ipaddress.ip_address(text), None
    except ValueError:
        return None, "must be an IPv4 or IPv6 address, got %r" % text


def parse_network(text):
    text = str(text)
    if not _PREFIX_TEXT.match(text):
        return None, ("must be a CIDR such as 10.0.0.0/16 (an address, '/' and the prefix length in digits; no "
                      "spaces, netmask or zone), got %r" % text)
    try:
        return ipaddress.ip_network(text, strict=True), None
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None, "must be a CIDR such as 10.0.0.0/16, got %r" % text
    return None, ("%r has host bits set: the network is %s (or use a range like %s-%s)" % (
        text, loose, text.split("/", maxsplit=1)[0], loose.broadcast_address))


def parse_block(text):
    """An LB-IPAM block: a CIDR or a ``start-stop`` range of one family."""
    text = str(text)
    if text != text.strip():
        return None, "must not have spaces around it (Cilium reads the text as it is), got %r" % text
    if "/" in text:
        return parse_network(text)
    if "-" in text:
        start_text, stop_text = text.partition("-")[::2]
        start, problem = parse_ip(start_text.strip())
        stop, problem2 = parse_ip(stop_text.strip())
        if problem or problem2:
            return None, "must be a CIDR or a 'start-stop' address range, got %r" % text
        if start.version != stop.version:
            return None, "range %r mixes IPv4 and IPv6" % text
        if int(stop) < int(start):
            return None, "range %r ends before it starts" % text
        return (start, stop), None
    return None, "must be a CIDR (192.0.2.0/28) or a 'start-stop' range (192.0.2.10-192.0.2.20), got %r" % text


def block_bounds(block):
    """First and last address of a parsed block, as integers."""
    if isinstance(block, tuple):
        return int(block[0]), int(block[1]), block[0].version
    return int(block.network_address), int(block.broadcast_address), block.version


def block_contains(block, address):
    low, high, version = block_bounds(block)
    return address.version == version and low <= int(address) <= high


def blocks_overlap(first, second):
    a_low, a_high, a_version = block_bounds(first)
    b_low, b_high, b_version = block_bounds(second)
    return a_version == b_version and a_low <= b_high and b_low <= a_high


def parse_host(text):
    """An API server address as Cilium's k8sServiceHost takes it: a host name or an IP address, no scheme, no
    port, no brackets."""
    text = str(text)
    address, _problem = parse_ip(text)
    if address is not None:
        return address, None
    if len(text) <= 253 and re.match(r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
                                     r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$", text) \
            and not re.match(r"^[0-9.]+$", text):
        return text, None
    hint = ""
    if "://" in text:
        hint = " (without the scheme: just the host)"
    elif re.search(r"(^[^:]*|\])(:[0-9]+)$", text):
        hint = " (without the port: that is cilium_k8s_service_port)"
    elif text.startswith("["):
        hint = " (an IPv6 address without brackets)"
    return None, "must be a host name or an IP address of the API server%s, got %r" % (hint, text)
