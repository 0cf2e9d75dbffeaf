"""What a Terraform plan (`terraform show -json`) says about a resource Checkov scans in it.

Checkov's terraform_plan framework hands a check the planned values only: an attribute known
only after apply is absent (so a default would be read in its place), and every password is
there in plain text, whether the code wrote it or a variable, a secret or `random_password`
supplied it. The plan itself says both: `resource_changes[].change.after_unknown` and the
`configuration` (a `constant_value` is a literal in the code; `references` are not). A check
reads them here from the plan file Checkov names in `__file__`, by the resource's address.

The same reading as src/connbudget/frontends/terraform/plan.py (a check cannot import
connbudget; the tests keep the verdicts of both equal on the plan fixtures).
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

LITERAL = "literal"
EXTERNAL = "external"
UNDECIDED = "unknown"

_INDEX = re.compile(r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]$')
_MODULES = re.compile(r'(?:module\.[^.\[]+(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.)*')
_MODULE_NAME = re.compile(r'module\.([^.\[]+)')


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return None
    if isinstance(data, dict) and ("planned_values" in data or "resource_changes" in data):
        return data
    return None


def plan_of(conf: dict[str, Any]) -> dict[str, Any] | None:
    """The plan a resource configuration comes from; None for a .tf scan."""
    file = conf.get("__file__")
    path = file[0] if isinstance(file, list) and file else file
    if not isinstance(path, str) or not path.endswith(".json") or path.endswith(".tf.json"):
        return None
    if not isinstance(conf.get("__address__"), str):
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _load(path, stat.st_mtime_ns, stat.st_size)


def _split(address: str) -> tuple[list[str], str]:
    prefix = _MODULES.match(address)
    end = prefix.end() if prefix else 0
    return _MODULE_NAME.findall(address[:end]), _INDEX.sub("", address[end:])


def _module(plan: dict[str, Any], calls: list[str]) -> dict[str, Any]:
    module = _dict(_dict(plan.get("configuration")).get("root_module"))
    for name in calls:
        module = _dict(_dict(_dict(module.get("module_calls")).get(name)).get("module"))
    return module


def unknown_after_apply(plan: dict[str, Any], address: str, key: str) -> bool:
    for change in plan.get("resource_changes") or []:
        if isinstance(change, dict) and change.get("address") == address:
            return bool(_dict(_dict(change.get("change")).get("after_unknown")).get(key))
    return False


def _variable(plan: dict[str, Any], calls: list[str], name: str, depth: int) -> str:
    declared = _dict(_dict(_module(plan, calls).get("variables")).get(name))
    if calls:
        call = _dict(_dict(_module(plan, calls[:-1]).get("module_calls")).get(calls[-1]))
        given = _dict(call.get("expressions")).get(name)
        if given is None:
            return LITERAL if declared.get("default") is not None else EXTERNAL
        return _expression(plan, calls[:-1], given, depth + 1)
    value = _dict(_dict(plan.get("variables")).get(name)).get("value")
    if declared.get("default") is not None and value == declared["default"]:
        return LITERAL  # the default written in the code
    return EXTERNAL  # -var, TF_VAR_*, a .tfvars file: not in the plan's configuration


def _reference(plan: dict[str, Any], calls: list[str], ref: str, depth: int) -> str:
    if ref.startswith(("each.", "count.")):
        return LITERAL
    if ref.startswith("var.") and depth < 32:
        return _variable(plan, calls, ref.split(".")[1].split("[")[0], depth)
    if ref.startswith(("local.", "path.", "terraform.")):
        return UNDECIDED  # a plan does not record what a local holds
    return EXTERNAL  # a resource, data source or module output


def _expression(plan: dict[str, Any], calls: list[str], expression: Any, depth: int = 0) -> str:
    expression = _dict(expression)
    if "constant_value" in expression:
        return LITERAL
    refs = [r for r in expression.get("references") or [] if isinstance(r, str)]
    sources = {_reference(plan, calls, ref, depth) for ref in refs}
    return sources.pop() if len(sources) == 1 else UNDECIDED


def source_of(plan: dict[str, Any], address: str, key: str) -> str | None:
    """LITERAL, EXTERNAL or UNDECIDED for the expression the code gives `key`; None when the
    configuration gives it none."""
    calls, local = _split(address)
    for resource in _module(plan, calls).get("resources") or []:
        if isinstance(resource, dict) and resource.get("address") == local:
            expressions = _dict(resource.get("expressions"))
            return _expression(plan, calls, expressions[key]) if key in expressions else None
    return None
