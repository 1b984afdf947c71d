#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send N requests to a URL and check the traffic split and markers in the answers."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: http_probe
short_description: Send many requests through a gateway and check how they were served
version_added: 1.0.0
description:
  - Sends O(count) GET requests to O(url) and counts status codes, the version each answer names (first group of
    O(version_regex) in the body) and how many answers contain each of O(expect_in_body).
  - Fails when fewer than O(min_success_ratio) of the answers have status 200, when a version's share is further than
    O(tolerance) from its expected share in O(expected_shares), or when a marker of O(expect_in_body) is missing from
    more than O(min_success_ratio) of the successful answers.
  - Used by the verify role to prove a canary split and the Dapr hop (C(Dapr-Caller-App-Id) in the echo of the
    request headers) on a live mesh.
author:
  - sidecarless.mesh maintainers (@sidecarless)
options:
  url:
    description: URL to request, for example C(http://172.18.255.200/).
    type: str
    required: true
  host:
    description: Host header to send (a route's host name); empty keeps the URL's host.
    type: str
    default: ""
  count:
    description: Number of requests.
    type: int
    default: 100
  timeout:
    description: Seconds per request.
    type: float
    default: 5
  version_regex:
    description: "Regular expression whose first group names the version that answered (whoami prints C(Name: v1))."
    type: str
    default: 'Name: (\S+)'
  expected_shares:
    description: "Expected share (0 to 1) of answers per version, for example C({v1: 0.5, v2: 0.5}); empty skips it."
    type: dict
    default: {}
  tolerance:
    description: Allowed absolute difference between the observed and the expected share.
    type: float
    default: 0.15
  expect_in_body:
    description: Strings that every successful answer should contain (case-insensitive).
    type: list
    elements: str
    default: []
  min_success_ratio:
    description: Share of requests that must succeed (and of successful answers that must carry each marker).
    type: float
    default: 0.95
attributes:
  check_mode:
    support: partial
    description: Can run in check mode.
    details: No request is sent in check mode; the result only says it was skipped.
  diff_mode:
    support: none
    description: Nothing changes.
  platform:
    support: full
    platforms: all
    description: Runs where the gateway address is reachable.
"""

EXAMPLES = r"""
- name: 200 requests through the gateway, whoami v1/v2 at 50/50, through Dapr
  sidecarless.mesh.http_probe:
    url: http://172.18.255.200/
    count: 200
    expected_shares: {v1: 0.5, v2: 0.5}
    expect_in_body: ["Dapr-Caller-App-Id: ingress", "Dapr-Callee-App-Id: whoami"]
"""

RETURN = r"""
statuses:
  description: Number of answers per HTTP status (0 for connection errors).
  returned: always
  type: dict
  sample: {"200": 200}
versions:
  description: Number of successful answers per version named in the body.
  returned: always
  type: dict
  sample: {"v1": 97, "v2": 103}
shares:
  description: Share of successful answers per version.
  returned: always
  type: dict
markers:
  description: Number of successful answers containing each of O(expect_in_body).
  returned: always
  type: dict
"""

import re

from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url


def probe(module):
    params = module.params
    pattern = re.compile(params["version_regex"])
    headers = {"Host": params["host"]} if params["host"] else {}
    statuses, versions, markers = {}, {}, dict((m, 0) for m in params["expect_in_body"])
    ok = 0
    for _attempt in range(params["count"]):
        try:
            response = open_url(params["url"], headers=headers, timeout=params["timeout"], validate_certs=False)
            status, body = response.getcode(), response.read().decode("utf-8", "replace")
        except HTTPError as exc:
            status, body = exc.code, ""
        except (URLError, OSError, ValueError):
            status, body = 0, ""
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status != 200:
            continue
        ok += 1
        match = pattern.search(body)
        version = match.group(1) if match and match.groups() else "(unknown)"
        versions[version] = versions.get(version, 0) + 1
        lowered = body.lower()
        for marker in markers:
            if marker.lower() in lowered:
                markers[marker] += 1
    shares = dict((v, round(float(n) / ok, 3)) for v, n in versions.items()) if ok else {}
    return ok, dict(statuses=statuses, versions=versions, shares=shares, markers=markers)


def problems_of(params, ok, result):
    problems = []
    count = params["count"]
    if ok < params["min_success_ratio"] * count:
        problems.append("only %d of %d requests succeeded (statuses %s)" % (ok, count, result["statuses"]))
        return problems
    for version, expected in sorted(params["expected_shares"].items()):
        observed = result["shares"].get(version, 0.0)
        if abs(observed - float(expected)) > params["tolerance"]:
            problems.append("version %s got %.0f%% of the answers, expected %.0f%% +/- %.0f%%" % (
                version, observed * 100, float(expected) * 100, params["tolerance"] * 100))
    unexpected = sorted(set(result["versions"]) - set(params["expected_shares"])) if params["expected_shares"] else []
    if unexpected:
        problems.append("answers came from versions %s that have no expected share" % ", ".join(unexpected))
    for marker, hits in sorted(result["markers"].items()):
        if hits < params["min_success_ratio"] * ok:
            problems.append("only %d of %d answers contain %r" % (hits, ok, marker))
    return problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            host=dict(type="str", default=""),
            count=dict(type="int", default=100),
            timeout=dict(type="float", default=5),
            version_regex=dict(type="str", default=r"Name: (\S+)"),
            expected_shares=dict(type="dict", default={}),
            tolerance=dict(type="float", default=0.15),
            expect_in_body=dict(type="list", elements="str", default=[]),
            min_success_ratio=dict(type="float", default=0.95),
        ),
        supports_check_mode=True,
    )
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="requests are not sent in check mode")
    params = module.params
    if not 1 <= params["count"] <= 100000:
        module.fail_json(msg="count must be from 1 to 100000")
    try:
        re.compile(params["version_regex"])
    except re.error as exc:
        module.fail_json(msg="version_regex is not a valid regular expression: %s" % exc)
    ok, result = probe(module)
    problems = problems_of(params, ok, result)
    if problems:
        module.fail_json(msg="; ".join(problems), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
