"""The other places that decide a capacity finding: the database's max_connections, each
client's scale bound and pool setting, the pooler's pool sizes. A pull request that changes one
of those lines sees the finding there (SARIF relatedLocations, a GitHub annotation on that line),
not only on the database it is about.

Applied once over the findings the rules made (`attach`); a PgBouncer ini's finding is also
moved to the setting that decides it (a pool size, max_client_conn, pool_mode).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from connbudget.capacity.budget import Budget, units
from connbudget.model import Client, Model, Origin, PgBouncer, Pooler, Value
from connbudget.report import Finding, Related

# what decides a pooler's server connections, in the order a fix would change them
_POOL_KEYS = ("max_db_connections", "default_pool_size", "reserve_pool_size")


def _located(origin: Origin, what: str, belongs: str) -> Related | None:
    if not origin.file or origin.line <= 0:
        return None
    return Related(origin.file, origin.line, f"{what}: decides {belongs}")


def _value(value: Value, before: str, after: str, belongs: str) -> Related | None:
    shown = "unknown" if value.value is None else str(value.value)
    return _located(value.origin, f"{before} {shown}{after} ({value.origin.text})", belongs)


def _client(client: Client, belongs: str, deploy: bool) -> list[Related | None]:
    label, unit = client.where.label, units(client)
    found = [_value(client.scale, f"{label} up to", f" {unit}", belongs),
             _value(client.processes, label, f" processes per {units(client, 1)}", belongs),
             _value(client.pool, f"{label} pool", "", belongs)]
    if deploy:
        found.append(_value(client.deploy, label, f" {unit} during a rolling deploy",
                            belongs))
    return found


def _pool_settings(pooler: Pooler) -> list[Origin]:
    """The lines that decide a PgBouncer's server connections: per database entry its own
    pool_size or max_db_connections, else the [pgbouncer] defaults, else the entry itself."""
    config = pooler.config if isinstance(pooler, PgBouncer) else None
    if config is None or not isinstance(pooler, PgBouncer):
        return []
    if pooler.deciding:  # the settings its worst case used, as PgBouncer applies them
        return list(pooler.deciding)
    found: list[Origin] = []
    names = pooler.database_names or sorted(config.databases)
    for name in names:
        entry = config.databases.get(name) or config.fallback()
        if entry is None:
            continue
        own = [entry.params[key] for key in ("max_db_connections", "pool_size")
               if key in entry.params]
        found.extend(Origin(f"[databases] {entry.name} {s.key}={s.value}", s.file, s.line)
                     for s in own)
        if not own:
            found.append(Origin(f"[databases] {entry.name}", entry.file, entry.line))
    for key in _POOL_KEYS:
        setting = config.settings.get(key)
        if setting is not None:
            found.append(Origin(f"{key} = {setting.value}", setting.file, setting.line))
    return found


def _pooler(pooler: Pooler, belongs: str) -> list[Related | None]:
    # an ini file's address is its path, which the location already shows
    label = "PgBouncer" if pooler.where.address == pooler.where.file else pooler.where.label
    return [_located(origin, f"{label} {origin.text}", belongs)
            for origin in _pool_settings(pooler)]


def _database(budget: Budget, belongs: str) -> list[Related | None]:
    """The line that sets its max_connections (a parameter, a pin's field), else the one that
    sets its size (instance_class, max ACU), else the database itself."""
    database = budget.database
    origin = budget.max_connections.origin
    if origin.file and origin.line != database.where.line:
        return [_value(budget.max_connections, f"{database.where.label} max_connections", "",
                       belongs)]
    size = (f"{database.size} ({origin.text})" if budget.max_connections.known
            else f"{database.size or 'unknown'}: max_connections unknown")
    decided = database.size_origin
    located = Origin(f"{database.where.label} instance class {size}", database.where.file,
                     decided.line if decided is not None else database.where.line)
    return [_located(located, located.text, belongs)]


def related(finding: Finding, budget: Budget) -> tuple[Related, ...]:
    """The places that decide `finding` about `budget`'s database, its own line left out: for
    the database's budget, every path; for a pooler's finding, what decides that finding."""
    belongs = f"{finding.rule_id} on {budget.database.where.label}"
    if finding.resource == budget.database.where.address:
        found: list[Related | None] = [*_database(budget, belongs)]
        for path in budget.paths:
            if path.pooler is not None:
                found.extend(_pooler(path.pooler, belongs))
            if path.client is not None:
                found.extend(_client(path.client, belongs, finding.rule_id == "CB108"))
        return _unique(found, finding)
    found = []
    for path in budget.paths:
        if path.pooler is None or path.pooler.where.address != finding.resource:
            continue
        if finding.rule_id == "CB104":
            found.extend([*_database(budget, belongs), *_pooler(path.pooler, belongs)])
        elif finding.rule_id == "CB103":
            found.extend(_pooler(path.pooler, belongs))
        else:  # CB105, CB106: the clients behind it
            for client in path.behind:
                found.extend(_client(client, belongs, deploy=finding.rule_id == "CB105"))
    return _unique(found, finding)


def _unique(found: Iterable[Related | None], finding: Finding) -> tuple[Related, ...]:
    seen = {(finding.file, finding.line)}
    result = []
    for item in found:
        if item is None or (item.file, item.line) in seen:
            continue
        seen.add((item.file, item.line))
        result.append(item)
    return tuple(result)


def _role_related(finding: Finding, model: Model, budgets: list[Budget]) -> tuple[Related, ...]:
    """CB107: every client and pooler that logs in as the role."""
    roles = [r for r in model.roles
             if r.where.address == finding.resource and r.where.file == finding.file]
    if not roles:
        return ()
    name, root = roles[0].name, roles[0].where.root
    found: list[Related | None] = []
    for budget in (b for b in budgets if b.database.where.root == root):
        belongs = f"CB107 on role {name} of {budget.database.where.label}"
        for path in budget.paths:
            clients = [path.client] if path.client is not None else path.behind
            for client in clients:
                if client.user == name:
                    found.extend(_client(client, belongs, deploy=False))
            if path.pooler is not None and name in path.pooler.role_needs:
                found.extend(_pooler(path.pooler, belongs))
    return _unique(found, finding)


def _client_related(finding: Finding, model: Model, budgets: list[Budget],
                    ) -> tuple[Related, ...]:
    """CB103 about a client: the lines of the numbers it could not read or had to assume."""
    clients = [c for c in model.clients
               if c.where.address == finding.resource and c.where.file == finding.file]
    if not clients:
        return ()
    client = clients[0]
    database = next((b.database.where.label for b in budgets for p in b.paths
                     if p.client is client or client in p.behind), "")
    belongs = f"CB103 on {database}" if database else "CB103"
    found = _client(client, belongs, deploy=False)
    assumed = [r for r, v in zip(found, (client.scale, client.processes, client.pool),
                                 strict=True) if v.assumed]
    return _unique(assumed, finding)


def _exact_line(finding: Finding, budget: Budget) -> Finding:
    """A PgBouncer ini's CB104 on the setting that decides its server connections, CB105 on
    max_client_conn, CB106 on pool_mode: not on the first setting of the file."""
    poolers = [p.pooler for p in budget.paths
               if p.pooler is not None and p.pooler.where.address == finding.resource]
    config = poolers[0].config if poolers and isinstance(poolers[0], PgBouncer) else None
    if config is None or poolers[0].where.address != finding.file:
        return finding
    pooler = poolers[0]
    if finding.rule_id == "CB104":
        lines = [o.line for o in _pool_settings(pooler) if o.file == finding.file]
    elif finding.rule_id in ("CB105", "CB106"):
        key = "max_client_conn" if finding.rule_id == "CB105" else "pool_mode"
        setting = config.settings.get(key)
        lines = [setting.line] if setting is not None and setting.file == finding.file else []
    else:
        lines = []
    return replace(finding, line=lines[0]) if lines and lines[0] > 0 else finding


def attach(findings: list[Finding], budgets: list[Budget], model: Model) -> list[Finding]:
    """Every capacity finding with the places that decide it, found through the budget it
    belongs to."""
    by_key = {budget.database.where.key: budget for budget in budgets}
    result = []
    for finding in findings:
        if finding.rule_id == "CB107":
            result.append(replace(finding, related=_role_related(finding, model, budgets)))
            continue
        budget = by_key.get(finding.budget) if finding.budget is not None else None
        if budget is None or finding.rule_id == "CB109":
            if finding.rule_id == "CB103":
                finding = replace(finding, related=_client_related(finding, model, budgets))
            result.append(finding)
            continue
        if finding.rule_id == "CB103" and finding.resource != budget.database.where.address \
                and not _is_pooler(finding, budget):
            result.append(replace(finding, related=_client_related(finding, model, budgets)))
            continue
        finding = _exact_line(finding, budget)
        result.append(replace(finding, related=related(finding, budget)))
    return result


def _is_pooler(finding: Finding, budget: Budget) -> bool:
    return any(p.pooler is not None and p.pooler.where.address == finding.resource
               for p in budget.paths)
