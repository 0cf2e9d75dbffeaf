from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from connbudget.comments import Comment
from connbudget.frontends.pgbouncer.env import config_from_env
from connbudget.frontends.pgbouncer.ini import load_pgbouncer, parse_connect_string
from connbudget.frontends.pgbouncer.model import REDACTED
from connbudget.providers.pgbouncer.pools import worst_case_server_connections

HERE = FIXTURES / "pgbouncer"
CORPUS_FILES = sorted((CORPUS / "pgbouncer").iterdir())


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_parses_with_located_errors_only(path: Path) -> None:
    config = load_pgbouncer(str(path))
    for error in config.errors:
        assert error.file == str(path) and error.line > 0
    assert worst_case_server_connections(config) is not None


def test_corpus_test_ini_reads_every_database_and_user() -> None:
    config = load_pgbouncer(str(CORPUS / "pgbouncer" / "pgbouncer-test-test.ini"))
    assert config.errors == []
    assert len(config.databases) == 45
    assert set(config.users) >= {"maxedout", "poolsize1", "respoolsize1"}
    assert config.default_pool_size().value == 5
    assert config.pool_mode().value == "statement"


def test_crunchy_placeholders_are_unknown_not_errors() -> None:
    path = CORPUS / "pgbouncer" / "crunchy-containers-conf-pgbouncer.ini"
    config = load_pgbouncer(str(path))
    assert config.errors == []
    pool = config.default_pool_size()
    assert pool.value is None and "DEFAULT_POOL_SIZE" in pool.unknown
    assert worst_case_server_connections(config).total is None


def test_defaults_apply_when_nothing_is_set() -> None:
    config = load_pgbouncer(str(HERE / "defaults.ini"))
    assert config.errors == []
    assert config.default_pool_size().value == 20
    assert config.reserve_pool_size().value == 0
    assert config.max_client_conn().value == 100
    assert config.max_db_connections().value == 0
    assert config.max_user_connections().value == 0
    assert config.integer("listen_port").value == 6432
    mode = config.pool_mode()
    # the default of the release that reads the file, with the source line that sets it
    assert (mode.value, mode.is_default, mode.source) == (
        "session", True, "PgBouncer 1.25 default (pgbouncer/pgbouncer@515b6284d273bfd62d1b7e3931"
                         "ccdce41f9bfe7b:src/main.c:313)")


def test_settings_carry_file_and_line() -> None:
    path = HERE / "overrides.ini"
    config = load_pgbouncer(str(path))
    size = config.default_pool_size()
    expected = (25, str(path), _line_of(path, "default_pool_size"))
    assert (size.value, size.file, size.line) == expected
    app = config.databases["app"]
    assert app.line == _line_of(path, "app = ")
    assert app.params["pool_size"].line == app.line


def test_password_in_connect_string_is_never_kept() -> None:
    config = load_pgbouncer(str(HERE / "overrides.ini"))
    assert config.databases["reports"].params["password"].value == REDACTED
    assert "not-for-output" not in repr(config)


def test_per_database_and_per_user_overrides_in_worst_case() -> None:
    config = load_pgbouncer(str(HERE / "overrides.ini"))
    worst = worst_case_server_connections(config, users=["web", "batch"])
    by_db = {term.database: term for term in worst.databases}
    # app: web 30 + 5 (database pool_size, reserve_pool), batch 50 + 0 ([users]) = 85
    assert by_db["app"].total == 85
    # reports forces user=reporter: one pool of 25 + 5, capped by max_db_connections=10
    assert by_db["reports"].forced_user == "reporter"
    assert (by_db["reports"].pools_total, by_db["reports"].total) == (30, 10)
    # legacy: web 25 + 5 (global), batch 50 + 0
    assert by_db["legacy"].total == 80
    assert worst.total == 175
    assert worst.assumptions == ()


def test_pool_settings_say_where_they_came_from() -> None:
    path = HERE / "overrides.ini"
    config = load_pgbouncer(str(path))
    worst = worst_case_server_connections(config, users=["batch"])
    app = next(term for term in worst.databases if term.database == "app")
    pool = app.pools[0]
    assert pool.pool_size.line == _line_of(path, "batch = ")
    assert pool.pool_mode.value == "session"
    legacy = next(term for term in worst.databases if term.database == "legacy")
    assert legacy.pools[0].reserve_pool_size.value == 0


