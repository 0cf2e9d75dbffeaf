"""Peak memory and time of a scan of the hostile inputs, one whole process per case.

    python benchmarks/hostile.py

The cases are the hostile-input fixtures (fixtures/hostile/: doubling locals, count = 1e9,
numbers that do not fit, broken role statements, injected names, an escaping %include, JSON
syntax, UTF-16, 1,000 strings of 3.5 MiB, nested modules with count = 1000, %include fan-out,
a backtracking pattern, a many-star exclude glob, a plan with a 5,000-digit integer, a
5,000-digit connection limit) plus the inputs of tests/hostile_inputs.py, made at run time in a
temporary tree: file("/proc/self/environ") as for_each and FIFOs, a for_each key with a line
break, sums of 100,000 and 300,000 terms, and a migration of 200,000 role statements. Goal:
every case ends in seconds under 1 GiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile_inputs import (  # noqa: E402
    environ_and_fifos,
    for_each_key,
    role_statements,
    sum_of_terms,
)

HOSTILE = ROOT / "fixtures" / "hostile"
GOAL_MIB = 1024
MADE: dict[str, Callable[[Path], Path]] = {
    "environ and FIFOs": environ_and_fifos,
    "a for_each key with a line break": for_each_key,
    "a sum of 100,000 terms": sum_of_terms,
    "a sum of 300,000 terms": lambda directory: sum_of_terms(directory, 300_000),
    "200,000 role statements": role_statements,
}


def _arguments(path: Path) -> list[str]:
    """A fixture and the config it is scanned with, when it has one of its own."""
    config = path / "connbudget.toml"
    return [str(path), "--config", str(config)] if config.is_file() else [str(path)]


def _measure(paths: list[str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak MiB, exit code) of `connbudget scan PATHS`."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "connbudget", "scan", *paths, "--no-cache",
                             "--format", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if b"Traceback" in stderr or b"internal error" in stderr:
        raise SystemExit(f"scan of {paths} crashed:\n{stderr.decode(errors='replace')}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def measure() -> str:
    """The table of every case and of all of them in one scan."""
    with tempfile.TemporaryDirectory(prefix="cb-hostile-") as directory:
        made = Path(directory)
        cases = {path.name: _arguments(path) for path in sorted(HOSTILE.iterdir())
                 if path.is_dir()}
        for name, make in MADE.items():
            cases[f"{name} (made at run time)"] = [str(make(made))]
        every = [arguments[0] for arguments in cases.values()]
        cases["all of them in one scan"] = [*every, "--config",
                                            str(HOSTILE / "glob" / "connbudget.toml")]
        lines = ["| hostile input | wall | CPU | peak memory | exit | under 1 GiB |",
                 "|---|---:|---:|---:|---:|---|"]
        for name, paths in cases.items():
            wall, cpu, peak, code = _measure(paths)
            lines.append(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {peak:.0f} MiB | {code} | "
                         f"{'yes' if peak < GOAL_MIB else '**no**'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(measure(), end="")
