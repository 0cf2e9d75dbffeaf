"""A running PgBouncer's facts from its admin console (SHOW VERSION, CONFIG, DATABASES, POOLS).

The console speaks the simple query protocol only: psycopg's ClientCursor sends each SHOW as a
simple query. Columns are read by name, as releases add columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connbudget.live.connect import LiveError, describe
from connbudget.live.facts import BouncerDatabase, PgBouncerFacts, Pool

if TYPE_CHECKING:
    from psycopg import Connection

# The [pgbouncer] settings that decide how many server connections it opens and how many
# clients it takes (doc/config.md).
CAPACITY_SETTINGS = ("pool_mode", "default_pool_size", "min_pool_size", "reserve_pool_size",
                     "max_client_conn", "max_db_connections", "max_user_connections")
# SHOW POOLS: the server connections a pool holds (cancel-request connections hold no slot).
_SERVER_COLUMNS = ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
_ADMIN_DATABASE = "pgbouncer"


def _rows(connection: Connection[Any], command: str) -> list[dict[str, Any]]:
    from psycopg import ClientCursor

    with ClientCursor(connection) as cursor:
        cursor.execute(command)
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _pool(row: dict[str, Any]) -> Pool:
    servers = sum(_int(row.get(column)) or 0 for column in _SERVER_COLUMNS)
    wait = (_int(row.get("maxwait")) or 0) + (_int(row.get("maxwait_us")) or 0) / 1e6
    return Pool(database=row["database"], user=row["user"],
                clients_active=_int(row.get("cl_active")) or 0,
                clients_waiting=_int(row.get("cl_waiting")) or 0, servers=servers,
                servers_active=_int(row.get("sv_active")) or 0,
                servers_idle=_int(row.get("sv_idle")) or 0, max_wait_seconds=wait,
                pool_mode=row.get("pool_mode"))


def _database(row: dict[str, Any]) -> BouncerDatabase:
    return BouncerDatabase(name=row["name"], pool_size=_int(row.get("pool_size")),
                           min_pool_size=_int(row.get("min_pool_size")),
                           reserve_pool=_int(row.get("reserve_pool")),
                           pool_mode=row.get("pool_mode"),
                           max_db_connections=_int(row.get("max_connections")),
                           current_connections=_int(row.get("current_connections")))


def _version(connection: Connection[Any], option: str) -> str:
    import psycopg

    not_one = (f"{option} does not lead to a PgBouncer admin console (connect to its database "
               "'pgbouncer' as one of its admin_users or stats_users)")
    try:
        rows = _rows(connection, "SHOW VERSION")
    except psycopg.Error:
        raise LiveError(not_one) from None
    text = str(next(iter(rows[0].values()), "")) if rows else ""
    if not text.startswith("PgBouncer"):
        raise LiveError(not_one)
    return text.removeprefix("PgBouncer").strip()


def read_pgbouncer(connection: Connection[Any], option: str) -> PgBouncerFacts:
    version = _version(connection, option)
    config = {row["key"]: row["value"] for row in _rows(connection, "SHOW CONFIG")}
    settings = tuple((key, str(config[key])) for key in CAPACITY_SETTINGS if key in config)
    databases = tuple(_database(row) for row in _rows(connection, "SHOW DATABASES")
                      if row["name"] != _ADMIN_DATABASE)
    pools = tuple(_pool(row) for row in _rows(connection, "SHOW POOLS")
                  if row["database"] != _ADMIN_DATABASE)
    return PgBouncerFacts(server=describe(connection), version=version, settings=settings,
                          databases=databases, pools=pools)
