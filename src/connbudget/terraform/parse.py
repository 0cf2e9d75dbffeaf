"""HCL files into one normalised shape; the only module that knows python-hcl2's output.

python-hcl2 7.x gives blocks as nested dicts carrying `__start_line__`/`__end_line__` and
every value that is not a plain literal as a template string (`"${var.x * 2}"`, with the
expression text as the parser re-printed it). This module turns that into bodies:

    {"attrs": {name: raw value}, "blocks": [{"type", "labels", "line", "end_line",
                                               "attrs", "blocks"}]}

where a raw value is None/bool/int/float, a list or dict of raw values, or a template
string (evaluated by `connbudget.terraform.evaluate`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from connbudget.cache import cached

Body = dict[str, Any]

_META = ("__start_line__", "__end_line__")
# Only files declaring one of these blocks can change the model (versions.tf, providers.tf
# and backend files are skipped unparsed).
_RELEVANT = re.compile(rb"^[ \t]*(resource|data|variable|locals|module|output)\b", re.MULTILINE)
_SCHEMA = "1"


@lru_cache(maxsize=1)
def _parser_version() -> str:
    return f"python-hcl2 {version('python-hcl2')} schema {_SCHEMA}"


def _is_block(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    if "__start_line__" in value:
        return True
    return all(_is_block(inner) for inner in value.values())


def _blocks(type_: str, labels: list[str], value: dict[str, Any]) -> list[Body]:
    if "__start_line__" in value:
        block = _body(value)
        block.update(type=type_, labels=labels, line=value["__start_line__"],
                     end_line=value.get("__end_line__", value["__start_line__"]))
        return [block]
    found: list[Body] = []
    for label, inner in value.items():
        found.extend(_blocks(type_, [*labels, label], inner))
    return found


def _body(raw: dict[str, Any]) -> Body:
    attrs: dict[str, Any] = {}
    blocks: list[Body] = []
    for key, value in raw.items():
        if key in _META:
            continue
        if isinstance(value, list) and value and all(_is_block(item) for item in value):
            for item in value:
                blocks.extend(_blocks(key, [], item))
        else:
            attrs[key] = value
    return {"attrs": attrs, "blocks": blocks}


def _syntax_error(exc: Exception) -> dict[str, Any]:
    # Never echo the offending token: it may be a password literal.
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        message = "HCL syntax error: unexpected end of file"
    elif hasattr(exc, "char"):
        message = "HCL syntax error: unexpected character"
    else:
        message = "HCL syntax error: unexpected token"
    if not isinstance(line, int) or line < 1:
        line, column, message = 1, None, f"cannot parse HCL ({type(exc).__name__})"
    return {"error": {"line": line, "column": column if isinstance(column, int) else None,
                      "message": message}}


def _parse_text(text: str) -> dict[str, Any]:
    from hcl2.api import loads

    try:
        raw = loads(text, with_meta=True)
    except Exception as exc:  # the parser raises lark errors and assorted internals
        return _syntax_error(exc)
    if not isinstance(raw, dict):
        return {"error": {"line": 1, "column": None, "message": "cannot parse HCL"}}
    return _body(raw)


def _decode(content: bytes) -> str | dict[str, Any]:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        return {"error": {"line": line, "column": None, "message": "file is not valid UTF-8"}}


def parse_file(path: str, use_cache: bool = True) -> Body:
    """The normalised body of one .tf/.tfvars file, or {"error": {...}} when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        return {"error": {"line": 0, "column": None, "message": f"cannot read: {exc.strerror}"}}
    if path.endswith(".tf") and not _RELEVANT.search(content):
        return {"attrs": {}, "blocks": []}

    def compute() -> dict[str, Any]:
        text = _decode(content)
        return text if isinstance(text, dict) else _parse_text(text)

    result: Body = cached("hcl", _parser_version(), content, compute, _is_body, use_cache)
    return result


def _is_body(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "error" in value:
        return isinstance(value["error"], dict) and {"line", "message"} <= value["error"].keys()
    return isinstance(value.get("attrs"), dict) and isinstance(value.get("blocks"), list)
