"""What the repository declares, as `connbudget live` compares it with a running server.

The one module of live/ that knows the static analysis: it runs the engine's capacity
analysis (the budgets), its model (the databases' aliases, the PgBouncer configurations, the
`postgresql_role` limits) and the SQL front end (the roles of the migrations), and keeps what
the comparison needs, each number with the file and line that declares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.providers.registry import endpoint_names
from connbudget.report import Checked

if TYPE_CHECKING:
    from connbudget.budgets import BudgetView
    from connbudget.frontends.pgbouncer.model import Entry, PgBouncerConfig
    from connbudget.frontends.sql import SqlResult
    from connbudget.model import Model, PgBouncer, Role
    from connbudget.settings import Settings

T = TypeVar("T")

# [databases] connect-string keys, and the [pgbouncer] setting each falls back to
_STATEMENTS = {"CreateRoleStmt": "CREATE ROLE", "AlterRoleStmt": "ALTER ROLE"}
_DATABASE_KEYS = {"pool_size": "default_pool_size", "min_pool_size": "min_pool_size",
                  "reserve_pool": "reserve_pool_size", "pool_mode": "pool_mode",
                  "max_db_connections": "max_db_connections"}


@dataclass(frozen=True)
class Declared:
    """A number (or a pool_mode) the files declare, or the budget assumes, and where."""

    value: int | str | None  # None: unknown
    source: str
    file: str = ""
    line: int = 0
    assumed: bool = False
    also: tuple[int, ...] = ()  # other values the files allow (a statement that may not run)

    def allows(self, value: int | str) -> bool:
        return value == self.value or value in self.also


@dataclass(frozen=True)
class DeclaredPooler:
    """A PgBouncer the files configure: its settings in force and its worst case."""

    address: str
    file: str
    line: int
    version: str  # the release its ini was read as
    worst_case: int | None  # server connections the budget counts for it; None: not counted
    settings: dict[str, Declared]  # [pgbouncer] settings, PgBouncer's defaults filled in
    databases: dict[str, dict[str, Declared]]  # [databases] entries, as SHOW DATABASES has them


@dataclass(frozen=True)
class Database:
    address: str
    file: str
    line: int
    aliases: frozenset[str]
    max_connections: Declared
    reserved: Declared
    usable: int | None
    worst_case: int | None
    poolers: tuple[str, ...]  # addresses of the PgBouncers in its budget


@dataclass(frozen=True)
class DeclaredRole:
    name: str
    login: bool | None
    limit: Declared  # its CONNECTION LIMIT (-1: none), where it is set
    file: str  # where the role is declared (CREATE ROLE, the postgresql_role block)
    line: int
    resource: str  # "postgresql_role.app", or the role's name in a migration


@dataclass(frozen=True)
class Repository:
    paths: tuple[str, ...]
    databases: tuple[Database, ...] = ()
    roles: tuple[DeclaredRole, ...] = ()
    poolers: tuple[DeclaredPooler, ...] = ()
    errors: tuple[InputError, ...] = ()
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    checked: Checked | None = None

    @property
    def anchor(self) -> str:
        """Where a finding no file declares is placed: the first path named (line 0)."""
        return self.paths[0] if self.paths else "."


def read_repository(paths: list[str], settings: Settings) -> Repository:
    if not paths:
        return Repository(())
    from connbudget.cache import confined
    from connbudget.discover import discover
    from connbudget.engine import capacity_model, check_capacity
    from connbudget.frontends.sql import read_sql
    from connbudget.kinds import kinds_of

    with confined(paths, settings.cache):  # a parse cache inside the tree is refused
        inputs = discover(paths, settings.exclude, settings.exclude_root)
        report = check_capacity(inputs, settings)
        model, _, _ = capacity_model(inputs, settings)
        sql = read_sql(inputs.of("sql")) if inputs.of("sql") else None
    poolers = _poolers(model, report.budgets)
    errors = [*report.errors, *(sql.errors if sql else ())]
    comments = {**report.comments, **(sql.comments if sql else {})}
    roles = [*_terraform_roles(model.roles), *(_sql_roles(sql) if sql else ())]
    return Repository(tuple(paths), _databases(model, report.budgets), tuple(roles),
                      tuple(poolers), tuple(errors), comments,
                      Checked(tuple(paths), inputs.counts(kinds_of("scan"))))


def _declared(value: Any) -> Declared:
    """A budget's Sourced number."""
    return Declared(value.value, value.source, value.file, value.line, value.assumed)


def _databases(model: Model, budgets: list[BudgetView]) -> tuple[Database, ...]:
    aliases = {(d.where.address, d.where.file): frozenset(d.aliases | {d.where.address})
               for d in model.databases}
    return tuple(
        Database(b.database, b.file, b.line, aliases.get((b.database, b.file), frozenset()),
                 _declared(b.max_connections), _declared(b.reserved), b.usable, b.worst_case,
                 tuple(c.client for c in b.clients if c.path == "pgbouncer"))
        for b in budgets)


def _poolers(model: Model, budgets: list[BudgetView]) -> list[DeclaredPooler]:
    worst = {c.client: c.steady for b in budgets for c in b.clients if c.path == "pgbouncer"}
    from connbudget.model import PgBouncer

    return [_pooler(p, p.config, worst.get(p.where.address)) for p in model.poolers
            if isinstance(p, PgBouncer) and p.config is not None]


