"""Evaluating HCL expression trees to plain values, with `Unknown` for what cannot be known.

Values are None, bool, int, float, str, list, dict or `Unknown`. An operation on an unknown
gives an unknown that keeps the references (resource and module addresses) it depends on.
Errors that Terraform would report (wrong types, missing keys) raise `EvalError`; the caller
turns them into unknowns, so nothing is ever guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connbudget.frontends.terraform.expr import (
    ExprSyntaxError,
    Node,
    TooLarge,
    parse_expression,
    parse_template,
)
from connbudget.frontends.terraform.model import Unknown

_MAX_DEPTH = 200
# Limits on what one configuration can make the evaluator build or do (README, "Running on
# untrusted pull requests"): past them a value is unknown, never a hang or gigabytes.
MAX_ITEMS = 10_000  # elements of one list or map
MAX_STRING = 4 * 1024 * 1024  # characters of one string (file() reads at most this much)
MAX_STEPS = 2_000_000  # expression nodes evaluated and values walked in one load
MAX_NUMBER = 2**63  # magnitude of a number; Terraform's own are arbitrary precision
_LITERAL = re.compile(r'"([^"\\$%\n]*)"|-?[0-9]{1,15}')


class EvalError(ValueError):
    pass


class LimitError(EvalError):
    """An evaluation past one of the limits: the value is unknown and the input is told."""


class Budget:
    """The evaluation steps left for one load (shared by every module of it)."""

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.left = steps
        self.exhausted = False

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            self.exhausted = True
            raise LimitError(f"evaluation needs more than {MAX_STEPS:,} steps")


_UNLIMITED = Budget(2**62)
_budget = _UNLIMITED


def set_budget(budget: Budget | None) -> None:
    """Charge evaluation to `budget` from now on (None: no budget, for single expressions)."""
    global _budget
    _budget = budget if budget is not None else _UNLIMITED


def spend(steps: int = 1) -> None:
    _budget.spend(steps)


def check_size(value: Any) -> Any:
    """`value`, or an EvalError when it is longer than the limits allow."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise LimitError(f"a string longer than {MAX_STRING:,} characters")
    elif isinstance(value, (list, dict)):
        if len(value) > MAX_ITEMS:
            raise LimitError(f"a collection of more than {MAX_ITEMS:,} elements")
        spend(len(value))
    elif isinstance(value, float):
        if value != value or abs(value) >= MAX_NUMBER:
            raise LimitError("a number too large to use")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_NUMBER:
        raise LimitError("a number too large to use")
    return value



class Context:
    """What a module offers to its expressions. This base knows no variables or locals."""

    prefix = ""  # "module.db." inside a module
    directory = "."
    root_directory = "."

    def var(self, name: str, text: str) -> Any:
        return Unknown(text, f"variable {name} is not available here")

    def local(self, name: str, text: str) -> Any:
        return Unknown(text, f"local {name} is not available here")

    def module_value(self, name: str, text: str) -> Any:
        return Unknown(text, f"reference to module.{name}", (f"{self.prefix}module.{name}",))

    def note(self, text: str, message: str) -> None:
        """Something about `text` the user must hear: a refused file, a limit reached."""


@dataclass
class Scope:
    context: Context
    bindings: dict[str, Any] = field(default_factory=dict)
    template: bool = False  # templatefile(): only its own variables are visible
    depth: int = 0

    def bind(self, **names: Any) -> Scope:
        return Scope(self.context, {**self.bindings, **names}, self.template, self.depth)


def contains_unknown(value: Any) -> bool:
    _budget.spend()
    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    return False


