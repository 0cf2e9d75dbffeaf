"""The pre-commit hooks, run for real by `pre-commit run` on throwaway repositories whose
configuration names this repository at a commit, as a user's names a release."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.xdist_group("pre-commit")

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as it is on disk (tracked and untracked files, not ignored ones),
    committed into a scratch repository: pre-commit installs connbudget from it as it would
    from a clone."""
    snapshot = tmp_path_factory.mktemp("connbudget-repo")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "snapshot")
    return snapshot


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One home for the session: the hook environment is built once and reused.
    return tmp_path_factory.mktemp("pre-commit-home")


def project(tmp_path: Path, fixture: str) -> Path:
    repo = tmp_path / "project"
    shutil.copytree(FIXTURES / "precommit" / fixture, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    return repo


def run_hook(hook_repo: Path, home: Path, repo: Path,
             hook: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run HOOK --all-files` in `repo`, whose configuration names the hook
    repository at its commit: pre-commit clones it and builds the hook's environment once per
    home (these tests share a worker, and so one home)."""
    rev = git(hook_repo, "rev-parse", "HEAD").strip()
    # beside the repository, not in it: a YAML file there is one the capacity hook reads
    config = repo.parent / "pre-commit-config.yaml"
    config.write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: {hook}\n")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--config", str(config), hook,
         "--all-files"], cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def test_hooks_file_declares_the_three_hooks_on_their_files() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"connbudget-sql", "connbudget-capacity", "connbudget-scan"}
    assert re.search(hooks["connbudget-sql"]["files"], "db/V1__roles.sql")
    capacity = hooks["connbudget-capacity"]["files"]
    assert all(re.search(capacity, name) for name in
               ("main.tf", "prod.tfvars", "pgbouncer.ini", "postgresql.conf", "deploy.yaml",
                "hpa.yml"))
    assert not re.search(capacity, "V1__roles.sql")
    assert all(h["language"] == "python" for h in hooks.values())


def test_hooks_see_the_whole_repository_not_only_the_staged_files() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert all(h["pass_filenames"] is False and h["args"] == ["."] for h in hooks)


def test_sql_hook_fails_on_a_migration_without_a_connection_limit(
        hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    result = run_hook(hook_repo, pre_commit_home, project(tmp_path, "bad"), "connbudget-sql")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CB001" in result.stdout
    assert "db/V1__app_user.sql" in result.stdout


def test_sql_hook_passes_a_migration_with_a_connection_limit(
        hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    result = run_hook(hook_repo, pre_commit_home, project(tmp_path, "clean"), "connbudget-sql")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_scan_hook_fails_on_a_migration_without_a_connection_limit(
        hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    result = run_hook(hook_repo, pre_commit_home, project(tmp_path, "bad"), "connbudget-scan")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CB001" in result.stdout


def test_capacity_hook_is_skipped_when_no_file_it_reads_exists(
        hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    result = run_hook(hook_repo, pre_commit_home, project(tmp_path, "clean"),
                      "connbudget-capacity")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(no files to check)Skipped" in result.stdout


def test_capacity_hook_fails_when_the_services_outgrow_the_database(
        hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    result = run_hook(hook_repo, pre_commit_home, project(tmp_path, "over-budget"),
                      "connbudget-capacity")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CB101" in result.stdout
    assert "THE CONNECTION MATH  aws_db_instance.main" in result.stdout
