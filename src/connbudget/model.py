"""The capacity model, the same for every platform: databases with their reserved slots, roles,
poolers and clients, every number with its origin (the file and line the parser gave it).

A provider (`connbudget.providers.<name>`) turns what the front ends read into these objects;
matching, budgets, rules and reporters work on them alone. What a platform means (the word for
its units, how it surges during a deploy, which alarms watch it) is the platform's row in
`connbudget.providers.registry`, named here by `platform`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.numbers import count

__all__ = ["count"]  # the one reading of a whole number, for the providers

if TYPE_CHECKING:
    from connbudget.frontends.pgbouncer.model import PgBouncerConfig


@dataclass(frozen=True)
class Origin:
    """Where a number came from: a resource or file location, a data-table row, or a default.

    `line` is the line of the value itself as the parser recorded it; `column` and `end_column`
    (1-based, end exclusive, on that line) its span where the format gives one, so that a fix
    replaces exactly the value and nothing else."""

    text: str  # "aws_db_parameter_group.main max_connections", "default: ...", "data: ..."
    file: str = ""
    line: int = 0
    column: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        if self.file:
            return f"{self.text} ({self.file}:{self.line})"
        return self.text

    @classmethod
    def spanning(cls, text: str, file: str, span: tuple[int, int, int, int] | None,
                 line: int = 0) -> Origin:
        """An origin at a value's span as its parser gave it: (line, column, end line, end
        column); a value written over several lines keeps only its first line."""
        if span is None:
            return cls(text, file, line)
        start, column, end, end_column = span
        return cls(text, file, start, column, end_column if end == start else 0)


@dataclass(frozen=True)
class Insert:
    """Where a setting the files do not write yet goes: after line `after` of `file`, the first
    of `keys` at column `indent` (0-based). YAML nests the keys two columns apart
    (`rollingUpdate:` then `  maxSurge: 1`); HCL takes one key (`key = value`)."""

    file: str
    after: int
    indent: int
    keys: tuple[str, ...]
    yaml: bool = True


@dataclass(frozen=True)
class Value:
    """A number in the budget. `value` None means unknown; `unlimited` means no bound at all."""

    value: int | None
    origin: Origin
    assumed: bool = False
    unlimited: bool = False

    @property
    def known(self) -> bool:
        return self.value is not None and not self.unlimited


def unknown(why: str, file: str = "", line: int = 0) -> Value:
    return Value(None, Origin(why, file, line), assumed=True)


def refers_to(ref: str, alias: str) -> bool:
    """Whether a reference (`aws_db_instance.main.address`, `module.db`, a host name) names the
    thing called `alias` or something inside it; names compare case-insensitively, as host names
    and the addresses written in them do. The one place such a match is decided."""
    ref, alias = ref.lower(), alias.lower()
    return ref == alias or ref.startswith(alias + ".") or ref.startswith(alias + "[")


Key = tuple[str, str]  # (root, address): what identifies a database, pooler or client


@dataclass(frozen=True)
class Location:
    address: str
    file: str
    line: int
    end_line: int | None = None
    # the Terraform root module it belongs to (for an ini or YAML file, the nearest root
    # directory enclosing it); "" when none. Each root is its own configuration.
    root: str = ""
    show_root: bool = False  # the run holds several roots: name the root beside the address

    @property
    def key(self) -> Key:
        return (self.root, self.address)

    @property
    def label(self) -> str:
        """The address as messages show it: with its root when the run holds several."""
        if not self.show_root or not self.root or self.address.startswith(self.root + "/"):
            return self.address
        return f"{self.address} ({self.root})"


@dataclass(frozen=True)
class Reservation:
    """Connection slots a platform keeps from ordinary roles (PostgreSQL's
    `superuser_reserved_connections`, RDS's `rds.rds_superuser_reserved_connections`, ...)."""

    name: str
    value: Value


@dataclass
class Database:
    where: Location
    engine: str  # "postgres", "aurora-postgresql"
    platform: str  # a row of providers.registry.DATABASE_PLATFORMS: "rds", "compose", ...
    size: str | None  # what decides its max_connections default: an instance class, a tier
    max_connections: Value
    reservations: list[Reservation]
    # names a client can use to reach it: resource addresses, module prefixes, host names
    aliases: set[str] = field(default_factory=set)
    # where its size is set (instance_class, a Serverless v2 max_capacity); None when unknown
    size_origin: Origin | None = None
    # PostgreSQL's major version (an engine version, a parameter group family, an image tag)
    version: Value | None = None


@dataclass
class Role:
    name: str
    connection_limit: Value
    where: Location


@dataclass
class Pooler:
    """What sits between clients and a database and opens server connections of its own."""

    where: Location
    aliases: set[str] = field(default_factory=set)
    target: Key | None = None  # the database, once matched
    matched_by: str = ""  # how the target was found, as the budget states it
    target_refs: set[str] = field(default_factory=set)  # what it points at (hosts, addresses)
    # worst-case server connections of all its processes and replicas, once its clients are
    # known, and while a rolling deploy runs old and new replicas side by side
    server_connections: Value | None = None
    server_connections_deploy: Value | None = None
    replicas: Value | None = None
    deploy_replicas: Value | None = None
    # per role it logs in as: pool + reserve over all replicas, for the role's CONNECTION LIMIT
    role_needs: dict[str, Value] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The kind of path it makes, as budgets name it."""
        raise NotImplementedError


@dataclass(frozen=True)
class ZeroPools:
    """Pools whose size is 0, as the PgBouncer release in use reads it: at most one server
    connection per pool through 1.23 ("at_most_one"), no limit per pool from 1.24
    ("no_limit")."""

    pools: tuple[str, ...]  # "app/web", as database/user
    setting: Origin  # where the 0 is set
    meaning: str
    source: str  # the line of PgBouncer's source that decides it
    release: str  # the release and why it applies ("PgBouncer 1.23.1 (image ...)")
    count: int = 0  # the pools its clients open with it (0: not known)


@dataclass
class PgBouncer(Pooler):
    """A PgBouncer: an ini file, a container configured by its environment, an operator's
    pooler, or one a database service runs. `dialect` says how its settings are written, for
    fixes: "ini", "env", the operator's resource ("cnpg", "zalando", "crunchy"), or
    "parameters" (the service's server parameters, written by `parameter`)."""

    config: PgBouncerConfig | None = None
    dialect: str = "ini"
    # configured by environment: how its file writes a variable ("yaml-list", "yaml-map",
    # "hcl-block"), and what widens its rolling deploy ("" when nothing does)
    env_style: str = ""
    deploy_setting: str = ""
    # an operator's pooler: where its cap on server connections would go when not written
    cap_insert: Insert | None = None
    userlist: frozenset[str] | None = None  # the auth_file's user names, when read
    processes: Value | None = None  # per replica (so_reuseport)
    pool_mode: str | None = None
    pool_mode_origin: Origin | None = None
    max_client_conn: Value | None = None
    # a corrected [databases]/[pgbouncer] fragment needs the database entry names
    database_names: list[str] = field(default_factory=list)
    # whose client users are not known: what its worst case is at least (one user)
    server_connections_floor: Value | None = None
    # what its worst case assumes or cannot bound, for CB103, and the settings that would
    assumptions: list[str] = field(default_factory=list)
    bound_by: str = ""
    # the settings that decide its server connections, as its worst case used them: each
    # pool's size and reserve where they are written (a [users] pool_size, a [databases]
    # pool_size, default_pool_size), the max_db_connections and max_user_connections that cap
    deciding: list[Origin] = field(default_factory=list)
    zero_pools: list[ZeroPools] = field(default_factory=list)
    # run by a database service and set through its server parameters: what writes one
    # (`parameter(key, value)`, in the file's own syntax) and the keys the service lets be set
    parameter: Callable[[str, str], str] | None = None
    settable: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return "pgbouncer"


@dataclass
class PercentProxy(Pooler):
    """A proxy that opens up to a percentage of its database's max_connections (RDS Proxy)."""

    percent: Value | None = None
    # at the default percentage: where the setting would be written, and whether that place is
    # the block the setting belongs in (True) or the resource that would take the block (False)
    percent_block: Origin | None = None
    percent_block_open: bool = False
    product: str = ""  # the path it makes, as budgets name it

    @property
    def path(self) -> str:
        return self.product


@dataclass(frozen=True)
class Written:
    """Where an application's own file sets (or would set) one of a client's numbers, so that a
    fix speaks that file's syntax: `setting` is the framework's name for it, `at` the value's
    span (a fix replaces it) or, when `insert` is set, the place a new setting goes, `insert`
    being the text to put there with `{value}` for the number. `less` is what other settings
    add to the number (SQLAlchemy's max_overflow on top of pool_size): the file is given the
    number less that."""

    setting: str
    at: Origin
    insert: str = ""
    less: int = 0


@dataclass(frozen=True)
class PreparedStatements:
    """What a client's database library does with server-side prepared statements: a pooler
    that hands its server connections from client to client per transaction must keep track of
    them (PgBouncer's max_prepared_statements, from 1.21)."""

    library: str  # "pgx", "asyncpg", "Prisma", "JDBC (pgjdbc)"
    named: bool  # it prepares named statements on the server and uses them again later
    origin: Origin  # the setting that decides it, or the library default (with its source)
    off: str  # the client-side setting that turns them off, as this client writes it
    # Prisma's `pgbouncer=true`: its own way around poolers without prepared statements, which
    # breaks against a PgBouncer that keeps them (it runs DEALLOCATE ALL behind its back)
    pgbouncer_mode: bool = False


@dataclass
class Client:
    platform: str  # a row of providers.registry.CLIENT_PLATFORMS: "ecs", "kubernetes", ...
    where: Location
    scale: Value  # the most units (tasks, pods, replicas) that run at once
    deploy: Value  # units while a rolling deploy runs old and new side by side
    processes: Value
    pool: Value
    pool_setting: str  # the env var or DSN parameter a fix should change
    scale_setting: str  # what to change to cap the unit count
    autoscaled: bool
    # the hosts and addresses its connection settings name (PGHOST, DATABASE_URL, a DSN's
    # host=): where it connects, and nothing else of its environment
    refs: set[str] = field(default_factory=set)
    user: str | None = None
    database: str | None = None  # the database name it asks for (a DSN path, PGDATABASE)
    target: Key | None = None  # the database or pooler, once matched
    matched_by: str = ""  # how the target was found, as the budget states it
    notes: list[str] = field(default_factory=list)
    # how its file writes an environment variable: "hcl-object" (an ECS container definition),
    # "hcl-block" (Terraform's kubernetes provider), "hcl-map" (`NAME = "value"` in an HCL
    # map: a Lambda function's variables), "yaml-list", "yaml-map" (compose)
    env_style: str = "yaml-list"
    deploy_setting: str = ""  # what widens its rolling deploy ("" when nothing does)
    # where that setting's value is written (its span), or where it would go when it is not
    deploy_at: Origin | None = None
    deploy_insert: Insert | None = None
    # why the host it connects to cannot be read (a secret DATABASE_URL): its database is then
    # unknown, never the single one in its scope; "" when the host is read or none is set
    unknown_host: str = ""
    # how much of `scale_setting` one unit takes (a Batch job's vCPUs of max_vcpus): a cap of
    # N units writes N x this
    per_unit: int = 1
    # the library whose pool this is, as the application's configuration names it
    # ("activerecord", "hikaricp", "sqlalchemy", "django", "psycopg_pool", "knex",
    # "node-postgres", "typeorm", "sequelize", "prisma", "pgxpool", "database/sql", "flyway")
    # or as the environment suggests it ("hikaricp" for SPRING_DATASOURCE_*); "" when unknown
    library: str = ""
    # where the application's own file sets the pool and the processes (a fix edits there
    # rather than the environment); None when the environment or a command line sets them
    pool_written: Written | None = None
    processes_written: Written | None = None
    # how its libraries use server-side prepared statements, where that is known
    statements: tuple[PreparedStatements, ...] = ()


@dataclass
class Alarm:
    """An alarm on a database's connection count, of the alarm service of a platform (its
    module, `DatabasePlatform.alarms`, reads and writes it)."""

    where: Location
    dimension: str  # what names the database it watches ("" when none or unknown)
    targets: set[str]  # what the dimension names: identifiers and the addresses it refers to
    target_text: str  # the dimension's value as written, for messages
    target_known: bool  # False: the dimension (or the metric) is unresolved
    threshold: float | None  # None when unresolved
    threshold_origin: Origin
    comparison: str | None  # comparison_operator; None when unresolved
    service: str = ""  # the alarm service it belongs to ("CloudWatch", ...): its module's SERVICE


@dataclass(frozen=True)
class Unread:
    """Something a run recognised and did not read that may hold connections to a database: a
    resource type not modelled yet, a remote module not present, an unrendered chart, an
    application file not read, a client whose database or pool is unknown. It keeps every
    database it may touch from being "ok" (the coverage of a budget)."""

    what: str  # "aws_lambda_function.api", "module.vpc", "Helm chart web"
    why: str  # why it is not read; never text from the input
    file: str
    line: int
    fix: str  # what makes it read: a pin, a mapping, a render command, the kind it waits for
    # "resource" (a client or a database not modelled yet), "module", "chart", "file" (an
    # input of a kind not read), "client" (its database or pool unknown), "pooler"
    kind: str = "resource"
    # the Terraform root it belongs to: it may touch that root's databases ("": any database)
    root: str = ""
    # the databases it may touch, when that is known (a client whose pool is unknown but whose
    # database is); None: every database in its scope
    databases: frozenset[Key] | None = None


@dataclass(frozen=True)
class Reach:
    """A network path the files declare: the compute resource `source` can open connections to
    the database or pooler `target`, because a firewall rule admits it (`how` says which,
    with its file and line). Matching falls back on it for a client whose connection setting
    does not name its database; a source that is no client of a database it reaches is an
    Unread of that database."""

    source: Key
    target: Key
    how: str


@dataclass
class Model:
    databases: list[Database] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    poolers: list[Pooler] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)  # what could connect and was not read
    network: list[Reach] = field(default_factory=list)  # who can reach which database
    errors: list[InputError] = field(default_factory=list)
    # the comments the front ends lexed, per file read, for the suppressions
    comments: dict[str, list[Comment]] = field(default_factory=dict)
