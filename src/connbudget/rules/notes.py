"""CB110: a run that found nothing to check and recognised nothing (what it recognised and did
not read is a coverage item, CB111)."""

from __future__ import annotations

from connbudget.report import Finding, Report

RULE = "CB110"


def nothing_to_check(paths: list[str], report: Report, checked: bool) -> list[Finding]:
    """One note when the run read nothing it can judge (and reported nothing else)."""
    if checked or report.findings or report.budgets or report.errors:
        return []
    where = ", ".join(paths) or "."
    return [Finding(
        RULE, f"nothing connbudget can check was found under {where}: no role migrations, "
        "databases, poolers or clients", paths[0] if paths else ".", 0, "",
        fix="point it at the directories holding the SQL migrations, Terraform, PgBouncer "
            "ini or Kubernetes manifests")]