def test_unknown_client_users_are_unbounded_unless_a_cap_bounds_them() -> None:
    config = load_pgbouncer(str(HERE / "overrides.ini"))
    worst = worst_case_server_connections(config)
    # every user gets its own pool: app and legacy have no max_db_connections
    assert worst.total is None and worst.unbounded
    assert "max_db_connections" in worst.bound_by
    assert any("app, legacy" in text for text in worst.unknown)


def test_unknown_client_users_behind_a_database_cap_count_the_cap() -> None:
    config = load_pgbouncer(str(HERE / "user-caps.ini"))
    worst = worst_case_server_connections(config, databases=["a"])
    assert worst.total is None
    capped = load_pgbouncer(str(HERE / "live" / "two-aliases.ini"), "1.18")
    # max_db_connections = 5 on each alias bounds any number of users
    assert worst_case_server_connections(capped).total == 10


def test_auth_file_users_are_the_users_when_no_auth_query_adds_others() -> None:
    config = load_pgbouncer(str(HERE / "live" / "two-users.ini"), "1.18")
    worst = worst_case_server_connections(config, userlist={"alice", "bob"})
    assert worst.total == 12
    assert any("auth_file" in text for text in worst.assumptions)


def test_auth_query_opens_a_pool_of_its_own() -> None:
    config = load_pgbouncer(str(HERE / "live" / "auth-query.ini"), "1.18")
    worst = worst_case_server_connections(config, ["dave"], userlist={"authenticator"})
    assert worst.total == 20
    assert worst.roles == {"authenticator": 10, "dave": 10}
    # a client listed in the auth_file is not looked up: no auth pool
    listed = worst_case_server_connections(config, ["dave"], userlist={"dave"})
    assert listed.total == 10


def test_role_need_keeps_the_user_cap() -> None:
    # [users] web max_user_connections=15 over two databases of 10 each: web needs 15, not 20
    config = load_pgbouncer(str(HERE / "user-caps.ini"))
    worst = worst_case_server_connections(config, users=["web"])
    assert worst.roles == {"web": 15}
    assert "web <= max_user_connections 15" in worst.formula()


def test_max_user_connections_bounds_the_total() -> None:
    config = load_pgbouncer(str(HERE / "user-caps.ini"))
    worst = worst_case_server_connections(config, users=["web", "worker"])
    # per database 10 + 10 = 20, two databases = 40; web is capped at 15 over both: 15 + 20
    assert sum(term.total or 0 for term in worst.databases) == 40
    assert worst.total == 35
    assert [cap.value for cap in worst.user_caps] == [15]


def test_wildcard_database_serves_names_not_listed() -> None:
    config = load_pgbouncer(str(HERE / "wildcard.ini"))
    assert config.fallback() is not None
    worst = worst_case_server_connections(config, users=["web"],
                                          databases=["billing", "orders", "audit"])
    by_db = {term.database: term for term in worst.databases}
    assert (by_db["billing"].entry, by_db["billing"].total) == ("billing", 5)
    assert (by_db["orders"].entry, by_db["orders"].host, by_db["orders"].dbname) == (
        "*", "shared-db.internal", "orders")
    assert worst.total == 5 + 8 + 8


def test_wildcard_without_client_databases_is_unbounded_and_says_so() -> None:
    config = load_pgbouncer(str(HERE / "wildcard.ini"))
    worst = worst_case_server_connections(config, users=["web"])
    assert worst.total is None and worst.unbounded
    assert any("'*'" in text for text in worst.unknown)
    assert "max_user_connections" in worst.bound_by


def test_database_missing_without_wildcard_is_unknown() -> None:
    config = load_pgbouncer(str(HERE / "defaults.ini"))
    worst = worst_case_server_connections(config, databases=["other"])
    assert worst.total is None
    assert "other" in worst.unknown[0]


def test_formula_text_shows_the_math() -> None:
    config = load_pgbouncer(str(HERE / "overrides.ini"))
    worst = worst_case_server_connections(config, users=["web"])
    assert worst.formula() == ("app: web 30+5 + reports: min(max_db_connections 10, "
                               "reporter (forced) 25+5) + legacy: web 25+5 = 75")


