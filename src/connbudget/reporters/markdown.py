"""A Markdown summary for $GITHUB_STEP_SUMMARY or a merge-request comment."""

from __future__ import annotations

import re

from connbudget.budgets import BudgetView, RunCoverage
from connbudget.capacity.budget import percent
from connbudget.catalogue import RULES, severity_rank
from connbudget.report import Report
from connbudget.reporters._common import (
    config_line,
    coverage_summary,
    line_of,
    printable,
    relative_path,
    summary,
)
from connbudget.settings import Settings

BAR_CELLS = 12
OVERFLOW = "▶"  # after a full bar: the worst case is beyond the usable slots


def bar(utilization: float, shown: int | None = None) -> str:
    """`██████████░░ 83 %`: full only from 100 %, so 96 % still shows a free cell; beyond 100 %
    the bar stops at full and `▶` marks the overflow, the percentage (`shown`, else rounded
    from the fraction) says how far beyond."""
    filled = max(0, round(utilization * BAR_CELLS))
    filled = BAR_CELLS if utilization >= 1 else min(filled, BAR_CELLS - 1)
    if shown is None:
        shown = round(utilization * 100)
    mark = OVERFLOW if utilization > 1 else ""
    return "█" * filled + "░" * (BAR_CELLS - filled) + mark + f" {shown} %"


# Every character Markdown or HTML could read as markup becomes an entity: a cell can then
# neither end its row (`|` or a line break), nor open a link, an image, code, emphasis or a
# tag, nor turn a URL into a link (`:`), nor mention a user or team (`@`). GitHub splits
# table rows before reading entities.
_MARKUP = re.compile(r"[&<>|`*_\[\]()!#~\\:@]|(?<=www)\.", re.IGNORECASE)


def cell(value: object) -> str:
    text = "?" if value is None else str(value)
    lines = [printable(line) for line in text.replace("\r", "").split("\n")]
    return "<br>".join(_MARKUP.sub(lambda m: f"&#{ord(m.group())};", line) for line in lines)


def code(value: object) -> str:
    """A code span (an address, a path, a ref) when nothing in the text can end it, its cell
    or its line (or mention anyone), else a cell: inside a code span no other markup counts."""
    text = str(value)
    plain = text.isprintable() and not any(c in text for c in "`|\\@") and "::" not in text \
        and "##[" not in text
    return f"`{text}`" if plain and text.strip() == text and text else cell(text)


def _budget_row(budget: BudgetView, with_root: bool) -> str:
    worst, usable = budget.worst_case, budget.usable
    shown = "unknown"
    if worst is not None and usable is not None and usable > 0:
        shown = bar(worst / usable, percent(worst, usable))
    if budget.incomplete:  # the bar counts what was read only
        shown = "incomplete" if not budget.clients else f"{shown} incomplete"
    cells = (budget.max_connections.value, budget.usable, budget.worst_case, shown)
    names = [code(budget.database)]
    if with_root:
        names.append(code(budget.root or "."))
    return "| " + " | ".join([*names, *(cell(c) for c in cells)]) + " |"


def _budget_table(budgets: list[BudgetView]) -> list[str]:
    """One row per database; a root column when two databases share a name."""
    names = [b.database for b in budgets]
    with_root = len(set(names)) < len(names)
    head = ["database", *(["root"] if with_root else []), "max_connections", "usable",
            "worst case", "budget"]
    rule = ["---", *(["---"] if with_root else []), "---:", "---:", "---:", "---"]
    return ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|",
            *(_budget_row(b, with_root) for b in budgets)]


def _unread_list(coverage: RunCoverage) -> list[str]:
    """Everything recognised and not read: what, where, why and what makes it read."""
    if not coverage.unread:
        return []
    lines = ["Not read:", ""]
    lines += [f"- {code(item.what)} at {code(f'{relative_path(item.file)}:{line_of(item.line)}')}"
              f": {cell(item.why)}. Fix: {cell(item.fix)}" for item in coverage.unread]
    return [*lines, ""]


def render_markdown(report: Report, settings: Settings) -> str:
    lines = ["## connbudget", "", f"**{summary(report)}**", ""]
    if report.coverage is not None:
        lines += [coverage_summary(report.coverage), ""]  # connbudget's words only
    config = config_line(settings)
    if config is not None:
        lines += [cell(config), ""]
    if report.budgets:
        lines += [*_budget_table(report.budgets), ""]
    if report.coverage is not None:
        lines += _unread_list(report.coverage)
    if report.findings:
        lines += ["| severity | rule | where | message | fix |", "|---|---|---|---|---|"]
        # the most severe first; within a severity, file order
        for finding in sorted(report.findings, key=lambda f: -severity_rank(f.severity)):
            rule = RULES[finding.rule_id]
            where = code(f"{relative_path(finding.file)}:{line_of(finding.line)}")
            lines.append("| " + " | ".join((
                rule.severity, f"[{rule.id}]({rule.help_uri})", where,
                cell(finding.message), cell(finding.fix or "")
            )) + " |")
        lines.append("")
    if report.errors:
        lines += ["Input errors:", ""]
        lines += [f"- {cell(str(error))}" for error in report.errors]
        lines.append("")
    return "\n".join(lines)
