"""Slots per database and the worst case of every client path, as the budgets JSON shows them.

max_connections: a pin in [tool.connbudget.databases] (the real number from `SHOW
max_connections`) wins; else what the platform's provider read (a parameter, a flag, a
documented default). Reserved = the reservations the platform keeps (each from the files when
set, else its default); usable = max_connections - reserved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from connbudget.budgets import Behind, BudgetCoverage, BudgetView, ClientView, Sourced, Verdict
from connbudget.model import (
    Client,
    Database,
    Model,
    Origin,
    PercentProxy,
    PgBouncer,
    Pooler,
    Value,
    unknown,
)
from connbudget.providers.postgresql.server import total_reserved
from connbudget.providers.registry import client_platform
from connbudget.settings import Settings


def units(client: Client, number: int | None = 2) -> str:
    """What the client's platform scales, in words: "tasks", "pods", "replicas"."""
    return client_platform(client.platform).units(number)


def pin_origin(address: str) -> Origin:
    return Origin(f"[tool.connbudget.databases] pin for {address}")


def _pinned(database: Database, settings: Settings) -> tuple[Value, Value | None]:
    pin = settings.databases.get(database.where.address)
    max_connections = database.max_connections
    reserved = None
    if pin and pin.max_connections is not None:
        max_connections = Value(pin.max_connections, pin_origin(database.where.address))
    if pin and pin.reserved is not None:
        reserved = Value(pin.reserved, pin_origin(database.where.address))
    return max_connections, reserved


@dataclass
class Path:
    """One line of the math: a client or a pooler, and what it opens to the database."""

    name: str
    kind: str  # "direct" | "pgbouncer" | "rds-proxy"
    steady: Value
    deploy: Value
    client: Client | None = None
    pooler: Pooler | None = None
    behind: list[Client] = field(default_factory=list)  # clients behind a pooler


@dataclass
class Budget:
    database: Database
    max_connections: Value
    reserved: Value
    usable: int | None
    paths: list[Path]
    steady: int | None  # None: unknown or unlimited
    deploy: int | None
    unlimited: bool
    threshold: float


def _product(*values: Value) -> int | None:
    if any(not value.known for value in values):
        return None
    result = 1
    for value in values:
        assert value.value is not None
        result *= value.value
    return result


def client_connections(client: Client) -> tuple[Value, Value]:
    """Steady and deploy worst cases of one client: tasks (or pods) x processes x pool."""
    origin = Origin(f"{client.where.address}: {units(client)} x processes x pool")
    steady = _product(client.scale, client.processes, client.pool)
    deploy = _product(client.deploy, client.processes, client.pool)
    unlimited = client.pool.unlimited
    return (Value(steady, origin, unlimited=unlimited),
            Value(deploy, origin, unlimited=unlimited))


def proxy_connections(pooler: PercentProxy, max_connections: Value, usable: int | None = None,
                      ) -> Value:
    """RDS Proxy opens up to its percentage of max_connections, and never more than the
    database admits: the slots reserved for superusers refuse it (at the AWS default of 100 %,
    the proxy alone fills the usable slots and leaves none for direct or admin connections)."""
    percent = pooler.percent or unknown("max_connections_percent unknown")
    if not (percent.known and max_connections.known):
        return unknown(f"{pooler.where.address}: max_connections_percent of an unknown number")
    assert percent.value is not None and max_connections.value is not None
    text = f"{pooler.where.address}: {percent.value} % of max_connections {max_connections.value}"
    value = max_connections.value * percent.value // 100
    if usable is not None and value > usable:
        text += (f" = {value}, at most the {usable} usable slots (the reserved ones refuse it); "
                 "nothing is left for direct or admin connections")
        value = usable
    return Value(value, Origin(text))


def _reserved(database: Database, pinned: Value | None) -> Value:
    return pinned if pinned is not None else total_reserved(database.reservations)


