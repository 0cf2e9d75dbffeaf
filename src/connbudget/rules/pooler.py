"""CB103 (what a PgBouncer's worst case assumes), CB104, CB105 and CB106: what a pooler opens,
accepts and multiplexes.

What clients see when a pooler's pools outgrow a role's CONNECTION LIMIT or the server's slots,
as measured with PgBouncer 1.18 (tests/test_pgbouncer_live.py): PostgreSQL refuses the extra
server logins (`FATAL: too many connections for role`, or `remaining connection slots are
reserved`), PgBouncer logs `login failed` and retries every server_login_retry (15 s), and
clients that are already connected queue until query_wait_timeout (120 s) closes them with
`query_wait_timeout`; only a client whose pool has no server connection at all is handed the
PostgreSQL error at login.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from connbudget.capacity.budget import Budget, Path, client_connections
from connbudget.capacity.fixes import (
    Fix,
    Pending,
    Sized,
    budget_fixes,
    per_replica,
    pgbouncer_cap,
    pgbouncer_setting,
    role_limit,
    setting_text,
    slots_target,
    toml_pin,
)
from connbudget.model import PgBouncer, Pooler, Role, Value
from connbudget.report import Edit, Finding
from connbudget.rules.common import Run, make_finding, role_named
from connbudget.rules.releases import no_limit_words

QUEUEING = ("PgBouncer logs 'login failed' and retries every server_login_retry while its "
            "clients queue until query_wait_timeout drops them")


def _assumption_findings(pooler: PgBouncer, budget: Budget) -> list[Finding]:
    server = pooler.server_connections
    if not pooler.assumptions or (server is not None and server.known and not server.assumed):
        return []
    address = pooler.where.address
    if server is None or not server.known:
        message = (f"{pooler.where.label} server connections cannot be bounded: "
                   + "; ".join(pooler.assumptions))
    else:
        message = (f"{pooler.where.label} worst case {server.value} assumes "
                   + "; ".join(pooler.assumptions))
    fixes = []
    if pooler.bound_by:
        fixes.append(f"set {pooler.bound_by}")
    peers = len(pooler.config.peers) if pooler.config is not None else 0
    entries = [("processes", f"{peers}  # the processes its [peers] section lists" if peers
                else "<PgBouncer processes per host>")] if any(
        "so_reuseport" in text for text in pooler.assumptions) else []
    entries += [("users", '["<the roles its clients log in as>"]'),
                ("databases", '["<the databases they ask for>"]')]
    fixes.append("or say what the files do not, in pyproject.toml (uncomment what you know):\n"
                 + toml_pin("poolers", address, entries))
    return [make_finding("CB103", pooler.where, message, "\n".join(fixes),
                         budget=budget.database.where.key)]


@dataclass
class PoolerFindings:
    findings: list[Finding] = field(default_factory=list)
    judging: list[Finding] = field(default_factory=list)  # CB104 over the database's slots
    over_roles: set[tuple[str, str]] = field(default_factory=set)  # (root, role): CB104 said it

    @property
    def over_usable(self) -> bool:
        return bool(self.judging)


def _over_usable(budget: Budget, path: Path, pooler: Pooler, deploy_demand: int,
                 ) -> Finding | None:
    """CB104: what the pooler opens (or, its client users unknown, opens at least) against
    the database's usable slots."""
    usable = budget.usable
    server = path.steady.value
    floor = pooler.server_connections_floor if isinstance(pooler, PgBouncer) else None
    least = not path.steady.known and floor is not None and floor.known
    if least:
        assert floor is not None
        server = floor.value
    if server is None or usable is None or server <= usable:
        return None
    target = slots_target(budget)
    if isinstance(pooler, PgBouncer):
        others = sum(p.steady.value or 0 for p in budget.paths if p is not path)
        room = Sized(target.value - others, target.why + (f" less {others} of the other paths"
                                                          if others else ""))
        fix = pgbouncer_cap(pooler, room, deploy_demand)
    else:
        fix = budget_fixes(budget, budget.steady or server, target)
    return make_finding(
        "CB104", pooler.where,
        f"{pooler.where.label} can open {'at least ' if least else ''}{server} server "
        f"connections to {budget.database.where.label} > usable {usable}"
        + (f", with a single client user ({_origin(floor)}); every further user opens pools "
           "of its own" if least else "")
        + (f" ({path.deploy.value} during its rolling deploy)"
           if not least and path.deploy.value is not None and path.deploy.value != server
           else "")
        + (f": PostgreSQL refuses the extra logins ('remaining connection slots are "
           f"reserved'); {QUEUEING}{no_limit_words(pooler)}" if isinstance(pooler, PgBouncer)
           else ""),
        fix, budget=budget.database.where.key)


def _origin(value: Value | None) -> str:
    return value.origin.text if value is not None else ""


