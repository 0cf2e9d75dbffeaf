"""JSON with the position of every value, as ARM templates are written: comments (`//`, `/* */`)
are allowed, as the ARM tooling allows them. Each value is a `Node` with its line and columns
(1-based, the end exclusive), so a fix can replace exactly the value."""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

_MAX_DEPTH = 100
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.DOTALL)
_WORDS = {"true": True, "false": False, "null": None}


class JsonError(ValueError):
    """Not JSON: `line` is where; the message never quotes the text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Node:
    value: Any  # dict[str, Node], list[Node], str, int, float, bool or None
    line: int
    column: int
    end_line: int
    end_column: int

    def get(self, *keys: str) -> Node | None:
        """The node at `keys` below this object (keys compare case-insensitively, as ARM's
        property names do); None when any is missing."""
        node: Node | None = self
        for key in keys:
            if node is None or not isinstance(node.value, dict):
                return None
            node = next((v for k, v in node.value.items() if k.lower() == key.lower()), None)
        return node

    def plain(self) -> Any:
        """The value without positions."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def point(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.starts, offset) - 1
        return row + 1, offset - self.starts[row] + 1

    def skip(self, at: int) -> int:
        found = _SPACE.match(self.text, at)
        return found.end() if found else at

    def fail(self, at: int, message: str) -> JsonError:
        return JsonError(self.point(min(at, len(self.text)))[0], message)

    def node(self, value: Any, start: int, end: int) -> Node:
        line, column = self.point(start)
        end_line, end_column = self.point(end)
        return Node(value, line, column, end_line, end_column)

    def value(self, at: int, depth: int) -> tuple[Node, int]:
        if depth > _MAX_DEPTH:
            raise self.fail(at, "JSON nested too deeply")
        at = self.skip(at)
        char = self.text[at:at + 1]
        if char == "{":
            return self.members(at, depth)
        if char == "[":
            return self.items(at, depth)
        if char == '"':
            try:
                text, end = json.decoder.scanstring(self.text, at + 1)  # type: ignore[attr-defined]
            except ValueError:
                raise self.fail(at, "a string is not closed or has a bad escape") from None
            return self.node(text, at, end), end
        number = _NUMBER.match(self.text, at)
        if number:
            raw = number.group()
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return self.node(value, at, number.end()), number.end()
        for word, value in _WORDS.items():
            if self.text.startswith(word, at):
                return self.node(value, at, at + len(word)), at + len(word)
        raise self.fail(at, "a value is expected")

    def members(self, start: int, depth: int) -> tuple[Node, int]:
        found: dict[str, Node] = {}
        at = self.skip(start + 1)
        while self.text[at:at + 1] != "}":
            key, at = self.value(at, depth + 1)
            if not isinstance(key.value, str):
                raise self.fail(at, "an object key must be a string")
            at = self.skip(at)
            if self.text[at:at + 1] != ":":
                raise self.fail(at, "':' is expected")
            found[key.value], at = self.value(at + 1, depth + 1)
            at = self.skip(at)
            if self.text[at:at + 1] == ",":
                at = self.skip(at + 1)
            elif self.text[at:at + 1] != "}":
                raise self.fail(at, "',' or '}' is expected")
        return self.node(found, start, at + 1), at + 1

    def items(self, start: int, depth: int) -> tuple[Node, int]:
        found: list[Node] = []
        at = self.skip(start + 1)
        while self.text[at:at + 1] != "]":
            item, at = self.value(at, depth + 1)
            found.append(item)
            at = self.skip(at)
            if self.text[at:at + 1] == ",":
                at = self.skip(at + 1)
            elif self.text[at:at + 1] != "]":
                raise self.fail(at, "',' or ']' is expected")
        return self.node(found, start, at + 1), at + 1


def parse(text: str) -> Node:
    """The document of `text`; JsonError when it is not JSON (comments allowed)."""
    parser = _Parser(text.removeprefix("\ufeff"))
    node, end = parser.value(0, 0)
    if parser.skip(end) != len(parser.text):
        raise parser.fail(end, "text after the JSON value")
    return node
