"""Terraform plan JSON (`terraform show -json`): read by content, judged as its `.tf` files are.

Each plan under fixtures/plans/ is the plan of the `.tf` files beside it (roles.tfplan.json of
roles/, capacity.tfplan of capacity/), written in Terraform's documented JSON format with the
providers' schemas: defaults filled in, passwords in plain text, values known only after apply
listed in `after_unknown`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

from connbudget.discover import discover
from connbudget.reporters import FORMATS

PLANS = FIXTURES / "plans"
ROLES_PLAN = "fixtures/plans/roles.tfplan.json"
CAPACITY_PLAN = "fixtures/plans/capacity.tfplan"
FIRST_APPLY_PLAN = "fixtures/plans/capacity-first-apply.tfplan"
# Every password the roles plan carries in plain text, literal in the code or not.
PLAINTEXT = ("from-TF_VAR-app-password", "s3cret-from-a-default", "correct-horse-battery-staple",
             "etl-secret-from-secrets-manager", "Xq2v9LrT8mWc4sZk1NbY7hGd3FjP6aRe",
             "pw-loader-2024", "pw-reports-2024", "module-input-literal")


@functools.cache
def _report(command: str, path: str) -> dict[str, Any]:
    result = run_cli(command, path, "--format", "json")
    assert result.code in (0, 1), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def _role_findings(path: str) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["resource"]) for f in _report("scan", path)["findings"]}


def test_a_plan_is_found_by_its_content_whatever_its_name() -> None:
    inputs = discover([str(PLANS)], [])
    assert sorted(inputs.of("plan")) == [str(PLANS / name) for name in (
        "broken.tfplan.json", "capacity-first-apply.tfplan", "capacity.tfplan",
        "incident.tfplan", "roles.tfplan.json")]


def test_the_role_findings_of_a_plan_are_those_of_its_tf_files() -> None:
    plan = _role_findings(ROLES_PLAN)
    assert plan == _role_findings("fixtures/plans/roles")
    assert ("CB004", "postgresql_role.batch") in plan  # the comparison compares something


def test_a_plan_finding_names_the_plan_and_the_resource_line() -> None:
    finding = next(f for f in _report("scan", ROLES_PLAN)["findings"]
                   if f["resource"] == "postgresql_role.unlimited" and f["rule_id"] == "CB001")
    line = (PLANS / "roles.tfplan.json").read_text().splitlines()[finding["line"]]
    assert finding["file"] == ROLES_PLAN
    assert '"address": "postgresql_role.unlimited"' in line


def test_a_plan_password_is_judged_by_what_the_code_says_not_by_its_value() -> None:
    cb004 = {resource for rule, resource in _role_findings(ROLES_PLAN) if rule == "CB004"}
    # literals, a variable's default, a module input, a for_each template: in the code;
    # a variable given at plan time, a secret, random_password (known or not): not
    assert cb004 == {"postgresql_role.legacy", "postgresql_role.batch",
                     'postgresql_role.service["loader"]', 'postgresql_role.service["reports"]',
                     "module.reporter.postgresql_role.this"}


def test_a_limit_known_only_after_apply_is_unknown_not_the_provider_default() -> None:
    assert not {rule for rule, resource in _role_findings(ROLES_PLAN)
                if resource == "postgresql_role.elastic"}
    assert ("CB001", "postgresql_role.unlimited") in _role_findings(ROLES_PLAN)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_prints_a_password_the_plan_carries(fmt: str) -> None:
    result = run_cli("scan", ROLES_PLAN, "fixtures/plans/broken.tfplan.json", "--format", fmt)
    assert result.code == 2
    assert not [s for s in (*PLAINTEXT, "hunter2-in-a-broken-plan") if s in result.out + result.err]


def _budget(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("database", "max_connections", "reserved", "usable", "worst_case",
            "worst_case_deploy", "utilization")
    client_keys = ("client", "path", "max_tasks", "processes", "pool", "steady", "deploy")
    return {
        "findings": sorted((f["rule_id"], f["resource"], f["fix"]) for f in report["findings"]),
        "budgets": [{**{k: b[k] for k in keys},
                     "clients": [{k: c[k] for k in client_keys} for c in b["clients"]]}
                    for b in report["budgets"]],
    }


def _without_alarm_fix(budget: dict[str, Any]) -> dict[str, Any]:
    # CB109's fix quotes where the database was read: the plan or its .tf file
    return {**budget, "findings": [f if f[0] != "CB109" else f[:2] for f in budget["findings"]]}


def test_the_budget_of_a_plan_is_the_budget_of_its_tf_files() -> None:
    plan = _budget(_report("capacity", CAPACITY_PLAN))
    assert _without_alarm_fix(plan) == _without_alarm_fix(
        _budget(_report("capacity", "fixtures/plans/capacity")))
    assert plan["budgets"][0]["worst_case"] == 120
    assert plan["findings"][0][:2] == ("CB101", "aws_db_instance.main")


def test_every_number_of_a_plan_budget_names_the_plan_and_the_resource() -> None:
    budget = _report("capacity", CAPACITY_PLAN)["budgets"][0]
    text = (PLANS / "capacity.tfplan").read_text().splitlines()
    assert budget["max_connections_source"].startswith(
        "aws_db_parameter_group.main parameter max_connections")
    sources = budget["clients"][0]["sources"]
    assert sources["max_tasks"]["source"] == "aws_appautoscaling_target.api max_capacity"
    for name in ("max_tasks", "deploy_tasks", "pool"):
        assert sources[name]["file"] == CAPACITY_PLAN
    # the lines are those of the planned values, not of the prior state
    assert text[sources["max_tasks"]["line"] - 1].strip() == '"max_capacity": 12,'
    assert "PG_POOL_SIZE" in text[sources["pool"]["line"] - 1]


def test_a_task_known_only_after_apply_is_an_unknown_pool_never_a_silent_zero() -> None:
    report = _report("capacity", FIRST_APPLY_PLAN)
    budget = report["budgets"][0]
    client = budget["clients"][0]
    assert (budget["database"], budget["usable"], budget["worst_case"]) == (
        "aws_db_instance.main", 95, None)
    assert client["client"] == "aws_ecs_service.api" and client["max_tasks"] == 12
    assert "known only after apply" in client["sources"]["pool"]["source"]
    assert [f["rule_id"] for f in report["findings"]] == ["CB109", "CB103"]


def test_a_broken_plan_is_a_located_error_and_the_other_inputs_are_still_read() -> None:
    result = run_cli("scan", "fixtures/plans/broken.tfplan.json", CAPACITY_PLAN,
                     "--format", "json")
    assert result.code == 2
    report = json.loads(result.out)
    assert [(e["file"], e["line"]) for e in report["errors"]] == [
        ("fixtures/plans/broken.tfplan.json", 17)]
    assert report["errors"][0]["message"].startswith("not valid JSON: ")
    assert [f["rule_id"] for f in report["findings"]] == ["CB101", "CB109"]
