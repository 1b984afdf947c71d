# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Dapr invocation rewrite, checked end to end on a model of the data plane.

The model follows the upstream code (see docs/rewrite.md for the sources):

* Cilium's operator (operator/pkg/model/ingestion/gateway.go and
  translation/envoy_virtual_host.go): PathPrefix "/" becomes Envoy
  ``prefix: /``, any other prefix ``path_separated_prefix`` with one trailing
  slash trimmed; ReplacePrefixMatch loses one trailing slash at ingestion and
  becomes ``prefix_rewrite``, except: an empty or "/" replacement becomes the
  regex ``^<prefix>(/?)(.*)`` -> ``/\\2``; and from 1.19 on a "/" match
  becomes the regex ``^/(.*)`` -> ``<replacement minus one '/'>/\\1``.
  ReplaceFullPath becomes the regex ``^/.*$``.
* Envoy: prefix_rewrite swaps the matched prefix and keeps the query; a
  regex rewrite applies to the path without the query and re-appends it.
* daprd: needs the literal ``/method/``, cleans the rest with path.Clean
  ("." means empty), calls the app on ``/<method>`` plus the query.

Each rendered route is pushed through this model for Cilium 1.18, 1.19 and
1.20 and must deliver the path below the prefix to the app.
"""

from __future__ import annotations

import posixpath
import re

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.gateway import rewrite_rules

LINES = [(1, 18), (1, 19), (1, 20)]


def _trim_one(text):
    return text[:-1] if text.endswith("/") else text


def cilium_route(rule, line):
    """(envoy match, rewrite) of one HTTPRoute rule, as Cilium ``line`` builds it."""
    match, rewrite = rule
    kind, value = match["path"]["type"], match["path"]["value"]
    if kind == "Exact":
        envoy_match = ("path", value)
    elif value == "/":
        envoy_match = ("prefix", "/")
    else:
        envoy_match = ("path_separated_prefix", _trim_one(value))
    path = rewrite["urlRewrite"]["path"]
    if path["type"] == "ReplaceFullPath":
        return envoy_match, ("regex", r"^/.*$", path["replaceFullPath"])
    replacement = _trim_one(path["replacePrefixMatch"])  # ingestion: "a trailing `/` is ignored"
    if replacement in ("", "/"):
        return envoy_match, ("regex", "^%s(/?)(.*)" % re.escape(value), r"/\2")
    if line >= (1, 19) and value == "/":
        return envoy_match, ("regex", r"^/(.*)", _trim_one(replacement) + r"/\1")
    return envoy_match, ("prefix_rewrite", replacement)


def envoy_matches(envoy_match, path):
    kind, value = envoy_match
    path_only = path.split("?", 1)[0]
    if kind == "path":
        return path_only == value
    if kind == "prefix":
        return path_only.startswith(value)
    return path_only == value or path_only.startswith(value + "/")


def envoy_rewrite(envoy_match, rewrite, path):
    if rewrite[0] == "prefix_rewrite":
        return rewrite[1] + path[len(envoy_match[1]):]
    pattern, substitution = rewrite[1:]
    path_only, sep, query = path.partition("?")
    result = re.sub(pattern, substitution, path_only)
    return result + sep + query


def gateway(rules, line, request):
    """Path the gateway forwards for ``request``, or None (404)."""
    translated = [cilium_route(rule, line) for rule in rules]
    # Gateway API precedence: Exact before PathPrefix, longer prefixes first.
    translated.sort(key=lambda item: (item[0][0] != "path", -len(item[0][1])))
    for envoy_match, rewrite in translated:
        if envoy_matches(envoy_match, request):
            return envoy_rewrite(envoy_match, rewrite, request)
    return None


def daprd(path, expected_target):
    """Path the app receives from daprd, or an error string."""
    path_only, sep, query = path.partition("?")
    prefix = "/v1.0/invoke/%s/method/" % expected_target
    if not path_only.startswith(prefix):
        return "404 ERR_DIRECT_INVOKE"
    method = posixpath.normpath(path_only[len(prefix):]) if path_only[len(prefix):] else ""
    if method == ".":
        method = ""
    target = method if method.startswith("/") else "/" + method
    return target + sep + query


CASES = [
    # prefix, request, what the app must receive
    ("/", "/", "/"),
    ("/", "/api/x?a=1", "/api/x?a=1"),
    ("/", "/api/x/", "/api/x"),
    ("/", "/index.html", "/index.html"),
    ("/shop", "/shop", "/"),
    ("/shop", "/shop/", "/"),
    ("/shop", "/shop/cart?x=1", "/cart?x=1"),
    ("/shop", "/shop/a/b", "/a/b"),
    ("/shop/", "/shop", "/"),
    ("/shop/", "/shop/cart", "/cart"),
    ("/api/v1", "/api/v1/orders/7", "/orders/7"),
    ("/api/v1", "/api/v1?page=2", "/?page=2"),
]


@pytest.mark.parametrize("line", LINES, ids=["1.%d" % l[1] for l in LINES])
@pytest.mark.parametrize("prefix,request_path,expected", CASES)
def test_rendered_rewrite_reaches_the_app_with_the_path_below_the_prefix(line, prefix, request_path, expected):
    from ansible_collections.sidecarless.mesh.plugins.module_utils.model import normalise_prefix
    rules = rewrite_rules(normalise_prefix(prefix), "shop", "web")
    forwarded = gateway(rules, line, request_path)
    assert forwarded is not None, "gateway did not match %s" % request_path
    assert daprd(forwarded, "shop.web") == expected


@pytest.mark.parametrize("line", LINES, ids=["1.%d" % l[1] for l in LINES])
def test_path_element_semantics_do_not_leak_into_siblings(line):
    rules = rewrite_rules("/shop", "shop", "web")
    assert gateway(rules, line, "/shopping") is None


def test_single_slash_replacement_breaks_on_1_18_as_upstream_reports():
    """Negative control: the model reproduces cilium#41998, so it can tell good spellings from bad."""
    rule = ({"path": {"type": "PathPrefix", "value": "/"}},
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                                           "replacePrefixMatch": "/v1.0/invoke/a.b/method/"}}})
    assert gateway([rule], (1, 18), "/api/x") == "/v1.0/invoke/a.b/methodapi/x"
    assert daprd(gateway([rule], (1, 18), "/api/x"), "a.b") == "404 ERR_DIRECT_INVOKE"
    assert gateway([rule], (1, 19), "/api/x") == "/v1.0/invoke/a.b/method/api/x"


def test_bare_prefix_without_exact_rule_would_fail_in_daprd():
    """Negative control: why the Exact rule exists."""
    prefix_rule = [rule for rule in rewrite_rules("/shop", "shop", "web") if rule[0]["path"]["type"] == "PathPrefix"]
    forwarded = gateway(prefix_rule, (1, 20), "/shop")
    assert forwarded == "/v1.0/invoke/shop.web/method"
    assert daprd(forwarded, "shop.web") == "404 ERR_DIRECT_INVOKE"


def test_root_prefix_is_one_rule_with_the_double_slash():
    rules = rewrite_rules("/", "whoami", "default")
    assert len(rules) == 1
    match, rewrite = rules[0]
    assert match == {"path": {"type": "PathPrefix", "value": "/"}}
    assert rewrite["urlRewrite"]["path"]["replacePrefixMatch"] == "/v1.0/invoke/whoami.default/method//"
