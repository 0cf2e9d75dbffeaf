"""Where the files shipped beside the package live: policies/, checks/, docs/rules/, data/."""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # A wheel carries policies/ and checks/ inside the package; a source checkout
    # (editable install) has them at the repository root.
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent.parent / name


def policies_dir() -> Path:
    return _shipped("policies")


def checks_dir() -> Path:
    return _shipped("checks")


def data_dir() -> Path:
    return _PACKAGE / "data"


@functools.cache
def rule_page(rule_id: str) -> str:
    """The rule's docs/rules page (Markdown), as shipped; empty when it is missing."""
    try:
        return (_shipped("docs/rules") / f"{rule_id}.md").read_text(encoding="utf-8")
    except OSError:
        return ""
