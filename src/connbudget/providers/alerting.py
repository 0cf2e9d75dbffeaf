"""What every platform's connection alarm shares: its threshold, and how its Terraform block is
written (`terraform fmt` clean: aligned `=` signs, escaped strings, wrapped comments). Each
platform's alarm module (`DatabasePlatform.alarms`) writes its own resource with these."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

from connbudget.quoting import comment, split_address

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget
    from connbudget.model import Database

COMMENT_WIDTH = 96  # a block's comments wrap here: it is printed in fixes and reports too


def threshold_for(max_connections: int, share: float) -> int:
    """The lowest connection count at or above `share` of max_connections."""
    return max(1, math.ceil(round(max_connections * share, 6)))


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
    lines = textwrap.wrap(comment(f"{database.where.address}{where}: max_connections "
                                  f"{budget.max_connections.value} from "
                                  f"{budget.max_connections.origin}"),
                          COMMENT_WIDTH, initial_indent="# ", subsequent_indent="#   ",
                          break_long_words=False, break_on_hyphens=False)
    prefix, _ = split_address(database.where.address)
    if prefix:
        lines.append(comment(f"# place this block in {prefix.rstrip('.')}, beside the database"))
    return lines


def in_terraform(database: Database) -> bool:
    """A database a Terraform file declares: an alarm block beside it can name it."""
    return database.where.file.endswith((".tf", ".tf.json"))


def render(budgets: list[Budget], share: float, platforms: tuple[str, ...],
           block: Callable[[Budget, float], str]) -> str:
    """The alarm blocks of every database of `platforms` declared in the Terraform, as one
    file; a database whose max_connections is unknown, declared in another format, or whose
    address cannot be written as a reference (`block` gives "") gets a comment saying so, never
    a guess."""
    blocks, skipped = [], []
    for budget in budgets:
        database = budget.database
        if database.platform not in platforms or not database.where.file:
            continue
        label = database.where.label
        if not in_terraform(database):
            skipped.append("# " + comment(f"{label}: declared in {database.where.file}, not in "
                                          "Terraform: no alarm block written"))
        elif budget.max_connections.value is None:
            skipped.append("# " + comment(f"{label}: no alarm, max_connections is unknown "
                                          f"({budget.max_connections.origin.text})"))
        elif written := block(budget, share):
            blocks.append(written)
        else:
            skipped.append("# " + comment(f"{label}: no alarm, its address cannot be written "
                                          "as a Terraform reference"))
    return "\n\n".join(skipped + blocks) + "\n" if blocks or skipped else ""
