"""Peak memory and time of a scan of the hostile inputs, one whole process per case.

    python benchmarks/hostile.py

The cases are the hostile-input fixtures (fixtures/hostile/: doubling locals, count = 1e9,
numbers that do not fit, broken role statements, injected names, an escaping %include, JSON
syntax, UTF-16, 1,000 strings of 3.5 MiB, nested modules with count = 1000, %include fan-out,
a backtracking pattern, a many-star exclude glob, a plan with a 5,000-digit integer, a for_each
key with a line break, a 5,000-digit connection limit) plus, made at run time in a temporary
tree: file("/proc/self/environ") as for_each and a FIFO named main.tf, a sum of 100,000 terms,
and a migration of 200,000 role statements. Goal: every case ends in seconds under 1 GiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "fixtures" / "hostile"
GOAL_MIB = 1024


def _runtime_tree(directory: Path) -> Path:
    tree = directory / "runtime"
    tree.mkdir()
    (tree / "main.tf").write_text(
        'resource "postgresql_role" "leak" {\n'
        '  for_each = toset(split("\\u0000", file("/proc/self/environ")))\n'
        "  name     = each.value\n  login    = true\n}\n")
    os.mkfifo(tree / "fifo.tf")
    os.mkfifo(tree / "x.sql")
    return tree


def _sum_tree(directory: Path) -> Path:
    tree = directory / "sum"
    tree.mkdir()
    terms = " + ".join(["1"] * 100_000)
    (tree / "main.tf").write_text(
        f'locals {{\n  total = {terms}\n}}\n\nresource "postgresql_role" "app" {{\n'
        '  name             = "app"\n  login            = true\n'
        "  connection_limit = local.total\n}\n")
    return tree


def _roles_tree(directory: Path) -> Path:
    tree = directory / "roles"
    tree.mkdir()
    with (tree / "V1__roles.sql").open("w") as handle:
        for number in range(200_000):
            handle.write(f"CREATE ROLE r{number} LOGIN CONNECTION LIMIT 10;\n")
    return tree


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
        cases["environ and FIFOs (made at run time)"] = [str(_runtime_tree(made))]
        cases["a sum of 100,000 terms (made at run time)"] = [str(_sum_tree(made))]
        cases["200,000 role statements (made at run time)"] = [str(_roles_tree(made))]
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
