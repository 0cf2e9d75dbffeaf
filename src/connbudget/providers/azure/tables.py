"""Azure Database for PostgreSQL flexible server figures, each with its Microsoft source.

A `sku_name` is `<tier>_Standard_<product>`: `B_Standard_B1ms`, `GP_Standard_D2ds_v5`,
`MO_Standard_E4ds_v5`. A name the documentation's table does not list is unknown (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connbudget.providers.tables import Citation, Sourced, int_fact, rows, text_fact
from connbudget.providers.tables import fact as _row

_PACKAGE = __name__.rpartition(".")[0]
_SKUS = "flexible_server_max_connections.csv"
_SKU_NAME = re.compile(r"(B|GP|MO)_Standard_(\w+)")


@dataclass(frozen=True)
class FlexibleServerSku:
    sku_name: str
    tier: str  # B (Burstable), GP (General Purpose), MO (Memory Optimized)
    product: str  # as the documentation writes it, e.g. D2ds_v5
    vcores: int
    memory_gib: int
    max_connections: int  # the default at provisioning
    max_user_connections: int  # max_connections minus the reserved slots
    cite: Citation


@dataclass(frozen=True)
class BuiltinPgBouncer:
    port: Sourced[int]
    default_pool_size: Sourced[int]
    max_client_conn: Sourced[int]
    min_pool_size: Sourced[int]
    max_prepared_statements: Sourced[int]
    pool_mode: Sourced[str]
    version: Sourced[str]
    on_burstable: Sourced[str]  # "no": Burstable servers have no built-in PgBouncer


def sku(sku_name: str) -> FlexibleServerSku | None:
    """The documented defaults of a flexible server `sku_name`; None when the table has none."""
    found = _SKU_NAME.fullmatch(sku_name.strip())
    if found is None:
        return None
    tier, product = found.groups()
    for row in rows(_PACKAGE, _SKUS):
        if row["tier"] == tier and row["product"].lower() == product.lower():
            return FlexibleServerSku(
                sku_name.strip(), tier, row["product"], int(row["vcores"]),
                int(row["memory_gib"]), int(row["max_connections"]),
                int(row["max_user_connections"]), row.cite)
    return None


def default_max_connections(sku_name: str) -> Sourced[int] | None:
    found = sku(sku_name)
    return Sourced(found.max_connections, found.cite) if found else None


def reserved_slots() -> Sourced[int] | None:
    """Slots Azure keeps for replication and monitoring: application roles never get them."""
    return int_fact(_PACKAGE, "flexible_server.reserved_slots")


def reserved_connections() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "flexible_server.reserved_connections")


def superuser_reserved_connections() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "flexible_server.superuser_reserved_connections")


def _sourced_int(key: str) -> Sourced[int]:
    found = int_fact(_PACKAGE, key)
    assert found is not None, key
    return found


def _sourced_text(key: str) -> Sourced[str]:
    found = text_fact(_PACKAGE, key)
    assert found is not None, key
    return found


def builtin_pgbouncer() -> BuiltinPgBouncer:
    """The built-in PgBouncer's port, defaults and release."""
    return BuiltinPgBouncer(
        port=_sourced_int("pgbouncer.port"),
        default_pool_size=_sourced_int("pgbouncer.default_pool_size"),
        max_client_conn=_sourced_int("pgbouncer.max_client_conn"),
        min_pool_size=_sourced_int("pgbouncer.min_pool_size"),
        max_prepared_statements=_sourced_int("pgbouncer.max_prepared_statements"),
        pool_mode=_sourced_text("pgbouncer.pool_mode"),
        version=_sourced_text("pgbouncer.version"),
        on_burstable=_sourced_text("pgbouncer.burstable_supported"),
    )


def pgbouncer_enabled_parameter() -> Sourced[str] | None:
    return text_fact(_PACKAGE, "pgbouncer.enabled_parameter")


def container_apps_max_replicas_default() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "container_apps.max_replicas_default")


def container_apps_min_replicas_default() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "container_apps.min_replicas_default")


def app_service_worker_count_default() -> Sourced[int] | None:
    """Not documented: None."""
    return int_fact(_PACKAGE, "app_service.worker_count_default")


def connections_metric() -> Sourced[str] | None:
    return text_fact(_PACKAGE, "monitoring.connections_metric")


def fact(key: str) -> Sourced[str] | None:
    """A text fact of the Azure table by its key (None where Microsoft documents nothing)."""
    return text_fact(_PACKAGE, key)


def arm_tier(tier: str) -> str | None:
    """The sku_name prefix of an ARM sku tier (`GeneralPurpose` -> `GP`); None if unknown."""
    found = fact("arm.sku_tiers")
    pairs = dict(item.split("=", 1) for item in found.value.split()) if found else {}
    return pairs.get(tier.strip())


def cite(key: str) -> Citation:
    """Where a fact comes from, also when Microsoft documents nothing there (an empty value)."""
    return _row(_PACKAGE, key).cite


def number(key: str) -> Sourced[int] | None:
    """A whole-number fact of the Azure table by its key (None where nothing is documented)."""
    return int_fact(_PACKAGE, key)
