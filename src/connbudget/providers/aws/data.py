"""AWS reference data: instance classes, observed defaults, Aurora Serverless v2 limits.

Every lookup returns the CSV row it came from (`source`), so a printed number can be traced.
An unknown name gives None: the caller reports it, nothing here guesses.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
INSTANCE_CLASSES_CSV = "rds_instance_classes.csv"
OBSERVED_CSV = "observed_default_max_connections.csv"
SERVERLESS_V2_CSV = "aurora_serverless_v2_max_connections.csv"

_INSTANCE_CLASSES_ORIGIN = (
    "AWS RDS/Aurora user guides, hardware specifications for DB instance classes, 2023-06-09"
)
_GIB = 1024**3
# Aurora user guide: with a minimum capacity of 0 or 0.5 ACU, max_connections is capped at 2000.
SERVERLESS_V2_LOW_MIN_ACU_CAP = 2000
SERVERLESS_V2_LOW_MIN_ACU = 0.5


@dataclass(frozen=True)
class InstanceClass:
    name: str
    vcpu: int | None  # None where the guide gives no exact figure (">48")
    memory_gib: float
    memory_bytes: int  # nominal memory; DBInstanceClassMemory is lower
    nominal_max_connections: int  # LEAST(nominal bytes/9531392, 5000): an upper bound
    listed_in: str  # "rds" or "aurora+rds"
    row: int  # line in the CSV file (the header is line 1)
    source: str


@dataclass(frozen=True)
class Observed:
    engine: str
    instance_class: str
    nominal_memory_gib: float
    value: int
    row: int
    source: str  # file:row and the row's own source column
    notes: str


@dataclass(frozen=True)
class ServerlessV2Default:
    value: int  # what max_connections defaults to, cap applied
    table_value: int  # the table row's value before the minimum-ACU cap
    row_max_acu: float  # the table row used: the largest row at or below the maximum ACU
    capped: bool
    source: str


def _rows(name: str) -> list[tuple[int, dict[str, str]]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [(index + 2, row) for index, row in enumerate(reader)]


@functools.lru_cache(maxsize=1)
def _instance_classes() -> dict[str, InstanceClass]:
    table: dict[str, InstanceClass] = {}
    for line, row in _rows(INSTANCE_CLASSES_CSV):
        gib = Decimal(row["memory_gib"])
        table[row["instance_class"]] = InstanceClass(
            name=row["instance_class"],
            vcpu=int(row["vcpu"]) if row["vcpu"].isdigit() else None,
            memory_gib=float(gib),
            memory_bytes=int(gib * _GIB),
            nominal_max_connections=int(row["nominal_pg_max_connections_upper_bound"]),
            listed_in=row["listed_in"],
            row=line,
            source=f"{INSTANCE_CLASSES_CSV}:{line} ({_INSTANCE_CLASSES_ORIGIN})",
        )
    return table


@functools.lru_cache(maxsize=1)
def _observed() -> dict[tuple[str, str], Observed]:
    table: dict[tuple[str, str], Observed] = {}
    for line, row in _rows(OBSERVED_CSV):
        key = (row["engine"], row["instance_class"])
        table[key] = Observed(
            engine=row["engine"],
            instance_class=row["instance_class"],
            nominal_memory_gib=float(row["nominal_memory_gib"]),
            value=int(row["observed_max_connections"]),
            row=line,
            source=f"{OBSERVED_CSV}:{line} ({row['source']})",
            notes=row["notes"],
        )
    return table


@functools.lru_cache(maxsize=1)
def _serverless_v2() -> list[tuple[float, int, str]]:
    rows: list[tuple[float, int, str]] = []
    origin = ""
    for line, row in _rows(SERVERLESS_V2_CSV):
        # Rows after the first say "same" for the source.
        if row["source"] != "same":
            origin = row["source"]
        value = int(row["aurora_postgresql_default_max_connections"])
        rows.append((float(row["max_acu"]), value, f"{SERVERLESS_V2_CSV}:{line} ({origin})"))
    return sorted(rows)


def instance_classes() -> list[InstanceClass]:
    return list(_instance_classes().values())


def instance_class(name: str) -> InstanceClass | None:
    return _instance_classes().get(name.strip().lower())


def memory_bytes(name: str) -> int | None:
    """Nominal memory of the class in bytes, the upper bound of DBInstanceClassMemory."""
    found = instance_class(name)
    return found.memory_bytes if found else None


def observed_default_max_connections(engine: str, name: str) -> Observed | None:
    """A default max_connections seen on a running instance (`postgres`, `aurora-postgresql`)."""
    return _observed().get((engine.strip().lower(), name.strip().lower()))


def serverless_v2_max_connections(max_acu: float, min_acu: float) -> ServerlessV2Default | None:
    """Aurora PostgreSQL Serverless v2 default max_connections; None below the table's first row.

    The table is by maximum ACU. Between rows the largest row at or below `max_acu` is used,
    which never overstates the slots; a minimum of 0 or 0.5 ACU caps the value at 2000.
    """
    chosen = None
    for row in _serverless_v2():
        if row[0] <= max_acu:
            chosen = row
    if chosen is None:
        return None
    row_acu, table_value, source = chosen
    capped = min_acu <= SERVERLESS_V2_LOW_MIN_ACU and table_value > SERVERLESS_V2_LOW_MIN_ACU_CAP
    value = table_value
    if capped:
        value = SERVERLESS_V2_LOW_MIN_ACU_CAP
        source += f"; capped at {value} because the minimum ACU is {min_acu:g}"
    return ServerlessV2Default(value=value, table_value=table_value, row_max_acu=row_acu,
                               capped=capped, source=source)
