"""`connbudget alerts`: Prometheus rules that promtool accepts and that fire at the budget's
numbers, and CloudWatch alarms that `terraform fmt` leaves alone and that satisfy CB109."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, run_cli

DEMO = "examples/incident"


WHERE = {"promtool": "Debian package prometheus; make test installs it",
         "terraform": "Terraform 1.x, for terraform fmt"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: these tests need it on the PATH ({WHERE[name]})"
    return path


def _alerts(*args: str) -> str:
    result = run_cli("alerts", *args)
    assert result.code == 0, result.err
    return result.out


def _rules(text: str) -> list[dict[str, object]]:
    [group] = yaml.safe_load(text)["groups"]
    rules: list[dict[str, object]] = group["rules"]
    return rules


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("promtool"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_demo_prometheus_rules_pass_promtool_check(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(_alerts(DEMO, "--format", "prometheus"))
    result = _promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rules found" in result.stdout


def test_demo_database_rule_is_80_percent_of_usable_slots_with_its_sources() -> None:
    [rule] = _rules(_alerts(DEMO))
    # max_connections 170 (parameter group) - 5 reserved = 165 usable; 80 % of 165 = 132
    assert rule["expr"] == (
        'sum by (instance) (pg_stat_activity_count{instance=~"app\\\\..+"}) > 132')
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["threshold_source"].startswith(
        "132 = 80% of usable 165 = max_connections 170 (aws_db_parameter_group.main parameter "
        "max_connections (examples/incident/main.tf:10)) - reserved 5")


def _fires(rules: str, tmp_path: Path, series: dict[str, int], alert: str) -> bool:
    """Whether promtool's rule test sees `alert` firing after 5 minutes of these series."""
    (tmp_path / "rules.yml").write_text(rules)
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": name, "values": f"{value}x10"}
                         for name, value in series.items()],
        "alert_rule_test": [{"eval_time": "5m", "alertname": alert, "exp_alerts": []}],
    }]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    result = _promtool("test", "rules", "test.yml", cwd=tmp_path)
    if result.returncode == 0:
        return False  # no alert, as the test expected
    assert "got:" in result.stdout + result.stderr, result.stdout + result.stderr
    return True


ENDPOINT = 'instance="app.c9akciq32.eu-west-1.rds.amazonaws.com:5432"'


@pytest.mark.parametrize(("connections", "fires"), [(132, False), (133, True)])
def test_demo_rule_fires_above_its_threshold_on_the_rds_endpoint(
        tmp_path: Path, connections: int, fires: bool) -> None:
    # two states of one database, as postgres_exporter reports them
    series = {f'pg_stat_activity_count{{{ENDPOINT}, datname="app", state="active"}}': 100,
              f'pg_stat_activity_count{{{ENDPOINT}, datname="app", state="idle"}}':
                  connections - 100}
    assert _fires(_alerts(DEMO), tmp_path, series,
                  "PostgresConnectionsAboveBudgetThreshold") is fires


def test_other_servers_do_not_fire_the_rule(tmp_path: Path) -> None:
    other = 'instance="app2.c9akciq32.eu-west-1.rds.amazonaws.com:5432"'
    series = {f'pg_stat_activity_count{{{other}, datname="app", state="idle"}}': 160}
    assert not _fires(_alerts(DEMO), tmp_path, series, "PostgresConnectionsAboveBudgetThreshold")


def test_role_rules_are_80_percent_of_each_connection_limit(tmp_path: Path) -> None:
    text = _alerts("fixtures/alerts/roles")
    (tmp_path / "rules.yml").write_text(text)
    assert _promtool("check", "rules", "rules.yml", cwd=tmp_path).returncode == 0
    by_role = {r["labels"]["role"]: r for r in _rules(text) if "role" in r["labels"]}
    assert by_role["orders_api"]["expr"].endswith('usename="orders_api"}) > 40')
    assert by_role["reporting"]["expr"].endswith('usename="reporting"}) > 9')
    assert "postgresql_role.reporting connection_limit (fixtures/alerts/roles/main.tf:29)" in \
        by_role["reporting"]["annotations"]["threshold_source"]
    endpoint = 'instance="orders-prod.x.eu-west-1.rds.amazonaws.com:5432"'
    series = {f'pg_stat_activity_count{{{endpoint}, datname="orders", usename="reporting", '
              'state="idle"}': 10}
    assert _fires(text, tmp_path, series, "PostgresRoleConnectionsNearLimit")


