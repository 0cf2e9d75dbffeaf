"""Terraform plan JSON (`terraform show -json plan.out`) into the model the `.tf` files make.

A plan holds what Terraform itself resolved: variables, modules, `count`/`for_each` and data
sources. It is read from `planned_values` (root and child modules), with every attribute in
`resource_changes[].change.after_unknown` an `Unknown` (known only after apply, never a
default), data sources from `prior_state`, and the `configuration` for what the code says: a
`constant_value` is a literal in the code, `references` are not.

A plan carries every password in plain text. Whether a password is a literal in the code is
read from the configuration, never from the value (`password_source`).
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from connbudget import confine
from connbudget.errors import InputError
from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown

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

    def of(self, address: str) -> tuple[int, int]:
        """The first and last line of the object whose `"address"` is `address`."""
        if address not in self._at:
            return 1, 1
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
        return self._line(begin), self._line(end)


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


def _attributes(plan: dict[str, Any], config: dict[str, Any], resource: dict[str, Any],
                change: dict[str, Any]) -> dict[str, Any]:
    address = str(resource.get("address"))
    attrs = dict(_dict(resource.get("values")))
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
    return attrs


def _resources(path: str, text: str, plan: dict[str, Any]) -> list[Resource]:
    changes = {c.get("address"): _dict(c.get("change"))
               for c in plan.get("resource_changes") or [] if isinstance(c, dict)}
    planned = _dict(_dict(plan.get("planned_values")).get("root_module"))
    prior = _dict(_dict(_dict(plan.get("prior_state")).get("values")).get("root_module"))
    configuration = _config_index(plan)
    lines = text.split("\n")
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
                              body=_body(lines, span)))
    return found


def _body(lines: list[str], span: tuple[int, int]) -> dict[str, Any]:
    """The resource's lines of plan JSON as a parsed block's body, so that `line_of` finds the
    line of a planned value (`"max_capacity": 12,`) as it finds an attribute in HCL."""
    first, last = span
    numbered = {str(number): lines[number - 1]
                for number in range(first, min(last, len(lines)) + 1)}
    return {"attrs": numbered, "lines": {key: int(key) for key in numbered}, "line": first}


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
