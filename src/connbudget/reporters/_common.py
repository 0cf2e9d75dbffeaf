"""Small pieces several reporters share: paths as a CI system wants them, stable fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
import re
import textwrap
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from connbudget.budgets import RunCoverage, UnreadView
from connbudget.capacity.coverage import INCOMPLETE
from connbudget.quoting import escape_char, guard, printable, workflow_safe
from connbudget.report import Finding, Report
from connbudget.settings import Settings

__all__ = ["config_line", "fingerprints", "fix_lines", "guard", "line_of", "plural", "printable",
           "relative_path", "summary", "workflow_safe", "wrap", "xml_text"]

_NUMBER = re.compile(r"\d+")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold (shown as escapes instead)."""
    return _XML_INVALID.sub(escape_char, text)


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


def coverage_summary(coverage: RunCoverage) -> str:
    """`coverage: 2 databases complete, 1 incomplete, 4 things not read`; it says so when
    every database is incomplete or none was read."""
    unread = f"{plural(len(coverage.unread), 'thing')} not read"
    if not coverage.databases:
        return f"coverage: no database read, {unread}"
    if not coverage.complete:
        every = "1 database, incomplete" if coverage.databases == 1 else \
            f"all {coverage.databases} databases incomplete"
        return f"coverage: {every}, {unread}"
    return (f"coverage: {plural(coverage.complete, 'database')} complete, "
            f"{coverage.incomplete} incomplete, {unread}")


def unannounced(report: Report, settings: Settings) -> list[UnreadView]:
    """The things not read when no finding stands on them (the config disables CB111): the
    formats that annotate lines say them as notes, so that coverage is never silent."""
    if report.coverage is None or INCOMPLETE not in settings.disabled_rules:
        return []
    return list(report.coverage.unread)


def summary(report: Report) -> str:
    """`2 errors, 1 warning, 0 info; 1 input error`"""
    counts = Counter(f.severity for f in report.findings)
    found = ", ".join(plural(counts.get(sev, 0), sev) for sev in ("error", "warning", "info"))
    return f"{found}; {plural(len(report.errors), 'input error')}"


def config_line(settings: Settings) -> str | None:
    """What the run's config file sets, on one line (`config pyproject.toml sets disable =
    ["CB005"]; exclude = ["legacy/"]`): every report shows it, so a reviewer sees the rules,
    paths and numbers a pull request's own config turns off or pins. None without a config."""
    if settings.config_file is None:
        return None
    sets = "; ".join(f"{key} = {json.dumps(value, ensure_ascii=False)}"
                     for key, value in settings.config_table.items())
    return f"config {relative_path(settings.config_file)} sets {sets or 'nothing'}"


def wrap(line: str, width: int, hang: int | None = None, keep: int = 0) -> list[str]:
    """One line as lines of at most `width` characters, the continuations indented `hang`
    columns (default: four more than the line's own indentation). The first `keep`
    characters stay together on the first line, however long (a `file:line:` a tool parses)."""
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    indent = " " * min(lead + 4 if hang is None else hang, width // 2)
    # NUL never reaches here (printable escapes it): it glues the kept part into one word
    glued = line[:keep].replace(" ", "\0") + line[keep:]
    lines = textwrap.wrap(glued, width, subsequent_indent=indent, break_on_hyphens=False,
                          break_long_words=keep == 0) or [glued]
    return [part.replace("\0", " ") for part in lines]


# A fix is prose ("put PgBouncer in front (...)", "or set DB_POOL = 5 in ...", "(80 % of ...)")
# with code in the file's own syntax between: an indented line, a setting, a [section], a
# comment, a statement. Code is shown as written, never wrapped: a wrapped line of HCL or ini
# is no longer what the file needs.
_PROSE = re.compile(r"\(|(?:or )?[a-z][a-z']* [A-Za-z(]")


def fix_lines(fix: str) -> list[tuple[str, bool]]:
    """The fix's lines, each with whether it is code (a fix of one line is prose)."""
    lines = fix.split("\n")
    if len(lines) == 1:
        return [(fix, False)]
    return [(line, bool(line) and (line[0].isspace() or not _PROSE.match(line)))
            for line in lines]
