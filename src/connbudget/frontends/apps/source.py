"""Reading one configuration file (confined, bounded) and turning parser positions into spans.

Parsers count columns differently: libyaml in characters, Python's `ast` and tree-sitter in
UTF-8 bytes. `Source` converts both to the 1-based character columns of `Span`.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING, Any

from connbudget import confine
from connbudget.comments import Comment, may_suppress
from connbudget.errors import InputError
from connbudget.frontends.apps.model import Span

if TYPE_CHECKING:
    import tree_sitter

# Configuration files and the source files read here are small; anything past this is a
# bundle or generated code, refused before it is parsed.
MAX_BYTES = 1024 * 1024
# A line this long on average is minified or generated, never hand-written configuration.
MAX_MEAN_LINE = 1000



class Source:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = text.split("\n")
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self.text.encode("utf-8")
        return self._data

    def char_column(self, row: int, byte_column: int) -> int:
        """0-based character column of a 0-based byte column on 0-based `row`."""
        line = self.lines[row] if 0 <= row < len(self.lines) else ""
        if line.isascii():
            return byte_column
        return len(line.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))

    def span(self, row: int, column: int, end_row: int, end_column: int) -> Span:
        """A span from 0-based rows and character columns."""
        return Span(self.file, row + 1, column + 1, end_row + 1, end_column + 1)

    def byte_span(self, row: int, column: int, end_row: int, end_column: int) -> Span:
        """A span from 0-based rows and byte columns (Python's ast, tree-sitter)."""
        return self.span(row, self.char_column(row, column), end_row,
                         self.char_column(end_row, end_column))

    def node_span(self, node: tree_sitter.Node) -> Span:
        start, end = node.start_point, node.end_point
        return self.byte_span(start[0], start[1], end[0], end[1])

    def text_of(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", errors="replace")

    def indent_of(self, line: int) -> str:
        """The leading blanks of 1-based `line`."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text[:len(text) - len(text.lstrip(" \t"))]

    def end_line(self) -> int:
        """The 1-based line after the last line with text (where an appended line goes)."""
        count = len(self.lines)
        while count and not self.lines[count - 1].strip():
            count -= 1
        return count + 1


def read(path: str) -> Source | InputError:
    """The text of `path`, or the located reason it is not read (never its content)."""
    try:
        data = confine.read_regular(path, MAX_BYTES)
    except confine.Refused as error:
        return InputError(path, 0, f"not read: {error.strerror}")
    except OSError as error:
        return InputError(path, 0, f"cannot read: {error.strerror or 'error'}")
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.count("\n") + 1
    if len(text) > 64 * 1024 and len(text) / lines > MAX_MEAN_LINE:
        return InputError(path, 1, "minified or generated code (lines average more than "
                                   f"{MAX_MEAN_LINE} characters), not read")
    return Source(path, text)



def basename(path: str) -> str:
    return os.path.basename(path)


@functools.cache
def parser(language: str) -> tree_sitter.Parser:
    """A tree-sitter parser, its grammar imported on first use only."""
    import tree_sitter

    module, function = {"ruby": ("tree_sitter_ruby", "language"),
                        "javascript": ("tree_sitter_javascript", "language"),
                        "typescript": ("tree_sitter_typescript", "language_typescript"),
                        "tsx": ("tree_sitter_typescript", "language_tsx"),
                        "go": ("tree_sitter_go", "language")}[language]
    grammar: Any = getattr(importlib.import_module(module), function)()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def first_error(source: Source, root: tree_sitter.Node) -> InputError | None:
    """The first syntax error tree-sitter recovered from, located."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row = node.start_point[0]
            what = "missing " + node.type if node.is_missing else "syntax error"
            return InputError(source.file, row + 1, what,
                              source.char_column(row, node.start_point[1]) + 1)
        stack.extend(reversed([child for child in node.children if child.has_error
                               or child.is_missing or child.is_error]))
    return InputError(source.file, root.start_point[0] + 1, "syntax error")


def tree_comments(source: Source, root: tree_sitter.Node) -> list[Comment]:
    """The comment nodes of a tree-sitter tree that can hold a suppression."""
    if not may_suppress(source.text):
        return []
    found: list[Comment] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            span = source.node_span(node)
            text = source.text_of(node)
            if may_suppress(text):
                found.append(Comment(source.file, span.line, span.column, text))
        stack.extend(reversed(node.children))
    return found
