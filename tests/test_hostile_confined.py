"""Confined CI jobs: connbudget runs under an address-space limit and on a read-only file
system where only its cache and its outputs can be written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from confined import run_confined
from conftest import FIXTURES, ROOT


def test_a_scan_of_the_fixtures_completes_under_ulimit_v_one_gib(tmp_path: Path) -> None:
    """`ulimit -v 1048576; connbudget scan fixtures`, as a confined CI job runs it: the role
    rules run (they need the embedded Rego engine) and every format is written."""
    sarif = tmp_path / "connbudget.sarif"
    script = ('ulimit -v 1048576; exec "$0" -m connbudget scan fixtures --no-cache '
              f'--format json --output sarif={sarif}')
    proc = subprocess.run(["sh", "-c", script, sys.executable], cwd=ROOT, capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")})
    assert "snmalloc" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 2, proc.stderr[-2000:]  # fixtures/ holds broken files on purpose
    report = json.loads(proc.stdout)
    rules = {finding["rule_id"] for finding in report["findings"]}
    assert {"CB001", "CB002", "CB003", "CB004", "CB005"} <= rules  # the Rego role rules
    assert {"CB101", "CB104"} <= rules and report["budgets"]
    assert json.loads(sarif.read_text())["runs"][0]["results"]


def test_role_rules_run_under_a_512_mib_address_space_limit() -> None:
    fixture = FIXTURES / "sql" / "rules" / "cb001_fail_create_role_login"
    run = run_confined("sql", str(fixture), "--format", "json", memory=512 * 1024 ** 2)
    assert run.code == 1, run.err
    assert "CB001" in {finding["rule_id"] for finding in run.json()["findings"]}


def _read_only_scan(tree: Path, writable: Path) -> subprocess.CompletedProcess[str]:
    """A scan in a mount namespace where `/` is read-only and only `writable` (a tmpfs) is not:
    its JSON report on stdout, then `---`, its exit code and what it wrote."""
    script = (
        'mount --make-rprivate / && mount -t tmpfs tmpfs "$1" && mount -o remount,ro,bind / && '
        '{ CONNBUDGET_CACHE_DIR="$1/cache" "$0" -m connbudget scan "$2" --format json '
        '--output "sarif=$1/out.sarif" --output "junit=$1/out.xml"; code=$?; echo "---"; '
        'echo "$code"; '
        'ls "$1"; ls "$1/cache" | wc -l; }')
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, sys.executable,
                           str(writable), str(tree)], capture_output=True, text=True,
                          timeout=300)


def test_a_scan_on_a_read_only_file_system_writes_only_its_cache_and_outputs(
        tmp_path: Path) -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a read-only mount namespace needs root and unshare (CI has both)")
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "sql" / "rules" / "cb001_fail_create_role_login", tree / "sql")
    shutil.copytree(ROOT / "examples" / "incident", tree / "infra")
    writable = tmp_path / "writable"
    writable.mkdir()
    proc = _read_only_scan(tree, writable)
    assert "Traceback" not in proc.stderr and "Read-only" not in proc.stderr, proc.stderr
    report, listing = proc.stdout.split("\n---\n")
    code, *written, cache_entries = listing.split()
    assert code == "1", proc.stderr
    assert set(written) == {"cache", "out.sarif", "out.xml"}
    assert int(cache_entries) > 0
    rules = {finding["rule_id"] for finding in json.loads(report)["findings"]}
    assert {"CB001", "CB101"} <= rules
