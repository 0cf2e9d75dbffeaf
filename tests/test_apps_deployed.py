"""Application configuration tied to the units that deploy it: the pool and process counts the
framework really uses, each at its file and line, the unit's environment over the file's
defaults, and what cannot be tied or evaluated said out loud."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from conftest import FIXTURES
from inprocess import run_main

from connbudget.config import load_settings
from connbudget.discover import discover
from connbudget.engine import capacity_model
from connbudget.errors import UsageError
from connbudget.kinds import Candidate, claim
from connbudget.model import Client, Model

DEPLOYED = FIXTURES / "apps" / "deployed"


def _json(tree: Path, *flags: str) -> dict[str, Any]:
    outcome = run_main("capacity", str(tree), "--format", "json", *flags)
    assert outcome.code in (0, 1), outcome.err
    return outcome.json()


def _clients(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {client["client"]: client for budget in report["budgets"]
            for client in budget["clients"]}


def _source(client: dict[str, Any], what: str) -> tuple[int, str, int, bool]:
    found = client["sources"][what]
    return found["value"], Path(found["file"]).name, found["line"], found["assumed"]


def _model(tree: Path) -> Model:
    settings = load_settings([str(tree)])
    model, _, _ = capacity_model(discover([str(tree)], []), settings)
    return model


def _client(model: Model, address: str) -> Client:
    return next(client for client in model.clients if client.where.address == address)


def test_rails_web_is_puma_workers_times_threads_and_sidekiq_its_concurrency() -> None:
    clients = _clients(_json(DEPLOYED / "rails-compose"))
    web, sidekiq = clients["compose/web"], clients["compose/sidekiq"]
    # puma.rb: workers ENV.fetch("WEB_CONCURRENCY", 2); database.yml pool { 5 }, threads 5
    assert _source(web, "processes") == (2, "puma.rb", 10, False)
    assert _source(web, "pool") == (5, "database.yml", 11, False)
    assert web["steady"] == 2 * 2 * 5
    # sidekiq -C config/sidekiq.yml: concurrency 10, its pool RAILS_MAX_THREADS=10 (compose)
    assert _source(sidekiq, "processes")[0] == 1
    assert _source(sidekiq, "pool") == (10, "docker-compose.yml", 32, False)
    assert sidekiq["steady"] == 10


def test_the_units_environment_overrides_the_files_default(tmp_path: Path) -> None:
    """RAILS_MAX_THREADS=25 in an ECS task definition beats database.yml's `{ 5 }`, and the
    budget names the task definition's line."""
    tree = tmp_path / "store"
    shutil.copytree(DEPLOYED / "rails-compose", tree)
    (tree / "docker-compose.yml").unlink()
    (tree / "main.tf").write_text("""\
resource "aws_db_instance" "main" {
  identifier     = "store"
  engine         = "postgres"
  instance_class = "db.m5.large"
}

resource "aws_ecs_task_definition" "web" {
  family = "web"
  container_definitions = jsonencode([{
    name    = "web"
    image   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront:7.1.0"
    command = ["bundle", "exec", "puma", "-C", "config/puma.rb"]
    environment = [
      { name = "DATABASE_URL", value = "postgres://app@${aws_db_instance.main.address}/app" },
      { name = "RAILS_MAX_THREADS", value = "25" },
    ]
  }])
}

resource "aws_ecs_service" "web" {
  name            = "web"
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = 4
}
""")
    web = _clients(_json(tree))["aws_ecs_service.web"]
    assert _source(web, "pool") == (25, "main.tf", 15, False)
    assert _source(web, "processes") == (2, "puma.rb", 10, False)
    assert web["steady"] == 4 * 2 * 25


def test_spring_on_kubernetes_takes_the_active_profile_and_counts_flyway() -> None:
    clients = _clients(_json(DEPLOYED / "spring-k8s"))
    hikari = clients["Deployment/orders/orders (spring.datasource)"]
    flyway = clients["Deployment/orders/orders (spring.flyway)"]
    # SPRING_PROFILES_ACTIVE=prod: application-prod.yml's 30 over application.yml's 20
    assert _source(hikari, "pool") == (30, "application-prod.yml", 5, False)
    assert _source(hikari, "max_tasks")[:3] == (8, "deployment.yaml", 58)  # the HPA
    assert _source(flyway, "pool")[0] == 3 and flyway["steady"] == 8 * 3


def test_django_counts_a_connection_per_gunicorn_thread_and_celery_prefork_processes() -> None:
    clients = _clients(_json(DEPLOYED / "django-compose"))
    web, worker = clients["compose/web"], clients["compose/worker"]
    # no command in compose: the Dockerfile's CMD runs gunicorn -c gunicorn.conf.py
    assert _source(web, "processes") == (3, "gunicorn.conf.py", 5, False)
    assert _source(web, "pool") == (4, "gunicorn.conf.py", 7, False)
    assert _source(worker, "processes") == (4, "docker-compose.yml", 23, False)
    assert worker["pool"] == 1 and worker["steady"] == 4


