"""Cloud SQL for PostgreSQL and Cloud Run figures, each with its Google source.

Memory is in Google's "GB" as Cloud SQL writes it, which is 1024 MiB: `db-custom-2-7680` has
7680 MiB and is documented as 7.5 GB. None means Google documents nothing for that case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from connbudget.providers.tables import Citation, Sourced, find, int_fact, rows, text_fact
from connbudget.providers.tables import fact as _row

_PACKAGE = __name__.rpartition(".")[0]
_BANDS = "cloudsql_max_connections.csv"
_TIERS = "cloudsql_tiers.csv"
_CUSTOM = re.compile(r"db-custom-(\d+)-(\d+)")
_MIB_PER_GB = 1024
_MAX_CUSTOM_VCPU = 96


@dataclass(frozen=True)
class TierMemory:
    tier: str
    vcpu: int | None  # None for the shared-core tiers
    memory_gb: Decimal
    cite: Citation


@dataclass(frozen=True)
class ReservedSlots:
    at_least: int  # slots application roles can never use
    exact: bool  # False: Cloud SQL may reserve more, undocumented
    cite: Citation
    note: str


def _custom_tier(tier: str) -> TierMemory | None:
    found = _CUSTOM.fullmatch(tier)
    if found is None:
        return None
    vcpu, mib = int(found.group(1)), int(found.group(2))
    rule = text_fact(_PACKAGE, "cloudsql.custom_tier_memory_rule")
    assert rule is not None
    memory = Decimal(mib) / _MIB_PER_GB
    valid_vcpu = vcpu == 1 or (vcpu % 2 == 0 and 0 < vcpu <= _MAX_CUSTOM_VCPU)
    valid_memory = (mib % 256 == 0 and memory >= Decimal("3.75")
                    and Decimal("0.9") * vcpu <= memory <= Decimal("6.5") * vcpu)
    if not (valid_vcpu and valid_memory):
        return None  # Cloud SQL refuses the tier
    return TierMemory(tier, vcpu, memory, rule.cite)


def tier_memory(tier: str) -> TierMemory | None:
    """The memory of a Cloud SQL PostgreSQL tier; None for a tier PostgreSQL cannot use or that
    is not documented (db-n1-*, db-perf-optimized-N-96 and -128)."""
    name = tier.strip()
    for row in find(_PACKAGE, _TIERS, tier=name):
        vcpu = int(row["vcpu"]) if row["vcpu"] else None
        return TierMemory(name, vcpu, Decimal(row["memory_gb"]), row.cite)
    return _custom_tier(name)


def max_connections_for_memory(memory_gb: Decimal) -> Sourced[int] | None:
    """The default for a dedicated-core instance of this memory; None where undocumented."""
    for row in rows(_PACKAGE, _BANDS):
        if row["tier"] or Decimal(row["memory_gb_from"]) > memory_gb:
            continue
        if row["memory_gb_below"] and memory_gb >= Decimal(row["memory_gb_below"]):
            continue
        return row.sourced(int(row["max_connections"])) if row["max_connections"] else None
    return None


def default_max_connections(tier: str) -> Sourced[int] | None:
    """The default `max_connections` of a tier when no database flag sets it."""
    for row in find(_PACKAGE, _BANDS, tier=tier.strip()):
        return row.sourced(int(row["max_connections"]))
    memory = tier_memory(tier)
    return max_connections_for_memory(memory.memory_gb) if memory else None


def reserved_slots() -> ReservedSlots:
    """What application roles can never use: at least superuser_reserved_connections."""
    superuser = int_fact(_PACKAGE, "cloudsql.superuser_reserved_connections")
    assert superuser is not None
    unknown = text_fact(_PACKAGE, "cloudsql.reserved_connections")
    return ReservedSlots(superuser.value, exact=unknown is not None, cite=superuser.cite,
                         note=superuser.note)


def cloud_run_max_instances_default() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "cloud_run.max_instances_default")


def cloud_run_rollout_overlap() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "cloud_run.rollout_overlap")


def cloud_run_v1_max_scale_annotation() -> Sourced[str] | None:
    return text_fact(_PACKAGE, "cloud_run.v1_max_scale_annotation")


def cloud_run_job_tasks_at_once(task_count: int | None, parallelism: int | None) -> Sourced[int]:
    """Tasks (container instances) one execution runs at once: `parallelism`, or every task
    when it is 0 or unset, never more than `task_count` (default 1)."""
    default = int_fact(_PACKAGE, "cloud_run_job.task_count_default")
    assert default is not None
    unset = text_fact(_PACKAGE, "cloud_run_job.parallelism_unset")
    assert unset is not None
    tasks = default.value if task_count is None else task_count
    if parallelism:
        return Sourced(min(tasks, parallelism), unset.cite, "parallelism bounds the tasks")
    return Sourced(tasks, unset.cite, unset.note)


def auth_proxy_max_connections_default() -> Sourced[int] | None:
    """The Auth Proxy's `--max-connections` when unset: 0, no limit."""
    return int_fact(_PACKAGE, "auth_proxy.max_connections_default")


def auth_proxy_connections_per_client() -> Sourced[int] | None:
    return int_fact(_PACKAGE, "auth_proxy.connections_per_client")


def connections_metric() -> Sourced[str] | None:
    return text_fact(_PACKAGE, "monitoring.connections_metric")


def fact(key: str) -> Sourced[str] | None:
    """A text fact of the Google table by its key (None where Google documents nothing)."""
    return text_fact(_PACKAGE, key)


def cite(key: str) -> Citation:
    """Where a fact comes from, also when Google documents nothing there (an empty value)."""
    return _row(_PACKAGE, key).cite
