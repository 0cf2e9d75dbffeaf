"""Inline suppressions, a step over the findings after every engine has run.

`-- connbudget:ignore CB001 reason` (SQL) on the statement's line or the line before it;
`# connbudget:ignore CB101 reason` (HCL, YAML, ini; `//` in HCL, `;` in ini) inside the
resource block (in an ini file, the [section]) or on the line before it. Several rule ids may
be separated by commas or spaces; a reason is required. Checkov's
`#checkov:skip=CKV_CB_001:reason` counts too, so one comment serves both tools. An ignore
naming an unknown rule, giving no reason or matching no finding is itself reported as CB006;
one that also names CB006 is kept even when unused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from connbudget.catalogue import RULES
from connbudget.confine import read_regular
from connbudget.discover import Inputs
from connbudget.report import Finding, Report
from connbudget.settings import Settings

MARKER = b"connbudget:ignore"
CHECKOV_MARKER = b"checkov:skip=CKV_CB_"

_COMMENTS = {".sql": "--", ".tf": "#|//", ".tfvars": "#|//", ".hcl": "#|//",
             ".yaml": "#", ".yml": "#", ".ini": "#|;", ".conf": "#|;", ".cfg": "#|;"}
_ANY_COMMENT = "--|#|//|;"
_IDS = re.compile(r"\s*((?:CB\d+)(?:[\s,]+CB\d+)*)(.*)", re.IGNORECASE)
_CHECKOV = re.compile(r"#\s*checkov:skip=CKV_CB_(\d+)")
_INI_SECTION = re.compile(r"\s*\[[^\]]+\]\s*$")

# Which rules each command runs: an ignore for a rule that did not run is not "unused".
# CB006 is about the comments themselves: naming it keeps a comment that matches nothing.
_CHECKED = set(RULES) - {"CB006"}
_RAN = {
    "sql": {r for r in _CHECKED if r < "CB100"},
    "capacity": {r for r in _CHECKED if r >= "CB100"},
    "scan": _CHECKED,
}


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


def _is_ini(path: str) -> bool:
    return _extension(path) in (".ini", ".conf", ".cfg")


def _comment_pattern(path: str) -> re.Pattern[str]:
    starts = _COMMENTS.get(_extension(path), _ANY_COMMENT)
    return re.compile(rf"(?:{starts})\s*connbudget:ignore(?![\w-])(.*)")


def _ini_sections(lines: list[str]) -> list[tuple[int, int]]:
    starts = [n for n, line in enumerate(lines, start=1) if _INI_SECTION.match(line)]
    return list(zip(starts, [s - 1 for s in starts[1:]] + [len(lines)], strict=True))


def _section_of(line: int, sections: list[tuple[int, int]]) -> tuple[int, int] | None:
    return next((s for s in sections if s[0] <= line <= s[1]), None)


def parse_ignores(path: str, text: str) -> list[Ignore]:
    pattern = _comment_pattern(path)
    # Lines end at "\n" only, as the front ends count them (splitlines() would also break at
    # form feeds and vertical tabs, shifting every line number after one).
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    # In an ini file the section is the block: an ignore anywhere in it covers the section.
    sections = _ini_sections(lines) if _is_ini(path) else []
    ignores = []
    for number, line in enumerate(lines, start=1):
        match = pattern.search(line)
        if match:
            ids = _IDS.match(match.group(1))
            rule_ids = re.split(r"[\s,]+", ids.group(1).upper()) if ids else []
            reason = (ids.group(2) if ids else match.group(1)).strip(" \t:-,*/")
            ignores.append(Ignore(path, number, match.start() + 1, rule_ids, reason,
                                  section=_section_of(number, sections)))
        for skip in _CHECKOV.finditer(line):
            ignores.append(Ignore(path, number, skip.start() + 1, [f"CB{skip.group(1)}"],
                                  "checkov:skip", reported=False))
    return ignores


def _read_ignores(path: str) -> list[Ignore]:
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
    ignores = {key: _read_ignores(path) for key, path in files.items()}
    kept = []
    for finding in findings:
        matching = [i for i in ignores.get(_key(finding.file), []) if i.covers(finding)]
        for ignore in matching:
            ignore.used.add(finding.rule_id)
        if not matching:
            kept.append(finding)
    ran = _RAN.get(command, _CHECKED) - settings.disabled_rules
    if "CB006" not in settings.disabled_rules:
        for file_ignores in ignores.values():
            for ignore in file_ignores:
                kept += [Finding("CB006", message, ignore.file, ignore.line, fix=fix,
                                 column=ignore.column)
                         for message, fix in _problems(ignore, ran)]
    report.findings = kept
    return report
