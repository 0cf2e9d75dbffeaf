"""CB110: what a run recognised but could not read, and a run that found nothing to check.

A budget that says nothing about a layer it never read would read as "ok": each such layer
gets one info finding naming what to do (render the chart, describe the database in the
config), never an input error that fails CI on a repository that merely holds a chart.
"""

from __future__ import annotations

import os

from connbudget.frontends.unread import Unread
from connbudget.kinds import InputKind
from connbudget.report import Finding, Report

RULE = "CB110"


def unread_findings(found: list[tuple[InputKind, Unread]]) -> list[Finding]:
    """A note per chart and file recognised but not read."""
    findings = []
    for kind, item in found:
        if kind.name == "helm-chart":
            findings.append(Finding(
                RULE, f"Helm chart {item.name} is not rendered: connbudget reads no template, so "
                "the workloads it deploys are in no budget", item.path, 1,
                f"helm chart {item.name}",
                fix=f"render it and scan the result: helm template {item.source} > "
                    "rendered.yaml && connbudget capacity rendered.yaml"))
            continue
        fix = ("describe its database in [tool.connbudget.databases] and map its clients in "
               "[tool.connbudget.clients], or scan the Terraform, Kubernetes or PgBouncer "
               "files it is built from")
        if kind.render:
            stem = os.path.splitext(item.source)[0]
            command = kind.render.format(path=item.source, stem=stem)
            fix = (f"build it and scan the result: {command} && connbudget capacity "
                   f"{stem}.json")
        findings.append(Finding(
            RULE, f"{kind.unread} is not read: the databases and services it defines are in no "
            "budget", item.path, 1, item.name, fix=fix))
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
