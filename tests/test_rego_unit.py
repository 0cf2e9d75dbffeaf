"""The Conftest-style `*_test.rego` files beside the policies, run as `conftest verify` would.

They run in regorus and in the real OPA (the engine of `opa test` and `conftest verify`), with
`with input as` and OPA's rule: a test passes when it is defined and true.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES
from rego_engines import (
    OPA_UNAVAILABLE,
    Opa,
    Regorus,
    rego_test_files,
    rego_test_package,
    rego_test_rules,
    run_rego_tests,
)

from connbudget.rules.roles import policy_files

TESTS = rego_test_files()
ENGINES = [
    pytest.param(Regorus, id="regorus"),
    pytest.param(Opa, id="opa", marks=pytest.mark.skipif(
        OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")),
]
RULES = [rule for path in TESTS for rule in rego_test_rules(path)]


@pytest.fixture(scope="module", params=ENGINES)
def outcome(request: pytest.FixtureRequest) -> dict[str, bool]:
    return run_rego_tests(request.param([*policy_files(), *TESTS]), TESTS)


@pytest.mark.parametrize("test_rule", RULES)
def test_rego_test_passes(test_rule: str, outcome: dict[str, bool]) -> None:
    assert outcome[test_rule]


def test_there_are_rego_tests() -> None:
    assert len(RULES) >= 39


@pytest.mark.parametrize("path", [p for p in TESTS if p.name == "policy_test.rego"],
                         ids=lambda p: p.parent.name)
def test_every_policy_test_file_has_tests(path: Path) -> None:
    assert len(rego_test_rules(path)) >= 5


@pytest.mark.skipif(OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")
def test_every_test_rule_opa_defines_is_run() -> None:
    engine = Opa([*policy_files(), *TESTS])
    # Every file that mentions a test_ name (documents_test.rego only builds documents).
    packages = sorted({rego_test_package(path) for path in TESTS
                       if re.search(r"\btest_", path.read_text(encoding="utf-8"))})
    assert len(packages) == 5
    names = [f'"{p}": [n | some n, _ in {p}; startswith(n, "test_")]' for p in packages]
    query = "{" + ", ".join(names) + "}"
    [defined] = engine.value(query)
    assert isinstance(defined, dict)
    assert sorted(f"{p}.{n}" for p in packages for n in defined[p]) == sorted(RULES)


@pytest.mark.parametrize("engine", ENGINES)
def test_runner_reports_a_failing_rego_test(engine: type[Regorus] | type[Opa]) -> None:
    failing = FIXTURES / "policies" / "failing" / "policy_test.rego"
    outcome = run_rego_tests(engine([*policy_files(), failing]), [failing])
    assert outcome == {"data.connbudget.failing_test.test_scram_hash_is_denied": False}