def unknowns(value: Any) -> Iterator[Unknown]:
    _budget.spend()
    if isinstance(value, Unknown):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from unknowns(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from unknowns(item)


def merge_unknown(text: str, values: list[Any]) -> Unknown:
    """One unknown for `text` built from the unknowns found in `values`."""
    found = [u for value in values for u in unknowns(value)]
    references: dict[str, None] = {}
    for u in found:
        references.update(dict.fromkeys(u.references))
    reason = found[0].reason if found else "unknown value"
    return Unknown(text, reason, tuple(references))


def placeholder(value: Unknown) -> str:
    """How an unknown appears inside a partially known string."""
    return value.partial if value.partial is not None else "${" + value.expression + "}"


def atoms(value: Unknown) -> tuple[Unknown, ...]:
    return value.parts if value.partial is not None else (value,)


def normalise_number(value: float | int) -> float | int:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def to_number(value: Any) -> int | float:
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, not {type_name(value)}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return normalise_number(float(value)) if any(c in value for c in ".eE") \
                else int(value)
        except ValueError:
            raise EvalError("a number is required, not a non-numeric string") from None
    raise EvalError(f"a number is required, not {type_name(value)}")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"a bool is required, not {type_name(value)}")


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(normalise_number(value))
    raise EvalError(f"a string is required, not {type_name(value)}")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _equal(a: Any, b: Any) -> bool:
    return type_name(a) == type_name(b) and bool(a == b)


def _arith(op: str, a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if op == "+":
        result: float | int = x + y
    elif op == "-":
        result = x - y
    elif op == "*":
        result = x * y
    elif y == 0:
        raise EvalError("division by zero")
    elif op == "/":
        result = x / y
    else:
        result = x - y * int(x / y)  # HCL's % truncates toward zero
    return normalise_number(check_size(result))


def _binary(op: str, a: Any, b: Any) -> Any:
    if op in ("+", "-", "*", "/", "%"):
        return _arith(op, a, b)
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in ("<", "<=", ">", ">="):
        x, y = to_number(a), to_number(b)
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
    if op == "&&":
        return to_bool(a) and to_bool(b)
    return to_bool(a) or to_bool(b)


def _get_attr(value: Any, name: str) -> Any:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        if name not in value:
            raise EvalError(f"no attribute {name!r}")
        return value[name]
    raise EvalError(f"cannot read attribute {name!r} of {type_name(value)}")


def _get_index(value: Any, key: Any) -> Any:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, list):
        index = to_number(key)
        if not isinstance(index, int) or not 0 <= index < len(value):
            raise EvalError("index out of range")
        return value[index]
    if isinstance(value, dict):
        name = to_string(key)
        if name not in value:
            raise EvalError(f"no key {name!r}")
        return value[name]
    raise EvalError(f"cannot index {type_name(value)}")


def _iterate(collection: Any) -> list[tuple[Any, Any]]:
    if isinstance(collection, list):
        return list(enumerate(collection))
    if isinstance(collection, dict):
        return [(key, collection[key]) for key in sorted(collection)]
    raise EvalError(f"cannot iterate over {type_name(collection)}")


def _flatten(node: Node) -> tuple[str, list[Node]] | None:
    """`a.b[c].d` as ("a", [ops]) when the chain starts at a plain name."""
    ops: list[Node] = []
    while node[0] in ("attr", "index"):
        ops.append(node)
        node = node[1]
    if node[0] != "name":
        return None
    ops.reverse()
    return node[1], ops


def _apply_ops(value: Any, ops: list[Node], scope: Scope) -> Any:
    for op in ops:
        if isinstance(value, Unknown):
            return value
        if op[0] == "attr":
            value = _get_attr(value, op[2])
        else:
            key = evaluate(op[2], scope)
            if isinstance(key, Unknown):
                return merge_unknown(op[-1], [key])
            value = _get_index(value, key)
    return value


def _attr_name(op: Node | None) -> str | None:
    return op[2] if op is not None and op[0] == "attr" else None


