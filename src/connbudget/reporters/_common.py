"""Small pieces several reporters share: paths as a CI system wants them, stable fingerprints."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from connbudget.report import Finding, Report

_NUMBER = re.compile(r"\d+")


def relative_path(path: str) -> str:
    """A POSIX path relative to the working directory when the file lies under it."""
    if os.path.isabs(path):
        try:
            path = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            return Path(path).as_posix()
        if path.startswith(".."):
            return Path(os.path.abspath(path)).as_posix()
    return Path(os.path.normpath(path)).as_posix()


def line_of(line: int | None) -> int:
    """Every CI format counts lines from 1; a finding about a whole file says line 0."""
    return max(line or 1, 1)


def fingerprints(findings: Iterable[Finding]) -> list[str]:
    """One fingerprint per finding, stable across runs.

    Built from the rule, the file, the resource and the message with its numbers blanked out,
    so moving a block or changing a pool size keeps the fingerprint (the same problem, still
    open), while a different resource or rule gets a new one. Findings that would collide get
    an occurrence number in file order.
    """
    seen: Counter[str] = Counter()
    result = []
    for finding in findings:
        key = "\0".join((finding.rule_id, relative_path(finding.file), finding.resource,
                         _NUMBER.sub("#", finding.message)))
        seen[key] += 1
        result.append(hashlib.sha256(f"{key}\0{seen[key]}".encode()).hexdigest())
    return result


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 or word == 'info' else 's'}"


def summary(report: Report) -> str:
    """`2 errors, 1 warning, 0 info; 1 input error`"""
    counts = Counter(f.severity for f in report.findings)
    found = ", ".join(plural(counts.get(sev, 0), sev) for sev in ("error", "warning", "info"))
    return f"{found}; {plural(len(report.errors), 'input error')}"
