"""Running the CLI inside the test process (fast enough for corpus and fuzz runs), with a time
bound, and checking that every error it reports points at a file and a line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from conftest import CACHE_DIR

from connbudget import runcache
from connbudget.cli import main

# Tests change connbudget in place (monkeypatch) between in-process runs, which the run cache
# cannot see: it is off here, and tests/test_run_cache.py runs it in subprocesses.
runcache.ENABLED = False

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::\d+)?: \S")


class Hang(BaseException):
    """Raised from a timer signal; a BaseException so the CLI's last-resort handler lets it out."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        document = json.loads(self.out)
        assert isinstance(document, dict)
        return document


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _cache_dir() -> Iterator[None]:
    """The tests' own parse cache, for this call only (the user's cache stays untouched)."""
    before = os.environ.get("CONNBUDGET_CACHE_DIR")
    os.environ.setdefault("CONNBUDGET_CACHE_DIR", str(CACHE_DIR))
    try:
        yield
    finally:
        if before is None:
            del os.environ["CONNBUDGET_CACHE_DIR"]


def run_main(*args: str, timeout: float = 30) -> Outcome:
    """`connbudget ARGS` in this process; fails on a hang or on the last-resort error handler."""
    out, err = io.StringIO(), io.StringIO()
    with _cache_dir(), _time_limit(timeout), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main(list(args))
    outcome = Outcome(code, out.getvalue(), err.getvalue())
    assert "internal error" not in outcome.err, (args, outcome.err)
    assert code in (0, 1, 2), (args, code, outcome.err)
    return outcome


def _line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") + 1


def assert_located(file: str, line: int) -> None:
    """An error names an existing file and a line inside it."""
    path = Path(file)
    assert path.is_file(), f"error names no file: {file!r}"
    assert 1 <= line <= _line_count(path), f"{file}: line {line} is outside the file"


def assert_json_errors_located(outcome: Outcome) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = outcome.json()["errors"]
    for error in errors:
        assert_located(error["file"], error["line"])
        assert error["message"]
    return errors


def assert_text_errors_located(outcome: Outcome) -> list[str]:
    errors = [line.removeprefix("error: ") for line in outcome.out.splitlines()
              if line.startswith("error: ")]
    for error in errors:
        match = LOCATED.match(error)
        assert match, f"error without file:line: {error!r}"
        assert_located(match["file"], int(match["line"]))
    return errors
