"""CB110: what a run recognised but could not read, and a run that found nothing to check.

A budget that says nothing about a layer it never read would read as "ok": each such layer
gets one info finding naming what to do (render the chart, describe the database in the
config), never an input error that fails CI on a repository that merely holds a chart. No
front end reads these files, so the head of each is read here for the ignore comments that
can suppress its note.
"""

from __future__ import annotations

import os
import re

from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.confine import read_head
from connbudget.discover import Inputs
from connbudget.frontends.kubernetes.comments import comments as yaml_comments
from connbudget.report import Finding, Report

RULE = "CB110"
_CHART_NAME = re.compile(r"^name:[ \t]*[\"']?([\w.-]+)", re.MULTILINE)
_HEAD_BYTES = 65536


def _head(path: str) -> str:
    return read_head(path, _HEAD_BYTES).decode("utf-8", "replace")


def _comments(path: str, text: str) -> list[Comment]:
    """The comments of a file's head: its note's ignore stands on the first line."""
    if not may_suppress(text):
        return []
    if path.lower().endswith((".yaml", ".yml")):
        return yaml_comments(path, text)
    return whole_line_comments(path, text, ("#",))


def _chart_name(chart: str) -> tuple[str, str, str]:
    """The chart's Chart.yaml, the chart's name and the head of that file."""
    for name in ("Chart.yaml", "Chart.yml"):
        path = os.path.join(chart, name)
        if os.path.isfile(path):
            text = _head(path)
            found = _CHART_NAME.search(text)
            return path, found.group(1) if found else os.path.basename(os.path.abspath(chart)), text
    return os.path.join(chart, "Chart.yaml"), os.path.basename(os.path.abspath(chart)), ""


def unread(inputs: Inputs) -> tuple[list[Finding], dict[str, list[Comment]]]:
    """A note per chart and file recognised but not read, and the comments of their heads."""
    findings = []
    comments = {}
    for chart in inputs.helm_charts:
        path, name, text = _chart_name(chart)
        comments[path] = _comments(path, text)
        findings.append(Finding(
            RULE, f"Helm chart {name} is not rendered: connbudget reads no template, so the "
            "workloads it deploys are in no budget", path, 1, f"helm chart {name}",
            fix=f"render it and scan the result: helm template {chart} > rendered.yaml && "
                "connbudget capacity rendered.yaml"))
    for path, what in inputs.unread:
        comments[path] = _comments(path, _head(path))
        findings.append(Finding(
            RULE, f"{what} is not read: the databases and services it defines are in no "
            "budget", path, 1, os.path.basename(path),
            fix="describe its database in [tool.connbudget.databases] and map its clients in "
                "[tool.connbudget.clients], or scan the Terraform, Kubernetes or PgBouncer "
                "files it is built from"))
    return findings, comments


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
