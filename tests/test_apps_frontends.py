"""The application configuration readers: expressions, evaluation, positions, defaults, errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

from connbudget.frontends.apps import claims, commands, defaults, go, node, python, rails, spring
from connbudget.frontends.apps.model import Const, Cpu, Env, Op, Span, Unknown, UrlParam, evaluate
from connbudget.frontends.apps.read import read_apps

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"


def _pools(result, name=None, variant=None):
    return [pool for pool in result.pools if (name is None or pool.name == name)
            and (variant is None or pool.variant.value == variant)]


def test_defaults_table_parses_and_every_row_cites_a_source_and_date():
    table = defaults.table()
    assert table[("hikaricp", "maximumPoolSize")].expr == Const(10, None, table[
        ("hikaricp", "maximumPoolSize")].expr.source)
    for row in table.values():
        assert row.source and row.read.startswith("20")
    assert evaluate(defaults.default("pgxpool", "pool_max_conns"), {}, 8).value == 8
    assert evaluate(defaults.default("pgxpool", "pool_max_conns"), {}, 2).value == 4
    assert evaluate(defaults.default("prisma", "connection_limit"), {}, 8, 4).value == 9
    assert evaluate(defaults.default("prisma", "connection_limit"), {}, 8).value is None


def test_evaluate_env_default_set_secret_and_unknown_environment():
    at = Span("config/database.yml", 12, 9, 12, 50)
    expr = Env("RAILS_MAX_THREADS", Const(5, at), at)
    assert evaluate(expr, {}, None) == (5, "RAILS_MAX_THREADS unset: default 5 "
                                           "(config/database.yml:12)")
    assert evaluate(expr, {"RAILS_MAX_THREADS": "25"}, None).value == 25
    assert evaluate(expr, {"RAILS_MAX_THREADS": None}, None).value is None
    assert evaluate(expr, None, None).value is None
    assert evaluate(expr, {"RAILS_MAX_THREADS": "lots"}, None).value is None
    assert evaluate(Env("X", Const(3), None, True), {"X": ""}, None).value == 3


def test_evaluate_cpu_and_unknown_are_never_guessed():
    expr = Op("+", (Op("*", (Cpu(False), Const(2))), Const(1)))
    assert evaluate(expr, {}, None).value is None
    assert evaluate(expr, {}, 4).value == 9
    assert evaluate(Unknown("a Ruby method call"), {}, 4).value is None


def test_url_param_reads_the_parameter_of_the_unit_url_and_never_shows_the_password():
    expr = UrlParam("DATABASE_URL", ("connection_limit",), Const(5))
    found = evaluate(expr, {"DATABASE_URL": "postgres://u:hunter2@db/app?connection_limit=3"},
                     None)
    assert found.value == 3 and "hunter2" not in found.why
    assert evaluate(expr, {"DATABASE_URL": "postgres://db/app"}, None).value == 5
    assert evaluate(expr, {"DATABASE_URL": None}, None).value is None


def test_rails_database_yml_erb_anchors_and_environments():
    result = rails.read_file(str(APPS / "rails-web/config/database.yml"))
    assert result.errors == []
    primary = _pools(result, "primary", "production")[0]
    setting = primary.settings[0]
    assert setting.name == "pool" and (setting.at.line, setting.at.column) == (24, 11)
    assert evaluate(primary.size, {}, None).value == 10
    assert evaluate(primary.size, {"DB_POOL": "25"}, None).value == 25
    assert evaluate(primary.size, {"DATABASE_URL": "postgres://h/db?pool=40"}, None).value == 40
    queue = _pools(result, "queue", "production")[0]
    assert queue.settings[0].shared == "default" and queue.settings[0].at.line == 7
    assert evaluate(queue.size, {"RAILS_MAX_THREADS": "12"}, None).value == 12
    assert evaluate(queue.size, {}, None).why.startswith("RAILS_MAX_THREADS unset: default 5")
    cache = _pools(result, "cache", "production")[0]
    assert cache.settings[0].value is None and cache.settings[0].insert.line == 33
    assert cache.target.text == "postgres://cache:***@cache-db.internal:5432/store_cache"
    assert primary.target.env == ("DB_HOST", "DATABASE_URL")
    assert primary.variant.selected({"RAILS_ENV": "production"}) is True
    assert primary.variant.selected({}) is True
    assert primary.variant.selected({"RAILS_ENV": "staging"}) is False


def test_rails_erb_code_tag_makes_sizes_unknown_and_bad_ruby_is_unknown(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "database.yml").write_text(
        "production:\n  adapter: postgresql\n<% if ENV['BIG'] %>\n  pool: 50\n<% end %>\n")
    pool = rails.read_file(str(config / "database.yml")).pools[0]
    assert isinstance(pool.settings[0].value.default, Unknown)
    assert evaluate(pool.size, {}, None).value is None
    (config / "database.yml").write_text(
        "production:\n  adapter: postgresql\n  pool: <%= Settings.db.pool %>\n")
    pool = rails.read_file(str(config / "database.yml")).pools[0]
    unknown = pool.settings[0].value.default
    assert isinstance(unknown, Unknown) and unknown.at.line == 3
    assert "Settings" not in unknown.why


def test_rails_invalid_yaml_is_a_located_error(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "database.yml").write_text("production:\n  pool: [1, 2\n")
    result = rails.read_file(str(config / "database.yml"))
    assert result.errors and result.errors[0].line >= 2 and result.pools == []


def test_puma_workers_and_threads_with_env_defaults():
    server = rails.read_file(str(APPS / "rails-web/config/puma.rb")).servers[0]
    assert evaluate(server.processes.effective, {}, None).value == 2
    assert evaluate(server.processes.effective, {"WEB_CONCURRENCY": "4"}, None).value == 4
    assert evaluate(server.threads.effective, {}, None).value == 5
    assert (server.threads.at.line, server.threads.at.column) == (3, 21)
    assert (server.processes.at.line, server.processes.at.column) == (16, 9)


def test_sidekiq_concurrency_top_level_and_per_environment():
    servers = rails.read_file(str(APPS / "rails-web/config/sidekiq.yml")).servers
    top = next(server for server in servers if server.variant.value is None)
    production = next(server for server in servers if server.variant.value == "production")
    assert evaluate(top.threads.effective, {}, None).value == 5
    assert evaluate(production.threads.effective, {}, None).value == 20
    assert evaluate(production.threads.effective, {"SIDEKIQ_CONCURRENCY": "8"}, None).value == 8


def test_spring_yaml_properties_profiles_relaxed_binding_and_flyway():
    resources = APPS / "spring-orders/src/main/resources"
    result = spring.read_group(sorted(str(path) for path in resources.iterdir()))
    assert result.errors == []
    base = _pools(result, "spring.datasource", None)[0]
    assert base.settings[0].env_override == "SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE"
    assert (base.settings[0].at.line, base.settings[0].at.column) == (11, 26)
    assert evaluate(base.size, {}, None).value == 20
    assert evaluate(base.size, {"DB_POOL_SIZE": "30"}, None).value == 30
    assert evaluate(base.size, {"SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE": "7"}, None).value == 7
    prod = _pools(result, "spring.datasource", "prod")[0]
    assert evaluate(prod.size, {}, None).value == 50 and prod.settings[0].at.line == 4
    assert prod.target.text.endswith("orders?sslmode=require")
    assert prod.variant.selected({"SPRING_PROFILES_ACTIVE": "cloud,prod"}) is True
    reporting = _pools(result, "reporting.datasource", "prod")[0]
    assert evaluate(reporting.size, {}, None).value == 4
    flyway = _pools(result, "spring.flyway", None)[0]
    assert flyway.transient and evaluate(flyway.size, {}, None).value == 3
    assert evaluate(_pools(result, "spring.datasource", "staging")[0].size, {}, None).value == 8


def test_spring_properties_unset_pool_gets_hikari_default_and_an_insert(tmp_path):
    path = tmp_path / "application.properties"
    path.write_text("spring.datasource.url=jdbc:postgresql://db:5432/app\n"
                    "spring.datasource.username=app\n")
    pool = spring.read_group([str(path)]).pools[0]
    assert evaluate(pool.size, {}, None).value == 10
    assert pool.settings[0].insert.line == 3
    assert pool.settings[0].insert.text.startswith("spring.datasource.hikari.maximum-pool-size=")


def test_gunicorn_conf_cpu_count_and_threads():
    server = python.read_file(str(APPS / "django-shop/gunicorn.conf.py")).servers[0]
    assert evaluate(server.processes.effective, {}, None).value is None
    assert evaluate(server.processes.effective, {}, 2).value == 5
    assert server.processes.at.line == 6 and server.model == "gthread"
    assert evaluate(server.threads.effective, {"GUNICORN_THREADS": "8"}, None).value == 8


def test_django_one_connection_per_thread_and_pool_option():
    result = python.read_file(str(APPS / "django-shop/shop/settings.py"))
    default = _pools(result, "default")[0]
    assert default.per == "thread" and evaluate(default.size, {}, None).value == 1
    assert default.target.env == ("DB_HOST",)
    reporting = _pools(result, "reporting")[0]
    assert reporting.per == "process" and evaluate(reporting.size, {}, None).value == 8
    assert reporting.settings[0].at.line == 32
    assert not _pools(result, "legacy")


def test_sqlalchemy_engine_and_flask_engine_options():
    engine = python.read_file(str(APPS / "flask-api/api/db.py")).pools[0]
    assert engine.name == "engine" and evaluate(engine.size, {}, None).value == 25
    assert [setting.at.line for setting in engine.settings] == [9, 10]
    flask = python.read_file(str(APPS / "flask-api/config.py"))
    production = _pools(flask, "ProductionConfig")[0]
    assert evaluate(production.size, {}, None).value == 20
    assert production.target.env == ("DATABASE_URL",)
    assert production.settings[1].insert.line == 12


def test_python_syntax_error_is_located(tmp_path):
    path = tmp_path / "gunicorn.conf.py"
    path.write_text("workers = (\n")
    result = python.read_file(str(path))
    assert result.errors and result.errors[0].file == str(path) and result.servers == []


def test_knexfile_pool_max_from_process_env_per_node_env():
    result = node.read_file(str(APPS / "node-knex/knexfile.js"))
    production = _pools(result, "production")[0]
    assert (production.settings[0].at.line, production.settings[0].at.column) == (15, 26)
    assert evaluate(production.size, {}, None).value == 10
    assert evaluate(production.size, {"PG_POOL_SIZE": "2"}, None).value == 2
    development = _pools(result, "development")[0]
    assert development.settings[0].insert.text == ", pool: { max: {value} }"
    assert production.variant.selected({"NODE_ENV": "production"}) is True


def test_node_postgres_pool_and_prisma_url():
    pool = node.read_file(str(APPS / "node-pg/src/db.js")).pools[0]
    assert evaluate(pool.size, {}, 2).value == 8
    assert evaluate(pool.size, {"PG_POOL_MAX": "3"}, None).value == 3
    prisma = node.read_file(str(APPS / "prisma-app/prisma/schema.prisma")).pools[0]
    assert evaluate(prisma.size, {"DATABASE_URL": "postgres://h/db"}, 8, 4).value == 9
    assert evaluate(prisma.size, {"DATABASE_URL": "postgres://h/db?connection_limit=3"},
                    None).value == 3


def test_a_large_minified_knexfile_is_refused_quickly(tmp_path):
    path = tmp_path / "knexfile.js"
    path.write_bytes(b"var a=1;" * (10 * 1024 * 1024 // 8))
    started = time.perf_counter()
    result = node.read_file(str(path))
    assert time.perf_counter() - started < 1.0
    assert result.errors and "not read" in result.errors[0].message and result.pools == []


def test_javascript_that_cannot_be_evaluated_is_unknown_with_its_line(tmp_path):
    path = tmp_path / "knexfile.js"
    path.write_text("module.exports = {\n  client: 'pg',\n  pool: { max: getSize() },\n};\n")
    size = node.read_file(str(path)).pools[0].settings[0].value
    assert isinstance(size, Unknown) and size.at.line == 3


def test_go_pgxpool_max_conns_and_database_sql_unlimited():
    pools = go.read_file(str(APPS / "go-pgx/internal/store/pool.go")).pools
    configured = next(pool for pool in pools if pool.name == "cfg")
    assert configured.settings[0].at.line == 17
    assert evaluate(configured.size, {}, 2).value == 8
    replica = next(pool for pool in pools if pool.name == "pgxpool")
    assert evaluate(replica.size, {}, None).value == 6
    assert replica.target.text == "postgres://ledger_ro@replica.internal:5432/ledger" \
                                  "?pool_max_conns=6"
    unlimited = go.read_file(str(APPS / "go-sql/main.go")).pools[0]
    assert unlimited.unlimited_at_or_below_zero and evaluate(unlimited.size, {}, None).value == 0
    assert unlimited.settings[0].insert.text == "\tdb.SetMaxOpenConns({value})\n"


def test_server_flags_of_gunicorn_sidekiq_celery_and_puma():
    at = Span("docker-compose.yml", 7, 14, 7, 60)
    server, _ = commands.server_from_command(["gunicorn", "-w", "3", "app:app"], at)
    assert evaluate(server.processes.effective, {}, None).value == 3
    server, config = commands.server_from_command(
        ["bundle", "exec", "sidekiq", "-c", "12", "-C", "config/sidekiq.yml"], at)
    assert evaluate(server.threads.effective, {}, None).value == 12
    assert config == "config/sidekiq.yml"
    server, _ = commands.server_from_command(["celery", "-A", "shop", "worker"], at)
    assert server.model == "prefork" and evaluate(server.processes.effective, {}, 4).value == 4


def test_claims_by_name_and_sniff():
    assert claims.rails("app/config/database.yml", b"")
    assert not claims.rails("app/spec/config/database.yml", b"")
    assert claims.spring("svc/src/main/resources/application-prod.yml", b"")
    assert not claims.spring("svc/src/test/resources/application.yml", b"")
    assert claims.python("shop/settings.py", b"DATABASES = {}")
    assert not claims.python("shop/views.py", b"from django.shortcuts import render")
    assert claims.node("src/db.ts", b"import { Pool } from 'pg';")
    assert not claims.node("node_modules/pg/lib/index.js", b"require('pg')")
    assert claims.go("internal/db.go", b'import "github.com/jackc/pgx/v5/pgxpool"')
    assert not claims.go("internal/db_test.go", b"pgxpool")


def test_read_apps_groups_by_application_and_isolates_a_bad_file(tmp_path):
    paths = [str(path) for path in APPS.rglob("*") if path.is_file()]
    bad = tmp_path / "gunicorn.conf.py"
    bad.write_text("workers = (\n")
    apps = read_apps([*paths, str(bad)])
    by_name = {os.path.basename(app.directory): app for app in apps}
    assert {"rails-web", "spring-orders", "django-shop", "flask-api", "node-knex", "node-pg",
            "prisma-app", "go-pgx", "go-sql"} <= set(by_name)
    assert by_name["rails-web"].errors == [] and len(by_name["rails-web"].servers) == 3
    assert "RAILS_MAX_THREADS" in by_name["rails-web"].env
    assert by_name[os.path.basename(str(tmp_path))].errors