def _reference(root: str, ops: list[Node], scope: Scope, text: str) -> Any:
    context = scope.context
    first = _attr_name(ops[0]) if ops else None
    if scope.template:
        raise EvalError(f"{root} is not a template variable")
    if root == "var" and first:
        return _apply_ops(context.var(first, text), ops[1:], scope)
    if root == "local" and first:
        return _apply_ops(context.local(first, text), ops[1:], scope)
    if root == "module" and first:
        return _apply_ops(context.module_value(first, text), ops[1:], scope)
    if root == "path" and first in ("module", "root", "cwd"):
        return {"module": context.directory, "root": context.root_directory,
                "cwd": context.root_directory}[first]
    if root == "terraform" and first == "workspace":
        return "default"
    if root in ("count", "each", "self"):
        raise EvalError(f"{root}.{first} is not available here")
    second = _attr_name(ops[1]) if len(ops) > 1 else None
    if root == "data" and first and second:
        address = f"{context.prefix}data.{first}.{second}"
        return Unknown(text, f"reference to data source data.{first}.{second}", (address,))
    if first:
        address = f"{context.prefix}{root}.{first}"
        if len(ops) > 1 and ops[1][0] == "index":
            key = evaluate(ops[1][2], scope)
            if isinstance(key, (int, str)) and not isinstance(key, bool):
                address += f"[{key}]" if isinstance(key, int) else f'["{key}"]'
        return Unknown(text, f"reference to {text}", (address,))
    raise EvalError(f"unknown name {root!r}")


def _traversal(node: Node, scope: Scope) -> Any:
    flat = _flatten(node)
    if flat is None:
        value = evaluate(node[1], scope)
        if node[0] == "attr":
            return _get_attr(value, node[2])
        key = evaluate(node[2], scope)
        if isinstance(key, Unknown):
            return merge_unknown(node[-1], [key])
        return _get_index(value, key)
    root, ops = flat
    if root in scope.bindings:
        return _apply_ops(scope.bindings[root], ops, scope)
    if root == "count" and _attr_name(ops[0] if ops else None) == "index" \
            and "count.index" in scope.bindings:
        return _apply_ops(scope.bindings["count.index"], ops[1:], scope)
    if root == "each" and "each" in scope.bindings:
        return _apply_ops(scope.bindings["each"], ops, scope)
    return _reference(root, ops, scope, node[-1])


def _render(parts: list[Any], scope: Scope, out: _Text, missing: list[Unknown]) -> bool:
    """Appends the template's text to `out`; False when a directive cannot be decided."""
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part[0] == "if":
            cond = evaluate(part[1], scope)
            if isinstance(cond, Unknown):
                missing.extend(atoms(cond))
                return False
            if not _render(part[2] if to_bool(cond) else part[3], scope, out, missing):
                return False
        elif part[0] == "for":
            collection = evaluate(part[3], scope)
            if isinstance(collection, Unknown):
                missing.extend(atoms(collection))
                return False
            for key, value in _iterate(collection):
                names = {part[2]: value} if part[1] is None else {part[1]: key, part[2]: value}
                if not _render(part[4], scope.bind(**names), out, missing):
                    return False
        else:
            value = evaluate(part, scope)
            if isinstance(value, Unknown):
                missing.extend(atoms(value))
                out.append(placeholder(value))
            else:
                out.append(to_string(value))
    return True


class _Text(list[str]):
    """The pieces of a rendered template, refused past MAX_STRING characters in all."""

    size = 0

    def append(self, piece: str) -> None:
        self.size += len(piece)
        if self.size > MAX_STRING:
            raise LimitError(f"a string longer than {MAX_STRING:,} characters")
        super().append(piece)


def _template(node: Node, scope: Scope) -> Any:
    parts = node[1]
    if len(parts) == 1 and not isinstance(parts[0], str) and parts[0][0] not in ("if", "for"):
        return evaluate(parts[0], scope)
    out = _Text()
    missing: list[Unknown] = []
    complete = _render(parts, scope, out, missing)
    if not missing:
        return "".join(out)
    unknown = merge_unknown(node[-1], list(missing))
    if not complete:
        return unknown
    return Unknown(unknown.expression, unknown.reason, unknown.references, "".join(out),
                   tuple(missing))


