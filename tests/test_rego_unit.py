"""The Conftest-style `*_test.rego` files beside the policies, run as `conftest verify` would."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES
from rego_engines import rego_test_files, run_rego_tests

from connbudget.rego import policy_files

OUTCOME = run_rego_tests(policy_files(), rego_test_files())


@pytest.mark.parametrize("test_rule", sorted(OUTCOME))
def test_rego_test_passes(test_rule: str) -> None:
    assert OUTCOME[test_rule]


@pytest.mark.parametrize("path", [p for p in rego_test_files() if p.name == "policy_test.rego"],
                         ids=lambda p: p.parent.name)
def test_every_policy_test_file_has_tests(path: Path) -> None:
    package = path.read_text(encoding="utf-8").split("\n", 1)[0].removeprefix("package ")
    assert sum(name.startswith(f"data.{package}.") for name in OUTCOME) >= 5


def test_runner_reports_a_failing_rego_test() -> None:
    failing = FIXTURES / "policies" / "failing" / "policy_test.rego"
    outcome = run_rego_tests(policy_files(), [failing])
    assert outcome == {"data.connbudget.failing_test.test_scram_hash_is_denied": False}
