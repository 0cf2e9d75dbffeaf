"""`connbudget sql` on the SQL rule fixtures: the right rule, line and exit code."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from conftest import FIXTURES, Run, run_cli

RULES_DIR = FIXTURES / "sql" / "rules"
CASES = sorted(p for p in RULES_DIR.iterdir() if p.is_dir())


def _expected(case: Path) -> dict[str, object]:
    expected: dict[str, object] = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return expected


def _findings(report: object) -> list[str]:
    assert isinstance(report, dict)
    return sorted(f"{f['rule_id']} {Path(f['file']).name}:{f['line']}" for f in report["findings"])


@functools.cache
def _json_run(case: Path) -> Run:
    return run_cli("sql", "--format", "json", str(case))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_sql_case_gives_the_expected_findings(case: Path) -> None:
    assert _findings(_json_run(case).json()) == _expected(case)["findings"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_sql_case_gives_the_expected_exit_code(case: Path) -> None:
    run = _json_run(case)
    assert run.code == _expected(case)["exit_code"], run.err


def test_fail_on_warning_turns_a_warning_into_exit_1() -> None:
    run = run_cli("sql", "-f", "json", "--fail-on", "warning", str(RULES_DIR / "cb002_fail"))
    assert run.code == 1


def test_fail_on_warning_ignores_info_findings() -> None:
    run = run_cli("sql", "-f", "json", "--fail-on", "warning", str(RULES_DIR / "cb005_fail"))
    assert (run.code, _findings(run.json())) == (0, ["CB005 V2__web.sql:1"])


def test_input_error_is_located_and_reported() -> None:
    errors = _json_run(RULES_DIR / "input_error_and_finding").json()["errors"]  # type: ignore[index]
    assert [(Path(e["file"]).name, e["line"]) for e in errors] == [("V1__app.sql", 2)]


def test_cb001_fix_is_a_concrete_connection_limit() -> None:
    (finding,) = _json_run(RULES_DIR / "cb001_fail_create_user").json()["findings"]  # type: ignore[index]
    assert finding["fix"].startswith("ALTER ROLE appuser CONNECTION LIMIT 50;")
    assert finding["resource"] == "appuser"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_plaintext_password_never_reaches_the_output(fmt: str) -> None:
    run = run_cli("sql", "--format", fmt, str(RULES_DIR / "cb004_fail"))
    assert run.code == 1
    assert "CB004" in run.out
    assert "hunter2" not in run.out + run.err
