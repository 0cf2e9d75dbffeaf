"""Computed fixes: the largest task count or pool that fits, role limits with headroom, and
corrected pgbouncer.ini fragments.

Fixes aim at the alert threshold (floor(threshold x usable)) so that applying one clears both
CB101 and CB102. A role's CONNECTION LIMIT fix is need + the same again as headroom (admin
sessions, migrations, a pooler restart), rounded up to ten and never above usable.
"""

from __future__ import annotations

import math

from connbudget.capacity.budget import Budget, Path
from connbudget.capacity.model import Client, Pooler


def recommended_role_limit(need: int, usable: int | None) -> int:
    limit = math.ceil(need * 2 / 10) * 10
    if usable is not None:
        limit = min(limit, usable)
    return max(limit, need)


def role_limit_fix(need: int, usable: int | None, recommended: int) -> str:
    if usable is not None and need > usable:
        return (f"the {need} connections it needs do not fit the database's {usable} usable "
                f"slots: shrink its clients first (CB101/CB104), then set connection_limit "
                f"<= {usable}")
    return (f"connection_limit = {recommended} (need {need} + headroom {recommended - need} "
            "for admin sessions and restarts)")


def per_replica(pooler: Pooler | None) -> int:
    replicas = pooler.replicas if pooler is not None else None
    return replicas.value if replicas is not None and replicas.known and replicas.value else 1


def _processes(pooler: Pooler | None) -> int:
    processes = pooler.processes if pooler is not None else None
    return processes.value if processes is not None and processes.known and processes.value \
        else 1


