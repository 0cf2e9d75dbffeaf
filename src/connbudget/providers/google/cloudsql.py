"""Cloud SQL for PostgreSQL instances from Terraform (`google_sql_database_instance`), and how
many connections each allows.

max_connections, in order (a pin in [tool.connbudget.databases] comes first, applied by the
budget):
  1. the `max_connections` database flag (`settings.database_flags`);
  2. the default Google documents for the memory of the largest instance of the replication
     chain (data/cloudsql_max_connections.csv); a read replica (`master_instance_name`) is a
     database of its own, with its own flags;
  3. otherwise unknown: a tier whose memory Google documents no default for, an unknown tier.
Reserved: PostgreSQL's `superuser_reserved_connections` (3, or the flag), which no application
role can use since Cloud SQL gives no one SUPERUSER. Whether Cloud SQL reserves more on
PostgreSQL 16 and later (`reserved_connections`) Google does not document: the budget says so,
and usable is at most max_connections - 3.

A client names an instance by its address, its name, or its connection name
(`<project>:<region>:<instance>`, `/cloudsql/<connection name>` as a unix socket): `endpoints`.
"""

from __future__ import annotations

import re
from typing import Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Database, Origin, Reservation, Value, count, unknown
from connbudget.providers.google import tables
from connbudget.providers.postgresql.server import reservation
from connbudget.providers.tfvalues import blocks, located_at, location, refers, text

PLATFORM = "cloud-sql"
TYPE = "google_sql_database_instance"
FLAG = "max_connections"
_VERSION = re.compile(r"POSTGRES_(\d+)", re.IGNORECASE)
# a connection name, as a unix socket path too: the project may hold a colon of its own
# (`example.com:shop`), the region is like `us-central1`
_CONNECTION = re.compile(r"^(?:/cloudsql/)?[a-z][a-z0-9.:-]*:[a-z]+-[a-z]+\d+:([a-z][a-z0-9-]*)"
                         r"(?:/\.s\.pgsql\.\d+)?/?$")
_RESERVED = ("superuser_reserved_connections", "reserved_connections")
FIRST_WITH_RESERVED_CONNECTIONS = 16


def alias(name: str) -> str:
    """What a client naming the instance by its connection name answers to."""
    return f"cloudsql:{name.lower()}"


def endpoints(refs: set[str]) -> set[str]:
    """Connection names and `/cloudsql/...` sockets as the instance they name."""
    found = set()
    for ref in refs:
        match = _CONNECTION.match(ref.strip().lower())
        found.add(alias(match.group(1)) if match else ref)
    return found


def connection_name(value: str) -> str | None:
    """The instance a written connection name names (`p:r:i`, `p:r:i?port=5432`,
    `p:r:i=tcp:5432`); None when it is not one."""
    match = _CONNECTION.match(re.split(r"[?=]", value.strip().lower(), maxsplit=1)[0])
    return match.group(1) if match else None


def _version(res: Resource) -> int | None:
    found = _VERSION.fullmatch(str(res.attrs.get("database_version", "")).strip())
    return int(found.group(1)) if found else None


def reservations(flags: dict[str, Value] | None = None, version: int | None = None,
                 ) -> list[Reservation]:
    """The slots no application role can use: superuser_reserved_connections (PostgreSQL's 3
    unless a flag sets it) and reserved_connections where a flag sets it; on PostgreSQL 16+
    (or an unknown version) the origin says that Cloud SQL may reserve more, undocumented."""
    flags = flags or {}
    slots = tables.reserved_slots()
    why = f"{slots.note} ({slots.cite})"
    if "reserved_connections" not in flags and (
            version is None or version >= FIRST_WITH_RESERVED_CONNECTIONS):
        why += ("; at least: on PostgreSQL 16+ Google does not document whether Cloud SQL "
                "also sets reserved_connections, so usable is at most max_connections - "
                f"{slots.at_least} ({tables.cite('cloudsql.reserved_connections')})")
    found = [reservation(_RESERVED[0], flags.get(_RESERVED[0]), slots.at_least, why)]
    if _RESERVED[1] in flags:
        found.append(Reservation(_RESERVED[1], flags[_RESERVED[1]]))
    return found


