"""Human output: findings grouped by file, each rule linked to its page, the fix shown."""

from __future__ import annotations

from connbudget.catalogue import RULES
from connbudget.report import Report
from connbudget.settings import Settings


def render_text(report: Report, settings: Settings) -> str:
    lines: list[str] = []
    current = None
    for finding in report.findings:
        if finding.file != current:
            current = finding.file
            lines.append(finding.file)
        rule = RULES[finding.rule_id]
        lines.append(f"  {finding.line}: {finding.rule_id} {rule.severity}: {finding.message}")
        if finding.fix:
            lines.append(f"      fix: {finding.fix}")
        lines.append(f"      see: {rule.help_uri}")
    for error in report.errors:
        lines.append(f"error: {error}")
    counts = {sev: sum(1 for f in report.findings if f.severity == sev)
              for sev in ("error", "warning", "info")}
    summary = ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items())
    lines.append(f"connbudget: {summary}; {len(report.errors)} input error"
                 f"{'s' if len(report.errors) != 1 else ''}")
    return "\n".join(lines) + "\n"
