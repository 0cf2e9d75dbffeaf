"""Hostile pull requests: nothing outside the scanned tree is read, nothing blocks a scan.

Each tree is copied into a temporary directory (no repository around it, so the scan root is
the directory itself) with a secret placed beside it, outside the tree.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from inprocess import LOCATED, Outcome
from inprocess import run_main as _run_main

from connbudget.reporters import FORMATS

HOSTILE = FIXTURES / "hostile"


def run_main(*args: str) -> Outcome:
    """In this process, bounded: a hang (a blocking FIFO, a runaway evaluation) fails."""
    return _run_main(*args, timeout=180)
SECRET = "s3cr3t-value-0451"


def _tree(tmp_path: Path, name: str) -> Path:
    """`fixtures/hostile/<name>` copied to tmp_path/tree, a secret file next to the tree."""
    (tmp_path / "outside.ini").write_text(f"[pgbouncer]\nauth_type = {SECRET}\n"
                                          f"[{SECRET}]\n{SECRET}\n")
    (tmp_path / "secret.txt").write_text(SECRET)
    tree = tmp_path / "tree"
    shutil.copytree(HOSTILE / name, tree / name)
    return tree


def _errors(outcome_json: dict[str, object]) -> list[str]:
    errors = outcome_json["errors"]
    assert isinstance(errors, list)
    return [f"{e['file']}:{e['line']}: {e['message']}" for e in errors]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_environment_of_the_ci_job_never_becomes_role_names(fmt: str,
                                                                tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text(
        'resource "postgresql_role" "leak" {\n'
        '  for_each         = toset(split("\\u0000", file("/proc/self/environ")))\n'
        "  name             = each.value\n  login            = true\n"
        "  connection_limit = 10\n}\n")
    result = run_cli("scan", str(tree), "--format", fmt, "--no-cache",
                     env={"CB_TEST_TOKEN": SECRET, "COLUMNS": "300"})
    assert SECRET not in result.out and SECRET not in result.err
    assert "CB_TEST_TOKEN" not in result.out + result.err
    assert result.code == 2
    assert "main.tf:2: a file named here is a system file, never read" in result.out + result.err


def test_file_and_templatefile_outside_the_tree_are_unknown_and_reported(
        tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "inside.json").write_text('[{"limit": -1}]')
    (tree / "main.tf").write_text(
        'resource "postgresql_role" "a" {\n  name = file("../secret.txt")\n'
        "  login = true\n  connection_limit = 5\n}\n"
        'resource "postgresql_role" "b" {\n'
        f'  name = templatefile("{tmp_path}/secret.txt", {{}})\n'
        "  login = true\n  connection_limit = 5\n}\n"
        'locals {\n  inside = jsondecode(file("inside.json"))[0].limit\n}\n'
        'resource "postgresql_role" "c" {\n  name = "c"\n'
        "  login = true\n  connection_limit = local.inside\n}\n"
        'resource "postgresql_role" "d" {\n  name = "d"\n'
        '  login = true\n  connection_limit = file("../secret.txt")\n}\n')
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    assert SECRET not in outcome.out + outcome.err
    errors = _errors(outcome.json())
    assert f"{tree}/main.tf:2: a file named here is outside the scanned tree, not read; " \
        "its value is unknown" in errors
    assert any(e.startswith(f"{tree}/main.tf:7: a file named here is outside") for e in errors)
    # ../secret.txt, named again by d, is reported once: at its first use
    assert len(errors) == 2
    unlimited = {f["resource"] for f in outcome.json()["findings"]  # type: ignore
                 if f["rule_id"] == "CB001"}
    # The file inside the tree is read (c's limit -1 is known); d's stays unknown.
    assert unlimited == {"postgresql_role.c"}


def test_a_symlink_inside_the_tree_to_a_file_outside_is_not_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text(SECRET)
    (tree / "main.tf").write_text('resource "postgresql_role" "a" {\n'
                                  '  name = file("link.txt")\n  login = true\n'
                                  "  connection_limit = 5\n}\n")
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    assert SECRET not in outcome.out
    assert any("main.tf:2: a file named here is outside the scanned tree" in e
               for e in _errors(outcome.json()))


def test_a_module_source_leaving_the_tree_is_not_loaded(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "main.tf").write_text('resource "postgresql_role" "outside" {\n'
                                     f'  name = "{SECRET}"\n  login = true\n}}\n')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text('module "m" {\n  source = "../elsewhere"\n}\n')
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    assert SECRET not in outcome.out
    assert f"{tree}/main.tf:1: module m: source ../elsewhere is outside the scanned tree, " \
        "not read" in _errors(outcome.json())


def test_pgbouncer_include_leaving_the_tree_is_refused_without_its_content(
        tmp_path: Path) -> None:
    tree = _tree(tmp_path, "include")
    outcome = run_main("scan", str(tree), "--format", "json")
    assert SECRET not in outcome.out + outcome.err
    assert f"{tree}/include/pgbouncer.ini:6: %include names a file that is outside the " \
        "scanned tree, not read" in _errors(outcome.json())


def test_config_var_files_outside_the_tree_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.tfvars").write_text(f'name = "{SECRET}"\n')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".connbudget.toml").write_text(f'var-files = ["{tmp_path}/secret.tfvars", '
                                           '"../secret.tfvars"]\n')
    (tree / "main.tf").write_text('variable "name" {}\nresource "postgresql_role" "a" {\n'
                                  "  name = var.name\n  login = true\n"
                                  "  connection_limit = 5\n}\n")
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    assert SECRET not in outcome.out
    errors = _errors(outcome.json())
    assert sum("var-files:" in e and "is outside the scanned tree, not read" in e
               for e in errors) == 2


@pytest.mark.parametrize("name", ["x.sql", "main.tf", "pgbouncer.ini", "k.yaml"])
def test_a_fifo_is_reported_not_waited_for(name: str, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / name)
    (tree / "V1__ok.sql").write_text("CREATE ROLE app LOGIN;\n")
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    assert f"{tree}/{name}:0: not a regular file, not read" in _errors(outcome.json())
    assert any(f["rule_id"] == "CB001" for f in outcome.json()["findings"])  # type: ignore


def test_a_fifo_named_on_the_command_line_is_reported(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.sql")
    outcome = run_main("sql", str(tmp_path / "x.sql"), "--format", "json")
    assert outcome.code == 2
    assert _errors(outcome.json()) == [f"{tmp_path}/x.sql:0: not a regular file, not read"]


def test_symlinks_inside_the_tree_are_followed_and_loops_end(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "real").mkdir(parents=True)
    (tree / "real" / "V1__roles.sql").write_text("CREATE ROLE app LOGIN;\n")
    (tree / "V2__linked.sql").symlink_to(tree / "real" / "V1__roles.sql")
    (tree / "real" / "loop").symlink_to(tree)  # a directory loop
    (tree / "out").symlink_to(tmp_path)  # leaves the tree
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    files = {f["file"] for f in outcome.json()["findings"]}  # type: ignore
    assert f"{tree}/V2__linked.sql" in files and f"{tree}/real/V1__roles.sql" in files
    assert f"{tree}/out:0: a symlink to a directory outside the scanned tree, not read" \
        in _errors(outcome.json())


def test_a_symlink_named_on_the_command_line_is_read_or_reported(tmp_path: Path) -> None:
    (tmp_path / "secret.sql").write_text("CREATE ROLE leaked LOGIN;\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "V1__in.sql").write_text("CREATE ROLE inside LOGIN;\n")
    (tree / "inside.sql").symlink_to(tree / "V1__in.sql")
    (tree / "outside.sql").symlink_to(tmp_path / "secret.sql")
    inside = run_main("sql", str(tree / "inside.sql"), "--format", "json")
    assert {f["resource"] for f in inside.json()["findings"]} == {"inside"}  # type: ignore
    outside = run_main("scan", str(tree / "outside.sql"), "--format", "json")
    assert "leaked" not in outside.out
    assert _errors(outside.json()) == [f"{tree}/outside.sql:0: outside the scanned tree, "
                                       "not read"]


def test_terraform_json_syntax_is_read_like_hcl() -> None:
    outcome = run_main("scan", str(HOSTILE / "tfjson"), "--format", "json", "--no-cache")
    found = {(f["resource"], f["rule_id"]) for f in outcome.json()["findings"]}  # type: ignore
    # main.tf.json's role has no limit (CB001); roles.tf's limit comes from main.tf.json's
    # local (var.limit * 2 = 10), so it passes CB001.
    assert ("postgresql_role.app", "CB001") in found
    assert ("postgresql_role.limited", "CB001") not in found
    assert ("postgresql_role.limited", "CB005") in found
    assert outcome.json()["errors"] == []


def test_a_utf16_terraform_file_is_an_error_not_a_silent_skip() -> None:
    outcome = run_main("scan", str(HOSTILE / "utf16"), "--format", "json", "--no-cache")
    assert outcome.code == 2
    assert [e for e in _errors(outcome.json()) if LOCATED.match(e)] == [
        f"{HOSTILE}/utf16/main.tf:1: file is not UTF-8 (UTF-16?): save it as UTF-8"]


def test_a_dsn_pool_size_that_is_not_a_number_is_unknown_not_absent() -> None:
    outcome = run_main("capacity", str(HOSTILE / "dsn"), "--format", "json")
    messages = [f["message"] for f in outcome.json()["findings"]]  # type: ignore
    assert "Deployment/api pool size cannot be determined (DATABASE_URL pool_max_conns= is not " \
        "a number; pool size unknown); the budget of its database is unknown" in messages
