"""Hostile pull requests, bounded work: each input that once took gigabytes or never ended is
scanned as a CI job runs connbudget (a whole process under a 1 GiB address-space limit, a time
limit, no cache), next to a file of good migrations. The run ends in seconds with a located
error for that input, and the other files' findings are kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from confined import Confined, run_confined
from conftest import FIXTURES
from hostile_inputs import role_statements, sum_of_terms

HOSTILE = FIXTURES / "hostile"
GOOD = FIXTURES / "sql" / "rules" / "cb001_fail_create_role_login"  # CB001 for `reporting`
CPU_SECONDS = 60  # a few on an idle machine; the cap only catches runaway work


def _many_terms(tmp_path: Path) -> Path:
    """300,000 terms: 1.8 MB of one expression; the parser's tree of it stays small, and only
    the evaluation stops."""
    return sum_of_terms(tmp_path, 300_000)


def _fixture(name: str) -> Callable[[Path], Path]:
    return lambda tmp_path: HOSTILE / name


CASES = {
    "sum of 100,000 terms": (sum_of_terms, [
        "main.tf:2: expression nested too deeply; the value is unknown"], {"unlimited"}),
    "300,000 terms": (_many_terms, [
        "main.tf:2: expression nested too deeply; the value is unknown"], {"unlimited"}),
    "1,000 strings of 3.5 MiB": (_fixture("strings"), [
        "main.tf:8: the strings built pass 67,108,864 characters in all; this value and the "
        "expressions evaluated after it are unknown"], {"unlimited"}),
    "local modules nested with count = 1000": (_fixture("modules"), [
        "main.tf:3: count makes 1,000 instances inside modules expanded 1,000 times: "
        "1,000,000 in all, more than the 1,024 connbudget expands; the instances are unknown"
    ] * 4, {"unlimited"}),
    "%include fan-out 20 x 8 levels": (_fixture("fanout"), [
        "level7.ini:20: more than 256 files %included in one configuration: this one and the "
        "later ones are not read"], set()),
    "200,000 role statements": (role_statements, [
        "V1__roles.sql:10001: more than 10,000 role statements in one file: this one and the "
        "ones after it are not checked"], {"r0", "r9999"}),
}


def _roles(run: Confined) -> set[str]:
    """The roles with a finding of a role rule."""
    return {f["resource"].rsplit(".", 1)[-1] for f in run.json()["findings"]
            if f["rule_id"] in ("CB001", "CB002", "CB005")}


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_input_ends_bounded_with_a_located_error(name: str, tmp_path: Path) -> None:
    make, errors, roles = CASES[name]
    run = run_confined("scan", str(make(tmp_path)), str(GOOD), "--format", "json")
    assert run.code == 2, run.err
    assert run.cpu < CPU_SECONDS
    assert sorted(run.errors()) == sorted(errors)
    found = _roles(run)
    assert "reporting" in found  # the good migration next to it
    assert roles <= found  # what the hostile input's own files still say


def test_a_pattern_that_backtracks_in_python_is_matched_by_re2_at_once() -> None:
    run = run_confined("scan", str(HOSTILE / "regex"), str(GOOD), "--format", "json")
    assert run.code == 1, run.err
    assert run.cpu < CPU_SECONDS
    assert run.json()["errors"] == []
    assert {"reporting", "unlimited", "app"} <= _roles(run)
    # replace() kept the name (no match) and regexall() found no match: CONNECTION LIMIT 0
    [limit_zero] = [f for f in run.json()["findings"] if f["rule_id"] == "CB002"]
    assert f'role "{"a" * 4000}!"' in limit_zero["message"]


def test_an_exclude_glob_with_many_stars_is_matched_at_once() -> None:
    glob = HOSTILE / "glob"
    run = run_confined("scan", str(glob), "--config", str(glob / "connbudget.toml"),
                       "--format", "json", timeout=120)
    assert run.code == 1, run.err
    assert run.cpu < CPU_SECONDS
    assert _roles(run) == {"unlimited"}  # the glob does not match: the file is read


def _nested_do_blocks(levels: int) -> str:
    """A DO block that EXECUTEs a DO block, `levels` deep, the last creating a login role."""
    sql = "CREATE ROLE hidden LOGIN;"
    for level in range(levels, 0, -1):
        sql = f"DO $l{level}$ BEGIN EXECUTE $q{level}$ {sql} $q{level}$; END $l{level}$"
    return sql.replace(f"EXECUTE $q{levels}$ CREATE ROLE hidden LOGIN; $q{levels}$;",
                       "CREATE ROLE hidden LOGIN;") + ";\n"


def test_dynamic_sql_nested_fifty_levels_deep_is_noted_in_bounded_time(tmp_path: Path) -> None:
    (tmp_path / "V1__installer.sql").write_text(_nested_do_blocks(50))
    run = run_confined("scan", str(tmp_path), str(GOOD), "--format", "json")
    assert run.code == 1, run.err  # the good migration's CB001
    assert run.cpu < CPU_SECONDS
    notes = [f["message"] for f in run.json()["findings"] if f["rule_id"] == "CB007"]
    assert notes == ["DO block: runs SQL that holds a body nested more than 4 levels deep; its "
                     "role statements are not checked"]
    assert "reporting" in _roles(run) and "hidden" not in _roles(run)


def test_dynamic_sql_nested_within_the_depth_is_read(tmp_path: Path) -> None:
    (tmp_path / "V1__installer.sql").write_text(_nested_do_blocks(5))
    run = run_confined("scan", str(tmp_path), "--format", "json")
    assert run.code == 1, run.err
    assert {(f["rule_id"], f["resource"]) for f in run.json()["findings"]} >= {("CB001", "hidden")}


def test_what_is_evaluated_after_the_budget_is_spent_is_unknown_not_a_crash(
        tmp_path: Path) -> None:
    """A root loaded after the one that spent the run's budget: its for_each, module instances
    and dynamic blocks are unknown, never an exception that drops the whole Terraform load."""
    shutil.copytree(HOSTILE / "strings", tmp_path / "a_strings")
    later = tmp_path / "b_later"
    (later / "modules" / "pool").mkdir(parents=True)
    (later / "modules" / "pool" / "main.tf").write_text(
        'variable "size" {}\n\nresource "postgresql_role" "pool" {\n  name  = "pool"\n'
        "  login = true\n}\n")
    (later / "main.tf").write_text(
        'module "pool" {\n  source   = "./modules/pool"\n  for_each = toset(["a", "b"])\n'
        "  size     = 10\n}\n\n"
        'resource "aws_db_parameter_group" "main" {\n  name   = "main"\n  family = "postgres15"\n'
        '  dynamic "parameter" {\n    for_each = { max_connections = 100 }\n    content {\n'
        "      name  = parameter.key\n      value = parameter.value\n    }\n  }\n}\n")
    run = run_confined("scan", str(tmp_path), "--format", "json")
    assert run.code == 2, run.err
    assert run.errors() == [
        "main.tf:8: the strings built pass 67,108,864 characters in all; this value and the "
        "expressions evaluated after it are unknown"]
    assert "could not be read" not in run.err
