# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RE2 syntax check agrees with Go's regexp.Compile, which Cilium uses (issue 7, item 4).

Go itself is the oracle: a ten-line Go program compiles every pattern of a
hand-written corpus and of a few thousand generated ones, and the check
must accept exactly what Go accepts. Without Go on the machine the
comparison is skipped loudly (the corpus expectations still run).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import pytest

from ansible_collections.sidecarless.mesh.plugins.module_utils.re2syntax import problem
from helpers import problems, variables

GO_ORACLE = r"""
package main

import (
    "bufio"
    "encoding/json"
    "fmt"
    "os"
    "regexp"
)

func main() {
    in := bufio.NewScanner(os.Stdin)
    in.Buffer(make([]byte, 1<<20), 1<<24)
    for in.Scan() {
        var pattern string
        if err := json.Unmarshal(in.Bytes(), &pattern); err != nil {
            panic(err)
        }
        if _, err := regexp.Compile(pattern); err != nil {
            fmt.Println("error")
        } else {
            fmt.Println("ok")
        }
    }
}
"""

#: (pattern, valid in Go): what Python's re gets wrong in both directions, and the usual interface patterns.
CORPUS = [
    ("^eth[0-9]+", True), ("^bond0$", True), ("^(eth|ens)[0-9]+$", True), ("eth[[:digit:]]", True),
    ("eth[[:^alpha:]]", True), (r"\pL+", True), (r"\p{Greek}", True), (r"\P{^L}", True), (r"\Qa.b\E", True),
    (r"\Qunterminated", True), ("(?i)ETH0", True), ("(?i:eth)0", True), ("(?-i)x", True), ("(?i-s:x)", True),
    ("(?)", True), ("(?P<n>a)", True), ("(?<n>a)", True), ("a{1000}", True), ("a{2,}", True), ("a{,3}", True),
    ("a{x}", True), ("{", True), ("a*?", True), ("a+?b??", True), (r"\x41\x{263a}", True), (r"\101", True),
    (r"[\x00-\x{10FFFF}]", True), ("[]a]", True), ("[^]a]", True), ("[a-]", True), ("[-a]", True),
    ("[a-b-c]", True), (r"[\d\-z]", True), ("", True), ("a|", True), ("()", True), ("(|a)", True),
    (r"\A\z\b\B", True), (r"\.\*\_", True), ("x{0}", True),
    ("(?=eth)eth0", False), ("(?!x)y", False), ("(?<=x)eth", False), ("(?<!x)y", False), (r"(eth)\1", False),
    (r"eth0\Z", False), ("a{1001}", False), ("a{3,2}", False), ("a*+", False), ("a**", False), ("a++", False),
    ("(?#c)eth", False), ("(?P<x>a)(?P=x)", False), ("(?P<x>a)(?P<x>b)", True), ("(?>a)", False),
    ("(?-)", False), ("(?i-)", False), ("(?z)", False), ("*a", False), ("+", False), ("a|*", False), ("(*)", False),
    ("(", False), (")", False), ("a)", False), ("[a", False), ("[z-a]", False), ("[[:foo:]]", False),
    ("\\", False), (r"\e", False), (r"\8", False), (r"\x4", False), (r"\x{110000}", False), (r"\p{", False),
    ("a{2}{3}", False), ("a*??", False), ("(?P<>a)", False), ("(?P<a-b>a)", False), ("((a{1000}){1000}){1000}", False),
    ("(a{100}){100}", False), ("(a{10}|b){100}", True), (r"\w*(?i){1,3}", True), ("(?i)*", False),
    ("(" * 1001 + ")" * 1001, False), ("(" * 999 + ")" * 999, True), ("a{4294967296}", False),
]

ALPHABET = ["a", "b", "0", "(", ")", "(?:", "(?i)", "(?P<n>", "(?=", "[", "]", "[^", "[:alpha:]", "-", "^", "$",
            "*", "+", "?", "{2}", "{1,3}", "{,2}", "{1001}", "|", ".", "\\d", "\\w", "\\b", "\\Z", "\\1", "\\pL",
            "\\p{Greek}", "\\x41", "\\Q", "\\E", "\\", "\\.", "{", "}", "é"]


def generated(count, seed=11):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _token in range(rng.randint(1, 8))) for _pattern in range(count)]


@pytest.fixture(scope="module")
def go_compile(tmp_path_factory):
    """A function telling which patterns Go's regexp.Compile accepts; skips loudly without Go."""
    go = shutil.which("go")
    if go is None:
        message = "go is not on PATH: the RE2 check is NOT compared with Go's regexp (corpus checks still run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    from controlplane import binaries  # pylint: disable=import-outside-toplevel
    folder = tmp_path_factory.mktemp("go-oracle")
    (folder / "main.go").write_text(GO_ORACLE)
    env = dict(binaries._go_env(), GOFLAGS="", GO111MODULE="off")  # pylint: disable=protected-access
    subprocess.run([go, "build", "-o", str(folder / "oracle"), str(folder / "main.go")], cwd=str(folder), env=env,
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def accepts(patterns):
        process = subprocess.run([str(folder / "oracle")], input="".join(json.dumps(p) + "\n" for p in patterns),
                                 stdout=subprocess.PIPE, universal_newlines=True, check=True)
        return [line == "ok" for line in process.stdout.splitlines()]
    return accepts


def test_the_corpus_says_what_go_says(go_compile):
    answers = go_compile([pattern for pattern, _valid in CORPUS])
    wrong = [(pattern, valid) for (pattern, valid), ok in zip(CORPUS, answers) if ok != valid]
    assert not wrong, "the corpus expectation differs from Go itself: %s" % wrong


@pytest.mark.parametrize("pattern,valid", CORPUS, ids=[repr(p[:40]) for p, _v in CORPUS])
def test_the_check_accepts_exactly_what_go_accepts_in_the_corpus(pattern, valid):
    assert (problem(pattern) is None) == valid, (pattern, problem(pattern))


def test_the_check_agrees_with_go_on_generated_patterns(go_compile):
    patterns = generated(4000)
    answers = go_compile(patterns)
    disagreements = [(p, ok, problem(p)) for p, ok in zip(patterns, answers) if (problem(p) is None) != ok]
    print("compared %d generated patterns with Go's regexp.Compile" % len(patterns))
    assert not disagreements, disagreements[:20]


def test_interface_patterns_are_checked_as_go_reads_them():
    found = problems(variables(cilium_l2_announcements={"enabled": True, "interfaces": ["(?=eth)eth0", "eth[[:digit:]]+",
                                                                                        "a{4294967296}"]}))
    assert [p for p in found if p.startswith("cilium_l2_announcements.interfaces[0]: must be a regular expression "
                                             "Go's regexp (RE2) accepts")], found
    assert [p for p in found if p.startswith("cilium_l2_announcements.interfaces[2]:")], found
    assert not [p for p in found if p.startswith("cilium_l2_announcements.interfaces[1]")], found
