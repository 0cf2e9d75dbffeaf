"""Settings every engine reads: defaults, overridden by the config file, overridden by flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class DatabaseOverride:
    max_connections: int | None = None
    reserved: int | None = None


@dataclass
class PoolerOverride:
    """What the files cannot say about a PgBouncer: how many processes share its port
    (so_reuseport), its release, the users and databases its clients use."""

    processes: int | None = None
    version: str | None = None
    users: list[str] | None = None
    databases: list[str] | None = None


@dataclass
class Settings:
    threshold: float = 0.8
    fail_on: str = "error"
    disabled_rules: set[str] = field(default_factory=set)
    exclude: list[str] = field(default_factory=list)
    # database address (e.g. "aws_db_instance.main") -> pinned numbers
    databases: dict[str, DatabaseOverride] = field(default_factory=dict)
    # pooler address (an ini file's path, "aws_ecs_service.pgbouncer") -> pinned facts
    poolers: dict[str, PoolerOverride] = field(default_factory=dict)
    # client address (e.g. "aws_ecs_service.api") -> database address
    clients: dict[str, str] = field(default_factory=dict)
    # application directory (resolved against the config file's) -> the addresses of the
    # deploying units that run it ("compose/web", "Deployment/shop/orders")
    apps: dict[str, list[str]] = field(default_factory=dict)
    # env var or library name (e.g. "PG_POOL_SIZE", "hikari") -> pool size assumed when unset
    default_pool_sizes: dict[str, int] = field(default_factory=dict)
    # share of the nominal-memory max_connections assumed when only the instance class is known
    instance_class_safety_factor: float = 0.8
    var_files: list[str] = field(default_factory=list)
    # var-files named by the config file: read only inside the scan roots
    config_var_files: list[str] = field(default_factory=list)
    cache: bool = True
    config_file: str | None = None
    # text output only, from the command line: info findings, every database's math, colour
    show_info: bool = False
    verbose: bool = False
    colour: bool = False

    @property
    def exclude_root(self) -> str | None:
        """Where anchored exclude patterns start: the config file's directory."""
        return os.path.dirname(self.config_file) if self.config_file else None
