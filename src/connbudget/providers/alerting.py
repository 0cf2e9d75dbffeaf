"""What every platform's connection alarm shares: its threshold, and how its Terraform block is
written (`terraform fmt` clean: aligned `=` signs, escaped strings, wrapped comments). Each
platform's alarm module (`DatabasePlatform.alarms`) writes its own resource with these."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget
    from connbudget.model import Database

COMMENT_WIDTH = 96  # a block's comments wrap here: it is printed in fixes and reports too
_MODULE_PREFIX = re.compile(r"((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)(.*)")


def threshold_for(max_connections: int, share: float) -> int:
    """The lowest connection count at or above `share` of max_connections."""
    return max(1, math.ceil(round(max_connections * share, 6)))


def split_address(address: str) -> tuple[str, str]:
    """('module.app.', 'aws_db_instance.main') for a resource inside a local module."""
    match = _MODULE_PREFIX.fullmatch(address)
    return (match.group(1), match.group(2)) if match else ("", address)


def quote(value: str) -> str:
    """An HCL string literal of `value` (no interpolation, on one line)."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
               .replace("${", "$${").replace("%{", "%%{"))
    return f'"{escaped}"'


def label(address: str, drop: str) -> str:
    """The resource name of a database's alarm: its address as an identifier, less the
    provider's prefix `drop`."""
    prefix, local = split_address(address)
    name = re.sub(r"[^A-Za-z0-9_]+", "_", (prefix + local).removeprefix(drop)).strip("_")
    return f"{name}_connections"


def aligned(pairs: list[tuple[str, str]], indent: str) -> list[str]:
    """`key = value` lines with the `=` signs aligned, as `terraform fmt` writes them."""
    width = max(len(key) for key, _ in pairs)
    return [f"{indent}{key.ljust(width)} = {value}" for key, value in pairs]


def header(budget: Budget) -> list[str]:
    """The comment lines above a database's alarm: where its max_connections comes from, and
    where to place a block for a database inside a local module."""
    database = budget.database
    where = f" ({database.where.file}:{database.where.line})" if database.where.file else ""
    lines = textwrap.wrap(f"{database.where.address}{where}: max_connections "
                          f"{budget.max_connections.value} from {budget.max_connections.origin}",
                          COMMENT_WIDTH, initial_indent="# ", subsequent_indent="#   ",
                          break_long_words=False, break_on_hyphens=False)
    prefix, _ = split_address(database.where.address)
    if prefix:
        lines.append(f"# place this block in {prefix.rstrip('.')}, beside the database")
    return lines


def in_terraform(database: Database) -> bool:
    """A database a Terraform file declares: an alarm block beside it can name it."""
    return database.where.file.endswith((".tf", ".tf.json"))


def render(budgets: list[Budget], share: float, platforms: tuple[str, ...],
           block: Callable[[Budget, float], str]) -> str:
    """The alarm blocks of every database of `platforms` declared in the Terraform, as one
    file; a database whose max_connections is unknown, or declared in another format, gets a
    comment saying so, never a guess."""
    blocks, skipped = [], []
    for budget in budgets:
        database = budget.database
        if database.platform not in platforms or not database.where.file:
            continue
        if not in_terraform(database):
            skipped.append(f"# {database.where.label}: declared in {database.where.file}, not "
                           "in Terraform: no alarm block written")
        elif budget.max_connections.value is None:
            skipped.append(f"# {database.where.label}: no alarm, max_connections is "
                           f"unknown ({budget.max_connections.origin.text})")
        else:
            blocks.append(block(budget, share))
    return "\n\n".join(skipped + blocks) + "\n" if blocks or skipped else ""
