"""What every capacity rule shares: which rules run, where a finding points and how it is
built (with the key of the budget it belongs to)."""

from __future__ import annotations

from dataclasses import dataclass

from connbudget.capacity.budget import Budget, Path, units
from connbudget.capacity.fixes import Fix
from connbudget.model import Key, Location, Role
from connbudget.report import Finding


@dataclass(frozen=True)
class Run:
    """The rules this run checks (the catalogue's, less those the config disables) and its
    alert threshold."""

    disabled: frozenset[str]
    threshold: float

    def on(self, rule_id: str) -> bool:
        return rule_id not in self.disabled


def anchor(budget: Budget) -> Location:
    if budget.database.where.file or not budget.paths:
        return budget.database.where
    first = budget.paths[0]
    thing = first.client or first.pooler
    assert thing is not None
    return thing.where


def make_finding(rule_id: str, where: Location, message: str, fix: str | Fix,
                 resource: str = "", budget: Key | None = None) -> Finding:
    found = fix if isinstance(fix, Fix) else Fix(fix)
    return Finding(rule_id, message, where.file, where.line, resource or where.address,
                   found.text, end_line=where.end_line, edits=found.edits, budget=budget)


def path_text(path: Path) -> str:
    client = path.client
    if client is not None:
        return (f"{path.name} {client.scale.value} {units(client, client.scale.value)} x "
                f"{client.processes.value} process{'es' if client.processes.value != 1 else ''}"
                f" x {client.pool.value} pool = {path.steady.value}")
    return f"{path.name} ({path.kind}) {path.steady.value}"


def role_named(roles: list[Role], root: str, name: str) -> Role | None:
    """Role `name` of the database's root; for a database in no root, only an unambiguous one."""
    same = [role for role in roles if role.name == name and role.where.root == root]
    anywhere = [role for role in roles if role.name == name]
    if same:
        return same[0]
    return anywhere[0] if not root and len(anywhere) == 1 else None
