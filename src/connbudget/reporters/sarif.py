"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connbudget import __version__, jsontext
from connbudget.budgets import UnreadView
from connbudget.catalogue import RULES
from connbudget.errors import InputError
from connbudget.report import Finding, Report
from connbudget.reporters._common import (
    config_line,
    fingerprints,
    line_of,
    relative_path,
    unannounced,
)
from connbudget.resources import rule_page
from connbudget.settings import Settings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/connbudget/connbudget"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _help(rule_id: str, title: str, uri: str) -> dict[str, str]:
    """The rule page itself, so a SARIF viewer shows the problem, the fix and how to suppress."""
    page = rule_page(rule_id)
    link = f"[{rule_id} documentation]({uri})"
    if not page:
        return {"text": f"{title}. See {uri}", "markdown": f"{title}. {link}"}
    return {"text": f"{page.rstrip()}\n\n{uri}\n", "markdown": f"{page.rstrip()}\n\n{link}\n"}


def _rules() -> list[dict[str, Any]]:
    return [{
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.title},
        "helpUri": rule.help_uri,
        "help": _help(rule.id, rule.title, rule.help_uri),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["postgresql", "connections"], "severity": rule.severity},
    } for rule in RULES.values()]


def _location(file: str, line: int | None, column: int | None = None,
              end_line: int | None = None) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": line_of(line)}
    if column is not None and column >= 1:
        region["startColumn"] = column
    if end_line is not None and end_line >= region["startLine"]:
        region["endLine"] = end_line
    return {"physicalLocation": {"artifactLocation": _artifact(file), "region": region}}


def _artifact(file: str) -> dict[str, str]:
    """A path under the working directory relative to %SRCROOT%; any other an absolute URI."""
    path = relative_path(file)
    if path.startswith("/"):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _related(finding: Finding) -> list[dict[str, Any]]:
    return [{"id": n, **_location(r.file, r.line), "message": {"text": r.message}}
            for n, r in enumerate(finding.related, start=1)]


def _result(finding: Finding, index: dict[str, int], fingerprint: str) -> dict[str, Any]:
    text = finding.message + (f"\nFix: {finding.fix}" if finding.fix else "")
    location = _location(finding.file, finding.line, finding.column, finding.end_line)
    if finding.resource:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.resource}]
    result = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"connbudget/v1": fingerprint},
    }
    if finding.related:
        result["relatedLocations"] = _related(finding)
    return result


def _notification(error: InputError) -> dict[str, Any]:
    return {"level": "error", "message": {"text": error.message},
            "locations": [_location(error.file, error.line, error.column)]}


def _unread(item: UnreadView) -> dict[str, Any]:
    """A thing not read that no result stands on, as a note on its line."""
    return {"level": "note", "message": {"text": f"{item.what} is not read: {item.why}\n"
                                                 f"Fix: {item.fix}"},
            "locations": [_location(item.file, item.line)]}


def _properties(report: Report) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if report.checked is not None:
        found["checked"] = report.checked.as_json()
    if report.coverage is not None:
        found["coverage"] = report.coverage.as_json()
    return found


def render_sarif(report: Report, settings: Settings) -> str:
    index = {rule_id: n for n, rule_id in enumerate(RULES)}
    results = [_result(f, index, fp)
               for f, fp in zip(report.findings, fingerprints(report.findings), strict=True)]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "connbudget", "version": __version__,
                            "informationUri": INFORMATION_URI, "rules": _rules()}},
        "invocations": [{
            "executionSuccessful": not report.errors,
            "toolExecutionNotifications": [
                *(_notification(e) for e in report.errors),
                *(_unread(item) for item in unannounced(report, settings))],
            **_configuration(settings),
        }],
        "results": results,
    }
    properties: dict[str, Any] = _properties(report)
    if settings.config_file is not None:
        properties["config"] = {"file": relative_path(settings.config_file),
                                "sets": settings.config_table}
    if properties:
        run["properties"] = properties
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return jsontext.dumps(log) + "\n"


def _configuration(settings: Settings) -> dict[str, Any]:
    """The config file and what it sets, as a note on the run (SARIF
    toolConfigurationNotifications) at the file's first line."""
    line = config_line(settings)
    if line is None or settings.config_file is None:
        return {}
    return {"toolConfigurationNotifications": [{
        "level": "note", "message": {"text": line},
        "locations": [_location(settings.config_file, 1)]}]}
