"""Variable type constraints: the conversions Terraform applies to a variable's value."""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.evaluate import evaluate
from connbudget.frontends.terraform.expr import ExprSyntaxError, Node, parse_expression
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.values import (
    Context,
    EvalError,
    Scope,
    to_bool,
    to_number,
    to_string,
)

_SCALARS = {"string": to_string, "number": to_number, "bool": to_bool}


def _type_node(text: Any) -> Node | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_expression(text)
    except (ExprSyntaxError, RecursionError):
        return None


def _key(node: Node) -> str | None:
    if node[0] == "lit" and isinstance(node[1], str):
        return node[1]
    if node[0] == "tmpl" and len(node[1]) == 1 and isinstance(node[1][0], str):
        return str(node[1][0])
    return None


def _convert(node: Node, value: Any, source: str) -> Any:
    if value is None or isinstance(value, Unknown):
        return value
    if node[0] == "name" and node[1] in _SCALARS:
        return _SCALARS[node[1]](value)
    if node[0] != "call" or not node[2]:
        return value
    name, argument = node[1], node[2][0]
    if name in ("list", "set") and isinstance(value, list):
        return [_convert(argument, item, source) for item in value]
    if name == "map" and isinstance(value, dict):
        return {key: _convert(argument, item, source) for key, item in value.items()}
    if name == "object" and isinstance(value, dict) and argument[0] == "object":
        return _object(argument, value, source)
    return value


def _object(spec: Node, value: dict[str, Any], source: str) -> dict[str, Any]:
    result = dict(value)
    for key_node, type_node in spec[1]:
        key = _key(key_node)
        if key is None:
            continue
        optional = type_node[0] == "call" and type_node[1] == "optional" and type_node[2]
        attribute_type = type_node[2][0] if optional else type_node
        if key not in result or result[key] is None:
            if optional and len(type_node[2]) > 1:
                result[key] = evaluate(type_node[2][1], Scope(Context(), source=source))
            elif optional:
                result[key] = None
            continue
        result[key] = _convert(attribute_type, result[key], source)
    return result


def convert(type_raw: Any, value: Any) -> Any:
    """`value` converted to the variable's declared type; unchanged when that fails."""
    node = _type_node(type_raw)
    if node is None:
        return value
    try:
        return _convert(node, value, type_raw)
    except EvalError:
        return value
