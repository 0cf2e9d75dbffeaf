"""Hostile pull requests, isolation: an input that breaks a front end or a command costs only
its own file. Every other file is still checked and every output format is still written."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from checkov_run import checkov
from confined import run_confined
from conftest import FIXTURES
from hostile_inputs import for_each_key
from inprocess import run_main

from connbudget.reporters import FORMATS

HOSTILE = FIXTURES / "hostile"
GOOD = FIXTURES / "sql" / "rules" / "cb001_fail_create_role_login"  # CB001 for `reporting`
EXTENSIONS = {"text": "txt", "json": "json", "sarif": "sarif", "junit": "xml",
              "github": "log", "gitlab": "json", "markdown": "md"}


def test_a_plan_with_a_5000_digit_integer_is_an_error_of_its_own_in_every_format(
        tmp_path: Path) -> None:
    outputs = {fmt: tmp_path / f"report.{fmt}.{EXTENSIONS[fmt]}" for fmt in FORMATS}
    extra = [f"--output={fmt}={path}" for fmt, path in outputs.items() if fmt != "json"]
    run = run_confined("scan", str(HOSTILE / "plan"), str(GOOD), "--format", "json", *extra,
                       env={"COLUMNS": "300"})
    assert run.code == 2, run.err
    assert run.errors() == ["huge.tfplan.json:15: a number too large to use; the plan is not read"]
    assert "reporting" in {f["resource"] for f in run.json()["findings"]}
    for fmt, path in outputs.items():
        if fmt == "json":
            continue
        text = path.read_text()
        assert "CB001" in text, fmt
        assert "huge.tfplan.json" in text or fmt in ("gitlab", "junit"), fmt


def test_a_for_each_key_with_a_line_break_keeps_the_capacity_analysis(tmp_path: Path) -> None:
    run = run_confined("scan", str(for_each_key(tmp_path)), str(GOOD), "--format", "json")
    assert run.code == 1, run.err
    assert run.json()["errors"] == []
    found = {(f["rule_id"], f["resource"]) for f in run.json()["findings"]}
    # the address as Terraform writes it: the key quoted with its escapes
    assert {("CB109", 'aws_db_instance.main["app"]'),
            ("CB109", 'aws_db_instance.main["evil\\n\\"]"]'),
            ("CB001", "postgresql_role.unlimited"), ("CB001", "reporting")} <= found
    assert len(run.json()["budgets"]) == 2


def test_alerts_on_a_for_each_key_with_a_line_break_is_not_an_internal_error(
        tmp_path: Path) -> None:
    tree = for_each_key(tmp_path)
    for fmt in ("cloudwatch", "prometheus"):
        run = run_confined("alerts", str(tree), "--format", fmt)
        assert run.code == 0, run.err
        assert run.out.strip()


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, capture_output=True, env={**os.environ, **GIT_ENV},
                   timeout=60, check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Commits: `empty` (no file at all), `links` (symlinks leaving the tree), then a
    migration that adds a role with no limit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    _git(repo, "tag", "empty")
    (repo / "passwd.sql").symlink_to("/etc/passwd")
    (repo / "up").symlink_to("../../..")
    (repo / "V1__app.sql").write_text("CREATE ROLE app LOGIN CONNECTION LIMIT 20;\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "links")
    _git(repo, "tag", "links")
    (repo / "passwd.sql").unlink()
    (repo / "up").unlink()
    (repo / "V2__reporting.sql").write_text("CREATE ROLE reporting LOGIN;\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "reporting")
    return repo


def test_diff_skips_base_members_that_leave_the_tree(repo: Path) -> None:
    run = run_confined("diff", "--base", "links", "--format", "json", cwd=repo)
    assert run.code == 1, run.err
    assert "connbudget: in links: passwd.sql: a link leaving the tree or a special file, not " \
        "read" in run.err
    assert "connbudget: in links: up: a link leaving the tree" in run.err
    assert [(f["rule_id"], Path(f["file"]).name) for f in run.json()["new"]
            if f["rule_id"] == "CB001"] == [("CB001", "V2__reporting.sql")]


def test_diff_against_a_commit_with_no_files(repo: Path) -> None:
    run = run_confined("diff", "--base", "empty", "--format", "json", cwd=repo)
    assert run.code == 1, run.err
    new = run.json()["new"]
    assert {Path(f["file"]).name for f in new if f["rule_id"] == "CB001"} == {
        "V2__reporting.sql"}
    assert {Path(f["file"]).name for f in new} >= {"V1__app.sql", "V2__reporting.sql"}


def test_checkov_gives_unknown_on_a_5000_digit_connection_limit() -> None:
    """The real Checkov with connbudget's checks: no check fails inside Checkov, the role
    beside it is still judged, and connbudget agrees."""
    proc = checkov("-d", str(HOSTILE / "checkov"), "-o", "json")
    assert "Failed to run check" not in proc.stderr and "Traceback" not in proc.stderr
    results = json.loads(proc.stdout)["results"]
    verdicts = {(c["check_id"], c["resource"]): kind for kind, checks in results.items()
                for c in checks}
    assert verdicts[("CKV_CB_001", "postgresql_role.unlimited")] == "failed_checks"
    assert not any(resource == "postgresql_role.quoted" and check in ("CKV_CB_001",
                                                                       "CKV_CB_002")
                   for check, resource in verdicts)  # UNKNOWN: Checkov lists nothing
    run = run_confined("scan", str(HOSTILE / "checkov"), "--format", "json")
    assert run.json()["errors"] == []
    assert {f["resource"] for f in run.json()["findings"] if f["rule_id"] in (
        "CB001", "CB002")} == {"postgresql_role.unlimited"}


@pytest.mark.parametrize("command", ["sql2json", "alerts"])
def test_a_file_that_breaks_a_command_is_an_error_of_its_own(
        command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """sql2json and alerts, like scan, keep the output of the files that do not fail."""
    from connbudget.capacity import analyze
    from connbudget.frontends.sql import reader as sql

    tree = tmp_path / "tree"
    (tree / "bad").mkdir(parents=True)
    (tree / "good").mkdir()
    (tree / "good" / "V1__good.sql").write_text("CREATE ROLE good LOGIN;\n")
    (tree / "bad" / "V2__bad.sql").write_text("CREATE ROLE bad LOGIN;\n")
    for name in ("good", "bad"):
        (tree / name / "k.yaml").write_text((FIXTURES / "k8s" / "app.yaml").read_text())
    read_sql, capacity_model = sql.read_sql, analyze.capacity_model

    def fragile_sql(paths: list[str]) -> sql.SqlResult:
        if any("bad" in path for path in paths):
            raise OverflowError("int too large to convert")
        return read_sql(paths)

    def fragile_model(parsed, settings):  # type: ignore[no-untyped-def]
        workloads = parsed["kubernetes"].workloads if "kubernetes" in parsed else []
        if any("bad" in workload.file for workload in workloads):
            raise OverflowError("int too large to convert")
        return capacity_model(parsed, settings)

    monkeypatch.setattr(sql, "read_sql", fragile_sql)
    monkeypatch.setattr(analyze, "capacity_model", fragile_model)
    paths = [str(tree / "good"), str(tree / "bad")]
    outcome = run_main(command, *paths) if command == "sql2json" else run_main(
        command, *paths, "--format", "prometheus")
    assert outcome.code == 2
    assert "could not be read (OverflowError); skipped, the other files were checked" in \
        outcome.err and "int too large" not in outcome.err
    assert str(tree / "bad") in outcome.err
    if command == "sql2json":
        assert [d["resource"] for d in json.loads(outcome.out)] == ["good"]
    else:
        assert "groups:" in outcome.out
