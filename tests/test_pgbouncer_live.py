"""connbudget's PgBouncer worst case is what a real PgBouncer opens.

PostgreSQL 15 (tests/pg.py) behind PgBouncer 1.18 (the Debian package), each scenario a
fixtures/pgbouncer/live/*.ini with its host pointed at the test server: more clients than pool
slots hold a server connection for a moment each, and the peak of server connections PostgreSQL
sees (pg_stat_activity) must equal connbudget's worst case for those clients. Then every ini
fixture is started by the real PgBouncer: it must start, or refuse to, exactly as connbudget
says for 1.18.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from conftest import FIXTURES, apply_edits, run_cli
from pg import Server, running_server
from pgbouncer_live import PGBOUNCER, Clients, drive, running_pgbouncer, try_start

from connbudget.frontends.pgbouncer.ini import load_pgbouncer
from connbudget.providers.pgbouncer.pools import worst_case_server_connections

LIVE = FIXTURES / "pgbouncer" / "live"
VERSION = "1.18"
USERLIST = ("alice", "bob", "capped", "authenticator")

pytestmark = pytest.mark.skipif(not Path(PGBOUNCER).exists() or shutil.which("initdb") is None,
                                reason="needs PgBouncer and PostgreSQL (make test installs them)")

SETUP = [
    "ALTER SYSTEM SET max_connections = 100",
    "CREATE ROLE alice LOGIN", "CREATE ROLE bob LOGIN",
    "CREATE ROLE capped LOGIN CONNECTION LIMIT 5", "CREATE ROLE authenticator LOGIN",
    "SET password_encryption = md5; CREATE ROLE dave LOGIN PASSWORD 'live-test-only'",
    "CREATE DATABASE app", "CREATE DATABASE other",
]
# auth_query through a SECURITY DEFINER function, slowed so that logins pile up and the
# auth_user's pool fills as the main pool does
LOOKUP = ("CREATE FUNCTION lookup(u text, OUT usename name, OUT passwd text) RETURNS record "
          "LANGUAGE sql SECURITY DEFINER AS $$ SELECT usename, passwd::text FROM pg_shadow, "
          "pg_sleep(1) WHERE usename = u $$")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as running:
        for sql in SETUP:
            running.psql("-c", sql)
        running.psql("-c", LOOKUP, database="app")
        yield running


def _ini(server: Server, name: str, text: str | None = None) -> str:
    """A live fixture with its host pointed at the test server's socket."""
    body = text if text is not None else (LIVE / name).read_text()
    return body.replace("host=db.internal port=5432",
                        f"host={server.socket_dir} port={server.port}")


def _worst(name: str, users: list[str], databases: list[str] | None = None) -> int:
    config = load_pgbouncer(str(LIVE / name), VERSION)
    assert config.errors == []
    worst = worst_case_server_connections(config, users, databases, USERLIST)
    assert worst.total is not None, worst.unknown
    return worst.total


SCENARIOS = {
    # name: (client groups, processes)
    "pool-reserve.ini": ([Clients("alice", "app", 14)], 1),
    "two-users.ini": ([Clients("alice", "app", 9), Clients("bob", "app", 9)], 1),
    "two-aliases.ini": ([Clients("alice", "app", 8), Clients("alice", "app_ro", 8)], 1),
    "auth-query.ini": ([Clients("dave", "app", 30, "live-test-only")], 1),
    "wildcard.ini": ([Clients("alice", "app", 12), Clients("alice", "other", 12)], 1),
    "user-caps.ini": ([Clients("alice", "app", 6), Clients("alice", "other", 6),
                       Clients("bob", "app", 14), Clients("bob", "other", 14)], 1),
    "session.ini": ([Clients("alice", "app", 11)], 1),
    "reuseport.ini": ([Clients("alice", "app", 40)], 2),
}
EXPECTED = {"pool-reserve.ini": 8, "two-users.ini": 12, "two-aliases.ini": 10,
            "auth-query.ini": 20, "wildcard.ini": 16, "user-caps.ini": 21, "session.ini": 7,
            "reuseport.ini": 16}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_peak_server_connections_equal_the_worst_case(server: Server, name: str) -> None:
    groups, processes = SCENARIOS[name]
    users = sorted({group.user for group in groups})
    databases = sorted({group.database for group in groups})
    worst = _worst(name, users, databases) * processes
    with running_pgbouncer(_ini(server, name), USERLIST, processes=processes) as bouncer:
        load = drive(server, bouncer, groups)
    assert (load.peak, worst) == (EXPECTED[name], EXPECTED[name]), load.errors[:3]
    assert load.errors == ()


