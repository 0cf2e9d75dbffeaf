"""Pool size, processes per task, database user and target from a container's environment.

Library defaults are the table in the project's data README (`src/connbudget/data/SOURCES.md`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from connbudget.model import Origin, PreparedStatements, Value
from connbudget.numbers import count
from connbudget.providers.apps.statements import from_env
from connbudget.providers.registry import DATABASE_RESOURCE_TYPES, HOST_VARIABLE_PREFIXES

# Direct pool-size settings, in the order they are looked up.
# DB_POOL: what Rails' database.yml commonly reads (`pool: ENV.fetch("DB_POOL")`).
POOL_VARS = ("SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE", "PG_POOL_SIZE", "DB_POOL_SIZE",
             "DATABASE_POOL_SIZE", "DB_POOL", "POOL_SIZE", "RAILS_MAX_THREADS",
             "KC_DB_POOL_MAX_SIZE")
PROCESS_VARS = ("WEB_CONCURRENCY", "GUNICORN_WORKERS", "PUMA_WORKERS")
USER_VARS = ("DB_USER", "DB_USERNAME", "DATABASE_USER", "DATABASE_USERNAME", "PGUSER",
             "POSTGRES_USER", "SPRING_DATASOURCE_USERNAME")
HOST_VARS = ("DB_HOST", "DATABASE_HOST", "PGHOST", "POSTGRES_HOST", "DB_HOSTNAME",
             "KC_DB_URL_HOST")
URL_VARS = ("DATABASE_URL", "DB_URL", "POSTGRES_URL", "SPRING_DATASOURCE_URL", "KC_DB_URL")
# a variable that says where the client connects, by its name: PGHOST, DB_HOST, READER_DB_HOST,
# DATABASE_URL, PRIMARY_DATABASE_URI, POSTGRES_DSN and a platform's own (the registry's); only
# these decide which database a client reaches (another variable's reference never does)
_CONNECTION_VAR = re.compile(
    r"(?:^|_)(?:PG|DB|DATABASE|POSTGRES(?:QL)?|PGBOUNCER|DATASOURCE|"
    + "|".join(map(re.escape, HOST_VARIABLE_PREFIXES)) + r")_?(?:HOST(?:NAME)?|"
    r"ADDR(?:ESS)?|ENDPOINT|SERVER|URL|URI|DSN|CONNECTION(?:_STRING)?)$")
_DSN_HOST = re.compile(r"(?:^|\s)host\s*=\s*'?([^\s']+)")
# Go database/sql SetMaxOpenConns from the environment; 0 means unlimited.
GO_MAX_OPEN = "DB_MAX_OPEN_CONNS"
SQLALCHEMY_POOL = "SQLALCHEMY_POOL_SIZE"
SQLALCHEMY_OVERFLOW = "SQLALCHEMY_MAX_OVERFLOW"
SQLALCHEMY_OVERFLOW_DEFAULT = 10  # data README: SQLAlchemy default 5 + 10

_DATA = "connbudget/data/SOURCES.md, application pools table"
# library -> (default pool per process, why)
LIBRARY_DEFAULTS: dict[str, tuple[int, str]] = {
    "hikari": (10, f"HikariCP maximumPoolSize default 10 ({_DATA})"),
    "rails": (5, f"Rails pool default 5 ({_DATA})"),
    "sqlalchemy": (15, f"SQLAlchemy pool_size 5 + max_overflow 10 ({_DATA})"),
    # Keycloak's db-pool-max-size (KC_DB_POOL_MAX_SIZE) defaults to 100 (keycloak.org, "All
    # configuration": database options)
    "keycloak": (100, "Keycloak db-pool-max-size default 100 (keycloak.org, all configuration, "
                      "database)"),
    "unknown": (10, "10, the default of HikariCP, node-postgres, knex and asyncpg "
                    f"({_DATA}); the library is not known"),
}
_URL = re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^\s\"']+", re.IGNORECASE)


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: a literal value, or unresolved with the addresses it names."""

    name: str
    value: str | None
    references: tuple[str, ...] = ()
    secret: bool = False  # from a secret store: the value is never read
    file: str = ""  # where the value is set, when it is not the container's own location
    line: int = 0
    source: str = ""  # e.g. "secret app-db key url", for what the budget says about it
    span: tuple[int, int, int, int] | None = None  # where its value is written, when known


