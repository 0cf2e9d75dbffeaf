"""Hostile pull requests: every run is bounded, and a broken file costs only its own report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from inprocess import Outcome
from inprocess import run_main as _run_main

from connbudget import engine
from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.values import Context, Scope
from connbudget.reporters import FORMATS

HOSTILE = FIXTURES / "hostile"


def run_main(*args: str) -> Outcome:
    """In this process, bounded: a hang (a blocking FIFO, a runaway evaluation) fails."""
    return _run_main(*args, timeout=180)
GIB = 1024 ** 3


def test_the_hostile_set_ends_in_seconds_under_one_gib() -> None:
    """A child process, so its peak memory is its own (ru_maxrss of the waited-for child)."""
    paths = [str(HOSTILE / name) for name in ("blowup", "overflow", "sql", "names", "include",
                                              "tfjson", "utf16")]
    code = ("import resource, sys; from connbudget.cli import main; rc = main(sys.argv[1:]); "
            "u = resource.getrusage(resource.RUSAGE_SELF); "
            "print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "scan", *paths, "--format", "json",
                           "--no-cache"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    peak_kib, cpu = proc.stderr.strip().splitlines()[-1].split()
    assert proc.returncode == 2, proc.stderr
    assert int(peak_kib) * 1024 < GIB
    assert float(cpu) < 30  # CPU seconds: a few on an idle machine
    errors = {(Path(e["file"]).name, e["message"]) for e in json.loads(proc.stdout)["errors"]}
    assert ("main.tf", "count 1e+09 is outside 0 to 1024, the instances connbudget expands; "
            "the instances are unknown") in errors


def test_doubling_locals_stop_at_the_limits_with_a_located_error() -> None:
    outcome = run_main("capacity", str(HOSTILE / "blowup"), "--format", "json", "--no-cache")
    errors = [(e["line"], e["message"]) for e in outcome.json()["errors"]]
    assert errors == [
        (28, "a collection of more than 10,000 elements; the value is unknown"),
        (43, "a string longer than 4,194,304 characters; the value is unknown"),
        # the unknown string's placeholder text doubles too, until it meets the same limit
        (79, "a string longer than 4,194,304 characters; the value is unknown"),
        (95, "count 1e+09 is outside 0 to 1024, the instances connbudget expands; "
             "the instances are unknown")]


@pytest.mark.parametrize("text, reason", [
    ("1e400", "a number too large to use"),
    ("9" * 5000, "a number with more digits than any setting needs"),
    ("pow(2, 64)", "function pow() is not evaluated"),
    ("99999999999 * 99999999999", "a number too large to use"),
    ('join(",", [for i in range(1000) : "xxxxxxxxx"])', None),
    ('replace(join("", [for i in range(1000) : "aaaa"]), "a", join("", [for i in range(1000)'
     ' : "bbbbbbbbbb"]))', "a string longer than 4,194,304 characters"),
])
def test_expressions_past_the_limits_are_unknown(text: str, reason: str | None) -> None:
    started = time.monotonic()
    value = evaluate_raw(text, Scope(Context()))
    assert time.monotonic() - started < 5
    if reason is None:
        assert isinstance(value, str) and len(value) == 10 * 1000 - 1
    else:
        assert isinstance(value, Unknown) and value.reason == reason


def test_overflowing_numbers_are_located_errors_and_the_report_survives() -> None:
    outcome = run_main("scan", str(HOSTILE / "overflow"), "--format", "json", "--no-cache")
    document = outcome.json()
    errors = {(Path(e["file"]).name, e["line"], e["message"]) for e in document["errors"]}
    assert errors == {
        ("main.tf", 9, "a number too large to use; the value is unknown"),
        ("main.tf", 14, "a number with more digits than any setting needs; the value is unknown"),
        ("pgbouncer.ini", 2, "database 'app': pool_size: the value is too large"),
        ("pgbouncer.ini", 6, "max_client_conn: the value is too large")}
    assert [b["database"] for b in document["budgets"]] == ["aws_db_instance.main"]
    assert any(f["resource"] == "postgresql_role.app" for f in document["findings"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unexpected_failure_in_one_file_keeps_the_report_of_the_others(
        fmt: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from connbudget.frontends.sql import reader as sql

    (tmp_path / "V1__good.sql").write_text("CREATE ROLE good LOGIN;\n")
    (tmp_path / "V2__bad.sql").write_text("CREATE ROLE bad LOGIN;\n")
    real = sql.read_sql

    def fragile(paths: list[str]) -> sql.SqlResult:
        if any(path.endswith("V2__bad.sql") for path in paths):
            raise OverflowError("int too large to convert")
        return real(paths)

    monkeypatch.setattr(sql, "read_sql", fragile)
    monkeypatch.setenv("COLUMNS", "300")  # the text report keeps the long tmp path on one line
    outcome = run_main("scan", str(tmp_path), "--format", fmt)
    assert outcome.code == 2
    assert outcome.out.strip()
    assert "good" in outcome.out
    shown = outcome.out + outcome.err
    assert "V2__bad.sql" in shown and "could not be read (OverflowError)" in shown
    assert "int too large" not in shown


def test_isolation_reports_each_failing_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[object] = []

    def run(paths: list[str]) -> list[str]:
        if "b" in paths or "c" in paths:
            raise MemoryError
        return paths

    assert engine.isolated(run, ["a", "b", "c", "d"], errors) == ["a", "d"]  # type: ignore
    assert [str(e) for e in errors] == [
        "b:0: could not be read (MemoryError); skipped, the other files were checked",
        "c:0: could not be read (MemoryError); skipped, the other files were checked"]


def test_invalid_utf8_in_the_config_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / ".connbudget.toml").write_bytes(b'threshold = 0.5\n# \xff\xfe\n')
    (tmp_path / "V1__a.sql").write_text("CREATE ROLE a LOGIN CONNECTION LIMIT 5;\n")
    outcome = run_main("scan", str(tmp_path), "--format", "json")
    assert outcome.code == 2
    assert outcome.err.startswith(f"connbudget: {tmp_path}/.connbudget.toml")


def test_invalid_utf8_in_pgbouncer_ini_keeps_the_report(tmp_path: Path) -> None:
    (tmp_path / "pgbouncer.ini").write_bytes(b"[databases]\napp = host=db dbname=\xff\n"
                                             b"[pgbouncer]\npool_mode = transaction\n")
    outcome = run_main("capacity", str(tmp_path), "--format", "json")
    assert outcome.json()["version"] == 1


@pytest.mark.parametrize("text, reason", [
    ("length([for a in range(1000) : [for b in range(1000) : [for c in range(50) : c]]])",
     "the lists and maps built pass 1,000,000 elements in all"),
    ("length([for a in range(1000) : max(" + ", ".join(["a"] * 2500) + ")])",
     "evaluation needs more than 2,000,000 steps"),
])
def test_the_budget_stops_a_quadratic_for_expression(text: str, reason: str) -> None:
    started = time.process_time()
    from connbudget.frontends.terraform.values import Budget, set_budget

    set_budget(Budget())
    try:
        value = evaluate_raw(text, Scope(Context()))
    finally:
        set_budget(None)
    assert time.process_time() - started < 20  # CPU seconds: about 6 on a busy 2-core box
    assert isinstance(value, Unknown) and value.reason == reason
