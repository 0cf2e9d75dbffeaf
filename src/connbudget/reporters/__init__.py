"""Reporters turn a report into text; they never decide severity or what is a finding."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from connbudget import jsontext
from connbudget.quoting import ENTITY, JSON_ESCAPE, guard
from connbudget.report import Report
from connbudget.settings import Settings

# Every report format, each a module of this package with a render_<format>() (json aside).
FORMATS = ("text", "json", "sarif", "junit", "github", "gitlab", "markdown")


def resolve_format(requested: str | None, output: str | None) -> str:
    if requested:
        return requested
    if os.environ.get("GITHUB_ACTIONS") == "true" and output is None and not _stdout_is_file():
        return "github"
    return "text"


def _stdout_is_file() -> bool:
    try:
        import stat

        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError):
        return False


# How each format writes a character that would spell `::` or `##[` in a CI log, keeping the
# data it holds (text and github lines are escaped by their reporters).
_GUARDS = {"json": JSON_ESCAPE, "sarif": JSON_ESCAPE, "gitlab": JSON_ESCAPE, "junit": ENTITY,
           "markdown": ENTITY}


def _json(report: Report, settings: Settings) -> dict[str, Any]:
    data = report.as_json()
    if settings.config_file is not None:  # what the run's config changes, for a reviewer
        data["config"] = {"file": settings.config_file, "sets": settings.config_table}
    return data


def render(report: Report, fmt: str, settings: Settings) -> str:
    if fmt == "json":
        text = jsontext.dumps(_json(report, settings)) + "\n"
    else:
        # Lazy: a run needs one reporter, and pre-commit runs connbudget on every commit.
        module = importlib.import_module(f"connbudget.reporters.{fmt}")
        renderer: Callable[[Report, Settings], str] = getattr(module, f"render_{fmt}")
        text = renderer(report, settings)
    return guard(text, _GUARDS[fmt]) if fmt in _GUARDS else text
