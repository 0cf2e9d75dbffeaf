"""Terraform's JSON syntax (`*.tf.json`) into the same body shape as a parsed `.tf` file.

Each JSON value becomes the HCL expression text it stands for (a JSON string is a template, as
Terraform reads it), so the one evaluator handles both syntaxes. Lines come from the position
of each block's name in the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

Body = dict[str, Any]

# Block types whose JSON nests labels: resource/data have two, the others one, locals none.
_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "locals": 0}
_NEEDS_ESCAPE = re.compile(r'["\\\n\r\t]')
_ESCAPE = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MAX_DEPTH = 100


class JsonSyntaxError(ValueError):
    pass


def _string(value: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPE[m.group()], value) + '"'


def expression(value: Any, depth: int = 0) -> str:
    """The HCL expression text of a JSON value."""
    if depth > _MAX_DEPTH:
        raise JsonSyntaxError("values nested too deeply")
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(expression(item, depth + 1) for item in value) + "]"
    items = (f"{_string(str(key))} = {expression(item, depth + 1)}" for key, item in value.items())
    return "{" + ", ".join(items) + "}"


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def of(self, name: str) -> int:
        """The line of the next `"name":` key after the previous one found."""
        match = re.compile(re.escape(json.dumps(name)) + r"\s*:").search(self.text, self.position)
        if match is None:
            return 1
        self.position = match.end()
        return self.text.count("\n", 0, match.start()) + 1


def _attrs(content: dict[str, Any], lines: _Lines, line: int) -> Body:
    attrs = {str(key): expression(value) for key, value in content.items()}
    return {"attrs": attrs, "lines": dict.fromkeys(attrs, line), "blocks": []}


def _blocks(kind: str, value: Any, labels: list[str], depth: int, lines: _Lines,
            line: int) -> list[Body]:
    if isinstance(value, list):  # a block type may also be given as a list of objects
        return [block for item in value
                for block in _blocks(kind, item, labels, depth, lines, line)]
    if not isinstance(value, dict):
        raise JsonSyntaxError(f"{kind}: an object is required")
    if depth == 0:
        body = _attrs(value, lines, line)
        body.update(type=kind, labels=labels, line=line, end_line=line)
        return [body]
    found = []
    for name, inner in value.items():
        found.extend(_blocks(kind, inner, [*labels, str(name)], depth - 1, lines,
                             lines.of(str(name))))
    return found


def parse_json_text(text: str) -> Body:
    """The body of a `.tf.json` file, or {"error": {...}} when it is not Terraform JSON."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # The position only: the message of json never quotes the text, but stay safe.
        return {"error": {"line": exc.lineno, "column": exc.colno,
                          "message": "JSON syntax error"}}
    except ValueError:  # an integer longer than Python converts
        return {"error": {"line": 1, "column": None, "message": "a number is too long"}}
    except RecursionError:
        return {"error": {"line": 1, "column": None, "message": "JSON nested too deeply"}}
    if not isinstance(document, dict):
        return {"error": {"line": 1, "column": None,
                          "message": "Terraform JSON must be an object at the top"}}
    lines = _Lines(text)
    blocks: list[Body] = []
    try:
        for kind, value in document.items():
            if kind in _LABELS:
                blocks.extend(_blocks(kind, value, [], _LABELS[kind], lines, lines.of(kind)))
    except (JsonSyntaxError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, JsonSyntaxError) else "values nested too deeply"
        return {"error": {"line": 1, "column": None, "message": message}}
    return {"attrs": {}, "lines": {}, "blocks": blocks}


def parse_tfvars_json(text: str) -> Body:
    """A `.tfvars.json` file: its top-level keys are variable values."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return {"error": {"line": 1, "column": None, "message": "JSON syntax error"}}
    if not isinstance(document, dict):
        return {"error": {"line": 1, "column": None, "message": "an object is required"}}
    try:
        return _attrs(document, _Lines(text), 1)
    except (JsonSyntaxError, RecursionError):
        return {"error": {"line": 1, "column": None, "message": "values nested too deeply"}}
