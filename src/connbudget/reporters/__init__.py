"""Reporters turn a report into text; they never decide severity or what is a finding."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable

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


def render(report: Report, fmt: str, settings: Settings) -> str:
    if fmt == "json":
        return json.dumps(report.as_json(), indent=2) + "\n"
    # Lazy: a run needs one reporter, and pre-commit runs connbudget on every commit.
    module = importlib.import_module(f"connbudget.reporters.{fmt}")
    renderer: Callable[[Report, Settings], str] = getattr(module, f"render_{fmt}")
    return renderer(report, settings)
