"""Terraform plan JSON (`terraform show -json plan.out`) into the model the `.tf` files make.

A plan holds what Terraform itself resolved: variables, modules, `count`/`for_each` and data
sources. It is read from `planned_values` (root and child modules), with every attribute in
`resource_changes[].change.after_unknown` an `Unknown` (known only after apply, never a
default), data sources from `prior_state`, and the `configuration` for what the code says: a
`constant_value` is a literal in the code, `references` are not.

A plan carries every password in plain text. Whether a password is a literal in the code is
read from the configuration, never from the value (`password_source`), and the model keeps a
stand-in of the same kind. A value the plan marks sensitive (`sensitive_values`) is unknown,
and a value under a key that names a secret is a stand-in too: neither is ever shown.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from connbudget import confine
from connbudget.errors import InputError
from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.kinds import Read, ReadContext
from connbudget.passwords import names_a_secret, stand_in

_MAX_BYTES = 256 * 1024 * 1024
_INDEX = re.compile(r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]$')
_MODULE_PART = re.compile(r'module\.([^.\[]+)(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.')
_MODULES = re.compile(r'(?:module\.[^.\[]+(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.)*')
_SECRET_ATTRIBUTES = ("password",)

LITERAL = "literal"  # the value is written in the code (or built only from code)
EXTERNAL = "external"  # the value comes from outside the code: a variable value, a secret
UNDECIDED = "unknown"  # the plan does not say


def _json_error(path: str, error: json.JSONDecodeError) -> InputError:
    # The message names a position only: no part of the input is echoed.
    return InputError(path, error.lineno, f"not valid JSON: {error.msg} (column {error.colno})")


class _HugeNumber(ValueError):
    """A number no setting can hold (a magnitude of 2^63 or more, infinity, NaN)."""

    def __init__(self, text: str) -> None:
        super().__init__("a number too large to use")
        self.text = text


def _integer(text: str) -> int:
    value = int(text) if len(text) <= 20 else None  # int() refuses 4,300 digits and more
    if value is None or abs(value) >= 2**63:
        raise _HugeNumber(text)
    return value


def _real(text: str) -> float:
    value = float(text)
    if not abs(value) < 2**63:
        raise _HugeNumber(text)
    return value


def _constant(text: str) -> Any:
    raise _HugeNumber(text)  # NaN, Infinity: not JSON, never written by Terraform


def _parse(path: str, text: str) -> Any:
    """The plan's JSON, or the located error that says why it is not read."""
    try:
        return json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except json.JSONDecodeError as error:
        return _json_error(path, error)
    except RecursionError:
        return InputError(path, 1, "JSON nested too deeply")
    except _HugeNumber as error:
        at = text.find(error.text)
        line = text.count("\n", 0, at) + 1 if at >= 0 else 1
        return InputError(path, line, "a number too large to use; the plan is not read")


