"""JSON held in a Terraform string (container definitions), unknown parts kept as `Unknown`."""

from __future__ import annotations

import json
from typing import Any

from connbudget.frontends.terraform.model import Unknown


def _restore(value: Any, parts: tuple[Unknown, ...]) -> Any:
    if isinstance(value, str) and "${" in value:
        found = [part for part in parts if "${" + part.expression + "}" in value]
        if found:
            references: dict[str, None] = {}
            for part in found:
                references.update(dict.fromkeys(part.references))
            return Unknown(value, found[0].reason, tuple(references))
        return value
    if isinstance(value, list):
        return [_restore(item, parts) for item in value]
    if isinstance(value, dict):
        return {key: _restore(item, parts) for key, item in value.items()}
    return value


def decode_json(value: Any) -> Any:
    """The data in a JSON string value (e.g. `container_definitions`).

    A partially known string (a heredoc or `jsonencode` with unresolved parts) decodes too:
    each string inside it that holds an unresolved part comes back as an `Unknown` with that
    part's references. Returns an `Unknown` when there is no JSON to decode.
    """
    if isinstance(value, Unknown):
        if value.partial is None:
            return value
        text, parts = value.partial, value.parts
    elif isinstance(value, str):
        text, parts = value, ()
    else:
        return Unknown(repr(value), "not a JSON string")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        if isinstance(value, Unknown):
            return value
        return Unknown(text, "not valid JSON")
    return _restore(data, parts)
