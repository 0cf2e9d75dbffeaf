"""The Terraform functions real configurations use for connection settings; others are unknown."""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from connbudget import confine
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.regexp import all_matches, first_match, replace_all
from connbudget.frontends.terraform.values import (
    MAX_ITEMS,
    MAX_STRING,
    EvalError,
    Function,
    LimitError,
    Scope,
    Sensitive,
    atoms,
    contains_unknown,
    merge_unknown,
    normalise_number,
    placeholder,
    secret_value,
    spend,
    to_bool,
    to_number,
    to_string,
    type_name,
)
from connbudget.passwords import names_a_secret


def _strict(function: Function) -> Function:
    """Any unknown anywhere in the arguments makes the result unknown."""

    def wrapped(args: list[Any], scope: Scope, text: str) -> Any:
        if contains_unknown(args):
            return merge_unknown(text, args)
        return function(args, scope, text)

    return wrapped


def _shallow(function: Function) -> Function:
    """An unknown argument makes the result unknown; unknowns nested inside are carried."""

    def wrapped(args: list[Any], scope: Scope, text: str) -> Any:
        if any(isinstance(arg, Unknown) for arg in args):
            return merge_unknown(text, [arg for arg in args if isinstance(arg, Unknown)])
        return function(args, scope, text)

    return wrapped


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise EvalError("wrong number of arguments")


def _numbers(args: list[Any]) -> list[int | float]:
    if not args:
        raise EvalError("at least one argument is required")
    return [to_number(arg) for arg in args]


def _max(args: list[Any], scope: Scope, text: str) -> Any:
    return max(_numbers(args))


def _min(args: list[Any], scope: Scope, text: str) -> Any:
    return min(_numbers(args))


