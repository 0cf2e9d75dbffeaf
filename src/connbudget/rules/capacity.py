"""CB101-CB109, CB111, CB112 and CB113 over the budgets and their coverage: every finding
carries its numbers, a computed fix (`connbudget.capacity.fixes`) with its edits, the budget it
belongs to, and the other lines that decide it. One module per concern: the database budget,
poolers, role limits, what could not be determined, alarms, what the PgBouncer release in use
does. A rule the config disables does not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connbudget.capacity.budget import Budget
from connbudget.capacity.coverage import Coverage
from connbudget.capacity.edits import Sources, resolve, resolve_fix
from connbudget.catalogue import severity_rank
from connbudget.model import Key, Model
from connbudget.report import Edit, Finding
from connbudget.rules.alarms import alarm_findings
from connbudget.rules.budget import budget_findings
from connbudget.rules.common import Run
from connbudget.rules.coverage import coverage_findings
from connbudget.rules.pooler import pooler_findings
from connbudget.rules.related import attach
from connbudget.rules.releases import release_findings
from connbudget.rules.role_limits import role_findings, unlimited_role_fixes
from connbudget.rules.unknowns import unknown_findings
from connbudget.settings import Settings


@dataclass
class RuleResults:
    findings: list[Finding] = field(default_factory=list)
    # per database: the findings that judge its slots (over usable, threshold, deploy)
    judging: dict[Key, list[Finding]] = field(default_factory=dict)
    # the CONNECTION LIMIT fix of a role of no finite limit whose clients the run knows, by
    # (file, resource): (fix text, edits); `scan` gives it to that role's CB001
    role_fixes: dict[tuple[str, str], tuple[str, tuple[Edit, ...]]] = field(
        default_factory=dict)

    def verdict(self, database: Key) -> Finding | None:
        """The most severe finding that judges the database's slots, first of equals."""
        found = self.judging.get(database, [])
        return max(found, key=lambda f: severity_rank(f.severity), default=None)


def evaluate(model: Model, budgets: list[Budget], covered: dict[Key, Coverage],
             settings: Settings, sources: Sources) -> RuleResults:
    run = Run(frozenset(settings.disabled_rules), settings.threshold)
    out = RuleResults()
    found: list[Finding] = []
    reported_roles: set[tuple[str, str]] = set()
    for budget in budgets:
        poolers = pooler_findings(budget, model.roles, run)
        # a pooler over the usable slots is the cause: CB101 would say it again
        slots = budget_findings(budget, poolers.over_usable, run)
        found.extend(poolers.findings)
        found.extend(slots)
        out.judging[budget.database.where.key] = [*poolers.judging, *slots]
        reported_roles |= poolers.over_roles
    # after the slots' findings: a verdict that is over or near the slots says so first, and
    # the coverage line beside it says the budget is incomplete
    incomplete, judging = coverage_findings(model, budgets, covered, run)
    found.extend(incomplete)
    for key, findings in judging.items():
        out.judging.setdefault(key, []).extend(findings)
    found.extend(role_findings(model, budgets, reported_roles, run))
    if run.on("CB103"):
        found.extend(unknown_findings(model, budgets))
    found.extend(alarm_findings(model.alarms, budgets, run))
    found.extend(release_findings(model, budgets, run))
    out.findings = attach(resolve(found, sources), budgets, model)
    if run.on("CB001"):
        out.role_fixes = {key: resolve_fix(fix, sources) for key, fix in
                          unlimited_role_fixes(model, budgets, run.threshold).items()}
    return out
