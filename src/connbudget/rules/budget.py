"""CB101, CB102 and CB108: a database's worst case against its usable slots.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget, percent
from connbudget.capacity.fixes import budget_fixes, deploy_fixes, slots_target
from connbudget.report import Finding
from connbudget.rules.common import Run, anchor, make_finding, path_text


def _known_overflow(budget: Budget, usable: int, skip_cb101: bool, run: Run) -> list[Finding]:
    """Part of the worst case is unknown (CB103 says which), but the known part alone already
    exceeds the usable slots (CB101) or the alert threshold (CB102), whatever the rest is."""
    known = [p for p in budget.paths if p.steady.known and p.steady.value is not None]
    unknown = [p.name for p in budget.paths if p not in known]
    least = sum(p.steady.value or 0 for p in known)
    target = slots_target(budget)
    if not unknown or least <= target.value or (skip_cb101 and least > usable):
        return []
    label = budget.database.where.label
    rule, compared = ("CB101", ">") if least > usable else ("CB102", "is above the alert "
                                                           "threshold of")
    if not run.on(rule):
        return []
    return [make_finding(
        rule, anchor(budget),
        f"worst case at least {least} connections to {label} "
        f"({'; '.join(path_text(p) for p in known)}) {compared} usable {usable} "
        f"(max_connections {budget.max_connections.value} - {budget.reserved.value} reserved): "
        f"{percent(least, usable)} %, before {', '.join(unknown)}, whose share is unknown",
        budget_fixes(budget, least, target), budget.database.where.address,
        budget.database.where.key)]


def budget_findings(budget: Budget, skip_cb101: bool, run: Run) -> list[Finding]:
    usable = budget.usable
    if usable is None or usable <= 0:
        return []
    if budget.steady is None:
        return _known_overflow(budget, usable, skip_cb101, run)
    where = anchor(budget)
    address, label = budget.database.where.address, budget.database.where.label
    key = budget.database.where.key
    target = slots_target(budget)
    steady, deploy = budget.steady, budget.deploy
    head = (f"worst case {steady} connections to {label} "
            f"({'; '.join(path_text(p) for p in budget.paths)})")
    slots = (f"usable {usable} (max_connections {budget.max_connections.value} - "
             f"{budget.reserved.value} reserved)")
    if steady > usable:
        if skip_cb101 or not run.on("CB101"):
            return []
        return [make_finding("CB101", where, f"{head} > {slots}: {percent(steady, usable)} %",
                             budget_fixes(budget, steady, target), address, key)]
    findings: list[Finding] = []
    if steady > target.value and run.on("CB102"):
        findings.append(make_finding("CB102", where,
                                 f"{head} is {percent(steady, usable)} % of {slots}, above the "
                                 f"{budget.threshold * 100:g} % alert threshold",
                                 budget_fixes(budget, steady, target), address, key))
    # The steady state fits (perhaps above the alert threshold); a deploy may still overflow.
    if deploy is not None and deploy > usable and run.on("CB108"):
        findings.append(make_finding("CB108", where,
                                 f"during a rolling deploy {deploy} connections to {label} > "
                                 f"{slots} ({percent(deploy, usable)} %), though the steady "
                                 f"state {steady} fits",
                                 deploy_fixes(budget, deploy, usable), address, key))
    return findings