def _for(node: Node, scope: Scope) -> Any:
    _, key_name, value_name, collection_node, key_expr, value_expr, cond, group, text = node
    collection = evaluate(collection_node, scope)
    if isinstance(collection, Unknown):
        return merge_unknown(text, [collection])
    items: list[Any] = []
    result: dict[str, Any] = {}
    for key, value in _iterate(collection):
        names = {value_name: value}
        if key_name is not None:
            names[key_name] = key
        inner = scope.bind(**names)
        if cond is not None:
            keep = evaluate(cond, inner)
            if isinstance(keep, Unknown):
                return merge_unknown(text, [keep])
            if not to_bool(keep):
                continue
        if key_expr is None:
            items.append(evaluate(value_expr, inner))
            continue
        out_key = evaluate(key_expr, inner)
        if isinstance(out_key, Unknown):
            return merge_unknown(text, [out_key])
        out_value = evaluate(value_expr, inner)
        name = to_string(out_key)
        if group:
            result.setdefault(name, []).append(out_value)
        elif name in result:
            raise EvalError(f"duplicate key {name!r} in for expression")
        else:
            result[name] = out_value
    return items if key_expr is None else result


def _splat(node: Node, scope: Scope) -> Any:
    value = evaluate(node[1], scope)
    if isinstance(value, Unknown):
        return value
    if value is None:
        return []
    elements = value if isinstance(value, list) else [value]
    results = []
    for element in elements:
        for op in node[2]:
            if op[0] == "attr":
                element = _get_attr(element, op[1])
            else:
                key = evaluate(op[1], scope)
                element = key if isinstance(key, Unknown) else _get_index(element, key)
        results.append(element)
    return results


def _call(node: Node, scope: Scope) -> Any:
    from connbudget.frontends.terraform.functions import FUNCTIONS, call_lazy

    _, name, arg_nodes, expand, text = node
    if name in ("try", "can"):
        return call_lazy(name, arg_nodes, scope, text)
    function = FUNCTIONS.get(name)
    if function is None:
        return Unknown(text, f"function {name}() is not evaluated")
    args = [evaluate(arg, scope) for arg in arg_nodes]
    if expand and args:
        last = args.pop()
        if isinstance(last, Unknown):
            return merge_unknown(text, [last])
        if not isinstance(last, list):
            raise EvalError("only a list can be expanded with ...")
        args.extend(last)
    return function(args, scope, text)


def evaluate(node: Node, scope: Scope) -> Any:
    if scope.depth > _MAX_DEPTH:
        raise EvalError("expression nested too deeply")
    _budget.spend()
    value = _evaluate(node, scope)
    if isinstance(value, (str, list, dict, int, float)):
        check_size(value)
    return value


def _evaluate(node: Node, scope: Scope) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "tmpl":
        return _template(node, scope)
    if kind in ("name", "attr", "index"):
        return _traversal(node, scope)
    if kind == "cond":
        cond = evaluate(node[1], scope)
        if isinstance(cond, Unknown):
            return merge_unknown(node[-1], [cond, *_branches(node, scope)])
        return evaluate(node[2] if to_bool(cond) else node[3], scope)
    if kind == "binary":
        op = node[1]
        left = evaluate(node[2], scope)
        if op in ("&&", "||") and not isinstance(left, Unknown) and to_bool(left) == (op == "||"):
            return op == "||"
        right = evaluate(node[3], scope)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            if op in ("&&", "||") and not isinstance(right, Unknown) \
                    and to_bool(right) == (op == "||"):
                return op == "||"
            return merge_unknown(node[-1], [left, right])
        return _binary(op, left, right)
    if kind == "unary":
        value = evaluate(node[2], scope)
        if isinstance(value, Unknown):
            return merge_unknown(node[-1], [value])
        return (not to_bool(value)) if node[1] == "!" else normalise_number(-to_number(value))
    if kind == "tuple":
        return [_element(item, scope) for item in node[1]]
    if kind == "object":
        return _object(node, scope)
    if kind == "for":
        return _for(node, scope)
    if kind == "splat":
        return _splat(node, scope)
    if kind == "call":
        return _call(node, scope)
    raise EvalError(f"unsupported expression {kind}")


