"""The `#` comments of a YAML file. PyYAML's scanner yields no comments, so they are found
around its scalar tokens: a `#` that starts a line or follows a blank, outside every quoted
scalar and block scalar (`|`, `>`), starts a comment that runs to the end of its line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from connbudget.comments import Comment, whole_line_comments

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HASH = re.compile(r"(?:^|(?<=[ \t]))#")
# (first line, first column, last line, end column), 0-based: text that is a scalar's value
Span = tuple[int, int, int, int]


def _spans(text: str) -> Iterator[Span]:
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.ScalarToken) and token.style:
            start, end = token.start_mark, token.end_mark
            if token.style in "|>":  # the indicator's own line may end in a comment
                yield start.line + 1, 0, end.line, end.column
            else:
                yield start.line, start.column, end.line, end.column


def _covered(spans: list[Span]) -> dict[int, list[tuple[int, float]]]:
    """Per line, the column ranges that belong to a scalar."""
    ranges: dict[int, list[tuple[int, float]]] = {}
    for first, column, last, end in spans:
        for line in range(first, last + 1):
            lo = column if line == first else 0
            hi = end if line == last else float("inf")
            ranges.setdefault(line, []).append((lo, hi))
    return ranges


def comments(file: str, text: str) -> list[Comment]:
    try:
        covered = _covered(list(_spans(text)))
    except yaml.YAMLError:
        # Not YAML (an unrendered template): only whole-line comments are certain.
        return whole_line_comments(file, text, ("#",))
    found = []
    for number, line in enumerate(text.split("\n")):
        for match in _HASH.finditer(line):
            column = match.start()
            if not any(lo <= column < hi for lo, hi in covered.get(number, ())):
                found.append(Comment(file, number + 1, column + 1, line[column:].rstrip("\r")))
                break
    return found
