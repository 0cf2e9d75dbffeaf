"""`connbudget diff` as text and as Markdown (a pull-request comment); JSON is the comparison's
own `as_json`. Every line and cell is escaped as `scan`'s reports are: the comment is posted
where log masking does not apply."""

from __future__ import annotations

from connbudget.budgets import BudgetView
from connbudget.catalogue import RULES
from connbudget.diff import Change, Comparison
from connbudget.quoting import ENTITY, guard
from connbudget.report import Finding
from connbudget.reporters._common import line_of, relative_path, workflow_safe
from connbudget.reporters.markdown import cell, code


def _change(before: object, after: object, arrow: str) -> str:
    return f"{before} {arrow} {after}" if before != after else f"{after}"


def _verdict(budget: BudgetView | None) -> str | None:
    return budget.verdict.rule_id if budget else None


def _verdict_change(entry: Change) -> str:
    was, now = _verdict(entry.before), _verdict(entry.after)
    if now and now != was:
        return f"now {now}" + (f" (was {was})" if was else "")
    if was and not now:
        return f"no longer {was}"
    return now or "fits"


def _numbers(entry: Change, arrow: str) -> list[str]:
    """max_connections, usable and worst case, each `before -> after` where it changed."""
    before, after = entry.before, entry.after
    if before is None or after is None:
        budget = after or before
        assert budget is not None
        return [f"max_connections {budget.max_connections.value}"
                + (f" ({budget.instance_class})" if budget.instance_class else ""),
                f"usable {budget.usable}", f"worst case {budget.worst_case}"]
    classes = (before.instance_class, after.instance_class)
    shown = f" ({_change(*classes, arrow)})" if any(classes) else ""
    slots = _change(before.max_connections.value, after.max_connections.value, arrow)
    return [f"max_connections {slots}{shown}",
            f"usable {_change(before.usable, after.usable, arrow)}",
            f"worst case {_change(before.worst_case, after.worst_case, arrow)}"]


def _database_line(entry: Change) -> str:
    numbers = ", ".join(_numbers(entry, "->"))
    if entry.after is None:
        return f"{entry.database} removed (was {numbers})"
    new = "new: " if entry.before is None else ""
    return f"{entry.database} {new}{numbers}: {_verdict_change(entry)}"


def _finding_line(finding: Finding) -> str:
    return (f"  {relative_path(finding.file)}:{line_of(finding.line)}  {finding.severity:<7}  "
            f"{finding.rule_id}  {finding.message}")


def render_text(comparison: Comparison, config: str | None = None) -> str:
    """The comparison; `config` says what the run's config file sets."""
    lines = [f"connbudget diff against {comparison.base}"]
    changed = [d for d in comparison.databases if d.changed]
    lines += [_database_line(d) for d in changed]
    unchanged = len(comparison.databases) - len(changed)
    if unchanged:
        lines.append(f"{unchanged} database{'s' if unchanged != 1 else ''} unchanged")
    for title, findings in (("new findings", comparison.new), ("fixed", comparison.fixed)):
        lines.append(f"{title}: {len(findings)}")
        lines += [_finding_line(f) for f in findings]
    lines += [str(error) for error in comparison.after.errors]
    lines += [config] if config else []
    return "\n".join(workflow_safe(line) for line in lines) + "\n"


def _markdown_findings(title: str, findings: list[Finding]) -> list[str]:
    if not findings:
        return [f"**{title}:** none", ""]
    lines = [f"**{title}: {len(findings)}**", "", "| severity | rule | where | message |",
             "|---|---|---|---|"]
    for finding in findings:
        rule = RULES[finding.rule_id]
        where = code(f"{relative_path(finding.file)}:{line_of(finding.line)}")
        lines.append(f"| {rule.severity} | [{rule.id}]({rule.help_uri}) | {where} | "
                     f"{cell(finding.message)} |")
    return [*lines, ""]


def render_markdown(comparison: Comparison, config: str | None = None) -> str:
    """The comparison as a pull-request comment; `config` says what the run's config sets."""
    lines = [f"## connbudget: connection budgets against {code(comparison.base)}", ""]
    lines += [cell(config), ""] if config else []
    if comparison.databases:
        lines += ["| database | max_connections | usable | worst case | verdict |",
                  "|---|---|---|---|---|"]
        for entry in comparison.databases:
            numbers = [text.removeprefix(name) for text, name in zip(
                _numbers(entry, "→"), ("max_connections ", "usable ", "worst case "), strict=True)]
            state = ("new" if entry.before is None else "removed" if entry.after is None
                     else _verdict_change(entry) if entry.changed else "unchanged")
            lines.append("| " + " | ".join([code(entry.database),
                                             *(cell(n) for n in numbers), cell(state)]) + " |")
        lines.append("")
    lines += _markdown_findings("New findings", comparison.new)
    lines += _markdown_findings("Fixed", comparison.fixed)
    if comparison.after.errors:
        lines += ["Input errors:", ""]
        lines += [f"- {cell(str(error))}" for error in comparison.after.errors]
        lines.append("")
    return guard("\n".join(lines), ENTITY)
