"""CB101, CB102 and CB108: a database's worst case against its usable slots.
"""

from __future__ import annotations

import math

from connbudget.capacity.budget import Budget, percent
from connbudget.capacity.fixes import budget_fixes, deploy_fixes
from connbudget.capacity.rules.common import anchor, make_finding, path_text
from connbudget.report import Finding


def budget_findings(budget: Budget, skip_cb101: bool) -> list[Finding]:
    usable = budget.usable
    if usable is None or budget.steady is None or usable <= 0:
        return []
    where = anchor(budget)
    address, label = budget.database.where.address, budget.database.where.label
    target = math.floor(budget.threshold * usable)
    steady, deploy = budget.steady, budget.deploy
    head = (f"worst case {steady} connections to {label} "
            f"({'; '.join(path_text(p) for p in budget.paths)})")
    slots = (f"usable {usable} (max_connections {budget.max_connections.value} - "
             f"{budget.reserved.value} reserved)")
    if steady > usable:
        if skip_cb101:
            return []
        return [make_finding("CB101", where, f"{head} > {slots}: {percent(steady, usable)} %",
                         "\n".join(budget_fixes(budget, steady, target)), address)]
    findings: list[Finding] = []
    if steady > target:
        findings.append(make_finding("CB102", where,
                                 f"{head} is {percent(steady, usable)} % of {slots}, above the "
                                 f"{budget.threshold:.0%} alert threshold",
                                 "\n".join(budget_fixes(budget, steady, target)), address))
    # The steady state fits (perhaps above the alert threshold); a deploy may still overflow.
    if deploy is not None and deploy > usable:
        findings.append(make_finding("CB108", where,
                                 f"during a rolling deploy {deploy} connections to {label} > "
                                 f"{slots} ({percent(deploy, usable)} %), though the steady "
                                 f"state {steady} fits",
                                 "\n".join(deploy_fixes(budget, deploy, usable)), address))
    return findings
