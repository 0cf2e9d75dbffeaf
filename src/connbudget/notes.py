"""CB110: what a run recognised but could not read, and a run that found nothing to check.

A budget that says nothing about a layer it never read would read as "ok": each such layer
gets one info finding naming what to do (render the chart, describe the database in the
config), never an input error that fails CI on a repository that merely holds a chart.
"""

from __future__ import annotations

import os
import re

from connbudget.discover import Inputs
from connbudget.report import Finding, Report

RULE = "CB110"
_CHART_NAME = re.compile(r"^name:[ \t]*[\"']?([\w.-]+)", re.MULTILINE)


def _chart_name(chart: str) -> tuple[str, str]:
    for name in ("Chart.yaml", "Chart.yml"):
        path = os.path.join(chart, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                found = _CHART_NAME.search(handle.read(65536))
        except OSError:
            continue
        return path, found.group(1) if found else os.path.basename(os.path.abspath(chart))
    return os.path.join(chart, "Chart.yaml"), os.path.basename(os.path.abspath(chart))


def unread(inputs: Inputs) -> list[Finding]:
    findings = []
    for chart in inputs.helm_charts:
        path, name = _chart_name(chart)
        findings.append(Finding(
            RULE, f"Helm chart {name} is not rendered: connbudget reads no template, so the "
            "workloads it deploys are in no budget", path, 1, f"helm chart {name}",
            fix=f"render it and scan the result: helm template {chart} > rendered.yaml && "
                "connbudget capacity rendered.yaml"))
    for path, what in inputs.unread:
        findings.append(Finding(
            RULE, f"{what} is not read: the databases and services it defines are in no "
            "budget", path, 1, os.path.basename(path),
            fix="describe its database in [tool.connbudget.databases] and map its clients in "
                "[tool.connbudget.clients], or scan the Terraform, Kubernetes or PgBouncer "
                "files it is built from"))
    return findings


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
