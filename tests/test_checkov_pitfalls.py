"""Checkov pitfalls around external checks, seen with the real Checkov 3, and what prevents them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from checkov_run import CHECKS
from conftest import CHECKOV, FIXTURES, run_cli

ROLES = FIXTURES / "terraform" / "roles" / "literals"


def _checkov(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECKOV), "--framework", "terraform", "--skip-download", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=900)


def _cb_ids(output: str) -> set[str]:
    report = json.loads(output)
    results = report.get("results", {}) if isinstance(report, dict) else {}
    return {r["check_id"] for kind in ("passed_checks", "failed_checks")
            for r in results.get(kind, []) if r["check_id"].startswith("CKV_CB_")}


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROLES, project)
    return project


def test_checkov_config_fragment_loads_the_checks_from_any_directory(tmp_path: Path) -> None:
    project = _project(tmp_path)
    fragment = run_cli("checks-dir", "--checkov-config")
    assert fragment.code == 0
    (project / ".checkov.yaml").write_text(fragment.out, encoding="utf-8")
    # Run from the directory above the project, as a CI job at the repository root would.
    proc = _checkov(tmp_path, "--config-file", "project/.checkov.yaml", "-d", "project",
                    "--compact", "-o", "sarif", "--output-file-path", "out")
    assert proc.returncode == 1, proc.stderr[-2000:]
    sarif = json.loads((tmp_path / "out" / "results_sarif.sarif").read_text(encoding="utf-8"))
    levels = {(r["ruleId"], r["level"]) for run in sarif["runs"] for r in run["results"]
              if r["ruleId"].startswith("CKV_CB_")}
    # CB005 is advice: "note" in SARIF (Checkov gives an INFO check level "none").
    assert ("CKV_CB_005", "note") in levels
    assert ("CKV_CB_001", "error") in levels
    assert {level for rule, level in levels} <= {"error", "warning", "note"}


def test_relative_external_checks_dir_in_checkov_yaml_follows_the_working_directory(
        tmp_path: Path) -> None:
    project = _project(tmp_path)
    shutil.copytree(CHECKS, project / "checks")
    (project / ".checkov.yaml").write_text("external-checks-dir:\n  - checks\n", encoding="utf-8")
    proc = _checkov(tmp_path, "--config-file", "project/.checkov.yaml", "-d", "project",
                    "--check", "CKV_CB_001", "--compact", "-o", "json")
    # Resolved against tmp_path, not project/: no connbudget check runs, and the scan passes.
    assert (proc.returncode, _cb_ids(proc.stdout)) == (0, set()), proc.stderr[-2000:]


def test_a_mistyped_external_checks_dir_passes_silently(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _checkov(tmp_path, "--external-checks-dir", str(CHECKS.parent / "chekcs"),
                    "-d", str(project), "--check", "CKV_CB_001", "--compact", "-o", "json")
    assert (proc.returncode, _cb_ids(proc.stdout)) == (0, set()), proc.stderr[-2000:]
