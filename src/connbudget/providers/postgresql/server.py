"""PostgreSQL's own facts, whatever platform runs it: its defaults and the slots it reserves.

Defaults (PostgreSQL documentation, "Connections and Authentication"; measured on 15 and 18):
`max_connections` 100 and `superuser_reserved_connections` 3. A platform adds its own
reservations to these (RDS: `rds.rds_superuser_reserved_connections`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from connbudget.model import Origin, Reservation, Value, unknown

# the images that run a PostgreSQL server (the official image, bitnami's, PostGIS, TimescaleDB,
# pgvector), by their repository name
POSTGRES_IMAGE = re.compile(r"(?:^|/)(?:postgres|postgresql|postgis|timescaledb[\w-]*|"
                            r"pgvector)(?::|@|$)", re.IGNORECASE)
MAX_CONNECTIONS = 100
SUPERUSER_RESERVED = 3
_DOCS = "PostgreSQL documentation, connection settings"


def default_max_connections(what: str) -> Value:
    """PostgreSQL's default, stated as an assumption: `what` says who sets none."""
    return Value(MAX_CONNECTIONS, Origin(f"default: max_connections {MAX_CONNECTIONS} "
                                         f"(PostgreSQL default; {what})"), assumed=True)


def reservation(name: str, setting: Value | None, default: int, source: str) -> Reservation:
    """One reserved-slot parameter: the value a configuration sets, else its default."""
    if setting is not None:
        return Reservation(name, setting)
    return Reservation(name, Value(default, Origin(f"default: {name} {default} ({source})")))


def superuser_reserved(setting: Value | None = None) -> Reservation:
    return reservation("superuser_reserved_connections", setting, SUPERUSER_RESERVED, _DOCS)


def reservations(settings: Mapping[str, Value]) -> list[Reservation]:
    """The slots PostgreSQL itself keeps, from a server's settings (a parameter, a `-c`
    option) where they set them."""
    return [superuser_reserved(settings.get("superuser_reserved_connections"))]


def total_reserved(reserved: list[Reservation]) -> Value:
    """The reservations summed, each with its origin; unknown when any part is."""
    if not all(r.value.known for r in reserved):
        return unknown("reserved slots unknown: " + "; ".join(str(r.value.origin)
                                                              for r in reserved))
    total = sum(r.value.value or 0 for r in reserved)
    return Value(total, Origin(" + ".join(f"{r.value.value} ({r.value.origin})"
                                          for r in reserved)))
