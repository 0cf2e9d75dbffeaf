"""Evaluating HCL expression trees to plain values, with `Unknown` for what cannot be known.

Values are None, bool, int, float, str, list, dict or `Unknown`. An operation on an unknown
gives an unknown that keeps the references (resource and module addresses) it depends on.
Errors that Terraform would report (wrong types, missing keys) raise `EvalError`; the caller
turns them into unknowns, so nothing is ever guessed. An error's message names what went wrong,
never a value: a value may be a secret.

A string of a var-file the run is given is sensitive (`values.Sensitive`): an expression that
reads one is sensitive itself, a template or `jsonencode` leaves it out as an unknown part, and
`evaluate_raw` hands out each as an `Unknown`. A secret the code gives (a value under a key
that names one; a sensitive variable's, in the loader) is a stand-in of the same kind.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from connbudget.frontends.terraform.expr import (
    ExprSyntaxError,
    Node,
    TooLarge,
    parse_expression,
    parse_template,
)
from connbudget.frontends.terraform.functions import FUNCTIONS, read_text
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.values import (
    MARKS,
    MAX_STRING,
    EvalError,
    Function,
    LimitError,
    Scope,
    Sensitive,
    atoms,
    built,
    check_size,
    derived,
    mark_in,
    merge_unknown,
    normalise_number,
    note_limit,
    placeholder,
    secret_value,
    spend,
    to_bool,
    to_number,
    to_string,
    touch,
    type_name,
    unmarked,
)
from connbudget.passwords import names_a_secret
from connbudget.quoting import hcl_string

_MAX_DEPTH = 200
_LITERAL = re.compile(r'"([^"\\$%\n]*)"|-?[0-9]{1,15}')


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
            raise EvalError(f"no attribute {name!r}")  # a name from the source text
        found = value[name]
        return secret_value(found, name, name) if names_a_secret(name) else found
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
            raise EvalError("no such key in the map")  # the key is a value: never shown
        found = value[name]
        return secret_value(found, name, "a map") if names_a_secret(name) else found
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
                return merge_unknown(scope.text(op), [key])
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
    given = context.named(root)
    if given is not None:
        return _apply_ops(given, ops, scope)
    second = _attr_name(ops[1]) if len(ops) > 1 else None
    if root == "data" and first and second:
        address = f"{context.prefix}data.{first}.{second}"
        return Unknown(text, f"reference to data source data.{first}.{second}", (address,))
    if first:
        address = f"{context.prefix}{root}.{first}"
        if len(ops) > 1 and ops[1][0] == "index":
            key = evaluate(ops[1][2], scope)
            if isinstance(key, (int, str)) and not isinstance(key, (bool, Sensitive)):
                address += f"[{key}]" if isinstance(key, int) else f"[{hcl_string(key)}]"
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
            return merge_unknown(scope.text(node), [key])
        return _get_index(value, key)
    root, ops = flat
    if root in scope.bindings:
        return _apply_ops(scope.bindings[root], ops, scope)
    if root == "count" and _attr_name(ops[0] if ops else None) == "index" \
            and "count.index" in scope.bindings:
        return _apply_ops(scope.bindings["count.index"], ops[1:], scope)
    if root == "each" and "each" in scope.bindings:
        return _apply_ops(scope.bindings["each"], ops, scope)
    return _reference(root, ops, scope, scope.text(node))


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
            if isinstance(value, Sensitive):  # an unknown part: its text is never kept
                value = Unknown(scope.text(part), f"a sensitive value ({value.why})")
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
        return built("".join(out))
    unknown = merge_unknown(scope.text(node), list(missing))
    if not complete:
        return unknown
    return Unknown(unknown.expression, unknown.reason, unknown.references, "".join(out),
                   tuple(missing))


def _for(node: Node, scope: Scope) -> Any:
    _, key_name, value_name, collection_node, key_expr, value_expr, cond, group, *_ = node
    text = scope.text(node)
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
            raise EvalError("duplicate key in for expression")  # the key is a value
        else:
            result[name] = out_value
    return built(items if key_expr is None else result)


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
    return built(results)


def _call_lazy(name: str, arg_nodes: list[Node], scope: Scope, text: str) -> Any:
    """try() and can(): an argument that fails to evaluate is skipped, not reported."""
    for node in arg_nodes:
        try:
            value = evaluate(node, scope)
        except EvalError:
            if name == "can":
                return False
            continue
        if isinstance(value, Unknown):
            return merge_unknown(text, [value])
        return True if name == "can" else value
    if name == "can":
        raise EvalError("can() needs one argument")
    raise EvalError("no argument of try() could be evaluated")


def _templatefile(args: list[Any], scope: Scope, text: str) -> Any:
    """templatefile(path, vars): the file rendered as a template with only `vars` in scope."""
    if len(args) != 2:
        raise EvalError("wrong number of arguments")
    if any(isinstance(arg, Unknown) for arg in args):
        return merge_unknown(text, [arg for arg in args if isinstance(arg, Unknown)])
    if not isinstance(args[1], dict):
        raise EvalError("templatefile needs a map of variables")
    source = read_text(to_string(args[0]), scope, text)
    inner = Scope(scope.context, dict(args[1]), template=True, depth=scope.depth + 1,
                  source=source)
    value = evaluate_template(source, inner)
    if isinstance(value, Unknown):
        return Unknown(text, value.reason, value.references, value.partial, value.parts)
    return value


# The functions that evaluate expressions themselves; the others are in `functions`.
_EVALUATING: dict[str, Function] = {"templatefile": _templatefile}


def _call(node: Node, scope: Scope) -> Any:
    _, name, arg_nodes, expand, *_ = node
    text = scope.text(node)
    if name in ("try", "can"):
        return _call_lazy(name, arg_nodes, scope, text)
    function = FUNCTIONS.get(name) or _EVALUATING.get(name) or scope.context.function(name)
    if function is None:
        return Unknown(text, f"function {name}() is not evaluated")
    args = [evaluate(arg, scope) for arg in arg_nodes]
    _touch_marked(args)  # a function may read a sensitive value inside a collection
    if expand and args:
        last = args.pop()
        if isinstance(last, Unknown):
            return merge_unknown(text, [last])
        if not isinstance(last, list):
            raise EvalError("only a list can be expanded with ...")
        args.extend(last)
    result = function(args, scope, text)
    if not any(result is arg for arg in args):  # a function may return an argument as it is
        built(result)
    return result


def _touch_marked(values: list[Any]) -> None:
    why = mark_in(values)
    if why is not None:
        touch(why)


def evaluate(node: Node, scope: Scope) -> Any:
    if node[0] == "lit":  # a constant costs nothing, also once the budget is spent
        return check_size(node[1])
    if scope.depth > _MAX_DEPTH:
        raise EvalError("expression nested too deeply")
    spend()
    seen = MARKS.seen
    value = _evaluate(node, scope)
    if MARKS.seen != seen:  # it read a sensitive value: a value computed from it is one
        value = derived(value, scope.text(node), node[0] == "call")
    elif isinstance(value, Sensitive):
        touch(value.why)
    if isinstance(value, (str, list, dict, int, float)):
        check_size(value)
    return value


def _evaluate(node: Node, scope: Scope) -> Any:
    kind = node[0]
    if kind == "tmpl":
        return _template(node, scope)
    if kind in ("name", "attr", "index"):
        return _traversal(node, scope)
    if kind == "cond":
        cond = evaluate(node[1], scope)
        if isinstance(cond, Unknown):
            return merge_unknown(scope.text(node), [cond, *_branches(node, scope)])
        return evaluate(node[2] if to_bool(cond) else node[3], scope)
    if kind == "binary":
        op = node[1]
        left = evaluate(node[2], scope)
        if op in ("&&", "||") and not isinstance(left, Unknown) and to_bool(left) == (op == "||"):
            return op == "||"
        right = evaluate(node[3], scope)
        _touch_marked([left, right])  # `==` on collections reads what they hold
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            if op in ("&&", "||") and not isinstance(right, Unknown) \
                    and to_bool(right) == (op == "||"):
                return op == "||"
            return merge_unknown(scope.text(node), [left, right])
        return _binary(op, left, right)
    if kind == "unary":
        value = evaluate(node[2], scope)
        if isinstance(value, Unknown):
            return merge_unknown(scope.text(node), [value])
        return (not to_bool(value)) if node[1] == "!" else normalise_number(-to_number(value))
    if kind == "tuple":
        return built([_element(item, scope) for item in node[1]])
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
            return merge_unknown(scope.text(node), [key])
        name = to_string(key)
        value = _element(value_node, scope)
        result[name] = secret_value(value, name, scope.text(value_node)) \
            if names_a_secret(name) else value
    return built(result)


def _element(node: Node, scope: Scope) -> Any:
    """A value inside a tuple or object: its error makes it unknown, not its container."""
    try:
        value = evaluate(node, scope)
    except LimitError as exc:
        note_limit(scope.context, scope.text(node), exc)
        return Unknown(scope.text(node), str(exc))
    except EvalError as exc:
        return Unknown(scope.text(node), str(exc))
    if isinstance(value, Unknown) and value.partial is None:
        return Unknown(scope.text(node), value.reason, value.references)
    return value


def evaluate_template(text: str, scope: Scope) -> Any:
    """The text of a template file (templatefile()), reported against `text` when unknown."""
    try:
        node = parse_template(text)
    except (ExprSyntaxError, RecursionError):
        raise EvalError("template not understood") from None
    return evaluate(node, scope)


def needs_parsing(text: str) -> bool:
    """False for the plain strings and integers that `evaluate_raw` reads without parsing."""
    return _LITERAL.fullmatch(text) is None


def evaluate_raw(text: str | None, scope: Scope) -> Any:
    """An attribute's expression source text; never raises, unknowns say why. What it
    returns holds no sensitive value: each is an `Unknown` saying why."""
    if text is None:
        return None
    literal = _LITERAL.fullmatch(text)
    if literal is not None:  # most attribute values: no need to parse
        return literal.group(1) if literal.group(1) is not None else int(text)
    seen = MARKS.seen
    value = _evaluate_text(text, scope)
    return unmarked(value, text) if MARKS.seen != seen else value


def _evaluate_text(text: str, scope: Scope) -> Any:
    try:
        node = parse_expression(text)
    except TooLarge as exc:
        scope.context.note(text, f"{exc}; the value is unknown")
        return Unknown(text, str(exc))
    except (ExprSyntaxError, RecursionError):
        return Unknown(text, "expression not understood")
    try:
        value = evaluate(node, replace(scope, source=text))
    except LimitError as exc:
        note_limit(scope.context, text, exc)
        return Unknown(text, str(exc))
    except EvalError as exc:
        return Unknown(text, str(exc))
    except RecursionError:
        scope.context.note(text, "expression nested too deeply; the value is unknown")
        return Unknown(text, "expression nested too deeply")
    except (TypeError, ValueError, OverflowError, KeyError, IndexError, MemoryError):
        return Unknown(text, "expression could not be evaluated")
    if isinstance(value, Unknown):
        return Unknown(text, value.reason, value.references, value.partial, value.parts)
    return value