def test_the_incidents_knex_service_is_budgeted_from_its_knexfile_alone() -> None:
    report = _json(DEPLOYED / "knex-ecs")
    billing = _clients(report)["aws_ecs_service.billing"]
    assert _source(billing, "pool") == (10, "knexfile.js", 4, False)
    assert billing["steady"] == 38 * 10
    [cb101] = [f for f in report["findings"] if f["rule_id"] == "CB101"]
    # the fix writes knex's own setting: the default the knexfile gives PG_POOL_SIZE
    assert [(Path(e["file"]).name, e["line"]) for e in cb101["edits"]] == [("knexfile.js", 4)]
    assert "|| '2'" in cb101["edits"][0]["new"]


def test_prisma_takes_connection_limit_from_the_units_database_url() -> None:
    app = _clients(_json(DEPLOYED / "prisma-compose"))["compose/app"]
    assert _source(app, "pool") == (8, "docker-compose.yml", 13, False)
    assert app["steady"] == 12 * 8


def test_go_pgxpool_max_conns_from_the_code_of_the_image_built_here() -> None:
    report = _json(DEPLOYED / "go-k8s")
    ledger = _clients(report)["Deployment/payments/ledger"]
    assert _source(ledger, "pool") == (25, "pool.go", 16, False)
    assert "named for the build" in " ".join(ledger["notes"])


def test_every_client_names_the_library_of_its_pool() -> None:
    expected = {
        "rails-compose": {"compose/web": "activerecord", "compose/sidekiq": "activerecord"},
        "spring-k8s": {"Deployment/orders/orders (spring.datasource)": "hikaricp",
                       "Deployment/orders/orders (spring.flyway)": "flyway"},
        "django-compose": {"compose/web": "django", "compose/worker": "django"},
        "knex-ecs": {"aws_ecs_service.billing": "knex"},
        "prisma-compose": {"compose/app": "prisma"},
        "go-k8s": {"Deployment/payments/ledger": "pgxpool"},
    }
    for name, libraries in expected.items():
        found = {client.where.address: client.library
                 for client in _model(DEPLOYED / name).clients}
        assert found == libraries, name


def test_a_cpu_count_is_unknown_even_under_a_cpu_limit(tmp_path: Path) -> None:
    """multiprocessing.cpu_count() counts the machine's CPUs, not the container's limit."""
    tree = tmp_path / "shop"
    shutil.copytree(DEPLOYED / "django-compose", tree)
    conf = tree / "gunicorn.conf.py"
    conf.write_text(conf.read_text().replace(
        "import os\n", "import multiprocessing\nimport os\n").replace(
        'int(os.environ.get("GUNICORN_WORKERS", 3))', "multiprocessing.cpu_count() * 2 + 1"))
    report = _json(tree)
    web = _clients(report)["compose/web"]
    assert web["processes"] is None and _source(web, "processes")[1:3] == ("gunicorn.conf.py", 6)
    [cb103] = [f for f in report["findings"] if f["rule_id"] == "CB103"
               and f["resource"] == "compose/web"]
    assert "CPUs is not known" in cb103["message"]
    assert "not the container's CPU limit" in " ".join(web["notes"])


def test_javascript_that_cannot_be_evaluated_is_an_unknown_pool_at_its_line(
        tmp_path: Path) -> None:
    tree = tmp_path / "billing"
    shutil.copytree(DEPLOYED / "knex-ecs", tree)
    knexfile = tree / "knexfile.js"
    knexfile.write_text(knexfile.read_text().replace("max: POOL_SIZE", "max: sizeFor(env)"))
    report = _json(tree)
    billing = _clients(report)["aws_ecs_service.billing"]
    assert billing["pool"] is None and _source(billing, "pool")[1:3] == ("knexfile.js", 15)
    assert any(f["rule_id"] == "CB103" and "knexfile.js:15" in f["message"]
               for f in report["findings"])


def test_erb_that_cannot_be_evaluated_is_an_unknown_pool_at_its_line(tmp_path: Path) -> None:
    tree = tmp_path / "store"
    shutil.copytree(DEPLOYED / "rails-compose", tree)
    database = tree / "config" / "database.yml"
    database.write_text(database.read_text().replace(
        '<%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>', "<%= Settings.database.pool %>"))
    report = _json(tree)
    web = _clients(report)["compose/web"]
    assert web["pool"] is None and _source(web, "pool")[1:3] == ("database.yml", 11)
    [cb103] = [f for f in report["findings"] if f["rule_id"] == "CB103"
               and f["resource"] == "compose/web"]
    assert "database.yml:11" in cb103["message"] and "Settings" not in cb103["message"]


