"""CB109: an RDS/Aurora database needs a DatabaseConnections alarm that can fire in time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

ALARMS = FIXTURES / "alarms"


def _cb109(directory: Path | str) -> list[dict[str, str]]:
    result = run_cli("capacity", str(directory), "--format", "json")
    assert result.code in (0, 1), result.err
    return [f for f in json.loads(result.out)["findings"] if f["rule_id"] == "CB109"]


@pytest.mark.parametrize(("scenario", "resource", "says"), [
    ("no-alarm", "aws_db_instance.main",
     "no CloudWatch alarm on DatabaseConnections watches aws_db_instance.main"),
    ("cannot-fire", "aws_db_instance.main",
     "threshold 200 (fixtures/alarms/cannot-fire/main.tf:26) is at or above max_connections 200"),
    ("above-90", "aws_db_instance.main", "threshold 190 (fixtures/alarms/above-90/main.tf:26) is "
     "above 90% of max_connections 200"),
    ("other-instance", "aws_db_instance.main", "aws_cloudwatch_metric_alarm.db_connections "
     "watches DBInstanceIdentifier legacy, another instance"),
    ("falling-alarm", "aws_db_instance.main", "compares with LessThanThreshold"),
    ("aurora-cluster", "aws_rds_cluster.orders",
     "threshold 950 (fixtures/alarms/aurora-cluster/main.tf:30) is above 90% of "
     "max_connections 1000"),
])
def test_cb109_flags_a_missing_or_late_alarm(scenario: str, resource: str, says: str) -> None:
    [finding] = _cb109(f"fixtures/alarms/{scenario}")
    assert finding["resource"] == resource
    assert finding["severity"] == "warning"
    assert says in finding["message"]


@pytest.mark.parametrize("scenario", ["good-alarm", "module-alarm"])
def test_cb109_passes_an_alarm_that_fires_in_time(scenario: str) -> None:
    assert _cb109(ALARMS / scenario) == []


def test_the_fix_is_the_alarm_block_at_the_alert_threshold() -> None:
    [finding] = _cb109(ALARMS / "no-alarm")
    assert 'resource "aws_cloudwatch_metric_alarm" "db_instance_main_connections" {' in \
        finding["fix"]
    assert "  threshold           = 160\n" in finding["fix"]  # 80 % of 200
    [late] = _cb109(ALARMS / "cannot-fire")
    assert late["fix"].startswith(
        "set threshold = 160 (80% of max_connections 200) and comparison_operator = "
        '"GreaterThanOrEqualToThreshold" in aws_cloudwatch_metric_alarm.db_connections')


def _variant(tmp_path: Path, scenario: str, old: str, new: str) -> Path:
    stack = tmp_path / scenario
    shutil.copytree(ALARMS / scenario, stack)
    tf = stack / "main.tf"
    assert old in tf.read_text()
    tf.write_text(tf.read_text().replace(old, new))
    return stack


def test_the_module_form_is_judged_like_the_resource(tmp_path: Path) -> None:
    stack = _variant(tmp_path, "module-alarm", "threshold           = 280",
                     "threshold           = 390")
    [finding] = _cb109(stack)
    assert finding["resource"] == "module.db"
    assert "module.db_connections_alarm threshold 390" in finding["message"]
    assert "module.db.db_instance_identifier" in finding["fix"]


def test_a_literal_identifier_matches_the_database(tmp_path: Path) -> None:
    stack = _variant(tmp_path, "good-alarm", "DBInstanceIdentifier = aws_db_instance.main"
                     ".identifier", 'DBInstanceIdentifier = "main"')
    assert _cb109(stack) == []


def test_an_alarm_made_with_count_0_does_not_count(tmp_path: Path) -> None:
    stack = _variant(tmp_path, "good-alarm", 'alarm_name          = "main-database-connections"',
                     'count      = 0\n  alarm_name = "main-database-connections"')
    assert len(_cb109(stack)) == 1


def test_an_alarm_whose_dimension_is_unresolved_is_not_judged(tmp_path: Path) -> None:
    stack = _variant(tmp_path, "other-instance", '"legacy"', "var.db_identifier")
    (stack / "variables.tf").write_text('variable "db_identifier" {\n  type = string\n}\n')
    assert _cb109(stack) == []


def test_a_resize_that_outgrows_a_literal_threshold_is_caught(tmp_path: Path) -> None:
    # 140 of 200 is fine; after max_connections drops to 150 it is above 90 %
    stack = _variant(tmp_path, "good-alarm", 'value = "200"', 'value = "150"')
    [finding] = _cb109(stack)
    assert "threshold 140" in finding["message"] and "max_connections 150" in finding["message"]


def test_cb109_is_suppressed_inside_the_database_block(tmp_path: Path) -> None:
    stack = _variant(tmp_path, "no-alarm", '  identifier           = "main"\n',
                     '  # connbudget:ignore CB109 alarms live in the monitoring repository\n'
                     '  identifier           = "main"\n')
    assert _cb109(stack) == []
