"""Reading the evaluated attributes of Terraform blocks into the capacity model: numbers with
their origin, nested blocks, text, and the addresses a value refers to."""

from __future__ import annotations

import re
from typing import Any

from connbudget.capacity.model import Origin, Value, unknown
from connbudget.frontends.terraform.model import ModuleCall, Resource, Unknown, line_of

# data sources (a remote state output with its name) stay whole: `data.aws_rds_cluster.x` is
# not the resource `aws_rds_cluster.x` of this root
REF = re.compile(r"\b(data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]+|data\.[a-z]\w*\.[\w-]+"
                 r"|module\.[\w-]+|(?<!data\.)aws_\w+\.[\w-]+|(?<!data\.)postgresql_\w+\.[\w-]+)")


def refs(value: Any) -> set[str]:
    """Addresses a value refers to, inside unknowns, interpolations and nested data."""
    found: set[str] = set()
    if isinstance(value, Unknown):
        found.update(value.references)
        found.update(REF.findall(value.expression))
        if value.partial:
            found.update(REF.findall(value.partial))
    elif isinstance(value, str) and "${" in value:
        found.update(REF.findall(value))
    elif isinstance(value, dict):
        for inner in value.values():
            found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return found


def integer(value: Any) -> int | None:
    """A whole number from a number or its text; None for anything else, and for numbers no
    setting can hold (2^63 or more, infinity, NaN)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 2**63:
        return int(value)
    return None


def number(block: Resource | ModuleCall, attrs: dict[str, Any], key: str,
            default: tuple[int, str] | None) -> Value:
    line = line_of(block, key)
    if key not in attrs or attrs[key] is None:
        if default is None:
            return unknown(f"{block.address} sets no {key}", block.file, block.line)
        return Value(default[0], Origin(f"default: {key} {default[0]} ({default[1]})"))
    raw = attrs[key]
    if isinstance(raw, Unknown):
        return unknown(f"{block.address} {key} = {raw.expression} is unresolved ({raw.reason})",
                       block.file, line)
    number = integer(raw)
    if number is None:
        return unknown(f"{block.address} {key} = {raw!r} is not a number", block.file, line)
    return Value(number, Origin(f"{block.address} {key}", block.file, line))


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def blocks(attrs: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = attrs.get(key)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []
