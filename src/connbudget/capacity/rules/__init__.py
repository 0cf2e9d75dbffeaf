"""CB101-CB109 over the budgets: every finding carries its numbers and a computed fix
(`connbudget.capacity.fixes`). One module per concern: the database budget, poolers, role
limits, and what could not be determined.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget
from connbudget.capacity.model import Model
from connbudget.capacity.rules.alarms import alarm_findings
from connbudget.capacity.rules.budget import budget_findings
from connbudget.capacity.rules.pooler import pooler_findings
from connbudget.capacity.rules.roles import role_findings
from connbudget.capacity.rules.unknowns import unknown_findings
from connbudget.report import Finding


def evaluate(model: Model, budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    for budget in budgets:
        from_poolers = pooler_findings(budget, model.roles)
        over = any(f.rule_id == "CB104" and "> usable" in f.message for f in from_poolers)
        findings.extend(from_poolers)
        findings.extend(budget_findings(budget, skip_cb101=over))
    findings.extend(role_findings(model, budgets))
    findings.extend(unknown_findings(model, budgets))
    findings.extend(alarm_findings(model.alarms, budgets))
    return findings
