"""Human output: findings grouped by file (identical ones once, with their other places), each
rule linked to its page, the fix shown; then the connection math of each database with a
finding, input errors, a one-line summary and what was checked. Every line fits the terminal.

Colour and terminal hyperlinks: on when stdout is a terminal, off when NO_COLOR is set (to
anything but ""), on when FORCE_COLOR is set (to anything but "" or "0") even into a pipe."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from connbudget.budgets import BudgetView
from connbudget.capacity.coverage import INCOMPLETE
from connbudget.catalogue import RULES
from connbudget.errors import InputError
from connbudget.report import Checked, Finding, Report
from connbudget.reporters._common import (
    config_line,
    coverage_summary,
    fix_lines,
    guard,
    plural,
    printable,
    relative_path,
    workflow_safe,
    wrap,
)
from connbudget.reporters.math import flat, render_budget
from connbudget.settings import Settings

_MESSAGE = 26  # the column a finding's message starts at
_BUDGET_RULES = ("CB101", "CB102", "CB103", "CB104", "CB105", "CB106", "CB107", "CB108")
_SEVERITY_COLOUR = {"error": "1;31", "warning": "33", "info": "36"}
_PATH_CHAR = r"[\w./-]"
_ROOT = re.compile(r" \(([^()\s]*/[^()\s]*)\)")  # " (infra/prod)": the root beside an address


def terminal_width() -> int:
    """COLUMNS, else the terminal's width, else 100; never below 40."""
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


@dataclass(frozen=True)
class _Style:
    width: int
    colour: bool

    def severity(self, text: str, severity: str) -> str:
        return f"\x1b[{_SEVERITY_COLOUR[severity]}m{text}\x1b[0m" if self.colour else text

    def link(self, text: str, path: str) -> str:
        """`text` as an OSC 8 hyperlink to the file (terminals open file:// URLs)."""
        if not self.colour:
            return text
        url = Path(os.path.abspath(path)).as_uri()
        return f"\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\"


# per budget drawn below the findings: the rule and fix of its verdict, shown there
_Drawn = dict[tuple[str, str], tuple[str, str]]


@dataclass
class _Group:
    """Findings that differ only in where they are: shown once, with the other places."""

    first: Finding
    others: list[Finding] = field(default_factory=list)


def _local(text: str, file: str) -> str:
    """`text` with the finding's own file said as `line N` and other paths made relative to
    the working directory: the file is named once, in the heading above the finding."""
    for spelling in {file, relative_path(file), os.path.abspath(file)}:
        text = re.sub(rf"(?<!{_PATH_CHAR}){re.escape(spelling)}:(?=\d)", "line ", text)
    cwd = re.escape(os.getcwd().rstrip(os.sep) + os.sep)
    return re.sub(rf"(?<!{_PATH_CHAR}){cwd}", "", text)


def _this_file(message: str, file: str) -> str:
    """A message that names its own file (a pgbouncer.ini is its own address) says `this
    file`: the heading above names it."""
    for spelling in {file, relative_path(file), os.path.abspath(file)}:
        message = re.sub(rf"(?<!{_PATH_CHAR}){re.escape(spelling)}(?!{_PATH_CHAR})", "this file",
                         message)
    return message


def _groups(findings: Iterable[Finding]) -> list[_Group]:
    """Same rule, resource, fix and message once the places in it are taken out: the file
    and line, and the Terraform root in parentheses (one module used by several roots)."""
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for finding in findings:
        message = _ROOT.sub("", _local(finding.message, finding.file))
        key = (finding.rule_id, finding.resource, message, _local(finding.fix, finding.file))
        if key in groups:
            groups[key].others.append(finding)
        else:
            groups[key] = _Group(finding)
    return list(groups.values())


