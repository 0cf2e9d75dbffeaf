"""Terragrunt units: the inputs of a terragrunt.hcl set the variables of the module it runs,
each located where it is written; what Terragrunt cannot tell before it runs stays unknown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import FIXTURES, apply_edits, run_cli
from inprocess import run_main

STACK = FIXTURES / "stacks" / "terragrunt"
UNIT = 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\n'


def _scan(path: Path, *args: str) -> dict[str, Any]:
    outcome = run_main("capacity", str(path), "--format", "json", *args)
    assert outcome.code in (0, 1), outcome.err
    found = outcome.json()
    assert isinstance(found, dict)
    return found


def _client(report: dict[str, Any], root: str) -> dict[str, Any]:
    [budget] = [b for b in report["budgets"] if b.get("root", "").endswith(root)]
    [client] = budget["clients"]
    return client


def _tree(tmp_path: Path) -> Path:
    shutil.copytree(STACK, tmp_path / "live")
    return tmp_path / "live"


def test_unit_inputs_set_the_variables_of_the_module_it_runs_each_at_its_line() -> None:
    report = _scan(STACK)
    prod = _client(report, "prod/app")
    assert (prod["max_tasks"], prod["pool"], prod["steady"]) == (12, 15, 180)
    assert (prod["sources"]["max_tasks"]["file"], prod["sources"]["max_tasks"]["line"]) == (
        str(STACK / "prod" / "app" / "terragrunt.hcl"), 16)
    # the parent's inputs (root.hcl) give prod its 200 connections; dev keeps the default
    # pool of the module and takes its max_tasks from its own unit
    [prod_db] = [b for b in report["budgets"] if b["root"].endswith("prod/app")]
    assert prod_db["max_connections"] == 200
    dev = _client(report, "dev/app")
    assert (dev["max_tasks"], dev["pool"]) == (2, 5)


def test_the_module_a_unit_runs_is_not_also_read_as_a_root_of_its_own() -> None:
    roots = {budget["root"] for budget in _scan(STACK)["budgets"]}
    assert roots == {str(STACK / "dev" / "app"), str(STACK / "prod" / "app")}


def test_the_summary_counts_terragrunt_files() -> None:
    result = run_cli("capacity", str(STACK))
    assert result.out.splitlines()[-2:] == ["checked 3 files: 1 Terraform, 2 Terragrunt",
                                            "coverage: 2 databases complete, 0 incomplete, "
                                            "0 things not read"]


def test_a_fix_of_a_value_a_unit_sets_edits_its_terragrunt_hcl(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    [cb102] = [f for f in _scan(tree)["findings"] if f["rule_id"] == "CB102"]
    assert cb102["edits"] == [{"file": str(tree / "prod" / "app" / "terragrunt.hcl"),
                               "line": 16, "old": "  max_tasks = 12", "new": "  max_tasks = 6"}]
    apply_edits(cb102["edits"])
    assert not [f for f in _scan(tree)["findings"] if f["rule_id"] in ("CB102", "CB108")]


def test_a_value_read_from_a_tfvars_file_is_located_there(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "prod" / "common.tfvars").write_text("db_max_connections = 200\nmax_tasks = 9\n")
    unit = tree / "prod" / "app" / "terragrunt.hcl"
    unit.write_text(unit.read_text().replace("  max_tasks = 12\n", ""))
    prod = _client(_scan(tree), "prod/app")
    assert (prod["max_tasks"], prod["sources"]["max_tasks"]["file"],
            prod["sources"]["max_tasks"]["line"]) == (9, str(tree / "prod" / "common.tfvars"), 2)


def test_the_modules_own_tfvars_win_over_terragrunt_inputs(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "modules" / "app" / "terraform.tfvars").write_text("pool_size = 3\n")
    assert _client(_scan(tree), "prod/app")["pool"] == 3


def test_inputs_for_variables_the_module_does_not_declare_are_ignored(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    unit = tree / "dev" / "app" / "terragrunt.hcl"
    unit.write_text(unit.read_text().replace("max_tasks = 2", "max_tasks = 2\n  replicas  = 40"))
    assert _client(_scan(tree), "dev/app")["max_tasks"] == 2


def test_an_input_terragrunt_reads_when_it_runs_is_unknown(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    unit = tree / "dev" / "app" / "terragrunt.hcl"
    unit.write_text(unit.read_text().replace(
        "max_tasks = 2", 'max_tasks = get_env("DEV_MAX_TASKS", "2")'))
    report = _scan(tree)
    assert _client(report, "dev/app")["max_tasks"] is None
    [cb103] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert "an environment variable is read when Terragrunt runs" in cb103["message"]


def test_run_cmd_is_never_run(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    witness = tmp_path / "ran"
    unit = tree / "dev" / "app" / "terragrunt.hcl"
    unit.write_text(unit.read_text().replace(
        "max_tasks = 2", f'max_tasks = run_cmd("touch", "{witness}")'))
    assert _client(_scan(tree), "dev/app")["max_tasks"] is None
    assert not witness.exists()


def test_a_unit_with_a_remote_source_is_a_call_of_that_module(tmp_path: Path) -> None:
    (tmp_path / "proxy").mkdir()
    (tmp_path / "proxy" / "terragrunt.hcl").write_text(
        'terraform {\n  source = "tfr:///terraform-aws-modules/rds-proxy/aws?version=4.4.0"\n}\n'
        '\ninputs = {\n  name                   = "orders"\n  engine_family          = '
        '"POSTGRESQL"\n  max_connections_percent = 60\n}\n')
    model = run_main("capacity", str(tmp_path), "--format", "json")
    assert model.code in (0, 1), model.err
    from test_aws_compute import model_of

    [proxy] = model_of(tmp_path).poolers
    assert (proxy.where.address, proxy.where.root) == ("module.proxy", str(tmp_path / "proxy"))
    assert proxy.percent is not None and proxy.percent.value == 60


def test_find_in_parent_folders_never_leaves_the_scanned_tree(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    outside = tmp_path / "root.hcl"  # above the repository: never read
    outside.write_text('inputs = {\n  max_tasks = 917\n}\n')
    unit = tmp_path / "repo" / "app"
    shutil.copytree(STACK / "modules" / "app", unit)
    (unit / "terragrunt.hcl").write_text(UNIT + 'inputs = {\n  name = "orders"\n}\n')
    outcome = run_main("capacity", str(tmp_path / "repo"), "--format", "json")
    report = outcome.json()
    assert report["errors"] == [{
        "file": str(unit / "terragrunt.hcl"), "line": 1,
        "message": "include: its path cannot be evaluated to a file in the scanned tree; the "
                   "unit's inputs are unknown"}]
    # what the unit sets is unknown, never the 917 of the file above the repository
    assert report["budgets"][0]["clients"][0]["pool"] == 10  # the assumed default, CB103
    assert str(outside) not in str(report) and "917" not in json.dumps(report["budgets"])


def test_a_broken_terragrunt_hcl_is_a_located_error_and_the_rest_is_read(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "dev" / "app" / "terragrunt.hcl").write_text('inputs = {\n  name = "x"\n')
    outcome = run_main("capacity", str(tree), "--format", "json")
    assert outcome.code == 2
    report = outcome.json()
    assert [(e["file"], e["line"]) for e in report["errors"]] == [
        (str(tree / "dev" / "app" / "terragrunt.hcl"), 1)]
    # prod is read: its 200 connections come from root.hcl, its 180 from its own inputs
    assert [(b["max_connections"], b["worst_case"]) for b in report["budgets"]] == [(200, 180)]


def test_an_include_of_itself_ends(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "root.hcl").write_text('include "loop" {\n  path = find_in_parent_folders('
                                   '"root.hcl")\n}\n\ninputs = {\n  region = "eu-west-1"\n}\n')
    assert _client(_scan(tree), "prod/app")["max_tasks"] == 12


def test_a_source_that_cannot_be_evaluated_is_a_located_error(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    unit = tree / "dev" / "app" / "terragrunt.hcl"
    unit.write_text(unit.read_text().replace('source = "../../modules//app"',
                                             'source = get_env("MODULES")'))
    outcome = run_main("capacity", str(tree), "--format", "json")
    assert outcome.code == 2
    assert outcome.json()["errors"] == [{
        "file": str(unit), "line": 10,
        "message": "terraform source cannot be evaluated: the module this unit runs is not read"}]