def test_a_10_mb_knexfile_is_refused_quickly_with_a_located_message(tmp_path: Path) -> None:
    tree = tmp_path / "bundle"
    shutil.copytree(DEPLOYED / "knex-ecs", tree)
    (tree / "knexfile.js").write_bytes(b"var a=1;" * (10 * 1024 * 1024 // 8))
    started = time.perf_counter()
    outcome = run_main("capacity", str(tree), "--format", "json")
    assert time.perf_counter() - started < 10
    assert outcome.code == 2
    [error] = [e for e in outcome.json()["errors"] if e["file"].endswith("knexfile.js")]
    assert "not read" in error["message"]


def test_an_application_no_unit_runs_is_unread_never_applied_to_a_guess(tmp_path: Path) -> None:
    shutil.copytree(DEPLOYED / "go-k8s", tmp_path / "tree")
    shutil.copytree(DEPLOYED / "spring-k8s" / "orders", tmp_path / "tree" / "orders")
    model = _model(tmp_path / "tree")
    # the ledger image names its build; nothing runs orders here
    assert _client(model, "Deployment/payments/ledger").library == "pgxpool"
    [unread] = model.unread
    assert unread.what.endswith("orders") and unread.file.endswith("application.yml")
    # a config file found later goes where connbudget runs: the path is from there
    directory = os.path.relpath(tmp_path / "tree" / "orders")
    assert f'[tool.connbudget.apps] "{directory}" = ["<unit address>"]' in unread.fix


def test_the_config_maps_an_application_directory_to_its_units(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(DEPLOYED / "go-k8s", tree)
    shutil.copytree(DEPLOYED / "spring-k8s" / "orders", tree / "orders")
    manifest = tree / "deploy" / "ledger.yaml"
    manifest.write_text(manifest.read_text() + """\
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: payments
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: checkout
          image: registry.example.com/payments/checkout-service:2.0.0
          env:
            - name: DB_HOST
              value: ledger-db-rw.payments.svc
""")
    (tree / ".connbudget.toml").write_text(
        '[apps]\n"orders" = ["Deployment/payments/checkout"]\n')
    model = _model(tree)
    checkout = _client(model, "Deployment/payments/checkout (spring.datasource)")
    assert checkout.pool.value == 20 and checkout.library == "hikaricp"
    assert model.unread == []


def test_the_apps_mapping_is_validated(tmp_path: Path) -> None:
    for text, message in (('[apps]\n"missing" = ["compose/web"]\n', "no such directory"),
                          ('[apps]\n"." = [1]\n', "must be a list of strings"),
                          ('[apps]\n"." = []\n', "names no deploying unit")):
        (tmp_path / ".connbudget.toml").write_text(text)
        try:
            load_settings([str(tmp_path)])
        except UsageError as error:
            assert message in str(error)
        else:
            raise AssertionError(text)


def test_application_files_are_never_taken_for_kubernetes_or_compose(tmp_path: Path) -> None:
    spring = tmp_path / "src" / "main" / "resources" / "application.yml"
    spring.parent.mkdir(parents=True)
    spring.write_text("apiVersion: v2\nkind: service\nspring:\n  datasource:\n    url: x\n")
    rails = tmp_path / "config" / "database.yml"
    rails.parent.mkdir()
    rails.write_text("services:\n  pool: 5\n")
    for path, kind in ((spring, "spring"), (rails, "rails"),
                       (DEPLOYED / "rails-compose" / "Dockerfile", "dockerfile")):
        found = claim(Candidate(str(path), reader=lambda p, n: Path(p).read_bytes()[:n]))
        assert found is not None and found.name == kind, path


def test_a_fix_inserts_the_framework_setting_a_file_leaves_unset(tmp_path: Path) -> None:
    """HikariCP's default pool, stated where application.yml would set it: CB103 clears."""
    from conftest import apply_edits

    tree = tmp_path / "tree"
    shutil.copytree(DEPLOYED / "spring-k8s", tree)
    (tree / "orders" / "src" / "main" / "resources" / "application-prod.yml").unlink()
    base = tree / "orders" / "src" / "main" / "resources" / "application.yml"
    base.write_text(base.read_text().replace("      maximum-pool-size: 20\n", ""))
    report = _json(tree)
    [cb103] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert "spring.datasource.hikari.maximum-pool-size" in cb103["fix"]
    apply_edits(cb103["edits"])
    assert "maximum-pool-size: 10" in base.read_text()
    assert not [f for f in _json(tree)["findings"] if f["rule_id"] == "CB103"]


def test_the_dockerfiles_env_and_cmd_apply_under_the_units_own(tmp_path: Path) -> None:
    from connbudget.frontends.apps import dockerfile

    tree = tmp_path / "shop"
    shutil.copytree(DEPLOYED / "django-compose", tree)
    (tree / "Dockerfile").write_text(
        "FROM python:3.12-slim AS base\n"
        "ENV GUNICORN_WORKERS=5 \\\n    PYTHONUNBUFFERED=1\n"
        'CMD ["gunicorn", "shop.wsgi:application", "-c", "gunicorn.conf.py", "--threads", "2"]\n'
        "FROM base\nCOPY . /app\n")
    read = dockerfile.read_file(str(tree / "Dockerfile"))
    assert not isinstance(read, Exception)
    # the last stage inherits the stage it is built FROM
    assert read.env["GUNICORN_WORKERS"].value == "5" and read.command[0] == "gunicorn"
    web = _clients(_json(tree))["compose/web"]
    assert _source(web, "processes") == (5, "Dockerfile", 2, False)
    assert web["pool"] == 2  # --threads 2 over the config file's 4
    compose = tree / "docker-compose.yml"
    compose.write_text(compose.read_text().replace(
        "      DB_HOST: db\n", "      DB_HOST: db\n      GUNICORN_WORKERS: \"2\"\n", 1))
    assert _clients(_json(tree))["compose/web"]["processes"] == 2


def test_a_section_the_files_cannot_choose_is_unknown_not_counted_twice(tmp_path: Path) -> None:
    tree = tmp_path / "store"
    shutil.copytree(DEPLOYED / "rails-compose", tree)
    compose = tree / "docker-compose.yml"
    # RAILS_ENV comes from an env_file that is not read: any section of database.yml may apply
    compose.write_text(compose.read_text().replace(
        "  web:\n    build: .\n", "  web:\n    build: .\n    env_file: .env.production\n"))
    model = _model(tree)
    [web] = [c for c in model.clients if c.where.address.startswith("compose/web")]
    assert web.pool.value is None and "which section applies" in web.pool.origin.text


def test_a_large_dockerfile_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    from connbudget.frontends.apps import dockerfile

    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine\n" + "RUN true \\\n" * 20_000 + "CMD sh\n")
    started = time.perf_counter()
    refused = dockerfile.read_file(str(path))
    assert time.perf_counter() - started < 1
    assert not isinstance(refused, dockerfile.Dockerfile) and refused.line == 1
    assert "not read" in refused.message


def test_a_unit_whose_server_cannot_be_told_has_unknown_processes(tmp_path: Path) -> None:
    tree = tmp_path / "store"
    shutil.copytree(DEPLOYED / "rails-compose", tree)
    (tree / "Dockerfile").unlink()  # no CMD; compose names none: puma or sidekiq?
    compose = tree / "docker-compose.yml"
    compose.write_text(compose.read_text().replace(
        "    command: bundle exec puma -C config/puma.rb\n", ""))
    web = _client(_model(tree), "compose/web")
    assert web.processes.value is None and "which server runs" in web.processes.origin.text
    assert web.pool.value == 5  # the pool still bounds each process


def test_prismas_default_pool_counts_the_machines_cores_so_it_is_unknown(tmp_path: Path) -> None:
    tree = tmp_path / "accounts"
    shutil.copytree(DEPLOYED / "prisma-compose", tree)
    compose = tree / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("&connection_limit=8", ""))
    report = _json(tree)
    app = _clients(report)["compose/app"]
    assert app["pool"] is None and _source(app, "pool")[1:3] == ("schema.prisma", 10)
    [cb103] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert "physical CPU cores is not known" in cb103["message"]


def test_a_workload_of_terraforms_kubernetes_provider_runs_the_application(
        tmp_path: Path) -> None:
    tree = tmp_path / "stack"
    shutil.copytree(DEPLOYED / "spring-k8s" / "orders", tree / "orders")
    (tree / "main.tf").write_text("""\
resource "aws_db_instance" "main" {
  identifier     = "orders"
  engine         = "postgres"
  instance_class = "db.m6g.large"
}

resource "kubernetes_deployment_v1" "orders" {
  metadata {
    name = "orders"
  }
  spec {
    replicas = 3
    template {
      spec {
        container {
          name  = "orders"
          image = "ghcr.io/acme/orders:1.4.2"
          env {
            name  = "DB_HOST"
            value = aws_db_instance.main.address
          }
        }
      }
    }
  }
}
""")
    model = _model(tree)
    hikari = _client(model, "kubernetes_deployment_v1.orders (spring.datasource)")
    assert hikari.pool.value == 20 and hikari.library == "hikaricp"
    # spring.datasource.url reads ${DB_HOST}: the database the unit's DB_HOST names
    assert hikari.target is not None and hikari.target[1] == "aws_db_instance.main"
