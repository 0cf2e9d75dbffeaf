"""Split SQL text into statements without parsing it: linear, and aware of what psql sees.

The scanner knows quotes (standard, E'' and dollar quoting), quoted identifiers, `--` and
nested `/* */` comments, psql meta-commands (a backslash outside quotes runs to the end of the
line) and dbmate's `-- migrate:up` / `-- migrate:down` markers (only up sections are kept).
Everything else is left to pglast, statement by statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from connbudget.comments import Comment, Lines

_SPECIAL = re.compile(r"""[;'"$\\]|--|/\*""")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_ESCAPE_STRING_STOP = re.compile(r"[\\']")
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_GAP = re.compile(r"[\s;]*")
_DBMATE = re.compile(r"--\s*migrate:(up|down)\b", re.IGNORECASE)


def _is_ident_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


@dataclass(frozen=True)
class Statement:
    start: int
    end: int
    # psql meta-command lines inside the statement: blanked out before parsing.
    skips: tuple[tuple[int, int], ...] = ()
    # ended by psql's \gexec: its result rows are run as statements.
    gexec: bool = False

    def text(self, source: str) -> str:
        text = source[self.start:self.end]
        for begin, stop in self.skips:
            a, b = begin - self.start, stop - self.start
            text = text[:a] + " " * (b - a) + text[b:]
        return text


@dataclass
class Problem:
    offset: int
    message: str


@dataclass
class Scan:
    statements: list[Statement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    comments: list[tuple[int, int]] = field(default_factory=list)  # start and end offsets


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _end_of_block_comment(text: str, pos: int, scan: Scan) -> int:
    depth = 0
    for match in _COMMENT_EDGE.finditer(text, pos):
        depth += 1 if match.group() == "/*" else -1
        if depth == 0:
            return match.end()
    scan.problems.append(Problem(pos, "unterminated /* comment"))
    return len(text)


def _end_of_string(text: str, pos: int, scan: Scan) -> int:
    """`pos` is at the opening quote; returns the offset after the closing one."""
    escapes = pos > 0 and text[pos - 1] in "eE" and (pos < 2 or not _is_ident_char(text[pos - 2]))
    i = pos + 1
    while True:
        if escapes:
            match = _ESCAPE_STRING_STOP.search(text, i)
            j = match.start() if match else -1
        else:
            j = text.find("'", i)
        if j < 0:
            scan.problems.append(Problem(pos, "unterminated quoted string"))
            return len(text)
        if text[j] == "\\":
            i = j + 2
        elif text.startswith("''", j):
            i = j + 2
        else:
            return j + 1


def _end_of_identifier(text: str, pos: int, scan: Scan) -> int:
    i = pos + 1
    while True:
        j = text.find('"', i)
        if j < 0:
            scan.problems.append(Problem(pos, "unterminated quoted identifier"))
            return len(text)
        if text.startswith('""', j):
            i = j + 2
        else:
            return j + 1


def _end_of_dollar(text: str, pos: int, scan: Scan) -> int:
    if pos > 0 and _is_ident_char(text[pos - 1]):
        return pos + 1  # part of an identifier such as clstr$mgr, or $1
    match = _DOLLAR_TAG.match(text, pos)
    if match is None:
        return pos + 1
    close = text.find(match.group(), match.end())
    if close < 0:
        scan.problems.append(Problem(pos, f"unterminated dollar-quoted string {match.group()}"))
        return len(text)
    return close + len(match.group())


def _skip_gap(text: str, pos: int, active: bool, scan: Scan) -> tuple[int, bool]:
    """Skip whitespace, comments, empty statements and meta-command lines between statements."""
    n = len(text)
    while pos < n:
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("--", pos):
            end = _line_end(text, pos)
            marker = _DBMATE.match(text, pos, end)
            if marker:
                active = marker.group(1).lower() == "up"
            scan.comments.append((pos, end))
            pos = end
        elif text.startswith("/*", pos):
            end = _end_of_block_comment(text, pos, scan)
            scan.comments.append((pos, end))
            pos = end
        elif text.startswith("\\", pos):
            pos = _line_end(text, pos)
        else:
            break
    return pos, active


def split(text: str) -> Scan:
    """The statements of `text` in order, and what could not be scanned."""
    scan = Scan()
    n = len(text)
    pos, active = _skip_gap(text, 0, True, scan)
    start = pos
    skips: list[tuple[int, int]] = []
    problems_before = 0

    def finish(end: int, gexec: bool = False) -> None:
        while end > start and text[end - 1].isspace():
            end -= 1
        # A statement with an unterminated quote or comment is reported once, not parsed.
        if active and end > start and len(scan.problems) == problems_before:
            scan.statements.append(Statement(start, end, tuple(skips), gexec))

    while pos < n:
        match = _SPECIAL.search(text, pos)
        if match is None:
            finish(n)
            break
        i = match.start()
        token = match.group()
        if token == ";" or token == "\\":
            if token == "\\":
                end = _line_end(text, i)
                command = text[i + 1:end].split(maxsplit=1)
                if not command or not command[0].startswith("g"):
                    skips.append((i, end))
                    pos = end
                    continue
                finish(i, gexec=command[0] == "gexec")
                pos = end
            else:
                finish(i)
                pos = i + 1
            pos, active = _skip_gap(text, pos, active, scan)
            start = pos
            skips = []
            problems_before = len(scan.problems)
        elif token == "'":
            pos = _end_of_string(text, i, scan)
        elif token == '"':
            pos = _end_of_identifier(text, i, scan)
        elif token == "$":
            pos = _end_of_dollar(text, i, scan)
        elif token == "--":
            pos = _line_end(text, i)
            scan.comments.append((i, pos))
        else:
            pos = _end_of_block_comment(text, i, scan)
            scan.comments.append((i, pos))
    else:
        if start < n:
            finish(n)
    return scan


def comments(file: str, text: str) -> list[Comment]:
    """The `--` and `/* */` comments of `text`: never a quoted string's or dollar body's text."""
    return lexed_comments(file, text, split(text), Lines(text))


def lexed_comments(file: str, text: str, scan: Scan, lines: Lines) -> list[Comment]:
    """The comments `split(text)` found, located."""
    found = []
    for start, end in scan.comments:
        line, column = lines.locate(start)
        found.append(Comment(file, line, column, text[start:end].removesuffix("\r")))
    return found
