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
from collections.abc import Callable
from dataclasses import dataclass, field

from connbudget.catalogue import RULES, rules_run_by
from connbudget.comments import Comment, whole_line_comments
from connbudget.confine import read_regular
from connbudget.discover import Inputs
from connbudget.frontends.kubernetes.comments import comments as yaml_comments
from connbudget.frontends.pgbouncer.ini import comments as ini_comments
from connbudget.frontends.pgbouncer.ini import sections as ini_sections
from connbudget.frontends.sql.scanner import comments as sql_comments
from connbudget.frontends.terraform.comments import comments as hcl_comments
from connbudget.report import Finding, Report
from connbudget.settings import Settings

MARKER = b"connbudget:ignore"
CHECKOV_MARKER = b"checkov:skip=CKV_CB_"

Lexer = Callable[[str, str], list[Comment]]

_LEXERS: dict[str, Lexer] = {
    ".sql": sql_comments,
    ".tf": hcl_comments, ".tfvars": hcl_comments, ".hcl": hcl_comments,
    ".yaml": yaml_comments, ".yml": yaml_comments,
    ".ini": ini_comments, ".conf": ini_comments, ".cfg": ini_comments,
}
# Any other file (a container's environment file, a Dockerfile): whole-line comments.
_OTHER_OPENERS = ("--", "#", "//", ";")
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


def _extension(path: str) -> str:
    return os.path.splitext(path.lower().removesuffix(".j2"))[1]


def _comments(path: str, text: str) -> list[Comment]:
    lexer = _LEXERS.get(_extension(path))
    if lexer is None:
        return whole_line_comments(path, text, _OTHER_OPENERS)
    return lexer(path, text)


def _section_of(line: int, sections: list[tuple[int, int]]) -> tuple[int, int] | None:
    return next((s for s in sections if s[0] <= line <= s[1]), None)


def _ignore(comment: Comment, sections: list[tuple[int, int]]) -> Ignore | None:
    match = _IGNORE.match(comment.text)
    if match is None:
        return None
    ids = _IDS.match(match.group(1))
    rule_ids = re.split(r"[\s,]+", ids.group(1).upper()) if ids else []
    reason = (ids.group(2) if ids else match.group(1)).strip(" \t\r:-,*/")
    return Ignore(comment.file, comment.line, comment.column, rule_ids, reason,
                  section=_section_of(comment.line, sections))


def parse_ignores(path: str, text: str) -> list[Ignore]:
    """The ignores in the comments of `path`, lexed by the front end that reads its format:
    text inside a string literal is never an ignore."""
    # In an ini file the section is the block: an ignore anywhere in it covers the section.
    sections = ini_sections(text) if _LEXERS.get(_extension(path)) is ini_comments else []
    return _ignores_in(path, _comments(path, text), sections)


def _ignores_in(path: str, comments: list[Comment],
                sections: list[tuple[int, int]]) -> list[Ignore]:
    ignores = []
    for comment in comments:
        ignore = _ignore(comment, sections)
        if ignore is not None:
            ignores.append(ignore)
        for skip in _CHECKOV.finditer(comment.text):
            ignores.append(Ignore(path, comment.line, comment.column + skip.start(),
                                  [f"CB{skip.group(1)}"], "checkov:skip", reported=False))
    return ignores


def _read_ignores(path: str, lexed: list[Comment] | None) -> list[Ignore]:
    """The ignores of `path`: in the comments its front end lexed when it read the file, else
    in the comments of the file read here."""
    if lexed is not None:
        return _ignores_in(path, lexed, [])
    try:
        data = read_regular(path)  # a FIFO among a module's .tf files must not block
    except OSError:
        return []
    if MARKER not in data and CHECKOV_MARKER not in data:
        return []
    return parse_ignores(path, data.decode("utf-8", errors="replace"))


def _scanned_files(inputs: Inputs, command: str) -> list[str]:
    files = list(inputs.sql) if command in ("sql", "scan") else []
    if command in ("capacity", "scan"):
        for directory in inputs.terraform_dirs:
            files += sorted(os.path.join(directory, name) for name in os.listdir(directory)
                            if name.endswith((".tf", ".tfvars")))
        files += inputs.var_files + inputs.pgbouncer + inputs.kubernetes
    return files


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


def apply_suppressions(report: Report, settings: Settings, inputs: Inputs,
                       command: str = "scan") -> Report:
    """Drop disabled and ignored findings; add CB006 for ignores that are wrong or unused."""
    findings = [f for f in report.findings if f.rule_id not in settings.disabled_rules]
    files = {_key(f.file): f.file for f in findings}
    for path in _scanned_files(inputs, command):
        files.setdefault(_key(path), path)
    lexed = {_key(path): comments for path, comments in report.comments.items()}
    ignores = {key: _read_ignores(path, lexed.get(key)) for key, path in files.items()}
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
