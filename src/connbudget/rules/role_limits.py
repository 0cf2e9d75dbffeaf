"""CB107: a role's CONNECTION LIMIT against everything that logs in as it; and the limit a role
of no finite limit (CB001) should get, once its clients are known.
"""

from __future__ import annotations

from dataclasses import dataclass

from connbudget.capacity.budget import Budget, client_connections
from connbudget.capacity.fixes import Fix, Pending, role_limit, role_limit_fix
from connbudget.model import Key, Model, Value
from connbudget.report import Edit, Finding
from connbudget.rules.common import Run, make_finding, role_named


@dataclass(frozen=True)
class Need:
    """What one client or pooler opens as a role, and the database it opens it on."""

    who: str
    value: Value
    usable: int | None
    database: Key | None


Needs = dict[tuple[str, str], list[Need]]  # per (database root, role name)


def _needs(model: Model, budgets: list[Budget]) -> Needs:
    """What logs in as each role, per (database root, role name): a role lives on the server."""
    usable_of = {b.database.where.key: b.usable for b in budgets}
    needs: Needs = {}
    for pooler in model.poolers:
        root = pooler.target[0] if pooler.target else pooler.where.root
        for user, need in pooler.role_needs.items():
            needs.setdefault((root, user), []).append(Need(
                pooler.where.label, need, usable_of.get(pooler.target or ("", "")),
                pooler.target))
    for client in model.clients:
        if client.user and client.target in usable_of:
            assert client.target is not None
            steady, _ = client_connections(client)
            needs.setdefault((client.target[0], client.user), []).append(Need(
                client.where.label, steady, usable_of.get(client.target), client.target))
    return needs


def _database(entries: list[Need]) -> Key | None:
    """The one database whose clients log in as the role; None when several do."""
    keys = {entry.database for entry in entries}
    return keys.pop() if len(keys) == 1 else None


def _usable(entries: list[Need]) -> int | None:
    return min((e.usable for e in entries if e.usable is not None), default=None)


def role_findings(model: Model, budgets: list[Budget], reported: set[tuple[str, str]],
                  run: Run) -> list[Finding]:
    """`reported`: (root, role) pairs whose limit one pooler's pools exceed alone, which CB104
    reports at the pooler (with both fixes); CB107 does not say it again."""
    findings: list[Finding] = []
    if not run.on("CB107"):
        return findings
    for (root, user), entries in sorted(_needs(model, budgets).items()):
        role = role_named(model.roles, root, user)
        if (root, user) in reported or role is None or not role.connection_limit.known:
            continue
        limit = role.connection_limit.value
        assert limit is not None
        total = sum(e.value.value or 0 for e in entries if e.value.known)
        if limit < 0 or total <= limit:
            continue
        usable = _usable(entries)
        recommended = role_limit(total, usable, run.threshold)
        who = ", ".join(f"{e.who} {e.value.value}" for e in entries if e.value.known)
        findings.append(make_finding(
            "CB107", role.where,
            f"role {user} has CONNECTION LIMIT {limit} ({role.connection_limit.origin}) but needs "
            f"{total} ({who})",
            role_limit_fix(total, usable, recommended, role.where.file, role.connection_limit),
            budget=_database(entries)))
    return findings


def unlimited_role_fixes(model: Model, budgets: list[Budget], threshold: float,
                         ) -> dict[tuple[str, str], Fix]:
    """A CONNECTION LIMIT for each role of no finite limit (CB001) whose clients are known:
    what logs in as it at the alert threshold of the limit."""
    fixes: dict[tuple[str, str], Fix] = {}
    for (root, user), entries in sorted(_needs(model, budgets).items()):
        role = role_named(model.roles, root, user)
        if role is None or role.connection_limit.value != -1 or \
                not all(e.value.known for e in entries):
            continue
        total = sum(e.value.value or 0 for e in entries)
        sized = role_limit(total, _usable(entries), threshold)
        who = ", ".join(f"{e.who} {e.value.value}" for e in entries)
        origin = role.connection_limit.origin
        edits: tuple[Edit, ...] = (
            (Pending(origin.file, origin.line, "-1", str(sized.value)),) if origin.line
            else (Pending(role.where.file, role.where.line, "",
                          f"connection_limit = {sized.value}"),))
        fixes[(role.where.file, role.where.address)] = Fix(
            f"set connection_limit = {sized.value} in {role.where.address}: {sized.why}; what "
            f"logs in as {user} needs {total} ({who})", edits)
    return fixes
