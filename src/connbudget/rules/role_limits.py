"""CB107: a role's CONNECTION LIMIT against everything that logs in as it.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget, client_connections
from connbudget.capacity.fixes import Fix, Pending, role_limit, role_limit_fix
from connbudget.model import Model, Value
from connbudget.report import Edit, Finding
from connbudget.rules.common import make_finding, role_named
from connbudget.settings import Settings

Needs = dict[tuple[str, str], list[tuple[str, Value, int | None]]]


def _needs(model: Model, budgets: list[Budget]) -> Needs:
    """What logs in as each role, summed per (database root, role name): a role lives on the
    database server."""
    usable_of = {b.database.where.key: b.usable for b in budgets}
    needs: Needs = {}
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
    return needs


def _threshold(budgets: list[Budget]) -> float:
    return min((b.threshold for b in budgets), default=Settings.threshold)


def role_findings(model: Model, budgets: list[Budget],
                  reported: set[tuple[str, str]]) -> list[Finding]:
    """`reported`: (root, role) pairs whose limit one pooler's pools exceed alone, which CB104
    reports at the pooler (with both fixes); CB107 does not say it again."""
    findings: list[Finding] = []
    for (root, user), entries in sorted(_needs(model, budgets).items()):
        role = role_named(model.roles, root, user)
        if (root, user) in reported or role is None or not role.connection_limit.known:
            continue
        limit = role.connection_limit.value
        assert limit is not None
        total = sum(v.value or 0 for _, v, _ in entries if v.known)
        if limit < 0 or total <= limit:
            continue
        usable = min((u for _, _, u in entries if u is not None), default=None)
        recommended = role_limit(total, usable, _threshold(budgets))
        who = ", ".join(f"{name} {value.value}" for name, value, _ in entries if value.known)
        findings.append(make_finding(
            "CB107", role.where,
            f"role {user} has CONNECTION LIMIT {limit} ({role.connection_limit.origin}) but needs "
            f"{total} ({who})",
            role_limit_fix(total, usable, recommended, role.where.file,
                           role.connection_limit)))
    return findings


def unlimited_role_fixes(model: Model, budgets: list[Budget]) -> dict[tuple[str, str], Fix]:
    """A CONNECTION LIMIT for each role of no finite limit (CB001) whose clients are known:
    what logs in as it at the alert threshold of the limit."""
    fixes: dict[tuple[str, str], Fix] = {}
    for (root, user), entries in sorted(_needs(model, budgets).items()):
        role = role_named(model.roles, root, user)
        if role is None or role.connection_limit.value != -1 or \
                not all(value.known for _, value, _ in entries):
            continue
        total = sum(value.value or 0 for _, value, _ in entries)
        usable = min((u for _, _, u in entries if u is not None), default=None)
        sized = role_limit(total, usable, _threshold(budgets))
        who = ", ".join(f"{name} {value.value}" for name, value, _ in entries)
        origin = role.connection_limit.origin
        edits: tuple[Edit, ...] = (
            (Pending(origin.file, origin.line, "-1", str(sized.value)),) if origin.line
            else (Pending(role.where.file, role.where.line, "",
                          f"connection_limit = {sized.value}"),))
        fixes[(role.where.file, role.where.address)] = Fix(
            f"set connection_limit = {sized.value} in {role.where.address}: {sized.why}; what "
            f"logs in as {user} needs {total} ({who})", edits)
    return fixes