def test_invalid_values_are_located_errors_and_the_rest_is_parsed() -> None:
    path = HERE / "invalid.ini"
    config = load_pgbouncer(str(path))
    located = {(error.line, error.message) for error in config.errors}
    refuses = "PgBouncer 1.25 refuses to start: "
    # a connect-string integer is read with atoi(): 'ten' is 0, which PgBouncer accepts
    assert config.databases["app"].params["pool_size"].value == "0"
    assert _line_of(path, "pool_size=ten") not in {line for line, _ in located}
    assert (_line_of(path, "pool_mode = fast"),
            refuses + "pool_mode: the value is not one of session, transaction, statement") \
        in located
    assert (_line_of(path, "default_pool_size"),
            refuses + "default_pool_size: the value is not an integer") in located
    assert (_line_of(path, "no equals"), refuses + "syntax error: expected 'key = value'") \
        in located
    assert config.max_client_conn().value == 500
    assert config.default_pool_size().value is None


def test_connect_string_errors_never_show_a_password() -> None:
    path = HERE / "invalid.ini"
    config = load_pgbouncer(str(path))
    broken = [e for e in config.errors if e.line == _line_of(path, "broken =")]
    assert len(broken) == 1
    assert "unterminated-secret-value" not in str(broken[0])


def test_include_is_read_relative_to_the_including_file() -> None:
    path = HERE / "include" / "main.ini"
    config = load_pgbouncer(str(path))
    assert config.errors == []
    pools = HERE / "include" / "conf.d" / "pools.ini"
    size = config.default_pool_size()
    assert (size.value, size.file, size.line) == (40, str(pools), 2)
    assert config.databases["app"].file == str(HERE / "include" / "conf.d" / "databases.ini")
    worst = worst_case_server_connections(config, users=["web", "api"])
    assert worst.total == 60


def test_an_included_file_brings_its_own_comments_with_its_section() -> None:
    config = load_pgbouncer(str(HERE / "include" / "main.ini"))
    pools = str(HERE / "include" / "conf.d" / "pools.ini")
    assert config.comments[pools] == [
        Comment(pools, 4, 1, "; connbudget:ignore CB104 sized with the database team", (1, 5))]
    assert config.comments[str(HERE / "include" / "main.ini")] == []  # it holds no ignore


def test_include_cycle_is_a_located_error() -> None:
    path = HERE / "include-cycle" / "a.ini"
    config = load_pgbouncer(str(path))
    assert len(config.errors) == 1
    error = config.errors[0]
    assert error.file.endswith("b.ini") and error.line == 2 and "cycle" in error.message
    # b.ini's own [pgbouncer] header set the section back to its defaults, as PgBouncer does
    assert config.default_pool_size().value == 20
    assert config.reserve_pool_size().value == 3


def test_missing_include_is_a_located_error() -> None:
    path = HERE / "include-missing.ini"
    config = load_pgbouncer(str(path))
    assert [(e.file, e.line) for e in config.errors] == [(str(path), 2)]
    assert config.default_pool_size().value == 7


def test_absolute_include_is_unknown_not_read() -> None:
    config = load_pgbouncer(str(CORPUS / "pgbouncer" / "supabase-all-in-one-pgbouncer.ini"))
    assert config.errors == []
    assert [u.line for u in config.unknowns] == [361, 362]
    assert config.default_pool_size().value == 15


def test_jinja_values_are_unknown_not_errors() -> None:
    path = HERE / "template.ini.j2"
    config = load_pgbouncer(str(path))
    assert config.errors == []
    assert config.default_pool_size().value is None
    assert config.max_db_connections().unknown
    assert config.max_client_conn().value == 1000
    assert config.pool_mode().value == "transaction"
    assert {u.line for u in config.unknowns} >= {_line_of(path, "default_pool_size"),
                                                  _line_of(path, "extra_settings")}


def test_unreadable_file_is_a_located_error() -> None:
    config = load_pgbouncer(str(HERE / "no-such.ini"))
    assert len(config.errors) == 1 and "cannot read" in config.errors[0].message