def _floor(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return math.floor(to_number(args[0]))


def _ceil(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return math.ceil(to_number(args[0]))


def _abs(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return abs(to_number(args[0]))


def _tostring(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return None if args[0] is None else to_string(args[0])


def _tonumber(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return None if args[0] is None else to_number(args[0])


def _tobool(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return None if args[0] is None else to_bool(args[0])


def _upper(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return to_string(args[0]).upper()


def _lower(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return to_string(args[0]).lower()


def _trimspace(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return to_string(args[0]).strip()


def _replace(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 3, 3)
    subject, search, replacement = (to_string(arg) for arg in args)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        return replace_all(search[1:-1], subject, replacement)
    if search:
        _limit_string(len(subject) + subject.count(search) * len(replacement))
    return subject.replace(search, replacement)


def _regex(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 2)
    return first_match(to_string(args[0]), to_string(args[1]))


def _regexall(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 2)
    return all_matches(to_string(args[0]), to_string(args[1]), MAX_ITEMS)


def _limit_string(size: int) -> None:
    if size > MAX_STRING:
        raise LimitError(f"a string longer than {MAX_STRING:,} characters")


def _limit_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise LimitError(f"a collection of more than {MAX_ITEMS:,} elements")
    spend(count)


def _format_value(directive: str, value: Any) -> str:
    verb = directive[-1]
    if verb == "d":
        number = to_number(value)
        if not isinstance(number, int):
            raise EvalError("%d needs a whole number")
        return ("%" + directive) % number
    if verb == "f":
        return ("%" + directive) % to_number(value)
    if verb == "q":
        return json.dumps(to_string(value))
    if verb == "v" and not isinstance(value, (str, int, float, bool)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return to_string(value)


_VERB = re.compile(r"%(%|[-+ 0#]*\d*(?:\.\d*)?[A-Za-z])")
# Widths and precisions are capped so a format string cannot ask for gigabytes.
_SUPPORTED = re.compile(r"[-+ 0#]*\d{0,3}(?:\.\d{1,3})?[sdfvqt]")


def _format(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1)
    spec = to_string(args[0])
    values = iter(args[1:])

    def substitute(match: re.Match[str]) -> str:
        directive = match.group(1)
        if directive == "%":
            return "%"
        if not _SUPPORTED.fullmatch(directive):
            raise EvalError("a format verb with these flags is not evaluated")
        try:
            value = next(values)
        except StopIteration:
            raise EvalError("not enough arguments for format") from None
        piece = _format_value(directive, value)
        size[0] += len(piece)
        _limit_string(size[0])
        return piece

    size = [len(spec)]
    return _VERB.sub(substitute, spec)


def _join(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2)
    separator = to_string(args[0])
    items: list[str] = []
    for collection in args[1:]:
        if not isinstance(collection, list):
            raise EvalError("join needs lists")
        items.extend(to_string(item) for item in collection)
    _limit_string(sum(map(len, items)) + len(separator) * len(items))
    return separator.join(items)


def _split(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 2)
    return to_string(args[1]).split(to_string(args[0]))


def _length(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if isinstance(args[0], (list, dict, str)):
        return len(args[0])
    raise EvalError(f"cannot take the length of {type_name(args[0])}")


def _lookup(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 3)
    mapping, key = args[0], to_string(args[1])
    if not isinstance(mapping, dict):
        raise EvalError(f"lookup needs a map, not {type_name(mapping)}")
    if key in mapping:
        return secret_value(mapping[key], key, text) if names_a_secret(key) else mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError("no such key in the map and no default")  # the key is a value


def _merge(args: list[Any], scope: Scope, text: str) -> Any:
    result: dict[str, Any] = {}
    for mapping in args:
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise EvalError(f"merge needs maps, not {type_name(mapping)}")
        result.update(mapping)
    return result


def _concat(args: list[Any], scope: Scope, text: str) -> Any:
    result: list[Any] = []
    for items in args:
        if not isinstance(items, list):
            raise EvalError(f"concat needs lists, not {type_name(items)}")
        _limit_items(len(result) + len(items))
        result.extend(items)
    return result


def _coalesce(args: list[Any], scope: Scope, text: str) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return merge_unknown(text, [arg])
        if arg is not None and arg != "":
            return arg
    raise EvalError("no non-null argument")


def _element(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 2)
    items, index = args[0], to_number(args[1])
    if not isinstance(items, list) or not items or not isinstance(index, int):
        raise EvalError("element needs a non-empty list and a whole index")
    return items[index % len(items)]


def _contains(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 2, 2)
    if not isinstance(args[0], list):
        raise EvalError("contains needs a list")
    return any(type_name(item) == type_name(args[1]) and item == args[1] for item in args[0])


def _keys(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if not isinstance(args[0], dict):
        raise EvalError("keys needs a map")
    return sorted(args[0])


def _values(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if not isinstance(args[0], dict):
        raise EvalError("values needs a map")
    return [args[0][key] for key in sorted(args[0])]


def _tolist(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if not isinstance(args[0], list):
        raise EvalError(f"cannot convert {type_name(args[0])} to a list")
    return args[0]


def _toset(args: list[Any], scope: Scope, text: str) -> Any:
    unique = _distinct(args, scope, text)
    if all(isinstance(item, str) for item in unique):
        unique.sort()
    return unique


def _tomap(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if not isinstance(args[0], dict):
        raise EvalError(f"cannot convert {type_name(args[0])} to a map")
    return args[0]


def _range(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 3)
    numbers = _numbers(args)
    start, stop = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    step = numbers[2] if len(numbers) == 3 else (1 if stop >= start else -1)
    if step == 0 or abs((stop - start) / step) > 1024:
        raise EvalError("range() too long")
    result: list[Any] = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        result.append(normalise_number(value))
        value += step
    return result


def _slice(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 3, 3)
    items, start, end = args[0], to_number(args[1]), to_number(args[2])
    if not isinstance(items, list) or not isinstance(start, int) or not isinstance(end, int) \
            or not 0 <= start <= end <= len(items):
        raise EvalError("slice() indexes out of range")
    return items[start:end]


def _basename(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return to_string(args[0]).rstrip("/").rsplit("/", 1)[-1]


def _compact(args: list[Any], scope: Scope, text: str) -> Any:
    items = _tolist(args, scope, text)
    return [item for item in items if item is not None and item != ""]


def _flatten(args: list[Any], scope: Scope, text: str) -> Any:
    result: list[Any] = []
    for item in _tolist(args, scope, text):
        result.extend(_flatten([item], scope, text) if isinstance(item, list) else [item])
        _limit_items(len(result))
    return result


def _distinct(args: list[Any], scope: Scope, text: str) -> Any:
    unique: list[Any] = []
    seen_simple: set[tuple[str, Any]] = set()
    for item in _tolist(args, scope, text):
        if isinstance(item, (str, int, float, bool)) or item is None:
            key = (type_name(item), item)
            if key not in seen_simple:
                seen_simple.add(key)
                unique.append(item)
            continue
        spend(len(unique))
        if not any(type_name(item) == type_name(seen) and item == seen for seen in unique):
            unique.append(item)
    return unique


def _with_placeholders(value: Any, parts: list[Unknown]) -> Any:
    if isinstance(value, Sensitive):  # an unknown part: its text is never kept
        value = Unknown("sensitive", f"a sensitive value ({value.why})")
    if isinstance(value, Unknown):
        parts.extend(atoms(value))
        return placeholder(value)
    if isinstance(value, list):
        return [_with_placeholders(item, parts) for item in value]
    if isinstance(value, dict):
        return {key: _with_placeholders(item, parts) for key, item in value.items()}
    return value


def _encoded_size(value: Any) -> int:
    """About how long the JSON text of `value` is (stops counting past the limit)."""
    size = 0
    pending = [value]
    while pending and size <= MAX_STRING:
        item = pending.pop()
        spend()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, list):
            pending.extend(item)
            size += len(item) + 2
        elif isinstance(item, dict):
            pending.extend(item.values())
            size += sum(len(key) + 4 for key in item) + 2
        else:
            size += 8
    return size


def _jsonencode(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    if isinstance(args[0], Unknown):
        return merge_unknown(text, args)
    parts: list[Unknown] = []
    _limit_string(_encoded_size(args[0]))
    data = _with_placeholders(args[0], parts)
    encoded = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if not parts:
        return encoded
    unknown = merge_unknown(text, list(parts))
    return Unknown(text, unknown.reason, unknown.references, encoded, tuple(parts))


def _jsondecode(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    try:
        return _numbers_normalised(json.loads(to_string(args[0])))
    except ValueError:
        raise EvalError("jsondecode: not valid JSON") from None


def _numbers_normalised(value: Any) -> Any:
    if isinstance(value, float):
        return normalise_number(value)
    if isinstance(value, list):
        return [_numbers_normalised(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_normalised(item) for key, item in value.items()}
    return value


def read_text(path: str, scope: Scope, text: str, limit: int = 4 * 1024 * 1024) -> str:
    """A file named by file()/templatefile(), relative to the root or the module directory.

    Only a regular file inside the scan roots is read; anything else is unknown, and the
    module notes the refusal (without the content) for a located message.
    """
    context = scope.context
    candidates = [path] if os.path.isabs(path) else [
        os.path.join(context.root_directory, path), os.path.join(context.directory, path), path]
    fallback = (context.root_directory, context.directory)
    for candidate in candidates:
        if not os.path.lexists(candidate):
            continue
        # the path is a value (it may be built from a variable): messages never show it
        problem = confine.check(candidate, fallback)
        if problem is not None:
            context.note(text, f"a file named here is {problem}; its value is unknown")
            raise EvalError(f"the file named is {problem}")
        try:
            data = confine.read_regular(candidate, limit)
        except confine.Refused as exc:
            context.note(text, f"a file named here is {exc.strerror}; its value is unknown")
            raise EvalError(f"the file named is {exc.strerror}") from None
        except OSError:
            raise EvalError("the file named cannot be read") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise EvalError("the file named is not valid UTF-8") from None
    raise EvalError("no such file")


def _file(args: list[Any], scope: Scope, text: str) -> Any:
    _arity(args, 1, 1)
    return read_text(to_string(args[0]), scope, text)


FUNCTIONS: dict[str, Function] = {
    "max": _strict(_max), "min": _strict(_min), "floor": _strict(_floor),
    "ceil": _strict(_ceil), "abs": _strict(_abs), "tostring": _strict(_tostring),
    "tonumber": _strict(_tonumber), "tobool": _strict(_tobool), "upper": _strict(_upper),
    "lower": _strict(_lower), "trimspace": _strict(_trimspace), "replace": _strict(_replace),
    "format": _strict(_format), "join": _strict(_join), "split": _strict(_split),
    "jsondecode": _strict(_jsondecode), "file": _strict(_file), "contains": _strict(_contains),
    "length": _shallow(_length), "lookup": _shallow(_lookup), "merge": _shallow(_merge),
    "concat": _shallow(_concat), "element": _shallow(_element), "keys": _shallow(_keys),
    "values": _shallow(_values), "tolist": _shallow(_tolist), "toset": _strict(_toset),
    "tomap": _shallow(_tomap), "coalesce": _coalesce, "jsonencode": _jsonencode,
    "range": _strict(_range), "slice": _shallow(_slice), "basename": _strict(_basename),
    "compact": _strict(_compact), "flatten": _shallow(_flatten), "distinct": _strict(_distinct),
    "regex": _strict(_regex), "regexall": _strict(_regexall),
}
