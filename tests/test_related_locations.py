"""A finding is seen on every line that decides it: the database, and each client's scale bound
and pool setting, so a pull request that only changes ecs.tf gets the finding inline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli
from test_reporters import sarif_validator

SPLIT = FIXTURES / "stacks" / "split-demo"


def _line_of(path: str, text: str, tree: Path = SPLIT) -> int:
    lines = (tree / path).read_text().splitlines()
    [number] = [n for n, line in enumerate(lines, start=1) if text in line]
    return number


def _annotations(out: str) -> list[dict[str, str]]:
    found = []
    for line in out.splitlines()[:-1]:
        command, props, message = line.split("::", 2)[1].split(" ", 1) + [line.split("::", 2)[2]]
        found.append({"kind": command, **dict(p.split("=", 1) for p in props.split(",")),
                      "message": message})
    return found


def test_split_stack_annotates_ecs_tf_at_max_capacity_and_pool_size() -> None:
    result = run_cli("scan", ".", "--format", "github", cwd=SPLIT)
    assert result.code == 1
    on_ecs = {(a["line"], a["kind"]) for a in _annotations(result.out) if a["file"] == "ecs.tf"}
    assert on_ecs == {(str(_line_of("ecs.tf", "max_capacity")), "error"),
                      (str(_line_of("ecs.tf", '"PG_POOL_SIZE"')), "error")}
    [pool] = [a for a in _annotations(result.out)
              if a["file"] == "ecs.tf" and a["line"] == str(_line_of("ecs.tf", "PG_POOL_SIZE"))]
    # which finding, which database, and the finding itself
    assert pool["message"].startswith("aws_ecs_service.api pool 10 (PG_POOL_SIZE=10): decides "
                                      "CB101 on aws_db_instance.main%0Aworst case 380")


def test_split_stack_sarif_has_related_locations_for_the_ecs_lines() -> None:
    result = run_cli("scan", ".", "--format", "sarif", cwd=SPLIT)
    sarif = json.loads(result.out)
    sarif_validator().validate(sarif)
    [cb101] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "CB101"]
    assert cb101["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rds.tf"
    related: list[dict[str, Any]] = cb101["relatedLocations"]
    places = [(r["physicalLocation"]["artifactLocation"]["uri"],
               r["physicalLocation"]["region"]["startLine"]) for r in related]
    assert places == [("rds.tf", _line_of("rds.tf", "value        = \"170\"")),
                      ("ecs.tf", _line_of("ecs.tf", "max_capacity")),
                      ("ecs.tf", _line_of("ecs.tf", '"PG_POOL_SIZE"'))]
    assert [r["id"] for r in related] == [1, 2, 3]
    assert all("CB101 on aws_db_instance.main" in r["message"]["text"] for r in related)


def test_pgbouncer_findings_sit_on_the_setting_that_decides_them() -> None:
    scenario = FIXTURES / "capacity" / "pooler-role-limit"
    report = run_cli("capacity", str(scenario.relative_to(FIXTURES.parent)), "--format",
                     "json").json()
    assert isinstance(report, dict)
    [cb104] = [f for f in report["findings"] if f["rule_id"] == "CB104"]
    ini = (scenario / "pgbouncer.ini").read_text().splitlines()
    assert "pool_size=20" in ini[cb104["line"] - 1]
    assert "listen_port" not in ini[cb104["line"] - 1]


def test_a_role_limit_finding_points_at_the_clients_that_log_in_as_the_role() -> None:
    scenario = "fixtures/capacity/two-roots"
    report = run_cli("capacity", scenario, "--format", "json").json()
    assert isinstance(report, dict)
    [cb107] = [f for f in report["findings"] if f["rule_id"] == "CB107"]
    tree = FIXTURES / "capacity" / "two-roots"
    assert {(r["line"], r["message"].split(":")[0]) for r in cb107["related"]} == {
        (_line_of("staging/main.tf", "max_capacity", tree),
         "aws_ecs_service.api (fixtures/capacity/two-roots/staging) up to 8 tasks "
         "(aws_appautoscaling_target.api max_capacity)"),
        (_line_of("staging/main.tf", '"PG_POOL_SIZE"', tree),
         "aws_ecs_service.api (fixtures/capacity/two-roots/staging) pool 10 (PG_POOL_SIZE=10)")}
    assert all(r["file"].endswith("two-roots/staging/main.tf") for r in cb107["related"])


def test_session_mode_finding_sits_on_pool_mode_and_points_at_the_autoscaled_client() -> None:
    scenario = FIXTURES / "capacity" / "pgbouncer-session"
    report = run_cli("capacity", str(scenario.relative_to(FIXTURES.parent)), "--format",
                     "json").json()
    assert isinstance(report, dict)
    [cb106] = [f for f in report["findings"] if f["rule_id"] == "CB106"]
    ini = (scenario / "pgbouncer.ini").read_text().splitlines()
    assert ini[cb106["line"] - 1] == "pool_mode = session"
    tf = (scenario / "main.tf").read_text().splitlines()
    [scale, pool] = [tf[r["line"] - 1] for r in cb106["related"]]
    assert scale.split("=")[0].strip() == "max_capacity" and '"PG_POOL_SIZE"' in pool


def test_kubernetes_provider_settings_are_related_at_their_own_lines() -> None:
    # env entries of a kubernetes_* resource, and a pgbouncer.ini held in a ConfigMap heredoc
    scenario = FIXTURES / "capacity" / "terraform-kubernetes"
    report = run_cli("capacity", str(scenario.relative_to(FIXTURES.parent)), "--format",
                     "json").json()
    assert isinstance(report, dict)
    [cb102] = [f for f in report["findings"] if f["rule_id"] == "CB102"]
    tf = (scenario / "main.tf").read_text().splitlines()
    lines = {tf[r["line"] - 1].strip() for r in cb102["related"]}
    assert {'name  = "PG_POOL_SIZE"', 'name  = "DB_POOL_SIZE"', "max_replicas = 20",
            "default_pool_size = 20"} <= lines


def test_an_assumed_pool_size_points_at_the_task_definition_that_should_set_it() -> None:
    scenario = FIXTURES / "capacity" / "ecs-commands"
    report = run_cli("capacity", str(scenario.relative_to(FIXTURES.parent)), "--format",
                     "json").json()
    assert isinstance(report, dict)
    [sso] = [f for f in report["findings"]
             if f["rule_id"] == "CB103" and f["resource"] == "aws_ecs_service.sso"]
    tf = (scenario / "main.tf").read_text().splitlines()
    [pool] = sso["related"]
    assert tf[pool["line"] - 1].strip().startswith("container_definitions")
    assert pool["message"].startswith("aws_ecs_service.sso pool 100 (default: no pool size set")


def test_github_lists_every_finding_before_the_lines_that_also_decide_one() -> None:
    # GitHub shows only a step's first annotations of each level: findings must come first
    out = run_cli("scan", ".", "--format", "github", cwd=SPLIT).out
    kinds = ["related" if "decides CB" in a["message"] else "finding" for a in _annotations(out)]
    assert kinds == ["finding", "finding", "related", "related", "related"]


@pytest.mark.parametrize(("scenario", "rule", "setting"), [
    ("unknown-instance-class", "CB103", 'instance_class = "db.m8g.large"'),
    ("terraform-aws-modules", "CB108", 'instance_class = "db.t4g.small"'),
    ("aurora-serverless-v2", "CB101", "max_capacity = 4"),
])
def test_a_database_sized_by_its_class_points_at_that_line(scenario: str, rule: str,
                                                           setting: str) -> None:
    directory = FIXTURES / "capacity" / scenario
    report = run_cli("capacity", str(directory.relative_to(FIXTURES.parent)), "--format",
                     "json").json()
    assert isinstance(report, dict)
    [finding] = [f for f in report["findings"] if f["rule_id"] == rule]
    first = finding["related"][0]
    text = (FIXTURES.parent / first["file"]).read_text().splitlines()
    assert text[first["line"] - 1].strip() == setting
    assert f"decides {rule} on " in first["message"]


def test_a_users_pool_size_that_decides_a_pgbouncer_worst_case_is_where_cb104_stands() -> None:
    """PgBouncer sizes a pool from [users] pool_size before the database's and the default:
    the [users] line decides, not `default_pool_size = 10`."""
    stack = FIXTURES / "capacity" / "pgbouncer-users-pool-size"
    report = run_cli("capacity", str(stack), "--format", "json").json()
    [cb104] = [f for f in report["findings"] if f["rule_id"] == "CB104"]
    ini = (stack / "pgbouncer.ini").read_text().splitlines()
    assert ini[cb104["line"] - 1] == "app = pool_size=200"
    default = ini.index("default_pool_size = 10") + 1
    assert default not in {cb104["line"], *(r["line"] for r in cb104["related"])}
