"""The final role state `sql2json --combined` computes equals what PostgreSQL 15 itself ends with.

Each directory under fixtures/sql/postgres/ is a migration tree. The same files are applied to a
real, throwaway PostgreSQL server in natural version order, and `pg_roles` (login, superuser,
connection limit) and `pg_db_role_setting` (ALTER ROLE ... SET) are compared role by role with the
front end's final state.

A tree with a `placeholders.json` is not plain SQL: it maps each placeholder, as the front end
names it, to the value it takes when applied (psql variables are passed with `-v`, template text is
filled in). A role the front end names by a value only known at run time (`{admin_role}`) must
match one PostgreSQL role no other name matches. Where the front end cannot decide whether a
statement runs, a state's `maybe` holds the other values it allows: PostgreSQL's value must be one
of them, and a role that may not exist may be missing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _placeholders(case: Path) -> dict[str, str]:
    path = case / "placeholders.json"
    values: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    return values


def _apply(server: Server, case: Path, tmp_path: Path | None = None) -> None:
    values = _placeholders(case)
    variables = [arg for name, value in values.items() if name.startswith(":")
                 for arg in ("-v", f"{name[1:]}={value}")]
    paths = _migrations(case)
    templates = {name: value for name, value in values.items() if not name.startswith(":")}
    if templates:
        assert tmp_path is not None
        rendered = []
        for path in paths:
            text = path.read_text()
            for name, value in templates.items():
                text = text.replace(name, value)
            rendered.append(tmp_path / path.name)
            rendered[-1].write_text(text)
        paths = rendered
    server.psql(*variables, *[arg for path in paths for arg in ("-f", str(path))])


Role = dict[str, Any]  # login, superuser, connection_limit, settings


def _pg_roles(server: Server) -> dict[str, Role]:
    rows = server.query("SELECT rolname, rolcanlogin, rolsuper, rolconnlimit FROM pg_roles "
                        "WHERE oid >= 16384")
    roles: dict[str, Role] = {
        name: {"login": login == "t", "superuser": superuser == "t",
               "connection_limit": int(limit), "settings": {}}
        for name, login, superuser, limit in rows}
    settings = server.query("SELECT r.rolname, s.setting FROM pg_roles r "
                            "JOIN pg_db_role_setting d ON d.setrole = r.oid "
                            "AND d.setdatabase = 0 "
                            "CROSS JOIN LATERAL unnest(d.setconfig) AS s(setting) "
                            "WHERE r.oid >= 16384")
    for name, setting in settings:
        key, _, value = setting.partition("=")
        roles[name]["settings"][key] = value
    return roles


def _front_end_roles(case: Path) -> dict[str, Role]:
    run = run_cli("sql2json", "--combined", str(case))
    assert run.code == 0, run.err
    document = run.json()
    assert isinstance(document, dict)
    values = _placeholders(case)
    return {values.get(name, name): role for name, role in document["roles"].items()}


def _allows(role: Role, actual: Role | None) -> bool:
    """Whether the front end's final state of a role allows what PostgreSQL ended with."""
    maybe = role["maybe"]
    if actual is None:
        return False in maybe.get("exists", [])
    for attribute in ("login", "superuser", "connection_limit"):
        if actual[attribute] not in [role[attribute], *maybe.get(attribute, [])]:
            return False
    settings = {key: str(value) for key, value in role["settings"].items()}
    for key in {*settings, *actual["settings"]}:
        allowed = [settings.get(key), *maybe.get("settings", {}).get(key, [])]
        if actual["settings"].get(key) not in allowed:
            return False
    return True


def _run_time_named(name: str) -> bool:
    return "{" in name


@pytest.mark.parametrize("case", CASE_NAMES)
def test_final_role_state_matches_postgres(fresh: Server, case: str, tmp_path: Path) -> None:
    _apply(fresh, CASES / case, tmp_path)
    actual = _pg_roles(fresh)
    front = _front_end_roles(CASES / case)
    named = {name: role for name, role in front.items() if not _run_time_named(name)}
    for name, role in named.items():
        assert _allows(role, actual.get(name)), (name, role, actual.get(name))
    others = {name: role for name, role in actual.items() if name not in named}
    run_time = [role for name, role in front.items() if _run_time_named(name)]
    for role in run_time:
        match = next((n for n, r in others.items() if _allows(role, r)), None)
        assert match is not None, (role, others)
        del others[match]
    assert others == {}


def test_every_case_without_conditions_is_decided_exactly() -> None:
    """Only the trees with undecidable conditions or routines never called have maybes."""
    undecided = {name for name in CASE_NAMES
                 if any(role["maybe"] for role in _front_end_roles(CASES / name).values())}
    assert undecided == {"conditions-undecided", "procedure-called"}


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
