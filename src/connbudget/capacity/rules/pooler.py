"""CB104, CB105 and CB106: what a pooler opens, accepts and multiplexes.
"""

from __future__ import annotations

import math

from connbudget.capacity.budget import Budget, client_connections
from connbudget.capacity.fixes import (
    budget_fixes,
    per_replica,
    pgbouncer_fragment,
    recommended_role_limit,
)
from connbudget.capacity.model import Role
from connbudget.capacity.rules.common import make_finding, role_named
from connbudget.report import Finding


def pooler_findings(budget: Budget, roles: list[Role]) -> list[Finding]:
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
            findings.append(make_finding(
                "CB104", pooler.where,
                f"{pooler.where.label} can open {server} server connections to "
                f"{budget.database.where.label} > usable {usable}"
                + (f" ({path.deploy.value} during its rolling deploy)"
                   if path.deploy.value is not None and path.deploy.value != server else ""),
                fix))
        for user, need in sorted(pooler.role_needs.items()):
            role = role_named(roles, budget.database.where.root, user)
            limit = role.connection_limit.value if role else None
            if role is None or limit is None or limit < 0 or not need.known:
                continue
            assert need.value is not None
            if need.value > limit:
                findings.append(make_finding(
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
            findings.append(make_finding(
                "CB105", pooler.where,
                f"{pooler.where.label} max_client_conn {max_client.value} ({max_client.origin})"
                f" < {demand} client connections behind it ("
                + ", ".join(f"{c.where.label} {s.value}" for c, (s, _) in
                            zip(path.behind, behind, strict=True)) + ")",
                "[pgbouncer]\n" + (f"; per replica: {per_replica(pooler)} replicas share "
                                   "the total\n" if per_replica(pooler) > 1 else "")
                + f"max_client_conn = "
                  f"{math.ceil(max(deploy_demand, demand) / per_replica(pooler))}"))
        autoscaled = [c.where.label for c in path.behind if c.autoscaled]
        if pooler.pool_mode == "session" and autoscaled:
            findings.append(make_finding(
                "CB106", pooler.where,
                f"{pooler.where.label} runs pool_mode = session ({pooler.pool_mode_origin}) "
                f"in front of autoscaled {', '.join(autoscaled)}: every client connection holds "
                "a server connection, so the pooler does not multiplex",
                "[pgbouncer]\npool_mode = transaction\n(check the app uses no session state: "
                "SET, advisory locks, LISTEN, session-level prepared statements)"))
    return findings
