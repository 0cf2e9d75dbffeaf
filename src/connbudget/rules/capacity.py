"""CB101-CB109 over the budgets: every finding carries its numbers and a computed fix
(`connbudget.capacity.fixes`). One module per concern: the database budget, poolers, role
limits, and what could not be determined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connbudget.capacity.budget import Budget
from connbudget.catalogue import severity_rank
from connbudget.model import Key, Model
from connbudget.report import Finding
from connbudget.rules.alarms import alarm_findings
from connbudget.rules.budget import budget_findings
from connbudget.rules.pooler import pooler_findings
from connbudget.rules.role_limits import role_findings
from connbudget.rules.unknowns import unknown_findings


@dataclass
class RuleResults:
    findings: list[Finding] = field(default_factory=list)
    # per database: the findings that judge its slots (over usable, threshold, deploy)
    judging: dict[Key, list[Finding]] = field(default_factory=dict)

    def verdict(self, database: Key, disabled: set[str]) -> Finding | None:
        """The most severe finding that judges the database's slots, first of equals."""
        found = [f for f in self.judging.get(database, []) if f.rule_id not in disabled]
        return max(found, key=lambda f: severity_rank(f.severity), default=None)


def evaluate(model: Model, budgets: list[Budget]) -> RuleResults:
    out = RuleResults()
    reported_roles: set[tuple[str, str]] = set()
    for budget in budgets:
        poolers = pooler_findings(budget, model.roles)
        # a pooler over the usable slots is the cause: CB101 would say it again
        slots = budget_findings(budget, skip_cb101=poolers.over_usable)
        out.findings.extend(poolers.findings)
        out.findings.extend(slots)
        out.judging[budget.database.where.key] = [*poolers.judging, *slots]
        reported_roles |= poolers.over_roles
    out.findings.extend(role_findings(model, budgets, reported_roles))
    out.findings.extend(unknown_findings(model, budgets))
    out.findings.extend(alarm_findings(model.alarms, budgets))
    return out
