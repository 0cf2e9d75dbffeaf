"""Findings, input errors and the report every command produces; reporters only format these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connbudget.budgets import BudgetView, RunCoverage
from connbudget.catalogue import RULES, severity_rank
from connbudget.comments import Comment
from connbudget.errors import InputError


@dataclass(frozen=True)
class Related:
    """Another place that decides a finding: a client's scale bound, its pool setting, the
    pooler's pool size. Reporters show it beside the finding (SARIF relatedLocations, an
    annotation on that file) so a pull request that changes that line sees the finding."""

    file: str
    line: int
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class Edit:
    """One change that applies a finding's fix, in the syntax of the file that holds the
    setting: line `line` of `file` (1-based), which reads `old`, becomes `new` (which may be
    several lines). `line` 0 with `old` "" appends `new` at the end of the file."""

    file: str
    line: int
    old: str
    new: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    message: str
    file: str
    line: int
    resource: str = ""
    fix: str = ""
    column: int | None = None
    end_line: int | None = None  # last line of the resource block, for suppressions
    related: tuple[Related, ...] = ()
    edits: tuple[Edit, ...] = ()
    # the budget it belongs to: (root, database address); None for a finding of no database
    budget: tuple[str, str] | None = None

    @property
    def severity(self) -> str:
        return RULES[self.rule_id].severity

    def as_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "resource": self.resource,
            "fix": self.fix,
            "related": [r.as_json() for r in self.related],
            "edits": [e.as_json() for e in self.edits],
        }


@dataclass(frozen=True)
class Checked:
    """What a run read: the paths it was given and how many files of each kind
    (`(".sql", 3)`, `("Terraform", 5)`), in the order a summary names them."""

    paths: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]

    def as_json(self) -> dict[str, Any]:
        return {"paths": list(self.paths), "files": dict(self.counts)}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    budgets: list[BudgetView] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    # the comments the front ends lexed in the files they read, for the suppressions
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    checked: Checked | None = None  # None: not known (a report not built by a run)
    # the CONNECTION LIMIT fix of a role of no finite limit whose clients the run knows, by
    # (file, resource): (fix text, edits); `scan` gives it to that role's CB001
    role_fixes: dict[tuple[str, str], tuple[str, tuple[Edit, ...]]] = field(
        default_factory=dict)
    # what the capacity analysis read and did not read; None when it did not run
    coverage: RunCoverage | None = None

    def extend(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.budgets.extend(other.budgets)
        self.errors.extend(other.errors)
        self.comments.update(other.comments)
        self.role_fixes.update(other.role_fixes)
        if other.coverage is not None:
            self.coverage = other.coverage

    def sorted(self) -> Report:
        return Report(
            findings=sorted(self.findings, key=lambda f: (f.file, f.line, f.rule_id, f.resource)),
            budgets=self.budgets,
            errors=sorted(self.errors, key=lambda e: (e.file, e.line)),
            comments=self.comments,
            checked=self.checked,
            coverage=self.coverage,
        )

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": 1,
            "findings": [f.as_json() for f in self.findings],
            "budgets": [b.as_json() for b in self.budgets],
            "errors": [e.as_json() for e in self.errors],
        }
        if self.checked is not None:
            data["checked"] = self.checked.as_json()
        if self.coverage is not None:
            data["coverage"] = self.coverage.as_json()
        return data

    def exit_code(self, fail_on: str) -> int:
        if self.errors:
            return 2
        threshold = severity_rank(fail_on)
        if any(severity_rank(f.severity) >= threshold for f in self.findings):
            return 1
        return 0
