"""CB101-CB108 over the budgets: every finding carries its numbers and a computed fix.

Fixes aim at the alert threshold (floor(threshold x usable)) so that applying one clears both
CB101 and CB102. A role's CONNECTION LIMIT fix is need + the same again as headroom (admin
sessions, migrations, a pooler restart), rounded up to ten and never above usable.
"""

from __future__ import annotations

import math

from connbudget.capacity.budget import Budget, Path, client_connections
from connbudget.capacity.model import Client, Location, Model, Pooler, Role, Value
from connbudget.report import Finding
from connbudget.reporters._common import percent


def _at(budget: Budget) -> Location:
    if budget.database.where.file or not budget.paths:
        return budget.database.where
    first = budget.paths[0]
    thing = first.client or first.pooler
    assert thing is not None
    return thing.where


def _finding(rule_id: str, where: Location, message: str, fix: str, resource: str = "") -> Finding:
    return Finding(rule_id, message, where.file, where.line, resource or where.address, fix,
                   end_line=where.end_line)


def _path_text(path: Path) -> str:
    client = path.client
    if client is not None:
        return (f"{path.name} {client.max_tasks.value} {client.unit} x {client.processes.value} "
                f"process{'es' if client.processes.value != 1 else ''} x "
                f"{client.pool.value} pool = {path.steady.value}")
    return f"{path.name} ({path.kind}) {path.steady.value}"


def recommended_role_limit(need: int, usable: int | None) -> int:
    limit = math.ceil(need * 2 / 10) * 10
    if usable is not None:
        limit = min(limit, usable)
    return max(limit, need)


def _role_limit_fix(need: int, usable: int | None, recommended: int) -> str:
    if usable is not None and need > usable:
        return (f"the {need} connections it needs do not fit the database's {usable} usable "
                f"slots: shrink its clients first (CB101/CB104), then set connection_limit "
                f"<= {usable}")
    return (f"connection_limit = {recommended} (need {need} + headroom {recommended - need} "
            "for admin sessions and restarts)")


def _per_replica(pooler: Pooler | None) -> int:
    replicas = pooler.replicas if pooler is not None else None
    return replicas.value if replicas is not None and replicas.known and replicas.value else 1