def _over_roles(budget: Budget, pooler: Pooler, roles: list[Role], out: PoolerFindings,
                ) -> None:
    """CB104: the pooler's own pools for a role exceed its CONNECTION LIMIT. Reported here
    once: CB107 leaves the role out (it reports only limits no single pooler exceeds)."""
    usable = budget.usable
    root = budget.database.where.root
    for user, need in sorted(pooler.role_needs.items()):
        role = role_named(roles, root, user)
        limit = role.connection_limit.value if role else None
        if role is None or limit is None or limit < 0 or not need.known:
            continue
        assert need.value is not None
        if need.value <= limit:
            continue
        out.over_roles.add((root, user))
        finding = make_finding(
            "CB104", pooler.where,
            f"{pooler.where.label} can open {need.value} server connections as role "
            f"{user} ({need.origin}) > its CONNECTION LIMIT {limit} "
            f"({role.connection_limit.origin}): PostgreSQL refuses the logins past "
            f"{limit} ('too many connections for role \"{user}\"'); {QUEUEING}",
            _role_fix(pooler, user, limit, need.value, usable, budget.threshold, role),
            budget=budget.database.where.key)
        # the slots fit, but the database refuses these logins: its verdict says so
        out.findings.append(finding)
        out.judging.append(finding)


def _role_fix(pooler: Pooler, user: str, limit: int, need: int, usable: int | None,
              threshold: float, role: Role) -> Fix:
    """Raise the role's limit (applied as an edit where its line is known), or cap what the
    pooler opens as that user within the limit it has."""
    raised = role_limit(need, usable, threshold)
    shares = _shares(pooler)
    per = max(limit // shares, 1)
    within = (f"{per} per PgBouncer process: the limit {limit} shared by {shares} processes"
              if shares > 1 else f"the limit {limit}")
    edits: tuple[Edit, ...] = ()
    origin = role.connection_limit.origin
    if origin.file and origin.line:
        edits = (Pending(origin.file, origin.line, str(limit), str(raised.value)),)
    return Fix(
        f"raise the role's limit: {setting_text(role.where.file, 'connection_limit', raised.value)}"
        f" on {role.where.address} ({raised.why})\n"
        f"or cap what logs in as {user}: [users] {user} = max_user_connections={per} ({within};"
        f" a user of the auth_file), or for a forced user= that database's pool_size + "
        f"reserve_pool = {per}", edits)


def pooler_findings(budget: Budget, roles: list[Role], run: Run) -> PoolerFindings:
    out = PoolerFindings()
    findings = out.findings
    key = budget.database.where.key
    for path in budget.paths:
        pooler = path.pooler
        if pooler is None:
            continue
        if isinstance(pooler, PgBouncer) and run.on("CB103"):
            findings.extend(_assumption_findings(pooler, budget))
        behind = [client_connections(c) for c in path.behind]
        demand = sum(s.value or 0 for s, _ in behind)
        deploy_demand = sum(d.value or 0 for _, d in behind)
        over = _over_usable(budget, path, pooler, deploy_demand) if run.on("CB104") else None
        if over is not None:
            findings.append(over)
            out.judging.append(over)
        if run.on("CB104"):
            _over_roles(budget, pooler, roles, out)
        if not isinstance(pooler, PgBouncer):
            continue
        max_client = pooler.max_client_conn
        if run.on("CB105") and max_client is not None and max_client.known \
                and behind and demand > (max_client.value or 0):
            findings.append(make_finding(
                "CB105", pooler.where,
                f"{pooler.where.label} max_client_conn {max_client.value} ({max_client.origin})"
                f" < {demand} client connections behind it ("
                + ", ".join(f"{c.where.label} {s.value}" for c, (s, _) in
                            zip(path.behind, behind, strict=True)) + ")",
                _client_conn_fix(pooler, max(deploy_demand, demand)), budget=key))
        autoscaled = [c.where.label for c in path.behind if c.autoscaled]
        if run.on("CB106") and pooler.pool_mode == "session" and autoscaled:
            findings.append(make_finding(
                "CB106", pooler.where,
                f"{pooler.where.label} runs pool_mode = session ({pooler.pool_mode_origin}) "
                f"in front of autoscaled {', '.join(autoscaled)}: every client connection holds "
                "a server connection, so the pooler does not multiplex",
                _transaction_mode(pooler), budget=key))
    return out


def _shares(pooler: Pooler) -> int:
    """PgBouncer processes that each apply a [users] cap on their own."""
    processes = pooler.processes if isinstance(pooler, PgBouncer) else None
    count = processes.value if processes is not None and processes.known and processes.value \
        else 1
    return count * per_replica(pooler)


def _client_conn_fix(pooler: PgBouncer, clients: int) -> Fix:
    replicas = per_replica(pooler)
    value = math.ceil(clients / replicas)
    found = pgbouncer_setting(pooler, "max_client_conn", value)
    why = (f"the {clients} client connections behind it" + (f" over {replicas} replicas"
                                                            if replicas > 1 else ""))
    return Fix(f"{found.text}\n(max_client_conn = {value}: {why})", found.edits)


def _transaction_mode(pooler: PgBouncer) -> Fix:
    found = pgbouncer_setting(pooler, "pool_mode", "transaction")
    return Fix(f"{found.text}\n(check the app uses no session state: SET, advisory locks, "
               "LISTEN, session-level prepared statements)", found.edits)
