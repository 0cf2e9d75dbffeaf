"""The loader fixtures are canonical Terraform (`terraform fmt -check`).

Not checked: `broken` (invalid on purpose) and `encodings` (a byte-order mark on purpose).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import FIXTURES

LOADER = FIXTURES / "terraform" / "loader"
_NOT_CANONICAL = {"broken", "encodings"}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
@pytest.mark.parametrize("name", sorted(p.name for p in LOADER.iterdir()
                                        if p.name not in _NOT_CANONICAL))
def test_fixture_is_terraform_fmt_clean(name: str) -> None:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    proc = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-no-color",
                           str(LOADER / name)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
