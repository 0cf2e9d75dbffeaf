"""Every provider table parses with a source and a date on each row, and the lookups give the
documented values (and None where the vendor documents nothing)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from importlib import resources

import pytest

from connbudget.frontends.pgbouncer import model as pgbouncer_model
from connbudget.providers import tables
from connbudget.providers.aws import compute_tables as aws
from connbudget.providers.aws import data as awsdata
from connbudget.providers.azure import tables as azure
from connbudget.providers.google import tables as google
from connbudget.providers.pgbouncer import tables as pgbouncer
from connbudget.providers.postgresql import tables as postgresql
from connbudget.providers.postgresql.tables import Role, Settings

PACKAGES = ["connbudget.providers.google", "connbudget.providers.azure",
            "connbudget.providers.aws", "connbudget.providers.postgresql",
            "connbudget.providers.pgbouncer", "connbudget.providers.apps"]


# byte copies of the reference data, each row with its own source column (tests/test_awsdata.py)
REFERENCE_COPIES = {("connbudget.providers.aws", name) for name in (
    awsdata.INSTANCE_CLASSES_CSV, awsdata.OBSERVED_CSV, awsdata.SERVERLESS_V2_CSV)}


def _tables() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        data = resources.files(package).joinpath("data")
        found += [(package, entry.name) for entry in data.iterdir() if entry.name.endswith(".csv")]
    return sorted(set(found) - REFERENCE_COPIES)


@pytest.mark.parametrize(("package", "name"), _tables())
def test_every_table_parses_with_a_source_and_a_read_date(package: str, name: str) -> None:
    found = tables.rows(package, name)
    assert found
    for row in found:
        assert row.cite.source.startswith(("https://", "http://")) or "@" in row.cite.source
        assert datetime.date(2026, 1, 1) <= row.cite.verified_at <= datetime.date.today()


@pytest.mark.parametrize("package", PACKAGES)
def test_every_data_directory_says_where_its_tables_come_from(package: str) -> None:
    data = resources.files(package).joinpath("data")
    sources = data.joinpath("SOURCES.md").read_text(encoding="utf-8")
    for entry in data.iterdir():
        if entry.name.endswith(".csv"):
            assert f"`{entry.name}`" in sources, entry.name


def test_a_citation_names_the_source_the_date_and_the_row() -> None:
    found = google.default_max_connections("db-f1-micro")
    assert found is not None
    assert str(found.cite) == ("https://docs.cloud.google.com/sql/docs/postgres/flags#postgres-m"
                               " (read 2026-08-14; google/data/cloudsql_max_connections.csv:2)")


# Google Cloud

@pytest.mark.parametrize(("tier", "expected"), [
    ("db-f1-micro", 25), ("db-g1-small", 50), ("db-custom-1-3840", 100),
    ("db-custom-2-7680", 400), ("db-custom-4-15360", 500), ("db-custom-8-30720", 600),
    ("db-custom-16-61440", 800), ("db-custom-32-122880", 1000), ("db-custom-2-13312", 400),
    ("db-perf-optimized-N-2", 500), ("db-perf-optimized-N-8", 800),
])
def test_cloud_sql_default_max_connections_follow_the_memory_bands(tier: str,
                                                                   expected: int) -> None:
    found = google.default_max_connections(tier)
    assert found is not None and found.value == expected


def test_cloud_sql_custom_tier_memory_is_its_mib_over_1024() -> None:
    found = google.tier_memory("db-custom-2-7680")
    assert found is not None and (found.vcpu, found.memory_gb) == (2, Decimal("7.5"))


@pytest.mark.parametrize("tier", ["db-n1-standard-2", "db-n1-highmem-4", "db-custom-1-1024",
                                  "db-custom-3-7680", "db-perf-optimized-N-96", "db-custom-x"])
def test_cloud_sql_tiers_postgresql_refuses_or_google_does_not_document_are_unknown(
        tier: str) -> None:
    assert google.tier_memory(tier) is None
    assert google.default_max_connections(tier) is None


def test_cloud_sql_memory_between_small_and_3_75_gb_is_unknown() -> None:
    assert google.max_connections_for_memory(Decimal("2")) is None
    assert google.max_connections_for_memory(Decimal("3.75")) is not None


def test_cloud_sql_reserves_at_least_the_superuser_slots_the_rest_is_unknown() -> None:
    found = google.reserved_slots()
    assert (found.at_least, found.exact) == (3, False)


def test_cloud_run_defaults() -> None:
    default = google.cloud_run_max_instances_default()
    annotation = google.cloud_run_v1_max_scale_annotation()
    assert default is not None and default.value == 100
    assert annotation is not None and annotation.value == "autoscaling.knative.dev/maxScale"
    assert google.cloud_run_rollout_overlap() is None


@pytest.mark.parametrize(("task_count", "parallelism", "expected"), [
    (40, 10, 10), (None, None, 1), (5, 0, 5), (3, 10, 3)])
def test_cloud_run_job_runs_parallelism_tasks_or_all_when_unset(
        task_count: int | None, parallelism: int | None, expected: int) -> None:
    assert google.cloud_run_job_tasks_at_once(task_count, parallelism).value == expected


def test_cloud_sql_auth_proxy_and_metric() -> None:
    limit, per_client = (google.auth_proxy_max_connections_default(),
                         google.auth_proxy_connections_per_client())
    metric = google.connections_metric()
    assert limit is not None and limit.value == 0
    assert per_client is not None and per_client.value == 1
    assert metric is not None and metric.value.endswith("database/postgresql/num_backends")


# Azure

@pytest.mark.parametrize(("sku_name", "total", "user"), [
    ("B_Standard_B1ms", 50, 35), ("B_Standard_B2s", 429, 414), ("GP_Standard_D2ds_v5", 859, 844),
    ("GP_Standard_D8ds_v4", 3437, 3422), ("GP_Standard_D16s_v3", 5000, 4985),
    ("MO_Standard_E4ds_v5", 3437, 3422), ("MO_Standard_E2ads_v5", 1718, 1703),
    ("MO_Standard_E96ds_v5", 5000, 4985)])
def test_flexible_server_defaults_by_sku_name(sku_name: str, total: int, user: int) -> None:
    found = azure.sku(sku_name)
    assert found is not None and (found.max_connections, found.max_user_connections) == (
        total, user)
    reserved = azure.reserved_slots()
    assert reserved is not None and total - reserved.value == user


@pytest.mark.parametrize("sku_name", ["GP_Standard_E4ds_v5", "B_Standard_B1s",
                                      "Standard_B1ms", "GP_Standard_D2ds_v6", "MO_Standard_"])
def test_flexible_server_names_the_table_does_not_list_are_unknown(sku_name: str) -> None:
    assert azure.sku(sku_name) is None
    assert azure.default_max_connections(sku_name) is None


def test_flexible_server_reserved_parameters_add_up_to_the_reserved_slots() -> None:
    reserved, superuser, total = (azure.reserved_connections(),
                                  azure.superuser_reserved_connections(), azure.reserved_slots())
    assert reserved is not None and superuser is not None and total is not None
    assert (reserved.value, superuser.value, total.value) == (5, 10, 15)


def test_builtin_pgbouncer_defaults() -> None:
    found = azure.builtin_pgbouncer()
    assert (found.port.value, found.default_pool_size.value, found.max_client_conn.value,
            found.pool_mode.value, found.version.value, found.on_burstable.value) == (
        6432, 50, 5000, "transaction", "1.22.1", "no")


def test_container_apps_and_app_service() -> None:
    replicas = azure.container_apps_max_replicas_default()
    assert replicas is not None and replicas.value == 10
    assert azure.app_service_worker_count_default() is None
    metric = azure.connections_metric()
    assert metric is not None and metric.value == "active_connections"


# AWS

@pytest.mark.parametrize(("reserved", "expected"), [(None, None), (-1, None), (0, 0),
                                                    (850, 850)])
def test_lambda_reserved_concurrency_bounds_the_environments(reserved: int | None,
                                                             expected: int | None) -> None:
    found = aws.lambda_environments_bound(reserved)
    assert (found.value if found else None) == expected


def test_aws_compute_defaults() -> None:
    low, high = aws.sqs_maximum_concurrency_range()
    assert (low.value, high.value) == (2, 1000)
    values = [aws.lambda_account_concurrency_default(), aws.app_runner_max_size_default(),
              aws.app_runner_min_size_default(), aws.app_runner_max_concurrency_default(),
              aws.app_runner_deployment_multiplier(), aws.eventbridge_ecs_task_count_default(),
              aws.rds_proxy_max_connections_percent_default(),
              aws.batch_max_vcpus_overshoot_instances()]
    assert [found.value if found else None for found in values] == [
        1000, 25, 1, 100, 2, 1, 100, 1]
    assert aws.eventbridge_overlapping_runs() is None
    assert aws.rds_reserved_slots().value == 5


def test_aws_batch_and_port_defaults() -> None:
    strategy = aws.batch_allocation_strategy_default()
    strict = aws.batch_strict_allocation_strategy()
    assert (strategy.value if strategy else None, strict.value if strict else None) == (
        "BEST_FIT", "BEST_FIT")
    assert (aws.postgres_port_default(False).value, aws.postgres_port_default(True).value) == (
        5432, 5432)
    shared = aws.lambda_versions_share_reserved()
    assert shared.cite.source.endswith("API_PutFunctionConcurrency.html")


@pytest.mark.parametrize(("module", "name", "default"), [
    ("terraform-aws-modules/rds-proxy/aws", "max_connections_percent", "90"),
    ("terraform-aws-modules/rds-proxy/aws", "max_idle_connections_percent", "50"),
    ("terraform-aws-modules/lambda/aws", "reserved_concurrent_executions", "-1"),
    ("terraform-aws-modules/lambda/aws", "provisioned_concurrent_executions", "-1"),
    ("terraform-aws-modules/app-runner/aws", "auto_scaling_configurations", "{}"),
    ("terraform-aws-modules/app-runner/aws", "create_service", "true"),
    ("terraform-aws-modules/lambda/aws", "create_layer", "false")])
def test_terraform_module_inputs_and_their_defaults(module: str, name: str,
                                                    default: str) -> None:
    found = aws.module_input(module, name)
    assert found is not None and found.default == default
    assert found.cite.source.endswith(tuple(f"variables.tf:{n}" for n in range(1, 1000)))
    assert aws.module_input(module, "no_such_input") is None


# PostgreSQL

@pytest.mark.parametrize(("major", "role", "settings", "expected"), [
    (18, Role.ORDINARY, Settings(20, 3, 2), 15), (18, Role.RESERVED, Settings(20, 3, 2), 17),
    (18, Role.SUPERUSER, Settings(20, 3, 2), 20), (16, Role.ORDINARY, Settings(50, 3, 5), 42),
    (17, Role.RESERVED, Settings(50, 3, 5), 47), (15, Role.ORDINARY, Settings(20, 3), 17),
    (12, Role.ORDINARY, Settings(), 97), (18, Role.ORDINARY, Settings(), 97),
    (15, Role.ORDINARY, Settings(20, 3, 2), None), (15, Role.RESERVED, Settings(20), None),
    (18, Role.ORDINARY, Settings(5, 3, 2), None), (11, Role.ORDINARY, Settings(20), None)])
def test_usable_slots_per_version_and_kind_of_role(major: int, role: Role, settings: Settings,
                                                   expected: int | None) -> None:
    found = postgresql.usable_slots(major, role, settings)
    assert (found.value if found else None) == expected


def test_reserved_connections_exists_from_16() -> None:
    exists = {major: postgresql.has_setting(major, postgresql.RESERVED) for major in range(12, 19)}
    assert {major: found.value for major, found in exists.items() if found} == {
        12: False, 13: False, 14: False, 15: False, 16: True, 17: True, 18: True}


def test_refusal_texts_changed_in_16() -> None:
    old, new = (postgresql.refusal_text(15, Role.ORDINARY),
                postgresql.refusal_text(16, Role.ORDINARY))
    assert old is not None and old.value.endswith("non-replication superuser connections")
    assert new is not None and '"pg_use_reserved_connections"' in new.value
    assert postgresql.refusal_text(15, Role.RESERVED) is None


def test_images_that_configure_a_self_managed_server() -> None:
    official, bitnami = (postgresql.official_image_flag_args_run_postgres(),
                         postgresql.bitnami_max_connections_env())
    assert official is not None and official.value == "yes"
    assert bitnami is not None and bitnami.value == "POSTGRESQL_MAX_CONNECTIONS"


# PgBouncer

@pytest.mark.parametrize(("release", "expected"), [
    ("1.18.0", "at_most_one"), ("1.23.1", "at_most_one"), ("1.24.0", "no_limit"),
    ("1.25.2", "no_limit"), ("1.26.0", None), ("1.22.7", None), ("1.17", None)])
def test_pool_size_zero_per_release(release: str, expected: str | None) -> None:
    found = pgbouncer.behaviour(pgbouncer.POOL_SIZE_ZERO, release)
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(("name", "values"), [
    ("max_prepared_statements", ["absent"] * 3 + ["0"] * 3 + ["200"] * 2),
    ("max_db_client_connections", ["absent"] * 6 + ["0"] * 2),
    ("peers_section", ["absent"] + ["accepted"] * 7),
    ("min_pool_size_forced_user", ["only_with_clients"] * 3 + ["kept_without_clients"] * 5),
    ("users_pool_size", ["absent"] * 5 + ["accepted"] * 3),
    ("databases_reserve_pool_size", ["absent"] * 6 + ["accepted"] * 2),
    ("default_pool_size", ["20"] * 8)])
def test_behaviours_for_every_series_from_1_18_to_1_25(name: str, values: list[str]) -> None:
    found = [pgbouncer.behaviour(name, f"1.{minor}") for minor in range(18, 26)]
    assert [item.value if item else None for item in found] == values
    for item in found:
        assert item is not None and item.cite.source.startswith("pgbouncer/pgbouncer@")


def test_every_behaviour_cites_a_source_line_unless_the_release_lacks_it() -> None:
    for row in tables.rows("connbudget.providers.pgbouncer", "behaviours.csv"):
        has_line = row.cite.source.rsplit(":", 1)[-1].isdigit()
        assert has_line == (row["value"] != pgbouncer.ABSENT), row.cite


@pytest.mark.parametrize(("section", "key", "behaviour"), [
    ("pgbouncer", "max_prepared_statements", "max_prepared_statements"),
    ("pgbouncer", "max_db_client_connections", "max_db_client_connections"),
    ("pgbouncer", "max_user_client_connections", "max_user_client_connections"),
    ("pgbouncer", "peer_id", "peer_id"),
    ("users", "pool_size", "users_pool_size"),
    ("databases", "reserve_pool_size", "databases_reserve_pool_size")])
def test_behaviours_agree_with_the_keys_each_release_accepts(section: str, key: str,
                                                             behaviour: str) -> None:
    for series in pgbouncer_model.known_versions():
        found = pgbouncer.behaviour(behaviour, series)
        assert found is not None
        accepted = key in pgbouncer_model.accepted_keys(series, section)
        assert accepted == (found.value != pgbouncer.ABSENT), (series, key)


def test_newest_release_known() -> None:
    assert pgbouncer.newest_release().value == "1.25.2"
    assert pgbouncer.releases()[0] == "1.18.0"


@pytest.mark.parametrize(("image", "release"), [
    ("edoburu/pgbouncer:v1.24.1-p1", "1.24.1"), ("edoburu/pgbouncer:v1.23.1-p0", "1.23.1"),
    ("edoburu/pgbouncer:v1.25.2-p0", "1.25.2"), ("bitnami/pgbouncer:1.23.1", "1.23.1"),
    ("docker.io/bitnami/pgbouncer:1.24.1-debian-12-r14", "1.24.1"),
    ("bitnami/pgbouncer:latest", None), ("bitnami/pgbouncer:1", None),
    ("bitnami/pgbouncer:1.26.0", None), ("pgbouncer/pgbouncer:1.24.1", None),
    ("edoburu/pgbouncer", None), ("edoburu/pgbouncer@sha256:0123", None),
    ("example/pgbouncer:1.24.1", None)])
def test_image_tags_map_to_releases(image: str, release: str | None) -> None:
    found = pgbouncer.image_release(image)
    assert (found.value if found else None) == release
