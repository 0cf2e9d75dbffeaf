"""Durations as a user writes them (--idle-threshold 5min) and as the output shows them."""

from __future__ import annotations

import re

from connbudget.errors import UsageError

_UNITS = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
          "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")


def parse_duration(text: str) -> float:
    """Seconds of `300`, `90s`, `5min`, `5m` or `1h`."""
    found = _DURATION.fullmatch(text.lower())
    if found is None or found.group(2) not in _UNITS:
        raise UsageError(f"--idle-threshold {text!r} is not a duration such as 300s, 5min or 1h")
    return float(found.group(1)) * _UNITS[found.group(2)]


def duration(seconds: float) -> str:
    """`45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`: the two largest units."""
    whole = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if whole >= size or (unit == "s" and not parts):
            parts.append(f"{whole // size} {unit}")
            whole %= size
    return " ".join(parts[:2])