def at(var: EnvVar, origin: Origin) -> Origin:
    """The container's origin, moved to the variable's own file and line where known."""
    return Origin(origin.text, var.file, var.line) if var.file else origin


@dataclass
class PoolSettings:
    processes: Value
    pool: Value
    pool_setting: str
    refs: set[str] = field(default_factory=set)
    user: str | None = None
    database: str | None = None  # the database name it asks for
    is_client: bool = False  # any sign that this container talks to PostgreSQL
    notes: list[str] = field(default_factory=list)  # what could not be read, said out loud
    # why the host it connects to cannot be read (a secret URL, an unresolved PGHOST); "" when
    # it can, or when it sets none
    unknown_host: str = ""
    library: str = ""  # the pool's library as the environment suggests it (Client.library)
    statements: tuple[PreparedStatements, ...] = ()  # its libraries' prepared statements


def _dsn_parts(value: str) -> tuple[str | None, str | None, dict[str, list[str]]]:
    """Host, user and query parameters of a postgres:// URL (the password is never kept)."""
    try:
        parts = urlsplit(value)
        host, user = parts.hostname, parts.username
    except ValueError:
        return None, None, {}
    return host, unquote(user) if user else None, parse_qs(parts.query)


# a URL with no host names its server in the query: libpq's `host` (a unix socket directory
# too), pg8000's `unix_sock`
_QUERY_HOSTS = ("host", "unix_sock")
PORT_VARS = ("DB_PORT", "DATABASE_PORT", "PGPORT", "POSTGRES_PORT")


def dsn_hosts(value: str) -> set[str]:
    """The servers a postgres:// URL names, each also as `host:port` when it gives a port
    (a platform whose pooler listens on another port tells the two apart by it)."""
    host, _, query = _dsn_parts(value)
    hosts = {host} if host else {unquote(found) for key in _QUERY_HOSTS
                                 for found in query.get(key, [])[:1] if found}
    try:
        port = urlsplit(value).port
    except ValueError:
        port = None
    found = {h.lower() for h in hosts}
    return found | ({f"{h}:{port}" for h in found} if port else set())


def _from_dsn(var: EnvVar, origin: Origin) -> tuple[Value, str] | None:
    if var.value is None:
        return None
    origin = at(var, origin)
    for match in _URL.finditer(var.value):
        _, _, query = _dsn_parts(match.group(0))
        for param in ("pool_max_conns", "connection_limit"):
            if param in query and count(query[param][0]) is not None:
                return Value(count(query[param][0]), Origin(f"{var.name} {param}=",
                                                           origin.file, origin.line)), param
            if param in query:  # said, but not a number: unknown, never "no pool size"
                return Value(None, Origin(f"{var.name} {param}= is not a number; pool size "
                                          "unknown", origin.file, origin.line),
                             assumed=True), param
        if "pool_size" in query and count(query["pool_size"][0]) is not None:
            size = count(query["pool_size"][0]) or 0
            overflow = count(query.get("max_overflow", [None])[0])
            assumed = overflow is None
            total = size + (SQLALCHEMY_OVERFLOW_DEFAULT if overflow is None else overflow)
            text = (f"{var.name} pool_size={size} + max_overflow="
                    f"{overflow if overflow is not None else '10 (SQLAlchemy default)'}")
            found = Value(total, Origin(text, origin.file, origin.line), assumed=assumed)
            return found, "pool_size"
    return None