class _Spans:
    """Line spans of the resource objects in a plan's text, by address, found in one pass."""

    _ADDRESS = re.compile(r'"address"\s*:\s*("(?:[^"\\]|\\.)*")')
    _TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}]')

    def __init__(self, text: str, start: int) -> None:
        self._text = text
        self._newlines = [found.start() for found in re.finditer("\n", text)]
        self._at: dict[str, int] = {}
        for found in self._ADDRESS.finditer(text, start):
            try:
                address = json.loads(found.group(1))
            except ValueError:
                continue
            if isinstance(address, str):
                self._at.setdefault(address, found.start())

    def _line(self, position: int) -> int:
        return bisect.bisect_left(self._newlines, position) + 1

    def _point(self, position: int) -> list[int]:
        """[line, column, offset] of a character position (columns count from 1)."""
        line = self._line(position)
        start = self._newlines[line - 2] + 1 if line > 1 else 0
        return [line, position - start + 1, position]

    def _bounds(self, address: str) -> tuple[int, int] | None:
        if address not in self._at:
            return None
        begin = self._text.rfind("{", 0, self._at[address])
        depth, end = 0, begin
        for token in self._TOKEN.finditer(self._text, begin):
            if token.group() == "{":
                depth += 1
            elif token.group() == "}":
                depth -= 1
                if depth == 0:
                    end = token.start()
                    break
        return begin, end

    def of(self, address: str) -> tuple[int, int]:
        """The first and last line of the object whose `"address"` is `address`."""
        bounds = self._bounds(address)
        return (1, 1) if bounds is None else (self._line(bounds[0]), self._line(bounds[1]))

    def body(self, address: str) -> dict[str, Any]:
        """Where the object's planned `"values"` are written, as a parsed block's body gives
        its attributes: `lines` and `spans` by name (no expression text: `attrs` holds the
        names only)."""
        bounds = self._bounds(address)
        if bounds is None:
            return {"attrs": {}, "lines": {}, "spans": {}, "line": 1}
        lines: dict[str, int] = {}
        spans: dict[str, list[int]] = {}
        stack: list[str] = []
        values_depth = 0  # the depth inside the "values" object, once it is open
        key: str | None = None  # the last key read, until its value is
        opened: dict[int, tuple[str, int]] = {}  # depth -> (name, start) of a nested value
        for token in _JSON_TOKEN.finditer(self._text, bounds[0], bounds[1] + 1):
            word = token.group()
            if word in "{[":
                if values_depth and len(stack) == values_depth and key is not None:
                    opened[len(stack) + 1] = (key, token.start())
                if not values_depth and key == "values" and len(stack) == 1 and word == "{":
                    values_depth = 2
                stack.append(word)
                key = None
            elif word in "}]":
                depth = len(stack)
                stack.pop()
                if depth in opened:
                    name, start = opened.pop(depth)
                    spans[name] = [*self._point(start), *self._point(token.end())]
                if values_depth and depth == values_depth:
                    break
            elif word == ":" or word == ",":
                continue
            elif word.startswith('"') and stack and stack[-1] == "{" and self._is_key(token):
                key = _json_text(word)
                if values_depth and len(stack) == values_depth and key is not None:
                    lines[key] = self._line(token.start())
            else:
                if values_depth and len(stack) == values_depth and key is not None:
                    spans[key] = [*self._point(token.start()), *self._point(token.end())]
                key = None
        return {"attrs": dict.fromkeys(lines, ""), "lines": lines, "spans": spans,
                "line": self._line(bounds[0])}

    def _is_key(self, token: re.Match[str]) -> bool:
        """Whether the string `token` is an object's key (a colon follows it)."""
        following = _JSON_TOKEN.search(self._text, token.end())
        return following is not None and following.group() == ":"


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def _json_text(word: str) -> str | None:
    try:
        found = json.loads(word)
    except ValueError:
        return None
    return found if isinstance(found, str) else None


def _modules(module: dict[str, Any]) -> list[dict[str, Any]]:
    """A planned module and all its descendants."""
    found = [module]
    for child in module.get("child_modules") or []:
        if isinstance(child, dict):
            found.extend(_modules(child))
    return found


def _module_path(address: str) -> list[str]:
    """`module.a["x"].module.b.aws_x.y[0]` -> ["a", "b"] (the module calls, without keys)."""
    return [m.group(1) for m in _MODULE_PART.finditer(_split(address)[0] + ".")]


def _configuration(plan: dict[str, Any], calls: list[str]) -> dict[str, Any]:
    """The configuration of the module reached through the module calls `calls`."""
    module = _dict(_dict(plan.get("configuration")).get("root_module"))
    for name in calls:
        module = _dict(_dict(_dict(module.get("module_calls")).get(name)).get("module"))
    return module


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _config_index(plan: dict[str, Any]) -> dict[tuple[tuple[str, ...], str], dict[str, Any]]:
    """Every configuration resource by (module calls, address as the configuration names it)."""
    index: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}
    pending: list[tuple[tuple[str, ...], dict[str, Any]]] = [
        ((), _dict(_dict(plan.get("configuration")).get("root_module")))]
    while pending:
        calls, module = pending.pop()
        for resource in module.get("resources") or []:
            if isinstance(resource, dict) and isinstance(resource.get("address"), str):
                index.setdefault((calls, resource["address"]), resource)
        if len(calls) < 64:
            for name, call in _dict(module.get("module_calls")).items():
                pending.append(((*calls, name), _dict(_dict(call).get("module"))))
    return index


def _split(address: str) -> tuple[str, str]:
    """`module.a.postgresql_role.x["k"]` -> (`module.a`, `postgresql_role.x`): the module
    instance and the resource as the configuration names it."""
    prefix = _MODULES.match(address)
    end = prefix.end() if prefix else 0
    return address[:end].rstrip("."), _INDEX.sub("", address[end:])


