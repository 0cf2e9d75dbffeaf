"""Inline suppressions, a step over the findings after every engine has run.

`-- connbudget:ignore CB001 reason` (SQL) on the statement's line or the line before it;
`# connbudget:ignore CB101 reason` (HCL, YAML, ini; `//` in HCL, `;` in ini) inside the
resource block (in an ini file, the [section]) or on the line before it. Only comments count:
each format's front end lexes them, so a string, heredoc or quoted YAML value that reads like
an ignore is not one. Several rule ids may be separated by commas or spaces; a reason is
required. Checkov's `#checkov:skip=CKV_CB_001:reason` counts too, so one comment serves both
tools. An ignore naming an unknown rule, giving no reason or matching no finding is itself
reported as CB006; one that also names CB006 is kept even when unused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from connbudget.catalogue import RULES, rules_run_by
from connbudget.comments import Comment
from connbudget.report import Finding, Report
from connbudget.settings import Settings

_IGNORE = re.compile(r"(?:--|#|//|;|/\*)[ \t]*connbudget:ignore(?![\w-])(.*)")
_IDS = re.compile(r"\s*((?:CB\d+)(?:[\s,]+CB\d+)*)(.*)", re.IGNORECASE)
_CHECKOV = re.compile(r"#\s*checkov:skip=CKV_CB_(\d+)")


@dataclass
class Ignore:
    file: str
    line: int
    column: int
    rule_ids: list[str]
    reason: str
    reported: bool = True  # checkov:skip comments suppress but are never reported
    used: set[str] = field(default_factory=set)
    section: tuple[int, int] | None = None  # in an ini file: the lines of its [section]

    def covers(self, finding: Finding) -> bool:
        if finding.rule_id not in self.rule_ids:
            return False
        if self.section and self.section[0] <= finding.line <= self.section[1]:
            return True
        return finding.line - 1 <= self.line <= max(finding.end_line or finding.line, finding.line)


def _ignore(comment: Comment) -> Ignore | None:
    match = _IGNORE.match(comment.text)
    if match is None:
        return None
    ids = _IDS.match(match.group(1))
    rule_ids = re.split(r"[\s,]+", ids.group(1).upper()) if ids else []
    reason = (ids.group(2) if ids else match.group(1)).strip(" \t\r:-,*/")
    return Ignore(comment.file, comment.line, comment.column, rule_ids, reason,
                  section=comment.scope)


def ignores_in(comments: list[Comment]) -> list[Ignore]:
    """The ignores among the comments a front end lexed: text inside a string literal is
    never one, as the front end never lexed it as a comment."""
    ignores = []
    for comment in comments:
        ignore = _ignore(comment)
        if ignore is not None:
            ignores.append(ignore)
        for skip in _CHECKOV.finditer(comment.text):
            ignores.append(Ignore(comment.file, comment.line, comment.column + skip.start(),
                                  [f"CB{skip.group(1)}"], "checkov:skip", reported=False))
    return ignores


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _problems(ignore: Ignore, ran: set[str]) -> list[tuple[str, str]]:
    """(message, fix) for each thing wrong with one ignore comment."""
    if not ignore.reported:
        return []
    if not ignore.rule_ids:
        return [("connbudget:ignore names no rule",
                 "name the rule: connbudget:ignore CB001 <reason>")]
    problems = []
    for rule_id in ignore.rule_ids:
        if rule_id not in RULES:
            problems.append((f"connbudget:ignore names unknown rule {rule_id}",
                             "use a rule id that `connbudget rules` lists"))
        elif rule_id in ran and rule_id not in ignore.used and "CB006" not in ignore.rule_ids:
            problems.append((f"connbudget:ignore {rule_id} matches no finding",
                             "remove the comment, or move it onto or above the statement "
                             "or inside the resource block"))
    if not ignore.reason:
        problems.append((f"connbudget:ignore {' '.join(ignore.rule_ids)} gives no reason",
                         f"say why after the rule id: connbudget:ignore "
                         f"{ignore.rule_ids[0]} <reason>"))
    return problems


def apply_suppressions(report: Report, settings: Settings, command: str = "scan") -> Report:
    """Drop disabled and ignored findings; add CB006 for ignores that are wrong or unused.

    The ignores are in the comments the front ends lexed when they read their files: a file
    no front end read holds no finding, so nothing in it is suppressed or reported.
    """
    findings = [f for f in report.findings if f.rule_id not in settings.disabled_rules]
    ignores = {_key(path): ignores_in(comments) for path, comments in report.comments.items()}
    kept = []
    for finding in findings:
        matching = [i for i in ignores.get(_key(finding.file), []) if i.covers(finding)]
        for ignore in matching:
            ignore.used.add(finding.rule_id)
        if not matching:
            kept.append(finding)
    ran = rules_run_by(command) - settings.disabled_rules
    if "CB006" not in settings.disabled_rules:
        for file_ignores in ignores.values():
            for ignore in file_ignores:
                kept += [Finding("CB006", message, ignore.file, ignore.line, fix=fix,
                                 column=ignore.column)
                         for message, fix in _problems(ignore, ran)]
    report.findings = kept
    return report