# What a fix says when the library is not known, so that it names no setting the application
# may not read: where each library sets its pool (the defaults are in data/SOURCES.md).
UNKNOWN_LIBRARY = (
    "its library is not known, so no setting is named: size its pool where the application "
    "sets it (Rails: RAILS_MAX_THREADS and the pool: of config/database.yml; Django: OPTIONS "
    "pool max_size; SQLAlchemy: pool_size + max_overflow; node-postgres: max; knex: pool.max; "
    "Prisma: connection_limit in the URL; HikariCP: maximumPoolSize; pgx: pool_max_conns)")
# The library a client's environment suggests, as Client.library names it.
_LIBRARY_NAMES = {"hikari": "hikaricp", "rails": "activerecord", "sqlalchemy": "sqlalchemy",
                  "keycloak": "keycloak"}
# The setting a fix names when no pool size is set, by library ("" when it is not known).
RAILS_POOL = "RAILS_MAX_THREADS"
_SETTING = {"hikari": "SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE", "rails": RAILS_POOL,
            "keycloak": "KC_DB_POOL_MAX_SIZE", "sqlalchemy": "SQLALCHEMY_POOL_SIZE"}


def _library(env: dict[str, EnvVar]) -> str:
    if "KC_DB" in env or any(name.startswith("KC_DB_") for name in env):
        return "keycloak"
    if any(name.startswith("SPRING_DATASOURCE") for name in env):
        return "hikari"
    if "RAILS_ENV" in env:
        return "rails"
    if SQLALCHEMY_POOL in env or any(
            var.value and re.search(r"postgres(?:ql)?\+\w+://", var.value) for var in env.values()):
        return "sqlalchemy"
    return "unknown"


def _env_value(var: EnvVar, origin: Origin, what: str) -> Value:
    """A number from one env var; unresolved or non-numeric values are unknown, not guessed."""
    origin = at(var, origin)
    number = count(var.value)
    text = f"{var.name}={var.value}" if var.value is not None else f"{var.name}"
    if var.value is not None and "${" in var.value:
        text = f"{var.name} = {var.value}"
    if number is not None:
        if var.file and var.span is not None:  # the value itself: a fix edits it there
            return Value(number, Origin.spanning(text, var.file, var.span))
        return Value(number, Origin(text, origin.file, origin.line))
    why = "a secret" if var.secret else (
        "unresolved" if var.value is None or "${" in var.value
        else "not a number")
    return Value(None, Origin(f"{var.name} is {why}; {what} unknown", origin.file, origin.line),
                 assumed=True)


def _default_pool(env: dict[str, EnvVar], origin: Origin, defaults: dict[str, int],
                  why_unset: str, setting: str) -> Value:
    library = _library(env)
    size, why = LIBRARY_DEFAULTS[library]
    for key in (setting, library):
        if key in defaults:
            size, why = defaults[key], f"{defaults[key]} from [tool.connbudget] default pool " \
                                       f"sizes ({key})"
            break
    return Value(size, Origin(f"default: {why_unset}; assumed {why}", origin.file, origin.line),
                 assumed=True)


def _pool(env: dict[str, EnvVar], origin: Origin, defaults: dict[str, int]) -> tuple[Value, str]:
    for name in POOL_VARS:
        if name in env:
            value = _env_value(env[name], origin, "pool size")
            if value.value is None:
                value = _default_pool(env, origin, defaults, value.origin.text, name)
            return value, name
    if SQLALCHEMY_POOL in env:
        size = _env_value(env[SQLALCHEMY_POOL], origin, "pool size")
        overflow_var = env.get(SQLALCHEMY_OVERFLOW)
        overflow = count(overflow_var.value) if overflow_var else None
        if size.value is not None:
            assumed = overflow is None
            total = size.value + (SQLALCHEMY_OVERFLOW_DEFAULT if overflow is None else overflow)
            text = (f"{SQLALCHEMY_POOL}={size.value} + "
                    + (f"{SQLALCHEMY_OVERFLOW}={overflow}" if overflow is not None
                       else "max_overflow 10 (SQLAlchemy default, connbudget/data/SOURCES.md)"))
            return Value(total, Origin(text, origin.file, origin.line), assumed=assumed), \
                SQLALCHEMY_POOL
    for var in env.values():
        found = _from_dsn(var, origin)
        if found:
            return found
    if GO_MAX_OPEN in env:
        value = _env_value(env[GO_MAX_OPEN], origin, "pool size")
        if value.value == 0:
            return Value(None, Origin(f"{GO_MAX_OPEN}=0: Go database/sql 0 = UNLIMITED (data "
                                      "README)", origin.file, origin.line),
                         assumed=True, unlimited=True), GO_MAX_OPEN
        if value.value is not None:
            return value, GO_MAX_OPEN
    setting = _SETTING.get(_library(env), "")
    # PG_POOL_SIZE: how [tool.connbudget] pool-defaults names the pool of an unknown library
    return _default_pool(env, origin, defaults, "no pool size set",
                         setting or "PG_POOL_SIZE"), setting


