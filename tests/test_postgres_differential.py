"""The final role state `sql2json --combined` computes equals what PostgreSQL 15 itself ends with.

Each directory under fixtures/sql/postgres/ is a migration tree. The same files are applied to a
real, throwaway PostgreSQL server in natural version order, and `pg_roles` (login, superuser,
connection limit) and `pg_db_role_setting` (ALTER ROLE ... SET) are compared role by role with the
front end's final state.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from pg import Server, running_server, wait_until

CASES = FIXTURES / "sql" / "postgres"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
State = dict[str, tuple[bool, bool, int]]


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running_server() as running:
        yield running


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _migrations(case: Path) -> list[Path]:
    return sorted(case.glob("*.sql"), key=_natural_key)


DROP_OUR_ROLES = """DO $$
DECLARE role_name name;
BEGIN
  FOR role_name IN SELECT rolname FROM pg_roles WHERE oid >= 16384 LOOP
    EXECUTE format('DROP ROLE %I', role_name);
  END LOOP;
END
$$"""


@pytest.fixture
def fresh(server: Server) -> Server:
    """The cluster without any role or role setting a case made (the cases create no objects)."""
    server.psql("-c", "ALTER ROLE ALL RESET ALL", "-c", DROP_OUR_ROLES)
    return server


def _apply(server: Server, case: Path) -> None:
    files = [arg for path in _migrations(case) for arg in ("-f", str(path))]
    server.psql(*files)


def _pg_state(server: Server) -> State:
    rows = server.query("SELECT rolname, rolcanlogin, rolsuper, rolconnlimit FROM pg_roles "
                        "WHERE oid >= 16384")
    return {name: (login == "t", superuser == "t", int(limit))
            for name, login, superuser, limit in rows}


def _front_end_state(case: Path) -> State:
    run = run_cli("sql2json", "--combined", str(case))
    assert run.code == 0, run.err
    document = run.json()
    assert isinstance(document, dict)
    return {name: (role["login"], role["superuser"], role["connection_limit"])
            for name, role in document["roles"].items()}


@pytest.mark.parametrize("case", CASE_NAMES)
def test_final_role_state_matches_postgres(fresh: Server, case: str) -> None:
    _apply(fresh, CASES / case)
    assert _front_end_state(CASES / case) == _pg_state(fresh)


def _pg_settings(server: Server) -> dict[str, dict[str, str]]:
    """Each role's own settings (ALTER ROLE ... SET, not IN DATABASE), as name -> value."""
    rows = server.query("SELECT r.rolname, s.setting FROM pg_roles r "
                        "LEFT JOIN pg_db_role_setting d ON d.setrole = r.oid AND d.setdatabase = 0 "
                        "LEFT JOIN LATERAL unnest(d.setconfig) AS s(setting) ON true "
                        "WHERE r.oid >= 16384")
    settings: dict[str, dict[str, str]] = {}
    for name, setting in rows:
        role = settings.setdefault(name, {})
        if setting:
            key, _, value = setting.partition("=")
            role[key] = value
    return settings


def _front_end_settings(case: Path) -> dict[str, dict[str, str]]:
    document = run_cli("sql2json", "--combined", str(case)).json()
    assert isinstance(document, dict)
    return {name: {key: str(value) for key, value in role["settings"].items()}
            for name, role in document["roles"].items()}


@pytest.mark.parametrize("case", CASE_NAMES)
def test_final_role_settings_match_postgres(fresh: Server, case: str) -> None:
    _apply(fresh, CASES / case)
    assert _front_end_settings(CASES / case) == _pg_settings(fresh)


def _hold_session(server: Server, user: str) -> subprocess.Popen[str]:
    """A psql session that keeps one connection busy for up to a minute."""
    return subprocess.Popen(server.psql_args("-c", "SELECT pg_sleep(60)", user=user),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _sessions(server: Server, user: str) -> int:
    rows = server.query(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}'")
    return int(rows[0][0])


@pytest.fixture
def incident(fresh: Server) -> Server:
    _apply(fresh, CASES / "incident")
    return fresh


def _with_sessions_held(server: Server, user: str, count: int) -> subprocess.CompletedProcess[str]:
    """Hold COUNT connections as USER, then try one more and return how that went."""
    held = [_hold_session(server, user) for _ in range(count)]
    try:
        assert wait_until(lambda: _sessions(server, user) == count, timeout=20), \
            [p.stderr.read() if p.stderr and p.poll() is not None else "" for p in held]
        return server.psql("-c", "SELECT 1", user=user, check=False)
    finally:
        for proc in held:
            proc.kill()
            proc.wait(timeout=10)
        server.psql("-c", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          f"WHERE usename = '{user}'")


def test_connection_limit_rejects_the_connection_past_it(incident: Server) -> None:
    third = _with_sessions_held(incident, "appuser", 2)
    assert third.returncode != 0
    assert 'too many connections for role "appuser"' in third.stderr


def test_connection_limit_admits_connections_up_to_it(incident: Server) -> None:
    second = _with_sessions_held(incident, "appuser", 1)
    assert second.returncode == 0, second.stderr


def test_superuser_ignores_its_connection_limit(incident: Server) -> None:
    second = _with_sessions_held(incident, "dba", 1)
    assert second.returncode == 0, second.stderr
