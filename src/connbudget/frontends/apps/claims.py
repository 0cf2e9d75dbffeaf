"""Which files each application reader reads: by name, and by a cheap look at the first bytes
(HEAD_BYTES) of a source file. Imported by the input-kind registry for every file discovery
finds, so it imports no parser.
"""

from __future__ import annotations

import os
import re

HEAD_BYTES = 8192

# Directories whose files are never an application's own configuration.
SKIPPED_DIRS = frozenset({"node_modules", "vendor", "dist", ".git", "venv", ".venv",
                          "site-packages", "__pycache__", "test", "tests", "spec", "__tests__",
                          "testdata", "e2e", ".next"})

SPRING_NAME = re.compile(r"^application(?:-([A-Za-z0-9_.-]+))?\.(properties|ya?ml)$")
NODE_LIBRARIES = ("pg", "knex", "typeorm", "sequelize", "@prisma/adapter-pg", "@prisma/client",
                  "prisma")
_NODE_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".mts", ".cts")
_NODE_IMPORTS = tuple(f"{quote}{name}{quote}".encode() for name in NODE_LIBRARIES[:5]
                      for quote in ("'", '"'))


def skipped(path: str) -> bool:
    """Whether `path` lies in a directory of dependencies, build output or tests."""
    parts = path.replace("\\", "/").split("/")[:-1]
    return any(part in SKIPPED_DIRS for part in parts)


def rails(path: str, head: bytes) -> bool:
    """database.yml, puma.rb and sidekiq.yml under a `config/` directory."""
    if skipped(path):
        return False
    parts = path.replace("\\", "/").split("/")
    name, parent = parts[-1], parts[-2] if len(parts) > 1 else ""
    if parent == "config":
        return name in ("database.yml", "puma.rb", "sidekiq.yml", "sidekiq.yml.erb")
    return parent == "puma" and len(parts) > 2 and parts[-3] == "config" and name.endswith(".rb")


def spring(path: str, head: bytes) -> bool:
    return not skipped(path) and SPRING_NAME.match(os.path.basename(path)) is not None


def is_django_settings(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return parts[-1] == "settings.py" or (len(parts) > 1 and parts[-2] == "settings")


def python(path: str, head: bytes) -> bool:
    if not path.endswith(".py") or skipped(path) or "/migrations/" in path.replace("\\", "/"):
        return False
    name = os.path.basename(path)
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return False
    if name.startswith("gunicorn"):
        return True
    head = head[:HEAD_BYTES]
    if is_django_settings(path) and b"DATABASES" in head:
        return True
    return b"create_engine" in head or b"SQLALCHEMY_" in head


def node(path: str, head: bytes) -> bool:
    if skipped(path):
        return False
    name = os.path.basename(path)
    if name == "schema.prisma" or name == "package.json":
        return True
    if not name.endswith(_NODE_SUFFIXES) or name.endswith((".d.ts", ".min.js")) \
            or ".test." in name or ".spec." in name:
        return False
    if name.startswith(("knexfile.", "ormconfig.")):
        return True
    return any(marker in head[:HEAD_BYTES] for marker in _NODE_IMPORTS)


def go(path: str, head: bytes) -> bool:
    if not path.endswith(".go") or path.endswith("_test.go") or skipped(path):
        return False
    head = head[:HEAD_BYTES]
    return b"pgxpool" in head or b'"database/sql"' in head


def dockerfile(path: str, head: bytes) -> bool:
    """`Dockerfile` and `<name>.Dockerfile`."""
    name = os.path.basename(path).lower()
    return not skipped(path) and (name == "dockerfile" or name.endswith(".dockerfile"))