def _processes(env: dict[str, EnvVar], origin: Origin) -> Value:
    for name in PROCESS_VARS:
        if name in env:
            value = _env_value(env[name], origin, "processes per task")
            if name == "PUMA_WORKERS" and value.value == 0:  # puma single mode: one process
                return Value(1, Origin(f"{name}=0 (puma single mode: 1 process)",
                                       origin.file, origin.line))
            return value
    return Value(1, Origin("default: 1 process (no WEB_CONCURRENCY, GUNICORN_WORKERS "
                           "or PUMA_WORKERS set)"))


# `<cluster>-pguser-<user>`, keys host / uri / jdbc-uri / pgbouncer-host / pgbouncer-uri
# (Crunchy PGO docs, "Connect to a Postgres cluster: user Secrets")
_CRUNCHY_SECRET = re.compile(r"^secret ([a-z0-9][a-z0-9-]*)-pguser-\S+ key "
                             r"(host|uri|jdbc-uri|pgbouncer-host|pgbouncer-uri)$")


def is_connection(name: str) -> bool:
    """Whether a variable says where a client connects (its host, URL or DSN)."""
    return name in HOST_VARS or name in URL_VARS or _CONNECTION_VAR.search(name) is not None


def _hosts(var: EnvVar) -> set[str]:
    """The hosts a variable's value names: a URL's, a key-value DSN's `host=`, a JDBC URL's, or
    the whole value of a host variable."""
    value = var.value or ""
    found = {host for match in _URL.finditer(value) for host in dsn_hosts(match.group(0))}
    if value.startswith("jdbc:postgresql://"):
        host = _dsn_parts(value[len("jdbc:"):])[0]
        found |= {host.lower()} if host else set()
    found |= {host.lower() for host in _DSN_HOST.findall(value)}
    if not found and value.strip() and is_connection(var.name) and "://" not in value:
        written = value.strip().lower()
        # `host:port` names the host; kept whole too, for a platform that reads the port
        found |= {written.rsplit(":", 1)[0], written} if written.count(":") == 1 else {written}
    return found


def _unknown_host(var: EnvVar) -> str:
    """Why a connection variable names no host that can be read ("" when it names one)."""
    if var.secret:
        return f"{var.name} comes from {var.source or 'a secret'}, whose value is never read"
    if var.value is None and not var.references:
        return f"{var.name} is not resolved"
    return ""


