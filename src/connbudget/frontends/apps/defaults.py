"""Library defaults for pool sizes and server concurrency, from `defaults.csv`.

Each row names the library, the setting, the default as a small expression (`10`,
`max(4, cpus)`, `physical_cpus * 2 + 1`, `env("WEB_CONCURRENCY", 1)`; empty when the default
is another setting's value), what it means, the source it was read from (a URL, or
owner/repo@commit:path:line) and the date it was read. The expression is our own data,
parsed with Python's `ast`.
"""

from __future__ import annotations

import ast
import csv
import functools
from dataclasses import dataclass
from importlib import resources

from connbudget.frontends.apps.model import Const, Cpu, Env, Expr, Op

_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
                                       ast.FloorDiv: "//"}


@dataclass(frozen=True)
class Default:
    library: str
    setting: str
    expr: Expr | None
    meaning: str
    source: str
    read: str


def _expr(node: ast.expr, source: str) -> Expr:
    """`source` goes on the node that stands for the whole default: the top node, or the
    default of an `env()` (the variable's own value needs no citation)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return Const(node.value, None, source)
    if isinstance(node, ast.Name) and node.id in ("cpus", "physical_cpus"):
        return Cpu(node.id == "physical_cpus", None, source)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return Op(_OPS[type(node.op)], (_expr(node.left, ""),  # type: ignore[arg-type]
                                        _expr(node.right, "")), None, source)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in ("max", "min"):
            return Op(node.func.id, tuple(_expr(arg, "") for arg in node.args),  # type: ignore[arg-type]
                      None, source)
        first = node.args[0] if node.args else None
        if node.func.id == "env" and isinstance(first, ast.Constant) \
                and isinstance(first.value, str) and len(node.args) == 2:
            return Env(first.value, _expr(node.args[1], source))
    raise ValueError(f"not a default expression: {ast.dump(node)}")


def parse_default(text: str, source: str) -> Expr | None:
    return _expr(ast.parse(text, mode="eval").body, source) if text.strip() else None


@functools.cache
def table() -> dict[tuple[str, str], Default]:
    data = resources.files("connbudget.frontends.apps").joinpath("defaults.csv").read_text(
        encoding="utf-8")
    rows: dict[tuple[str, str], Default] = {}
    for row in csv.DictReader(data.splitlines()):
        cite = f"{row['meaning']}: {row['source']}, read {row['read']}"
        rows[(row["library"], row["setting"])] = Default(
            row["library"], row["setting"], parse_default(row["default"], cite),
            row["meaning"], row["source"], row["read"])
    return rows


def default(library: str, setting: str) -> Expr:
    """The default of one setting; a KeyError names a row missing from the table."""
    expr = table()[(library, setting)].expr
    if expr is None:
        raise KeyError(f"{library} {setting} has no default of its own")
    return expr
