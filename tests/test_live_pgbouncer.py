"""`connbudget live --pgbouncer`: a real PgBouncer 1.18 admin console against its ini.

The running PgBouncer reads fixtures/live/repo/pgbouncer/pgbouncer.ini with its host pointed at
the test server (and trust authentication, an admin user, a private socket); the drifted one
runs a larger default_pool_size and pool_size than the ini, with more clients holding server
connections than the budget counts for it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import FIXTURES
from inprocess import Outcome, run_main
from pg import Server, running_server
from pgbouncer_live import PGBOUNCER, Bouncer, running_pgbouncer

pytestmark = pytest.mark.skipif(not Path(PGBOUNCER).exists() or shutil.which("initdb") is None,
                                reason="needs PgBouncer and PostgreSQL (make test installs them)")

REPO = FIXTURES / "live" / "repo"
INI = REPO / "pgbouncer" / "pgbouncer.ini"
RDS_HOST = "host=proddb.abcdefghij.eu-west-1.rds.amazonaws.com port=5432"
# what a test PgBouncer needs beyond the reviewed ini: logins without passwords, an admin
ACCESS = "auth_type = trust\nadmin_users = admin\n"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server({"max_connections": "40"}) as running:
        for sql in ("CREATE ROLE app LOGIN CONNECTION LIMIT 20", "CREATE DATABASE app"):
            running.psql("-c", sql)
        yield running


@pytest.fixture(scope="module")
def bouncer(server: Server) -> Iterator[Bouncer]:
    """A PgBouncer that runs the reviewed ini."""
    with running_pgbouncer(_running_ini(server), users=["admin", "app"]) as running:
        yield running


def _running_ini(server: Server, *changes: tuple[str, str]) -> str:
    text = INI.read_text().replace(RDS_HOST, f"host={server.socket_dir} port={server.port}")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    return text + ACCESS


def _admin(bouncer: Bouncer) -> str:
    return f"host={bouncer.host} port={bouncer.port} user=admin dbname=pgbouncer"


def _live(server: Server, bouncer: Bouncer, *args: str) -> Outcome:
    return run_main("live", "--dsn", f"host={server.socket_dir} port={server.port} "
                    "user=postgres dbname=postgres", "--pgbouncer", _admin(bouncer), str(REPO),
                    "--database", "aws_db_instance.main", "--format", "json", *args)


def _cb118(outcome: Outcome) -> list[dict[str, Any]]:
    return [f for f in outcome.json()["findings"] if f["rule_id"] == "CB118"]


def _hold(bouncer: Bouncer, count: int) -> list[psycopg.Connection[Any]]:
    """`count` clients of database app, each holding a server connection (an open
    transaction)."""
    held = []
    for _ in range(count):
        connection = psycopg.connect(host=bouncer.host, port=bouncer.port, user="app",
                                     dbname="app", autocommit=True)
        connection.execute("BEGIN")
        connection.execute("SELECT 1")
        held.append(connection)
    return held


def test_a_pgbouncer_running_its_ini_has_no_difference(server: Server,
                                                       bouncer: Bouncer) -> None:
    held = _hold(bouncer, 3)
    try:
        outcome = _live(server, bouncer)
    finally:
        for connection in held:
            connection.close()
    assert _cb118(outcome) == []
    facts = outcome.json()["live"]["pgbouncer"]
    assert facts["version"] == "1.18.0"
    assert facts["server_connections"] == 3
    [pool] = facts["pools"]
    assert (pool["database"], pool["user"], pool["clients_active"]) == ("app", "app", 3)
    assert outcome.json()["live"]["pgbouncer_ini"] == str(INI)


def test_settings_and_server_connections_beyond_the_ini_are_cb118(server: Server) -> None:
    ini = _running_ini(server, ("pool_size=8", "pool_size=12"),
                       ("default_pool_size = 20", "default_pool_size = 25"))
    with running_pgbouncer(ini, users=["admin", "app"]) as bouncer:
        held = _hold(bouncer, 10)
        try:
            outcome = _live(server, bouncer)
            text = run_main("live", "--dsn", f"host={server.socket_dir} port={server.port} "
                            "user=postgres dbname=postgres", "--pgbouncer", _admin(bouncer)).out
        finally:
            for connection in held:
                connection.close()
    found = {(f["line"], f["message"].split(" but ")[0].split(" runs ")[-1])
             for f in _cb118(outcome)}
    lines = INI.read_text().splitlines()
    pool_line = next(n for n, line in enumerate(lines, 1) if "pool_size=8" in line)
    default_line = next(n for n, line in enumerate(lines, 1) if "default_pool_size" in line)
    assert (default_line, "with default_pool_size = 25") in found
    assert (pool_line, "database app with pool_size 12") in found
    [over] = [f for f in _cb118(outcome) if "server connections now" in f["message"]]
    assert "holds 10 server connections now, more than the 8 the budget counts" in \
        over["message"]
    assert "PGBOUNCER 1.18.0" in text
    assert any(line.split()[:5] == ["app", "app", "10", "0", "10"] for line in text.splitlines())


def test_a_pgbouncer_url_that_is_not_an_admin_console_is_exit_2(server: Server,
                                                                bouncer: Bouncer) -> None:
    outcome = run_main("live", "--dsn", f"host={server.socket_dir} port={server.port} "
                       "user=postgres dbname=postgres", "--pgbouncer",
                       f"host={bouncer.host} port={bouncer.port} user=app dbname=app")
    assert outcome.code == 2
    assert "does not lead to a PgBouncer admin console" in outcome.err
    assert outcome.out == ""


def test_a_pgbouncer_url_that_is_postgresql_is_exit_2(server: Server) -> None:
    plain = f"host={server.socket_dir} port={server.port} user=postgres"
    outcome = run_main("live", "--dsn", plain, "--pgbouncer", plain + " dbname=pgbouncer")
    assert outcome.code == 2
    assert "this is PostgreSQL itself, not PgBouncer's admin console" in outcome.err
    outcome = run_main("live", "--dsn", plain, "--pgbouncer", plain + " dbname=postgres")
    assert outcome.code == 2
    assert "does not lead to a PgBouncer admin console" in outcome.err
