"""Settings every engine reads: defaults, overridden by the config file, overridden by flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# file endings of the inputs whose file is their own address (a pgbouncer.ini pooler)
_FILE_ADDRESS = (".ini", ".j2", ".conf", ".cfg", ".yaml", ".yml", ".json")


def is_path(address: str) -> bool:
    """Whether an address names a file (a pooler's ini), not a resource."""
    return address.startswith(("./", "../", "/")) or address.lower().endswith(_FILE_ADDRESS)


def canonical(address: str, base: str = "") -> str:
    """An address as the config and the model compare it: a file path absolute (relative to
    `base`, the config file's directory, for the config's own), anything else as written."""
    if not is_path(address):
        return address
    return os.path.normpath(os.path.abspath(os.path.join(base, address)))


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
    # pooler address (an ini file's path, "aws_ecs_service.pgbouncer") -> pinned facts; a
    # path is absolute (`canonical`): the config's paths are relative to the config file
    poolers: dict[str, PoolerOverride] = field(default_factory=dict)
    # client address (e.g. "aws_ecs_service.api") -> database or pooler address, both
    # `canonical`
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
    # where the config's relative paths start (its directory, or the tree's top for a
    # --config file outside the tree), and what it sets: every report lists it
    config_root: str | None = None
    config_table: dict[str, Any] = field(default_factory=dict)
    # text output only, from the command line: info findings, every database's math, colour
    show_info: bool = False
    verbose: bool = False
    colour: bool = False

    def client_target(self, address: str) -> str | None:
        """What the config maps a client (or pooler) to, whatever the spelling of its path."""
        return self.clients.get(canonical(address))

    def pooler(self, address: str) -> PoolerOverride | None:
        return self.poolers.get(canonical(address))

    @property
    def exclude_root(self) -> str | None:
        """Where anchored exclude patterns start: where the config's relative paths do."""
        return self.config_root