def test_prometheus_threshold_option_sets_the_share_of_usable_slots() -> None:
    [rule] = _rules(_alerts(DEMO, "--threshold", "0.6"))
    assert str(rule["expr"]).endswith("> 99")  # 60 % of 165


def _fmt_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("terraform"), "fmt", "-check", "-diff", "."], cwd=directory,
                          capture_output=True, text=True, timeout=120)


def test_demo_cloudwatch_alarm_is_fmt_clean_at_the_alert_threshold(tmp_path: Path) -> None:
    text = _alerts(DEMO, "--format", "cloudwatch")
    (tmp_path / "alarms.tf").write_text(text)
    result = _fmt_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'resource "aws_cloudwatch_metric_alarm" "db_instance_main_connections" {' in text
    assert "  threshold           = 136\n" in text  # 80 % of max_connections 170, rounded up
    assert "    DBInstanceIdentifier = aws_db_instance.main.identifier\n" in text
    assert '  namespace           = "AWS/RDS"\n' in text
    assert '  metric_name         = "DatabaseConnections"\n' in text


def test_cloudwatch_threshold_option() -> None:
    text = _alerts(DEMO, "--format", "cloudwatch", "--threshold", "0.5")
    assert "  threshold           = 85\n" in text


def _cb109(directory: str | Path) -> list[dict[str, object]]:
    result = run_cli("capacity", str(directory), "--format", "json")
    assert result.code in (0, 1), result.err
    return [f for f in json.loads(result.out)["findings"] if f["rule_id"] == "CB109"]


def test_generated_alarms_satisfy_cb109_beside_the_stack(tmp_path: Path) -> None:
    for name in ("incident", "aurora", "module"):
        source = {"incident": ROOT / DEMO, "aurora": FIXTURES / "alarms" / "aurora-cluster",
                  "module": FIXTURES / "alarms" / "module-alarm"}[name]
        stack = tmp_path / name
        shutil.copytree(source, stack)
        for tf in stack.glob("*.tf"):  # keep only the databases: drop the stacks' own alarms
            kept = tf.read_text().split('\nresource "aws_cloudwatch_metric_alarm"')[0]
            tf.write_text(kept.split('\nmodule "db_connections_alarm"')[0])
        assert _cb109(stack), name
        (stack / "alarms.tf").write_text(_alerts(str(stack), "--format", "cloudwatch"))
        assert _fmt_check(stack).returncode == 0, name
        assert _cb109(stack) == [], name


def test_cluster_and_module_alarms_use_their_dimension_and_outputs() -> None:
    aurora = _alerts("fixtures/alarms/aurora-cluster", "--format", "cloudwatch")
    assert "    DBClusterIdentifier = aws_rds_cluster.orders.cluster_identifier\n" in aurora
    assert "  threshold           = 800\n" in aurora
    module = _alerts("fixtures/alarms/module-alarm", "--format", "cloudwatch")
    assert "    DBInstanceIdentifier = module.db.db_instance_identifier\n" in module
    assert "  threshold           = 320\n" in module


def test_a_database_with_unknown_max_connections_gets_no_guessed_alarm() -> None:
    result = run_cli("alerts", "fixtures/capacity/unknown-instance-class", "--format",
                     "cloudwatch")
    assert result.code == 0, result.err
    assert "resource " not in result.out
    assert "max_connections is unknown" in result.out


def test_alerts_rejects_a_threshold_outside_0_to_1() -> None:
    result = run_cli("alerts", DEMO, "--threshold", "70")
    assert result.code == 2
    assert "--threshold" in result.err


@pytest.mark.parametrize("command", ["alerts", "diff"])
def test_help_has_a_description_examples_and_exit_codes(command: str) -> None:
    run = run_cli(command, "--help")
    assert run.code == 0
    assert "examples:\n  connbudget " in run.out
    assert "exit codes: 0 " in run.out
