"""Real stacks: several Terraform roots, operators, ConfigMaps, charts and bundles."""

from __future__ import annotations

import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES, run_cli
from test_capacity_scenarios import _summary

_CRD = """\
---
# Source: vendored operator bundle
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets{n}.example.io
spec:
  group: example.io
  names:
    kind: Widget{n}
    plural: widgets{n}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
{properties}
"""
_PROPERTY = """\
          field{i}:
            description: "A setting of the widget; its value decides how the operator
              reconciles the resource (see the operator's documentation, section {i})."
            type: object
            properties:
              replicas: {{type: integer, minimum: 0}}
              image: {{type: string}}
              parameters: {{type: object, additionalProperties: {{type: string}}}}
"""


def _crd_bundle(directory: Path, files: int, per_file: int) -> int:
    """A vendored bundle of CRDs (as CloudNativePG ships in releases/); its size in bytes."""
    directory.mkdir(parents=True)
    properties = "".join(_PROPERTY.format(i=i) for i in range(60))
    size = 0
    for number in range(files):
        text = "".join(_CRD.format(n=number * per_file + k, properties=properties)
                       for k in range(per_file))
        (directory / f"operator-1.{number}.0.yaml").write_text(text)
        size += len(text)
    return size


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(*args, "--format", "json", timeout=300)
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return result.code, data


