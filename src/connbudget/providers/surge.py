"""How many units run while a rolling deploy replaces old ones with new: the one place each
kind of surge is computed.

- a percentage of the running units (ECS `deployment_maximum_percent`, default 200);
- extra units on top (Kubernetes `maxSurge`: a count, or a percentage of the replicas rounded
  up, as Kubernetes rounds it; default 25 %);
- a fixed factor (App Runner doubles its instances during a deployment).
"""

from __future__ import annotations

import math

from connbudget.model import Origin, Value, unknown

KUBERNETES_DEFAULT = "25%"


def by_percent(units: Value, percent: Value, unit: str) -> Value:
    """Units at `percent` of `units` (never fewer than `units`)."""
    if not (units.known and percent.known):
        return unknown(f"deploy {unit}s unknown: {units.origin}; {percent.origin}")
    assert units.value is not None and percent.value is not None
    during = max(units.value, math.ceil(units.value * percent.value / 100))
    return Value(during, Origin(f"{units.value} {unit}s x {percent.value} % "
                                f"({percent.origin.text})", percent.origin.file,
                                percent.origin.line))


def extra_units(replicas: int, surge: int | str) -> int | None:
    """Kubernetes' maxSurge as pods: a count, or a percentage of the replicas rounded up."""
    if isinstance(surge, int) and not isinstance(surge, bool):
        return surge if surge >= 0 else None
    text = str(surge).strip()
    if text.endswith("%") and text[:-1].isdigit():
        return math.ceil(replicas * int(text[:-1]) / 100)
    return int(text) if text.isdigit() else None


def by_extra(units: Value, surge: int | str | None, file: str, line: int) -> Value:
    """Units plus Kubernetes' maxSurge (`surge` None: unset, the default 25 %)."""
    if not units.known:
        return unknown(f"deploy pods unknown: {units.origin}")
    assert units.value is not None
    written = KUBERNETES_DEFAULT if surge is None else surge
    extra = extra_units(units.value, written)
    if extra is None:
        return unknown("maxSurge is not a number or percentage", file, line)
    text = f"{units.value} replicas + maxSurge {written} = {extra} more pods"
    if surge is None:
        text = f"default: {text} (Kubernetes default maxSurge 25 %)"
    return Value(units.value + extra, Origin(text, file, line))


def by_factor(units: Value, factor: int, why: str, unit: str) -> Value:
    """Units multiplied during a deployment (App Runner doubles its instances): `why` says
    where the factor comes from."""
    if not units.known:
        return unknown(f"deploy {unit}s unknown: {units.origin}")
    assert units.value is not None
    return Value(units.value * factor, Origin(f"{units.value} {unit}s x {factor} ({why})",
                                              units.origin.file, units.origin.line))
