"""Self-managed PostgreSQL (Kubernetes, Terraform's kubernetes provider, compose) and PostgreSQL
versions: the settings each server is given, where they are written, and the slots
reserved_connections keeps from ordinary roles from 16."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from connbudget.frontends.compose.model import read as read_compose
from connbudget.frontends.kubernetes.objects import read as read_kubernetes
from connbudget.frontends.postgresql.conf import conf_from_text, load_conf
from connbudget.kinds import ReadContext
from connbudget.model import Database, Origin
from connbudget.providers.postgresql.server import major_version

HERE = "fixtures/selfmanaged"  # relative to the checkout, as the reports name files


def _report(path: Path | str, code: int | None = None) -> dict[str, Any]:
    result = run_cli("capacity", str(path), "--format", "json")
    if code is not None:
        assert result.code == code, result.err
    report = result.json()
    assert isinstance(report, dict)
    return report


def _budget(path: Path | str) -> dict[str, Any]:
    [budget] = _report(path)["budgets"]
    return budget


def test_a_statefulset_running_postgres_16_with_max_connections_500_is_budgeted() -> None:
    budget = _budget("fixtures/capacity/k8s-statefulset-postgres")
    assert (budget["database"], budget["max_connections"], budget["usable"]) == (
        "StatefulSet/checkout/checkout-db", 500, 497)
    assert budget["max_connections_source"].startswith(
        "StatefulSet/checkout/checkout-db -c max_connections (")
    [client] = budget["clients"]
    # the API reaches it by its Service's cluster DNS name
    assert client["client"] == "Deployment/checkout/checkout-api"
    assert client["matched_by"] == ("where it connects: checkout-db.checkout.svc.cluster.local "
                                   "(the endpoint of checkout-db)")
    assert budget["verdict"]["rule_id"] == "CB101"


def test_a_postgresql_conf_a_kustomize_generator_mounts_sets_the_slots_at_its_lines() -> None:
    budget = _budget("fixtures/capacity/k8s-postgres-kustomize")
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (300, 25, 275)
    assert budget["max_connections_source"] == (
        "ConfigMap inventory-db-config key postgresql.conf max_connections "
        "(fixtures/capacity/k8s-postgres-kustomize/postgresql.conf:3)")
    assert "20 (ConfigMap inventory-db-config key postgresql.conf reserved_connections " \
           "(fixtures/capacity/k8s-postgres-kustomize/postgresql.conf:5))" in \
           budget["reserved_source"]


def _databases(parsed: dict[str, Any]) -> list[Database]:
    from connbudget.capacity.analyze import build_model
    from connbudget.settings import Settings

    return build_model(parsed, Settings()).databases


def test_a_mounted_file_keeps_the_columns_of_its_values_an_embedded_one_does_not() -> None:
    directory = FIXTURES / "capacity" / "k8s-postgres-kustomize"
    paths = [str(p) for p in sorted(directory.glob("*.yaml"))]
    [database] = _databases({"kubernetes": read_kubernetes(paths, ReadContext()).result})
    origin = database.max_connections.origin
    assert (origin.line, origin.column, origin.end_column) == (3, 19, 22)
    # a postgresql.conf written inside a YAML block scalar is indented: no columns are claimed
    embedded = conf_from_text("max_connections = 40\n", "config.yaml", 12)
    setting = embedded.settings["max_connections"]
    assert (setting.line, setting.column) == (12, 0)


def test_compose_reads_the_postgresql_conf_bind_mounted_where_its_command_says() -> None:
    report = _report(f"{HERE}/compose-config-file", code=1)
    [budget] = report["budgets"]
    assert (budget["max_connections"], budget["reserved"], budget["usable"]) == (80, 7, 73)
    assert budget["max_connections_source"] == (
        "compose/db postgresql.conf max_connections "
        "(fixtures/selfmanaged/compose-config-file/config/postgresql.conf:2)")
    assert [f["rule_id"] for f in report["findings"]] == ["CB101"]


def test_compose_and_kubernetes_read_a_postgres_server_the_same_way() -> None:
    # the same -c options through compose and a StatefulSet give the same numbers
    compose = read_compose([str(FIXTURES / "stacks" / "compose" / "docker-compose.yml")],
                           ReadContext()).result
    [from_compose] = _databases({"compose": compose})
    assert from_compose.platform == "self-managed"
    assert (from_compose.max_connections.value, from_compose.version.value
            if from_compose.version else None) == (150, 16)


def test_an_include_that_is_not_read_makes_what_it_may_set_unknown() -> None:
    report = _report(f"{HERE}/conf-include")
    [budget] = report["budgets"]
    assert budget["max_connections"] is None and budget["usable"] is None
    assert "include_if_exists '/etc/postgresql/conf.d/overrides.conf' " \
           "(fixtures/selfmanaged/conf-include/postgresql.conf:3) is not read and may set it" \
           in budget["max_connections_source"]
    assert any(f["rule_id"] == "CB103" for f in report["findings"])


def test_a_postgresql_conf_is_an_input_of_its_own_with_located_errors() -> None:
    result = run_cli("capacity", f"{HERE}/conf-syntax", "--format", "json")
    assert result.code == 2
    report = result.json()
    assert isinstance(report, dict)
    assert report["errors"] == [{
        "file": "fixtures/selfmanaged/conf-syntax/postgresql.conf", "line": 2,
        "message": "PostgreSQL refuses to start: syntax error in the configuration file"}]
    assert "checked 1 file: 1 postgresql.conf" in run_cli("capacity", f"{HERE}/conf-syntax").out


def test_the_conf_reader_follows_postgresql_rules() -> None:
    conf = conf_from_text("Max_Connections 50\nmax_connections = '75'  # later wins\n"
                          "superuser_reserved_connections=2\n", "p.conf", 1, columns=True)
    assert conf.errors == []
    found = conf.get("max_connections")
    assert found is not None and (found.value, found.line, found.column) == ("75", 2, 19)
    reserved = conf.get("superuser_reserved_connections")
    assert reserved is not None and reserved.value == "2"


def test_a_server_before_16_given_reserved_connections_is_an_error_at_the_setting() -> None:
    result = run_cli("capacity", f"{HERE}/pg15-reserved", "--format", "json")
    assert result.code == 2
    report = result.json()
    assert isinstance(report, dict)
    [error] = report["errors"]
    assert (error["file"], error["line"]) == (
        "fixtures/selfmanaged/pg15-reserved/docker-compose.yml", 5)
    assert error["message"].startswith("compose/db is PostgreSQL 15 (compose/db image "
                                       "postgres:15.8), which refuses to start with "
                                       "reserved_connections: the setting exists from "
                                       "PostgreSQL 16")
    # the server never starts with it: it is not counted
    assert report["budgets"][0]["reserved"] == 3


def test_rds_counts_reserved_connections_from_16_and_refuses_it_before() -> None:
    budget = _budget(f"{HERE}/rds-reserved")
    assert (budget["reserved"], budget["usable"]) == (10, 190)
    assert "5 (aws_db_parameter_group.reporting parameter reserved_connections" \
           in budget["reserved_source"]
    refused = run_cli("capacity", f"{HERE}/rds-15-reserved", "--format", "json")
    assert refused.code == 2
    report = refused.json()
    assert isinstance(report, dict)
    [error] = report["errors"]
    assert error["message"].startswith("aws_db_instance.reporting is PostgreSQL 15 "
                                       "(aws_db_parameter_group.reporting family postgres15)")


def test_bitnami_max_connections_variable_sets_max_connections() -> None:
    budget = _budget(f"{HERE}/bitnami-env")
    assert (budget["database"], budget["max_connections"]) == ("Deployment/cache-db", 250)
    assert budget["max_connections_source"].startswith("Deployment/cache-db "
                                                       "POSTGRESQL_MAX_CONNECTIONS (")


def test_a_configmap_the_files_do_not_hold_is_read_from_the_file_beside_and_says_so() -> None:
    budget = _budget(f"{HERE}/configmap-beside")
    assert budget["max_connections"] == 120
    assert budget["max_connections_source"].startswith(
        "postgresql.conf beside the manifest (taken for ConfigMap reports-db-config, which the "
        "files do not hold) max_connections")


def test_terraform_kubernetes_statefulset_is_a_database_its_clients_are_budgeted_against() -> None:
    report = _report(f"{HERE}/terraform-statefulset", code=1)
    [budget] = report["budgets"]
    assert (budget["database"], budget["max_connections"], budget["reserved"]) == (
        "kubernetes_stateful_set_v1.db", 150, 13)
    assert [c["client"] for c in budget["clients"]] == ["kubernetes_deployment_v1.api"]
    assert budget["verdict"]["rule_id"] == "CB101"


@pytest.mark.parametrize(("text", "major"), [
    ("16", 16), ("16.4", 16), ("16-alpine", 16), ("16.2.0-debian-12-r5", 16), ("pg17", 17),
    ("2.14.2-pg16", 16), ("postgres15", 15), ("aurora-postgresql14", 14), ("16-3.4", 16),
    ("latest", None), ("alpine", None), ("2.14.2", None)])
def test_the_major_version_of_an_engine_version_family_or_image_tag(text: str,
                                                                   major: int | None) -> None:
    found = major_version(text, Origin(text))
    assert (found.value if found else None) == major


def test_an_unread_conf_in_the_tree_is_still_parsed_on_its_own() -> None:
    conf = load_conf(f"{HERE}/configmap-beside/postgresql.conf")
    assert conf.errors == [] and conf.settings["max_connections"].value == "120"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_is_read_as_settings_or_located_errors(text: str) -> None:
    conf = conf_from_text(text, "postgresql.conf", 1, columns=True)
    lines = text.count("\n") + 1
    assert all(1 <= error.line <= lines for error in conf.errors)
    for setting in conf.settings.values():
        assert 1 <= setting.line <= lines and setting.column >= 1


def test_nothing_outside_the_scanned_tree_is_read_for_a_server(tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("max_connections = 9999\n")
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / ".git").mkdir()
    (tree / "link.conf").symlink_to(outside)
    (tree / "postgresql.conf").write_text("max_connections = 50\ninclude 'link.conf'\n")
    (tree / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n"
        "    command: postgres -c config_file=/etc/postgresql/postgresql.conf\n"
        f"    volumes:\n      - {outside}:/etc/postgresql/postgresql.conf\n"
        "  other:\n    image: postgres:17\n"
        "    command: postgres -c config_file=/etc/postgresql/postgresql.conf\n"
        "    volumes:\n      - ./postgresql.conf:/etc/postgresql/postgresql.conf\n")
    result = run_cli("capacity", str(tree), "--format", "json")
    report = result.json()
    assert isinstance(report, dict)
    assert "9999" not in result.out + result.err
    budgets = {b["database"]: b for b in report["budgets"]}
    # neither the bind mount nor the include that leads out of the tree is read: what they may
    # set is unknown, and says why
    assert [b["max_connections"] for b in budgets.values()] == [None, None]
    assert "mounted from a file that is outside the scanned tree, not read" in \
        budgets["compose/db"]["max_connections_source"]
    assert "include 'link.conf'" in budgets["compose/other"]["max_connections_source"]
