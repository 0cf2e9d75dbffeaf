"""Google Cloud and Azure: each fixture's budget is what the vendors' documented numbers give,
every number with its source (the data tables' rows cite Google's and Microsoft's pages)."""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, apply_edits, run_cli

CLOUDS = FIXTURES / "clouds"
pytestmark = pytest.mark.xdist_group("clouds")


@functools.cache
def _once(*paths: str) -> dict[str, Any]:
    result = run_cli("capacity", *paths, "--format", "json", "--no-cache")
    assert result.code in (0, 1), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def _report(*names: str) -> dict[str, Any]:
    return copy.deepcopy(_once(*(f"fixtures/clouds/{name}" for name in names)))


def _budget(name: str, database: str) -> dict[str, Any]:
    return next(b for b in _report(name)["budgets"] if b["database"] == database)


def _findings(name: str, rule: str) -> list[dict[str, Any]]:
    return [f for f in _report(name)["findings"] if f["rule_id"] == rule]


def _client(budget: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in budget["clients"] if c["client"] == name)


# Google Cloud

def test_cloud_sql_max_connections_is_its_database_flag() -> None:
    budget = _budget("cloudrun-sql-flag", "google_sql_database_instance.main")
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (80, 3, 77)
    assert budget["max_connections_source"] == (
        "google_sql_database_instance.main database flag max_connections "
        "(fixtures/clouds/cloudrun-sql-flag/main.tf:24)")
    assert "https://docs.cloud.google.com/sql/docs/postgres/users" in budget["reserved_source"]


def test_cloud_run_max_instance_count_times_the_pool_is_over_the_usable_slots() -> None:
    budget = _budget("cloudrun-sql-flag", "google_sql_database_instance.main")
    api = _client(budget, "google_cloud_run_v2_service.api")
    assert (api["max_tasks"], api["pool"], api["steady"]) == (12, 8, 96)
    assert api["matched_by"] == "where it connects: google_sql_database_instance.main"
    [finding] = _findings("cloudrun-sql-flag", "CB101")
    assert "12 instances x 1 process x 8 pool = 96) > usable 77" in finding["message"]
    assert "max_instance_count = 7 (template.scaling.max_instance_count)" in finding["fix"]


def test_cloud_run_rollout_instances_are_unknown_and_said_so() -> None:
    budget = _budget("cloudrun-sql-flag", "google_sql_database_instance.main")
    api = _client(budget, "google_cloud_run_v2_service.api")
    assert api["deploy"] is None
    assert "Google does not document how many instances of the old revision" in \
        api["sources"]["deploy_tasks"]["source"]


def test_cloud_sql_default_follows_the_tier_memory_and_cloud_run_defaults_to_100() -> None:
    # db-custom-2-7680 = 7.5 GB: Google's band 7.5 to < 15 GB gives 400
    budget = _budget("cloudrun-sql-default", "google_sql_database_instance.main")
    assert (budget["max_connections"], budget["usable"], budget["worst_case"]) == (400, 397, 500)
    assert budget["max_connections_source"].startswith(
        "data: Cloud SQL default for db-custom-2-7680 (7.5 GB): 400, "
        "https://docs.cloud.google.com/sql/docs/postgres/flags#postgres-m")
    orders = _client(budget, "google_cloud_run_v2_service.orders")
    assert orders["max_tasks"] == 100
    assert "vendor_settings.proto" in orders["sources"]["max_tasks"]["source"]
    # the connection name of the mounted volume and the socket in DATABASE_URL
    assert orders["matched_by"] == "where it connects: cloudsql:orders-db"


def test_cloud_sql_16_says_its_reserved_slots_are_at_least_three() -> None:
    budget = _budget("cloudrun-sql-default", "google_sql_database_instance.main")
    assert budget["reserved"] == 3
    assert "at least: on PostgreSQL 16+ Google does not document" in budget["reserved_source"]
    older = _budget("cloudrun-sql-flag", "google_sql_database_instance.main")
    assert "at least" not in older["reserved_source"]


