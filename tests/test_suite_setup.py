"""The test suite's own set-up: tests that share one Checkov scan, one hook environment or one
server are an `xdist_group`, and `make test` runs them on one worker (`--dist loadgroup`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_the_tests_of_a_group_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n\n"
        "pytestmark = pytest.mark.xdist_group('shared')\n\n\n"
        "@pytest.mark.parametrize('index', range(8))\n"
        "def test_member(index):\n"
        "    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                           "no:hypothesispytest", "-n", "2",
                           "--dist", "loadgroup", "-v", "test_grouped.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    workers = set(re.findall(r"^\[(gw\d+)\].*PASSED", done.stdout, re.MULTILINE))
    assert len(re.findall(r"PASSED", done.stdout)) == 8 and len(workers) == 1, done.stdout
