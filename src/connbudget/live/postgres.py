"""A running PostgreSQL's connection facts, from its settings and catalog views, in one
read-only transaction (pg_stat_activity is read once per transaction: every count agrees).

Without pg_read_all_stats (pg_monitor holds it) PostgreSQL still lists other roles' sessions,
with their role and database, but hides their state, times, query and even their backend type:
a hidden row with a role and a database is counted as a hidden session (it may also be a
parallel worker or a logical walsender), never given a state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connbudget.live.connect import describe
from connbudget.live.facts import RoleFact, ServerFacts, Session, Slots
from connbudget.providers.registry import RESERVED_SETTINGS

if TYPE_CHECKING:
    from psycopg import Connection

_SETTINGS = """
SELECT current_setting('server_version'),
       current_setting('server_version_num')::int,
       current_user,
       current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int,
       current_setting('reserved_connections', true),
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
"""
# a platform's own reserved-slot settings: NULL on a server that does not have them
_PLATFORM = "SELECT {settings}"
# pg_use_reserved_connections exists from PostgreSQL 16 on.
_ROLES = """
SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolconnlimit, {reserved}, r.oid = 10
FROM pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY r.rolname
"""
_RESERVED_MEMBER = "pg_has_role(r.oid, 'pg_use_reserved_connections', 'USAGE')"
_SESSIONS = """
SELECT a.pid, a.usename, a.datname, a.state,
       extract(epoch FROM clock_timestamp() - a.state_change)::float8,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       a.state_change::text,
       CASE WHEN a.wait_event IS NOT NULL THEN a.wait_event_type || ':' || a.wait_event END,
       a.pid = pg_backend_pid(){details}
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend'
   OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL AND a.datid IS NOT NULL)
ORDER BY a.pid
"""
_DETAILS = ",\n       a.application_name, host(a.client_addr), a.query"


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _seconds(value: float | None) -> float | None:
    """An age; a session that changed state after this transaction's clock read is 0 s old."""
    return None if value is None else max(value, 0.0)


def _session(row: tuple[Any, ...], details: bool) -> Session:
    extra = {"application_name": row[9], "client_addr": row[10], "query": row[11]} \
        if details else {}
    return Session(pid=row[0], role=row[1], database=row[2], state=row[3],
                   state_seconds=_seconds(row[4]), transaction_seconds=_seconds(row[5]),
                   state_change=row[6], wait_event=row[7], own=row[8], **extra)


def read_server(connection: Connection[Any], details: bool) -> ServerFacts:
    """The facts, read in one transaction; `details`: also the query text, client address and
    application name of every session."""
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(_SETTINGS)
        settings = cursor.fetchone()
        assert settings is not None  # a SELECT without FROM returns its one row
        version, number, user, max_connections, superuser, reserved, sees_all = settings
        cursor.execute(_PLATFORM.format(settings=", ".join(
            "current_setting(%s, true)" for _ in RESERVED_SETTINGS)), RESERVED_SETTINGS)
        platform = cursor.fetchone() or ()
        reserved_member = _RESERVED_MEMBER if number >= 160000 else "NULL::boolean"
        cursor.execute(_ROLES.format(reserved=reserved_member))
        roles = tuple(RoleFact(*row) for row in cursor.fetchall())
        cursor.execute(_SESSIONS.format(details=_DETAILS if details else ""))
        sessions = tuple(_session(row, details) for row in cursor.fetchall())
    slots = Slots(max_connections, superuser, _integer(reserved), tuple(
        (name, found) for name, value in zip(RESERVED_SETTINGS, platform, strict=False)
        if (found := _integer(value)) is not None))
    return ServerFacts(server=describe(connection), version=version, version_num=number,
                       user=user, sees_all_sessions=bool(sees_all), slots=slots, roles=roles,
                       sessions=sessions, details_read=details)
