"""The capacity model: databases, roles, poolers and clients, every number with its origin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connbudget.comments import Comment
from connbudget.errors import InputError

if TYPE_CHECKING:
    from connbudget.frontends.pgbouncer.model import PgBouncerConfig


@dataclass(frozen=True)
class Origin:
    """Where a number came from: a resource or file location, a data-table row, or a default."""

    text: str  # "aws_db_parameter_group.main max_connections", "default: ...", "data: ..."
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        if self.file:
            return f"{self.text} ({self.file}:{self.line})"
        return self.text


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


@dataclass
class Database:
    where: Location
    engine: str
    instance_class: str | None
    max_connections: Value
    superuser_reserved: Value
    rds_superuser_reserved: Value
    # names a client can use to reach it: resource addresses, module prefixes, host names
    aliases: set[str] = field(default_factory=set)
    # the line that sets its size (instance_class, a Serverless v2 max_capacity); 0 when unknown
    size_line: int = 0


@dataclass
class Role:
    name: str
    connection_limit: Value
    where: Location


@dataclass
class Pooler:
    kind: str  # "pgbouncer" | "rds-proxy"
    where: Location
    aliases: set[str] = field(default_factory=set)
    target: Key | None = None  # the database, once matched
    matched_by: str = ""  # how the target was found, as the budget states it
    target_refs: set[str] = field(default_factory=set)  # what it points at (hosts, addresses)
    # PgBouncer: worst-case server connections of all processes; RDS Proxy: percent of target
    server_connections: Value | None = None
    # PgBouncer whose client users are not known: what its worst case is at least (one user)
    server_connections_floor: Value | None = None
    # while a rolling deploy runs old and new replicas side by side (ECS percent, k8s maxSurge)
    server_connections_deploy: Value | None = None
    deploy_replicas: Value | None = None
    max_connections_percent: Value | None = None
    # RDS Proxy at the default percentage: where the setting would be written (the default
    # target group's connection_pool_config block when it has one, else the target group)
    percent_block: Origin | None = None
    percent_block_open: bool = False  # the block is connection_pool_config itself
    pool_mode: str | None = None
    pool_mode_origin: Origin | None = None
    max_client_conn: Value | None = None
    replicas: Value | None = None
    # per role (PgBouncer user) pool + reserve over all replicas, for the role's CONNECTION LIMIT
    role_needs: dict[str, Value] = field(default_factory=dict)
    # a corrected [databases]/[pgbouncer] fragment needs the database entry names
    database_names: list[str] = field(default_factory=list)
    # PgBouncer: its configuration, the auth_file names when read, processes per replica
    # (so_reuseport); server_connections and role_needs follow once its clients are known
    pgbouncer: PgBouncerConfig | None = None
    userlist: frozenset[str] | None = None
    processes: Value | None = None
    # what its worst case assumes or cannot bound, for CB103, and the settings that would
    assumptions: list[str] = field(default_factory=list)
    bound_by: str = ""


@dataclass
class Client:
    kind: str  # "ecs" | "kubernetes"
    where: Location
    max_tasks: Value
    deploy_tasks: Value
    processes: Value
    pool: Value
    pool_setting: str  # the env var or DSN parameter a fix should change
    scale_setting: str  # what to change to cap the task count
    autoscaled: bool
    refs: set[str] = field(default_factory=set)  # addresses and host names it points at
    user: str | None = None
    database: str | None = None  # the database name it asks for (a DSN path, PGDATABASE)
    target: Key | None = None  # the database or pooler, once matched
    matched_by: str = ""  # how the target was found, as the budget states it
    notes: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return "pods" if self.kind == "kubernetes" else "tasks"


@dataclass
class Alarm:
    """A CloudWatch alarm on the AWS/RDS DatabaseConnections metric."""

    where: Location
    dimension: str  # "DBInstanceIdentifier" | "DBClusterIdentifier" | "" (none or unknown)
    targets: set[str]  # what the dimension names: identifiers and the addresses it refers to
    target_text: str  # the dimension's value as written, for messages
    target_known: bool  # False: the dimension (or the metric) is unresolved
    threshold: float | None  # None when unresolved
    threshold_origin: Origin
    comparison: str | None  # comparison_operator; None when unresolved


@dataclass
class Model:
    databases: list[Database] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    poolers: list[Pooler] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    # the comments the front ends lexed, per file read, for the suppressions
    comments: dict[str, list[Comment]] = field(default_factory=dict)
