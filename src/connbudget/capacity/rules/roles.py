"""CB107: a role's CONNECTION LIMIT against everything that logs in as it.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget, client_connections
from connbudget.capacity.fixes import role_limit, role_limit_fix
from connbudget.capacity.model import Model, Value
from connbudget.capacity.rules.common import make_finding, role_named
from connbudget.report import Finding


def role_findings(model: Model, budgets: list[Budget],
                  reported: set[tuple[str, str]]) -> list[Finding]:
    """`reported`: (root, role) pairs whose limit one pooler's pools exceed alone, which CB104
    reports at the pooler (with both fixes); CB107 does not say it again."""
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
        role = role_named(model.roles, root, user)
        if (root, user) in reported or role is None or not role.connection_limit.known:
            continue
        limit = role.connection_limit.value
        assert limit is not None
        total = sum(v.value or 0 for _, v, _ in entries if v.known)
        if limit < 0 or total <= limit:
            continue
        usable = min((u for _, _, u in entries if u is not None), default=None)
        threshold = min((b.threshold for b in budgets), default=0.8)
        recommended = role_limit(total, usable, threshold)
        who = ", ".join(f"{name} {value.value}" for name, value, _ in entries if value.known)
        findings.append(make_finding(
            "CB107", role.where,
            f"role {user} has CONNECTION LIMIT {limit} ({role.connection_limit.origin}) but needs "
            f"{total} ({who})",
            role_limit_fix(total, usable, recommended, role.where.file,
                           role.connection_limit)))
    return findings