def pgbouncer_fragment(pooler: Pooler | None, max_db_connections: int, clients: int,
                       pool_mode: str | None = None) -> str:
    """A corrected pgbouncer.ini fragment that brings the pooler's server connections to at
    most `max_db_connections`: PgBouncer caps EACH of its databases (every alias of one server
    database on its own) in EACH process, so the total is shared out over the databases, the
    processes and as many replicas as run at once during its own rolling deploy. The pool mode
    is the pooler's own unless `pool_mode` says otherwise (CB106)."""
    replicas = per_replica(pooler)
    deploy = pooler.deploy_replicas if pooler is not None else None
    running = max(replicas, deploy.value or 0) if deploy is not None and deploy.known \
        else replicas
    processes = _processes(pooler)
    names = pooler.database_names if pooler is not None else []
    per = max(max_db_connections // (running * processes * max(len(names), 1)), 1)
    lines = ["[pgbouncer]"]
    if pool_mode:
        lines.append(f"pool_mode = {pool_mode}")
    lines.append(f"max_db_connections = {per}")
    if clients:
        lines.append(f"max_client_conn = {math.ceil(clients / (replicas * processes))}")
    shares = [f"{len(names)} databases" if len(names) > 1 else "",
              f"{processes} processes" if processes > 1 else "",
              (f"{replicas} replicas, {running} during a rolling deploy" if running > replicas
               else f"{replicas} replicas" if replicas > 1 else "")]
    shared = [share for share in shares if share]
    if shared:
        lines.insert(1, f"; per database and process: {', '.join(shared)} share the total")
    if names:
        entries = [f"{name} = ... max_db_connections={per}" for name in names]
        lines = ["[databases]", *entries, "", *lines]
    return "\n".join(lines)


def deploy_tasks(client: Client, tasks: int) -> int:
    """Tasks running during a rolling deploy once the client is capped at `tasks`: an ECS
    percent scales with the cap; a Kubernetes surge never grows as the replicas shrink."""
    top, during = client.max_tasks.value or 1, client.deploy_tasks.value or 0
    if client.kind == "ecs":
        return math.ceil(tasks * during / top)
    return tasks + max(during - top, 0)


def client_fixes(client: Client, room: int, deploy_room: int | None) -> list[str]:
    """The largest task count and pool that keep the steady state within `room` and, when the
    deploy is known, the rolling deploy within `deploy_room` (else the fix would be a CB108)."""
    per_task = (client.processes.value or 1) * (client.pool.value or 1)
    tasks = room // per_task
    deploy_known = deploy_room is not None and client.deploy_tasks.known
    if deploy_known:
        assert deploy_room is not None
        while tasks > 0 and deploy_tasks(client, tasks) * per_task > deploy_room:
            tasks -= 1
    fixes: list[str] = []
    if tasks >= 1:
        during = deploy_tasks(client, tasks) if deploy_known else tasks
        fixes.append(f"or cap {client.where.address} at {tasks} {client.unit} "
                     f"({client.scale_setting})"
                     + (f", {during} during a rolling deploy" if during > tasks else ""))
    processes = client.processes.value or 1
    pool = room // ((client.max_tasks.value or 1) * processes)
    if deploy_known:
        assert deploy_room is not None
        pool = min(pool, deploy_room // ((client.deploy_tasks.value or 1) * processes))
    if pool >= 1:
        fixes.append(f"or set {client.pool_setting} <= {pool}")
    return fixes


def budget_fixes(budget: Budget, worst: int, target: int) -> list[str]:
    """Ways to bring `worst` (steady) down to `target`, for the largest path, without pushing a
    rolling deploy over the usable slots."""
    paths = [p for p in budget.paths if p.steady.known]
    if not paths:
        return []
    largest = max(paths, key=lambda p: (p.steady.value or 0, p.name))
    room = target - (worst - (largest.steady.value or 0))
    fixes: list[str] = []
    if largest.client is not None:
        client = largest.client
        demand = sum(p.steady.value or 0 for p in paths if p.client is not None)
        fixes.append(f"put PgBouncer (transaction mode, max_db_connections <= "
                     f"{max(target - (worst - demand), 1)}) in front")
        deploy_room = None
        if budget.deploy is not None and budget.usable is not None and largest.deploy.known:
            deploy_room = budget.usable - (budget.deploy - (largest.deploy.value or 0))
        fixes.extend(client_fixes(client, room, deploy_room))
    elif largest.pooler is not None and largest.kind == "pgbouncer":
        pooler = largest.pooler
        shares = per_replica(pooler) * _processes(pooler) * max(len(pooler.database_names), 1)
        fixes.append(f"set max_db_connections <= {max(room // shares, 1)} on {largest.name}"
                     + (f" (per database and process: {shares} share the total)"
                        if shares > 1 else ""))
    elif largest.pooler is not None and budget.max_connections.value:
        fixes.append(f"set max_connections_percent <= "
                     f"{max(room * 100 // budget.max_connections.value, 1)} on {largest.name}")
    return fixes


def _pooler_deploy_fix(path: Path, deploy: int, usable: int) -> str | None:
    """A PgBouncer whose own rollout runs extra replicas: the surge that still fits."""
    pooler = path.pooler
    if pooler is None or path.deploy.value is None or path.deploy.value == path.steady.value:
        return None
    replicas = per_replica(pooler)
    per = (path.steady.value or 0) // replicas
    room = usable - (deploy - path.deploy.value)
    extra = max(0, room // per - replicas) if per else 0
    if pooler.where.address.startswith(("Deployment/", "StatefulSet/")):
        return (f"set strategy.rollingUpdate.maxSurge: {extra} on {pooler.where.address}"
                + (" (and maxUnavailable: 1)" if extra == 0 else ""))
    return (f"set deployment_maximum_percent = {100 + extra * 100 // replicas} on "
            f"{pooler.where.address}")


def deploy_fixes(budget: Budget, deploy: int, usable: int) -> list[str]:
    fixes: list[str] = []
    for path in budget.paths:
        pooler_fix = _pooler_deploy_fix(path, deploy, usable)
        if pooler_fix is not None:
            fixes.append(pooler_fix)
        client = path.client
        if client is None or not client.deploy_tasks.known or not client.max_tasks.value:
            continue
        if client.deploy_tasks.value == client.max_tasks.value:
            continue
        per_task = (client.processes.value or 1) * (client.pool.value or 1)
        room = usable - (deploy - (path.deploy.value or 0))
        tasks = room // per_task
        if client.kind == "ecs":
            pct = max(100, tasks * 100 // client.max_tasks.value)
            fixes.append(f"set deployment_maximum_percent = {pct} on {client.where.address} "
                         f"({tasks} tasks x {per_task} at most during a deploy)")
        else:
            surge = max(0, tasks - client.max_tasks.value)
            fixes.append(f"set strategy.rollingUpdate.maxSurge: {surge} on {client.where.address}")
    return fixes