def _place(finding: Finding, first: Finding) -> str:
    """`path:line`, and the roots its message names when they are not the first one's."""
    roots = _ROOT.findall(finding.message)
    where = f"{relative_path(finding.file)}:{_where(finding)}"
    if roots == _ROOT.findall(first.message):
        return where
    return f"{where} in {' and '.join(relative_path(root) for root in roots)}"


def _where(finding: Finding) -> str:
    return str(finding.line) if finding.column is None else f"{finding.line}:{finding.column}"


def _group_lines(group: _Group, style: _Style, drawn: _Drawn) -> list[str]:
    finding = group.first
    rule = RULES[finding.rule_id]
    said = finding.resource in ("", finding.file, relative_path(finding.file))
    subject = "" if said else f" [{printable(finding.resource)}]"
    message = printable(flat(_this_file(_local(finding.message, finding.file), finding.file)))
    where = _where(finding)
    prefix = f"  {where:>6}  {rule.severity:<7}  "
    lines = wrap(f"{prefix}{rule.id}  {message}{subject}", style.width,
                 min(_MESSAGE, style.width // 3))
    if style.colour and lines[0].startswith(prefix):
        lines[0] = (f"  {'':>{6 - len(where)}}{style.link(where, finding.file)}  "
                    f"{style.severity(f'{rule.severity:<7}', rule.severity)}  "
                    + lines[0][len(prefix):])
    if group.others:
        places = ", ".join(_place(f, finding) for f in group.others)
        lines.extend(wrap(f"{'':>10}also at: {printable(places)}", style.width, 19))
    fix = finding.fix
    if finding.budget is not None and drawn.get(finding.budget) == (finding.rule_id, fix):
        # the connection math below draws this fix beside its numbers: said once, there
        fix = f"in the connection math of {finding.budget[1]} below"
    for number, (fix_line, code) in enumerate(fix_lines(_local(fix, finding.file))):
        if fix_line or number == 0:
            label = "fix: " if number == 0 else "     "
            text = f"{'':>10}{label}{printable(fix_line)}"
            lines.extend([text] if code else wrap(text, style.width, 19))
    lines.extend(_edit_lines(finding))
    lines.extend(wrap(f"{'':>10}docs: {rule.help_uri}", style.width, 10))
    return lines


def _edit_lines(finding: Finding) -> list[str]:
    """The fix's edits as a short diff of the file that holds the setting: the line as it is
    (-), what it becomes (+); an added line shows the line it follows as context. An edit
    that appends a block is the fix text itself, shown above."""
    lines: list[str] = []
    for edit in finding.edits:
        if not edit.line:
            continue
        where = f"line {edit.line}" if edit.file == finding.file \
            else f"{relative_path(edit.file)}:{edit.line}"
        lines.append(f"{'':>10}change {printable(where)}:")
        if edit.new.startswith(edit.old + "\n"):
            added = edit.new[len(edit.old) + 1:].split("\n")
            lines.append(f"{'':>12}  {printable(edit.old)}")
        else:
            added = edit.new.split("\n")
            lines.append(f"{'':>12}- {printable(edit.old)}")
        lines.extend(f"{'':>12}+ {printable(line)}" for line in added)
    return lines


def _finding_lines(groups: list[_Group], style: _Style, drawn: _Drawn) -> list[str]:
    lines: list[str] = []
    current = None
    for group in groups:
        path = relative_path(group.first.file)
        if path != current:
            if current is not None:
                lines.append("")
            current = path
            lines.append(style.link(printable(path), group.first.file))
        lines.extend(_group_lines(group, style, drawn))
    if lines:
        lines.append("")
    return lines


def _things(budget: BudgetView) -> set[tuple[str, str]]:
    """The database and the clients and poolers of its budget, by address and file: several
    roots may hold the same address."""
    things = {(budget.database, budget.file)}
    for client in budget.clients:
        things.add((client.client, client.file))
    return things


def _behind(budget: BudgetView) -> set[str]:
    """The clients behind its poolers, and a database known only from the config (no file),
    by address alone."""
    names = {inner.client for client in budget.clients for inner in client.behind}
    return names | ({budget.database} if not budget.file else set())


def _has_finding(budget: BudgetView, findings: list[Finding]) -> bool:
    things, names = _things(budget), _behind(budget)
    unread = {(item.file, item.line) for item in budget.coverage.unread} \
        if budget.coverage is not None else set()
    return any((f.rule_id in _BUDGET_RULES
                and ((f.resource, f.file) in things or f.resource in names))
               or (f.rule_id == INCOMPLETE and (f.budget == budget.key
                                                or (f.file, f.line) in unread))
               for f in findings)


def _budget_lines(budgets: list[BudgetView], style: _Style) -> list[str]:
    blocks = []
    for budget in budgets:
        severity = budget.verdict.severity
        lines = [workflow_safe(line)
                 for line in render_budget(budget, style.width).rstrip("\n").split("\n")]
        if severity:  # the verdict's tag, `CB101 error`, coloured like the findings
            lines = [line[:-len(severity)] + style.severity(severity, severity)
                     if line.endswith(f"{budget.verdict.rule_id} {severity}") else line
                     for line in lines]
        blocks.append("\n".join(lines) + "\n")
    return blocks


def _checked_line(checked: Checked) -> str:
    total = sum(count for _, count in checked.counts)
    if total == 0:
        return f"no files to check in {', '.join(relative_path(p) for p in checked.paths)}"
    kinds = ", ".join(f"{count} {kind}" for kind, count in checked.counts if count)
    return f"checked {plural(total, 'file')}: {kinds}"


def _summary(report: Report, shown: list[Finding], settings: Settings) -> str:
    counts = Counter(f.severity for f in shown)
    hidden = len(report.findings) - len(shown)
    found = [plural(counts.get(sev, 0), sev) for sev in ("error", "warning")]
    found.append(f"{hidden} info hidden (--show info)" if hidden
                 else plural(counts["info"], "info"))
    return (f"connbudget: {', '.join(found)}; {plural(len(report.errors), 'input error')} "
            f"(fail on {settings.fail_on})")


def _location(error: InputError) -> str:
    """`error: file:line:` (or `file:line:column:`), as the error's text starts."""
    return "error: " + printable(str(error).removesuffix(f" {error.message}"))


def _first_word_end(line: str, start: int) -> int:
    """Where the word after `start` ends: the location and the first word of the message."""
    end = line.find(" ", start + 1)
    return len(line) if end < 0 else end


def render_text(report: Report, settings: Settings) -> str:
    style = _Style(terminal_width(), settings.colour)
    show_info = settings.show_info or settings.fail_on == "info"
    shown = [f for f in report.findings if show_info or f.severity != "info"]
    budgets = [b for b in report.budgets if settings.verbose or _has_finding(b, shown)]
    # the verdict whose fix each drawn budget shows, by the budget's key
    drawn = {b.key: (b.verdict.rule_id or "", "\n".join(b.verdict.fix))
             for b in budgets if b.verdict.rule_id and b.verdict.fix}
    lines = _finding_lines(_groups(shown), style, drawn)
    lines.extend(_budget_lines(budgets, style))
    for error in (replace(error, file=relative_path(error.file)) for error in report.errors):
        line = f"error: {printable(str(error))}"
        lines.extend(wrap(line, style.width, 7, _first_word_end(line, len(_location(error)))))
    lines.extend(wrap(_summary(report, shown, settings), style.width, 12))
    config = config_line(settings)
    if config is not None:
        lines.extend(wrap(printable(config), style.width))
    if report.checked is not None:
        lines.extend(wrap(_checked_line(report.checked), style.width))
    if report.coverage is not None:
        lines.extend(wrap(coverage_summary(report.coverage), style.width))
    # a wrapped line may start with what followed a space: never a workflow command
    return "\n".join(guard(line) for line in lines) + "\n"
