"""replace() with a /pattern/, regex() and regexall() give what Terraform gives: the cases run
through Go's regexp (the package Terraform uses, built from tests/go/regexp) and through
connbudget, and must agree; a pattern that backtracks in Python's `re` ends at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.regexp import all_matches, replace_all
from connbudget.frontends.terraform.values import Budget, Context, EvalError, Scope, set_budget

CASES: list[dict[str, str]] = [
    {"pattern": "b*", "subject": "abc", "replacement": "-"},
    {"pattern": "x*", "subject": "abc", "replacement": "[$0]"},
    {"pattern": "a|", "subject": "baaac", "replacement": "<$0>"},
    {"pattern": "(a)(x)?", "subject": "aa", "replacement": "<$1x${1}x$2$$>"},
    {"pattern": "(?P<word>\\w+)@(?P<host>[a-z.]+)", "subject": "app@db.internal, ro@replica",
     "replacement": "${host}/$word $missing ${word"},
    {"pattern": "^db-(\\d+)$", "subject": "db-42\n", "replacement": "$1"},
    {"pattern": "(?m)^(\\w+)=(\\d+)$", "subject": "pool=10\nmax=200\nbad\n",
     "replacement": "$2:$1"},
    {"pattern": "(?i)PGBOUNCER", "subject": "pgBouncer PgBouncer", "replacement": "pooler"},
    {"pattern": "\\pL+", "subject": "héllo wörld 42", "replacement": "<$0>"},
    {"pattern": "(?s)a.b", "subject": "a\nb a\nb", "replacement": "x"},
    {"pattern": "a.b", "subject": "a\nb axb", "replacement": "x"},
    {"pattern": "(\\d+)(?:ms|s)?", "subject": "timeout 300s and 20ms or 7", "replacement": "$1"},
    {"pattern": "[[:alpha:]]+", "subject": "ab12cd", "replacement": "-"},
    {"pattern": "\\Qa.b\\E", "subject": "a.b axb", "replacement": "!"},
    {"pattern": "(a)(?P<n>b)", "subject": "ab", "replacement": "$1"},  # mixed groups
    {"pattern": "(a)\\1", "subject": "aa", "replacement": "x"},  # backreference: not RE2
    {"pattern": "a(?=b)", "subject": "ab", "replacement": "x"},  # lookahead: not RE2
    {"pattern": "^(a+)+$", "subject": "a" * 5000 + "b", "replacement": "x"},
    {"pattern": "$", "subject": "", "replacement": "end"},
]


def _go_results(tmp_path: Path) -> list[dict[str, Any]]:
    go = shutil.which("go")
    assert go, "go is not installed: this test needs it (Debian golang-go; make test installs it)"
    binary = tmp_path / "regexp"
    env = {**os.environ, "GOCACHE": str(tmp_path / "gocache"), "GOPATH": str(tmp_path / "go"),
           "GO111MODULE": "off"}
    subprocess.run([go, "build", "-o", str(binary), str(ROOT / "tests" / "go" / "regexp" /
                                                          "main.go")],
                   check=True, env=env, timeout=300, capture_output=True)
    proc = subprocess.run([str(binary)], input=json.dumps(CASES), capture_output=True,
                          text=True, check=True, timeout=60)
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


def _ours(case: dict[str, str]) -> dict[str, Any]:
    try:
        replaced = replace_all(case["pattern"], case["subject"], case["replacement"])
    except EvalError:
        return {"invalid": True}
    try:
        return {"replaced": replaced,
                "matches": all_matches(case["pattern"], case["subject"], 10_000)}
    except EvalError as exc:
        assert "cannot mix named and unnamed groups" in str(exc)
        return {"replaced": replaced, "matches": "mixed"}


def test_replace_and_regexall_agree_with_gos_regexp(tmp_path: Path) -> None:
    expected = _go_results(tmp_path)
    for case, theirs in zip(CASES, expected, strict=True):
        if any(match == "mixed" for match in theirs.get("matches", [])):
            theirs["matches"] = "mixed"  # Terraform refuses such a pattern in regex()
        assert _ours(case) == theirs, case


@pytest.mark.parametrize("text", [
    'replace("${join("", [for i in range(1000) : "aaaa"])}!", "/^(a+)+$/", "x")',
    'regex("^(a|aa)+$", "${join("", [for i in range(1000) : "aaaa"])}!")',
    'regexall("(x+x+)+y", join("", [for i in range(1000) : "xxxx"]))',
])
def test_a_pattern_that_backtracks_in_python_ends_at_once(text: str) -> None:
    started = time.process_time()
    value = evaluate_raw(text, Scope(Context()))
    assert time.process_time() - started < 2
    assert not isinstance(value, Unknown) or value.reason == \
        "the regular expression matches nothing"


def test_repeated_searches_of_a_long_text_stop_at_the_step_budget() -> None:
    """`a*b|a` on 4 MiB of `a`: each of the 4 Mi matches scans the rest of the text for a `b`
    (quadratic in Go and RE2 alike), so each search costs steps by the text it may scan."""
    four_mib = ('replace(join("", [for i in range(1023) : "a"]), "a", '
                'join("", [for j in range(1024) : "aaaa"]))')
    set_budget(Budget())
    started = time.process_time()
    try:
        value = evaluate_raw(f'length(regexall("a*b|a", {four_mib}))', Scope(Context()))
    finally:
        set_budget(None)
    assert time.process_time() - started < 30
    assert isinstance(value, Unknown)
    assert value.reason == "evaluation needs more than 2,000,000 steps"


@pytest.mark.parametrize("text, expected", [
    ('regex("^(?P<host>[^:]+):(?P<port>\\\\d+)$", "db.internal:5432")',
     {"host": "db.internal", "port": "5432"}),
    ('regex("(\\\\d+)-(\\\\d+)", "pool 10-20")', ["10", "20"]),
    ('regex("[0-9]+", "max_connections=400")', "400"),
    ('regexall("[0-9]+", "10, 20 and 30")', ["10", "20", "30"]),
    ('replace("db.t3.medium", "/^db\\\\.([a-z0-9]+)\\\\..*$/", "$1")', "t3"),
])
def test_terraform_regex_functions_are_evaluated(text: str, expected: Any) -> None:
    assert evaluate_raw(text, Scope(Context())) == expected


def test_a_pattern_that_matches_nothing_in_regex_is_unknown_without_the_input() -> None:
    value = evaluate_raw('regex("^secret-(.*)$", "hunter2")', Scope(Context()))
    assert isinstance(value, Unknown)
    assert value.reason == "the regular expression matches nothing"
    assert "hunter2" not in value.reason


def test_an_invalid_pattern_is_unknown_and_re2_prints_nothing(
        capfd: pytest.CaptureFixture[str]) -> None:
    value = evaluate_raw('replace("x", "/(a)\\\\1/", "y")', Scope(Context()))
    assert isinstance(value, Unknown)
    assert value.reason == "invalid regular expression (Terraform uses RE2 syntax)"
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
