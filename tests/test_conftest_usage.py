"""The README's Conftest commands, run through the real OPA with Conftest's rules.

    connbudget sql2json migrations/ > roles.json
    conftest test roles.json -p policies/ --all-namespaces
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, run_cli
from conftest_rules import ConftestRun, conftest_command, conftest_test
from rego_engines import OPA_UNAVAILABLE

from connbudget.resources import policies_dir

pytestmark = pytest.mark.skipif(OPA_UNAVAILABLE is not None,
                                reason=f"real OPA not run: {OPA_UNAVAILABLE}")

CASES = FIXTURES / "conftest"
POLICIES = policies_dir()


def _roles_json(case: str, tmp_path: Path) -> Path:
    """`connbudget sql2json migrations/ > roles.json` in a copy of the fixture tree."""
    shutil.copytree(CASES / case, tmp_path, dirs_exist_ok=True)
    run = run_cli("sql2json", "migrations/", cwd=tmp_path)
    assert run.code == 0, run.err
    (tmp_path / "roles.json").write_text(run.out, encoding="utf-8")
    return Path("roles.json")


def _conftest(case: str, tmp_path: Path, **options: object) -> ConftestRun:
    roles = _roles_json(case, tmp_path)
    return conftest_test([roles], POLICIES, cwd=tmp_path, **options)  # type: ignore[arg-type]


def test_only_advice_warns_and_exits_0(tmp_path: Path) -> None:
    run = _conftest("warnings_only", tmp_path, all_namespaces=True)
    assert run.code == 0, run.error
    warnings = [w for r in run.results for w in r.warnings]
    assert [(w.metadata["rule_id"], w.location) for w in warnings] == [
        ("CB005", ("migrations/V1__roles.sql", "2"))]
    assert not any(r.failures for r in run.results)
    standard = "\n".join(run.standard())
    assert 'WARN - roles.json - connbudget.cb005 - role "app" can log in' in standard


def test_an_unlimited_role_fails_the_run_and_shows_file_and_line(tmp_path: Path) -> None:
    run = _conftest("unlimited", tmp_path, all_namespaces=True)
    assert run.code == 1, run.error
    failures = [f for r in run.results for f in r.failures]
    assert [(f.metadata["rule_id"], f.location) for f in failures] == [
        ("CB001", ("migrations/V1__roles.sql", "4"))]
    github = run.github()
    assert any(line.startswith("::error file=migrations/V1__roles.sql,line=4::role \"app\"")
               for line in github), github
    assert any(line.startswith("::warning file=migrations/V1__roles.sql,line=4::")
               for line in github)


def test_every_document_of_the_array_is_checked_in_every_namespace(tmp_path: Path) -> None:
    run = _conftest("unlimited", tmp_path, all_namespaces=True)
    by_namespace = {r.namespace: r for r in run.results}
    # Two role statements, each its own document: CB001 passes one and fails the other.
    assert by_namespace["connbudget.cb001"].successes == 1
    assert len(by_namespace["connbudget.cb001"].failures) == 1
    assert by_namespace["connbudget.cb004"].successes == 2
    summary = run.standard()[-1]
    assert summary == "10 tests, 8 passed, 1 warning, 1 failure, 0 exceptions"


def test_without_a_namespace_nothing_is_checked_and_the_run_passes(tmp_path: Path) -> None:
    run = _conftest("unlimited", tmp_path)
    assert run.code == 0
    assert [(r.namespace, r.successes, r.failures, r.warnings) for r in run.results] == [
        ("main", 0, [], [])]
    assert run.standard() == ["0 tests, 0 passed, 0 warnings, 0 failures, 0 exceptions"]


def test_namespaces_pick_rules(tmp_path: Path) -> None:
    run = _conftest("unlimited", tmp_path,
                    namespaces=("connbudget.cb004", "connbudget.cb005"))
    assert run.code == 0
    assert [r.namespace for r in run.results] == ["connbudget.cb004", "connbudget.cb005"]
    assert [w.metadata["rule_id"] for r in run.results for w in r.warnings] == ["CB005"]


def test_fail_on_warn_turns_advice_into_exit_1_and_failures_into_2(tmp_path: Path) -> None:
    assert _conftest("warnings_only", tmp_path / "w", all_namespaces=True,
                     fail_on_warn=True).code == 1
    assert _conftest("unlimited", tmp_path / "u", all_namespaces=True, fail_on_warn=True).code == 2


def test_conftest_finds_what_the_cli_finds(tmp_path: Path) -> None:
    run = _conftest("unlimited", tmp_path, all_namespaces=True)
    conftest_found = sorted(
        (r.metadata["rule_id"], f"{r.location[0]}:{r.location[1]}") for c in run.results
        for r in [*c.failures, *c.warnings] if r.location)
    cli = run_cli("sql", "--format", "json", "--fail-on", "info", "migrations/", cwd=tmp_path)
    report = cli.json()
    assert isinstance(report, dict)
    assert sorted((f["rule_id"], f"{f['file']}:{f['line']}") for f in report["findings"]) == \
        conftest_found


def test_a_numeric_idle_timeout_does_not_abort_the_run(tmp_path: Path) -> None:
    document = (
        '[{"kind": "role_statement", "source": {"file": "hand.json", "line": 1}, '
        '"resource": "app", "statement": {"type": "CreateRoleStmt"}, '
        '"role": {"name": "app", "login": true}, '
        '"effective": {"login": true, "superuser": false, "connection_limit": 5}, '
        '"final": {"login": true, "superuser": false, "connection_limit": 5, '
        '"settings": {"idle_in_transaction_session_timeout": 60000}}}]')
    (tmp_path / "hand.json").write_text(document, encoding="utf-8")
    run = conftest_test([Path("hand.json")], POLICIES, cwd=tmp_path, all_namespaces=True)
    assert (run.code, run.error) == (0, "")
    assert not any(r.failures or r.warnings for r in run.results)


def test_broken_metadata_fails_the_load(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "policies")
    shutil.copy(FIXTURES / "policies" / "broken_metadata" / "policy.rego",
                tmp_path / "policies" / "broken.rego")
    (tmp_path / "roles.json").write_text("[]", encoding="utf-8")
    run = conftest_test([Path("roles.json")], tmp_path / "policies", cwd=tmp_path,
                        all_namespaces=True)
    assert run.code == 1
    assert "rego_parse_error: yaml:" in run.error


def _documented(text: str) -> list[str]:
    return [line.split("#")[0].strip() for line in text.splitlines()
            if line.strip().startswith(("conftest test", "- conftest test"))]


@pytest.mark.parametrize("doc", ["README.md", "docs/ci.md"])
def test_the_documented_conftest_commands_warn_on_advice_and_fail_on_errors(
        doc: str, tmp_path: Path) -> None:
    commands = [c.removeprefix("- ") for c in _documented((ROOT / doc).read_text("utf-8"))]
    assert commands
    for command in commands:
        for case, code in (("warnings_only", 0), ("unlimited", 1)):
            work = tmp_path / case
            roles = _roles_json(case, work)
            assert command.split()[2] == roles.name, command
            run = conftest_command(command, work, POLICIES)
            assert run.code == code, (command, case, run.error)
            assert any(r.warnings for r in run.results), command
