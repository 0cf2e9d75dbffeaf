"""Coverage: which databases each thing recognised but not read may touch, and whether each
budget is complete (SPEC "Coverage"). A budget is complete when it counts at least one client
or pooler and nothing unread may connect to its database; otherwise its verdict is
"incomplete", never "ok"."""

from __future__ import annotations

from dataclasses import dataclass, field

from connbudget.budgets import BudgetCoverage, RunCoverage, UnreadView
from connbudget.capacity.budget import Budget
from connbudget.model import Database, Key, Model, Unread

INCOMPLETE = "CB111"  # the rule whose finding makes a verdict "incomplete"


@dataclass
class Coverage:
    clients: int
    poolers: int
    unread: list[Unread] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.clients or self.poolers) and not self.unread


def touched(item: Unread, databases: list[Database]) -> list[Key]:
    """The databases an unread thing may connect to: those it names when that is known, else
    every database of its scope (its Terraform root and the run's databases of no root)."""
    keys = [database.where.key for database in databases]
    if item.databases is not None:
        return [key for key in keys if key in item.databases]
    return [key for key in keys if not item.root or key[0] in (item.root, "")]


def coverage_of(model: Model, budgets: list[Budget]) -> dict[Key, Coverage]:
    found: dict[Key, Coverage] = {}
    for budget in budgets:
        clients = sum(1 if path.client is not None else len(path.behind)
                      for path in budget.paths)
        poolers = sum(1 for path in budget.paths if path.pooler is not None)
        found[budget.database.where.key] = Coverage(clients, poolers)
    for item in model.unread:
        for key in touched(item, model.databases):
            found[key].unread.append(item)
    return found



def unread_views(model: Model) -> dict[int, UnreadView]:
    """What reporters show of each thing not read, by the identity of its model item."""
    labels = {database.where.key: database.where.label for database in model.databases}
    return {id(item): UnreadView(item.what, item.kind, item.why, item.file, item.line, item.fix,
                                 tuple(labels[key] for key in touched(item, model.databases)))
            for item in model.unread}


def budget_coverage(covered: Coverage, views: dict[int, UnreadView]) -> BudgetCoverage:
    return BudgetCoverage(covered.clients, covered.poolers,
                          tuple(views[id(item)] for item in covered.unread))


def run_coverage(model: Model, covered: dict[Key, Coverage],
                 views: dict[int, UnreadView]) -> RunCoverage:
    complete = sum(1 for item in covered.values() if item.complete)
    return RunCoverage(complete, len(covered) - complete,
                       tuple(views[id(item)] for item in model.unread))