def _container_env(name: str) -> tuple[dict[str, str | None], dict[str, int], str, int, str]:
    from connbudget.frontends.kubernetes.objects import load_kubernetes

    found = load_kubernetes([str(FIXTURES / "k8s" / name)])
    container = found.workloads[0].containers[0]
    lines = {var.name: var.line for var in container.env}
    values = {var.name: var.value for var in container.env}
    return values, lines, container.file, container.line, container.image


def test_edoburu_container_environment() -> None:
    env, lines, file, line, image = _container_env("pgbouncer.yaml")
    config = config_from_env(env, file, line, lines, image=image)
    assert config.errors == []
    mode = config.pool_mode()
    assert (mode.value, mode.line) == ("transaction", lines["POOL_MODE"])
    assert config.default_pool_size().value == 25
    assert config.max_db_connections().value == 80
    assert config.max_client_conn().value == 1000
    assert config.integer("listen_port").value == 5432
    entry = config.databases["*"]
    assert entry.text("host") == "orders-db.cluster-abc.eu-west-1.rds.amazonaws.com"
    # edoburu uses DB_USER as auth_user: pools stay per client user
    assert entry.text("user") is None
    # DB_USER is the auth_user and in the auth_file edoburu writes: 'reporting' is looked up
    # through app's own pool, which app's clients use anyway
    worst = worst_case_server_connections(config, ["app", "reporting"], ["orders"], {"app"})
    assert worst.total == 50


def test_bitnami_container_environment() -> None:
    env, lines, file, line, image = _container_env("bitnami-pgbouncer.yaml")
    config = config_from_env(env, file, line, lines, image=image)
    assert config.errors == []
    assert config.integer("listen_port").value == 6432
    entry = config.databases["orders"]
    assert (entry.text("host"), entry.text("dbname"), entry.text("user")) == (
        "orders-db.internal", "orders", "app")
    worst = worst_case_server_connections(config, users=["a", "b"], databases=["orders"])
    # PGBOUNCER_SET_DATABASE_USER forces one pool: 15 + 5
    assert worst.total == 20


def test_database_url_environment_keeps_no_password() -> None:
    env: dict[str, str | None] = {
        "DATABASE_URL": "postgres://app:s3cr3t-pw@orders-db.internal:5433/orders",
        "DEFAULT_POOL_SIZE": "ten",
    }
    config = config_from_env(env, "deploy.yaml", 7)
    entry = config.databases["orders"]
    assert (entry.text("host"), entry.text("port"), entry.text("dbname")) == (
        "orders-db.internal", "5433", "orders")
    assert "s3cr3t-pw" not in repr(config)
    assert [str(error) for error in config.errors] == [
        "deploy.yaml:7: PgBouncer 1.25 refuses to start: env DEFAULT_POOL_SIZE: "
        "default_pool_size: the value is not an integer"]


def test_secret_environment_value_is_unknown() -> None:
    config = config_from_env({"DEFAULT_POOL_SIZE": None}, "deploy.yaml", 3)
    assert config.default_pool_size().value is None
    assert "secret" in config.default_pool_size().unknown


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc =';\n[]%#{}*_0123456789", max_size=120))
def test_any_connect_string_gives_pairs_or_a_message(text: str) -> None:
    result = parse_connect_string(text)
    assert isinstance(result, (list, str))


def test_keys_and_sections_pgbouncer_118_refuses_are_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "pgbouncer.ini"
    path.write_text("[databases]\napp = host=db dbname=app reserve_pool_size=2 POOL_SIZE=3\n"
                    "[users]\nweb = pool_size=5\n[PgBouncer]\n")
    config = load_pgbouncer(str(path), "1.18")
    assert [(e.line, e.message) for e in config.errors] == [
        (2, "PgBouncer 1.18 refuses to start: database 'app': unrecognized parameter "
            "'reserve_pool_size'"),
        (2, "PgBouncer 1.18 refuses to start: database 'app': unrecognized parameter "
            "'POOL_SIZE' (names are case-sensitive: 'pool_size')"),
        (4, "PgBouncer 1.18 refuses to start: user 'web': unrecognized parameter 'pool_size'"),
        (5, "PgBouncer 1.18 refuses to start: invalid section [PgBouncer] (names are "
            "case-sensitive: [pgbouncer])"),
        (1, "PgBouncer 1.18 refuses to start: the [pgbouncer] section is missing"),
    ]
    # the same [users] pool_size is a setting from 1.23 on
    assert load_pgbouncer(str(path), "1.23").users["web"].params["pool_size"].value == "5"