def _references(expression: Any) -> list[str]:
    refs = _dict(expression).get("references")
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


def _variable_source(plan: dict[str, Any], calls: list[str], name: str, depth: int = 0) -> str:
    """Where the value of `var.name` in the module reached by `calls` comes from."""
    module = _configuration(plan, calls)
    declared = _dict(_dict(module.get("variables")).get(name))
    if calls:
        parent = _configuration(plan, calls[:-1])
        call = _dict(_dict(parent.get("module_calls")).get(calls[-1]))
        given = _dict(call.get("expressions")).get(name)
        if given is None:
            return LITERAL if declared.get("default") is not None else EXTERNAL
        return _expression_source(plan, calls[:-1], given, depth + 1)
    value = _dict(_dict(plan.get("variables")).get(name)).get("value")
    if declared.get("default") is not None and value == declared["default"]:
        return LITERAL  # the value is the default written in the code
    return EXTERNAL  # -var, TF_VAR_*, a .tfvars file: not in the plan's configuration


def _reference_source(plan: dict[str, Any], calls: list[str], ref: str, depth: int) -> str:
    if ref.startswith(("each.", "count.")):
        return LITERAL  # keys and indexes come from the code
    if ref.startswith("var.") and depth < 32:
        return _variable_source(plan, calls, ref.split(".")[1].split("[")[0], depth)
    if ref.startswith(("local.", "path.", "terraform.")):
        return UNDECIDED  # a plan does not record what a local holds
    return EXTERNAL  # a resource, data source or module output: a secret or generated value


def _expression_source(plan: dict[str, Any], calls: list[str], expression: Any,
                       depth: int = 0) -> str:
    expression = _dict(expression)
    if "constant_value" in expression:
        return LITERAL
    # a template or call over several references is decided only when they all agree
    sources = {_reference_source(plan, calls, ref, depth) for ref in _references(expression)}
    if not sources:
        return UNDECIDED
    return sources.pop() if len(sources) == 1 else UNDECIDED


def password_source(plan: dict[str, Any], address: str, expressions: dict[str, Any],
                    attribute: str) -> str | None:
    """LITERAL, EXTERNAL or UNDECIDED for the expression the code gives `attribute` of the
    resource at `address`; None when the configuration gives it no expression."""
    if attribute not in expressions:
        return None
    return _expression_source(plan, _module_path(address), expressions[attribute])


def _with_unknowns(value: Any, mask: Any, where: str, refs: tuple[str, ...]) -> Any:
    """`value` with each part `after_unknown` marks true made an `Unknown`."""
    if mask is True:
        return Unknown(where, "known only after apply", refs)
    if isinstance(mask, dict):
        base = dict(value) if isinstance(value, dict) else {}
        for key, inner in mask.items():
            if inner is True or (inner and isinstance(inner, (dict, list))):
                base[key] = _with_unknowns(base.get(key), inner, f"{where}.{key}", refs)
        return base
    if isinstance(mask, list) and isinstance(value, list):
        return [_with_unknowns(item, mask[i] if i < len(mask) else False, f"{where}[{i}]", refs)
                for i, item in enumerate(value)]
    return value


def _with_sensitive(value: Any, mask: Any, where: str) -> Any:
    """`value` with each part `sensitive_values` marks true made an `Unknown`."""
    if mask is True:
        return Unknown(where, "a sensitive value (marked so in the plan)")
    if isinstance(mask, dict) and isinstance(value, dict):
        return {key: _with_sensitive(item, mask.get(key), f"{where}.{key}")
                for key, item in value.items()}
    if isinstance(mask, list) and isinstance(value, list):
        return [_with_sensitive(item, mask[i] if i < len(mask) else False, f"{where}[{i}]")
                for i, item in enumerate(value)]
    return value


