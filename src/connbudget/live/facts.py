"""What a running server and its pooler say, as read at one moment: plain frozen data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

IDLE_STATES = ("idle", "idle in transaction", "idle in transaction (aborted)")
IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


@dataclass(frozen=True)
class Endpoint:
    """Where a connection went, as libpq reports it (never with a password)."""

    user: str
    host: str  # a host name, an address or a unix socket directory
    port: str
    dbname: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.user}@{self.address}/{self.dbname}"


@dataclass(frozen=True)
class Slots:
    """The connection slots: max_connections and what is reserved out of it."""

    max_connections: int
    superuser_reserved: int  # superuser_reserved_connections
    reserved: int | None  # reserved_connections (PostgreSQL 16+); None: older server
    # what the server's platform reserves besides (providers.registry.RESERVED_SETTINGS), by
    # setting name, for those the server has
    platform_reserved: tuple[tuple[str, int], ...] = ()

    @property
    def total_reserved(self) -> int:
        return (self.superuser_reserved + (self.reserved or 0)
                + sum(value for _, value in self.platform_reserved))

    @property
    def usable(self) -> int:
        """What a role without reserved-slot privileges can open."""
        return self.max_connections - self.total_reserved


@dataclass(frozen=True)
class RoleFact:
    name: str
    login: bool
    superuser: bool
    connection_limit: int  # rolconnlimit; -1: no limit
    uses_reserved: bool | None  # member of pg_use_reserved_connections; None before 16
    bootstrap: bool  # the bootstrap superuser (oid 10), the role initdb creates


@dataclass(frozen=True)
class Session:
    """One client backend of pg_stat_activity. `state` None: hidden from the reading role."""

    pid: int
    role: str | None
    database: str | None
    state: str | None
    state_seconds: float | None  # how long in its state
    transaction_seconds: float | None  # how long its transaction has been open
    state_change: str | None  # the server's own text of state_change, to name the session
    wait_event: str | None  # "Timeout:PgSleep"
    own: bool  # connbudget's own connection
    # read only when asked for (--show-queries): they may hold personal data or secrets
    application_name: str | None = None
    client_addr: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class ServerFacts:
    server: Endpoint
    version: str
    version_num: int
    user: str
    sees_all_sessions: bool  # superuser or pg_read_all_stats (pg_monitor)
    slots: Slots
    roles: tuple[RoleFact, ...]
    sessions: tuple[Session, ...]
    details_read: bool  # query text, client addresses and application names were read

    @property
    def clients(self) -> tuple[Session, ...]:
        """Every session but connbudget's own."""
        return tuple(s for s in self.sessions if not s.own)

    def connections(self, role: str | None = None) -> int:
        """Client backends holding a slot now (connbudget's own included), of `role` or all."""
        return sum(1 for s in self.sessions if role is None or s.role == role)

    @property
    def hidden(self) -> int:
        return sum(1 for s in self.clients if s.state is None)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["server"] = str(self.server)
        data["slots"]["usable"] = self.slots.usable
        data["connections"] = self.connections()
        data["hidden_sessions"] = self.hidden
        if not self.details_read:
            for session in data["sessions"]:
                for key in ("application_name", "client_addr", "query"):
                    del session[key]
        return data


@dataclass(frozen=True)
class Pool:
    """A row of SHOW POOLS."""

    database: str
    user: str
    clients_active: int
    clients_waiting: int
    servers: int  # server connections it holds: active, idle, used, tested and logging in
    servers_active: int
    servers_idle: int
    max_wait_seconds: float
    pool_mode: str | None


@dataclass(frozen=True)
class BouncerDatabase:
    """A row of SHOW DATABASES: the values in force, PgBouncer's defaults filled in."""

    name: str
    pool_size: int | None
    min_pool_size: int | None
    reserve_pool: int | None
    pool_mode: str | None  # None: the [pgbouncer] pool_mode
    max_db_connections: int | None  # its max_connections column
    current_connections: int | None


@dataclass(frozen=True)
class PgBouncerFacts:
    server: Endpoint
    version: str  # "1.18.0"
    settings: tuple[tuple[str, str], ...]  # SHOW CONFIG, the settings that shape capacity
    databases: tuple[BouncerDatabase, ...]
    pools: tuple[Pool, ...]

    @property
    def server_connections(self) -> int:
        return sum(pool.servers for pool in self.pools)

    def setting(self, key: str) -> str | None:
        return dict(self.settings).get(key)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["server"] = str(self.server)
        data["settings"] = dict(self.settings)
        data["server_connections"] = self.server_connections
        return data
