"""CB111: a database's budget is incomplete. One finding on each thing recognised and not read
(a resource type not modelled yet, a remote module, an unrendered chart, an input of a kind not
read, a client or pooler whose database cannot be told), naming the databases it may touch and
the worst case of what was read; and one on a database of which no client was read at all."""

from __future__ import annotations

from connbudget.capacity.budget import Budget
from connbudget.capacity.coverage import INCOMPLETE, Coverage, touched
from connbudget.model import Key, Location, Model, Unread
from connbudget.report import Finding
from connbudget.rules.common import Run, anchor, make_finding

RULE = INCOMPLETE
_LISTED = 3  # databases named with their numbers; more are counted


def _numbers(budget: Budget) -> str:
    """What was read of a budget: its worst case against its usable slots."""
    worst = "unbounded" if budget.unlimited else (
        "unknown" if budget.steady is None else str(budget.steady))
    usable = "unknown" if budget.usable is None else str(budget.usable)
    return f"worst case of what was read {worst}, usable {usable}"


def _item_message(item: Unread, keys: list[Key], budgets: dict[Key, Budget]) -> str:
    # a client or pooler was read, but its database cannot be told
    head = f"{item.what} is {'in no budget' if item.kind in ('client', 'pooler') else 'not read'}" \
        f": {item.why}"
    if not keys:
        return (f"{head}; no database in its scope was read, so no budget counts what it "
                "defines or connects to")
    parts = [f"{budgets[key].database.where.label} ({_numbers(budgets[key])})" for key in keys]
    if len(parts) == 1:
        return f"{head}; it may connect to {parts[0]}, whose budget is incomplete"
    if len(parts) <= _LISTED:
        return f"{head}; it may connect to {', '.join(parts)}: their budgets are incomplete"
    return (f"{head}; it may connect to any of the {len(parts)} databases in its scope: their "
            "budgets are incomplete")


def _no_client(budget: Budget) -> Finding:
    database = budget.database.where
    usable = "unknown" if budget.usable is None else str(budget.usable)
    return make_finding(
        RULE, anchor(budget),
        f"no client of {database.label} was read: its budget is incomplete (usable {usable}); "
        "its clients run from files this run did not scan, or from kinds of file connbudget "
        "does not read",
        "scan it together with the files that run its clients (connbudget scan <this "
        "directory> <theirs>), or map them in [tool.connbudget.clients]; for a database "
        "nothing connects to yet, say so above it: # connbudget:ignore CB111 <why>",
        database.address, database.key)


def coverage_findings(model: Model, budgets: list[Budget], covered: dict[Key, Coverage],
                      run: Run) -> tuple[list[Finding], dict[Key, list[Finding]]]:
    """CB111 findings, and per database the ones that make its verdict incomplete."""
    if not run.on(RULE):
        return [], {}
    by_key = {budget.database.where.key: budget for budget in budgets}
    findings: list[Finding] = []
    judging: dict[Key, list[Finding]] = {}
    for item in model.unread:
        keys = touched(item, model.databases)
        finding = make_finding(RULE, Location(item.what, item.file, item.line),
                               _item_message(item, keys, by_key), item.fix,
                               budget=keys[0] if keys else None)
        findings.append(finding)
        for key in keys:
            judging.setdefault(key, []).append(finding)
    for key, found in covered.items():
        if not (found.clients or found.poolers or found.unread):
            finding = _no_client(by_key[key])
            findings.append(finding)
            judging.setdefault(key, []).append(finding)
    return findings, judging
