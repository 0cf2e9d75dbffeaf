"""Capacity from Kubernetes manifests: HPA and KEDA bounds, surge, Secrets, PgBouncer replicas."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from conftest import run_cli

HPA = "fixtures/capacity/k8s-hpa"
PGBOUNCER = "fixtures/capacity/k8s-pgbouncer"
KEDA = "fixtures/capacity/k8s-keda-surge"


def _report(path: str) -> dict[str, Any]:
    result = run_cli("capacity", path, "--format", "json")
    assert result.code in (0, 1), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def _client(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for b in report["budgets"] for c in b["clients"] if c["client"] == name)


def test_hpa_max_replicas_bounds_the_deployment_with_its_file_and_line() -> None:
    source = _client(_report(HPA), "Deployment/orders/api")["sources"]["max_tasks"]
    assert (source["value"], source["source"], source["file"], source["line"]) == (
        12, "HorizontalPodAutoscaler/api maxReplicas", f"{HPA}/k8s/api.yaml", 51)


def test_env_from_config_map_gives_pool_and_processes_at_the_config_map_line() -> None:
    sources = _client(_report(HPA), "Deployment/orders/api")["sources"]
    assert (sources["pool"]["source"], sources["pool"]["line"]) == ("DB_POOL_SIZE=5", 9)
    assert (sources["processes"]["source"], sources["processes"]["line"]) == (
        "WEB_CONCURRENCY=3", 10)


def test_default_max_surge_is_25_percent_of_the_max_replicas() -> None:
    api = _client(_report(HPA), "Deployment/orders/api")
    assert api["deploy_tasks"] == 15
    assert api["sources"]["deploy_tasks"]["source"].startswith(
        "default: 12 replicas + maxSurge 25%")


def _mapped_ledger(tmp_path: Path) -> dict[str, Any]:
    """k8s-hpa with its ledger (DATABASE_URL from a Secret) mapped in the config."""
    shutil.copytree(HPA, tmp_path / "k8s-hpa")
    (tmp_path / "k8s-hpa" / ".connbudget.toml").write_text(
        '[clients]\n"StatefulSet/orders/ledger" = "aws_db_instance.orders"\n')
    return _report(str(tmp_path / "k8s-hpa"))


def test_statefulset_does_not_surge(tmp_path: Path) -> None:
    ledger = _client(_mapped_ledger(tmp_path), "StatefulSet/orders/ledger")
    assert ledger["deploy_tasks"] == ledger["max_tasks"] == 2


def test_database_url_from_a_secret_is_matched_by_the_mapping_only(tmp_path: Path) -> None:
    ledger = _client(_mapped_ledger(tmp_path), "StatefulSet/orders/ledger")
    assert ledger["matched_by"] == "[tool.connbudget.clients] mapping"
    assert ledger["notes"] == ["DATABASE_URL comes from secret ledger-db key url: its value is "
                               "never read, so the host it names is unknown"]


def test_database_url_from_a_secret_is_never_the_single_database() -> None:
    report = _report(HPA)
    assert "StatefulSet/orders/ledger" not in {c["client"] for b in report["budgets"]
                                               for c in b["clients"]}
    [ledger] = report["coverage"]["unread"]
    assert (ledger["what"], ledger["kind"], ledger["databases"]) == (
        "StatefulSet/orders/ledger", "client", ["aws_db_instance.orders"])
    assert ledger["why"] == ("the database it connects to is unknown (DATABASE_URL comes from "
                             "secret ledger-db key url, whose value is never read)")
    assert ledger["fix"] == ('map it in the config: [tool.connbudget.clients] '
                             '"StatefulSet/orders/ledger" = "aws_db_instance.orders"')
    [budget] = report["budgets"]
    assert budget["coverage"]["complete"] is False
    assert budget["verdict"]["rule_id"] == "CB102"  # near the slots: said first


def test_cb102_fix_caps_the_hpa_in_pods() -> None:
    [cb102] = [f for f in _report(HPA)["findings"] if f["rule_id"] == "CB102"]
    assert cb102["fix"].splitlines()[4] == (
        "or cap Deployment/orders/api at 10 pods: maxReplicas: 10 (HorizontalPodAutoscaler/api "
        "maxReplicas); 10 x 15 per pod = 150 within 156, the 80 % alert threshold of 195 usable "
        "slots; 13 pods run during a rolling update with its maxSurge (195 connections), within "
        "195 usable")


def test_pgbouncer_replicas_multiply_its_server_connections() -> None:
    pooler = _client(_report(PGBOUNCER), "Deployment/shop/pgbouncer")
    assert pooler["steady"] == 100
    assert "min(max_db_connections 60, app 50) = 50 x 2 replicas" in \
        pooler["sources"]["server_connections"]["source"]


def test_client_reaches_pgbouncer_through_the_service_selecting_its_pods() -> None:
    pooler = _client(_report(PGBOUNCER), "Deployment/shop/pgbouncer")
    assert [(b["client"], b["max_tasks"], b["pool"], b["steady"], b["matched_by"])
            for b in pooler["behind"]] == [
        ("Deployment/shop/web", 25, 8, 200,
         "where it connects: db-pooler.shop.svc.cluster.local (the endpoint of db-pooler)")]


def test_pgbouncer_rollout_runs_a_surge_replica_beside_the_old_ones() -> None:
    pooler = _client(_report(PGBOUNCER), "Deployment/shop/pgbouncer")
    assert pooler["deploy"] == 150
    assert pooler["sources"]["server_connections_deploy"]["source"].startswith(
        "Deployment/shop/pgbouncer: 50 per replica x 3 replicas during a rolling deploy")


def test_pgbouncer_fix_shares_the_totals_out_over_the_replicas_of_a_rollout() -> None:
    findings = {f["rule_id"]: f for f in _report(PGBOUNCER)["findings"]}
    # alert threshold 80 % of usable 95 = 76 over 3 replicas during a rollout
    # the pooler reads its environment: the fix is the variable, as its env list writes it
    assert findings["CB104"]["fix"].splitlines() == [
        "- name: MAX_DB_CONNECTIONS", '  value: "25"',
        "(max_db_connections = 25: 76 (the 80 % alert threshold of 95 usable slots) shared by "
        "3 replicas during a rolling deploy)",
        "(max_client_conn >= 128: the 256 client connections behind it over 2 replicas)"]
    # the pooler's own pool mode is kept: only CB106 suggests another
    # 25 pods + 25 % surge = 32 pods x 8 = 256 client connections over 2 replicas
    assert findings["CB105"]["fix"].splitlines()[:2] == [
        "- name: MAX_CLIENT_CONN", '  value: "128"']


def test_keda_max_replica_count_and_a_percentage_surge_rounded_up_make_cb108() -> None:
    report = _report(KEDA)
    worker = _client(report, "Deployment/jobs/worker")
    assert (worker["max_tasks"], worker["deploy_tasks"]) == (12, 17)
    assert worker["sources"]["max_tasks"]["source"] == "ScaledObject/worker maxReplicaCount"
    # (its database also has no DatabaseConnections alarm: CB109, the rule tests' concern)
    assert [(f["rule_id"], f["fix"]) for f in report["findings"] if f["rule_id"] != "CB109"] == [
        ("CB108", "set strategy.rollingUpdate.maxSurge: 4 on Deployment/jobs/worker: 16 pods x "
                  "10 = 160 at most during a deploy, within 165 of the 165 usable slots")]
    assert [f["rule_id"] for f in report["findings"]].count("CB109") == 1


def test_text_math_counts_kubernetes_replicas_in_pods() -> None:
    out = run_cli("capacity", KEDA).out
    assert "Deployment/jobs/worker   12 pods x 10 pool" in out
    assert "during a rolling deploy, Deployment/jobs/worker 17 pods: 170 (103 %)" in out


def test_an_oversized_manifest_is_refused_once_and_not_read_again(tmp_path: Path) -> None:
    service = ("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: pgbouncer-{n}\n"
               "spec:\n  selector:\n    app: pgbouncer-{n}\n")
    documents = []
    size = 0
    while size <= 11 * 1024 * 1024:
        documents.append(service.format(n=len(documents)))
        size += len(documents[-1])
    (tmp_path / "big.yaml").write_text("".join(documents))
    started = time.monotonic()
    result = run_cli("capacity", str(tmp_path), "--format", "json")
    elapsed = time.monotonic() - started
    assert result.code == 2
    assert result.json()["errors"] == [
        {"file": str(tmp_path / "big.yaml"), "line": 0, "message": "larger than 10 MiB"}]
    assert elapsed < 8, f"{elapsed:.1f} s: the refused file was parsed anyway"


def test_an_unknown_count_is_said_in_the_platform_s_words() -> None:
    from connbudget.model import Client, Location, Origin, Value, unknown
    from connbudget.rules.unknowns import _client_unknowns

    def client(kind: str) -> Client:
        return Client(kind, Location("Deployment/shop/web", "k8s/web.yaml", 3),
                      unknown("replicas: {{ .Values.replicas }} is not a number"),
                      unknown("follows replicas"),
                      Value(None, Origin("WEB_CONCURRENCY=$(WORKERS)"), assumed=True),
                      Value(5, Origin("DB_POOL=5")), "DB_POOL", "replicas", autoscaled=False)

    pod = [f.message for f in _client_unknowns(client("kubernetes"), None)]
    assert [m.split(" cannot")[0] for m in pod] == [
        "Deployment/shop/web processes per pod", "Deployment/shop/web pod count"]
    task = [f.message for f in _client_unknowns(client("ecs"), None)]
    assert [m.split(" cannot")[0] for m in task] == [
        "Deployment/shop/web processes per task", "Deployment/shop/web task count"]
    # the processes are set by the server's worker count, not by the replica count
    fixes = [f.fix for f in _client_unknowns(client("kubernetes"), None)]
    assert "WEB_CONCURRENCY" in fixes[0] and fixes[1].startswith("set replicas explicitly")
