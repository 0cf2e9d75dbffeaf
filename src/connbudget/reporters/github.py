"""GitHub Actions workflow commands: one annotation per finding and per input error, and one on
each other line that decides a finding (a client's max_capacity, its pool size), so a pull
request that changes only that line sees the finding there."""

from __future__ import annotations

from connbudget.catalogue import RULES
from connbudget.report import Finding, Related, Report
from connbudget.reporters._common import (
    config_line,
    coverage_summary,
    line_of,
    relative_path,
    summary,
    unannounced,
    workflow_safe,
)
from connbudget.settings import Settings

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(value: str) -> str:
    # Line breaks are the annotation's own (%0A); every other control character is shown,
    # and neither `::` nor `##[` is left in the line.
    value = "\n".join(workflow_safe(line) for line in value.replace("\r", "").split("\n"))
    return value.replace("%", "%25").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value is not None)
    return f"::{kind} {props}::{escape_data(message)}"


def _outside(finding: Finding) -> list[Related]:
    """The related lines the finding's own annotation (its line to endLine) does not cover."""
    last = max(finding.end_line or finding.line, finding.line)
    return [r for r in finding.related
            if r.file != finding.file or not finding.line <= r.line <= last]


def _related_commands(finding: Finding) -> list[str]:
    rule = RULES[finding.rule_id]
    return [_command(COMMANDS[rule.severity],
                     f"{related.message}\n{finding.message}\ndocs: {rule.help_uri}",
                     file=relative_path(related.file), line=line_of(related.line),
                     title=f"{rule.id} {rule.title}")
            for related in _outside(finding)]


def render_github(report: Report, settings: Settings) -> str:
    lines = []
    for finding in report.findings:
        rule = RULES[finding.rule_id]
        message = finding.message + (f"\nfix: {finding.fix}" if finding.fix else "")
        message += f"\ndocs: {rule.help_uri}"
        end_line = finding.end_line if (finding.end_line or 0) > finding.line else None
        lines.append(_command(COMMANDS[rule.severity], message, file=relative_path(finding.file),
                              line=line_of(finding.line), endLine=end_line, col=finding.column,
                              title=f"{rule.id} {rule.title}"))
    for error in report.errors:
        lines.append(_command("error", error.message, file=relative_path(error.file),
                              line=line_of(error.line), col=error.column,
                              title="connbudget input error"))
    # GitHub shows a step's first annotations only (10 errors, 10 warnings): every finding and
    # error comes before the lines that also decide one
    for finding in report.findings:
        lines.extend(_related_commands(finding))
    lines.extend(_command("notice", f"{item.what} is not read: {item.why}\nfix: {item.fix}",
                          file=relative_path(item.file), line=line_of(item.line),
                          title="connbudget coverage: not read")
                 for item in unannounced(report, settings))
    config = config_line(settings)
    if config is not None and settings.config_file is not None:
        # on the config file, where a pull request that changes it shows it
        lines.append(_command("notice", config, file=relative_path(settings.config_file),
                              line=1, title="connbudget config"))
    coverage = f"; {coverage_summary(report.coverage)}" if report.coverage is not None else ""
    lines.append(workflow_safe(f"connbudget: {summary(report)}{coverage}"))
    return "\n".join(lines) + "\n"