def test_a_read_replica_is_a_database_of_its_own_with_the_chains_default() -> None:
    replica = _budget("cloudrun-sql-default", "google_sql_database_instance.replica")
    # its own tier (3.75 GB) would give 100; the largest of its chain (7.5 GB) gives 400
    assert replica["max_connections"] == 400
    assert "the largest instance of its replication chain" in replica["max_connections_source"]
    reports = _client(replica, "google_cloud_run_service.reports")
    assert (reports["max_tasks"], reports["pool"], reports["steady"]) == (4, 10, 40)
    assert reports["sources"]["max_tasks"]["source"].endswith(
        'template.metadata.annotations "autoscaling.knative.dev/maxScale"')


def test_a_cloud_run_job_runs_parallelism_tasks_at_once() -> None:
    budget = _budget("cloudrun-job", "google_sql_database_instance.main")
    assert (budget["max_connections"], budget["usable"]) == (25, 22)  # db-f1-micro
    job = _client(budget, "google_cloud_run_v2_job.backfill")
    assert (job["max_tasks"], job["pool"], job["steady"]) == (6, 4, 24)
    assert job["unit"] == "tasks"
    assert any("one execution is a lower bound" in note for note in job["notes"])
    [finding] = _findings("cloudrun-job", "CB101")
    assert "parallelism = 4 (template.parallelism)" in finding["fix"]


def test_the_auth_proxy_sidecar_ties_the_pod_to_its_instance_and_caps_it() -> None:
    budget = _budget("gke-auth-proxy", "google_sql_database_instance.main")
    pods = _client(budget, "Deployment/shop/catalog")
    assert pods["matched_by"] == "where it connects: cloudsql:catalog-db"
    # 4 gunicorn workers x pool 5 = 20 per pod, capped at --max-connections=15
    assert (pods["max_tasks"], pods["processes"], pods["pool"], pods["steady"]) == (8, 1, 15, 120)
    assert "the application would open 20 (4 x 5)" in pods["sources"]["pool"]["source"]


def test_an_auth_proxy_above_the_pods_demand_leaves_it(tmp_path: Path) -> None:
    stack = tmp_path / "gke"
    shutil.copytree(CLOUDS / "gke-auth-proxy", stack)
    manifest = stack / "deployment.yaml"
    manifest.write_text(manifest.read_text().replace("--max-connections=15",
                                                     "--max-connections=50"))
    result = run_cli("capacity", str(stack), "--format", "json", "--no-cache")
    [budget] = result.json()["budgets"]
    pods = budget["clients"][0]
    assert (pods["processes"], pods["pool"], pods["steady"]) == (4, 5, 160)


