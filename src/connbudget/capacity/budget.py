"""Slots per database and the worst case of every client path, as the budgets JSON shows them.

max_connections, in order of precedence:
  1. a pin in [tool.connbudget.databases] (the real number from `SHOW max_connections`);
  2. the parameter group's `max_connections`: a literal, or a formula evaluated with
     DBInstanceClassMemory = nominal memory x `instance_class_safety_factor`;
  3. Aurora Serverless v2: the data table by maximum ACU (capped at 2000 for a minimum of 0/0.5);
  4. the instance class: the observed default for that engine and class where the data has one,
     else LEAST({DBInstanceClassMemory/9531392}, 5000) with DBInstanceClassMemory = nominal memory
     x the safety factor. AWS publishes no DBInstanceClassMemory table and the observed defaults
     are 80-97 % of the nominal-memory figure (data README), so the factor defaults to 0.8;
  5. otherwise unknown: never guessed, the finding asks for a pin.
Reserved = superuser_reserved_connections (default 3) + rds.rds_superuser_reserved_connections
(default 2 on RDS and Aurora), both from the parameter group when set (data README).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import connbudget.providers.aws.data as awsdata
import connbudget.providers.aws.pgformula as pgformula
from connbudget.budgets import Behind, BudgetView, ClientView, Sourced, Verdict
from connbudget.model import Client, Database, Model, Origin, Pooler, Value, unknown
from connbudget.settings import Settings

DEFAULT_FORMULA = "LEAST({DBInstanceClassMemory/9531392},5000)"
SUPERUSER_RESERVED_DEFAULT = 3
RDS_SUPERUSER_RESERVED_DEFAULT = 2


def _reserved_default(name: str, default: int, source: str) -> tuple[str, Value]:
    return name, Value(default, Origin(f"default: {name} {default} ({source})"))


def reserved_defaults() -> tuple[tuple[str, Value], tuple[str, Value]]:
    """The reserved-slot parameters and their defaults, each with its origin: the one place
    they are defined."""
    return (_reserved_default("superuser_reserved_connections", SUPERUSER_RESERVED_DEFAULT,
                              "PostgreSQL documentation, connection settings"),
            _reserved_default("rds.rds_superuser_reserved_connections",
                              RDS_SUPERUSER_RESERVED_DEFAULT,
                              "Amazon RDS for PostgreSQL parameter group default"))


def max_connections_from_parameter(text: str, instance_class: str | None, origin: Origin,
                                   settings: Settings) -> Value:
    """A parameter group's max_connections: literal, or formula on the class's memory."""
    found = awsdata.instance_class(instance_class) if instance_class else None
    factor = settings.instance_class_safety_factor
    memory = int(found.memory_bytes * factor) if found else None
    result = pgformula.evaluate(text, memory_bytes=memory, vcpu=found.vcpu if found else None)
    if result.value is None:
        why = result.reason
        if result.variables and found is None:
            why = (f"'{text}' needs the memory of instance class {instance_class or '(unknown)'}, "
                   "which is not in the data table")
        return unknown(f"{origin.text}: {why}", origin.file, origin.line)
    if not result.is_formula:
        return Value(result.value, origin)
    assert found is not None or not result.variables
    text_used = f"{origin.text} = {text}"
    if found is not None and result.memory_bytes is not None:
        text_used += (f" with DBInstanceClassMemory = {found.memory_gib:g} GiB x {factor:g} "
                      f"(safety factor) = {memory} bytes ({found.source})")
    return Value(result.value, Origin(text_used, origin.file, origin.line),
                 assumed=result.memory_bytes is not None)


def max_connections_from_class(engine: str, instance_class: str | None, where: Origin,
                               settings: Settings) -> Value:
    if not instance_class:
        return unknown(f"default: the instance class of {where.text} is unknown, so "
                       "max_connections is unknown; pin it in [tool.connbudget.databases]",
                       where.file, where.line)
    data_engine = "aurora-postgresql" if engine.startswith("aurora") else "postgres"
    observed = awsdata.observed_default_max_connections(data_engine, instance_class)
    if observed is not None:
        return Value(observed.value, Origin(
            f"data: observed default for {data_engine} {instance_class}, {observed.source}"),
            assumed=True)
    found = awsdata.instance_class(instance_class)
    if found is None:
        return unknown(f"default: instance class {instance_class} is not in the data table "
                       "(rds_instance_classes.csv): max_connections unknown, not guessed; pin it "
                       "in [tool.connbudget.databases]", where.file, where.line)
    factor = settings.instance_class_safety_factor
    memory = int(found.memory_bytes * factor)
    value = pgformula.evaluate(DEFAULT_FORMULA, memory_bytes=memory, vcpu=found.vcpu).value
    return Value(value, Origin(
        f"data: default {DEFAULT_FORMULA} for {instance_class} with DBInstanceClassMemory = "
        f"{found.memory_gib:g} GiB x {factor:g} (safety factor; nominal upper bound "
        f"{found.nominal_max_connections}), {found.source}"), assumed=True)


def max_connections_serverless(max_acu: float | None, min_acu: float | None, where: Origin,
                               ) -> Value:
    if max_acu is None:
        return unknown(f"default: the maximum ACU of {where.text} is unknown, so max_connections "
                       "is unknown; pin it in [tool.connbudget.databases]", where.file, where.line)
    found = awsdata.serverless_v2_max_connections(max_acu, min_acu if min_acu is not None else 0)
    if found is None:
        return unknown(f"default: maximum ACU {max_acu:g} is below the Serverless v2 table",
                       where.file, where.line)
    return Value(found.value, Origin(
        f"data: Aurora Serverless v2 at max {max_acu:g} ACU (row {found.row_max_acu:g} ACU), "
        f"{found.source}"))


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
    origin = Origin(f"{client.where.address}: {client.unit} x processes x pool")
    steady = _product(client.max_tasks, client.processes, client.pool)
    deploy = _product(client.deploy_tasks, client.processes, client.pool)
    unlimited = client.pool.unlimited
    return (Value(steady, origin, unlimited=unlimited),
            Value(deploy, origin, unlimited=unlimited))


def proxy_connections(pooler: Pooler, max_connections: Value, usable: int | None = None,
                      ) -> Value:
    """RDS Proxy opens up to its percentage of max_connections, and never more than the
    database admits: the slots reserved for superusers refuse it (at the AWS default of 100 %,
    the proxy alone fills the usable slots and leaves none for direct or admin connections)."""
    assert pooler.max_connections_percent is not None
    percent = pooler.max_connections_percent
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
    if pinned is not None:
        return pinned
    parts = (database.superuser_reserved, database.rds_superuser_reserved)
    if not all(part.known for part in parts):
        return unknown("reserved slots unknown: " + "; ".join(str(p.origin) for p in parts))
    total = sum(part.value or 0 for part in parts)
    return Value(total, Origin(" + ".join(f"{p.value} ({p.origin})" for p in parts)))


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
        if pooler.kind == "rds-proxy":
            server = proxy_connections(pooler, max_connections, usable)
        else:
            server = pooler.server_connections or unknown("server connections unknown")
        paths.append(Path(pooler.where.address, pooler.kind, server,
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
    return Behind(client.where.address, client.kind, client.max_tasks.value,
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
        return replace(common, kind=client.kind, max_tasks=client.max_tasks.value,
                       deploy_tasks=client.deploy_tasks.value,
                       processes=client.processes.value, pool=client.pool.value,
                       sources={"max_tasks": sourced(client.max_tasks),
                                "deploy_tasks": sourced(client.deploy_tasks),
                                "processes": sourced(client.processes),
                                "pool": sourced(client.pool)},
                       unlimited=client.pool.unlimited, notes=tuple(client.notes))
    assert path.pooler is not None
    pooler = path.pooler
    sources = {"server_connections": sourced(path.steady)}
    if pooler.server_connections_deploy is not None:
        sources["server_connections_deploy"] = sourced(path.deploy)
    if pooler.max_connections_percent is not None:
        sources["max_connections_percent"] = sourced(pooler.max_connections_percent)
    return replace(common, pool_mode=pooler.pool_mode, sources=sources,
                   behind=tuple(_behind_view(c) for c in path.behind))


def budget_view(budget: Budget, verdict: Verdict) -> BudgetView:
    """What reporters show of `budget`, `verdict` the finding that decides it."""
    where = budget.database.where
    return BudgetView(
        where.address, where.file, where.line, budget.database.instance_class,
        sourced(budget.max_connections), sourced(budget.reserved), budget.usable,
        budget.threshold, tuple(_client_view(path) for path in budget.paths), budget.steady,
        budget.deploy, budget.unlimited, utilization(budget.steady, budget.usable),
        utilization(budget.deploy, budget.usable), verdict,
        root=where.root if where.show_root else None)


def percent(worst: int, usable: int) -> int:
    """worst / usable in whole percent, halves rounded up, in integers so that a finding, the
    connection math and the Markdown bar never disagree (41 of 40 is 103 %)."""
    return (worst * 200 + usable) // (2 * usable) if usable > 0 else 0