def _refs_and_user(env: dict[str, EnvVar]) -> tuple[set[str], str | None, bool, str]:
    """Where the client connects (the hosts and addresses of its connection variables only),
    its user, whether it talks to PostgreSQL at all, and why its host is unknown."""
    refs: set[str] = set()
    user: str | None = None
    talks_to_db = False
    unknown = ""
    ports = [var.value.strip() for name in PORT_VARS
             if (var := env.get(name)) is not None and var.value and var.value.strip().isdigit()]
    for var in env.values():
        connection = is_connection(var.name)
        hosts = _hosts(var)
        if connection or hosts:
            talks_to_db = True
            refs |= hosts | set(var.references if connection else ())
            unknown = unknown or (_unknown_host(var) if connection else "")
            if var.name in HOST_VARS and ports:
                # the port beside a host variable: a platform whose pooler listens on its own
                # port (Azure's built-in PgBouncer on 6432) tells the two apart by it
                named = {host for host in hosts if ":" not in host} or set(var.references)
                refs |= {f"{host}:{ports[0]}" for host in named}
        if any(_is_db_address(ref) for ref in var.references):
            talks_to_db = True
        crunchy = _CRUNCHY_SECRET.match(var.source) if var.secret else None
        if crunchy:  # Crunchy PGO's user Secret: its host is the cluster's primary or pgbouncer
            cluster, key = crunchy.groups()
            refs.add(f"{cluster}-pgbouncer" if key.startswith("pgbouncer")
                     else f"{cluster}-primary")
        if var.name in USER_VARS and var.value:
            user = var.value.strip()
        for match in _URL.finditer(var.value or ""):
            user = user or _dsn_parts(match.group(0))[1]
    return refs, user, talks_to_db, "" if refs else unknown


def _is_db_address(ref: str) -> bool:
    return any(part in ref for part in DATABASE_RESOURCE_TYPES)


def merge(found: list[PoolSettings]) -> PoolSettings | None:
    """The database-facing containers of one task or pod: several are summed into one pool."""
    found = [item for item in found if item.is_client]
    if len(found) <= 1:
        return found[0] if found else None
    connections = [item.processes.value * item.pool.value
                   if item.processes.known and item.pool.known
                   and item.processes.value is not None and item.pool.value is not None
                   else None for item in found]
    total = None if None in connections else sum(c or 0 for c in connections)
    return PoolSettings(
        processes=Value(1, Origin(f"{len(found)} containers, processes x pool summed")),
        pool=Value(total, Origin(" + ".join(f"{i.processes.value} x {i.pool.value} "
                                            f"({i.pool.origin.text})" for i in found)),
                   assumed=any(i.pool.assumed for i in found)),
        pool_setting=found[0].pool_setting, refs=set().union(*(i.refs for i in found)),
        user=found[0].user, database=found[0].database, is_client=True,
        notes=[n for i in found for n in i.notes],
        unknown_host=next((i.unknown_host for i in found if i.unknown_host), ""),
        library=found[0].library if len({i.library for i in found}) == 1 else "",
        statements=tuple(use for i in found for use in i.statements))


def pool_settings(env: dict[str, EnvVar], origin: Origin,
                  defaults: dict[str, int]) -> PoolSettings:
    """What one container (or pod) opens: processes x pool, and where it points."""
    refs, user, talks, unknown_host = _refs_and_user(env)
    pool, setting = _pool(env, origin, defaults)
    named = any(name in env for name in (*POOL_VARS, SQLALCHEMY_POOL, GO_MAX_OPEN))
    notes = [f"{var.name} comes from {var.source or 'a secret'}: its value is never read, so "
             "the host it names is unknown" for var in env.values()
             if var.secret and is_connection(var.name)]
    return PoolSettings(processes=_processes(env, origin), pool=pool, pool_setting=setting,
                        refs=refs, user=user, database=_database_name(env),
                        is_client=talks or named, notes=notes, unknown_host=unknown_host,
                        library=_LIBRARY_NAMES.get(_library(env), ""),
                        statements=from_env(env, origin))


DATABASE_VARS = ("PGDATABASE", "DB_NAME", "DATABASE_NAME", "POSTGRES_DB")


def _database_name(env: dict[str, EnvVar]) -> str | None:
    """The database a client asks for: PGDATABASE-style variables, else a DSN's path."""
    for name in DATABASE_VARS:
        var = env.get(name)
        if var is not None and var.value:
            return var.value.strip()
    for var in env.values():
        for match in _URL.finditer(var.value or ""):
            try:
                path = urlsplit(match.group(0)).path
            except ValueError:
                continue
            if path.strip("/"):
                return unquote(path.strip("/"))
    return None
