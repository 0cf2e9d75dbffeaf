"""`connbudget diff --base REF`: the budgets and findings of the working tree against a ref."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from connbudget.budgets import BudgetView
from connbudget.confine import scan_roots
from connbudget.discover import discover
from connbudget.engine import check_capacity
from connbudget.settings import Settings

RESIZE_LINE = ("aws_db_instance.main max_connections 360 -> 90 (db.t3.medium -> db.t3.micro), "
               "usable 355 -> 85, worst case 100: now CB101")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                            env={**os.environ, **GIT_ENV}, timeout=60, check=True)
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose second commit resizes the instance from db.t3.medium to micro."""
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    shutil.copy(FIXTURES / "diff" / "main.tf", repo / "infra" / "main.tf")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "database and api service")
    tf = repo / "infra" / "main.tf"
    tf.write_text(tf.read_text().replace('"db.t3.medium"', '"db.t3.micro"'))
    git(repo, "commit", "-qam", "resize the instance")
    return repo


def diff(repo: Path, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    result = run_cli("diff", *args, cwd=cwd or repo)
    return result.code, result.out, result.err


def test_a_resize_shows_the_numbers_before_and_after_and_the_new_finding(repo: Path) -> None:
    code, out, _ = diff(repo, "--base", "HEAD~1")
    assert code == 1
    assert RESIZE_LINE in out.splitlines()
    assert "new findings: 1" in out
    assert "infra/main.tf:3  error    CB101  worst case 100 connections to aws_db_instance.main" \
        in out
    assert "fixed: 0" in out


def test_json_has_before_and_after_budgets_and_the_new_finding(repo: Path) -> None:
    code, out, _ = diff(repo, "--base", "HEAD~1", "--format", "json", "infra")
    assert code == 1
    data = json.loads(out)
    assert data["version"] == 1 and data["base"] == "HEAD~1"
    [database] = data["databases"]
    assert database["database"] == "aws_db_instance.main"
    assert (database["before"]["max_connections"], database["after"]["max_connections"]) == \
        (360, 90)
    assert (database["before"]["usable"], database["after"]["usable"]) == (355, 85)
    assert database["before"]["verdict"]["rule_id"] is None
    assert database["after"]["verdict"]["rule_id"] == "CB101"
    assert [f["rule_id"] for f in data["new"]] == ["CB101"]
    assert data["new"][0]["file"] == "infra/main.tf"
    assert data["fixed"] == []


def test_markdown_is_a_pull_request_comment(repo: Path) -> None:
    code, out, _ = diff(repo, "--base", "HEAD~1", "--format", "markdown")
    assert code == 1
    assert out.startswith("## connbudget: connection budgets against `HEAD~1`")
    # cells write Markdown's punctuation as character references: read them as rendered
    assert ("| `aws_db_instance.main` | 360 → 90 (db.t3.medium → db.t3.micro) | 355 → 85 | 100 "
            "| now CB101 |") in html.unescape(out)
    assert "**New findings: 1**" in out and "**Fixed:** none" in out


def test_the_reverse_change_fixes_the_finding_and_exits_0(repo: Path) -> None:
    git(repo, "revert", "--no-edit", "HEAD")
    code, out, _ = diff(repo, "--base", "HEAD~1", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [f["rule_id"] for f in data["fixed"]] == ["CB101"] and data["new"] == []


def test_the_working_tree_is_untouched(repo: Path) -> None:
    tf = repo / "infra" / "main.tf"
    tf.write_text(tf.read_text().replace("desired_count              = 10",
                                         "desired_count              = 8"))
    before = tf.read_text()
    status = git(repo, "status", "--porcelain")
    code, out, _ = diff(repo, "--base", "HEAD~1", "--format", "json")
    # uncommitted edits count: 8 tasks x 10 = 80 fits the 85 usable slots of the micro
    assert code == 0
    assert json.loads(out)["databases"][0]["after"]["worst_case"] == 80
    assert tf.read_text() == before and git(repo, "status", "--porcelain") == status
    assert sorted(p.name for p in repo.iterdir()) == [".git", "infra"]


def test_fail_on_warning_counts_only_new_warnings(repo: Path) -> None:
    # CB109 (no alarm) is in both trees: not new, so it does not fail the diff
    code, out, _ = diff(repo, "--base", "HEAD", "--fail-on", "warning", "--format", "json")
    assert code == 0
    assert json.loads(out)["new"] == [] and json.loads(out)["databases"][0]["changed"] is False


def test_a_database_added_by_the_change_has_no_before(repo: Path) -> None:
    (repo / "infra" / "reports.tf").write_text(
        'resource "aws_db_instance" "reports" {\n  identifier     = "reports"\n'
        '  engine         = "postgres"\n  instance_class = "db.t3.small"\n}\n')
    code, out, _ = diff(repo, "--base", "HEAD", "--format", "json")
    databases = {d["database"]: d for d in json.loads(out)["databases"]}
    assert databases["aws_db_instance.reports"]["before"] is None
    assert databases["aws_db_instance.reports"]["after"]["max_connections"] is not None
    assert code == 0  # its CB109 is a warning; --fail-on is error


def test_paths_from_a_subdirectory_and_absolute_paths(repo: Path) -> None:
    code, out, _ = diff(repo, "--base", "HEAD~1", ".", cwd=repo / "infra")
    assert code == 1 and RESIZE_LINE in out
    code, out, _ = diff(repo, "--base", "HEAD~1", str(repo / "infra"))
    assert code == 1 and RESIZE_LINE in out
    assert "connbudget-base-" not in out


def test_a_base_run_of_absolute_paths_names_the_working_tree_in_its_budgets(repo: Path) -> None:
    _, out, _ = diff(repo, "--base", "HEAD~1", "--format", "json", str(repo / "infra"))
    [database] = json.loads(out)["databases"]
    before, after = database["before"], database["after"]
    assert before["file"] == after["file"] == str((repo / "infra" / "main.tf").resolve())
    assert [c["file"] for c in before["clients"]] == [c["file"] for c in after["clients"]]
    assert before["max_connections"] == 360 and after["max_connections"] == 90
    assert "connbudget-base-" not in out


@pytest.mark.parametrize("fixture", ["k8s-hpa", "rds-proxy", "pgbouncer-user-cap", "two-roots",
                                     "cnpg-operator"])
def test_a_budget_read_back_from_its_json_is_the_same_budget(fixture: str) -> None:
    paths = [str(FIXTURES / "capacity" / fixture)]
    with scan_roots(paths):
        report = check_capacity(discover(paths, []), Settings(cache=False))
    assert report.budgets
    assert [BudgetView.from_json(b.as_json()) for b in report.budgets] == report.budgets


def test_an_unknown_ref_is_a_usage_error(repo: Path) -> None:
    code, out, err = diff(repo, "--base", "no-such-branch")
    assert code == 2
    assert "--base no-such-branch: not a commit in this repository" in err


def test_outside_a_git_repository_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "diff" / "main.tf", tmp_path / "main.tf")
    code, _, err = diff(tmp_path, "--base", "main")
    assert code == 2 and "not inside a git repository" in err


def test_the_ci_recipe_writes_the_markdown_comment_and_fails_on_the_new_error(
        repo: Path) -> None:
    from test_docs import ci_commands, shell

    [command] = [c for c in ci_commands("connbudget") if c.startswith("connbudget diff")]
    # what actions/checkout with fetch-depth 0 leaves: the base branch as origin/<base>
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD~1")
    result = shell(command, repo, GITHUB_BASE_REF="main")
    assert result.returncode == 1, result.stderr
    comment = (repo / "budget-diff.md").read_text()
    assert comment.startswith("## connbudget: connection budgets against `origin/main`")
    assert "now CB101" in comment
