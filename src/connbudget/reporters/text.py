"""Human output: findings grouped by file, each rule linked to its page, the fix shown,
then the connection math of every database, input errors and a one-line summary."""

from __future__ import annotations

from typing import Any

from connbudget.catalogue import RULES
from connbudget.report import Finding, Report
from connbudget.reporters._common import printable, relative_path, summary, workflow_safe
from connbudget.reporters.math import render_budget
from connbudget.settings import Settings


def _finding_lines(finding: Finding) -> list[str]:
    rule = RULES[finding.rule_id]
    where = str(finding.line) if finding.column is None else f"{finding.line}:{finding.column}"
    subject = f" [{printable(finding.resource)}]" if finding.resource else ""
    lines = [f"  {where:>6}  {rule.severity:<7}  {rule.id}  {printable(finding.message)}{subject}"]
    for number, fix_line in enumerate(finding.fix.split("\n")):
        lines.append(f"{'':>10}{'fix: ' if number == 0 else '     '}{workflow_safe(fix_line)}")
    lines.append(f"{'':>10}docs: {rule.help_uri}")
    return lines


def _budget_lines(budgets: list[dict[str, Any]]) -> list[str]:
    blocks = (render_budget(budget).rstrip("\n").split("\n") for budget in budgets)
    return ["\n".join(workflow_safe(line) for line in block) + "\n" for block in blocks]


def render_text(report: Report, settings: Settings) -> str:
    lines: list[str] = []
    current = None
    for finding in report.findings:
        path = relative_path(finding.file)
        if path != current:
            if current is not None:
                lines.append("")
            current = path
            lines.append(printable(path))
        lines.extend(_finding_lines(finding))
    if report.findings:
        lines.append("")
    lines.extend(_budget_lines(report.budgets))
    for error in report.errors:
        lines.append(f"error: {printable(str(error))}")
    lines.append(f"connbudget: {summary(report)} (fail on {settings.fail_on})")
    return "\n".join(lines) + "\n"
