"""JSON text indented by two spaces, exactly as `json.dumps(value, indent=2)` writes it.

The standard library's encoder is written in C only for compact output; with an indent it
falls back to a generator per nested value, which costs a large report (thousands of findings,
each with its related locations) a noticeable share of the run. This writer makes the same
text with one recursive function and the C string encoder: same separators (`,` and `: `),
same escapes (ASCII only), same numbers (`NaN` and `Infinity` included), same key order.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string
from typing import Any

_INFINITY = float("inf")


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2)`; a value JSON cannot hold raises as it would there."""
    out: list[str] = []
    _encode(value, out, "\n")
    return "".join(out)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, int):
        return '"' + int.__repr__(key) + '"'
    if isinstance(key, float):
        return '"' + _float(key) + '"'
    return json.dumps({key: None})  # raises the standard library's TypeError


def _encode(value: Any, out: list[str], newline: str) -> None:
    """Append the text of `value`, whose line starts after `newline` (a line break and the
    indentation of the line it is on)."""
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            out.append(separator + _key(key) + ": ")
            _encode(item, out, inner)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _encode(item, out, inner)
            separator = "," + inner
        out.append(newline + "]")
    else:
        out.append(json.dumps(value))  # raises the standard library's TypeError
