"""Every format, byte for byte, for one fixed report: a scan of real fixtures (a database and its
service in two files, a PgBouncer over a role's limit, databases whose budgets are incomplete)
and a file that cannot be read.

A change to any renderer shows here as a diff of the output a user gets. After a deliberate
change, rewrite the goldens with `CONNBUDGET_UPDATE_GOLDEN=1` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT

from connbudget import __version__
from connbudget.confine import scan_roots
from connbudget.discover import discover
from connbudget.engine import scan
from connbudget.errors import InputError
from connbudget.report import Report
from connbudget.reporters import render
from connbudget.rules.suppress import apply_suppressions
from connbudget.settings import Settings

GOLDEN = ROOT / "tests" / "golden"
PATHS = ["fixtures/stacks/split-demo", "fixtures/capacity/pooler-role-limit",
         "fixtures/capacity/two-roots", "fixtures/capacity/security-groups"]
SUFFIXES = {"json": "json", "sarif": "sarif", "junit": "xml", "github": "txt",
            "gitlab": "json", "markdown": "md", "text": "txt"}


@pytest.fixture(scope="module")
def report() -> Report:
    cwd = os.getcwd()
    os.chdir(ROOT)  # paths relative to the checkout, as a user running it there sees them
    try:
        settings = Settings(cache=False)
        with scan_roots(PATHS):
            inputs = discover(PATHS, [])
            found = apply_suppressions(scan(inputs, settings), settings, "scan")
    finally:
        os.chdir(cwd)
    found.errors.append(InputError("fixtures/golden-missing.sql", 0, "no such file or directory"))
    return found.sorted()


def _stable(text: str) -> str:
    return text.replace(__version__, "<version>")


@pytest.mark.parametrize("fmt", sorted(SUFFIXES))
def test_format_renders_the_fixed_report_as_its_golden_file(
        fmt: str, report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # the text report's width, whatever runs the tests
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        text = _stable(render(report, fmt, Settings()))
    finally:
        os.chdir(cwd)
    golden: Path = GOLDEN / f"{fmt}.{SUFFIXES[fmt]}"
    if os.environ.get("CONNBUDGET_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden for {fmt}: run with CONNBUDGET_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


def test_the_fixed_report_holds_what_the_goldens_are_meant_to_show(report: Report) -> None:
    rules = sorted({f.rule_id for f in report.findings})
    assert {"CB101", "CB104", "CB107", "CB111"} <= set(rules)
    assert report.coverage is not None and report.coverage.incomplete == 2
    assert any(f.related for f in report.findings)
    assert report.errors and not any(os.path.isabs(f.file) for f in report.findings)
