"""GitLab Code Quality JSON (the CodeClimate subset GitLab reads)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from connbudget.catalogue import RULES
from connbudget.report import Report
from connbudget.reporters._common import (
    config_line,
    fingerprints,
    line_of,
    relative_path,
    unannounced,
)
from connbudget.settings import Settings

# GitLab's scale is info, minor, major, critical, blocker; linters conventionally map their
# errors to major and warnings to minor. An input error means part of the scan did not happen.
SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}


def _issue(description: str, check_name: str, fingerprint: str, severity: str, file: str,
           line: int) -> dict[str, Any]:
    return {
        "type": "issue",
        "description": description,
        "check_name": check_name,
        "fingerprint": fingerprint,
        "severity": severity,
        "location": {"path": relative_path(file), "lines": {"begin": line_of(line)}},
    }


def render_gitlab(report: Report, settings: Settings) -> str:
    issues = []
    for finding, fingerprint in zip(report.findings, fingerprints(report.findings), strict=True):
        rule = RULES[finding.rule_id]
        description = f"{rule.id}: {finding.message}"
        if finding.fix:
            description += f" Fix: {finding.fix}"
        issues.append(_issue(description, rule.id, fingerprint, SEVERITIES[rule.severity],
                             finding.file, finding.line))
    seen: Counter[str] = Counter()
    for error in report.errors:
        key = f"input-error\0{relative_path(error.file)}\0{error.message}"
        seen[key] += 1
        if seen[key] > 1:  # the same error again in a file: an occurrence number, in file order
            key += f"\0{seen[key]}"
        issues.append(_issue(f"connbudget could not read this input: {error.message}",
                             "input-error", hashlib.sha256(key.encode()).hexdigest(),
                             "critical", error.file, error.line))
    config = config_line(settings)
    if config is not None and settings.config_file is not None:
        # what the run's config changes, shown in the merge request: a pull request's own
        # config can turn a check off
        key = f"config\0{relative_path(settings.config_file)}\0{config}"
        issues.append(_issue(f"connbudget {config}", "connbudget-config",
                             hashlib.sha256(key.encode()).hexdigest(), "info",
                             settings.config_file, 1))
    for item in unannounced(report, settings):
        key = f"coverage\0{relative_path(item.file)}\0{item.line}\0{item.what}"
        issues.append(_issue(f"connbudget did not read {item.what}: {item.why}. Fix: {item.fix}",
                             "coverage", hashlib.sha256(key.encode()).hexdigest(), "info",
                             item.file, item.line))
    return json.dumps(issues, indent=2) + "\n"
