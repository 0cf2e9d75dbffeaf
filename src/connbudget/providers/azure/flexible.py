"""Azure Database for PostgreSQL flexible servers, their server parameters and their built-in
PgBouncer, from what the Terraform (`azurerm_postgresql_flexible_server` and
`azurerm_postgresql_flexible_server_configuration`) or an ARM template declares.

max_connections, in order (a pin comes first, applied by the budget): the server parameter
`max_connections`; the default Microsoft documents for the `sku_name` (fixed when the server is
created: a later compute change keeps it); otherwise unknown. Reserved: Azure keeps 15 slots
for replication and monitoring, on PostgreSQL 16 and later `reserved_connections` 5 +
`superuser_reserved_connections` 10, both read-only.

The built-in PgBouncer (server parameter `pgbouncer.enabled` = true; General Purpose and Memory
Optimized only) listens on port 6432 of the server's host, in transaction mode with 50 server
connections per (database, user) pair unless the `pgbouncer.*` parameters say otherwise: a
pooler in front of the server. A client reaches it by the server's host on port 6432.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.model import Entry, PgBouncerConfig, Setting, release
from connbudget.model import Database, Location, Origin, PgBouncer, Reservation, Value, count
from connbudget.model import unknown as unknown_value
from connbudget.providers.azure import tables
from connbudget.providers.pgbouncer.poolers import pooler_from_config
from connbudget.providers.postgresql.server import reservation

PLATFORM = "azure-flexible"
TYPE = "azurerm_postgresql_flexible_server"
CONFIGURATION = "azurerm_postgresql_flexible_server_configuration"
MAX_CONNECTIONS = "max_connections"
HOST_SUFFIX = ".postgres.database.azure.com"
FIRST_WITH_RESERVED_CONNECTIONS = 16
# the server's host as clients write it: its name under postgres.database.azure.com (also
# through a private endpoint's or private DNS zone's name), or Terraform's `fqdn` attribute
_HOST = re.compile(r"^(?:\$\{(azurerm_postgresql_flexible_server\.[\w-]+(?:\[[^\]]*\])?)\.fqdn\}"
                   r"|(azurerm_postgresql_flexible_server\.[\w-]+(?:\[[^\]]*\])?)(?:\.fqdn)?"
                   r"|([a-z0-9][a-z0-9-]*)\.(?:privatelink\.|private\.)?postgres\.database\."
                   r"azure\.com)(?::(\d+))?$")
# the parameters of the built-in PgBouncer that bound its server connections and clients
SETTABLE = ("default_pool_size", "max_client_conn", "pool_mode", "min_pool_size",
            "max_prepared_statements")


@dataclass(frozen=True)
class Parameter:
    """A server parameter as the files set it: the value as written (None when unresolved),
    why it is unknown, and where its value stands."""

    value: str | None
    origin: Origin
    unknown: str = ""


@dataclass(frozen=True)
class Server:
    """One flexible server as a front end read it, whatever the format."""

    where: Location
    name: str | None
    sku_name: str | None
    sku_origin: Origin | None
    version: int | None
    parameters: dict[str, Parameter]
    # the HCL or JSON that sets a server parameter `name` to `value`, for fixes
    writes: Callable[[str, str], str]


def alias(name: str) -> str:
    """What a client naming the server by its host answers to."""
    return f"azure-postgres:{name.lower()}"


def pgbouncer_alias(name: str) -> str:
    return f"azure-pgbouncer:{name.lower()}"


def _port() -> str:
    return str(tables.builtin_pgbouncer().port.value)


def endpoints(refs: set[str]) -> set[str]:
    """Server hosts as the server they name; on PgBouncer's port, as its built-in PgBouncer
    (and then the server named again without the port is that PgBouncer too)."""
    targets: dict[str, tuple[str, bool, bool]] = {}  # ref -> (server, pooled, by address)
    for ref in refs:
        match = _HOST.match(ref.strip().lower())
        if match is not None:
            address = match.group(1) or match.group(2)
            targets[ref] = (address or match.group(3), match.group(4) == _port(), bool(address))
    pooled = {server for server, pool, _ in targets.values() if pool}
    found = set()
    for ref in refs:
        if ref in targets:
            server, pool, by_address = targets[ref]
            if pool:
                found.add(pgbouncer_alias(server))
            elif server not in pooled:
                found.add(server if by_address else alias(server))
        elif not any(ref.lower().startswith(server + ".") for server in pooled):
            found.add(ref)
    return found


def reservations(version: int | None = None) -> list[Reservation]:
    """The 15 slots Azure keeps: reserved_connections 5 + superuser_reserved_connections 10 on
    PostgreSQL 16+ (or an unknown version), the 15 "for replication and monitoring" before."""
    if version is not None and version < FIRST_WITH_RESERVED_CONNECTIONS:
        total = tables.reserved_slots()
        assert total is not None
        return [reservation("Azure reserved connections", None, total.value,
                            f"{total.note}: {total.cite}")]
    found = []
    for name, fact in (("reserved_connections", tables.reserved_connections()),
                       ("superuser_reserved_connections",
                        tables.superuser_reserved_connections())):
        assert fact is not None
        found.append(reservation(name, None, fact.value, f"Azure, read-only: {fact.cite}"))
    return found


def _max_connections(server: Server) -> Value:
    param = server.parameters.get(MAX_CONNECTIONS)
    if param is not None:
        number = count(param.value) if param.value is not None else None
        if number is not None:
            return Value(number, param.origin)
        return unknown_value(f"{param.origin.text} {param.unknown or 'is not a whole number'}",
                             param.origin.file, param.origin.line)
    where = server.where
    if server.sku_name is None:
        return unknown_value(f"default: the sku_name of {where.address} is not set or "
                             "unresolved, so max_connections is unknown; pin it", where.file,
                             where.line)
    found = tables.sku(server.sku_name)
    if found is None:
        return unknown_value(f"default: Microsoft documents no max_connections for sku_name "
                             f"{server.sku_name} of {where.address}; set its max_connections "
                             "server parameter or pin it", where.file, where.line)
    return Value(found.max_connections, Origin(
        f"data: Azure default for {server.sku_name} ({found.vcores} vCores, {found.memory_gib} "
        f"GiB): {found.max_connections}, fixed when the server is created ({found.cite})"))


def database(server: Server) -> Database:
    aliases = {server.where.address}
    if server.name:
        aliases |= {server.name, alias(server.name), server.name.lower() + HOST_SUFFIX}
    return Database(server.where, "postgres", PLATFORM, server.sku_name, _max_connections(server),
                    reservations(server.version), aliases=aliases, size_origin=server.sku_origin)


def _enabled(server: Server) -> Parameter | None:
    param = server.parameters.get("pgbouncer.enabled")
    return param if param is not None and (param.value or "").strip().lower() == "true" else None


def _setting(server: Server, key: str, default: str, cite: str) -> Setting:
    param = server.parameters.get(f"pgbouncer.{key}")
    if param is None:
        return Setting(key, default, "", 0, source=f"Azure default {default} ({cite})")
    origin = param.origin
    if param.value is None:
        return Setting(key, "", origin.file, origin.line, unknown=param.unknown or "unresolved")
    return Setting(key, param.value.strip(), origin.file, origin.line)


def builtin_pgbouncer(server: Server) -> tuple[PgBouncer | None, list[InputError]]:
    """The server's built-in PgBouncer when `pgbouncer.enabled` is on; on a Burstable server,
    which has none, a located error instead."""
    enabled = _enabled(server)
    if enabled is None:
        return None, []
    facts = tables.builtin_pgbouncer()
    if server.sku_name and server.sku_name.strip().upper().startswith("B_"):
        return None, [InputError(enabled.origin.file, enabled.origin.line,
                                 f"pgbouncer.enabled is on, but {server.sku_name} is Burstable, "
                                 f"which has no built-in PgBouncer ({facts.on_burstable.cite}): "
                                 "Azure refuses the parameter; no pooler is counted")]
    where = server.where
    config = PgBouncerConfig(origin=f"{where.file}:{where.line}", files=[where.file],
                             version=release(facts.version.value),
                             version_source=f"Azure's built-in PgBouncer {facts.version.value} "
                                            f"({facts.version.cite})")
    for key, fact in (("default_pool_size", facts.default_pool_size),
                      ("max_client_conn", facts.max_client_conn),
                      ("pool_mode", facts.pool_mode), ("min_pool_size", facts.min_pool_size),
                      ("max_prepared_statements", facts.max_prepared_statements)):
        config.settings[key] = _setting(server, key, str(fact.value), str(fact.cite))
    host = (server.name.lower() + HOST_SUFFIX) if server.name else where.address
    config.databases["*"] = Entry("*", {"host": Setting("host", host, where.file, where.line)},
                                  where.file, where.line)
    names = {server.name, where.address} if server.name else {where.address}
    pooler = pooler_from_config(
        config, Location(f"{where.address}/pgbouncer", where.file, enabled.origin.line,
                         None, where.root),
        {pgbouncer_alias(n) for n in names if n}, Value(1, Origin(
            f"the built-in PgBouncer of {where.address}, port {facts.port.value} "
            f"({facts.port.cite})")), {where.address}, dialect="parameters")
    pooler.parameter = lambda key, value: server.writes(f"pgbouncer.{key}", value)
    pooler.settable = SETTABLE
    return pooler, []