def _settings(res: Resource) -> dict[str, Any]:
    found = blocks(res.attrs, "settings")
    return found[0] if found else {}


def _flags(res: Resource) -> dict[str, Value]:
    """The database flags that set a number, each at its value's position."""
    found: dict[str, Value] = {}
    for index, flag in enumerate(blocks(_settings(res), "database_flags")):
        name = flag.get("name")
        if not isinstance(name, str):
            continue
        origin = located_at(res, (("settings", 0), ("database_flags", index)), "value",
                         f"{res.address} database flag {name}")
        raw = flag.get("value")
        number = None if isinstance(raw, Unknown) else count(raw)
        if number is not None:
            found[name] = Value(number, origin)
        elif isinstance(raw, Unknown):
            found[name] = unknown(f"{origin.text} = {raw.expression} is unresolved", origin.file,
                                  origin.line)
        else:
            found[name] = unknown(f"{origin.text} is not a whole number", origin.file,
                                  origin.line)
    return found


def _tier(res: Resource) -> str | None:
    return text(_settings(res).get("tier"))


def _primary(res: Resource, instances: list[Resource]) -> Resource | None:
    master = res.attrs.get("master_instance_name")
    if master is None:
        return res
    return next((other for other in instances if other is not res and refers(master, other)),
                None)


def _chain(res: Resource, instances: list[Resource]) -> list[Resource] | None:
    """The primary and every read replica of it; None when the primary is not in the files."""
    primary = _primary(res, instances)
    if primary is None:
        return None
    return [primary] + [other for other in instances
                        if other is not primary and _primary(other, instances) is primary]


def _default(res: Resource, instances: list[Resource]) -> Value:
    """The documented default for the memory of the largest instance of the chain."""
    chain = _chain(res, instances)
    if chain is None:
        return unknown(f"default: the max_connections default follows the largest instance of "
                       f"the replication chain, and the primary of {res.address} "
                       f"({res.attrs.get('master_instance_name')}) is not in the files; pin it",
                       res.file, res.line)
    sizes = []
    for member in chain:
        tier = _tier(member)
        memory = tables.tier_memory(tier) if tier else None
        if memory is None:
            why = (f"the tier of {member.address} is not set or unresolved" if tier is None else
                   f"Google documents no PostgreSQL memory for tier {tier} of {member.address}")
            return unknown(f"default: {why}, so max_connections is unknown; set the "
                           f"{FLAG} database flag or pin it", res.file, res.line)
        sizes.append((memory.memory_gb, memory.tier, member))
    memory_gb, tier, largest = max(sizes, key=lambda size: size[0])
    found = tables.default_max_connections(tier)
    if found is None:
        return unknown(f"default: Google documents no max_connections default for "
                       f"{memory_gb:g} GB ({tier}); set the {FLAG} database flag or pin it",
                       res.file, res.line)
    chained = (f", the largest instance of its replication chain ({largest.address}; "
               f"{tables.cite('cloudsql.default_max_connections_scope')})"
               if largest is not res else "")
    return Value(found.value, Origin(f"data: Cloud SQL default for {tier} ({memory_gb:g} GB)"
                                     f"{chained}: {found.value}, {found.cite}"))


def _is_postgres(res: Resource) -> bool:
    version = res.attrs.get("database_version")
    return not isinstance(version, str) or version.upper().startswith("POSTGRES")


def databases(model: TerraformModel) -> list[Database]:
    instances = [res for res in model.by_type(TYPE) if _is_postgres(res)]
    found = []
    for res in instances:
        flags = _flags(res)
        max_connections = flags.get(FLAG) or _default(res, instances)
        name = text(res.attrs.get("name"))
        tier = _tier(res)
        tier_origin = located_at(res, (("settings", 0),), "tier", f"{res.address} settings.tier") \
            if tier else None
        found.append(Database(
            location(res), "postgres", PLATFORM, tier, max_connections,
            reservations({k: v for k, v in flags.items() if k in _RESERVED}, _version(res)),
            aliases={res.address} | ({name, alias(name)} if name else set()),
            size_origin=tier_origin))
    return found
