"""What the PgBouncer release in use does that the numbers alone do not say: CB112 (transaction
pooling that breaks a client's prepared statements) and CB113 (pool_size 0 through 1.23: one
server connection per pool, its clients queue), and the words CB104 adds for a pool of no limit
(pool_size 0 from 1.24). Each behaviour is the release's row of the PgBouncer behaviours table,
with the line of PgBouncer's source that decides it.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget
from connbudget.capacity.fixes import Fix, Pending, Sized, join, pgbouncer_setting, slots_target
from connbudget.model import Client, Location, Model, PgBouncer, PreparedStatements, ZeroPools
from connbudget.providers.pgbouncer.pools import AT_MOST_ONE, NO_LIMIT, effective_pool
from connbudget.providers.pgbouncer.tables import ABSENT, behaviour, newest_release
from connbudget.report import Finding
from connbudget.rules.common import Run, make_finding

_MULTIPLEXED = ("transaction", "statement")
_PREPARED = "max_prepared_statements"


def no_limit_words(pooler: PgBouncer) -> str:
    """What CB104 says of pools of size 0 that a release from 1.24 reads as no limit."""
    found = [z for z in pooler.zero_pools if z.meaning == NO_LIMIT]
    return "".join(
        f"; {z.setting.text} ({z.setting.file}:{z.setting.line}) means no limit per pool in "
        f"{z.release} ({z.source}): each pool opens a server connection for every client "
        "waiting, bounded only by max_db_connections, max_user_connections and its clients"
        for z in found)


def release_findings(model: Model, budgets: list[Budget], run: Run) -> list[Finding]:
    by_key = {budget.database.where.key: budget for budget in budgets}
    found: list[Finding] = []
    for pooler in model.poolers:
        if not isinstance(pooler, PgBouncer) or pooler.config is None:
            continue
        budget = by_key.get(pooler.target) if pooler.target is not None else None
        behind = [c for c in model.clients if c.target == pooler.where.key]
        if run.on("CB113"):
            found += [_queueing(pooler, zero, budget, behind) for zero in pooler.zero_pools
                      if zero.meaning == AT_MOST_ONE]
        if run.on("CB112"):
            found += [finding for client in behind for use in client.statements
                      for finding in _prepared(pooler, client, use)]
    return found


def _queueing(pooler: PgBouncer, zero: ZeroPools, budget: Budget | None,
              behind: list[Client]) -> Finding:
    """CB113: pool_size 0 through 1.23 keeps one server connection per pool."""
    setting = zero.setting
    clients = sum((c.scale.value or 0) * (c.processes.value or 0) * (c.pool.value or 0)
                  for c in behind)
    waiting = (f"; the {clients} client connections behind it take turns on them"
               if behind and all(c.scale.known and c.processes.known and c.pool.known
                                 for c in behind) else "")
    message = (f"{pooler.where.label}: {setting.text} in {zero.release} keeps at most one "
               f"server connection per pool ({zero.source}) for {', '.join(zero.pools)}: its "
               "clients queue behind it until query_wait_timeout closes them" + waiting)
    where = Location(pooler.where.address, setting.file or pooler.where.file,
                     setting.line or pooler.where.line, root=pooler.where.root,
                     show_root=pooler.where.show_root)
    size = _pool_size(pooler, budget, zero.count)
    key = setting.text.split(" ", 1)[0]
    if key == "pool_size":
        fix = Fix(f"set pool_size={size.value} on the [databases] or [users] entry ({size.why})",
                  (Pending(setting.file, setting.line, "pool_size=0", f"pool_size={size.value}"),)
                  if setting.file else ())
    else:
        found = pgbouncer_setting(pooler, "default_pool_size", size.value)
        fix = Fix(f"{found.text}\n({size.why})", found.edits)
    upgrade = Fix("or run PgBouncer 1.24 or later, where pool_size 0 means no limit per pool, "
                  "and bound it with max_db_connections")
    return make_finding("CB113", where, message, join([fix, upgrade]),
                        budget=pooler.target)


def _pool_size(pooler: PgBouncer, budget: Budget | None, pools: int) -> Sized:
    """The pool size that keeps the pooler within its database's alert threshold (less what
    its other paths open), shared by its pools, processes and replicas; PgBouncer's default
    when the database is not known."""
    default = behaviour("default_pool_size", pooler.config.version if pooler.config else "")
    fallback = int(default.value) if default is not None else 20
    if budget is None or budget.usable is None:
        return Sized(fallback, "PgBouncer's default pool size; its database is not known")
    target = slots_target(budget)
    others = sum(p.steady.value or 0 for p in budget.paths if p.pooler is not pooler)
    processes = pooler.processes.value if pooler.processes and pooler.processes.known else 1
    replicas = pooler.replicas.value if pooler.replicas and pooler.replicas.known else 1
    shares = max(pools, 1) * (processes or 1) * (replicas or 1)
    room = max(target.value - others, 1)
    value = max(room // shares, 1)
    return Sized(value, f"{room} of {target.why}" + (f" less {others} of the other paths"
                                                     if others else "")
                 + (f", shared by {shares} pools, processes and replicas" if shares > 1 else ""))


def _prepared(pooler: PgBouncer, client: Client, use: PreparedStatements) -> list[Finding]:
    """CB112: a client's prepared statements against a pooler that multiplexes its server
    connections per transaction (or statement)."""
    config = pooler.config
    assert config is not None
    entry = config.databases.get(client.database or "") or config.fallback() or next(
        iter(config.databases.values()), None)
    mode = (effective_pool(config, entry, client.database or entry.name, client.user or "")
            .pool_mode if entry is not None else config.pool_mode())
    if mode.value not in _MULTIPLEXED:
        return []
    supported = behaviour(_PREPARED, config.version)
    kept = config.integer(_PREPARED)
    release = config.release_words
    if supported is None or kept.value is None and supported.value != ABSENT:
        return []
    mode_text = f"pool_mode = {mode.value} ({mode.source})"
    where = Location(client.where.address, use.origin.file or client.where.file,
                     use.origin.line or client.where.line, root=client.where.root,
                     show_root=client.where.show_root)
    if use.named and (supported.value == ABSENT or kept.value == 0):
        why = (f"{release} keeps no prepared statements across server connections "
               f"({_PREPARED} exists from 1.21: {supported.cite.source})"
               if supported.value == ABSENT else
               f"{release} keeps none: {_PREPARED} = 0 ({kept.source})")
        message = (f"{client.where.label} uses {use.library}'s named prepared statements "
                   f"({use.origin.text}) through {pooler.where.label} in {mode_text}, and "
                   f"{why}: its queries fail with 'prepared statement ... does not exist' or "
                   "'already exists' once a transaction lands on another server connection")
        return [make_finding("CB112", where, message,
                             join([_keep_statements(pooler, supported.value == ABSENT),
                                   Fix(f"or on the client: {use.off}")]),
                             budget=pooler.target)]
    if use.pgbouncer_mode and supported.value != ABSENT and (kept.value or 0) > 0:
        message = (f"{client.where.label} sets Prisma's {use.origin.text} through "
                   f"{pooler.where.label}, whose {release} keeps prepared statements "
                   f"({_PREPARED} = {kept.value}, {kept.source}) in {mode_text}: Prisma "
                   "deallocates them behind PgBouncer's back and queries fail with 'prepared "
                   "statement \"PGBOUNCER_...\" does not exist' (prisma/orm#21799)")
        off = pgbouncer_setting(pooler, _PREPARED, 0)
        return [make_finding("CB112", where, message,
                             join([Fix(f"on the client: {use.off} (Prisma needs it only below "
                                       "PgBouncer 1.21)"),
                                   Fix(f"or on the pooler, {_PREPARED} = 0:\n{off.text}",
                                       off.edits)]),
                             budget=pooler.target)]
    return []


def _keep_statements(pooler: PgBouncer, upgrade: bool) -> Fix:
    """The pooler side: keep prepared statements (the default of the newest release)."""
    newest = newest_release()
    default = behaviour(_PREPARED, newest.value)
    value = int(default.value) if default is not None and default.value.isdigit() else 200
    setting = pgbouncer_setting(pooler, _PREPARED, value)
    if upgrade:
        return Fix(f"on the pooler: run PgBouncer 1.21 or later ({newest.value} is the newest "
                   f"connbudget has read) and set {_PREPARED} = {value}")
    return Fix(f"on the pooler, {_PREPARED} = {value} (the default from PgBouncer 1.24):\n"
               f"{setting.text}", setting.edits)
