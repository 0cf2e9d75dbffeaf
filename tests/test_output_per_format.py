"""One run, several formats: `--output FORMAT=FILE` per format beside the --format report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import FIXTURES, run_cli
from test_reporters import sarif_validator

SPLIT = FIXTURES / "stacks" / "split-demo"


def test_one_scan_writes_sarif_and_junit_files_and_github_on_stdout(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "cb.sarif", tmp_path / "cb.xml"
    result = run_cli("scan", str(SPLIT), "--output", f"sarif={sarif}", "-o", f"junit={junit}",
                     "--format", "github")
    single = run_cli("scan", str(SPLIT), "--format", "github")
    assert result.code == single.code == 1
    assert result.out == single.out and result.out.startswith("::error ")
    log = json.loads(sarif.read_text())
    sarif_validator().validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["CB101", "CB109"]
    assert ET.fromstring(junit.read_text()).get("tests") == "2"


def test_output_file_without_a_format_name_keeps_its_meaning(tmp_path: Path) -> None:
    # "a=b.json" is not FORMAT=FILE: `a` is no format, so it is the file's name
    result = run_cli("scan", str(SPLIT), "--format", "json", "--output", "a=b.json",
                     "-o", f"markdown={tmp_path / 'summary.md'}", cwd=tmp_path)
    assert result.code == 1 and result.out == ""
    assert len(json.loads((tmp_path / "a=b.json").read_text())["findings"]) == 2
    assert (tmp_path / "summary.md").read_text().startswith("#")


def test_two_plain_output_files_are_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("scan", str(SPLIT), "-o", str(tmp_path / "a"), "-o", str(tmp_path / "b"))
    assert result.code == 2
    assert "name the format of each extra file" in result.err
    assert not (tmp_path / "a").exists()