def _branches(node: Node, scope: Scope) -> list[Any]:
    values = []
    for branch in (node[2], node[3]):
        try:
            values.append(evaluate(branch, scope))
        except EvalError:
            continue
    return [value for value in values if isinstance(value, Unknown)]


def _object(node: Node, scope: Scope) -> Any:
    result: dict[str, Any] = {}
    for key_node, value_node in node[1]:
        key = evaluate(key_node, scope)
        if isinstance(key, Unknown):
            return merge_unknown(node[-1], [key])
        result[to_string(key)] = _element(value_node, scope)
    return result


def _element(node: Node, scope: Scope) -> Any:
    """A value inside a tuple or object: its error makes it unknown, not its container."""
    try:
        value = evaluate(node, scope)
    except LimitError as exc:
        if not _budget.exhausted:
            scope.context.note(node[-1], f"{exc}; the value is unknown")
        return Unknown(node[-1], str(exc))
    except EvalError as exc:
        return Unknown(node[-1], str(exc))
    if isinstance(value, Unknown) and value.partial is None:
        return Unknown(node[-1], value.reason, value.references)
    return value


def evaluate_template(text: str, scope: Scope) -> Any:
    """The text of a template file (templatefile()), reported against `text` when unknown."""
    try:
        node = parse_template(text, False)
    except (ExprSyntaxError, RecursionError):
        raise EvalError("template not understood") from None
    return evaluate(node, scope)


def needs_parsing(text: str) -> bool:
    """False for the plain strings and integers that `evaluate_raw` reads without parsing."""
    return _LITERAL.fullmatch(text) is None


def evaluate_raw(text: str | None, scope: Scope) -> Any:
    """An attribute's expression source text; never raises, unknowns say why."""
    if text is None:
        return None
    literal = _LITERAL.fullmatch(text)
    if literal is not None:  # most attribute values: no need to parse
        return literal.group(1) if literal.group(1) is not None else int(text)
    try:
        node = parse_expression(text)
    except TooLarge as exc:
        scope.context.note(text, f"{exc}; the value is unknown")
        return Unknown(text, str(exc))
    except (ExprSyntaxError, RecursionError):
        return Unknown(text, "expression not understood")
    try:
        value = evaluate(node, scope)
    except LimitError as exc:
        if not _budget.exhausted:  # the load reports an exhausted budget once
            scope.context.note(text, f"{exc}; the value is unknown")
        return Unknown(text, str(exc))
    except EvalError as exc:
        return Unknown(text, str(exc))
    except RecursionError:
        return Unknown(text, "expression nested too deeply")
    except (TypeError, ValueError, OverflowError, KeyError, IndexError, MemoryError):
        return Unknown(text, "expression could not be evaluated")
    if isinstance(value, Unknown):
        return Unknown(text, value.reason, value.references, value.partial, value.parts)
    return value


def read_text(path: str, scope: Scope, text: str, limit: int = 4 * 1024 * 1024) -> str:
    """A file named by file()/templatefile(), relative to the root or the module directory.

    Only a regular file inside the scan roots is read; anything else is unknown, and the
    module notes the refusal (without the content) for a located message.
    """
    from connbudget import confine

    context = scope.context
    candidates = [path] if os.path.isabs(path) else [
        os.path.join(context.root_directory, path), os.path.join(context.directory, path), path]
    fallback = (context.root_directory, context.directory)
    for candidate in candidates:
        if not os.path.lexists(candidate):
            continue
        problem = confine.check(candidate, fallback)
        if problem is not None:
            context.note(text, f"a file named here is {problem}; its value is unknown")
            raise EvalError(f"file {path}: {problem}")
        try:
            data = confine.read_regular(candidate, limit)
        except confine.Refused as exc:
            context.note(text, f"a file named here is {exc.strerror}; its value is unknown")
            raise EvalError(f"file {path}: {exc.strerror}") from None
        except OSError:
            raise EvalError(f"cannot read file {path}") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise EvalError(f"file {path} is not valid UTF-8") from None
    raise EvalError(f"no file {path}")


Function = Callable[[list[Any], Scope, str], Any]
