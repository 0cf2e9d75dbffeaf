"""Inline suppressions: `-- connbudget:ignore CB001 reason` and `# connbudget:ignore CB101 reason`."""

from __future__ import annotations

from connbudget.report import Report
from connbudget.settings import Settings


def apply_suppressions(report: Report, settings: Settings) -> Report:
    report.findings = [f for f in report.findings if f.rule_id not in settings.disabled_rules]
    return report
