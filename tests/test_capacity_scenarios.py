"""Capacity analyzer: every fixtures/capacity scenario gives exactly its findings and budget."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES, run_cli
from inprocess import run_main

# One worker runs the module, so the whole-tree tests reuse the runs of the single scenarios.
pytestmark = pytest.mark.xdist_group("capacity-scenarios")

SCENARIOS = sorted(p.name for p in (FIXTURES / "capacity").iterdir() if p.is_dir())
BUDGET_KEYS = ("database", "max_connections", "reserved", "usable", "worst_case",
               "worst_case_deploy", "utilization")
CLIENT_KEYS = ("client", "path", "max_tasks", "processes", "pool", "steady", "deploy")


def _capacity(*paths: str) -> dict[str, Any]:
    return copy.deepcopy(_capacity_once(paths))


@functools.cache
def _capacity_once(paths: tuple[str, ...]) -> dict[str, Any]:
    """One run of `capacity` per set of paths in a test process: several tests read it."""
    result = run_cli("capacity", *paths, "--format", "json")
    assert result.code in (0, 1), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "findings": [{"rule_id": f["rule_id"], "resource": f["resource"], "line": f["line"]}
                     for f in report["findings"]],
        "budgets": [{**({"root": b["root"]} if "root" in b else {}),
                     **{k: b[k] for k in BUDGET_KEYS},
                     "clients": [{k: c.get(k) for k in CLIENT_KEYS} for c in b["clients"]]}
                    for b in report["budgets"]],
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_gives_its_expected_findings_and_budget(scenario: str) -> None:
    expected = json.loads((FIXTURES / "capacity" / scenario / "expected.json").read_text())
    assert _summary(_capacity(f"fixtures/capacity/{scenario}")) == expected


def test_every_budget_number_names_its_source() -> None:
    budget = _capacity("fixtures/capacity/direct-over-budget")["budgets"][0]
    assert budget["max_connections_source"].startswith(
        "aws_db_parameter_group.main parameter max_connections")
    sources = budget["clients"][0]["sources"]
    assert sources["max_tasks"]["source"] == "aws_appautoscaling_target.api max_capacity"
    assert sources["pool"]["source"] == "PG_POOL_SIZE=10"
    assert all(s["file"] for s in (sources["max_tasks"], sources["pool"]))


def test_deploy_task_source_names_its_location_once() -> None:
    worker = _capacity("fixtures/capacity/two-services")["budgets"][0]["clients"][1]
    assert worker["sources"]["deploy_tasks"] == {
        "value": 4, "source": "4 tasks x 100 % (aws_ecs_service.worker deployment_maximum_percent)",
        "file": "fixtures/capacity/two-services/main.tf", "line": 67, "assumed": False}


def test_budget_json_keeps_the_spec_keys() -> None:
    budget = _capacity("fixtures/capacity/two-services")["budgets"][0]
    for key in ("database", "max_connections", "max_connections_source", "reserved", "usable",
                "clients", "worst_case", "utilization"):
        assert key in budget
    for key in ("client", "path", "max_tasks", "processes", "pool", "steady", "deploy",
                "sources"):
        assert key in budget["clients"][0]


def test_cb101_fix_names_the_largest_pool_and_task_count_that_fit() -> None:
    finding = _capacity("fixtures/capacity/direct-over-budget")["findings"][0]
    # usable 95, alert threshold 80 % -> 76 connections, and a deploy at 200 % within 95:
    # 12 tasks x 3 (24 during the deploy: 72), or 4 tasks x 10 (8 during the deploy: 80)
    assert finding["fix"].splitlines() == [
        "put PgBouncer in front (pool_mode = transaction, max_db_connections = 76: the 80 % "
        "alert threshold of 95 usable slots)",
        "or set PG_POOL_SIZE = 3 in aws_ecs_service.api: 12 tasks x 1 process x 3 = 36 within "
        "76, the 80 % alert threshold of 95 usable slots",
        '  { name = "PG_POOL_SIZE", value = "3" }',
        "or cap aws_ecs_service.api at 4 tasks: max_capacity = 4 (aws_appautoscaling_target "
        "max_capacity); 4 x 10 per task = 40 within 76, the 80 % alert threshold of 95 usable "
        "slots; 8 tasks run during a rolling deploy at deployment_maximum_percent 200 "
        "(80 connections), within 95 usable",
    ]
    # the pool's own line is the edit that applies it
    assert [(e["line"], e["old"], e["new"]) for e in finding["edits"]] == [
        (26, '        { name = "PG_POOL_SIZE", value = "10" },',
         '        { name = "PG_POOL_SIZE", value = "3" },')]


def test_cb101_fix_without_a_deploy_surge_fills_the_alert_threshold() -> None:
    finding = _capacity("fixtures/capacity/two-roots/staging")["findings"][0]
    # usable 55, deployment_maximum_percent 100: 44 connections, 8 tasks x 5 or 4 tasks x 10
    assert finding["fix"].splitlines()[1:] == [
        "or set PG_POOL_SIZE = 5 in aws_ecs_service.api: 8 tasks x 1 process x 5 = 40 within "
        "44, the 80 % alert threshold of 55 usable slots",
        '  { name = "PG_POOL_SIZE", value = "5" }',
        "or cap aws_ecs_service.api at 4 tasks: max_capacity = 4 (aws_appautoscaling_target "
        "max_capacity); 4 x 10 per task = 40 within 44, the 80 % alert threshold of 55 usable "
        "slots",
    ]


def test_role_limit_fix_is_pool_plus_reserve_plus_headroom() -> None:
    findings = _capacity("fixtures/capacity/pooler-role-limit")["findings"]
    # the pooler's pools alone exceed the role's limit: said once, at the pooler
    assert "CB107" not in [f["rule_id"] for f in findings]
    cb104 = next(f for f in findings if f["rule_id"] == "CB104")
    # need 25 at the 80 % alert threshold of the limit: 32 (25 / 0.8 = 31.25, rounded up)
    assert cb104["fix"].splitlines()[0] == (
        "raise the role's limit: connection_limit = 32 on postgresql_role.app (the need of 25 "
        "at the 80 % alert threshold of the limit, the rest for admin sessions, migrations and "
        "restarts)")


def test_role_limit_fix_never_exceeds_the_usable_slots() -> None:
    findings = _capacity("fixtures/capacity/two-roots/staging")["findings"]
    cb107 = next(f for f in findings if f["rule_id"] == "CB107")
    # the service needs 80 connections; the database has 55 usable slots
    assert cb107["fix"].endswith("then set connection_limit = 55")


def test_unknown_instance_class_is_not_guessed() -> None:
    report = _capacity("fixtures/capacity/unknown-instance-class")
    assert report["budgets"][0]["max_connections"] is None
    assert "db.m8g.large is not in the data table" in report["findings"][0]["message"]
    assert "pin it" in report["findings"][0]["fix"]


def test_unresolved_pool_states_the_default_it_assumes() -> None:
    [finding] = [f for f in _capacity("fixtures/capacity/unresolved-variable")["findings"]
                 if f["rule_id"] == "CB103"]
    assert "PG_POOL_SIZE is unresolved" in finding["message"]
    assert "the budget assumes 10" in finding["message"]


def test_demo_draws_the_connection_math_and_exits_1() -> None:
    result = run_cli("scan", "examples/incident", env={"COLUMNS": "200"})
    assert result.code == 1
    assert "THE CONNECTION MATH  aws_db_instance.main (db.t3.medium, max_connections 170 from " \
           "aws_db_parameter_group.main parameter max_connections)" in result.out
    assert "aws_ecs_service.api   38 tasks x 10 pool" in result.out
    assert "worst case 380 > usable 165 (230 %)" in result.out
    assert "CB101 error" in result.out
    assert "pool per process 10: PG_POOL_SIZE=10, line 38" in result.out


def test_warm_cache_gives_byte_identical_output(tmp_path: Path) -> None:
    env = {"CONNBUDGET_CACHE_DIR": str(tmp_path)}
    cold = run_cli("capacity", "fixtures/capacity", "--format", "json", env=env)
    warm = run_cli("capacity", "fixtures/capacity", "--format", "json", env=env)
    assert any(tmp_path.iterdir())
    assert cold.out == warm.out


@pytest.mark.parametrize("kind", ["terraform", "pgbouncer", "k8s"])
def test_corpus_runs_without_traceback(kind: str) -> None:
    for directory in sorted(p for p in (CORPUS / kind).iterdir()):
        report = run_main("capacity", str(directory), "--format", "json").json()
        assert isinstance(report, dict)
        for budget in report["budgets"]:
            if budget["max_connections"] is None:
                assert any(f["rule_id"] == "CB103" for f in report["findings"])


def _no_client(finding: dict[str, Any]) -> bool:
    """CB111 on a database of which nothing was read: beside files of no root, which may
    connect to every database, those files are what may connect to it instead."""
    return finding["rule_id"] == "CB111" and finding["message"].startswith("no client of ")


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without the root labels that only a run holding several roots shows, and
    without what coverage says of other scenarios' databases: a thing whose database cannot be
    told may connect to any database of its scope, and the whole tree holds more of them
    (test_whole_tree_coverage_names_every_database_in_scope)."""
    label = re.compile(r" \(fixtures/capacity/[^):]*\)")
    return {
        "findings": [{**f, "message": label.sub("", f["message"]),
                      "related": [{**r, "message": label.sub("", r["message"])}
                                  for r in f["related"]]}
                     if f["rule_id"] != "CB111" else {
                         **f, "message": "", "fix": "",
                         "related": [{**r, "message": label.sub("", r["message"])}
                                     for r in f["related"]]}
                     for f in report["findings"] if not _no_client(f)],
        "budgets": [{**{k: v for k, v in b.items() if k not in ("root", "coverage")},
                     "verdict": {"rule_id": None, "severity": None, "fix": []}
                     if b["verdict"]["rule_id"] == "CB111" else b["verdict"],
                     "clients": [{k: v for k, v in c.items() if k != "root"}
                                 for c in b["clients"]]} for b in report["budgets"]],
        "errors": report["errors"],
    }


