"""Measure connbudget against the speed goals of the spec, on generated inputs, in one run.

    python benchmarks/run.py [--repeat N] [--checkov-repeat N]

Writes the inputs and results.md to benchmarks/out/ and prints three tables: the goals, the
cost per size (500, 2,000 and 8,000 files and a tree of many roots calling local modules),
and the HCL parsers side by side. Every command is a whole process (interpreter start-up
included). The commands of one comparison run in turns
(ours, theirs, ours, ...) so a busy machine slows both alike; the median wall time counts.
CPU time and peak memory (maximum resident set size) come from wait4(), children included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_migration, write_module_tree, write_terraform_tree  # noqa: E402
from hostile import measure as measure_hostile  # noqa: E402
from parsers import table as parser_table  # noqa: E402
from rego_cost import measure as measure_rego  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
PYTHON = sys.executable
CHECKOV = Path(os.environ.get("CONNBUDGET_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
STATEMENTS, TF_FILES = 50_000, 2_000
SIZES, MODULE_TREE_FILES = (500, 2_000, 8_000), 400
CORPUS = ROOT.parent / "shared" / "corpus" / "terraform"


@dataclass
class Command:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    fresh_cache: bool = False  # a new, empty CONNBUDGET_CACHE_DIR for every run
    ours: bool = True  # a traceback from our own command stops the benchmark
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: float = 0.0

    @property
    def seconds(self) -> float:
        return statistics.median(self.wall)

    def run(self) -> None:
        env = dict(os.environ, **self.env)
        cache = tempfile.mkdtemp(prefix="cb-bench-cache-") if self.fresh_cache else None
        if cache:
            env["CONNBUDGET_CACHE_DIR"] = cache
        try:
            start = time.perf_counter()
            proc = subprocess.Popen(self.argv, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            assert proc.stderr is not None
            stderr = proc.stderr.read()
            _, status, usage = os.wait4(proc.pid, 0)
            self.wall.append(time.perf_counter() - start)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if cache:
                shutil.rmtree(cache, ignore_errors=True)
        if self.ours and (b"Traceback" in stderr or b"internal error" in stderr):
            raise SystemExit(f"{self.label} crashed:\n{stderr.decode(errors='replace')[-2000:]}")
        self.cpu.append(usage.ru_utime + usage.ru_stime)
        self.peak_mib = max(self.peak_mib, usage.ru_maxrss / 1024)

    def cell(self) -> str:
        return (f"{self.label}: {self.seconds:.3f} s (CPU {statistics.median(self.cpu):.2f} s), "
                f"{self.peak_mib:.0f} MiB")


@dataclass
class Goal:
    what: str
    ours: Command
    theirs: Command
    goal: float
    faster: bool  # True: theirs/ours >= goal; False: ours/theirs <= goal

    @property
    def ratio(self) -> float:
        if self.faster:
            return self.theirs.seconds / self.ours.seconds
        return self.ours.seconds / self.theirs.seconds

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal if self.faster else self.ratio <= self.goal

    def row(self) -> str:
        sign = ">=" if self.faster else "<="
        return (f"| {self.what} | {self.ours.cell()} | {self.theirs.cell()} | {self.ratio:.1f}x "
                f"| {sign} {self.goal:g}x | {'yes' if self.met else '**no**'} |")


def in_turns(commands: list[Command], runs: list[int]) -> None:
    for turn in range(max(runs)):
        for command, count in zip(commands, runs, strict=True):
            if turn < count:
                command.run()


def _connbudget() -> list[str]:
    script = Path(PYTHON).with_name("connbudget")
    return [str(script)] if script.exists() else [PYTHON, "-m", "connbudget"]


def table(goals: list[Goal], migration: Path) -> str:
    lines = [
        f"Inputs: a {STATEMENTS:,}-statement migration ({migration.stat().st_size / 2**20:.1f} "
        f"MiB), a {TF_FILES:,}-file Terraform tree ({TF_FILES // 5} services: RDS, parameter "
        f"group, ECS service, task definition, autoscaling, postgresql_role). Median wall time of "
        f"whole "
        f"processes; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.",
        "",
        "| measure | connbudget | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|",
        *(goal.row() for goal in goals),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--checkov-repeat", type=int, default=3,
                        help="runs of Checkov, the slowest command (default 3)")
    args = parser.parse_args(argv)
    repeat, connbudget = args.repeat, _connbudget()

    # pip byte-compiles an installed wheel; an editable install is compiled on first import
    # only, and not at all where PYTHONDONTWRITEBYTECODE is set, so every run would compile
    # it again. Compile it once, so connbudget runs from .pyc files as Checkov does.
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src" / "connbudget")],
                   check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    migration, tree = OUT / "V1__large.sql", OUT / "terraform"
    write_migration(migration, STATEMENTS)
    shutil.rmtree(tree, ignore_errors=True)
    write_terraform_tree(tree, TF_FILES)

    sql2json = Command("sql2json", [*connbudget, "sql2json", str(migration)])
    pglast = Command("pglast.parse_sql", [PYTHON, "-c", "import pglast, sys; "
                     "pglast.parse_sql(open(sys.argv[1]).read())", str(migration)])
    in_turns([sql2json, pglast], [repeat, repeat])

    warm_cache = tempfile.mkdtemp(prefix="cb-bench-warm-")
    capacity = [*connbudget, "capacity", str(tree), "--format", "json"]
    cold = Command("capacity", capacity, fresh_cache=True)
    warm = Command("capacity", capacity, env={"CONNBUDGET_CACHE_DIR": warm_cache})
    # --skip-download: no network round trips to Prisma Cloud inside the timing.
    checkov = Command("checkov -d", [str(CHECKOV), "-d", str(tree), "--quiet", "--compact",
                                     "--framework", "terraform", "--skip-download"], ours=False)
    try:
        Command("fill the cache", capacity, env=warm.env).run()
        in_turns([cold, warm, checkov], [repeat, repeat, args.checkov_repeat])
    finally:
        shutil.rmtree(warm_cache, ignore_errors=True)

    version = Command("connbudget --version", [*connbudget, "--version"])
    bare = Command("python -c pass", [PYTHON, "-c", "pass"])
    in_turns([version, bare], [repeat * 4, repeat * 4])

    goals = [
        Goal(f"sql2json, {STATEMENTS:,} statements", sql2json, pglast, 5, True),
        Goal(f"capacity, {TF_FILES:,} .tf files, cold cache", cold, checkov, 10, True),
        Goal(f"capacity, {TF_FILES:,} .tf files, warm cache", warm, checkov, 30, True),
        Goal("start-up", version, bare, 3, False),
    ]
    result = (table(goals, migration) + "\n" + scaling(connbudget, tree) + "\n"
              + parsers(tree) + "\n" + measure_rego() + "\n" + measure_hostile())
    (OUT / "results.md").write_text(result, encoding="utf-8")
    print(result, end="")
    return 0


def scaling(connbudget: list[str], tree: Path) -> str:
    """Time and peak memory of `capacity` per size of tree, cold and warm cache."""
    trees: list[tuple[str, Path, int]] = []
    for size in SIZES:
        path = tree if size == TF_FILES else OUT / f"terraform-{size}"
        if size != TF_FILES:
            shutil.rmtree(path, ignore_errors=True)
            write_terraform_tree(path, size)
        trees.append((f"{size:,} files, {size // 5} roots", path, size))
    modules = OUT / "terraform-modules"
    shutil.rmtree(modules, ignore_errors=True)
    write_module_tree(modules, MODULE_TREE_FILES)
    count = sum(1 for path in modules.rglob("*") if path.is_file())
    roots = sum(1 for _ in (modules / "envs").iterdir())
    trees.append((f"{count:,} files, {roots} roots calling local modules", modules, count))
    rows = ["| tree | cold | warm | peak memory (cold) | cold per 1,000 files |",
            "|---|---|---|---|---|"]
    for label, path, files in trees:
        capacity = [*connbudget, "capacity", str(path), "--format", "json"]
        cold = Command("cold", capacity, fresh_cache=True)
        warm_cache = tempfile.mkdtemp(prefix="cb-bench-warm-")
        warm = Command("warm", capacity, env={"CONNBUDGET_CACHE_DIR": warm_cache})
        try:
            Command("fill the cache", capacity, env=warm.env).run()
            in_turns([cold, warm], [2, 2])
        finally:
            shutil.rmtree(warm_cache, ignore_errors=True)
        rows.append(f"| {label} | {cold.seconds:.2f} s | {warm.seconds:.2f} s "
                    f"| {cold.peak_mib:.0f} MiB | {cold.seconds / files * 1000:.2f} s |")
    return "\n".join(rows) + "\n"


def parsers(tree: Path) -> str:
    sets = {"benchmark tree": sorted(tree.rglob("*.tf")),
            "corpus": sorted(CORPUS.rglob("*.tf")),
            "fixtures": sorted((ROOT / "fixtures").rglob("*.tf"))}
    with tempfile.TemporaryDirectory(prefix="cb-bench-parsers-") as scratch:
        return parser_table({name: files for name, files in sets.items() if files}, Path(scratch))


if __name__ == "__main__":
    raise SystemExit(main())