def build_budget(database: Database, model: Model, settings: Settings) -> Budget:
    max_connections, pinned_reserved = _pinned(database, settings)
    reserved = _reserved(database, pinned_reserved)
    usable = None
    if max_connections.value is not None and reserved.value is not None:
        usable = max_connections.value - reserved.value
    key = database.where.key
    paths: list[Path] = []
    for client in model.clients:
        if client.target == key:
            connections = client_connections(client)
            paths.append(Path(client.where.address, "direct", *connections, client=client))
    for pooler in model.poolers:
        if pooler.target != key:
            continue
        behind = [c for c in model.clients if c.target == pooler.where.key]
        if isinstance(pooler, PercentProxy):
            server = proxy_connections(pooler, max_connections, usable)
        else:
            server = pooler.server_connections or unknown("server connections unknown")
        paths.append(Path(pooler.where.address, pooler.path, server,
                          pooler.server_connections_deploy or server, pooler=pooler,
                          behind=behind))
    unlimited = any(path.steady.unlimited for path in paths)
    steady = _sum([p.steady for p in paths])
    deploy = _sum([p.deploy for p in paths])
    return Budget(database, max_connections, reserved, usable, paths, steady, deploy, unlimited,
                  settings.threshold)


def _sum(values: list[Value]) -> int | None:
    if any(not value.known for value in values):
        return None
    return sum(value.value or 0 for value in values)


def utilization(worst: int | None, usable: int | None) -> float | None:
    if worst is None or usable is None or usable <= 0:
        return None
    return round(worst / usable, 4)


def sourced(value: Value) -> Sourced:
    origin = value.origin
    return Sourced(value.value, origin.text, origin.file, origin.line, value.assumed,
                   value.unlimited)


def _behind_view(client: Client) -> Behind:
    steady, deploy = client_connections(client)
    return Behind(client.where.address, client.platform, units(client), client.scale.value,
                  client.processes.value, client.pool.value, steady.value, deploy.value,
                  client.matched_by)


def _client_view(path: Path) -> ClientView:
    thing: Client | Pooler | None = path.client or path.pooler
    assert thing is not None
    common = ClientView(path.name, path.kind, path.steady.value, path.deploy.value,
                        thing.matched_by, thing.where.file, thing.where.line, {},
                        root=thing.where.root if thing.where.show_root else None)
    if path.client is not None:
        client = path.client
        return replace(common, kind=client.platform, unit=units(client),
                       max_tasks=client.scale.value,
                       deploy_tasks=client.deploy.value,
                       processes=client.processes.value, pool=client.pool.value,
                       sources={"max_tasks": sourced(client.scale),
                                "deploy_tasks": sourced(client.deploy),
                                "processes": sourced(client.processes),
                                "pool": sourced(client.pool)},
                       unlimited=client.pool.unlimited, notes=tuple(client.notes))
    assert path.pooler is not None
    pooler = path.pooler
    sources = {"server_connections": sourced(path.steady)}
    if pooler.server_connections_deploy is not None:
        sources["server_connections_deploy"] = sourced(path.deploy)
    if isinstance(pooler, PercentProxy) and pooler.percent is not None:
        sources["max_connections_percent"] = sourced(pooler.percent)
    mode = pooler.pool_mode if isinstance(pooler, PgBouncer) else None
    return replace(common, pool_mode=mode, sources=sources,
                   behind=tuple(_behind_view(c) for c in path.behind))


def budget_view(budget: Budget, verdict: Verdict, coverage: BudgetCoverage | None = None,
                ) -> BudgetView:
    """What reporters show of `budget`, `verdict` the finding that decides it, `coverage` what
    it counts and what may touch it unread."""
    where = budget.database.where
    return BudgetView(
        where.address, where.file, where.line, budget.database.size,
        sourced(budget.max_connections), sourced(budget.reserved), budget.usable,
        budget.threshold, tuple(_client_view(path) for path in budget.paths), budget.steady,
        budget.deploy, budget.unlimited, utilization(budget.steady, budget.usable),
        utilization(budget.deploy, budget.usable), verdict,
        root=where.root if where.show_root else None, key=where.key, coverage=coverage)


def percent(worst: int, usable: int) -> int:
    """worst / usable in whole percent, halves rounded up, in integers so that a finding, the
    connection math and the Markdown bar never disagree (41 of 40 is 103 %)."""
    return (worst * 200 + usable) // (2 * usable) if usable > 0 else 0
