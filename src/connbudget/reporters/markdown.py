"""A Markdown summary for $GITHUB_STEP_SUMMARY or a merge-request comment."""

from __future__ import annotations

from typing import Any

from connbudget.capacity.budget import percent
from connbudget.catalogue import RULES
from connbudget.report import Report
from connbudget.reporters._common import line_of, relative_path, summary
from connbudget.settings import Settings

BAR_CELLS = 12


def bar(utilization: float, shown: int | None = None) -> str:
    """`██████████░░ 83 %`: full at 100 % and beyond, the percentage (`shown`, else rounded from
    the fraction) says how far beyond."""
    filled = min(BAR_CELLS, max(0, round(utilization * BAR_CELLS)))
    if shown is None:
        shown = round(utilization * 100)
    return "█" * filled + "░" * (BAR_CELLS - filled) + f" {shown} %"


def _cell(value: object) -> str:
    text = "?" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _budget_row(budget: dict[str, Any]) -> str:
    worst, usable = budget["worst_case"], budget["usable"]
    known = worst is not None and usable is not None and usable > 0
    shown = bar(worst / usable, percent(worst, usable)) if known else "unknown"
    cells = (f"`{budget.get('database')}`", budget.get("max_connections"),
             budget.get("usable"), budget.get("worst_case"), shown)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_markdown(report: Report, settings: Settings) -> str:
    lines = ["## connbudget", "", f"**{summary(report)}**", ""]
    if report.budgets:
        lines += ["| database | max_connections | usable | worst case | budget |",
                  "|---|---:|---:|---:|---|"]
        lines += [_budget_row(b) for b in report.budgets]
        lines.append("")
    if report.findings:
        lines += ["| severity | rule | where | message | fix |", "|---|---|---|---|---|"]
        for finding in report.findings:
            rule = RULES[finding.rule_id]
            where = f"`{relative_path(finding.file)}:{line_of(finding.line)}`"
            lines.append("| " + " | ".join((
                rule.severity, f"[{rule.id}]({rule.help_uri})", where,
                _cell(finding.message), _cell(finding.fix or "")
            )) + " |")
        lines.append("")
    if report.errors:
        lines += ["Input errors:", ""]
        lines += [f"- {_cell(str(error))}" for error in report.errors]
        lines.append("")
    return "\n".join(lines)