def _concealed(value: Any, where: str) -> Any:
    """`value` with what lies under a key that names a secret replaced: a string by a
    stand-in of its kind, anything else unknown."""
    if isinstance(value, list):
        return [_concealed(item, where) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if not names_a_secret(key) or item is None or isinstance(item, (dict, list)):
            result[key] = _concealed(item, f"{where}.{key}")
        elif isinstance(item, str):
            result[key] = stand_in(item)
        else:
            result[key] = Unknown(f"{where}.{key}", f"a sensitive value (under the key {key})")
    return result


def _attributes(plan: dict[str, Any], config: dict[str, Any], resource: dict[str, Any],
                change: dict[str, Any]) -> dict[str, Any]:
    address = str(resource.get("address"))
    values = _dict(resource.get("values"))
    sensitive = _dict(resource.get("sensitive_values"))
    # the password is judged by its source in the configuration (below), never hidden here
    attrs = {key: value if key in _SECRET_ATTRIBUTES else _concealed(
        _with_sensitive(value, sensitive.get(key), f"{address}.{key}"), f"{address}.{key}")
        for key, value in values.items()}
    mask = _dict(change.get("after_unknown"))
    for key, inner in mask.items():
        if inner is True or (inner and isinstance(inner, (dict, list))):
            refs = tuple(_references(config.get(key)))
            attrs[key] = _with_unknowns(attrs.get(key), inner, f"{address}.{key}", refs)
    for key in _SECRET_ATTRIBUTES:
        if isinstance(attrs.get(key), str) and (
                password_source(plan, address, config, key) != LITERAL):
            # not a literal in the code: the plaintext value the plan carries is not judged
            attrs[key] = Unknown(f"{address}.{key}", "not a literal in the configuration",
                                 tuple(_references(config.get(key))))
        elif isinstance(attrs.get(key), str):
            attrs[key] = stand_in(attrs[key])  # a literal: its kind is judged, not its text
    return attrs


def _resources(path: str, text: str, plan: dict[str, Any]) -> list[Resource]:
    changes = {c.get("address"): _dict(c.get("change"))
               for c in plan.get("resource_changes") or [] if isinstance(c, dict)}
    planned = _dict(_dict(plan.get("planned_values")).get("root_module"))
    prior = _dict(_dict(_dict(plan.get("prior_state")).get("values")).get("root_module"))
    configuration = _config_index(plan)
    planned_spans = _Spans(text, max(text.find('"planned_values"'), 0))
    prior_spans = _Spans(text, max(text.find('"prior_state"'), 0))
    found: list[Resource] = []
    seen: set[str] = set()
    entries = [(r, planned_spans) for m in _modules(planned) for r in m.get("resources") or []]
    entries += [(r, prior_spans) for m in _modules(prior) for r in m.get("resources") or []
                if isinstance(r, dict) and r.get("mode") == "data"]
    for resource, spans in entries:
        if not isinstance(resource, dict) or not isinstance(resource.get("address"), str):
            continue
        address = resource["address"]
        type_, name = resource.get("type"), resource.get("name")
        if address in seen or not isinstance(type_, str) or not isinstance(name, str):
            continue
        seen.add(address)
        change = changes.get(address, {})
        if change.get("actions") in (["delete"], ["forget"]):
            continue
        span = spans.of(address)
        kind = f"data.{type_}" if resource.get("mode") == "data" else type_
        calls = tuple(_module_path(address))
        config = _dict(configuration.get((calls, _split(address)[1]), {}).get("expressions"))
        found.append(Resource(kind, name, address, _attributes(plan, config, resource, change),
                              path, span[0], span[1], _split(address)[0], root=path,
                              body=spans.body(address)))
    return found


def load_plans(paths: list[str]) -> TerraformModel:
    """Every resource instance and data source of the plans at `paths`, each its own root."""
    model = TerraformModel()
    for path in paths:
        try:
            data = confine.read_regular(path, _MAX_BYTES)
        except confine.Refused as error:
            text = str(error.strerror)
            model.errors.append(InputError(path, 0, "plan larger than 256 MiB, not read"
                                           if text.startswith("larger") else text))
            continue
        except OSError as error:
            model.errors.append(InputError(path, 0, f"cannot read: {error.strerror}"))
            continue
        text = data.decode("utf-8", errors="replace")
        plan = _parse(path, text)
        if isinstance(plan, InputError):
            model.errors.append(plan)
            continue
        if not isinstance(plan, dict) or not any(
                key in plan for key in ("planned_values", "resource_changes", "configuration")):
            continue  # a state (`terraform show -json` without a plan): not a plan
        model.resources.extend(_resources(path, text, plan))
    return model


def read(paths: list[str], context: ReadContext) -> Read:
    """The `plan` input kind: `terraform show -json` output."""
    model = load_plans(paths)
    return Read(model, model.errors, model.comments)
