"""Reading a postgresql_role as the cyrilgdn/postgresql provider would: defaults applied,
unresolved references kept apart from values.

A resource with `count = 0` never reaches these checks: Checkov's BaseResourceCheck reports it
UNKNOWN (no result) before calling `scan_resource_conf`.
"""

from __future__ import annotations

import re
from typing import Any

from _terraform_plan import plan_of, unknown_after_apply
from checkov.common.models.enums import CheckResult

UNRESOLVED = object()

# What Checkov leaves as text when it cannot evaluate an expression.
_REFERENCE = re.compile(
    r"\$\{"  # an interpolation
    r"|\b(?:var|local|module|data|each|count|path|self)\.\w"  # var.x, data.y.z.attr, ...
    r"|^[a-z][a-z0-9]*_\w*\.[\w-]+(?:\[[^\]]*\])?\.\w"  # random_password.app.result
    r"|^[a-z]\w*\("  # sensitive(...), jsondecode(...)
)


# A whole value that is one reference Checkov could not resolve: a variable with no value in
# the code, a data source, a resource attribute (random_password.x.result), a module output.
_ONE_REFERENCE = re.compile(
    r"^(?:\$\{)?\s*(?:var\.[\w-]+|data\.[a-z]\w*\.[\w-]+|module\.[\w-]+"
    r"|[a-z][a-z0-9]*_\w*\.[\w-]+)(?:\[[^\]]*\])?(?:\.[\w-]+(?:\[[^\]]*\])?)*\s*\}?$"
)


def is_one_reference(conf: dict[str, list[Any]], key: str) -> bool:
    raw = conf.get(key)
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    return isinstance(value, str) and _ONE_REFERENCE.match(value.strip()) is not None


def known_only_after_apply(conf: dict[str, Any], key: str) -> bool:
    """On a plan: Terraform knows the attribute only after apply (`after_unknown`)."""
    plan = plan_of(conf)
    return plan is not None and unknown_after_apply(plan, conf["__address__"], key)


def attribute(conf: dict[str, list[Any]], key: str, default: object = None) -> object:
    """The attribute's value, `default` when absent or null, UNRESOLVED for a reference or a
    value a plan knows only after apply."""
    if known_only_after_apply(conf, key):
        return UNRESOLVED
    raw = conf.get(key, [default])
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if value is None:
        return default
    if isinstance(value, str) and _REFERENCE.search(value.strip()):
        return UNRESOLVED
    return value


def flag(conf: dict[str, list[Any]], key: str) -> bool | None:
    """A boolean attribute (provider default false); None when it cannot be known."""
    value = attribute(conf, key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def number(conf: dict[str, list[Any]], key: str, default: int) -> int | None:
    """An integer attribute, numbers written as strings included; None when it cannot be known
    (also a number no setting can hold: 2^63 or more, which Python will not even read past
    4,300 digits)."""
    value = attribute(conf, key, default)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,19}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        return value
    return None


def is_(value: object, expected: object) -> bool | None:
    """`value == expected`, or None when the value is not known."""
    return None if value is None else value == expected


def failed_when(*conditions: bool | None) -> CheckResult:
    """FAILED when every condition holds, PASSED when one is known not to, UNKNOWN otherwise."""
    if any(condition is False for condition in conditions):
        return CheckResult.PASSED
    if any(condition is None for condition in conditions):
        return CheckResult.UNKNOWN
    return CheckResult.FAILED