def pgbouncer_fragment(pooler: Pooler | None, max_db_connections: int, clients: int) -> str:
    """A corrected pgbouncer.ini fragment: the totals shared out over the pooler's replicas,
    as many as run at once during its own rolling deploy."""
    replicas = _per_replica(pooler)
    deploy = pooler.deploy_replicas if pooler is not None else None
    running = max(replicas, deploy.value or 0) if deploy is not None and deploy.known \
        else replicas
    max_db_connections = max(max_db_connections // running, 1)
    lines = ["[pgbouncer]", "pool_mode = transaction", f"max_db_connections = {max_db_connections}"]
    if clients:
        lines.append(f"max_client_conn = {math.ceil(clients / replicas)}")
    if running > replicas:
        lines.insert(1, f"; per replica: {replicas} replicas, {running} during a rolling deploy")
    elif replicas > 1:
        lines.insert(1, f"; per replica: {replicas} replicas share the total")
    if pooler is not None and pooler.database_names:
        lines.insert(0, "[databases]")
        for name in pooler.database_names:
            lines.insert(1, f"{name} = ... max_db_connections={max_db_connections}")
        lines.insert(len(pooler.database_names) + 1, "")
    return "\n".join(lines)


def _deploy_tasks(client: Client, tasks: int) -> int:
    """Tasks running during a rolling deploy once the client is capped at `tasks`: an ECS
    percent scales with the cap; a Kubernetes surge never grows as the replicas shrink."""
    top, during = client.max_tasks.value or 1, client.deploy_tasks.value or 0
    if client.kind == "ecs":
        return math.ceil(tasks * during / top)
    return tasks + max(during - top, 0)


def _client_fixes(client: Client, room: int, deploy_room: int | None) -> list[str]:
    """The largest task count and pool that keep the steady state within `room` and, when the
    deploy is known, the rolling deploy within `deploy_room` (else the fix would be a CB108)."""
    per_task = (client.processes.value or 1) * (client.pool.value or 1)
    tasks = room // per_task
    deploy_known = deploy_room is not None and client.deploy_tasks.known
    if deploy_known:
        assert deploy_room is not None
        while tasks > 0 and _deploy_tasks(client, tasks) * per_task > deploy_room:
            tasks -= 1
    fixes: list[str] = []
    if tasks >= 1:
        during = _deploy_tasks(client, tasks) if deploy_known else tasks
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
        fixes.extend(_client_fixes(client, room, deploy_room))
    elif largest.pooler is not None and largest.kind == "pgbouncer":
        replicas = _per_replica(largest.pooler)
        fixes.append(f"set max_db_connections <= {max(room // replicas, 1)} on {largest.name}"
                     + (f" (per replica: {replicas} replicas)" if replicas > 1 else ""))
    elif largest.pooler is not None and budget.max_connections.value:
        fixes.append(f"set max_connections_percent <= "
                     f"{max(room * 100 // budget.max_connections.value, 1)} on {largest.name}")
    return fixes


def _budget_findings(budget: Budget, skip_cb101: bool) -> list[Finding]:
    usable = budget.usable
    if usable is None or budget.steady is None or usable <= 0:
        return []
    where = _at(budget)
    address, label = budget.database.where.address, budget.database.where.label
    target = math.floor(budget.threshold * usable)
    steady, deploy = budget.steady, budget.deploy
    head = (f"worst case {steady} connections to {label} "
            f"({'; '.join(_path_text(p) for p in budget.paths)})")
    slots = (f"usable {usable} (max_connections {budget.max_connections.value} - "
             f"{budget.reserved.value} reserved)")
    if steady > usable:
        if skip_cb101:
            return []
        return [_finding("CB101", where, f"{head} > {slots}: {percent(steady, usable)} %",
                         "\n".join(budget_fixes(budget, steady, target)), address)]
    findings: list[Finding] = []
    if steady > target:
        findings.append(_finding("CB102", where,
                                 f"{head} is {percent(steady, usable)} % of {slots}, above the "
                                 f"{budget.threshold:.0%} alert threshold",
                                 "\n".join(budget_fixes(budget, steady, target)), address))
    # The steady state fits (perhaps above the alert threshold); a deploy may still overflow.
    if deploy is not None and deploy > usable:
        findings.append(_finding("CB108", where,
                                 f"during a rolling deploy {deploy} connections to {label} > "
                                 f"{slots} ({percent(deploy, usable)} %), though the steady "
                                 f"state {steady} fits",
                                 "\n".join(deploy_fixes(budget, deploy, usable)), address))
    return findings


def _pooler_deploy_fix(path: Path, deploy: int, usable: int) -> str | None:
    """A PgBouncer whose own rollout runs extra replicas: the surge that still fits."""
    pooler = path.pooler
    if pooler is None or path.deploy.value is None or path.deploy.value == path.steady.value:
        return None
    replicas = _per_replica(pooler)
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


def _role(roles: list[Role], root: str, name: str) -> Role | None:
    """Role `name` of the database's root; for a database in no root, only an unambiguous one."""
    same = [role for role in roles if role.name == name and role.where.root == root]
    anywhere = [role for role in roles if role.name == name]
    if same:
        return same[0]
    return anywhere[0] if not root and len(anywhere) == 1 else None


def _pooler_findings(budget: Budget, roles: list[Role]) -> list[Finding]:
    findings: list[Finding] = []
    usable = budget.usable
    for path in budget.paths:
        pooler = path.pooler
        if pooler is None:
            continue
        server = path.steady.value
        behind = [client_connections(c) for c in path.behind]
        demand = sum(s.value or 0 for s, _ in behind)
        deploy_demand = sum(d.value or 0 for _, d in behind)
        if server is not None and usable is not None and server > usable:
            target = math.floor(budget.threshold * usable)
            fix = (pgbouncer_fragment(pooler, target, deploy_demand) if pooler.kind == "pgbouncer"
                   else "\n".join(budget_fixes(budget, budget.steady or server, target)))
            findings.append(_finding(
                "CB104", pooler.where,
                f"{pooler.where.label} can open {server} server connections to "
                f"{budget.database.where.label} > usable {usable}"
                + (f" ({path.deploy.value} during its rolling deploy)"
                   if path.deploy.value is not None and path.deploy.value != server else ""),
                fix))
        for user, need in sorted(pooler.role_needs.items()):
            role = _role(roles, budget.database.where.root, user)
            limit = role.connection_limit.value if role else None
            if role is None or limit is None or limit < 0 or not need.known:
                continue
            assert need.value is not None
            if need.value > limit:
                findings.append(_finding(
                    "CB104", pooler.where,
                    f"{pooler.where.label} can open {need.value} server connections as role "
                    f"{user} ({need.origin}) > its CONNECTION LIMIT {limit} "
                    f"({role.connection_limit.origin}): clients get 'too many connections for "
                    f"role \"{user}\"'",
                    f"lower pool_size + reserve_pool for {user} to {limit} or less, or raise the "
                    f"role's CONNECTION LIMIT to {recommended_role_limit(need.value, usable)}"))
        max_client = pooler.max_client_conn
        if pooler.kind == "pgbouncer" and max_client is not None and max_client.known \
                and behind and demand > (max_client.value or 0):
            findings.append(_finding(
                "CB105", pooler.where,
                f"{pooler.where.label} max_client_conn {max_client.value} ({max_client.origin})"
                f" < {demand} client connections behind it ("
                + ", ".join(f"{c.where.label} {s.value}" for c, (s, _) in
                            zip(path.behind, behind, strict=True)) + ")",
                "[pgbouncer]\n" + (f"; per replica: {_per_replica(pooler)} replicas share "
                                   "the total\n" if _per_replica(pooler) > 1 else "")
                + f"max_client_conn = "
                  f"{math.ceil(max(deploy_demand, demand) / _per_replica(pooler))}"))
        autoscaled = [c.where.label for c in path.behind if c.autoscaled]
        if pooler.pool_mode == "session" and autoscaled:
            findings.append(_finding(
                "CB106", pooler.where,
                f"{pooler.where.label} runs pool_mode = session ({pooler.pool_mode_origin}) "
                f"in front of autoscaled {', '.join(autoscaled)}: every client connection holds "
                "a server connection, so the pooler does not multiplex",
                "[pgbouncer]\npool_mode = transaction\n(check the app uses no session state: "
                "SET, advisory locks, LISTEN, session-level prepared statements)"))
    return findings


def _role_findings(model: Model, budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    usable_of = {b.database.where.key: b.usable for b in budgets}
    # a role lives on the database server: needs are summed per (database root, role name)
    needs: dict[tuple[str, str], list[tuple[str, Value, int | None]]] = {}
    for pooler in model.poolers:
        root = pooler.target[0] if pooler.target else pooler.where.root
        for user, need in pooler.role_needs.items():
            needs.setdefault((root, user), []).append((
                pooler.where.label, need, usable_of.get(pooler.target or ("", ""))))
    for client in model.clients:
        if client.user and client.target in usable_of:
            assert client.target is not None
            steady, _ = client_connections(client)
            needs.setdefault((client.target[0], client.user), []).append((
                client.where.label, steady, usable_of.get(client.target)))
    for (root, user), entries in sorted(needs.items()):
        role = _role(model.roles, root, user)
        if role is None or not role.connection_limit.known:
            continue
        limit = role.connection_limit.value
        assert limit is not None
        total = sum(v.value or 0 for _, v, _ in entries if v.known)
        if limit < 0 or total <= limit:
            continue
        usable = min((u for _, _, u in entries if u is not None), default=None)
        recommended = recommended_role_limit(total, usable)
        who = ", ".join(f"{name} {value.value}" for name, value, _ in entries if value.known)
        findings.append(_finding(
            "CB107", role.where,
            f"role {user} has CONNECTION LIMIT {limit} ({role.connection_limit.origin}) but needs "
            f"{total} ({who})",
            _role_limit_fix(total, usable, recommended)))
    return findings


def evaluate(model: Model, budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    for budget in budgets:
        pooler_findings = _pooler_findings(budget, model.roles)
        over = any(f.rule_id == "CB104" and "> usable" in f.message for f in pooler_findings)
        findings.extend(pooler_findings)
        findings.extend(_budget_findings(budget, skip_cb101=over))
    findings.extend(_role_findings(model, budgets))
    findings.extend(_unknown_findings(model, budgets))
    return findings


def _unknown_findings(model: Model, budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    for budget in budgets:
        if not budget.max_connections.known:
            where = _at(budget)
            findings.append(_finding(
                "CB103", where,
                f"max_connections of {budget.database.where.label} cannot be determined: "
                f"{budget.max_connections.origin.text}; its budget is unknown",
                f'pin it: [tool.connbudget.databases."{budget.database.where.address}"] '
                "max-connections = <SHOW max_connections>", budget.database.where.address))
    for client in model.clients:
        findings.extend(_client_unknowns(client))
    return findings


def _client_unknowns(client: Client) -> list[Finding]:
    findings: list[Finding] = []
    if client.pool.unlimited:
        findings.append(_finding(
            "CB103", client.where,
            f"{client.where.label} has no pool bound ({client.pool.origin.text}): it can take "
            "every slot; its worst case is unbounded",
            f"bound the pool: SetMaxOpenConns(n) with n <= what the budget allows "
            f"({client.pool_setting})"))
        return findings
    for name, value in (("pool size", client.pool), ("processes per task", client.processes),
                        ("task count", client.max_tasks)):
        if not value.assumed:
            continue
        if value.value is not None:
            message = (f"{client.where.label} {name} is not set: the budget assumes "
                       f"{value.value} ({value.origin.text})")
        else:
            message = (f"{client.where.label} {name} cannot be determined "
                       f"({value.origin.text}); the budget of its database is unknown")
        setting = client.pool_setting if name == "pool size" else client.scale_setting
        findings.append(_finding("CB103", client.where, message,
                                 f"set {setting} explicitly (a literal, or a variable with a "
                                 "default)"))
    return findings
