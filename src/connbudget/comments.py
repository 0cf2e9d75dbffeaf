"""The comments a front end lexed: plain data that suppressions are matched against."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# The text of a comment that suppresses a finding: the only comments worth keeping past the
# front end (the parse cache on disk stores these and no other comment).
SUPPRESSION_MARKERS = ("connbudget:ignore", "checkov:skip=")


@dataclass(frozen=True)
class Comment:
    """One comment, its opener included (`-- x`, `# x`, `/* x */`); line and column 1-based.

    `scope` is the first and last line of the block the comment stands in when its format
    makes the whole block its reach (an ini file's [section]), else None.
    """

    file: str
    line: int
    column: int
    text: str
    scope: tuple[int, int] | None = None


def may_suppress(text: str) -> bool:
    """Whether `text` (a file, or one comment) can hold a suppression at all."""
    return any(marker in text for marker in SUPPRESSION_MARKERS)


def suppressions(comments: list[Comment]) -> list[Comment]:
    """The comments that can suppress a finding; the others may hold anything (a
    commented-out password) and are dropped."""
    return [comment for comment in comments if may_suppress(comment.text)]


def whole_line_comments(file: str, text: str, openers: tuple[str, ...]) -> list[Comment]:
    """Lines whose first non-blank characters are one of `openers`: comments in any format
    that has no multi-line strings (ini files)."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        body = line.lstrip(" \t")
        if body.startswith(openers):
            found.append(Comment(file, number, len(line) - len(body) + 1, body.rstrip("\r")))
    return found


class Lines:
    """Offsets to 1-based line and column (lines end at "\\n" only), built once per file."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def locate(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def line_start(self, line: int) -> int:
        return self._starts[min(max(line, 1), len(self._starts)) - 1]