def _of(report: dict[str, Any], scenario: str) -> dict[str, Any]:
    inside = f"fixtures/capacity/{scenario}/"
    return {"findings": [f for f in report["findings"] if f["file"].startswith(inside)],
            "budgets": [b for b in report["budgets"] if b["file"].startswith(inside)],
            "errors": [e for e in report["errors"] if e["file"].startswith(inside)]}


ROOTLESS = ("fixtures/k8s", "fixtures/pgbouncer")


@pytest.fixture(scope="module", params=[(), ROOTLESS],
                ids=["scenarios", "with-rootless-ini-and-yaml"])
def whole_tree(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every scenario at once; then with ini and YAML files that belong to no root (some of them
    broken on purpose, hence exit code 2)."""
    result = run_cli("capacity", "fixtures/capacity", *request.param, "--format", "json")
    assert result.code in (0, 1, 2), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_whole_tree_gives_each_scenario_exactly_what_it_gives_alone(
        scenario: str, whole_tree: dict[str, Any]) -> None:
    alone = _capacity(f"fixtures/capacity/{scenario}")
    rootless = len(whole_tree["checked"]["paths"]) > 1
    if rootless and scenario in BOUNDED_BY_CLIENTS:
        # files of no root may connect to its pooler: the pool is no longer bounded by the
        # clients read, and the worst case can only grow
        whole = {b["database"]: b["worst_case"] for b in _of(whole_tree, scenario)["budgets"]}
        assert all(whole[b["database"]] >= b["worst_case"] for b in alone["budgets"])
        return
    assert _comparable(_of(whole_tree, scenario)) == _comparable(alone)


# scenarios whose pooler opens a server connection per waiting client (pool_size 0): bounded by
# its clients only while every client that may reach it was read
BOUNDED_BY_CLIENTS = ("pgbouncer-pool-zero-1-24",)


def test_whole_tree_coverage_names_every_database_in_scope(
        whole_tree: dict[str, Any]) -> None:
    # k8s-hpa's ledger reads its DATABASE_URL from a Secret: it may reach its root's database
    # and every database of no root (the operators' clusters), never another root's
    ledger = next(item for item in whole_tree["coverage"]["unread"]
                  if item["what"].startswith("StatefulSet/orders/ledger"))
    assert {"aws_db_instance.orders (fixtures/capacity/k8s-hpa)", "Cluster/shop/shop-db",
            "PostgresCluster/auth/hippo", "postgresql/orders/acid-orders"} <= set(
        ledger["databases"])
    for name in ledger["databases"]:  # its root's database, else databases of no root
        assert name.endswith(" (fixtures/capacity/k8s-hpa)") or " (fixtures/" not in name, name
    incomplete = {b["file"] for b in whole_tree["budgets"] if not b["coverage"]["complete"]}
    assert {"fixtures/capacity/k8s-hpa/main.tf",
            "fixtures/capacity/cnpg-operator/cluster.yaml"} <= incomplete
    # a database of another root is out of its scope (the rootless ini and YAML files added to
    # the run may reach every database: they have no root)
    rootless = len(whole_tree["checked"]["paths"]) > 1
    assert rootless or "fixtures/capacity/within-budget/main.tf" not in incomplete


def test_whole_tree_holds_nothing_but_its_scenarios(whole_tree: dict[str, Any]) -> None:
    counts = [len([f for f in _capacity(f"fixtures/capacity/{s}")["findings"]
                   if not _no_client(f)]) for s in SCENARIOS]
    inside = [f for f in whole_tree["findings"]
              if f["file"].startswith("fixtures/capacity/") and not _no_client(f)]
    assert len(inside) == sum(counts)


def test_two_roots_with_the_same_addresses_keep_their_own_numbers_and_findings() -> None:
    report = _capacity("fixtures/capacity/two-roots")
    staging = "fixtures/capacity/two-roots/staging"
    prod = "fixtures/capacity/two-roots/prod"
    assert [(f["rule_id"], f["file"]) for f in report["findings"]] == [
        ("CB109", f"{prod}/main.tf"), ("CB101", f"{staging}/main.tf"),
        ("CB109", f"{staging}/main.tf"), ("CB107", f"{staging}/main.tf")]
    assert f"aws_db_instance.main ({staging})" in report["findings"][1]["message"]
    assert f"aws_db_instance.main ({prod})" in report["findings"][0]["message"]


def test_text_math_names_the_root_when_the_run_holds_several() -> None:
    result = run_cli("capacity", "fixtures/capacity/two-roots", "--verbose",
                     env={"COLUMNS": "200"})
    assert "THE CONNECTION MATH  aws_db_instance.main in fixtures/capacity/two-roots/prod " \
           "(db.r6g.large, max_connections 500 from" in result.out


def test_single_root_run_shows_no_root() -> None:
    report = _capacity("fixtures/capacity/two-roots/prod")
    assert "root" not in report["budgets"][0]
    assert "THE CONNECTION MATH  aws_db_instance.main (db.r6g.large" in run_cli(
        "capacity", "fixtures/capacity/two-roots/prod", "--verbose").out


def test_ini_outside_every_root_naming_a_host_no_database_answers_to_is_not_guessed() -> None:
    # the single database of the run is not a fallback for a host the ini states
    report = _capacity("fixtures/capacity/two-roots/prod",
                       "fixtures/capacity/pgbouncer-transaction/pgbouncer.ini")
    ini = "fixtures/capacity/pgbouncer-transaction/pgbouncer.ini"
    assert ini not in {c["client"] for c in report["budgets"][0]["clients"]}
    [finding] = [f for f in report["findings"] if f["rule_id"] == "CB111"]
    assert finding["resource"] == "fixtures/capacity/pgbouncer-transaction/pgbouncer.ini"
    assert "which no scanned database or pooler answers to" in finding["message"]
    # it may still reach that database under another name: its budget is not "ok"
    assert report["budgets"][0]["coverage"]["complete"] is False


def test_ini_outside_every_root_is_not_guessed_among_several_databases() -> None:
    report = _capacity("fixtures/capacity/two-roots",
                       "fixtures/capacity/pgbouncer-transaction/pgbouncer.ini")
    unmatched = [f for f in report["findings"] if f["rule_id"] == "CB111"]
    assert [f["resource"] for f in unmatched] == [
        "fixtures/capacity/pgbouncer-transaction/pgbouncer.ini"]
    assert all(c["path"] == "direct" for b in report["budgets"] for c in b["clients"])


def test_a_pooler_whose_database_is_not_scanned_is_said_out_loud() -> None:
    findings = _capacity("fixtures/pgbouncer/defaults.ini")["findings"]
    assert [(f["rule_id"], f["resource"]) for f in findings] == [
        ("CB111", "fixtures/pgbouncer/defaults.ini")]
    assert "[tool.connbudget.databases." in findings[0]["fix"]