def test_values_are_parsed_as_pgbouncer_parses_them(tmp_path: Path) -> None:
    path = tmp_path / "pgbouncer.ini"
    path.write_text("[databases]\napp = host=db dbname=app pool_size=10abc\n"
                    "[pgbouncer]\nDefault_Pool_Size = 5\nmax_client_conn = 0x20\n"
                    "reserve_pool_size = 3abc\n")
    config = load_pgbouncer(str(path), "1.18")
    assert config.databases["app"].params["pool_size"].value == "10"
    assert config.max_client_conn().value == 32
    assert [e.message for e in config.errors] == [
        "PgBouncer 1.18 refuses to start: unknown key 'Default_Pool_Size' in [pgbouncer] "
        "(names are case-sensitive: 'default_pool_size')",
        "PgBouncer 1.18 refuses to start: reserve_pool_size: the value is not an integer"]


def test_image_tags_name_the_release_the_images_table_gives() -> None:
    config = config_from_env({"DB_HOST": "db"}, "deploy.yaml", 1,
                             image="edoburu/pgbouncer:v1.23.1-p1")
    assert (config.version, config.version_source) == (
        "1.23", "PgBouncer 1.23.1 (image edoburu/pgbouncer:v1.23.1-p1)")
    bitnami = config_from_env({"DB_HOST": "db"}, "deploy.yaml", 1,
                              image="bitnami/pgbouncer:1.24.1-debian-12-r3")
    assert bitnami.version == "1.24"


@pytest.mark.parametrize("image", ["edoburu/pgbouncer:latest", "bitnami/pgbouncer:1.18.1",
                                   "pgbouncer/pgbouncer:1.15.0", "example/pgbouncer:1.23.1"])
def test_an_image_naming_no_known_release_is_read_as_the_newest_and_says_so(image: str) -> None:
    config = config_from_env({"DB_HOST": "db"}, "deploy.yaml", 1, image=image)
    assert config.version == "1.25"
    assert config.version_source == (f"PgBouncer 1.25 (assumed: image {image} names no release "
                                     "connbudget knows; 1.25 is the newest it has read)")


def test_a_pin_wins_over_the_image_tag() -> None:
    config = config_from_env({"DB_HOST": "db"}, "deploy.yaml", 1,
                             image="edoburu/pgbouncer:v1.24.1-p1", version="1.18")
    assert (config.version, config.version_source) == (
        "1.18", "PgBouncer 1.18 (pinned in [tool.connbudget.poolers])")


def test_so_reuseport_without_a_processes_pin_is_cb103(tmp_path: Path) -> None:
    from conftest import run_cli

    main = (FIXTURES / "capacity" / "pgbouncer-transaction" / "main.tf").read_text()
    (tmp_path / "main.tf").write_text(main)
    ini = (FIXTURES / "capacity" / "pgbouncer-transaction" / "pgbouncer.ini").read_text()
    (tmp_path / "pgbouncer.ini").write_text(ini + "so_reuseport = 1\n")
    report = run_cli("capacity", str(tmp_path), "--format", "json").json()
    assert isinstance(report, dict)
    found = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert len(found) == 1 and "so_reuseport = 1" in found[0]["message"]
    assert "processes = " in found[0]["fix"]
    assert report["budgets"][0]["worst_case"] is None
    (tmp_path / ".connbudget.toml").write_text(
        f'[poolers."{tmp_path / "pgbouncer.ini"}"]\nprocesses = 2\n')
    pinned = run_cli("capacity", str(tmp_path), "--format", "json", cwd=tmp_path).json()
    assert isinstance(pinned, dict)
    assert pinned["budgets"][0]["worst_case"] == 80
    # pinned, nothing is left but the alarm the bare stack lacks
    assert [f["rule_id"] for f in pinned["findings"]] == ["CB109"]
