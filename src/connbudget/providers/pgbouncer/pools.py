"""PgBouncer's pools and the worst case of server connections one process can open.

As PgBouncer keeps them (src/objects.c launch_new_connection, src/server.c, src/client.c,
src/janitor.c), in the release the configuration is read as (the behaviours table names the
source line of each release that decides what differs):

- one pool per (database, user object): a database with a forced `user=` has one pool whatever
  the clients log in as; otherwise every client user has its own;
- a user in the auth_file or in [users] is ONE user object across all databases; a user found
  through auth_query, and a forced user, is a user object of that database only;
- a pool opens at most pool_size + reserve_pool ([users] pool_size and reserve_pool_size where
  the release accepts them, else the database's, else [pgbouncer]);
- auth_user + auth_query: a client whose user is not in the auth_file or [users] is looked up
  through the pool (database, auth_user), which opens server connections of its own;
- max_db_connections caps each PgBouncer database (each alias and each '*' database on its
  own), max_user_connections each user object; 0 is no cap;
- pool_size 0: through 1.23 a pool keeps at most one server connection (reserve_pool_size
  aside) and its clients queue behind it; from 1.24 a pool of 0 has no limit of its own;
- a pool opens a server connection only for a client waiting for one, so it never holds more
  than the clients that reach it at once: max_client_conn, from 1.24 max_db_client_connections
  and max_user_client_connections, and the client connections behind it when every client is
  known; min_pool_size keeps up to that many (never above pool_size) once a client connected,
  and from 1.21 for a forced user's pool without any client.

The worst case is the maximum flow through those capacities: users -> pools -> databases. When
the users (or, behind '*', the databases) cannot be known and no cap bounds them, it is
unbounded, never counted as one. A queued cancel request lets a pool open up to twice pool_size
for a moment (launch_new_connection "bypass pool limitations for cancel request"): not counted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from connbudget.frontends.pgbouncer.model import (
    Entry,
    PgBouncerConfig,
    Resolved,
    first_set,
    resolve_int,
    resolve_mode,
)
from connbudget.providers.pgbouncer.tables import (
    MIN_POOL_SIZE_FORCED_USER,
    POOL_SIZE_ZERO,
    behaviour,
)
from connbudget.providers.tables import Sourced

ANY_USER = "<any user>"


ANY_DATABASE = "<any database>"

ONE_USER = "<one client user>"

ANOTHER_DATABASE = "<a database through '*'>"


_INFINITE = 10 ** 9


AT_MOST_ONE = "at_most_one"
NO_LIMIT = "no_limit"


@dataclass(frozen=True)
class Demand:
    """The client connections that reach one PgBouncer process at most, each as (the database
    it asks for, the user it logs in as, connections); None where that is not known."""

    clients: tuple[tuple[str | None, str | None, int], ...]

    def reaching(self, database: str, user: str | None) -> int:
        """Client connections that may use the pool of `database` and `user` (None: any
        user, a forced user's pool or an auth_query lookup)."""
        return sum(n for asked, login, n in self.clients
                   if asked in (None, database) and (user is None or login in (None, user)))


@dataclass(frozen=True)
class Pool:
    """The effective settings of one (database, user) pool, with where each came from."""

    database: str
    user: str  # the PostgreSQL role it logs in as
    pool_size: Resolved[int]
    reserve_pool_size: Resolved[int]
    pool_mode: Resolved[str]
    kind: str = "client"  # "client" | "forced" | "auth"
    owner: str = ""  # the user object whose max_user_connections applies
    # what pool_size 0 means in the release (AT_MOST_ONE, NO_LIMIT), when the pool's size is 0
    zero: Sourced[str] | None = None
    # the most clients that reach the pool at once; None: nothing bounds them
    clients: Resolved[int] | None = None
    # what min_pool_size keeps open whatever the clients (never above pool_size)
    floor: int = 0

    @property
    def limit(self) -> int | None:
        """Server connections its own settings allow (_INFINITE: no limit); None: unknown."""
        size, reserve = self.pool_size.value, self.reserve_pool_size.value
        if size is None or reserve is None:
            return None
        if size == 0 and self.zero is not None:
            return _INFINITE if self.zero.value == NO_LIMIT else max(1, reserve)
        return size + reserve

    @property
    def size(self) -> int | None:
        """Server connections it can hold at once: its limit, and no more than its clients
        (or what min_pool_size keeps); None: unknown."""
        limit = self.limit
        if limit is None:
            return None
        if self.clients is None or self.clients.value is None:
            return limit
        return min(limit, max(self.clients.value, self.floor))

    @property
    def bounded_by_clients(self) -> bool:
        size, limit = self.size, self.limit
        return size is not None and limit is not None and size < limit


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
    open_users: bool = False  # any user may log in: one pool each, no count known


@dataclass(frozen=True)
class UserCap:
    owner: str  # the user object
    user: str  # its name
    database: str  # "" for a user object shared by every database
    cap: Resolved[int]


@dataclass(frozen=True)
class WorstCase:
    """Worst-case server connections of ONE PgBouncer process (multiply by processes/replicas)."""

    total: int | None  # None when unknown or unbounded
    databases: tuple[DatabaseTerm, ...]
    user_caps: tuple[Resolved[int], ...]  # the max_user_connections that bound a user object
    assumptions: tuple[str, ...]
    unknown: tuple[str, ...]  # why `total` is None
    unbounded: bool = False  # None because nothing bounds it (not merely unknown)
    bound_by: str = ""  # the settings that would bound an unbounded worst case
    roles: dict[str, int] = field(default_factory=dict)  # worst case per PostgreSQL role
    caps: tuple[UserCap, ...] = ()

    def formula(self) -> str:
        """The math as one line: `app: min(max_db_connections 50, 20+5) + ... = 25`."""
        parts = []
        for term in self.databases:
            pools = " + ".join(_pool_text(pool) for pool in term.pools)
            if term.open_users:
                pools = (pools + " + " if pools else "") + "one pool per user"
            cap = term.max_db_connections.value
            parts.append(f"{term.database}: min(max_db_connections {cap}, {pools or '0'})"
                         if cap else f"{term.database}: {pools or '0'}")
        caps = [f"{cap.user}{' on ' + cap.database if cap.database else ''} <= "
                f"max_user_connections {cap.cap.value}" for cap in self.caps]
        total = ("unbounded" if self.unbounded else "unknown") if self.total is None \
            else str(self.total)
        text = " + ".join(parts)
        if caps:
            text += f" with {', '.join(caps)}"
        return text + f" = {total}"


def _pool_text(pool: Pool) -> str:
    size = "?" if pool.pool_size.value is None else str(pool.pool_size.value)
    reserve = pool.reserve_pool_size.value
    amount = size if reserve == 0 else f"{size}+{'?' if reserve is None else reserve}"
    label = {"client": pool.user, "forced": f"{pool.user} (forced)",
             "auth": f"{pool.user} (auth_query)"}[pool.kind]
    if pool.pool_size.value == 0 and pool.zero is not None:
        amount = ("no limit (pool_size 0)" if pool.zero.value == NO_LIMIT
                  else f"{pool.limit} (pool_size 0 keeps one server connection)")
    if pool.clients is not None and pool.clients.value == 0 and pool.floor:
        amount = f"{pool.floor} (min_pool_size, kept without clients)"
    elif pool.clients is not None and pool.bounded_by_clients:
        amount = f"{pool.size} of {amount}, bounded by {pool.clients.source}"
    return f"{label} {amount}"


def _client_bound(config: PgBouncerConfig, entry: Entry, database: str, user: str | None,
                  demand: Demand | None) -> Resolved[int] | None:
    """The most clients that reach the pool of `database` and `user` (None: any user) at
    once: max_client_conn, the 1.24 client caps of its database and user, and the client
    connections behind the pooler when every client is known."""
    candidates: list[Resolved[int]] = [config.max_client_conn()]
    own = entry.params.get("max_db_client_connections")
    candidates.append(resolve_int("max_db_client_connections", own) if own is not None
                      else config.integer("max_db_client_connections"))
    if user is not None:
        user_entry = config.users.get(user)
        mine = user_entry.params.get("max_user_client_connections") if user_entry else None
        candidates.append(resolve_int("max_user_client_connections", mine) if mine is not None
                          else config.integer("max_user_client_connections"))
    if demand is not None:
        reaching = demand.reaching(database, user)
        candidates.append(Resolved("clients", reaching,
                                   f"{reaching} client connections behind it"))
    bounds = [c for c in candidates if c.value is not None and c.value > 0
              or c.key == "clients"]
    if not bounds:
        return None
    least = min(bounds, key=lambda c: c.value or 0)
    if least.key == "clients":
        return least
    return Resolved(least.key, least.value, f"{least.key} {least.value} ({least.source})",
                    least.file, least.line, least.is_default)


def _floor(config: PgBouncerConfig, entry: Entry, pool_size: int | None) -> int:
    """What min_pool_size keeps open in a pool: never more than its pool_size (0: none)."""
    own = entry.params.get("min_pool_size")
    found = resolve_int("min_pool_size", own) if own is not None else config.integer(
        "min_pool_size")
    if found.value is None or pool_size is None or pool_size <= 0:
        return 0
    return max(0, min(found.value, pool_size))


def effective_pool(config: PgBouncerConfig, entry: Entry, database: str, user: str,
                   kind: str = "client", owner: str = "", demand: Demand | None = None,
                   ) -> Pool:
    """pool_size, reserve and pool_mode of one pool: [users] (where the release accepts it)
    over [databases] over [pgbouncer]; what pool_size 0 means in the release; the clients
    that reach it."""
    user_entry = config.users.get(user) if kind != "forced" else None
    user_params = user_entry.params if user_entry else {}
    size = first_set([("pool_size", user_params.get("pool_size")),
                       ("pool_size", entry.params.get("pool_size"))])
    pool_size = (resolve_int("pool_size", size[1]) if size
                 else config.default_pool_size())
    reserve = first_set([("reserve_pool_size", user_params.get("reserve_pool_size")),
                          ("reserve_pool_size", entry.params.get("reserve_pool_size")),
                          ("reserve_pool", entry.params.get("reserve_pool"))])
    reserve_pool_size = (resolve_int(reserve[0], reserve[1]) if reserve
                         else config.reserve_pool_size())
    mode = first_set([("pool_mode", user_params.get("pool_mode")),
                       ("pool_mode", entry.params.get("pool_mode"))])
    pool_mode = resolve_mode(mode[1]) if mode else config.pool_mode()
    zero = behaviour(POOL_SIZE_ZERO, config.version) if pool_size.value == 0 else None
    clients = _client_bound(config, entry, database, user if kind == "client" else None,
                            demand)
    return Pool(database, user, pool_size, reserve_pool_size, pool_mode, kind, owner or user,
                zero, clients, _floor(config, entry, pool_size.value))


def _positive(resolved: Resolved[int]) -> bool:
    return resolved.value is not None and resolved.value > 0


def _database_cap(config: PgBouncerConfig, entry: Entry) -> Resolved[int]:
    own = entry.params.get("max_db_connections")
    if own is not None:
        found = resolve_int("max_db_connections", own)
        if not (found.value is not None and found.value <= 0):
            return found
    return config.max_db_connections()


def _user_cap(config: PgBouncerConfig, user: str, shared: bool) -> Resolved[int]:
    """A user object's cap: its [users] max_user_connections (user objects of the auth_file and
    [users] only), else the global one; 0 or less is no cap."""
    user_entry = config.users.get(user) if shared else None
    own = user_entry.params.get("max_user_connections") if user_entry else None
    if own is not None:
        found = resolve_int("max_user_connections", own)
        if not (found.value is not None and found.value <= 0):
            return found
    return config.max_user_connections()


def _max_flow(edges: dict[tuple[str, str], int], source: str, sink: str) -> int:
    """Edmonds-Karp over a graph of a few dozen nodes."""
    residual: dict[str, dict[str, int]] = {}
    for (a, b), capacity in edges.items():
        residual.setdefault(a, {})[b] = residual.get(a, {}).get(b, 0) + capacity
        residual.setdefault(b, {}).setdefault(a, 0)
    total = 0
    while True:
        parents: dict[str, str] = {source: source}
        queue = [source]
        while queue and sink not in parents:
            node = queue.pop(0)
            for nxt, capacity in residual.get(node, {}).items():
                if capacity > 0 and nxt not in parents:
                    parents[nxt] = node
                    queue.append(nxt)
        if sink not in parents:
            return total
        step, node = _INFINITE * 4, sink
        while node != source:
            step = min(step, residual[parents[node]][node])
            node = parents[node]
        node = sink
        while node != source:
            residual[parents[node]][node] -= step
            residual[node][parents[node]] += step
            node = parents[node]
        total += step


def _flow(terms: Sequence[DatabaseTerm], caps: dict[str, int], roles: Collection[str] | None,
          any_database: Sequence[str] = ()) -> int:
    """Most server connections at once: sum of pools within every database and user cap
    (`roles`: only pools that log in as one of them; `any_database`: user objects that may
    open pools in any number of other databases, as far as their caps allow)."""
    edges: dict[tuple[str, str], int] = {}
    for owner in any_database:
        if roles is None or owner in roles:
            edges[("source", f"u:{owner}")] = caps[owner]
            edges[(f"u:{owner}", "sink")] = _INFINITE
    for term in terms:
        db_cap = term.max_db_connections.value if _positive(term.max_db_connections) else None
        edges[(f"d:{term.database}", "sink")] = db_cap or _INFINITE
        for pool in term.pools:
            if roles is not None and pool.user not in roles:
                continue
            key = (f"u:{pool.owner}", f"d:{term.database}")
            edges[key] = edges.get(key, 0) + (pool.size or 0)
            edges[("source", f"u:{pool.owner}")] = caps.get(pool.owner, _INFINITE)
        if term.open_users and roles is None:
            edges[("source", f"u:{ANY_USER}@{term.database}")] = _INFINITE
            edges[(f"u:{ANY_USER}@{term.database}", f"d:{term.database}")] = _INFINITE
    return _max_flow(edges, "source", "sink")


@dataclass
class _Users:
    names: list[str] | None  # the client users, None: not known
    registered: set[str]  # user objects shared by every database: auth_file and [users]


def _auth_user(config: PgBouncerConfig, entry: Entry) -> str | None:
    auth = (config.text("auth_type") or "md5").lower()
    if auth in ("any", "pam"):
        return None
    return entry.text("auth_user") or config.text("auth_user")


def _database_term(config: PgBouncerConfig, name: str, entry: Entry, users: _Users,
                   demand: Demand | None = None) -> DatabaseTerm:
    forced = entry.text("user")
    pools: list[Pool] = []
    if forced:
        pools.append(effective_pool(config, entry, name, forced, "forced", f"{name}\0{forced}",
                                    demand))
    elif users.names is not None:
        for user in users.names:
            owner = user if user in users.registered else f"{name}\0{user}"
            pools.append(effective_pool(config, entry, name, user, "client", owner, demand))
    auth_user = _auth_user(config, entry)
    looked_up = users.names is None or any(u not in users.registered for u in users.names)
    if auth_user and looked_up and not any(p.owner == auth_user for p in pools):
        pools.append(effective_pool(config, entry, name, auth_user, "auth", auth_user, demand))
    sizes = [pool.size for pool in pools]
    open_users = not forced and users.names is None
    pools_total = None if None in sizes else sum(size or 0 for size in sizes)
    cap = _database_cap(config, entry)
    total: int | None
    if _positive(cap):
        assert cap.value is not None
        total = cap.value if pools_total is None or open_users else min(cap.value, pools_total)
    else:
        total = None if open_users or cap.value is None or (
            pools_total is not None and pools_total >= _INFINITE) else pools_total
    return DatabaseTerm(database=name, entry=entry.name, host=entry.text("host"),
                        port=entry.text("port"),
                        dbname=entry.text("dbname") or (None if name == ANY_DATABASE else name),
                        forced_user=forced, pools=tuple(pools),
                        pools_total=pools_total, max_db_connections=cap, total=total,
                        file=entry.file, line=entry.line, open_users=open_users)


def _kept_without_clients(config: PgBouncerConfig, databases: Sequence[str], users: _Users,
                          ) -> list[DatabaseTerm]:
    """The forced-user databases no client asks for whose min_pool_size the release keeps open
    all the same (from 1.21, src/janitor.c), each holding that many server connections."""
    kept = behaviour(MIN_POOL_SIZE_FORCED_USER, config.version)
    if kept is None or kept.value != "kept_without_clients":
        return []
    found = []
    for name, entry in config.databases.items():
        if name == "*" or name in databases or not entry.text("user"):
            continue
        term = _database_term(config, name, entry, users, Demand(()))
        if term.total:
            found.append(term)
    return found


def _unlimited(terms: Sequence[DatabaseTerm]) -> list[Pool]:
    """Pools of no limit (pool_size 0 from 1.24) that nothing else bounds."""
    return [pool for term in terms for pool in term.pools
            if pool.size is not None and pool.size >= _INFINITE
            and not _positive(term.max_db_connections)]


def worst_case_server_connections(config: PgBouncerConfig, users: Sequence[str] | None = None,
                                  databases: Sequence[str] | None = None,
                                  userlist: Collection[str] | None = None,
                                  demand: Demand | None = None) -> WorstCase:
    """Worst-case server connections of one PgBouncer process.

    `users`: the roles clients log in as (None: not known); `databases`: the names clients ask
    for (None: not known, every listed database counts and '*' stands for any number of them);
    `userlist`: the names in the auth_file when it was read; `demand`: the client connections
    that reach it, when every client is known. Without client users, the users of the auth_file
    are those that can log in, when no auth_query can add others.
    """
    assumptions: list[str] = []
    unknown: list[str] = []
    registered = set(config.users) | set(userlist or ())
    names = sorted(dict.fromkeys(users)) if users else None
    auth_anywhere = bool(config.text("auth_user")) or any(
        entry.text("auth_user") for entry in config.databases.values())
    if names is None and userlist is not None and not auth_anywhere:
        names = sorted(registered)
        assumptions.append("the users that can log in are those of the auth_file")
    client_users = _Users(names, registered)
    terms: list[DatabaseTerm] = []
    open_databases = False
    if databases is None:
        for name, entry in config.databases.items():
            if name == "*":
                open_databases = True
                continue
            terms.append(_database_term(config, name, entry, client_users, demand))
    else:
        fallback = config.fallback()
        for name in dict.fromkeys(databases):
            found = config.databases.get(name, fallback)
            if found is None:
                unknown.append(f"database '{name}' is not in [databases] and there is no '*' "
                               "entry")
                continue
            terms.append(_database_term(config, name, found, client_users, demand))
        terms += _kept_without_clients(config, databases, client_users)
    for term in terms:
        if term.pools_total is None and not term.open_users:
            unknown.append(f"pool settings of database '{term.database}' are not known")
    caps: dict[str, int] = {}
    cap_list: list[UserCap] = []
    for term in terms:
        for pool in term.pools:
            if pool.owner in caps:
                continue
            shared = pool.owner == pool.user
            cap = _user_cap(config, pool.user, shared)
            if _positive(cap):
                assert cap.value is not None
                caps[pool.owner] = cap.value
                cap_list.append(UserCap(pool.owner, pool.user, "" if shared else term.database,
                                        cap))
    unbounded, bound_by = False, ""
    total: int | None = None
    if not unknown:
        flow = _flow(terms, caps, None)
        total = flow if flow < _INFINITE else None
        open_terms = [t.database for t in terms if t.open_users and t.total is None]
        if open_terms:
            unbounded = True
            unknown.append(f"the users that log in to {', '.join(open_terms)} are not known "
                           "and every user gets its own pool")
            bound_by = "max_db_connections (per database) or the client users"
        limitless = _unlimited(terms) if total is None else []
        if limitless:
            unbounded = True
            unknown.append(f"pool_size 0 has no limit per pool from PgBouncer 1.24 ("
                           f"{limitless[0].zero.cite.source if limitless[0].zero else ''}) and "
                           "no max_client_conn or client cap bounds "
                           + ", ".join(f"{p.database}/{p.user}" for p in limitless))
            bound_by = "max_db_connections (per database), or a pool_size above 0"
    if open_databases and not unknown:
        # any database name a client asks for becomes a database of its own with its own pools:
        # only the caps of user objects shared by every database bound them
        star = config.databases["*"]
        everywhere = [u for u in names or () if u in registered and u in caps]
        others = names is None or len(everywhere) < len(names) or bool(
            _auth_user(config, star) and any(u not in registered for u in names or ()))
        if others or total is None:
            unbounded, total = True, None
            unknown.append("clients may ask the '*' entry for any number of databases, each "
                           "with its own pools")
            bound_by = ("max_user_connections for every client user, or the databases clients "
                        "use")
        else:
            flow = _flow(terms, caps, None, everywhere)
            total = flow if flow < _INFINITE else None
            unbounded = total is None
            assumptions.append("databases reached through '*' bounded by max_user_connections")
    roles: dict[str, int] = {}
    if total is not None:
        star_users = [u for u in names or () if open_databases and u in caps]
        for role in sorted({pool.user for term in terms for pool in term.pools} | set(star_users)):
            roles[role] = _flow(terms, caps, {role}, star_users)
    return WorstCase(total=total, databases=tuple(terms),
                     user_caps=tuple(cap.cap for cap in cap_list),
                     assumptions=tuple(dict.fromkeys(assumptions)), unknown=tuple(unknown),
                     unbounded=unbounded, bound_by=bound_by, roles=roles, caps=tuple(cap_list))


def one_user_floor(config: PgBouncerConfig, databases: Sequence[str] | None = None,
                   userlist: Collection[str] | None = None) -> WorstCase | None:
    """What the worst case is at least when the client users are not known: clients logging in
    as ONE user open one pool per database (and, behind '*', at least one database of their
    own), capped by max_db_connections and that user's max_user_connections; every further
    user opens pools of its own on top. The smallest over a user of no [users] entry and each
    [users] entry (whose pool_size may be smaller). None when even that is not known."""
    names = list(databases) if databases is not None else [
        name for name in config.databases if name != "*"]
    if databases is None and "*" in config.databases:
        names.append(ANOTHER_DATABASE)
    floors = []
    for user in [ONE_USER, *config.users]:
        # a registered user object: no auth_query pool, one cap across every database
        worst = worst_case_server_connections(config, [user], names,
                                              {*(userlist or ()), user})
        if worst.total is not None:
            floors.append(worst)
    return min(floors, key=lambda w: w.total or 0) if floors else None