def test_a_tier_google_documents_no_default_for_asks_for_the_flag(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "google_sql_database_instance" "main" {\n  name             = "x"\n'
        '  database_version = "POSTGRES_15"\n\n  settings {\n    tier = "db-custom-2-3072"\n'
        "  }\n}\n")
    result = run_cli("capacity", str(tmp_path), "--format", "json", "--no-cache")
    [budget] = result.json()["budgets"]
    assert budget["max_connections"] is None
    [finding] = [f for f in result.json()["findings"] if f["rule_id"] == "CB103"]
    assert "the max_connections database flag" in finding["fix"]


# Azure

def test_flexible_server_max_connections_is_its_server_parameter() -> None:
    budget = _budget("containerapp-flexible", "azurerm_postgresql_flexible_server.main")
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (200, 15, 185)
    assert budget["max_connections_source"] == (
        "azurerm_postgresql_flexible_server_configuration.max_connections value "
        "(fixtures/clouds/containerapp-flexible/main.tf:21)")
    assert "reserved_connections 5" in budget["reserved_source"]
    assert "superuser_reserved_connections 10" in budget["reserved_source"]


def test_container_app_replicas_and_two_revisions_during_a_rollout() -> None:
    budget = _budget("containerapp-flexible", "azurerm_postgresql_flexible_server.main")
    api = _client(budget, "azurerm_container_app.api")
    assert (api["max_tasks"], api["processes"], api["pool"], api["steady"]) == (12, 4, 5, 240)
    assert (api["deploy_tasks"], api["deploy"]) == (24, 480)
    assert "single revision mode keeps the old revision" in \
        api["sources"]["deploy_tasks"]["source"]
    # the app's secret DATABASE_URL names the server by reference; the secret is never shown
    assert api["matched_by"] == "where it connects: azurerm_postgresql_flexible_server.main"
    [finding] = _findings("containerapp-flexible", "CB101")
    assert "max_replicas = 4 (template.max_replicas)" in finding["fix"]


def test_flexible_server_defaults_come_from_the_sku_and_container_apps_default_to_10() -> None:
    budget = _budget("containerapp-flexible-default", "azurerm_postgresql_flexible_server.main")
    # B_Standard_B1ms: 50, "maximum user connections" 35
    assert (budget["max_connections"], budget["usable"]) == (50, 35)
    api = _client(budget, "azurerm_container_app.api")
    assert (api["max_tasks"], api["steady"], api["deploy"]) == (10, 30, 60)
    assert api["matched_by"] == "where it connects: azure-postgres:tickets-dev-psql"
    assert [f["rule_id"] for f in _report("containerapp-flexible-default")["findings"]
            if f["rule_id"] in ("CB102", "CB108")] == ["CB102", "CB108"]


def test_built_in_pgbouncer_is_a_pooler_on_port_6432() -> None:
    budget = _budget("flexible-pgbouncer", "azurerm_postgresql_flexible_server.main")
    assert (budget["max_connections"], budget["usable"]) == (1718, 1703)  # D4ds_v5
    paths = {c["client"]: c for c in budget["clients"]}
    pooler = paths["azurerm_postgresql_flexible_server.main/pgbouncer"]
    assert (pooler["path"], pooler["pool_mode"], pooler["steady"]) == \
        ("pgbouncer", "transaction", 400)
    assert [b["client"] for b in pooler["behind"]] == ["azurerm_container_app.api"]
    assert paths["azurerm_container_app.worker"]["steady"] == 30  # 5432: straight to the server
    assert budget["worst_case"] == 430


def test_built_in_pgbouncer_defaults_are_azures(tmp_path: Path) -> None:
    stack = tmp_path / "pgb"
    shutil.copytree(CLOUDS / "flexible-pgbouncer", stack)
    main = stack / "main.tf"
    text = main.read_text()
    start = text.index('resource "azurerm_postgresql_flexible_server_configuration" '
                       '"pgbouncer_pool"')
    main.write_text(text[:start] + text[text.index('resource "azurerm_container_app" "api"'):])
    result = run_cli("capacity", str(stack), "--format", "json", "--no-cache")
    [budget] = result.json()["budgets"]
    pooler = next(c for c in budget["clients"] if c["path"] == "pgbouncer")
    # Azure's pgbouncer.default_pool_size 50 (PgBouncer's own default is 20), one (database,
    # user) pool
    assert pooler["steady"] == 50


def test_built_in_pgbouncer_on_burstable_is_a_located_error(tmp_path: Path) -> None:
    stack = tmp_path / "pgb"
    shutil.copytree(CLOUDS / "flexible-pgbouncer", stack)
    main = stack / "main.tf"
    main.write_text(main.read_text().replace("GP_Standard_D4ds_v5", "B_Standard_B2s"))
    result = run_cli("capacity", str(stack), "--format", "json", "--no-cache")
    assert result.code == 2
    [error] = result.json()["errors"]
    assert (error["line"], error["message"][:56]) == (
        15, "pgbouncer.enabled is on, but B_Standard_B2s is Burstable")
    assert [c["path"] for c in result.json()["budgets"][0]["clients"]] == ["direct"]


def test_a_pgbouncer_fix_sets_its_server_parameter(tmp_path: Path) -> None:
    stack = tmp_path / "pgb"
    shutil.copytree(CLOUDS / "flexible-pgbouncer", stack)
    main = stack / "main.tf"
    # a pool no larger than its clients can fill: 200 replicas x 20 = 4,000 client connections
    main.write_text(main.read_text().replace('"400"', '"2000"')
                    .replace("max_replicas = 40\n", "max_replicas = 200\n"))
    result = run_cli("capacity", str(stack), "--format", "json", "--no-cache")
    [finding] = [f for f in result.json()["findings"] if f["rule_id"] == "CB104"]
    assert 'name      = "pgbouncer.default_pool_size"' in finding["fix"]
    apply_edits(finding["edits"])
    after = run_cli("capacity", str(stack), "--format", "json", "--no-cache").json()
    assert [f for f in after["findings"] if f["rule_id"] == "CB104"] == []


def test_app_service_instances_are_the_autoscale_maximum_of_its_plan() -> None:
    budget = _budget("appservice-flexible", "azurerm_postgresql_flexible_server.main")
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (859, 15, 844)
    crm = _client(budget, "azurerm_linux_web_app.crm")
    # 10 instances x gunicorn --workers 4 x DB_POOL_SIZE 10
    assert (crm["max_tasks"], crm["processes"], crm["pool"], crm["steady"]) == (10, 4, 10, 400)
    assert crm["deploy"] is None


def test_app_service_without_a_worker_count_is_unknown(tmp_path: Path) -> None:
    stack = tmp_path / "app"
    shutil.copytree(CLOUDS / "appservice-flexible", stack)
    main = stack / "main.tf"
    text = main.read_text().replace("  worker_count        = 3\n", "")
    main.write_text(text[:text.index('resource "azurerm_monitor_autoscale_setting"')]
                    + text[text.index('resource "azurerm_linux_web_app"'):])
    result = run_cli("capacity", str(stack), "--format", "json", "--no-cache")
    [budget] = result.json()["budgets"]
    crm = budget["clients"][0]
    assert crm["max_tasks"] is None
    assert "Microsoft documents no default" in crm["sources"]["max_tasks"]["source"]


def test_an_aks_workload_reaches_the_server_by_its_host_name() -> None:
    budget = _budget("aks-flexible", "azurerm_postgresql_flexible_server.main")
    assert (budget["max_connections"], budget["usable"]) == (1718, 1703)  # MO E2ds_v5
    pods = _client(budget, "Deployment/payments/payments")
    assert pods["matched_by"] == "where it connects: azure-postgres:payments-psql"
    assert (pods["max_tasks"], pods["pool"], pods["steady"]) == (40, 20, 800)


def test_an_arm_template_reads_its_parameters_file_at_their_lines() -> None:
    budget = _budget("arm-template", "Microsoft.DBforPostgreSQL/flexibleServers/billing-psql")
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (120, 15, 105)
    app = _client(budget, "Microsoft.App/containerApps/billing-psql-api")
    assert app["sources"]["max_tasks"] == {
        "value": 30, "assumed": False, "line": 6,
        "file": "fixtures/clouds/arm-template/azuredeploy.parameters.json",
        "source": "Microsoft.App/containerApps/billing-psql-api "
                  "properties.template.scale.maxReplicas"}
    assert app["matched_by"] == "where it connects: azure-postgres:billing-psql"
    assert (app["steady"], app["deploy"]) == (150, 300)


def test_an_arm_fix_edits_the_value_where_it_is_set(tmp_path: Path) -> None:
    stack = tmp_path / "arm"
    shutil.copytree(CLOUDS / "arm-template", stack)
    report = run_cli("capacity", str(stack), "--format", "json", "--no-cache").json()
    [finding] = [f for f in report["findings"] if f["rule_id"] == "CB101"]
    apply_edits(finding["edits"])
    after = run_cli("capacity", str(stack), "--format", "json", "--no-cache").json()
    assert [f for f in after["findings"] if f["rule_id"] == "CB101"] == []
    json.loads((stack / "azuredeploy.json").read_text())  # still JSON


def test_a_bicep_file_is_a_coverage_item_with_the_command_that_builds_it() -> None:
    result = run_cli("scan", "fixtures/clouds/bicep", "--format", "json", "--no-cache")
    [note] = result.json()["findings"]
    assert note["rule_id"] == "CB111"
    assert note["fix"] == (
        "build it and scan the result: az bicep build --file fixtures/clouds/bicep/main.bicep "
        "--outfile fixtures/clouds/bicep/main.json && connbudget scan "
        "fixtures/clouds/bicep/main.json")


# Alarms

def test_a_policy_at_80_percent_watches_cloud_sql_and_an_alert_at_max_does_not() -> None:
    found = _findings("alert-policies", "CB109")
    assert [f["resource"] for f in found] == ["azurerm_postgresql_flexible_server.main"]
    assert "threshold 859 (fixtures/clouds/alert-policies/main.tf:58) is at or above " \
           "max_connections 859" in found[0]["message"]
    assert found[0]["fix"].startswith('set threshold = 688 (80% of max_connections 859) and '
                                      'operator = "GreaterThanOrEqual"')


@pytest.mark.parametrize(("fixture", "fmt", "resource"), [
    ("cloudrun-sql-flag", "cloud-monitoring", "google_monitoring_alert_policy"),
    ("containerapp-flexible", "azure-monitor", "azurerm_monitor_metric_alert"),
])
def test_alerts_write_the_platforms_alarm_fmt_clean_and_cb109_takes_it(
        tmp_path: Path, fixture: str, fmt: str, resource: str) -> None:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed (Terraform 1.x, for terraform fmt)"
    stack = tmp_path / fixture
    shutil.copytree(CLOUDS / fixture, stack)
    result = run_cli("alerts", str(stack), "--format", fmt)
    assert result.code == 0, result.err
    assert f'resource "{resource}"' in result.out
    (stack / "alerts.tf").write_text(result.out)
    done = subprocess.run([terraform, "fmt", "-check", "-diff", "alerts.tf"], cwd=stack,
                          capture_output=True, text=True, timeout=120,
                          env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    after = run_cli("capacity", str(stack), "--format", "json", "--no-cache").json()
    assert [f for f in after["findings"] if f["rule_id"] == "CB109"] == []


def test_the_cloud_monitoring_policy_fires_above_one_less_than_the_threshold() -> None:
    text = run_cli("alerts", "fixtures/clouds/cloudrun-sql-flag", "--format",
                   "cloud-monitoring").out
    # 80 % of max_connections 80 is 64; the API takes only COMPARISON_GT: > 63
    assert "      threshold_value = 63\n" in text
    assert '      comparison      = "COMPARISON_GT"\n' in text


def test_a_private_ip_reference_ties_cloud_run_to_its_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "google_sql_database_instance" "a" {\n  name             = "a"\n'
        '  database_version = "POSTGRES_15"\n\n  settings {\n    tier = "db-f1-micro"\n  }\n}\n\n'
        'resource "google_sql_database_instance" "b" {\n  name             = "b"\n'
        '  database_version = "POSTGRES_15"\n\n  settings {\n    tier = "db-g1-small"\n  }\n}\n\n'
        'resource "google_cloud_run_v2_service" "api" {\n  name     = "api"\n'
        '  location = "us-central1"\n\n  template {\n    containers {\n      image = "x"\n\n'
        '      env {\n        name  = "DB_HOST"\n'
        '        value = google_sql_database_instance.b.private_ip_address\n      }\n    }\n'
        '  }\n}\n')
    report = run_cli("capacity", str(tmp_path), "--format", "json", "--no-cache").json()
    budget = next(b for b in report["budgets"]
                  if b["database"] == "google_sql_database_instance.b")
    assert [(c["client"], c["matched_by"]) for c in budget["clients"]] == [
        ("google_cloud_run_v2_service.api",
         "where it connects: google_sql_database_instance.b")]


def test_the_cloud_fixtures_are_terraform_fmt_clean() -> None:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed (Terraform 1.x, for terraform fmt)"
    done = subprocess.run([terraform, "fmt", "-check", "-recursive", str(CLOUDS)],
                          capture_output=True, text=True, timeout=120,
                          env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