def test_role_limit_below_the_pool_caps_the_server_and_queues_clients(server: Server,
                                                                     tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pgbouncer.ini").write_text((LIVE / "role-limit.ini").read_text())
    (tree / "main.tf").write_text(_MAIN_TF.format(max_connections=100, role=_ROLE_TF))
    (tree / ".connbudget.toml").write_text(_pins(tree / "pgbouncer.ini", ["capped"]))
    report = _capacity(tree)
    assert report["budgets"][0]["worst_case"] == 12
    role = [f for f in report["findings"] if f["rule_id"] == "CB104"]
    assert len(role) == 1 and "as role capped" in role[0]["message"]
    assert "query_wait_timeout" in role[0]["message"]
    with running_pgbouncer(_ini(server, "role-limit.ini"), USERLIST) as bouncer:
        # the first five hold their connections past query_wait_timeout (2 s), so the rest wait
        load = drive(server, bouncer, [Clients("capped", "app", 16)], hold=3, timeout=8)
        log = bouncer.log()
    # PostgreSQL stops the pool at the role's limit; PgBouncer logs it and keeps the clients
    # queued until query_wait_timeout drops them, as the CB104 message says
    assert load.peak == 5
    assert 'login failed: FATAL: too many connections for role "capped"' in log
    assert load.errors and all("query_wait_timeout" in error for error in load.errors)


def test_clients_of_a_pool_with_no_server_connection_get_the_postgres_error(
        server: Server) -> None:
    async def take_the_role_slots() -> list[asyncpg.Connection]:
        return [await asyncpg.connect(host=str(server.socket_dir), port=server.port,
                                      user="capped", database="app") for _ in range(5)]

    async def release(connections: list[asyncpg.Connection]) -> None:
        for connection in connections:
            await connection.close()

    loop = asyncio.new_event_loop()
    held = loop.run_until_complete(take_the_role_slots())
    try:
        with running_pgbouncer(_ini(server, "role-limit.ini"), USERLIST) as bouncer:
            load = drive(server, bouncer, [Clients("capped", "app", 3)])
    finally:
        loop.run_until_complete(release(held))
        loop.close()
    assert load.ok == 0
    assert all('too many connections for role "capped"' in error for error in load.errors)


_MAIN_TF = """resource "aws_db_parameter_group" "main" {{
  name   = "main-postgres15"
  family = "postgres15"

  parameter {{
    name  = "max_connections"
    value = "{max_connections}"
  }}
}}

resource "aws_db_instance" "main" {{
  identifier           = "main"
  engine               = "postgres"
  instance_class       = "db.t3.medium"
  parameter_group_name = aws_db_parameter_group.main.name
}}

{role}"""

_ROLE_TF = """
resource "postgresql_role" "capped" {
  name             = "capped"
  login            = true
  connection_limit = 5
}
"""


def _pins(ini: Path, users: list[str]) -> str:
    # the ini names db.internal, a host no scanned database answers to: the mapping says which
    return (f'[poolers."{ini}"]\npgbouncer-version = "{VERSION}"\n'
            f"users = {json.dumps(users)}\n\n"
            f'[clients]\n"{ini}" = "aws_db_instance.main"\n')


def _capacity(tree: Path) -> dict[str, object]:
    result = run_cli("capacity", str(tree), "--format", "json", cwd=tree)
    assert result.code in (0, 1), result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def test_the_computed_fix_converges_on_the_real_pgbouncer(server: Server,
                                                         tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    ini = tree / "pgbouncer.ini"
    ini.write_text((LIVE / "two-aliases-uncapped.ini").read_text())
    # max_connections 20, 5 reserved: 15 usable, 12 at the 80 % threshold; 2 x 8 = 16 > 15
    (tree / "main.tf").write_text(_MAIN_TF.format(max_connections=20, role=""))
    (tree / ".connbudget.toml").write_text(_pins(ini, ["alice"]))
    before = _capacity(tree)
    fixes = [f for f in before["findings"] if f["rule_id"] == "CB104"]  # type: ignore[index]
    assert len(fixes) == 1 and "16 server connections" in fixes[0]["message"]
    edits = fixes[0]["edits"]
    assert edits and all(edit["file"] == str(ini) for edit in edits)
    assert not any("pool_mode" in edit["new"] for edit in edits)  # it keeps its own pool mode
    apply_edits(edits)
    after = _capacity(tree)
    # nothing left but the alarm the bare tree lacks (CB109)
    assert [f["rule_id"] for f in after["findings"]] == ["CB109"]  # type: ignore[index]
    worst = after["budgets"][0]["worst_case"]  # type: ignore[index]
    with running_pgbouncer(_ini(server, "", ini.read_text()), USERLIST) as bouncer:
        load = drive(server, bouncer, [Clients("alice", "app", 12),
                                       Clients("alice", "app_ro", 12)])
    assert load.peak == worst == 12


# ---- every ini fixture, started by the real PgBouncer -------------------------------------

INI_FIXTURES = sorted(p for p in (FIXTURES / "pgbouncer").rglob("*.ini")
                      if "conf.d" not in p.parts) + sorted((FIXTURES / "capacity").rglob("*.ini"))


def _private(text: str, directory: Path) -> str:
    """The file with PgBouncer kept on a private unix socket, whatever it says: the settings go
    at the end of its last [pgbouncer] section (each [pgbouncer] header resets the section)."""
    overrides = (f"listen_addr =\nlisten_port = 6432\nunix_socket_dir = {directory}\n"
                 f"logfile =\npidfile =\nauth_file = {directory}/userlist.txt\n")
    lines = text.split("\n")
    headers = [n for n, line in enumerate(lines) if line.strip() == "[pgbouncer]"]
    if not headers:
        return text
    end = next((n for n in range(headers[-1] + 1, len(lines))
                if lines[n].strip().startswith("[")), len(lines))
    return "\n".join(lines[:end] + [overrides] + lines[end:])


@pytest.mark.parametrize("path", INI_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_pgbouncer_starts_exactly_when_connbudget_says_it_does(path: Path) -> None:
    config = load_pgbouncer(str(path), VERSION)
    refusals = [e for e in config.errors if "refuses to start" in e.message]
    with tempfile.TemporaryDirectory(prefix="cb-pgb-") as name:
        directory = Path(name)
        shutil.copytree(path.parent, directory / "tree")
        copy = directory / "tree" / path.name
        (directory / "userlist.txt").write_text('"app" ""\n')
        subprocess.run(["chown", "-R", "postgres", str(directory)], check=False)
        directory.chmod(0o777)
        result = try_start(_private(copy.read_text(), directory), copy.parent, path.name)
    assert result.started == (not refusals), (refusals, result.log[-600:])
