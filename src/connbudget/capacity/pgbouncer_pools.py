"""PgBouncer's pools and the worst case of server connections one process can open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connbudget.frontends.pgbouncer.model import (
    Entry,
    PgBouncerConfig,
    Resolved,
    _first_set,
    _resolve_int,
    _resolve_mode,
)

# Names used in a WorstCase when the caller names no client users / databases.
ANY_CLIENT_USER = "<client user>"


ANY_DATABASE = "<any database>"


@dataclass(frozen=True)
class Pool:
    """The effective settings of one (database, user) pool, with where each came from."""

    database: str
    user: str
    pool_size: Resolved[int]
    reserve_pool_size: Resolved[int]
    pool_mode: Resolved[str]


@dataclass(frozen=True)
class DatabaseTerm:
    database: str  # the PgBouncer database name clients use
    entry: str  # the [databases] entry that defines it ("*" for the fallback)
    host: str | None
    port: str | None
    dbname: str | None
    forced_user: str | None
    pools: tuple[Pool, ...]
    pools_total: int | None  # sum of pool_size + reserve_pool_size over the pools
    max_db_connections: Resolved[int]  # 0 = no cap
    total: int | None  # min(max_db_connections or infinity, pools_total)
    file: str
    line: int


@dataclass(frozen=True)
class WorstCase:
    """Worst-case server connections of ONE PgBouncer process (multiply by processes/replicas)."""

    total: int | None  # None when a term is unknown
    databases: tuple[DatabaseTerm, ...]
    user_caps: tuple[Resolved[int], ...]  # max_user_connections that lowered the total
    assumptions: tuple[str, ...]
    unknown: tuple[str, ...]  # why `total` is None

    def formula(self) -> str:
        """The math as one line: `app: min(50, 20+5) + ... = 25`."""
        parts = []
        for term in self.databases:
            pools = " + ".join(_pool_text(pool) for pool in term.pools) or "0"
            cap = term.max_db_connections.value
            parts.append(f"{term.database}: min({cap}, {pools})" if cap else
                         f"{term.database}: {pools}")
        total = "unknown" if self.total is None else str(self.total)
        return " + ".join(parts) + f" = {total}"


def _pool_text(pool: Pool) -> str:
    size = "?" if pool.pool_size.value is None else str(pool.pool_size.value)
    reserve = pool.reserve_pool_size.value
    if reserve == 0:
        return size
    return f"{size}+{'?' if reserve is None else reserve}"


def effective_pool(config: PgBouncerConfig, entry: Entry, database: str, user: str) -> Pool:
    """pool_size, reserve and pool_mode of one pool: [users] over [databases] over [pgbouncer]."""
    user_entry = config.users.get(user)
    user_params = user_entry.params if user_entry else {}
    size = _first_set([("pool_size", user_params.get("pool_size")),
                       ("pool_size", entry.params.get("pool_size"))])
    pool_size = (_resolve_int("pool_size", size[1]) if size
                 else config.default_pool_size())
    reserve = _first_set([("reserve_pool_size", user_params.get("reserve_pool_size")),
                          ("reserve_pool_size", entry.params.get("reserve_pool_size")),
                          ("reserve_pool", entry.params.get("reserve_pool"))])
    reserve_pool_size = (_resolve_int(reserve[0], reserve[1]) if reserve
                         else config.reserve_pool_size())
    mode = _first_set([("pool_mode", user_params.get("pool_mode")),
                       ("pool_mode", entry.params.get("pool_mode"))])
    pool_mode = _resolve_mode(mode[1]) if mode else config.pool_mode()
    return Pool(database, user, pool_size, reserve_pool_size, pool_mode)


def _database_cap(config: PgBouncerConfig, entry: Entry) -> Resolved[int]:
    own = entry.params.get("max_db_connections")
    if own is not None:
        return _resolve_int("max_db_connections", own)
    return config.max_db_connections()


def _user_cap(config: PgBouncerConfig, user: str) -> Resolved[int]:
    user_entry = config.users.get(user)
    own = user_entry.params.get("max_user_connections") if user_entry else None
    if own is not None:
        return _resolve_int("max_user_connections", own)
    return config.max_user_connections()


def _sum(values: Sequence[int | None]) -> int | None:
    return None if any(value is None for value in values) else sum(v or 0 for v in values)


def _database_term(config: PgBouncerConfig, name: str, entry: Entry,
                   users: Sequence[str]) -> DatabaseTerm:
    forced = entry.text("user")
    pool_users = [forced] if forced else list(users)
    pools = tuple(effective_pool(config, entry, name, user) for user in pool_users)
    pools_total = _sum([_add(p.pool_size.value, p.reserve_pool_size.value) for p in pools])
    cap = _database_cap(config, entry)
    total: int | None
    if cap.value is not None and cap.value > 0:
        total = cap.value if pools_total is None else min(cap.value, pools_total)
    else:
        total = None if cap.value is None else pools_total
    return DatabaseTerm(database=name, entry=entry.name, host=entry.text("host"),
                        port=entry.text("port"),
                        dbname=entry.text("dbname") or (None if name == ANY_DATABASE else name),
                        forced_user=forced, pools=pools,
                        pools_total=pools_total, max_db_connections=cap, total=total,
                        file=entry.file, line=entry.line)


def _add(left: int | None, right: int | None) -> int | None:
    return None if left is None or right is None else left + right


def worst_case_server_connections(config: PgBouncerConfig, users: Sequence[str] | None = None,
                                  databases: Sequence[str] | None = None) -> WorstCase:
    """Worst-case server connections of one PgBouncer process.

    Sum over databases of min(max_db_connections or infinity, sum over users of pool_size +
    reserve_pool_size), then, where max_user_connections is set, at most the sum over users of
    min(max_user_connections, that user's pools). `users` are the roles clients log in as (a
    database with a forced `user=` has one pool whatever they are); `databases` the names clients
    ask for (any not listed goes through `*`). Unset, every listed database counts and one client
    user is assumed, which is said in `assumptions`.
    """
    assumptions: list[str] = []
    unknown: list[str] = []
    client_users = list(users) if users else []
    if not client_users:
        client_users = [ANY_CLIENT_USER]
        if any(not entry.text("user") for entry in config.databases.values()):
            assumptions.append("one client user per database without a forced user= "
                               "(name the roles clients log in as for more pools)")
    terms: list[DatabaseTerm] = []
    if databases is None:
        for name, entry in config.databases.items():
            if name == "*":
                assumptions.append("one database reached through the '*' fallback entry")
                name = ANY_DATABASE
            terms.append(_database_term(config, name, entry, client_users))
    else:
        fallback = config.fallback()
        for name in dict.fromkeys(databases):
            found = config.databases.get(name, fallback)
            if found is None:
                unknown.append(f"database '{name}' is not in [databases] and there is no '*' entry")
                continue
            terms.append(_database_term(config, name, found, client_users))
    for term in terms:
        if term.total is None:
            unknown.append(f"pool settings of database '{term.database}' are not known")
    total = None if unknown else sum(term.total or 0 for term in terms)
    caps = _apply_user_caps(config, terms)
    if total is not None and caps:
        total = min(total, sum(value for _, value in caps))
    return WorstCase(total=total, databases=tuple(terms),
                     user_caps=tuple(cap for cap, _ in caps if cap.value),
                     assumptions=tuple(dict.fromkeys(assumptions)), unknown=tuple(unknown))


def _apply_user_caps(config: PgBouncerConfig,
                     terms: Sequence[DatabaseTerm]) -> list[tuple[Resolved[int], int]]:
    """Per user: min(max_user_connections, its pools); empty when no user cap bounds anything."""
    per_user: dict[str, int] = {}
    for term in terms:
        for pool in term.pools:
            size = _add(pool.pool_size.value, pool.reserve_pool_size.value)
            if size is None:
                return []
            per_user[pool.user] = per_user.get(pool.user, 0) + size
    bounded: list[tuple[Resolved[int], int]] = []
    for user, size in per_user.items():
        cap = _user_cap(config, user)
        bounded.append((cap, min(cap.value, size) if cap.value else size))
    return bounded if any(cap.value for cap, _ in bounded) else []
