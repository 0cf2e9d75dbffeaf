"""CB114-CB119, `connbudget live`: the running server against the repository, each
difference a finding at the line of the file that declares the number.

A finding about something no file declares (a role the files do not know, usage with no
database matched) stands at the matched database's declaration, else at the first path named.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from connbudget.live.facts import IN_TRANSACTION, PgBouncerFacts, ServerFacts, Session
from connbudget.live.repository import Database, Declared, DeclaredPooler, Repository
from connbudget.live.units import duration
from connbudget.report import Finding


@dataclass(frozen=True)
class Scope:
    """What a comparison looks at: the facts, the files, and the matches between them."""

    server: ServerFacts
    repository: Repository
    database: Database | None
    threshold: float  # the alert threshold, a fraction of usable slots or of a role's limit
    idle_threshold: float  # seconds
    pgbouncer: PgBouncerFacts | None = None
    pooler: DeclaredPooler | None = None

    @property
    def where(self) -> tuple[str, int]:
        """Where a finding no file declares stands."""
        if self.database is not None:
            return self.database.file, self.database.line
        return self.repository.anchor, 0

    def at(self, declared: Declared) -> tuple[str, int]:
        return (declared.file, declared.line) if declared.file else self.where

    def role_place(self, role: str) -> tuple[tuple[str, int], tuple[str, int] | None, str]:
        """(where the role is declared, where its limit is set, the resource) or the fallback."""
        for declared in self.repository.roles:
            if declared.name == role:
                return (declared.file, declared.line), self.at(declared.limit), declared.resource
        return self.where, None, role


def sql_name(name: str) -> str:
    """A role name as SQL must write it (PostgreSQL's quote_ident): bare when it can be."""
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    keyword = name in RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and not keyword:
        return name
    return '"' + name.replace('"', '""') + '"'


def _limit(value: int | str | None) -> str:
    return "none (-1)" if value == -1 else str(value)


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def max_connections(scope: Scope) -> list[Finding]:
    """CB114: the server's max_connections and reserved slots against the budget's."""
    database = scope.database
    if database is None:
        return []
    slots, label = scope.server.slots, scope.server.server.address
    found = []
    declared = database.max_connections
    pin = (f"[tool.connbudget.databases.\"{database.address}\"] max-connections = "
           f"{slots.max_connections}")
    if declared.value is None:
        found.append(_cb114(scope, declared, (
            f"{database.address}: the files do not say its max_connections ({declared.source}); "
            f"the server {label} runs with {slots.max_connections}"), f"pin it: {pin}"))
    elif declared.value != slots.max_connections:
        assumed = " (assumed, not declared)" if declared.assumed else ""
        missing = ": the budget counts slots the server does not have" \
            if isinstance(declared.value, int) and declared.value > slots.max_connections else ""
        found.append(_cb114(scope, declared, (
            f"{database.address}: max_connections is {slots.max_connections} on the server "
            f"{label} but {declared.value} in the files{assumed} ({declared.source}){missing}"),
            _max_fix(declared, slots.max_connections, pin)))
    reserved = database.reserved
    if reserved.value is not None and reserved.value != slots.total_reserved:
        found.append(_cb114(scope, reserved, (
            f"{database.address}: {slots.total_reserved} slots are reserved on the server "
            f"{label} ({_reserved_parts(scope.server)}) but the budget counts "
            f"{reserved.value} ({reserved.source})"),
            f"make the files say what the server reserves, or pin it: [tool.connbudget."
            f"databases.\"{database.address}\"] reserved = {slots.total_reserved}"))
    return found


def _max_fix(declared: Declared, running: int, pin: str) -> str:
    if declared.assumed:
        return f"pin the real number: {pin}"
    return (f"find out why the server runs with {running} (a parameter group change waiting "
            "for a reboot, an instance class change, a setting made outside the files), then "
            f"make the files say {running} or apply them")


def _reserved_parts(server: ServerFacts) -> str:
    slots = server.slots
    parts = [f"superuser_reserved_connections {slots.superuser_reserved}"]
    if slots.reserved is not None:
        parts.append(f"reserved_connections {slots.reserved}")
    parts += [f"{name} {value}" for name, value in slots.platform_reserved]
    return " + ".join(parts)


def _cb114(scope: Scope, declared: Declared, message: str, fix: str) -> Finding:
    file, line = scope.at(declared)
    address = scope.database.address if scope.database else ""
    return Finding("CB114", message, file, line, address, fix)


def role_limits(scope: Scope) -> list[Finding]:
    """CB115: a role's CONNECTION LIMIT on the server against the files."""
    running = {role.name: role for role in scope.server.roles}
    found = []
    for declared in scope.repository.roles:
        role = running.get(declared.name)
        limit = declared.limit
        if role is None or limit.value is None or limit.allows(role.connection_limit):
            continue
        found.append(Finding(
            "CB115", f"role {declared.name}: CONNECTION LIMIT is {_limit(role.connection_limit)}"
            f" on the server {scope.server.server.address} but {_limit(limit.value)} in the "
            f"files ({limit.source})", limit.file, limit.line, declared.resource,
            _limit_fix(declared.name, declared.resource, limit.value,
                       role.connection_limit)))
    return found


def _limit_fix(name: str, resource: str, declared: int | str, running: int) -> str:
    again = (f"terraform apply sets {_limit(declared)} again, or connection_limit = {running} "
             f"in {resource}") if resource.startswith("postgresql_role.") else (
        f"a migration sets {_limit(declared)} again, or one that says ALTER ROLE "
        f"{sql_name(name)} CONNECTION LIMIT {running}")
    return (f"find who changed it outside the files, then make the two agree: {again} if "
            "that is the number meant")


def undeclared_roles(scope: Scope) -> list[Finding]:
    """CB116: a LOGIN role on the server that no file declares (when the files declare roles:
    a repository that manages none says nothing about roles)."""
    if not scope.repository.roles:
        return []
    declared = {role.name for role in scope.repository.roles if role.login is not False}
    nologin = {role.name for role in scope.repository.roles if role.login is False}
    file, line = scope.where
    found = []
    for role in scope.server.roles:
        if not role.login or role.bootstrap or role.name in declared:
            continue
        kind = "a superuser" if role.superuser else \
            f"CONNECTION LIMIT {_limit(role.connection_limit)}"
        held = scope.server.connections(role.name)
        files = "the files declare it NOLOGIN" if role.name in nologin \
            else "no file declares it"
        found.append(Finding(
            "CB116", f"role {role.name} can log in on the server {scope.server.server.address}"
            f" ({kind}, {held} connections now) but {files}: its connections are in no "
            "budget", file, line, f"role {role.name}",
            f"declare it where the other roles are declared (CREATE ROLE {sql_name(role.name)} "
            "LOGIN CONNECTION LIMIT n in a migration, or a postgresql_role), or ALTER ROLE "
            f"{sql_name(role.name)} NOLOGIN if nothing should use it"))
    return found


def usage(scope: Scope) -> list[Finding]:
    """CB117: connections now at or above the alert threshold of the usable slots, or of a
    role's CONNECTION LIMIT (saturation = connections / rolconnlimit)."""
    server, share = scope.server, scope.threshold
    found = []
    total, usable = server.connections(), server.slots.usable
    if usable > 0 and total >= share * usable:
        file, line = scope.at(scope.database.max_connections) if scope.database else scope.where
        worst = scope.database.worst_case if scope.database else None
        beyond = (f"; the budget's worst case is {worst}: something connects that the files "
                  "do not count") if worst is not None and total > worst else ""
        found.append(Finding(
            "CB117", f"{total} connections on the server {server.server.address} now: "
            f"{_percent(total, usable)} % of its {usable} usable slots (alert threshold "
            f"{round(share * 100)} %){beyond}", file, line,
            scope.database.address if scope.database else server.server.address,
            "see who holds the slots (the triage view of connbudget live's text output) and "
            "end what is stuck; then lower the pools or put PgBouncer in front"))
    for role in server.roles:
        limit = role.connection_limit
        held = server.connections(role.name)
        if role.superuser or limit <= 0 or held < share * limit:
            continue
        _, limit_at, resource = scope.role_place(role.name)
        file, line = limit_at or scope.where
        found.append(Finding(
            "CB117", f"role {role.name} holds {held} of its CONNECTION LIMIT {limit} on the "
            f"server {server.server.address} now ({_percent(held, limit)} %, alert threshold "
            f"{round(share * 100)} %): at {limit} PostgreSQL refuses its logins (too many "
            "connections for role)", file, line, resource,
            f"see the sessions of {role.name} in the triage view; raise its limit where the "
            "files set it, or lower the pools that log in as it"))
    return found


def idle_in_transaction(scope: Scope) -> list[Finding]:
    """CB119: sessions idle in a transaction longer than the idle threshold, per role."""
    stuck: dict[str, list[Session]] = defaultdict(list)
    for session in scope.server.clients:
        if session.state in IN_TRANSACTION and (session.state_seconds or 0) \
                >= scope.idle_threshold:
            stuck[session.role or "?"].append(session)
    found = []
    limit = duration(scope.idle_threshold)
    for role, sessions in sorted(stuck.items()):
        (file, line), _, resource = scope.role_place(role)
        longest = max(s.state_seconds or 0 for s in sessions)
        pids = ", ".join(str(s.pid) for s in sessions)
        found.append(Finding(
            "CB119", f"{len(sessions)} sessions of role {role} on the server "
            f"{scope.server.server.address} have been idle in a transaction for more than "
            f"{limit} (the longest {duration(longest)}; pids {pids}): each holds a connection "
            "slot, and its locks, until it ends", file, line, resource,
            _timeout_fix(role, resource, scope.idle_threshold)))
    return found


def _timeout_fix(role: str, resource: str, seconds: float) -> str:
    whole = max(int(seconds), 1)
    setting = (f"idle_in_transaction_session_timeout = {whole * 1000} in {resource}"
               if resource.startswith("postgresql_role.") else
               f"ALTER ROLE {sql_name(role)} SET idle_in_transaction_session_timeout = "
               f"'{whole}s'")
    return ("end them with the pg_terminate_backend statements connbudget live prints (it runs "
            f"none itself), then stop it recurring: {setting}")


def pgbouncer(scope: Scope) -> list[Finding]:
    """CB118: a running PgBouncer's settings against its ini, its server connections against
    the budget's worst case for it."""
    facts, pooler = scope.pgbouncer, scope.pooler
    if facts is None or pooler is None:
        return []
    found = [_setting_finding(scope, pooler, key, running, pooler.settings[key])
             for key, running in facts.settings if key in pooler.settings]
    found += _database_findings(scope, pooler, facts)
    held = facts.server_connections
    if pooler.worst_case is not None and held > pooler.worst_case:
        found.append(Finding(
            "CB118", f"PgBouncer {facts.server.address} holds {held} server connections now, "
            f"more than the {pooler.worst_case} the budget counts for {pooler.address}",
            pooler.file, pooler.line, pooler.address,
            "compare its SHOW DATABASES and SHOW POOLS with the ini: a [databases] entry, "
            "user or process the files do not have opens the others"))
    return [finding for finding in found if finding is not None]


def _differs(declared: Declared, running: str | int | None) -> bool:
    if declared.value is None or running is None:
        return False
    if isinstance(declared.value, int):
        try:
            return int(running) != declared.value
        except ValueError:
            return True
    return str(running).lower() != declared.value


def _setting_finding(scope: Scope, pooler: DeclaredPooler, key: str, running: str,
                     declared: Declared) -> Finding | None:
    if not _differs(declared, running):
        return None
    assert scope.pgbouncer is not None
    file, line = (declared.file, declared.line) if declared.file else (pooler.file, pooler.line)
    default = " (PgBouncer's default: the ini does not set it)" if declared.assumed else ""
    return Finding(
        "CB118", f"PgBouncer {scope.pgbouncer.server.address} runs with {key} = {running} but "
        f"{pooler.address} says {declared.value}{default}", file, line, pooler.address,
        _reload_fix(running))


def _reload_fix(running: str) -> str:
    return ("deploy the reviewed ini and reload it (RELOAD on the admin console), or make the "
            f"ini say {running} if that is what is meant: the budget is computed from the ini")


def _database_findings(scope: Scope, pooler: DeclaredPooler,
                       facts: PgBouncerFacts) -> list[Finding | None]:
    running = {database.name: database for database in facts.databases}
    found: list[Finding | None] = []
    for name, declared in sorted(pooler.databases.items()):
        database = running.get(name)
        if database is None:
            found.append(Finding(
                "CB118", f"PgBouncer {facts.server.address} has no database {name}, which "
                f"{pooler.address} declares", pooler.file, pooler.line, pooler.address,
                "deploy the reviewed ini and reload it (RELOAD on the admin console)"))
            continue
        values = {"pool_size": database.pool_size, "min_pool_size": database.min_pool_size,
                  "reserve_pool": database.reserve_pool,
                  "pool_mode": database.pool_mode or facts.setting("pool_mode"),
                  "max_db_connections": database.max_db_connections}
        for key, value in values.items():
            if _differs(declared[key], value):
                file, line = (declared[key].file, declared[key].line) if declared[key].file \
                    else (pooler.file, pooler.line)
                found.append(Finding(
                    "CB118", f"PgBouncer {facts.server.address} runs database {name} with "
                    f"{key} {value} but {pooler.address} says {declared[key].value} "
                    f"({declared[key].source})", file, line, pooler.address,
                    _reload_fix(str(value))))
    return found


def compare(scope: Scope) -> list[Finding]:
    return [*max_connections(scope), *role_limits(scope), *undeclared_roles(scope),
            *usage(scope), *pgbouncer(scope), *idle_in_transaction(scope)]
