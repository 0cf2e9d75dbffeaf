"""Shared test helpers: where things are, and running the real CLI as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CHECKOV = Path(os.environ.get("CONNBUDGET_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
CACHE_DIR = ROOT / ".pytest_cache" / "connbudget-cache"  # the tests' parse cache, not the user's


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