def test_vendored_crd_bundle_and_helm_chart_scan_in_seconds_and_the_chart_is_one_note(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    size = _crd_bundle(repo / "releases", files=40, per_file=45)
    assert size > 40 * 1024 * 1024
    shutil.copytree(CORPUS / "k8s" / "openfga-helm-chart", repo / "charts" / "openfga")
    shutil.copy(FIXTURES / "k8s" / "app.yaml", repo / "app.yaml")
    started, cpu = time.monotonic(), _child_cpu()
    code, report = _json("scan", str(repo))
    elapsed, cpu = time.monotonic() - started, _child_cpu() - cpu
    assert code in (0, 1)
    assert report["errors"] == []
    notes = [f for f in report["findings"]
             if f["rule_id"] == "CB111" and "/charts/" in f["file"]]
    assert [(n["resource"], Path(n["file"]).name) for n in notes] == [
        ("Helm chart openfga", "Chart.yaml")]
    assert "helm template" in notes[0]["fix"]
    # CPU time, as the machine may be shared; the wall clock bounds a hang
    assert cpu < 8, f"{cpu:.1f} s CPU for {size // 1024 // 1024} MiB"
    assert elapsed < 120


def _text_math(*paths: str) -> str:
    result = run_cli("capacity", *paths, timeout=300, env={"COLUMNS": "200"})
    assert result.code in (0, 1), result.err
    return result.out


def test_multi_root_stack_reports_the_overflow_of_a_sibling_roots_serverless_cluster() -> None:
    # 36 tasks x 25 threads against Aurora Serverless v2 at 2 ACU defined in another root
    code, report = _json("capacity", "fixtures/stacks/multi-root")
    assert code == 1
    orders = next(b for b in report["budgets"] if b["database"] == "aws_rds_cluster.orders")
    web = next(c for c in orders["clients"] if c["client"] == "aws_ecs_service.web")
    assert web["matched_by"].startswith("across roots: terraform_remote_state db (backend s3 "
                                        "state key database = root directory ")
    assert web["matched_by"].endswith("output orders_endpoint = aws_rds_cluster.orders.endpoint")
    worker = next(c for c in orders["clients"] if c["client"] == "aws_ecs_service.worker")
    assert worker["matched_by"] == ("across roots: data.aws_rds_cluster.orders looks up "
                                    "cluster_identifier 'orders'")
    assert orders["verdict"]["rule_id"] == "CB101"
    out = _text_math("fixtures/stacks/multi-root")
    assert "aws_ecs_service.web   36 tasks x 25 pool  =  900" in out
    assert "worst case 910 > usable 184 (495 %)               CB101 error" in out
    assert "max_connections 189: data: Aurora Serverless v2 at max 2 ACU" in out


def test_clients_mapping_may_name_a_database_in_a_sibling_root() -> None:
    _, report = _json("capacity", "fixtures/stacks/multi-root")
    reports = next(b for b in report["budgets"] if b["database"] == "aws_db_instance.reports")
    assert [(c["client"], c["matched_by"]) for c in reports["clients"]] == [
        ("aws_ecs_service.reporting", "[tool.connbudget.clients] mapping")]
    assert not [f for f in report["findings"] if f["rule_id"] == "CB103"]


def test_remote_state_naming_no_scanned_root_is_reported_not_guessed(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "stacks" / "multi-root" / "web", tmp_path / "web")
    (tmp_path / "web" / "db.tf").write_text(
        'resource "aws_db_instance" "cache" {\n  engine         = "postgres"\n'
        '  instance_class = "db.t3.micro"\n}\n')
    _, report = _json("capacity", str(tmp_path / "web"))
    [finding] = [f for f in report["findings"]
                 if f["rule_id"] == "CB111" and f["resource"] == "aws_ecs_service.web"]
    assert "data.terraform_remote_state.db.outputs.orders_endpoint" in finding["message"]
    assert all(not b["clients"] and not b["coverage"]["complete"] for b in report["budgets"])


def test_a_pinned_database_shows_its_verdict_and_reserves_no_rds_slots() -> None:
    _, report = _json("capacity", "fixtures/stacks/pinned-database")
    [budget] = report["budgets"]
    assert (budget["reserved"], budget["usable"]) == (3, 186)
    assert budget["verdict"]["rule_id"] == "CB101"
    assert budget["verdict"]["fix"][0].startswith("put PgBouncer")
    out = _text_math("fixtures/stacks/pinned-database")
    assert "worst case 900 > usable 186 (484 %)        CB101 error" in out


def test_pgbouncer_ini_from_a_mounted_config_map_is_read_with_its_lines() -> None:
    _, report = _json("capacity", "fixtures/stacks/pgbouncer-configmap")
    [budget] = report["budgets"]
    [pooler] = budget["clients"]
    # each replica's pool of 80 opens no more than the 40 client connections behind it
    assert (pooler["pool_mode"], pooler["steady"], pooler["deploy"]) == ("transaction", 120, 150)
    source = pooler["sources"]["server_connections"]
    assert source["file"].endswith("pgbouncer.yaml")
    assert "40 of 80, bounded by 40 client connections behind it = 40 x 3 replicas" \
        in source["source"]


def test_operator_databases_and_poolers_name_their_fields() -> None:
    _, report = _json("capacity", "fixtures/capacity/cnpg-operator")
    [budget] = report["budgets"]
    assert budget["max_connections_source"] == (
        "Cluster/shop/shop-db spec.postgresql.parameters.max_connections "
        "(fixtures/capacity/cnpg-operator/cluster.yaml:11)")
    pooler = next(c for c in budget["clients"] if c["path"] == "pgbouncer")
    assert [b["client"] for b in pooler["behind"]] == ["Deployment/shop/storefront"]
    assert pooler["matched_by"] == "where it connects: shop-db-rw"
    reports = next(c for c in budget["clients"] if c["client"] == "Deployment/shop/reports")
    assert reports["matched_by"] == ("where it connects: shop-db-ro.shop.svc.cluster.local "
                                     "(the endpoint of shop-db-ro)")


def test_corpus_operator_samples_are_budgeted() -> None:
    _, report = _json("capacity", str(CORPUS / "k8s" / "zalando-postgres-operator-manifests"))
    complete = next(b for b in report["budgets"]
                    if b["database"] == "postgresql/acid-test-cluster")
    assert (complete["max_connections"], complete["usable"]) == (10, 7)
    _, report = _json("capacity", str(CORPUS / "k8s" / "crunchy-postgres-operator-examples"))
    keycloak = next(b for b in report["budgets"] if b["database"] == "PostgresCluster/keycloakdb")
    # Keycloak's default pool of 100 on a PostgreSQL with 97 usable slots
    assert [(c["client"], c["pool"], c["matched_by"]) for c in keycloak["clients"]] == [
        ("Deployment/postgres-operator/keycloak", 100,
         "where it connects: keycloakdb-primary")]
    assert keycloak["verdict"]["rule_id"] == "CB101"


def test_unread_kinds_and_an_empty_scan_are_said_out_loud(tmp_path: Path) -> None:
    (tmp_path / "render.yaml").write_text("services:\n  - type: web\n    name: api\n")
    (tmp_path / "stack.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Db:\n'
        "    Type: AWS::RDS::DBInstance\n")
    code, report = _json("scan", str(tmp_path))
    assert code == 0
    assert sorted((Path(f["file"]).name, f["rule_id"], f["message"].split(";")[0])
                  for f in report["findings"]) == [
        ("render.yaml", "CB111",
         "Render blueprint render.yaml is not read: connbudget does not read Render blueprints"),
        ("stack.yaml", "CB111",
         "CloudFormation template stack.yaml is not read: connbudget does not read "
         "CloudFormation")]
    assert run_cli("scan", str(tmp_path), "--fail-on", "warning").code == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("nothing here\n")
    code, report = _json("scan", str(empty))
    assert code == 0
    [note] = report["findings"]
    assert note["rule_id"] == "CB110" and note["message"].startswith("nothing connbudget can check")


STACKS = sorted(p.name for p in (FIXTURES / "stacks").iterdir() if p.is_dir())


@pytest.mark.parametrize("stack", STACKS)
def test_stack_gives_its_expected_findings_and_budget(stack: str) -> None:
    # stacks read their own .connbudget.toml or rootless files: each is scanned alone
    expected = json.loads((FIXTURES / "stacks" / stack / "expected.json").read_text())
    code, report = _json("capacity", f"fixtures/stacks/{stack}")
    assert code in (0, 1)
    assert _summary(report) == expected


def test_pgbouncer_of_unknown_client_users_fails_when_one_user_already_overflows() -> None:
    code, report = _json("capacity", "fixtures/stacks/pgbouncer-unknown-users")
    assert code == 1
    [cb104] = [f for f in report["findings"] if f["rule_id"] == "CB104"]
    ini = "fixtures/stacks/pgbouncer-unknown-users/pgbouncer.yaml"
    assert cb104["message"].startswith(
        "Deployment/orders/pgbouncer can open at least 120 server connections to "
        "aws_db_instance.orders > usable 95, with a single client user (orders: "
        "<one client user> 25+5 + orders_reporting: <one client user> 25+5 = 60 x 2 replicas "
        f"(Deployment/orders/pgbouncer spec.replicas ({ini}:27))); every further user opens "
        "pools of its own")
    [budget] = report["budgets"]
    assert budget["verdict"]["rule_id"] == "CB104"
    # the rest of its worst case stays unknown, and is said so beside the error
    assert [f["rule_id"] for f in report["findings"]].count("CB103") == 1


_CNPG_CLUSTER = """\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: billing-db
  namespace: billing
spec:
  instances: 2
  postgresql:
    parameters:
      max_connections: "100"
"""
_CNPG_POOLER = """\
---
apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata:
  name: billing-db-pooler-rw
  namespace: billing
spec:
  cluster:
    name: billing-db
  instances: {instances}
  type: rw
  pgbouncer:
    poolMode: transaction
    parameters:
      default_pool_size: "40"
"""
_CRUNCHY = """\
apiVersion: postgres-operator.crunchydata.com/v1beta1
kind: PostgresCluster
metadata:
  name: ledger
  namespace: billing
spec:
  postgresVersion: 16
  patroni:
    dynamicConfiguration:
      postgresql:
        parameters:
          max_connections: 100
  proxy:
    pgBouncer:
      replicas: {instances}
      config:
        global:
          pool_mode: transaction
          default_pool_size: "40"
"""


@pytest.mark.parametrize(("text", "pooler"), [
    (_CNPG_CLUSTER + _CNPG_POOLER, "Pooler/billing/billing-db-pooler-rw"),
    (_CRUNCHY, "PostgresCluster/billing/ledger/pgbouncer")])
def test_operator_pooler_of_unknown_client_users_is_judged_by_one_user(
        tmp_path: Path, text: str, pooler: str) -> None:
    # one database through '*' x 40 per pod: 3 pods open at least 120 > 97 usable, 2 pods 80
    for instances, rules in ((3, ["CB103", "CB104"]), (2, ["CB103"])):
        (tmp_path / "db.yaml").write_text(text.format(instances=instances))
        code, report = _json("capacity", str(tmp_path))
        assert sorted(f["rule_id"] for f in report["findings"]
                      if f["resource"] == pooler) == rules
        assert code == (1 if "CB104" in rules else 0)


_RAILS = """\
resource "aws_db_instance" "main" {
  identifier     = "main"
  engine         = "postgres"
  instance_class = "db.t3.micro"
}

resource "aws_ecs_task_definition" "web" {
  family = "web"
  container_definitions = jsonencode([{
    name    = "web"
    image   = "example/rails-web:7.1"
    command = ["bundle", "exec", "puma", "-C", "config/puma.rb"]
    environment = [
      { name = "RAILS_ENV", value = "production" },
      { name = "DATABASE_URL", value = "postgres://app@${aws_db_instance.main.address}/app" },
      { name = "DB_POOL", value = "10" },
    ]
  }])
}

resource "aws_ecs_service" "web" {
  name                       = "web"
  task_definition            = aws_ecs_task_definition.web.arn
  desired_count              = 12
  deployment_maximum_percent = 100
}
"""


def test_a_rails_service_that_sets_db_pool_is_told_db_pool(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_RAILS)
    _, report = _json("capacity", str(tmp_path))
    [client] = report["budgets"][0]["clients"]
    assert (client["pool"], client["sources"]["pool"]["source"]) == (10, "DB_POOL=10")
    [cb101] = [f for f in report["findings"] if f["rule_id"] == "CB101"]
    assert "or set DB_POOL = " in cb101["fix"]
    assert "RAILS_MAX_THREADS" not in cb101["fix"] and "PG_POOL_SIZE" not in cb101["fix"]


def test_operator_pooler_fix_edits_the_parameter_it_sets(tmp_path: Path) -> None:
    manifest = tmp_path / "db.yaml"
    manifest.write_text(_CNPG_CLUSTER + _CNPG_POOLER.format(instances=3)
                        + '      max_db_connections: "60"\n')
    _, report = _json("capacity", str(tmp_path))
    [cb104] = [f for f in report["findings"] if f["rule_id"] == "CB104"]
    assert cb104["fix"].splitlines()[0] == 'spec.pgbouncer.parameters: {max_db_connections: "19"}'
    [edit] = cb104["edits"]
    assert (edit["line"], edit["old"], edit["new"]) == (
        26, '      max_db_connections: "60"', '      max_db_connections: "19"')
    lines = manifest.read_text().splitlines()
    lines[edit["line"] - 1] = edit["new"]
    manifest.write_text("\n".join(lines) + "\n")
    _, after = _json("capacity", str(tmp_path))
    assert "CB104" not in [f["rule_id"] for f in after["findings"]]
