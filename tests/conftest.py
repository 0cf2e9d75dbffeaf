"""Shared test helpers: where things are, and running the real CLI as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from connbudget.report import Report

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CHECKOV = Path(os.environ.get("CONNBUDGET_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
# The tests' parse cache, not the user's, outside the checkout (a run refuses a cache inside
# the tree it scans), one per checkout.
# The text report's width, whatever runs the tests (a terminal, CI, a test worker); a test of
# another width sets its own.
os.environ["COLUMNS"] = "100"
CACHE_DIR = (Path(tempfile.gettempdir())
             / f"connbudget-test-cache-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}")


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile connbudget once, before any worker starts: the CLI then runs in each of
    the many subprocesses from .pyc files, as an installed wheel does, instead of compiling
    every module again where PYTHONDONTWRITEBYTECODE is set (CI images set it)."""
    if hasattr(config, "workerinput"):
        return
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "connbudget"), quiet=1)


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> object:
        return json.loads(self.out)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> Run:
    """Run `connbudget ARGS` in a subprocess, the way a user or CI would."""
    full_env = dict(os.environ)
    full_env.pop("GITHUB_ACTIONS", None)
    full_env.setdefault("CONNBUDGET_CACHE_DIR", str(CACHE_DIR))
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "connbudget", *args],
        cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Run(proc)


@pytest.fixture
def cli():
    return run_cli


def apply_edits(edits: list[dict[str, Any]]) -> None:
    """Apply the `edits` of findings (JSON) as a user would: each replaces the line it names,
    which must still read `old`; line 0 appends."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for edit in edits:
        by_file.setdefault(edit["file"], []).append(edit)
    for file, changes in by_file.items():
        path = Path(file)
        lines = path.read_text().splitlines()
        appended = []
        for change in sorted(changes, key=lambda c: -c["line"]):
            if change["line"] == 0:
                assert change["old"] == ""
                appended.append(change["new"])
                continue
            assert lines[change["line"] - 1] == change["old"], change
            lines[change["line"] - 1:change["line"]] = change["new"].splitlines()
        path.write_text("\n".join([*lines, *appended]) + "\n")


REPORT = FIXTURES / "outputs" / "report.json"


def load_report(path: Path = REPORT) -> Report:
    """A fixed report from its JSON (the reporters' tests render it in every format)."""
    from connbudget.budgets import BudgetView
    from connbudget.errors import InputError
    from connbudget.report import Finding

    data = json.loads(path.read_text())
    return Report(
        findings=[Finding(f["rule_id"], f["message"], f["file"], f["line"], f["resource"],
                          f["fix"], f.get("column"), f.get("end_line"))
                  for f in data["findings"]],
        budgets=[BudgetView.from_json(b) for b in data["budgets"]],
        errors=[InputError(e["file"], e["line"], e["message"]) for e in data["errors"]],
    )
