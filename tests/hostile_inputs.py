"""Hostile inputs made at run time (too large to commit, or made of FIFOs, or an input whose
odd name would upset every scan of fixtures/): shared by the hostile-input tests and
`benchmarks/hostile.py`. Each writes one tree under `directory` and returns it."""

from __future__ import annotations

import os
from pathlib import Path

UNLIMITED_ROLE = ('resource "postgresql_role" "unlimited" {\n  name  = "unlimited"\n'
                  "  login = true\n}\n")


def _tree(directory: Path, name: str) -> Path:
    tree = directory / name
    tree.mkdir(parents=True)
    return tree


def sum_of_terms(directory: Path, terms: int = 100_000) -> Path:
    """`total = 1 + 1 + ... + 1` (100,000 terms: 400 KB) used as a connection limit: the text
    of each node once took more than 3 GB."""
    tree = _tree(directory, f"sum-{terms}")
    (tree / "main.tf").write_text(
        "locals {\n  total = " + " + ".join(["1"] * terms) + "\n}\n\n"
        'resource "postgresql_role" "app" {\n  name             = "app"\n'
        "  login            = true\n  connection_limit = local.total\n}\n")
    (tree / "roles.tf").write_text(UNLIMITED_ROLE)
    return tree


def role_statements(directory: Path, count: int = 200_000) -> Path:
    """A migration of 200,000 role statements: once minutes of Rego."""
    tree = _tree(directory, "roles")
    with (tree / "V1__roles.sql").open("w") as handle:
        for number in range(count):
            handle.write(f"CREATE ROLE r{number} LOGIN CONNECTION LIMIT 10;\n")
    return tree


def for_each_key(directory: Path) -> Path:
    """A `for_each` key with a line break and `"]`: splitting its address once failed."""
    tree = _tree(directory, "foreach")
    (tree / "main.tf").write_text(
        'resource "aws_db_instance" "main" {\n'
        '  for_each       = toset(["app", "evil\\n\\"]"])\n'
        '  identifier     = "db-${each.key}"\n  engine         = "postgres"\n'
        '  instance_class = "db.t3.medium"\n}\n\n' + UNLIMITED_ROLE)
    return tree


def environ_and_fifos(directory: Path) -> Path:
    """file("/proc/self/environ") as for_each, and FIFOs named like inputs."""
    tree = _tree(directory, "runtime")
    (tree / "main.tf").write_text(
        'resource "postgresql_role" "leak" {\n'
        '  for_each = toset(split("\\u0000", file("/proc/self/environ")))\n'
        "  name     = each.value\n  login    = true\n}\n")
    os.mkfifo(tree / "fifo.tf")
    os.mkfifo(tree / "x.sql")
    return tree