def _pooler(pooler: PgBouncer, config: PgBouncerConfig, worst: int | None) -> DeclaredPooler:
    from connbudget.live.pgbouncer import CAPACITY_SETTINGS

    settings = {key: _setting(config, key) for key in CAPACITY_SETTINGS}
    databases = {name: _entry(entry, settings) for name, entry in config.databases.items()
                 if name != "*"}
    return DeclaredPooler(pooler.where.address, pooler.where.file, pooler.where.line,
                          config.version, worst, settings, databases)


def _setting(config: PgBouncerConfig, key: str) -> Declared:
    resolved: Any = config.pool_mode() if key == "pool_mode" else config.integer(key)
    return Declared(resolved.value, resolved.source, resolved.file, resolved.line,
                    assumed=resolved.is_default)


def _entry(entry: Entry, settings: dict[str, Declared]) -> dict[str, Declared]:
    from connbudget.frontends.pgbouncer.ini import atoi

    found = {}
    for key, fallback in _DATABASE_KEYS.items():
        setting = entry.params.get(key) or (entry.params.get("reserve_pool_size")
                                            if key == "reserve_pool" else None)
        if setting is None:
            found[key] = settings[fallback]
        elif setting.unknown or setting.invalid:
            found[key] = Declared(None, f"{entry.name} {key}", setting.file, setting.line)
        else:
            value: int | str = setting.value.lower() if key == "pool_mode" \
                else atoi(setting.value)
            found[key] = Declared(value, f"[databases] {entry.name} {key}", setting.file,
                                  setting.line)
    return found


def _terraform_roles(roles: list[Role]) -> list[DeclaredRole]:
    found = []
    for role in roles:
        limit = role.connection_limit
        origin = limit.origin
        found.append(DeclaredRole(
            role.name, None,
            Declared(limit.value, origin.text, origin.file or role.where.file,
                     origin.line or role.where.line),
            role.where.file, role.where.line, role.where.address))
    return found


def _renamed(places: dict[str, T], old: str, new: str) -> None:
    if old in places:
        places[new] = places.pop(old)


def _sql_roles(sql: SqlResult) -> list[DeclaredRole]:
    """Each role of the migrations' final state: where it is declared (created, else first
    named), and its limit where a statement last set it; renames followed."""
    named: dict[str, tuple[str, int]] = {}
    created: dict[str, tuple[str, int]] = {}
    limited: dict[str, tuple[str, int, str]] = {}
    for document in sql.documents:
        statement, source = document["statement"], document["source"]
        here = (source["file"], source["line"])
        name = document["resource"]
        if statement["type"] == "RenameStmt" and statement.get("role"):
            _renamed(named, statement["role"], name)
            _renamed(created, statement["role"], name)
            _renamed(limited, statement["role"], name)
        named.setdefault(name, here)
        if statement["type"] == "CreateRoleStmt":
            created.setdefault(name, here)
        if (document.get("role") or {}).get("connection_limit") is not None:
            limited[name] = (*here, f"{_STATEMENTS.get(statement['type'], 'a statement on')} "
                                    f"{name}")
    found = []
    for name, state in sql.roles.items():
        if state is None or name not in named:
            continue
        where = created.get(name, named[name])
        at = limited.get(name, (*where, f"no CONNECTION LIMIT set for {name}"))
        also = tuple(v for v in state.get("maybe", {}).get("connection_limit", [])
                     if isinstance(v, int))
        limit = state.get("connection_limit")
        found.append(DeclaredRole(
            name, state.get("login"),
            Declared(limit if isinstance(limit, int) else None, at[2], at[0], at[1], also=also),
            where[0], where[1], name))
    return found


def match_database(databases: tuple[Database, ...], host: str,
                   address: str | None) -> tuple[Database | None, str]:
    """The database the server is: by `address` (--database), else by host (one of a
    database's aliases; an RDS endpoint's first label is the instance or cluster identifier).
    (None, why) when none or several match; (None, "") when the files declare no database."""
    if address is not None:
        named = [d for d in databases if d.address == address]
        if named:
            return named[0], ""
        return None, (f"--database {address}: the files declare no such database "
                      f"({_listing(databases)})")
    if not databases:
        return None, ""
    names = {host.lower().rstrip(".")}
    names |= endpoint_names(host)
    found = [d for d in databases if names & {alias.lower() for alias in d.aliases}]
    if len(found) == 1:
        return found[0], ""
    what = "several databases of the files" if found else "no database of the files"
    return None, (f"the server's host {host} matches {what}: name it with --database ADDRESS "
                  f"({_listing(tuple(found) or databases)})")


def _listing(databases: tuple[Database, ...]) -> str:
    if not databases:
        return "they declare none"
    return "one of " + ", ".join(sorted({d.address for d in databases}))


def pick_pooler(repository: Repository, database: Database | None) -> DeclaredPooler | None:
    """The PgBouncer of the files a running one is: the only one in the database's budget,
    else the only one the files configure."""
    if database is not None and len(database.poolers) == 1:
        return next((p for p in repository.poolers if p.address == database.poolers[0]), None)
    return repository.poolers[0] if len(repository.poolers) == 1 else None
