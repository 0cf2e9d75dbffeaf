"""Finding the inputs under the paths a user names, and sorting them by kind."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

_SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv", ".venv-checkov", "__pycache__",
              ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_YAML = (".yaml", ".yml")


@dataclass
class Inputs:
    sql: list[str] = field(default_factory=list)
    terraform_dirs: list[str] = field(default_factory=list)
    var_files: list[str] = field(default_factory=list)
    pgbouncer: list[str] = field(default_factory=list)
    kubernetes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _excluded(path: str, patterns: list[str]) -> bool:
    posix = Path(path).as_posix()
    parts = posix.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(posix, f"*/{pattern}"):
            return True
        if any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def _walk(root: str, exclude: list[str]) -> list[str]:
    if os.path.isfile(root):
        return [root]
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS
                         and not _excluded(os.path.join(directory, d), exclude))
        for name in sorted(files):
            path = os.path.join(directory, name)
            if not _excluded(path, exclude):
                found.append(path)
    return found


def _looks_like_pgbouncer(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return b"[pgbouncer]" in head.lower() or b"[databases]" in head.lower()


def _looks_like_kubernetes(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return b"kind:" in head and b"apiVersion" in head


def discover(paths: list[str], exclude: list[str]) -> Inputs:
    inputs = Inputs()
    tf_dirs: dict[str, None] = {}
    for root in paths:
        if not os.path.exists(root):
            inputs.missing.append(root)
            continue
        for path in _walk(root, exclude):
            lower = path.lower()
            if lower.endswith(".sql"):
                inputs.sql.append(path)
            elif lower.endswith(".tf"):
                tf_dirs.setdefault(os.path.dirname(path) or ".", None)
            elif lower.endswith(".tfvars") and os.path.isfile(root):
                inputs.var_files.append(path)
            elif lower.endswith(".ini") or lower.endswith(".ini.j2"):
                if _looks_like_pgbouncer(path):
                    inputs.pgbouncer.append(path)
            elif lower.endswith(_YAML) and _looks_like_kubernetes(path):
                inputs.kubernetes.append(path)
    inputs.terraform_dirs = list(tf_dirs)
    return inputs
